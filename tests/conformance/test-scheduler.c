/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-fixture.h"

/* The scheduler (R-SET-INTERVAL, offline backoff, network back) with its
 * timers handed to a table the test owns: each armed timer is recorded
 * with its delay and fired by hand, so a 15-minute interval is proven
 * without waiting 15 minutes. The engine under it is the real one, on the
 * embedded org. */

typedef struct
{
  guint id;
  guint delay_s;
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} FakeTimer;

typedef struct
{
  GArray *armed; /* owned: FakeTimer, the timers not yet removed */
  guint next_id;
} FakeTimers;

static guint
fake_add (guint delay_s, GSourceFunc func, gpointer data, GDestroyNotify notify, gpointer timers_data)
{
  FakeTimers *ft = timers_data;
  FakeTimer t = { ++ft->next_id, delay_s, func, data, notify };

  g_array_append_val (ft->armed, t);
  return t.id;
}

static void
fake_remove (guint id, gpointer timers_data)
{
  FakeTimers *ft = timers_data;

  for (guint i = 0; i < ft->armed->len; i++)
    if (g_array_index (ft->armed, FakeTimer, i).id == id)
      {
        FakeTimer t = g_array_index (ft->armed, FakeTimer, i);

        g_array_remove_index (ft->armed, i);
        t.notify (t.data);
        return;
      }
  g_assert_not_reached ();
}

static const LiaSchedulerTimers fake_timers = { fake_add, fake_remove };

static guint
armed_count (FakeTimers *ft)
{
  return ft->armed->len;
}

/* Fires the timer with @id as its main context would. */
static void
fake_fire (FakeTimers *ft, guint id)
{
  for (guint i = 0; i < ft->armed->len; i++)
    if (g_array_index (ft->armed, FakeTimer, i).id == id)
      {
        FakeTimer t = g_array_index (ft->armed, FakeTimer, i);

        if (t.func (t.data) == G_SOURCE_REMOVE)
          fake_remove (id, ft);
        return;
      }
  g_assert_not_reached ();
}

static void
status (LiaScheduler *s, LiaSyncState state)
{
  LiaSyncStatus st = { LIA_PLUGIN_ABI_VERSION, state };

  lia_scheduler_status_changed (s, &st);
}

static FakeTimers *
fake_timers_new (void)
{
  FakeTimers *ft = g_new0 (FakeTimers, 1);

  ft->armed = g_array_new (FALSE, TRUE, sizeof (FakeTimer));
  return ft;
}

static void
fake_timers_free (FakeTimers *ft)
{
  g_assert_cmpuint (ft->armed->len, ==, 0);
  g_array_unref (ft->armed);
  g_free (ft);
}

static void
test_default_interval (Ef *ef, gconstpointer data)
{
  FakeTimers *ft = fake_timers_new ();
  LiaScheduler *s;

  g_test_summary ("R-SET-INTERVAL: with no interval configured the background timer is 15 minutes, "
                  "armed at creation and re-armed at the end of each cycle");
  ef_sync (&ef->a);
  s = lia_scheduler_new_full (lia_plugin_get_engine (ef->a.plugin), 0, TRUE, &fake_timers, ft);
  g_assert_cmpuint (lia_scheduler_get_interval_s (s), ==, 15 * 60);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 15 * 60);
  status (s, LIA_SYNC_STATE_IDLE);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 15 * 60);
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static void
test_org_minimum (Ef *ef, gconstpointer data)
{
  FakeTimers *ft = fake_timers_new ();
  g_autofree char *root_token = NULL;
  g_autoptr (GError) error = NULL;
  LiaOrgCaller *root;
  LiaScheduler *s;

  g_test_summary ("R-SET-INTERVAL: a configured interval of 10 minutes under an org minimum of 30 "
                  "minutes runs every 30 minutes; one above the minimum is kept");
  g_assert_true (lia_org_service_add_user (ef->org, "root", "root@example.org", TRUE, &root_token, &error));
  root = lia_org_service_authenticate (ef->org, root_token, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_set_setting (ef->org, root, "sync-interval-min", "30", &error));
  g_assert_no_error (error);
  lia_org_caller_free (root);
  ef_sync (&ef->a);
  s = lia_scheduler_new_full (lia_plugin_get_engine (ef->a.plugin), 10 * 60, TRUE, &fake_timers, ft);
  g_assert_cmpuint (lia_scheduler_get_interval_s (s), ==, 30 * 60);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 30 * 60);
  lia_scheduler_free (s);
  s = lia_scheduler_new_full (lia_plugin_get_engine (ef->a.plugin), 45 * 60, TRUE, &fake_timers, ft);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 45 * 60);
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static void
test_automatic_off (Ef *ef, gconstpointer data)
{
  FakeTimers *ft = fake_timers_new ();
  LiaScheduler *s;

  g_test_summary ("R-SET-INTERVAL: with automatic synchronization off no background timer is armed, "
                  "neither at creation nor after a cycle");
  ef_sync (&ef->a);
  s = lia_scheduler_new_full (lia_plugin_get_engine (ef->a.plugin), 0, FALSE, &fake_timers, ft);
  g_assert_cmpuint (armed_count (ft), ==, 0);
  status (s, LIA_SYNC_STATE_IDLE);
  g_assert_cmpuint (armed_count (ft), ==, 0);
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static void
test_backoff (Ef *ef, gconstpointer data)
{
  static const guint expected[] = { 30, 60, 120, 240, 480, 900, 900 };
  FakeTimers *ft = fake_timers_new ();
  LiaScheduler *s;

  g_test_summary ("Offline: retries wait 30 s, 60 s, 120 s ... doubling up to the interval (15 minutes), "
                  "and a successful cycle resets the delay to 30 s");
  ef_sync (&ef->a);
  s = lia_scheduler_new_full (lia_plugin_get_engine (ef->a.plugin), 0, FALSE, &fake_timers, ft);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      status (s, LIA_SYNC_STATE_OFFLINE);
      g_assert_cmpuint (lia_scheduler_get_backoff_s (s), ==, expected[i]);
      /* One retry timer at a time, with the new delay. */
      g_assert_cmpuint (armed_count (ft), ==, 1);
      g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, expected[i]);
    }
  fake_fire (ft, g_array_index (ft->armed, FakeTimer, 0).id);
  g_assert_cmpuint (armed_count (ft), ==, 0);
  status (s, LIA_SYNC_STATE_IDLE);
  g_assert_cmpuint (lia_scheduler_get_backoff_s (s), ==, 0);
  status (s, LIA_SYNC_STATE_OFFLINE);
  g_assert_cmpuint (lia_scheduler_get_backoff_s (s), ==, 30);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 30);
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static void
test_network_back (Ef *ef, gconstpointer data)
{
  FakeTimers *ft = fake_timers_new ();
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);
  g_auto (LiaSyncStatus) before = { 0 };
  LiaScheduler *s;
  gint64 until;

  g_test_summary ("Offline with a retry armed minutes ahead, the network coming back (the GNetworkMonitor "
                  "signal, stood in for by lia_scheduler_network_changed) drops the wait and runs a cycle "
                  "at once");
  ef_sync (&ef->a);
  lia_engine_get_status (engine, &before);
  s = lia_scheduler_new_full (engine, 0, FALSE, &fake_timers, ft);
  for (guint i = 0; i < 4; i++)
    status (s, LIA_SYNC_STATE_OFFLINE);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 240);
  /* A network that goes away is no reason to retry. */
  lia_scheduler_network_changed (s, FALSE);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  lia_scheduler_network_changed (s, TRUE);
  g_assert_cmpuint (armed_count (ft), ==, 0);
  /* The cycle it requested runs now, not in 240 s. */
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;)
    {
      g_auto (LiaSyncStatus) now = { 0 };

      ef_iterate ();
      lia_engine_get_status (engine, &now);
      if (now.cycles > before.cycles && now.state == LIA_SYNC_STATE_IDLE)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_usleep (1000);
    }
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static void
test_toggle_timers (Ef *ef, gconstpointer data)
{
  FakeTimers *ft = fake_timers_new ();
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);
  LiaScheduler *s;

  g_test_summary ("R-SET-INTERVAL: automatic synchronization turned off at run time removes the "
                  "background timer at once, on again arms it; the interval changes the timer's delay; "
                  "the schedule the engine read from the cache applies at the end of the next cycle");
  ef_sync (&ef->a);
  s = lia_scheduler_new_full (engine, 0, TRUE, &fake_timers, ft);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  lia_scheduler_set_automatic (s, FALSE);
  g_assert_false (lia_scheduler_get_automatic (s));
  g_assert_cmpuint (armed_count (ft), ==, 0);
  lia_scheduler_set_automatic (s, TRUE);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  lia_scheduler_set_interval_s (s, 20 * 60);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 20 * 60);
  /* As the engine finds "off" and 40 minutes in the cache. */
  lia_engine_set_schedule (engine, 0, 40 * 60);
  status (s, LIA_SYNC_STATE_IDLE);
  g_assert_cmpuint (armed_count (ft), ==, 0);
  g_assert_cmpuint (lia_scheduler_get_interval_s (s), ==, 40 * 60);
  lia_engine_set_schedule (engine, 1, 0);
  status (s, LIA_SYNC_STATE_IDLE);
  g_assert_cmpuint (armed_count (ft), ==, 1);
  g_assert_cmpuint (g_array_index (ft->armed, FakeTimer, 0).delay_s, ==, 40 * 60);
  lia_scheduler_free (s);
  fake_timers_free (ft);
}

static gboolean
plugin_automatic (EfClient *client)
{
  return lia_scheduler_get_automatic (lia_plugin_get_scheduler (client->plugin));
}

static void
test_setting_runtime (Ef *ef, gconstpointer data)
{
  const LiaPluginFuncs *funcs = lia_plugin_internal_funcs ();
  g_autoptr (GError) error = NULL;
  g_autofree char *value = NULL;

  g_test_summary ("R-SET-INTERVAL: automatic synchronization and the interval are cache settings changed "
                  "through the plugin at run time: applied at once, kept across a restart, and a bad "
                  "value is refused with a clear error and changes nothing");
  ef_sync (&ef->a);
  g_assert_true (plugin_automatic (&ef->a));
  g_assert_false (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, "maybe", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (funcs->set_setting (ef->a.plugin, "Bad Key", "on", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  value = funcs->dup_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, &error);
  g_assert_no_error (error);
  g_assert_null (value);
  g_assert_true (plugin_automatic (&ef->a));

  g_assert_true (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, "off", &error));
  g_assert_no_error (error);
  g_assert_false (plugin_automatic (&ef->a));
  value = funcs->dup_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, &error);
  g_assert_cmpstr (value, ==, "off");
  g_clear_pointer (&value, g_free);
  g_assert_false (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_INTERVAL, "0", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_INTERVAL, "ten", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_INTERVAL, "20", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lia_scheduler_get_interval_s (lia_plugin_get_scheduler (ef->a.plugin)), ==, 20 * 60);
  /* A cycle does not bring back the host's default. */
  ef_sync (&ef->a);
  ef_iterate ();
  g_assert_false (plugin_automatic (&ef->a));

  /* Restart with the host's configuration saying "automatic": the user's
   * choice in the cache wins once read. */
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  ef_iterate ();
  g_assert_false (plugin_automatic (&ef->a));
  g_assert_cmpuint (lia_scheduler_get_interval_s (lia_plugin_get_scheduler (ef->a.plugin)), ==, 20 * 60);
  g_assert_true (funcs->set_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, "on", &error));
  g_assert_no_error (error);
  g_assert_true (plugin_automatic (&ef->a));
  ef_sync (&ef->a);
  ef_iterate ();
  g_assert_true (plugin_automatic (&ef->a));
}

static void
test_config_manual (Ef *ef, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-SET-INTERVAL: a host configures automatic synchronization off through "
                  "LiaPluginConfig.manual_sync: no background timer from load on, Synchronize Now still "
                  "works, and the user can turn it on");
  ef_client_stop (&ef->a);
  ef->a.manual = TRUE;
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  g_assert_false (plugin_automatic (&ef->a));
  ef_sync (&ef->a);
  ef_iterate ();
  g_assert_false (plugin_automatic (&ef->a));
  g_assert_true (
      lia_plugin_internal_funcs ()->set_setting (ef->a.plugin, LIA_SETTING_SYNC_AUTOMATIC, "on", &error));
  g_assert_no_error (error);
  g_assert_true (plugin_automatic (&ef->a));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/scheduler/R-SET-INTERVAL/default-15-minutes", test_default_interval);
  ADD ("/scheduler/R-SET-INTERVAL/org-minimum", test_org_minimum);
  ADD ("/scheduler/R-SET-INTERVAL/automatic-off-no-timer", test_automatic_off);
  ADD ("/scheduler/R-SET-INTERVAL/toggle-at-run-time", test_toggle_timers);
  ADD ("/scheduler/R-SET-INTERVAL/setting-in-cache", test_setting_runtime);
  ADD ("/scheduler/R-SET-INTERVAL/config-manual-sync", test_config_manual);
  ADD ("/scheduler/offline/backoff-doubles-and-resets", test_backoff);
  ADD ("/scheduler/offline/network-back-retries-now", test_network_back);
#undef ADD
  return g_test_run ();
}
