/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-plugin-admin.h"

#include "lia-plugin-private.h"

/* What the user asks of the engine besides tracking: a cycle waited for,
 * the outbox, an item's link, the journal, what the org decides. These
 * read and write the sync cache on the calling thread (SQLite in WAL mode:
 * reads do not wait for the writer), so hosts call them for user commands
 * only, and may call them from any thread (lia-plugin.h, "Threads"): each
 * holds an engine reference, which keeps the cache open, for the call. */

/* (transfer full): the engine with its cache open, in *out_engine. */
static LiaCache *
ready_cache (LiaPlugin *plugin, LiaEngine **out_engine, GError **error)
{
  g_autoptr (LiaEngine) engine = lia_plugin_ref_engine (plugin, error);
  LiaCache *cache = engine != NULL ? lia_engine_get_cache (engine) : NULL;

  if (engine != NULL && cache == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE,
                 "the sync engine is still starting; try again in a moment");
  if (cache != NULL)
    *out_engine = g_steal_pointer (&engine);
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
  g_autoptr (LiaEngine) engine = NULL;
  LiaCache *cache = ready_cache (plugin, &engine, error);

  return cache != NULL ? lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, 0, error) : NULL;
}

/* A change moves only while no cycle may hold a claim on it. */
static LiaCacheChange *
idle_change (LiaPlugin *plugin, gint64 id, LiaEngine **out_engine, LiaCache **out_cache, GError **error)
{
  g_auto (LiaSyncStatus) status = { 0 };
  LiaCache *cache = ready_cache (plugin, out_engine, error);

  if (cache == NULL)
    return NULL;
  lia_engine_get_status (*out_engine, &status);
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
  g_autoptr (LiaEngine) engine = NULL;
  LiaCache *cache = NULL;
  g_autoptr (LiaCacheChange) change = idle_change (plugin, id, &engine, &cache, error);
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
  lia_plugin_request_sync (plugin);
  return TRUE;
}

gboolean
lia_plugin_admin_drop_change (LiaPlugin *plugin, gint64 id, GError **error)
{
  g_autoptr (LiaEngine) engine = NULL;
  LiaCache *cache = NULL;
  g_autoptr (LiaCacheChange) change = idle_change (plugin, id, &engine, &cache, error);
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
  g_autoptr (LiaEngine) engine = NULL;
  LiaCache *cache = ready_cache (plugin, &engine, error);

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
  g_autoptr (LiaEngine) engine = NULL;
  LiaCache *cache = ready_cache (plugin, &engine, error);

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
  g_autoptr (LiaEngine) engine = lia_plugin_ref_engine (plugin, NULL);
  LiaCrm *crm = engine != NULL ? lia_engine_get_crm (engine) : NULL;
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

/* ---- what the org decides: the preferences page's read-only part ---- */

/* The org's field directions ("direction.ENTITY.FIELD") and the user's
 * field-level security ("access.ENTITY.FIELD" = "read" | "none") over the
 * registry's defaults, as lia_engine_load_policies() applies them to the
 * merge (R-MERGE-DIRECTION, R-MERGE-FLS); what the registry refuses is
 * ignored there, so here too. */
static void
add_fields (GVariantBuilder *fields, GHashTable *settings)
{
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaFieldPolicy) policy = NULL;
      const LiaFieldInfo *info;
      const char *entity = lia_entity_to_string ((LiaEntity) e);
      guint n = 0;

      info = lia_field_list ((LiaEntity) e, &n);
      if (!lia_entity_is_host_mapped ((LiaEntity) e) || e == LIA_ENTITY_EMAIL || info == NULL || n < 2)
        continue;
      policy = lia_field_policy_new ((LiaEntity) e);
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *dkey = g_strdup_printf ("direction.%s.%s", entity, info[i].name);
          g_autofree char *akey = g_strdup_printf ("access.%s.%s", entity, info[i].name);
          const char *dvalue = g_hash_table_lookup (settings, dkey);
          const char *avalue = g_hash_table_lookup (settings, akey);
          LiaDirection direction;

          if (dvalue != NULL && lia_direction_from_string (dvalue, &direction))
            lia_field_policy_set_direction (policy, info[i].name, direction, NULL);
          if (avalue != NULL)
            lia_field_policy_set_access (policy, info[i].name, g_str_equal (avalue, "read"), FALSE, NULL);
          g_variant_builder_add (fields, "(ssssubb)", entity, info[i].name,
                                 info[i].label != NULL ? info[i].label : info[i].name,
                                 info[i].crm_name != NULL ? info[i].crm_name : "",
                                 (guint32) lia_field_policy_get_direction (policy, info[i].name),
                                 lia_field_policy_can_read (policy, info[i].name),
                                 lia_field_policy_can_update (policy, info[i].name));
        }
    }
}

static void
org_info_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LiaCrm *crm = data;
  GError *error = NULL;
  g_autoptr (GHashTable) settings = lia_crm_get_settings_sync (crm, cancellable, &error);
  g_autoptr (GPtrArray) filters = NULL;
  GVariantBuilder info, list;
  const char *tagging;

  if (settings == NULL || (filters = lia_crm_list_filters_sync (crm, cancellable, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_builder_init (&info, G_VARIANT_TYPE_VARDICT);
  /* R-SET-TAGGING: "none" (or nothing) leaves it to the user. */
  tagging = g_hash_table_lookup (settings, "tagging-override");
  if (g_strcmp0 (tagging, "on") == 0 || g_strcmp0 (tagging, "off") == 0)
    g_variant_builder_add (&info, "{sv}", "tagging-override", g_variant_new_string (tagging));
  g_variant_builder_init (&list, G_VARIANT_TYPE ("a(sssbb)"));
  for (guint i = 0; i < filters->len; i++)
    {
      const LiaCrmFilter *f = g_ptr_array_index (filters, i);

      g_variant_builder_add (&list, "(sssbb)", lia_entity_to_string (f->entity),
                             f->name != NULL ? f->name : "", f->xml != NULL ? f->xml : "", f->system,
                             f->enabled);
    }
  g_variant_builder_add (&info, "{sv}", "filters", g_variant_builder_end (&list));
  g_variant_builder_init (&list, G_VARIANT_TYPE ("a(ssssubb)"));
  add_fields (&list, settings);
  g_variant_builder_add (&info, "{sv}", "fields", g_variant_builder_end (&list));
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_builder_end (&info)),
                         (GDestroyNotify) g_variant_unref);
}

void
lia_plugin_admin_org_info_async (LiaPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GError *error = NULL;
  g_autoptr (LiaEngine) engine = lia_plugin_ref_engine (plugin, &error);
  LiaCrm *crm = engine != NULL ? lia_engine_get_crm (engine) : NULL;

  g_task_set_source_tag (task, lia_plugin_admin_org_info_async);
  g_task_set_name (task, "[liaison] org information");
  if (engine == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (crm == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the org is not connected yet");
      return;
    }
  g_task_set_task_data (task, g_object_ref (crm), g_object_unref);
  g_task_run_in_thread (task, org_info_thread);
}

GVariant *
lia_plugin_admin_org_info_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
