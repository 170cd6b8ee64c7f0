/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

/* The sync cache: one SQLite file, two connections, one writer thread.
 *
 * Every write (enqueue, complete, map, ...) becomes a request that a caller
 * hands to the writer thread, which alone uses the write connection. The
 * writer takes every request pending at that moment, runs them all in ONE
 * transaction and commits it with one fsync (synchronous=FULL), and only
 * then acknowledges each request: a synchronous caller wakes up, an
 * asynchronous one gets its callback posted to its main context, one source
 * per context per commit. So a burst of N notifications costs one fsync,
 * not N, and "returned" or "called back" always means "on disk".
 *
 * Reads use the second connection under read_lock. In WAL mode they never
 * wait for the writer, and they see every commit that was acknowledged
 * before they started.
 *
 * The writer's states (see writer_set_state(), the one place they change):
 *
 *                  requests pending
 *     +--------+  ------------------>  +---------+
 *     |  IDLE  |                       | WRITING |  BEGIN IMMEDIATE, run each
 *     +--------+                       +---------+  request, COMMIT (or
 *       |    ^                              |       ROLLBACK on failure)
 *       |    |      every request           v
 *       |    |      acknowledged      +--------------+
 *       |    +----------------------- | ACKNOWLEDGING|  wake sync callers,
 *       |                             +--------------+  post async callbacks
 *       | closing, nothing pending
 *       v
 *     +---------+
 *     | STOPPED |
 *     +---------+
 *
 * Invariants:
 *  IDLE      the write connection has no open transaction; every request
 *            the writer took has been acknowledged; the writer waits on
 *            wake_cond while nothing is pending (or it is paused).
 *  WRITING   the write connection is in a transaction, or failed to open
 *            one; no request of the batch is acknowledged yet, and none of
 *            its effects is visible to readers.
 *  ACKNOWLEDGING  no open transaction; every request of the batch has its
 *            final outcome: committed (no error) or not applied (error).
 *            A request is never reported done before its COMMIT returned.
 *  STOPPED   closing is set and nothing is pending: no request will ever be
 *            accepted again. The writer thread has returned or is about to.
 *
 * A request runs inside a SAVEPOINT when it has several writes, so that it
 * applies all or nothing while the other requests of the batch commit. A
 * single write needs none: SQLite undoes a failed statement by itself. If
 * SQLite rolls back the whole transaction (I/O error, disk full), every
 * request of the batch fails with that error: nothing is acknowledged that
 * is not on disk, and nothing is dropped silently (the caller is told). */

static const char *const writer_state_names[] = {
  [WRITER_IDLE] = "idle",
  [WRITER_WRITING] = "writing",
  [WRITER_ACKNOWLEDGING] = "acknowledging",
  [WRITER_STOPPED] = "stopped",
};
G_STATIC_ASSERT (G_N_ELEMENTS (writer_state_names) == WRITER_N_STATES);

/* ---- validation: data errors are LIA_ERROR_INVALID, before any I/O ----- */

static gboolean
is_set (const char *s)
{
  return s != NULL && *s != '\0';
}

gboolean
lia_cache_validate_change (const LiaCacheChange *change, GError **error)
{
  if (change->direction != LIA_DIRECTION_TO_CRM && change->direction != LIA_DIRECTION_TO_HOST)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "A queued change goes to CRM or to the host, not \"%s\"",
                   lia_direction_to_string (change->direction));
      return FALSE;
    }
  if ((guint) change->op >= LIA_CHANGE_OP_N || (guint) change->entity >= LIA_ENTITY_N)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A queued change needs a valid operation and entity");
      return FALSE;
    }
  if (!is_set (change->store) || (!is_set (change->item_id) && !is_set (change->crm_id)))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "A queued change needs a store and a host item id or a CRM id");
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_op (const CacheOp *op, GError **error)
{
  switch (op->kind)
    {
    case OP_ENQUEUE:
      return lia_cache_validate_change (op->u.change, error);
    case OP_MAP:
      {
        const LiaCacheMapping *m = op->u.mapping;

        if (!is_set (m->store) || !is_set (m->folder) || !is_set (m->item_id)
            || (guint) m->entity >= LIA_ENTITY_N || (guint) m->state >= LIA_LINK_STATE_N
            || (guint) m->origin >= LIA_LINK_ORIGIN_N)
          {
            g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                         "A mapping needs a store, folder, item id, and a valid entity, state and origin");
            return FALSE;
          }
        if (m->state == LIA_LINK_STATE_TRACKED && !is_set (m->crm_id))
          {
            g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                         "Item \"%s\" cannot be tracked without a CRM id", m->item_id);
            return FALSE;
          }
        return TRUE;
      }
    case OP_SET_LINK_STATE:
      if ((guint) op->u.link.state >= LIA_LINK_STATE_N)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid link state %d", (int) op->u.link.state);
          return FALSE;
        }
      return TRUE;
    case OP_APPEND_JOURNAL:
      if (!is_set (op->u.entry->kind) || op->u.entry->message == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A journal entry needs a kind and a message");
          return FALSE;
        }
      return TRUE;
    case OP_FAIL:
    case OP_COMPLETE:
    case OP_UNMAP:
    case OP_STORE_ORIGINAL:
    case OP_SET_WATERMARK:
    case OP_SET_SETTING:
    case OP_CLAIM:
    case OP_RELEASE_CLAIMS:
      return TRUE;
    case OP_ADD_KNOWN:
    case OP_DROP_KNOWN:
      if (!is_set (op->u.known.folder))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A known message needs its folder");
          return FALSE;
        }
      return TRUE;
    }
  g_assert_not_reached ();
}

void
lia_cache_op_clear (CacheOp *op)
{
  switch (op->kind)
    {
    case OP_ENQUEUE:
      g_clear_pointer (&op->u.change, lia_cache_change_free);
      break;
    case OP_MAP:
      g_clear_pointer (&op->u.mapping, lia_cache_mapping_free);
      break;
    case OP_STORE_ORIGINAL:
      g_clear_pointer (&op->u.original, lia_cache_original_free);
      break;
    case OP_APPEND_JOURNAL:
      g_clear_pointer (&op->u.entry, lia_cache_journal_entry_free);
      break;
    case OP_COMPLETE:
    case OP_FAIL:
      g_clear_pointer (&op->u.row.message, g_free);
      break;
    case OP_RELEASE_CLAIMS:
      break;
    case OP_UNMAP:
    case OP_SET_LINK_STATE:
      g_clear_pointer (&op->u.link.store, g_free);
      g_clear_pointer (&op->u.link.item_id, g_free);
      g_clear_pointer (&op->u.link.crm_id, g_free);
      break;
    case OP_SET_WATERMARK:
    case OP_SET_SETTING:
      g_clear_pointer (&op->u.kv.key, g_free);
      g_clear_pointer (&op->u.kv.value, g_free);
      break;
    case OP_CLAIM:
      break;
    case OP_ADD_KNOWN:
    case OP_DROP_KNOWN:
      g_clear_pointer (&op->u.known.folder, g_free);
      break;
    }
}

void
lia_cache_request_free (CacheRequest *req)
{
  if (req == NULL)
    return;
  if (req->owns_ops)
    {
      for (guint i = 0; i < req->n_ops; i++)
        lia_cache_op_clear (&req->ops[i]);
    }
  g_clear_pointer (&req->claimed, g_ptr_array_unref);
  g_clear_error (&req->error);
  g_clear_pointer (&req->context, g_main_context_unref);
  g_free (req);
}

/* ---- the writer: running ops ------------------------------------------- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT lia_request";
static const char SQL_RELEASE[] = "RELEASE lia_request";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO lia_request";

static const char SQL_ENQUEUE[] =
    "INSERT INTO change_queue (direction, op, store, folder, item_id, entity, crm_id, payload, enqueued_at, "
    "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_COMPLETE[] = "DELETE FROM change_queue WHERE id = ?1";
static const char SQL_FAIL_READ[] = "SELECT attempts FROM change_queue WHERE id = ?1";
static const char SQL_FAIL[] = "UPDATE change_queue SET attempts = ?2, next_attempt_at = ?3, last_error = "
                               "?4, claimed_until = 0 WHERE id = ?1";
/* The claim: due, unclaimed (or the lease expired), in the direction asked,
 * and no older change of the same item in the same direction still queued
 * (by host id, or by CRM id for a record without host item yet), so one
 * item's changes replay in order while other items go ahead. The subquery
 * is evaluated before the update; RETURNING gives rows in no set order, so
 * the caller sorts them by id. */
static const char SQL_CLAIM[] =
    "UPDATE change_queue SET claimed_until = ?2 WHERE id IN ("
    " SELECT c.id FROM change_queue AS c"
    " WHERE c.next_attempt_at <= ?1 AND c.claimed_until <= ?1 AND (c.direction & ?3) != 0"
    "  AND NOT EXISTS (SELECT 1 FROM change_queue AS o WHERE o.store = c.store AND o.item_id = c.item_id"
    "   AND o.direction = c.direction AND o.id < c.id)"
    "  AND NOT EXISTS (SELECT 1 FROM change_queue AS o WHERE o.store = c.store AND o.entity = c.entity"
    "   AND o.crm_id = c.crm_id AND o.direction = c.direction AND o.id < c.id)"
    " ORDER BY c.id LIMIT ?4) RETURNING " CHANGE_COLUMNS;
/* Every lease, whoever held it: for the one syncer of a cache at its start,
 * when any claim left is that of a process that died mid-batch. */
static const char SQL_RELEASE_CLAIMS[] = "UPDATE change_queue SET claimed_until = 0 WHERE claimed_until != 0";
static const char SQL_MAP[] =
    "INSERT INTO id_mapping (" MAPPING_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
    " ON CONFLICT (store, item_id) DO UPDATE SET folder = excluded.folder, entity = excluded.entity,"
    " crm_id = excluded.crm_id, link_state = excluded.link_state, link_origin = excluded.link_origin,"
    " modified_at = excluded.modified_at";
static const char SQL_UNMAP[] = "DELETE FROM id_mapping WHERE store = ?1 AND item_id = ?2";
static const char SQL_SET_LINK_STATE[] =
    "UPDATE id_mapping SET link_state = ?3, crm_id = coalesce (?4, crm_id), modified_at = ?5"
    " WHERE store = ?1 AND item_id = ?2";
static const char SQL_STORE_ORIGINAL[] =
    "INSERT INTO original (store, item_id, xml, host_version, host_modified_at, crm_version, crm_modified_at,"
    " stored_at, crm_owner, crm_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (store, item_id) DO UPDATE SET xml = excluded.xml, host_version = excluded.host_version,"
    " host_modified_at = excluded.host_modified_at, crm_version = excluded.crm_version,"
    " crm_modified_at = excluded.crm_modified_at, stored_at = excluded.stored_at,"
    " crm_owner = excluded.crm_owner, crm_state = excluded.crm_state";
static const char SQL_SET_WATERMARK[] =
    "INSERT INTO watermark (key, value, updated_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
static const char SQL_DELETE_WATERMARK[] = "DELETE FROM watermark WHERE key = ?1";
static const char SQL_SET_SETTING[] =
    "INSERT INTO setting (key, value, updated_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
static const char SQL_DELETE_SETTING[] = "DELETE FROM setting WHERE key = ?1";
static const char SQL_ADD_KNOWN[] = "INSERT OR IGNORE INTO mail_folder_known (folder, key) VALUES (?1, ?2)";
static const char SQL_DROP_KNOWN[] = "DELETE FROM mail_folder_known WHERE folder = ?1";
static const char SQL_APPEND_JOURNAL[] =
    "INSERT INTO journal (at, kind, store, item_id, crm_id, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static gboolean
writer_exec (LiaCache *cache, const char *sql, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      lia_sqlite_set_error (error, cache->write_db, rc, cache->path, "write to");
      return FALSE;
    }
  return TRUE;
}

/* Steps a write statement to its end, translating a constraint failure into
 * the caller's terms and everything else into LIA_ERROR_STORE. */
static gboolean
writer_step (LiaCache *cache, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return TRUE;
  switch (rc)
    {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "%s: the CRM record is already linked to another item of the store", what);
      return FALSE;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "%s: the item is not mapped", what);
      return FALSE;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "%s: %s", what, sqlite3_errmsg (cache->write_db));
      return FALSE;
    default:
      lia_sqlite_set_error (error, cache->write_db, rc, cache->path, "write to");
      return FALSE;
    }
}

static gboolean
op_run_enqueue (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  const LiaCacheChange *change = op->u.change;
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_ENQUEUE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, change->direction);
  sqlite3_bind_int (stmt, 2, change->op);
  bind_text (stmt, 3, change->store);
  bind_text (stmt, 4, change->folder);
  bind_text (stmt, 5, is_set (change->item_id) ? change->item_id : NULL);
  sqlite3_bind_int (stmt, 6, change->entity);
  bind_text (stmt, 7, is_set (change->crm_id) ? change->crm_id : NULL);
  if (change->payload != NULL)
    {
      gsize size = 0;
      gconstpointer data = g_bytes_get_data (change->payload, &size);

      /* A zero-length blob must stay a blob, not become NULL. */
      sqlite3_bind_blob64 (stmt, 8, data != NULL ? data : "", size, SQLITE_STATIC);
    }
  sqlite3_bind_int64 (stmt, 9, now);
  sqlite3_bind_int64 (stmt, 10, change->next_attempt_at > 0 ? change->next_attempt_at : now);
  if (!writer_step (cache, stmt, "Cannot enqueue the change", error))
    return FALSE;
  op->out = sqlite3_last_insert_rowid (cache->write_db);
  return TRUE;
}

static gboolean
op_run_release_claims (LiaCache *cache, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt =
      lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_RELEASE_CLAIMS, error);

  if (stmt == NULL)
    return FALSE;
  return writer_step (cache, stmt, "Cannot release the claims", error);
}

static gboolean
op_run_complete (LiaCache *cache, CacheOp *op, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_COMPLETE, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, op->u.row.id);
  if (!writer_step (cache, stmt, "Cannot complete the change", error))
    return FALSE;
  if (sqlite3_changes (cache->write_db) == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "Change %" G_GINT64_FORMAT " is not in the queue",
                   op->u.row.id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
op_run_fail (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) read = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_FAIL_READ, error);
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  guint attempts;
  gint64 next;
  int rc;

  if (read == NULL)
    return FALSE;
  sqlite3_bind_int64 (read, 1, op->u.row.id);
  rc = sqlite3_step (read);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "Change %" G_GINT64_FORMAT " is not in the queue",
                   op->u.row.id);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    {
      lia_sqlite_set_error (error, cache->write_db, rc, cache->path, "read");
      return FALSE;
    }
  /* Saturate instead of wrapping: a change that failed four billion times
   * keeps its one-hour backoff and stays queued. */
  attempts = (guint) MIN (sqlite3_column_int64 (read, 0), (gint64) G_MAXUINT - 1) + 1;
  next = now + lia_cache_backoff_us (attempts, op->u.row.id);

  stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_FAIL, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, op->u.row.id);
  sqlite3_bind_int64 (stmt, 2, attempts);
  sqlite3_bind_int64 (stmt, 3, next);
  bind_text (stmt, 4, op->u.row.message);
  if (!writer_step (cache, stmt, "Cannot record the failure", error))
    return FALSE;
  op->out = next;
  return TRUE;
}

static gint
compare_change_ids (gconstpointer a, gconstpointer b)
{
  const LiaCacheChange *ca = *(LiaCacheChange *const *) a;
  const LiaCacheChange *cb = *(LiaCacheChange *const *) b;

  return (ca->id > cb->id) - (ca->id < cb->id);
}

static gboolean
op_run_claim (LiaCache *cache, CacheOp *op, gint64 now, CacheRequest *req, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_CLAIM, error);
  g_autoptr (GPtrArray) claimed = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_change_free);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, now + MAX (op->u.claim.lease_us, 1));
  sqlite3_bind_int (stmt, 3, op->u.claim.direction);
  sqlite3_bind_int64 (stmt, 4, op->u.claim.max);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (claimed, lia_cache_change_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      lia_sqlite_set_error (error, cache->write_db, rc, cache->path, "write to");
      return FALSE;
    }
  g_ptr_array_sort (claimed, compare_change_ids);
  g_clear_pointer (&req->claimed, g_ptr_array_unref);
  req->claimed = g_steal_pointer (&claimed);
  return TRUE;
}

static gboolean
op_run_map (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  const LiaCacheMapping *m = op->u.mapping;
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_MAP, error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, m->store);
  bind_text (stmt, 2, m->folder);
  bind_text (stmt, 3, m->item_id);
  sqlite3_bind_int (stmt, 4, m->entity);
  bind_text (stmt, 5, is_set (m->crm_id) ? m->crm_id : NULL);
  sqlite3_bind_int (stmt, 6, m->state);
  sqlite3_bind_int (stmt, 7, m->origin);
  sqlite3_bind_int64 (stmt, 8, now);
  if (writer_step (cache, stmt, "Cannot map the item", error))
    return TRUE;
  if (g_error_matches (*error, LIA_ERROR, LIA_ERROR_CONFLICT))
    g_prefix_error (error, "Item \"%s\", CRM %s %s: ", m->item_id, lia_entity_to_string (m->entity),
                    m->crm_id);
  return FALSE;
}

static gboolean
op_run_link (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  const char *sql = op->kind == OP_UNMAP ? SQL_UNMAP : SQL_SET_LINK_STATE;
  g_autoptr (LiaSqliteStmtInUse) stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, sql, error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, op->u.link.store);
  bind_text (stmt, 2, op->u.link.item_id);
  if (op->kind == OP_SET_LINK_STATE)
    {
      sqlite3_bind_int (stmt, 3, op->u.link.state);
      bind_text (stmt, 4, is_set (op->u.link.crm_id) ? op->u.link.crm_id : NULL);
      sqlite3_bind_int64 (stmt, 5, now);
    }
  if (!writer_step (cache, stmt, "Cannot change the link state", error))
    return FALSE;
  if (sqlite3_changes (cache->write_db) == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "Item \"%s\" of store \"%s\" is not mapped",
                   op->u.link.item_id, op->u.link.store);
      return FALSE;
    }
  return TRUE;
}

static gboolean
op_run_store_original (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  const LiaCacheOriginal *o = op->u.original;
  g_autoptr (LiaSqliteStmtInUse) stmt =
      lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_STORE_ORIGINAL, error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, o->store);
  bind_text (stmt, 2, o->item_id);
  bind_text (stmt, 3, o->xml);
  bind_text (stmt, 4, o->host_version);
  sqlite3_bind_int64 (stmt, 5, o->host_modified_at);
  sqlite3_bind_int64 (stmt, 6, o->crm_version);
  sqlite3_bind_int64 (stmt, 7, o->crm_modified_at);
  sqlite3_bind_int64 (stmt, 8, now);
  bind_text (stmt, 9, o->crm_owner);
  sqlite3_bind_int64 (stmt, 10, o->crm_state);
  if (writer_step (cache, stmt, "Cannot store the original", error))
    return TRUE;
  g_prefix_error (error, "Item \"%s\" of store \"%s\": ", o->item_id, o->store);
  return FALSE;
}

static gboolean
op_run_kv (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  gboolean watermark = op->kind == OP_SET_WATERMARK;
  const char *sql;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;

  if (op->u.kv.value == NULL)
    sql = watermark ? SQL_DELETE_WATERMARK : SQL_DELETE_SETTING;
  else
    sql = watermark ? SQL_SET_WATERMARK : SQL_SET_SETTING;
  stmt = lia_sqlite_stmt_cache_get (cache->write_stmts, sql, error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, op->u.kv.key);
  if (op->u.kv.value != NULL)
    {
      bind_text (stmt, 2, op->u.kv.value);
      sqlite3_bind_int64 (stmt, 3, now);
    }
  return writer_step (cache, stmt, watermark ? "Cannot set the watermark" : "Cannot set the setting", error);
}

static gboolean
op_run_known (LiaCache *cache, CacheOp *op, GError **error)
{
  gboolean add = op->kind == OP_ADD_KNOWN;
  g_autoptr (LiaSqliteStmtInUse) stmt =
      lia_sqlite_stmt_cache_get (cache->write_stmts, add ? SQL_ADD_KNOWN : SQL_DROP_KNOWN, error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, op->u.known.folder);
  if (add)
    sqlite3_bind_int64 (stmt, 2, op->u.known.key);
  return writer_step (cache, stmt, add ? "Cannot add a known message" : "Cannot drop the known messages",
                      error);
}

static gboolean
op_run_journal (LiaCache *cache, CacheOp *op, gint64 now, GError **error)
{
  const LiaCacheJournalEntry *e = op->u.entry;
  g_autoptr (LiaSqliteStmtInUse) stmt =
      lia_sqlite_stmt_cache_get (cache->write_stmts, SQL_APPEND_JOURNAL, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  bind_text (stmt, 2, e->kind);
  bind_text (stmt, 3, e->store);
  bind_text (stmt, 4, e->item_id);
  bind_text (stmt, 5, e->crm_id);
  bind_text (stmt, 6, e->message);
  if (!writer_step (cache, stmt, "Cannot append to the journal", error))
    return FALSE;
  op->out = sqlite3_last_insert_rowid (cache->write_db);
  return TRUE;
}

static gboolean
op_run (LiaCache *cache, CacheOp *op, CacheRequest *req, GError **error)
{
  switch (op->kind)
    {
    case OP_ENQUEUE:
      return op_run_enqueue (cache, op, req->now, error);
    case OP_COMPLETE:
      return op_run_complete (cache, op, error);
    case OP_FAIL:
      return op_run_fail (cache, op, req->now, error);
    case OP_CLAIM:
      return op_run_claim (cache, op, req->now, req, error);
    case OP_RELEASE_CLAIMS:
      return op_run_release_claims (cache, error);
    case OP_MAP:
      return op_run_map (cache, op, req->now, error);
    case OP_UNMAP:
    case OP_SET_LINK_STATE:
      return op_run_link (cache, op, req->now, error);
    case OP_STORE_ORIGINAL:
      return op_run_store_original (cache, op, req->now, error);
    case OP_SET_WATERMARK:
    case OP_SET_SETTING:
      return op_run_kv (cache, op, req->now, error);
    case OP_APPEND_JOURNAL:
      return op_run_journal (cache, op, req->now, error);
    case OP_ADD_KNOWN:
    case OP_DROP_KNOWN:
      return op_run_known (cache, op, error);
    }
  g_assert_not_reached ();
}

/* Runs one request inside the open transaction: all of its ops or none. */
static gboolean
request_run (LiaCache *cache, CacheRequest *req, GError **error)
{
  gboolean savepoint = req->n_ops > 1;

  if (savepoint && !writer_exec (cache, SQL_SAVEPOINT, error))
    return FALSE;
  for (guint i = 0; i < req->n_ops; i++)
    {
      if (!op_run (cache, &req->ops[i], req, error))
        {
          /* Undo this request's earlier ops. If SQLite already rolled back
           * the whole transaction there is no savepoint left; if undoing
           * fails, drop the transaction so the batch fails as a whole
           * rather than commit half a request. */
          if (savepoint && !sqlite3_get_autocommit (cache->write_db)
              && (!writer_exec (cache, SQL_ROLLBACK_TO, NULL) || !writer_exec (cache, SQL_RELEASE, NULL)))
            writer_exec (cache, SQL_ROLLBACK, NULL);
          g_clear_pointer (&req->claimed, g_ptr_array_unref);
          return FALSE;
        }
    }
  if (savepoint && !writer_exec (cache, SQL_RELEASE, error))
    {
      if (!sqlite3_get_autocommit (cache->write_db))
        writer_exec (cache, SQL_ROLLBACK, NULL);
      g_clear_pointer (&req->claimed, g_ptr_array_unref);
      return FALSE;
    }
  return TRUE;
}

/* ---- the writer: states and loop ---------------------------------------- */

static void
writer_set_state (LiaCache *cache, WriterState to, guint n_requests)
{
  WriterState from = cache->state;
  gboolean allowed;

  switch (to)
    {
    case WRITER_WRITING:
      allowed = from == WRITER_IDLE;
      break;
    case WRITER_ACKNOWLEDGING:
      allowed = from == WRITER_WRITING;
      break;
    case WRITER_IDLE:
      allowed = from == WRITER_ACKNOWLEDGING;
      break;
    case WRITER_STOPPED:
      allowed = from == WRITER_IDLE;
      break;
    case WRITER_N_STATES:
    default:
      allowed = FALSE;
      break;
    }
  g_assert (allowed);
  /* Outside WRITING no transaction may be open: a request acknowledged
   * while its transaction is still open could be lost. */
  g_assert (to == WRITER_WRITING || sqlite3_get_autocommit (cache->write_db));
  g_debug ("cache \"%s\": writer %s -> %s (%u requests)", cache->path, writer_state_names[from],
           writer_state_names[to], n_requests);
  cache->state = to;
}

/* Runs a batch of requests in one transaction. On return each request has
 * its final outcome (error or none) and no transaction is open. */
static void
writer_run_batch (LiaCache *cache, GPtrArray *batch)
{
  g_autoptr (GError) txn_error = NULL;

  writer_set_state (cache, WRITER_WRITING, batch->len);
  if (writer_exec (cache, SQL_BEGIN, &txn_error))
    {
      for (guint i = 0; i < batch->len; i++)
        {
          CacheRequest *req = g_ptr_array_index (batch, i);

          if (!request_run (cache, req, &req->error) && sqlite3_get_autocommit (cache->write_db))
            {
              /* The transaction is gone (SQLite rolled it back after an I/O
               * error or a full disk, or a savepoint could not be undone):
               * the requests before this one are lost as well. */
              txn_error = g_error_copy (req->error);
              break;
            }
        }
      if (txn_error == NULL && !writer_exec (cache, SQL_COMMIT, &txn_error)
          && !sqlite3_get_autocommit (cache->write_db))
        writer_exec (cache, SQL_ROLLBACK, NULL);
    }
  if (txn_error != NULL)
    {
      for (guint i = 0; i < batch->len; i++)
        {
          CacheRequest *req = g_ptr_array_index (batch, i);

          if (req->error == NULL)
            req->error = g_error_copy (txn_error);
          g_clear_pointer (&req->claimed, g_ptr_array_unref);
        }
    }
  else
    {
      g_atomic_int_inc (&cache->n_commits);
    }
  writer_set_state (cache, WRITER_ACKNOWLEDGING, batch->len);
}

static gboolean
dispatch_async_acks (gpointer data)
{
  GPtrArray *reqs = data;

  for (guint i = 0; i < reqs->len; i++)
    {
      CacheRequest *req = g_ptr_array_index (reqs, i);

      if (req->callback != NULL)
        req->callback (req->error == NULL ? req->single.out : 0, req->error, req->user_data);
    }
  return G_SOURCE_REMOVE;
}

/* Posts the callbacks of asynchronous requests, one source per context,
 * in order. Takes ownership of the requests. */
void
lia_cache_post_async_acks (GPtrArray *async_reqs)
{
  g_autoptr (GPtrArray) groups = g_ptr_array_new ();

  for (guint i = 0; i < async_reqs->len; i++)
    {
      CacheRequest *req = g_ptr_array_index (async_reqs, i);
      GPtrArray *group = NULL;

      /* There is one context per thread that enqueues: a handful at most. */
      for (guint g = 0; g < groups->len && group == NULL; g++)
        {
          GPtrArray *candidate = g_ptr_array_index (groups, g);
          CacheRequest *first = g_ptr_array_index (candidate, 0);

          if (first->context == req->context)
            group = candidate;
        }
      if (group == NULL)
        {
          group = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_request_free);
          g_ptr_array_add (groups, group);
        }
      g_ptr_array_add (group, req);
    }
  for (guint g = 0; g < groups->len; g++)
    {
      GPtrArray *group = g_ptr_array_index (groups, g);
      CacheRequest *first = g_ptr_array_index (group, 0);
      g_autoptr (GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (source, "[liaison] cache acknowledgements");
      /* If the context is destroyed before it runs the source, the requests
       * are freed without their callbacks, as for any GLib source. */
      g_source_set_callback (source, dispatch_async_acks, group, (GDestroyNotify) g_ptr_array_unref);
      g_source_attach (source, first->context);
    }
}

gpointer
lia_cache_writer_main (gpointer data)
{
  LiaCache *cache = data;
  g_autoptr (GPtrArray) batch = g_ptr_array_new ();
  g_autoptr (GPtrArray) async_reqs = g_ptr_array_new ();
  g_autoptr (GPtrArray) sync_reqs = g_ptr_array_new ();

  g_mutex_lock (&cache->lock);
  for (;;)
    {
      guint n;

      while (!cache->closing && (cache->pending->len == 0 || cache->paused))
        g_cond_wait (&cache->wake_cond, &cache->lock);
      if (cache->pending->len == 0)
        {
          /* closing and drained: nothing can be added any more */
          writer_set_state (cache, WRITER_STOPPED, 0);
          break;
        }
      n = MIN (cache->pending->len, LIA_CACHE_MAX_BATCH);
      for (guint i = 0; i < n; i++)
        g_ptr_array_add (batch, g_ptr_array_index (cache->pending, i));
      g_ptr_array_remove_range (cache->pending, 0, n);
      g_mutex_unlock (&cache->lock);

      writer_run_batch (cache, batch);

      /* Split the batch before acknowledging anything: once posted, an
       * asynchronous request may be freed by its context's thread at any
       * moment, and once woken, a synchronous request's memory is gone. */
      for (guint i = 0; i < batch->len; i++)
        {
          CacheRequest *req = g_ptr_array_index (batch, i);

          g_ptr_array_add (req->context != NULL ? async_reqs : sync_reqs, req);
        }
      if (async_reqs->len > 0)
        {
          lia_cache_post_async_acks (async_reqs);
          g_ptr_array_set_size (async_reqs, 0);
        }

      g_mutex_lock (&cache->lock);
      for (guint i = 0; i < sync_reqs->len; i++)
        ((CacheRequest *) g_ptr_array_index (sync_reqs, i))->done = TRUE;
      g_ptr_array_set_size (sync_reqs, 0);
      g_cond_broadcast (&cache->done_cond);
      writer_set_state (cache, WRITER_IDLE, batch->len);
      g_ptr_array_set_size (batch, 0);
    }
  g_mutex_unlock (&cache->lock);
  return NULL;
}

/* Hands a request to the writer. A synchronous request (no context) blocks
 * until it is acknowledged; an asynchronous one is owned by the cache from
 * here on. */
void
lia_cache_submit (LiaCache *cache, CacheRequest *req)
{
  g_mutex_lock (&cache->lock);
  if (cache->closing)
    {
      g_mutex_unlock (&cache->lock);
      g_set_error (&req->error, LIA_ERROR, LIA_ERROR_STORE, "Cannot write to \"%s\": the cache is closing",
                   cache->path);
      if (req->context != NULL)
        {
          g_autoptr (GPtrArray) one = g_ptr_array_new ();

          g_ptr_array_add (one, req);
          lia_cache_post_async_acks (one);
        }
      return;
    }
  g_ptr_array_add (cache->pending, req);
  g_cond_signal (&cache->wake_cond);
  if (req->context == NULL)
    {
      /* Counted so that a close racing with this call (a misuse, but one
       * that must not crash the host) frees nothing before we are out. */
      cache->n_waiting++;
      while (!req->done)
        g_cond_wait (&cache->done_cond, &cache->lock);
      if (--cache->n_waiting == 0 && cache->closing)
        g_cond_broadcast (&cache->done_cond);
    }
  g_mutex_unlock (&cache->lock);
}

/* Runs borrowed ops as one synchronous request. */
gboolean
lia_cache_write (LiaCache *cache, CacheOp *ops, guint n_ops, GPtrArray **out_claimed, GError **error)
{
  CacheRequest req = { .ops = ops, .n_ops = n_ops, .owns_ops = FALSE };

  for (guint i = 0; i < n_ops; i++)
    {
      if (!validate_op (&ops[i], error))
        return FALSE;
    }
  req.now = lia_clock_now (cache->clock);
  lia_cache_submit (cache, &req);
  if (req.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&req.error));
      g_clear_pointer (&req.claimed, g_ptr_array_unref);
      return FALSE;
    }
  if (out_claimed != NULL)
    *out_claimed = g_steal_pointer (&req.claimed);
  g_clear_pointer (&req.claimed, g_ptr_array_unref);
  return TRUE;
}
