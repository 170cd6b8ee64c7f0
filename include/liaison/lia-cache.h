/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-clock.h>
#include <liaison/lia-entity.h>
#include <liaison/lia-field.h>

G_BEGIN_DECLS

/**
 * LiaCache:
 *
 * The client's sync cache: one SQLite file per host profile and org holding
 * the id mapping, the change queue, originals, watermarks, settings and the
 * journal (docs/cache.md). Every function may be called from any thread at
 * the same time, except lia_cache_close(). Writes are group-committed by one
 * writer thread: a function that writes returns only once its change is
 * durable on disk, and concurrent writers share one fsync.
 */
typedef struct _LiaCache LiaCache;

/**
 * LIA_CACHE_SCHEMA_VERSION:
 *
 * The schema version this library writes (`PRAGMA user_version`). A file
 * with a newer version is refused; an older one is migrated forward.
 */
#define LIA_CACHE_SCHEMA_VERSION 5

/**
 * LiaLinkState:
 * @LIA_LINK_STATE_NONE: 0, not tracked
 * @LIA_LINK_STATE_MARKED: 1, marked to be tracked, not yet linked to a CRM
 *   record (R-MARK-TRACK)
 * @LIA_LINK_STATE_TRACKED: 2, linked to a CRM record
 * @LIA_LINK_STATE_N: the number of states
 *
 * A host item's link state. The values are SPEC.md's and are stored in the
 * cache and on items: never renumber.
 */
typedef enum
{
  LIA_LINK_STATE_NONE = 0,
  LIA_LINK_STATE_MARKED = 1,
  LIA_LINK_STATE_TRACKED = 2,
  LIA_LINK_STATE_N
} LiaLinkState;

/**
 * lia_link_state_to_string:
 * @state: a link state
 *
 * Returns: (transfer none): "none", "marked" or "tracked"; "invalid" for
 *   values out of range.
 */
LIA_API const char *lia_link_state_to_string (LiaLinkState state);

/**
 * LiaLinkOrigin:
 * @LIA_LINK_ORIGIN_MANUAL: the user tracked the item (R-MARK-MANUAL-KEEPS)
 * @LIA_LINK_ORIGIN_FILTER: a sync filter brought the record (R-MARK-FILTER)
 * @LIA_LINK_ORIGIN_AUTO: email auto-tracking or correlation (R-MAIL-AUTO)
 * @LIA_LINK_ORIGIN_N: the number of origins
 *
 * How a mapping came to be. Stored in the cache: append only.
 */
typedef enum
{
  LIA_LINK_ORIGIN_MANUAL,
  LIA_LINK_ORIGIN_FILTER,
  LIA_LINK_ORIGIN_AUTO,
  LIA_LINK_ORIGIN_N
} LiaLinkOrigin;

/**
 * lia_link_origin_to_string:
 * @origin: a link origin
 *
 * Returns: (transfer none): "manual", "filter" or "auto"; "invalid" for
 *   values out of range.
 */
LIA_API const char *lia_link_origin_to_string (LiaLinkOrigin origin);

/**
 * LiaChangeOp:
 * @LIA_CHANGE_OP_CREATE: create the item or record on the other side
 * @LIA_CHANGE_OP_UPDATE: fields changed
 * @LIA_CHANGE_OP_DELETE: the item or record was deleted
 * @LIA_CHANGE_OP_TRACK: the user tracked the item (link state 1)
 * @LIA_CHANGE_OP_UNTRACK: the user untracked the item
 * @LIA_CHANGE_OP_REGARDING: Set Regarding
 * @LIA_CHANGE_OP_MOVE: the item moved to another folder or store
 * @LIA_CHANGE_OP_N: the number of operations
 *
 * What a queued change asks for. Stored in the cache: append only.
 */
typedef enum
{
  LIA_CHANGE_OP_CREATE,
  LIA_CHANGE_OP_UPDATE,
  LIA_CHANGE_OP_DELETE,
  LIA_CHANGE_OP_TRACK,
  LIA_CHANGE_OP_UNTRACK,
  LIA_CHANGE_OP_REGARDING,
  LIA_CHANGE_OP_MOVE,
  LIA_CHANGE_OP_N
} LiaChangeOp;

/**
 * lia_change_op_to_string:
 * @op: an operation
 *
 * Returns: (transfer none): "create", "update", "delete", "track",
 *   "untrack", "regarding" or "move"; "invalid" for values out of range.
 */
LIA_API const char *lia_change_op_to_string (LiaChangeOp op);

/**
 * lia_change_op_from_string:
 * @name: (nullable): an operation name
 * @out_op: (out): the operation
 *
 * Returns: %TRUE when @name is one of lia_change_op_to_string()'s names;
 *   @out_op is untouched otherwise.
 */
LIA_API gboolean lia_change_op_from_string (const char *name, LiaChangeOp *out_op);

/**
 * LIA_CACHE_OPTIONS_VERSION:
 *
 * The current version of #LiaCacheOptions.
 */
#define LIA_CACHE_OPTIONS_VERSION 1

/**
 * LiaCacheOptions:
 * @abi_version: %LIA_CACHE_OPTIONS_VERSION
 * @busy_timeout_ms: how long to wait for a lock held by another process or
 *   connection before failing with %LIA_ERROR_STORE; 0 means the default
 *   (5000 ms)
 *
 * Options of lia_cache_open(). Initialize with %LIA_CACHE_OPTIONS_INIT so
 * that fields added later get their defaults.
 */
typedef struct
{
  guint abi_version;
  guint busy_timeout_ms;
} LiaCacheOptions;

/**
 * LIA_CACHE_OPTIONS_INIT:
 *
 * Initializer for #LiaCacheOptions with every default.
 */
#define LIA_CACHE_OPTIONS_INIT   \
  {                              \
    LIA_CACHE_OPTIONS_VERSION, 0 \
  }

/**
 * LiaCacheMapping:
 * @store: the host store (account) id
 * @folder: the host folder id
 * @item_id: the host item id, unique in @store
 * @entity: the CRM entity of the item
 * @crm_id: (nullable): the CRM record id; %NULL only while @state is
 *   %LIA_LINK_STATE_MARKED or %LIA_LINK_STATE_NONE
 * @state: the link state
 * @origin: how the item was linked
 * @linked_at: when the mapping was first written (microseconds since the
 *   epoch; set by the cache)
 * @modified_at: when it was last written (set by the cache)
 *
 * One row of the id mapping. A (@store, @item_id) has at most one mapping
 * and a CRM record at most one item per store (R-DUP-NONE). Allocate with
 * lia_cache_mapping_new(): the struct may grow at its end.
 */
typedef struct
{
  char *store;
  char *folder;
  char *item_id;
  LiaEntity entity;
  char *crm_id;
  LiaLinkState state;
  LiaLinkOrigin origin;
  gint64 linked_at;
  gint64 modified_at;
} LiaCacheMapping;

/**
 * lia_cache_mapping_new:
 * @store: the host store id
 * @folder: the host folder id
 * @item_id: the host item id
 * @entity: the entity
 * @crm_id: (nullable): the CRM id
 * @state: the link state
 * @origin: how it was linked
 *
 * Returns: (transfer full): a mapping holding copies of the strings, with
 *   the times zero.
 */
LIA_API LiaCacheMapping *lia_cache_mapping_new (const char *store, const char *folder, const char *item_id,
                                                LiaEntity entity, const char *crm_id, LiaLinkState state,
                                                LiaLinkOrigin origin);

/**
 * lia_cache_mapping_copy:
 * @mapping: a mapping
 *
 * Returns: (transfer full): a deep copy.
 */
LIA_API LiaCacheMapping *lia_cache_mapping_copy (const LiaCacheMapping *mapping);

/**
 * lia_cache_mapping_free:
 * @mapping: (nullable) (transfer full): a mapping
 */
LIA_API void lia_cache_mapping_free (LiaCacheMapping *mapping);

/**
 * LiaCacheChange:
 * @id: the queue id, increasing in enqueue order and never reused; 0 before
 *   the change is enqueued
 * @direction: %LIA_DIRECTION_TO_CRM or %LIA_DIRECTION_TO_HOST
 * @op: the operation
 * @store: the host store id
 * @folder: (nullable): the host folder id
 * @item_id: (nullable): the host item id; %NULL for a record that has no
 *   host item yet
 * @entity: the entity
 * @crm_id: (nullable): the CRM id; %NULL for an item not yet in CRM. At least
 *   one of @item_id and @crm_id is set.
 * @payload: (nullable): what the engine needs to replay the change (for
 *   example the changed fields as OriginalXML); opaque to the cache
 * @enqueued_at: when it was enqueued (set by the cache)
 * @attempts: how many times it failed (set by the cache)
 * @next_attempt_at: when it is due. On enqueue, 0 means "now"; a later time
 *   defers it.
 * @last_error: (nullable): the message of the last failure (set by the cache)
 * @claimed_until: when the current claim expires; 0 when unclaimed (set by
 *   the cache)
 *
 * One row of the change queue. Allocate with lia_cache_change_new(): the
 * struct may grow at its end.
 */
typedef struct
{
  gint64 id;
  LiaDirection direction;
  LiaChangeOp op;
  char *store;
  char *folder;
  char *item_id;
  LiaEntity entity;
  char *crm_id;
  GBytes *payload;
  gint64 enqueued_at;
  guint attempts;
  gint64 next_attempt_at;
  char *last_error;
  gint64 claimed_until;
} LiaCacheChange;

/**
 * lia_cache_change_new:
 * @direction: %LIA_DIRECTION_TO_CRM or %LIA_DIRECTION_TO_HOST
 * @op: the operation
 * @store: the host store id
 * @item_id: (nullable): the host item id
 * @entity: the entity
 * @crm_id: (nullable): the CRM id
 *
 * The other fields start empty; set @folder, @payload or @next_attempt_at
 * directly (the struct owns them: g_strdup() and g_bytes_ref() them).
 *
 * Returns: (transfer full): a change not yet enqueued.
 */
LIA_API LiaCacheChange *lia_cache_change_new (LiaDirection direction, LiaChangeOp op, const char *store,
                                              const char *item_id, LiaEntity entity, const char *crm_id);

/**
 * lia_cache_change_copy:
 * @change: a change
 *
 * Returns: (transfer full): a deep copy (the payload is shared: #GBytes is
 *   immutable).
 */
LIA_API LiaCacheChange *lia_cache_change_copy (const LiaCacheChange *change);

/**
 * lia_cache_change_free:
 * @change: (nullable) (transfer full): a change
 */
LIA_API void lia_cache_change_free (LiaCacheChange *change);

/**
 * LiaCacheOriginal:
 * @store: the host store id
 * @item_id: the host item id; the item must be mapped
 * @xml: the OriginalXML of the last synchronized state
 * @host_version: (nullable): the host's revision of the item at that time
 * @host_modified_at: the host's last-modified time then (microseconds), or 0
 * @crm_version: the CRM record's version then, or 0
 * @crm_modified_at: the CRM record's modifiedon then (microseconds), or 0
 * @stored_at: when it was stored (set by the cache)
 * @crm_owner: (nullable): the CRM record's owner then; %NULL when unknown
 * @crm_state: the CRM record's state then (a #LiaRecordState value)
 *
 * The original of an item (R-MERGE-ORIGINAL). Allocate with
 * lia_cache_original_new(): the struct may grow at its end.
 */
typedef struct
{
  char *store;
  char *item_id;
  char *xml;
  char *host_version;
  gint64 host_modified_at;
  gint64 crm_version;
  gint64 crm_modified_at;
  gint64 stored_at;
  char *crm_owner;
  guint crm_state;
} LiaCacheOriginal;

/**
 * lia_cache_original_new:
 * @store: the host store id
 * @item_id: the host item id
 * @xml: the OriginalXML text
 *
 * Returns: (transfer full): an original with the versions and times unset.
 */
LIA_API LiaCacheOriginal *lia_cache_original_new (const char *store, const char *item_id, const char *xml);

/**
 * lia_cache_original_free:
 * @original: (nullable) (transfer full): an original
 */
LIA_API void lia_cache_original_free (LiaCacheOriginal *original);

/**
 * LiaCacheJournalEntry:
 * @id: increasing in append order; 0 before it is appended
 * @at: when it was appended (set by the cache)
 * @kind: a short token naming what happened ("sync-start", "created",
 *   "conflict", "error", ...)
 * @store: (nullable): the host store id it concerns
 * @item_id: (nullable): the host item id it concerns
 * @crm_id: (nullable): the CRM id it concerns
 * @message: one line for a person to read
 *
 * One line of the journal: what each sync did, for status, undo and
 * diagnostics. Allocate with lia_cache_journal_entry_new().
 */
typedef struct
{
  gint64 id;
  gint64 at;
  char *kind;
  char *store;
  char *item_id;
  char *crm_id;
  char *message;
} LiaCacheJournalEntry;

/**
 * lia_cache_journal_entry_new:
 * @kind: a short token
 * @message: one line of text
 *
 * Returns: (transfer full): an entry about nothing in particular; set
 *   @store, @item_id or @crm_id (g_strdup()) to say what it concerns.
 */
LIA_API LiaCacheJournalEntry *lia_cache_journal_entry_new (const char *kind, const char *message);

/**
 * lia_cache_journal_entry_free:
 * @entry: (nullable) (transfer full): an entry
 */
LIA_API void lia_cache_journal_entry_free (LiaCacheJournalEntry *entry);

/**
 * lia_cache_open:
 * @path: the cache file; created (with its parent directories) when missing
 * @clock: (nullable): where time comes from; %NULL for the system clock
 * @options: (nullable): options, or %NULL for the defaults
 * @error: return location for a #GError
 *
 * Opens the cache, migrating an older schema forward (each step in its own
 * transaction). Nothing is ever reset: a file that cannot be used is left
 * as it is and reported.
 *
 * Returns: (transfer full) (nullable): the cache, or %NULL with
 *   %LIA_ERROR_STORE (corrupt, not a Liaison cache, read-only, locked by
 *   another process, written by a newer Liaison, I/O error); the message
 *   names the file.
 */
LIA_API LiaCache *lia_cache_open (const char *path, LiaClock *clock, const LiaCacheOptions *options,
                                  GError **error);

/**
 * lia_cache_close:
 * @cache: (nullable) (transfer full): a cache
 *
 * Waits until every write already handed to the cache is committed and
 * acknowledged (callbacks of lia_cache_enqueue_async() are posted to their
 * contexts, which run them later), then closes the file. No other thread may
 * use @cache once this is called.
 */
LIA_API void lia_cache_close (LiaCache *cache);

/**
 * lia_cache_get_path:
 * @cache: a cache
 *
 * Returns: (transfer none): the file's path.
 */
LIA_API const char *lia_cache_get_path (LiaCache *cache);

/**
 * lia_cache_map:
 * @cache: a cache
 * @mapping: the mapping to write; its times are ignored
 * @error: return location for a #GError
 *
 * Inserts the mapping of (@mapping->store, @mapping->item_id), or replaces
 * it, keeping its first @linked_at.
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_CONFLICT when
 *   the CRM record is already linked to another item of the store
 *   (R-DUP-NONE), %LIA_ERROR_INVALID for a malformed mapping, or
 *   %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_map (LiaCache *cache, const LiaCacheMapping *mapping, GError **error);

/**
 * lia_cache_unmap:
 * @cache: a cache
 * @store: the host store id
 * @item_id: the host item id
 * @error: return location for a #GError
 *
 * Removes the mapping and, with it, the item's original.
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_NOT_FOUND when
 *   the item is not mapped, or %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_unmap (LiaCache *cache, const char *store, const char *item_id, GError **error);

/**
 * lia_cache_set_link_state:
 * @cache: a cache
 * @store: the host store id
 * @item_id: the host item id
 * @state: the new state
 * @crm_id: (nullable): the CRM id to record with it, or %NULL to keep the
 *   current one
 * @error: return location for a #GError
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_NOT_FOUND when
 *   the item is not mapped, %LIA_ERROR_CONFLICT when @crm_id is linked to
 *   another item of the store, %LIA_ERROR_INVALID when the state would be
 *   tracked without a CRM id, or %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_set_link_state (LiaCache *cache, const char *store, const char *item_id,
                                           LiaLinkState state, const char *crm_id, GError **error);

/**
 * lia_cache_lookup_item:
 * @cache: a cache
 * @store: the host store id
 * @item_id: the host item id
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the mapping, or %NULL with
 *   %LIA_ERROR_NOT_FOUND or %LIA_ERROR_STORE.
 */
LIA_API LiaCacheMapping *lia_cache_lookup_item (LiaCache *cache, const char *store, const char *item_id,
                                                GError **error);

/**
 * lia_cache_lookup_crm:
 * @cache: a cache
 * @store: the host store id
 * @entity: the entity
 * @crm_id: the CRM id
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the mapping of the host item linked
 *   to the CRM record in @store, or %NULL with %LIA_ERROR_NOT_FOUND or
 *   %LIA_ERROR_STORE.
 */
LIA_API LiaCacheMapping *lia_cache_lookup_crm (LiaCache *cache, const char *store, LiaEntity entity,
                                               const char *crm_id, GError **error);

/**
 * lia_cache_list_mappings:
 * @cache: a cache
 * @store: the host store id
 * @folder: (nullable): a folder id, or %NULL for the whole store
 * @error: return location for a #GError
 *
 * For reconciling the mapping against a folder's items (R-DET-DELETES).
 *
 * Returns: (transfer full) (element-type LiaCacheMapping) (nullable): the
 *   mappings ordered by item id, or %NULL with %LIA_ERROR_STORE.
 */
LIA_API GPtrArray *lia_cache_list_mappings (LiaCache *cache, const char *store, const char *folder,
                                            GError **error);

/**
 * lia_cache_enqueue:
 * @cache: a cache
 * @change: the change; its @id and the fields set by the cache are ignored
 * @out_id: (out) (optional): the new change's id
 * @error: return location for a #GError
 *
 * Appends a change to the queue and blocks until it is durable
 * (R-DET-QUEUE-DURABLE). Concurrent callers share one commit. For worker
 * threads; the host's main thread uses lia_cache_enqueue_async().
 *
 * Returns: %TRUE when the change is on disk; %FALSE with
 *   %LIA_ERROR_INVALID for a malformed change or %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_enqueue (LiaCache *cache, const LiaCacheChange *change, gint64 *out_id,
                                    GError **error);

/**
 * LiaCacheEnqueueFunc:
 * @id: the new change's id, or 0 on failure
 * @error: (nullable): %NULL on success; otherwise why the change is not in
 *   the queue
 * @user_data: the user data given to lia_cache_enqueue_async()
 *
 * Called when a change handed to lia_cache_enqueue_async() is durable or
 * has failed. It does not get the cache: the cache may be closed by then.
 */
typedef void (*LiaCacheEnqueueFunc) (gint64 id, const GError *error, gpointer user_data);

/**
 * lia_cache_enqueue_async:
 * @cache: a cache
 * @change: the change; copied
 * @callback: (nullable) (scope async): called once the change is durable
 * @user_data: (closure): data for @callback
 *
 * Hands a change to the writer and returns at once without disk I/O: what
 * the host's main thread calls (R-IMM-BACKGROUND). @callback runs on the
 * thread-default main context of the caller; the callbacks of one commit run
 * together from one source, in enqueue order.
 */
LIA_API void lia_cache_enqueue_async (LiaCache *cache, const LiaCacheChange *change,
                                      LiaCacheEnqueueFunc callback, gpointer user_data);

/**
 * lia_cache_claim:
 * @cache: a cache
 * @direction: %LIA_DIRECTION_TO_CRM, %LIA_DIRECTION_TO_HOST, or
 *   %LIA_DIRECTION_BOTH for either
 * @max_changes: the most changes to claim
 * @lease_us: how long the claim holds (microseconds); after that the
 *   changes are due again, so a claimer that crashed loses nothing
 * @error: return location for a #GError
 *
 * Claims the oldest due changes: due (@next_attempt_at not after now), not
 * claimed, and not behind an older queued change of the same item in the
 * same direction, so that the changes of one item are replayed in the order
 * they were made (R-OFF-QUEUE). Each claimed change must be completed with
 * lia_cache_complete() or failed with lia_cache_fail().
 *
 * Returns: (transfer full) (element-type LiaCacheChange) (nullable): the
 *   claimed changes, oldest first, possibly none; %NULL with
 *   %LIA_ERROR_STORE.
 */
LIA_API GPtrArray *lia_cache_claim (LiaCache *cache, LiaDirection direction, guint max_changes,
                                    gint64 lease_us, GError **error);

/**
 * lia_cache_release_claims:
 * @cache: a cache
 * @error: return location for a #GError
 *
 * Makes every claimed change claimable at once. For the one process that
 * syncs this cache, at its start: a claim then left in the file is that of
 * a predecessor killed mid-batch, and waiting out its lease would hold
 * those changes back (R-DET-QUEUE-DURABLE).
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_release_claims (LiaCache *cache, GError **error);

/**
 * lia_cache_complete:
 * @cache: a cache
 * @ids: (array length=n_ids): the ids of the changes done
 * @n_ids: the number of ids
 * @error: return location for a #GError
 *
 * Removes changes that were applied, all of them or none.
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_NOT_FOUND when
 *   one of them is not in the queue (then none is removed), or
 *   %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_complete (LiaCache *cache, const gint64 *ids, guint n_ids, GError **error);

/**
 * lia_cache_fail:
 * @cache: a cache
 * @id: the id of a change
 * @message: why it failed, one line
 * @out_next_attempt_at: (out) (optional): when it will be due again
 * @error: return location for a #GError
 *
 * Records a failure and releases the claim: the change stays queued, never
 * dropped (R-IMM-FALLBACK), and is due again after an exponential backoff
 * (30 s doubling per failure, at most one hour, minus a deterministic
 * jitter of up to a tenth so that failures of one burst spread out).
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_NOT_FOUND or
 *   %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_fail (LiaCache *cache, gint64 id, const char *message, gint64 *out_next_attempt_at,
                                 GError **error);

/**
 * LiaCacheChangeFilter:
 * @LIA_CACHE_CHANGES_ALL: every queued change
 * @LIA_CACHE_CHANGES_PENDING: the changes that never failed
 * @LIA_CACHE_CHANGES_FAILED: the changes that failed at least once
 *
 * Which queued changes lia_cache_count_changes() and
 * lia_cache_list_changes() consider (`liaison outbox`, R-OFF-STATUS).
 */
typedef enum
{
  LIA_CACHE_CHANGES_ALL,
  LIA_CACHE_CHANGES_PENDING,
  LIA_CACHE_CHANGES_FAILED,
} LiaCacheChangeFilter;

/**
 * lia_cache_count_changes:
 * @cache: a cache
 * @filter: which changes
 * @out_count: (out): how many
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; %FALSE with %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_count_changes (LiaCache *cache, LiaCacheChangeFilter filter, guint64 *out_count,
                                          GError **error);

/**
 * lia_cache_list_changes:
 * @cache: a cache
 * @filter: which changes
 * @limit: the most to return; 0 for all
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type LiaCacheChange) (nullable): the
 *   changes, oldest first, or %NULL with %LIA_ERROR_STORE.
 */
LIA_API GPtrArray *lia_cache_list_changes (LiaCache *cache, LiaCacheChangeFilter filter, guint limit,
                                           GError **error);

/**
 * lia_cache_lookup_change:
 * @cache: a cache
 * @id: a change id
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the queued change, or %NULL with
 *   %LIA_ERROR_NOT_FOUND (completed or never enqueued) or %LIA_ERROR_STORE.
 */
LIA_API LiaCacheChange *lia_cache_lookup_change (LiaCache *cache, gint64 id, GError **error);

/**
 * lia_cache_store_original:
 * @cache: a cache
 * @original: the original; its @stored_at is ignored
 * @error: return location for a #GError
 *
 * Inserts or replaces the original of a mapped item.
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_NOT_FOUND when
 *   the item is not mapped, or %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_store_original (LiaCache *cache, const LiaCacheOriginal *original, GError **error);

/**
 * lia_cache_load_original:
 * @cache: a cache
 * @store: the host store id
 * @item_id: the host item id
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the original, or %NULL with
 *   %LIA_ERROR_NOT_FOUND or %LIA_ERROR_STORE.
 */
LIA_API LiaCacheOriginal *lia_cache_load_original (LiaCache *cache, const char *store, const char *item_id,
                                                   GError **error);

/**
 * lia_cache_set_watermark:
 * @cache: a cache
 * @key: the watermark's key: by convention "folder:<store>/<folder>" for a
 *   folder's scan watermark and "anchor:<entity>" for a server anchor
 * @value: (nullable): the value; %NULL removes the watermark
 * @error: return location for a #GError
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_set_watermark (LiaCache *cache, const char *key, const char *value,
                                          GError **error);

/**
 * lia_cache_dup_watermark:
 * @cache: a cache
 * @key: the watermark's key
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with
 *   %LIA_ERROR_NOT_FOUND (never set) or %LIA_ERROR_STORE.
 */
LIA_API char *lia_cache_dup_watermark (LiaCache *cache, const char *key, GError **error);

/**
 * lia_cache_set_setting:
 * @cache: a cache
 * @key: the setting's name (SPEC section 9)
 * @value: (nullable): the value; %NULL removes the setting
 * @error: return location for a #GError
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_set_setting (LiaCache *cache, const char *key, const char *value, GError **error);

/**
 * lia_cache_dup_setting:
 * @cache: a cache
 * @key: the setting's name
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with
 *   %LIA_ERROR_NOT_FOUND (never set) or %LIA_ERROR_STORE.
 */
LIA_API char *lia_cache_dup_setting (LiaCache *cache, const char *key, GError **error);

/**
 * lia_cache_append_journal:
 * @cache: a cache
 * @entry: the entry; its @id and @at are ignored
 * @out_id: (out) (optional): the new entry's id
 * @error: return location for a #GError
 *
 * Returns: %TRUE when it is durable; %FALSE with %LIA_ERROR_INVALID (no
 *   kind or message) or %LIA_ERROR_STORE.
 */
LIA_API gboolean lia_cache_append_journal (LiaCache *cache, const LiaCacheJournalEntry *entry, gint64 *out_id,
                                           GError **error);

/**
 * lia_cache_list_journal:
 * @cache: a cache
 * @limit: the most entries to return; 0 for all
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type LiaCacheJournalEntry) (nullable):
 *   the newest entries, newest first, or %NULL with %LIA_ERROR_STORE.
 */
LIA_API GPtrArray *lia_cache_list_journal (LiaCache *cache, guint limit, GError **error);

/**
 * lia_cache_check:
 * @cache: a cache
 * @error: return location for a #GError
 *
 * The self-check: SQLite's integrity check over the whole file, the
 * foreign keys, and the schema version. Reads every page: slow on a big
 * cache.
 *
 * Returns: %TRUE when the file is sound; %FALSE with %LIA_ERROR_STORE
 *   naming the file and the first problem found.
 */
LIA_API gboolean lia_cache_check (LiaCache *cache, GError **error);

/**
 * LiaCacheBatch:
 *
 * Writes to apply together: all of them or none, in one transaction, so
 * that for example a downloaded page and its new server anchor are never
 * stored one without the other. Build it with the lia_cache_batch_*()
 * functions (which copy their arguments) and apply it with
 * lia_cache_apply(). Not thread-safe.
 */
typedef struct _LiaCacheBatch LiaCacheBatch;

/**
 * lia_cache_batch_new:
 *
 * Returns: (transfer full): an empty batch.
 */
LIA_API LiaCacheBatch *lia_cache_batch_new (void);

/**
 * lia_cache_batch_free:
 * @batch: (nullable) (transfer full): a batch
 */
LIA_API void lia_cache_batch_free (LiaCacheBatch *batch);

/**
 * lia_cache_batch_get_size:
 * @batch: a batch
 *
 * Returns: the number of writes in @batch.
 */
LIA_API guint lia_cache_batch_get_size (LiaCacheBatch *batch);

/**
 * lia_cache_batch_map:
 * @batch: a batch
 * @mapping: as for lia_cache_map()
 */
LIA_API void lia_cache_batch_map (LiaCacheBatch *batch, const LiaCacheMapping *mapping);

/**
 * lia_cache_batch_unmap:
 * @batch: a batch
 * @store: as for lia_cache_unmap()
 * @item_id: as for lia_cache_unmap()
 */
LIA_API void lia_cache_batch_unmap (LiaCacheBatch *batch, const char *store, const char *item_id);

/**
 * lia_cache_batch_set_link_state:
 * @batch: a batch
 * @store: as for lia_cache_set_link_state()
 * @item_id: as for lia_cache_set_link_state()
 * @state: as for lia_cache_set_link_state()
 * @crm_id: (nullable): as for lia_cache_set_link_state()
 */
LIA_API void lia_cache_batch_set_link_state (LiaCacheBatch *batch, const char *store, const char *item_id,
                                             LiaLinkState state, const char *crm_id);

/**
 * lia_cache_batch_enqueue:
 * @batch: a batch
 * @change: as for lia_cache_enqueue()
 */
LIA_API void lia_cache_batch_enqueue (LiaCacheBatch *batch, const LiaCacheChange *change);

/**
 * lia_cache_batch_complete:
 * @batch: a batch
 * @id: a change id, as for lia_cache_complete()
 */
LIA_API void lia_cache_batch_complete (LiaCacheBatch *batch, gint64 id);

/**
 * lia_cache_batch_store_original:
 * @batch: a batch
 * @original: as for lia_cache_store_original()
 */
LIA_API void lia_cache_batch_store_original (LiaCacheBatch *batch, const LiaCacheOriginal *original);

/**
 * lia_cache_batch_set_watermark:
 * @batch: a batch
 * @key: as for lia_cache_set_watermark()
 * @value: (nullable): as for lia_cache_set_watermark()
 */
LIA_API void lia_cache_batch_set_watermark (LiaCacheBatch *batch, const char *key, const char *value);

/**
 * lia_cache_batch_set_setting:
 * @batch: a batch
 * @key: as for lia_cache_set_setting()
 * @value: (nullable): as for lia_cache_set_setting()
 */
LIA_API void lia_cache_batch_set_setting (LiaCacheBatch *batch, const char *key, const char *value);

/**
 * lia_cache_batch_append_journal:
 * @batch: a batch
 * @entry: as for lia_cache_append_journal()
 */
LIA_API void lia_cache_batch_append_journal (LiaCacheBatch *batch, const LiaCacheJournalEntry *entry);

/**
 * lia_cache_apply:
 * @cache: a cache
 * @batch: the writes, in order
 * @error: return location for a #GError
 *
 * Applies every write of @batch in one transaction and blocks until it is
 * durable. If one write fails, none is applied. @batch can be applied again
 * or freed.
 *
 * Returns: %TRUE when all of @batch is on disk; %FALSE with the error of the
 *   first write that failed (as the single-write functions report it).
 */
LIA_API gboolean lia_cache_apply (LiaCache *cache, LiaCacheBatch *batch, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCache, lia_cache_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCacheMapping, lia_cache_mapping_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCacheChange, lia_cache_change_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCacheOriginal, lia_cache_original_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCacheJournalEntry, lia_cache_journal_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaCacheBatch, lia_cache_batch_free)

G_END_DECLS
