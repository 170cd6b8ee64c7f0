/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* The engine's state machine, status and progress as the host sees
 * them (R-OFF-STATUS), and the journal. */

/*
 * The engine's states (STYLE 19). Changed only through set_state().
 *
 *              start-up ok
 *   STARTING -------------> SCANNING --> UPLOADING --> DOWNLOADING --> IDLE
 *      |                      ^   |          |              |           |
 *      | org unreachable      |   +----------+--------------+           |
 *      v                      |          | org unreachable              |
 *   OFFLINE <-----------------+----------+                              |
 *      |  retry (scheduler, network back, Sync Now)                     |
 *      +----------------------> SCANNING <------------------------------+
 *
 *   any state --stop--> STOPPED (final).  A failed or cancelled cycle that
 *   was not a network failure ends in IDLE with last_error set.
 *
 * Invariants:
 *   STARTING     no cycle has completed start-up: cache may be NULL.
 *   IDLE         cache open and subscribed; no cycle in flight.
 *   SCANNING,
 *   UPLOADING,
 *   DOWNLOADING  exactly one cycle in flight (running == TRUE), on a worker.
 *   OFFLINE      the last call to the org failed with LIA_ERROR_UNAVAILABLE;
 *                queued changes wait with backoff (R-IMM-FALLBACK).
 *   STOPPED      no callback reaches the host any more.
 */

/* Allowed transitions: bit (1 << to) in allowed[from]. */
#define S(x) (1u << LIA_SYNC_STATE_##x)
static const guint allowed[] = {
  [LIA_SYNC_STATE_STARTING] = S (SCANNING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_IDLE] = S (SCANNING) | S (STOPPED),
  [LIA_SYNC_STATE_SCANNING] = S (UPLOADING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_UPLOADING] = S (DOWNLOADING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_DOWNLOADING] = S (IDLE) | S (OFFLINE) | S (STOPPED),
  [LIA_SYNC_STATE_OFFLINE] = S (SCANNING) | S (STARTING) | S (STOPPED),
  [LIA_SYNC_STATE_STOPPED] = S (STOPPED),
};
#undef S
G_STATIC_ASSERT (G_N_ELEMENTS (allowed) == LIA_SYNC_STATE_N);

void
lia_engine_status_fill_locked (LiaEngine *self, LiaSyncStatus *out)
{
  guint64 queued = 0;
  guint64 failed = 0;

  /* Counting reads the cache: callers are the worker or get_status(),
   * which the host calls knowing it reads a SQLite file in WAL mode. */
  if (self->cache != NULL)
    {
      lia_cache_count_changes (self->cache, LIA_CACHE_CHANGES_ALL, &queued, NULL);
      lia_cache_count_changes (self->cache, LIA_CACHE_CHANGES_FAILED, &failed, NULL);
    }
  out->abi_version = LIA_PLUGIN_ABI_VERSION;
  out->state = self->state;
  out->online = self->online;
  out->queued = queued;
  out->failed = failed;
  out->cycles = self->cycles;
  out->last_sync_at = self->last_sync_at;
  out->last_error = g_strdup (self->last_error);
  out->progress_done = self->progress;
}

typedef struct
{
  LiaEngine *engine; /* owned ref */
  LiaSyncStatus status;
} StatusPost;

static gboolean
status_post_run (gpointer data)
{
  StatusPost *post = data;
  LiaEngine *self = post->engine;
  gboolean stopped;

  g_mutex_lock (&self->lock);
  stopped = self->stopped;
  g_mutex_unlock (&self->lock);
  if (!stopped && self->status_func != NULL)
    self->status_func (&post->status, self->status_data);
  return G_SOURCE_REMOVE;
}

static void
status_post_free (gpointer data)
{
  StatusPost *post = data;

  lia_sync_status_clear (&post->status);
  lia_engine_unref (post->engine);
  g_free (post);
}

/* Must hold the lock. */
void
lia_engine_status_changed_locked (LiaEngine *self)
{
  StatusPost *post;

  if (self->status_func == NULL || self->stopped)
    return;
  post = g_new0 (StatusPost, 1);
  post->engine = lia_engine_ref (self);
  lia_engine_status_fill_locked (self, &post->status);
  /* Always through a source, never inline: we hold the lock, and the
   * callback may call back into the engine. */
  {
    g_autoptr (GSource) source = g_idle_source_new ();

    g_source_set_priority (source, G_PRIORITY_DEFAULT);
    g_source_set_callback (source, status_post_run, post, status_post_free);
    g_source_set_static_name (source, "[liaison] status");
    g_source_attach (source, self->link.context);
  }
}

void
lia_engine_set_state (LiaEngine *self, LiaSyncState to)
{
  LiaSyncState from;

  g_mutex_lock (&self->lock);
  from = self->state;
  if (from == to || from == LIA_SYNC_STATE_STOPPED)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  g_assert (allowed[from] & (1u << to));
  g_debug ("engine: %s -> %s", lia_sync_state_to_string (from), lia_sync_state_to_string (to));
  self->state = to;
  lia_engine_status_changed_locked (self);
  g_mutex_unlock (&self->lock);
}

LiaSyncState
lia_engine_get_state (LiaEngine *self)
{
  LiaSyncState state;

  g_mutex_lock (&self->lock);
  state = self->state;
  g_mutex_unlock (&self->lock);
  return state;
}

void
lia_engine_get_status (LiaEngine *engine, LiaSyncStatus *out_status)
{
  g_return_if_fail (engine != NULL && out_status != NULL);
  g_mutex_lock (&engine->lock);
  lia_engine_status_fill_locked (engine, out_status);
  g_mutex_unlock (&engine->lock);
}

void
lia_engine_progress (Cycle *c)
{
  LiaEngine *self = c->engine;

  g_mutex_lock (&self->lock);
  self->progress++;
  g_mutex_unlock (&self->lock);
}

void
lia_engine_journal (Cycle *c, const char *kind, const char *item_id, const char *crm_id, const char *message)
{
  g_autoptr (LiaCacheJournalEntry) entry = lia_cache_journal_entry_new (kind, message);

  entry->store = g_strdup (c->engine->store);
  entry->item_id = g_strdup (item_id);
  entry->crm_id = g_strdup (crm_id);
  /* The journal is diagnostics: a failure to write it must not fail a sync. */
  lia_cache_append_journal (c->cache, entry, NULL, NULL);
}
