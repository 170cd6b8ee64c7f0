/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-auth.h"
#include "lia-org-service-private.h"

/* Filters: the system filters and each user's own, which decide what
 * each subscription syncs; every change bumps the "filter-gen" counter so
 * subscriptions re-evaluate in full. */

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
      lia_org_set_forbidden (error, "only an admin creates system filters");
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
      lia_org_set_forbidden (error, "only an admin changes system filters");
      return NULL;
    }
  *out_owner = g_steal_pointer (&owner);
  return filter;
}

/* Enables or disables a filter the caller may change, or with @remove
 * deletes it. */
static gboolean
change_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id, gboolean remove,
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
  ok = filter != NULL
       && (remove ? lia_org_store_filter_delete (service->store, id, error)
                  : lia_org_store_filter_put (service->store, owner, filter, error))
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}

gboolean
lia_org_service_enable_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                               gboolean enabled, GError **error)
{
  return change_filter (service, caller, id, FALSE, enabled, error);
}

gboolean
lia_org_service_remove_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                               GError **error)
{
  return change_filter (service, caller, id, TRUE, FALSE, error);
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
  ok = (owner == NULL || lia_org_service_require_owner_exists_locked (service, owner, error))
       && lia_org_store_filter_put (service->store, owner, filter, error)
       && lia_org_store_counter_next (service->store, "filter-gen", &gen, error);
  return lia_org_service_finish_locked (service, ok, error);
}
