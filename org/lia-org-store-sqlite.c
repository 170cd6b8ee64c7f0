/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-codec.h"
#include "lia-org-store-backend.h"
#include "lia-sqlite-private.h"

/* The SQLite org store. One connection, WAL, foreign keys on, schema
 * version in PRAGMA user_version with forward-only migrations, each in its
 * own transaction (STYLE 21). Statements are prepared once and cached by
 * the address of their (static) SQL text (core's LiaSqliteStmtCache): the
 * hot paths of PrepareSync run thousands of times a second on the server.
 * SQLite result codes become LIA_ERROR_STORE messages in core's one place
 * (lia_sqlite_set_error()), prefixed with "Org store: " so that the user
 * knows which of the files failed. */

typedef struct
{
  LiaOrgStore parent;
  sqlite3 *db;               /* owned */
  char *path;                /* owned */
  LiaSqliteStmtCache *stmts; /* owned, freed before db is closed */
  guint depth;               /* open begins: 1 is the transaction, more are savepoints */
  gboolean batch;            /* the transaction is a batch: begins nest as savepoints */
} SqliteStore;

#define SQ(store) ((SqliteStore *) (store))
#define ORG_STORE_PREFIX "Org store: "

static const LiaOrgStoreVTable sqlite_vtable;

static gboolean
fail (LiaOrgStore *store, int rc, const char *doing, GError **error)
{
  lia_sqlite_set_error (error, SQ (store)->db, rc, SQ (store)->path, doing);
  g_prefix_error (error, ORG_STORE_PREFIX);
  return FALSE;
}

static LiaSqliteStmtInUse *
prep (LiaOrgStore *store, const char *sql, GError **error)
{
  LiaSqliteStmtInUse *stmt = lia_sqlite_stmt_cache_get (SQ (store)->stmts, sql, error);

  if (stmt == NULL)
    g_prefix_error (error, ORG_STORE_PREFIX);
  return stmt;
}

/* The query layer: each store function states its SQL, its binds and its
 * row mapping; these helpers do the rest (the statement cache, binding,
 * stepping, and the "Org store: " errors). A bind is one typed value for
 * the parameter at its position (?1 is the first):
 *   TEXT (s)  a string, NULL binds NULL
 *   INT (n)   any integer (an entity, a version, a count)
 *   BOOL (b)  a gboolean, stored as 0 or 1
 *   BLOB (data, len)
 * ARGS (...) passes a list of them, as the array and its length. */
typedef enum
{
  BIND_TEXT,
  BIND_INT,
  BIND_BLOB,
} BindKind;

typedef struct
{
  BindKind kind;
  const void *data; /* TEXT, BLOB */
  gint64 num;       /* INT; the length of a BLOB */
} Bind;

#define TEXT(s) ((Bind){ .kind = BIND_TEXT, .data = (const char *){ (s) } })
#define INT(n) ((Bind){ .kind = BIND_INT, .num = (n) })
#define BOOL(b) ((Bind){ .kind = BIND_INT, .num = (b) ? 1 : 0 })
#define BLOB(d, len) ((Bind){ .kind = BIND_BLOB, .data = (d), .num = (gint64) (len) })
#define ARGS(...) ((const Bind[]){ __VA_ARGS__ }), G_N_ELEMENTS (((const Bind[]){ __VA_ARGS__ }))
#define NO_ARGS NULL, 0

static void
bind_all (sqlite3_stmt *stmt, const Bind *binds, guint n_binds)
{
  for (guint i = 0; i < n_binds; i++)
    {
      int index = (int) i + 1;

      switch (binds[i].kind)
        {
        case BIND_TEXT:
          if (binds[i].data == NULL)
            sqlite3_bind_null (stmt, index);
          else
            sqlite3_bind_text (stmt, index, binds[i].data, -1, SQLITE_TRANSIENT);
          break;
        case BIND_INT:
          sqlite3_bind_int64 (stmt, index, binds[i].num);
          break;
        case BIND_BLOB:
          sqlite3_bind_blob (stmt, index, binds[i].data, (int) binds[i].num, SQLITE_TRANSIENT);
          break;
        }
    }
}

/* Returns 1 for a row, 0 when done, -1 with @error set. */
static int
step (LiaOrgStore *store, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  fail (store, rc, "use", error);
  return -1;
}

/* Returns: (transfer none) (nullable): @sql from the cache with @binds
 * bound, to be stepped; hold it in a g_autoptr(LiaSqliteStmtInUse). */
static LiaSqliteStmtInUse *
query (LiaOrgStore *store, const char *sql, const Bind *binds, guint n_binds, GError **error)
{
  LiaSqliteStmtInUse *stmt = prep (store, sql, error);

  if (stmt != NULL)
    bind_all (stmt, binds, n_binds);
  return stmt;
}

/* Runs a statement that returns no rows (or whose rows do not matter). */
static gboolean
run (LiaOrgStore *store, const char *sql, const Bind *binds, guint n_binds, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, binds, n_binds, error);

  return stmt != NULL && step (store, stmt, error) >= 0;
}

/* Steps to the first row: returns 1 with *out_stmt on it, 0 for no row,
 * -1 with @error set. *out_stmt (a g_autoptr(LiaSqliteStmtInUse) of the
 * caller's, NULL on entry) holds the statement in every case. */
static int
query_row (LiaOrgStore *store, LiaSqliteStmtInUse **out_stmt, const char *sql, const Bind *binds,
           guint n_binds, GError **error)
{
  *out_stmt = query (store, sql, binds, n_binds, error);
  return *out_stmt != NULL ? step (store, *out_stmt, error) : -1;
}

typedef gpointer (*RowMap) (sqlite3_stmt *stmt);

/* Returns: (transfer full) (nullable): every row mapped by @map, in a
 * GPtrArray that frees them with @free_item; NULL with @error set. */
static GPtrArray *
query_list (LiaOrgStore *store, const char *sql, const Bind *binds, guint n_binds, RowMap map,
            GDestroyNotify free_item, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, binds, n_binds, error);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (free_item);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = step (store, stmt, error)) == 1)
    g_ptr_array_add (rows, map (stmt));
  return rc < 0 ? NULL : g_steal_pointer (&rows);
}

/* Reads the integer in the first column of the first row: *out_value is
 * 0 and *out_found FALSE when there is no row (either may be NULL). */
static gboolean
query_int (LiaOrgStore *store, const char *sql, const Bind *binds, guint n_binds, gint64 *out_value,
           gboolean *out_found, GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, binds, n_binds, error);

  if (rc < 0)
    return FALSE;
  if (out_value != NULL)
    *out_value = rc == 1 ? sqlite3_column_int64 (stmt, 0) : 0;
  if (out_found != NULL)
    *out_found = rc == 1;
  return TRUE;
}

static char *
col_dup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

static gboolean
exec (LiaOrgStore *store, const char *doing, const char *sql, GError **error)
{
  if (lia_sqlite_exec (SQ (store)->db, SQ (store)->path, doing, sql, error))
    return TRUE;
  g_prefix_error (error, ORG_STORE_PREFIX);
  return FALSE;
}

/* Forward-only migrations; migrations[i] takes the schema from version i to
 * i + 1. Never edit a shipped entry: append a new one. */
static const char *const migrations[] = {
  "CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
  "INSERT INTO counter VALUES ('version', 0), ('filter-gen', 1);"
  "CREATE TABLE user (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT,"
  "  email_fold TEXT, admin INTEGER NOT NULL, approved INTEGER NOT NULL);"
  "CREATE INDEX user_email ON user (email_fold);"
  "CREATE TABLE token (hash TEXT PRIMARY KEY,"
  "  user_id TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE, created_on INTEGER NOT NULL);"
  "CREATE INDEX token_user ON token (user_id);"
  "CREATE TABLE delegation (owner_id TEXT NOT NULL, delegate_id TEXT NOT NULL,"
  "  PRIMARY KEY (owner_id, delegate_id)) WITHOUT ROWID;"
  "CREATE TABLE field_security (role TEXT NOT NULL, entity INTEGER NOT NULL, field TEXT NOT NULL,"
  "  can_read INTEGER NOT NULL, can_update INTEGER NOT NULL, PRIMARY KEY (role, entity, field)) WITHOUT "
  "ROWID;"
  "CREATE TABLE record (id TEXT PRIMARY KEY, entity INTEGER NOT NULL, owner_id TEXT NOT NULL,"
  "  state INTEGER NOT NULL, modified_on INTEGER NOT NULL, version INTEGER NOT NULL,"
  "  deleted INTEGER NOT NULL, name TEXT NOT NULL, name_fold TEXT NOT NULL, email TEXT,"
  "  fields BLOB NOT NULL);"
  "CREATE INDEX record_entity_version ON record (entity, version);"
  "CREATE INDEX record_name ON record (name_fold);"
  "CREATE TABLE record_email (address TEXT NOT NULL, record_id TEXT NOT NULL,"
  "  PRIMARY KEY (address, record_id)) WITHOUT ROWID;"
  "CREATE INDEX record_email_record ON record_email (record_id);"
  "CREATE TABLE request (user_id TEXT NOT NULL, request_id TEXT NOT NULL, record_id TEXT NOT NULL,"
  "  PRIMARY KEY (user_id, request_id)) WITHOUT ROWID;"
  "CREATE TABLE filter (id TEXT PRIMARY KEY, entity INTEGER NOT NULL, owner_id TEXT, name TEXT NOT NULL,"
  "  xml TEXT NOT NULL, enabled INTEGER NOT NULL);"
  "CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE subscription (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client TEXT NOT NULL,"
  "  is_primary INTEGER NOT NULL, created_on INTEGER NOT NULL, UNIQUE (user_id, client));"
  "CREATE TABLE sync_anchor (subscription_id TEXT NOT NULL, entity INTEGER NOT NULL,"
  "  anchor INTEGER NOT NULL, filter_gen INTEGER NOT NULL, PRIMARY KEY (subscription_id, entity)) WITHOUT "
  "ROWID;"
  "CREATE TABLE sync_entry (subscription_id TEXT NOT NULL, record_id TEXT NOT NULL, entity INTEGER NOT NULL,"
  "  sent_version INTEGER NOT NULL, manual INTEGER NOT NULL, pending INTEGER NOT NULL,"
  "  pending_version INTEGER NOT NULL, PRIMARY KEY (subscription_id, record_id)) WITHOUT ROWID;"
  "CREATE INDEX sync_entry_pending ON sync_entry (subscription_id, entity, record_id) WHERE pending >= 0;"
  "CREATE TABLE tombstone (subscription_id TEXT NOT NULL, record_id TEXT NOT NULL,"
  "  PRIMARY KEY (subscription_id, record_id)) WITHOUT ROWID;",
  /* 2: email (R-MAIL-DEDUPE, R-MAIL-TAGGING). email_message finds the CRM
   * email of a Message-ID (per owner: with "two activities" each user has
   * one); email_tracker is who tracked which email, for the tagging poll. */
  "CREATE TABLE email_message (message_id TEXT NOT NULL, owner_id TEXT NOT NULL, record_id TEXT NOT NULL,"
  "  PRIMARY KEY (message_id, owner_id)) WITHOUT ROWID;"
  "CREATE INDEX email_message_record ON email_message (record_id);"
  "CREATE TABLE email_tracker (user_id TEXT NOT NULL, record_id TEXT NOT NULL,"
  "  PRIMARY KEY (user_id, record_id)) WITHOUT ROWID;"
  /* Tracking tokens count from here: the first is CRM:0001001. */
  "INSERT INTO counter VALUES ('tracking-token', 1000);",
  /* 3: R-ROLE-ROAMING, R-ROLE-SECONDARY-NO-NEW: a secondary subscription
   * that asked PrepareSync acts as primary (lia-org-sync.c). */
  "ALTER TABLE subscription ADD COLUMN roaming INTEGER NOT NULL DEFAULT 0;",
  /* 4: R-MAIL-TAGGING, incremental: the version of the email the tracker's
   * own request returned to it. The tagging poll skips an email still at
   * that version (the user has it as it is), so the first poll after a
   * bulk track of 10,000 does not send the 10,000 back. 0 (trackers of an
   * older schema): every change is sent, as before. */
  "ALTER TABLE email_tracker ADD COLUMN seen_version INTEGER NOT NULL DEFAULT 0;",
};

static gboolean
migrate (LiaOrgStore *store, GError **error)
{
  gint64 version = 0;

  if (!lia_sqlite_query_int (SQ (store)->db, SQ (store)->path, "read", "PRAGMA user_version", &version,
                             error))
    {
      g_prefix_error (error, ORG_STORE_PREFIX);
      return FALSE;
    }
  if (version > (gint64) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Org store \"%s\" has schema version %" G_GINT64_FORMAT ", newer than this program (%u)",
                   SQ (store)->path, version, (guint) G_N_ELEMENTS (migrations));
      return FALSE;
    }
  for (guint v = (guint) version; v < G_N_ELEMENTS (migrations); v++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %u", v + 1);
      if (!exec (store, "write to", "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec (store, "migrate", migrations[v], error) || !exec (store, "migrate", bump, error)
          || !exec (store, "write to", "COMMIT", error))
        {
          sqlite3_exec (SQ (store)->db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }
      g_debug ("org store %s: migrated to schema %u", SQ (store)->path, v + 1);
    }
  return TRUE;
}

LiaOrgStore *
lia_org_store_sqlite_open (const char *path, GError **error)
{
  g_autoptr (LiaOrgStore) store = (LiaOrgStore *) g_new0 (SqliteStore, 1);
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  store->vtable = &sqlite_vtable;
  SQ (store)->path = g_strdup (path);
  rc = sqlite3_open_v2 (path, &SQ (store)->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      fail (store, rc, "open", error);
      return NULL;
    }
  SQ (store)->stmts = lia_sqlite_stmt_cache_new (SQ (store)->db, path);
  sqlite3_busy_timeout (SQ (store)->db, 5000);
  sqlite3_extended_result_codes (SQ (store)->db, 1);
  /* Checkpoints every 8,000 WAL pages (32 MiB on disk), not SQLite's
   * 1,000: a create touches a leaf of each index (random UUID keys), and
   * with frequent checkpoints the same hot pages were copied back to the
   * file over and over. A bulk of 10,000 emails spent a quarter of its
   * commits checkpointing; alternating runs of 10,000 creates and tracks:
   * 2.5-3.2 s against 2.8-4.8 s. The file is cut back to 32 MiB after a
   * checkpoint that a long reader held up. */
  if (!exec (store, "open",
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
             "PRAGMA wal_autocheckpoint = 8000; PRAGMA journal_size_limit = 33554432;",
             error)
      || !migrate (store, error))
    return NULL;
  return g_steal_pointer (&store);
}

static void
sqlite_free (LiaOrgStore *store)
{
  if (store == NULL)
    return;
  g_clear_pointer (&SQ (store)->stmts, lia_sqlite_stmt_cache_free);
  if (SQ (store)->db != NULL)
    sqlite3_close (SQ (store)->db);
  g_free (SQ (store)->path);
  g_free (store);
}

static const char *
sqlite_get_path (LiaOrgStore *store)
{
  return SQ (store)->path;
}

static gboolean
sqlite_begin_batch (LiaOrgStore *store, GError **error)
{
  if (!exec (store, "write to", "BEGIN IMMEDIATE", error))
    return FALSE;
  SQ (store)->depth = 1;
  SQ (store)->batch = TRUE;
  return TRUE;
}

/* Inside a batch (lia_org_store_begin_batch(): a page of creates and
 * tracks in one transaction, one savepoint per item) a begin is a
 * savepoint, so a write's body works alone or inside a batch. Outside one,
 * a begin is BEGIN IMMEDIATE as ever (and fails inside a transaction left
 * open). If SQLite ended the batch's transaction itself (an I/O error rolls
 * back everything), a nested begin fails instead of writing in autocommit. */
static gboolean
sqlite_begin (LiaOrgStore *store, GError **error)
{
  g_autofree char *sql = NULL;

  if (!SQ (store)->batch)
    {
      if (!exec (store, "write to", "BEGIN IMMEDIATE", error))
        return FALSE;
      SQ (store)->depth = 1;
      return TRUE;
    }
  if (sqlite3_get_autocommit (SQ (store)->db))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   ORG_STORE_PREFIX "the transaction of \"%s\" ended before its batch did", SQ (store)->path);
      return FALSE;
    }
  sql = g_strdup_printf ("SAVEPOINT lia%u", SQ (store)->depth);
  if (!exec (store, "write to", sql, error))
    return FALSE;
  SQ (store)->depth++;
  return TRUE;
}

static gboolean
sqlite_commit (LiaOrgStore *store, GError **error)
{
  g_autofree char *sql = NULL;

  if (SQ (store)->depth <= 1)
    {
      SQ (store)->depth = 0;
      SQ (store)->batch = FALSE;
      if (exec (store, "write to", "COMMIT", error))
        return TRUE;
      sqlite3_exec (SQ (store)->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  SQ (store)->depth--;
  sql = g_strdup_printf ("RELEASE lia%u", SQ (store)->depth);
  if (exec (store, "write to", sql, error))
    return TRUE;
  g_free (sql);
  sql = g_strdup_printf ("ROLLBACK TO lia%u; RELEASE lia%u", SQ (store)->depth, SQ (store)->depth);
  sqlite3_exec (SQ (store)->db, sql, NULL, NULL, NULL);
  return FALSE;
}

static void
sqlite_rollback (LiaOrgStore *store)
{
  g_autofree char *sql = NULL;

  if (SQ (store)->depth <= 1)
    {
      SQ (store)->depth = 0;
      SQ (store)->batch = FALSE;
      if (!sqlite3_get_autocommit (SQ (store)->db))
        sqlite3_exec (SQ (store)->db, "ROLLBACK", NULL, NULL, NULL);
      return;
    }
  SQ (store)->depth--;
  if (sqlite3_get_autocommit (SQ (store)->db))
    return; /* SQLite ended the transaction: the batch's begin or commit fails */
  sql = g_strdup_printf ("ROLLBACK TO lia%u; RELEASE lia%u", SQ (store)->depth, SQ (store)->depth);
  sqlite3_exec (SQ (store)->db, sql, NULL, NULL, NULL);
}

static gboolean
sqlite_counter_next (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error)
{
  static const char sql[] = "UPDATE counter SET value = value + 1 WHERE name = ?1 RETURNING value";
  gboolean found = FALSE;

  if (!query_int (store, sql, ARGS (TEXT (name)), out_value, &found, error))
    return FALSE;
  g_assert (found);
  return TRUE;
}

static gboolean
sqlite_counter_get (LiaOrgStore *store, const char *name, gint64 *out_value, GError **error)
{
  static const char sql[] = "SELECT value FROM counter WHERE name = ?1";

  return query_int (store, sql, ARGS (TEXT (name)), out_value, NULL, error);
}

/* Users ---------------------------------------------------------------- */

static gboolean
sqlite_user_put (LiaOrgStore *store, const LiaCrmUser *user, GError **error)
{
  static const char sql[] = "INSERT INTO user (id, name, email, email_fold, admin, approved)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET"
                            " name = ?2, email = ?3, email_fold = ?4, admin = ?5, approved = ?6";
  g_autofree char *fold = user->email != NULL ? g_utf8_casefold (user->email, -1) : NULL;

  return run (store, sql,
              ARGS (TEXT (user->id), TEXT (user->name), TEXT (user->email), TEXT (fold), BOOL (user->admin),
                    BOOL (user->approved)),
              error);
}

#define USER_COLUMNS "id, name, email, admin, approved"

static gpointer
user_from_row (sqlite3_stmt *stmt)
{
  LiaCrmUser *user = g_new0 (LiaCrmUser, 1);

  user->id = col_dup (stmt, 0);
  user->name = col_dup (stmt, 1);
  user->email = col_dup (stmt, 2);
  user->admin = sqlite3_column_int (stmt, 3) != 0;
  user->approved = sqlite3_column_int (stmt, 4) != 0;
  return user;
}

/* Returns NULL without error when there is no such user. */
static LiaCrmUser *
sqlite_user_get (LiaOrgStore *store, const char *id_or_name, GError **error)
{
  static const char sql[] =
      "SELECT " USER_COLUMNS " FROM user WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;

  return query_row (store, &stmt, sql, ARGS (TEXT (id_or_name)), error) == 1 ? user_from_row (stmt) : NULL;
}

static LiaCrmUser *
sqlite_user_by_email (LiaOrgStore *store, const char *address, GError **error)
{
  static const char sql[] = "SELECT " USER_COLUMNS " FROM user WHERE email_fold = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;

  return query_row (store, &stmt, sql, ARGS (TEXT (address)), error) == 1 ? user_from_row (stmt) : NULL;
}

static GPtrArray *
sqlite_user_list (LiaOrgStore *store, GError **error)
{
  static const char sql[] = "SELECT " USER_COLUMNS " FROM user ORDER BY name";

  return query_list (store, sql, NO_ARGS, user_from_row, (GDestroyNotify) lia_crm_user_free, error);
}

static gboolean
sqlite_token_put (LiaOrgStore *store, const char *hash, const char *user_id, gint64 now, GError **error)
{
  static const char sql[] = "INSERT INTO token (hash, user_id, created_on) VALUES (?1, ?2, ?3)";

  return run (store, sql, ARGS (TEXT (hash), TEXT (user_id), INT (now)), error);
}

static gboolean
sqlite_token_revoke (LiaOrgStore *store, const char *user_id, GError **error)
{
  static const char sql[] = "DELETE FROM token WHERE user_id = ?1";

  return run (store, sql, ARGS (TEXT (user_id)), error);
}

/* Returns NULL without error for an unknown hash. */
static char *
sqlite_token_user (LiaOrgStore *store, const char *hash, GError **error)
{
  static const char sql[] = "SELECT user_id FROM token WHERE hash = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;

  return query_row (store, &stmt, sql, ARGS (TEXT (hash)), error) == 1 ? col_dup (stmt, 0) : NULL;
}

static gboolean
sqlite_delegate_put (LiaOrgStore *store, const char *owner_id, const char *delegate_id, gboolean allowed,
                     GError **error)
{
  static const char add_sql[] = "INSERT OR IGNORE INTO delegation (owner_id, delegate_id) VALUES (?1, ?2)";
  static const char del_sql[] = "DELETE FROM delegation WHERE owner_id = ?1 AND delegate_id = ?2";

  return run (store, allowed ? add_sql : del_sql, ARGS (TEXT (owner_id), TEXT (delegate_id)), error);
}

static gboolean
sqlite_delegate_has (LiaOrgStore *store, const char *owner_id, const char *delegate_id, gboolean *out_has,
                     GError **error)
{
  static const char sql[] = "SELECT 1 FROM delegation WHERE owner_id = ?1 AND delegate_id = ?2";

  return query_int (store, sql, ARGS (TEXT (owner_id), TEXT (delegate_id)), NULL, out_has, error);
}

static gboolean
sqlite_fls_put (LiaOrgStore *store, const char *role, LiaEntity entity, const char *field, gboolean can_read,
                gboolean can_update, GError **error)
{
  static const char sql[] =
      "INSERT OR REPLACE INTO field_security (role, entity, field, can_read, can_update)"
      " VALUES (?1, ?2, ?3, ?4, ?5)";

  return run (store, sql, ARGS (TEXT (role), INT (entity), TEXT (field), BOOL (can_read), BOOL (can_update)),
              error);
}

static GHashTable *
sqlite_fls_get (LiaOrgStore *store, const char *role, LiaEntity entity, GError **error)
{
  static const char sql[] =
      "SELECT field, can_read, can_update FROM field_security WHERE role = ?1 AND entity = ?2";
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, ARGS (TEXT (role), INT (entity)), error);
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = step (store, stmt, error)) == 1)
    {
      int flags = (sqlite3_column_int (stmt, 1) ? 1 : 0) | (sqlite3_column_int (stmt, 2) ? 2 : 0);
      g_hash_table_insert (table, col_dup (stmt, 0), GINT_TO_POINTER (flags));
    }
  return rc < 0 ? NULL : g_steal_pointer (&table);
}

/* Records -------------------------------------------------------------- */

#define RECORD_COLUMNS "id, entity, owner_id, state, modified_on, version, deleted, email, fields"

static void
row_from_stmt (sqlite3_stmt *stmt, LiaOrgRow *row)
{
  row->id = (const char *) sqlite3_column_text (stmt, 0);
  row->entity = (LiaEntity) sqlite3_column_int (stmt, 1);
  row->owner = (const char *) sqlite3_column_text (stmt, 2);
  row->state = (LiaRecordState) sqlite3_column_int (stmt, 3);
  row->modified_on = sqlite3_column_int64 (stmt, 4);
  row->version = sqlite3_column_int64 (stmt, 5);
  row->deleted = sqlite3_column_int (stmt, 6) != 0;
  row->email = (const char *) sqlite3_column_text (stmt, 7);
  row->fields = sqlite3_column_blob (stmt, 8);
  row->fields_len = (gsize) sqlite3_column_bytes (stmt, 8);
}

/* Returns TRUE with *out_found FALSE when there is no such record. */
static gboolean
sqlite_record_head (LiaOrgStore *store, const char *id, gboolean *out_found, LiaEntity *out_entity,
                    gint64 *out_version, gboolean *out_deleted, GError **error)
{
  static const char sql[] = "SELECT entity, version, deleted FROM record WHERE id = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (id)), error);

  if (rc < 0)
    return FALSE;
  *out_found = rc == 1;
  *out_entity = rc == 1 ? (LiaEntity) sqlite3_column_int (stmt, 0) : LIA_ENTITY_N;
  *out_version = rc == 1 ? sqlite3_column_int64 (stmt, 1) : 0;
  *out_deleted = rc == 1 && sqlite3_column_int (stmt, 2) != 0;
  return TRUE;
}

/* Returns TRUE with *out_record NULL when there is no such record. */
static gboolean
sqlite_record_get (LiaOrgStore *store, const char *id, LiaCrmRecord **out_record, gboolean *out_deleted,
                   GError **error)
{
  static const char sql[] = "SELECT " RECORD_COLUMNS " FROM record WHERE id = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (id)), error);
  LiaOrgRow row = { 0 };
  LiaCrmRecord *record = NULL;

  if (rc < 0)
    return FALSE;
  if (rc == 1)
    {
      row_from_stmt (stmt, &row);
      record = lia_org_row_to_record (&row, error);
      if (record == NULL)
        return FALSE;
    }
  *out_record = record;
  if (out_deleted != NULL)
    *out_deleted = row.deleted;
  return TRUE;
}

static void
add_address (GPtrArray *addresses, const char *address)
{
  if (address != NULL && *address != '\0')
    g_ptr_array_add (addresses, g_utf8_casefold (address, -1));
}

static gboolean
sqlite_record_put (LiaOrgStore *store, const LiaCrmRecord *record, gboolean deleted, GError **error)
{
  static const char sql[] =
      "INSERT INTO record (id, entity, owner_id, state, modified_on, version, deleted, name, name_fold, "
      "email,"
      " fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO UPDATE SET"
      " entity = ?2, owner_id = ?3, state = ?4, modified_on = ?5, version = ?6, deleted = ?7, name = ?8,"
      " name_fold = ?9, email = ?10, fields = ?11";
  static const char del_email_sql[] = "DELETE FROM record_email WHERE record_id = ?1";
  static const char add_email_sql[] =
      "INSERT OR IGNORE INTO record_email (address, record_id) VALUES (?1, ?2)";
  const LiaItem *item = lia_crm_record_get_item (record);
  const char *id = lia_crm_record_get_id (record);
  g_autofree char *name = lia_crm_record_dup_name (record);
  g_autofree char *fold = g_utf8_casefold (name, -1);
  g_autoptr (GBytes) fields = lia_org_codec_encode (item);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0;
  const void *data = g_bytes_get_data (fields, &len);

  /* An empty item encodes to zero bytes; a NULL blob would break NOT NULL. */
  if (!run (store, sql,
            ARGS (TEXT (id), INT (lia_crm_record_get_entity (record)),
                  TEXT (lia_crm_record_get_owner (record)), INT (lia_crm_record_get_state (record)),
                  INT (lia_crm_record_get_modified_on (record)), INT (lia_crm_record_get_version (record)),
                  BOOL (deleted), TEXT (name), TEXT (fold), TEXT (lia_crm_record_get_email (record)),
                  BLOB (len > 0 ? data : "", len)),
            error)
      || !run (store, del_email_sql, ARGS (TEXT (id)), error))
    return FALSE;
  if (deleted)
    return TRUE;
  add_address (addresses, lia_crm_record_get_email (record));
  if (lia_crm_record_get_entity (record) == LIA_ENTITY_CONTACT)
    {
      add_address (addresses, lia_item_get_text (item, "email-1"));
      add_address (addresses, lia_item_get_text (item, "email-2"));
      add_address (addresses, lia_item_get_text (item, "email-3"));
    }
  for (guint i = 0; i < addresses->len; i++)
    if (!run (store, add_email_sql, ARGS (TEXT (addresses->pdata[i]), TEXT (id)), error))
      return FALSE;
  return TRUE;
}

/* With @since_version -1 the scan is a full one and skips deleted rows;
 * after an anchor (0 or more) it returns deleted rows too, as deletions to
 * report. */
static gboolean
sqlite_record_foreach (LiaOrgStore *store, LiaEntity entity, gint64 since_version, LiaOrgRowFunc func,
                       gpointer user_data, GError **error)
{
  static const char full_sql[] = "SELECT " RECORD_COLUMNS " FROM record WHERE entity = ?1 AND deleted = 0";
  static const char since_sql[] = "SELECT " RECORD_COLUMNS " FROM record WHERE entity = ?1 AND version > ?2";
  const Bind binds[] = { INT (entity), INT (since_version) };
  g_autoptr (LiaSqliteStmtInUse) stmt = since_version >= 0 ? query (store, since_sql, binds, 2, error)
                                                           : query (store, full_sql, binds, 1, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = step (store, stmt, error)) == 1)
    {
      LiaOrgRow row;
      row_from_stmt (stmt, &row);
      if (!func (&row, user_data, error))
        return FALSE;
    }
  return rc == 0;
}

static gboolean
sqlite_max_version_since (LiaOrgStore *store, guint entity_mask, gint64 since_version, gboolean *out_any,
                          GError **error)
{
  static const char sql[] = "SELECT 1 FROM record WHERE entity = ?1 AND version > ?2 LIMIT 1";
  gboolean found = FALSE;

  for (guint e = 0; e < LIA_ENTITY_N && !found; e++)
    if ((entity_mask & (1u << e)) != 0
        && !query_int (store, sql, ARGS (INT (e), INT (since_version)), NULL, &found, error))
      return FALSE;
  *out_any = found;
  return TRUE;
}

static char *
like_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* The rows of "SELECT id, name, entity". */
static gpointer
match_from_row (sqlite3_stmt *stmt)
{
  LiaCrmMatch *match = g_new0 (LiaCrmMatch, 1);

  match->id = col_dup (stmt, 0);
  match->name = col_dup (stmt, 1);
  match->entity = (LiaEntity) sqlite3_column_int (stmt, 2);
  return match;
}

static GPtrArray *
sqlite_record_search (LiaOrgStore *store, const char *folded_text, guint limit, GError **error)
{
  /* Prefix matches rank first, then matches at a word start, then any
   * substring; the entities are the regarding targets (R-MARK-REGARDING). */
  static const char sql[] =
      "SELECT id, name, entity FROM record WHERE deleted = 0 AND entity IN (?3, ?4, ?5, ?6, ?7)"
      " AND name_fold LIKE '%' || ?1 || '%' ESCAPE '\\'"
      " ORDER BY (name_fold LIKE ?1 || '%' ESCAPE '\\') DESC,"
      " (name_fold LIKE '% ' || ?1 || '%' ESCAPE '\\') DESC, length(name_fold), name_fold LIMIT ?2";
  g_autofree char *escaped = like_escape (folded_text);

  return query_list (store, sql,
                     ARGS (TEXT (escaped), INT ((int) limit), INT (LIA_ENTITY_ACCOUNT),
                           INT (LIA_ENTITY_CONTACT), INT (LIA_ENTITY_LEAD), INT (LIA_ENTITY_OPPORTUNITY),
                           INT (LIA_ENTITY_INCIDENT)),
                     match_from_row, (GDestroyNotify) lia_crm_match_free, error);
}

static GPtrArray *
sqlite_record_resolve (LiaOrgStore *store, const char *folded_address, GError **error)
{
  static const char sql[] =
      "SELECT r.id, r.name, r.entity FROM record_email e JOIN record r ON r.id = e.record_id"
      " WHERE e.address = ?1 AND r.deleted = 0 ORDER BY r.entity, r.name";

  return query_list (store, sql, ARGS (TEXT (folded_address)), match_from_row,
                     (GDestroyNotify) lia_crm_match_free, error);
}

/* Runs a query of at most one row of one text column: *out_text is the
 * text, or NULL for no row. */
static gboolean
query_text (LiaOrgStore *store, const char *sql, const Bind *binds, guint n_binds, char **out_text,
            GError **error)
{
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, binds, n_binds, error);

  if (rc < 0)
    return FALSE;
  *out_text = rc == 1 ? col_dup (stmt, 0) : NULL;
  return TRUE;
}

static gboolean
sqlite_request_get (LiaOrgStore *store, const char *user_id, const char *request_id, char **out_record_id,
                    GError **error)
{
  static const char sql[] = "SELECT record_id FROM request WHERE user_id = ?1 AND request_id = ?2";

  return query_text (store, sql, ARGS (TEXT (user_id), TEXT (request_id)), out_record_id, error);
}

static gboolean
sqlite_request_put (LiaOrgStore *store, const char *user_id, const char *request_id, const char *record_id,
                    GError **error)
{
  static const char sql[] = "INSERT INTO request (user_id, request_id, record_id) VALUES (?1, ?2, ?3)";

  return run (store, sql, ARGS (TEXT (user_id), TEXT (request_id), TEXT (record_id)), error);
}

/* Email ---------------------------------------------------------------- */

static gboolean
sqlite_email_message_get (LiaOrgStore *store, const char *message_id, const char *owner_id,
                          char **out_record_id, GError **error)
{
  static const char by_owner[] =
      "SELECT record_id FROM email_message WHERE message_id = ?1 AND owner_id = ?2";
  /* Without an owner: the first record made for the message. */
  static const char any[] = "SELECT e.record_id FROM email_message e JOIN record r ON r.id = e.record_id"
                            " WHERE e.message_id = ?1 AND r.deleted = 0 ORDER BY r.version LIMIT 1";
  const Bind binds[] = { TEXT (message_id), TEXT (owner_id) };

  return owner_id != NULL ? query_text (store, by_owner, binds, 2, out_record_id, error)
                          : query_text (store, any, binds, 1, out_record_id, error);
}

static gboolean
sqlite_email_message_put (LiaOrgStore *store, const char *message_id, const char *owner_id,
                          const char *record_id, GError **error)
{
  static const char sql[] =
      "INSERT OR REPLACE INTO email_message (message_id, owner_id, record_id) VALUES (?1, ?2, ?3)";

  return run (store, sql, ARGS (TEXT (message_id), TEXT (owner_id), TEXT (record_id)), error);
}

static gboolean
sqlite_email_tracker_put (LiaOrgStore *store, const char *user_id, const char *record_id, gint64 seen_version,
                          GError **error)
{
  static const char sql[] = "INSERT INTO email_tracker (user_id, record_id, seen_version) VALUES (?1, ?2, ?3)"
                            " ON CONFLICT (user_id, record_id)"
                            " DO UPDATE SET seen_version = MAX (seen_version, excluded.seen_version)";

  return run (store, sql, ARGS (TEXT (user_id), TEXT (record_id), INT (seen_version)), error);
}

static GPtrArray *
sqlite_email_tracked_since (LiaOrgStore *store, const char *user_id, gint64 since_version, guint limit,
                            gint64 *out_last_version, GError **error)
{
  /* Walks the emails changed since @since_version in version order
   * (record_entity_version), each looked up in the user's trackers. */
  static const char sql[] = "SELECT r.id, r.version FROM record r"
                            " JOIN email_tracker t ON t.user_id = ?1 AND t.record_id = r.id"
                            " WHERE r.entity = ?4 AND r.version > ?2 AND r.deleted = 0"
                            " AND r.version > t.seen_version"
                            " ORDER BY r.version LIMIT ?3";
  static const char sql_newest[] = "SELECT MAX (version) FROM record WHERE entity = ?1";
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  gint64 newest = since_version;
  gint64 last = since_version;
  int rc;

  /* The newest email version first: writes are serialized (BEGIN
   * IMMEDIATE) and take their versions in commit order, so every version
   * up to it is committed when the query below starts. */
  {
    g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
    rc = query_row (store, &stmt, sql_newest, ARGS (INT (LIA_ENTITY_EMAIL)), error);
    if (rc < 0)
      return NULL;
    if (rc == 1 && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
      newest = MAX (newest, sqlite3_column_int64 (stmt, 0));
  }
  {
    g_autoptr (LiaSqliteStmtInUse) stmt = query (
        store, sql, ARGS (TEXT (user_id), INT (since_version), INT (limit), INT (LIA_ENTITY_EMAIL)), error);
    if (stmt == NULL)
      return NULL;
    while ((rc = step (store, stmt, error)) == 1)
      {
        g_ptr_array_add (ids, col_dup (stmt, 0));
        last = MAX (last, sqlite3_column_int64 (stmt, 1));
      }
    if (rc < 0)
      return NULL;
  }
  /* A short page considered every email up to the newest: what it skipped
   * (not tracked by the user, deleted, or as the user last got it) needs
   * no second look, so the caller's watermark moves past it. */
  if (ids->len < limit)
    last = MAX (last, newest);
  if (out_last_version != NULL)
    *out_last_version = last;
  return g_steal_pointer (&ids);
}

/* Filters -------------------------------------------------------------- */

static gboolean
sqlite_filter_put (LiaOrgStore *store, const char *owner_id, const LiaCrmFilter *filter, GError **error)
{
  static const char sql[] = "INSERT OR REPLACE INTO filter (id, entity, owner_id, name, xml, enabled)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

  return run (store, sql,
              ARGS (TEXT (filter->id), INT (filter->entity), TEXT (owner_id), TEXT (filter->name),
                    TEXT (filter->xml), BOOL (filter->enabled)),
              error);
}

#define FILTER_COLUMNS "id, entity, owner_id, name, xml, enabled"

static gpointer
filter_from_row (sqlite3_stmt *stmt)
{
  LiaCrmFilter *filter = g_new0 (LiaCrmFilter, 1);

  filter->id = col_dup (stmt, 0);
  filter->entity = (LiaEntity) sqlite3_column_int (stmt, 1);
  filter->system = sqlite3_column_type (stmt, 2) == SQLITE_NULL;
  filter->name = col_dup (stmt, 3);
  filter->xml = col_dup (stmt, 4);
  filter->enabled = sqlite3_column_int (stmt, 5) != 0;
  return filter;
}

static gboolean
sqlite_filter_get (LiaOrgStore *store, const char *id, char **out_owner_id, LiaCrmFilter **out_filter,
                   GError **error)
{
  static const char sql[] = "SELECT " FILTER_COLUMNS " FROM filter WHERE id = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (id)), error);

  if (rc < 0)
    return FALSE;
  *out_owner_id = rc == 1 ? col_dup (stmt, 2) : NULL;
  *out_filter = rc == 1 ? filter_from_row (stmt) : NULL;
  return TRUE;
}

/* The system filters and @user_id's own, or every filter with @all. */
static GPtrArray *
sqlite_filter_list (LiaOrgStore *store, const char *user_id, gboolean all, GError **error)
{
  static const char sql[] = "SELECT " FILTER_COLUMNS " FROM filter"
                            " WHERE ?2 OR owner_id IS NULL OR owner_id = ?1"
                            " ORDER BY owner_id IS NOT NULL, entity, name, id";

  return query_list (store, sql, ARGS (TEXT (user_id), BOOL (all)), filter_from_row,
                     (GDestroyNotify) lia_crm_filter_free, error);
}

static gboolean
sqlite_filter_delete (LiaOrgStore *store, const char *id, GError **error)
{
  static const char sql[] = "DELETE FROM filter WHERE id = ?1";

  return run (store, sql, ARGS (TEXT (id)), error);
}

/* Settings ------------------------------------------------------------- */

static char *
sqlite_setting_get (LiaOrgStore *store, const char *key, GError **error)
{
  static const char sql[] = "SELECT value FROM setting WHERE key = ?1";
  char *value = NULL;

  query_text (store, sql, ARGS (TEXT (key)), &value, error);
  return value;
}

static gboolean
sqlite_setting_set (LiaOrgStore *store, const char *key, const char *value, GError **error)
{
  static const char sql[] = "INSERT OR REPLACE INTO setting (key, value) VALUES (?1, ?2)";

  return run (store, sql, ARGS (TEXT (key), TEXT (value)), error);
}

static GHashTable *
sqlite_setting_list (LiaOrgStore *store, GError **error)
{
  static const char sql[] = "SELECT key, value FROM setting";
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, NO_ARGS, error);
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = step (store, stmt, error)) == 1)
    g_hash_table_insert (table, col_dup (stmt, 0), col_dup (stmt, 1));
  return rc < 0 ? NULL : g_steal_pointer (&table);
}

/* Subscriptions -------------------------------------------------------- */

static gboolean
sqlite_subscription_put (LiaOrgStore *store, const char *user_id, const LiaCrmSubscription *subscription,
                         gint64 now, GError **error)
{
  static const char sql[] = "INSERT INTO subscription (id, user_id, client, is_primary, created_on)"
                            " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET is_primary = ?4";

  return run (store, sql,
              ARGS (TEXT (subscription->id), TEXT (user_id), TEXT (subscription->client),
                    BOOL (subscription->primary), INT (now)),
              error);
}

#define SUBSCRIPTION_COLUMNS "id, user_id, client, is_primary"

static gpointer
subscription_from_row (sqlite3_stmt *stmt)
{
  LiaCrmSubscription *subscription = g_new0 (LiaCrmSubscription, 1);

  subscription->id = col_dup (stmt, 0);
  subscription->client = col_dup (stmt, 2);
  subscription->primary = sqlite3_column_int (stmt, 3) != 0;
  return subscription;
}

static gboolean
sqlite_subscription_get (LiaOrgStore *store, const char *id, char **out_user_id,
                         LiaCrmSubscription **out_subscription, GError **error)
{
  static const char sql[] = "SELECT " SUBSCRIPTION_COLUMNS " FROM subscription WHERE id = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (id)), error);

  if (rc < 0)
    return FALSE;
  *out_user_id = rc == 1 ? col_dup (stmt, 1) : NULL;
  *out_subscription = rc == 1 ? subscription_from_row (stmt) : NULL;
  return TRUE;
}

static GPtrArray *
sqlite_subscription_list (LiaOrgStore *store, const char *user_id, GError **error)
{
  static const char sql[] =
      "SELECT " SUBSCRIPTION_COLUMNS " FROM subscription WHERE user_id = ?1 ORDER BY created_on, id";

  return query_list (store, sql, ARGS (TEXT (user_id)), subscription_from_row,
                     (GDestroyNotify) lia_crm_subscription_free, error);
}

static gboolean
sqlite_subscription_demote_all (LiaOrgStore *store, const char *user_id, GError **error)
{
  static const char sql[] = "UPDATE subscription SET is_primary = 0 WHERE user_id = ?1";

  return run (store, sql, ARGS (TEXT (user_id)), error);
}

static gboolean
sqlite_subscription_set_roaming (LiaOrgStore *store, const char *id, GError **error)
{
  static const char sql[] = "UPDATE subscription SET roaming = 1 WHERE id = ?1 AND roaming = 0";

  return run (store, sql, ARGS (TEXT (id)), error);
}

static gboolean
sqlite_subscription_is_roaming (LiaOrgStore *store, const char *id, gboolean *out_roaming, GError **error)
{
  static const char sql[] = "SELECT roaming FROM subscription WHERE id = ?1";
  gint64 roaming = 0;

  if (!query_int (store, sql, ARGS (TEXT (id)), &roaming, NULL, error))
    return FALSE;
  *out_roaming = roaming != 0;
  return TRUE;
}

static gboolean
sqlite_anchor_get (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 *out_anchor,
                   gint64 *out_filter_gen, GError **error)
{
  static const char sql[] =
      "SELECT anchor, filter_gen FROM sync_anchor WHERE subscription_id = ?1 AND entity = ?2";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (subscription), INT (entity)), error);

  if (rc < 0)
    return FALSE;
  *out_anchor = rc == 1 ? sqlite3_column_int64 (stmt, 0) : 0;
  *out_filter_gen = rc == 1 ? sqlite3_column_int64 (stmt, 1) : 0;
  return TRUE;
}

static gboolean
sqlite_anchor_put (LiaOrgStore *store, const char *subscription, LiaEntity entity, gint64 anchor,
                   gint64 filter_gen, GError **error)
{
  static const char sql[] = "INSERT OR REPLACE INTO sync_anchor (subscription_id, entity, anchor, "
                            "filter_gen) VALUES (?1, ?2, ?3, ?4)";

  return run (store, sql, ARGS (TEXT (subscription), INT (entity), INT (anchor), INT (filter_gen)), error);
}

#define ENTRY_COLUMNS "record_id, entity, sent_version, manual, pending, pending_version"

static gpointer
entry_from_row (sqlite3_stmt *stmt)
{
  LiaOrgEntry *entry = g_new0 (LiaOrgEntry, 1);

  entry->record_id = col_dup (stmt, 0);
  entry->entity = (LiaEntity) sqlite3_column_int (stmt, 1);
  entry->sent_version = sqlite3_column_int64 (stmt, 2);
  entry->manual = sqlite3_column_int (stmt, 3) != 0;
  entry->pending = sqlite3_column_int (stmt, 4);
  entry->pending_version = sqlite3_column_int64 (stmt, 5);
  return entry;
}

static GHashTable *
sqlite_entry_load (LiaOrgStore *store, const char *subscription, LiaEntity entity, GError **error)
{
  static const char sql[] =
      "SELECT " ENTRY_COLUMNS " FROM sync_entry WHERE subscription_id = ?1 AND entity = ?2";
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, ARGS (TEXT (subscription), INT (entity)), error);
  g_autoptr (GHashTable) table =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) lia_org_entry_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = step (store, stmt, error)) == 1)
    {
      LiaOrgEntry *entry = entry_from_row (stmt);
      g_hash_table_insert (table, entry->record_id, entry);
    }
  return rc < 0 ? NULL : g_steal_pointer (&table);
}

static gboolean
sqlite_entry_get (LiaOrgStore *store, const char *subscription, const char *record_id,
                  LiaOrgEntry **out_entry, GError **error)
{
  static const char sql[] =
      "SELECT " ENTRY_COLUMNS " FROM sync_entry WHERE subscription_id = ?1 AND record_id = ?2";
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc = query_row (store, &stmt, sql, ARGS (TEXT (subscription), TEXT (record_id)), error);

  if (rc < 0)
    return FALSE;
  *out_entry = rc == 1 ? entry_from_row (stmt) : NULL;
  return TRUE;
}

static gboolean
sqlite_entry_put (LiaOrgStore *store, const char *subscription, const LiaOrgEntry *entry, GError **error)
{
  static const char sql[] = "INSERT OR REPLACE INTO sync_entry (subscription_id, " ENTRY_COLUMNS
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

  return run (store, sql,
              ARGS (TEXT (subscription), TEXT (entry->record_id), INT (entry->entity),
                    INT (entry->sent_version), BOOL (entry->manual), INT (entry->pending),
                    INT (entry->pending_version)),
              error);
}

static gboolean
sqlite_entry_delete (LiaOrgStore *store, const char *subscription, const char *record_id, GError **error)
{
  static const char sql[] = "DELETE FROM sync_entry WHERE subscription_id = ?1 AND record_id = ?2";

  return run (store, sql, ARGS (TEXT (subscription), TEXT (record_id)), error);
}

static GPtrArray *
sqlite_entry_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity, const char *after_id,
                      guint limit, GError **error)
{
  static const char sql[] =
      "SELECT " ENTRY_COLUMNS " FROM sync_entry WHERE subscription_id = ?1 AND entity = ?2"
      " AND pending >= 0 AND record_id > ?3 ORDER BY record_id LIMIT ?4";

  return query_list (
      store, sql,
      ARGS (TEXT (subscription), INT (entity), TEXT (after_id != NULL ? after_id : ""), INT ((int) limit)),
      entry_from_row, (GDestroyNotify) lia_org_entry_free, error);
}

static gboolean
sqlite_entry_count_pending (LiaOrgStore *store, const char *subscription, LiaEntity entity,
                            guint out_counts[LIA_SYNC_OP_N], GError **error)
{
  static const char sql[] =
      "SELECT pending, count(*) FROM sync_entry WHERE subscription_id = ?1 AND entity = ?2"
      " AND pending >= 0 GROUP BY pending";
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, ARGS (TEXT (subscription), INT (entity)), error);
  guint counts[LIA_SYNC_OP_N] = { 0 };
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = step (store, stmt, error)) == 1)
    {
      int op = sqlite3_column_int (stmt, 0);
      if (op >= 0 && op < LIA_SYNC_OP_N)
        counts[op] = (guint) sqlite3_column_int64 (stmt, 1);
    }
  if (rc < 0)
    return FALSE;
  memcpy (out_counts, counts, sizeof counts);
  return TRUE;
}

static gboolean
sqlite_tombstone_put (LiaOrgStore *store, const char *subscription, const char *record_id, GError **error)
{
  static const char sql[] = "INSERT OR IGNORE INTO tombstone (subscription_id, record_id) VALUES (?1, ?2)";

  return run (store, sql, ARGS (TEXT (subscription), TEXT (record_id)), error);
}

static GHashTable *
sqlite_tombstone_load (LiaOrgStore *store, const char *subscription, GError **error)
{
  static const char sql[] = "SELECT record_id FROM tombstone WHERE subscription_id = ?1";
  g_autoptr (LiaSqliteStmtInUse) stmt = query (store, sql, ARGS (TEXT (subscription)), error);
  g_autoptr (GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = step (store, stmt, error)) == 1)
    g_hash_table_add (set, col_dup (stmt, 0));
  return rc < 0 ? NULL : g_steal_pointer (&set);
}

static gboolean
sqlite_tombstone_has (LiaOrgStore *store, const char *subscription, const char *record_id, gboolean *out_has,
                      GError **error)
{
  static const char sql[] = "SELECT 1 FROM tombstone WHERE subscription_id = ?1 AND record_id = ?2";

  return query_int (store, sql, ARGS (TEXT (subscription), TEXT (record_id)), NULL, out_has, error);
}

static const LiaOrgStoreVTable sqlite_vtable = {
  .abi_version = LIA_ORG_STORE_VTABLE_VERSION,
  .begin_batch = sqlite_begin_batch,
  .free = sqlite_free,
  .get_path = sqlite_get_path,
  .begin = sqlite_begin,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .counter_next = sqlite_counter_next,
  .counter_get = sqlite_counter_get,
  .user_put = sqlite_user_put,
  .user_get = sqlite_user_get,
  .user_by_email = sqlite_user_by_email,
  .user_list = sqlite_user_list,
  .token_put = sqlite_token_put,
  .token_revoke = sqlite_token_revoke,
  .token_user = sqlite_token_user,
  .delegate_put = sqlite_delegate_put,
  .delegate_has = sqlite_delegate_has,
  .fls_put = sqlite_fls_put,
  .fls_get = sqlite_fls_get,
  .record_get = sqlite_record_get,
  .record_head = sqlite_record_head,
  .record_put = sqlite_record_put,
  .record_foreach = sqlite_record_foreach,
  .max_version_since = sqlite_max_version_since,
  .record_search = sqlite_record_search,
  .record_resolve = sqlite_record_resolve,
  .request_get = sqlite_request_get,
  .request_put = sqlite_request_put,
  .filter_put = sqlite_filter_put,
  .filter_get = sqlite_filter_get,
  .filter_list = sqlite_filter_list,
  .filter_delete = sqlite_filter_delete,
  .setting_get = sqlite_setting_get,
  .setting_set = sqlite_setting_set,
  .setting_list = sqlite_setting_list,
  .subscription_put = sqlite_subscription_put,
  .subscription_get = sqlite_subscription_get,
  .subscription_list = sqlite_subscription_list,
  .subscription_demote_all = sqlite_subscription_demote_all,
  .subscription_set_roaming = sqlite_subscription_set_roaming,
  .subscription_is_roaming = sqlite_subscription_is_roaming,
  .anchor_get = sqlite_anchor_get,
  .anchor_put = sqlite_anchor_put,
  .entry_load = sqlite_entry_load,
  .entry_get = sqlite_entry_get,
  .entry_put = sqlite_entry_put,
  .entry_delete = sqlite_entry_delete,
  .entry_pending = sqlite_entry_pending,
  .entry_count_pending = sqlite_entry_count_pending,
  .tombstone_put = sqlite_tombstone_put,
  .tombstone_load = sqlite_tombstone_load,
  .tombstone_has = sqlite_tombstone_has,
  .email_message_get = sqlite_email_message_get,
  .email_message_put = sqlite_email_message_put,
  .email_tracker_put = sqlite_email_tracker_put,
  .email_tracked_since = sqlite_email_tracked_since,
};
