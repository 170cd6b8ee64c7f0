/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>
#include <sqlite3.h>

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
