/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* Phase 1 and the end of a cycle: the scanner over the synced folders
 * (R-DET-SCAN, R-DET-SCAN-STARTUP, R-DET-DELETES) and the watermarks. */

/* A folder the scanner reads, and the entity it reads it as. */
typedef struct
{
  char *folder; /* owned */
  LiaEntity entity;
} ScanFolder;

static void
scan_folder_free (ScanFolder *f)
{
  g_free (f->folder);
  g_free (f);
}

static void
add_folder (GPtrArray *out, const char *folder, LiaEntity entity)
{
  ScanFolder *f;

  if (folder == NULL || *folder == '\0')
    return;
  /* Several entities share a folder (appointments; task-like activities),
   * and a tracked mail folder may be the Inbox: each folder once, as its
   * first entity. */
  for (guint i = 0; i < out->len; i++)
    if (g_str_equal (((ScanFolder *) g_ptr_array_index (out, i))->folder, folder))
      return;
  f = g_new0 (ScanFolder, 1);
  f->folder = g_strdup (folder);
  f->entity = entity;
  g_ptr_array_add (out, f);
}

/* The folders the scanner reads: each entity's default folder; for email
 * also the ones the host names (Sent: a message marked there while no
 * engine ran is promoted like one in the Inbox) and the mail folders the
 * user tracks (R-MAIL-FOLDER), where mail is marked and moved to by other
 * clients too. The email phase scans the tracked folders for untracked
 * arrivals; this scan takes the marked and linked ones. */
static GPtrArray *
scan_folders (Cycle *c)
{
  LiaEngine *self = c->engine;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) scan_folder_free);

  for (guint e = 0; e < LIA_ENTITY_N; e++)
    add_folder (out, self->folders[e], (LiaEntity) e);
  if (self->folders[LIA_ENTITY_EMAIL] == NULL)
    return out;
  if (self->link.vtable->dup_scan_folders != NULL && lia_host_link_enter (&self->link))
    {
      g_auto (GStrv) more =
          self->link.vtable->dup_scan_folders (self->link.host, self->store, LIA_ENTITY_EMAIL);

      lia_host_link_leave (&self->link);
      for (guint i = 0; more != NULL && more[i] != NULL; i++)
        add_folder (out, more[i], LIA_ENTITY_EMAIL);
    }
  {
    /* Lines "store/folder\tregarding-id\tregarding-name" (lia-engine-mail.c). */
    g_autofree char *setting = lia_cache_dup_setting (c->cache, LIA_ENGINE_SETTING_MAIL_FOLDERS, NULL);
    g_autofree char *prefix = g_strdup_printf ("%s/", self->store);
    g_auto (GStrv) lines = setting != NULL ? g_strsplit (setting, "\n", -1) : NULL;

    for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
      {
        g_auto (GStrv) f = g_strsplit (lines[i], "\t", 2);

        if (f[0] != NULL && g_str_has_prefix (f[0], prefix))
          add_folder (out, f[0] + strlen (prefix), LIA_ENTITY_EMAIL);
      }
  }
  return out;
}

gboolean
lia_engine_scan (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) changes = lia_cache_list_changes (c->cache, LIA_CACHE_CHANGES_ALL, 0, error);
  g_autoptr (GPtrArray) folders = NULL;
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
  /* The email folders too: a message marked or linked while no engine ran
   * is found by its last-modified (the adapter's property write). */
  folders = scan_folders (c);
  for (guint i = 0; i < folders->len; i++)
    {
      const ScanFolder *f = g_ptr_array_index (folders, i);
      g_autofree char *key = g_strdup_printf ("folder:%s/%s", self->store, f->folder);
      g_autofree char *mark = lia_cache_dup_watermark (c->cache, key, NULL);
      gint64 watermark = 0;
      LiaScanStats stats = { 0 };

      if (mark != NULL)
        g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &watermark, NULL);
      if (!lia_scanner_scan_folder (&self->link, c->cache, self->store, f->folder, f->entity, watermark,
                                    promote, queued, &stats, c->cancellable, error))
        return FALSE;
      total.rows_read += stats.rows_read;
      total.items_read += stats.items_read;
      total.unchanged += stats.unchanged;
      total.queued += stats.queued;
      /* R-DET-DELETES: deletions made while we were not running. Mail
       * deletions stay with the notifications (R-DEL-OUT-EMAIL). */
      if (first && f->entity != LIA_ENTITY_EMAIL)
        {
          guint n_deleted = 0;

          if (!lia_scanner_reconcile_deletes (&self->link, c->cache, self->store, f->folder, &n_deleted,
                                              c->cancellable, error))
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
  g_autoptr (GPtrArray) folders = scan_folders (c);

  for (guint i = 0; i < folders->len; i++)
    {
      const ScanFolder *f = g_ptr_array_index (folders, i);
      g_autofree char *key = g_strdup_printf ("folder:%s/%s", self->store, f->folder);

      if (!lia_cache_set_watermark (c->cache, key, value, error))
        return FALSE;
    }
  return TRUE;
}
