/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "cache-sync-counter.h"
#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

/* GLib 2.74's G_TEST_OPTION_ISOLATE_DIRS leaks the previous XDG paths on
 * purpose in g_set_user_dirs() (callers may still hold them). Under the
 * sanitizer build LeakSanitizer would fail the run on that alone; this
 * narrow suppression keeps every leak of ours visible. Matching it needs
 * whole stacks through GLib, which is built without frame pointers: hence
 * the slow unwinder for allocations. */
const char *__lsan_default_suppressions (void);
const char *__asan_default_options (void);

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions (void)
{
  return "leak:g_set_user_dirs\n";
}

/* 2023-11-14T22:13:20Z: every test runs on a manual clock. */
#define T0 (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)
#define SECOND G_USEC_PER_SEC

/* ---- helpers -------------------------------------------------------- */

static char *
test_cache_path (const char *name)
{
  /* G_TEST_OPTION_ISOLATE_DIRS gives each test its own cache dir; the
   * subdirectories prove that open creates missing parents. */
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

static LiaCache *
open_cache_fast (const char *path, LiaClock *clock, GError **error)
{
  LiaCacheOptions options = LIA_CACHE_OPTIONS_INIT;

  /* Lock tests wait for the busy timeout: keep it short. */
  options.busy_timeout_ms = 100;
  return lia_cache_open (path, clock, &options, error);
}

static LiaCacheChange *
make_change (const char *item_id, LiaChangeOp op)
{
  return lia_cache_change_new (LIA_DIRECTION_TO_CRM, op, "store-1", item_id, LIA_ENTITY_CONTACT, NULL);
}

static gint64
enqueue (LiaCache *cache, const LiaCacheChange *change)
{
  g_autoptr (GError) error = NULL;
  gint64 id = 0;

  g_assert_true (lia_cache_enqueue (cache, change, &id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
enqueue_item (LiaCache *cache, const char *item_id)
{
  g_autoptr (LiaCacheChange) change = make_change (item_id, LIA_CHANGE_OP_UPDATE);

  return enqueue (cache, change);
}

static guint64
count_changes (LiaCache *cache, LiaCacheChangeFilter filter)
{
  g_autoptr (GError) error = NULL;
  guint64 n = G_MAXUINT64;

  g_assert_true (lia_cache_count_changes (cache, filter, &n, &error));
  g_assert_no_error (error);
  return n;
}

static GPtrArray *
claim (LiaCache *cache, LiaDirection direction, guint max, gint64 lease_us)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *claimed = lia_cache_claim (cache, direction, max, lease_us, &error);

  g_assert_no_error (error);
  g_assert_nonnull (claimed);
  return claimed;
}

static gint64
claimed_id (GPtrArray *claimed, guint i)
{
  return ((LiaCacheChange *) g_ptr_array_index (claimed, i))->id;
}

static GBytes *
read_file_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
assert_store_error_names_file (const GError *error, const char *path, const char *phrase)
{
  g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (phrase != NULL && strstr (error->message, phrase) == NULL)
    g_error ("expected \"%s\" in: %s", phrase, error->message);
}

/* Runs a raw SQL statement on a separate connection, as another program
 * touching the file would. */
static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), ==,
                   SQLITE_OK);
  return db;
}

static void
raw_exec (sqlite3 *db, const char *sql)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gint64
raw_int (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

/* Collects asynchronous acknowledgements. */
typedef struct
{
  GArray *ids; /* gint64, in callback order */
  guint n_errors;
  GError *first_error;
  GThread *thread; /* the thread the callbacks ran on */
  LiaCache *cache; /* borrowed; to check durability from the callback */
  gboolean check_durable;
} AckLog;

static void
ack_log_init (AckLog *log)
{
  memset (log, 0, sizeof (*log));
  log->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
ack_log_clear (AckLog *log)
{
  g_array_unref (log->ids);
  g_clear_error (&log->first_error);
}

static void
on_ack (gint64 id, const GError *error, gpointer user_data)
{
  AckLog *log = user_data;

  log->thread = g_thread_self ();
  if (error != NULL)
    {
      g_assert_cmpint (id, ==, 0);
      log->n_errors++;
      if (log->first_error == NULL)
        log->first_error = g_error_copy (error);
      return;
    }
  if (log->check_durable)
    {
      /* The acknowledgement comes after the commit: a fresh read sees it. */
      g_autoptr (GError) lookup_error = NULL;
      g_autoptr (LiaCacheChange) change = lia_cache_lookup_change (log->cache, id, &lookup_error);

      g_assert_no_error (lookup_error);
      g_assert_cmpint (change->id, ==, id);
    }
  g_array_append_val (log->ids, id);
}

static void
wait_acks (AckLog *log, GMainContext *context, guint n)
{
  while (log->ids->len + log->n_errors < n)
    g_main_context_iteration (context, TRUE);
}

/* ---- opening ---------------------------------------------------------- */

static void
test_open_create (void)
{
  g_autofree char *path = test_cache_path ("create");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  g_test_summary ("Opening a missing cache creates its directories and a WAL-mode file at the current schema "
                  "version that passes the self-check.");
  cache = open_cache (path, clock);
  g_assert_cmpstr (lia_cache_get_path (cache), ==, path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 0);

  db = raw_open (path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, LIA_CACHE_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (db, "PRAGMA application_id"), ==, LIA_CACHE_APPLICATION_ID);
  g_assert_cmpint (raw_int (db,
                            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                            "('id_mapping', 'change_queue', 'original', 'watermark', 'setting', 'journal')"),
                   ==, 6);
  {
    g_autoptr (sqlite3_stmt) stmt = NULL;

    g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  }
  sqlite3_close (db);
}

static void
test_open_reopen (void)
{
  g_autofree char *path = test_cache_path ("reopen");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (GError) error = NULL;
  gint64 id;

  g_test_summary (
      "What one cache wrote, a cache opened later on the same file reads back: nothing is reset on "
      "open.");
  {
    g_autoptr (LiaCache) cache = open_cache (path, clock);

    id = enqueue_item (cache, "a");
    g_assert_true (lia_cache_set_setting (cache, "autotrack", "replies", &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr (LiaCache) cache = open_cache (path, clock);
    g_autoptr (LiaCacheChange) change = lia_cache_lookup_change (cache, id, &error);
    g_autofree char *value = NULL;

    g_assert_no_error (error);
    g_assert_cmpstr (change->item_id, ==, "a");
    value = lia_cache_dup_setting (cache, "autotrack", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (value, ==, "replies");
  }
}

static void
test_names (void)
{
  g_test_summary ("Every operation, link state and origin has a name; operation names round-trip.");
  for (guint i = 0; i < LIA_CHANGE_OP_N; i++)
    {
      LiaChangeOp op = LIA_CHANGE_OP_N;

      g_assert_true (lia_change_op_from_string (lia_change_op_to_string ((LiaChangeOp) i), &op));
      g_assert_cmpint (op, ==, i);
    }
  g_assert_cmpstr (lia_change_op_to_string (LIA_CHANGE_OP_N), ==, "invalid");
  g_assert_false (lia_change_op_from_string ("explode", NULL));
  g_assert_false (lia_change_op_from_string (NULL, NULL));
  g_assert_cmpstr (lia_link_state_to_string (LIA_LINK_STATE_MARKED), ==, "marked");
  g_assert_cmpstr (lia_link_state_to_string (LIA_LINK_STATE_N), ==, "invalid");
  g_assert_cmpstr (lia_link_origin_to_string (LIA_LINK_ORIGIN_FILTER), ==, "filter");
  g_assert_cmpstr (lia_link_origin_to_string (LIA_LINK_ORIGIN_N), ==, "invalid");
}

/* ---- id mapping ------------------------------------------------------- */

static void
test_mapping_lookup (void)
{
  g_autofree char *path = test_cache_path ("mapping");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheMapping) marked =
      lia_cache_mapping_new ("store-1", "contacts", "item-1", LIA_ENTITY_CONTACT, NULL, LIA_LINK_STATE_MARKED,
                             LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (LiaCacheMapping) found = NULL;
  g_autoptr (LiaCacheMapping) by_crm = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-MARK-TRACK: a marked item is mapped without a CRM id, then tracked with one; it is found by "
      "host id and by CRM id, and the first link time survives the update.");
  g_assert_true (lia_cache_map (cache, marked, &error));
  g_assert_no_error (error);
  found = lia_cache_lookup_item (cache, "store-1", "item-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->folder, ==, "contacts");
  g_assert_null (found->crm_id);
  g_assert_cmpint (found->state, ==, LIA_LINK_STATE_MARKED);
  g_assert_cmpint (found->origin, ==, LIA_LINK_ORIGIN_MANUAL);
  g_assert_cmpint (found->linked_at, ==, T0);
  g_clear_pointer (&found, lia_cache_mapping_free);

  lia_clock_advance (clock, 5 * SECOND);
  g_assert_true (
      lia_cache_set_link_state (cache, "store-1", "item-1", LIA_LINK_STATE_TRACKED, "crm-1", &error));
  g_assert_no_error (error);
  found = lia_cache_lookup_item (cache, "store-1", "item-1", &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (found->crm_id, ==, "crm-1");
  g_assert_cmpint (found->linked_at, ==, T0);
  g_assert_cmpint (found->modified_at, ==, T0 + 5 * SECOND);

  by_crm = lia_cache_lookup_crm (cache, "store-1", LIA_ENTITY_CONTACT, "crm-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_crm->item_id, ==, "item-1");

  /* Re-mapping replaces the row but keeps when it was first linked. */
  lia_clock_advance (clock, 5 * SECOND);
  found->folder = (g_free (found->folder), g_strdup ("archive"));
  found->origin = LIA_LINK_ORIGIN_FILTER;
  g_assert_true (lia_cache_map (cache, found, &error));
  g_assert_no_error (error);
  g_clear_pointer (&by_crm, lia_cache_mapping_free);
  by_crm = lia_cache_lookup_crm (cache, "store-1", LIA_ENTITY_CONTACT, "crm-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_crm->folder, ==, "archive");
  g_assert_cmpint (by_crm->origin, ==, LIA_LINK_ORIGIN_FILTER);
  g_assert_cmpint (by_crm->linked_at, ==, T0);
  g_assert_cmpint (by_crm->modified_at, ==, T0 + 10 * SECOND);

  /* Wrong entity, store or id: not found. */
  g_clear_pointer (&by_crm, lia_cache_mapping_free);
  by_crm = lia_cache_lookup_crm (cache, "store-1", LIA_ENTITY_TASK, "crm-1", &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_assert_null (by_crm);
  g_clear_error (&error);
  g_assert_null (lia_cache_lookup_item (cache, "store-2", "item-1", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_mapping_no_duplicates (void)
{
  g_autofree char *path = test_cache_path ("dup");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheMapping) first =
      lia_cache_mapping_new ("store-1", "contacts", "item-1", LIA_ENTITY_CONTACT, "crm-1",
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
  g_autoptr (LiaCacheMapping) second =
      lia_cache_mapping_new ("store-1", "contacts", "item-2", LIA_ENTITY_CONTACT, "crm-1",
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
  g_autoptr (LiaCacheMapping) found = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-DUP-NONE: a CRM record linked to an item of a store cannot be linked to a second item of "
      "that store (conflict, first mapping intact), but can be in another store.");
  g_assert_true (lia_cache_map (cache, first, &error));
  g_assert_no_error (error);
  g_assert_false (lia_cache_map (cache, second, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "item-2"));
  g_clear_error (&error);
  g_assert_null (lia_cache_lookup_item (cache, "store-1", "item-2", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Linking by a state change is held to the same rule. */
  g_clear_pointer (&second->crm_id, g_free);
  second->state = LIA_LINK_STATE_MARKED;
  g_assert_true (lia_cache_map (cache, second, &error));
  g_assert_no_error (error);
  g_assert_false (
      lia_cache_set_link_state (cache, "store-1", "item-2", LIA_LINK_STATE_TRACKED, "crm-1", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
  g_clear_error (&error);

  found = lia_cache_lookup_crm (cache, "store-1", LIA_ENTITY_CONTACT, "crm-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->item_id, ==, "item-1");

  second->store = (g_free (second->store), g_strdup ("store-2"));
  second->crm_id = g_strdup ("crm-1");
  second->state = LIA_LINK_STATE_TRACKED;
  g_assert_true (lia_cache_map (cache, second, &error));
  g_assert_no_error (error);
}

static void
test_mapping_invalid (void)
{
  g_autofree char *path = test_cache_path ("mapping-invalid");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheMapping) tracked_no_id =
      lia_cache_mapping_new ("store-1", "contacts", "item-1", LIA_ENTITY_CONTACT, NULL,
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (LiaCacheMapping) no_store = lia_cache_mapping_new (
      "", "contacts", "item-1", LIA_ENTITY_CONTACT, "crm", LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (LiaCacheMapping) marked =
      lia_cache_mapping_new ("store-1", "contacts", "item-1", LIA_ENTITY_CONTACT, NULL, LIA_LINK_STATE_MARKED,
                             LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "A tracked mapping without CRM id, one without store, and tracking a marked item without a CRM "
      "id are refused as invalid; nothing is written.");
  g_assert_false (lia_cache_map (cache, tracked_no_id, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_cache_map (cache, no_store, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (lia_cache_map (cache, marked, &error));
  g_assert_no_error (error);
  g_assert_false (
      lia_cache_set_link_state (cache, "store-1", "item-1", LIA_LINK_STATE_TRACKED, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_cache_set_link_state (cache, "store-1", "nope", LIA_LINK_STATE_MARKED, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_mapping_unmap (void)
{
  g_autofree char *path = test_cache_path ("unmap");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheMapping) mapping =
      lia_cache_mapping_new ("store-1", "calendar", "event-1", LIA_ENTITY_APPOINTMENT, "crm-9",
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (LiaCacheOriginal) original = lia_cache_original_new ("store-1", "event-1", "<appointment/>");
  g_autoptr (LiaCacheOriginal) loaded = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-MARK-UNTRACK: unmapping removes the mapping and the item's original with it; a second unmap "
      "finds nothing.");
  g_assert_true (lia_cache_map (cache, mapping, &error));
  g_assert_true (lia_cache_store_original (cache, original, &error));
  g_assert_no_error (error);
  g_assert_true (lia_cache_unmap (cache, "store-1", "event-1", &error));
  g_assert_no_error (error);
  g_assert_null (lia_cache_lookup_crm (cache, "store-1", LIA_ENTITY_APPOINTMENT, "crm-9", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  loaded = lia_cache_load_original (cache, "store-1", "event-1", &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_assert_null (loaded);
  g_clear_error (&error);
  g_assert_false (lia_cache_unmap (cache, "store-1", "event-1", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
}

static void
test_mapping_list (void)
{
  g_autofree char *path = test_cache_path ("list");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) inbox = NULL;
  g_autoptr (GError) error = NULL;
  const char *items[] = { "m3", "m1", "t1", "m2" };

  g_test_summary ("R-DET-DELETES: the mappings of a store or of one folder are listed by item id, for "
                  "reconciling against the folder's items.");
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autofree char *crm = g_strdup_printf ("crm-%u", i);
      g_autoptr (LiaCacheMapping) m =
          lia_cache_mapping_new ("store-1", items[i][0] == 'm' ? "inbox" : "tasks", items[i],
                                 items[i][0] == 'm' ? LIA_ENTITY_EMAIL : LIA_ENTITY_TASK, crm,
                                 LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_AUTO);

      g_assert_true (lia_cache_map (cache, m, &error));
      g_assert_no_error (error);
    }
  all = lia_cache_list_mappings (cache, "store-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 4);
  inbox = lia_cache_list_mappings (cache, "store-1", "inbox", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (inbox->len, ==, 3);
  g_assert_cmpstr (((LiaCacheMapping *) inbox->pdata[0])->item_id, ==, "m1");
  g_assert_cmpstr (((LiaCacheMapping *) inbox->pdata[1])->item_id, ==, "m2");
  g_assert_cmpstr (((LiaCacheMapping *) inbox->pdata[2])->item_id, ==, "m3");
  g_clear_pointer (&all, g_ptr_array_unref);
  all = lia_cache_list_mappings (cache, "store-2", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 0);
}

/* ---- originals, watermarks, settings, journal ----------------------------- */

static void
test_original (void)
{
  g_autofree char *path = test_cache_path ("original");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheMapping) mapping =
      lia_cache_mapping_new ("store-1", "contacts", "c1", LIA_ENTITY_CONTACT, "crm-1", LIA_LINK_STATE_TRACKED,
                             LIA_LINK_ORIGIN_MANUAL);
  g_autoptr (LiaCacheOriginal) original = lia_cache_original_new ("store-1", "c1", "<contact v=\"1\"/>");
  g_autoptr (LiaCacheOriginal) orphan = lia_cache_original_new ("store-1", "nope", "<contact/>");
  g_autoptr (LiaCacheOriginal) loaded = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MERGE-ORIGINAL: an item's original and both sides' versions and times are stored and "
                  "replaced whole; an unmapped item cannot have one.");
  g_assert_true (lia_cache_map (cache, mapping, &error));
  original->host_version = g_strdup ("rev-7");
  original->host_modified_at = T0 - 100 * SECOND;
  original->crm_version = 42;
  original->crm_modified_at = T0 - 50 * SECOND;
  g_assert_true (lia_cache_store_original (cache, original, &error));
  g_assert_no_error (error);
  loaded = lia_cache_load_original (cache, "store-1", "c1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->xml, ==, "<contact v=\"1\"/>");
  g_assert_cmpstr (loaded->host_version, ==, "rev-7");
  g_assert_cmpint (loaded->host_modified_at, ==, T0 - 100 * SECOND);
  g_assert_cmpint (loaded->crm_version, ==, 42);
  g_assert_cmpint (loaded->crm_modified_at, ==, T0 - 50 * SECOND);
  g_assert_cmpint (loaded->stored_at, ==, T0);

  lia_clock_advance (clock, SECOND);
  g_free (original->xml);
  original->xml = g_strdup ("<contact v=\"2\"/>");
  g_clear_pointer (&original->host_version, g_free);
  original->crm_version = 43;
  g_assert_true (lia_cache_store_original (cache, original, &error));
  g_assert_no_error (error);
  g_clear_pointer (&loaded, lia_cache_original_free);
  loaded = lia_cache_load_original (cache, "store-1", "c1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->xml, ==, "<contact v=\"2\"/>");
  g_assert_null (loaded->host_version);
  g_assert_cmpint (loaded->crm_version, ==, 43);
  g_assert_cmpint (loaded->stored_at, ==, T0 + SECOND);

  g_assert_false (lia_cache_store_original (cache, orphan, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nope"));
}

static void
test_watermark_setting (void)
{
  g_autofree char *path = test_cache_path ("kv");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GError) error = NULL;
  g_autofree char *value = NULL;

  g_test_summary (
      "Watermarks and settings are set, replaced, read back and removed by key; an unset key is not "
      "found; the two tables are separate.");
  g_assert_null (lia_cache_dup_watermark (cache, "folder:s/inbox", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (lia_cache_set_watermark (cache, "folder:s/inbox", "1700000000000000", &error));
  g_assert_true (lia_cache_set_watermark (cache, "anchor:contact", "v1", &error));
  g_assert_true (lia_cache_set_watermark (cache, "anchor:contact", "v2", &error));
  g_assert_true (lia_cache_set_setting (cache, "anchor:contact", "a setting", &error));
  g_assert_no_error (error);

  value = lia_cache_dup_watermark (cache, "anchor:contact", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "v2");
  g_clear_pointer (&value, g_free);
  value = lia_cache_dup_setting (cache, "anchor:contact", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "a setting");
  g_clear_pointer (&value, g_free);

  g_assert_true (lia_cache_set_watermark (cache, "anchor:contact", NULL, &error));
  g_assert_no_error (error);
  g_assert_null (lia_cache_dup_watermark (cache, "anchor:contact", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  value = lia_cache_dup_watermark (cache, "folder:s/inbox", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "1700000000000000");
  g_clear_pointer (&value, g_free);
  g_assert_true (lia_cache_set_setting (cache, "anchor:contact", NULL, &error));
  g_assert_null (lia_cache_dup_setting (cache, "anchor:contact", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_journal (void)
{
  g_autofree char *path = test_cache_path ("journal");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) error = NULL;
  gint64 ids[3];

  g_test_summary ("R-OFF-STATUS: journal entries are appended with the clock's time and listed newest first, "
                  "with a limit; an entry without kind is refused.");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *message = g_strdup_printf ("step %u", i);
      g_autoptr (LiaCacheJournalEntry) entry =
          lia_cache_journal_entry_new (i == 1 ? "error" : "created", message);

      if (i == 1)
        {
          entry->store = g_strdup ("store-1");
          entry->item_id = g_strdup ("item-1");
          entry->crm_id = g_strdup ("crm-1");
        }
      g_assert_true (lia_cache_append_journal (cache, entry, &ids[i], &error));
      g_assert_no_error (error);
      lia_clock_advance (clock, SECOND);
    }
  g_assert_cmpint (ids[0], <, ids[1]);
  g_assert_cmpint (ids[1], <, ids[2]);

  entries = lia_cache_list_journal (cache, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 2);
  {
    LiaCacheJournalEntry *newest = entries->pdata[0];
    LiaCacheJournalEntry *middle = entries->pdata[1];

    g_assert_cmpint (newest->id, ==, ids[2]);
    g_assert_cmpstr (newest->message, ==, "step 2");
    g_assert_null (newest->item_id);
    g_assert_cmpint (newest->at, ==, T0 + 2 * SECOND);
    g_assert_cmpstr (middle->kind, ==, "error");
    g_assert_cmpstr (middle->store, ==, "store-1");
    g_assert_cmpstr (middle->item_id, ==, "item-1");
    g_assert_cmpstr (middle->crm_id, ==, "crm-1");
  }
  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = lia_cache_list_journal (cache, 0, &error);
  g_assert_cmpuint (entries->len, ==, 3);

  {
    g_autoptr (LiaCacheJournalEntry) bad = lia_cache_journal_entry_new ("", "no kind");

    g_assert_false (lia_cache_append_journal (cache, bad, NULL, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  }
}

/* ---- the change queue ------------------------------------------------- */

static void
test_queue_fields (void)
{
  g_autofree char *path = test_cache_path ("fields");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheChange) change = lia_cache_change_new (LIA_DIRECTION_TO_HOST, LIA_CHANGE_OP_CREATE,
                                                            "store-1", NULL, LIA_ENTITY_TASK, "crm-5");
  g_autoptr (LiaCacheChange) empty = make_change ("item-2", LIA_CHANGE_OP_DELETE);
  g_autoptr (LiaCacheChange) loaded = NULL;
  g_autoptr (GError) error = NULL;
  static const guint8 payload[] = { '<', 't', 0, 0xff, '>' };
  gint64 id, id_empty;

  g_test_summary ("A queued change keeps every field, including a binary payload with NUL bytes and an empty "
                  "one (not NULL); the cache sets the enqueue and due times from its clock.");
  change->folder = g_strdup ("tasks");
  change->payload = g_bytes_new_static (payload, sizeof (payload));
  id = enqueue (cache, change);
  empty->payload = g_bytes_new_static ("", 0);
  id_empty = enqueue (cache, empty);
  g_assert_cmpint (id_empty, >, id);

  loaded = lia_cache_lookup_change (cache, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (loaded->id, ==, id);
  g_assert_cmpint (loaded->direction, ==, LIA_DIRECTION_TO_HOST);
  g_assert_cmpint (loaded->op, ==, LIA_CHANGE_OP_CREATE);
  g_assert_cmpstr (loaded->store, ==, "store-1");
  g_assert_cmpstr (loaded->folder, ==, "tasks");
  g_assert_null (loaded->item_id);
  g_assert_cmpint (loaded->entity, ==, LIA_ENTITY_TASK);
  g_assert_cmpstr (loaded->crm_id, ==, "crm-5");
  g_assert_nonnull (loaded->payload);
  g_assert_true (g_bytes_equal (loaded->payload, change->payload));
  g_assert_cmpint (loaded->enqueued_at, ==, T0);
  g_assert_cmpint (loaded->next_attempt_at, ==, T0);
  g_assert_cmpuint (loaded->attempts, ==, 0);
  g_assert_null (loaded->last_error);
  g_assert_cmpint (loaded->claimed_until, ==, 0);
  g_clear_pointer (&loaded, lia_cache_change_free);

  loaded = lia_cache_lookup_change (cache, id_empty, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded->payload);
  g_assert_cmpuint (g_bytes_get_size (loaded->payload), ==, 0);
  g_assert_null (loaded->folder);
  g_assert_null (loaded->crm_id);
}

static void
test_queue_invalid (void)
{
  g_autofree char *path = test_cache_path ("invalid");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheChange) both = lia_cache_change_new (LIA_DIRECTION_BOTH, LIA_CHANGE_OP_UPDATE, "store-1",
                                                          "i", LIA_ENTITY_CONTACT, NULL);
  g_autoptr (LiaCacheChange) no_ids = lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_UPDATE,
                                                            "store-1", NULL, LIA_ENTITY_CONTACT, "");
  g_autoptr (LiaCacheChange) bad_op =
      lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_N, "store-1", "i", LIA_ENTITY_CONTACT, NULL);
  g_autoptr (GError) error = NULL;
  AckLog log;

  g_test_summary ("A change with two directions, no item or CRM id, or an unknown operation is refused as "
                  "invalid, synchronously and through the asynchronous callback; the queue stays empty.");
  ack_log_init (&log);
  g_assert_false (lia_cache_enqueue (cache, both, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_cache_enqueue (cache, no_ids, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_cache_enqueue (cache, bad_op, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);

  lia_cache_enqueue_async (cache, no_ids, on_ack, &log);
  wait_acks (&log, NULL, 1);
  g_assert_cmpuint (log.n_errors, ==, 1);
  g_assert_error (log.first_error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 0);
  ack_log_clear (&log);
}

static void
test_queue_claim_order (void)
{
  g_autofree char *path = test_cache_path ("claim-order");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) to_host = NULL;
  g_autoptr (GPtrArray) rest = NULL;
  g_autoptr (LiaCacheChange) later = make_change ("later", LIA_CHANGE_OP_UPDATE);
  g_autoptr (LiaCacheChange) incoming = lia_cache_change_new (LIA_DIRECTION_TO_HOST, LIA_CHANGE_OP_UPDATE,
                                                              "store-1", NULL, LIA_ENTITY_CONTACT, "crm-x");
  gint64 ids[5];
  gint64 later_id, incoming_id;

  g_test_summary (
      "Claims take due, unclaimed changes oldest first up to the limit, in the direction asked; a "
      "change deferred to a later time is not due before it.");
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *item = g_strdup_printf ("item-%u", i);

      ids[i] = enqueue_item (cache, item);
    }
  later->next_attempt_at = T0 + 60 * SECOND;
  later_id = enqueue (cache, later);
  incoming_id = enqueue (cache, incoming);

  first = claim (cache, LIA_DIRECTION_TO_CRM, 3, 600 * SECOND);
  g_assert_cmpuint (first->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (claimed_id (first, i), ==, ids[i]);
      g_assert_cmpint (((LiaCacheChange *) first->pdata[i])->claimed_until, ==, T0 + 600 * SECOND);
    }
  to_host = claim (cache, LIA_DIRECTION_TO_HOST, 10, 600 * SECOND);
  g_assert_cmpuint (to_host->len, ==, 1);
  g_assert_cmpint (claimed_id (to_host, 0), ==, incoming_id);
  rest = claim (cache, LIA_DIRECTION_BOTH, 10, 600 * SECOND);
  g_assert_cmpuint (rest->len, ==, 2);
  g_assert_cmpint (claimed_id (rest, 0), ==, ids[3]);
  g_assert_cmpint (claimed_id (rest, 1), ==, ids[4]);
  g_clear_pointer (&rest, g_ptr_array_unref);

  /* The deferred one comes due at its time, not before. */
  lia_clock_advance (clock, 59 * SECOND);
  rest = claim (cache, LIA_DIRECTION_BOTH, 10, 600 * SECOND);
  g_assert_cmpuint (rest->len, ==, 0);
  g_clear_pointer (&rest, g_ptr_array_unref);
  lia_clock_advance (clock, SECOND);
  rest = claim (cache, LIA_DIRECTION_BOTH, 10, 600 * SECOND);
  g_assert_cmpuint (rest->len, ==, 1);
  g_assert_cmpint (claimed_id (rest, 0), ==, later_id);
  g_clear_pointer (&rest, g_ptr_array_unref);
  rest = claim (cache, LIA_DIRECTION_BOTH, 0, 600 * SECOND);
  g_assert_cmpuint (rest->len, ==, 0);
}

static void
test_queue_claim_item_order (void)
{
  g_autofree char *path = test_cache_path ("claim-item-order");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheChange) by_crm_1 = lia_cache_change_new (LIA_DIRECTION_TO_HOST, LIA_CHANGE_OP_CREATE,
                                                              "store-1", NULL, LIA_ENTITY_TASK, "crm-7");
  g_autoptr (LiaCacheChange) by_crm_2 = lia_cache_change_new (LIA_DIRECTION_TO_HOST, LIA_CHANGE_OP_UPDATE,
                                                              "store-1", "task-7", LIA_ENTITY_TASK, "crm-7");
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (GError) error = NULL;
  gint64 a1, b1, a2, a3, c1, c2;

  g_test_summary (
      "R-OFF-QUEUE: the changes of one item (by host id, or by CRM id before the item exists) are "
      "claimed one at a time in enqueue order, even when a later one is due earlier after a "
      "failure; other items are not held up.");
  a1 = enqueue_item (cache, "a");
  b1 = enqueue_item (cache, "b");
  a2 = enqueue_item (cache, "a");
  a3 = enqueue_item (cache, "a");
  c1 = enqueue (cache, by_crm_1);
  c2 = enqueue (cache, by_crm_2);

  claimed = claim (cache, LIA_DIRECTION_BOTH, 100, 60 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 3);
  g_assert_cmpint (claimed_id (claimed, 0), ==, a1);
  g_assert_cmpint (claimed_id (claimed, 1), ==, b1);
  g_assert_cmpint (claimed_id (claimed, 2), ==, c1);
  g_clear_pointer (&claimed, g_ptr_array_unref);

  /* a1 fails: a2 and a3 wait behind it, through its backoff. */
  g_assert_true (lia_cache_fail (cache, a1, "offline", NULL, &error));
  g_assert_true (lia_cache_complete (cache, &b1, 1, &error));
  g_assert_true (lia_cache_complete (cache, &c1, 1, &error));
  g_assert_no_error (error);
  claimed = claim (cache, LIA_DIRECTION_BOTH, 100, 60 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_assert_cmpint (claimed_id (claimed, 0), ==, c2);
  g_clear_pointer (&claimed, g_ptr_array_unref);

  lia_clock_advance (clock, LIA_CACHE_BACKOFF_BASE_US);
  claimed = claim (cache, LIA_DIRECTION_BOTH, 100, 60 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_assert_cmpint (claimed_id (claimed, 0), ==, a1);
  g_assert_true (lia_cache_complete (cache, &a1, 1, &error));
  g_clear_pointer (&claimed, g_ptr_array_unref);
  claimed = claim (cache, LIA_DIRECTION_BOTH, 100, 60 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_assert_cmpint (claimed_id (claimed, 0), ==, a2);
  g_assert_true (lia_cache_complete (cache, &a2, 1, &error));
  g_clear_pointer (&claimed, g_ptr_array_unref);
  claimed = claim (cache, LIA_DIRECTION_BOTH, 100, 60 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_assert_cmpint (claimed_id (claimed, 0), ==, a3);
  g_assert_no_error (error);
}

static void
test_queue_lease (void)
{
  g_autofree char *path = test_cache_path ("lease");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GPtrArray) claimed = NULL;
  gint64 id;

  g_test_summary ("A claimed change is not claimed again while its lease holds, and is due again once it "
                  "expires, so a claimer that crashed loses nothing.");
  id = enqueue_item (cache, "item");
  claimed = claim (cache, LIA_DIRECTION_TO_CRM, 10, 30 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_clear_pointer (&claimed, g_ptr_array_unref);

  lia_clock_advance (clock, 30 * SECOND - 1);
  claimed = claim (cache, LIA_DIRECTION_TO_CRM, 10, 30 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 0);
  g_clear_pointer (&claimed, g_ptr_array_unref);

  lia_clock_advance (clock, 1);
  claimed = claim (cache, LIA_DIRECTION_TO_CRM, 10, 30 * SECOND);
  g_assert_cmpuint (claimed->len, ==, 1);
  g_assert_cmpint (claimed_id (claimed, 0), ==, id);
  g_assert_cmpuint (((LiaCacheChange *) claimed->pdata[0])->attempts, ==, 0);
}

static void
test_queue_complete (void)
{
  g_autofree char *path = test_cache_path ("complete");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GError) error = NULL;
  gint64 ids[3];
  gint64 with_missing[2];

  g_test_summary ("Completing removes changes all or none: a list naming a change that is not queued removes "
                  "nothing; ids are never reused after completion.");
  for (guint i = 0; i < 3; i++)
    ids[i] = enqueue_item (cache, "item");
  with_missing[0] = ids[0];
  with_missing[1] = ids[2] + 1000;
  g_assert_false (lia_cache_complete (cache, with_missing, 2, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 3);

  g_assert_true (lia_cache_complete (cache, ids, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 0);
  g_assert_false (lia_cache_complete (cache, ids, 1, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (lia_cache_complete (cache, NULL, 0, &error));

  /* The queue is empty, yet the next id is past every id handed out. */
  g_assert_cmpint (enqueue_item (cache, "item"), >, ids[2]);
}

static void
test_queue_backoff_function (void)
{
  g_test_summary (
      "The backoff after the n-th failure is within [0.9, 1] of min(30 s * 2^(n-1), 1 h), the same "
      "for the same change and attempt, and differs between changes.");
  for (guint attempts = 1; attempts <= 40; attempts++)
    {
      gint64 expected = LIA_CACHE_BACKOFF_BASE_US;
      guint n_distinct = 0;
      gint64 previous = -1;

      for (guint i = 1; i < attempts && expected < LIA_CACHE_BACKOFF_CAP_US; i++)
        expected *= 2;
      expected = MIN (expected, LIA_CACHE_BACKOFF_CAP_US);
      for (gint64 id = 1; id <= 50; id++)
        {
          gint64 delay = lia_cache_backoff_us (attempts, id);

          g_assert_cmpint (delay, <=, expected);
          g_assert_cmpint (delay, >=, expected - expected / 10);
          g_assert_cmpint (delay, ==, lia_cache_backoff_us (attempts, id));
          if (delay != previous)
            n_distinct++;
          previous = delay;
        }
      g_assert_cmpuint (n_distinct, >, 25);
    }
  g_assert_cmpint (lia_cache_backoff_us (G_MAXUINT, 1), <=, LIA_CACHE_BACKOFF_CAP_US);
}

static void
test_queue_fail (void)
{
  g_autofree char *path = test_cache_path ("fail");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GError) error = NULL;
  gint64 id, other;

  g_test_summary ("R-IMM-FALLBACK: a failed change stays queued with its attempts and last error, is not due "
                  "before its backoff and is due after it, through 40 failures with the delay capped at an "
                  "hour; pending and failed changes are counted and listed apart.");
  id = enqueue_item (cache, "item");
  for (guint attempt = 1; attempt <= 40; attempt++)
    {
      g_autoptr (GPtrArray) claimed = claim (cache, LIA_DIRECTION_TO_CRM, 10, 60 * SECOND);
      g_autoptr (LiaCacheChange) after = NULL;
      g_autofree char *message = g_strdup_printf ("server said 503 (%u)", attempt);
      gint64 next = 0;

      g_assert_cmpuint (claimed->len, ==, 1);
      g_assert_cmpint (claimed_id (claimed, 0), ==, id);
      g_assert_true (lia_cache_fail (cache, id, message, &next, &error));
      g_assert_no_error (error);
      g_assert_cmpint (next, ==, lia_clock_now (clock) + lia_cache_backoff_us (attempt, id));
      g_assert_cmpint (next - lia_clock_now (clock), <=, LIA_CACHE_BACKOFF_CAP_US);

      after = lia_cache_lookup_change (cache, id, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (after->attempts, ==, attempt);
      g_assert_cmpstr (after->last_error, ==, message);
      g_assert_cmpint (after->next_attempt_at, ==, next);
      g_assert_cmpint (after->claimed_until, ==, 0);

      /* Not due a microsecond early; due at its time (next round). */
      lia_clock_set (clock, next - 1);
      g_clear_pointer (&claimed, g_ptr_array_unref);
      claimed = claim (cache, LIA_DIRECTION_TO_CRM, 10, 60 * SECOND);
      g_assert_cmpuint (claimed->len, ==, 0);
      lia_clock_set (clock, next);
    }

  other = enqueue_item (cache, "other");
  g_assert_true (lia_cache_fail (cache, other, "later", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 2);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_FAILED), ==, 2);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_PENDING), ==, 0);
  enqueue_item (cache, "fresh");
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_PENDING), ==, 1);
  {
    g_autoptr (GPtrArray) failed = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_FAILED, 0, &error);
    g_autoptr (GPtrArray) pending = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_PENDING, 0, &error);
    g_autoptr (GPtrArray) one = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, 1, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (failed->len, ==, 2);
    g_assert_cmpint (claimed_id (failed, 0), ==, id);
    g_assert_cmpuint (((LiaCacheChange *) failed->pdata[0])->attempts, ==, 40);
    g_assert_cmpint (claimed_id (failed, 1), ==, other);
    g_assert_cmpuint (pending->len, ==, 1);
    g_assert_cmpstr (((LiaCacheChange *) pending->pdata[0])->item_id, ==, "fresh");
    g_assert_cmpuint (one->len, ==, 1);
    g_assert_cmpint (claimed_id (one, 0), ==, id);
  }
  g_assert_false (lia_cache_fail (cache, 99999, "gone", NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

/* ---- asynchronous enqueue and group commit --------------------------------- */

static void
test_queue_async (void)
{
  g_autofree char *path = test_cache_path ("async");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  AckLog log;
  const guint n = 500;

  g_test_summary (
      "R-IMM-BACKGROUND: asynchronous enqueues call back on the caller's main context, in enqueue "
      "order, each only once its change can be read back (durable).");
  ack_log_init (&log);
  log.cache = cache;
  log.check_durable = TRUE;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *item = g_strdup_printf ("item-%u", i);
      g_autoptr (LiaCacheChange) change = make_change (item, LIA_CHANGE_OP_UPDATE);

      lia_cache_enqueue_async (cache, change, on_ack, &log);
    }
  wait_acks (&log, NULL, n);
  g_assert_cmpuint (log.n_errors, ==, 0);
  g_assert_true (log.thread == g_thread_self ());
  for (guint i = 1; i < n; i++)
    g_assert_cmpint (g_array_index (log.ids, gint64, i), >, g_array_index (log.ids, gint64, i - 1));
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, n);
  ack_log_clear (&log);
}

typedef struct
{
  LiaCache *cache;
  AckLog log;
  guint n;
} ThreadContextData;

static gpointer
thread_with_context (gpointer data)
{
  ThreadContextData *d = data;
  g_autoptr (GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < d->n; i++)
    {
      g_autoptr (LiaCacheChange) change = make_change ("thread-item", LIA_CHANGE_OP_UPDATE);

      lia_cache_enqueue_async (d->cache, change, on_ack, &d->log);
    }
  wait_acks (&d->log, context, d->n);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_queue_async_thread_context (void)
{
  g_autofree char *path = test_cache_path ("async-thread");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  ThreadContextData d = { .cache = cache, .n = 50 };
  GThread *thread;

  g_test_summary ("Callbacks of asynchronous enqueues run on the thread-default context of the thread that "
                  "enqueued, not on the global default context.");
  ack_log_init (&d.log);
  thread = g_thread_new ("enqueuer", thread_with_context, &d);
  g_thread_join (thread);
  g_assert_cmpuint (d.log.ids->len, ==, d.n);
  g_assert_true (d.log.thread == thread);
  /* Nothing was posted to the global default context. */
  g_assert_false (g_main_context_pending (NULL));
  ack_log_clear (&d.log);
}

static void
test_queue_group_commit (void)
{
  g_autofree char *path = test_cache_path ("group");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  AckLog log;
  guint syncs_before, syncs_one, syncs_burst;
  guint64 commits_before;
  const guint n = 1000;

  g_test_summary ("R-DET-QUEUE-DURABLE: one change costs at least one fsync, and a burst of 1000 changes "
                  "handed over together is one transaction with no more fsyncs than a single change.");
  ack_log_init (&log);

  syncs_before = counting_vfs_get_syncs ();
  commits_before = lia_cache_get_commit_count (cache);
  enqueue_item (cache, "single");
  syncs_one = counting_vfs_get_syncs () - syncs_before;
  g_assert_cmpuint (syncs_one, >=, 1);
  g_assert_cmpuint (lia_cache_get_commit_count (cache) - commits_before, ==, 1);

  lia_cache_set_writer_paused (cache, TRUE);
  syncs_before = counting_vfs_get_syncs ();
  commits_before = lia_cache_get_commit_count (cache);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *item = g_strdup_printf ("burst-%u", i);
      g_autoptr (LiaCacheChange) change = make_change (item, LIA_CHANGE_OP_UPDATE);

      lia_cache_enqueue_async (cache, change, on_ack, &log);
    }
  lia_cache_set_writer_paused (cache, FALSE);
  wait_acks (&log, NULL, n);
  syncs_burst = counting_vfs_get_syncs () - syncs_before;
  g_assert_cmpuint (log.n_errors, ==, 0);
  g_assert_cmpuint (lia_cache_get_commit_count (cache) - commits_before, ==, 1);
  g_assert_cmpuint (syncs_burst, ==, syncs_one);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, n + 1);
  ack_log_clear (&log);
}

typedef struct
{
  LiaCache *cache;
  guint n;
  GArray *ids; /* gint64, owned by the thread's caller */
} SyncThreadData;

static gpointer
sync_enqueuer (gpointer data)
{
  SyncThreadData *d = data;

  for (guint i = 0; i < d->n; i++)
    {
      g_autofree char *item = g_strdup_printf ("%p-%u", (void *) d, i);
      g_autoptr (LiaCacheChange) change = make_change (item, LIA_CHANGE_OP_UPDATE);
      g_autoptr (GError) error = NULL;
      gint64 id = 0;

      if (!lia_cache_enqueue (d->cache, change, &id, &error))
        g_error ("enqueue failed: %s", error->message);
      g_array_append_val (d->ids, id);
    }
  return NULL;
}

static void
test_queue_concurrent (void)
{
  g_autofree char *path = test_cache_path ("concurrent");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  SyncThreadData data[8];
  GThread *threads[8];
  const guint per_thread = 150;

  g_test_summary (
      "Eight threads enqueueing synchronously at once each get distinct ids, increasing within each "
      "thread, and every change is in the queue.");
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      data[t] = (SyncThreadData){ .cache = cache,
                                  .n = per_thread,
                                  .ids = g_array_new (FALSE, FALSE, sizeof (gint64)) };
      threads[t] = g_thread_new ("sync-enqueuer", sync_enqueuer, &data[t]);
    }
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpuint (data[t].ids->len, ==, per_thread);
      for (guint i = 0; i < per_thread; i++)
        {
          gint64 id = g_array_index (data[t].ids, gint64, i);

          if (i > 0)
            g_assert_cmpint (id, >, g_array_index (data[t].ids, gint64, i - 1));
          g_assert_true (g_hash_table_add (seen, g_memdup2 (&id, sizeof (id))));
        }
      g_array_unref (data[t].ids);
    }
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, G_N_ELEMENTS (threads) * per_thread);
}

static void
test_queue_close_drains (void)
{
  g_autofree char *path = test_cache_path ("drain");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  LiaCache *cache = open_cache (path, clock);
  AckLog log;
  const guint n = 3000;

  g_test_summary (
      "Closing with thousands of asynchronous changes in flight waits for all of them: each one is "
      "in the file afterwards, and every callback still runs (after the close) with its id.");
  ack_log_init (&log);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaCacheChange) change = make_change ("item", LIA_CHANGE_OP_UPDATE);

      lia_cache_enqueue_async (cache, change, on_ack, &log);
    }
  lia_cache_close (cache);
  wait_acks (&log, NULL, n);
  g_assert_cmpuint (log.n_errors, ==, 0);
  cache = open_cache (path, clock);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, n);
  for (guint i = 0; i < n; i += 97)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LiaCacheChange) change =
          lia_cache_lookup_change (cache, g_array_index (log.ids, gint64, i), &error);

      g_assert_no_error (error);
      g_assert_cmpint (change->id, ==, g_array_index (log.ids, gint64, i));
    }
  lia_cache_close (cache);
  ack_log_clear (&log);
}

/* ---- batches ----------------------------------------------------------- */

static void
test_batch (void)
{
  g_autofree char *path = test_cache_path ("batch");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (LiaCache) cache = open_cache (path, clock);
  g_autoptr (LiaCacheBatch) good = lia_cache_batch_new ();
  g_autoptr (LiaCacheBatch) bad = lia_cache_batch_new ();
  g_autoptr (LiaCacheMapping) mapping = lia_cache_mapping_new (
      "s", "contacts", "c1", LIA_ENTITY_CONTACT, "crm-1", LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
  g_autoptr (LiaCacheMapping) mapping2 = lia_cache_mapping_new (
      "s", "contacts", "c2", LIA_ENTITY_CONTACT, "crm-2", LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
  g_autoptr (LiaCacheOriginal) original = lia_cache_original_new ("s", "c1", "<contact/>");
  g_autoptr (LiaCacheOriginal) original2 = lia_cache_original_new ("s", "c2", "<contact/>");
  g_autoptr (LiaCacheJournalEntry) entry = lia_cache_journal_entry_new ("page", "page 1 applied");
  g_autoptr (LiaCacheChange) change = make_change ("c1", LIA_CHANGE_OP_UPDATE);
  g_autoptr (GError) error = NULL;
  g_autofree char *anchor = NULL;
  gint64 done_id;

  g_test_summary (
      "STYLE 20: a downloaded page (mappings, originals, a queued change, journal) and its new server "
      "anchor apply in one transaction: all of it, or, when one write fails, none of it.");
  done_id = enqueue_item (cache, "old");
  lia_cache_batch_map (good, mapping);
  lia_cache_batch_store_original (good, original);
  lia_cache_batch_enqueue (good, change);
  lia_cache_batch_complete (good, done_id);
  lia_cache_batch_append_journal (good, entry);
  lia_cache_batch_set_setting (good, "seen", "1");
  lia_cache_batch_set_watermark (good, "anchor:contact", "A1");
  g_assert_cmpuint (lia_cache_batch_get_size (good), ==, 7);
  g_assert_true (lia_cache_apply (cache, good, &error));
  g_assert_no_error (error);
  anchor = lia_cache_dup_watermark (cache, "anchor:contact", &error);
  g_assert_cmpstr (anchor, ==, "A1");
  g_clear_pointer (&anchor, g_free);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 1);

  /* The second page fails at its last write (c1's CRM record again, as
   * another item): nothing of it lands, the anchor stays at A1. */
  lia_cache_batch_map (bad, mapping2);
  lia_cache_batch_store_original (bad, original2);
  lia_cache_batch_set_watermark (bad, "anchor:contact", "A2");
  lia_cache_batch_set_link_state (bad, "s", "c2", LIA_LINK_STATE_TRACKED, "crm-1");
  g_assert_false (lia_cache_apply (cache, bad, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
  g_clear_error (&error);
  anchor = lia_cache_dup_watermark (cache, "anchor:contact", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (anchor, ==, "A1");
  g_assert_null (lia_cache_lookup_item (cache, "s", "c2", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  {
    g_autoptr (LiaCacheOriginal) none = lia_cache_load_original (cache, "s", "c2", &error);

    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
    g_assert_null (none);
    g_clear_error (&error);
  }

  /* A batch that is invalid fails before any I/O. */
  {
    g_autoptr (LiaCacheBatch) invalid = lia_cache_batch_new ();
    g_autoptr (LiaCacheChange) no_ids = lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_UPDATE, "s",
                                                              NULL, LIA_ENTITY_CONTACT, NULL);

    lia_cache_batch_unmap (invalid, "s", "c1");
    lia_cache_batch_enqueue (invalid, no_ids);
    g_assert_false (lia_cache_apply (cache, invalid, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
    g_clear_error (&error);
  }
  {
    g_autoptr (LiaCacheMapping) still = lia_cache_lookup_item (cache, "s", "c1", &error);

    g_assert_no_error (error);
    g_assert_cmpstr (still->crm_id, ==, "crm-1");
  }
}

/* ---- failure paths ------------------------------------------------------ */

static void
test_error_garbage (void)
{
  g_autofree char *path = test_cache_path ("garbage");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCache) cache = NULL;
  g_autofree guint8 *junk = g_malloc (8192);

  g_test_summary (
      "A file of garbage is refused with a store error that names the file and says it is corrupt; "
      "the file is left exactly as it was (no silent reset).");
  for (guint i = 0; i < 8192; i++)
    junk[i] = (guint8) (i * 131 + 7);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, (const char *) junk, 8192, NULL));
  before = read_file_bytes (path);

  cache = lia_cache_open (path, NULL, NULL, &error);
  g_assert_null (cache);
  assert_store_error_names_file (error, path, "corrupt or not a database");
  after = read_file_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_error_damaged_page (void)
{
  g_autofree char *path = test_cache_path ("damaged");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *junk = NULL;
  gint64 page_size, root;
  guint64 count = 0;
  int fd;

  g_test_summary (
      "A valid cache with one damaged page (the change queue's root): open succeeds, reading the "
      "queue and the self-check fail with store errors naming the file; the cache never resets the "
      "file.");
  {
    g_autoptr (LiaCache) cache = open_cache (path, clock);
    g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
    g_autoptr (GBytes) payload = g_bytes_new_take (g_strnfill (300, 'p'), 300);

    for (guint i = 0; i < 2000; i++)
      {
        g_autoptr (LiaCacheChange) change = make_change ("item", LIA_CHANGE_OP_UPDATE);

        change->payload = g_bytes_ref (payload);
        lia_cache_batch_enqueue (batch, change);
      }
    g_assert_true (lia_cache_apply (cache, batch, &error));
    g_assert_no_error (error);
  }
  {
    sqlite3 *db = raw_open (path);

    page_size = raw_int (db, "PRAGMA page_size");
    root = raw_int (db, "SELECT rootpage FROM sqlite_schema WHERE name = 'change_queue'");
    sqlite3_close (db);
  }
  g_assert_cmpint (root, >, 1);
  junk = g_malloc (page_size);
  memset (junk, 0xab, page_size);
  fd = g_open (path, O_WRONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, junk, page_size, (root - 1) * page_size), ==, page_size);
  g_assert_true (g_close (fd, NULL));

  {
    g_autoptr (LiaCache) cache = lia_cache_open (path, clock, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (lia_cache_count_changes (cache, LIA_CACHE_CHANGES_ALL, &count, &error));
    assert_store_error_names_file (error, path, "corrupt");
    g_assert_cmpuint (count, ==, 0);
    g_clear_error (&error);
    g_assert_false (lia_cache_check (cache, &error));
    assert_store_error_names_file (error, path, "corrupt");
  }
}

static void
test_error_not_ours (void)
{
  g_autofree char *path = test_cache_path ("foreign");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCache) cache = NULL;
  sqlite3 *db;

  g_test_summary ("An SQLite database of another program is refused, not taken over: no table is added.");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  db = raw_open (path);
  raw_exec (db, "CREATE TABLE notes (body TEXT)");
  sqlite3_close (db);

  cache = lia_cache_open (path, NULL, NULL, &error);
  g_assert_null (cache);
  assert_store_error_names_file (error, path, "not a Liaison sync cache");
  db = raw_open (path);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM sqlite_schema"), ==, 1);
  sqlite3_close (db);
}

static void
test_error_newer_schema (void)
{
  g_autofree char *path = test_cache_path ("newer");
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCache) cache = NULL;
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  sqlite3 *db;

  g_test_summary ("A cache whose schema version is newer than this code knows is refused with \"written by a "
                  "newer Liaison\", naming the file, and left byte for byte as it was.");
  lia_cache_close (open_cache (path, NULL));
  db = raw_open (path);
  raw_exec (db, "PRAGMA user_version = 99");
  sqlite3_close (db);
  before = read_file_bytes (path);

  cache = lia_cache_open (path, NULL, NULL, &error);
  g_assert_null (cache);
  assert_store_error_names_file (error, path, "was written by a newer Liaison");
  g_assert_nonnull (strstr (error->message, "99"));
  after = read_file_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

/* Drops the capabilities that let root ignore file permissions, for this
 * thread. Returns FALSE when the kernel refuses. */
static gboolean
drop_dac_capabilities (void)
{
  struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  guint32 mask = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER);

  memset (data, 0, sizeof (data));
  if (syscall (SYS_capget, &header, data) != 0)
    return FALSE;
  data[0].effective &= ~mask;
  return syscall (SYS_capset, &header, data) == 0;
}

typedef struct
{
  const char *path;
  char *skip_reason; /* owned */
  GError *error;     /* owned */
  gboolean opened;
} ReadOnlyAttempt;

/* Capabilities belong to a thread, not to the process: this thread gives up
 * root's permission bypass and tries to open the cache; the test's main
 * thread keeps its own. */
static gpointer
read_only_attempt (gpointer data)
{
  ReadOnlyAttempt *attempt = data;
  LiaCache *cache;
  int fd;

  if (geteuid () == 0 && !drop_dac_capabilities ())
    {
      attempt->skip_reason = g_strdup_printf ("cannot drop CAP_DAC_OVERRIDE: %s", g_strerror (errno));
      return NULL;
    }
  fd = g_open (attempt->path, O_WRONLY, 0);
  if (fd >= 0)
    {
      g_close (fd, NULL);
      attempt->skip_reason = g_strdup ("a 0444 file is still writable here");
      return NULL;
    }
  cache = lia_cache_open (attempt->path, NULL, NULL, &attempt->error);
  attempt->opened = cache != NULL;
  lia_cache_close (cache);
  return NULL;
}

static void
test_error_read_only (void)
{
  g_autofree char *path = test_cache_path ("read-only");
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  ReadOnlyAttempt attempt = { .path = path };

  g_test_summary (
      "A cache file without write permission is refused at open with a store error that names the "
      "file and says it is read-only, and is left unchanged. As root (CI), the opening thread drops "
      "the capabilities that bypass file permissions, so chmod 0444 really applies.");
  lia_cache_close (open_cache (path, NULL));
  g_assert_cmpint (g_chmod (path, 0444), ==, 0);
  before = read_file_bytes (path);

  g_thread_join (g_thread_new ("read-only", read_only_attempt, &attempt));
  if (attempt.skip_reason != NULL)
    {
      g_test_skip (attempt.skip_reason);
      g_free (attempt.skip_reason);
      return;
    }
  g_assert_false (attempt.opened);
  assert_store_error_names_file (attempt.error, path, "read-only");
  g_clear_error (&attempt.error);
  after = read_file_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_error_locked_at_open (void)
{
  g_autofree char *path = test_cache_path ("locked");
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCache) cache = NULL;
  sqlite3 *other;
  gint64 start;

  g_test_summary (
      "A cache that another connection holds in an exclusive transaction is refused at open after "
      "the busy timeout (100 ms here), with a store error that names the file and says it is "
      "locked; once released it opens.");
  lia_cache_close (open_cache (path, NULL));
  other = raw_open (path);
  raw_exec (other, "BEGIN EXCLUSIVE");

  start = g_get_monotonic_time ();
  cache = open_cache_fast (path, NULL, &error);
  g_assert_null (cache);
  assert_store_error_names_file (error, path, "locked");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  raw_exec (other, "ROLLBACK");
  sqlite3_close (other);
  cache = open_cache_fast (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cache);
}

static void
test_error_busy_write (void)
{
  g_autofree char *path = test_cache_path ("busy");
  g_autoptr (LiaClock) clock = lia_clock_new_manual (T0);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCache) cache = open_cache_fast (path, clock, &error);
  g_autoptr (LiaCacheChange) change = make_change ("item", LIA_CHANGE_OP_UPDATE);
  sqlite3 *other;
  AckLog log;
  gint64 id = 0;

  g_test_summary ("SQLITE_BUSY during a write: while another connection holds the write lock, enqueues fail "
                  "(synchronous and asynchronous) with a store error naming the file, reads still work, and "
                  "the next enqueue after the lock is released succeeds; nothing half-written remains.");
  g_assert_no_error (error);
  ack_log_init (&log);
  enqueue (cache, change);
  other = raw_open (path);
  raw_exec (other, "BEGIN IMMEDIATE; INSERT INTO setting (key, value, updated_at) VALUES ('x', 'y', 0)");

  g_assert_false (lia_cache_enqueue (cache, change, &id, &error));
  assert_store_error_names_file (error, path, "locked");
  g_assert_cmpint (id, ==, 0);
  g_clear_error (&error);
  lia_cache_enqueue_async (cache, change, on_ack, &log);
  wait_acks (&log, NULL, 1);
  g_assert_cmpuint (log.n_errors, ==, 1);
  assert_store_error_names_file (log.first_error, path, "locked");
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 1);

  raw_exec (other, "ROLLBACK");
  sqlite3_close (other);
  enqueue (cache, change);
  g_assert_cmpuint (count_changes (cache, LIA_CACHE_CHANGES_ALL), ==, 2);
  g_assert_true (lia_cache_check (cache, &error));
  g_assert_no_error (error);
  ack_log_clear (&log);
}

static void
test_sqlite_errors (void)
{
  g_autoptr (GError) error = NULL;

  g_test_summary ("SQLite result codes become LIA_ERROR_STORE messages that name the file and explain the "
                  "code in words.");
  lia_sqlite_set_error (&error, NULL, SQLITE_BUSY, "/x/cache.db", "write to");
  g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
  g_assert_cmpstr (error->message, ==,
                   "Cannot write to \"/x/cache.db\": the file is locked by another process or connection "
                   "(database is locked)");
  g_clear_error (&error);
  lia_sqlite_set_error (&error, NULL, SQLITE_IOERR_FSYNC, "/x/cache.db", "write to");
  g_assert_nonnull (strstr (error->message, "an I/O error occurred"));
  g_assert_cmpstr (lia_sqlite_describe (SQLITE_NOTADB), ==, "the file is corrupt or not a database");
  g_assert_cmpstr (lia_sqlite_describe (SQLITE_FULL), ==, "the disk is full");
  g_assert_cmpstr (lia_sqlite_describe (SQLITE_READONLY_DBMOVED), ==, "the file is read-only");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  counting_vfs_install ();

  g_test_add_func ("/cache/open/create", test_open_create);
  g_test_add_func ("/cache/open/reopen", test_open_reopen);
  g_test_add_func ("/cache/names", test_names);
  g_test_add_func ("/cache/mapping/lookup", test_mapping_lookup);
  g_test_add_func ("/cache/mapping/no-duplicates", test_mapping_no_duplicates);
  g_test_add_func ("/cache/mapping/invalid", test_mapping_invalid);
  g_test_add_func ("/cache/mapping/unmap", test_mapping_unmap);
  g_test_add_func ("/cache/mapping/list", test_mapping_list);
  g_test_add_func ("/cache/original", test_original);
  g_test_add_func ("/cache/watermark-setting", test_watermark_setting);
  g_test_add_func ("/cache/journal", test_journal);
  g_test_add_func ("/cache/queue/fields", test_queue_fields);
  g_test_add_func ("/cache/queue/invalid", test_queue_invalid);
  g_test_add_func ("/cache/queue/claim-order", test_queue_claim_order);
  g_test_add_func ("/cache/queue/claim-item-order", test_queue_claim_item_order);
  g_test_add_func ("/cache/queue/lease", test_queue_lease);
  g_test_add_func ("/cache/queue/complete", test_queue_complete);
  g_test_add_func ("/cache/queue/backoff-function", test_queue_backoff_function);
  g_test_add_func ("/cache/queue/fail", test_queue_fail);
  g_test_add_func ("/cache/queue/async", test_queue_async);
  g_test_add_func ("/cache/queue/async-thread-context", test_queue_async_thread_context);
  g_test_add_func ("/cache/queue/group-commit", test_queue_group_commit);
  g_test_add_func ("/cache/queue/concurrent", test_queue_concurrent);
  g_test_add_func ("/cache/queue/close-drains", test_queue_close_drains);
  g_test_add_func ("/cache/batch", test_batch);
  g_test_add_func ("/cache/error/garbage", test_error_garbage);
  g_test_add_func ("/cache/error/damaged-page", test_error_damaged_page);
  g_test_add_func ("/cache/error/not-ours", test_error_not_ours);
  g_test_add_func ("/cache/error/newer-schema", test_error_newer_schema);
  g_test_add_func ("/cache/error/read-only", test_error_read_only);
  g_test_add_func ("/cache/error/locked-at-open", test_error_locked_at_open);
  g_test_add_func ("/cache/error/busy-write", test_error_busy_write);
  g_test_add_func ("/cache/error/sqlite-messages", test_sqlite_errors);
  return g_test_run ();
}
