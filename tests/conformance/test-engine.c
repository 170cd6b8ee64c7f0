/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-fixture.h"
#include "lia-doctor.h"
#include "lia-engine-private.h"

/* The sync cycle end to end: the plugin's code and the engine drive the
 * test host against the embedded org. Each path carries the SPEC rule it
 * proves. */

static guint
count_contacts (EfClient *client)
{
  return lia_test_host_count_items (client->host, LIA_TEST_STORE, "contacts");
}

static void
test_filter_copies (Ef *ef, gconstpointer data)
{
  g_autofree char *id1 = ef_crm_contact (ef, ef->alice, "Ann", "Archer");
  g_autofree char *id2 = ef_crm_contact (ef, ef->alice, "Ben", "Baker");
  g_autofree char *bobs = ef_crm_contact (ef, ef->bob, "Carl", "Cole");
  g_autoptr (LiaHostItem) ann = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;

  g_test_summary (
      "R-MARK-FILTER: CRM contacts that match the user's filters are copied to the host and "
      "linked (state 2, CRM id and org on the item, mapping in the cache); another user's are not; "
      "a second cycle creates no duplicate (R-DUP-NONE)");
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 2);
  {
    g_autoptr (LiaHostItem) ben = lia_test_host_find (ef->a.host, "contacts", "family-name", "Baker");
    g_autoptr (LiaHostItem) carl = lia_test_host_find (ef->a.host, "contacts", "family-name", "Cole");

    g_assert_cmpstr (ben->props.crm_id, ==, id2);
    g_assert_nonnull (bobs);
    g_assert_null (carl);
  }
  ann = lia_test_host_find (ef->a.host, "contacts", "family-name", "Archer");
  g_assert_nonnull (ann);
  g_assert_cmpint (ann->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (ann->props.crm_id, ==, id1);
  g_assert_cmpstr (ann->props.crm_org, ==, "test-org");
  g_assert_nonnull (ann->props.original);
  m = lia_cache_lookup_item (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE,
                             ann->item_id, NULL);
  g_assert_nonnull (m);
  g_assert_cmpstr (m->crm_id, ==, id1);
  g_assert_cmpint (m->origin, ==, LIA_LINK_ORIGIN_FILTER);
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 2);
}

static void
test_track_explorer (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaCrmRecord) draft = ef_contact ("Dora", "Diaz");
  g_autofree char *item_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) error = NULL;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };

  g_test_summary ("R-MARK-TRACK, R-IMM-TRACK-EXPL: Track in Explorer on a primary shows link state 1 at "
                  "once, then the record exists in CRM, the item is in state 2 and carries its CRM id");
  ef_sync (&ef->a);
  item_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts",
                                       lia_crm_record_get_item (draft), FALSE);
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "contacts";
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_CONTACT;
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
  ef_iterate ();
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_cmpint (hi->props.link_state, >=, LIA_LINK_STATE_MARKED);
  g_clear_pointer (&hi, lia_host_item_free);
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Diaz");
  /* The tracked contact comes back from PrepareSync as this client's own:
   * still one item. */
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
}

static void
test_merge_order (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Jeff", "Smith");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaItem *crm;

  g_test_summary ("R-MERGE-ORDER, R-MERGE-NEWER-WINS, R-MERGE-FIELDS: host changed A, B, C; CRM later "
                  "changed A, B: both sides end with A and B from CRM and C from the host");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Smith");
  g_assert_nonnull (hi);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "given-name", "Host-A"));
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "family-name", "Host-B"));
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Host-C"));
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "given-name", "Crm-A");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "family-name", "Crm-B");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  g_assert_cmpstr (lia_item_get_text (after->item, "given-name"), ==, "Crm-A");
  g_assert_cmpstr (lia_item_get_text (after->item, "family-name"), ==, "Crm-B");
  g_assert_cmpstr (lia_item_get_text (after->item, "job-title"), ==, "Host-C");
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  crm = lia_crm_record_get_item (rec);
  g_assert_cmpstr (lia_item_get_text (crm, "given-name"), ==, "Crm-A");
  g_assert_cmpstr (lia_item_get_text (crm, "family-name"), ==, "Crm-B");
  g_assert_cmpstr (lia_item_get_text (crm, "job-title"), ==, "Host-C");
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
}

static void
test_scan_dropped (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Eve", "Evans");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-DET-SCAN: a change whose notification was lost is found by the scanner at the next "
                  "cycle and reaches CRM");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Evans");
  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Buyer"));
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Buyer");
}

static void
test_host_delete_contact (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Fay", "Fox");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaCache *cache;

  g_test_summary ("R-DEL-OUT-CONTACT, R-DEL-OUT-REMEMBER, R-DET-DELETES: a tracked contact deleted on the "
                  "host while its notification was lost stays in CRM, loses its mapping, and is not sent "
                  "back to this client");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Fox");
  /* Deleted while the plugin was not running: restart finds it. */
  ef_client_stop (&ef->a);
  {
    g_autoptr (LiaTestHost) offline = lia_test_host_new (ef->mailbox);

    g_assert_true (lia_test_host_user_delete (offline, hi->item_id));
  }
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  cache = lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin));
  g_assert_null (lia_cache_lookup_crm (cache, LIA_TEST_STORE, LIA_ENTITY_CONTACT, id, NULL));
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_nonnull (rec);
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "job-title", "Changed");
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 0);
}

static void
test_crm_delete_contact (Ef *ef, gconstpointer data)
{
  g_autofree char *mine = ef_crm_contact (ef, ef->alice, "Gus", "Green");
  g_autofree char *bobs = ef_crm_contact (ef, ef->bob, "Hank", "Hart");
  g_autoptr (LiaCrmFilter) all = NULL;
  g_autoptr (LiaHostItem) gus = NULL;
  g_autoptr (LiaHostItem) kept = NULL;
  g_autoptr (GError) error = NULL;
  LiaCache *cache;

  g_test_summary ("R-DEL-IN-CONTACT: a contact deleted in CRM is deleted on the host when the user is not "
                  "its owner; the user's own contact is unlinked and kept, although CRM can no longer say "
                  "who owned it (the engine remembers the owner of the last synchronized record)");
  all = lia_crm_add_filter_sync (
      ef->direct, LIA_ENTITY_CONTACT, "Open contacts",
      "<filter entity=\"contact\"><condition attribute=\"statecode\" operator=\"eq\" "
      "value=\"open\"/></filter>",
      FALSE, NULL, &error);
  g_assert_no_error (error);
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 2);
  gus = lia_test_host_find (ef->a.host, "contacts", "family-name", "Green");
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_CONTACT, mine, 0, &error));
  g_assert_true (lia_org_service_delete (ef->org, ef->bob, LIA_ENTITY_CONTACT, bobs, 0, &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
  g_assert_null (lia_test_host_find (ef->a.host, "contacts", "family-name", "Hart"));
  kept = lia_test_host_dup_item (ef->a.host, gus->item_id);
  g_assert_nonnull (kept);
  g_assert_cmpint (kept->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (kept->props.crm_id);
  cache = lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin));
  g_assert_null (lia_cache_lookup_item (cache, LIA_TEST_STORE, gus->item_id, NULL));
}

static void
test_lost_cache_relinks (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Hal", "Hill");

  g_test_summary ("R-DUP-NONE: with the cache file lost, the next cycle relinks host items by the CRM id "
                  "they carry instead of creating duplicates, and later CRM changes still arrive");
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
  ef_client_stop (&ef->a);
  /* The same client with its cache file lost: the scanner relinks. */
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop-rebuilt.db",
                   FALSE);
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "job-title", "Chief");
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 1);
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Hill");

    g_assert_cmpstr (lia_item_get_text (hi->item, "job-title"), ==, "Chief");
  }
}

static void
test_clear_both_ways (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Ivy", "Irwin");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-MERGE-FIELDS: a field cleared on one side is a change (present in the original, "
                  "absent now) and is cleared on the other side, host to CRM and CRM to host");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "job-title", "Buyer");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "department", "Sales");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Irwin");
  g_assert_cmpstr (lia_item_get_text (hi->item, "job-title"), ==, "Buyer");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", NULL));
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_null (lia_item_get (lia_crm_record_get_item (rec), "job-title"));
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "department"), ==, "Sales");
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "department", NULL);
  ef_sync (&ef->a);
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  g_assert_null (lia_item_get (after->item, "department"));
  g_assert_null (lia_item_get (after->item, "job-title"));
  g_assert_cmpstr (lia_item_get_text (after->item, "family-name"), ==, "Irwin");
}

static void
test_org_policy (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Jon", "Jones");
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaSyncStatus) status = { 0 };
  LiaItem *crm;

  g_test_summary ("R-MERGE-DIRECTION, R-MERGE-FLS: the admin's direction overrides and the user's "
                  "field-level security, read from the org, drive the merge end to end: a CRM-to-host "
                  "field edited on the host is not sent, a host-to-CRM field neither reaches the host nor "
                  "is cleared in CRM by updates, a read-only field is not sent and fails nothing, an "
                  "unreadable field never reaches the host and is kept in CRM");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "nickname", "Jo");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "manager", "Mia");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "department", "Sales");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "spouse", "Sue");
  g_assert_true (lia_org_service_set_setting (ef->org, NULL, "direction.contact.nickname", "<-", &error));
  g_assert_true (lia_org_service_set_setting (ef->org, NULL, "direction.contact.manager", "->", &error));
  g_assert_true (lia_org_service_set_field_security (ef->org, "user", LIA_ENTITY_CONTACT, "department", TRUE,
                                                     FALSE, &error));
  g_assert_true (lia_org_service_set_field_security (ef->org, "user", LIA_ENTITY_CONTACT, "spouse", FALSE,
                                                     FALSE, &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Jones");
  g_assert_nonnull (hi);
  g_assert_cmpstr (lia_item_get_text (hi->item, "nickname"), ==, "Jo");
  g_assert_cmpstr (lia_item_get_text (hi->item, "department"), ==, "Sales");
  g_assert_null (lia_item_get (hi->item, "manager"));
  g_assert_null (lia_item_get (hi->item, "spouse"));

  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "nickname", "Johnny"));
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "department", "Ops"));
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Buyer"));
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  crm = lia_crm_record_get_item (rec);
  g_assert_cmpstr (lia_item_get_text (crm, "job-title"), ==, "Buyer");
  g_assert_cmpstr (lia_item_get_text (crm, "nickname"), ==, "Jo");
  g_assert_cmpstr (lia_item_get_text (crm, "department"), ==, "Sales");
  g_assert_cmpstr (lia_item_get_text (crm, "manager"), ==, "Mia");
  lia_plugin_internal_funcs ()->get_status (ef->a.plugin, &status);
  g_assert_cmpuint (status.queued, ==, 0);
  g_assert_cmpuint (status.failed, ==, 0);
  g_clear_pointer (&rec, lia_crm_record_free);

  /* CRM changes arrive through GetSyncData; a host change in the same cycle
   * makes the engine update CRM from that page: nothing it did not see may
   * be cleared. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "nickname", "Jonny");
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "manager", "Max");
  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hi->item_id, "job-title", "Chief"));
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_sync (&ef->a);
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  g_assert_cmpstr (lia_item_get_text (after->item, "nickname"), ==, "Jonny");
  g_assert_null (lia_item_get (after->item, "manager"));
  g_assert_null (lia_item_get (after->item, "spouse"));
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  crm = lia_crm_record_get_item (rec);
  g_assert_cmpstr (lia_item_get_text (crm, "job-title"), ==, "Chief");
  g_assert_cmpstr (lia_item_get_text (crm, "manager"), ==, "Max");
  g_assert_cmpstr (lia_item_get_text (crm, "nickname"), ==, "Jonny");
  /* The spouse alice cannot read is still in CRM: bob's role is "user"
   * too, so lift the restriction and read it back. */
  g_assert_true (
      lia_org_service_set_field_security (ef->org, "user", LIA_ENTITY_CONTACT, "spouse", TRUE, TRUE, &error));
  g_assert_no_error (error);
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "spouse"), ==, "Sue");
}

static void
set_regarding (Ef *ef, const char *item_id, LiaLinkState state, const char *regarding_id, const char *name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_SET_REGARDING, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_TEST_STORE;
  cmd.folder = "contacts";
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_CONTACT;
  cmd.link_state = state;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = name;
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
}

static void
test_set_regarding (Ef *ef, gconstpointer data)
{
  g_autofree char *id = ef_crm_contact (ef, ef->alice, "Kim", "Kerr");
  g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCrmRecord) draft = ef_contact ("Lou", "Lane");
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaHostItem) kim = NULL;
  g_autoptr (LiaHostItem) before = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaHostItem) lou = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *lou_id = NULL;
  const char *account_id;
  LiaValue *company;

  g_test_summary ("R-MARK-REGARDING, R-MARK-REGARDING-TEXT: Set Regarding links the contact's CRM record "
                  "to an account; the host shows the account's name in Company only once the change has "
                  "synchronized; on an untracked contact it tracks it too");
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", "Acme Corp", NULL));
  made = lia_org_service_create (ef->org, ef->alice, account, NULL, &error);
  g_assert_no_error (error);
  account_id = lia_crm_record_get_id (made);
  ef_sync (&ef->a);
  kim = lia_test_host_find (ef->a.host, "contacts", "family-name", "Kerr");
  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  lou_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts", lia_crm_record_get_item (draft),
                                      FALSE);
  lia_test_host_set_drop_notifications (ef->a.host, FALSE);

  /* The offline org holds the change back: the host must not show a name
   * that CRM does not have yet. */
  switch_crm_set_down (ef->a.crm, TRUE);
  set_regarding (ef, kim->item_id, LIA_LINK_STATE_TRACKED, account_id, "Acme (typed)");
  ef_wait_queued (&ef->a, 1);
  g_assert_false (ef_try_sync (&ef->a, &error));
  g_clear_error (&error);
  before = lia_test_host_dup_item (ef->a.host, kim->item_id);
  g_assert_null (lia_item_get (before->item, "company"));
  g_assert_null (before->props.regarding_id);
  switch_crm_set_down (ef->a.crm, FALSE);
  /* Past the failed change's backoff (R-IMM-FALLBACK). */
  lia_clock_advance (ef->clock, 30 * EF_MINUTE);
  ef_sync (&ef->a);

  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  company = lia_item_get (lia_crm_record_get_item (rec), "company");
  g_assert_nonnull (company);
  g_assert_cmpstr (lia_value_get_reference_id (company), ==, account_id);
  after = lia_test_host_dup_item (ef->a.host, kim->item_id);
  company = lia_item_get (after->item, "company");
  g_assert_nonnull (company);
  g_assert_cmpstr (lia_value_get_reference_name (company), ==, "Acme Corp");
  g_assert_cmpstr (after->props.regarding_id, ==, account_id);
  g_assert_cmpstr (after->props.regarding_name, ==, "Acme Corp");
  g_assert_cmpint (after->props.link_state, ==, LIA_LINK_STATE_TRACKED);

  set_regarding (ef, lou_id, LIA_LINK_STATE_NONE, account_id, "Acme Corp");
  ef_wait_queued (&ef->a, 0);
  ef_sync (&ef->a);
  lou = lia_test_host_dup_item (ef->a.host, lou_id);
  g_assert_cmpint (lou->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (lou->props.crm_id);
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, lou->props.crm_id);
  company = lia_item_get (lia_crm_record_get_item (rec), "company");
  g_assert_nonnull (company);
  g_assert_cmpstr (lia_value_get_reference_id (company), ==, account_id);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 2);
}

typedef struct
{
  LiaEngine *engine;
  guint fix_mask;
} DoctorJob;

static void
doctor_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DoctorJob *job = task_data;
  GError *error = NULL;
  GPtrArray *issues = lia_doctor_run_held_sync (job->engine, job->fix_mask, cancellable, &error);

  if (issues == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, issues, (GDestroyNotify) g_ptr_array_unref);
}

/* The doctor calls the host as the engine does: from a worker, while the
 * host's main context turns. */
static GPtrArray *
run_doctor (Ef *ef, guint fix_mask)
{
  DoctorJob job = { lia_plugin_get_engine (ef->a.plugin), fix_mask };
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr (GError) error = NULL;
  GPtrArray *issues;

  g_task_set_task_data (task, &job, NULL);
  g_task_run_in_thread (task, doctor_thread);
  while (!g_task_get_completed (task))
    g_main_context_iteration (NULL, TRUE);
  issues = g_task_propagate_pointer (task, &error);
  g_assert_no_error (error);
  return issues;
}

static const LiaDoctorIssue *
find_issue (GPtrArray *issues, LiaDoctorKind kind)
{
  const LiaDoctorIssue *found = NULL;

  for (guint i = 0; i < issues->len; i++)
    {
      const LiaDoctorIssue *issue = g_ptr_array_index (issues, i);

      if (issue->kind == kind)
        {
          g_assert_null (found);
          found = issue;
        }
    }
  return found;
}

static void
test_doctor (Ef *ef, gconstpointer data)
{
  g_autofree char *amy = ef_crm_contact (ef, ef->alice, "Amy", "Ames");
  g_autofree char *bo = ef_crm_contact (ef, ef->alice, "Bo", "Bell");
  g_autoptr (LiaCrmRecord) copy_rec = ef_contact ("Amy", "Ames");
  g_autoptr (LiaCrmRecord) stray_rec = ef_contact ("Cy", "Cole");
  g_autoptr (GPtrArray) report = NULL;
  g_autoptr (GPtrArray) fixed = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (LiaHostItem) bo_item = NULL;
  g_autoptr (LiaHostItem) stray_after = NULL;
  g_autoptr (LiaHostItem) bo_after = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *stray = NULL;
  g_auto (LiaHostProps) props = { 0 };
  const LiaDoctorIssue *issue;
  LiaCache *cache;

  g_test_summary ("R-DUP-DOCTOR: the doctor lists a host item carrying link properties but no mapping, a "
                  "mapped item whose CRM record is gone, and a duplicate host item for one CRM id; it "
                  "changes nothing until asked, then fixes each class, and a second run finds nothing");
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 2);
  bo_item = lia_test_host_find (ef->a.host, "contacts", "family-name", "Bell");
  /* No cycle (the org's push would start one) between listing and fixing. */
  while (!lia_engine_hold (lia_plugin_get_engine (ef->a.plugin), NULL))
    g_main_context_iteration (NULL, TRUE);
  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  /* A copy of Amy carrying her CRM id (an import, a restored backup). */
  copy = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts",
                                    lia_crm_record_get_item (copy_rec), FALSE);
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, amy);
  g_assert_true (lia_test_host_user_set_props (ef->a.host, copy, &props));
  /* A contact linked by another profile: properties, no mapping here. */
  stray = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts",
                                     lia_crm_record_get_item (stray_rec), FALSE);
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "6f1c1f7e-0000-4000-8000-000000000001");
  g_assert_true (lia_test_host_user_set_props (ef->a.host, stray, &props));
  /* Bo deleted in CRM, not synchronized yet. */
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_CONTACT, bo, 0, &error));
  g_assert_no_error (error);

  report = run_doctor (ef, 0);
  g_assert_cmpuint (report->len, ==, 3);
  issue = find_issue (report, LIA_DOCTOR_DUPLICATE);
  g_assert_cmpstr (issue->item_id, ==, copy);
  g_assert_cmpstr (issue->crm_id, ==, amy);
  g_assert_false (issue->fixed);
  issue = find_issue (report, LIA_DOCTOR_UNMAPPED_LINK);
  g_assert_cmpstr (issue->item_id, ==, stray);
  issue = find_issue (report, LIA_DOCTOR_GONE_IN_CRM);
  g_assert_cmpstr (issue->item_id, ==, bo_item->item_id);
  g_assert_cmpstr (issue->crm_id, ==, bo);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 4);

  fixed = run_doctor (ef, G_MAXUINT);
  g_assert_cmpuint (fixed->len, ==, 3);
  for (guint i = 0; i < fixed->len; i++)
    g_assert_true (((const LiaDoctorIssue *) g_ptr_array_index (fixed, i))->fixed);
  g_assert_null (lia_test_host_dup_item (ef->a.host, copy));
  stray_after = lia_test_host_dup_item (ef->a.host, stray);
  g_assert_cmpint (stray_after->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (stray_after->props.crm_id);
  bo_after = lia_test_host_dup_item (ef->a.host, bo_item->item_id);
  g_assert_cmpint (bo_after->props.link_state, ==, LIA_LINK_STATE_NONE);
  cache = lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin));
  g_assert_null (lia_cache_lookup_item (cache, LIA_TEST_STORE, bo_item->item_id, NULL));
  g_assert_cmpuint (count_contacts (&ef->a), ==, 3);

  again = run_doctor (ef, 0);
  g_assert_cmpuint (again->len, ==, 0);
  lia_engine_release (lia_plugin_get_engine (ef->a.plugin));
  lia_test_host_set_drop_notifications (ef->a.host, FALSE);
  ef_sync (&ef->a);
  g_assert_cmpuint (count_contacts (&ef->a), ==, 3);
}

static void
test_status (Ef *ef, gconstpointer data)
{
  g_auto (LiaSyncStatus) status = { 0 };

  g_test_summary ("R-OFF-STATUS: after a cycle the status says idle, online, no queued change, the time "
                  "of the last successful sync, and how many cycles ran");
  ef_sync (&ef->a);
  lia_plugin_internal_funcs ()->get_status (ef->a.plugin, &status);
  g_assert_cmpint (status.state, ==, LIA_SYNC_STATE_IDLE);
  g_assert_true (status.online);
  g_assert_cmpuint (status.queued, ==, 0);
  g_assert_cmpint (status.last_sync_at, ==, lia_clock_now (ef->clock));
  g_assert_cmpuint (status.cycles, >=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-MARK-FILTER/copies-filtered-contacts", test_filter_copies);
  ADD ("/engine/R-IMM-TRACK-EXPL/track-now", test_track_explorer);
  ADD ("/engine/R-MERGE-ORDER/worked-example", test_merge_order);
  ADD ("/engine/R-DET-SCAN/dropped-notification", test_scan_dropped);
  ADD ("/engine/R-DET-DELETES/deleted-while-stopped", test_host_delete_contact);
  ADD ("/engine/R-DEL-IN-CONTACT/owner-keeps-others-delete", test_crm_delete_contact);
  ADD ("/engine/R-DUP-NONE/lost-cache-relinks", test_lost_cache_relinks);
  ADD ("/engine/R-OFF-STATUS/after-cycle", test_status);
  ADD ("/engine/R-DUP-DOCTOR/list-and-fix", test_doctor);
  ADD ("/engine/R-MARK-REGARDING/set-regarding-contact", test_set_regarding);
  ADD ("/engine/R-MERGE-FIELDS/clear-both-ways", test_clear_both_ways);
  ADD ("/engine/R-MERGE-DIRECTION/org-directions-and-fls", test_org_policy);
#undef ADD
  return g_test_run ();
}
