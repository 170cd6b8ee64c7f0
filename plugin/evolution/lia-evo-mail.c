/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail adapter: the adapter, ids, default folders, contents tables
 * and reading messages (lia-evo-mail.h). Conversion to LiaItem is in
 * lia-evo-mail-convert.c, property writes in lia-evo-mail-props.c,
 * notifications in lia-evo-mail-watch.c. */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-internal.h"

/* User tags, indexed by LiaHostProp; regarding takes three (id, name,
 * entity). The original is base64 so that no byte of OriginalXML depends
 * on how a summary backend stores tag values. */
const char *const lia_evo_mail_tag_names[] = {
  [LIA_HOST_PROP_LINK_STATE] = "liaison-link-state",  [LIA_HOST_PROP_CRM_ID] = "liaison-crm-id",
  [LIA_HOST_PROP_CRM_ORG] = "liaison-crm-org",        [LIA_HOST_PROP_ORIGINAL] = "liaison-original",
  [LIA_HOST_PROP_REGARDING] = "liaison-regarding-id",
};
G_STATIC_ASSERT (G_N_ELEMENTS (lia_evo_mail_tag_names) == LIA_HOST_PROP_N);

/* ---- The adapter ---- */

typedef struct
{
  gint stamp;
  GPtrArray *rows; /* owned: LiaHostRow */
} Listing;

static void
listing_free (Listing *l)
{
  g_ptr_array_unref (l->rows);
  g_free (l);
}

LiaEvoMail *
lia_evo_mail_new (CamelStore *store, const char *account_address)
{
  LiaEvoMail *mail;

  g_return_val_if_fail (CAMEL_IS_STORE (store), NULL);
  mail = g_new0 (LiaEvoMail, 1);
  mail->store = g_object_ref (store);
  mail->account_address = g_strdup (account_address);
  g_mutex_init (&mail->lock);
  mail->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  mail->listings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) listing_free);
  mail->watched = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  mail->seen =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lia_evo_mail_seen_free);
  mail->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  mail->initial = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                         (GDestroyNotify) g_hash_table_unref);
  mail->watch_cancellable = g_cancellable_new ();
  mail->unsaved = g_ptr_array_new_with_free_func (g_object_unref);
  mail->dirty = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  return mail;
}

void
lia_evo_mail_free (LiaEvoMail *mail)
{
  GHashTableIter iter;
  gpointer folder;

  if (mail == NULL)
    return;
  lia_evo_mail_unwatch (mail);
  while (g_atomic_int_get (&mail->in_flight) > 0)
    g_usleep (1000);
  g_hash_table_iter_init (&iter, mail->folders);
  while (g_hash_table_iter_next (&iter, NULL, &folder))
    {
      g_autoptr (GError) error = NULL;

      /* Writes were saved when made; this only catches what Camel itself
       * changed meanwhile (a refresh), so a failure is worth a line. */
      g_signal_handlers_disconnect_by_data (folder, &mail->change_stamp);
      if (!camel_folder_synchronize_sync (folder, FALSE, NULL, &error))
        g_debug ("saving folder \"%s\": %s", camel_folder_get_full_name (folder), error->message);
    }
  g_hash_table_unref (mail->folders);
  g_hash_table_unref (mail->listings);
  g_hash_table_unref (mail->watched);
  g_hash_table_unref (mail->seen);
  g_hash_table_unref (mail->pending);
  g_hash_table_unref (mail->initial);
  g_ptr_array_unref (mail->unsaved);
  g_hash_table_unref (mail->dirty);
  g_object_unref (mail->watch_cancellable);
  g_mutex_clear (&mail->lock);
  g_object_unref (mail->store);
  for (guint i = 0; i < LIA_EVO_MAIL_N; i++)
    {
      g_free (mail->configured[i]);
      g_free (mail->resolved[i]);
    }
  g_free (mail->account_address);
  g_free (mail->host_store);
  g_free (mail);
}

const char *
lia_evo_mail_get_store_uid (LiaEvoMail *mail)
{
  return camel_service_get_uid (CAMEL_SERVICE (mail->store));
}

void
lia_evo_mail_set_host_store (LiaEvoMail *mail, const char *store_id)
{
  g_free (mail->host_store);
  mail->host_store = g_strdup (store_id);
}

const char *
lia_evo_mail_get_store_id (LiaEvoMail *mail)
{
  return mail->host_store != NULL ? mail->host_store : lia_evo_mail_get_store_uid (mail);
}

/* ---- Ids ---- */

char *
lia_evo_mail_folder_id (const char *store_uid, const char *full_name)
{
  g_autofree char *s = NULL;
  g_autofree char *f = NULL;

  if (store_uid == NULL || full_name == NULL)
    return NULL;
  s = g_uri_escape_string (store_uid, NULL, TRUE);
  f = g_uri_escape_string (full_name, NULL, TRUE);
  return g_strconcat (LIA_EVO_MAIL_PREFIX, s, "/", f, NULL);
}

char *
lia_evo_mail_item_id (const char *store_uid, const char *full_name, const char *uid)
{
  g_autofree char *folder = lia_evo_mail_folder_id (store_uid, full_name);
  g_autofree char *u = NULL;

  if (folder == NULL || uid == NULL)
    return NULL;
  u = g_uri_escape_string (uid, NULL, TRUE);
  return g_strconcat (folder, "/", u, NULL);
}

/* Splits @id after the prefix into exactly @n unescaped, non-empty parts. */
static char **
split_id (const char *id, guint n)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  if (id == NULL || !g_str_has_prefix (id, LIA_EVO_MAIL_PREFIX))
    return NULL;
  parts = g_strsplit (id + strlen (LIA_EVO_MAIL_PREFIX), "/", -1);
  if (g_strv_length (parts) != n)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *part = g_uri_unescape_string (parts[i], NULL);

      if (part == NULL || *part == '\0')
        return NULL;
      g_strv_builder_add (b, part);
    }
  return g_strv_builder_end (b);
}

gboolean
lia_evo_mail_parse_folder_id (const char *folder_id, char **out_store_uid, char **out_full_name)
{
  g_auto (GStrv) parts = split_id (folder_id, 2);

  if (parts == NULL)
    return FALSE;
  *out_store_uid = g_strdup (parts[0]);
  *out_full_name = g_strdup (parts[1]);
  return TRUE;
}

gboolean
lia_evo_mail_parse_item_id (const char *item_id, char **out_store_uid, char **out_full_name, char **out_uid)
{
  g_auto (GStrv) parts = split_id (item_id, 3);

  if (parts == NULL)
    return FALSE;
  *out_store_uid = g_strdup (parts[0]);
  *out_full_name = g_strdup (parts[1]);
  *out_uid = g_strdup (parts[2]);
  return TRUE;
}

gboolean
lia_evo_mail_owns_id (LiaEvoMail *mail, const char *id)
{
  g_autofree char *prefix = NULL;
  g_autofree char *s = NULL;

  if (mail == NULL || id == NULL)
    return FALSE;
  s = g_uri_escape_string (lia_evo_mail_get_store_uid (mail), NULL, TRUE);
  prefix = g_strconcat (LIA_EVO_MAIL_PREFIX, s, "/", NULL);
  return g_str_has_prefix (id, prefix);
}

/* The full name in @id (folder or item id) when it is one of ours. */
static char *
own_full_name (LiaEvoMail *mail, const char *id, gboolean is_item, char **out_uid)
{
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autofree char *uid = NULL;
  gboolean ok = is_item ? lia_evo_mail_parse_item_id (id, &store, &full, &uid)
                        : lia_evo_mail_parse_folder_id (id, &store, &full);

  if (!ok || g_strcmp0 (store, lia_evo_mail_get_store_uid (mail)) != 0)
    return NULL;
  if (out_uid != NULL)
    *out_uid = g_steal_pointer (&uid);
  return g_steal_pointer (&full);
}

/* Camel's errors become LIA_ERROR once, here. */
void
lia_evo_mail_translate_error (GError **error, LiaErrorCode code)
{
  GError *e = error != NULL ? *error : NULL;

  if (e == NULL || e->domain == LIA_ERROR || g_error_matches (e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (e, CAMEL_FOLDER_ERROR, CAMEL_FOLDER_ERROR_INVALID_UID)
      || g_error_matches (e, CAMEL_STORE_ERROR, CAMEL_STORE_ERROR_NO_FOLDER)
      || g_error_matches (e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    code = LIA_ERROR_NOT_FOUND;
  e->domain = LIA_ERROR;
  e->code = code;
}

/* ---- Default folders ---- */

void
lia_evo_mail_set_configured_folders (LiaEvoMail *mail, const char *sent, const char *drafts)
{
  g_mutex_lock (&mail->lock);
  g_free (mail->configured[LIA_EVO_MAIL_SENT]);
  g_free (mail->configured[LIA_EVO_MAIL_DRAFTS]);
  mail->configured[LIA_EVO_MAIL_SENT] = sent != NULL && *sent != '\0' ? g_strdup (sent) : NULL;
  mail->configured[LIA_EVO_MAIL_DRAFTS] = drafts != NULL && *drafts != '\0' ? g_strdup (drafts) : NULL;
  g_mutex_unlock (&mail->lock);
}

char *
lia_evo_mail_folder_name_from_uri (LiaEvoMail *mail, const char *uri)
{
  g_autofree char *uid = NULL;
  g_autofree char *prefix = NULL;
  char *name;

  if (mail == NULL || uri == NULL)
    return NULL;
  /* Evolution writes the uid unescaped (e_mail_folder_uri_build()). */
  uid = g_strdup (lia_evo_mail_get_store_uid (mail));
  prefix = g_strconcat ("folder://", uid, "/", NULL);
  if (!g_str_has_prefix (uri, prefix))
    return NULL;
  name = g_uri_unescape_string (uri + strlen (prefix), NULL);
  if (name != NULL && *name == '\0')
    g_clear_pointer (&name, g_free);
  return name;
}

static void
find_types (CamelFolderInfo *fi, char **found)
{
  for (; fi != NULL; fi = fi->next)
    {
      guint32 type = fi->flags & CAMEL_FOLDER_TYPE_MASK;
      LiaEvoMailFolder which = type == CAMEL_FOLDER_TYPE_INBOX    ? LIA_EVO_MAIL_INBOX
                               : type == CAMEL_FOLDER_TYPE_SENT   ? LIA_EVO_MAIL_SENT
                               : type == CAMEL_FOLDER_TYPE_DRAFTS ? LIA_EVO_MAIL_DRAFTS
                                                                  : LIA_EVO_MAIL_N;

      if (which != LIA_EVO_MAIL_N && found[which] == NULL && !(fi->flags & CAMEL_FOLDER_NOSELECT))
        found[which] = g_strdup (fi->full_name);
      find_types (fi->child, found);
    }
}

gboolean
lia_evo_mail_resolve_folders_sync (LiaEvoMail *mail, GCancellable *cancellable, GError **error)
{
  char *found[LIA_EVO_MAIL_N] = { NULL };
  CamelFolderInfo *fi;

  g_return_val_if_fail (mail != NULL, FALSE);
  /* A remote store of a standalone session starts offline (Evolution's
   * session brings its stores online itself). */
  if (CAMEL_IS_OFFLINE_STORE (mail->store))
    {
      g_autoptr (CamelSession) session = camel_service_ref_session (CAMEL_SERVICE (mail->store));

      if (!camel_offline_store_get_online (CAMEL_OFFLINE_STORE (mail->store)) && session != NULL
          && camel_session_get_online (session)
          && !camel_offline_store_set_online_sync (CAMEL_OFFLINE_STORE (mail->store), TRUE, cancellable,
                                                   error))
        {
          lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
          return FALSE;
        }
    }
  if (CAMEL_IS_NETWORK_SERVICE (mail->store)
      && !camel_service_connect_sync (CAMEL_SERVICE (mail->store), cancellable, error))
    {
      lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  /* REFRESH: an IMAP store answers from its summary otherwise, which
   * lacks the SPECIAL-USE types until its first background LIST. */
  fi = camel_store_get_folder_info_sync (mail->store, NULL,
                                         CAMEL_STORE_FOLDER_INFO_RECURSIVE | CAMEL_STORE_FOLDER_INFO_REFRESH,
                                         cancellable, error);
  if (fi == NULL && error != NULL && *error != NULL)
    {
      lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  find_types (fi, found);
  camel_folder_info_free (fi);
  if (found[LIA_EVO_MAIL_INBOX] == NULL)
    {
      g_autoptr (CamelFolder) inbox = camel_store_get_inbox_folder_sync (mail->store, cancellable, NULL);

      if (inbox != NULL)
        found[LIA_EVO_MAIL_INBOX] = g_strdup (camel_folder_get_full_name (inbox));
    }
  g_mutex_lock (&mail->lock);
  for (guint i = 0; i < LIA_EVO_MAIL_N; i++)
    {
      g_free (mail->resolved[i]);
      mail->resolved[i] = mail->configured[i] != NULL ? g_strdup (mail->configured[i]) : found[i];
      if (mail->configured[i] != NULL)
        g_free (found[i]);
    }
  g_mutex_unlock (&mail->lock);
  return TRUE;
}

char *
lia_evo_mail_dup_folder (LiaEvoMail *mail, LiaEvoMailFolder which)
{
  char *id;

  g_return_val_if_fail (mail != NULL && which < LIA_EVO_MAIL_N, NULL);
  g_mutex_lock (&mail->lock);
  id = lia_evo_mail_folder_id (lia_evo_mail_get_store_uid (mail), mail->resolved[which]);
  g_mutex_unlock (&mail->lock);
  return id;
}

static gboolean
is_folder (LiaEvoMail *mail, const char *full_name, LiaEvoMailFolder which)
{
  gboolean is;

  g_mutex_lock (&mail->lock);
  is = mail->resolved[which] != NULL && g_strcmp0 (mail->resolved[which], full_name) == 0;
  g_mutex_unlock (&mail->lock);
  return is;
}

/* ---- Folders and messages ---- */

static void
on_any_change (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer stamp)
{
  g_atomic_int_inc ((gint *) stamp);
}

/* (transfer full) the open folder @name. The first open refreshes the
 * summary from disk, so messages delivered while no engine ran are seen. */
CamelFolder *
lia_evo_mail_ref_folder (LiaEvoMail *mail, const char *name, GCancellable *cancellable, GError **error)
{
  return lia_evo_mail_open_folder (mail, name, TRUE, cancellable, error);
}

CamelFolder *
lia_evo_mail_open_folder (LiaEvoMail *mail, const char *name, gboolean refresh, GCancellable *cancellable,
                          GError **error)
{
  CamelFolder *folder;
  g_autoptr (CamelFolder) opened = NULL;

  g_mutex_lock (&mail->lock);
  folder = g_hash_table_lookup (mail->folders, name);
  if (folder != NULL)
    g_object_ref (folder);
  g_mutex_unlock (&mail->lock);
  if (folder != NULL)
    return folder;

  opened = camel_store_get_folder_sync (mail->store, name, 0, cancellable, error);
  if (opened == NULL)
    {
      lia_evo_mail_translate_error (error, LIA_ERROR_NOT_FOUND);
      return NULL;
    }
  /* Not kept: the first lia_evo_mail_ref_folder() refreshes it. */
  if (!refresh)
    return g_steal_pointer (&opened);
  if (!camel_folder_refresh_info_sync (opened, cancellable, error))
    {
      lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
      return NULL;
    }
  g_mutex_lock (&mail->lock);
  /* Another worker may have opened it meanwhile: keep the first. */
  folder = g_hash_table_lookup (mail->folders, name);
  if (folder == NULL)
    {
      folder = opened;
      g_hash_table_insert (mail->folders, g_strdup (name), g_object_ref (opened));
      g_signal_connect (opened, "changed", G_CALLBACK (on_any_change), &mail->change_stamp);
    }
  g_object_ref (folder);
  g_mutex_unlock (&mail->lock);
  return folder;
}

LiaLinkState
lia_evo_mail_info_link_state (CamelMessageInfo *info)
{
  const char *tag = camel_message_info_get_user_tag (info, lia_evo_mail_tag_names[LIA_HOST_PROP_LINK_STATE]);
  guint64 n = 0;

  if (tag != NULL && g_ascii_string_to_unsigned (tag, 10, 0, LIA_LINK_STATE_N - 1, &n, NULL))
    return (LiaLinkState) n;
  /* The flag alone survives where tags are not kept (another client of
   * the same IMAP account). */
  if (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED))
    return LIA_LINK_STATE_TRACKED;
  return LIA_LINK_STATE_NONE;
}

gboolean
lia_evo_mail_info_dup_regarding (CamelMessageInfo *info, char **out_id, char **out_name,
                                 LiaEntity *out_entity)
{
  const char *id;
  const char *entity;

  g_return_val_if_fail (CAMEL_IS_MESSAGE_INFO (info) && out_id != NULL && out_name != NULL, FALSE);
  *out_id = NULL;
  *out_name = NULL;
  if (out_entity != NULL)
    *out_entity = LIA_ENTITY_N;
  id = camel_message_info_get_user_tag (info, lia_evo_mail_tag_names[LIA_HOST_PROP_REGARDING]);
  if (id == NULL || *id == '\0')
    return FALSE;
  *out_id = g_strdup (id);
  *out_name = g_strdup (camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
  if (*out_name == NULL)
    *out_name = g_strdup ("");
  entity = camel_message_info_get_user_tag (info, TAG_REGARDING_ENTITY);
  if (out_entity != NULL && entity != NULL && !lia_entity_from_string (entity, out_entity))
    *out_entity = LIA_ENTITY_N;
  return TRUE;
}

/* Last-modified: when it arrived, or when Liaison last wrote its
 * properties if that is later. */
static gint64
info_modified_at (CamelMessageInfo *info)
{
  gint64 t = camel_message_info_get_date_received (info);
  const char *tag = camel_message_info_get_user_tag (info, TAG_MODIFIED);
  gint64 written = 0;

  if (t <= 0)
    t = camel_message_info_get_date_sent (info);
  t = t > 0 ? t * G_USEC_PER_SEC : 0;
  if (tag != NULL && g_ascii_string_to_signed (tag, 10, 0, G_MAXINT64, &written, NULL) && written > t)
    t = written;
  return t;
}

/* (transfer full) the id the message is known by: the id it was tracked
 * under, else its place. */
char *
lia_evo_mail_info_item_id (LiaEvoMail *mail, CamelFolder *folder, CamelMessageInfo *info)
{
  const char *tagged = camel_message_info_get_user_tag (info, TAG_ITEM_ID);

  if (tagged != NULL && lia_evo_mail_owns_id (mail, tagged))
    return g_strdup (tagged);
  return lia_evo_mail_item_id (lia_evo_mail_get_store_uid (mail), camel_folder_get_full_name (folder),
                               camel_message_info_get_uid (info));
}

/* The Liaison properties of a message as one string: a change of it is a
 * change of the item (an email's fields never change). */
char *
lia_evo_mail_info_sig (CamelMessageInfo *info)
{
  const char *const tags[] = { lia_evo_mail_tag_names[LIA_HOST_PROP_CRM_ID],
                               lia_evo_mail_tag_names[LIA_HOST_PROP_CRM_ORG],
                               lia_evo_mail_tag_names[LIA_HOST_PROP_REGARDING], TAG_REGARDING_NAME,
                               TAG_ITEM_ID };
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%u", (guint) lia_evo_mail_info_link_state (info));
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      const char *v = camel_message_info_get_user_tag (info, tags[i]);

      g_string_append_printf (s, "\x1f%s", v != NULL ? v : "");
    }
  return g_string_free (s, FALSE);
}

static gint
row_newest_first (gconstpointer a, gconstpointer b)
{
  const LiaHostRow *x = *(const LiaHostRow *const *) a;
  const LiaHostRow *y = *(const LiaHostRow *const *) b;

  if (x->modified_at != y->modified_at)
    return x->modified_at > y->modified_at ? -1 : 1;
  return -strcmp (x->item_id, y->item_id);
}

/* Every uid of @f from its summary (no message is opened). */
GPtrArray *
lia_evo_mail_all_uids (CamelFolder *f, GCancellable *cancellable, GError **error)
{
  GPtrArray *uids = camel_folder_search_by_expression (f, "(match-all #t)", cancellable, error);

  if (uids == NULL)
    lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
  return uids;
}

GPtrArray *
lia_evo_mail_read_contents_sync (LiaEvoMail *mail, const char *folder_id, guint offset, guint limit,
                                 GCancellable *cancellable, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *uids;
  GPtrArray *page;
  gint stamp = g_atomic_int_get (&mail->change_stamp);

  g_return_val_if_fail (mail != NULL && folder_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = own_full_name (mail, folder_id, FALSE, NULL);
  if (name == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder_id);
      return NULL;
    }
  f = lia_evo_mail_ref_folder (mail, name, cancellable, error);
  if (f == NULL)
    return NULL;
  if (offset > 0)
    {
      Listing *l;

      g_mutex_lock (&mail->lock);
      l = g_hash_table_lookup (mail->listings, name);
      if (l != NULL && l->stamp == stamp)
        all = g_ptr_array_ref (l->rows);
      g_mutex_unlock (&mail->lock);
      if (all != NULL)
        goto page;
    }
  /* The whole folder: sorting needs every date, and the summary answers
   * from memory or its db. */
  uids = lia_evo_mail_all_uids (f, cancellable, error);
  if (uids == NULL)
    return NULL;
  all = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = 0; i < uids->len; i++)
    {
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, g_ptr_array_index (uids, i));
      g_autofree char *id = NULL;

      if (info == NULL)
        continue;
      id = lia_evo_mail_info_item_id (mail, f, info);
      g_ptr_array_add (
          all, lia_host_row_new (
                   id, info_modified_at (info), lia_evo_mail_info_link_state (info),
                   camel_message_info_get_user_tag (info, lia_evo_mail_tag_names[LIA_HOST_PROP_CRM_ID])));
    }
  camel_folder_search_free (f, uids);
  g_ptr_array_sort (all, row_newest_first);
  {
    Listing *l = g_new0 (Listing, 1);

    l->stamp = stamp;
    l->rows = g_ptr_array_ref (all);
    g_mutex_lock (&mail->lock);
    g_hash_table_replace (mail->listings, g_strdup (name), l);
    g_mutex_unlock (&mail->lock);
  }
page:
  page = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = offset; i < all->len && i - offset < limit; i++)
    {
      const LiaHostRow *r = g_ptr_array_index (all, i);

      g_ptr_array_add (page, lia_host_row_new (r->item_id, r->modified_at, r->link_state, r->crm_id));
    }
  return page;
}

/* The search for a message by the id it was tracked under. Tested in
 * test-evolution-mail (/evolution-mail/search/expressions). */
static char *
tag_expression (const char *item_id)
{
  GString *s = g_string_new ("(match-all (= (user-tag \"" TAG_ITEM_ID "\") ");

  camel_sexp_encode_string (s, item_id);
  g_string_append (s, "))");
  return g_string_free (s, FALSE);
}

/* The first uid of @f whose tag names @item_id, or NULL. */
static char *
search_tag (CamelFolder *f, const char *item_id, GCancellable *cancellable)
{
  g_autofree char *expr = tag_expression (item_id);
  g_autoptr (GError) error = NULL;
  GPtrArray *uids = camel_folder_search_by_expression (f, expr, cancellable, &error);
  char *uid = NULL;

  if (uids == NULL)
    {
      g_debug ("searching \"%s\": %s", camel_folder_get_full_name (f), error->message);
      return NULL;
    }
  if (uids->len > 0)
    uid = g_strdup (g_ptr_array_index (uids, 0));
  camel_folder_search_free (f, uids);
  return uid;
}

static void
collect_names (CamelFolderInfo *fi, GPtrArray *names)
{
  for (; fi != NULL; fi = fi->next)
    {
      if (!(fi->flags & (CAMEL_FOLDER_NOSELECT | CAMEL_FOLDER_VIRTUAL)))
        g_ptr_array_add (names, g_strdup (fi->full_name));
      collect_names (fi->child, names);
    }
}

/* Whether @mail's store keeps its mail on this machine (maildir, mbox). */
static gboolean
is_local_store (LiaEvoMail *mail)
{
  CamelProvider *provider = camel_service_get_provider (CAMEL_SERVICE (mail->store));

  return provider != NULL && (provider->flags & CAMEL_PROVIDER_IS_REMOTE) == 0;
}

/* Refreshes the local folder @f with a scan of its files. Evolution
 * creates its own local store ("On This Computer") with
 * need-summary-check off, and then a refresh does not look at the maildir:
 * a message another program delivered there stays unknown (a Track of it
 * over D-Bus found nothing). The check is on for this one refresh. */
static gboolean
refresh_local (LiaEvoMail *mail, CamelFolder *f, GCancellable *cancellable)
{
  static GMutex check_lock;
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (mail->store), "need-summary-check");
  gboolean check = TRUE;
  gboolean ok;

  if (pspec == NULL || pspec->value_type != G_TYPE_BOOLEAN)
    return camel_folder_refresh_info_sync (f, cancellable, NULL);
  g_mutex_lock (&check_lock);
  g_object_get (mail->store, "need-summary-check", &check, NULL);
  if (!check)
    g_object_set (mail->store, "need-summary-check", TRUE, NULL);
  ok = camel_folder_refresh_info_sync (f, cancellable, NULL);
  if (!check)
    g_object_set (mail->store, "need-summary-check", FALSE, NULL);
  g_mutex_unlock (&check_lock);
  return ok;
}

/* Finds the message @item_id names: at its place when the uid there is
 * that message, else wherever a message carries it in its tag (it moved).
 * Returns (transfer full) the folder with *out_uid, or NULL with
 * LIA_ERROR_NOT_FOUND. */
CamelFolder *
lia_evo_mail_locate (LiaEvoMail *mail, const char *item_id, char **out_uid, CamelMessageInfo **out_info,
                     GCancellable *cancellable, GError **error)
{
  g_autofree char *uid = NULL;
  g_autofree char *name = own_full_name (mail, item_id, TRUE, &uid);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  CamelFolderInfo *fi;

  if (name == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return NULL;
    }
  {
    g_autoptr (CamelFolder) f = lia_evo_mail_ref_folder (mail, name, cancellable, &local);
    g_autoptr (CamelMessageInfo) info = f != NULL ? camel_folder_get_message_info (f, uid) : NULL;

    if (f == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
      {
        g_propagate_error (error, g_steal_pointer (&local));
        return NULL;
      }
    /* A local folder learns of a file delivered into it (an MDA, another
     * program) only when refreshed, which Evolution does when the user
     * opens it: an id naming a message not in the summary refreshes it
     * once (a directory scan) before looking further. */
    if (f != NULL && info == NULL && is_local_store (mail) && refresh_local (mail, f, cancellable))
      info = camel_folder_get_message_info (f, uid);
    if (info != NULL)
      {
        const char *tagged = camel_message_info_get_user_tag (info, TAG_ITEM_ID);

        /* A uid reused by another message (a rebuilt IMAP folder) is not
         * this message: its tag says so. */
        if (tagged == NULL || g_str_equal (tagged, item_id))
          {
            *out_uid = g_steal_pointer (&uid);
            *out_info = g_steal_pointer (&info);
            return g_steal_pointer (&f);
          }
      }
    if (f != NULL)
      g_ptr_array_add (names, g_strdup (name));
  }
  /* Moved: the open folders first (the default ones), then the rest. */
  g_mutex_lock (&mail->lock);
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, mail->folders);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_str_equal (key, name))
        g_ptr_array_add (names, g_strdup (key));
  }
  g_mutex_unlock (&mail->lock);
  fi = camel_store_get_folder_info_sync (mail->store, NULL, CAMEL_STORE_FOLDER_INFO_RECURSIVE, cancellable,
                                         NULL);
  collect_names (fi, names);
  camel_folder_info_free (fi);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      g_autoptr (CamelFolder) f = NULL;
      g_autofree char *found = NULL;

      /* Listed twice (open and in the tree): the second search is cheap. */
      f = lia_evo_mail_ref_folder (mail, n, cancellable, NULL);
      if (f == NULL)
        continue;
      found = search_tag (f, item_id, cancellable);
      if (found != NULL)
        {
          CamelMessageInfo *info = camel_folder_get_message_info (f, found);

          if (info == NULL)
            continue;
          *out_uid = g_steal_pointer (&found);
          *out_info = info;
          return g_steal_pointer (&f);
        }
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
  return NULL;
}

LiaHostItem *
lia_evo_mail_read_item_sync (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable, GError **error)
{
  g_autofree char *uid = NULL;
  g_autofree char *folder_id = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (CamelMimeMessage) msg = NULL;
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (GError) local = NULL;
  const char *full;
  const char *regarding;
  LiaHostItem *hi;

  g_return_val_if_fail (mail != NULL && item_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  f = lia_evo_mail_locate (mail, item_id, &uid, &info, cancellable, error);
  if (f == NULL)
    return NULL;
  full = camel_folder_get_full_name (f);
  msg = camel_folder_get_message_sync (f, uid, cancellable, &local);
  if (msg == NULL)
    {
      lia_evo_mail_translate_error (&local, LIA_ERROR_INVALID);
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  item = lia_evo_mail_message_to_item (msg, mail->account_address, is_folder (mail, full, LIA_EVO_MAIL_SENT),
                                       cancellable, &local);
  if (item == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  /* Regarding lives in the properties; the field is what the engine
   * merges (R-MARK-REGARDING). */
  regarding = camel_message_info_get_user_tag (info, lia_evo_mail_tag_names[LIA_HOST_PROP_REGARDING]);
  if (regarding != NULL)
    {
      LiaEntity entity = LIA_ENTITY_ACCOUNT;
      const char *e = camel_message_info_get_user_tag (info, TAG_REGARDING_ENTITY);
      g_autoptr (LiaValue) ref = NULL;

      if (e != NULL)
        lia_entity_from_string (e, &entity);
      ref = lia_value_new_reference (entity, regarding,
                                     camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
      if (ref != NULL)
        lia_item_set (item, "regarding", ref, NULL);
    }
  folder_id = lia_evo_mail_folder_id (lia_evo_mail_get_store_uid (mail), full);
  hi = lia_host_item_new (lia_evo_mail_get_store_id (mail), folder_id, item_id, item);
  hi->modified_at = info_modified_at (info);
  hi->is_draft = is_folder (mail, full, LIA_EVO_MAIL_DRAFTS);
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      const char *v = camel_message_info_get_user_tag (info, lia_evo_mail_tag_names[p]);

      if (p == LIA_HOST_PROP_ORIGINAL && v != NULL)
        {
          gsize len = 0;
          g_autofree guchar *raw = g_base64_decode (v, &len);
          g_autofree char *text = g_strndup ((const char *) raw, len);

          lia_host_props_set (&hi->props, LIA_HOST_PROP_ORIGINAL, text);
        }
      else if (v != NULL)
        lia_host_props_set (&hi->props, (LiaHostProp) p, v);
    }
  if (!(hi->props.mask & (1u << LIA_HOST_PROP_LINK_STATE))
      && lia_evo_mail_info_link_state (info) != LIA_LINK_STATE_NONE)
    {
      hi->props.mask |= 1u << LIA_HOST_PROP_LINK_STATE;
      hi->props.link_state = lia_evo_mail_info_link_state (info);
    }
  if (hi->props.mask & (1u << LIA_HOST_PROP_REGARDING))
    hi->props.regarding_name = g_strdup (camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
  return hi;
}

/* ---- Async twins: the sync bodies in a GTask thread ---- */

void
lia_evo_mail_call_free (LiaEvoMailCall *call)
{
  g_free (call->folder);
  g_free (call->item_id);
  lia_item_free (call->fields);
  lia_host_props_clear (&call->props);
  g_free (call->place);
  g_free (call->sig);
  g_free (call);
}

GTask *
lia_evo_mail_call_task (LiaEvoMail *mail, gpointer tag, const char *name, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data, LiaEvoMailCall **out_call)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  LiaEvoMailCall *call = g_new0 (LiaEvoMailCall, 1);

  call->mail = mail;
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, (GDestroyNotify) lia_evo_mail_call_free);
  *out_call = call;
  return task;
}

static void
read_contents_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LiaEvoMailCall *call = data;
  GError *error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (call->mail, call->folder, call->offset, call->limit,
                                                     cancellable, &error);

  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
lia_evo_mail_read_contents_async (LiaEvoMail *mail, const char *folder_id, guint offset, guint limit,
                                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoMailCall *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && folder_id != NULL);
  task = lia_evo_mail_call_task (mail, lia_evo_mail_read_contents_async, "[liaison] read mail contents",
                                 cancellable, callback, user_data, &call);
  call->folder = g_strdup (folder_id);
  call->offset = offset;
  call->limit = limit;
  g_task_run_in_thread (task, read_contents_thread);
}

GPtrArray *
lia_evo_mail_read_contents_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_read_contents_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
read_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LiaEvoMailCall *call = data;
  GError *error = NULL;
  LiaHostItem *hi = lia_evo_mail_read_item_sync (call->mail, call->item_id, cancellable, &error);

  if (hi == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, hi, (GDestroyNotify) lia_host_item_free);
}

void
lia_evo_mail_read_item_async (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoMailCall *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL);
  task = lia_evo_mail_call_task (mail, lia_evo_mail_read_item_async, "[liaison] read mail", cancellable,
                                 callback, user_data, &call);
  call->item_id = g_strdup (item_id);
  g_task_run_in_thread (task, read_item_thread);
}

LiaHostItem *
lia_evo_mail_read_item_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_read_item_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
lia_evo_mail_is_result (GAsyncResult *result)
{
  gpointer tag;

  if (!G_IS_TASK (result))
    return FALSE;
  tag = g_task_get_source_tag (G_TASK (result));
  return tag == lia_evo_mail_read_contents_async || tag == lia_evo_mail_read_item_async
         || tag == lia_evo_mail_write_props_async;
}

typedef struct
{
  LiaEvoMail *mail;
} Resolve;

static void
resolve_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (lia_evo_mail_resolve_folders_sync (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
lia_evo_mail_resolve_folders_async (LiaEvoMail *mail, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lia_evo_mail_resolve_folders_async);
  g_task_set_name (task, "[liaison] find mail folders");
  g_task_set_task_data (task, mail, NULL);
  g_task_run_in_thread (task, resolve_thread);
}

gboolean
lia_evo_mail_resolve_folders_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
