/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liaison/liaison.h>

/* R-DET-QUEUE-DURABLE under SIGKILL. The test re-executes its own binary as
 * a child ("--child PATH") that enqueues changes as fast as it can, from
 * three threads calling the synchronous enqueue and from its main thread
 * through the asynchronous one, and writes each id to stdout only after the
 * cache said the change is durable. The parent kills the child with SIGKILL
 * in the middle of that stream, reopens the file and requires every
 * reported id to be there and the file to pass the integrity check. */

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

#define N_SYNC_THREADS 3
#define ASYNC_IN_FLIGHT 256

/* ---- the child ------------------------------------------------------- */

static void
report_id (gint64 id)
{
  char line[32];
  int len = g_snprintf (line, sizeof (line), "%" G_GINT64_FORMAT "\n", id);

  /* One write() of a short line is atomic on a pipe, so lines of several
   * threads never interleave. Only a durable id is ever written. */
  if (write (STDOUT_FILENO, line, (size_t) len) != len)
    _exit (3);
}

static LiaCacheChange *
child_change (guint thread, guint64 i)
{
  g_autofree char *item = g_strdup_printf ("t%u-%" G_GUINT64_FORMAT, thread, i);
  g_autofree char *xml = g_strdup_printf ("<contact n=\"%" G_GUINT64_FORMAT "\"/>", i);
  LiaCacheChange *change = lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_UPDATE, "store", item,
                                                 LIA_ENTITY_CONTACT, NULL);

  change->payload = g_bytes_new (xml, strlen (xml));
  return change;
}

typedef struct
{
  LiaCache *cache;
  guint thread;
} ChildThread;

static gpointer
child_sync_thread (gpointer data)
{
  ChildThread *t = data;

  for (guint64 i = 0;; i++)
    {
      g_autoptr (LiaCacheChange) change = child_change (t->thread, i);
      g_autoptr (GError) error = NULL;
      gint64 id = 0;

      if (!lia_cache_enqueue (t->cache, change, &id, &error))
        {
          g_printerr ("child: enqueue failed: %s\n", error->message);
          _exit (4);
        }
      report_id (id);
    }
  return NULL;
}

static void
child_on_ack (gint64 id, const GError *error, gpointer user_data)
{
  guint *in_flight = user_data;

  if (error != NULL)
    {
      g_printerr ("child: async enqueue failed: %s\n", error->message);
      _exit (5);
    }
  report_id (id);
  (*in_flight)--;
}

static int
child_main (const char *path)
{
  g_autoptr (GError) error = NULL;
  LiaCache *cache = lia_cache_open (path, NULL, NULL, &error);
  ChildThread threads[N_SYNC_THREADS];
  guint in_flight = 0;

  if (cache == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  for (guint t = 0; t < N_SYNC_THREADS; t++)
    {
      threads[t] = (ChildThread){ .cache = cache, .thread = t };
      g_thread_unref (g_thread_new ("sync-enqueuer", child_sync_thread, &threads[t]));
    }
  /* The main thread keeps a window of asynchronous enqueues in flight, as
   * the host's main thread does with a burst of notifications. Runs until
   * killed. */
  for (guint64 i = 0;; i++)
    {
      g_autoptr (LiaCacheChange) change = child_change (N_SYNC_THREADS, i);

      in_flight++;
      lia_cache_enqueue_async (cache, change, child_on_ack, &in_flight);
      while (in_flight >= ASYNC_IN_FLIGHT)
        g_main_context_iteration (NULL, TRUE);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  return 0;
}

/* ---- the parent ------------------------------------------------------ */

/* Reads the child's ids until it has seen @kill_after of them, kills the
 * child, reads what it had written before dying, and reaps it. */
static GArray *
run_child_and_kill (const char *self, const char *path, guint kill_after)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GString) pending = g_string_new (NULL);
  const char *argv[] = { self, "--child", path, NULL };
  GPid pid = 0;
  int out_fd = -1;
  int status = 0;
  gboolean killed = FALSE;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);

  for (;;)
    {
      GPollFD pfd = { .fd = out_fd, .events = G_IO_IN | G_IO_HUP | G_IO_ERR };
      char buf[4096];
      gssize n;
      char *line_end;

      /* A child that stops talking for 30 s is stuck: fail, don't hang. */
      if (g_poll (&pfd, 1, 30000) == 0)
        {
          kill (pid, SIGKILL);
          g_error ("child produced no output for 30 s after %u ids", ids->len);
        }
      n = read (out_fd, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        break;
      g_string_append_len (pending, buf, n);
      while ((line_end = strchr (pending->str, '\n')) != NULL)
        {
          gint64 id = 0;

          *line_end = '\0';
          g_assert_true (g_ascii_string_to_signed (pending->str, 10, 1, G_MAXINT64, &id, NULL));
          g_array_append_val (ids, id);
          g_string_erase (pending, 0, line_end - pending->str + 1);
        }
      if (!killed && ids->len >= kill_after)
        {
          /* Mid-stream: the child is still enqueueing from four threads. */
          g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
          killed = TRUE;
        }
    }
  close (out_fd);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  /* Dying of our SIGKILL, not of its own failure, proves it was killed
   * while enqueueing. */
  g_assert_true (killed);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  /* The last line is always complete: lines are written whole. */
  g_assert_cmpuint (pending->len, ==, 0);
  return g_steal_pointer (&ids);
}

static void
test_crash_kill_during_enqueue (void)
{
  g_autofree char *path = g_build_filename (g_get_user_cache_dir (), "liaison", "crash", "cache.db", NULL);
  g_autofree char *self = NULL;
  g_autoptr (GError) error = NULL;
  /* Where each round kills: early, late, and in between. */
  static const guint kill_after[] = { 300, 2500, 50, 1200, 5000 };
  g_autoptr (GArray) all_reported = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_test_summary (
      "R-DET-QUEUE-DURABLE: in five rounds a child enqueueing from four threads (sync and async) "
      "is killed with SIGKILL mid-stream; after each, every id any child reported as durable is in "
      "the reopened cache, no id was reported twice, and the file passes the integrity check.");
  self = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);

  for (guint round = 0; round < G_N_ELEMENTS (kill_after); round++)
    {
      g_autoptr (GArray) reported = run_child_and_kill (self, path, kill_after[round]);
      g_autoptr (GHashTable) present = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autoptr (LiaCache) cache = NULL;
      g_autoptr (GPtrArray) queued = NULL;

      g_assert_cmpuint (reported->len, >=, kill_after[round]);
      g_array_append_vals (all_reported, reported->data, reported->len);

      cache = lia_cache_open (path, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (cache);
      g_assert_true (lia_cache_check (cache, &error));
      g_assert_no_error (error);

      queued = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, 0, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < queued->len; i++)
        {
          LiaCacheChange *change = queued->pdata[i];

          g_hash_table_add (present, g_memdup2 (&change->id, sizeof (gint64)));
        }
      /* This round's ids and every earlier round's: nothing completes
       * changes here, so nothing may have dropped one. */
      for (guint i = 0; i < all_reported->len; i++)
        {
          gint64 *id = &g_array_index (all_reported, gint64, i);

          g_assert_true (g_hash_table_add (seen, id));
          if (!g_hash_table_contains (present, id))
            g_error ("round %u: change %" G_GINT64_FORMAT " was reported durable but is not in the cache",
                     round, *id);
        }
      g_test_message ("round %u: %u ids reported, %u changes in the cache", round, reported->len,
                      queued->len);
    }
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--child"))
    return child_main (argv[2]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/cache/crash/kill-during-enqueue", test_crash_kill_during_enqueue);
  return g_test_run ();
}
