/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-org-codec.h"
#include "lia-org-store-backend.h"

/* The store interface: dispatch to the store's vtable, and the helpers
 * every store shares. */

LiaOrgStore *
lia_org_store_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  /* A PostgreSQL store would be chosen here by its URI. */
  if (g_str_has_prefix (path, "postgresql:") || g_str_has_prefix (path, "postgres:"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "This build has no PostgreSQL store (\"%s\")", path);
      return NULL;
    }
  return lia_org_store_sqlite_open (path, error);
}

void
lia_org_store_free (LiaOrgStore *store)
{
  if (store != NULL)
    store->vtable->free (store);
}

const char *
lia_org_store_get_path (LiaOrgStore *store)
{
  return store->vtable->get_path (store);
}

gboolean
lia_org_store_begin (LiaOrgStore *store, GError **error)
{
  return store->vtable->begin (store, error);
}

gboolean
lia_org_store_commit (LiaOrgStore *store, GError **error)
{
  return store->vtable->commit (store, error);
}

void
lia_org_store_rollback (LiaOrgStore *store)
{
  store->vtable->rollback (store);
}

gboolean
lia_org_store_begin_batch (LiaOrgStore *store, GError **error)
{
  if (store->vtable->begin_batch == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Org store \"%s\" cannot batch writes",
                   lia_org_store_get_path (store));
      return FALSE;
    }
  return store->vtable->begin_batch (store, error);
}

gboolean
lia_org_store_counter_next (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error)
{
  return store->vtable->counter_next (store, name, out_value, error);
}

gboolean
lia_org_store_counter_get (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error)
{
  return store->vtable->counter_get (store, name, out_value, error);
}

gboolean
lia_org_store_user_put (LiaOrgStore *store, const LiaCrmUser *user, GError **error)
{
  return store->vtable->user_put (store, user, error);
}

LiaCrmUser *
lia_org_store_user_get (LiaOrgStore *store, const char *id_or_name, GError **error)
{
  return store->vtable->user_get (store, id_or_name, error);
}

GPtrArray *
lia_org_store_user_list (LiaOrgStore *store, GError **error)
{
  return store->vtable->user_list (store, error);
}

LiaCrmUser *
lia_org_store_user_by_email (LiaOrgStore *store, const char *address, GError **error)
{
  return store->vtable->user_by_email (store, address, error);
}

gboolean
lia_org_store_token_put (LiaOrgStore *store, const char *hash, const char *user_id, gint64 now,
                         GError **error)
{
  return store->vtable->token_put (store, hash, user_id, now, error);
}

gboolean
lia_org_store_token_revoke (LiaOrgStore *store, const char *user_id, GError **error)
{
  return store->vtable->token_revoke (store, user_id, error);
}

char *
lia_org_store_token_user (LiaOrgStore *store, const char *hash, GError **error)
{
  return store->vtable->token_user (store, hash, error);
}

gboolean
lia_org_store_delegate_put (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                            gboolean allowed, GError **error)
{
  return store->vtable->delegate_put (store, owner_id, delegate_id, allowed, error);
}

gboolean
lia_org_store_delegate_has (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                            gboolean *out_has, GError **error)
{
  return store->vtable->delegate_has (store, owner_id, delegate_id, out_has, error);
}

gboolean
lia_org_store_fls_put (LiaOrgStore *store, const char *role, LiaEntity entity, const char *field,
                       gboolean can_read, gboolean can_update, GError **error)
{
  return store->vtable->fls_put (store, role, entity, field, can_read, can_update, error);
}

GHashTable *
lia_org_store_fls_get (LiaOrgStore *store, const char *role, LiaEntity entity, GError **error)
{
  return store->vtable->fls_get (store, role, entity, error);
}

gboolean
lia_org_store_record_get (LiaOrgStore *store, const char *id, LiaCrmRecord **out_record,
                          gboolean *out_deleted, GError **error)
{
  return store->vtable->record_get (store, id, out_record, out_deleted, error);
}

gboolean
lia_org_store_record_head (LiaOrgStore *store, const char *id, gboolean *out_found, LiaEntity *out_entity,
                           gint64 *out_version, gboolean *out_deleted, GError **error)
{
  return store->vtable->record_head (store, id, out_found, out_entity, out_version, out_deleted, error);
}

gboolean
lia_org_store_record_put (LiaOrgStore *store, const LiaCrmRecord *record, gboolean deleted, GError **error)
{
  return store->vtable->record_put (store, record, deleted, error);
}

gboolean
lia_org_store_record_foreach (LiaOrgStore *store, LiaEntity entity, gint64 since_version, LiaOrgRowFunc func,
                              gpointer user_data, GError **error)
{
  return store->vtable->record_foreach (store, entity, since_version, func, user_data, error);
}

gboolean
lia_org_store_max_version_since (LiaOrgStore *store, guint entity_mask, gint64 since_version,
                                 gboolean *out_any, GError **error)
{
  return store->vtable->max_version_since (store, entity_mask, since_version, out_any, error);
}

GPtrArray *
lia_org_store_record_search (LiaOrgStore *store, const char *folded_text, guint limit, GError **error)
{
  return store->vtable->record_search (store, folded_text, limit, error);
}

GPtrArray *
lia_org_store_record_resolve (LiaOrgStore *store, const char *folded_address, GError **error)
{
  return store->vtable->record_resolve (store, folded_address, error);
}

gboolean
lia_org_store_request_get (LiaOrgStore *store, const char *user_id, const char *request_id,
                           char **out_record_id, GError **error)
{
  return store->vtable->request_get (store, user_id, request_id, out_record_id, error);
}

gboolean
lia_org_store_request_put (LiaOrgStore *store, const char *user_id, const char *request_id,
                           const char *record_id, GError **error)
{
  return store->vtable->request_put (store, user_id, request_id, record_id, error);
}

gboolean
lia_org_store_filter_put (LiaOrgStore *store, const char *owner_id, const LiaCrmFilter *filter,
                          GError **error)
{
  return store->vtable->filter_put (store, owner_id, filter, error);
}

gboolean
lia_org_store_filter_get (LiaOrgStore *store, const char *id, char **out_owner_id, LiaCrmFilter **out_filter,
                          GError **error)
{
  return store->vtable->filter_get (store, id, out_owner_id, out_filter, error);
}

GPtrArray *
lia_org_store_filter_list (LiaOrgStore *store, const char *user_id, gboolean all, GError **error)
{
  return store->vtable->filter_list (store, user_id, all, error);
}

gboolean
lia_org_store_filter_delete (LiaOrgStore *store, const char *id, GError **error)
{
  return store->vtable->filter_delete (store, id, error);
}

char *
lia_org_store_setting_get (LiaOrgStore *store, const char *key, GError **error)
{
  return store->vtable->setting_get (store, key, error);
}

gboolean
lia_org_store_setting_set (LiaOrgStore *store, const char *key, const char *value, GError **error)
{
  return store->vtable->setting_set (store, key, value, error);
}

GHashTable *
lia_org_store_setting_list (LiaOrgStore *store, GError **error)
{
  return store->vtable->setting_list (store, error);
}

gboolean
lia_org_store_subscription_put (LiaOrgStore *store, const char *user_id,
                                const LiaCrmSubscription *subscription, gint64 now, GError **error)
{
  return store->vtable->subscription_put (store, user_id, subscription, now, error);
}

gboolean
lia_org_store_subscription_get (LiaOrgStore *store, const char *id, char **out_user_id,
                                LiaCrmSubscription **out_subscription, GError **error)
{
  return store->vtable->subscription_get (store, id, out_user_id, out_subscription, error);
}

GPtrArray *
lia_org_store_subscription_list (LiaOrgStore *store, const char *user_id, GError **error)
{
  return store->vtable->subscription_list (store, user_id, error);
}

gboolean
lia_org_store_subscription_demote_all (LiaOrgStore *store, const char *user_id, GError **error)
{
  return store->vtable->subscription_demote_all (store, user_id, error);
}

gboolean
lia_org_store_subscription_set_roaming (LiaOrgStore *store, const char *id, GError **error)
{
  return store->vtable->subscription_set_roaming (store, id, error);
}

gboolean
lia_org_store_subscription_is_roaming (LiaOrgStore *store, const char *id, gboolean *out_roaming,
                                       GError **error)
{
  return store->vtable->subscription_is_roaming (store, id, out_roaming, error);
}

gboolean
lia_org_store_anchor_get (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 *out_anchor,
                          gint64 *out_filter_gen, GError **error)
{
  return store->vtable->anchor_get (store, subscription, entity, out_anchor, out_filter_gen, error);
}

gboolean
lia_org_store_anchor_put (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 anchor,
                          gint64 filter_gen, GError **error)
{
  return store->vtable->anchor_put (store, subscription, entity, anchor, filter_gen, error);
}

GHashTable *
lia_org_store_entry_load (LiaOrgStore *store, const char *subscription, LiaEntity entity, GError **error)
{
  return store->vtable->entry_load (store, subscription, entity, error);
}

gboolean
lia_org_store_entry_get (LiaOrgStore *store, const char *subscription, const char *record_id,
                         LiaOrgEntry **out_entry, GError **error)
{
  return store->vtable->entry_get (store, subscription, record_id, out_entry, error);
}

gboolean
lia_org_store_entry_put (LiaOrgStore *store, const char *subscription, const LiaOrgEntry *entry,
                         GError **error)
{
  return store->vtable->entry_put (store, subscription, entry, error);
}

gboolean
lia_org_store_entry_delete (LiaOrgStore *store, const char *subscription, const char *record_id,
                            GError **error)
{
  return store->vtable->entry_delete (store, subscription, record_id, error);
}

GPtrArray *
lia_org_store_entry_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                             const char *after_id, guint limit, GError **error)
{
  return store->vtable->entry_pending (store, subscription, entity, after_id, limit, error);
}

gboolean
lia_org_store_entry_count_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                   guint out_counts[LIA_SYNC_OP_N], GError **error)
{
  return store->vtable->entry_count_pending (store, subscription, entity, out_counts, error);
}

gboolean
lia_org_store_tombstone_put (LiaOrgStore *store, const char *subscription, const char *record_id,
                             GError **error)
{
  return store->vtable->tombstone_put (store, subscription, record_id, error);
}

GHashTable *
lia_org_store_tombstone_load (LiaOrgStore *store, const char *subscription, GError **error)
{
  return store->vtable->tombstone_load (store, subscription, error);
}

gboolean
lia_org_store_tombstone_has (LiaOrgStore *store, const char *subscription, const char *record_id,
                             gboolean *out_has, GError **error)
{
  return store->vtable->tombstone_has (store, subscription, record_id, out_has, error);
}

void
lia_org_entry_free (LiaOrgEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->record_id);
  g_free (entry);
}

LiaCrmRecord *
lia_org_row_to_record (const LiaOrgRow *row, GError **error)
{
  g_autoptr (LiaItem) item = NULL;
  LiaCrmRecord *record;

  if ((guint) row->entity >= LIA_ENTITY_N || (guint) row->state >= LIA_RECORD_STATE_N)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Stored record \"%s\" is corrupt", row->id);
      return NULL;
    }
  item = lia_org_codec_decode (row->entity, row->fields, row->fields_len, error);
  if (item == NULL)
    return NULL;
  record = lia_crm_record_new_for_item (item);
  lia_crm_record_set_id (record, row->id);
  lia_crm_record_set_owner (record, row->owner);
  lia_crm_record_set_state (record, row->state);
  lia_crm_record_set_modified_on (record, row->modified_on);
  lia_crm_record_set_version (record, row->version);
  lia_crm_record_set_email (record, row->email);
  return record;
}

gboolean
lia_org_store_email_message_get (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                 char **out_record_id, GError **error)
{
  return store->vtable->email_message_get (store, message_id, owner_id, out_record_id, error);
}

gboolean
lia_org_store_email_message_put (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                 const char *record_id, GError **error)
{
  return store->vtable->email_message_put (store, message_id, owner_id, record_id, error);
}

gboolean
lia_org_store_email_tracker_put (LiaOrgStore *store, const char *user_id, const char *record_id,
                                 gint64 seen_version, GError **error)
{
  return store->vtable->email_tracker_put (store, user_id, record_id, seen_version, error);
}

GPtrArray *
lia_org_store_email_tracked_since (LiaOrgStore *store, const char *user_id, gint64 since_version, guint limit,
                                   gint64 *out_last_version, GError **error)
{
  return store->vtable->email_tracked_since (store, user_id, since_version, limit, out_last_version, error);
}
