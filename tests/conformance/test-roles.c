/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPEC section 2, client roles, as far as the rules layer decides them. */
#include <string.h>

#include "conformance.h"

#define PRIMARY_NAME "Office desktop"

static LiaClientInfo
client (LiaClientRole role)
{
  LiaClientInfo info = { role, FALSE, role == LIA_CLIENT_DELEGATE, PRIMARY_NAME };

  return info;
}

static gboolean
timing_of (LiaAction action, LiaSurface surface, LiaItemKind kind, gboolean tracked,
           const LiaClientInfo *info, LiaSyncTiming *out_timing, const char **out_rule, GError **error)
{
  return lia_rules_sync_timing (action, surface, kind, tracked, info, out_timing, out_rule, error);
}

static void
test_one_primary (void)
{
  const char *recorded = NULL;
  LiaClientRole laptop;

  g_test_summary ("R-ROLE-ONE-PRIMARY: the first client configured becomes primary, the next is secondary, "
                  "and designating another demotes the previous one.");
  g_assert_cmpint (lia_client_role_resolve ("desktop", recorded, FALSE), ==, LIA_CLIENT_PRIMARY);
  recorded = "desktop"; /* the server records the first client */
  laptop = lia_client_role_resolve ("laptop", recorded, FALSE);
  g_assert_cmpint (laptop, ==, LIA_CLIENT_SECONDARY);
  g_assert_cmpint (lia_client_role_resolve ("desktop", recorded, FALSE), ==, LIA_CLIENT_PRIMARY);
  recorded = "laptop"; /* the user designates the laptop */
  g_assert_cmpint (lia_client_role_resolve ("laptop", recorded, FALSE), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (lia_client_role_resolve ("desktop", recorded, FALSE), ==, LIA_CLIENT_SECONDARY);
}

static void
test_roaming (void)
{
  LiaClientInfo info = client (LIA_CLIENT_SECONDARY);
  LiaClientInfo delegate = client (LIA_CLIENT_DELEGATE);
  LiaSyncTiming timing = LIA_SYNC_N;

  g_test_summary ("R-ROLE-ROAMING: with a roaming profile a secondary client acts as primary: it tracks new "
                  "contacts and sends its own changes. A delegate stays a delegate.");
  info.roaming = TRUE;
  delegate.roaming = TRUE;
  g_assert_cmpint (lia_client_role_effective (&info), ==, LIA_CLIENT_PRIMARY);
  g_assert_true (timing_of (LIA_ACTION_TRACK, LIA_SURFACE_EXPLORER, LIA_ITEM_KIND_PIM, FALSE, &info, &timing,
                            NULL, NULL));
  g_assert_cmpint (timing, ==, LIA_SYNC_NOW);
  g_assert_true (timing_of (LIA_ACTION_UPDATE, LIA_SURFACE_INSPECTOR, LIA_ITEM_KIND_PIM, TRUE, &info, &timing,
                            NULL, NULL));
  g_assert_cmpint (timing, ==, LIA_SYNC_ON_CLOSE);
  g_assert_true (lia_client_sends_changes (&info, LIA_ITEM_KIND_PIM));
  g_assert_cmpint (lia_client_role_effective (&delegate), ==, LIA_CLIENT_DELEGATE);
  g_assert_false (lia_client_sends_changes (&delegate, LIA_ITEM_KIND_PIM));
}

static void
test_secondary_no_new (void)
{
  LiaClientInfo info = client (LIA_CLIENT_SECONDARY);
  static const LiaSurface surfaces[] = { LIA_SURFACE_INSPECTOR, LIA_SURFACE_EXPLORER };

  g_test_summary (
      "R-ROLE-SECONDARY-NO-NEW: on a secondary client, tracking a new contact, appointment or task "
      "(also through Set Regarding) is refused with a message naming the primary client.");
  for (guint s = 0; s < G_N_ELEMENTS (surfaces); s++)
    for (guint a = 0; a < 2; a++)
      {
        LiaAction action = a == 0 ? LIA_ACTION_TRACK : LIA_ACTION_SET_REGARDING;
        LiaSyncTiming timing = LIA_SYNC_N;
        const char *rule = NULL;
        g_autoptr (GError) error = NULL;

        g_assert_false (
            timing_of (action, surfaces[s], LIA_ITEM_KIND_PIM, FALSE, &info, &timing, &rule, &error));
        g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
        g_assert_nonnull (strstr (error->message, "\"" PRIMARY_NAME "\""));
        g_assert_cmpint (timing, ==, LIA_SYNC_N);
      }
}

static void
test_secondary_defer (void)
{
  LiaClientInfo secondary = client (LIA_CLIENT_SECONDARY);
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaMergeResult) result = NULL;
  static const LiaAction actions[] = { LIA_ACTION_UPDATE, LIA_ACTION_UNTRACK, LIA_ACTION_DELETE,
                                       LIA_ACTION_SET_REGARDING };

  g_test_summary ("R-ROLE-SECONDARY-DEFER: a secondary client does not send changes to tracked contacts, "
                  "appointments or tasks; the primary's cycle merges edits both clients made to the one item "
                  "into one CRM update, and no second record can come from the secondary.");
  for (guint a = 0; a < G_N_ELEMENTS (actions); a++)
    for (guint s = 0; s < LIA_SURFACE_N; s++)
      {
        LiaSyncTiming timing = LIA_SYNC_N;
        g_assert_true (
            timing_of (actions[a], (LiaSurface) s, LIA_ITEM_KIND_PIM, TRUE, &secondary, &timing, NULL, NULL));
        g_assert_cmpint (timing, ==, LIA_SYNC_PRIMARY_CYCLE);
      }
  g_assert_false (lia_client_sends_changes (&secondary, LIA_ITEM_KIND_PIM));

  /* The same host item, edited on the secondary (job title) and on the
   * primary (department), reaches the primary through the shared mailbox. */
  conf_set_text (original, "full-name", "Jeff Smith");
  crm = lia_item_copy (original);
  host = lia_item_copy (original);
  conf_set_text (host, "job-title", "Buyer");
  conf_set_text (host, "department", "Purchasing");
  result = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_DAY);
  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_CRM), ==, 2);
  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_HOST), ==, 0);
}

static void
test_delegate (void)
{
  LiaClientInfo delegate = client (LIA_CLIENT_DELEGATE);
  LiaClientInfo unconfigured = client (LIA_CLIENT_DELEGATE);
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-DELEGATE: a delegate may mark items of every kind but never syncs them (the "
                  "primary's next cycle does); a delegate that is not a CRM user configured for "
                  "synchronization is refused.");
  for (guint k = 0; k < LIA_ITEM_KIND_N; k++)
    {
      LiaSyncTiming timing = LIA_SYNC_N;
      const char *rule = NULL;
      g_assert_true (timing_of (LIA_ACTION_TRACK, LIA_SURFACE_INSPECTOR, (LiaItemKind) k, FALSE, &delegate,
                                &timing, &rule, NULL));
      g_assert_cmpint (timing, ==, LIA_SYNC_PRIMARY_CYCLE);
      g_assert_cmpstr (rule, ==, "R-ROLE-DELEGATE");
      g_assert_false (lia_client_sends_changes (&delegate, (LiaItemKind) k));
    }
  unconfigured.delegate_configured = FALSE;
  {
    LiaSyncTiming timing = LIA_SYNC_N;
    g_assert_false (timing_of (LIA_ACTION_TRACK, LIA_SURFACE_INSPECTOR, LIA_ITEM_KIND_MAIL, FALSE,
                               &unconfigured, &timing, NULL, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
    g_assert_nonnull (strstr (error->message, "configured for synchronization"));
  }
}

static void
test_email_uniform (void)
{
  LiaClientInfo primary = client (LIA_CLIENT_PRIMARY);
  LiaClientInfo secondary = client (LIA_CLIENT_SECONDARY);
  guint compared = 0;

  g_test_summary (
      "R-ROLE-EMAIL-UNIFORM: for every action and surface, tracking, untracking and Set Regarding "
      "of received, sent and draft email behave the same on primary and secondary clients.");
  for (guint a = 0; a < LIA_ACTION_N; a++)
    for (guint s = 0; s < LIA_SURFACE_N; s++)
      for (guint k = LIA_ITEM_KIND_MAIL; k <= LIA_ITEM_KIND_DRAFT; k++)
        for (guint tracked = 0; tracked < 2; tracked++)
          {
            LiaSyncTiming tp = LIA_SYNC_N, ts = LIA_SYNC_N;
            gboolean okp = timing_of ((LiaAction) a, (LiaSurface) s, (LiaItemKind) k, tracked, &primary, &tp,
                                      NULL, NULL);
            gboolean oks = timing_of ((LiaAction) a, (LiaSurface) s, (LiaItemKind) k, tracked, &secondary,
                                      &ts, NULL, NULL);
            g_assert_true (okp);
            g_assert_true (oks);
            g_assert_cmpint (tp, ==, ts);
            compared++;
          }
  g_assert_cmpuint (compared, ==, LIA_ACTION_N * LIA_SURFACE_N * 2 * 2);
  g_assert_true (lia_client_sends_changes (&secondary, LIA_ITEM_KIND_MAIL));
}

static void
test_primary_offline (void)
{
  LiaClientInfo secondary = client (LIA_CLIENT_SECONDARY);
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_TASK);
  g_autoptr (LiaItem) original = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaMergeResult) first = NULL;
  g_autoptr (LiaMergeResult) replay = NULL;
  g_autoptr (LiaMergeResult) after = NULL;
  LiaSyncTiming timing = LIA_SYNC_N;

  g_test_summary (
      "R-ROLE-PRIMARY-OFFLINE: a change deferred by a secondary waits on the item while the "
      "primary is offline; when the primary returns it is merged once, replaying the merge before "
      "the original is stored writes the same values, and once stored nothing is applied again.");
  g_assert_true (timing_of (LIA_ACTION_UPDATE, LIA_SURFACE_INSPECTOR, LIA_ITEM_KIND_PIM, TRUE, &secondary,
                            &timing, NULL, NULL));
  g_assert_cmpint (timing, ==, LIA_SYNC_PRIMARY_CYCLE);

  conf_set_text (original, "subject", "Call Contoso");
  crm = lia_item_copy (original);
  host = lia_item_copy (original);
  conf_set_text (host, "description", "Ask about the renewal"); /* edited on the secondary */

  /* Days pass; the primary comes back and merges. */
  first = conf_merge (policy, original, host, crm, CONF_NOW - 3 * CONF_DAY, CONF_NOW - 9 * CONF_DAY);
  replay = conf_merge (policy, original, host, crm, CONF_NOW - 3 * CONF_DAY, CONF_NOW - 9 * CONF_DAY);
  g_assert_cmpuint (conf_n_writes (first, LIA_SIDE_CRM), ==, 1);
  g_assert_cmpuint (conf_n_writes (replay, LIA_SIDE_CRM), ==, 1);
  g_assert_true (lia_value_equal (conf_find_write (first, LIA_SIDE_CRM, "description")->value,
                                  conf_find_write (replay, LIA_SIDE_CRM, "description")->value));
  conf_apply (first, host, crm);
  conf_apply (replay, host, crm);
  g_assert_cmpstr (lia_item_get_text (crm, "description"), ==, "Ask about the renewal");
  after = conf_merge (policy, lia_merge_result_get_original (first), host, crm, CONF_NOW, CONF_NOW);
  g_assert_false (lia_merge_result_has_writes (after));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules/R-ROLE-ONE-PRIMARY/first-is-primary-designation-demotes", test_one_primary);
  g_test_add_func ("/rules/R-ROLE-ROAMING/every-client-acts-as-primary", test_roaming);
  g_test_add_func ("/rules/R-ROLE-SECONDARY-NO-NEW/track-refused-names-primary", test_secondary_no_new);
  g_test_add_func ("/rules/R-ROLE-SECONDARY-DEFER/primary-sends-one-update", test_secondary_defer);
  g_test_add_func ("/rules/R-ROLE-DELEGATE/marks-but-never-syncs", test_delegate);
  g_test_add_func ("/rules/R-ROLE-EMAIL-UNIFORM/primary-and-secondary-alike", test_email_uniform);
  g_test_add_func ("/rules/R-ROLE-PRIMARY-OFFLINE/deferred-change-applied-once", test_primary_offline);
  return g_test_run ();
}
