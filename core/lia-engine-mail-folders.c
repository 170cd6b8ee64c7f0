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

/* Watermark "mail-folder-known:store/folder": when the messages a tracked
 * folder held were listed (see "Known messages" below); absent: not yet
 * since it was marked. */
#define KNOWN_PREFIX "mail-folder-known:"

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
  gboolean was_tracked;

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
  was_tracked = g_hash_table_contains (mail->folders, key);
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
  if (tracked != was_tracked)
    {
      /* What the folder held is forgotten: once marked, the next folder
       * phase lists it (see "Known messages" below). A new regarding for a
       * tracked folder keeps it. */
      g_autoptr (LiaCacheBatch) forget = lia_cache_batch_new ();
      g_autofree char *kkey = g_strdup_printf (KNOWN_PREFIX "%s", key);

      lia_cache_batch_drop_known (forget, key);
      lia_cache_batch_set_watermark (forget, kkey, NULL);
      if (!lia_cache_apply (cache, forget, error))
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

/* Known messages ----------------------------------------------------------
 *
 * R-MAIL-FOLDER tracks mail "moved or filtered into" a tracked folder, not
 * the mail it held when the user marked it. A host may announce every
 * message of a folder again as new: Camel does when it rebuilds a local
 * folder's summary, and an IMAP UIDVALIDITY change gives every message a
 * new id. Noted as arrivals, they would all be tracked: possibly thousands
 * of private messages pushed to CRM. So each tracked folder keeps a set of
 * the messages known in it (cache table mail_folder_known):
 *
 *  - listed once per mark, by the first folder phase after it: every
 *    message the folder holds then (read in pages of KNOWN_PAGE, one host
 *    round trip each), except those with a pending arrival note (they
 *    arrived after the mark and are decided by the notes);
 *  - then every message the phase decides (tracked, or left alone: linked,
 *    untracked by the user, a draft) is added;
 *  - a noted or scanned message whose key is in the set is not tracked:
 *    it was there before (a debug line says so);
 *  - unmarking drops the set.
 *
 * The key of a message: the first 64 bits of the SHA-256 of its canonical
 * Message-ID (the same bytes whatever id the host gives it), or, for a
 * message without one, of its date, sender and subject. A message with
 * neither a Message-ID nor a date has no key and is never skipped.
 * Consequences: a copy of a message already in the folder (same
 * Message-ID) moved in is not tracked, nor is a message that was in the
 * folder, moved out and moved back. */

#define KNOWN_PAGE 256

static gboolean
message_key (const LiaItem *item, gint64 *out_key)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *id = lia_mail_canonical_message_id (lia_item_get_text (item, "message-id"));
  guint8 digest[32];
  gsize len = sizeof digest;
  guint64 key = 0;

  if (id != NULL)
    {
      g_checksum_update (sum, (const guchar *) "message-id\n", -1);
      g_checksum_update (sum, (const guchar *) id, -1);
    }
  else
    {
      LiaValue *date = lia_item_get (item, "date");
      LiaValue *from = lia_item_get (item, "from");
      const char *subject = lia_item_get_text (item, "subject");
      g_autofree char *who = from != NULL ? lia_value_to_display (from) : NULL;
      g_autofree char *text = NULL;

      if (date == NULL || lia_value_get_kind (date) != LIA_VALUE_DATETIME)
        return FALSE;
      text = g_strdup_printf ("headers\n%" G_GINT64_FORMAT "\n%s\n%s", lia_value_get_instant (date),
                              who != NULL ? who : "", subject != NULL ? subject : "");
      g_checksum_update (sum, (const guchar *) text, -1);
    }
  g_checksum_get_digest (sum, digest, &len);
  for (guint i = 0; i < 8; i++)
    key = (key << 8) | digest[i];
  *out_key = (gint64) key;
  return TRUE;
}

/* Whether @hi was known in @fkey ("store/folder") before; otherwise adds
 * its key to @known (applied by the caller). */
static gboolean
was_known (Cycle *c, const char *fkey, const LiaHostItem *hi, LiaCacheBatch *known, gboolean *out_known,
           GError **error)
{
  gint64 key = 0;

  *out_known = FALSE;
  if (!message_key (hi->item, &key))
    return TRUE;
  if (!lia_cache_is_known (c->cache, fkey, key, out_known, error))
    return FALSE;
  if (*out_known)
    g_debug ("R-MAIL-FOLDER: message %s was in \"%s\" before it was announced again: not tracked",
             hi->item_id, hi->folder);
  else
    lia_cache_batch_add_known (known, fkey, key);
  return TRUE;
}

/* Lists what @folder (@fkey: "store/folder") holds, once per mark. */
static gboolean
list_known (Cycle *c, const char *fkey, const char *folder, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *kkey = g_strdup_printf (KNOWN_PREFIX "%s", fkey);
  g_autofree char *listed = lia_cache_dup_watermark (c->cache, kkey, NULL);
  g_autofree char *stamp = g_strdup_printf ("%" G_GINT64_FORMAT, c->started_at);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GPtrArray) key_ids = g_ptr_array_new ();
  g_autoptr (GPtrArray) notes = NULL;
  g_autoptr (GHashTable) noted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (LiaCacheBatch) batch = NULL;
  gsize skip = strlen (ARRIVAL_PREFIX) + strlen (self->store) + 1;
  gint64 t0 = g_get_monotonic_time ();
  gboolean done = FALSE;

  if (listed != NULL)
    return TRUE;
  for (guint offset = 0; !done; offset += LIA_ENGINE_SCAN_PAGE)
    {
      g_autoptr (GPtrArray) rows = lia_host_call_read_contents (&self->link, self->store, folder, offset,
                                                                LIA_ENGINE_SCAN_PAGE, c->cancellable, error);
      if (rows == NULL)
        return FALSE;
      done = rows->len < LIA_ENGINE_SCAN_PAGE;
      for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add (ids, g_strdup (((const LiaHostRow *) rows->pdata[i])->item_id));
    }
  for (guint at = 0; at < ids->len; at += KNOWN_PAGE)
    {
      guint n = MIN (KNOWN_PAGE, ids->len - at);
      LiaHostItem **items = lia_engine_mail_read_many (c, (const char *const *) ids->pdata + at, n, error);

      if (items == NULL)
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          gint64 key = 0;

          if (items[i] != NULL && lia_item_get_entity (items[i]->item) == LIA_ENTITY_EMAIL
              && message_key (items[i]->item, &key))
            {
              g_array_append_val (keys, key);
              g_ptr_array_add (key_ids, ids->pdata[at + i]);
            }
          g_clear_pointer (&items[i], lia_host_item_free);
        }
      g_free (items);
    }
  /* Listed after the reads, so a message that arrived while they ran has
   * its note by now: it is decided by the note, not taken as known. */
  notes = list_arrivals (c->cache, self->store, error);
  if (notes == NULL)
    return FALSE;
  for (guint i = 0; i + 1 < notes->len; i += 2)
    g_hash_table_add (noted, (char *) notes->pdata[i] + skip);
  batch = lia_cache_batch_new ();
  lia_cache_batch_drop_known (batch, fkey);
  for (guint i = 0; i < keys->len; i++)
    if (!g_hash_table_contains (noted, key_ids->pdata[i]))
      lia_cache_batch_add_known (batch, fkey, g_array_index (keys, gint64, i));
  lia_cache_batch_set_watermark (batch, kkey, stamp);
  /* Unmarked meanwhile: nothing to keep (marked again, it is listed
   * again). */
  if (!lia_engine_mail_folder_is_tracked (self, self->store, folder))
    return TRUE;
  if (!lia_cache_apply (c->cache, batch, error))
    return FALSE;
  g_debug ("R-MAIL-FOLDER: \"%s\" holds %u messages, %u known, listed in %" G_GINT64_FORMAT " ms", folder,
           ids->len, keys->len, (g_get_monotonic_time () - t0) / 1000);
  return TRUE;
}

/* Tracks one noted arrival if it is still an untracked email in a tracked
 * folder (where it is now: it may have moved on), and was not known there
 * before; otherwise leaves it. The key of a message it decided goes to
 * @known. */
static gboolean
track_arrival (Cycle *c, GHashTable *folders, const char *item_id, LiaCacheBatch *known, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GError) local = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autofree char *key = NULL;
  const char *regarding;
  gboolean before = FALSE;

  hi = lia_host_call_read_item (&self->link, self->store, item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      /* Gone, or not mail the host can read (a malformed message): its
       * note goes, the other notes are decided. */
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND)
          || g_error_matches (local, LIA_ERROR, LIA_ERROR_INVALID))
        {
          g_debug ("R-MAIL-FOLDER: arrival %s not read: %s", item_id, local->message);
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (hi->folder == NULL || lia_item_get_entity (hi->item) != LIA_ENTITY_EMAIL)
    return TRUE;
  key = folder_key (self->store, hi->folder);
  regarding = g_hash_table_lookup (folders, key);
  if (regarding == NULL)
    return TRUE;
  /* Announced again (a rebuilt summary, new ids): not an arrival. */
  if (!was_known (c, key, hi, known, &before, error))
    return FALSE;
  if (before)
    return TRUE;
  /* Already linked, untracked by the user, or a draft: left alone. */
  m = lia_cache_lookup_item (c->cache, self->store, item_id, NULL);
  if (m != NULL || lia_engine_mail_was_untracked (c->cache, self->store, item_id)
      || hi->props.link_state != LIA_LINK_STATE_NONE || hi->is_draft)
    return TRUE;
  return folder_track_one (c, hi, (gpointer) regarding, error);
}

/* Writes down the arrivals noted before the cache opened. */
static gboolean
write_early (Cycle *c, GError **error)
{
  LiaEngineMail *mail = lia_engine_mail_of (c->engine);
  g_autoptr (GHashTable) early = NULL;
  g_autoptr (LiaCacheBatch) noted = NULL;
  GHashTableIter iter;
  gpointer k, v;

  g_mutex_lock (&mail->lock);
  if (g_hash_table_size (mail->early) > 0)
    early = g_steal_pointer (&mail->early);
  if (early != NULL)
    mail->early = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_unlock (&mail->lock);
  if (early == NULL)
    return TRUE;
  noted = lia_cache_batch_new ();
  g_hash_table_iter_init (&iter, early);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_autofree char *wkey = g_strdup_printf (ARRIVAL_PREFIX "%s\t%s", c->engine->store, (const char *) k);
      lia_cache_batch_set_watermark (noted, wkey, v);
    }
  return lia_cache_apply (c->cache, noted, error);
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
      if (g_hash_table_contains (folders, noted_in) && !track_arrival (c, folders, key + skip, done, error))
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

typedef struct
{
  const char *fkey;      /* "store/folder" */
  const char *regarding; /* "id\nname" or "" */
  LiaCacheBatch *known;  /* the keys of the messages decided */
} FolderScan;

/* The date scan's message: tracked unless known in the folder before. */
static gboolean
folder_scan_one (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error)
{
  FolderScan *f = data;
  gboolean before = FALSE;

  if (!was_known (c, f->fkey, hi, f->known, &before, error))
    return FALSE;
  return before || folder_track_one (c, hi, (gpointer) f->regarding, error);
}

/* Lists what each newly marked folder of this store holds (see "Known
 * messages"). The host and the cache only: the email phase runs it before
 * it asks the org for its settings, so a folder marked while the org is
 * unreachable is listed at the next cycle all the same, not once the org
 * is back (mail announced again meanwhile would be noted, and a noted
 * message is not taken as known). */
gboolean
lia_engine_mail_list_folders (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = lia_engine_mail_of (self);
  g_autofree char *prefix = g_strdup_printf ("%s/", self->store);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer k;

  g_mutex_lock (&mail->lock);
  lia_engine_mail_load_locked (mail, c->cache);
  g_hash_table_iter_init (&iter, mail->folders);
  while (g_hash_table_iter_next (&iter, &k, NULL))
    if (g_str_has_prefix (k, prefix))
      g_ptr_array_add (keys, g_strdup (k));
  g_mutex_unlock (&mail->lock);
  if (keys->len == 0)
    return TRUE;
  /* The notes made before the cache opened are not taken as known. */
  if (!write_early (c, error))
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = keys->pdata[i];

      if (!list_known (c, key, key + strlen (prefix), error))
        return FALSE;
    }
  return TRUE;
}

/* Tracks the new mail of every tracked folder of this store. @folders:
 * "store/folder" -> "id\nname" or "" (a copy taken under the lock). */
gboolean
lia_engine_mail_scan_folders (Cycle *c, GHashTable *folders, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = lia_engine_mail_of (self);
  g_autofree char *prefix = g_strdup_printf ("%s/", self->store);
  GHashTableIter iter;
  gpointer k, v;

  /* What is noted from here on may be missed by the list: counted for one
   * more cycle. */
  g_atomic_int_set (&mail->arrivals, 0);
  if (!write_early (c, error))
    return FALSE;
  /* What a folder held when it was marked, before any note is decided. */
  g_hash_table_iter_init (&iter, folders);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (g_str_has_prefix (k, prefix) && !list_known (c, k, (const char *) k + strlen (prefix), error))
      return FALSE;
  if (!track_arrivals (c, folders, error))
    return FALSE;
  g_hash_table_iter_init (&iter, folders);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_autofree char *wkey = g_strdup_printf ("mail-folder:%s", (const char *) k);
      g_autoptr (LiaCacheBatch) known = NULL;
      FolderScan f = { k, v, NULL };

      if (!g_str_has_prefix (k, prefix))
        continue;
      known = lia_cache_batch_new ();
      f.known = known;
      if (!lia_engine_mail_scan_new_mail (c, (const char *) k + strlen (prefix), wkey, folder_scan_one, &f,
                                          error)
          || !lia_cache_apply (c->cache, known, error))
        return FALSE;
    }
  return TRUE;
}
