/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPEC section 3, immediate synchronization, one case per row of the table.
 * The expected cells are SPEC's, written here by hand, not read from the
 * code's table. */
#include "conformance.h"

#define NOW LIA_SYNC_NOW
#define CLOSE LIA_SYNC_ON_CLOSE
#define SAVE LIA_SYNC_ON_SAVE
#define SEND LIA_SYNC_ON_SEND
#define CYCLE LIA_SYNC_NEXT_CYCLE
#define NEVER LIA_SYNC_PRIMARY_CYCLE /* SPEC's "never (cycle of primary)" */
#define REFUSED LIA_SYNC_REFUSED
#define NA LIA_SYNC_NOT_APPLICABLE

/* The columns of SPEC's table; its "secondary or delegate" column is checked
 * for both roles. */
typedef struct
{
  LiaSyncTiming mail_primary;
  LiaSyncTiming mail_secondary;
  LiaSyncTiming draft;
  LiaSyncTiming pim_primary;
  LiaSyncTiming pim_secondary;
  LiaSyncTiming pim_delegate;
} SpecRow;

static void
check_cell (LiaAction action, LiaSurface surface, LiaItemKind kind, LiaClientRole role,
            LiaSyncTiming expected)
{
  LiaClientInfo client = { role, FALSE, TRUE, "Office desktop" };
  LiaSyncTiming timing = LIA_SYNC_N;
  g_autoptr (GError) error = NULL;
  gboolean tracked = action != LIA_ACTION_TRACK;
  gboolean ok = lia_rules_sync_timing (action, surface, kind, tracked, &client, &timing, NULL, &error);

  if (expected == REFUSED)
    {
      g_assert_false (ok);
      g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (ok);
  if (timing != expected)
    g_test_fail_printf ("%s in %s, %s, %s: %s, SPEC says %s", lia_action_to_string (action),
                        lia_surface_to_string (surface), lia_item_kind_to_string (kind),
                        lia_client_role_to_string (role), lia_sync_timing_to_string (timing),
                        lia_sync_timing_to_string (expected));
}

typedef struct
{
  const char *path;
  const char *summary;
  LiaAction action;
  LiaSurface surface;
  SpecRow cells;
} SpecCase;

static void
check_row (gconstpointer data)
{
  const SpecCase *row = data;

  g_test_summary (row->summary);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_MAIL, LIA_CLIENT_PRIMARY, row->cells.mail_primary);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_MAIL, LIA_CLIENT_SECONDARY, row->cells.mail_secondary);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_DRAFT, LIA_CLIENT_PRIMARY, row->cells.draft);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_DRAFT, LIA_CLIENT_SECONDARY, row->cells.draft);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_PIM, LIA_CLIENT_PRIMARY, row->cells.pim_primary);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_PIM, LIA_CLIENT_SECONDARY, row->cells.pim_secondary);
  check_cell (row->action, row->surface, LIA_ITEM_KIND_PIM, LIA_CLIENT_DELEGATE, row->cells.pim_delegate);
}

static const SpecCase spec_rows[] = {
  { "/rules/R-IMM-TRACK-INSP/table-row",
    "R-IMM-TRACK-INSP: Track in Inspector is immediate for email, on send for drafts, on save for contacts, "
    "appointments and tasks on the primary; refused on a secondary (R-ROLE-SECONDARY-NO-NEW), the primary's "
    "cycle for a delegate.",
    LIA_ACTION_TRACK,
    LIA_SURFACE_INSPECTOR,
    { NOW, NOW, SEND, SAVE, REFUSED, NEVER } },
  { "/rules/R-IMM-UPDATE-INSP/table-row",
    "R-IMM-UPDATE-INSP: Update in Inspector is immediate for email (regarding), on send for drafts, on close "
    "for contacts, appointments and tasks on the primary, never by a secondary or delegate.",
    LIA_ACTION_UPDATE,
    LIA_SURFACE_INSPECTOR,
    { NOW, NOW, SEND, CLOSE, NEVER, NEVER } },
  { "/rules/R-IMM-UNTRACK-INSP/table-row",
    "R-IMM-UNTRACK-INSP: Untrack in Inspector is immediate for email, n/a for drafts, on close on the "
    "primary, "
    "never by a secondary or delegate.",
    LIA_ACTION_UNTRACK,
    LIA_SURFACE_INSPECTOR,
    { NOW, NOW, NA, CLOSE, NEVER, NEVER } },
  { "/rules/R-IMM-DELETE-INSP/table-row",
    "R-IMM-DELETE-INSP: Delete in Inspector waits for the next cycle (by the deletion rules), n/a for "
    "drafts; a secondary's or delegate's delete is the primary's cycle.",
    LIA_ACTION_DELETE,
    LIA_SURFACE_INSPECTOR,
    { CYCLE, CYCLE, NA, CYCLE, NEVER, NEVER } },
  { "/rules/R-IMM-TRACK-EXPL/table-row",
    "R-IMM-TRACK-EXPL: Track in Explorer is immediate for email and, on the primary, for contacts, "
    "appointments and tasks; n/a for drafts; refused on a secondary, the primary's cycle for a delegate.",
    LIA_ACTION_TRACK,
    LIA_SURFACE_EXPLORER,
    { NOW, NOW, NA, NOW, REFUSED, NEVER } },
  { "/rules/R-IMM-REGARDING-EXPL/table-row",
    "R-IMM-REGARDING-EXPL: Set Regarding in Explorer on a tracked item is immediate for email and on the "
    "primary; n/a for drafts; never by a secondary or delegate.",
    LIA_ACTION_SET_REGARDING,
    LIA_SURFACE_EXPLORER,
    { NOW, NOW, NA, NOW, NEVER, NEVER } },
  { "/rules/R-IMM-DELETE-EXPL/table-row",
    "R-IMM-DELETE-EXPL: Delete in Explorer waits for the next cycle, n/a for drafts; a secondary's or "
    "delegate's delete is the primary's cycle.",
    LIA_ACTION_DELETE,
    LIA_SURFACE_EXPLORER,
    { CYCLE, CYCLE, NA, CYCLE, NEVER, NEVER } },
};

static void
test_delete_by_deletion_rules (void)
{
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;

  g_test_summary ("R-IMM-DELETE-EXPL: the cycle applies the deletion rules: a tracked email deleted from the "
                  "list is unlinked, never deleted in CRM.");
  d.entity = LIA_ENTITY_EMAIL;
  d.event = LIA_DELETION_HOST_DELETED;
  d.user_is_owner = TRUE;
  lia_deletion_decide (&d, CONF_NOW, &decision);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_UNLINK);
}

static void
test_draft (void)
{
  LiaClientInfo roles[] = { { LIA_CLIENT_PRIMARY, FALSE, FALSE, NULL },
                            { LIA_CLIENT_SECONDARY, FALSE, FALSE, NULL } };

  g_test_summary (
      "R-IMM-DRAFT: a draft is never written to CRM before it is sent: every action on a draft is "
      "'on send' or n/a, and tracking a draft means tracking it when sent.");
  for (guint r = 0; r < G_N_ELEMENTS (roles); r++)
    for (guint a = 0; a < LIA_ACTION_N; a++)
      for (guint s = 0; s < LIA_SURFACE_N; s++)
        for (guint tracked = 0; tracked < 2; tracked++)
          {
            LiaSyncTiming timing = LIA_SYNC_N;
            g_assert_true (lia_rules_sync_timing ((LiaAction) a, (LiaSurface) s, LIA_ITEM_KIND_DRAFT, tracked,
                                                  &roles[r], &timing, NULL, NULL));
            g_assert_true (timing == LIA_SYNC_ON_SEND || timing == LIA_SYNC_NOT_APPLICABLE);
          }
  {
    LiaSyncTiming timing = LIA_SYNC_N;
    const char *rule = NULL;
    g_assert_true (lia_rules_sync_timing (LIA_ACTION_TRACK, LIA_SURFACE_INSPECTOR, LIA_ITEM_KIND_DRAFT, FALSE,
                                          &roles[0], &timing, &rule, NULL));
    g_assert_cmpint (timing, ==, LIA_SYNC_ON_SEND);
    g_assert_cmpstr (rule, ==, "R-IMM-DRAFT");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (spec_rows); i++)
    g_test_add_data_func (spec_rows[i].path, &spec_rows[i], check_row);
  g_test_add_func ("/rules/R-IMM-DELETE-EXPL/email-by-deletion-rules", test_delete_by_deletion_rules);
  g_test_add_func ("/rules/R-IMM-DRAFT/only-on-send", test_draft);
  return g_test_run ();
}
