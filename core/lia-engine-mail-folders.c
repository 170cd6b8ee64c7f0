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

/* Arrivals ---------------------------------------------------------------
 *
 * The date scan below (lia_engine_mail_scan_new_mail()) stops at the
 * folder's mark by the message's date, as a host reports it: a message
 * dated before the folder was marked (an older message the user moves in,
 * which IMAP, Maildir and MAPI keep with its date) is never reached. So
 * every created or moved-in email the host notifies in a tracked folder is
 * noted, durably, as the cache watermark "mail-arrival:STORE<TAB>ITEM-ID"
 * (value: the folder it arrived in), and the folder phase tracks each
 * noted message still in a tracked folder, whatever its date; the note
 * goes once the phase decided. The date scan stays for mail that arrived
 * while no engine ran (no notification): that path relies on dates. */

#define ARRIVAL_PREFIX "mail-arrival:"

typedef struct
{
  LiaEngine *engine; /* owned ref */
  LiaCacheEnqueueFunc callback;
  gpointer user_data;
} NoteDone;

static void
note_done (gint64 id, const GError *error, gpointer user_data)
{
  NoteDone *done = user_data;

  /* Counted once durable: a cycle whose folder phase already listed the
   * arrivals runs again (lia_engine_mail_take_rerun()). */
  if (error == NULL)
    g_atomic_int_inc (&lia_engine_mail_of (done->engine)->arrivals);
  if (done->callback != NULL)
    done->callback (id, error, done->user_data);
  lia_engine_unref (done->engine);
  g_free (done);
}

gboolean
lia_engine_mail_take_rerun (LiaEngine *engine)
{
  return g_atomic_int_and (&lia_engine_mail_of (engine)->arrivals, 0) != 0;
}

gboolean
lia_engine_mail_note_arrival (LiaEngine *engine, const char *store, const char *folder, const char *item_id,
                              LiaCacheEnqueueFunc callback, gpointer user_data)
{
  LiaEngineMail *mail;
  LiaCache *cache;
  LiaClientRole role;
  g_autofree char *key = NULL;
  g_autofree char *wkey = NULL;
  gboolean wanted;
  NoteDone *done;

  if (engine == NULL || store == NULL || folder == NULL || item_id == NULL
      || g_strcmp0 (store, engine->store) != 0)
    return FALSE;
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      /* Still starting: kept in memory until the first cycle, which starts
       * once the cache is open, writes it down. */
      mail = lia_engine_mail_of (engine);
      g_mutex_lock (&mail->lock);
      g_hash_table_replace (mail->early, g_strdup (item_id), g_strdup (folder));
      g_mutex_unlock (&mail->lock);
      return FALSE;
    }
  g_mutex_lock (&engine->lock);
  role = engine->role;
  g_mutex_unlock (&engine->lock);
  /* Only the primary client tracks folders (SPEC section 8). */
  if (role != LIA_CLIENT_PRIMARY)
    return FALSE;
  mail = lia_engine_mail_of (engine);
  key = folder_key (store, folder);
  g_mutex_lock (&mail->lock);
  /* Before the first cycle read the tracked folders (no I/O here), any
   * folder may be one: the phase drops the notes of the others. */
  wanted = !mail->loaded || g_hash_table_contains (mail->folders, key);
  g_mutex_unlock (&mail->lock);
  if (!wanted)
    return FALSE;
  wkey = g_strdup_printf (ARRIVAL_PREFIX "%s\t%s", store, item_id);
  done = g_new0 (NoteDone, 1);
  done->engine = lia_engine_ref (engine);
  done->callback = callback;
  done->user_data = user_data;
  lia_cache_set_watermark_async (cache, wkey, folder, note_done, done);
  return TRUE;
}

/* The arrivals noted for @store, oldest first: key, folder, key, ... */
static GPtrArray *
list_arrivals (LiaCache *cache, const char *store, GError **error)
{
  static const char sql[] = "SELECT key, value FROM watermark WHERE substr (key, 1, length (?1)) = ?1 "
                            "ORDER BY updated_at, key";
  g_autofree char *prefix = g_strdup_printf (ARRIVAL_PREFIX "%s\t", store);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_mutex_lock (&cache->read_lock);
  rc = sqlite3_prepare_v2 (cache->read_db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, prefix, -1, SQLITE_TRANSIENT);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          g_ptr_array_add (keys, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
          g_ptr_array_add (keys, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
        }
    }
  if (rc != SQLITE_DONE)
    lia_sqlite_set_error (error, cache->read_db, rc, cache->path, "read");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&cache->read_lock);
  return rc == SQLITE_DONE ? g_steal_pointer (&keys) : NULL;
}

static gboolean folder_track_one (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error);

/* Tracks one noted arrival if it is still an untracked email in a tracked
 * folder (where it is now: it may have moved on); otherwise leaves it. */
static gboolean
track_arrival (Cycle *c, GHashTable *folders, const char *item_id, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GError) local = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autofree char *key = NULL;
  const char *regarding;

  m = lia_cache_lookup_item (c->cache, self->store, item_id, NULL);
  /* Already linked, or untracked by the user: left alone. */
  if (m != NULL || lia_engine_mail_was_untracked (c->cache, self->store, item_id))
    return TRUE;
  hi = lia_host_call_read_item (&self->link, self->store, item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (hi->props.link_state != LIA_LINK_STATE_NONE || hi->is_draft || hi->folder == NULL
      || lia_item_get_entity (hi->item) != LIA_ENTITY_EMAIL)
    return TRUE;
  key = folder_key (self->store, hi->folder);
  regarding = g_hash_table_lookup (folders, key);
  if (regarding == NULL)
    return TRUE;
  return folder_track_one (c, hi, (gpointer) regarding, error);
}

/* Tracks the noted arrivals of @store's tracked folders and drops the
 * notes it decided. A failure keeps the notes not yet decided (and those
 * decided in this call: the next cycle finds them tracked and drops
 * them). */
static gboolean
track_arrivals (Cycle *c, GHashTable *folders, GError **error)
{
  const char *store = c->engine->store;
  gsize skip = strlen (ARRIVAL_PREFIX) + strlen (store) + 1;
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (LiaCacheBatch) done = NULL;

  LiaEngineMail *mail = lia_engine_mail_of (c->engine);
  g_autoptr (GHashTable) early = NULL;

  /* What is noted from here on may be missed by the list: counted for one
   * more cycle. */
  g_atomic_int_set (&mail->arrivals, 0);
  g_mutex_lock (&mail->lock);
  if (g_hash_table_size (mail->early) > 0)
    early = g_steal_pointer (&mail->early);
  if (early != NULL)
    mail->early = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_unlock (&mail->lock);
  if (early != NULL)
    {
      g_autoptr (LiaCacheBatch) noted = lia_cache_batch_new ();
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, early);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          g_autofree char *wkey = g_strdup_printf (ARRIVAL_PREFIX "%s\t%s", store, (const char *) k);
          lia_cache_batch_set_watermark (noted, wkey, v);
        }
      if (!lia_cache_apply (c->cache, noted, error))
        return FALSE;
    }
  keys = list_arrivals (c->cache, store, error);
  if (keys == NULL)
    return FALSE;
  if (keys->len == 0)
    return TRUE;
  g_debug ("email phase: %u arrivals noted", keys->len / 2);
  done = lia_cache_batch_new ();
  for (guint i = 0; i + 1 < keys->len; i += 2)
    {
      const char *key = keys->pdata[i];
      g_autofree char *noted_in = folder_key (store, keys->pdata[i + 1]);

      /* Noted before the tracked folders were read (start-up), in a folder
       * that is not tracked: nothing to read. A later move into a tracked
       * folder notes the message again. */
      if (g_hash_table_contains (folders, noted_in) && !track_arrival (c, folders, key + skip, error))
        return FALSE;
      lia_cache_batch_set_watermark (done, key, NULL);
    }
  return lia_cache_apply (c->cache, done, error);
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

  if (!track_arrivals (c, folders, error))
    return FALSE;
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
