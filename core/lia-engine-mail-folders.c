/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail-private.h"

/* R-MAIL-FOLDER: folders whose new mail is tracked, with a regarding
 * (lia_engine_mail_set_folder()), and the scans that track what arrives in
 * them. */

static char *
folder_key (const char *store, const char *folder)
{
  return g_strdup_printf ("%s/%s", store, folder);
}

static char *
folders_to_setting_locked (LiaEngineMail *mail)
{
  GString *out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, mail->folders);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *regarding = value;
      const char *nl = strchr (regarding, '\n');
      if (out->len > 0)
        g_string_append_c (out, '\n');
      if (nl != NULL)
        g_string_append_printf (out, "%s\t%.*s\t%s", (const char *) key, (int) (nl - regarding), regarding,
                                nl + 1);
      else
        g_string_append_printf (out, "%s\t\t", (const char *) key);
    }
  return g_string_free (out, FALSE);
}

gboolean
lia_engine_mail_set_folder (LiaEngine *engine, const char *store, const char *folder, gboolean tracked,
                            const char *regarding_id, const char *regarding_name, GError **error)
{
  LiaEngineMail *mail;
  LiaCache *cache;
  g_autofree char *key = NULL;
  g_autofree char *setting = NULL;
  g_autofree char *mark = NULL;

  g_return_val_if_fail (engine != NULL && store != NULL && folder != NULL, FALSE);
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return FALSE;
    }
  if (strchr (store, '\t') != NULL || strchr (store, '\n') != NULL || strchr (folder, '\t') != NULL
      || strchr (folder, '\n') != NULL || (regarding_id != NULL && strpbrk (regarding_id, "\t\n") != NULL)
      || (regarding_name != NULL && strpbrk (regarding_name, "\t\n") != NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Folder and regarding names cannot hold tabs or lines");
      return FALSE;
    }
  if (tracked && g_strcmp0 (store, engine->store) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Only folders of your primary mailbox can be tracked in CRM; \"%s\" is another store",
                   store);
      return FALSE;
    }
  mail = lia_engine_mail_of (engine);
  key = folder_key (store, folder);
  g_mutex_lock (&mail->lock);
  lia_engine_mail_load_locked (mail, cache);
  if (tracked)
    g_hash_table_replace (mail->folders, g_strdup (key),
                          regarding_id != NULL ? g_strdup_printf (
                              "%s\n%s", regarding_id, regarding_name != NULL ? regarding_name : "")
                                               : g_strdup (""));
  else
    g_hash_table_remove (mail->folders, key);
  setting = folders_to_setting_locked (mail);
  g_mutex_unlock (&mail->lock);
  /* Mail already in the folder stays as it is: what arrives from now on is
   * tracked (R-MAIL-FOLDER, "moved or filtered into it"). */
  mark = g_strdup_printf ("%" G_GINT64_FORMAT, lia_clock_now (engine->clock));
  {
    g_autofree char *wkey = g_strdup_printf ("mail-folder:%s", key);
    if (tracked && !lia_cache_set_watermark (cache, wkey, mark, error))
      return FALSE;
  }
  return lia_cache_set_setting (cache, LIA_ENGINE_SETTING_MAIL_FOLDERS, setting, error);
}

gboolean
lia_engine_mail_folder_is_tracked (LiaEngine *engine, const char *store, const char *folder)
{
  LiaEngineMail *mail;
  g_autofree char *key = NULL;
  gboolean tracked;

  if (engine == NULL || store == NULL || folder == NULL)
    return FALSE;
  mail = lia_engine_mail_of (engine);
  key = folder_key (store, folder);
  g_mutex_lock (&mail->lock);
  /* No I/O on the caller's thread: before the first cycle (or marking)
   * read the folders, nothing is known to be tracked; that cycle's scans
   * find the mail anyway. */
  tracked = mail->loaded && g_hash_table_contains (mail->folders, key);
  g_mutex_unlock (&mail->lock);
  return tracked;
}

static gboolean
folder_track_one (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error)
{
  const char *regarding = data;
  const char *nl = strchr (regarding, '\n');
  g_autofree char *id = nl != NULL ? g_strndup (regarding, (gsize) (nl - regarding)) : NULL;
  g_autofree char *why = g_strdup_printf ("R-MAIL-FOLDER: arrived in tracked folder \"%s\"", hi->folder);

  return lia_engine_mail_track_now (c, hi, id, nl != NULL ? nl + 1 : NULL, "folder-track", why, error);
}

/* Tracks the new mail of every tracked folder of this store. @folders:
 * "store/folder" -> "id\nname" or "" (a copy taken under the lock). */
gboolean
lia_engine_mail_scan_folders (Cycle *c, GHashTable *folders, GError **error)
{
  LiaEngine *self = c->engine;

  {
    GHashTableIter iter;
    gpointer k, v;
    g_autofree char *prefix = g_strdup_printf ("%s/", self->store);
    g_hash_table_iter_init (&iter, folders);
    while (g_hash_table_iter_next (&iter, &k, &v))
      {
        g_autofree char *wkey = g_strdup_printf ("mail-folder:%s", (const char *) k);
        if (!g_str_has_prefix (k, prefix))
          continue;
        if (!lia_engine_mail_scan_new_mail (c, (const char *) k + strlen (prefix), wkey, folder_track_one, v,
                                            error))
          return FALSE;
      }
  }
  return TRUE;
}
