/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sqlite3.h>
#include <string.h>

#include "lia-org-sync.h"
#include "org-test-util.h"

static LiaClock *test_clock;

static void
test_create_assigns_id_version (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("create.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Jeff", "Smith", "jeff@example.com");
  g_autoptr (LiaCrmRecord) first = NULL;
  g_autoptr (LiaCrmRecord) second = NULL;
  g_autoptr (LiaCrmRecord) back = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("A created record gets a UUID, the caller as owner, the clock's time and a version that "
                  "grows monotonically across the org; it reads back equal.");
  first = lia_org_service_create (service, alice, contact, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (lia_crm_record_get_id (first)));
  g_assert_cmpstr (lia_crm_record_get_owner (first), ==, alice->user_id);
  g_assert_cmpint (lia_crm_record_get_modified_on (first), ==, ORG_TEST_NOW);
  second = lia_org_service_create (service, alice, contact, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (first), !=, lia_crm_record_get_id (second));
  g_assert_cmpint (lia_crm_record_get_version (second), >, lia_crm_record_get_version (first));

  back = lia_org_service_retrieve (service, alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (first), &error);
  g_assert_no_error (error);
  g_assert_true (lia_item_equal (lia_crm_record_get_item (back), lia_crm_record_get_item (contact)));
  g_assert_cmpint (lia_crm_record_get_version (back), ==, lia_crm_record_get_version (first));
}

static void
test_stale_update_conflicts (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("stale.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Jeff", "Smith", NULL);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (LiaCrmRecord) a = NULL;
  g_autoptr (LiaCrmRecord) b = NULL;
  g_autoptr (LiaCrmRecord) updated = NULL;
  g_autoptr (LiaCrmRecord) stale = NULL;
  g_autoptr (LiaCrmRecord) now = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Optimistic concurrency: an update naming the version it read succeeds and bumps the "
                  "version; a second update from the same old version is a conflict and changes nothing.");
  stored = lia_org_service_create (service, alice, contact, NULL, &error);
  g_assert_no_error (error);
  a = lia_crm_record_copy (stored);
  b = lia_crm_record_copy (stored);
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (a), "given-name", "John", NULL));
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (b), "family-name", "Rodman", NULL));
  updated = lia_org_service_update (service, alice, a, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lia_crm_record_get_version (updated), >, lia_crm_record_get_version (stored));
  stale = lia_org_service_update (service, alice, b, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
  g_assert_null (stale);
  g_clear_error (&error);
  now = lia_org_service_retrieve (service, alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (stored), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (now), "given-name"), ==, "John");
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (now), "family-name"), ==, "Smith");
  g_assert_cmpint (lia_crm_record_get_version (now), ==, lia_crm_record_get_version (updated));
}

static void
test_idempotent_create (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("idem.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaOrgCaller) bob = org_test_user (service, "bob", FALSE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Ann", "Lee", NULL);
  g_autoptr (LiaCrmRecord) first = NULL;
  g_autoptr (LiaCrmRecord) retry = NULL;
  g_autoptr (LiaCrmRecord) other = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "A create retried with the same request id returns the first record instead of a duplicate; "
      "request ids are per user.");
  first = lia_org_service_create (service, alice, contact, "req-1", &error);
  g_assert_no_error (error);
  retry = lia_org_service_create (service, alice, contact, "req-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (retry), ==, lia_crm_record_get_id (first));
  g_assert_cmpint (lia_crm_record_get_version (retry), ==, lia_crm_record_get_version (first));
  other = lia_org_service_create (service, bob, contact, "req-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (other), !=, lia_crm_record_get_id (first));
  found = lia_org_service_search (service, alice, "ann lee", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 2);
}

static void
test_permissions (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("perm.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaOrgCaller) bob = org_test_user (service, "bob", FALSE, NULL);
  g_autoptr (LiaOrgCaller) root = org_test_user (service, "root", TRUE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Ann", "Lee", NULL);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (LiaCrmRecord) seen = NULL;
  g_autoptr (LiaCrmRecord) change = NULL;
  g_autoptr (LiaCrmRecord) by_admin = NULL;
  g_autoptr (LiaCrmRecord) by_delegate = NULL;
  g_autoptr (LiaCrmRecord) refused = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Users read every org record but change only what they own, what a delegation allows, or "
                  "anything as admin; creating for another owner needs the same right.");
  stored = lia_org_service_create (service, alice, contact, NULL, &error);
  g_assert_no_error (error);
  seen = lia_org_service_retrieve (service, bob, LIA_ENTITY_CONTACT, lia_crm_record_get_id (stored), &error);
  g_assert_no_error (error);
  change = lia_crm_record_copy (seen);
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (change), "nickname", "Annie", NULL));
  refused = lia_org_service_update (service, bob, change, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_assert_null (refused);
  g_clear_error (&error);
  g_assert_false (
      lia_org_service_delete (service, bob, LIA_ENTITY_CONTACT, lia_crm_record_get_id (stored), 0, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  {
    g_autoptr (LiaCrmRecord) for_alice = org_test_contact ("Not", "Mine", NULL);
    g_autoptr (LiaCrmRecord) made = NULL;
    lia_crm_record_set_owner (for_alice, alice->user_id);
    made = lia_org_service_create (service, bob, for_alice, NULL, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
    g_clear_error (&error);
  }

  by_admin = lia_org_service_update (service, root, change, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_set_delegate (service, "alice", "bob", TRUE, &error));
  g_assert_no_error (error);
  lia_crm_record_set_version (change, lia_crm_record_get_version (by_admin));
  by_delegate = lia_org_service_update (service, bob, change, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_owner (by_delegate), ==, alice->user_id);
}

static void
test_field_security (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("fls.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaOrgCaller) root = org_test_user (service, "root", TRUE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Ann", "Lee", NULL);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (LiaCrmRecord) as_alice = NULL;
  g_autoptr (LiaCrmRecord) as_root = NULL;
  g_autoptr (LiaCrmRecord) change = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (LiaCrmRecord) refused = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MERGE-FLS on the server: a field the role cannot read is absent from what it reads, and "
                  "survives its updates; a field it cannot update is refused when changed.");
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (contact), "government-id", "123-45", NULL));
  stored = lia_org_service_create (service, root, contact, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_set_field_security (service, "user", LIA_ENTITY_CONTACT, "government-id",
                                                     FALSE, FALSE, &error));
  g_assert_true (lia_org_service_set_field_security (service, "user", LIA_ENTITY_CONTACT, "job-title", TRUE,
                                                     FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (lia_org_service_set_delegate (service, "root", "alice", TRUE, &error));

  as_alice =
      lia_org_service_retrieve (service, alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (stored), &error);
  g_assert_no_error (error);
  g_assert_null (lia_item_get (lia_crm_record_get_item (as_alice), "government-id"));
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (as_alice), "given-name"), ==, "Ann");

  change = lia_crm_record_copy (as_alice);
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (change), "nickname", "Annie", NULL));
  kept = lia_org_service_update (service, alice, change, &error);
  g_assert_no_error (error);
  as_root =
      lia_org_service_retrieve (service, root, LIA_ENTITY_CONTACT, lia_crm_record_get_id (stored), &error);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (as_root), "government-id"), ==, "123-45");
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (as_root), "nickname"), ==, "Annie");

  lia_crm_record_set_version (change, lia_crm_record_get_version (kept));
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (change), "job-title", "CEO", NULL));
  refused = lia_org_service_update (service, alice, change, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "job-title"));
}

static void
test_rejected_write_changes_nothing (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("atomic.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Ann", "Lee", NULL);
  g_autoptr (LiaCrmRecord) bad = NULL;
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCrmRecord) again = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "A rejected request changes nothing: a create with a bad owner or an id already taken leaves "
      "no record and no spent request id behind.");
  bad = lia_crm_record_copy (contact);
  lia_crm_record_set_owner (bad, "not-a-user");
  made = lia_org_service_create (service, alice, bad, "req-x", &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  found = lia_org_service_search (service, alice, "ann", 10, &error);
  g_assert_cmpuint (found->len, ==, 0);
  /* The request id was not spent by the failure. */
  again = lia_org_service_create (service, alice, contact, "req-x", &error);
  g_assert_no_error (error);
  g_clear_pointer (&made, lia_crm_record_free);
  made = lia_crm_record_copy (contact);
  lia_crm_record_set_id (made, lia_crm_record_get_id (again));
  g_clear_pointer (&bad, lia_crm_record_free);
  bad = lia_org_service_create (service, alice, made, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
}

static void
test_tokens_hashed (void)
{
  g_autofree char *path = org_test_path ("tokens.db");
  g_autofree char *token = NULL;
  g_autofree char *token2 = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Tokens are at least 128 random bits, stored only as hashes; a new token revokes the old "
                  "one; missing or unknown tokens fail with LIA_ERROR_AUTH.");
  {
    g_autoptr (LiaOrgService) service = org_test_service ("tokens.db", test_clock);
    g_autoptr (LiaOrgCaller) caller = org_test_user (service, "alice", FALSE, &token);
    g_autoptr (LiaOrgCaller) none = NULL;
    g_autoptr (LiaOrgCaller) old = NULL;
    g_autoptr (LiaOrgCaller) fresh = NULL;

    g_assert_cmpuint (strlen (token), >=, 32 + strlen ("lia_"));
    none = lia_org_service_authenticate (service, "lia_00", &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_AUTH);
    g_clear_error (&error);
    g_assert_null (lia_org_service_authenticate (service, NULL, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_AUTH);
    g_clear_error (&error);
    g_assert_true (lia_org_service_new_token (service, "alice", &token2, &error));
    old = lia_org_service_authenticate (service, token, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_AUTH);
    g_clear_error (&error);
    fresh = lia_org_service_authenticate (service, token2, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (fresh->user_id, ==, caller->user_id);
  }
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_null (g_strstr_len (contents, (gssize) len, token2 + 4));
}

static void
test_store_reopen_and_newer (void)
{
  g_autofree char *path = org_test_path ("reopen.db");
  g_autoptr (GError) error = NULL;

  g_test_summary ("The store migrates forward once and reopens with its data; a file from a newer schema is "
                  "refused with LIA_ERROR_STORE naming the file; a file that is not a database too.");
  {
    g_autoptr (LiaOrgService) service = org_test_service ("reopen.db", test_clock);
    g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
    g_assert_nonnull (alice);
  }
  {
    g_autoptr (LiaOrgService) service = lia_org_service_open (path, test_clock, &error);
    g_autoptr (LiaCrmUser) user = NULL;
    g_assert_no_error (error);
    user = lia_org_service_get_user (service, "alice", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (user->email, ==, "alice@example.org");
  }
  {
    sqlite3 *db = NULL;
    g_autoptr (LiaOrgStore) store = NULL;
    g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
    store = lia_org_store_open (path, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
    g_assert_nonnull (strstr (error->message, "newer"));
    g_clear_error (&error);
  }
  {
    g_autofree char *junk = org_test_path ("junk.db");
    g_autoptr (LiaOrgService) service = NULL;
    g_assert_true (g_file_set_contents (junk, "this is not a database, not at all, really not", -1, NULL));
    service = lia_org_service_open (junk, test_clock, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
    g_assert_nonnull (strstr (error->message, "junk.db"));
  }
}

static void
test_store_schema_3_migration (void)
{
  g_autofree char *path = org_test_path ("schema2.db");
  g_autofree char *request_id = NULL;
  g_autofree char *desktop = NULL;
  g_autofree char *token = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-SECONDARY-NO-NEW, R-ROLE-ROAMING: an org file of schema 2 (no roaming mark) "
                  "migrates to 3 with its subscriptions kept and none roaming: its secondary client is "
                  "refused new tracking until it asks PrepareSync.");
  {
    g_autoptr (LiaOrgService) service = org_test_service ("schema2.db", test_clock);
    g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, &token);
    g_autoptr (LiaCrmSubscription) laptop = lia_org_sync_subscribe (service, alice, "laptop", &error);
    g_autoptr (LiaCrmSubscription) second = lia_org_sync_subscribe (service, alice, "desktop", &error);
    g_assert_no_error (error);
    g_assert_true (laptop->primary);
    g_assert_false (second->primary);
    desktop = g_strdup (second->id);
  }
  {
    /* Back to schema 2 as it was shipped: the columns did not exist. */
    sqlite3 *db = NULL;
    g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
    g_assert_cmpint (
        sqlite3_exec (db,
                      "ALTER TABLE subscription DROP COLUMN roaming;"
                      " ALTER TABLE email_tracker DROP COLUMN seen_version; PRAGMA user_version = 2",
                      NULL, NULL, NULL),
        ==, SQLITE_OK);
    sqlite3_close (db);
  }
  {
    g_autoptr (LiaOrgService) service = lia_org_service_open (path, test_clock, &error);
    g_autoptr (LiaOrgCaller) alice = NULL;
    g_autoptr (LiaCrmRecord) contact = org_test_contact ("Dan", "Desk", NULL);
    g_autoptr (LiaCrmRecord) refused = NULL;
    g_autoptr (LiaCrmRecord) made = NULL;
    g_autoptr (LiaSyncSummary) summary = NULL;
    g_autoptr (GPtrArray) subs = NULL;
    g_assert_no_error (error);
    alice = lia_org_service_authenticate (service, token, &error);
    g_assert_no_error (error);
    subs = lia_org_sync_list_subscriptions (service, alice, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (subs->len, ==, 2);
    request_id = g_strdup_printf ("%s/store/dan", desktop);
    refused = lia_org_service_create (service, alice, contact, request_id, &error);
    g_assert_null (refused);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
    g_clear_error (&error);
    summary = lia_org_sync_prepare (service, alice, desktop, 0, &error);
    g_assert_no_error (error);
    made = lia_org_service_create (service, alice, contact, request_id, &error);
    g_assert_no_error (error);
    g_assert_nonnull (made);
  }
}

static void
test_search_and_resolve (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("search.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  const char *names[] = { "Contoso Ltd", "Fabrikam Contoso", "Adventure Works", "Contoso Pharma" };
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) resolved = NULL;
  const char *addresses[] = { "JEFF@example.com", "alice@example.org", "nobody@example.com", NULL };
  g_autoptr (GError) error = NULL;

  g_test_summary ("Set Regarding search ranks name prefixes before substrings and honours the limit; email "
                  "resolution finds contacts (case-insensitively), accounts and users.");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
      g_autoptr (LiaCrmRecord) made = NULL;
      g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", names[i], NULL));
      if (i == 0)
        lia_crm_record_set_email (account, "info@contoso.example");
      made = lia_org_service_create (service, alice, account, NULL, &error);
      g_assert_no_error (error);
    }
  {
    g_autoptr (LiaCrmRecord) contact = org_test_contact ("Jeff", "Smith", "jeff@example.com");
    g_autoptr (LiaCrmRecord) made = lia_org_service_create (service, alice, contact, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (made);
  }
  found = lia_org_service_search (service, alice, "conto", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 3);
  g_assert_true (g_str_has_prefix (((LiaCrmMatch *) found->pdata[0])->name, "Contoso"));
  g_assert_true (g_str_has_prefix (((LiaCrmMatch *) found->pdata[1])->name, "Contoso"));
  g_assert_cmpstr (((LiaCrmMatch *) found->pdata[2])->name, ==, "Fabrikam Contoso");
  g_clear_pointer (&found, g_ptr_array_unref);
  found = lia_org_service_search (service, alice, "o", 2, &error);
  g_assert_cmpuint (found->len, ==, 2);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = lia_org_service_search (service, alice, "%", 10, &error);
  g_assert_cmpuint (found->len, ==, 0);

  resolved = lia_org_service_resolve (service, alice, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resolved->len, ==, 2);
  g_assert_cmpint (((LiaCrmMatch *) resolved->pdata[0])->entity, ==, LIA_ENTITY_CONTACT);
  g_assert_cmpstr (((LiaCrmMatch *) resolved->pdata[0])->name, ==, "Jeff Smith");
  g_assert_cmpint (((LiaCrmMatch *) resolved->pdata[1])->entity, ==, LIA_ENTITY_N);
  g_assert_cmpstr (((LiaCrmMatch *) resolved->pdata[1])->id, ==, alice->user_id);
}

static void
test_settings (void)
{
  g_autoptr (LiaOrgService) service = org_test_service ("settings.db", test_clock);
  g_autoptr (LiaOrgCaller) alice = org_test_user (service, "alice", FALSE, NULL);
  g_autoptr (LiaOrgCaller) root = org_test_user (service, "root", TRUE, NULL);
  g_autoptr (GHashTable) settings = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "Org settings have defaults, only admins change them, and values are validated: interval "
      "minimum, directions of non-fixed fields, token prefix, approved-users-only (R-MAIL-APPROVED).");
  settings = lia_org_service_get_settings (service, &error);
  g_assert_cmpstr (g_hash_table_lookup (settings, "sync-interval-min"), ==, "15");
  g_assert_cmpstr (g_hash_table_lookup (settings, "tracking-token-prefix"), ==, "CRM:");
  g_assert_false (lia_org_service_set_setting (service, alice, "sync-interval-min", "5", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (lia_org_service_set_setting (service, root, "sync-interval-min", "0", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_org_service_set_setting (service, root, "direction.contact.full-name", "<-", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_org_service_set_setting (service, root, "no-such-key", "1", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (lia_org_service_set_setting (service, root, "direction.contact.nickname", "x", &error));
  g_assert_true (lia_org_service_set_setting (service, root, "approved-users-only", "true", &error));
  g_assert_no_error (error);
  {
    g_autoptr (LiaCrmRecord) mail = lia_crm_record_new (LIA_ENTITY_EMAIL);
    g_autoptr (LiaCrmRecord) made = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (mail), "subject", "Hello", NULL));
    made = lia_org_service_create (service, alice, mail, NULL, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
    g_clear_error (&error);
    g_assert_true (lia_org_service_set_approved (service, "alice", TRUE, &error));
    g_clear_pointer (&alice, lia_org_caller_free);
  }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_clock = lia_clock_new_manual (ORG_TEST_NOW);
  g_test_add_func ("/org/records/create", test_create_assigns_id_version);
  g_test_add_func ("/org/records/stale-update-conflicts", test_stale_update_conflicts);
  g_test_add_func ("/org/records/idempotent-create", test_idempotent_create);
  g_test_add_func ("/org/records/permissions", test_permissions);
  g_test_add_func ("/org/records/field-security", test_field_security);
  g_test_add_func ("/org/records/rejected-write-changes-nothing", test_rejected_write_changes_nothing);
  g_test_add_func ("/org/records/search-resolve", test_search_and_resolve);
  g_test_add_func ("/org/auth/tokens-hashed", test_tokens_hashed);
  g_test_add_func ("/org/store/reopen", test_store_reopen_and_newer);
  g_test_add_func ("/org/store/R-ROLE-SECONDARY-NO-NEW/schema-3-migration", test_store_schema_3_migration);
  g_test_add_func ("/org/settings/validate", test_settings);
  rc = g_test_run ();
  lia_clock_unref (test_clock);
  return rc;
}
