/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "engine-fixture.h"
#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* The engine's figures against the targets: immediate-sync
 * latency, the scanner over a large folder, the initial sync of many CRM
 * contacts, and peak memory with 100,000 tracked items. Real parts: the
 * embedded org file, the cache file, the test host. */

#define N_INITIAL 10000
#define N_FOLDER 100000
#define N_CHANGED 100
#define N_TRACKS 200

static gint
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
percentile (GArray *samples, guint pct)
{
  g_array_sort (samples, cmp_i64);
  return g_array_index (samples, gint64, MIN (samples->len - 1, samples->len * pct / 100));
}

static glong
peak_rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmHWM:");
  return line != NULL ? strtol (line + 6, NULL, 10) : -1;
}

static void
bench_initial_sync (Ef *ef)
{
  gint64 t0;
  double ms;

  for (guint i = 0; i < N_INITIAL; i++)
    {
      g_autofree char *given = g_strdup_printf ("Given%05u", i);
      g_autofree char *id = ef_crm_contact (ef, ef->alice, given, "Bench");

      g_assert_nonnull (id);
    }
  t0 = g_get_monotonic_time ();
  ef_sync (&ef->a);
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, N_INITIAL);
  printf ("initial sync: %u CRM contacts into the test host in %.0f ms (target <= 2000 ms, ratio %.2f)\n",
          N_INITIAL, ms, ms / 2000.0);
}

static void
bench_immediate (Ef *ef)
{
  g_autoptr (GArray) ret = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) linked = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < N_TRACKS; i++)
    {
      g_autoptr (LiaCrmRecord) c = ef_contact ("Track", "Latency");
      g_autofree char *item = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts",
                                                         lia_crm_record_get_item (c), FALSE);
      LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
      g_autoptr (GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      gint64 t1;
      gint64 dt;

      cmd.store = LIA_TEST_STORE;
      cmd.folder = "contacts";
      cmd.item_id = item;
      cmd.entity = LIA_ENTITY_CONTACT;
      g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
      t1 = g_get_monotonic_time ();
      dt = t1 - t0;
      g_array_append_val (ret, dt);
      for (;;)
        {
          g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item);

          if (hi->props.link_state == LIA_LINK_STATE_TRACKED)
            break;
          g_main_context_iteration (NULL, TRUE);
        }
      dt = g_get_monotonic_time () - t0;
      g_array_append_val (linked, dt);
    }
  printf ("immediate sync: Track returns to the host in p50 %.3f ms, p99 %.3f ms (target p99 <= 10 ms, "
          "ratio %.3f)\n",
          percentile (ret, 50) / 1000.0, percentile (ret, 99) / 1000.0, percentile (ret, 99) / 10000.0);
  printf ("immediate sync: Track to linked in CRM (state 2) p50 %.1f ms, p99 %.1f ms (ratio to 10 ms %.2f)\n",
          percentile (linked, 50) / 1000.0, percentile (linked, 99) / 1000.0,
          percentile (linked, 99) / 10000.0);
}

typedef struct
{
  const LiaHostLink *link; /* borrowed */
  LiaCache *cache;         /* borrowed */
  gint64 watermark;
  LiaScanStats stats;
  gint64 elapsed_us;
  gboolean done;
} ScanRun;

/* The scanner alone, on a worker as the engine runs it: its host calls are
 * answered by the main context, which the caller keeps turning. */
static gpointer
scan_thread (gpointer data)
{
  ScanRun *run = data;
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();

  g_assert_true (lia_scanner_scan_folder (run->link, run->cache, LIA_TEST_STORE, "contacts",
                                          LIA_ENTITY_CONTACT, run->watermark, TRUE, queued, &run->stats, NULL,
                                          &error));
  g_assert_no_error (error);
  run->elapsed_us = g_get_monotonic_time () - t0;
  g_atomic_int_set (&run->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* The scanner of a 100,000-item tracked folder with 100 changed since the
 * watermark. The folder is set up as a finished sync leaves it (items with
 * link properties, mappings and originals in the cache) without running
 * 100,000 creates through the org. */
static void
bench_scanner (Ef *ef)
{
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);
  LiaCache *cache = lia_engine_get_cache (engine);
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (LiaCrmRecord) c = ef_contact ("Scan", "Folder");
  g_autofree char *xml = lia_original_encode (lia_crm_record_get_item (c), NULL, NULL);
  g_autofree char *mark = NULL;
  gint64 t0;
  double ms;
  guint64 n_queued = 0;

  /* Settle: no cycle of the previous figure may still run. */
  ef_sync (&ef->a);
  lia_test_host_set_drop_notifications (ef->a.host, TRUE);
  for (guint i = 0; i < N_FOLDER; i++)
    {
      g_autofree char *crm_id = g_strdup_printf ("00000000-0000-4000-8000-%012u", i);
      g_auto (LiaHostProps) props = { 0 };
      g_autofree char *item = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "contacts",
                                                         lia_crm_record_get_item (c), FALSE);
      g_autoptr (LiaCacheMapping) m =
          lia_cache_mapping_new (LIA_TEST_STORE, "contacts", item, LIA_ENTITY_CONTACT, crm_id,
                                 LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
      g_autoptr (LiaCacheOriginal) orig = lia_cache_original_new (LIA_TEST_STORE, item, xml);

      lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, crm_id);
      lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, xml);
      g_assert_true (lia_test_host_user_set_props (ef->a.host, item, &props));
      lia_cache_batch_map (batch, m);
      lia_cache_batch_store_original (batch, orig);
      if (lia_cache_batch_get_size (batch) >= 20000)
        {
          g_assert_true (lia_cache_apply (cache, batch, NULL));
          g_clear_pointer (&batch, lia_cache_batch_free);
          batch = lia_cache_batch_new ();
        }
      g_ptr_array_add (ids, g_steal_pointer (&item));
    }
  lia_clock_advance (ef->clock, EF_MINUTE);
  mark = g_strdup_printf ("%" G_GINT64_FORMAT, lia_clock_now (ef->clock));
  lia_cache_batch_set_watermark (batch, "folder:" LIA_TEST_STORE "/contacts", mark);
  g_assert_true (lia_cache_apply (cache, batch, NULL));
  lia_clock_advance (ef->clock, EF_MINUTE);
  for (guint i = 0; i < N_CHANGED; i++)
    g_assert_true (
        lia_test_host_user_edit (ef->a.host, ids->pdata[i * (N_FOLDER / N_CHANGED)], "nickname", "x"));
  {
    ScanRun run = { lia_engine_get_host_link (engine), cache, 0 };
    g_autoptr (GThread) thread = NULL;

    g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &run.watermark, NULL);
    thread = g_thread_new ("bench-scan", scan_thread, &run);
    while (!g_atomic_int_get (&run.done))
      g_main_context_iteration (NULL, TRUE);
    g_thread_join (g_steal_pointer (&thread));
    g_assert_cmpuint (run.stats.queued, ==, N_CHANGED);
    printf ("scanner alone: %u-item folder, %u changed since the watermark, %u rows read, %u queued in "
            "%.1f ms (target <= 50 ms, ratio %.2f)\n",
            N_FOLDER, N_CHANGED, run.stats.rows_read, run.stats.queued, run.elapsed_us / 1000.0,
            run.elapsed_us / 1000.0 / 50.0);
  }
  /* The scan is the first step of a cycle: time a cycle whose upload and
   * download find the org unreachable, so only the scan does work (the
   * changes queued above are not queued again). */
  switch_crm_set_down (ef->a.crm, TRUE);
  t0 = g_get_monotonic_time ();
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (ef_try_sync (&ef->a, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  }
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  switch_crm_set_down (ef->a.crm, FALSE);
  g_assert_true (lia_cache_count_changes (cache, LIA_CACHE_CHANGES_ALL, &n_queued, NULL));
  g_assert_cmpuint (n_queued, ==, N_CHANGED);
  printf ("scanner in a cycle: %u-item folder, %u changed since the watermark, %" G_GUINT64_FORMAT
          " queued in %.1f ms (target <= 50 ms, ratio %.2f)\n",
          N_FOLDER, N_CHANGED, n_queued, ms, ms / 50.0);
  printf ("memory: peak RSS with %u tracked items in the host, cache and engine: %.1f MB (target <= 200 MB, "
          "ratio %.2f)\n",
          N_FOLDER + N_INITIAL + N_TRACKS, peak_rss_kb () / 1024.0, peak_rss_kb () / 1024.0 / 200.0);
}

static void
bench_all (void)
{
  Ef ef = { 0 };

  ef_setup (&ef, NULL);
  bench_initial_sync (&ef);
  bench_immediate (&ef);
  bench_scanner (&ef);
  ef_teardown (&ef, NULL);
}

int
main (int argc, char **argv)
{
  /* A test case only for its isolated XDG directories. */
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/bench/engine", bench_all);
  return g_test_run ();
}
