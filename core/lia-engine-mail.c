/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-engine-mail-private.h"

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
  g_clear_pointer (&mail->early, g_hash_table_unref);
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
  mail->early = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return mail;
}

/* Reads the tracked folders and the token pool from the cache once. */
void
lia_engine_mail_load_locked (LiaEngineMail *mail, LiaCache *cache)
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

LiaEngineMail *
lia_engine_mail_of (LiaEngine *engine)
{
  LiaEngineMail *mail;

  g_mutex_lock (&engine->lock);
  if (engine->mail == NULL)
    engine->mail = lia_engine_mail_new ();
  mail = engine->mail;
  g_mutex_unlock (&engine->lock);
  return mail;
}

/* The org's settings, read once per cycle (one round trip over http): the
 * phase before the upload reads them (@fresh) and keeps them, the phase
 * after the download of the same cycle takes them. (transfer full)
 * (nullable) with @error set when they cannot be read. */
GHashTable *
lia_engine_mail_org_settings (Cycle *c, LiaEngineMail *mail, gboolean fresh, GError **error)
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

/* Settings --------------------------------------------------------------- */

void
lia_engine_mail_settings_clear (LiaEngineMailSettings *s)
{
  g_free (s->prefix);
}

void
lia_engine_mail_read_settings (Cycle *c, GHashTable *org, LiaEngineMailSettings *out)
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

gboolean
lia_engine_mail_before_upload (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = lia_engine_mail_of (self);
  g_autoptr (GError) settings_error = NULL;
  g_autoptr (GHashTable) org = lia_engine_mail_org_settings (c, mail, TRUE, &settings_error);
  g_auto (LiaEngineMailSettings) s = { 0 };
  g_autoptr (GHashTable) folders = NULL;

  /* R-MAIL-FOLDER: what a newly tracked folder holds, listed from the
   * host alone, also while the org is down. */
  if (!lia_engine_mail_list_folders (c, error))
    return FALSE;
  /* Without the org's settings (unreachable, or an older org) the scans
   * wait for a cycle that has them: their watermarks stay, so nothing is
   * missed, and the index is not rebuilt for guessed settings. Queued
   * bulk work still goes, and fails like the upload when the org is down. */
  if (org == NULL)
    {
      g_debug ("email phase: no org settings (%s); the scans wait", settings_error->message);
      return lia_engine_mail_bulk_upload (c, error);
    }
  lia_engine_mail_read_settings (c, org, &s);
  g_mutex_lock (&mail->lock);
  lia_engine_mail_load_locked (mail, c->cache);
  folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  {
    GHashTableIter iter;
    gpointer k, v;
    g_hash_table_iter_init (&iter, mail->folders);
    while (g_hash_table_iter_next (&iter, &k, &v))
      g_hash_table_insert (folders, g_strdup (k), g_strdup (v));
  }
  g_mutex_unlock (&mail->lock);

  if (!lia_engine_mail_refresh_index (c, mail, &s, error))
    return FALSE;
  /* R-MAIL-FOLDER first: a tracked folder's regarding wins over
   * correlation. */
  if (!lia_engine_mail_scan_folders (c, folders, error) || !lia_engine_mail_scan_inbox (c, mail, &s, error))
    return FALSE;
  if (!lia_engine_mail_refill_tokens (c, mail, &s, error))
    return FALSE;
  return lia_engine_mail_bulk_upload (c, error);
}
