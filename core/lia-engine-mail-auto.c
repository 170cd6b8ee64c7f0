/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail-private.h"

/* R-MAIL-AUTO, R-MAIL-CORRELATE-*: the index of tracked messages, the
 * Inbox scan that auto-tracks new mail, and what every scan shares
 * (lia_engine_mail_scan_new_mail(), lia_engine_mail_track_now()). */

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
gboolean
lia_engine_mail_refresh_index (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s, GError **error)
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
gboolean
lia_engine_mail_track_now (Cycle *c, const LiaHostItem *hi, const char *regarding_id,
                           const char *regarding_name, const char *kind, const char *why, GError **error)
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
gboolean
lia_engine_mail_was_untracked (LiaCache *cache, const char *store, const char *item_id)
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

/* Calls @func for every untracked message of @folder modified since the
 * watermark @wkey (absent: none; the watermark starts now), newest first;
 * then moves the watermark to this cycle's start. */
gboolean
lia_engine_mail_scan_new_mail (Cycle *c, const char *folder, const char *wkey, LiaEngineMailRowFunc func,
                               gpointer data, GError **error)
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
              if (m != NULL || lia_engine_mail_was_untracked (c->cache, self->store, row->item_id))
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
  const LiaEngineMailSettings *settings;
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
  return lia_engine_mail_track_now (
      c, hi, match.regarding != NULL ? lia_value_get_reference_id (match.regarding) : NULL,
      match.regarding != NULL ? lia_value_get_reference_name (match.regarding) : NULL, "auto-track", why,
      error);
}

/* R-MAIL-AUTO: the Inbox only, with the user's option. */
gboolean
lia_engine_mail_scan_inbox (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s, GError **error)
{
  LiaEngine *self = c->engine;
  const char *inbox = self->folders[LIA_ENTITY_EMAIL];

  if (inbox != NULL && s->option != LIA_MAIL_AUTO_NONE)
    {
      AutoData a = { mail, s };
      g_autofree char *wkey = g_strdup_printf ("mail-auto:%s/%s", self->store, inbox);
      if (!lia_engine_mail_scan_new_mail (c, inbox, wkey, auto_track_one, &a, error))
        return FALSE;
    }
  return TRUE;
}
