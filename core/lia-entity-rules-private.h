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
  LIA_ENTITY_RULE_IF_LINKED, /* both sides exist: a merge, not a create */
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

/* The original an item carries on the host (LIA_HOST_PROP_ORIGINAL), from
 * the full original the cache keeps: for email only regarding, the one
 * field that synchronizes after tracking (R-MAIL-TRACK), so that a
 * tracked message's host property stays small whatever its body and
 * recipients; for every other entity a copy of @original. Pure. */
LiaItem *lia_entity_rules_dup_host_original (const LiaItem *original);

/* The full original to rebuild in the cache from an item's host original
 * (relink after a lost cache, R-DUP-NONE): for email, @host_item (the
 * message's fields, which never change after tracking) with the host
 * original's regarding, so that correlation by Message-ID and smart
 * matching finds it again; for every other entity a copy of
 * @host_original. %NULL when @host_original is %NULL or of another
 * entity (missing stays missing, R-MERGE-ORIGINAL). Pure. */
LiaItem *lia_entity_rules_dup_relinked_original (const LiaItem *host_original, const LiaItem *host_item);

G_END_DECLS
