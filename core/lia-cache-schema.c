/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

/* The schema of the sync cache, as forward-only migrations (STYLE 21).
 *
 * Invariants of every migration step N:
 *  - its SQL is constant and ends with "PRAGMA user_version = N" (pragmas
 *    take no parameters, so the version is part of the constant text);
 *  - it runs inside one BEGIN IMMEDIATE transaction together with the check
 *    that user_version is N - 1, so a crash leaves the file at N - 1 or N
 *    and two processes never apply the same step twice;
 *  - it is never edited once released: a change of schema is a new step.
 *
 * Times are INTEGER microseconds since the Unix epoch (UTC) from LiaClock.
 * Entities, link states, origins, directions and operations are the
 * integer values of their (append-only) C enums. Host and CRM ids are
 * opaque TEXT. */

/* The change queue ("OutlookSyncTable"): pending changes in both
 * directions. A row lives from enqueue until the engine completes it; a
 * failure only bumps attempts and next_attempt_at (R-IMM-FALLBACK). ids are
 * AUTOINCREMENT so a completed id is never handed out again (a late
 * complete or fail of a stale claim cannot hit a newer change).
 * claimed_until is a lease: the claim of a claimer that crashed expires.
 * The two indexes answer the claim's per-item order question: is there an
 * older change of this item (by host id, or by CRM id before the host item
 * exists) in this direction? A macro, because the benchmark's raw SQLite
 * baseline creates the same table. */
#define CHANGE_QUEUE_SQL                                                                      \
  "CREATE TABLE change_queue (\n"                                                             \
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                 \
  "  direction INTEGER NOT NULL CHECK (direction IN (1, 2)),\n"                               \
  "  op INTEGER NOT NULL CHECK (op >= 0),\n"                                                  \
  "  store TEXT NOT NULL,\n"                                                                  \
  "  folder TEXT,\n"                                                                          \
  "  item_id TEXT,\n"                                                                         \
  "  entity INTEGER NOT NULL CHECK (entity >= 0),\n"                                          \
  "  crm_id TEXT,\n"                                                                          \
  "  payload BLOB,\n"                                                                         \
  "  enqueued_at INTEGER NOT NULL,\n"                                                         \
  "  attempts INTEGER NOT NULL DEFAULT 0,\n"                                                  \
  "  next_attempt_at INTEGER NOT NULL,\n"                                                     \
  "  last_error TEXT,\n"                                                                      \
  "  claimed_until INTEGER NOT NULL DEFAULT 0,\n"                                             \
  "  CHECK (item_id IS NOT NULL OR crm_id IS NOT NULL)\n"                                     \
  ");\n"                                                                                      \
  "CREATE INDEX change_queue_by_item ON change_queue (store, item_id, direction, id)\n"       \
  "  WHERE item_id IS NOT NULL;\n"                                                            \
  "CREATE INDEX change_queue_by_crm ON change_queue (store, entity, crm_id, direction, id)\n" \
  "  WHERE crm_id IS NOT NULL;\n"

static const char migration_1[] =
    /* The id mapping: host item <-> CRM record. One row per mapped host item;
     * a CRM record is linked to at most one item per store (R-DUP-NONE).
     * crm_id is NULL only before the CRM record exists (state 1, R-MARK-TRACK);
     * state 2 always has one. Untracking deletes the row (R-MARK-UNTRACK);
     * state 0 rows are allowed for items the engine must remember as
     * deliberately untracked. linked_at survives re-mapping. */
    "CREATE TABLE id_mapping (\n"
    "  store TEXT NOT NULL,\n"
    "  folder TEXT NOT NULL,\n"
    "  item_id TEXT NOT NULL,\n"
    "  entity INTEGER NOT NULL CHECK (entity >= 0),\n"
    "  crm_id TEXT,\n"
    "  link_state INTEGER NOT NULL CHECK (link_state IN (0, 1, 2)),\n"
    "  link_origin INTEGER NOT NULL CHECK (link_origin >= 0),\n"
    "  linked_at INTEGER NOT NULL,\n"
    "  modified_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (store, item_id),\n"
    "  UNIQUE (store, entity, crm_id),\n"
    "  CHECK (link_state <> 2 OR crm_id IS NOT NULL)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX id_mapping_by_folder ON id_mapping (store, folder);\n"
    /* The change queue, as documented at CHANGE_QUEUE_SQL. */
    CHANGE_QUEUE_SQL
    /* The original of each synchronized item (R-MERGE-ORIGINAL): the
     * OriginalXML of its last synchronized state and the versions and times
     * of both sides then. It belongs to its mapping: unmapping removes it, a
     * re-keyed item carries it along. */
    "CREATE TABLE original (\n"
    "  store TEXT NOT NULL,\n"
    "  item_id TEXT NOT NULL,\n"
    "  xml TEXT NOT NULL,\n"
    "  host_version TEXT,\n"
    "  host_modified_at INTEGER NOT NULL DEFAULT 0,\n"
    "  crm_version INTEGER NOT NULL DEFAULT 0,\n"
    "  crm_modified_at INTEGER NOT NULL DEFAULT 0,\n"
    "  stored_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (store, item_id),\n"
    "  FOREIGN KEY (store, item_id) REFERENCES id_mapping (store, item_id)\n"
    "    ON DELETE CASCADE ON UPDATE CASCADE\n"
    ") WITHOUT ROWID;\n"
    /* Watermarks: "folder:<store>/<folder>" -> the scan watermark of a folder
     * (R-DET-SCAN), "anchor:<entity>" -> the server's sync anchor
     * (R-DET-SERVER). Stored in the same transaction as the data they cover. */
    "CREATE TABLE watermark (\n"
    "  key TEXT NOT NULL PRIMARY KEY,\n"
    "  value TEXT NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    /* The user's client-side settings (SPEC section 9). */
    "CREATE TABLE setting (\n"
    "  key TEXT NOT NULL PRIMARY KEY,\n"
    "  value TEXT NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    /* The journal: what each sync did, newest last, for status (R-OFF-STATUS),
     * undo and diagnostics. Append only. */
    "CREATE TABLE journal (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  at INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  store TEXT,\n"
    "  item_id TEXT,\n"
    "  crm_id TEXT,\n"
    "  message TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX journal_by_item ON journal (store, item_id) WHERE item_id IS NOT NULL;\n"
    "PRAGMA application_id = 1279869251;\n" /* 0x4c494143, "LIAC" */
    "PRAGMA user_version = 1;\n";

G_STATIC_ASSERT (LIA_CACHE_APPLICATION_ID == 1279869251);

static const char migration_2[] =
    /* The CRM owner and state of the last synchronized record, beside its
     * original: a record deleted in CRM cannot be read any more, and the
     * deletion rules need both (R-DEL-IN-CONTACT keeps the user's own
     * contact, R-DEL-IN-TASK a completed task). NULL owner: not known. */
    "ALTER TABLE original ADD COLUMN crm_owner TEXT;\n"
    "ALTER TABLE original ADD COLUMN crm_state INTEGER NOT NULL DEFAULT 0;\n"
    "PRAGMA user_version = 2;\n";

static const char migration_3[] =
    /* Why an email was tracked without the user asking (R-MAIL-AUTO,
     * R-MAIL-CORRELATE-*, R-MAIL-FOLDER, R-MAIL-BULK): the rule ID and the
     * earlier tracked message it matched, per host item, for the user to
     * see. Filled from the journal line the engine writes when it tracks a
     * message ("RULE-ID: ... <earlier-message-id>"), by the trigger below,
     * so every writer of the journal records it in the same transaction;
     * the newest reason wins. Dropped with the item's mapping (untrack). */
    "CREATE TABLE mail_reason (\n"
    "  store TEXT NOT NULL,\n"
    "  item_id TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  rule TEXT NOT NULL,\n"
    "  earlier_message_id TEXT,\n"
    "  message TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (store, item_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER mail_reason_from_journal AFTER INSERT ON journal\n"
    "  WHEN NEW.kind IN ('auto-track', 'folder-track', 'bulk-track')\n"
    "    AND NEW.store IS NOT NULL AND NEW.item_id IS NOT NULL\n"
    "BEGIN\n"
    "  INSERT OR REPLACE INTO mail_reason (store, item_id, kind, rule, earlier_message_id, message, at)\n"
    "  VALUES (NEW.store, NEW.item_id, NEW.kind,\n"
    "    CASE WHEN instr (NEW.message, ':') > 0\n"
    "      THEN substr (NEW.message, 1, instr (NEW.message, ':') - 1) ELSE NEW.message END,\n"
    "    CASE WHEN instr (NEW.message, '<') > 0 AND instr (NEW.message, '>') > instr (NEW.message, '<')\n"
    "      THEN substr (NEW.message, instr (NEW.message, '<') + 1,\n"
    "                   instr (NEW.message, '>') - instr (NEW.message, '<') - 1) END,\n"
    "    NEW.message, NEW.at);\n"
    "END;\n"
    "CREATE TRIGGER mail_reason_unmapped AFTER DELETE ON id_mapping\n"
    "BEGIN\n"
    "  DELETE FROM mail_reason WHERE store = OLD.store AND item_id = OLD.item_id;\n"
    "END;\n"
    "PRAGMA user_version = 3;\n";

static const char migration_4[] =
    /* The tracked items of one entity without reading the whole mapping:
     * the email phase of every cycle looks up the tracked messages (its
     * correlation index), and a profile holds 100,000 contacts beside
     * them. */
    "CREATE INDEX id_mapping_by_entity ON id_mapping (store, entity, link_state);\n"
    "PRAGMA user_version = 4;\n";

static const char migration_5[] =
    /* R-MAIL-FOLDER: the messages a tracked folder held when it was marked,
     * and every message the folder phase decided since, by a 64-bit key of
     * the message (from its Message-ID; see lia-engine-mail-folders.c), per
     * "store/folder". A message the host announces again as new (a rebuilt
     * summary, an IMAP UIDVALIDITY change: new ids for the same messages)
     * is found here and not tracked. Dropped when the folder is unmarked. */
    "CREATE TABLE mail_folder_known (\n"
    "  folder TEXT NOT NULL,\n"
    "  key INTEGER NOT NULL,\n"
    "  PRIMARY KEY (folder, key)\n"
    ") WITHOUT ROWID;\n"
    "PRAGMA user_version = 5;\n";

typedef struct
{
  gint64 version;
  const char *sql;
} Migration;

/* Step i brings the schema from version i to i + 1. */
static const Migration migrations[] = {
  { 1, migration_1 }, { 2, migration_2 }, { 3, migration_3 }, { 4, migration_4 }, { 5, migration_5 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == LIA_CACHE_SCHEMA_VERSION);

const char *
lia_cache_schema_change_queue_sql (void)
{
  return CHANGE_QUEUE_SQL;
}

/* Reads the version and, for a file that is not empty, makes sure it is a
 * sync cache this code can use. Only reads. */
static gboolean
read_version (sqlite3 *db, const char *path, gint64 *out_version, GError **error)
{
  gint64 version = 0;
  gint64 application_id = 0;
  gint64 n_objects = 0;

  if (!lia_sqlite_query_int (db, path, "read", "PRAGMA user_version", &version, error))
    return FALSE;
  if (!lia_sqlite_query_int (db, path, "read", "PRAGMA application_id", &application_id, error))
    return FALSE;
  if (!lia_sqlite_query_int (db, path, "read", "SELECT count(*) FROM sqlite_schema", &n_objects, error))
    return FALSE;

  /* A database with tables but without our id belongs to someone else:
   * adding our tables to it would be a silent takeover. */
  if ((version != 0 || n_objects != 0) && application_id != LIA_CACHE_APPLICATION_ID)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Cannot open \"%s\": the file is an SQLite database but not a Liaison sync cache "
                   "(application id %" G_GINT64_FORMAT ")",
                   path, application_id);
      return FALSE;
    }
  if (version > LIA_CACHE_SCHEMA_VERSION)
    {
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_STORE,
          "Cannot open \"%s\": the file was written by a newer Liaison (schema version %" G_GINT64_FORMAT
          ", this one knows up to %d)",
          path, version, LIA_CACHE_SCHEMA_VERSION);
      return FALSE;
    }
  if (version < 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Cannot open \"%s\": the file has an invalid schema version %" G_GINT64_FORMAT, path,
                   version);
      return FALSE;
    }
  *out_version = version;
  return TRUE;
}

gboolean
lia_cache_schema_check_version (sqlite3 *db, const char *path, GError **error)
{
  gint64 version = 0;

  return read_version (db, path, &version, error);
}

static gboolean
migrate_step (sqlite3 *db, const char *path, const Migration *step, GError **error)
{
  gint64 version = 0;

  if (!lia_sqlite_exec (db, path, "write to", "BEGIN IMMEDIATE", error))
    return FALSE;
  /* Read again under the write lock: another process may have migrated
   * the file since we looked. */
  if (!read_version (db, path, &version, error))
    goto fail;
  if (version >= step->version)
    return lia_sqlite_exec (db, path, "write to", "COMMIT", error);
  g_assert (version == step->version - 1);
  g_debug ("cache \"%s\": migrating schema %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT, path, version,
           step->version);
  if (!lia_sqlite_exec (db, path, "migrate", step->sql, error))
    goto fail;
  if (!lia_sqlite_query_int (db, path, "migrate", "PRAGMA user_version", &version, error))
    goto fail;
  g_assert (version == step->version);
  if (!lia_sqlite_exec (db, path, "write to", "COMMIT", error))
    goto fail;
  return TRUE;

fail:
  /* The failure is already reported; a rollback that fails too leaves
   * nothing more to say, and SQLite rolls back on close anyway. */
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

gboolean
lia_cache_schema_migrate (sqlite3 *db, const char *path, GError **error)
{
  gint64 version = 0;

  if (!read_version (db, path, &version, error))
    return FALSE;
  if (version == LIA_CACHE_SCHEMA_VERSION)
    {
      /* Nothing to migrate, but take the write lock once anyway: a file that
       * another process holds locked, or that cannot be written, is
       * reported at open rather than at the first change the user makes. */
      return lia_sqlite_exec (db, path, "write to", "BEGIN IMMEDIATE; COMMIT;", error);
    }
  for (gsize i = (gsize) version; i < G_N_ELEMENTS (migrations); i++)
    {
      if (!migrate_step (db, path, &migrations[i], error))
        return FALSE;
    }
  return TRUE;
}

gboolean
lia_cache_schema_check (sqlite3 *db, const char *path, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = NULL;
  gint64 version = 0;
  int rc;

  if (!read_version (db, path, &version, error))
    return FALSE;
  if (version != LIA_CACHE_SCHEMA_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Check of \"%s\" failed: schema version %" G_GINT64_FORMAT ", expected %d", path, version,
                   LIA_CACHE_SCHEMA_VERSION);
      return FALSE;
    }

  /* integrity_check answers one row "ok" or up to 100 rows of problems. */
  rc = sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      lia_sqlite_set_error (error, db, rc == SQLITE_DONE ? SQLITE_ERROR : rc, path, "check");
      return FALSE;
    }
  if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    {
      g_autofree char *problem = g_strdup ((const char *) sqlite3_column_text (stmt, 0));

      /* Messages are one line; SQLite's first problem may span several. */
      g_strdelimit (problem, "\r\n", ' ');
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Check of \"%s\" failed: the file is corrupt (%s)",
                   path, problem != NULL ? problem : "no detail");
      return FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* foreign_key_check answers no row when every reference holds. */
  rc = sqlite3_prepare_v2 (db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE,
                   "Check of \"%s\" failed: table %s has a row (%" G_GINT64_FORMAT ") without its %s", path,
                   (const char *) sqlite3_column_text (stmt, 0), (gint64) sqlite3_column_int64 (stmt, 1),
                   (const char *) sqlite3_column_text (stmt, 2));
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    {
      lia_sqlite_set_error (error, db, rc, path, "check");
      return FALSE;
    }
  return TRUE;
}
