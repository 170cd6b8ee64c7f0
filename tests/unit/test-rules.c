/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <liaison/liaison.h>

#include "lia-rules-private.h"

static const LiaClientInfo primary = { LIA_CLIENT_PRIMARY, FALSE, FALSE, "Office desktop" };

static void
test_table_complete (void)
{
  const LiaSyncRow *rows;
  guint n_rows = 0;
  static const char *const spec_rows[] = { "R-IMM-TRACK-INSP",  "R-IMM-UPDATE-INSP", "R-IMM-UNTRACK-INSP",
                                           "R-IMM-DELETE-INSP", "R-IMM-TRACK-EXPL",  "R-IMM-REGARDING-EXPL",
                                           "R-IMM-DELETE-EXPL" };

  g_test_summary ("The table has exactly one row per action and surface, each SPEC row once, and every cell "
                  "holds a timing.");
  rows = lia_rules_get_sync_table (&n_rows);
  g_assert_cmpuint (n_rows, ==, LIA_ACTION_N * LIA_SURFACE_N);
  for (guint a = 0; a < LIA_ACTION_N; a++)
    for (guint s = 0; s < LIA_SURFACE_N; s++)
      {
        guint found = 0;
        for (guint i = 0; i < n_rows; i++)
          found += rows[i].action == (LiaAction) a && rows[i].surface == (LiaSurface) s;
        g_assert_cmpuint (found, ==, 1);
      }
  for (guint r = 0; r < G_N_ELEMENTS (spec_rows); r++)
    {
      guint found = 0;
      for (guint i = 0; i < n_rows; i++)
        found += g_strcmp0 (rows[i].rule_id, spec_rows[r]) == 0;
      g_assert_cmpuint (found, ==, 1);
    }
  for (guint i = 0; i < n_rows; i++)
    {
      /* Rows SPEC does not list say what they follow. */
      g_assert_true (rows[i].rule_id != NULL || rows[i].note != NULL);
      for (guint k = 0; k < LIA_ITEM_KIND_N; k++)
        for (guint c = 0; c < LIA_CLIENT_N; c++)
          {
            const LiaSyncCell *cell = &rows[i].cells[k][c];
            g_assert_cmpuint (cell->timing, <, LIA_SYNC_N);
            /* A refusal always has a rule that words it. */
            if (cell->timing == LIA_SYNC_REFUSED)
              g_assert_nonnull (cell->rule_id);
          }
    }
}

static void
test_names (void)
{
  g_test_summary ("Every enum value has a name and out-of-range values render as \"?\".");
  for (guint i = 0; i < LIA_SYNC_N; i++)
    g_assert_cmpstr (lia_sync_timing_to_string ((LiaSyncTiming) i), !=, "?");
  for (guint i = 0; i < LIA_ACTION_N; i++)
    g_assert_cmpstr (lia_action_to_string ((LiaAction) i), !=, "?");
  for (guint i = 0; i < LIA_CLIENT_N; i++)
    g_assert_cmpstr (lia_client_role_to_string ((LiaClientRole) i), !=, "?");
  for (guint i = 0; i < LIA_ITEM_KIND_N; i++)
    g_assert_cmpstr (lia_item_kind_to_string ((LiaItemKind) i), !=, "?");
  for (guint i = 0; i < LIA_SURFACE_N; i++)
    g_assert_cmpstr (lia_surface_to_string ((LiaSurface) i), !=, "?");
  g_assert_cmpstr (lia_sync_timing_to_string (LIA_SYNC_N), ==, "?");
  g_assert_cmpstr (lia_action_to_string (LIA_ACTION_N), ==, "?");
  g_assert_cmpstr (lia_client_role_to_string (LIA_CLIENT_N), ==, "?");
  g_assert_cmpstr (lia_item_kind_to_string (LIA_ITEM_KIND_N), ==, "?");
  g_assert_cmpstr (lia_surface_to_string (LIA_SURFACE_N), ==, "?");
  g_assert_cmpstr (lia_sync_timing_to_string (LIA_SYNC_PRIMARY_CYCLE), ==, "cycle of primary");
}

static void
test_item_kind (void)
{
  LiaItemKind kind = LIA_ITEM_KIND_N;

  g_test_summary ("Entities map to the table's item kinds; regarding-only entities have none and the "
                  "out-parameter stays untouched.");
  g_assert_true (lia_item_kind_for_entity (LIA_ENTITY_EMAIL, FALSE, &kind));
  g_assert_cmpint (kind, ==, LIA_ITEM_KIND_MAIL);
  g_assert_true (lia_item_kind_for_entity (LIA_ENTITY_EMAIL, TRUE, &kind));
  g_assert_cmpint (kind, ==, LIA_ITEM_KIND_DRAFT);
  g_assert_true (lia_item_kind_for_entity (LIA_ENTITY_PHONE_CALL, TRUE, &kind));
  g_assert_cmpint (kind, ==, LIA_ITEM_KIND_PIM);
  kind = LIA_ITEM_KIND_N;
  g_assert_false (lia_item_kind_for_entity (LIA_ENTITY_LEAD, FALSE, &kind));
  g_assert_cmpint (kind, ==, LIA_ITEM_KIND_N);
}

static void
test_untracked_items (void)
{
  LiaSyncTiming timing = LIA_SYNC_N;
  const char *rule = NULL;

  g_test_summary (
      "Updating, untracking or deleting an item that is not tracked has nothing to reach CRM: n/a.");
  for (guint a = 0; a < LIA_ACTION_N; a++)
    {
      if (a == LIA_ACTION_TRACK || a == LIA_ACTION_SET_REGARDING)
        continue;
      g_assert_true (lia_rules_sync_timing ((LiaAction) a, LIA_SURFACE_EXPLORER, LIA_ITEM_KIND_PIM, FALSE,
                                            &primary, &timing, &rule, NULL));
      g_assert_cmpint (timing, ==, LIA_SYNC_NOT_APPLICABLE);
      g_assert_cmpstr (rule, ==, "");
    }
}

static void
test_derived_rows (void)
{
  LiaSyncTiming timing = LIA_SYNC_N;
  const char *rule = NULL;

  g_test_summary ("Pairs SPEC does not list still answer, with an empty rule ID: Untrack in Explorer is "
                  "immediate like Track in Explorer; email has no Update in Explorer.");
  g_assert_true (lia_rules_sync_timing (LIA_ACTION_UNTRACK, LIA_SURFACE_EXPLORER, LIA_ITEM_KIND_PIM, TRUE,
                                        &primary, &timing, &rule, NULL));
  g_assert_cmpint (timing, ==, LIA_SYNC_NOW);
  g_assert_cmpstr (rule, ==, "");
  g_assert_true (lia_rules_sync_timing (LIA_ACTION_UPDATE, LIA_SURFACE_EXPLORER, LIA_ITEM_KIND_MAIL, TRUE,
                                        &primary, &timing, &rule, NULL));
  g_assert_cmpint (timing, ==, LIA_SYNC_NOT_APPLICABLE);
}

static void
test_refusal_untouched (void)
{
  LiaClientInfo secondary = { LIA_CLIENT_SECONDARY, FALSE, FALSE, NULL };
  LiaSyncTiming timing = LIA_SYNC_N;
  const char *rule = "unset";
  g_autoptr (GError) error = NULL;

  g_test_summary ("A refusal leaves the out-parameters untouched and words the message even when the "
                  "synchronizing client's name is unknown.");
  g_assert_false (lia_rules_sync_timing (LIA_ACTION_TRACK, LIA_SURFACE_INSPECTOR, LIA_ITEM_KIND_PIM, FALSE,
                                         &secondary, &timing, &rule, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_cmpint (timing, ==, LIA_SYNC_N);
  g_assert_cmpstr (rule, ==, "unset");
  g_assert_nonnull (strstr (error->message, "synchronizing client"));
  g_assert_null (strstr (error->message, "(null)"));
}

static void
test_resolve (void)
{
  g_test_summary ("Role resolution: no primary recorded makes this client primary, the recorded one is "
                  "primary, any other is secondary, a delegate is a delegate.");
  g_assert_cmpint (lia_client_role_resolve ("a", NULL, FALSE), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (lia_client_role_resolve ("a", "a", FALSE), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (lia_client_role_resolve ("b", "a", FALSE), ==, LIA_CLIENT_SECONDARY);
  g_assert_cmpint (lia_client_role_resolve ("a", NULL, TRUE), ==, LIA_CLIENT_DELEGATE);
  g_assert_cmpint (lia_client_role_resolve ("a", "a", TRUE), ==, LIA_CLIENT_DELEGATE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules/table-complete", test_table_complete);
  g_test_add_func ("/rules/names", test_names);
  g_test_add_func ("/rules/item-kind", test_item_kind);
  g_test_add_func ("/rules/untracked-items", test_untracked_items);
  g_test_add_func ("/rules/derived-rows", test_derived_rows);
  g_test_add_func ("/rules/refusal-untouched", test_refusal_untouched);
  g_test_add_func ("/rules/resolve", test_resolve);
  return g_test_run ();
}
