/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The org store: every byte of SQL of the org service sits behind these
 * functions, and nothing above them knows which database is underneath.
 * Each call dispatches through the store's vtable (lia-org-store-backend.h):
 * lia-org-store-sqlite.c is the SQLite store (the embedded default and
 * liaison-server); a PostgreSQL store fills the same vtable and
 * lia_org_store_open() picks it by its URI, so the sync logic
 * (lia-org-sync.c) and the service (lia-org-service.c) do not change.
 *
 * Contract: a store is used by one thread at a time (the service holds its
 * lock around every call); writes happen between lia_org_store_begin() and
 * lia_org_store_commit(), and lia_org_store_rollback() undoes all of them,
 * so a rejected request changes nothing. Failures are %LIA_ERROR_STORE. */

typedef struct _LiaOrgStore LiaOrgStore;

/* One stored record, as the store hands it to a scan: borrowed strings and
 * the encoded fields (lia-org-codec.h), decoded only when needed. */
typedef struct
{
  const char *id;
  LiaEntity entity;
  const char *owner;
  LiaRecordState state;
  gint64 modified_on;
  gint64 version;
  gboolean deleted;
  const char *email;
  const void *fields;
  gsize fields_len;
} LiaOrgRow;

/* A scan callback; returning FALSE stops the scan with @error set. */
typedef gboolean (*LiaOrgRowFunc) (const LiaOrgRow *row, gpointer user_data, GError **error);

/* What a subscription holds of one record (a SyncEntry row). @pending is
 * -1 when nothing waits, or the LiaSyncOp GetSyncData will return. */
typedef struct
{
  char *record_id;
  LiaEntity entity;
  gint64 sent_version;
  gboolean manual;
  gint pending;
  gint64 pending_version;
} LiaOrgEntry;

void lia_org_entry_free (LiaOrgEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgEntry, lia_org_entry_free)

LiaOrgStore *lia_org_store_open (const char *path, GError **error);
void lia_org_store_free (LiaOrgStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgStore, lia_org_store_free)
const char *lia_org_store_get_path (LiaOrgStore *store);

gboolean lia_org_store_begin (LiaOrgStore *store, GError **error);
gboolean lia_org_store_commit (LiaOrgStore *store, GError **error);
void lia_org_store_rollback (LiaOrgStore *store);
/* Opens a transaction in which each lia_org_store_begin() is a savepoint:
 * its lia_org_store_commit() keeps it for the batch, its
 * lia_org_store_rollback() undoes it alone. The batch ends with the
 * outermost commit (one transaction) or rollback (nothing changes). */
gboolean lia_org_store_begin_batch (LiaOrgStore *store, GError **error);

/* Counters: "version" (the org's record version), "filter-gen" (bumped on
 * any filter or security change that can move records in or out). */
gboolean lia_org_store_counter_next (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error);
gboolean lia_org_store_counter_get (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error);

/* Users and tokens (hashes only). */
gboolean lia_org_store_user_put (LiaOrgStore *store, const LiaCrmUser *user, GError **error);
LiaCrmUser *lia_org_store_user_get (LiaOrgStore *store, const char *id_or_name, GError **error);
GPtrArray *lia_org_store_user_list (LiaOrgStore *store, GError **error);
LiaCrmUser *lia_org_store_user_by_email (LiaOrgStore *store, const char *address, GError **error);
gboolean lia_org_store_token_put (LiaOrgStore *store, const char *hash, const char *user_id, gint64 now,
                                  GError **error);
gboolean lia_org_store_token_revoke (LiaOrgStore *store, const char *user_id, GError **error);
char *lia_org_store_token_user (LiaOrgStore *store, const char *hash, GError **error);
gboolean lia_org_store_delegate_put (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                                     gboolean allowed, GError **error);
gboolean lia_org_store_delegate_has (LiaOrgStore *store, const char *owner_id, const char *delegate_id,
                                     gboolean *out_has, GError **error);

/* Field-level security: per role name ("admin", "user"), entity and field,
 * readable and updatable flags; no row means both allowed. */
gboolean lia_org_store_fls_put (LiaOrgStore *store, const char *role, LiaEntity entity, const char *field,
                                gboolean can_read, gboolean can_update, GError **error);
/* Returns field name -> GINT_TO_POINTER (bit 0 readable, bit 1 updatable). */
GHashTable *lia_org_store_fls_get (LiaOrgStore *store, const char *role, LiaEntity entity, GError **error);

/* Records. lia_org_store_record_foreach() with @since_version -1 scans
 * every live record of @entity, else every record (deleted ones too) whose
 * version passed @since_version. A deleted record stays as a row with @deleted set and a new
 * version, so incremental PrepareSync sees the deletion. */
gboolean lia_org_store_record_get (LiaOrgStore *store, const char *id, LiaCrmRecord **out_record,
                                   gboolean *out_deleted, GError **error);
gboolean lia_org_store_record_put (LiaOrgStore *store, const LiaCrmRecord *record, gboolean deleted,
                                   GError **error);
/* A record's entity, version and deletion without decoding its fields;
 * *@out_found FALSE when there is no such row. */
gboolean lia_org_store_record_head (LiaOrgStore *store, const char *id, gboolean *out_found,
                                    LiaEntity *out_entity, gint64 *out_version, gboolean *out_deleted,
                                    GError **error);
gboolean lia_org_store_record_foreach (LiaOrgStore *store, LiaEntity entity, gint64 since_version,
                                       LiaOrgRowFunc func, gpointer user_data, GError **error);
gboolean lia_org_store_max_version_since (LiaOrgStore *store, guint entity_mask, gint64 since_version,
                                          gboolean *out_any, GError **error);
GPtrArray *lia_org_store_record_search (LiaOrgStore *store, const char *folded_text, guint limit,
                                        GError **error);
GPtrArray *lia_org_store_record_resolve (LiaOrgStore *store, const char *folded_address, GError **error);
gboolean lia_org_store_request_get (LiaOrgStore *store, const char *user_id, const char *request_id,
                                    char **out_record_id, GError **error);
gboolean lia_org_store_request_put (LiaOrgStore *store, const char *user_id, const char *request_id,
                                    const char *record_id, GError **error);
LiaCrmRecord *lia_org_row_to_record (const LiaOrgRow *row, GError **error);

/* Filters: @owner_id NULL for system filters. */
gboolean lia_org_store_filter_put (LiaOrgStore *store, const char *owner_id, const LiaCrmFilter *filter,
                                   GError **error);
gboolean lia_org_store_filter_get (LiaOrgStore *store, const char *id, char **out_owner_id,
                                   LiaCrmFilter **out_filter, GError **error);
GPtrArray *lia_org_store_filter_list (LiaOrgStore *store, const char *user_id, gboolean all, GError **error);
gboolean lia_org_store_filter_delete (LiaOrgStore *store, const char *id, GError **error);

/* Org settings. */
char *lia_org_store_setting_get (LiaOrgStore *store, const char *key, GError **error);
gboolean lia_org_store_setting_set (LiaOrgStore *store, const char *key, const char *value, GError **error);
GHashTable *lia_org_store_setting_list (LiaOrgStore *store, GError **error);

/* Subscriptions and their entries. */
gboolean lia_org_store_subscription_put (LiaOrgStore *store, const char *user_id,
                                         const LiaCrmSubscription *subscription, gint64 now, GError **error);
gboolean lia_org_store_subscription_get (LiaOrgStore *store, const char *id, char **out_user_id,
                                         LiaCrmSubscription **out_subscription, GError **error);
GPtrArray *lia_org_store_subscription_list (LiaOrgStore *store, const char *user_id, GError **error);
gboolean lia_org_store_subscription_demote_all (LiaOrgStore *store, const char *user_id, GError **error);
/* R-ROLE-ROAMING: a subscription that is not the user's primary but asked
 * PrepareSync acts as primary (a roaming client); the mark stays.
 * *@out_roaming is FALSE for an unknown subscription. */
gboolean lia_org_store_subscription_set_roaming (LiaOrgStore *store, const char *id, GError **error);
gboolean lia_org_store_subscription_is_roaming (LiaOrgStore *store, const char *id, gboolean *out_roaming,
                                                GError **error);
gboolean lia_org_store_anchor_get (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                   gint64 *out_anchor, gint64 *out_filter_gen, GError **error);
gboolean lia_org_store_anchor_put (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                   gint64 anchor, gint64 filter_gen, GError **error);
GHashTable *lia_org_store_entry_load (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                      GError **error);
gboolean lia_org_store_entry_get (LiaOrgStore *store, const char *subscription, const char *record_id,
                                  LiaOrgEntry **out_entry, GError **error);
gboolean lia_org_store_entry_put (LiaOrgStore *store, const char *subscription, const LiaOrgEntry *entry,
                                  GError **error);
gboolean lia_org_store_entry_delete (LiaOrgStore *store, const char *subscription, const char *record_id,
                                     GError **error);
GPtrArray *lia_org_store_entry_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                        const char *after_id, guint limit, GError **error);
gboolean lia_org_store_entry_count_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                                            guint out_counts[LIA_SYNC_OP_N], GError **error);
gboolean lia_org_store_tombstone_put (LiaOrgStore *store, const char *subscription, const char *record_id,
                                      GError **error);
GHashTable *lia_org_store_tombstone_load (LiaOrgStore *store, const char *subscription, GError **error);
gboolean lia_org_store_tombstone_has (LiaOrgStore *store, const char *subscription, const char *record_id,
                                      gboolean *out_has, GError **error);

/* Email (R-MAIL-DEDUPE, R-MAIL-TAGGING). The CRM email of a Message-ID:
 * of @owner_id, or with @owner_id NULL the first live one of any owner;
 * *@out_record_id NULL when there is none. */
gboolean lia_org_store_email_message_get (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                          char **out_record_id, GError **error);
gboolean lia_org_store_email_message_put (LiaOrgStore *store, const char *message_id, const char *owner_id,
                                          const char *record_id, GError **error);
/* @user_id tracked @record_id (idempotent), and its request returned the
 * email at @seen_version (kept at the highest given). */
gboolean lia_org_store_email_tracker_put (LiaOrgStore *store, const char *user_id, const char *record_id,
                                          gint64 seen_version, GError **error);
/* Ids of live emails @user_id tracked whose version passed both
 * @since_version and the version the user's own request last returned
 * (R-MAIL-TAGGING: a change the user has not seen), oldest change first,
 * at most @limit. *@out_last_version: the version every email up to which
 * was considered (the newest email's when fewer than @limit came back),
 * the next call's @since_version. */
GPtrArray *lia_org_store_email_tracked_since (LiaOrgStore *store, const char *user_id, gint64 since_version,
                                              guint limit, gint64 *out_last_version, GError **error);

G_END_DECLS
