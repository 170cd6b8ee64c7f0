/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

G_DEFINE_INTERFACE (LiaCrm, lia_crm, G_TYPE_OBJECT)

static void
lia_crm_default_init (LiaCrmInterface *iface)
{
}

/* Every wrapper checks its arguments and that the implementation fills the
 * slot; a connector that lacks a call reports it instead of crashing. */
#define IFACE_OR_FAIL(crm, slot, ret)                                                                  \
  LiaCrmInterface *iface;                                                                              \
  g_return_val_if_fail (LIA_IS_CRM (crm), ret);                                                        \
  g_return_val_if_fail (error == NULL || *error == NULL, ret);                                         \
  iface = LIA_CRM_GET_IFACE (crm);                                                                     \
  if (iface->slot == NULL)                                                                             \
    {                                                                                                  \
      g_set_error (error, LIA_ERROR, LIA_ERROR_FAILED, "This connector does not implement %s", #slot); \
      return ret;                                                                                      \
    }

LiaCrmUser *
lia_crm_whoami_sync (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, whoami, NULL);
  return iface->whoami (crm, cancellable, error);
}

LiaCrmSubscription *
lia_crm_subscribe_sync (LiaCrm *crm, const char *client, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, subscribe, NULL);
  g_return_val_if_fail (client != NULL, NULL);
  return iface->subscribe (crm, client, cancellable, error);
}

GPtrArray *
lia_crm_list_subscriptions_sync (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, list_subscriptions, NULL);
  return iface->list_subscriptions (crm, cancellable, error);
}

gboolean
lia_crm_set_primary_sync (LiaCrm *crm, const char *subscription, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, set_primary, FALSE);
  g_return_val_if_fail (subscription != NULL, FALSE);
  return iface->set_primary (crm, subscription, cancellable, error);
}

LiaSyncSummary *
lia_crm_prepare_sync_sync (LiaCrm *crm, const char *subscription, guint entity_mask,
                           GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, prepare_sync, NULL);
  g_return_val_if_fail (subscription != NULL, NULL);
  return iface->prepare_sync (crm, subscription, entity_mask, cancellable, error);
}

LiaSyncPage *
lia_crm_get_sync_data_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *cursor,
                            guint max_changes, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, get_sync_data, NULL);
  g_return_val_if_fail (subscription != NULL, NULL);
  return iface->get_sync_data (crm, subscription, entity, cursor, max_changes, cancellable, error);
}

gboolean
lia_crm_post_sync_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *const *ids,
                        GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, post_sync, FALSE);
  g_return_val_if_fail (subscription != NULL, FALSE);
  g_return_val_if_fail (ids != NULL, FALSE);
  return iface->post_sync (crm, subscription, entity, ids, cancellable, error);
}

gboolean
lia_crm_track_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id, gboolean manual,
                    GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, track, FALSE);
  g_return_val_if_fail (subscription != NULL && id != NULL, FALSE);
  return iface->track (crm, subscription, entity, id, manual, cancellable, error);
}

gboolean
lia_crm_forget_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
                     GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, forget, FALSE);
  g_return_val_if_fail (subscription != NULL && id != NULL, FALSE);
  return iface->forget (crm, subscription, entity, id, cancellable, error);
}

gboolean
lia_crm_wait_changes_sync (LiaCrm *crm, const char *subscription, guint timeout_ms, GCancellable *cancellable,
                           GError **error)
{
  IFACE_OR_FAIL (crm, wait_changes, FALSE);
  g_return_val_if_fail (subscription != NULL, FALSE);
  return iface->wait_changes (crm, subscription, timeout_ms, cancellable, error);
}

LiaCrmRecord *
lia_crm_create_sync (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id,
                     GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, create, NULL);
  g_return_val_if_fail (record != NULL, NULL);
  return iface->create (crm, record, request_id, cancellable, error);
}

/* Failures that end a batch rather than one item of it. */
static gboolean
ends_batch (const GError *error)
{
  return g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE)
         || g_error_matches (error, LIA_ERROR, LIA_ERROR_STORE)
         || g_error_matches (error, LIA_ERROR, LIA_ERROR_AUTH)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

gboolean
lia_crm_create_tracked_sync (LiaCrm *crm, const char *subscription, const LiaCrmRecord *const *records,
                             const char *const *request_ids, guint n, LiaCrmRecord **out_records,
                             GError **out_errors, GCancellable *cancellable, GError **error)
{
  LiaCrmInterface *iface;

  g_return_val_if_fail (LIA_IS_CRM (crm), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (subscription != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (records != NULL && out_records != NULL && out_errors != NULL), FALSE);
  if (n > LIA_CRM_BATCH_MAX)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A batch has at most %u items, not %u",
                   (guint) LIA_CRM_BATCH_MAX, n);
      return FALSE;
    }
  iface = LIA_CRM_GET_IFACE (crm);
  if (iface->create_tracked != NULL)
    return iface->create_tracked (crm, subscription, records, request_ids, n, out_records, out_errors,
                                  cancellable, error);
  /* A connector without the batch: the calls of old, one item at a time. */
  for (guint i = 0; i < n; i++)
    {
      GError *local = NULL;
      g_autoptr (LiaCrmRecord) made = lia_crm_create_sync (
          crm, records[i], request_ids != NULL ? request_ids[i] : NULL, cancellable, &local);

      if (made != NULL
          && lia_crm_track_sync (crm, subscription, lia_crm_record_get_entity (made),
                                 lia_crm_record_get_id (made), TRUE, cancellable, &local))
        {
          out_records[i] = g_steal_pointer (&made);
          continue;
        }
      if (ends_batch (local))
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      out_errors[i] = local;
    }
  return TRUE;
}

LiaCrmRecord *
lia_crm_retrieve_sync (LiaCrm *crm, LiaEntity entity, const char *id, GCancellable *cancellable,
                       GError **error)
{
  IFACE_OR_FAIL (crm, retrieve, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  return iface->retrieve (crm, entity, id, cancellable, error);
}

LiaCrmRecord *
lia_crm_update_sync (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, update, NULL);
  g_return_val_if_fail (record != NULL, NULL);
  return iface->update (crm, record, cancellable, error);
}

gboolean
lia_crm_delete_sync (LiaCrm *crm, LiaEntity entity, const char *id, gint64 version, GCancellable *cancellable,
                     GError **error)
{
  IFACE_OR_FAIL (crm, remove, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  return iface->remove (crm, entity, id, version, cancellable, error);
}

GPtrArray *
lia_crm_search_sync (LiaCrm *crm, const char *text, guint limit, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, search, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  return iface->search (crm, text, limit, cancellable, error);
}

GPtrArray *
lia_crm_resolve_sync (LiaCrm *crm, const char *const *addresses, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, resolve, NULL);
  g_return_val_if_fail (addresses != NULL, NULL);
  return iface->resolve (crm, addresses, cancellable, error);
}

GPtrArray *
lia_crm_list_filters_sync (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, list_filters, NULL);
  return iface->list_filters (crm, cancellable, error);
}

LiaCrmFilter *
lia_crm_add_filter_sync (LiaCrm *crm, LiaEntity entity, const char *name, const char *xml, gboolean system,
                         GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, add_filter, NULL);
  g_return_val_if_fail (name != NULL && xml != NULL, NULL);
  return iface->add_filter (crm, entity, name, xml, system, cancellable, error);
}

gboolean
lia_crm_enable_filter_sync (LiaCrm *crm, const char *id, gboolean enabled, GCancellable *cancellable,
                            GError **error)
{
  IFACE_OR_FAIL (crm, enable_filter, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  return iface->enable_filter (crm, id, enabled, cancellable, error);
}

gboolean
lia_crm_remove_filter_sync (LiaCrm *crm, const char *id, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, remove_filter, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  return iface->remove_filter (crm, id, cancellable, error);
}

GHashTable *
lia_crm_get_settings_sync (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, get_settings, NULL);
  return iface->get_settings (crm, cancellable, error);
}

gboolean
lia_crm_set_setting_sync (LiaCrm *crm, const char *key, const char *value, GCancellable *cancellable,
                          GError **error)
{
  IFACE_OR_FAIL (crm, set_setting, FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);
  return iface->set_setting (crm, key, value, cancellable, error);
}

/* The async twins share one task-data shape: the arguments of whichever
 * call, copied, so the caller's buffers may go away at once. */
typedef enum
{
  CALL_PREPARE,
  CALL_GET_SYNC_DATA,
  CALL_POST_SYNC,
  CALL_CREATE,
  CALL_UPDATE,
  CALL_WAIT,
} CallKind;

typedef struct
{
  CallKind kind;
  char *subscription; /* owned, nullable */
  guint mask_or_max;  /* entity mask, page size or timeout */
  LiaEntity entity;
  char *text;           /* owned, nullable: cursor or request id */
  GStrv ids;            /* owned, nullable */
  LiaCrmRecord *record; /* owned, nullable */
} CallData;

static void
call_data_free (gpointer data)
{
  CallData *call = data;

  g_free (call->subscription);
  g_free (call->text);
  g_strfreev (call->ids);
  lia_crm_record_free (call->record);
  g_free (call);
}

static void
call_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LiaCrm *crm = source_object;
  CallData *call = task_data;
  GError *error = NULL;

  switch (call->kind)
    {
    case CALL_PREPARE:
      {
        LiaSyncSummary *summary =
            lia_crm_prepare_sync_sync (crm, call->subscription, call->mask_or_max, cancellable, &error);
        if (summary != NULL)
          g_task_return_pointer (task, summary, (GDestroyNotify) lia_sync_summary_free);
        break;
      }
    case CALL_GET_SYNC_DATA:
      {
        LiaSyncPage *page = lia_crm_get_sync_data_sync (crm, call->subscription, call->entity, call->text,
                                                        call->mask_or_max, cancellable, &error);
        if (page != NULL)
          g_task_return_pointer (task, page, (GDestroyNotify) lia_sync_page_free);
        break;
      }
    case CALL_POST_SYNC:
      if (lia_crm_post_sync_sync (crm, call->subscription, call->entity, (const char *const *) call->ids,
                                  cancellable, &error))
        g_task_return_boolean (task, TRUE);
      break;
    case CALL_CREATE:
    case CALL_UPDATE:
      {
        LiaCrmRecord *record = call->kind == CALL_CREATE
                                   ? lia_crm_create_sync (crm, call->record, call->text, cancellable, &error)
                                   : lia_crm_update_sync (crm, call->record, cancellable, &error);
        if (record != NULL)
          g_task_return_pointer (task, record, (GDestroyNotify) lia_crm_record_free);
        break;
      }
    case CALL_WAIT:
      {
        gboolean changed =
            lia_crm_wait_changes_sync (crm, call->subscription, call->mask_or_max, cancellable, &error);
        if (error == NULL)
          g_task_return_boolean (task, changed);
        break;
      }
    default:
      g_assert_not_reached ();
    }
  if (error != NULL)
    g_task_return_error (task, error);
}

static void
call_start (LiaCrm *crm, CallData *call, gpointer source_tag, const char *name, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (crm, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, call_data_free);
  g_task_run_in_thread (task, call_thread);
}

void
lia_crm_prepare_sync_async (LiaCrm *crm, const char *subscription, guint entity_mask,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (subscription != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_PREPARE;
  call->subscription = g_strdup (subscription);
  call->mask_or_max = entity_mask;
  call_start (crm, call, lia_crm_prepare_sync_async, "lia_crm_prepare_sync", cancellable, callback,
              user_data);
}

LiaSyncSummary *
lia_crm_prepare_sync_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_prepare_sync_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lia_crm_get_sync_data_async (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *cursor,
                             guint max_changes, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (subscription != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_GET_SYNC_DATA;
  call->subscription = g_strdup (subscription);
  call->entity = entity;
  call->text = g_strdup (cursor);
  call->mask_or_max = max_changes;
  call_start (crm, call, lia_crm_get_sync_data_async, "lia_crm_get_sync_data", cancellable, callback,
              user_data);
}

LiaSyncPage *
lia_crm_get_sync_data_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_get_sync_data_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lia_crm_post_sync_async (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *const *ids,
                         GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (subscription != NULL && ids != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_POST_SYNC;
  call->subscription = g_strdup (subscription);
  call->entity = entity;
  call->ids = g_strdupv ((char **) ids);
  call_start (crm, call, lia_crm_post_sync_async, "lia_crm_post_sync", cancellable, callback, user_data);
}

gboolean
lia_crm_post_sync_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_post_sync_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lia_crm_create_async (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (record != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_CREATE;
  call->record = lia_crm_record_copy (record);
  call->text = g_strdup (request_id);
  call_start (crm, call, lia_crm_create_async, "lia_crm_create", cancellable, callback, user_data);
}

LiaCrmRecord *
lia_crm_create_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_create_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lia_crm_update_async (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (record != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_UPDATE;
  call->record = lia_crm_record_copy (record);
  call_start (crm, call, lia_crm_update_async, "lia_crm_update", cancellable, callback, user_data);
}

LiaCrmRecord *
lia_crm_update_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_update_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lia_crm_wait_changes_async (LiaCrm *crm, const char *subscription, guint timeout_ms,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  CallData *call;

  g_return_if_fail (LIA_IS_CRM (crm));
  g_return_if_fail (subscription != NULL);
  call = g_new0 (CallData, 1);
  call->kind = CALL_WAIT;
  call->subscription = g_strdup (subscription);
  call->mask_or_max = timeout_ms;
  call_start (crm, call, lia_crm_wait_changes_async, "lia_crm_wait_changes", cancellable, callback,
              user_data);
}

gboolean
lia_crm_wait_changes_finish (LiaCrm *crm, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, crm), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_crm_wait_changes_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

GStrv
lia_crm_allocate_tokens_sync (LiaCrm *crm, guint count, GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, allocate_tokens, NULL);
  return iface->allocate_tokens (crm, count, cancellable, error);
}

GPtrArray *
lia_crm_email_changes_sync (LiaCrm *crm, gint64 since_version, guint limit, gint64 *out_last_version,
                            GCancellable *cancellable, GError **error)
{
  IFACE_OR_FAIL (crm, email_changes, NULL);
  return iface->email_changes (crm, since_version, limit, out_last_version, cancellable, error);
}
