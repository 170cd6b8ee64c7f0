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

typedef enum
{
  WRITER_IDLE,
  WRITER_WRITING,
  WRITER_ACKNOWLEDGING,
  WRITER_STOPPED,
  WRITER_N_STATES
} WriterState;

static const char *const writer_state_names[] = {
  [WRITER_IDLE] = "idle",
  [WRITER_WRITING] = "writing",
  [WRITER_ACKNOWLEDGING] = "acknowledging",
  [WRITER_STOPPED] = "stopped",
};
G_STATIC_ASSERT (G_N_ELEMENTS (writer_state_names) == WRITER_N_STATES);

typedef enum
{
  OP_ENQUEUE,
  OP_COMPLETE,
  OP_FAIL,
  OP_MAP,
  OP_UNMAP,
  OP_SET_LINK_STATE,
  OP_STORE_ORIGINAL,
  OP_SET_WATERMARK,
  OP_SET_SETTING,
  OP_APPEND_JOURNAL,
  OP_CLAIM,
} CacheOpKind;

/* One write. Its pointers are owned by the op when it sits in a batch or an
 * asynchronous request, and borrowed from the blocked caller when it sits
 * in a synchronous request (owns_ops says which). */
typedef struct
{
  CacheOpKind kind;
  union
  {
    LiaCacheChange *change;      /* ENQUEUE */
    LiaCacheMapping *mapping;    /* MAP */
    LiaCacheOriginal *original;  /* STORE_ORIGINAL */
    LiaCacheJournalEntry *entry; /* APPEND_JOURNAL */
    struct
    {
      gint64 id;
      char *message; /* FAIL only */
    } row;           /* COMPLETE, FAIL */
    struct
    {
      char *store;
      char *item_id;
      LiaLinkState state;
      char *crm_id; /* nullable */
    } link;         /* UNMAP, SET_LINK_STATE */
    struct
    {
      char *key;
      char *value; /* nullable: delete */
    } kv;          /* SET_WATERMARK, SET_SETTING */
    struct
    {
      LiaDirection direction;
      guint max;
      gint64 lease_us;
    } claim; /* CLAIM */
  } u;
  gint64 out; /* written by the writer: ENQUEUE, APPEND_JOURNAL the new id;
               * FAIL the next attempt time */
} CacheOp;

typedef struct
{
  CacheOp *ops; /* borrowed from the caller, or points to `single` */
  guint n_ops;
  gboolean owns_ops;
  CacheOp single;
  gint64 now;            /* the caller's clock reading when it asked */
  GPtrArray *claimed;    /* owned, CLAIM only: rows of LiaCacheChange */
  GError *error;         /* owned; NULL once committed */
  gboolean done;         /* guarded by lock; sync requests only */
  GMainContext *context; /* owned; NULL for a synchronous request */
  LiaCacheEnqueueFunc callback;
  gpointer user_data;
} CacheRequest;

struct _LiaCacheBatch
{
  GArray *ops; /* owned: CacheOp, owning theirs */
};

struct _LiaCache
{
  char *path;      /* owned */
  LiaClock *clock; /* owned reference */

  GMutex lock;
  GCond wake_cond;    /* the writer waits here for requests */
  GCond done_cond;    /* synchronous callers wait here for done */
  GPtrArray *pending; /* guarded by lock: CacheRequest *, in arrival order */
  gboolean closing;   /* guarded by lock */
  guint n_waiting;    /* guarded by lock: synchronous callers not yet gone */
  gboolean paused;    /* guarded by lock; tests only */

  GThread *writer;                 /* owned */
  WriterState state;               /* writer thread only (and close, after join) */
  sqlite3 *write_db;               /* owned; writer thread only once open */
  LiaSqliteStmtCache *write_stmts; /* owned; as write_db */
  gint n_commits;                  /* atomic; wraps after 2^31 commits */

  GMutex read_lock;
  sqlite3 *read_db;               /* owned; guarded by read_lock */
  LiaSqliteStmtCache *read_stmts; /* owned; guarded by read_lock */
};

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

/* ---- validation: data errors are LIA_ERROR_INVALID, before any I/O ----- */

static gboolean
is_set (const char *s)
{
  return s != NULL && *s != '\0';
}

static gboolean
validate_change (const LiaCacheChange *change, GError **error)
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
      return validate_change (op->u.change, error);
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
      return TRUE;
    }
  g_assert_not_reached ();
}

static void
op_clear (CacheOp *op)
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
    }
}

static void
request_free (CacheRequest *req)
{
  if (req == NULL)
    return;
  if (req->owns_ops)
    {
      for (guint i = 0; i < req->n_ops; i++)
        op_clear (&req->ops[i]);
    }
  g_clear_pointer (&req->claimed, g_ptr_array_unref);
  g_clear_error (&req->error);
  g_clear_pointer (&req->context, g_main_context_unref);
  g_free (req);
}

/* ---- rows ------------------------------------------------------------ */

static char *
column_dup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

#define CHANGE_COLUMNS                                                                          \
  "id, direction, op, store, folder, item_id, entity, crm_id, payload, enqueued_at, attempts, " \
  "next_attempt_at, last_error, claimed_until"

static LiaCacheChange *
change_from_row (sqlite3_stmt *stmt)
{
  LiaCacheChange *change = g_new0 (LiaCacheChange, 1);
  const void *blob;

  change->id = sqlite3_column_int64 (stmt, 0);
  change->direction = (LiaDirection) sqlite3_column_int (stmt, 1);
  change->op = (LiaChangeOp) sqlite3_column_int (stmt, 2);
  change->store = column_dup (stmt, 3);
  change->folder = column_dup (stmt, 4);
  change->item_id = column_dup (stmt, 5);
  change->entity = (LiaEntity) sqlite3_column_int (stmt, 6);
  change->crm_id = column_dup (stmt, 7);
  blob = sqlite3_column_blob (stmt, 8);
  if (sqlite3_column_type (stmt, 8) != SQLITE_NULL)
    change->payload = g_bytes_new (blob, (gsize) sqlite3_column_bytes (stmt, 8));
  change->enqueued_at = sqlite3_column_int64 (stmt, 9);
  change->attempts = (guint) sqlite3_column_int (stmt, 10);
  change->next_attempt_at = sqlite3_column_int64 (stmt, 11);
  change->last_error = column_dup (stmt, 12);
  change->claimed_until = sqlite3_column_int64 (stmt, 13);
  return change;
}

#define MAPPING_COLUMNS \
  "store, folder, item_id, entity, crm_id, link_state, link_origin, linked_at, modified_at"

static LiaCacheMapping *
mapping_from_row (sqlite3_stmt *stmt)
{
  LiaCacheMapping *mapping = g_new0 (LiaCacheMapping, 1);

  mapping->store = column_dup (stmt, 0);
  mapping->folder = column_dup (stmt, 1);
  mapping->item_id = column_dup (stmt, 2);
  mapping->entity = (LiaEntity) sqlite3_column_int (stmt, 3);
  mapping->crm_id = column_dup (stmt, 4);
  mapping->state = (LiaLinkState) sqlite3_column_int (stmt, 5);
  mapping->origin = (LiaLinkOrigin) sqlite3_column_int (stmt, 6);
  mapping->linked_at = sqlite3_column_int64 (stmt, 7);
  mapping->modified_at = sqlite3_column_int64 (stmt, 8);
  return mapping;
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
static const char SQL_APPEND_JOURNAL[] =
    "INSERT INTO journal (at, kind, store, item_id, crm_id, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static void
bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  /* SQLITE_STATIC: every bound string outlives the statement's step,
   * because the statement is reset before the op that owns it is freed. */
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

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
    g_ptr_array_add (claimed, change_from_row (stmt));
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
static void
post_async_acks (GPtrArray *async_reqs)
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
          group = g_ptr_array_new_with_free_func ((GDestroyNotify) request_free);
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

static gpointer
writer_main (gpointer data)
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
          post_async_acks (async_reqs);
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
static void
cache_submit (LiaCache *cache, CacheRequest *req)
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
          post_async_acks (one);
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
static gboolean
cache_write (LiaCache *cache, CacheOp *ops, guint n_ops, GPtrArray **out_claimed, GError **error)
{
  CacheRequest req = { .ops = ops, .n_ops = n_ops, .owns_ops = FALSE };

  for (guint i = 0; i < n_ops; i++)
    {
      if (!validate_op (&ops[i], error))
        return FALSE;
    }
  req.now = lia_clock_now (cache->clock);
  cache_submit (cache, &req);
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

  cache->writer = g_thread_try_new ("lia-cache-writer", writer_main, cache, &thread_error);
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
  return cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_unmap (LiaCache *cache, const char *store, const char *item_id, GError **error)
{
  CacheOp op = { .kind = OP_UNMAP, .u.link = { .store = (char *) store, .item_id = (char *) item_id } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (store != NULL && item_id != NULL, FALSE);
  return cache_write (cache, &op, 1, NULL, error);
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
  return cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_enqueue (LiaCache *cache, const LiaCacheChange *change, gint64 *out_id, GError **error)
{
  CacheOp op = { .kind = OP_ENQUEUE, .u.change = (LiaCacheChange *) change };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (change != NULL, FALSE);
  if (!cache_write (cache, &op, 1, NULL, error))
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
  if (!validate_change (change, &req->error))
    {
      g_autoptr (GPtrArray) one = g_ptr_array_new ();

      g_ptr_array_add (one, req);
      post_async_acks (one);
      return;
    }
  cache_submit (cache, req);
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
  if (!cache_write (cache, &op, 1, &claimed, error))
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
  return cache_write (cache, ops, n_ids, NULL, error);
}

gboolean
lia_cache_fail (LiaCache *cache, gint64 id, const char *message, gint64 *out_next_attempt_at, GError **error)
{
  CacheOp op = { .kind = OP_FAIL, .u.row = { .id = id, .message = (char *) message } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  if (!cache_write (cache, &op, 1, NULL, error))
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
  return cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_set_watermark (LiaCache *cache, const char *key, const char *value, GError **error)
{
  CacheOp op = { .kind = OP_SET_WATERMARK, .u.kv = { .key = (char *) key, .value = (char *) value } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_set_setting (LiaCache *cache, const char *key, const char *value, GError **error)
{
  CacheOp op = { .kind = OP_SET_SETTING, .u.kv = { .key = (char *) key, .value = (char *) value } };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return cache_write (cache, &op, 1, NULL, error);
}

gboolean
lia_cache_append_journal (LiaCache *cache, const LiaCacheJournalEntry *entry, gint64 *out_id, GError **error)
{
  CacheOp op = { .kind = OP_APPEND_JOURNAL, .u.entry = (LiaCacheJournalEntry *) entry };

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);
  if (!cache_write (cache, &op, 1, NULL, error))
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
  g_array_set_clear_func (batch->ops, (GDestroyNotify) op_clear);
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
  return cache_write (cache, (CacheOp *) (gpointer) batch->ops->data, batch->ops->len, NULL, error);
}

/* ---- reads ------------------------------------------------------------ */

/* Reads run on the read connection under read_lock: WAL gives each
 * statement a snapshot that includes every acknowledged write. */

static gboolean
read_step_error (LiaCache *cache, int rc, GError **error)
{
  lia_sqlite_set_error (error, cache->read_db, rc, cache->path, "read");
  return FALSE;
}

static LiaCacheMapping *
read_one_mapping (LiaCache *cache, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return mapping_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error_literal (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "The item is not mapped");
  else
    read_step_error (cache, rc, error);
  return NULL;
}

static const char SQL_LOOKUP_ITEM[] =
    "SELECT " MAPPING_COLUMNS " FROM id_mapping WHERE store = ?1 AND item_id = ?2";
static const char SQL_LOOKUP_CRM[] =
    "SELECT " MAPPING_COLUMNS " FROM id_mapping WHERE store = ?1 AND entity = ?2 AND crm_id = ?3";
static const char SQL_LIST_MAPPINGS[] =
    "SELECT " MAPPING_COLUMNS
    " FROM id_mapping WHERE store = ?1 AND (?2 IS NULL OR folder = ?2) ORDER BY item_id";

LiaCacheMapping *
lia_cache_lookup_item (LiaCache *cache, const char *store, const char *item_id, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  LiaCacheMapping *mapping;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (store != NULL && item_id != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LOOKUP_ITEM, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, store);
  bind_text (stmt, 2, item_id);
  mapping = read_one_mapping (cache, stmt, error);
  if (mapping == NULL)
    g_prefix_error (error, "Item \"%s\" of store \"%s\": ", item_id, store);
  return mapping;
}

LiaCacheMapping *
lia_cache_lookup_crm (LiaCache *cache, const char *store, LiaEntity entity, const char *crm_id,
                      GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  LiaCacheMapping *mapping;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (store != NULL && crm_id != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LOOKUP_CRM, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, store);
  sqlite3_bind_int (stmt, 2, entity);
  bind_text (stmt, 3, crm_id);
  mapping = read_one_mapping (cache, stmt, error);
  if (mapping == NULL)
    g_prefix_error (error, "CRM %s %s in store \"%s\": ", lia_entity_to_string (entity), crm_id, store);
  return mapping;
}

GPtrArray *
lia_cache_list_mappings (LiaCache *cache, const char *store, const char *folder, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  g_autoptr (GPtrArray) mappings = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (store != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LIST_MAPPINGS, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, store);
  bind_text (stmt, 2, folder);
  mappings = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_mapping_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (mappings, mapping_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      read_step_error (cache, rc, error);
      return NULL;
    }
  return g_steal_pointer (&mappings);
}

/* The filter as SQL over `attempts`: ?1 is the LiaCacheChangeFilter. */
#define CHANGE_FILTER_SQL "(?1 = 0 OR (?1 = 1 AND attempts = 0) OR (?1 = 2 AND attempts > 0))"

static const char SQL_COUNT_CHANGES[] = "SELECT count(*) FROM change_queue WHERE " CHANGE_FILTER_SQL;
static const char SQL_LIST_CHANGES[] =
    "SELECT " CHANGE_COLUMNS " FROM change_queue WHERE " CHANGE_FILTER_SQL " ORDER BY id LIMIT ?2";
static const char SQL_LOOKUP_CHANGE[] = "SELECT " CHANGE_COLUMNS " FROM change_queue WHERE id = ?1";

gboolean
lia_cache_count_changes (LiaCache *cache, LiaCacheChangeFilter filter, guint64 *out_count, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL, FALSE);
  g_return_val_if_fail (filter <= LIA_CACHE_CHANGES_FAILED, FALSE);
  g_return_val_if_fail (out_count != NULL, FALSE);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_COUNT_CHANGES, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, filter);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return read_step_error (cache, rc == SQLITE_DONE ? SQLITE_ERROR : rc, error);
  *out_count = (guint64) sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

GPtrArray *
lia_cache_list_changes (LiaCache *cache, LiaCacheChangeFilter filter, guint limit, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (filter <= LIA_CACHE_CHANGES_FAILED, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LIST_CHANGES, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int (stmt, 1, filter);
  /* A negative LIMIT is no limit. */
  sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);
  changes = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_change_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (changes, change_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      read_step_error (cache, rc, error);
      return NULL;
    }
  return g_steal_pointer (&changes);
}

LiaCacheChange *
lia_cache_lookup_change (LiaCache *cache, gint64 id, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LOOKUP_CHANGE, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return change_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "Change %" G_GINT64_FORMAT " is not in the queue",
                 id);
  else
    read_step_error (cache, rc, error);
  return NULL;
}

static const char SQL_LOAD_ORIGINAL[] =
    "SELECT store, item_id, xml, host_version, host_modified_at, crm_version, crm_modified_at, stored_at,"
    " crm_owner, crm_state FROM original WHERE store = ?1 AND item_id = ?2";

LiaCacheOriginal *
lia_cache_load_original (LiaCache *cache, const char *store, const char *item_id, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  LiaCacheOriginal *original;
  int rc;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (store != NULL && item_id != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LOAD_ORIGINAL, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, store);
  bind_text (stmt, 2, item_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "Item \"%s\" of store \"%s\" has no original",
                     item_id, store);
      else
        read_step_error (cache, rc, error);
      return NULL;
    }
  original = g_new0 (LiaCacheOriginal, 1);
  original->store = column_dup (stmt, 0);
  original->item_id = column_dup (stmt, 1);
  original->xml = column_dup (stmt, 2);
  original->host_version = column_dup (stmt, 3);
  original->host_modified_at = sqlite3_column_int64 (stmt, 4);
  original->crm_version = sqlite3_column_int64 (stmt, 5);
  original->crm_modified_at = sqlite3_column_int64 (stmt, 6);
  original->stored_at = sqlite3_column_int64 (stmt, 7);
  original->crm_owner = column_dup (stmt, 8);
  original->crm_state = (guint) sqlite3_column_int64 (stmt, 9);
  return original;
}

static const char SQL_GET_WATERMARK[] = "SELECT value FROM watermark WHERE key = ?1";
static const char SQL_GET_SETTING[] = "SELECT value FROM setting WHERE key = ?1";

static char *
read_kv (LiaCache *cache, const char *sql, const char *what, const char *key, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc;

  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, sql, error);
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, key);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return column_dup (stmt, 0);
  if (rc == SQLITE_DONE)
    g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No %s \"%s\"", what, key);
  else
    read_step_error (cache, rc, error);
  return NULL;
}

char *
lia_cache_dup_watermark (LiaCache *cache, const char *key, GError **error)
{
  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return read_kv (cache, SQL_GET_WATERMARK, "watermark", key, error);
}

char *
lia_cache_dup_setting (LiaCache *cache, const char *key, GError **error)
{
  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return read_kv (cache, SQL_GET_SETTING, "setting", key, error);
}

static const char SQL_LIST_JOURNAL[] =
    "SELECT id, at, kind, store, item_id, crm_id, message FROM journal ORDER BY id DESC LIMIT ?1";

GPtrArray *
lia_cache_list_journal (LiaCache *cache, guint limit, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL, NULL);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_LIST_JOURNAL, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit > 0 ? (gint64) limit : -1);
  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_journal_entry_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      LiaCacheJournalEntry *entry = g_new0 (LiaCacheJournalEntry, 1);

      entry->id = sqlite3_column_int64 (stmt, 0);
      entry->at = sqlite3_column_int64 (stmt, 1);
      entry->kind = column_dup (stmt, 2);
      entry->store = column_dup (stmt, 3);
      entry->item_id = column_dup (stmt, 4);
      entry->crm_id = column_dup (stmt, 5);
      entry->message = column_dup (stmt, 6);
      g_ptr_array_add (entries, entry);
    }
  if (rc != SQLITE_DONE)
    {
      read_step_error (cache, rc, error);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

gboolean
lia_cache_check (LiaCache *cache, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;

  g_return_val_if_fail (cache != NULL, FALSE);
  locker = g_mutex_locker_new (&cache->read_lock);
  return lia_cache_schema_check (cache->read_db, cache->path, error);
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
