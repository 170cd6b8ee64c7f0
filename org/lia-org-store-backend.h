/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-store.h"

G_BEGIN_DECLS

/* For store implementers only (the "sys/" header of the store interface):
 * a store is a struct that starts with LiaOrgStore and fills the vtable.
 * lia-org-store.c dispatches every lia_org_store_*() call through it, so
 * adding a store (PostgreSQL) touches neither the service nor the sync
 * logic. Each slot has the contract of the function of the same name in
 * lia-org-store.h. */

#define LIA_ORG_STORE_VTABLE_VERSION 1

typedef struct
{
  guint abi_version;
  void (*free) (LiaOrgStore *store);
  const char *(*get_path) (LiaOrgStore *store);
  gboolean (*begin) (LiaOrgStore *store, GError **error);
  gboolean (*commit) (LiaOrgStore *store, GError **error);
  void (*rollback) (LiaOrgStore *store);
  gboolean (*counter_next) (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error);
  gboolean (*counter_get) (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error);
  gboolean (*user_put) (LiaOrgStore *store, const LiaCrmUser *user, GError **error);
  LiaCrmUser *(*user_get) (LiaOrgStore *store, const char *id_or_name, GError **error);
  GPtrArray *(*user_list) (LiaOrgStore *store, GError **error);
  LiaCrmUser *(*user_by_email) (LiaOrgStore *store, const char *address, GError **error);
  gboolean (*token_put) (LiaOrgStore *store, const char *hash, const char *user_id, gint64 now,
                         GError **error);
  gboolean (*token_revoke) (LiaOrgStore *store, const char *user_id, GError **error);
  char *(*token_user) (LiaOrgStore *store, const char *hash, GError **error);
  gboolean (*delegate_put) (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                            gboolean allowed, GError **error);
  gboolean (*delegate_has) (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                            gboolean *out_has, GError **error);
  gboolean (*fls_put) (LiaOrgStore *store, const char *role, LiaEntity entity, const char *field,
                       gboolean can_read, gboolean can_update, GError **error);
  GHashTable *(*fls_get) (LiaOrgStore *store, const char *role, LiaEntity entity, GError **error);
  gboolean (*record_get) (LiaOrgStore *store, const char *id, LiaCrmRecord **out_record,
                          gboolean *out_deleted, GError **error);
  gboolean (*record_put) (LiaOrgStore *store, const LiaCrmRecord *record, gboolean deleted, GError **error);
  gboolean (*record_head) (LiaOrgStore *store, const char *id, gboolean *out_found, LiaEntity *out_entity,
                           gint64 *out_version, gboolean *out_deleted, GError **error);
  gboolean (*record_foreach) (LiaOrgStore *store, LiaEntity entity, gint64 since_version, LiaOrgRowFunc func,
                              gpointer user_data, GError **error);
  gboolean (*max_version_since) (LiaOrgStore *store, guint entity_mask, gint64 since_version,
                                 gboolean *out_any, GError **error);
  GPtrArray *(*record_search) (LiaOrgStore *store, const char *folded_text, guint limit, GError **error);
  GPtrArray *(*record_resolve) (LiaOrgStore *store, const char *folded_address, GError **error);
  gboolean (*request_get) (LiaOrgStore *store, const char *user_id, const char *request_id,
                           char **out_record_id, GError **error);
  gboolean (*request_put) (LiaOrgStore *store, const char *user_id, const char *request_id,
                           const char *record_id, GError **error);
  gboolean (*filter_put) (LiaOrgStore *store, const char *owner_id, const LiaCrmFilter *filter,
                          GError **error);
  gboolean (*filter_get) (LiaOrgStore *store, const char *id, char **out_owner_id, LiaCrmFilter **out_filter,
                          GError **error);
  GPtrArray *(*filter_list) (LiaOrgStore *store, const char *user_id, gboolean all, GError **error);
  gboolean (*filter_delete) (LiaOrgStore *store, const char *id, GError **error);
  char *(*setting_get) (LiaOrgStore *store, const char *key, GError **error);
  gboolean (*setting_set) (LiaOrgStore *store, const char *key, const char *value, GError **error);
  GHashTable *(*setting_list) (LiaOrgStore *store, GError **error);
  gboolean (*subscription_put) (LiaOrgStore *store, const char *user_id,
                                const LiaCrmSubscription *subscription, gint64 now, GError **error);
  gboolean (*subscription_get) (LiaOrgStore *store, const char *id, char **out_user_id,
                                LiaCrmSubscription **out_subscription, GError **error);
  GPtrArray *(*subscription_list) (LiaOrgStore *store, const char *user_id, GError **error);
  gboolean (*subscription_demote_all) (LiaOrgStore *store, const char *user_id, GError **error);
  gboolean (*subscription_set_roaming) (LiaOrgStore *store, const char *id, GError **error);
  gboolean (*subscription_is_roaming) (LiaOrgStore *store, const char *id, gboolean *out_roaming,
                                       GError **error);
  gboolean (*anchor_get) (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 *out_anchor,
                          gint64 *out_filter_gen, GError **error);
  gboolean (*anchor_put) (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 anchor,
                          gint64 filter_gen, GError **error);
  GHashTable *(*entry_load) (LiaOrgStore *store, const char *subscription, LiaEntity entity, GError **error);
  gboolean (*entry_get) (LiaOrgStore *store, const char *subscription, const char *record_id,
                         LiaOrgEntry **out_entry, GError **error);
  gboolean (*entry_put) (LiaOrgStore *store, const char *subscription, const LiaOrgEntry *entry,
                         GError **error);
  gboolean (*entry_delete) (LiaOrgStore *store, const char *subscription, const char *record_id,
                            GError **error);
  GPtrArray *(*entry_pending) (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                               const char *after_id, guint limit, GError **error);
  gboolean (*entry_count_pending) (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                   guint out_counts[LIA_SYNC_OP_N], GError **error);
  gboolean (*tombstone_put) (LiaOrgStore *store, const char *subscription, const char *record_id,
                             GError **error);
  GHashTable *(*tombstone_load) (LiaOrgStore *store, const char *subscription, GError **error);
  gboolean (*tombstone_has) (LiaOrgStore *store, const char *subscription, const char *record_id,
                             gboolean *out_has, GError **error);
  gboolean (*email_message_get) (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                 char **out_record_id, GError **error);
  gboolean (*email_message_put) (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                 const char *record_id, GError **error);
  gboolean (*email_tracker_put) (LiaOrgStore *store, const char *user_id, const char *record_id,
                                 gint64 seen_version, GError **error);
  GPtrArray *(*email_tracked_since) (LiaOrgStore *store, const char *user_id, gint64 since_version,
                                     guint limit, gint64 *out_last_version, GError **error);
  /* Appended: NULL in a store without batches. */
  gboolean (*begin_batch) (LiaOrgStore *store, GError **error);
} LiaOrgStoreVTable;

struct _LiaOrgStore
{
  const LiaOrgStoreVTable *vtable; /* borrowed: static */
};

/* The SQLite store (lia-org-store-sqlite.c). */
LiaOrgStore *lia_org_store_sqlite_open (const char *path, GError **error);

G_END_DECLS
