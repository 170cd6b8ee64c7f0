/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sync cache throughput (issue 2, item 7): enqueue >= 100,000 changes/s and
 * >= 0.5 of raw SQLite, with every change durable (synchronous=FULL).
 *
 * Prints:
 *  - raw:     the baseline, raw SQLite inserting the same rows into the
 *             same table (same DDL, indexes and pragmas, same directory)
 *             with one prepared statement in one transaction;
 *  - async:   lia_cache_enqueue_async() from one thread with every change
 *             in flight, timed until the last callback ran (all durable);
 *  - sync:    lia_cache_enqueue() from several threads at once, each
 *             blocking until its change is durable (commits shared);
 *  - claim+complete: the engine's loop, claiming 1000 and completing them
 *             in one call, until the queue is empty;
 *  - burst:   what a burst of 1000 notifications costs on disk, in commits
 *             and fsyncs (counted by a VFS shim), against a single change;
 * and the ratios cache/raw. Each throughput is the best of three runs on a
 * fresh file: the machine is shared, and the best run is the one least
 * disturbed by other work.
 *
 * Usage: bench-cache [--n N] [--threads T] [--dir DIR]
 *   --n        changes per run (default 100000)
 *   --threads  threads calling the synchronous enqueue (default 16)
 *   --dir      where the files go (default: a new directory in $TMPDIR) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "cache-sync-counter.h"
#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

#define TARGET_PER_SECOND 100000.0
#define TARGET_RATIO 0.5
#define ROUNDS 3
#define PAYLOAD_SIZE 160

/* The cache's own INSERT, so the baseline does the same work per row. */
static const char raw_insert_sql[] =
    "INSERT INTO change_queue (direction, op, store, folder, item_id, entity, crm_id, payload, enqueued_at, "
    "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

static char *bench_dir;
static char payload[PAYLOAD_SIZE];

typedef struct
{
  double per_second;
  guint commits;
  guint syncs;
} Figure;

static void
die (const char *what, const GError *error)
{
  fprintf (stderr, "bench-cache: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static char *
fresh_path (const char *name)
{
  char *path = g_build_filename (bench_dir, name, NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  return path;
}

static void
remove_db (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
}

static void
raw_exec (sqlite3 *db, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      fprintf (stderr, "bench-cache: %s: %s\n", sql, message);
      exit (1);
    }
}

/* The baseline. Same pragmas as lia_cache_open() sets on its writer. */
static Figure
run_raw (guint n)
{
  g_autofree char *path = fresh_path ("raw.db");
  g_autoptr (sqlite3) db = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  Figure figure = { 0 };
  guint syncs_before;
  gint64 start, now = g_get_real_time ();
  char item[32];

  if (sqlite3_open (path, &db) != SQLITE_OK)
    die ("open raw.db", NULL);
  raw_exec (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                "PRAGMA journal_size_limit = 4194304;");
  raw_exec (db, lia_cache_schema_change_queue_sql ());
  if (sqlite3_prepare_v3 (db, raw_insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    die ("prepare", NULL);

  syncs_before = counting_vfs_get_syncs ();
  start = g_get_monotonic_time ();
  raw_exec (db, "BEGIN IMMEDIATE");
  for (guint i = 0; i < n; i++)
    {
      g_snprintf (item, sizeof (item), "item-%u", i);
      sqlite3_bind_int (stmt, 1, LIA_DIRECTION_TO_CRM);
      sqlite3_bind_int (stmt, 2, LIA_CHANGE_OP_UPDATE);
      sqlite3_bind_text (stmt, 3, "store", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, "contacts", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, item, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 6, LIA_ENTITY_CONTACT);
      sqlite3_bind_null (stmt, 7);
      sqlite3_bind_blob (stmt, 8, payload, sizeof (payload), SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 9, now);
      sqlite3_bind_int64 (stmt, 10, now);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        die ("insert", NULL);
      sqlite3_reset (stmt);
    }
  raw_exec (db, "COMMIT");
  figure.per_second = n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  figure.commits = 1;
  figure.syncs = counting_vfs_get_syncs () - syncs_before;
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_clear_pointer (&db, sqlite3_close_v2);
  remove_db (path);
  return figure;
}

static LiaCache *
open_cache (const char *path)
{
  g_autoptr (GError) error = NULL;
  LiaCache *cache = lia_cache_open (path, NULL, NULL, &error);

  if (cache == NULL)
    die ("open", error);
  return cache;
}

static LiaCacheChange *
bench_change (void)
{
  LiaCacheChange *change = lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_UPDATE, "store", "item",
                                                 LIA_ENTITY_CONTACT, NULL);

  change->folder = g_strdup ("contacts");
  change->payload = g_bytes_new_static (payload, sizeof (payload));
  return change;
}

static void
set_item (LiaCacheChange *change, guint i)
{
  g_free (change->item_id);
  change->item_id = g_strdup_printf ("item-%u", i);
}

static void
count_ack (gint64 id, const GError *error, gpointer user_data)
{
  guint *acked = user_data;

  if (error != NULL)
    die ("enqueue", error);
  (*acked)++;
}

/* Hands n changes over without waiting and returns once the last one is
 * acknowledged, i.e. durable. */
static void
enqueue_async_all (LiaCache *cache, guint first, guint n)
{
  g_autoptr (LiaCacheChange) change = bench_change ();
  guint acked = 0;

  for (guint i = 0; i < n; i++)
    {
      set_item (change, first + i);
      lia_cache_enqueue_async (cache, change, count_ack, &acked);
      /* Dispatch acknowledgements as the host's main loop would. */
      if (i % 4096 == 4095)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  while (acked < n)
    g_main_context_iteration (NULL, TRUE);
}

static Figure
run_async (guint n, const char *path)
{
  LiaCache *cache = open_cache (path);
  Figure figure = { 0 };
  guint64 commits_before = lia_cache_get_commit_count (cache);
  guint syncs_before = counting_vfs_get_syncs ();
  gint64 start = g_get_monotonic_time ();

  enqueue_async_all (cache, 0, n);
  figure.per_second = n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  figure.commits = (guint) (lia_cache_get_commit_count (cache) - commits_before);
  figure.syncs = counting_vfs_get_syncs () - syncs_before;
  lia_cache_close (cache);
  return figure;
}

typedef struct
{
  LiaCache *cache;
  guint first;
  guint n;
} SyncWork;

static gpointer
sync_worker (gpointer data)
{
  SyncWork *work = data;
  g_autoptr (LiaCacheChange) change = bench_change ();

  for (guint i = 0; i < work->n; i++)
    {
      g_autoptr (GError) error = NULL;

      set_item (change, work->first + i);
      if (!lia_cache_enqueue (work->cache, change, NULL, &error))
        die ("enqueue", error);
    }
  return NULL;
}

static Figure
run_sync (guint n, guint n_threads)
{
  g_autofree char *path = fresh_path ("sync.db");
  LiaCache *cache = open_cache (path);
  g_autofree SyncWork *work = g_new0 (SyncWork, n_threads);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  Figure figure = { 0 };
  guint64 commits_before = lia_cache_get_commit_count (cache);
  guint syncs_before = counting_vfs_get_syncs ();
  gint64 start = g_get_monotonic_time ();

  for (guint t = 0; t < n_threads; t++)
    {
      work[t] = (SyncWork){ .cache = cache, .first = t * (n / n_threads), .n = n / n_threads };
      threads[t] = g_thread_new ("bench-sync", sync_worker, &work[t]);
    }
  for (guint t = 0; t < n_threads; t++)
    g_thread_join (threads[t]);
  figure.per_second =
      (n / n_threads) * n_threads / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  figure.commits = (guint) (lia_cache_get_commit_count (cache) - commits_before);
  figure.syncs = counting_vfs_get_syncs () - syncs_before;
  lia_cache_close (cache);
  remove_db (path);
  return figure;
}

/* Claims and completes every change of the cache at @path, 1000 at a time. */
static Figure
run_claim_complete (const char *path, guint n)
{
  LiaCache *cache = open_cache (path);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  Figure figure = { 0 };
  guint64 commits_before = lia_cache_get_commit_count (cache);
  guint syncs_before = counting_vfs_get_syncs ();
  guint64 remaining = 0;
  guint done = 0;
  gint64 start = g_get_monotonic_time ();

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) claimed =
          lia_cache_claim (cache, LIA_DIRECTION_BOTH, 1000, 60 * G_USEC_PER_SEC, &error);

      if (claimed == NULL)
        die ("claim", error);
      if (claimed->len == 0)
        break;
      g_array_set_size (ids, 0);
      for (guint i = 0; i < claimed->len; i++)
        g_array_append_val (ids, ((LiaCacheChange *) claimed->pdata[i])->id);
      if (!lia_cache_complete (cache, (const gint64 *) (gpointer) ids->data, ids->len, &error))
        die ("complete", error);
      done += claimed->len;
    }
  figure.per_second = done / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  figure.commits = (guint) (lia_cache_get_commit_count (cache) - commits_before);
  figure.syncs = counting_vfs_get_syncs () - syncs_before;
  if (done != n || !lia_cache_count_changes (cache, LIA_CACHE_CHANGES_ALL, &remaining, NULL)
      || remaining != 0)
    {
      fprintf (stderr, "bench-cache: claimed %u of %u, %" G_GUINT64_FORMAT " left\n", done, n, remaining);
      exit (1);
    }
  lia_cache_close (cache);
  return figure;
}

static void
keep_best (Figure *best, Figure figure)
{
  if (figure.per_second > best->per_second)
    *best = figure;
}

static void
print_machine (void)
{
  g_autofree char *cpuinfo = NULL;
  g_autofree char *model = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      char *line = strstr (cpuinfo, "model name");
      char *colon = line != NULL ? strchr (line, ':') : NULL;

      if (colon != NULL)
        model = g_strndup (colon + 2, strcspn (colon + 2, "\n"));
    }
  printf ("machine: %u CPUs, %s; SQLite %s; files in %s\n", g_get_num_processors (),
          model != NULL ? model : "unknown model", sqlite3_libversion (), bench_dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  gint n_arg = 100000;
  gint threads_arg = 16;
  GOptionEntry entries[] = {
    { "n", 0, 0, G_OPTION_ARG_INT, &n_arg, "Changes per run (default 100000)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads_arg, "Threads calling the synchronous enqueue (default 16)",
      "T" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "Directory for the files (default: a new one in $TMPDIR)",
      "DIR" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- sync cache throughput");
  Figure raw = { 0 }, async = { 0 }, sync = { 0 }, claim = { 0 };
  guint n, n_threads, n_sync;
  gboolean own_dir = FALSE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("options", error);
  if (n_arg < 1000 || threads_arg < 1)
    {
      fprintf (stderr, "bench-cache: --n must be at least 1000 and --threads at least 1\n");
      return 2;
    }
  n = (guint) n_arg;
  n_threads = (guint) threads_arg;
  /* Synchronous callers wait for an fsync each: a tenth of n keeps the run
   * short without changing the rate. */
  n_sync = MAX (n / 10, n_threads);

  counting_vfs_install ();
  if (dir != NULL)
    {
      bench_dir = g_strdup (dir);
      g_mkdir_with_parents (bench_dir, 0700);
    }
  else
    {
      bench_dir = g_dir_make_tmp ("bench-cache-XXXXXX", &error);
      if (bench_dir == NULL)
        die ("temporary directory", error);
      own_dir = TRUE;
    }
  for (guint i = 0; i < sizeof (payload); i++)
    payload[i] = (char) ('a' + i % 26);

  print_machine ();
  printf ("changes: %u per run, payload %d bytes, best of %d runs; synchronous=FULL, WAL\n", n, PAYLOAD_SIZE,
          ROUNDS);

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autofree char *path = fresh_path ("cache.db");

      keep_best (&raw, run_raw (n));
      keep_best (&async, run_async (n, path));
      keep_best (&claim, run_claim_complete (path, n));
      remove_db (path);
      keep_best (&sync, run_sync (n_sync, n_threads));
    }

  printf ("raw SQLite insert, 1 transaction:        %10.0f changes/s  (%u fsyncs)\n", raw.per_second,
          raw.syncs);
  printf ("cache enqueue_async, all in flight:      %10.0f changes/s  (%u commits, %u fsyncs, %.0f "
          "changes/commit)\n",
          async.per_second, async.commits, async.syncs, (double) n / MAX (async.commits, 1));
  printf ("cache enqueue (sync), %3u threads:       %10.0f changes/s  (%u commits, %u fsyncs, %.1f "
          "changes/commit)\n",
          n_threads, sync.per_second, sync.commits, sync.syncs,
          (double) (n_sync / n_threads * n_threads) / MAX (sync.commits, 1));
  printf ("cache claim 1000 + complete 1000:        %10.0f changes/s  (%u commits, %u fsyncs)\n",
          claim.per_second, claim.commits, claim.syncs);

  /* What a burst of notifications costs on disk, from an idle writer. */
  {
    g_autofree char *path = fresh_path ("burst.db");
    LiaCache *cache = open_cache (path);
    guint syncs_before;
    guint64 commits_before;
    guint one_syncs, burst_syncs;
    guint64 one_commits, burst_commits;

    enqueue_async_all (cache, 0, 10); /* warm up: statements compiled */
    syncs_before = counting_vfs_get_syncs ();
    commits_before = lia_cache_get_commit_count (cache);
    enqueue_async_all (cache, 10, 1);
    one_syncs = counting_vfs_get_syncs () - syncs_before;
    one_commits = lia_cache_get_commit_count (cache) - commits_before;
    syncs_before = counting_vfs_get_syncs ();
    commits_before = lia_cache_get_commit_count (cache);
    enqueue_async_all (cache, 11, 1000);
    burst_syncs = counting_vfs_get_syncs () - syncs_before;
    burst_commits = lia_cache_get_commit_count (cache) - commits_before;
    printf ("burst: 1 change = %" G_GUINT64_FORMAT " commit, %u fsyncs; 1000 changes = %" G_GUINT64_FORMAT
            " commits, %u fsyncs\n",
            one_commits, one_syncs, burst_commits, burst_syncs);
    lia_cache_close (cache);
    remove_db (path);
  }

  printf ("ratio async/raw:                         %10.2f  (target >= %.2f)\n",
          async.per_second / raw.per_second, TARGET_RATIO);
  printf ("ratio sync/raw:                          %10.2f\n", sync.per_second / raw.per_second);
  printf ("ratio claim+complete/raw:                %10.2f\n", claim.per_second / raw.per_second);
  printf ("ratio async/target (%.0f changes/s):    %10.2f\n", TARGET_PER_SECOND,
          async.per_second / TARGET_PER_SECOND);

  if (own_dir)
    g_rmdir (bench_dir);
  g_free (bench_dir);
  return 0;
}
