/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "engine-fixture.h"
#include "lia-org-export.h"

/* End-to-end scenarios for rule IDs of SPEC sections 2 to 6 and 11 that
 * the rules tables prove as data: here the plugin's code drives the test
 * host against the embedded org and both sides are checked afterwards.
 * Deletes in the Explorer and the Inspector wait for the cycle, email
 * behaves the same on a secondary, server changes are acknowledged once,
 * and a migrated org (export, import) relinks instead of duplicating. */

static gboolean
crm_exists (Ef *ef, LiaEntity entity, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = lia_crm_retrieve_sync (ef->direct, entity, id, NULL, &error);

  if (rec == NULL)
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  return rec != NULL;
}

static gboolean
run_command (EfClient *client, LiaCommandKind kind, const char *folder, const char *item_id, LiaEntity entity,
             const char *regarding_id, gboolean delete_in_crm, GError **error)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);

  cmd.store = LIA_TEST_STORE;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = entity;
  cmd.link_state = hi->props.link_state;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = regarding_id != NULL ? "typed" : NULL;
  cmd.delete_in_crm = delete_in_crm;
  return lia_plugin_internal_funcs ()->command (client->plugin, &cmd, error);
}

static void
command_ok (EfClient *client, LiaCommandKind kind, const char *folder, const char *item_id, LiaEntity entity,
            const char *regarding_id, gboolean delete_in_crm)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (run_command (client, kind, folder, item_id, entity, regarding_id, delete_in_crm, &error));
  g_assert_no_error (error);
}

static LiaLinkState
state_of (EfClient *client, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);

  return hi->props.link_state;
}

static char *
crm_id_of (EfClient *client, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (client->host, item_id);

  return g_strdup (hi->props.crm_id);
}

static char *
future_appointment (EfClient *client, const char *subject)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaValue) start = lia_value_new_datetime (EF_NOW + 48 * 60 * EF_MINUTE, NULL);
  g_autoptr (LiaValue) end = lia_value_new_datetime (EF_NOW + 49 * 60 * EF_MINUTE, NULL);

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set (item, "start", start, NULL));
  g_assert_true (lia_item_set (item, "end", end, NULL));
  return lia_test_host_user_create (client->host, LIA_TEST_STORE, "calendar", item, FALSE);
}

static char *
received_mail (EfClient *client, const char *message_id, const char *subject)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
  LiaParty from = { 0 };
  LiaParty to = { 0 };
  g_autoptr (LiaValue) f = NULL;
  g_autoptr (LiaValue) t = NULL;
  g_autoptr (LiaValue) d = lia_value_new_enum ("incoming");

  from.address = "buyer@customer.example";
  from.entity = LIA_ENTITY_N;
  to.address = "alice@example.org";
  to.entity = LIA_ENTITY_N;
  f = lia_value_new_party_list (&from, 1);
  t = lia_value_new_party_list (&to, 1);
  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set_text (item, "message-id", message_id, NULL));
  g_assert_true (lia_item_set (item, "from", f, NULL));
  g_assert_true (lia_item_set (item, "to", t, NULL));
  g_assert_true (lia_item_set (item, "direction", d, NULL));
  return lia_test_host_user_create (client->host, LIA_TEST_STORE, "inbox", item, FALSE);
}

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

static void
test_delete_at_cycle (Ef *ef, gconstpointer data)
{
  g_autofree char *contact_crm = ef_crm_contact (ef, ef->alice, "Dana", "Drake");
  g_autoptr (LiaHostItem) contact = NULL;
  g_autofree char *appt = NULL;
  g_autofree char *appt_crm = NULL;
  g_autofree char *appt2 = NULL;
  g_autofree char *appt2_crm = NULL;
  LiaUiEvent open = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_INSPECTOR_OPEN, LIA_TEST_STORE, NULL, NULL };
  LiaUiEvent close = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_CLOSE, LIA_TEST_STORE, NULL, NULL };

  g_test_summary ("R-IMM-DELETE-EXPL, R-IMM-DELETE-INSP, R-DEL-OUT-APPT, R-DEL-OUT-CONTACT: a tracked item "
                  "deleted in the Explorer or from its Inspector is queued at once but reaches CRM only at "
                  "the next cycle, by the deletion rules: the future appointment the user owns is deleted "
                  "in CRM, the contact is kept");
  ef_sync (&ef->a);
  contact = lia_test_host_find (ef->a.host, "contacts", "family-name", "Drake");
  appt = future_appointment (&ef->a, "Quarterly review");
  appt2 = future_appointment (&ef->a, "Site visit");
  command_ok (&ef->a, LIA_COMMAND_TRACK, "calendar", appt, LIA_ENTITY_APPOINTMENT, NULL, FALSE);
  command_ok (&ef->a, LIA_COMMAND_TRACK, "calendar", appt2, LIA_ENTITY_APPOINTMENT, NULL, FALSE);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  appt_crm = crm_id_of (&ef->a, appt);
  appt2_crm = crm_id_of (&ef->a, appt2);
  g_assert_nonnull (appt_crm);
  g_assert_nonnull (appt2_crm);

  /* Explorer: delete the contact and one appointment. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_delete (ef->a.host, contact->item_id));
  g_assert_true (lia_test_host_user_delete (ef->a.host, appt));
  /* Inspector: the other appointment, deleted from its open editor. */
  open.item_id = appt2;
  lia_plugin_internal_funcs ()->ui_event (ef->a.plugin, &open);
  g_assert_true (lia_test_host_user_delete (ef->a.host, appt2));
  close.item_id = appt2;
  lia_plugin_internal_funcs ()->ui_event (ef->a.plugin, &close);
  ef_wait_queued (&ef->a, 3);
  /* Not immediate: nothing changed in CRM yet. */
  g_assert_true (crm_exists (ef, LIA_ENTITY_APPOINTMENT, appt_crm));
  g_assert_true (crm_exists (ef, LIA_ENTITY_APPOINTMENT, appt2_crm));

  ef_sync (&ef->a);
  g_assert_false (crm_exists (ef, LIA_ENTITY_APPOINTMENT, appt_crm));
  g_assert_false (crm_exists (ef, LIA_ENTITY_APPOINTMENT, appt2_crm));
  g_assert_true (crm_exists (ef, LIA_ENTITY_CONTACT, contact_crm));
  /* R-DEL-OUT-REMEMBER: the kept contact does not come back. */
  ef_sync (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 0);
}

static void
test_email_uniform (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *account = crm_account (ef, "Northwind");
  g_autofree char *m1 = NULL;
  g_autofree char *m2 = NULL;
  g_autofree char *m3 = NULL;
  g_autofree char *m1_crm = NULL;
  g_autofree char *m2_crm = NULL;
  g_autofree char *m3_crm = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaValue *regarding;

  g_test_summary ("R-ROLE-EMAIL-UNIFORM, R-DEL-OUT-EMAIL, R-IMM-TRACK-EXPL: on a secondary client email "
                  "Track and Set Regarding reach CRM at once as on the primary (contacts would wait for "
                  "the primary); deleting a tracked email never deletes it in CRM, untracking deletes it "
                  "only when the user says so; no duplicate when the primary syncs the shared mailbox");
  ef_sync (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  ef_sync (&desk);
  {
    LiaClientRole role = LIA_CLIENT_PRIMARY;

    lia_engine_get_client (lia_plugin_get_engine (desk.plugin), &role, NULL);
    g_assert_cmpint (role, ==, LIA_CLIENT_SECONDARY);
  }

  /* The secondary tracks and sets regarding: immediate, no primary cycle. */
  m1 = received_mail (&desk, "<m1@customer.example>", "Order 1");
  command_ok (&desk, LIA_COMMAND_TRACK, "inbox", m1, LIA_ENTITY_EMAIL, NULL, FALSE);
  ef_wait_queued (&desk, 0);
  ef_sync (&desk);
  g_assert_cmpint (state_of (&desk, m1), ==, LIA_LINK_STATE_TRACKED);
  m1_crm = crm_id_of (&desk, m1);
  g_assert_true (crm_exists (ef, LIA_ENTITY_EMAIL, m1_crm));
  command_ok (&desk, LIA_COMMAND_SET_REGARDING, "inbox", m1, LIA_ENTITY_EMAIL, account, FALSE);
  ef_wait_queued (&desk, 0);
  ef_sync (&desk);
  rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, m1_crm);
  regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (regarding);
  g_assert_cmpstr (lia_value_get_reference_id (regarding), ==, account);

  /* Deleted on the host (by the secondary): kept in CRM. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_delete (desk.host, m1));
  ef_wait_queued (&desk, 1);
  ef_sync (&desk);
  g_assert_true (crm_exists (ef, LIA_ENTITY_EMAIL, m1_crm));

  /* Untracked on the primary without, and with, "also delete in CRM". */
  m2 = received_mail (&ef->a, "<m2@customer.example>", "Order 2");
  m3 = received_mail (&ef->a, "<m3@customer.example>", "Order 3");
  command_ok (&ef->a, LIA_COMMAND_TRACK, "inbox", m2, LIA_ENTITY_EMAIL, NULL, FALSE);
  command_ok (&ef->a, LIA_COMMAND_TRACK, "inbox", m3, LIA_ENTITY_EMAIL, NULL, FALSE);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  m2_crm = crm_id_of (&ef->a, m2);
  m3_crm = crm_id_of (&ef->a, m3);
  g_assert_nonnull (m2_crm);
  g_assert_nonnull (m3_crm);
  command_ok (&ef->a, LIA_COMMAND_UNTRACK, "inbox", m2, LIA_ENTITY_EMAIL, NULL, FALSE);
  command_ok (&ef->a, LIA_COMMAND_UNTRACK, "inbox", m3, LIA_ENTITY_EMAIL, NULL, TRUE);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (&ef->a, m2), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (&ef->a, m3), ==, LIA_LINK_STATE_NONE);
  g_assert_true (crm_exists (ef, LIA_ENTITY_EMAIL, m2_crm));
  g_assert_false (crm_exists (ef, LIA_ENTITY_EMAIL, m3_crm));

  /* Both clients again: nothing is created twice. */
  ef_sync (&desk);
  ef_sync (&ef->a);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 2);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "inbox"), ==, 2);
  ef_client_stop (&desk);
}

/* The received count of the newest cycle entry of the journal. */
static guint
last_received (EfClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries =
      lia_cache_list_journal (lia_engine_get_cache (lia_plugin_get_engine (client->plugin)), 50, &error);
  guint sent = 0;
  guint received = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    {
      const LiaCacheJournalEntry *e = g_ptr_array_index (entries, i);

      if (g_strcmp0 (e->kind, "cycle") == 0 && g_str_has_prefix (e->message, "cycle: ")
          && sscanf (e->message, "cycle: %u sent, %u received", &sent, &received) == 2)
        return received;
    }
  g_assert_not_reached ();
  return 0;
}

static void
test_server_acknowledged (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Sam", "Shore");
  g_autoptr (LiaHostItem) hi = NULL;

  g_test_summary ("R-DET-SERVER: a CRM change reaches the host through PrepareSync and GetSyncData in one "
                  "cycle, and PostSync acknowledges it: the next cycle receives nothing");
  ef_sync (&ef->a);
  g_assert_cmpuint (last_received (&ef->a), ==, 1);
  ef_sync (&ef->a);
  g_assert_cmpuint (last_received (&ef->a), ==, 0);
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "job-title", "Skipper");
  ef_sync (&ef->a);
  g_assert_cmpuint (last_received (&ef->a), ==, 1);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Shore");
  g_assert_cmpstr (lia_item_get_text (hi->item, "job-title"), ==, "Skipper");
  ef_sync (&ef->a);
  g_assert_cmpuint (last_received (&ef->a), ==, 0);
}

static void
test_migration (Ef *ef, gconstpointer data)
{
  g_autofree char *id1 = ef_crm_contact (ef, ef->alice, "Mia", "Moore");
  g_autofree char *id2 = ef_crm_contact (ef, ef->alice, "Max", "Mills");
  g_autofree char *path = ef_path ("migrated.db");
  g_autofree char *token = NULL;
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) mia = NULL;
  g_autoptr (LiaHostItem) mia_after = NULL;
  g_autoptr (LiaCrmRecord) moved = NULL;
  LiaOrgService *old_org = ef->org;
  LiaOrgService *migrated;

  g_test_summary ("R-DUP-IDS, R-DUP-NONE: the org is exported and imported into a new store (a migration) "
                  "and the client is pointed at it with its cache: the CRM ids are the same, so the client "
                  "relinks every item and neither side gets a duplicate; changes still flow");
  ef_sync (&ef->a);
  mia = lia_test_host_find (ef->a.host, "contacts", "family-name", "Moore");
  g_assert_cmpstr (mia->props.crm_id, ==, id1);
  g_assert_true (lia_org_export (ef->org, out, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  g_unlink (path);
  migrated = lia_org_service_open (path, ef->clock, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_import (migrated, g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)),
                                 g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)),
                                 &error));
  g_assert_no_error (error);
  g_assert_true (lia_org_service_new_token (migrated, "alice", &token, &error));
  g_assert_no_error (error);

  ef_client_stop (&ef->a);
  ef->org = migrated;
  ef_client_start (ef, &ef->a, ef->mailbox, token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 2);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_CONTACT), ==, 2);
  mia_after = lia_test_host_dup_item (ef->a.host, mia->item_id);
  g_assert_cmpint (mia_after->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (mia_after->props.crm_id, ==, id1);

  /* Both ways on the migrated org. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, mia->item_id, "job-title", "After the move"));
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  {
    g_autoptr (LiaOrgCaller) alice = lia_org_service_authenticate (migrated, token, &error);

    g_assert_no_error (error);
    moved = lia_org_service_retrieve (migrated, alice, LIA_ENTITY_CONTACT, id1, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (moved), "job-title"), ==, "After the move");
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_CONTACT), ==, 2);

  ef_client_stop (&ef->a);
  ef->org = old_org;
  lia_org_service_unref (migrated);
  /* The fixture's teardown stops ef->a again: start it on the old org. */
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop-2.db", FALSE);
  (void) id2;
}

static void
test_email_moved (Ef *ef, gconstpointer data)
{
  g_autofree char *m = NULL;
  g_autofree char *m2 = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaCacheMapping) map = NULL;

  g_test_summary ("R-DUP-NONE, R-DEL-OUT-EMAIL: a tracked email moved to another folder under a new id "
                  "(as IMAP does) and reported as one move keeps its link on the new id; CRM keeps one "
                  "email, nothing is untracked or created again");
  ef_sync (&ef->a);
  m = received_mail (&ef->a, "<move@customer.example>", "Order to file");
  command_ok (&ef->a, LIA_COMMAND_TRACK, "inbox", m, LIA_ENTITY_EMAIL, NULL, FALSE);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  crm_id = crm_id_of (&ef->a, m);
  g_assert_nonnull (crm_id);
  lia_clock_advance (ef->clock, EF_MINUTE);
  m2 = lia_test_host_user_move_new_id (ef->a.host, m, LIA_TEST_STORE, "orders", TRUE);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  map = lia_cache_lookup_item (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE,
                               m2, NULL);
  g_assert_nonnull (map);
  g_assert_cmpstr (map->crm_id, ==, crm_id);
  g_assert_cmpint (state_of (&ef->a, m2), ==, LIA_LINK_STATE_TRACKED);
  g_assert_true (crm_exists (ef, LIA_ENTITY_EMAIL, crm_id));
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 1);
}

static void
test_merge_disjoint (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Jeff", "Smith");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-MERGE-DISJOINT, R-MERGE-FIELDS: one person renames Jeff to John on the host, another "
                  "changes Smith to Rodman in CRM later; after one cycle both sides say John Rodman");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Smith");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "given-name", "John"));
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "family-name", "Rodman");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "given-name"), ==, "John");
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Rodman");
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  g_assert_cmpstr (lia_item_get_text (after->item, "given-name"), ==, "John");
  g_assert_cmpstr (lia_item_get_text (after->item, "family-name"), ==, "Rodman");
}

static void
test_merge_original (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Olga", "Orr");
  LiaCache *cache = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCacheOriginal) bad = NULL;
  g_autoptr (LiaCacheOriginal) good = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MERGE-ORIGINAL: after a sync the original is on the item and in the cache; a corrupt "
                  "original on both is taken as everything changed on the host, decided per field by "
                  "newer-wins, never a crash, and the next sync writes a good original again");
  ef_sync (&ef->a);
  cache = lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin));
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Orr");
  g_assert_nonnull (hi->props.original);
  good = lia_cache_load_original (cache, LIA_TEST_STORE, hi->item_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (good->xml, ==, hi->props.original);
  g_clear_pointer (&good, lia_cache_original_free);

  /* Corrupt both copies of the original. */
  bad = lia_cache_original_new (LIA_TEST_STORE, hi->item_id, "<original><broken");
  g_assert_true (lia_cache_store_original (cache, bad, &error));
  g_assert_no_error (error);
  lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, "<<not xml");
  g_assert_true (lia_test_host_user_set_props (ef->a.host, hi->item_id, &props));
  /* CRM changes one field, then the host another, later: with no
   * original every differing field counts as changed on both sides and
   * the newer side (the host) wins each of them. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "nickname", "CRM nick");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Host title"));
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);

  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Host title");
  g_assert_null (lia_item_get_text (lia_crm_record_get_item (rec), "nickname"));
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  g_assert_null (lia_item_get_text (after->item, "nickname"));
  g_assert_cmpstr (lia_item_get_text (after->item, "job-title"), ==, "Host title");
  g_assert_nonnull (after->props.original);
  g_assert_true (g_str_has_prefix (after->props.original, "<"));
  g_assert_null (strstr (after->props.original, "<broken"));
  good = lia_cache_load_original (cache, LIA_TEST_STORE, hi->item_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (good->xml, ==, after->props.original);
  {
    g_autoptr (LiaItem) decoded = lia_original_decode (good->xml, strlen (good->xml), &error);

    g_assert_no_error (error);
    g_assert_cmpstr (lia_item_get_text (decoded, "job-title"), ==, "Host title");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-IMM-DELETE-EXPL/R-IMM-DELETE-INSP/at-next-cycle-by-rules", test_delete_at_cycle);
  ADD ("/engine/R-ROLE-EMAIL-UNIFORM/R-DEL-OUT-EMAIL/secondary-and-untrack", test_email_uniform);
  ADD ("/engine/R-DET-SERVER/acknowledged-once", test_server_acknowledged);
  ADD ("/engine/R-MERGE-DISJOINT/jeff-smith-john-rodman", test_merge_disjoint);
  ADD ("/engine/R-MERGE-ORIGINAL/corrupt-then-rewritten", test_merge_original);
  ADD ("/engine/R-DUP-NONE/email-moved-new-id", test_email_moved);
  ADD ("/engine/R-DUP-IDS/R-DUP-NONE/migrated-org-relinks", test_migration);
#undef ADD
  return g_test_run ();
}
