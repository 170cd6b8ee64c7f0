/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "lia-cache-private.h"
#include "lia-sqlite-private.h"

/* Reads of the sync cache: the second connection, under read_lock. In WAL
 * mode they never wait for the writer and see every acknowledged commit. */

/* ---- rows ------------------------------------------------------------ */

static char *
column_dup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

LiaCacheChange *
lia_cache_change_from_row (sqlite3_stmt *stmt)
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
    g_ptr_array_add (changes, lia_cache_change_from_row (stmt));
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
    return lia_cache_change_from_row (stmt);
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

static const char SQL_IS_KNOWN[] = "SELECT 1 FROM mail_folder_known WHERE folder = ?1 AND key = ?2";
static const char SQL_COUNT_KNOWN[] = "SELECT count(*) FROM mail_folder_known WHERE folder = ?1";

gboolean
lia_cache_is_known (LiaCache *cache, const char *folder, gint64 key, gboolean *out_known, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL && folder != NULL && out_known != NULL, FALSE);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_IS_KNOWN, error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, folder);
  sqlite3_bind_int64 (stmt, 2, key);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      read_step_error (cache, rc, error);
      return FALSE;
    }
  *out_known = rc == SQLITE_ROW;
  return TRUE;
}

gint64
lia_cache_count_known (LiaCache *cache, const char *folder, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (LiaSqliteStmtInUse) stmt = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL && folder != NULL, -1);
  locker = g_mutex_locker_new (&cache->read_lock);
  stmt = lia_sqlite_stmt_cache_get (cache->read_stmts, SQL_COUNT_KNOWN, error);
  if (stmt == NULL)
    return -1;
  bind_text (stmt, 1, folder);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      read_step_error (cache, rc, error);
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
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
