/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-auth.h"
#include "lia-mail-correlate.h"
#include "lia-org-service-private.h"

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

typedef GMutexLocker LiaOrgLocker;

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

static void
set_forbidden (GError **error, const char *what)
{
  g_set_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN, "Not allowed: %s", what);
}

LiaOrgCaller *
lia_org_service_authenticate (LiaOrgService *service, const char *token, GError **error)
{
  g_autofree char *hash = NULL;
  g_autofree char *user_id = NULL;
  g_autoptr (LiaCrmUser) user = NULL;
  GError *local = NULL;
  LiaOrgCaller *caller;
  LOCK (service);

  if (token == NULL || *token == '\0')
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_AUTH, "No bearer token");
      return NULL;
    }
  hash = lia_org_auth_hash (token);
  user_id = lia_org_store_token_user (service->store, hash, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (user_id != NULL)
    user = lia_org_store_user_get (service->store, user_id, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (user == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_AUTH, "Unknown or revoked token");
      return NULL;
    }
  caller = g_new0 (LiaOrgCaller, 1);
  caller->user_id = g_strdup (user->id);
  caller->name = g_strdup (user->name);
  caller->admin = user->admin;
  caller->approved = user->approved;
  caller->role = g_strdup (user->admin ? "admin" : "user");
  return caller;
}

/* Users -------------------------------------------------------------- */

static void
add_default_filter (LiaEntity entity, const char *name, const char *xml, gpointer user_data)
{
  GPtrArray *filters = user_data;
  LiaCrmFilter *filter = g_new0 (LiaCrmFilter, 1);

  filter->id = lia_org_auth_new_uuid ();
  filter->entity = entity;
  filter->name = g_strdup (name);
  filter->xml = g_strdup (xml);
  filter->enabled = TRUE;
  g_ptr_array_add (filters, filter);
}

static gboolean
valid_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0' || strlen (name) > 128 || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A user name is 1 to 128 characters of UTF-8");
      return FALSE;
    }
  return TRUE;
}

static gboolean
issue_token_locked (LiaOrgService *service, const char *user_id, char **out_token, GError **error)
{
  g_autofree char *token = NULL;
  g_autofree char *hash = NULL;

  if (!lia_org_auth_new_token (&token, &hash, error)
      || !lia_org_store_token_put (service->store, hash, user_id, lia_clock_now (service->clock), error))
    return FALSE;
  *out_token = g_steal_pointer (&token);
  return TRUE;
}

gboolean
lia_org_service_add_user (LiaOrgService *service, const char *name, const char *email, gboolean admin,
                          char **out_token, GError **error)
{
  g_autoptr (LiaCrmUser) existing = NULL;
  g_autoptr (GPtrArray) filters = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_filter_free);
  g_autofree char *token = NULL;
  LiaCrmUser user = { 0 };
  GError *local = NULL;
  gboolean ok;
  LOCK (service);

  if (!valid_name (name, error))
    return FALSE;
  if (email != NULL && (strchr (email, '@') == NULL || !g_utf8_validate (email, -1, NULL)))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "\"%s\" is not an email address", email);
      return FALSE;
    }
  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  existing = lia_org_store_user_get (service->store, name, &local);
  if (local != NULL || existing != NULL)
    {
      if (local != NULL)
        g_propagate_error (error, local);
      else
        g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT, "User \"%s\" exists already", name);
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  user.id = lia_org_auth_new_uuid ();
  user.name = (char *) name;
  user.email = (char *) email;
  user.admin = admin;
  user.approved = FALSE;
  ok = lia_org_store_user_put (service->store, &user, error)
       && issue_token_locked (service, user.id, &token, error);
  /* Every user starts with the anchor product's out-of-box filters. */
  lia_org_filter_foreach_default (add_default_filter, filters);
  for (guint i = 0; ok && i < filters->len; i++)
    ok = lia_org_store_filter_put (service->store, user.id, filters->pdata[i], error);
  g_free (user.id);
  if (!lia_org_service_finish_locked (service, ok, error))
    return FALSE;
  *out_token = g_steal_pointer (&token);
  return TRUE;
}

static LiaCrmUser *
require_user_locked (LiaOrgService *service, const char *name, GError **error)
{
  GError *local = NULL;
  LiaCrmUser *user = lia_org_store_user_get (service->store, name, &local);

  if (local != NULL)
    g_propagate_error (error, local);
  else if (user == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No user \"%s\"", name);
  return user;
}

gboolean
lia_org_service_new_token (LiaOrgService *service, const char *name, char **out_token, GError **error)
{
  g_autoptr (LiaCrmUser) user = NULL;
  g_autofree char *token = NULL;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  user = require_user_locked (service, name, error);
  /* A new token replaces the old ones: "user token" is also how an admin
   * revokes a leaked token. */
  ok = user != NULL && lia_org_store_token_revoke (service->store, user->id, error)
       && issue_token_locked (service, user->id, &token, error);
  if (!lia_org_service_finish_locked (service, ok, error))
    return FALSE;
  *out_token = g_steal_pointer (&token);
  return TRUE;
}

gboolean
lia_org_service_set_approved (LiaOrgService *service, const char *name, gboolean approved, GError **error)
{
  g_autoptr (LiaCrmUser) user = NULL;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  user = require_user_locked (service, name, error);
  if (user != NULL)
    user->approved = approved;
  ok = user != NULL && lia_org_store_user_put (service->store, user, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_set_delegate (LiaOrgService *service, const char *owner, const char *delegate,
                              gboolean allowed, GError **error)
{
  g_autoptr (LiaCrmUser) o = NULL;
  g_autoptr (LiaCrmUser) d = NULL;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  ok = (o = require_user_locked (service, owner, error)) != NULL
       && (d = require_user_locked (service, delegate, error)) != NULL
       && lia_org_store_delegate_put (service->store, o->id, d->id, allowed, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_set_field_security (LiaOrgService *service, const char *role, LiaEntity entity,
                                    const char *field, gboolean can_read, gboolean can_update, GError **error)
{
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  if (role == NULL || (!g_str_equal (role, "admin") && !g_str_equal (role, "user")))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown role \"%s\" (admin or user)",
                   role != NULL ? role : "");
      return FALSE;
    }
  if (lia_field_lookup (entity, field) == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown field \"%s\" for entity %s", field,
                   lia_entity_to_string (entity));
      return FALSE;
    }
  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  /* Readability changes what subscriptions hold: bump the generation so
   * every subscription re-evaluates in full. */
  ok = lia_org_store_fls_put (service->store, role, entity, field, can_read, can_update || FALSE, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

GPtrArray *
lia_org_service_list_users (LiaOrgService *service, GError **error)
{
  LOCK (service);
  return lia_org_store_user_list (service->store, error);
}

LiaCrmUser *
lia_org_service_get_user (LiaOrgService *service, const char *id_or_name, GError **error)
{
  LOCK (service);
  return require_user_locked (service, id_or_name, error);
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
      set_forbidden (error, "only an admin changes org settings");
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

/* Records ------------------------------------------------------------ */

/* Drops what the reader may not see: unreadable fields (R-MERGE-FLS) and,
 * for sync, fields whose org direction does not go to the host. */
void
lia_org_service_strip_locked (LiaOrgService *service, LiaCrmRecord *record, const guint8 *fls,
                              gboolean for_sync, GHashTable *settings)
{
  LiaItem *item = lia_crm_record_get_item (record);
  LiaEntity entity = lia_item_get_entity (item);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (entity, &n);
  for (guint i = 0; i < n; i++)
    {
      gboolean keep = (fls[i] & LIA_ORG_FLS_READ) != 0;
      if (keep && for_sync)
        {
          LiaDirection direction = fields[i].direction;
          if (settings != NULL && !fields[i].fixed)
            {
              g_autofree char *key =
                  g_strdup_printf ("direction.%s.%s", lia_entity_to_string (entity), fields[i].name);
              const char *value = g_hash_table_lookup (settings, key);
              if (value != NULL)
                lia_direction_from_string (value, &direction);
            }
          keep = lia_direction_allows_to_host (direction);
        }
      if (!keep && lia_item_get_at (item, i) != NULL)
        lia_item_set_at (item, i, NULL, NULL);
    }
}

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

static gboolean
can_change_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *owner_id,
                   gboolean *out_allowed, GError **error)
{
  if (caller->admin || g_strcmp0 (owner_id, caller->user_id) == 0)
    {
      *out_allowed = TRUE;
      return TRUE;
    }
  return lia_org_store_delegate_has (service->store, owner_id, caller->user_id, out_allowed, error);
}

static gboolean
require_change_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *owner_id,
                       GError **error)
{
  gboolean allowed = FALSE;

  if (!can_change_locked (service, caller, owner_id, &allowed, error))
    return FALSE;
  if (!allowed)
    {
      set_forbidden (error, "the record belongs to another user who has not delegated to you");
      return FALSE;
    }
  return TRUE;
}

static gboolean
require_owner_exists_locked (LiaOrgService *service, const char *owner_id, GError **error)
{
  GError *local = NULL;
  g_autoptr (LiaCrmUser) user = lia_org_store_user_get (service->store, owner_id, &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (user == NULL || !g_str_equal (user->id, owner_id))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Owner \"%s\" is not a user id", owner_id);
      return FALSE;
    }
  return TRUE;
}

/* Every field the caller sets must be updatable for its role. */
static gboolean
check_writable (const LiaCrmRecord *record, const LiaCrmRecord *stored, const guint8 *fls, GError **error)
{
  const LiaItem *item = lia_crm_record_get_item (record);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (lia_item_get_entity (item), &n);
  for (guint i = 0; i < n; i++)
    {
      LiaValue *value = lia_item_get_at (item, i);
      LiaValue *before = stored != NULL ? lia_item_get_at (lia_crm_record_get_item (stored), i) : NULL;
      if ((fls[i] & LIA_ORG_FLS_UPDATE) != 0)
        continue;
      /* Sending back the value one read is not a change; unreadable
       * fields must not be sent at all. */
      if (value != NULL && ((fls[i] & LIA_ORG_FLS_READ) == 0 || !lia_value_equal (value, before)))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN,
                       "Not allowed: field \"%s\" is not updatable for you", fields[i].name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
lia_org_service_check_approved_locked (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                                       GError **error)
{
  g_autofree char *value = NULL;
  GError *local = NULL;

  if (entity != LIA_ENTITY_EMAIL || caller->approved)
    return TRUE;
  value = lia_org_store_setting_get (service->store, "approved-users-only", &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (g_strcmp0 (value, "true") == 0)
    {
      /* R-MAIL-APPROVED */
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_FORBIDDEN,
          "Not allowed: this org processes email only for approved users, and \"%s\" is not approved",
          caller->name);
      return FALSE;
    }
  return TRUE;
}

/* Reads a live record of @entity; NOT_FOUND for missing, deleted or of
 * another entity. */
static LiaCrmRecord *
load_live_locked (LiaOrgService *service, LiaEntity entity, const char *id, GError **error)
{
  LiaCrmRecord *record = NULL;
  gboolean deleted = FALSE;

  if (!lia_org_store_record_get (service->store, id, &record, &deleted, error))
    return NULL;
  if (record == NULL || deleted || lia_crm_record_get_entity (record) != entity)
    {
      lia_crm_record_free (record);
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No %s \"%s\"", lia_entity_to_string (entity), id);
      return NULL;
    }
  return record;
}

LiaCrmRecord *
lia_org_service_readable_copy_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                      const LiaCrmRecord *record, GError **error)
{
  const guint8 *fls =
      lia_org_service_fls_locked (service, caller->role, lia_crm_record_get_entity (record), error);
  LiaCrmRecord *copy;

  if (fls == NULL)
    return NULL;
  copy = lia_crm_record_copy (record);
  lia_org_service_strip_locked (service, copy, fls, FALSE, NULL);
  return copy;
}

/* The body of lia_org_service_create(), also one item of
 * lia_org_service_create_tracked(): its own transaction, or a savepoint
 * inside the batch's. */
LiaCrmRecord *
lia_org_service_create_locked (LiaOrgService *service, const LiaOrgCaller *caller, const LiaCrmRecord *record,
                               const char *request_id, GError **error)
{
  LiaEntity entity = lia_crm_record_get_entity (record);
  const char *owner = lia_crm_record_get_owner (record);
  const char *id = lia_crm_record_get_id (record);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autofree char *previous = NULL;
  g_autofree char *new_id = NULL;
  const guint8 *fls;
  gint64 version = 0;
  gboolean ok;

  if (request_id != NULL && (*request_id == '\0' || strlen (request_id) > 128))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A request id is 1 to 128 characters");
      return NULL;
    }
  if (id != NULL && !g_uuid_string_is_valid (id))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Record id \"%s\" is not a UUID", id);
      return NULL;
    }
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  /* A retried create returns what the first one made: the client may have
   * lost the reply, and a second record would be a duplicate. */
  if (request_id != NULL)
    {
      if (!lia_org_store_request_get (service->store, caller->user_id, request_id, &previous, error))
        goto fail;
      if (previous != NULL)
        {
          LiaCrmRecord *first = NULL;
          gboolean deleted = FALSE;
          lia_org_store_rollback (service->store);
          if (!lia_org_store_record_get (service->store, previous, &first, &deleted, error))
            return NULL;
          if (first == NULL)
            {
              g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "The record of request \"%s\" is gone",
                           request_id);
              return NULL;
            }
          stored = first;
          return lia_org_service_readable_copy_locked (service, caller, stored, error);
        }
    }
  fls = lia_org_service_fls_locked (service, caller->role, entity, error);
  if (fls == NULL || !check_writable (record, NULL, fls, error)
      || !lia_org_service_check_approved_locked (service, caller, entity, error)
      || !lia_org_sync_check_create_locked (service, caller, entity, request_id, error))
    goto fail;
  if (entity == LIA_ENTITY_EMAIL && id == NULL)
    {
      g_autoptr (LiaCrmRecord) same = NULL;
      gboolean changed = FALSE;
      if (!lia_org_service_email_find_same_locked (service, caller, record, &same, error))
        goto fail;
      if (same != NULL)
        {
          ok = lia_org_service_email_track_same_locked (service, caller, same, record, &changed, error)
               && (request_id == NULL
                   || lia_org_store_request_put (service->store, caller->user_id, request_id,
                                                 lia_crm_record_get_id (same), error));
          if (!lia_org_service_finish_locked (service, ok, error))
            return NULL;
          if (changed)
            lia_org_service_notify_locked (service);
          return lia_org_service_readable_copy_locked (service, caller, same, error);
        }
    }
  if (owner == NULL)
    owner = caller->user_id;
  else if (!require_owner_exists_locked (service, owner, error)
           || !require_change_locked (service, caller, owner, error))
    goto fail;
  if (id != NULL)
    {
      LiaCrmRecord *clash = NULL;
      if (!lia_org_store_record_get (service->store, id, &clash, NULL, error))
        goto fail;
      if (clash != NULL)
        {
          lia_crm_record_free (clash);
          g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT, "Record \"%s\" exists already", id);
          goto fail;
        }
    }
  else
    id = new_id = lia_org_auth_new_uuid ();
  if (!lia_org_store_counter_next (service->store, "version", &version, error))
    goto fail;
  stored = lia_crm_record_copy (record);
  lia_crm_record_set_id (stored, id);
  lia_crm_record_set_owner (stored, owner);
  lia_crm_record_set_version (stored, version);
  lia_crm_record_set_modified_on (stored, lia_clock_now (service->clock));
  ok = lia_org_store_record_put (service->store, stored, FALSE, error)
       && (request_id == NULL
           || lia_org_store_request_put (service->store, caller->user_id, request_id, id, error))
       && (entity != LIA_ENTITY_EMAIL
           || lia_org_service_email_register_locked (service, caller, stored, error));
  if (!lia_org_service_finish_locked (service, ok, error))
    return NULL;
  lia_org_service_notify_locked (service);
  return lia_org_service_readable_copy_locked (service, caller, stored, error);

fail:
  lia_org_store_rollback (service->store);
  return NULL;
}

LiaCrmRecord *
lia_org_service_create (LiaOrgService *service, const LiaOrgCaller *caller, const LiaCrmRecord *record,
                        const char *request_id, GError **error)
{
  LOCK (service);

  return lia_org_service_create_locked (service, caller, record, request_id, error);
}

LiaCrmRecord *
lia_org_service_retrieve (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                          const char *id, GError **error)
{
  g_autoptr (LiaCrmRecord) record = NULL;
  LOCK (service);

  record = load_live_locked (service, entity, id, error);
  if (record == NULL)
    return NULL;
  return lia_org_service_readable_copy_locked (service, caller, record, error);
}

LiaCrmRecord *
lia_org_service_update (LiaOrgService *service, const LiaOrgCaller *caller, const LiaCrmRecord *record,
                        GError **error)
{
  LiaEntity entity = lia_crm_record_get_entity (record);
  const char *id = lia_crm_record_get_id (record);
  const char *new_owner = lia_crm_record_get_owner (record);
  g_autoptr (LiaCrmRecord) stored = NULL;
  const guint8 *fls;
  const LiaFieldInfo *fields;
  guint n = 0;
  gint64 version = 0;
  gboolean ok;
  LOCK (service);

  if (id == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "An update names the record id");
      return NULL;
    }
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  stored = load_live_locked (service, entity, id, error);
  if (stored == NULL)
    goto fail;
  if (!require_change_locked (service, caller, lia_crm_record_get_owner (stored), error))
    goto fail;
  /* Optimistic concurrency: the caller names the version it read. */
  if (lia_crm_record_get_version (record) != lia_crm_record_get_version (stored))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "Record \"%s\" changed: you read version %" G_GINT64_FORMAT ", it is at %" G_GINT64_FORMAT,
                   id, lia_crm_record_get_version (record), lia_crm_record_get_version (stored));
      goto fail;
    }
  fls = lia_org_service_fls_locked (service, caller->role, entity, error);
  if (fls == NULL || !check_writable (record, stored, fls, error))
    goto fail;
  if (new_owner != NULL && g_strcmp0 (new_owner, lia_crm_record_get_owner (stored)) != 0)
    {
      if (!require_owner_exists_locked (service, new_owner, error))
        goto fail;
      lia_crm_record_set_owner (stored, new_owner);
    }
  /* The update replaces every field the caller can read and update; what
   * it cannot see stays as it is. */
  fields = lia_field_list (entity, &n);
  for (guint i = 0; i < n; i++)
    if ((fls[i] & (LIA_ORG_FLS_READ | LIA_ORG_FLS_UPDATE)) == (LIA_ORG_FLS_READ | LIA_ORG_FLS_UPDATE))
      lia_item_set_at (lia_crm_record_get_item (stored), i,
                       lia_item_get_at (lia_crm_record_get_item (record), i), NULL);
  (void) fields;
  lia_crm_record_set_state (stored, lia_crm_record_get_state (record));
  if (lia_crm_record_get_email (record) != NULL)
    lia_crm_record_set_email (stored, lia_crm_record_get_email (record));
  if (!lia_org_store_counter_next (service->store, "version", &version, error))
    goto fail;
  lia_crm_record_set_version (stored, version);
  lia_crm_record_set_modified_on (stored, lia_clock_now (service->clock));
  ok = lia_org_store_record_put (service->store, stored, FALSE, error);
  if (!lia_org_service_finish_locked (service, ok, error))
    return NULL;
  lia_org_service_notify_locked (service);
  return lia_org_service_readable_copy_locked (service, caller, stored, error);

fail:
  lia_org_store_rollback (service->store);
  return NULL;
}

gboolean
lia_org_service_delete (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity, const char *id,
                        gint64 version, GError **error)
{
  g_autoptr (LiaCrmRecord) stored = NULL;
  gint64 next = 0;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  stored = load_live_locked (service, entity, id, error);
  ok = stored != NULL && require_change_locked (service, caller, lia_crm_record_get_owner (stored), error);
  if (ok && version != 0 && version != lia_crm_record_get_version (stored))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "Record \"%s\" changed: you read version %" G_GINT64_FORMAT ", it is at %" G_GINT64_FORMAT,
                   id, version, lia_crm_record_get_version (stored));
      ok = FALSE;
    }
  /* The row stays, marked deleted with a new version, so each
   * subscription's next incremental PrepareSync reports the deletion. */
  ok = ok && lia_org_store_counter_next (service->store, "version", &next, error);
  if (ok)
    {
      lia_crm_record_set_version (stored, next);
      lia_crm_record_set_modified_on (stored, lia_clock_now (service->clock));
      ok = lia_org_store_record_put (service->store, stored, TRUE, error);
    }
  if (!lia_org_service_finish_locked (service, ok, error))
    return FALSE;
  lia_org_service_notify_locked (service);
  return TRUE;
}

static gboolean
import_one_locked (LiaOrgService *service, const LiaCrmRecord *record, GError **error)
{
  g_autoptr (LiaCrmRecord) copy = NULL;
  gint64 version = 0;

  if (lia_crm_record_get_id (record) == NULL || !g_uuid_string_is_valid (lia_crm_record_get_id (record))
      || lia_crm_record_get_owner (record) == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "An imported record needs a UUID id and an owner");
      return FALSE;
    }
  /* Imported records get fresh versions of this org: versions are
   * per-org, ids are forever (R-DUP-IDS). */
  if (!require_owner_exists_locked (service, lia_crm_record_get_owner (record), error)
      || !lia_org_store_counter_next (service->store, "version", &version, error))
    return FALSE;
  copy = lia_crm_record_copy (record);
  lia_crm_record_set_version (copy, version);
  if (lia_crm_record_get_modified_on (copy) == 0)
    lia_crm_record_set_modified_on (copy, lia_clock_now (service->clock));
  return lia_org_store_record_put (service->store, copy, FALSE, error);
}

gboolean
lia_org_service_import_batch (LiaOrgService *service, GPtrArray *records, GError **error)
{
  gboolean ok = TRUE;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  for (guint i = 0; ok && i < records->len; i++)
    ok = import_one_locked (service, records->pdata[i], error);
  if (!lia_org_service_finish_locked (service, ok, error))
    return FALSE;
  lia_org_service_notify_locked (service);
  return TRUE;
}

gboolean
lia_org_service_import_record (LiaOrgService *service, const LiaCrmRecord *record, GError **error)
{
  g_autoptr (GPtrArray) one = g_ptr_array_new ();

  g_ptr_array_add (one, (gpointer) record);
  return lia_org_service_import_batch (service, one, error);
}

gboolean
lia_org_service_import_user (LiaOrgService *service, const LiaCrmUser *user, GError **error)
{
  g_autoptr (LiaCrmUser) existing = NULL;
  GError *local = NULL;
  gboolean ok;
  LOCK (service);

  if (!valid_name (user->name, error))
    return FALSE;
  if (user->id == NULL || !g_uuid_string_is_valid (user->id))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "User \"%s\" needs a UUID id", user->name);
      return FALSE;
    }
  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  existing = lia_org_store_user_get (service->store, user->name, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  if (existing != NULL && !g_str_equal (existing->id, user->id))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT, "User \"%s\" exists with another id", user->name);
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  ok = lia_org_store_user_put (service->store, user, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_import_filter (LiaOrgService *service, const char *owner, const LiaCrmFilter *filter,
                               GError **error)
{
  g_autoptr (LiaOrgFilter) parsed = NULL;
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  parsed = lia_org_filter_parse (filter->xml, strlen (filter->xml), error);
  if (parsed == NULL || filter->id == NULL)
    {
      if (parsed != NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "An imported filter needs an id");
      return FALSE;
    }
  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  ok = (owner == NULL || require_owner_exists_locked (service, owner, error))
       && lia_org_store_filter_put (service->store, owner, filter, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_foreach_record (LiaOrgService *service, LiaEntity entity, LiaOrgRowFunc func,
                                gpointer user_data, GError **error)
{
  LOCK (service);
  return lia_org_store_record_foreach (service->store, entity, -1, func, user_data, error);
}

GPtrArray *
lia_org_service_search (LiaOrgService *service, const LiaOrgCaller *caller, const char *text, guint limit,
                        GError **error)
{
  g_autofree char *folded = NULL;
  g_autofree char *trimmed = NULL;
  LOCK (service);

  if (text == NULL || !g_utf8_validate (text, -1, NULL) || strlen (text) > 256)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Search text is UTF-8, at most 256 bytes");
      return NULL;
    }
  trimmed = g_strstrip (g_strdup (text));
  if (*trimmed == '\0')
    return g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_match_free);
  folded = g_utf8_casefold (trimmed, -1);
  return lia_org_store_record_search (service->store, folded, CLAMP (limit, 1, 100), error);
}

GPtrArray *
lia_org_service_resolve (LiaOrgService *service, const LiaOrgCaller *caller, const char *const *addresses,
                         GError **error)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_match_free);
  LOCK (service);

  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *folded = NULL;
      g_autoptr (GPtrArray) matches = NULL;
      g_autoptr (LiaCrmUser) user = NULL;
      GError *local = NULL;

      if (i >= 1000)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "At most 1000 addresses per request");
          return NULL;
        }
      if (!g_utf8_validate (addresses[i], -1, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Address is not UTF-8");
          return NULL;
        }
      folded = g_utf8_casefold (addresses[i], -1);
      matches = lia_org_store_record_resolve (service->store, folded, error);
      if (matches == NULL)
        return NULL;
      for (guint j = 0; j < matches->len; j++)
        {
          LiaCrmMatch *match = matches->pdata[j];
          match->address = g_strdup (addresses[i]);
          g_ptr_array_add (all, g_steal_pointer (&matches->pdata[j]));
        }
      user = lia_org_store_user_by_email (service->store, folded, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (user != NULL)
        {
          LiaCrmMatch *match = g_new0 (LiaCrmMatch, 1);
          match->entity = LIA_ENTITY_N;
          match->id = g_strdup (user->id);
          match->name = g_strdup (user->name);
          match->address = g_strdup (addresses[i]);
          g_ptr_array_add (all, match);
        }
    }
  return g_steal_pointer (&all);
}

/* Filters ------------------------------------------------------------ */

GPtrArray *
lia_org_service_list_filters (LiaOrgService *service, const LiaOrgCaller *caller, GError **error)
{
  LOCK (service);
  return lia_org_store_filter_list (service->store, caller != NULL ? caller->user_id : NULL, caller == NULL,
                                    error);
}

LiaCrmFilter *
lia_org_service_add_filter (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                            const char *name, const char *xml, gboolean system, GError **error)
{
  g_autoptr (LiaOrgFilter) parsed = NULL;
  g_autoptr (LiaCrmFilter) filter = NULL;
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  if (caller == NULL && !system)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A user filter needs its user");
      return NULL;
    }
  if (system && caller != NULL && !caller->admin)
    {
      set_forbidden (error, "only an admin creates system filters");
      return NULL;
    }
  if (name == NULL || *name == '\0' || strlen (name) > 200 || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A filter name is 1 to 200 characters");
      return NULL;
    }
  parsed = lia_org_filter_parse (xml, strlen (xml), error);
  if (parsed == NULL)
    return NULL;
  if (lia_org_filter_get_entity (parsed) != entity)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid filter: it selects %s, not %s",
                   lia_entity_to_string (lia_org_filter_get_entity (parsed)), lia_entity_to_string (entity));
      return NULL;
    }
  filter = g_new0 (LiaCrmFilter, 1);
  filter->id = lia_org_auth_new_uuid ();
  filter->entity = entity;
  filter->name = g_strdup (name);
  filter->xml = g_strdup (xml);
  filter->system = system;
  filter->enabled = TRUE;
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  ok = lia_org_store_filter_put (service->store, system ? NULL : caller->user_id, filter, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  if (!lia_org_service_finish_locked (service, ok, error))
    return NULL;
  return g_steal_pointer (&filter);
}

/* Loads a filter the caller may change: its own, or a system one as admin. */
static LiaCrmFilter *
changeable_filter_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                          char **out_owner, GError **error)
{
  g_autofree char *owner = NULL;
  LiaCrmFilter *filter = NULL;

  if (!lia_org_store_filter_get (service->store, id, &owner, &filter, error))
    return NULL;
  /* Another user's filter is reported as absent: its existence is private. */
  if (filter == NULL || (caller != NULL && owner != NULL && !g_str_equal (owner, caller->user_id)))
    {
      lia_crm_filter_free (filter);
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No filter \"%s\"", id);
      return NULL;
    }
  if (caller != NULL && owner == NULL && !caller->admin)
    {
      lia_crm_filter_free (filter);
      set_forbidden (error, "only an admin changes system filters");
      return NULL;
    }
  *out_owner = g_steal_pointer (&owner);
  return filter;
}

gboolean
lia_org_service_enable_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                               gboolean enabled, GError **error)
{
  g_autoptr (LiaCrmFilter) filter = NULL;
  g_autofree char *owner = NULL;
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  filter = changeable_filter_locked (service, caller, id, &owner, error);
  if (filter != NULL)
    filter->enabled = enabled;
  ok = filter != NULL && lia_org_store_filter_put (service->store, owner, filter, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_remove_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                               GError **error)
{
  g_autoptr (LiaCrmFilter) filter = NULL;
  g_autofree char *owner = NULL;
  gint64 gen = 0;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  filter = changeable_filter_locked (service, caller, id, &owner, error);
  ok = filter != NULL && lia_org_store_filter_delete (service->store, id, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_get_filter_owner (LiaOrgService *service, const char *id, char **out_owner, GError **error)
{
  g_autoptr (LiaCrmFilter) filter = NULL;
  g_autofree char *owner = NULL;
  LOCK (service);

  if (!lia_org_store_filter_get (service->store, id, &owner, &filter, error))
    return FALSE;
  if (filter == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No filter \"%s\"", id);
      return FALSE;
    }
  *out_owner = g_steal_pointer (&owner);
  return TRUE;
}
