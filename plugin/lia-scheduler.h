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

LiaScheduler *lia_scheduler_new (LiaEngine *engine, guint interval_s);
void lia_scheduler_free (LiaScheduler *scheduler);
/* Called by the plugin on every status change of the engine. */
void lia_scheduler_status_changed (LiaScheduler *scheduler, const LiaSyncStatus *status);
/* The interval in effect, in seconds, and the current offline delay. */
guint lia_scheduler_get_interval_s (LiaScheduler *scheduler);
guint lia_scheduler_get_backoff_s (LiaScheduler *scheduler);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaScheduler, lia_scheduler_free)

G_END_DECLS
