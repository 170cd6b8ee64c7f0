/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* Phase 1 and the end of a cycle: the scanner over the synced folders
 * (R-DET-SCAN, R-DET-SCAN-STARTUP, R-DET-DELETES) and the watermarks. */

gboolean
lia_engine_scan (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) changes = lia_cache_list_changes (c->cache, LIA_CACHE_CHANGES_ALL, 0, error);
  LiaScanStats total = { 0 };
  gboolean first;
  gboolean promote;

  if (changes == NULL)
    return FALSE;
  for (guint i = 0; i < changes->len; i++)
    {
      const LiaCacheChange *change = g_ptr_array_index (changes, i);

      if (change->direction == LIA_DIRECTION_TO_CRM && change->item_id != NULL)
        g_hash_table_add (queued, g_strdup (change->item_id));
    }
  g_mutex_lock (&self->lock);
  first = !self->scanned_deletes;
  promote = self->role == LIA_CLIENT_PRIMARY;
  g_mutex_unlock (&self->lock);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *key = NULL;
      g_autofree char *mark = NULL;
      gint64 watermark = 0;
      LiaScanStats stats = { 0 };
      gboolean seen = FALSE;

      /* The email folder too: a message marked or linked while no engine
       * ran is found by its last-modified (the adapter's property write). */
      if (self->folders[e] == NULL)
        continue;
      /* Several entities share a folder (appointments; task-like
       * activities): scan each folder once, as its first entity. */
      for (guint p = 0; p < e; p++)
        if (self->folders[p] != NULL && g_str_equal (self->folders[p], self->folders[e]))
          seen = TRUE;
      if (seen)
        continue;
      key = g_strdup_printf ("folder:%s/%s", self->store, self->folders[e]);
      mark = lia_cache_dup_watermark (c->cache, key, NULL);
      if (mark != NULL)
        g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &watermark, NULL);
      if (!lia_scanner_scan_folder (&self->link, c->cache, self->store, self->folders[e], (LiaEntity) e,
                                    watermark, promote, queued, &stats, c->cancellable, error))
        return FALSE;
      total.rows_read += stats.rows_read;
      total.items_read += stats.items_read;
      total.unchanged += stats.unchanged;
      total.queued += stats.queued;
      /* R-DET-DELETES: deletions made while we were not running. Mail
       * deletions stay with the notifications (R-DEL-OUT-EMAIL). */
      if (first && e != LIA_ENTITY_EMAIL)
        {
          guint n_deleted = 0;

          if (!lia_scanner_reconcile_deletes (&self->link, c->cache, self->store, self->folders[e],
                                              &n_deleted, c->cancellable, error))
            return FALSE;
        }
    }
  g_mutex_lock (&self->lock);
  self->scanned_deletes = TRUE;
  g_mutex_unlock (&self->lock);
  /* What the scan cost: rows newer than the watermarks, and of those the
   * items read to compare with their originals. Silent when nothing
   * changed since the last cycle. */
  if (total.rows_read > 0)
    {
      g_autofree char *msg =
          g_strdup_printf ("scan: %u rows, %u items read, %u unchanged since written, %u queued",
                           total.rows_read, total.items_read, total.unchanged, total.queued);

      lia_engine_journal (c, "scan", NULL, NULL, msg);
    }
  return TRUE;
}

gboolean
lia_engine_set_scan_watermarks (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, c->started_at);

  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *key = NULL;

      if (self->folders[e] == NULL)
        continue;
      key = g_strdup_printf ("folder:%s/%s", self->store, self->folders[e]);
      if (!lia_cache_set_watermark (c->cache, key, value, error))
        return FALSE;
    }
  return TRUE;
}
