/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-scheduler.h"

#define PUSH_WAIT_MS 30000
#define BACKOFF_MIN_S 30
#define BACKOFF_MAX_S (15 * 60)

struct _LiaScheduler
{
  gatomicrefcount ref;
  LiaEngine *engine; /* owned ref */
  guint requested_s; /* the user's interval */
  guint interval_id; /* owned source */
  guint retry_id;    /* owned source */
  guint backoff_s;
  gboolean offline;
  gboolean stopped;
  gboolean push_running;
  gboolean automatic;               /* FALSE: no background interval */
  const LiaSchedulerTimers *timers; /* borrowed */
  gpointer timers_data;             /* borrowed */
  GCancellable *cancellable;        /* owned: stops the push wait */
  GNetworkMonitor *monitor;         /* borrowed singleton, ref held */
  gulong network_handler;
};

static guint
main_context_add (guint delay_s, GSourceFunc func, gpointer data, GDestroyNotify notify, gpointer timers_data)
{
  return g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, delay_s, func, data, notify);
}

static void
main_context_remove (guint id, gpointer timers_data)
{
  g_source_remove (id);
}

static const LiaSchedulerTimers main_context_timers = { main_context_add, main_context_remove };

static void
timer_clear (LiaScheduler *s, guint *id)
{
  guint old = *id;

  *id = 0;
  if (old != 0)
    s->timers->remove (old, s->timers_data);
}

static LiaScheduler *
sched_ref (LiaScheduler *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
sched_unref (LiaScheduler *s)
{
  if (!g_atomic_ref_count_dec (&s->ref))
    return;
  g_object_unref (s->cancellable);
  lia_engine_unref (s->engine);
  g_free (s);
}

guint
lia_scheduler_get_interval_s (LiaScheduler *scheduler)
{
  guint min = lia_engine_get_min_interval_s (scheduler->engine);

  /* R-SET-INTERVAL: the org sets the minimum. */
  return MAX (scheduler->requested_s, min);
}

guint
lia_scheduler_get_backoff_s (LiaScheduler *scheduler)
{
  return scheduler->offline ? scheduler->backoff_s : 0;
}

static gboolean
on_interval (gpointer data)
{
  LiaScheduler *s = data;

  lia_engine_request_sync (s->engine);
  return G_SOURCE_CONTINUE;
}

static void
arm_interval (LiaScheduler *s)
{
  guint interval = lia_scheduler_get_interval_s (s);

  timer_clear (s, &s->interval_id);
  if (!s->automatic)
    return;
  s->interval_id =
      s->timers->add (interval, on_interval, sched_ref (s), (GDestroyNotify) sched_unref, s->timers_data);
}

static gboolean
on_retry (gpointer data)
{
  LiaScheduler *s = data;

  s->retry_id = 0;
  lia_engine_request_sync (s->engine);
  return G_SOURCE_REMOVE;
}

static void push_wait (LiaScheduler *s);

static void
push_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaScheduler *s = user_data;
  g_autoptr (GError) error = NULL;
  gboolean changed = lia_crm_wait_changes_finish (LIA_CRM (source), res, &error);

  s->push_running = FALSE;
  if (s->stopped)
    {
      sched_unref (s);
      return;
    }
  /* R-DET-PUSH: a server change starts a cycle at once. */
  if (changed)
    lia_engine_request_sync (s->engine);
  /* After a change the wait resumes when that cycle ends (IDLE in
   * lia_scheduler_status_changed()): until PrepareSync runs the org keeps
   * answering "changed" at once, and re-arming here spun a core against
   * the org's lock through every long cycle (a bulk track). */
  if (error == NULL && !changed)
    push_wait (s);
  /* On failure the push resumes with the next successful cycle. */
  sched_unref (s);
}

static void
push_wait (LiaScheduler *s)
{
  g_autofree char *sub = lia_engine_dup_subscription (s->engine);

  if (sub == NULL || s->push_running || s->stopped || s->offline)
    return;
  s->push_running = TRUE;
  lia_crm_wait_changes_async (lia_engine_get_crm (s->engine), sub, PUSH_WAIT_MS, s->cancellable, push_done,
                              sched_ref (s));
}

void
lia_scheduler_network_changed (LiaScheduler *s, gboolean available)
{
  g_return_if_fail (s != NULL);
  /* Network back: retry now instead of waiting out the backoff. */
  if (available && s->offline && !s->stopped)
    {
      timer_clear (s, &s->retry_id);
      lia_engine_request_sync (s->engine);
    }
}

static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, gpointer user_data)
{
  lia_scheduler_network_changed (user_data, available);
}

LiaScheduler *
lia_scheduler_new (LiaEngine *engine, guint interval_s)
{
  return lia_scheduler_new_full (engine, interval_s, TRUE, NULL, NULL);
}

LiaScheduler *
lia_scheduler_new_full (LiaEngine *engine, guint interval_s, gboolean automatic,
                        const LiaSchedulerTimers *timers, gpointer timers_data)
{
  LiaScheduler *s = g_new0 (LiaScheduler, 1);

  g_atomic_ref_count_init (&s->ref);
  s->engine = lia_engine_ref (engine);
  s->automatic = automatic;
  s->timers = timers != NULL ? timers : &main_context_timers;
  s->timers_data = timers_data;
  s->requested_s = interval_s > 0 ? interval_s : LIA_SCHEDULER_DEFAULT_INTERVAL_S;
  s->backoff_s = BACKOFF_MIN_S;
  s->cancellable = g_cancellable_new ();
  s->monitor = g_object_ref (g_network_monitor_get_default ());
  s->network_handler = g_signal_connect (s->monitor, "network-changed", G_CALLBACK (on_network_changed), s);
  arm_interval (s);
  return s;
}

void
lia_scheduler_free (LiaScheduler *scheduler)
{
  if (scheduler == NULL)
    return;
  scheduler->stopped = TRUE;
  g_cancellable_cancel (scheduler->cancellable);
  g_clear_signal_handler (&scheduler->network_handler, scheduler->monitor);
  g_clear_object (&scheduler->monitor);
  timer_clear (scheduler, &scheduler->interval_id);
  timer_clear (scheduler, &scheduler->retry_id);
  sched_unref (scheduler);
}

void
lia_scheduler_set_automatic (LiaScheduler *scheduler, gboolean automatic)
{
  g_return_if_fail (scheduler != NULL);
  scheduler->automatic = automatic;
  if (!scheduler->stopped)
    arm_interval (scheduler);
}

gboolean
lia_scheduler_get_automatic (LiaScheduler *scheduler)
{
  return scheduler->automatic;
}

void
lia_scheduler_set_interval_s (LiaScheduler *scheduler, guint interval_s)
{
  g_return_if_fail (scheduler != NULL);
  scheduler->requested_s = interval_s > 0 ? interval_s : LIA_SCHEDULER_DEFAULT_INTERVAL_S;
  if (!scheduler->stopped)
    arm_interval (scheduler);
}

/* R-SET-INTERVAL: the user's choice in the cache, once the engine read it,
 * wins over the host's configuration. */
static void
apply_engine_schedule (LiaScheduler *s)
{
  gint automatic = -1;
  guint interval_s = 0;

  lia_engine_get_schedule (s->engine, &automatic, &interval_s);
  if (automatic >= 0)
    s->automatic = automatic != 0;
  if (interval_s > 0)
    s->requested_s = interval_s;
}

void
lia_scheduler_status_changed (LiaScheduler *s, const LiaSyncStatus *status)
{
  if (s->stopped)
    return;
  apply_engine_schedule (s);
  if (status->state == LIA_SYNC_STATE_OFFLINE)
    {
      /* Offline: retry with a doubling delay, at most the interval. */
      if (s->offline)
        s->backoff_s = MIN (s->backoff_s * 2, MIN ((guint) BACKOFF_MAX_S, lia_scheduler_get_interval_s (s)));
      s->offline = TRUE;
      timer_clear (s, &s->retry_id);
      s->retry_id = s->timers->add (s->backoff_s, on_retry, sched_ref (s), (GDestroyNotify) sched_unref,
                                    s->timers_data);
      return;
    }
  if (status->state == LIA_SYNC_STATE_IDLE)
    {
      s->offline = FALSE;
      s->backoff_s = BACKOFF_MIN_S;
      /* The interval counts from the end of the last cycle, with the org
       * minimum as known now. */
      arm_interval (s);
      push_wait (s);
    }
}
