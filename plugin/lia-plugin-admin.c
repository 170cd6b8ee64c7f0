/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-plugin-admin.h"

#include "lia-plugin-private.h"

/* What the user asks of the engine besides tracking: a cycle waited for,
 * the outbox, an item's link, the journal. These read and write the sync
 * cache on the calling thread (SQLite in WAL mode: reads do not wait for
 * the writer), so hosts call them for user commands only. */

static LiaCache *
ready_cache (LiaPlugin *plugin, GError **error)
{
  LiaCache *cache = lia_engine_get_cache (lia_plugin_get_engine (plugin));

  if (cache == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE,
                 "the sync engine is still starting; try again in a moment");
  return cache;
}

void
lia_plugin_admin_sync_async (LiaPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  lia_engine_sync_async (lia_plugin_get_engine (plugin), cancellable, callback, user_data);
}

gboolean
lia_plugin_admin_sync_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error)
{
  return lia_engine_sync_finish (lia_plugin_get_engine (plugin), result, error);
}

GPtrArray *
lia_plugin_admin_list_changes (LiaPlugin *plugin, GError **error)
{
  LiaCache *cache = ready_cache (plugin, error);

  return cache != NULL ? lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, 0, error) : NULL;
}

/* A change moves only while no cycle may hold a claim on it. */
static LiaCacheChange *
idle_change (LiaPlugin *plugin, gint64 id, LiaCache **out_cache, GError **error)
{
  g_auto (LiaSyncStatus) status = { 0 };
  LiaCache *cache = ready_cache (plugin, error);

  if (cache == NULL)
    return NULL;
  lia_engine_get_status (lia_plugin_get_engine (plugin), &status);
  if (status.state != LIA_SYNC_STATE_IDLE && status.state != LIA_SYNC_STATE_OFFLINE)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "a sync cycle is running (%s); try again when it is done",
                   lia_sync_state_to_string (status.state));
      return NULL;
    }
  *out_cache = cache;
  return lia_cache_lookup_change (cache, id, error);
}

gboolean
lia_plugin_admin_retry_change (LiaPlugin *plugin, gint64 id, GError **error)
{
  LiaCache *cache = NULL;
  g_autoptr (LiaCacheChange) change = idle_change (plugin, id, &cache, error);
  g_autoptr (LiaCacheChange) again = NULL;
  g_autoptr (LiaCacheBatch) batch = NULL;

  if (change == NULL)
    return FALSE;
  /* The same change again, due now, with its failures forgotten; the old
   * row completes in the same transaction. */
  again = lia_cache_change_copy (change);
  again->next_attempt_at = 0;
  again->attempts = 0;
  g_clear_pointer (&again->last_error, g_free);
  batch = lia_cache_batch_new ();
  lia_cache_batch_complete (batch, id);
  lia_cache_batch_enqueue (batch, again);
  if (!lia_cache_apply (cache, batch, error))
    return FALSE;
  lia_engine_request_sync (lia_plugin_get_engine (plugin));
  return TRUE;
}

gboolean
lia_plugin_admin_drop_change (LiaPlugin *plugin, gint64 id, GError **error)
{
  LiaCache *cache = NULL;
  g_autoptr (LiaCacheChange) change = idle_change (plugin, id, &cache, error);
  g_autoptr (LiaCacheBatch) batch = NULL;

  if (change == NULL)
    return FALSE;
  batch = lia_cache_batch_new ();
  lia_cache_batch_complete (batch, id);
  return lia_cache_apply (cache, batch, error);
}

LiaCacheMapping *
lia_plugin_admin_lookup_item (LiaPlugin *plugin, const char *store, const char *item_id, GError **error)
{
  LiaCache *cache = ready_cache (plugin, error);

  if (cache == NULL)
    return NULL;
  if (store == NULL || item_id == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "no store or item id given");
      return NULL;
    }
  {
    g_autoptr (GError) local = NULL;
    LiaCacheMapping *m = lia_cache_lookup_item (cache, store, item_id, &local);

    /* No mapping is an answer (untracked), not a failure. */
    if (m == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
      g_propagate_error (error, g_steal_pointer (&local));
    return m;
  }
}

GPtrArray *
lia_plugin_admin_list_journal (LiaPlugin *plugin, guint limit, GError **error)
{
  LiaCache *cache = ready_cache (plugin, error);

  return cache != NULL ? lia_cache_list_journal (cache, limit, error) : NULL;
}

/* ---- the Set Regarding picker's search ---- */

typedef struct
{
  LiaCrm *crm;
  char *text;
  guint limit;
} Search;

static void
search_free (Search *search)
{
  g_clear_object (&search->crm);
  g_free (search->text);
  g_free (search);
}

static void
search_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Search *search = data;
  GError *error = NULL;
  GPtrArray *matches = lia_crm_search_sync (search->crm, search->text, search->limit, cancellable, &error);

  if (matches == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, matches, (GDestroyNotify) g_ptr_array_unref);
}

void
lia_plugin_admin_search_async (LiaPlugin *plugin, const char *text, guint limit, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  LiaCrm *crm = lia_engine_get_crm (lia_plugin_get_engine (plugin));
  Search *search;

  g_task_set_source_tag (task, lia_plugin_admin_search_async);
  g_task_set_name (task, "[liaison] org search");
  if (text == NULL || limit == 0 || limit > 100)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_INVALID,
                               "a search needs a text and a limit of 1 to 100");
      return;
    }
  if (crm == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the org is not connected yet");
      return;
    }
  search = g_new0 (Search, 1);
  search->crm = g_object_ref (crm);
  search->text = g_strdup (text);
  search->limit = limit;
  g_task_set_task_data (task, search, (GDestroyNotify) search_free);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
lia_plugin_admin_search_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
