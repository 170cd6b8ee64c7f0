/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The entity rules of SPEC section 7 that narrow field directions, as data,
 * for docs/rules.md and its test, which render them. */

typedef enum
{
  LIA_ENTITY_RULE_ALWAYS,
  LIA_ENTITY_RULE_IF_PAST,                  /* both sides exist and are past */
  LIA_ENTITY_RULE_IF_HOST_ORGANIZER_ABSENT, /* the host item has no organizer */
  LIA_ENTITY_RULE_IF_CRM_CLOSED,            /* completed or canceled in CRM */
  LIA_ENTITY_RULE_IF_COMPANY_SETTING_ON,    /* R-SET-COMPANY on */
  LIA_ENTITY_RULE_IF_COMPANY_SETTING_OFF,
  LIA_ENTITY_RULE_IF_N
} LiaEntityRuleCondition;

typedef struct
{
  const char *rule_id; /* static */
  guint entities;      /* mask of 1 << LiaEntity */
  LiaEntityRuleCondition condition;
  const char *field;    /* static, nullable: NULL for every field */
  LiaDirection allowed; /* the directions left */
} LiaEntityRuleRow;

const LiaEntityRuleRow *lia_entity_rules_get_table (guint *out_n_rows);
const char *lia_entity_rule_condition_to_string (LiaEntityRuleCondition condition);

G_END_DECLS
