/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-sqlite-private.h"

const char *
lia_sqlite_describe (int rc)
{
  /* Callers match on the primary code; the extended code only refines the
   * SQLite message that follows in parentheses. */
  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "the file is locked by another process or connection";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is corrupt or not a database";
    case SQLITE_READONLY:
      return "the file is read-only";
    case SQLITE_CANTOPEN:
      return "the file cannot be opened";
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "permission denied";
    case SQLITE_FULL:
      return "the disk is full";
    case SQLITE_IOERR:
      return "an I/O error occurred";
    case SQLITE_NOMEM:
      return "out of memory";
    case SQLITE_SCHEMA:
    case SQLITE_ERROR:
      return "the file does not have the expected schema";
    default:
      return "the database failed";
    }
}

void
lia_sqlite_set_error (GError **error, sqlite3 *db, int rc, const char *path, const char *doing)
{
  const char *detail;

  g_assert (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE);
  /* The connection's message is specific ("database is locked", "file is not
   * a database") but only describes @rc if it was the connection's last
   * error; otherwise fall back to SQLite's generic text for the code. */
  if (db != NULL && sqlite3_extended_errcode (db) == rc)
    detail = sqlite3_errmsg (db);
  else
    detail = sqlite3_errstr (rc);
  g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Cannot %s \"%s\": %s (%s)", doing, path,
               lia_sqlite_describe (rc), detail);
}

gboolean
lia_sqlite_exec (sqlite3 *db, const char *path, const char *doing, const char *sql, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      lia_sqlite_set_error (error, db, rc, path, doing);
      return FALSE;
    }
  return TRUE;
}

gboolean
lia_sqlite_query_int (sqlite3 *db, const char *path, const char *doing, const char *sql, gint64 *out_value,
                      GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      lia_sqlite_set_error (error, db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, path, doing);
      return FALSE;
    }
  *out_value = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

struct _LiaSqliteStmtCache
{
  sqlite3 *db;        /* borrowed: outlives the cache */
  char *path;         /* owned */
  GHashTable *by_sql; /* owned: const char * (borrowed) -> sqlite3_stmt * (owned) */
};

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

LiaSqliteStmtCache *
lia_sqlite_stmt_cache_new (sqlite3 *db, const char *path)
{
  LiaSqliteStmtCache *cache = g_new0 (LiaSqliteStmtCache, 1);

  cache->db = db;
  cache->path = g_strdup (path);
  cache->by_sql = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, finalize_stmt);
  return cache;
}

void
lia_sqlite_stmt_cache_free (LiaSqliteStmtCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->by_sql);
  g_free (cache->path);
  g_free (cache);
}

LiaSqliteStmtInUse *
lia_sqlite_stmt_cache_get (LiaSqliteStmtCache *cache, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (cache->by_sql, sql);
  int rc;

  if (stmt != NULL)
    return stmt;
  rc = sqlite3_prepare_v3 (cache->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      lia_sqlite_set_error (error, cache->db, rc, cache->path, "use");
      return NULL;
    }
  g_hash_table_insert (cache->by_sql, (gpointer) sql, stmt);
  return stmt;
}
