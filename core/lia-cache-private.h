/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>
#include <sqlite3.h>

#include "lia-sqlite-private.h"

G_BEGIN_DECLS

/* PRAGMA application_id of a sync cache: "LIAC". A file whose schema is not
 * empty but carries another id is not ours and is refused, never migrated. */
#define LIA_CACHE_APPLICATION_ID 0x4c494143

/* Backoff of a failed change: 30 s doubling per failure, capped at 1 h. */
#define LIA_CACHE_BACKOFF_BASE_US (G_GINT64_CONSTANT (30) * G_USEC_PER_SEC)
#define LIA_CACHE_BACKOFF_CAP_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* The most requests the writer commits in one transaction: bounds the
 * latency of the first request of a flood and the size of the WAL. */
#define LIA_CACHE_MAX_BATCH 16384

/* The cache object and the writer's requests, shared by lia-cache.c,
 * lia-cache-writer.c and lia-cache-read.c. */

typedef enum
{
  WRITER_IDLE,
  WRITER_WRITING,
  WRITER_ACKNOWLEDGING,
  WRITER_STOPPED,
  WRITER_N_STATES
} WriterState;

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
  OP_RELEASE_CLAIMS,
  OP_ADD_KNOWN,
  OP_DROP_KNOWN,
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
    struct
    {
      char *folder;
      gint64 key; /* ADD_KNOWN only */
    } known;      /* ADD_KNOWN, DROP_KNOWN */
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

#define CHANGE_COLUMNS                                                                          \
  "id, direction, op, store, folder, item_id, entity, crm_id, payload, enqueued_at, attempts, " \
  "next_attempt_at, last_error, claimed_until"

#define MAPPING_COLUMNS \
  "store, folder, item_id, entity, crm_id, link_state, link_origin, linked_at, modified_at"

/* lia-cache-writer.c: the writer thread and its requests. */

/* Checks a change before any I/O: LIA_ERROR_INVALID for a malformed one. */
gboolean lia_cache_validate_change (const LiaCacheChange *change, GError **error);
/* Frees what an op owns (ops in batches and asynchronous requests). */
void lia_cache_op_clear (CacheOp *op);
void lia_cache_request_free (CacheRequest *req);
/* The writer thread's body; @data is the cache. */
gpointer lia_cache_writer_main (gpointer data);
/* Hands @req to the writer (takes it); for asynchronous requests. */
void lia_cache_submit (LiaCache *cache, CacheRequest *req);
/* Posts the callbacks of asynchronous requests to their contexts, one
 * source per context, and frees the requests. */
void lia_cache_post_async_acks (GPtrArray *async_reqs);
/* Runs @ops as one request and blocks until it is committed or failed. */
gboolean lia_cache_write (LiaCache *cache, CacheOp *ops, guint n_ops, GPtrArray **out_claimed,
                          GError **error);

/* lia-cache.c */

/* lia_cache_set_watermark() without disk I/O on the caller's thread, as
 * lia_cache_enqueue_async(): @callback (nullable) runs on the caller's
 * thread-default context once the watermark is durable or failed (its id
 * is 0). For the host's thread (the engine's notes of arrivals). */
void lia_cache_set_watermark_async (LiaCache *cache, const char *key, const char *value,
                                    LiaCacheEnqueueFunc callback, gpointer user_data);

/* R-MAIL-FOLDER: the messages known in a tracked folder (table
 * mail_folder_known; lia-engine-mail-folders.c says what the keys are).
 * Adds @key to @folder's set ("store/folder"); adding it again is no
 * change. */
void lia_cache_batch_add_known (LiaCacheBatch *batch, const char *folder, gint64 key);
/* Drops @folder's whole set. */
void lia_cache_batch_drop_known (LiaCacheBatch *batch, const char *folder);

/* lia-cache-read.c */

/* Whether @key is in @folder's set (*@out_known); FALSE with @error when
 * the cache cannot be read. */
gboolean lia_cache_is_known (LiaCache *cache, const char *folder, gint64 key, gboolean *out_known,
                             GError **error);
/* How many keys @folder's set holds; -1 with @error when the cache cannot
 * be read. */
gint64 lia_cache_count_known (LiaCache *cache, const char *folder, GError **error);

/* A change_queue row, columns in the order of the queue's SELECTs. */
LiaCacheChange *lia_cache_change_from_row (sqlite3_stmt *stmt);

/* Binds @text, or NULL, as a transient copy. */
static inline void
bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  /* SQLITE_STATIC: every bound string outlives the statement's step,
   * because the statement is reset before the op that owns it is freed. */
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

/* lia-cache-schema.c */

/* Brings the schema of @db forward to LIA_CACHE_SCHEMA_VERSION, one step
 * per transaction (BEGIN IMMEDIATE, so two processes opening the same file
 * do not both migrate it). Refuses a newer or foreign file without writing
 * to it. */
gboolean lia_cache_schema_migrate (sqlite3 *db, const char *path, GError **error);

/* Checks the schema version and application id without writing. */
gboolean lia_cache_schema_check_version (sqlite3 *db, const char *path, GError **error);

/* PRAGMA integrity_check, foreign_key_check and the version check. */
gboolean lia_cache_schema_check (sqlite3 *db, const char *path, GError **error);

/* The CREATE TABLE of change_queue and its indexes, for the benchmark's raw
 * SQLite baseline (same table, same indexes). */
const char *lia_cache_schema_change_queue_sql (void);

/* lia-cache.c */

/* Returns the delay after the @attempts-th failure (1 for the first) of
 * change @id: min (30 s * 2^(attempts-1), 1 h), minus a jitter of up to a
 * tenth that depends only on (@id, @attempts). */
gint64 lia_cache_backoff_us (guint attempts, gint64 id);

/* Tests only. While paused, the writer takes no new request (except to drain
 * on close), so a test can queue a burst and see it committed at once. */
void lia_cache_set_writer_paused (LiaCache *cache, gboolean paused);

/* Tests and benchmarks: transactions the writer committed so far. */
guint64 lia_cache_get_commit_count (LiaCache *cache);

G_END_DECLS
