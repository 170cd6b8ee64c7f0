/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-auth.h"
#include "lia-org-service-private.h"

/* Records: readable copies (R-MERGE-FLS), create, retrieve, update,
 * delete, import, and the batched create and track of a bulk page. */

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

/* Gives a record write its new version and modification time, and
 * stores it. */
static gboolean
put_stamped_locked (LiaOrgService *service, LiaCrmRecord *record, gboolean deleted, GError **error)
{
  gint64 version = 0;

  if (!lia_org_store_counter_next (service->store, "version", &version, error))
    return FALSE;
  lia_crm_record_set_version (record, version);
  lia_crm_record_set_modified_on (record, lia_clock_now (service->clock));
  return lia_org_store_record_put (service->store, record, deleted, error);
}

/* Ends a record write (commit, or roll back when !@ok), notifies, and
 * returns what the caller may read of @stored. */
static LiaCrmRecord *
finish_record_locked (LiaOrgService *service, const LiaOrgCaller *caller, gboolean ok,
                      const LiaCrmRecord *stored, GError **error)
{
  if (!lia_org_service_finish_locked (service, ok, error))
    return NULL;
  lia_org_service_notify_locked (service);
  return lia_org_service_readable_copy_locked (service, caller, stored, error);
}

/* The body of lia_org_service_create(), also one item of
 * lia_org_service_create_tracked(): its own transaction, or a savepoint
 * inside the batch's. */
static LiaCrmRecord *
create_locked (LiaOrgService *service, const LiaOrgCaller *caller, const LiaCrmRecord *record,
               const char *request_id, GError **error)
{
  LiaEntity entity = lia_crm_record_get_entity (record);
  const char *owner = lia_crm_record_get_owner (record);
  const char *id = lia_crm_record_get_id (record);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autofree char *previous = NULL;
  g_autofree char *new_id = NULL;
  const guint8 *fls;
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
  else if (!lia_org_service_require_owner_exists_locked (service, owner, error)
           || !lia_org_service_require_change_locked (service, caller, owner, error))
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
  stored = lia_crm_record_copy (record);
  lia_crm_record_set_id (stored, id);
  lia_crm_record_set_owner (stored, owner);
  ok = put_stamped_locked (service, stored, FALSE, error)
       && (request_id == NULL
           || lia_org_store_request_put (service->store, caller->user_id, request_id, id, error))
       && (entity != LIA_ENTITY_EMAIL
           || lia_org_service_email_register_locked (service, caller, stored, error));
  return finish_record_locked (service, caller, ok, stored, error);

fail:
  lia_org_store_rollback (service->store);
  return NULL;
}

LiaCrmRecord *
lia_org_service_create (LiaOrgService *service, const LiaOrgCaller *caller, const LiaCrmRecord *record,
                        const char *request_id, GError **error)
{
  LOCK (service);

  return create_locked (service, caller, record, request_id, error);
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
  if (!lia_org_service_require_change_locked (service, caller, lia_crm_record_get_owner (stored), error))
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
      if (!lia_org_service_require_owner_exists_locked (service, new_owner, error))
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
  ok = put_stamped_locked (service, stored, FALSE, error);
  return finish_record_locked (service, caller, ok, stored, error);

fail:
  lia_org_store_rollback (service->store);
  return NULL;
}

gboolean
lia_org_service_delete (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity, const char *id,
                        gint64 version, GError **error)
{
  g_autoptr (LiaCrmRecord) stored = NULL;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  stored = load_live_locked (service, entity, id, error);
  ok = stored != NULL
       && lia_org_service_require_change_locked (service, caller, lia_crm_record_get_owner (stored), error);
  if (ok && version != 0 && version != lia_crm_record_get_version (stored))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "Record \"%s\" changed: you read version %" G_GINT64_FORMAT ", it is at %" G_GINT64_FORMAT,
                   id, version, lia_crm_record_get_version (stored));
      ok = FALSE;
    }
  /* The row stays, marked deleted with a new version, so each
   * subscription's next incremental PrepareSync reports the deletion. */
  ok = ok && put_stamped_locked (service, stored, TRUE, error);
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
  if (!lia_org_service_require_owner_exists_locked (service, lia_crm_record_get_owner (record), error)
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
lia_org_service_foreach_record (LiaOrgService *service, LiaEntity entity, LiaOrgRowFunc func,
                                gpointer user_data, GError **error)
{
  LOCK (service);
  return lia_org_store_record_foreach (service->store, entity, -1, func, user_data, error);
}

/* Batched create and track (R-MAIL-BULK) ------------------------------- */

static void
clear_outputs (guint n, LiaCrmRecord **out_records, GError **out_errors)
{
  for (guint i = 0; i < n; i++)
    {
      g_clear_pointer (&out_records[i], lia_crm_record_free);
      g_clear_error (&out_errors[i]);
    }
}

/* One item in its savepoint: the create, then the track of what it made;
 * either failing undoes both. */
static LiaCrmRecord *
create_tracked_one_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                           const LiaCrmRecord *record, const char *request_id, GError **error)
{
  g_autoptr (LiaCrmRecord) made = NULL;

  if (!lia_org_store_begin (service->store, error))
    return NULL;
  made = create_locked (service, caller, record, request_id, error);
  if (made == NULL
      || !lia_org_sync_track_locked (service, caller, subscription, lia_crm_record_get_entity (made),
                                     lia_crm_record_get_id (made), TRUE, error))
    {
      lia_org_store_rollback (service->store);
      return NULL;
    }
  if (!lia_org_store_commit (service->store, error))
    return NULL;
  return g_steal_pointer (&made);
}

gboolean
lia_org_service_create_tracked (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                                const LiaCrmRecord *const *records, const char *const *request_ids, guint n,
                                LiaCrmRecord **out_records, GError **out_errors, GError **error)
{
  gboolean changed;
  LOCK (service);

  g_return_val_if_fail (n == 0 || (records != NULL && out_records != NULL && out_errors != NULL), FALSE);
  if (n > LIA_ORG_BATCH_MAX)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A batch has at most %u items, not %u",
                   (guint) LIA_ORG_BATCH_MAX, n);
      return FALSE;
    }
  if (n == 0)
    return TRUE;
  if (!lia_org_store_begin_batch (service->store, error))
    return FALSE;
  service->batch = TRUE;
  service->batch_changed = FALSE;
  for (guint i = 0; i < n; i++)
    {
      GError *local = NULL;

      out_records[i] = create_tracked_one_locked (service, caller, subscription, records[i],
                                                  request_ids != NULL ? request_ids[i] : NULL, &local);
      if (local == NULL)
        continue;
      /* The store failed: the batch's transaction is not to be trusted. */
      if (local->domain == LIA_ERROR && local->code == LIA_ERROR_STORE)
        {
          g_propagate_error (error, local);
          lia_org_store_rollback (service->store);
          service->batch = FALSE;
          clear_outputs (n, out_records, out_errors);
          return FALSE;
        }
      out_errors[i] = local;
    }
  service->batch = FALSE;
  changed = service->batch_changed;
  if (!lia_org_store_commit (service->store, error))
    {
      clear_outputs (n, out_records, out_errors);
      return FALSE;
    }
  if (changed)
    lia_org_service_notify_locked (service);
  return TRUE;
}
