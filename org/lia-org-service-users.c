/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-auth.h"
#include "lia-org-service-private.h"

/* Users of the org: authentication, users and their tokens, delegates
 * and ownership checks, approval (R-MAIL-APPROVED) and field-level
 * security. */

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

/* Ownership ---------------------------------------------------------- */

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

gboolean
lia_org_service_require_change_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                       const char *owner_id, GError **error)
{
  gboolean allowed = FALSE;

  if (!can_change_locked (service, caller, owner_id, &allowed, error))
    return FALSE;
  if (!allowed)
    {
      lia_org_set_forbidden (error, "the record belongs to another user who has not delegated to you");
      return FALSE;
    }
  return TRUE;
}

gboolean
lia_org_service_require_owner_exists_locked (LiaOrgService *service, const char *owner_id, GError **error)
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
