/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"

G_BEGIN_DECLS

/* The scheduler: when cycles run. The background interval (default 15
 * minutes, never below the org's minimum, R-SET-INTERVAL), push wake-ups
 * from the org's long poll (R-DET-PUSH), retries with backoff while
 * offline, and a retry as soon as the network comes back. Runs on the
 * host's main context; every timer holds only a weak reference. */

typedef struct _LiaScheduler LiaScheduler;

#define LIA_SCHEDULER_DEFAULT_INTERVAL_S (15 * 60)

/* Where the scheduler arms its timers. The default is the host's main
 * context (g_timeout_add_seconds_full()); tests pass a table of their own
 * and fire the timers by hand, so intervals of minutes are proven without
 * waiting for them. @add returns a non-zero id that @remove accepts; the
 * scheduler removes every timer it armed (or the timer fires and returns
 * G_SOURCE_REMOVE) before @notify may be forgotten. */
typedef struct
{
  guint (*add) (guint delay_s, GSourceFunc func, gpointer data, GDestroyNotify notify, gpointer timers_data);
  void (*remove) (guint id, gpointer timers_data);
} LiaSchedulerTimers;

LiaScheduler *lia_scheduler_new (LiaEngine *engine, guint interval_s);
/* @timers (nullable, borrowed, must outlive the scheduler): NULL for the
 * main context's timeouts. @automatic FALSE: no background timer, only
 * Synchronize Now, push and retries (R-SET-INTERVAL "automatic off"). */
LiaScheduler *lia_scheduler_new_full (LiaEngine *engine, guint interval_s, gboolean automatic,
                                      const LiaSchedulerTimers *timers, gpointer timers_data);
void lia_scheduler_free (LiaScheduler *scheduler);
/* R-SET-INTERVAL at run time: automatic synchronization on or off, and the
 * user's interval (0: the default); the timer is re-armed or removed at
 * once. The engine's schedule from the cache (lia_engine_get_schedule())
 * is applied again at every status change. */
void lia_scheduler_set_automatic (LiaScheduler *scheduler, gboolean automatic);
gboolean lia_scheduler_get_automatic (LiaScheduler *scheduler);
void lia_scheduler_set_interval_s (LiaScheduler *scheduler, guint interval_s);
/* Called by the plugin on every status change of the engine. */
void lia_scheduler_status_changed (LiaScheduler *scheduler, const LiaSyncStatus *status);
/* The interval in effect, in seconds, and the current offline delay. */
guint lia_scheduler_get_interval_s (LiaScheduler *scheduler);
guint lia_scheduler_get_backoff_s (LiaScheduler *scheduler);
/* What the GNetworkMonitor's "network-changed" signal calls; public so a
 * test can stand in for the monitor. */
void lia_scheduler_network_changed (LiaScheduler *scheduler, gboolean available);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaScheduler, lia_scheduler_free)

G_END_DECLS
