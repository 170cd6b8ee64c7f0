/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-mail-correlate.h"
#include "lia-org-service-private.h"

/* The org service's lifecycle, its lock, the caches of compiled filters
 * and field-level security, the org settings and change notification. The
 * rest is split by concept, sharing lia-org-service-private.h: users
 * (-users.c), records (-records.c), search (-search.c), filters
 * (-filters.c) and email (-email.c). */

void
lia_org_caller_free (LiaOrgCaller *caller)
{
  if (caller == NULL)
    return;
  g_free (caller->user_id);
  g_free (caller->name);
  g_free (caller->role);
  g_free (caller);
}

LiaOrgService *
lia_org_service_open (const char *path, LiaClock *clock, GError **error)
{
  g_autoptr (LiaOrgStore) store = NULL;
  LiaOrgService *service;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  store = lia_org_store_open (path, error);
  if (store == NULL)
    return NULL;
  service = g_new0 (LiaOrgService, 1);
  service->ref_count = 1;
  g_mutex_init (&service->lock);
  g_cond_init (&service->changed);
  service->store = g_steal_pointer (&store);
  service->clock = clock != NULL ? lia_clock_ref (clock) : lia_clock_new_system ();
  service->filter_cache =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lia_org_filter_free);
  service->fls_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  service->watches = g_array_new (FALSE, FALSE, sizeof (LiaOrgWatch));
  service->next_watch = 1;
  return service;
}

LiaOrgService *
lia_org_service_ref (LiaOrgService *service)
{
  g_atomic_int_inc (&service->ref_count);
  return service;
}

void
lia_org_service_unref (LiaOrgService *service)
{
  if (service == NULL || !g_atomic_int_dec_and_test (&service->ref_count))
    return;
  lia_org_store_free (service->store);
  lia_clock_unref (service->clock);
  g_hash_table_unref (service->filter_cache);
  g_hash_table_unref (service->fls_cache);
  g_array_unref (service->watches);
  g_cond_clear (&service->changed);
  g_mutex_clear (&service->lock);
  g_free (service);
}

LiaClock *
lia_org_service_get_clock (LiaOrgService *service)
{
  return service->clock;
}

/* Ends a write: commit, or roll back everything on failure. */
gboolean
lia_org_service_finish_locked (LiaOrgService *service, gboolean ok, GError **error)
{
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  return lia_org_store_commit (service->store, error);
}

void
lia_org_set_forbidden (GError **error, const char *what)
{
  g_set_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN, "Not allowed: %s", what);
}

/* Caches ------------------------------------------------------------- */

static gboolean
refresh_caches_locked (LiaOrgService *service, gint64 *out_gen, GError **error)
{
  gint64 gen = 0;

  if (!lia_org_store_counter_get (service->store, "filter-gen", &gen, error))
    return FALSE;
  if (gen != service->cache_gen)
    {
      g_hash_table_remove_all (service->filter_cache);
      g_hash_table_remove_all (service->fls_cache);
      service->cache_gen = gen;
    }
  if (out_gen != NULL)
    *out_gen = gen;
  return TRUE;
}

const guint8 *
lia_org_service_fls_locked (LiaOrgService *service, const char *role, LiaEntity entity, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s/%d", role, (int) entity);
  guint8 *flags;
  g_autoptr (GHashTable) rows = NULL;
  const LiaFieldInfo *fields;
  guint n = 0;

  if (!refresh_caches_locked (service, NULL, error))
    return NULL;
  flags = g_hash_table_lookup (service->fls_cache, key);
  if (flags != NULL)
    return flags;
  rows = lia_org_store_fls_get (service->store, role, entity, error);
  if (rows == NULL)
    return NULL;
  fields = lia_field_list (entity, &n);
  flags = g_new0 (guint8, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      gpointer value;
      flags[i] = LIA_ORG_FLS_READ | LIA_ORG_FLS_UPDATE;
      if (g_hash_table_lookup_extended (rows, fields[i].name, NULL, &value))
        flags[i] = (guint8) GPOINTER_TO_INT (value);
    }
  g_hash_table_insert (service->fls_cache, g_steal_pointer (&key), flags);
  return flags;
}

/* The enabled system filters and the user's enabled filters for @entity,
 * compiled; borrowed from the cache. */
GPtrArray *
lia_org_service_filters_locked (LiaOrgService *service, const char *user_id, LiaEntity entity,
                                gint64 *out_gen, GError **error)
{
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) result = g_ptr_array_new ();
  gint64 gen = 0;

  if (!refresh_caches_locked (service, &gen, error))
    return NULL;
  rows = lia_org_store_filter_list (service->store, user_id, FALSE, error);
  if (rows == NULL)
    return NULL;
  for (guint i = 0; i < rows->len; i++)
    {
      LiaCrmFilter *row = rows->pdata[i];
      LiaOrgFilter *compiled;

      if (row->entity != entity || !row->enabled)
        continue;
      compiled = g_hash_table_lookup (service->filter_cache, row->id);
      if (compiled == NULL)
        {
          g_autoptr (GError) local = NULL;
          compiled = lia_org_filter_parse (row->xml, strlen (row->xml), &local);
          if (compiled == NULL)
            {
              /* Stored filters were validated on the way in; one that no
               * longer parses (a newer program wrote it) selects nothing. */
              g_debug ("skipping stored filter %s: %s", row->id, local->message);
              continue;
            }
          g_hash_table_insert (service->filter_cache, g_strdup (row->id), compiled);
        }
      g_ptr_array_add (result, compiled);
    }
  if (out_gen != NULL)
    *out_gen = gen;
  return g_steal_pointer (&result);
}

/* Settings ----------------------------------------------------------- */

static const struct
{
  const char *key;
  const char *dflt;
} setting_defaults[] = {
  { "sync-interval-min", "15" },
  { "two-activities", "false" },
  { "tagging-override", "none" },
  { "approved-users-only", "false" },
  { "tracking-token-prefix", "CRM:" },
  /* Email correlation (R-MAIL-CORRELATE-TOKEN, R-MAIL-CORRELATE-SMART). */
  { "tracking-token-digits", "7" },
  { "tracking-token-enabled", "true" },
  { "smart-matching-enabled", "true" },
  { "smart-matching-min-addresses", "2" },
};

GHashTable *
lia_org_service_settings_locked (LiaOrgService *service, GError **error)
{
  GHashTable *table = lia_org_store_setting_list (service->store, error);

  if (table == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (setting_defaults); i++)
    if (!g_hash_table_contains (table, setting_defaults[i].key))
      g_hash_table_insert (table, g_strdup (setting_defaults[i].key), g_strdup (setting_defaults[i].dflt));
  return table;
}

GHashTable *
lia_org_service_get_settings (LiaOrgService *service, GError **error)
{
  LOCK (service);
  return lia_org_service_settings_locked (service, error);
}

GHashTable *
lia_org_service_get_settings_for (LiaOrgService *service, const LiaOrgCaller *caller, GError **error)
{
  g_autoptr (GHashTable) table = NULL;
  LOCK (service);

  table = lia_org_service_settings_locked (service, error);
  if (table == NULL)
    return NULL;
  /* The caller's field-level security travels with the settings so a
   * client can keep unreadable fields off the host and never send a field
   * it may not update (R-MERGE-FLS); full access is the default and is
   * left out. */
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      const guint8 *fls;
      const LiaFieldInfo *fields;
      guint n = 0;

      if (!lia_entity_is_host_mapped ((LiaEntity) e))
        continue;
      fls = lia_org_service_fls_locked (service, caller->role, (LiaEntity) e, error);
      if (fls == NULL)
        return NULL;
      fields = lia_field_list ((LiaEntity) e, &n);
      for (guint i = 0; i < n; i++)
        {
          if ((fls[i] & (LIA_ORG_FLS_READ | LIA_ORG_FLS_UPDATE)) == (LIA_ORG_FLS_READ | LIA_ORG_FLS_UPDATE))
            continue;
          g_hash_table_insert (
              table, g_strdup_printf ("access.%s.%s", lia_entity_to_string ((LiaEntity) e), fields[i].name),
              g_strdup ((fls[i] & LIA_ORG_FLS_READ) != 0 ? "read" : "none"));
        }
    }
  return g_steal_pointer (&table);
}

static gboolean
is_bool (const char *value)
{
  return g_str_equal (value, "true") || g_str_equal (value, "false");
}

static gboolean
check_setting (const char *key, const char *value, GError **error)
{
  gint64 n = 0;

  if (g_str_equal (key, "sync-interval-min"))
    {
      if (g_ascii_string_to_signed (value, 10, 1, 1440, &n, NULL))
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "sync-interval-min is minutes, 1..1440");
      return FALSE;
    }
  if (g_str_equal (key, "tracking-token-digits"))
    {
      if (g_ascii_string_to_signed (value, 10, 1, LIA_MAIL_MAX_TOKEN_DIGITS, &n, NULL))
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "tracking-token-digits is 1..%u",
                   LIA_MAIL_MAX_TOKEN_DIGITS);
      return FALSE;
    }
  if (g_str_equal (key, "smart-matching-min-addresses"))
    {
      if (g_ascii_string_to_signed (value, 10, 1, 64, &n, NULL))
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "smart-matching-min-addresses is 1..64");
      return FALSE;
    }
  if (g_str_equal (key, "two-activities") || g_str_equal (key, "approved-users-only")
      || g_str_equal (key, "tracking-token-enabled") || g_str_equal (key, "smart-matching-enabled"))
    {
      if (is_bool (value))
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "%s is true or false", key);
      return FALSE;
    }
  if (g_str_equal (key, "tagging-override"))
    {
      if (g_str_equal (value, "none") || g_str_equal (value, "on") || g_str_equal (value, "off"))
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "tagging-override is none, on or off");
      return FALSE;
    }
  if (g_str_equal (key, "tracking-token-prefix"))
    {
      gsize len = strlen (value);
      gboolean ok = len >= 1 && len <= 16;
      for (const char *p = value; ok && *p != '\0'; p++)
        ok = g_ascii_isalnum (*p) || *p == ':' || *p == '-' || *p == '_' || *p == '#';
      if (ok)
        return TRUE;
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "tracking-token-prefix is 1..16 letters, digits or : - _ #");
      return FALSE;
    }
  if (g_str_has_prefix (key, "direction."))
    {
      g_auto (GStrv) parts = g_strsplit (key, ".", 3);
      LiaEntity entity = LIA_ENTITY_N;
      const LiaFieldInfo *field = NULL;
      if (g_strv_length (parts) != 3 || !lia_entity_from_string (parts[1], &entity)
          || (field = lia_field_lookup (entity, parts[2])) == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "\"%s\" names no field (direction.ENTITY.FIELD)",
                       key);
          return FALSE;
        }
      if (field->fixed)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "The direction of %s is fixed", key + 10);
          return FALSE;
        }
      if (!lia_direction_from_string (value, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A direction is <->, ->, <- or x");
          return FALSE;
        }
      return TRUE;
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown setting \"%s\"", key);
  return FALSE;
}

gboolean
lia_org_service_set_setting (LiaOrgService *service, const LiaOrgCaller *caller, const char *key,
                             const char *value, GError **error)
{
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  if (caller != NULL && !caller->admin)
    {
      lia_org_set_forbidden (error, "only an admin changes org settings");
      return FALSE;
    }
  if (!check_setting (key, value, error) || !lia_org_store_begin (service->store, error))
    return FALSE;
  ok = lia_org_store_setting_set (service->store, key, value, error);
  /* Directions decide which fields GetSyncData sends: resend in full. */
  if (ok && g_str_has_prefix (key, "direction."))
    ok = lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

/* Change notification ------------------------------------------------ */

void
lia_org_service_notify_locked (LiaOrgService *service)
{
  /* A batch notifies once, after its commit. */
  if (service->batch)
    {
      service->batch_changed = TRUE;
      return;
    }
  service->change_seq++;
  g_cond_broadcast (&service->changed);
  for (guint i = 0; i < service->watches->len; i++)
    {
      LiaOrgWatch *watch = &g_array_index (service->watches, LiaOrgWatch, i);
      watch->func (watch->user_data);
    }
}

guint
lia_org_service_watch (LiaOrgService *service, LiaOrgChangeFunc func, gpointer user_data)
{
  LiaOrgWatch watch = { 0, func, user_data };
  LOCK (service);

  watch.id = service->next_watch++;
  g_array_append_val (service->watches, watch);
  return watch.id;
}

void
lia_org_service_unwatch (LiaOrgService *service, guint id)
{
  LOCK (service);
  for (guint i = 0; i < service->watches->len; i++)
    if (g_array_index (service->watches, LiaOrgWatch, i).id == id)
      {
        g_array_remove_index (service->watches, i);
        return;
      }
}
