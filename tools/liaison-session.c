/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "liaison-session.h"

#include <stdio.h>
#include <unistd.h>

#include "lia-crm-embedded.h"
#include "lia-plugin-private.h"

struct _LiaSession
{
  int lock_fd;
  ESourceRegistry *registry; /* owned */
  LiaEvoHost *host;          /* owned */
  LiaClock *clock;           /* owned */
  LiaCrm *crm;               /* owned */
  LiaPlugin *plugin;         /* owned */
  gboolean progress;
  gboolean tty;
  LiaSyncState last_state;
  gboolean drew; /* a progress line is on screen, unterminated */
  LiaSyncStatusFunc status_func;
  gpointer status_data;
};

static void
got_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

static void
wait_for (GAsyncResult **res)
{
  while (*res == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static void
on_status (const LiaSyncStatus *status, gpointer user_data)
{
  LiaSession *self = user_data;

  if (self->status_func != NULL)
    self->status_func (status, self->status_data);
  if (!self->progress)
    return;
  if (self->tty)
    {
      /* A bar that fills with the items handled; its length is unknown in
       * advance, so it wraps (a spinner with a count). */
      char bar[21];
      guint n = status->progress_done % 21;

      for (guint i = 0; i < 20; i++)
        bar[i] = i < n ? '#' : '.';
      bar[20] = '\0';
      g_print ("\r[%s] %-11s %u items", bar, lia_sync_state_to_string (status->state), status->progress_done);
      self->drew = TRUE;
    }
  else if (status->state != self->last_state)
    g_print ("sync: %s (%u items)\n", lia_sync_state_to_string (status->state), status->progress_done);
  self->last_state = status->state;
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  LiaSession *self = user_data;

  if (self->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (self->plugin, n);
}

LiaSession *
lia_session_open (const LiaProfile *profile, const char *what, gboolean progress, GError **error)
{
  g_autoptr (LiaSession) self = g_new0 (LiaSession, 1);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GAsyncResult) watched = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autofree char *client = NULL;

  self->lock_fd = -1;
  self->progress = progress;
  self->tty = isatty (STDOUT_FILENO);
  self->last_state = LIA_SYNC_STATE_N;
  self->lock_fd = lia_profile_lock (profile, what, error);
  if (self->lock_fd < 0)
    return NULL;
  self->clock = lia_clock_new_system ();
  if (profile->embedded)
    self->crm = lia_crm_embedded_new (profile->org, profile->token, self->clock, error);
  else
    self->crm = lia_crm_http_new (profile->org, profile->token, error);
  if (self->crm == NULL)
    return NULL;
  self->registry = e_source_registry_new_sync (NULL, error);
  if (self->registry == NULL)
    return NULL;
  /* Async: connecting waits for a change ESource delivers on this
   * context, so a blocking open would wait for its own timeout. */
  lia_evo_host_new_async (self->registry, NULL, got_result, &res);
  wait_for (&res);
  self->host = lia_evo_host_new_finish (res, error);
  if (self->host == NULL)
    return NULL;
  lia_evo_host_watch_async (self->host, on_note, self, NULL, got_result, &watched);
  wait_for (&watched);
  if (!lia_evo_host_watch_finish (self->host, watched, error))
    return NULL;
  client = g_strdup_printf ("%s-evolution", profile->user);
  config.cache_path = profile->cache_path;
  config.crm = self->crm;
  config.org_name = profile->org;
  config.client_name = client;
  config.clock = self->clock;
  config.status_func = on_status;
  config.status_data = self;
  self->plugin = lia_plugin_internal_funcs ()->load (&config, lia_evo_host_get_vtable (), self->host, error);
  if (self->plugin == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

void
lia_session_free (LiaSession *self)
{
  if (self == NULL)
    return;
  if (self->host != NULL)
    lia_evo_host_unwatch (self->host);
  g_clear_pointer (&self->plugin, lia_plugin_internal_funcs ()->unload);
  /* Let the callbacks the unload scheduled run before the host goes. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&self->crm);
  g_clear_pointer (&self->host, lia_evo_host_free);
  g_clear_object (&self->registry);
  g_clear_pointer (&self->clock, lia_clock_unref);
  lia_profile_unlock (self->lock_fd);
  g_free (self);
}

LiaEngine *
lia_session_get_engine (LiaSession *self)
{
  return lia_plugin_get_engine (self->plugin);
}

LiaPlugin *
lia_session_get_plugin (LiaSession *self)
{
  return self->plugin;
}

void
lia_session_set_status_func (LiaSession *self, LiaSyncStatusFunc func, gpointer data)
{
  self->status_func = func;
  self->status_data = data;
}

LiaEvoHost *
lia_session_get_host (LiaSession *self)
{
  return self->host;
}

gboolean
lia_session_sync (LiaSession *self, GError **error)
{
  LiaEngine *engine = lia_session_get_engine (self);
  g_autoptr (GAsyncResult) res = NULL;
  gboolean ok;

  self->last_state = LIA_SYNC_STATE_N;
  lia_engine_sync_async (engine, NULL, got_result, &res);
  wait_for (&res);
  ok = lia_engine_sync_finish (engine, res, error);
  if (self->drew)
    g_print ("\n");
  self->drew = FALSE;
  return ok;
}

static guint64
queued (LiaSession *self)
{
  LiaCache *cache = lia_engine_get_cache (lia_session_get_engine (self));
  guint64 n = 0;

  if (cache != NULL)
    lia_cache_count_changes (cache, LIA_CACHE_CHANGES_ALL, &n, NULL);
  return n;
}

gboolean
lia_session_command (LiaSession *self, const LiaCommand *command, GError **error)
{
  guint64 before;
  gint64 until;

  /* The dispatcher queues into the cache, which the first cycle opens (also
   * when the org is offline: R-OFF-QUEUE). */
  if (lia_engine_get_cache (lia_session_get_engine (self)) == NULL && !lia_session_sync (self, error))
    return FALSE;
  before = queued (self);
  if (!lia_plugin_internal_funcs ()->command (self->plugin, command, error))
    return FALSE;
  /* The change is queued asynchronously; a cycle it starts may also have
   * taken it already, which the next sync joins. */
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (queued (self) <= before && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  return TRUE;
}

typedef struct
{
  GThreadFunc func;
  gpointer data;
  gpointer result;
  gboolean done; /* atomic */
} Work;

static gpointer
work_thread (gpointer user_data)
{
  Work *w = user_data;

  w->result = w->func (w->data);
  g_atomic_int_set (&w->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

gpointer
lia_session_run_in_thread (LiaSession *self, GThreadFunc func, gpointer data)
{
  Work w = { func, data, NULL, FALSE };
  GThread *thread = g_thread_new ("liaison-work", work_thread, &w);

  while (!g_atomic_int_get (&w.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  return w.result;
}
