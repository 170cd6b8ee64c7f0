/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

/* The sync cache's public face: its records, open and close, the write
 * calls (each a request to the writer thread, lia-cache-writer.c, which
 * describes durability and group commit) and batches. Reads are in
 * lia-cache-read.c. */

#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* ---- names ---------------------------------------------------------- */

static const char *const link_state_names[] = {
  [LIA_LINK_STATE_NONE] = "none",
  [LIA_LINK_STATE_MARKED] = "marked",
  [LIA_LINK_STATE_TRACKED] = "tracked",
};
G_STATIC_ASSERT (G_N_ELEMENTS (link_state_names) == LIA_LINK_STATE_N);

static const char *const link_origin_names[] = {
  [LIA_LINK_ORIGIN_MANUAL] = "manual",
  [LIA_LINK_ORIGIN_FILTER] = "filter",
  [LIA_LINK_ORIGIN_AUTO] = "auto",
};
G_STATIC_ASSERT (G_N_ELEMENTS (link_origin_names) == LIA_LINK_ORIGIN_N);

static const char *const change_op_names[] = {
  [LIA_CHANGE_OP_CREATE] = "create",   [LIA_CHANGE_OP_UPDATE] = "update",
  [LIA_CHANGE_OP_DELETE] = "delete",   [LIA_CHANGE_OP_TRACK] = "track",
  [LIA_CHANGE_OP_UNTRACK] = "untrack", [LIA_CHANGE_OP_REGARDING] = "regarding",
  [LIA_CHANGE_OP_MOVE] = "move",
};
G_STATIC_ASSERT (G_N_ELEMENTS (change_op_names) == LIA_CHANGE_OP_N);

const char *
lia_link_state_to_string (LiaLinkState state)
{
  return (guint) state < LIA_LINK_STATE_N ? link_state_names[state] : "invalid";
}

const char *
lia_link_origin_to_string (LiaLinkOrigin origin)
{
  return (guint) origin < LIA_LINK_ORIGIN_N ? link_origin_names[origin] : "invalid";
}

const char *
lia_change_op_to_string (LiaChangeOp op)
{
  return (guint) op < LIA_CHANGE_OP_N ? change_op_names[op] : "invalid";
}

gboolean
lia_change_op_from_string (const char *name, LiaChangeOp *out_op)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_CHANGE_OP_N; i++)
    {
      if (g_str_equal (name, change_op_names[i]))
        {
          if (out_op != NULL)
            *out_op = (LiaChangeOp) i;
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- records ------------------------------------------------------ */

LiaCacheMapping *
lia_cache_mapping_new (const char *store, const char *folder, const char *item_id, LiaEntity entity,
                       const char *crm_id, LiaLinkState state, LiaLinkOrigin origin)
{
  LiaCacheMapping *mapping = g_new0 (LiaCacheMapping, 1);

  mapping->store = g_strdup (store);
  mapping->folder = g_strdup (folder);
  mapping->item_id = g_strdup (item_id);
  mapping->entity = entity;
  mapping->crm_id = g_strdup (crm_id);
  mapping->state = state;
  mapping->origin = origin;
  return mapping;
}

LiaCacheMapping *
lia_cache_mapping_copy (const LiaCacheMapping *mapping)
{
  LiaCacheMapping *copy;

  g_return_val_if_fail (mapping != NULL, NULL);
  copy = lia_cache_mapping_new (mapping->store, mapping->folder, mapping->item_id, mapping->entity,
                                mapping->crm_id, mapping->state, mapping->origin);
  copy->linked_at = mapping->linked_at;
  copy->modified_at = mapping->modified_at;
  return copy;
}

void
lia_cache_mapping_free (LiaCacheMapping *mapping)
{
  if (mapping == NULL)
    return;
  g_free (mapping->store);
  g_free (mapping->folder);
  g_free (mapping->item_id);
  g_free (mapping->crm_id);
  g_free (mapping);
}

LiaCacheChange *
lia_cache_change_new (LiaDirection direction, LiaChangeOp op, const char *store, const char *item_id,
                      LiaEntity entity, const char *crm_id)
{
  LiaCacheChange *change = g_new0 (LiaCacheChange, 1);

  change->direction = direction;
  change->op = op;
  change->store = g_strdup (store);
  change->item_id = g_strdup (item_id);
  change->entity = entity;
  change->crm_id = g_strdup (crm_id);
  return change;
}

LiaCacheChange *
lia_cache_change_copy (const LiaCacheChange *change)
{
  LiaCacheChange *copy;

  g_return_val_if_fail (change != NULL, NULL);
  copy = g_new0 (LiaCacheChange, 1);
  *copy = *change;
  copy->store = g_strdup (change->store);
  copy->folder = g_strdup (change->folder);
  copy->item_id = g_strdup (change->item_id);
  copy->crm_id = g_strdup (change->crm_id);
  copy->payload = change->payload != NULL ? g_bytes_ref (change->payload) : NULL;
  copy->last_error = g_strdup (change->last_error);
  return copy;
}

void
lia_cache_change_free (LiaCacheChange *change)
{
  if (change == NULL)
    return;
  g_free (change->store);
  g_free (change->folder);
  g_free (change->item_id);
  g_free (change->crm_id);
  g_clear_pointer (&change->payload, g_bytes_unref);
  g_free (change->last_error);
  g_free (change);
}

LiaCacheOriginal *
lia_cache_original_new (const char *store, const char *item_id, const char *xml)
{
  LiaCacheOriginal *original = g_new0 (LiaCacheOriginal, 1);

  original->store = g_strdup (store);
  original->item_id = g_strdup (item_id);
  original->xml = g_strdup (xml);
  return original;
}

static LiaCacheOriginal *
original_copy (const LiaCacheOriginal *original)
{
  LiaCacheOriginal *copy = g_new0 (LiaCacheOriginal, 1);

  *copy = *original;
  copy->store = g_strdup (original->store);
  copy->item_id = g_strdup (original->item_id);
  copy->xml = g_strdup (original->xml);
  copy->host_version = g_strdup (original->host_version);
  copy->crm_owner = g_strdup (original->crm_owner);
  return copy;
}

void
lia_cache_original_free (LiaCacheOriginal *original)
{
  if (original == NULL)
    return;
  g_free (original->store);
  g_free (original->item_id);
  g_free (original->xml);
  g_free (original->host_version);
  g_free (original->crm_owner);
  g_free (original);
}

LiaCacheJournalEntry *
lia_cache_journal_entry_new (const char *kind, const char *message)
{
  LiaCacheJournalEntry *entry = g_new0 (LiaCacheJournalEntry, 1);

  entry->kind = g_strdup (kind);
  entry->message = g_strdup (message);
  return entry;
}

static LiaCacheJournalEntry *
journal_entry_copy (const LiaCacheJournalEntry *entry)
{
  LiaCacheJournalEntry *copy = g_new0 (LiaCacheJournalEntry, 1);

  *copy = *entry;
  copy->kind = g_strdup (entry->kind);
  copy->store = g_strdup (entry->store);
  copy->item_id = g_strdup (entry->item_id);
  copy->crm_id = g_strdup (entry->crm_id);
  copy->message = g_strdup (entry->message);
  return copy;
}

void
lia_cache_journal_entry_free (LiaCacheJournalEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->kind);
  g_free (entry->store);
  g_free (entry->item_id);
  g_free (entry->crm_id);
  g_free (entry->message);
  g_free (entry);
}

/* ---- open and close ------------------------------------------------------ */

static sqlite3 *
connection_open (const char *path, int flags, guint busy_timeout_ms, GError **error)
{
  g_autoptr (sqlite3) db = NULL;
  int rc = sqlite3_open_v2 (path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc != SQLITE_OK)
    {
      lia_sqlite_set_error (error, db, rc, path, "open");
      return NULL;
    }
  sqlite3_extended_result_codes (db, 1);
  /* SQLite quietly opens a file it may not write read-only; the cache must
   * write, so say so now rather than fail at the first change. */
  if (sqlite3_db_readonly (db, "main") == 1)
    {
      lia_sqlite_set_error (error, NULL, SQLITE_READONLY, path, "open");
      return NULL;
    }
  sqlite3_busy_timeout (db, (int) MIN (busy_timeout_ms, (guint) G_MAXINT));
  return g_steal_pointer (&db);
}

static gboolean
connection_set_wal (sqlite3 *db, const char *path, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      lia_sqlite_set_error (error, db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, path, "open");
      return FALSE;
    }
  /* The pragma answers the mode in force: anything but "wal" means the file
   * could not be switched (for example it is locked in another mode). */
  if (g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Cannot open \"%s\": cannot use write-ahead logging (mode \"%s\")", path,
                   (const char *) sqlite3_column_text (stmt, 0));
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_parent_dirs (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Cannot create the directory of \"%s\": %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

LiaCache *
lia_cache_open (const char *path, LiaClock *clock, const LiaCacheOptions *options, GError **error)
{
  g_autoptr (LiaCache) cache = NULL;
  g_autoptr (GError) thread_error = NULL;
  guint busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);
  g_return_val_if_fail (options == NULL || options->abi_version >= 1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options != NULL && options->busy_timeout_ms > 0)
    busy_timeout_ms = options->busy_timeout_ms;
  if (!make_parent_dirs (path, error))
    return NULL;

  cache = g_new0 (LiaCache, 1);
  cache->path = g_strdup (path);
  cache->clock = clock != NULL ? lia_clock_ref (clock) : lia_clock_new_system ();
  g_mutex_init (&cache->lock);
  g_cond_init (&cache->wake_cond);
  g_cond_init (&cache->done_cond);
  g_mutex_init (&cache->read_lock);
  cache->pending = g_ptr_array_new ();
  cache->state = WRITER_IDLE;

  cache->write_db =
      connection_open (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_timeout_ms, error);
  if (cache->write_db == NULL)
    return NULL;
  /* Look before touching: a newer, foreign or corrupt file must be left
   * exactly as it is, so the version check comes before the switch to WAL
   * (which writes the header). */
  if (!lia_cache_schema_check_version (cache->write_db, path, error)
      || !connection_set_wal (cache->write_db, path, error)
      || !lia_sqlite_exec (cache->write_db, path, "open",
                           "PRAGMA synchronous = FULL;"
                           "PRAGMA foreign_keys = ON;"
                           /* A request's savepoint journal in memory, not a
                            * temporary file (a bulk page wrote ~4 KiB to one
                            * per page it touched). */
                           "PRAGMA temp_store = MEMORY;"
                           /* After a burst, truncate the WAL back to 4 MiB. */
                           "PRAGMA journal_size_limit = 4194304;",
                           error)
      || !lia_cache_schema_migrate (cache->write_db, path, error))
    return NULL;
  cache->write_stmts = lia_sqlite_stmt_cache_new (cache->write_db, path);

  cache->read_db = connection_open (path, SQLITE_OPEN_READWRITE, busy_timeout_ms, error);
  if (cache->read_db == NULL
      || !lia_sqlite_exec (cache->read_db, path, "open", "PRAGMA foreign_keys = ON; PRAGMA query_only = ON;",
                           error))
    return NULL;
  cache->read_stmts = lia_sqlite_stmt_cache_new (cache->read_db, path);

  cache->writer = g_thread_try_new ("lia-cache-writer", lia_cache_writer_main, cache, &thread_error);
  if (cache->writer == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_FAILED,
                   "Cannot open \"%s\": cannot start the writer thread: %s", path, thread_error->message);
      return NULL;
    }
  g_debug ("cache \"%s\": open", path);
  return g_steal_pointer (&cache);
}

void
lia_cache_close (LiaCache *cache)
{
  if (cache == NULL)
    return;

  g_mutex_lock (&cache->lock);
  cache->closing = TRUE;
  g_cond_signal (&cache->wake_cond);
  g_mutex_unlock (&cache->lock);
  /* The writer drains everything pending before it stops. */
  if (cache->writer != NULL)
    g_thread_join (cache->writer);
  g_mutex_lock (&cache->lock);
  while (cache->n_waiting > 0)
    g_cond_wait (&cache->done_cond, &cache->lock);
  g_mutex_unlock (&cache->lock);
  g_assert (cache->pending->len == 0);

  g_clear_pointer (&cache->read_stmts, lia_sqlite_stmt_cache_free);
  g_clear_pointer (&cache->write_stmts, lia_sqlite_stmt_cache_free);
  /* Close the reader first: the last connection to close checkpoints the
   * WAL into the database and removes it. */
  g_clear_pointer (&cache->read_db, sqlite3_close_v2);
  g_clear_pointer (&cache->write_db, sqlite3_close_v2);
  g_debug ("cache \"%s\": closed", cache->path);

  g_ptr_array_unref (cache->pending);
  g_mutex_clear (&cache->read_lock);
  g_cond_clear (&cache->done_cond);
  g_cond_clear (&cache->wake_cond);
  g_mutex_clear (&cache->lock);
  lia_clock_unref (cache->clock);
  g_free (cache->path);
  g_free (cache);
}

const char *
lia_cache_get_path (LiaCache *cache)
{
  g_return_val_if_fail (cache != NULL, NULL);
  return cache->path;
}

/* ---- writes ------------------------------------------------------------ */

gboolean
lia_cache_map (LiaCache *cache, const LiaCacheMapping *mapping, GError **error)
{
  CacheOp op = { .kind = OP_MAP, .u.mapping = (LiaCacheMapping *) mapping };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (mapping != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_unmap (LiaCache *cache, const char *store, const char *item_id, GError **error)
{
  CacheOp op = { .kind = OP_UNMAP, .u.link = { .store = (char *) store, .item_id = (char *) item_id } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (store != NULL && item_id != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_set_link_state (LiaCache *cache, const char *store, const char *item_id, LiaLinkState state,
                          const char *crm_id, GError **error)
{
  CacheOp op = { .kind = OP_SET_LINK_STATE,
                 .u.link = { .store = (char *) store,
                             .item_id = (char *) item_id,
                             .state = state,
                             .crm_id = (char *) crm_id } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (store != NULL && item_id != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_enqueue (LiaCache *cache, const LiaCacheChange *change, gint64 *out_id, GError **error)
{
  CacheOp op = { .kind = OP_ENQUEUE, .u.change = (LiaCacheChange *) change };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (change != NULL, FALSE);
  if (!lia_cache_write (cache, &op, 1, NULL, error))
    return FALSE;
  if (out_id != NULL)
    *out_id = op.out;
  return TRUE;
}

void
lia_cache_enqueue_async (LiaCache *cache, const LiaCacheChange *change, LiaCacheEnqueueFunc callback,
                         gpointer user_data)
{
  CacheRequest *req;

  g_return_if_fail (cache != NULL);
  g_return_if_fail (change != NULL);

  req = g_new0 (CacheRequest, 1);
  req->single.kind = OP_ENQUEUE;
  req->single.u.change = lia_cache_change_copy (change);
  req->ops = &req->single;
  req->n_ops = 1;
  req->owns_ops = TRUE;
  req->now = lia_clock_now (cache->clock);
  req->context = g_main_context_ref_thread_default ();
  req->callback = callback;
  req->user_data = user_data;
  if (!lia_cache_validate_change (change, &req->error))
    {
      g_autoptr (GPtrArray) one = g_ptr_array_new ();

      g_ptr_array_add (one, req);
      lia_cache_post_async_acks (one);
      return;
    }
  lia_cache_submit (cache, req);
}

GPtrArray *
lia_cache_claim (LiaCache *cache, LiaDirection direction, guint max_changes, gint64 lease_us, GError **error)
{
  CacheOp op = { .kind = OP_CLAIM,
                 .u.claim = { .direction = direction, .max = max_changes, .lease_us = lease_us } };
  GPtrArray *claimed = NULL;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (direction == LIA_DIRECTION_TO_CRM || direction == LIA_DIRECTION_TO_HOST
                            || direction == LIA_DIRECTION_BOTH,
                        NULL);
  g_return_val_if_fail (lease_us > 0, NULL);
  if (max_changes == 0)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_change_free);
  if (!lia_cache_write (cache, &op, 1, &claimed, error))
    return NULL;
  g_assert (claimed != NULL);
  return claimed;
}

gboolean
lia_cache_complete (LiaCache *cache, const gint64 *ids, guint n_ids, GError **error)
{
  g_autofree CacheOp *ops = NULL;

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (ids != NULL || n_ids == 0, FALSE);
  if (n_ids == 0)
    return TRUE;
  ops = g_new0 (CacheOp, n_ids);
  for (guint i = 0; i < n_ids; i++)
    {
      ops[i].kind = OP_COMPLETE;
      ops[i].u.row.id = ids[i];
    }
  return lia_cache_write (cache, ops, n_ids, NULL, error);
}

gboolean
lia_cache_release_claims (LiaCache *cache, GError **error)
{
  CacheOp op = { .kind = OP_RELEASE_CLAIMS };

  g_return_val_if_fail (cache != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_fail (LiaCache *cache, gint64 id, const char *message, gint64 *out_next_attempt_at, GError **error)
{
  CacheOp op = { .kind = OP_FAIL, .u.row = { .id = id, .message = (char *) message } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  if (!lia_cache_write (cache, &op, 1, NULL, error))
    return FALSE;
  if (out_next_attempt_at != NULL)
    *out_next_attempt_at = op.out;
  return TRUE;
}

gboolean
lia_cache_store_original (LiaCache *cache, const LiaCacheOriginal *original, GError **error)
{
  CacheOp op = { .kind = OP_STORE_ORIGINAL, .u.original = (LiaCacheOriginal *) original };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (original != NULL, FALSE);
  g_return_val_if_fail (original->store != NULL && original->item_id != NULL && original->xml != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_set_watermark (LiaCache *cache, const char *key, const char *value, GError **error)
{
  CacheOp op = { .kind = OP_SET_WATERMARK, .u.kv = { .key = (char *) key, .value = (char *) value } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

void
lia_cache_set_watermark_async (LiaCache *cache, const char *key, const char *value,
                               LiaCacheEnqueueFunc callback, gpointer user_data)
{
  CacheRequest *req;

  g_return_if_fail (cache != NULL);
  g_return_if_fail (key != NULL);

  req = g_new0 (CacheRequest, 1);
  req->single.kind = OP_SET_WATERMARK;
  req->single.u.kv.key = g_strdup (key);
  req->single.u.kv.value = g_strdup (value);
  req->ops = &req->single;
  req->n_ops = 1;
  req->owns_ops = TRUE;
  req->now = lia_clock_now (cache->clock);
  req->context = g_main_context_ref_thread_default ();
  req->callback = callback;
  req->user_data = user_data;
  lia_cache_submit (cache, req);
}

gboolean
lia_cache_set_setting (LiaCache *cache, const char *key, const char *value, GError **error)
{
  CacheOp op = { .kind = OP_SET_SETTING, .u.kv = { .key = (char *) key, .value = (char *) value } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return lia_cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_append_journal (LiaCache *cache, const LiaCacheJournalEntry *entry, gint64 *out_id, GError **error)
{
  CacheOp op = { .kind = OP_APPEND_JOURNAL, .u.entry = (LiaCacheJournalEntry *) entry };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);
  if (!lia_cache_write (cache, &op, 1, NULL, error))
    return FALSE;
  if (out_id != NULL)
    *out_id = op.out;
  return TRUE;
}

/* ---- batches ---------------------------------------------------------- */

LiaCacheBatch *
lia_cache_batch_new (void)
{
  LiaCacheBatch *batch = g_new0 (LiaCacheBatch, 1);

  batch->ops = g_array_new (FALSE, TRUE, sizeof (CacheOp));
  g_array_set_clear_func (batch->ops, (GDestroyNotify) lia_cache_op_clear);
  return batch;
}

void
lia_cache_batch_free (LiaCacheBatch *batch)
{
  if (batch == NULL)
    return;
  g_array_unref (batch->ops);
  g_free (batch);
}

guint
lia_cache_batch_get_size (LiaCacheBatch *batch)
{
  g_return_val_if_fail (batch != NULL, 0);
  return batch->ops->len;
}

static void
batch_add (LiaCacheBatch *batch, const CacheOp *op)
{
  g_array_append_vals (batch->ops, op, 1);
}

void
lia_cache_batch_map (LiaCacheBatch *batch, const LiaCacheMapping *mapping)
{
  CacheOp op = { .kind = OP_MAP };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (mapping != NULL);
  op.u.mapping = lia_cache_mapping_copy (mapping);
  batch_add (batch, &op);
}

void
lia_cache_batch_unmap (LiaCacheBatch *batch, const char *store, const char *item_id)
{
  CacheOp op = { .kind = OP_UNMAP };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (store != NULL && item_id != NULL);
  op.u.link.store = g_strdup (store);
  op.u.link.item_id = g_strdup (item_id);
  batch_add (batch, &op);
}

void
lia_cache_batch_set_link_state (LiaCacheBatch *batch, const char *store, const char *item_id,
                                LiaLinkState state, const char *crm_id)
{
  CacheOp op = { .kind = OP_SET_LINK_STATE };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (store != NULL && item_id != NULL);
  op.u.link.store = g_strdup (store);
  op.u.link.item_id = g_strdup (item_id);
  op.u.link.state = state;
  op.u.link.crm_id = g_strdup (crm_id);
  batch_add (batch, &op);
}

void
lia_cache_batch_enqueue (LiaCacheBatch *batch, const LiaCacheChange *change)
{
  CacheOp op = { .kind = OP_ENQUEUE };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (change != NULL);
  op.u.change = lia_cache_change_copy (change);
  batch_add (batch, &op);
}

void
lia_cache_batch_complete (LiaCacheBatch *batch, gint64 id)
{
  CacheOp op = { .kind = OP_COMPLETE, .u.row.id = id };

  g_return_if_fail (batch != NULL);
  batch_add (batch, &op);
}

void
lia_cache_batch_store_original (LiaCacheBatch *batch, const LiaCacheOriginal *original)
{
  CacheOp op = { .kind = OP_STORE_ORIGINAL };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (original != NULL);
  g_return_if_fail (original->store != NULL && original->item_id != NULL && original->xml != NULL);
  op.u.original = original_copy (original);
  batch_add (batch, &op);
}

void
lia_cache_batch_set_watermark (LiaCacheBatch *batch, const char *key, const char *value)
{
  CacheOp op = { .kind = OP_SET_WATERMARK };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (key != NULL);
  op.u.kv.key = g_strdup (key);
  op.u.kv.value = g_strdup (value);
  batch_add (batch, &op);
}

void
lia_cache_batch_set_setting (LiaCacheBatch *batch, const char *key, const char *value)
{
  CacheOp op = { .kind = OP_SET_SETTING };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (key != NULL);
  op.u.kv.key = g_strdup (key);
  op.u.kv.value = g_strdup (value);
  batch_add (batch, &op);
}

void
lia_cache_batch_add_known (LiaCacheBatch *batch, const char *folder, gint64 key)
{
  CacheOp op = { .kind = OP_ADD_KNOWN };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (folder != NULL);
  op.u.known.folder = g_strdup (folder);
  op.u.known.key = key;
  batch_add (batch, &op);
}

void
lia_cache_batch_drop_known (LiaCacheBatch *batch, const char *folder)
{
  CacheOp op = { .kind = OP_DROP_KNOWN };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (folder != NULL);
  op.u.known.folder = g_strdup (folder);
  batch_add (batch, &op);
}

void
lia_cache_batch_append_journal (LiaCacheBatch *batch, const LiaCacheJournalEntry *entry)
{
  CacheOp op = { .kind = OP_APPEND_JOURNAL };

  g_return_if_fail (batch != NULL);
  g_return_if_fail (entry != NULL);
  op.u.entry = journal_entry_copy (entry);
  batch_add (batch, &op);
}

gboolean
lia_cache_apply (LiaCache *cache, LiaCacheBatch *batch, GError **error)
{
  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (batch != NULL, FALSE);
  if (batch->ops->len == 0)
    return TRUE;
  /* The writer borrows the batch's ops while this thread waits. */
  return lia_cache_write (cache, (CacheOp *) (gpointer) batch->ops->data, batch->ops->len, NULL, error);
}

/* ---- backoff and test hooks ------------------------------------------- */

gint64
lia_cache_backoff_us (guint attempts, gint64 id)
{
  gint64 delay = LIA_CACHE_BACKOFF_BASE_US;
  guint64 h;

  for (guint i = 1; i < attempts && delay < LIA_CACHE_BACKOFF_CAP_US; i++)
    delay *= 2;
  delay = MIN (delay, LIA_CACHE_BACKOFF_CAP_US);
  /* A fixed mix of (id, attempts) (splitmix64's finalizer): changes that
   * failed together spread over a tenth of the delay, and a test knows the
   * exact range. */
  h = (guint64) id * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + attempts;
  h = (h ^ (h >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  h = (h ^ (h >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  h ^= h >> 31;
  return delay - (gint64) (h % (guint64) (delay / 10 + 1));
}

void
lia_cache_set_writer_paused (LiaCache *cache, gboolean paused)
{
  g_return_if_fail (cache != NULL);
  g_mutex_lock (&cache->lock);
  cache->paused = paused;
  g_cond_signal (&cache->wake_cond);
  g_mutex_unlock (&cache->lock);
}

guint64
lia_cache_get_commit_count (LiaCache *cache)
{
  g_return_val_if_fail (cache != NULL, 0);
  return (guint) g_atomic_int_get (&cache->n_commits);
}
