/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The deletion rules of SPEC section 6 as data, for docs/rules.md and its
 * test, which render them. */

/* The entities a row applies to, as a mask of LiaDeletionClass bits. */
typedef enum
{
  LIA_DELETION_CLASS_EMAIL = 1 << 0,
  LIA_DELETION_CLASS_APPOINTMENT = 1 << 1, /* single and recurring */
  LIA_DELETION_CLASS_SERVICE = 1 << 2,     /* service appointments */
  LIA_DELETION_CLASS_CONTACT = 1 << 3,
  LIA_DELETION_CLASS_TASK = 1 << 4, /* tasks, phone calls, letters, faxes */
  LIA_DELETION_CLASS_UNMAPPED = 1 << 5,
  LIA_DELETION_CLASS_ANY = (1 << 6) - 1,
} LiaDeletionClass;

/* Facts a row may require; all the row's must hold. */
typedef enum
{
  LIA_DELETION_IF_CHOSEN = 1 << 0, /* user chose "also delete in CRM" */
  LIA_DELETION_IF_OPEN = 1 << 1,   /* open or scheduled in CRM */
  LIA_DELETION_IF_FUTURE = 1 << 2, /* start strictly after now */
  LIA_DELETION_IF_OWNER_OR_ORGANIZER = 1 << 3,
  LIA_DELETION_IF_OWNER = 1 << 4,
  LIA_DELETION_IF_NOT_OWNER = 1 << 5,
  LIA_DELETION_IF_BY_HAND = 1 << 6, /* tracked by hand, not by a filter */
  LIA_DELETION_IF_N = 7,            /* the number of conditions */
} LiaDeletionCondition;

/* In 'otherwise': go on as if the CRM record had been deleted. */
#define LIA_DELETION_AS_CRM_DELETED LIA_DELETION_ACTION_N

typedef struct
{
  const char *rule_id;    /* static */
  guint classes;          /* LiaDeletionClass mask */
  LiaDeletionEvent event; /* LIA_DELETION_N: any event */
  guint requires;         /* LiaDeletionCondition mask */
  LiaDeletionAction when_met;
  LiaDeletionAction otherwise; /* or LIA_DELETION_AS_CRM_DELETED */
  gboolean remember_tombstone;
  const char *met_reason; /* static */
  const char *note;       /* static, nullable: where a row is derived */
} LiaDeletionRow;

const LiaDeletionRow *lia_deletion_get_table (guint *out_n_rows);
const char *lia_deletion_class_to_string (LiaDeletionClass cls);
/* The text of a condition; 'negated' gives why it failed. */
const char *lia_deletion_condition_to_string (LiaDeletionCondition condition, gboolean negated);

G_END_DECLS
