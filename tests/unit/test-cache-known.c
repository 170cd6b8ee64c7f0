/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* R-MAIL-FOLDER in the sync cache: the messages known in a tracked folder
 * (table mail_folder_known, schema 5) and the migration from schema 4. */

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "lia-cache-private.h"

#define T0 (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)

static char *
test_cache_path (const char *name)
{
  return g_build_filename (g_get_user_cache_dir (), "liaison", name, "cache.db", NULL);
}

static LiaCache *
open_cache (const char *path, LiaClock *clock)
{
  g_autoptr (GError) error = NULL;
  LiaCache *cache = lia_cache_open (path, clock, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (cache);
  return cache;
}

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  return db;
}

static gint64
raw_int (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static gboolean
is_known (LiaCache *cache, const char *folder, gint64 key)
{
  g_autoptr (GError) error = NULL;
  gboolean known = FALSE;

  g_assert_true (lia_cache_is_known (cache, folder, key, &known, &error));
  g_assert_no_error (error);
  return known;
}

static gint64
count_known (LiaCache *cache, const char *folder)
{
  g_autoptr (GError) error = NULL;
  gint64 n = lia_cache_count_known (cache, folder, &error);

  g_assert_no_error (error);
  return n;
}

static void
test_known_set (void)
{
  g_autofree char *path = test_cache_path ("known");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-FOLDER: a folder's known messages are a set of 64-bit keys per folder: adding a "
                  "key twice is no change, the full range of keys is kept, folders do not share keys, "
                  "dropping one folder's set leaves the others; a bad op changes nothing");
  lia_cache_batch_add_known (batch, "s/a", 1);
  lia_cache_batch_add_known (batch, "s/a", 1);
  lia_cache_batch_add_known (batch, "s/a", G_MININT64);
  lia_cache_batch_add_known (batch, "s/a", G_MAXINT64);
  lia_cache_batch_add_known (batch, "s/b", 1);
  g_assert_true (lia_cache_apply (cache, batch, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_known (cache, "s/a"), ==, 3);
  g_assert_cmpint (count_known (cache, "s/b"), ==, 1);
  g_assert_true (is_known (cache, "s/a", G_MININT64));
  g_assert_true (is_known (cache, "s/a", G_MAXINT64));
  g_assert_false (is_known (cache, "s/a", 2));
  g_assert_false (is_known (cache, "s/c", 1));

  /* A batch with an op without its folder fails whole. */
  g_clear_pointer (&batch, lia_cache_batch_free);
  batch = lia_cache_batch_new ();
  lia_cache_batch_add_known (batch, "s/a", 7);
  lia_cache_batch_add_known (batch, "", 8);
  g_assert_false (lia_cache_apply (cache, batch, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (is_known (cache, "s/a", 7));

  g_clear_pointer (&batch, lia_cache_batch_free);
  batch = lia_cache_batch_new ();
  lia_cache_batch_drop_known (batch, "s/a");
  g_assert_true (lia_cache_apply (cache, batch, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_known (cache, "s/a"), ==, 0);
  g_assert_cmpint (count_known (cache, "s/b"), ==, 1);
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
}

static void
test_migrate_4 (void)
{
  g_autofree char *path = test_cache_path ("migrate-4");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = NULL;
  g_autoptr (LiaCacheBatch) batch = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *mark = NULL;
  g_autofree char *folders = NULL;
  sqlite3 *db;

  g_test_summary ("R-MAIL-FOLDER: a schema 4 cache (a tracked folder, its mark, a noted arrival) opens "
                  "migrated to schema 5 with its data kept and an empty set of known messages, passes the "
                  "self-check, and keeps known messages from then on");
  /* A schema 4 file: what migrations 1 to 4 make, with data in it. Schema
   * 5 only adds mail_folder_known, so dropping it is schema 4 exactly. */
  cache = open_cache (path, clock);
  g_assert_true (lia_cache_set_setting (cache, "mail-folders", "s/Archive\tacct-1\tAcme", &error));
  g_assert_true (lia_cache_set_watermark (cache, "mail-folder:s/Archive", "1700000000000000", &error));
  g_assert_true (lia_cache_set_watermark (cache, "mail-arrival:s\titem-1", "Archive", &error));
  g_assert_no_error (error);
  g_clear_pointer (&cache, lia_cache_close);
  db = raw_open (path);
  g_assert_cmpint (
      sqlite3_exec (db, "DROP TABLE mail_folder_known; PRAGMA user_version = 4", NULL, NULL, NULL), ==,
      SQLITE_OK);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM sqlite_schema WHERE name = 'mail_folder_known'"), ==,
                   0);
  sqlite3_close (db);

  cache = open_cache (path, clock);
  db = raw_open (path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, 5);
  g_assert_cmpint (LIA_CACHE_SCHEMA_VERSION, ==, 5);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM mail_folder_known"), ==, 0);
  sqlite3_close (db);
  folders = lia_cache_dup_setting (cache, "mail-folders", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (folders, ==, "s/Archive\tacct-1\tAcme");
  mark = lia_cache_dup_watermark (cache, "mail-arrival:s\titem-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mark, ==, "Archive");
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
  batch = lia_cache_batch_new ();
  lia_cache_batch_add_known (batch, "s/Archive", 42);
  g_assert_true (lia_cache_apply (cache, batch, &error));
  g_assert_no_error (error);
  g_assert_true (is_known (cache, "s/Archive", 42));
  g_clear_pointer (&cache, lia_cache_close);

  /* Opened again: no step runs twice. */
  cache = open_cache (path, clock);
  g_assert_true (is_known (cache, "s/Archive", 42));
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/cache/known/R-MAIL-FOLDER/set", test_known_set);
  g_test_add_func ("/cache/known/R-MAIL-FOLDER/migrate-4-to-5", test_migrate_4);
  return g_test_run ();
}
