/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The immediate synchronization table as data, for docs/rules.md and its
 * test (tests/conformance/test-rules-doc.c), which render it. */

typedef struct
{
  LiaSyncTiming timing;
  const char *rule_id; /* static, nullable: NULL means the row's rule */
} LiaSyncCell;

typedef struct
{
  const char *rule_id; /* static; NULL for a combination SPEC does not list */
  LiaAction action;
  LiaSurface surface;
  LiaSyncCell cells[LIA_ITEM_KIND_N][LIA_CLIENT_N];
  const char *note; /* static, nullable: for derived rows, what they follow */
} LiaSyncRow;

const LiaSyncRow *lia_rules_get_sync_table (guint *out_n_rows);

/* Whether a client of each role sends changes of each item kind itself. */
gboolean lia_rules_get_sends_changes (LiaItemKind kind, LiaClientRole role);

G_END_DECLS
