/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-cache-private.h"
#include "lia-engine-private.h"
#include "lia-mail-correlate.h"

/* The email phases of a cycle (SPEC section 8), primary client only:
 *
 *   before upload: refresh the index of tracked messages, auto-track new
 *                  Inbox mail (R-MAIL-AUTO, R-MAIL-CORRELATE-*), track new
 *                  mail of tracked folders (R-MAIL-FOLDER), keep a pool of
 *                  tracking tokens (R-MAIL-CORRELATE-TOKEN);
 *   after download: the tagging poll (R-MAIL-TAGGING, R-SET-TAGGING).
 *
 * What it tracks goes through the change queue like a user's Track, so the
 * upload of the same cycle creates the CRM emails, and a kill in between
 * loses nothing (the queue is durable). Why a message was tracked is a
 * journal line of kind "auto-track" or "folder-track" on the item (rule ID,
 * earlier message), read back with lia_engine_mail_dup_reason().
 *
 * State: the index lives on the engine (worker only); tracked folders and
 * the token pool are also read on the host's thread, under the lock. Both
 * are persisted in cache settings, so a restart resumes them. */

#define TOKEN_POOL_LOW 8
#define TOKEN_POOL_FILL 32
#define TAGGING_PAGE 200

struct _LiaEngineMail
{
  LiaMailIndex *index; /* owned; worker only */
  GHashTable *indexed; /* owned; worker only: item id -> crm id (owned) */
  char *index_config;  /* owned; worker only: the settings the index was made for */
  GHashTable *org;     /* owned, nullable; worker only: the org settings the cycle read */
  GMutex lock;
  GHashTable *folders; /* owned, guarded by lock: "store/folder" -> "id\nname" or "" */
  GPtrArray *tokens;   /* owned, guarded by lock: unused tokens, oldest first */
  gboolean loaded;     /* guarded by lock: folders and tokens read from the cache */
  gint bulk_pending;   /* atomic: bulk batches not yet written */
};

void
lia_engine_mail_free (LiaEngineMail *mail)
{
  if (mail == NULL)
    return;
  g_clear_pointer (&mail->index, lia_mail_index_free);
  g_clear_pointer (&mail->indexed, g_hash_table_unref);
  g_free (mail->index_config);
  g_clear_pointer (&mail->org, g_hash_table_unref);
  g_clear_pointer (&mail->folders, g_hash_table_unref);
  g_clear_pointer (&mail->tokens, g_ptr_array_unref);
  g_mutex_clear (&mail->lock);
  g_free (mail);
}

LiaEngineMail *
lia_engine_mail_new (void)
{
  LiaEngineMail *mail = g_new0 (LiaEngineMail, 1);

  g_mutex_init (&mail->lock);
  mail->indexed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mail->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mail->tokens = g_ptr_array_new_with_free_func (g_free);
  return mail;
}

static char *
folder_key (const char *store, const char *folder)
{
  return g_strdup_printf ("%s/%s", store, folder);
}

/* Reads the tracked folders and the token pool from the cache once. */
static void
load_locked (LiaEngineMail *mail, LiaCache *cache)
{
  g_autofree char *folders = NULL;
  g_autofree char *tokens = NULL;

  if (mail->loaded || cache == NULL)
    return;
  mail->loaded = TRUE;
  folders = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_MAIL_FOLDERS, NULL);
  tokens = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_MAIL_TOKENS, NULL);
  if (folders != NULL)
    {
      /* Lines "store/folder\tregarding-id\tregarding-name". */
      g_auto (GStrv) lines = g_strsplit (folders, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_auto (GStrv) f = g_strsplit (lines[i], "\t", 3);
          if (g_strv_length (f) != 3 || *f[0] == '\0')
            continue;
          g_hash_table_replace (mail->folders, g_strdup (f[0]),
                                *f[1] != '\0' ? g_strdup_printf ("%s\n%s", f[1], f[2]) : g_strdup (""));
        }
    }
  if (tokens != NULL)
    {
      g_auto (GStrv) list = g_strsplit (tokens, " ", -1);
      for (guint i = 0; list[i] != NULL; i++)
        if (*list[i] != '\0')
          g_ptr_array_add (mail->tokens, g_strdup (list[i]));
    }
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

static LiaEngineMail *
mail_of (LiaEngine *engine)
{
  LiaEngineMail *mail;

  g_mutex_lock (&engine->lock);
  if (engine->mail == NULL)
    engine->mail = lia_engine_mail_new ();
  mail = engine->mail;
  g_mutex_unlock (&engine->lock);
  return mail;
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
  mail = mail_of (engine);
  key = folder_key (store, folder);
  g_mutex_lock (&mail->lock);
  load_locked (mail, cache);
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
  mail = mail_of (engine);
  key = folder_key (store, folder);
  g_mutex_lock (&mail->lock);
  /* No I/O on the caller's thread: before the first cycle (or marking)
   * read the folders, nothing is known to be tracked; that cycle's scans
   * find the mail anyway. */
  tracked = mail->loaded && g_hash_table_contains (mail->folders, key);
  g_mutex_unlock (&mail->lock);
  return tracked;
}

char *
lia_engine_mail_take_token (LiaEngine *engine)
{
  LiaEngineMail *mail;
  char *token = NULL;

  g_return_val_if_fail (engine != NULL, NULL);
  mail = mail_of (engine);
  g_mutex_lock (&mail->lock);
  load_locked (mail, lia_engine_get_cache (engine));
  if (mail->tokens->len > 0)
    token = g_ptr_array_steal_index (mail->tokens, 0);
  g_mutex_unlock (&mail->lock);
  return token;
}

/* The org's settings, read once per cycle (one round trip over http): the
 * phase before the upload reads them (@fresh) and keeps them, the phase
 * after the download of the same cycle takes them. (transfer full)
 * (nullable) with @error set when they cannot be read. */
static GHashTable *
org_settings (Cycle *c, LiaEngineMail *mail, gboolean fresh, GError **error)
{
  GHashTable *org;

  if (fresh || mail->org == NULL)
    {
      g_clear_pointer (&mail->org, g_hash_table_unref);
      mail->org = lia_crm_get_settings_sync (c->engine->crm, c->cancellable, error);
      if (mail->org == NULL)
        return NULL;
    }
  org = g_hash_table_ref (mail->org);
  if (!fresh)
    g_clear_pointer (&mail->org, g_hash_table_unref);
  return org;
}

/* Reasons ---------------------------------------------------------------- */

gboolean
lia_engine_mail_dup_reason (LiaCache *cache, const char *store, const char *item_id, char **out_kind,
                            char **out_rule, char **out_earlier, char **out_message, GError **error)
{
  /* mail_reason (cache schema 3) keeps the newest reason per item. */
  static const char sql[] =
      "SELECT kind, rule, earlier_message_id, message FROM mail_reason WHERE store = ?1 AND item_id = ?2";
  char **outs[] = { out_kind, out_rule, out_earlier, out_message };
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (cache != NULL && store != NULL && item_id != NULL, FALSE);
  g_mutex_lock (&cache->read_lock);
  rc = sqlite3_prepare_v2 (cache->read_db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, store, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, item_id, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (stmt);
    }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    {
      for (guint i = 0; i < G_N_ELEMENTS (outs); i++)
        if (outs[i] != NULL)
          *outs[i] = rc == SQLITE_ROW ? g_strdup ((const char *) sqlite3_column_text (stmt, (int) i)) : NULL;
    }
  else
    lia_sqlite_set_error (error, cache->read_db, rc, cache->path, "read");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&cache->read_lock);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Reading messages --------------------------------------------------------- */

/* The addresses of from, to and cc, NULL-terminated (borrowed strings). */
static GPtrArray *
addresses_of (const LiaItem *item)
{
  static const char *const fields[] = { "from", "to", "cc" };
  GPtrArray *out = g_ptr_array_new ();

  for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
    {
      LiaValue *list = lia_item_get (item, fields[f]);
      gsize n = list != NULL && lia_value_get_kind (list) == LIA_VALUE_PARTY_LIST
                    ? lia_value_get_n_parties (list)
                    : 0;
      /* Correlation needs a few addresses, not a 5,000-recipient list. */
      for (gsize i = 0; i < n && out->len < 64; i++)
        if (lia_value_get_party (list, i)->address != NULL)
          g_ptr_array_add (out, (gpointer) lia_value_get_party (list, i)->address);
    }
  g_ptr_array_add (out, NULL);
  return out;
}

static const char *
sender_of (const LiaItem *item)
{
  LiaValue *from = lia_item_get (item, "from");

  if (from == NULL || lia_value_get_kind (from) != LIA_VALUE_PARTY_LIST
      || lia_value_get_n_parties (from) == 0)
    return NULL;
  return lia_value_get_party (from, 0)->address;
}

/* Indexes a tracked message from its fields: the host item, or the CRM
 * view its original keeps. The regarding indexed may be stale (tagging
 * changes the host, not the original): a match reads the earlier message's
 * current regarding from the host (current_regarding()). */
static void
index_item (LiaEngineMail *mail, const LiaItem *item, const char *item_id, const char *crm_id)
{
  g_autoptr (GPtrArray) addrs = addresses_of (item);
  LiaValue *regarding = lia_item_get (item, "regarding");
  LiaMailTracked t = { 0 };

  t.message_id = lia_item_get_text (item, "message-id");
  t.item_id = item_id;
  t.crm_id = crm_id;
  t.subject = lia_item_get_text (item, "subject");
  t.addresses = (const char *const *) addrs->pdata;
  t.regarding = regarding != NULL && lia_value_get_kind (regarding) == LIA_VALUE_REFERENCE ? regarding : NULL;
  lia_mail_index_add (mail->index, &t);
  g_hash_table_replace (mail->indexed, g_strdup (item_id), g_strdup (crm_id));
}

/* Settings --------------------------------------------------------------- */

typedef struct
{
  LiaMailCorrelateConfig config;
  char *prefix;
  LiaMailAutoTrack option;
  gboolean tagging;
} MailSettings;

static void
mail_settings_clear (MailSettings *s)
{
  g_free (s->prefix);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MailSettings, mail_settings_clear)

static void
read_settings (Cycle *c, GHashTable *org, MailSettings *out)
{
  g_autofree char *option = lia_cache_dup_setting (c->cache, LIA_ENGINE_SETTING_AUTO_TRACK, NULL);
  g_autofree char *tagging = lia_cache_dup_setting (c->cache, LIA_ENGINE_SETTING_TAGGING, NULL);
  const char *digits = org != NULL ? g_hash_table_lookup (org, "tracking-token-digits") : NULL;
  const char *min = org != NULL ? g_hash_table_lookup (org, "smart-matching-min-addresses") : NULL;
  guint64 n = 0;

  out->prefix = g_strdup (org != NULL && g_hash_table_lookup (org, "tracking-token-prefix") != NULL
                              ? g_hash_table_lookup (org, "tracking-token-prefix")
                              : "CRM:");
  out->config.token_prefix = out->prefix;
  out->config.token_digits =
      digits != NULL && g_ascii_string_to_unsigned (digits, 10, 1, 18, &n, NULL) ? n : 7;
  out->config.smart_min_overlap =
      min != NULL && g_ascii_string_to_unsigned (min, 10, 1, 64, &n, NULL) ? n : 2;
  out->config.token_enabled =
      org == NULL || g_strcmp0 (g_hash_table_lookup (org, "tracking-token-enabled"), "false") != 0;
  out->config.smart_enabled =
      org == NULL || g_strcmp0 (g_hash_table_lookup (org, "smart-matching-enabled"), "false") != 0;
  /* R-SET-AUTOTRACK: the default is "email in response to tracked email". */
  if (option == NULL || !lia_mail_auto_track_from_string (option, &out->option, NULL))
    out->option = LIA_MAIL_AUTO_DEFAULT;
  /* R-SET-TAGGING: on unless the user turned it off; the org overrides. */
  out->tagging = lia_mail_tagging_enabled (org != NULL ? g_hash_table_lookup (org, "tagging-override") : NULL,
                                           g_strcmp0 (tagging, "off") != 0);
}

/* The tracked emails of @store, through the mapping's entity index (cache
 * schema 4): the cost follows the tracked mail, not the contacts beside it.
 * (element-type LiaCacheMapping) with store, item id and CRM id set. */
static GPtrArray *
tracked_emails (LiaCache *cache, const char *store, GError **error)
{
  static const char sql[] = "SELECT folder, item_id, crm_id FROM id_mapping"
                            " WHERE store = ?1 AND entity = ?2 AND link_state = 2";
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_cache_mapping_free);
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_mutex_lock (&cache->read_lock);
  rc = sqlite3_prepare_v2 (cache->read_db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, store, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (stmt, 2, LIA_ENTITY_EMAIL);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (out, lia_cache_mapping_new (store, (const char *) sqlite3_column_text (stmt, 0),
                                                     (const char *) sqlite3_column_text (stmt, 1),
                                                     LIA_ENTITY_EMAIL,
                                                     (const char *) sqlite3_column_text (stmt, 2),
                                                     LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL));
    }
  if (rc != SQLITE_DONE)
    lia_sqlite_set_error (error, cache->read_db, rc, cache->path, "read");
  sqlite3_finalize (stmt);
  g_mutex_unlock (&cache->read_lock);
  return rc == SQLITE_DONE ? g_steal_pointer (&out) : NULL;
}

/* Brings the index in line with the cache's tracked emails. */
static gboolean
refresh_index (Cycle *c, LiaEngineMail *mail, const MailSettings *s, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *config =
      g_strdup_printf ("%s/%u/%u/%d/%d", s->prefix, s->config.token_digits, s->config.smart_min_overlap,
                       s->config.token_enabled, s->config.smart_enabled);
  g_autoptr (GPtrArray) mappings = NULL;
  g_autoptr (GHashTable) live = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  if (mail->index == NULL || g_strcmp0 (config, mail->index_config) != 0)
    {
      g_clear_pointer (&mail->index, lia_mail_index_free);
      mail->index = lia_mail_index_new (&s->config);
      g_hash_table_remove_all (mail->indexed);
      g_free (mail->index_config);
      mail->index_config = g_steal_pointer (&config);
    }
  mappings = tracked_emails (c->cache, self->store, error);
  if (mappings == NULL)
    return FALSE;
  for (guint i = 0; i < mappings->len; i++)
    {
      const LiaCacheMapping *m = mappings->pdata[i];
      g_autoptr (LiaHostItem) hi = NULL;
      g_autoptr (GError) local = NULL;

      g_hash_table_add (live, m->item_id);
      if (g_hash_table_contains (mail->indexed, m->item_id))
        continue;
      /* The original holds what correlation needs (Message-ID, subject,
       * addresses): no host read, which for Camel is a message parse. */
      {
        g_autoptr (LiaCacheOriginal) orig = lia_cache_load_original (c->cache, self->store, m->item_id, NULL);
        g_autoptr (LiaItem) view = orig != NULL && orig->xml != NULL ? lia_engine_decode (orig->xml) : NULL;
        if (view != NULL && lia_item_get_entity (view) == LIA_ENTITY_EMAIL)
          {
            index_item (mail, view, m->item_id, m->crm_id);
            continue;
          }
      }
      hi = lia_host_call_read_item (&self->link, self->store, m->item_id, c->cancellable, &local);
      if (hi == NULL)
        {
          if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      index_item (mail, hi->item, hi->item_id, m->crm_id);
    }
  g_hash_table_iter_init (&iter, mail->indexed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (live, key))
      g_ptr_array_add (gone, key);
  for (guint i = 0; i < gone->len; i++)
    {
      lia_mail_index_remove_item (mail->index, gone->pdata[i]);
      g_hash_table_remove (mail->indexed, gone->pdata[i]);
    }
  return TRUE;
}

/* Marks @hi tracked at once (the UI shows it) and queues its Track with the
 * regarding; the journal says why. */
static gboolean
track_now (Cycle *c, const LiaHostItem *hi, const char *regarding_id, const char *regarding_name,
           const char *kind, const char *why, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheChange) change = lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_TRACK,
                                                            hi->store, hi->item_id, LIA_ENTITY_EMAIL, NULL);
  g_auto (LiaHostProps) props = { 0 };

  change->folder = g_strdup (hi->folder);
  if (regarding_id != NULL)
    {
      g_autofree char *text =
          g_strdup_printf ("%s\n%s", regarding_id, regarding_name != NULL ? regarding_name : "");
      change->payload = g_bytes_new (text, strlen (text));
    }
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  if (!lia_host_call_write_item (&self->link, hi->store, hi->item_id, NULL, &props, c->cancellable, error)
      || !lia_cache_enqueue (c->cache, change, NULL, error))
    return FALSE;
  lia_engine_journal (c, kind, hi->item_id, NULL, why);
  return TRUE;
}

/* Whether the user untracked @item_id at some point: automatic tracking
 * never undoes that (the untrack's own property write makes the message
 * look new to the scans below). */
static gboolean
was_untracked (LiaCache *cache, const char *store, const char *item_id)
{
  static const char sql[] =
      "SELECT 1 FROM journal WHERE store = ?1 AND item_id = ?2 AND kind = 'untrack' LIMIT 1";
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  g_mutex_lock (&cache->read_lock);
  if (sqlite3_prepare_v2 (cache->read_db, sql, -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, store, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, item_id, -1, SQLITE_TRANSIENT);
      found = sqlite3_step (stmt) == SQLITE_ROW;
    }
  sqlite3_finalize (stmt);
  g_mutex_unlock (&cache->read_lock);
  return found;
}

typedef gboolean (*RowFunc) (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error);

/* Calls @func for every untracked message of @folder modified since the
 * watermark @wkey (absent: none; the watermark starts now), newest first;
 * then moves the watermark to this cycle's start. */
static gboolean
scan_new_mail (Cycle *c, const char *folder, const char *wkey, RowFunc func, gpointer data, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *mark = lia_cache_dup_watermark (c->cache, wkey, NULL);
  g_autofree char *next = g_strdup_printf ("%" G_GINT64_FORMAT, c->started_at);
  gint64 watermark = 0;
  gboolean done = FALSE;

  if (mark != NULL && g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &watermark, NULL))
    {
      for (guint offset = 0; !done; offset += LIA_ENGINE_SCAN_PAGE)
        {
          g_autoptr (GPtrArray) rows = lia_host_call_read_contents (
              &self->link, self->store, folder, offset, LIA_ENGINE_SCAN_PAGE, c->cancellable, error);
          if (rows == NULL)
            return FALSE;
          done = rows->len < LIA_ENGINE_SCAN_PAGE;
          for (guint i = 0; i < rows->len; i++)
            {
              const LiaHostRow *row = rows->pdata[i];
              g_autoptr (LiaCacheMapping) m = NULL;
              g_autoptr (LiaHostItem) hi = NULL;
              g_autoptr (GError) local = NULL;

              if (row->modified_at < watermark)
                {
                  done = TRUE;
                  break;
                }
              if (row->link_state != LIA_LINK_STATE_NONE)
                continue;
              m = lia_cache_lookup_item (c->cache, self->store, row->item_id, NULL);
              if (m != NULL || was_untracked (c->cache, self->store, row->item_id))
                continue;
              hi = lia_host_call_read_item (&self->link, self->store, row->item_id, c->cancellable, &local);
              if (hi == NULL)
                {
                  if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
                    continue;
                  g_propagate_error (error, g_steal_pointer (&local));
                  return FALSE;
                }
              if (hi->is_draft || lia_item_get_entity (hi->item) != LIA_ENTITY_EMAIL)
                continue;
              if (!func (c, hi, data, error))
                return FALSE;
            }
        }
    }
  return lia_cache_set_watermark (c->cache, wkey, next, error);
}

typedef struct
{
  LiaEngineMail *mail;
  const MailSettings *settings;
} AutoData;

/* The regarding the earlier message shows now (a Set Regarding or tagging
 * since it was indexed); *@inout kept when it is gone. */
static gboolean
current_regarding (Cycle *c, const char *item_id, LiaValue **inout, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (LiaHostItem) hi =
      lia_host_call_read_item (&c->engine->link, c->engine->store, item_id, c->cancellable, &local);
  LiaValue *regarding;

  if (hi == NULL)
    {
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  regarding = lia_item_get (hi->item, "regarding");
  g_clear_pointer (inout, lia_value_unref);
  if (regarding != NULL && lia_value_get_kind (regarding) == LIA_VALUE_REFERENCE)
    *inout = lia_value_ref (regarding);
  else if (hi->props.regarding_id != NULL)
    *inout = lia_value_new_reference (LIA_ENTITY_ACCOUNT, hi->props.regarding_id, hi->props.regarding_name);
  return TRUE;
}

static gboolean
auto_track_one (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error)
{
  AutoData *a = data;
  g_autoptr (GPtrArray) addrs = addresses_of (hi->item);
  g_auto (LiaMailMatch) match = { 0 };
  LiaMailSenderKind sender = LIA_MAIL_SENDER_UNKNOWN;
  LiaMailIncoming in = { 0 };
  g_autofree char *why = NULL;

  in.message_id = lia_item_get_text (hi->item, "message-id");
  in.in_reply_to = lia_item_get_text (hi->item, "in-reply-to");
  in.references = lia_item_get_text (hi->item, "references");
  in.subject = lia_item_get_text (hi->item, "subject");
  in.addresses = (const char *const *) addrs->pdata;
  in.inbox = TRUE;
  /* The sender rules need CRM: ask only when correlation did not decide. */
  if ((a->settings->option == LIA_MAIL_AUTO_CRM_CONTACTS
       || a->settings->option == LIA_MAIL_AUTO_EMAIL_ENABLED)
      && !lia_mail_index_correlate (a->mail->index, &in, &match) && sender_of (hi->item) != NULL)
    {
      const char *one[] = { sender_of (hi->item), NULL };
      g_autoptr (GError) local = NULL;
      g_autoptr (GPtrArray) found = lia_crm_resolve_sync (c->engine->crm, one, c->cancellable, &local);
      /* Unresolved is "not from CRM", unless the org is unreachable. */
      if (found == NULL
          && (lia_engine_is_network_error (local)
              || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      for (guint i = 0; found != NULL && i < found->len; i++)
        {
          const LiaCrmMatch *f = found->pdata[i];
          if (f->entity == LIA_ENTITY_CONTACT || f->entity == LIA_ENTITY_LEAD
              || f->entity == LIA_ENTITY_ACCOUNT)
            sender = LIA_MAIL_SENDER_CONTACT;
          else if (sender == LIA_MAIL_SENDER_UNKNOWN)
            sender = LIA_MAIL_SENDER_OTHER;
        }
    }
  lia_mail_match_clear (&match);
  if (!lia_mail_auto_decide (a->mail->index, a->settings->option, &in, sender, &match))
    return TRUE;
  if (match.earlier_item_id != NULL && !current_regarding (c, match.earlier_item_id, &match.regarding, error))
    return FALSE;
  why = lia_mail_match_describe (&match);
  return track_now (c, hi, match.regarding != NULL ? lia_value_get_reference_id (match.regarding) : NULL,
                    match.regarding != NULL ? lia_value_get_reference_name (match.regarding) : NULL,
                    "auto-track", why, error);
}

static gboolean
folder_track_one (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error)
{
  const char *regarding = data;
  const char *nl = strchr (regarding, '\n');
  g_autofree char *id = nl != NULL ? g_strndup (regarding, (gsize) (nl - regarding)) : NULL;
  g_autofree char *why = g_strdup_printf ("R-MAIL-FOLDER: arrived in tracked folder \"%s\"", hi->folder);

  return track_now (c, hi, id, nl != NULL ? nl + 1 : NULL, "folder-track", why, error);
}

static gboolean
refill_tokens (Cycle *c, LiaEngineMail *mail, const MailSettings *s, GError **error)
{
  g_auto (GStrv) fresh = NULL;
  g_autofree char *setting = NULL;
  g_autoptr (GError) local = NULL;
  guint have;

  if (!s->config.token_enabled)
    return TRUE;
  g_mutex_lock (&mail->lock);
  have = mail->tokens->len;
  g_mutex_unlock (&mail->lock);
  if (have >= TOKEN_POOL_LOW)
    return TRUE;
  fresh = lia_crm_allocate_tokens_sync (c->engine->crm, TOKEN_POOL_FILL, c->cancellable, &local);
  if (fresh == NULL)
    {
      /* An unapproved user (R-MAIL-APPROVED), an older org or the org
       * gone since: no tokens now, and mail still goes out; the upload
       * says whether the org is reachable. */
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_debug ("email phase: no tracking tokens: %s", local->message);
      return TRUE;
    }
  g_mutex_lock (&mail->lock);
  for (guint i = 0; fresh[i] != NULL; i++)
    g_ptr_array_add (mail->tokens, g_strdup (fresh[i]));
  g_ptr_array_add (mail->tokens, NULL);
  setting = g_strjoinv (" ", (char **) mail->tokens->pdata);
  g_ptr_array_remove_index (mail->tokens, mail->tokens->len - 1);
  g_mutex_unlock (&mail->lock);
  return lia_cache_set_setting (c->cache, LIA_ENGINE_SETTING_MAIL_TOKENS, setting, error);
}

/* The many-messages path of the upload (R-MAIL-BULK): queued Tracks of
 * email without a regarding do what the upload's track does (create with a
 * request id, mark manual, link the host message), but each page of them
 * writes the cache once (mappings, originals, journal, completions) instead
 * of four commits per message. Anything else in a page is released to the
 * upload, which follows in the same cycle. */
#define BULK_PAGE 256

/* Many host calls of one kind in one round trip to the host's main
 * context: the worker posts them all and waits once, instead of once per
 * message. Reference counted like lia-host-call.c's calls: a cancelled
 * worker may leave while the host still holds callbacks. */
typedef struct
{
  LiaHostLink link; /* borrowed pointers */
  gboolean write;
  char *store;         /* owned */
  GPtrArray *ids;      /* owned: char * */
  LiaHostProps *props; /* owned, writes: one per id */
  LiaHostItem **items; /* owned, reads: one per id, NULL on failure */
  GError **errors;     /* owned: one per id */
  GMutex lock;
  GCond cond;
  guint pending; /* guarded by lock */
} Many;

typedef struct
{
  Many *many; /* owned ref */
  guint index;
} ManyOne;

static void
many_clear (gpointer data)
{
  Many *m = data;

  for (guint i = 0; i < m->ids->len; i++)
    {
      if (m->props != NULL)
        lia_host_props_clear (&m->props[i]);
      if (m->items != NULL)
        g_clear_pointer (&m->items[i], lia_host_item_free);
      g_clear_error (&m->errors[i]);
    }
  g_free (m->props);
  g_free (m->items);
  g_free (m->errors);
  g_ptr_array_unref (m->ids);
  g_free (m->store);
  g_mutex_clear (&m->lock);
  g_cond_clear (&m->cond);
}

static void
many_unref (Many *m)
{
  g_atomic_rc_box_release_full (m, many_clear);
}

static void
many_one_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ManyOne *one = user_data;
  Many *m = one->many;
  GError *error = NULL;

  if (m->write)
    m->link.vtable->write_item_finish (m->link.host, res, &error);
  else
    {
      LiaHostItem *item = m->link.vtable->read_item_finish (m->link.host, res, &error);
      g_mutex_lock (&m->lock);
      m->items[one->index] = item;
      g_mutex_unlock (&m->lock);
    }
  g_mutex_lock (&m->lock);
  m->errors[one->index] = error;
  if (--m->pending == 0)
    g_cond_signal (&m->cond);
  g_mutex_unlock (&m->lock);
  many_unref (m);
  g_free (one);
}

static gboolean
many_start (gpointer data)
{
  Many *m = data;

  for (guint i = 0; i < m->ids->len; i++)
    {
      ManyOne *one = g_new0 (ManyOne, 1);
      one->many = g_atomic_rc_box_acquire (m);
      one->index = i;
      if (m->write)
        m->link.vtable->write_item (m->link.host, m->store, m->ids->pdata[i], NULL, &m->props[i], NULL,
                                    many_one_done, one);
      else
        m->link.vtable->read_item (m->link.host, m->store, m->ids->pdata[i], NULL, many_one_done, one);
    }
  return G_SOURCE_REMOVE;
}

/* Starts the calls on the host's context; many_wait() waits for them. */
static void
many_begin (Many *m)
{
  m->pending = m->ids->len;
  if (m->pending == 0)
    return;
  g_main_context_invoke_full (m->link.context, G_PRIORITY_DEFAULT, many_start, g_atomic_rc_box_acquire (m),
                              (GDestroyNotify) many_unref);
}

/* Waits for every call many_begin() started; FALSE when cancelled. */
static gboolean
many_wait (Many *m, GCancellable *cancellable, GError **error)
{
  gboolean done;

  g_mutex_lock (&m->lock);
  while (m->pending > 0 && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&m->cond, &m->lock, g_get_monotonic_time () + 100 * 1000);
  done = m->pending == 0;
  g_mutex_unlock (&m->lock);
  if (!done)
    g_cancellable_set_error_if_cancelled (cancellable, error);
  return done;
}

static Many *
many_new (LiaEngine *engine, const char *store, gboolean write)
{
  Many *m = g_atomic_rc_box_new0 (Many);

  m->link = engine->link;
  m->write = write;
  m->store = g_strdup (store);
  m->ids = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&m->lock);
  g_cond_init (&m->cond);
  return m;
}

typedef struct
{
  const LiaCacheChange *change; /* borrowed from the claimed page */
  LiaHostItem *hi;              /* owned */
  LiaCrmRecord *made;           /* owned */
  char *xml;                    /* owned */
} BulkItem;

static void
bulk_item_clear (BulkItem *b)
{
  g_clear_pointer (&b->hi, lia_host_item_free);
  g_clear_pointer (&b->made, lia_crm_record_free);
  g_clear_pointer (&b->xml, g_free);
}

static gboolean
bulk_selectable (Cycle *c, const LiaCacheChange *change)
{
  g_autoptr (LiaCacheMapping) m = NULL;

  if (change->entity != LIA_ENTITY_EMAIL || change->item_id == NULL || change->payload != NULL
      || (change->op != LIA_CHANGE_OP_TRACK && change->op != LIA_CHANGE_OP_CREATE))
    return FALSE;
  m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  return m == NULL || m->state != LIA_LINK_STATE_TRACKED;
}

/* One message's CRM work: create (with the upload's request id, so a
 * retry on either path finds this create) and mark manual. */
static gboolean
bulk_one (Cycle *c, BulkItem *b, GError **error)
{
  LiaEngine *self = c->engine;
  const LiaCacheChange *change = b->change;
  g_autoptr (LiaItem) created = NULL;
  g_autoptr (LiaCrmRecord) record = NULL;
  g_autoptr (LiaItem) made_view = NULL;
  g_autofree char *request_id = NULL;

  {
    g_autoptr (LiaFieldPolicy) policy = lia_engine_item_policy (c, LIA_ENTITY_EMAIL, b->hi->item, NULL);
    created = lia_merge_dup_created (policy, b->hi->item, LIA_SIDE_CRM);
  }
  record = lia_crm_record_new_for_item (created);
  request_id = g_strdup_printf ("%s/%s/%s", c->sub, change->store, change->item_id);
  b->made = lia_crm_create_sync (self->crm, record, request_id, c->cancellable, error);
  if (b->made == NULL)
    return FALSE;
  if (!lia_crm_track_sync (self->crm, c->sub, LIA_ENTITY_EMAIL, lia_crm_record_get_id (b->made), TRUE,
                           c->cancellable, error))
    {
      /* Only linked messages count as made: the retry finds the create. */
      g_clear_pointer (&b->made, lia_crm_record_free);
      return FALSE;
    }
  made_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (b->made));
  b->xml = lia_engine_encode (made_view);
  return TRUE;
}

/* One page: read every message in one host round trip, create them in CRM,
 * link them on the host in one round trip, then one cache transaction:
 * host first, cache second, as the upload does (a crash in between leaves
 * messages carrying their CRM id, which the scanner relinks).
 *
 * Pages run as a two-stage pipeline (bulk_upload): while the host links
 * page k and saves its folder (Camel's summary save, in its workers), the
 * cycle reads page k + 1 and creates its CRM emails. Each page's cache
 * transaction still waits for that page's host links. */
typedef struct
{
  GPtrArray *page;         /* owned: the claimed changes */
  GArray *items;           /* owned: BulkItem */
  Many *reads;             /* owned */
  Many *writes;            /* owned */
  GError *stop;            /* owned, nullable: the network failure that stopped the page */
  gboolean all;            /* every claimed change was a bulk track */
  gint64 waited_read, crm; /* the cycle's time in each stage, for the debug line */
  Cycle *cycle;            /* borrowed: for the finisher */
  GThread *finisher;       /* owned, nullable: runs bulk_page_finish() */
  gboolean finish_ok;      /* set by the finisher */
  GError *finish_error;    /* owned, set by the finisher */
  guint uploaded;          /* set by the finisher: messages linked */
} BulkPage;

static void
bulk_page_free (BulkPage *bp)
{
  if (bp == NULL)
    return;
  g_ptr_array_unref (bp->page);
  g_array_unref (bp->items);
  many_unref (bp->reads);
  many_unref (bp->writes);
  g_clear_error (&bp->stop);
  g_clear_error (&bp->finish_error);
  g_free (bp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BulkPage, bulk_page_free)

/* Selects the page's bulk tracks and starts reading them on the host. */
static BulkPage *
bulk_page_begin (Cycle *c, GPtrArray *page)
{
  LiaEngine *self = c->engine;
  BulkPage *bp = g_new0 (BulkPage, 1);

  bp->page = g_ptr_array_ref (page);
  bp->items = g_array_new (FALSE, TRUE, sizeof (BulkItem));
  g_array_set_clear_func (bp->items, (GDestroyNotify) bulk_item_clear);
  bp->reads = many_new (self, self->store, FALSE);
  bp->writes = many_new (self, self->store, TRUE);
  bp->all = TRUE;
  for (guint i = 0; i < page->len; i++)
    {
      const LiaCacheChange *change = page->pdata[i];
      BulkItem b = { change };
      if (!bulk_selectable (c, change))
        {
          bp->all = FALSE;
          continue;
        }
      g_array_append_val (bp->items, b);
      g_ptr_array_add (bp->reads->ids, g_strdup (change->item_id));
    }
  bp->reads->items = g_new0 (LiaHostItem *, bp->reads->ids->len);
  bp->reads->errors = g_new0 (GError *, bp->reads->ids->len);
  many_begin (bp->reads);
  return bp;
}

/* Waits for the page's reads, creates its CRM emails, and starts linking
 * the made ones on the host. */
static gboolean
bulk_page_crm (Cycle *c, BulkPage *bp, GError **error)
{
  LiaEngine *self = c->engine;
  GArray *items = bp->items;
  Many *reads = bp->reads;
  Many *writes = bp->writes;

  gint64 t0 = g_get_monotonic_time ();

  if (!many_wait (reads, c->cancellable, error))
    return FALSE;
  bp->waited_read = g_get_monotonic_time () - t0;
  writes->props = g_new0 (LiaHostProps, items->len);
  writes->errors = g_new0 (GError *, items->len);
  for (guint i = 0; i < items->len; i++)
    {
      BulkItem *b = &g_array_index (items, BulkItem, i);
      g_autoptr (GError) local = NULL;

      if (reads->items[i] == NULL)
        {
          /* Gone before it could be tracked: nothing to do (completed with
           * the page's cache transaction). */
          if (g_error_matches (reads->errors[i], LIA_ERROR, LIA_ERROR_NOT_FOUND))
            continue;
          local = g_error_copy (reads->errors[i]);
        }
      else
        {
          b->hi = g_steal_pointer (&reads->items[i]);
          if (bp->stop == NULL && bulk_one (c, b, &local))
            {
              lia_engine_link_props (self, &writes->props[writes->ids->len], LIA_LINK_STATE_TRACKED,
                                     lia_crm_record_get_id (b->made), b->xml);
              g_ptr_array_add (writes->ids, g_strdup (b->change->item_id));
              continue;
            }
        }
      if (bp->stop != NULL)
        continue; /* stays claimed until released, then queued */
      /* R-IMM-FALLBACK: kept, retried with backoff; a network failure
       * stops the page (the rest stays queued). */
      if (!lia_cache_fail (c->cache, b->change->id, local->message, NULL, error))
        return FALSE;
      if (lia_engine_is_network_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        bp->stop = g_steal_pointer (&local);
    }
  bp->crm = g_get_monotonic_time () - t0 - bp->waited_read;
  many_begin (writes);
  return TRUE;
}

/* Waits for the page's host links, then its one cache transaction. Runs on
 * the page's finisher thread: it touches no cycle state but the cache. */
static gboolean
bulk_page_finish (Cycle *c, BulkPage *bp, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  GArray *items = bp->items;
  Many *reads = bp->reads;
  Many *writes = bp->writes;
  gint64 t0 = g_get_monotonic_time ();
  gint64 t_write;

  if (!many_wait (writes, c->cancellable, error))
    return FALSE;
  t_write = g_get_monotonic_time ();
  for (guint i = 0, w = 0; i < items->len; i++)
    {
      BulkItem *b = &g_array_index (items, BulkItem, i);
      g_autoptr (LiaCacheMapping) mapping = NULL;
      g_autoptr (LiaCacheOriginal) orig = NULL;
      g_autoptr (LiaCacheJournalEntry) entry = NULL;

      if (b->hi == NULL && g_error_matches (reads->errors[i], LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          lia_cache_batch_complete (batch, b->change->id);
          continue;
        }
      if (b->made == NULL)
        continue;
      if (writes->errors[w] != NULL)
        {
          /* The CRM email exists; the retry's create finds it by its
           * request id and links the message then. */
          if (!lia_cache_fail (c->cache, b->change->id, writes->errors[w]->message, NULL, error))
            return FALSE;
          w++;
          continue;
        }
      w++;
      mapping = lia_cache_mapping_new (b->change->store, b->hi->folder, b->change->item_id, LIA_ENTITY_EMAIL,
                                       lia_crm_record_get_id (b->made), LIA_LINK_STATE_TRACKED,
                                       LIA_LINK_ORIGIN_MANUAL);
      orig = lia_cache_original_new (self->store, b->change->item_id, b->xml);
      orig->host_modified_at = b->hi->modified_at;
      orig->crm_version = lia_crm_record_get_version (b->made);
      orig->crm_modified_at = lia_crm_record_get_modified_on (b->made);
      orig->crm_owner = g_strdup (lia_crm_record_get_owner (b->made));
      orig->crm_state = lia_crm_record_get_state (b->made);
      entry = lia_cache_journal_entry_new ("track", "tracked in CRM (R-MARK-TRACK)");
      entry->store = g_strdup (self->store);
      entry->item_id = g_strdup (b->change->item_id);
      entry->crm_id = g_strdup (lia_crm_record_get_id (b->made));
      lia_cache_batch_map (batch, mapping);
      if (b->xml != NULL)
        lia_cache_batch_store_original (batch, orig);
      lia_cache_batch_append_journal (batch, entry);
      lia_cache_batch_complete (batch, b->change->id);
      bp->uploaded++;
    }
  if (lia_cache_batch_get_size (batch) > 0 && !lia_cache_apply (c->cache, batch, error))
    return FALSE;
  g_debug ("bulk page of %u, the cycle's time: waiting for host reads %.0f ms, CRM %.0f ms, waiting for host "
           "links %.0f ms, cache %.0f ms",
           items->len, bp->waited_read / 1000.0, bp->crm / 1000.0, (t_write - t0) / 1000.0,
           (g_get_monotonic_time () - t_write) / 1000.0);
  return TRUE;
}

static gpointer
bulk_finisher (gpointer data)
{
  BulkPage *bp = data;

  bp->finish_ok = bulk_page_finish (bp->cycle, bp, &bp->finish_error);
  return NULL;
}

/* Finishes the page (its host links, then its cache) on a thread of its
 * own, while the cycle creates the next page's CRM emails: the cache's
 * commit (an fsync) is then off the cycle's path. */
static void
bulk_start_finish (Cycle *c, BulkPage *bp)
{
  bp->cycle = c;
  bp->finisher = g_thread_try_new ("lia-bulk-finish", bulk_finisher, bp, NULL);
  /* Without a thread, bulk_join() finishes it. */
}

/* Waits for the page's finish (or runs it when it was not started) and
 * counts it in the cycle. With @ok FALSE, @error is already set and keeps
 * that first error. */
static gboolean
bulk_join (Cycle *c, BulkPage **inout, gboolean ok, GError **error)
{
  g_autoptr (BulkPage) bp = g_steal_pointer (inout);

  if (bp == NULL)
    return ok;
  if (bp->finisher != NULL)
    g_thread_join (g_steal_pointer (&bp->finisher));
  else
    bp->finish_ok = bulk_page_finish (c, bp, &bp->finish_error);
  c->uploaded += bp->uploaded;
  if (!bp->finish_ok)
    {
      if (ok)
        g_propagate_error (error, g_steal_pointer (&bp->finish_error));
      return FALSE;
    }
  lia_engine_progress (c);
  return ok;
}

/* Claims the next page and starts its host reads; NULL with *@out_ok TRUE
 * when nothing is left. */
static BulkPage *
bulk_next (Cycle *c, gboolean *out_ok, GError **error)
{
  g_autoptr (GPtrArray) page =
      lia_cache_claim (c->cache, LIA_DIRECTION_TO_CRM, BULK_PAGE, LIA_ENGINE_CLAIM_LEASE_US, error);

  *out_ok = page != NULL;
  return page != NULL && page->len > 0 ? bulk_page_begin (c, page) : NULL;
}

/* Waits for a page's host calls, so that nothing runs for it after the
 * cycle gave up (its changes stay claimed until released or their lease
 * ends, then are queued again). */
static void
bulk_abandon (Cycle *c, BulkPage *bp)
{
  if (bp == NULL)
    return;
  many_wait (bp->reads, c->cancellable, NULL);
  many_wait (bp->writes, c->cancellable, NULL);
}

/* The pages go through three stages at once: page k + 1 is read on the
 * host while the cycle creates page k's CRM emails, and page k - 1's
 * finisher waits for its host links and writes it to the cache. A page
 * that was read but not created (the run stopped first) stays claimed
 * until the claims are released or their lease ends. */
static gboolean
bulk_upload (Cycle *c, GError **error)
{
  g_autoptr (BulkPage) prev = NULL; /* CRM done, being finished */
  g_autoptr (BulkPage) cur = NULL;  /* host reads running */
  gboolean ok = TRUE;

  cur = bulk_next (c, &ok, error);
  while (cur != NULL)
    {
      g_autoptr (BulkPage) next = NULL;

      /* The next page's reads run while this one's CRM emails are made. */
      next = bulk_next (c, &ok, error);
      if (!ok || !bulk_page_crm (c, cur, ok ? error : NULL))
        {
          bulk_join (c, &prev, FALSE, NULL);
          bulk_abandon (c, cur);
          bulk_abandon (c, next);
          return FALSE;
        }
      if (cur->stop != NULL || !cur->all)
        {
          /* The last page of this run: finish both, then hand the rest
           * back to the queue. */
          g_autoptr (GError) stop = g_steal_pointer (&cur->stop);
          bulk_abandon (c, next);
          ok = bulk_join (c, &prev, TRUE, error);
          if (!bulk_join (c, &cur, ok, error))
            return FALSE;
          if (stop != NULL)
            {
              lia_cache_release_claims (c->cache, NULL);
              g_propagate_error (error, g_steal_pointer (&stop));
              return FALSE;
            }
          /* Not every claimed change was a bulk track: the upload takes
           * the rest. */
          return lia_cache_release_claims (c->cache, error);
        }
      bulk_start_finish (c, cur);
      ok = bulk_join (c, &prev, TRUE, error);
      if (!ok)
        {
          bulk_abandon (c, next);
          bulk_join (c, &cur, FALSE, NULL);
          return FALSE;
        }
      prev = g_steal_pointer (&cur);
      cur = g_steal_pointer (&next);
    }
  return bulk_join (c, &prev, ok, error);
}

gboolean
lia_engine_mail_before_upload (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = mail_of (self);
  g_autoptr (GError) settings_error = NULL;
  g_autoptr (GHashTable) org = org_settings (c, mail, TRUE, &settings_error);
  g_auto (MailSettings) s = { 0 };
  g_autoptr (GHashTable) folders = NULL;
  const char *inbox = self->folders[LIA_ENTITY_EMAIL];

  /* Without the org's settings (unreachable, or an older org) the scans
   * wait for a cycle that has them: their watermarks stay, so nothing is
   * missed, and the index is not rebuilt for guessed settings. Queued
   * bulk work still goes, and fails like the upload when the org is down. */
  if (org == NULL)
    {
      g_debug ("email phase: no org settings (%s); the scans wait", settings_error->message);
      return bulk_upload (c, error);
    }
  read_settings (c, org, &s);
  g_mutex_lock (&mail->lock);
  load_locked (mail, c->cache);
  folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  {
    GHashTableIter iter;
    gpointer k, v;
    g_hash_table_iter_init (&iter, mail->folders);
    while (g_hash_table_iter_next (&iter, &k, &v))
      g_hash_table_insert (folders, g_strdup (k), g_strdup (v));
  }
  g_mutex_unlock (&mail->lock);

  if (!refresh_index (c, mail, &s, error))
    return FALSE;
  /* R-MAIL-FOLDER first: a tracked folder's regarding wins over
   * correlation. */
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
        if (!scan_new_mail (c, (const char *) k + strlen (prefix), wkey, folder_track_one, v, error))
          return FALSE;
      }
  }
  /* R-MAIL-AUTO: the Inbox only. */
  if (inbox != NULL && s.option != LIA_MAIL_AUTO_NONE)
    {
      AutoData a = { mail, &s };
      g_autofree char *wkey = g_strdup_printf ("mail-auto:%s/%s", self->store, inbox);
      if (!scan_new_mail (c, inbox, wkey, auto_track_one, &a, error))
        return FALSE;
    }
  if (!refill_tokens (c, mail, &s, error))
    return FALSE;
  return bulk_upload (c, error);
}

/* Tagging ------------------------------------------------------------------ */

static gboolean
apply_tag (Cycle *c, LiaEngineMail *mail, const LiaCrmRecord *rec, GError **error)
{
  LiaEngine *self = c->engine;
  LiaValue *regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_autoptr (LiaCacheMapping) m =
      lia_cache_lookup_crm (c->cache, self->store, LIA_ENTITY_EMAIL, lia_crm_record_get_id (rec), NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaItem) fields = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autofree char *why = NULL;

  if (m == NULL || m->state != LIA_LINK_STATE_TRACKED)
    return TRUE;
  /* Unchanged since this client linked it: nothing to read on the host. */
  {
    g_autoptr (LiaCacheOriginal) orig = lia_cache_load_original (c->cache, self->store, m->item_id, NULL);
    if (orig != NULL && orig->crm_version >= lia_crm_record_get_version (rec))
      return TRUE;
  }
  hi = lia_host_call_read_item (&self->link, self->store, m->item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (lia_value_equal (regarding, lia_item_get (hi->item, "regarding"))
      && g_strcmp0 (hi->props.regarding_id, regarding != NULL ? lia_value_get_reference_id (regarding) : NULL)
             == 0)
    return TRUE;
  fields = lia_item_copy (hi->item);
  if (!lia_item_set (fields, "regarding", regarding, error))
    return FALSE;
  lia_host_props_set (&props, LIA_HOST_PROP_REGARDING,
                      regarding != NULL ? lia_value_get_reference_id (regarding) : NULL);
  props.regarding_name = regarding != NULL ? g_strdup (lia_value_get_reference_name (regarding)) : NULL;
  if (!lia_host_call_write_item (&self->link, self->store, m->item_id, fields, &props, c->cancellable, error))
    return FALSE;
  if (mail->index != NULL)
    lia_mail_index_set_regarding (mail->index, m->item_id, regarding);
  why = g_strdup_printf ("R-MAIL-TAGGING: regarding changed in CRM to \"%s\"",
                         regarding != NULL && lia_value_get_reference_name (regarding) != NULL
                             ? lia_value_get_reference_name (regarding)
                             : "(none)");
  lia_engine_journal (c, "tagging", m->item_id, m->crm_id, why);
  return TRUE;
}

gboolean
lia_engine_mail_after_download (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = mail_of (self);
  g_autoptr (GHashTable) org = org_settings (c, mail, FALSE, NULL);
  g_auto (MailSettings) s = { 0 };
  g_autofree char *mark = NULL;
  gint64 since = 0;
  gint64 t0;
  guint polls = 0, n = 0;

  read_settings (c, org, &s);
  if (!s.tagging)
    return TRUE;
  t0 = g_get_monotonic_time ();
  mark = lia_cache_dup_watermark (c->cache, LIA_ENGINE_WATERMARK_TAGGING, NULL);
  if (mark != NULL)
    g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &since, NULL);
  for (;;)
    {
      gint64 last = since;
      g_autofree char *next = NULL;
      g_autoptr (GError) local = NULL;
      g_autoptr (GPtrArray) recs =
          lia_crm_email_changes_sync (self->crm, since, TAGGING_PAGE, &last, c->cancellable, &local);

      if (recs == NULL)
        {
          /* An org without the poll is not an error of the cycle. */
          if (lia_engine_is_network_error (local)
              || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_debug ("tagging poll: %s", local->message);
          return TRUE;
        }
      polls++;
      n += recs->len;
      for (guint i = 0; i < recs->len; i++)
        if (!apply_tag (c, mail, recs->pdata[i], error))
          return FALSE;
      next = g_strdup_printf ("%" G_GINT64_FORMAT, last);
      if (!lia_cache_set_watermark (c->cache, LIA_ENGINE_WATERMARK_TAGGING, next, error))
        return FALSE;
      if (last <= since)
        {
          g_debug ("tagging poll: %u emails in %u polls, %.0f ms", n, polls,
                   (g_get_monotonic_time () - t0) / 1000.0);
          return TRUE;
        }
      since = last;
    }
}

/* Bulk -------------------------------------------------------------------- */

static const char *const bulk_state_names[] = {
  [LIA_BULK_PENDING] = "pending",
  [LIA_BULK_TRACKED] = "tracked",
  [LIA_BULK_FAILED] = "failed",
  [LIA_BULK_NONE] = "none",
};
G_STATIC_ASSERT (G_N_ELEMENTS (bulk_state_names) == LIA_BULK_N);

const char *
lia_bulk_state_to_string (LiaBulkState state)
{
  g_return_val_if_fail (state < LIA_BULK_N, NULL);
  return bulk_state_names[state];
}

void
lia_bulk_result_free (LiaBulkResult *result)
{
  if (result == NULL)
    return;
  g_free (result->item_id);
  g_free (result->message);
  g_free (result);
}

typedef struct
{
  LiaEngine *engine; /* owned ref */
  LiaCache *cache;   /* borrowed: the engine keeps it open */
  char *store;       /* owned */
  char *folder;      /* owned, nullable */
  GStrv item_ids;    /* owned */
  char *payload;     /* owned, nullable: "id\nname" */
} BulkJob;

static void
bulk_job_free (BulkJob *job)
{
  lia_engine_unref (job->engine);
  g_free (job->store);
  g_free (job->folder);
  g_strfreev (job->item_ids);
  g_free (job->payload);
  g_free (job);
}

static void
bulk_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  BulkJob *job = task_data;
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  guint n = g_strv_length (job->item_ids);

  why = g_strdup_printf ("R-MAIL-BULK: tracked with %u selected messages", n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaCacheChange) change = lia_cache_change_new (
          LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_TRACK, job->store, job->item_ids[i], LIA_ENTITY_EMAIL, NULL);
      g_autoptr (LiaCacheJournalEntry) entry = lia_cache_journal_entry_new ("bulk-track", why);

      change->folder = g_strdup (job->folder);
      if (job->payload != NULL)
        change->payload = g_bytes_new (job->payload, strlen (job->payload));
      lia_cache_batch_enqueue (batch, change);
      entry->store = g_strdup (job->store);
      entry->item_id = g_strdup (job->item_ids[i]);
      lia_cache_batch_append_journal (batch, entry);
    }
  if (!lia_cache_apply (job->cache, batch, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
bulk_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEngine *engine = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    /* The marks stay on the host: the scanner of a later cycle cannot
     * queue email, so say it; the user tracks again. */
    g_warning ("bulk track not queued: %s", error->message);
  else
    lia_engine_request_sync (engine);
  g_atomic_int_dec_and_test (&mail_of (engine)->bulk_pending);
  lia_engine_unref (engine);
}

static void
bulk_mark_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEngine *engine = user_data;
  g_autoptr (GError) error = NULL;

  if (!engine->link.vtable->write_item_finish (engine->link.host, res, &error))
    g_debug ("bulk: link state not written: %s", error->message);
  lia_engine_unref (engine);
}

gboolean
lia_engine_mail_bulk_track (LiaEngine *engine, const char *store, const char *folder,
                            const char *const *item_ids, const char *regarding_id, const char *regarding_name,
                            GError **error)
{
  LiaCache *cache;
  BulkJob *job;
  g_autoptr (GTask) task = NULL;
  g_auto (LiaHostProps) props = { 0 };
  guint n;

  g_return_val_if_fail (engine != NULL && store != NULL && item_ids != NULL, FALSE);
  n = g_strv_length ((GStrv) item_ids);
  if (n == 0 || n > 100000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Select 1 to 100,000 messages to track at once");
      return FALSE;
    }
  if (g_strcmp0 (store, engine->store) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Only items in your primary mailbox can be tracked in CRM; \"%s\" is another store",
                   store);
      return FALSE;
    }
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return FALSE;
    }
  /* The UI shows every message as tracked at once (white paper: "the
   * properties of items are immediately updated"). */
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  for (guint i = 0; i < n; i++)
    engine->link.vtable->write_item (engine->link.host, store, item_ids[i], NULL, &props, NULL,
                                     bulk_mark_done, lia_engine_ref (engine));
  job = g_new0 (BulkJob, 1);
  job->engine = lia_engine_ref (engine);
  job->cache = cache;
  job->store = g_strdup (store);
  job->folder = g_strdup (folder);
  job->item_ids = g_strdupv ((GStrv) item_ids);
  if (regarding_id != NULL)
    job->payload = g_strdup_printf ("%s\n%s", regarding_id, regarding_name != NULL ? regarding_name : "");
  g_atomic_int_inc (&mail_of (engine)->bulk_pending);
  task = g_task_new (NULL, NULL, bulk_done, lia_engine_ref (engine));
  g_task_set_source_tag (task, lia_engine_mail_bulk_track);
  g_task_set_name (task, "[liaison] bulk track");
  g_task_set_task_data (task, job, (GDestroyNotify) bulk_job_free);
  g_task_run_in_thread (task, bulk_thread);
  return TRUE;
}

guint
lia_engine_mail_bulk_pending (LiaEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return (guint) g_atomic_int_get (&mail_of (engine)->bulk_pending);
}

GPtrArray *
lia_engine_mail_bulk_results (LiaEngine *engine, const char *store, const char *const *item_ids,
                              GError **error)
{
  LiaCache *cache;
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GHashTable) queued = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_bulk_result_free);

  g_return_val_if_fail (engine != NULL && store != NULL && item_ids != NULL, NULL);
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return NULL;
    }
  changes = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, G_MAXINT, error);
  if (changes == NULL)
    return NULL;
  for (guint i = 0; i < changes->len; i++)
    {
      const LiaCacheChange *ch = changes->pdata[i];
      if (ch->item_id != NULL && g_strcmp0 (ch->store, store) == 0 && ch->direction == LIA_DIRECTION_TO_CRM)
        g_hash_table_insert (queued, ch->item_id, (gpointer) ch);
    }
  for (guint i = 0; item_ids[i] != NULL; i++)
    {
      LiaBulkResult *r = g_new0 (LiaBulkResult, 1);
      const LiaCacheChange *ch = g_hash_table_lookup (queued, item_ids[i]);
      g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (cache, store, item_ids[i], NULL);

      r->item_id = g_strdup (item_ids[i]);
      if (ch != NULL && ch->attempts > 0)
        {
          r->state = LIA_BULK_FAILED;
          r->message = g_strdup (ch->last_error);
        }
      else if (ch != NULL)
        r->state = LIA_BULK_PENDING;
      else if (m != NULL && m->state == LIA_LINK_STATE_TRACKED)
        {
          r->state = LIA_BULK_TRACKED;
          r->message = g_strdup (m->crm_id);
        }
      else
        r->state = LIA_BULK_NONE;
      g_ptr_array_add (out, r);
    }
  return g_steal_pointer (&out);
}
