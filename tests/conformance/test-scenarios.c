/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "engine-fixture.h"

/* Scenarios of SPEC sections 1 to 4 and 12 through the plugin's entry
 * points: roles with two clients on one mailbox and a delegate, when
 * commands reach CRM, and what happens while the org is unreachable. */

static gboolean
command (EfClient *client, LiaCommandKind kind, LiaSurface surface, const char *store, const char *item_id,
         LiaEntity entity, LiaLinkState state, GError **error)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, surface };

  cmd.store = store;
  cmd.folder = lia_test_folder_for (entity);
  cmd.item_id = item_id;
  cmd.entity = entity;
  cmd.link_state = state;
  return lia_plugin_internal_funcs ()->command (client->plugin, &cmd, error);
}

static void
ui_event (EfClient *client, LiaUiEventKind kind, const char *item_id)
{
  LiaUiEvent e = { LIA_PLUGIN_ABI_VERSION, kind, LIA_TEST_STORE, item_id, NULL };

  lia_plugin_internal_funcs ()->ui_event (client->plugin, &e);
}

static char *
host_contact (EfClient *client, const char *store, const char *given, const char *family)
{
  g_autoptr (LiaCrmRecord) c = ef_contact (given, family);

  return lia_test_host_user_create (client->host, store, "contacts", lia_crm_record_get_item (c), FALSE);
}

static LiaLinkState
link_state (EfClient *client, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);

  return hi->props.link_state;
}

static guint64
queued (EfClient *client)
{
  guint64 n = 0;

  g_assert_true (lia_cache_count_changes (lia_engine_get_cache (lia_plugin_get_engine (client->plugin)),
                                          LIA_CACHE_CHANGES_ALL, &n, NULL));
  return n;
}

static void
regarding_cmd (EfClient *client, LiaSurface surface, const char *item_id, LiaEntity entity,
               LiaLinkState state, const char *regarding_id, const char *name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_SET_REGARDING, surface };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_TEST_STORE;
  cmd.folder = lia_test_folder_for (entity);
  cmd.item_id = item_id;
  cmd.entity = entity;
  cmd.link_state = state;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = name;
  g_assert_true (lia_plugin_internal_funcs ()->command (client->plugin, &cmd, &error));
  g_assert_no_error (error);
}

/* An account in CRM, as the regarding record; returns its id. */
static char *
crm_account (Ef *ef, const char *name)
{
  g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", name, NULL));
  made = lia_org_service_create (ef->org, ef->alice, account, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

/* A future appointment or an open task, created by the user in the host. */
static char *
host_activity (EfClient *client, LiaEntity entity, const char *subject)
{
  g_autoptr (LiaItem) item = lia_item_new (entity);
  g_autoptr (LiaValue) start = lia_value_new_datetime (EF_NOW + 24 * 60 * EF_MINUTE, NULL);
  g_autoptr (LiaValue) end = lia_value_new_datetime (EF_NOW + 25 * 60 * EF_MINUTE, NULL);

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set (item, "start", start, NULL));
  g_assert_true (lia_item_set (item, entity == LIA_ENTITY_TASK ? "due" : "end", end, NULL));
  return lia_test_host_user_create (client->host, LIA_TEST_STORE, lia_test_folder_for (entity), item, FALSE);
}

/* The host item's CRM record has @account as its regarding, and the host
 * shows the account's name (R-MARK-REGARDING-TEXT). */
static void
assert_regarding (Ef *ef, EfClient *client, const char *item_id, LiaEntity entity, const char *account,
                  const char *name)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaValue *regarding;

  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  g_assert_cmpstr (hi->props.regarding_name, ==, name);
  regarding = lia_item_get (hi->item, "regarding");
  g_assert_nonnull (regarding);
  g_assert_cmpstr (lia_value_get_reference_name (regarding), ==, name);
  rec = ef_crm_get (ef, entity, hi->props.crm_id);
  regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (regarding);
  g_assert_cmpstr (lia_value_get_reference_id (regarding), ==, account);
}

static void
test_regarding_activities (Ef *ef, gconstpointer data)
{
  g_autofree char *account = crm_account (ef, "Acme Corp");
  g_autofree char *appt = NULL;
  g_autofree char *task = NULL;
  g_autofree char *tracked_appt = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MARK-REGARDING, R-IMM-REGARDING-EXPL, R-MARK-REGARDING-TEXT: Set Regarding in the "
                  "Explorer on an appointment and a task links their CRM activities to an account (tracking "
                  "the untracked ones too) and the host shows the account's name once synchronized; no "
                  "duplicate on either side");
  ef_sync (&ef->a);
  appt = host_activity (&ef->a, LIA_ENTITY_APPOINTMENT, "Kickoff");
  task = host_activity (&ef->a, LIA_ENTITY_TASK, "Send the quote");
  tracked_appt = host_activity (&ef->a, LIA_ENTITY_APPOINTMENT, "Review");
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, tracked_appt,
                          LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  g_assert_cmpint (link_state (&ef->a, tracked_appt), ==, LIA_LINK_STATE_TRACKED);

  regarding_cmd (&ef->a, LIA_SURFACE_EXPLORER, appt, LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE, account,
                 "Acme (typed)");
  regarding_cmd (&ef->a, LIA_SURFACE_EXPLORER, task, LIA_ENTITY_TASK, LIA_LINK_STATE_NONE, account, "Acme");
  regarding_cmd (&ef->a, LIA_SURFACE_EXPLORER, tracked_appt, LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_TRACKED,
                 account, "Acme");
  ef_iterate ();
  /* R-MARK-TRACK: the untracked ones show the mark at once. */
  g_assert_cmpint (link_state (&ef->a, appt), >=, LIA_LINK_STATE_MARKED);
  g_assert_cmpint (link_state (&ef->a, task), >=, LIA_LINK_STATE_MARKED);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  assert_regarding (ef, &ef->a, appt, LIA_ENTITY_APPOINTMENT, account, "Acme Corp");
  assert_regarding (ef, &ef->a, task, LIA_ENTITY_TASK, account, "Acme Corp");
  assert_regarding (ef, &ef->a, tracked_appt, LIA_ENTITY_APPOINTMENT, account, "Acme Corp");
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_APPOINTMENT), ==, 2);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_TASK), ==, 1);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "calendar"), ==, 2);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "tasks"), ==, 1);
  g_assert_cmpuint (queued (&ef->a), ==, 0);
}

static void
test_regarding_inspector (Ef *ef, gconstpointer data)
{
  g_autofree char *account = crm_account (ef, "Globex");
  g_autofree char *appt = NULL;
  g_autofree char *task = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-IMM-UPDATE-INSP, R-IMM-TRACK-INSP, R-MARK-REGARDING: Set Regarding in an Inspector is "
                  "remembered: on a tracked appointment it reaches CRM when the Inspector closes (a save "
                  "does not send it), on an untracked task it tracks it when the item is saved");
  ef_sync (&ef->a);
  appt = host_activity (&ef->a, LIA_ENTITY_APPOINTMENT, "Planning");
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, appt,
                          LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  g_assert_cmpint (link_state (&ef->a, appt), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpuint (queued (&ef->a), ==, 0);

  /* Tracked appointment: Update in Inspector = close. */
  regarding_cmd (&ef->a, LIA_SURFACE_INSPECTOR, appt, LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_TRACKED, account,
                 "Globex");
  ef_iterate ();
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  ui_event (&ef->a, LIA_UI_EVENT_SAVE, appt);
  ef_iterate ();
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  ef_sync (&ef->a);
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, appt);
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_APPOINTMENT, hi->props.crm_id);

    g_assert_null (lia_item_get (lia_crm_record_get_item (rec), "regarding"));
    g_assert_null (hi->props.regarding_id);
  }
  ui_event (&ef->a, LIA_UI_EVENT_CLOSE, appt);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  assert_regarding (ef, &ef->a, appt, LIA_ENTITY_APPOINTMENT, account, "Globex");

  /* Untracked task: Track in Inspector = save. */
  task = host_activity (&ef->a, LIA_ENTITY_TASK, "Call back");
  regarding_cmd (&ef->a, LIA_SURFACE_INSPECTOR, task, LIA_ENTITY_TASK, LIA_LINK_STATE_NONE, account,
                 "Globex");
  ef_iterate ();
  g_assert_cmpint (link_state (&ef->a, task), ==, LIA_LINK_STATE_MARKED);
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  ui_event (&ef->a, LIA_UI_EVENT_SAVE, task);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  assert_regarding (ef, &ef->a, task, LIA_ENTITY_TASK, account, "Globex");
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_TASK), ==, 1);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_APPOINTMENT), ==, 1);
}

static char *
crm_id_of_item (EfClient *client, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);

  return g_strdup (hi->props.crm_id);
}

static guint
count_all (EfClient *client, const char *folder)
{
  return lia_test_host_count_items (client->host, LIA_TEST_STORE, folder)
         + lia_test_host_count_items (client->host, LIA_TEST_STORE_OTHER, folder);
}

/* A tracked future appointment (a host delete would delete it in CRM) and
 * a contact marked while the org is unreachable are moved by the host to
 * places that give them new ids. */
static void
moved_new_id (Ef *ef, gboolean report_move)
{
  const char *to_store = report_move ? LIA_TEST_STORE_OTHER : LIA_TEST_STORE;
  g_autofree char *appt = host_activity (&ef->a, LIA_ENTITY_APPOINTMENT, "Board meeting");
  g_autofree char *appt2 = NULL;
  g_autofree char *contact = NULL;
  g_autofree char *contact2 = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) error = NULL;

  ef_sync (&ef->a);
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, appt,
                          LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, appt);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  crm_id = g_strdup (hi->props.crm_id);
  g_clear_pointer (&hi, lia_host_item_free);

  /* Tracked (state 2), moved under a new id. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  appt2 = lia_test_host_user_move_new_id (ef->a.host, appt, to_store, "calendar", report_move);
  g_assert_nonnull (appt2);
  g_assert_cmpstr (appt2, !=, appt);
  ef_iterate ();
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_APPOINTMENT, crm_id);
  g_assert_cmpint (lia_crm_record_get_state (rec), !=, LIA_RECORD_STATE_CANCELED);
  g_clear_pointer (&rec, lia_crm_record_free);
  {
    g_autoptr (LiaCacheMapping) m =
        lia_cache_lookup_crm (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE,
                              LIA_ENTITY_APPOINTMENT, crm_id, NULL);

    g_assert_nonnull (m);
    g_assert_cmpstr (m->item_id, ==, appt2);
  }
  /* Still linked both ways, on the new id. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, appt2, "location", "Room 4"));
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_APPOINTMENT, crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "location"), ==, "Room 4");
  g_clear_pointer (&rec, lia_crm_record_free);
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_APPOINTMENT, crm_id, "subject", "Board meeting (moved)");
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, appt2);
  g_assert_cmpstr (lia_item_get_text (hi->item, "subject"), ==, "Board meeting (moved)");
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (hi->props.crm_id, ==, crm_id);
  g_clear_pointer (&hi, lia_host_item_free);

  /* Marked (state 1) while the org is unreachable, moved before its
   * promotion: promoted once, on its new id. */
  contact = host_contact (&ef->a, LIA_TEST_STORE, "Val", "Vance");
  switch_crm_set_down (ef->a.crm, TRUE);
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, contact,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  /* The Track's immediate attempt has failed before the move: a cycle
   * still in flight when the org comes back would be joined by the
   * Synchronize Now below and answer with its network error. */
  ef_wait_state (&ef->a, LIA_SYNC_STATE_OFFLINE);
  ef_iterate ();
  g_assert_cmpint (link_state (&ef->a, contact), ==, LIA_LINK_STATE_MARKED);
  contact2 = lia_test_host_user_move_new_id (ef->a.host, contact, to_store, "contacts", report_move);
  /* The move's notifications are queued (the failed Track, then the move,
   * or the delete and the create) before the cycle's scan: the scan skips
   * queued items, so their upload must promote the mark. */
  ef_wait_queued (&ef->a, report_move ? 2 : 3);
  switch_crm_set_down (ef->a.crm, FALSE);
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, contact2);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_clear_pointer (&hi, lia_host_item_free);

  /* A restart reconciles deletions: neither item is taken for deleted. */
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_APPOINTMENT, crm_id);
  g_assert_nonnull (rec);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_APPOINTMENT), ==, 1);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_CONTACT), ==, 1);
  g_assert_cmpuint (count_all (&ef->a, "calendar"), ==, 1);
  g_assert_cmpuint (count_all (&ef->a, "contacts"), ==, 1);
  g_assert_cmpint (link_state (&ef->a, appt2), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (link_state (&ef->a, contact2), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpuint (queued (&ef->a), ==, 0);
}

static void
test_moved_reported (Ef *ef, gconstpointer data)
{
  g_test_summary (
      "R-DUP-NONE, R-MARK-PROFILE, R-DET-NOTIFY: a tracked appointment and a marked contact moved "
      "to another store that gives them new ids, reported as one \"moved\" notification with "
      "the old id, are relinked (not deleted and created): no CRM delete, no duplicate on "
      "either side, changes flow both ways on the new id");
  moved_new_id (ef, TRUE);
}

static void
test_moved_as_delete_create (Ef *ef, gconstpointer data)
{
  g_test_summary ("R-DUP-NONE, R-DET-SCAN: a host that reports a move as a delete and a create: the new "
                  "item carrying the same crm-id is relinked, the delete deletes nothing in CRM, no "
                  "duplicate on either side");
  moved_new_id (ef, FALSE);
}

static void
test_moved_only_delete_reported (Ef *ef, gconstpointer data)
{
  g_autofree char *appt = host_activity (&ef->a, LIA_ENTITY_APPOINTMENT, "Budget review");
  g_autofree char *appt2 = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) error = NULL;
  LiaHostNotification gone = { LIA_HOST_ABI_VERSION, LIA_HOST_EVENT_DELETED };

  g_test_summary ("R-DUP-NONE, R-DEL-OUT-APPT: a tracked future appointment moved under a new id, its time "
                  "kept, by a host that reports only the delete: the delete finds the item carrying the "
                  "same CRM id and relinks it; the CRM appointment is not deleted, nothing is duplicated");
  ef_sync (&ef->a);
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, appt,
                          LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  crm_id = crm_id_of_item (&ef->a, appt);
  g_assert_nonnull (crm_id);
  lia_clock_advance (ef->clock, 10 * EF_MINUTE);
  ef_sync (&ef->a);

  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  appt2 = lia_test_host_user_move_new_id (ef->a.host, appt, LIA_TEST_STORE, "calendar", FALSE);
  lia_test_host_set_drop_notifications (ef->a.host, FALSE);
  gone.store = LIA_TEST_STORE;
  gone.folder = "calendar";
  gone.item_id = appt;
  gone.entity = LIA_ENTITY_APPOINTMENT;
  gone.link_state = LIA_LINK_STATE_TRACKED;
  lia_plugin_internal_funcs ()->notify (ef->a.plugin, &gone);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  ef_sync (&ef->a);

  rec = ef_crm_get (ef, LIA_ENTITY_APPOINTMENT, crm_id);
  g_assert_nonnull (rec);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_APPOINTMENT), ==, 1);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "calendar"), ==, 1);
  hi = lia_test_host_dup_item (ef->a.host, appt2);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (hi->props.crm_id, ==, crm_id);
  {
    g_autoptr (LiaCacheMapping) m =
        lia_cache_lookup_crm (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE,
                              LIA_ENTITY_APPOINTMENT, crm_id, NULL);

    g_assert_nonnull (m);
    g_assert_cmpstr (m->item_id, ==, appt2);
  }
}

static void
test_delegate (Ef *ef, gconstpointer data)
{
  EfClient bob = { 0 };
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-ROLE-DELEGATE: a delegate marks an item of the delegating user's mailbox (link state "
                  "1) but never syncs it; the user's primary client promotes it at its next cycle");
  ef_sync (&ef->a);
  ef_client_start (ef, &bob, ef->mailbox, ef->bob_token, "bob-on-alice", "bob.db", TRUE);
  ef_sync (&bob);
  item = host_contact (&bob, LIA_TEST_STORE, "Ida", "Ives");
  g_assert_true (command (&bob, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_iterate ();
  g_assert_cmpint (link_state (&bob, item), ==, LIA_LINK_STATE_MARKED);
  ef_sync (&bob);
  g_assert_cmpint (link_state (&bob, item), ==, LIA_LINK_STATE_MARKED);
  ef_client_stop (&bob);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, item);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Ives");
}

static void
test_secondary_no_new (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-SECONDARY-NO-NEW: a secondary client of the same mailbox cannot track a new "
                  "contact; the refusal names the primary client");
  ef_sync (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  ef_sync (&desk);
  item = host_contact (&desk, LIA_TEST_STORE, "Jon", "Jones");
  g_assert_false (command (&desk, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item,
                           LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "alice-laptop"));
  g_assert_cmpint (link_state (&desk, item), ==, LIA_LINK_STATE_NONE);
  ef_client_stop (&desk);
}

static void
test_secondary_defer (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Kim", "King");
  EfClient desk = { 0 };
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) before = NULL;
  g_autoptr (LiaCrmRecord) after = NULL;

  g_test_summary ("R-ROLE-SECONDARY-DEFER, R-ROLE-PRIMARY-OFFLINE: a secondary's change to a tracked "
                  "contact is not sent by it; it reaches CRM when the primary syncs, once, without a "
                  "duplicate, even after the primary was offline");
  ef_sync (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  ef_sync (&desk);
  hi = lia_test_host_find (desk.host, "contacts", "family-name", "King");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (desk.host, hi->item_id, "job-title", "From desk"));
  ef_wait_queued (&desk, 1);
  ef_sync (&desk);
  before = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_null (lia_item_get_text (lia_crm_record_get_item (before), "job-title"));
  ef_client_stop (&desk);
  switch_crm_set_down (ef->a.crm, TRUE);
  g_assert_false (ef_try_sync (&ef->a, NULL));
  switch_crm_set_down (ef->a.crm, FALSE);
  /* The failed attempt waits out its backoff (R-IMM-FALLBACK). */
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);
  ef_sync (&ef->a);
  after = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (after), "job-title"), ==, "From desk");
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);
  ef_sync (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);
}

static void
test_profile (Ef *ef, gconstpointer data)
{
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MARK-PROFILE: tracking an item of another store than the primary is refused with a "
                  "clear message");
  ef_sync (&ef->a);
  item = host_contact (&ef->a, LIA_TEST_STORE_OTHER, "Lea", "Lane");
  g_assert_false (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE_OTHER, item,
                           LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "primary"));
}

static void
test_profile_moved_marked (Ef *ef, gconstpointer data)
{
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-MARK-PROFILE: an item marked (state 1) in the primary store and moved to another store "
                  "before the cycle promotes it is promoted (state 2, record in CRM), not left an orphan, "
                  "and later cycles keep it tracked");
  ef_sync (&ef->a);
  item = host_contact (&ef->a, LIA_TEST_STORE, "Rae", "Reed");
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 1);
  g_assert_true (lia_test_host_user_move (ef->a.host, item, LIA_TEST_STORE_OTHER, "contacts"));
  ef_iterate ();
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, item);
  g_assert_cmpstr (hi->store, ==, LIA_TEST_STORE_OTHER);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Reed");
  /* More cycles, one after a restart (which reconciles deletions): the
   * moved item is neither taken for deleted nor duplicated. */
  ef_sync (&ef->a);
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  {
    g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (
        lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE, item, NULL);
    g_autoptr (LiaCacheMapping) m_other = lia_cache_lookup_item (
        lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE_OTHER, item, NULL);

    g_assert_true (m != NULL || m_other != NULL);
  }
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, hi->props.crm_id);
  g_assert_nonnull (rec);
  g_clear_pointer (&hi, lia_host_item_free);
  hi = lia_test_host_dup_item (ef->a.host, item);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 0);
}

static void
test_needs_filter (Ef *ef, gconstpointer data)
{
  g_autoptr (GPtrArray) filters = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autofree char *item = NULL;

  g_test_summary ("R-MARK-NEEDS-FILTER: with no enabled filter for tasks, tracking a task by hand is "
                  "refused with a message that says why");
  /* Every user starts with the out-of-box filters: alice turns off hers. */
  filters = lia_org_service_list_filters (ef->org, ef->alice, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < filters->len; i++)
    {
      const LiaCrmFilter *f = g_ptr_array_index (filters, i);

      if (f->entity == LIA_ENTITY_TASK)
        g_assert_true (lia_org_service_enable_filter (ef->org, ef->alice, f->id, FALSE, &error));
    }
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  g_assert_true (lia_item_set_text (task, "subject", "Call back", NULL));
  item = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "tasks", task, FALSE);
  g_assert_false (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item,
                           LIA_ENTITY_TASK, LIA_LINK_STATE_NONE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "filter"));
}

static void
test_track_on_save (Ef *ef, gconstpointer data)
{
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-IMM-TRACK-INSP: Track in the Inspector of a contact on the primary reaches CRM when "
                  "the item is saved, not before");
  ef_sync (&ef->a);
  item = host_contact (&ef->a, LIA_TEST_STORE, "Max", "Moss");
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_INSPECTOR, LIA_TEST_STORE, item,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_no_error (error);
  ef_iterate ();
  g_assert_cmpint (link_state (&ef->a, item), ==, LIA_LINK_STATE_MARKED);
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  ui_event (&ef->a, LIA_UI_EVENT_SAVE, item);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpint (link_state (&ef->a, item), ==, LIA_LINK_STATE_TRACKED);
}

static void
test_untrack (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Ned", "Nash");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-MARK-UNTRACK, R-IMM-UNTRACK-INSP: Untrack in the Inspector sets link state 0 at once, "
                  "reaches CRM when the Inspector closes, removes the mapping and keeps the CRM copy");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Nash");
  g_assert_true (command (&ef->a, LIA_COMMAND_UNTRACK, LIA_SURFACE_INSPECTOR, LIA_TEST_STORE, hi->item_id,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_TRACKED, &error));
  g_assert_no_error (error);
  ef_iterate ();
  g_assert_cmpint (link_state (&ef->a, hi->item_id), ==, LIA_LINK_STATE_NONE);
  ui_event (&ef->a, LIA_UI_EVENT_CLOSE, hi->item_id);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_null (lia_cache_lookup_item (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)),
                                        LIA_TEST_STORE, hi->item_id, NULL));
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_nonnull (rec);
  {
    g_autoptr (LiaHostItem) kept = lia_test_host_dup_item (ef->a.host, hi->item_id);

    g_assert_nonnull (kept);
  }
}

static void
test_notify_queues (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Oda", "Owen");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  const LiaCacheChange *change;

  g_test_summary ("R-DET-NOTIFY, R-IMM-BACKGROUND: a notification for a tracked item adds an update to the "
                  "durable queue at once, without a cycle");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Owen");
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "nickname", "O"));
  ef_wait_queued (&ef->a, 1);
  changes = lia_cache_list_changes (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)),
                                    LIA_CACHE_CHANGES_ALL, 0, NULL);
  g_assert_cmpuint (changes->len, ==, 1);
  change = g_ptr_array_index (changes, 0);
  g_assert_cmpint (change->op, ==, LIA_CHANGE_OP_UPDATE);
  g_assert_cmpstr (change->item_id, ==, hi->item_id);
  g_assert_cmpstr (hi->props.crm_id, ==, id);
}

static void
test_offline_queue (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Pam", "Park");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_auto (LiaSyncStatus) status = { 0 };

  g_test_summary ("R-OFF-QUEUE, R-IMM-FALLBACK, R-OFF-STATUS: with the org unreachable the change stays "
                  "queued, the status says offline with the error and one failed change, and the change "
                  "is sent once the org is back and its backoff has passed");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Park");
  switch_crm_set_down (ef->a.crm, TRUE);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Offline edit"));
  ef_wait_queued (&ef->a, 1);
  g_assert_false (ef_try_sync (&ef->a, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  lia_plugin_internal_funcs ()->get_status (ef->a.plugin, &status);
  g_assert_cmpint (status.state, ==, LIA_SYNC_STATE_OFFLINE);
  g_assert_false (status.online);
  g_assert_cmpuint (status.queued, ==, 1);
  g_assert_cmpuint (status.failed, ==, 1);
  g_assert_nonnull (status.last_error);
  switch_crm_set_down (ef->a.crm, FALSE);
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Offline edit");
  g_assert_cmpuint (queued (&ef->a), ==, 0);
}

static void
test_offline_start (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Una", "Upton");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  g_auto (LiaSyncStatus) status = { 0 };
  const LiaCacheChange *change;

  g_test_summary ("R-OFF-QUEUE, R-OFF-STATUS, R-DET-SCAN-STARTUP: a change made while the plugin was not "
                  "loaded, with the org unreachable at load, is scanned and queued durably before the org "
                  "is contacted; the status shows offline with one queued change; once the org is back "
                  "the change reaches CRM once, with no duplicate");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Upton");
  ef_client_stop (&ef->a);
  lia_clock_advance (ef->clock, EF_MINUTE);
  {
    g_autoptr (LiaTestHost) bare = lia_test_host_new (ef->mailbox);

    g_assert_true (lia_test_host_user_edit (bare, hi->item_id, "job-title", "Changed offline"));
  }
  ef->a.down = TRUE;
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_wait_state (&ef->a, LIA_SYNC_STATE_OFFLINE);
  lia_plugin_internal_funcs ()->get_status (ef->a.plugin, &status);
  g_assert_false (status.online);
  g_assert_cmpuint (status.queued, ==, 1);
  g_assert_nonnull (status.last_error);
  changes = lia_cache_list_changes (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)),
                                    LIA_CACHE_CHANGES_ALL, 0, NULL);
  g_assert_cmpuint (changes->len, ==, 1);
  change = g_ptr_array_index (changes, 0);
  g_assert_cmpint (change->op, ==, LIA_CHANGE_OP_UPDATE);
  g_assert_cmpstr (change->item_id, ==, hi->item_id);
  g_clear_pointer (&changes, g_ptr_array_unref);
  /* Durable: the queue survives the plugin going away while offline. */
  ef_client_stop (&ef->a);
  ef->a.down = FALSE;
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Changed offline");
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_CONTACT), ==, 1);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);
}

static void
test_scan_startup (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Quin", "Quay");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  gint64 until;

  g_test_summary ("R-DET-SCAN-STARTUP: a change made while the plugin was not loaded is found by the scan "
                  "that runs at load, without anyone asking for a sync");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Quay");
  ef_client_stop (&ef->a);
  lia_clock_advance (ef->clock, EF_MINUTE);
  {
    g_autoptr (LiaTestHost) bare = lia_test_host_new (ef->mailbox);

    g_assert_true (lia_test_host_user_edit (bare, hi->item_id, "job-title", "While away"));
  }
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;)
    {
      g_auto (LiaSyncStatus) status = { 0 };

      lia_plugin_internal_funcs ()->get_status (ef->a.plugin, &status);
      if (status.cycles >= 1 || g_get_monotonic_time () > until)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "While away");
}

static void
test_push (Ef *ef, gconstpointer data)
{
  g_autofree char *id = NULL;
  gint64 t0;
  gint64 until;

  g_test_summary ("R-DET-PUSH: a CRM change starts a cycle within one second through the org's long poll, "
                  "not at the next interval");
  ef_sync (&ef->a);
  /* Let the scheduler see the idle state and start waiting. */
  for (guint i = 0; i < 20; i++)
    {
      ef_iterate ();
      g_usleep (5000);
    }
  t0 = g_get_monotonic_time ();
  id = ef_crm_contact (ef, ef->alice, "Ray", "Reed");
  until = t0 + 5 * G_USEC_PER_SEC;
  while (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts") == 0
         && g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
}

static void
test_host_never_waits (Ef *ef, gconstpointer data)
{
  g_autofree char *item = NULL;
  g_autoptr (GError) error = NULL;
  gint64 t0;
  gint64 worst = 0;
  gint64 until;

  g_test_summary ("R-IMM-BACKGROUND: with every org call taking two seconds, Track returns at once, the "
                  "host's main context never waits on the org, and the item ends tracked");
  ef_sync (&ef->a);
  switch_crm_set_delay (ef->a.crm, 2000);
  item = host_contact (&ef->a, LIA_TEST_STORE, "Sue", "Snow");
  t0 = g_get_monotonic_time ();
  g_assert_true (command (&ef->a, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item,
                          LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE, &error));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 50000);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (link_state (&ef->a, item) != LIA_LINK_STATE_TRACKED && g_get_monotonic_time () < until)
    {
      gint64 before = g_get_monotonic_time ();

      g_main_context_iteration (NULL, FALSE);
      worst = MAX (worst, g_get_monotonic_time () - before);
      g_usleep (1000);
    }
  g_assert_cmpint (link_state (&ef->a, item), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (worst, <, 100000);
  switch_crm_set_delay (ef->a.crm, 0);
}

static LiaClientRole
role_of (EfClient *client)
{
  LiaClientRole role = LIA_CLIENT_N;

  lia_engine_get_client (lia_plugin_get_engine (client->plugin), &role, NULL);
  return role;
}

/* Tracks a new contact by hand in the Explorer and syncs; returns the
 * item's CRM id, or NULL when the command was refused (@error set). */
static char *
track_new_contact (EfClient *client, const char *given, const char *family, GError **error)
{
  g_autofree char *item = host_contact (client, LIA_TEST_STORE, given, family);
  g_autoptr (LiaHostItem) hi = NULL;

  if (!command (client, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER, LIA_TEST_STORE, item, LIA_ENTITY_CONTACT,
                LIA_LINK_STATE_NONE, error))
    return NULL;
  ef_wait_queued (client, 1);
  ef_sync (client);
  hi = lia_test_host_dup_item (client->host, item);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  return g_strdup (hi->props.crm_id);
}

static void
test_one_primary (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *desk_sub = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-ROLE-ONE-PRIMARY: the first client configured is primary, the second secondary; "
                  "designating the second on the server makes it primary and demotes the first at their "
                  "next cycles: the demoted client refuses new tracking naming the new primary, the new "
                  "primary tracks and sends");
  ef_sync (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  ef_sync (&desk);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_SECONDARY);
  desk_sub = lia_engine_dup_subscription (lia_plugin_get_engine (desk.plugin));
  g_assert_true (lia_crm_set_primary_sync (desk.crm, desk_sub, NULL, &error));
  g_assert_no_error (error);
  ef_sync (&desk);
  ef_sync (&ef->a);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_SECONDARY);
  g_assert_null (track_new_contact (&ef->a, "Kim", "Kane", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "alice-desktop"));
  g_clear_error (&error);
  crm_id = track_new_contact (&desk, "Lou", "Lake", &error);
  g_assert_no_error (error);
  g_assert_nonnull (crm_id);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Lake");
  ef_client_stop (&desk);
}

static void
test_roaming (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-ROLE-ROAMING: with the roaming option, a client the server does not designate "
                  "acts as primary: it tracks a new contact and sends it itself");
  ef_sync (&ef->a);
  desk.roaming = TRUE;
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  ef_sync (&desk);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_PRIMARY);
  crm_id = track_new_contact (&desk, "May", "Marsh", &error);
  g_assert_no_error (error);
  g_assert_nonnull (crm_id);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Marsh");
  ef_client_stop (&desk);
}

/* R-IMM-DRAFT with R-IMM-OUTGOING-ASYNC, through the Inspector: @item is a
 * mail in "drafts", tracked with a regarding; on send @sent replaces it. */
static void
test_draft_send_async (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaItem) mail = lia_item_new (LIA_ENTITY_EMAIL);
  g_autofree char *account = ef_crm_contact (ef, ef->alice, "Ada", "Ames");
  g_autofree char *draft = NULL;
  g_autofree char *sent = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GError) error = NULL;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_INSPECTOR };
  LiaUiEvent send = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SEND, LIA_TEST_STORE, NULL, NULL };
  gint64 t0;
  gint64 until;

  g_test_summary ("R-IMM-DRAFT, R-IMM-OUTGOING-ASYNC: a tracked draft is remembered and never reaches CRM, "
                  "even when edited; on send the sent message is tracked with the draft's regarding, and "
                  "with every org call taking two seconds the send event returns at once");
  ef_sync (&ef->a);
  g_assert_true (lia_item_set_text (mail, "subject", "Proposal", NULL));
  draft = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "drafts", mail, TRUE);
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "drafts";
  cmd.item_id = draft;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.is_draft = TRUE;
  cmd.regarding_id = account;
  cmd.regarding_name = "Ada Ames";
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
  ef_iterate ();
  g_assert_cmpint (link_state (&ef->a, draft), ==, LIA_LINK_STATE_MARKED);
  /* Editing the marked draft queues nothing: drafts never reach CRM. */
  g_assert_true (lia_test_host_user_edit (ef->a.host, draft, "subject", "Proposal v2"));
  ef_iterate ();
  ef_sync (&ef->a);
  g_assert_cmpuint (queued (&ef->a), ==, 0);
  g_assert_cmpint (link_state (&ef->a, draft), ==, LIA_LINK_STATE_MARKED);

  g_assert_true (lia_item_set_text (mail, "subject", "Proposal v2", NULL));
  sent = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "sent", mail, FALSE);
  g_assert_true (lia_test_host_user_delete (ef->a.host, draft));
  switch_crm_set_delay (ef->a.crm, 2000);
  send.item_id = sent;
  send.draft_id = draft;
  t0 = g_get_monotonic_time ();
  lia_plugin_internal_funcs ()->ui_event (ef->a.plugin, &send);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 50000);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  /* Tracked, then linked to its regarding: the last host write. */
  while (g_get_monotonic_time () < until)
    {
      g_autoptr (LiaHostItem) now = lia_test_host_dup_item (ef->a.host, sent);

      if (now->props.regarding_id != NULL)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  switch_crm_set_delay (ef->a.crm, 0);
  hi = lia_test_host_dup_item (ef->a.host, sent);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  {
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, hi->props.crm_id);

    g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "subject"), ==, "Proposal v2");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-ROLE-DELEGATE/marks-primary-promotes", test_delegate);
  ADD ("/engine/R-ROLE-SECONDARY-NO-NEW/refused-names-primary", test_secondary_no_new);
  ADD ("/engine/R-ROLE-SECONDARY-DEFER/primary-sends", test_secondary_defer);
  ADD ("/engine/R-ROLE-ONE-PRIMARY/designate-demotes", test_one_primary);
  ADD ("/engine/R-ROLE-ROAMING/every-client-primary", test_roaming);
  ADD ("/engine/R-MARK-PROFILE/other-store-refused", test_profile);
  ADD ("/engine/R-MARK-PROFILE/marked-then-moved-promoted", test_profile_moved_marked);
  ADD ("/engine/R-MARK-NEEDS-FILTER/no-task-filter", test_needs_filter);
  ADD ("/engine/R-IMM-TRACK-INSP/on-save", test_track_on_save);
  ADD ("/engine/R-MARK-REGARDING/R-IMM-REGARDING-EXPL/activities", test_regarding_activities);
  ADD ("/engine/R-IMM-UPDATE-INSP/R-IMM-TRACK-INSP/regarding-on-close-and-save", test_regarding_inspector);
  ADD ("/engine/R-MARK-UNTRACK/keeps-crm", test_untrack);
  ADD ("/engine/R-DUP-NONE/moved-new-id-reported", test_moved_reported);
  ADD ("/engine/R-DUP-NONE/moved-new-id-delete-create", test_moved_as_delete_create);
  ADD ("/engine/R-DUP-NONE/moved-new-id-only-delete-reported", test_moved_only_delete_reported);
  ADD ("/engine/R-DET-NOTIFY/queued-at-once", test_notify_queues);
  ADD ("/engine/R-OFF-QUEUE/replayed-after-offline", test_offline_queue);
  ADD ("/engine/R-OFF-QUEUE/R-OFF-STATUS/scanned-while-unreachable", test_offline_start);
  ADD ("/engine/R-DET-SCAN-STARTUP/scan-at-load", test_scan_startup);
  ADD ("/engine/R-DET-PUSH/wakes-within-a-second", test_push);
  ADD ("/engine/R-IMM-BACKGROUND/host-never-waits", test_host_never_waits);
  ADD ("/engine/R-IMM-DRAFT/R-IMM-OUTGOING-ASYNC/sent-tracked-in-background", test_draft_send_async);
#undef ADD
  return g_test_run ();
}
