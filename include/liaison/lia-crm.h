/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <gio/gio.h>
#include <liaison/lia-item.h>

G_BEGIN_DECLS

/* The protocol types the client and the org service share: records, sync
 * summaries and pages, users, subscriptions, filters, and LiaCrm, the one
 * connector interface with an embedded and an http implementation. */

/**
 * LiaRecordState:
 * @LIA_RECORD_STATE_OPEN: open (contacts and other non-activities are always open)
 * @LIA_RECORD_STATE_SCHEDULED: scheduled (appointments)
 * @LIA_RECORD_STATE_COMPLETED: completed or closed
 * @LIA_RECORD_STATE_CANCELED: canceled
 * @LIA_RECORD_STATE_N: the number of states
 *
 * A CRM record's state. Stored by the org service: append only.
 */
typedef enum
{
  LIA_RECORD_STATE_OPEN,
  LIA_RECORD_STATE_SCHEDULED,
  LIA_RECORD_STATE_COMPLETED,
  LIA_RECORD_STATE_CANCELED,
  LIA_RECORD_STATE_N
} LiaRecordState;

LIA_API const char *lia_record_state_to_string (LiaRecordState state);
LIA_API gboolean lia_record_state_from_string (const char *name, LiaRecordState *out_state);

/**
 * LiaCrmRecord:
 *
 * One CRM record: a #LiaItem (the synchronized fields) plus what the org
 * service keeps beside them: id (a UUID), version (monotonic per org),
 * owner (a user id), state, modified-on, and an email address for entities
 * whose field set has none (accounts, leads: used to resolve senders).
 * Not thread-safe.
 */
typedef struct _LiaCrmRecord LiaCrmRecord;

/**
 * lia_crm_record_new:
 * @entity: an entity other than %LIA_ENTITY_N
 *
 * Returns: (transfer full): a record without id, version 0, state open.
 */
LIA_API LiaCrmRecord *lia_crm_record_new (LiaEntity entity);

/**
 * lia_crm_record_new_for_item:
 * @item: (transfer none): the fields, copied
 *
 * Returns: (transfer full): a record holding a copy of @item.
 */
LIA_API LiaCrmRecord *lia_crm_record_new_for_item (const LiaItem *item);
LIA_API LiaCrmRecord *lia_crm_record_copy (const LiaCrmRecord *record);
LIA_API void lia_crm_record_free (LiaCrmRecord *record);

LIA_API LiaEntity lia_crm_record_get_entity (const LiaCrmRecord *record);
/**
 * lia_crm_record_get_item:
 * @record: a record
 *
 * Returns: (transfer none): the record's fields; change them in place.
 */
LIA_API LiaItem *lia_crm_record_get_item (const LiaCrmRecord *record);
LIA_API const char *lia_crm_record_get_id (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_id (LiaCrmRecord *record, const char *id);
LIA_API gint64 lia_crm_record_get_version (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_version (LiaCrmRecord *record, gint64 version);
LIA_API const char *lia_crm_record_get_owner (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_owner (LiaCrmRecord *record, const char *owner);
LIA_API LiaRecordState lia_crm_record_get_state (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_state (LiaCrmRecord *record, LiaRecordState state);
LIA_API gint64 lia_crm_record_get_modified_on (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_modified_on (LiaCrmRecord *record, gint64 modified_on_us);
LIA_API const char *lia_crm_record_get_email (const LiaCrmRecord *record);
LIA_API void lia_crm_record_set_email (LiaCrmRecord *record, const char *email);

/**
 * lia_crm_record_dup_name:
 * @record: a record
 *
 * Returns: (transfer full): the display name: a contact's full name (or
 *   given and family name), an activity's subject, the name of the
 *   regarding-only entities; "" when there is none.
 */
LIA_API char *lia_crm_record_dup_name (const LiaCrmRecord *record);

/**
 * LiaSyncOp:
 * @LIA_SYNC_OP_CREATE: the record is new to this subscription
 * @LIA_SYNC_OP_UPDATE: the record changed since it was last sent
 * @LIA_SYNC_OP_DELETE: the record was deleted or left the filters
 * @LIA_SYNC_OP_N: the number of operations
 */
typedef enum
{
  LIA_SYNC_OP_CREATE,
  LIA_SYNC_OP_UPDATE,
  LIA_SYNC_OP_DELETE,
  LIA_SYNC_OP_N
} LiaSyncOp;

LIA_API const char *lia_sync_op_to_string (LiaSyncOp op);
LIA_API gboolean lia_sync_op_from_string (const char *name, LiaSyncOp *out_op);

/**
 * LiaSyncSummary:
 *
 * What PrepareSync found for one subscription: per entity, how many
 * creates, updates and deletes wait in GetSyncData.
 */
typedef struct _LiaSyncSummary LiaSyncSummary;

LIA_API LiaSyncSummary *lia_sync_summary_new (void);
LIA_API void lia_sync_summary_free (LiaSyncSummary *summary);
LIA_API void lia_sync_summary_add (LiaSyncSummary *summary, LiaEntity entity, LiaSyncOp op, guint count);
LIA_API guint lia_sync_summary_get (const LiaSyncSummary *summary, LiaEntity entity, LiaSyncOp op);
/**
 * lia_sync_summary_get_total:
 * @summary: a summary
 *
 * Returns: the number of changes over every entity and operation.
 */
LIA_API guint lia_sync_summary_get_total (const LiaSyncSummary *summary);

/**
 * LiaSyncChange:
 * @op: what happened
 * @entity: the record's entity
 * @id: the record's id
 * @version: the version sent (for deletes: the last version sent)
 * @record: (nullable): the record with the fields this user may read and
 *   that synchronize; %NULL for deletes
 *
 * One change of a #LiaSyncPage; the page owns it.
 */
typedef struct
{
  LiaSyncOp op;
  LiaEntity entity;
  char *id;
  gint64 version;
  LiaCrmRecord *record;
} LiaSyncChange;

/**
 * LiaSyncPage:
 *
 * One page of GetSyncData: changes in id order, whether more follow
 * (the page was truncated) and the cursor to resume after.
 */
typedef struct _LiaSyncPage LiaSyncPage;

LIA_API LiaSyncPage *lia_sync_page_new (LiaEntity entity);
LIA_API void lia_sync_page_free (LiaSyncPage *page);
LIA_API LiaEntity lia_sync_page_get_entity (const LiaSyncPage *page);
LIA_API guint lia_sync_page_get_n_changes (const LiaSyncPage *page);
/**
 * lia_sync_page_get_change:
 * @page: a page
 * @index: below lia_sync_page_get_n_changes()
 *
 * Returns: (transfer none): the change.
 */
LIA_API const LiaSyncChange *lia_sync_page_get_change (const LiaSyncPage *page, guint index);
/**
 * lia_sync_page_add:
 * @page: a page
 * @op: the operation
 * @id: the record id
 * @version: the version
 * @record: (nullable) (transfer full): the record, for creates and updates
 */
LIA_API void lia_sync_page_add (LiaSyncPage *page, LiaSyncOp op, const char *id, gint64 version,
                                LiaCrmRecord *record);
LIA_API gboolean lia_sync_page_get_more (const LiaSyncPage *page);
LIA_API void lia_sync_page_set_more (LiaSyncPage *page, gboolean more);
/**
 * lia_sync_page_get_cursor:
 * @page: a page
 *
 * Returns: (transfer none) (nullable): pass it to the next GetSyncData to
 *   resume after this page; %NULL when the page is empty.
 */
LIA_API const char *lia_sync_page_get_cursor (const LiaSyncPage *page);

/**
 * LiaCrmUser:
 * @id: the user's id (a UUID)
 * @name: the login name
 * @email: (nullable): the primary email address
 * @admin: whether the user has the admin role
 * @approved: whether the admin approved the user's email address
 *
 * A CRM user as the org service describes it.
 */
typedef struct
{
  char *id;
  char *name;
  char *email;
  gboolean admin;
  gboolean approved;
} LiaCrmUser;

LIA_API void lia_crm_user_free (LiaCrmUser *user);

/**
 * LiaCrmSubscription:
 * @id: the subscription id (a UUID)
 * @client: the client's name as it registered
 * @primary: whether this client is the user's synchronizing client
 *   (R-ROLE-ONE-PRIMARY)
 *
 * One client's sync state on the server (the SyncEntry set).
 */
typedef struct
{
  char *id;
  char *client;
  gboolean primary;
} LiaCrmSubscription;

LIA_API void lia_crm_subscription_free (LiaCrmSubscription *subscription);

/**
 * LiaCrmFilter:
 * @id: the filter id (a UUID)
 * @entity: the entity it selects
 * @name: its display name
 * @xml: the filter in the filter language (docs/protocol.md)
 * @system: %TRUE for an org-wide filter set by an admin
 * @enabled: whether it takes part in PrepareSync
 *
 * One sync filter.
 */
typedef struct
{
  char *id;
  LiaEntity entity;
  char *name;
  char *xml;
  gboolean system;
  gboolean enabled;
} LiaCrmFilter;

LIA_API void lia_crm_filter_free (LiaCrmFilter *filter);

/**
 * LiaCrmMatch:
 * @entity: the record's entity (%LIA_ENTITY_N for a CRM user)
 * @id: the record's (or user's) id
 * @name: its display name
 * @address: (nullable): the address it matched, for resolution
 *
 * A search or email-resolution result.
 */
typedef struct
{
  LiaEntity entity;
  char *id;
  char *name;
  char *address;
} LiaCrmMatch;

LIA_API void lia_crm_match_free (LiaCrmMatch *match);

#define LIA_TYPE_CRM (lia_crm_get_type ())
LIA_API
G_DECLARE_INTERFACE (LiaCrm, lia_crm, LIA, CRM, GObject)

/**
 * LiaCrmInterface:
 *
 * The connector to a CRM organization. Every vfunc is a blocking call that
 * may run on any thread; the _async() wrappers run it on a worker thread.
 * Errors: %LIA_ERROR_AUTH, %LIA_ERROR_FORBIDDEN, %LIA_ERROR_CONFLICT,
 * %LIA_ERROR_NOT_FOUND, %LIA_ERROR_INVALID, %LIA_ERROR_UNAVAILABLE.
 */
struct _LiaCrmInterface
{
  GTypeInterface g_iface;

  LiaCrmUser *(*whoami) (LiaCrm *crm, GCancellable *cancellable, GError **error);
  LiaCrmSubscription *(*subscribe) (LiaCrm *crm, const char *client, GCancellable *cancellable,
                                    GError **error);
  GPtrArray *(*list_subscriptions) (LiaCrm *crm, GCancellable *cancellable, GError **error);
  gboolean (*set_primary) (LiaCrm *crm, const char *subscription, GCancellable *cancellable, GError **error);
  LiaSyncSummary *(*prepare_sync) (LiaCrm *crm, const char *subscription, guint entity_mask,
                                   GCancellable *cancellable, GError **error);
  LiaSyncPage *(*get_sync_data) (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *cursor,
                                 guint max_changes, GCancellable *cancellable, GError **error);
  gboolean (*post_sync) (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *const *ids,
                         GCancellable *cancellable, GError **error);
  gboolean (*track) (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id, gboolean manual,
                     GCancellable *cancellable, GError **error);
  gboolean (*forget) (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
                      GCancellable *cancellable, GError **error);
  gboolean (*wait_changes) (LiaCrm *crm, const char *subscription, guint timeout_ms,
                            GCancellable *cancellable, GError **error);
  LiaCrmRecord *(*create) (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id,
                           GCancellable *cancellable, GError **error);
  LiaCrmRecord *(*retrieve) (LiaCrm *crm, LiaEntity entity, const char *id, GCancellable *cancellable,
                             GError **error);
  LiaCrmRecord *(*update) (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable,
                           GError **error);
  gboolean (*remove) (LiaCrm *crm, LiaEntity entity, const char *id, gint64 version,
                      GCancellable *cancellable, GError **error);
  GPtrArray *(*search) (LiaCrm *crm, const char *text, guint limit, GCancellable *cancellable,
                        GError **error);
  GPtrArray *(*resolve) (LiaCrm *crm, const char *const *addresses, GCancellable *cancellable,
                         GError **error);
  GPtrArray *(*list_filters) (LiaCrm *crm, GCancellable *cancellable, GError **error);
  LiaCrmFilter *(*add_filter) (LiaCrm *crm, LiaEntity entity, const char *name, const char *xml,
                               gboolean system, GCancellable *cancellable, GError **error);
  gboolean (*enable_filter) (LiaCrm *crm, const char *id, gboolean enabled, GCancellable *cancellable,
                             GError **error);
  gboolean (*remove_filter) (LiaCrm *crm, const char *id, GCancellable *cancellable, GError **error);
  GHashTable *(*get_settings) (LiaCrm *crm, GCancellable *cancellable, GError **error);
  gboolean (*set_setting) (LiaCrm *crm, const char *key, const char *value, GCancellable *cancellable,
                           GError **error);
  /* Email (appended: connectors without them fail with LIA_ERROR_FAILED). */
  GStrv (*allocate_tokens) (LiaCrm *crm, guint count, GCancellable *cancellable, GError **error);
  GPtrArray *(*email_changes) (LiaCrm *crm, gint64 since_version, guint limit, gint64 *out_last_version,
                               GCancellable *cancellable, GError **error);
  /* Appended: NULL falls back to create and track per item. */
  gboolean (*create_tracked) (LiaCrm *crm, const char *subscription, const LiaCrmRecord *const *records,
                              const char *const *request_ids, guint n, LiaCrmRecord **out_records,
                              GError **out_errors, GCancellable *cancellable, GError **error);
};

/**
 * lia_crm_whoami_sync:
 * @crm: a connector
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the authenticated user, or %NULL with
 *   %LIA_ERROR_AUTH or %LIA_ERROR_UNAVAILABLE.
 */
LIA_API LiaCrmUser *lia_crm_whoami_sync (LiaCrm *crm, GCancellable *cancellable, GError **error);

/**
 * lia_crm_subscribe_sync:
 * @crm: a connector
 * @client: the client's name (host and profile), shown to the user
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Registers a client of the user. The first client of a user is primary.
 * Subscribing again with the same name returns the same subscription.
 *
 * Returns: (transfer full): the subscription.
 */
LIA_API LiaCrmSubscription *lia_crm_subscribe_sync (LiaCrm *crm, const char *client,
                                                    GCancellable *cancellable, GError **error);
/**
 * lia_crm_list_subscriptions_sync:
 *
 * Returns: (transfer full) (element-type LiaCrmSubscription): the caller's
 *   own subscriptions, never another user's.
 */
LIA_API GPtrArray *lia_crm_list_subscriptions_sync (LiaCrm *crm, GCancellable *cancellable, GError **error);
/**
 * lia_crm_set_primary_sync:
 *
 * Designates @subscription as the user's synchronizing client and demotes
 * the previous one (R-ROLE-ONE-PRIMARY).
 */
LIA_API gboolean lia_crm_set_primary_sync (LiaCrm *crm, const char *subscription, GCancellable *cancellable,
                                           GError **error);
/**
 * lia_crm_prepare_sync_sync:
 * @crm: a connector
 * @subscription: the subscription id
 * @entity_mask: bit (1 << entity) for each entity to prepare (R-SET-ITEMTYPES)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * PrepareSync: computes what changed for this subscription since its last
 * acknowledged sync. Changes not yet acknowledged stay pending.
 *
 * Returns: (transfer full): the counts per entity.
 */
LIA_API LiaSyncSummary *lia_crm_prepare_sync_sync (LiaCrm *crm, const char *subscription, guint entity_mask,
                                                   GCancellable *cancellable, GError **error);
/**
 * lia_crm_get_sync_data_sync:
 * @crm: a connector
 * @subscription: the subscription id
 * @entity: the entity
 * @cursor: (nullable): lia_sync_page_get_cursor() of the previous page
 * @max_changes: page size, 1..1000
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): one page of pending changes.
 */
LIA_API LiaSyncPage *lia_crm_get_sync_data_sync (LiaCrm *crm, const char *subscription, LiaEntity entity,
                                                 const char *cursor, guint max_changes,
                                                 GCancellable *cancellable, GError **error);
/**
 * lia_crm_post_sync_sync:
 * @ids: (array zero-terminated=1): the record ids the client processed
 *
 * PostSync: acknowledges changes so they are not returned again.
 */
LIA_API gboolean lia_crm_post_sync_sync (LiaCrm *crm, const char *subscription, LiaEntity entity,
                                         const char *const *ids, GCancellable *cancellable, GError **error);
/**
 * lia_crm_track_sync:
 * @manual: %TRUE to keep the record in the subscription whatever the
 *   filters say (R-MARK-MANUAL-KEEPS); %FALSE to drop that mark
 *
 * Records that the client holds @id because the user tracked it by hand.
 */
LIA_API gboolean lia_crm_track_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
                                     gboolean manual, GCancellable *cancellable, GError **error);
/**
 * lia_crm_forget_sync:
 *
 * The client deleted its copy of @id: the server remembers it and does not
 * send the record back to this subscription (R-DEL-OUT-REMEMBER).
 */
LIA_API gboolean lia_crm_forget_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
                                      GCancellable *cancellable, GError **error);
/**
 * lia_crm_wait_changes_sync:
 * @timeout_ms: how long to wait at most
 *
 * Push (R-DET-PUSH): returns as soon as a record in the subscription's
 * reach changed since its last PrepareSync.
 *
 * Returns: %TRUE when something changed, %FALSE on timeout (no error) or
 *   failure (@error set).
 */
LIA_API gboolean lia_crm_wait_changes_sync (LiaCrm *crm, const char *subscription, guint timeout_ms,
                                            GCancellable *cancellable, GError **error);
/**
 * lia_crm_create_sync:
 * @record: the record to create; its id may be preset (imports), its
 *   owner defaults to the caller
 * @request_id: (nullable): a client-chosen id that makes a retried create
 *   return the first result instead of a duplicate
 *
 * Returns: (transfer full): the record as stored (id, version, owner).
 */
LIA_API LiaCrmRecord *lia_crm_create_sync (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id,
                                           GCancellable *cancellable, GError **error);
/**
 * lia_crm_retrieve_sync:
 *
 * Returns: (transfer full): the record, with the fields the caller may read.
 */
LIA_API LiaCrmRecord *lia_crm_retrieve_sync (LiaCrm *crm, LiaEntity entity, const char *id,
                                             GCancellable *cancellable, GError **error);
/**
 * lia_crm_update_sync:
 * @record: the record; its version is the version the caller read
 *
 * Updates the fields present in @record. A stale version fails with
 * %LIA_ERROR_CONFLICT and changes nothing.
 *
 * Returns: (transfer full): the record as stored, with its new version.
 */
LIA_API LiaCrmRecord *lia_crm_update_sync (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable,
                                           GError **error);
/**
 * lia_crm_delete_sync:
 * @version: the version the caller read, or 0 to delete whatever it is
 */
LIA_API gboolean lia_crm_delete_sync (LiaCrm *crm, LiaEntity entity, const char *id, gint64 version,
                                      GCancellable *cancellable, GError **error);
/**
 * lia_crm_search_sync:
 * @text: a name prefix or substring
 * @limit: at most this many results (1..100)
 *
 * The Set Regarding picker: accounts, contacts, leads, opportunities and
 * cases whose name starts with @text first, then those containing it.
 *
 * Returns: (transfer full) (element-type LiaCrmMatch): the matches.
 */
LIA_API GPtrArray *lia_crm_search_sync (LiaCrm *crm, const char *text, guint limit, GCancellable *cancellable,
                                        GError **error);
/**
 * lia_crm_resolve_sync:
 * @addresses: (array zero-terminated=1): email addresses
 *
 * Returns: (transfer full) (element-type LiaCrmMatch): the contacts, leads,
 *   accounts and users with those addresses; unresolved ones are absent.
 */
LIA_API GPtrArray *lia_crm_resolve_sync (LiaCrm *crm, const char *const *addresses, GCancellable *cancellable,
                                         GError **error);
/**
 * lia_crm_list_filters_sync:
 *
 * Returns: (transfer full) (element-type LiaCrmFilter): the system filters
 *   and the caller's own filters.
 */
LIA_API GPtrArray *lia_crm_list_filters_sync (LiaCrm *crm, GCancellable *cancellable, GError **error);
/**
 * lia_crm_add_filter_sync:
 * @system: %TRUE for an org-wide filter (admins only)
 *
 * Returns: (transfer full): the new filter; invalid XML fails with
 *   %LIA_ERROR_INVALID naming the problem.
 */
LIA_API LiaCrmFilter *lia_crm_add_filter_sync (LiaCrm *crm, LiaEntity entity, const char *name,
                                               const char *xml, gboolean system, GCancellable *cancellable,
                                               GError **error);
LIA_API gboolean lia_crm_enable_filter_sync (LiaCrm *crm, const char *id, gboolean enabled,
                                             GCancellable *cancellable, GError **error);
LIA_API gboolean lia_crm_remove_filter_sync (LiaCrm *crm, const char *id, GCancellable *cancellable,
                                             GError **error);
/**
 * lia_crm_get_settings_sync:
 *
 * Returns: (transfer full) (element-type utf8 utf8): the org settings.
 */
LIA_API GHashTable *lia_crm_get_settings_sync (LiaCrm *crm, GCancellable *cancellable, GError **error);
/**
 * lia_crm_set_setting_sync:
 *
 * Changes an org setting (admins only).
 */
LIA_API gboolean lia_crm_set_setting_sync (LiaCrm *crm, const char *key, const char *value,
                                           GCancellable *cancellable, GError **error);

/**
 * lia_crm_allocate_tokens_sync:
 * @count: how many, 1..1000
 *
 * R-MAIL-CORRELATE-TOKEN: fresh tracking tokens in the org's format
 * (settings "tracking-token-prefix" and "tracking-token-digits"), such as
 * "CRM:0001001", for the subjects of tracked outgoing mail. Refused with
 * %LIA_ERROR_FORBIDDEN for users the org does not process email for
 * (R-MAIL-APPROVED).
 *
 * Returns: (transfer full) (array zero-terminated=1): the tokens.
 */
LIA_API GStrv lia_crm_allocate_tokens_sync (LiaCrm *crm, guint count, GCancellable *cancellable,
                                            GError **error);
/**
 * lia_crm_email_changes_sync:
 * @since_version: 0, or the @out_last_version of the previous call
 * @limit: how many tracked emails to scan at most, 1..1000
 * @out_last_version: (out): where to continue next time
 *
 * R-MAIL-TAGGING: the emails the caller tracked and is a party to (by its
 * own address; a distribution list is not expanded, R-MAIL-DL) that
 * changed since @since_version, oldest change first. Fewer than @limit
 * scanned means the caller is up to date.
 *
 * Returns: (transfer full) (element-type LiaCrmRecord): the emails.
 */
LIA_API GPtrArray *lia_crm_email_changes_sync (LiaCrm *crm, gint64 since_version, guint limit,
                                               gint64 *out_last_version, GCancellable *cancellable,
                                               GError **error);

/**
 * LIA_CRM_BATCH_MAX:
 *
 * The most items lia_crm_create_tracked_sync() takes in one call.
 */
#define LIA_CRM_BATCH_MAX 1000

/**
 * lia_crm_create_tracked_sync:
 * @crm: a connector
 * @subscription: the subscription id
 * @records: (array length=n): the records to create
 * @request_ids: (array length=n) (nullable): a request id per record (see
 *   lia_crm_create_sync()); %NULL for none
 * @n: how many, 0..%LIA_CRM_BATCH_MAX
 * @out_records: (array length=n) (out caller-allocates): the caller's
 *   array of @n, zeroed; slot i receives (transfer full) the record as
 *   stored, or stays %NULL
 * @out_errors: (array length=n) (out caller-allocates): the caller's
 *   array of @n, zeroed; slot i receives (transfer full) why item i failed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * R-MAIL-BULK: for each record, lia_crm_create_sync() with its request id
 * then lia_crm_track_sync() of the created record with @manual %TRUE, with
 * the same rules (a retried request id returns the first record,
 * R-MAIL-DEDUPE, R-MAIL-APPROVED, field security). A connector may do the
 * whole batch in one org transaction (the embedded connector does; the
 * http connector does one per request, a request carrying about 4 MiB of
 * records); an item that fails is undone alone and gets its error in
 * @out_errors, the others are kept.
 *
 * A failure that ends the batch (the org unreachable or its store failing,
 * %LIA_ERROR_UNAVAILABLE, %LIA_ERROR_STORE, %LIA_ERROR_AUTH, cancellation,
 * or more than %LIA_CRM_BATCH_MAX items with %LIA_ERROR_INVALID) returns
 * %FALSE with @error. Items that have a record in @out_records were made
 * and tracked before it (a connector without the batch call makes them one
 * by one); the others were not, or not knowingly: retry them with the same
 * request ids.
 *
 * Returns: %TRUE when every item has its record or its error.
 */
LIA_API gboolean lia_crm_create_tracked_sync (LiaCrm *crm, const char *subscription,
                                              const LiaCrmRecord *const *records,
                                              const char *const *request_ids, guint n,
                                              LiaCrmRecord **out_records, GError **out_errors,
                                              GCancellable *cancellable, GError **error);

/* Asynchronous twins of the calls a sync cycle makes; each runs the
 * blocking call on a worker thread. */
LIA_API void lia_crm_prepare_sync_async (LiaCrm *crm, const char *subscription, guint entity_mask,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
LIA_API LiaSyncSummary *lia_crm_prepare_sync_finish (LiaCrm *crm, GAsyncResult *result, GError **error);
LIA_API void lia_crm_get_sync_data_async (LiaCrm *crm, const char *subscription, LiaEntity entity,
                                          const char *cursor, guint max_changes, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
LIA_API LiaSyncPage *lia_crm_get_sync_data_finish (LiaCrm *crm, GAsyncResult *result, GError **error);
LIA_API void lia_crm_post_sync_async (LiaCrm *crm, const char *subscription, LiaEntity entity,
                                      const char *const *ids, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
LIA_API gboolean lia_crm_post_sync_finish (LiaCrm *crm, GAsyncResult *result, GError **error);
LIA_API void lia_crm_create_async (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
LIA_API LiaCrmRecord *lia_crm_create_finish (LiaCrm *crm, GAsyncResult *result, GError **error);
LIA_API void lia_crm_update_async (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
LIA_API LiaCrmRecord *lia_crm_update_finish (LiaCrm *crm, GAsyncResult *result, GError **error);
LIA_API void lia_crm_wait_changes_async (LiaCrm *crm, const char *subscription, guint timeout_ms,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
LIA_API gboolean lia_crm_wait_changes_finish (LiaCrm *crm, GAsyncResult *result, GError **error);

/**
 * lia_crm_http_new:
 * @base_url: the server, such as "http://127.0.0.1:8642/"
 * @token: the user's bearer token
 * @error: return location for a #GError
 *
 * The http connector: XML over HTTP/1.1 to liaison-server, with timeouts
 * and retries with backoff for idempotent calls.
 *
 * Returns: (transfer full): the connector, or %NULL with
 *   %LIA_ERROR_INVALID for a URL that does not parse.
 */
LIA_API LiaCrm *lia_crm_http_new (const char *base_url, const char *token, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCrmRecord, lia_crm_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaSyncSummary, lia_sync_summary_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaSyncPage, lia_sync_page_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCrmUser, lia_crm_user_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCrmSubscription, lia_crm_subscription_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCrmFilter, lia_crm_filter_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCrmMatch, lia_crm_match_free)

G_END_DECLS
