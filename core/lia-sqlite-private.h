/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SQLite at the boundary: ownership cleanups for its handles and the one
 * place where its result codes become LIA_ERROR_STORE errors that name the
 * file (STYLE 11, 14). Shared by the sync cache and the org service's store. */

#include <liaison/liaison.h>
#include <sqlite3.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, sqlite3_close_v2)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* A statement borrowed from a LiaSqliteStmtCache: the cleanup resets it and
 * clears its bindings instead of finalizing it, so a cached statement is
 * always idle and unbound between uses. */
typedef sqlite3_stmt LiaSqliteStmtInUse;

static inline void
lia_sqlite_stmt_release (LiaSqliteStmtInUse *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaSqliteStmtInUse, lia_sqlite_stmt_release)

/* lia_sqlite_set_error:
 * @error: return location for a GError
 * @db: (nullable): the connection @rc came from, for its message
 * @rc: an SQLite result code other than SQLITE_OK, SQLITE_ROW, SQLITE_DONE
 * @path: the file, named in the message
 * @doing: what failed, as a verb phrase: "open", "write to", "read"
 *
 * Sets LIA_ERROR_STORE with one line such as
 * `Cannot write to "/x/cache.db": the file is locked by another process or
 * connection (database is locked)`. */
void lia_sqlite_set_error (GError **error, sqlite3 *db, int rc, const char *path, const char *doing);

/* lia_sqlite_describe:
 * @rc: an SQLite result code
 *
 * Returns: (transfer none): the explanation used in lia_sqlite_set_error()'s
 *   messages ("the file is locked by another process or connection", ...). */
const char *lia_sqlite_describe (int rc);

/* Runs constant SQL (never built from strings: STYLE 30) with no results. */
gboolean lia_sqlite_exec (sqlite3 *db, const char *path, const char *doing, const char *sql, GError **error);

/* Reads a one-integer pragma or query such as "PRAGMA user_version". */
gboolean lia_sqlite_query_int (sqlite3 *db, const char *path, const char *doing, const char *sql,
                               gint64 *out_value, GError **error);

/* LiaSqliteStmtCache: prepared statements of one connection, keyed by the
 * address of their (static, constant) SQL text, so each is compiled once.
 * Used by one thread at a time, like its connection; freed before the
 * connection is closed. */
typedef struct _LiaSqliteStmtCache LiaSqliteStmtCache;

LiaSqliteStmtCache *lia_sqlite_stmt_cache_new (sqlite3 *db, const char *path);
void lia_sqlite_stmt_cache_free (LiaSqliteStmtCache *cache);

/* Returns: (transfer none) (nullable): the statement for @sql (a string
 * literal: its address is the key), idle and unbound; hold it in a
 * g_autoptr(LiaSqliteStmtInUse). NULL with LIA_ERROR_STORE when it does not
 * compile, which for our constant SQL means the file is not what we think. */
LiaSqliteStmtInUse *lia_sqlite_stmt_cache_get (LiaSqliteStmtCache *cache, const char *sql, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaSqliteStmtCache, lia_sqlite_stmt_cache_free)

G_END_DECLS
