/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "lia-org-service.h"
#include "lia-org-sync.h"

/* liaison-org run as a user runs it: a subprocess on a real file. */

static char *
run (int expect_status, char **out_stderr, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  char *out = NULL, *err = NULL;
  va_list ap;

  g_ptr_array_add (args, (gpointer) LIA_TEST_ORG_CLI);
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (proc) != expect_status)
    g_assert_cmpstr (err, ==, "(expected another exit status)");
  if (out_stderr != NULL)
    *out_stderr = err;
  else
    g_free (err);
  return out;
}

static char *
db_path (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "cli", NULL);

  g_mkdir_with_parents (dir, 0700);
  return g_build_filename (dir, name, NULL);
}

static void
test_users_filters_settings (void)
{
  g_autofree char *db = db_path ("org.db");
  g_autofree char *token = NULL;
  g_autofree char *token2 = NULL;
  g_autofree char *err = NULL;
  g_autofree char *id = NULL;
  g_autofree char *listed = NULL;
  g_autofree char *value = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "liaison-org: init, user add prints a token that authenticates, user token replaces it, "
      "filter add rejects invalid XML with a message and exit 1, enable/disable/rm, setting set/get.");
  g_free (run (0, NULL, "--db", db, "init", NULL));
  token = run (0, NULL, "--db", db, "user", "add", "alice", "--email", "alice@example.org", NULL);
  g_strstrip (token);
  g_assert_true (g_str_has_prefix (token, "lia_"));
  {
    g_autoptr (LiaOrgService) service = lia_org_service_open (db, NULL, &error);
    g_autoptr (LiaOrgCaller) caller = lia_org_service_authenticate (service, token, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (caller->name, ==, "alice");
  }
  token2 = run (0, NULL, "--db", db, "user", "token", "alice", NULL);
  g_assert_cmpstr (token2, !=, token);
  g_free (run (1, &err, "--db", db, "filter", "add", "contact", "Broken",
               "<filter entity=\"contact\"><x/></filter>", NULL));
  g_assert_nonnull (strstr (err, "unknown element <x>"));
  id = run (0, NULL, "--db", db, "filter", "add", "contact", "Open contacts",
            "<filter entity=\"contact\"><condition attribute=\"statecode\" operator=\"eq\" "
            "value=\"open\"/></filter>",
            NULL);
  g_strstrip (id);
  g_assert_true (g_uuid_string_is_valid (id));
  g_free (run (0, NULL, "--db", db, "filter", "disable", id, NULL));
  listed = run (0, NULL, "--db", db, "filter", "list", NULL);
  g_assert_nonnull (strstr (listed, "(system)\tdisabled\tOpen contacts"));
  g_free (run (0, NULL, "--db", db, "filter", "rm", id, NULL));
  g_free (run (0, NULL, "--db", db, "setting", "set", "sync-interval-min", "30", NULL));
  value = run (0, NULL, "--db", db, "setting", "get", "sync-interval-min", NULL);
  g_assert_cmpstr (value, ==, "30\n");
  g_free (run (1, NULL, "--db", db, "setting", "set", "sync-interval-min", "0", NULL));
  g_free (run (2, NULL, "--db", db, "frobnicate", NULL));
}

static gboolean
count_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  g_hash_table_add (user_data, g_strdup (row->id));
  return TRUE;
}

static GHashTable *
all_ids (const char *db)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgService) service = lia_org_service_open (db, NULL, &error);
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_no_error (error);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    g_assert_true (lia_org_service_foreach_record (service, (LiaEntity) e, count_row, ids, &error));
  return ids;
}

static void
test_demo_export_import (void)
{
  g_autofree char *db = db_path ("demo.db");
  g_autofree char *copy = db_path ("copy.db");
  g_autofree char *xml = db_path ("demo.xml");
  g_autofree char *tokens = NULL;
  g_autoptr (GHashTable) before = NULL;
  g_autoptr (GHashTable) after = NULL;
  g_autoptr (GError) error = NULL;
  GHashTableIter iter;
  gpointer key;

  g_test_summary (
      "R-DUP-IDS: demo loads a realistic org (users with tokens, about 50 accounts, 500 contacts, "
      "activities); export then import into a new file keeps every record id, the users and "
      "their filters.");
  tokens = run (0, NULL, "--db", db, "demo", NULL);
  g_assert_nonnull (strstr (tokens, "alice\tlia_"));
  before = all_ids (db);
  g_assert_cmpuint (g_hash_table_size (before), >=, 900);
  g_free (run (0, NULL, "--db", db, "export", xml, NULL));
  g_free (run (0, NULL, "--db", copy, "import", xml, NULL));
  after = all_ids (copy);
  g_assert_cmpuint (g_hash_table_size (after), ==, g_hash_table_size (before));
  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_assert_true (g_hash_table_contains (after, key));
  {
    g_autoptr (LiaOrgService) service = lia_org_service_open (copy, NULL, &error);
    g_autoptr (LiaCrmUser) alice = lia_org_service_get_user (service, "alice", &error);
    g_autofree char *token = NULL;
    g_autoptr (LiaOrgCaller) caller = NULL;
    g_autoptr (LiaCrmSubscription) sub = NULL;
    g_autoptr (LiaSyncSummary) summary = NULL;
    g_assert_no_error (error);
    g_assert_nonnull (alice);
    g_assert_true (lia_org_service_new_token (service, "alice", &token, &error));
    caller = lia_org_service_authenticate (service, token, &error);
    sub = lia_org_sync_subscribe (service, caller, "migrated", &error);
    summary = lia_org_sync_prepare (service, caller, sub->id, 1u << LIA_ENTITY_CONTACT, &error);
    g_assert_no_error (error);
    /* Her contacts came across with her filters. */
    g_assert_cmpuint (lia_sync_summary_get (summary, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), >, 100);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/org/cli/users-filters-settings", test_users_filters_settings);
  g_test_add_func ("/org/cli/R-DUP-IDS", test_demo_export_import);
  return g_test_run ();
}
