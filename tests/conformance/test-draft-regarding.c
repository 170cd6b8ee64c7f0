/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-fixture.h"

/* R-IMM-DRAFT end to end (plugin, test host, embedded org): the regarding
 * chosen for a draft travels on the draft itself, so that its sent message
 * is tracked with it even when the plugin restarted between the draft's
 * mark and the send (no Deferred in memory any more). */

static void
draft_cmd (EfClient *client, LiaCommandKind kind, const char *draft, const char *regarding_id,
           const char *name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_INSPECTOR };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_TEST_STORE;
  cmd.folder = "drafts";
  cmd.item_id = draft;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.is_draft = TRUE;
  cmd.link_state = LIA_LINK_STATE_NONE;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = name;
  g_assert_true (lia_plugin_internal_funcs ()->command (client->plugin, &cmd, &error));
  g_assert_no_error (error);
  ef_iterate ();
}

static char *
host_mail (EfClient *client, const char *folder, const char *subject, gboolean draft)
{
  g_autoptr (LiaItem) mail = lia_item_new (LIA_ENTITY_EMAIL);

  g_assert_true (lia_item_set_text (mail, "subject", subject, NULL));
  return lia_test_host_user_create (client->host, LIA_TEST_STORE, folder, mail, draft);
}

static void
send_event (EfClient *client, const char *sent, const char *draft)
{
  LiaUiEvent send = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SEND, LIA_TEST_STORE, sent, draft };
  gint64 t0 = g_get_monotonic_time ();

  lia_plugin_internal_funcs ()->ui_event (client->plugin, &send);
  /* R-IMM-OUTGOING-ASYNC: the event returns at once (no host read, no
   * org call inside it). */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 50000);
}

/* Turns the main context until @item_id carries a regarding (the last
 * host write of a track with a regarding) or 30 s passed. */
static LiaHostItem *
wait_regarding (EfClient *client, const char *item_id)
{
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      LiaHostItem *now = lia_test_host_dup_item (client->host, item_id);

      if (now->props.regarding_id != NULL || g_get_monotonic_time () > until)
        return now;
      lia_host_item_free (now);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_regarding_on_draft (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = ef_crm_contact (ef, ef->alice, "Ada", "Ames");
  g_autofree char *other = ef_crm_contact (ef, ef->alice, "Bo", "Bell");
  g_autofree char *draft = NULL;

  g_test_summary ("R-IMM-DRAFT: a draft marked to be tracked when sent carries the regarding chosen for it "
                  "in its host properties (as a tracked message's regarding is stored); a new regarding "
                  "replaces it, a mark without one clears it, and Untrack of the draft takes back the mark "
                  "and the regarding; the draft never reaches CRM");
  ef_sync (&ef->a);
  draft = host_mail (&ef->a, "drafts", "Proposal", TRUE);
  draft_cmd (&ef->a, LIA_COMMAND_SET_REGARDING, draft, contact, "Ada Ames");
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, draft);

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);
    g_assert_cmpstr (hi->props.regarding_id, ==, contact);
    g_assert_cmpstr (hi->props.regarding_name, ==, "Ada Ames");
    g_assert_null (hi->props.crm_id);
  }
  draft_cmd (&ef->a, LIA_COMMAND_SET_REGARDING, draft, other, "Bo Bell");
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, draft);

    g_assert_cmpstr (hi->props.regarding_id, ==, other);
    g_assert_cmpstr (hi->props.regarding_name, ==, "Bo Bell");
  }
  /* Tracking without a regarding: the draft's regarding goes. */
  draft_cmd (&ef->a, LIA_COMMAND_TRACK, draft, NULL, NULL);
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, draft);

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);
    g_assert_null (hi->props.regarding_id);
    g_assert_null (hi->props.regarding_name);
  }
  draft_cmd (&ef->a, LIA_COMMAND_SET_REGARDING, draft, contact, "Ada Ames");
  /* Tracking switched off in the composer: mark and regarding go. */
  draft_cmd (&ef->a, LIA_COMMAND_UNTRACK, draft, NULL, NULL);
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, draft);

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (hi->props.regarding_id);
    g_assert_null (hi->props.regarding_name);
  }
  /* ... and what waited for the send: the sent copy is not tracked. */
  {
    g_autofree char *sent = host_mail (&ef->a, "sent", "Proposal", FALSE);
    g_autoptr (LiaHostItem) hi = NULL;

    send_event (&ef->a, sent, draft);
    for (guint i = 0; i < 200; i++)
      {
        ef_iterate ();
        g_usleep (1000);
      }
    ef_sync (&ef->a);
    hi = lia_test_host_dup_item (ef->a.host, sent);
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (hi->props.crm_id);
  }
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 0);
}

static void
test_regarding_after_restart (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = ef_crm_contact (ef, ef->alice, "Ada", "Ames");
  g_autofree char *draft = NULL;
  g_autofree char *sent = NULL;
  g_autoptr (LiaHostItem) hi = NULL;

  g_test_summary ("R-IMM-DRAFT, R-IMM-OUTGOING-ASYNC: a draft marked with a regarding, then the plugin "
                  "restarts (its memory of the draft is gone): the draft, edited, still never reaches CRM, "
                  "and on send the sent message is tracked with the regarding read from the draft, in the "
                  "background");
  ef_sync (&ef->a);
  draft = host_mail (&ef->a, "drafts", "Proposal", TRUE);
  draft_cmd (&ef->a, LIA_COMMAND_SET_REGARDING, draft, contact, "Ada Ames");

  /* A fresh plugin instance on the same cache and mailbox. */
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  g_assert_true (lia_test_host_user_edit (ef->a.host, draft, "subject", "Proposal v2"));
  ef_iterate ();
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, draft);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);
  g_assert_null (hi->props.crm_id);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 0);
  g_clear_pointer (&hi, lia_host_item_free);

  sent = host_mail (&ef->a, "sent", "Proposal v2", FALSE);
  send_event (&ef->a, sent, draft);
  hi = wait_regarding (&ef->a, sent);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, contact);
  g_assert_cmpstr (hi->props.regarding_name, ==, "Ada Ames");
  {
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, hi->props.crm_id);
    LiaValue *regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");

    g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "subject"), ==, "Proposal v2");
    g_assert_nonnull (regarding);
    g_assert_cmpstr (lia_value_get_reference_id (regarding), ==, contact);
  }
  /* One CRM email: the sent message's, never the draft's. */
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-IMM-DRAFT/regarding-on-draft", test_regarding_on_draft);
  ADD ("/engine/R-IMM-DRAFT/R-IMM-OUTGOING-ASYNC/regarding-after-restart", test_regarding_after_restart);
#undef ADD
  return g_test_run ();
}
