/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-private.h"

#define ITEM_PREFIX "mail:"

/* User tags, indexed by LiaHostProp; regarding takes two. The original is
 * base64 so that no byte of OriginalXML depends on how a summary backend
 * stores tag values. */
static const char *const tag_names[] = {
  [LIA_HOST_PROP_LINK_STATE] = "liaison-link-state",  [LIA_HOST_PROP_CRM_ID] = "liaison-crm-id",
  [LIA_HOST_PROP_CRM_ORG] = "liaison-crm-org",        [LIA_HOST_PROP_ORIGINAL] = "liaison-original",
  [LIA_HOST_PROP_REGARDING] = "liaison-regarding-id",
};
G_STATIC_ASSERT (G_N_ELEMENTS (tag_names) == LIA_HOST_PROP_N);
#define TAG_REGARDING_NAME "liaison-regarding-name"

/* ---- A session for processes that are not Evolution ---- */

/* CamelSession does everything a local store needs; the subclass exists so
 * that a standalone session is recognisable in a debugger and has a place
 * for password prompts should a remote store ever be added. */
#define LIA_TYPE_EVO_MAIL_SESSION (lia_evo_mail_session_get_type ())
G_DECLARE_FINAL_TYPE (LiaEvoMailSession, lia_evo_mail_session, LIA, EVO_MAIL_SESSION, CamelSession)

struct _LiaEvoMailSession
{
  CamelSession parent_instance;
};

G_DEFINE_TYPE (LiaEvoMailSession, lia_evo_mail_session, CAMEL_TYPE_SESSION)

static void
lia_evo_mail_session_class_init (LiaEvoMailSessionClass *klass)
{
}

static void
lia_evo_mail_session_init (LiaEvoMailSession *self)
{
}

CamelSession *
lia_evo_mail_session_new (const char *data_dir, const char *cache_dir)
{
  static gsize inited = 0;

  g_return_val_if_fail (data_dir != NULL && cache_dir != NULL, NULL);
  if (g_once_init_enter (&inited))
    {
      /* No NSS: local stores need no certificates. */
      camel_init (data_dir, FALSE);
      /* Evolution loads the provider modules at start-up; a standalone
       * process must, or no store protocol is known. */
      camel_provider_init ();
      g_once_init_leave (&inited, 1);
    }
  return g_object_new (LIA_TYPE_EVO_MAIL_SESSION, "user-data-dir", data_dir, "user-cache-dir", cache_dir,
                       NULL);
}

CamelStore *
lia_evo_mail_add_maildir_sync (CamelSession *session, const char *uid, const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (CamelService) service = NULL;
  g_autoptr (CamelSettings) settings = NULL;

  g_return_val_if_fail (CAMEL_IS_SESSION (session), NULL);
  g_return_val_if_fail (uid != NULL && path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  service = camel_session_add_service (session, uid, "maildir", CAMEL_PROVIDER_STORE, &local);
  if (service == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "cannot open maildir \"%s\": %s", path,
                   local != NULL ? local->message : "no maildir provider");
      return NULL;
    }
  if (!CAMEL_IS_STORE (service))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "service \"%s\" is not a store", uid);
      return NULL;
    }
  settings = camel_service_ref_settings (service);
  camel_local_settings_set_path (CAMEL_LOCAL_SETTINGS (settings), path);
  return CAMEL_STORE (g_steal_pointer (&service));
}

/* ---- The adapter ---- */

struct _LiaEvoMail
{
  CamelStore *store;     /* owned */
  char *account_address; /* owned, nullable */
  char *sent_folder;     /* owned, nullable */
  GMutex lock;
  /* Folders once opened stay open so that their summaries (and the
   * properties written into them) live until lia_evo_mail_free(). */
  GHashTable *folders; /* owned: full name -> CamelFolder; guarded by lock */
};

LiaEvoMail *
lia_evo_mail_new (CamelStore *store, const char *account_address, const char *sent_folder)
{
  LiaEvoMail *mail;

  g_return_val_if_fail (CAMEL_IS_STORE (store), NULL);
  mail = g_new0 (LiaEvoMail, 1);
  mail->store = g_object_ref (store);
  mail->account_address = g_strdup (account_address);
  mail->sent_folder = g_strdup (sent_folder);
  g_mutex_init (&mail->lock);
  mail->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  return mail;
}

void
lia_evo_mail_free (LiaEvoMail *mail)
{
  GHashTableIter iter;
  gpointer folder;

  if (mail == NULL)
    return;
  g_hash_table_iter_init (&iter, mail->folders);
  while (g_hash_table_iter_next (&iter, NULL, &folder))
    {
      g_autoptr (GError) error = NULL;

      /* Writes were saved when made; this only catches what Camel itself
       * changed meanwhile (a refresh), so a failure is worth a line. */
      if (!camel_folder_synchronize_sync (folder, FALSE, NULL, &error))
        g_debug ("saving folder \"%s\": %s", camel_folder_get_full_name (folder), error->message);
    }
  g_hash_table_unref (mail->folders);
  g_mutex_clear (&mail->lock);
  g_object_unref (mail->store);
  g_free (mail->account_address);
  g_free (mail->sent_folder);
  g_free (mail);
}

const char *
lia_evo_mail_get_store_id (LiaEvoMail *mail)
{
  return camel_service_get_uid (CAMEL_SERVICE (mail->store));
}

char *
lia_evo_mail_item_id (const char *folder, const char *uid)
{
  g_autofree char *f = NULL;
  g_autofree char *u = NULL;

  if (folder == NULL || uid == NULL)
    return NULL;
  f = g_uri_escape_string (folder, NULL, TRUE);
  u = g_uri_escape_string (uid, NULL, TRUE);
  return g_strconcat (ITEM_PREFIX, f, "/", u, NULL);
}

gboolean
lia_evo_mail_parse_item_id (const char *item_id, char **out_folder, char **out_uid)
{
  const char *rest;
  const char *slash;
  g_autofree char *f_esc = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *uid = NULL;

  if (item_id == NULL || !g_str_has_prefix (item_id, ITEM_PREFIX))
    return FALSE;
  rest = item_id + strlen (ITEM_PREFIX);
  slash = strchr (rest, '/');
  if (slash == NULL)
    return FALSE;
  f_esc = g_strndup (rest, (gsize) (slash - rest));
  folder = g_uri_unescape_string (f_esc, NULL);
  uid = g_uri_unescape_string (slash + 1, NULL);
  if (folder == NULL || uid == NULL || *folder == '\0' || *uid == '\0')
    return FALSE;
  *out_folder = g_steal_pointer (&folder);
  *out_uid = g_steal_pointer (&uid);
  return TRUE;
}

/* Camel's errors become LIA_ERROR once, here. */
static void
translate_error (GError **error, LiaErrorCode code)
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

/* (transfer full) the open folder @name. The first open refreshes the
 * summary from disk, so messages delivered while no engine ran are seen. */
static CamelFolder *
ref_folder (LiaEvoMail *mail, const char *name, GCancellable *cancellable, GError **error)
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
      translate_error (error, LIA_ERROR_NOT_FOUND);
      return NULL;
    }
  if (!camel_folder_refresh_info_sync (opened, cancellable, error))
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return NULL;
    }
  g_mutex_lock (&mail->lock);
  /* Another worker may have opened it meanwhile: keep the first. */
  folder = g_hash_table_lookup (mail->folders, name);
  if (folder == NULL)
    {
      folder = opened;
      g_hash_table_insert (mail->folders, g_strdup (name), g_object_ref (opened));
    }
  g_object_ref (folder);
  g_mutex_unlock (&mail->lock);
  return folder;
}

static LiaLinkState
info_link_state (CamelMessageInfo *info)
{
  const char *tag = camel_message_info_get_user_tag (info, tag_names[LIA_HOST_PROP_LINK_STATE]);
  guint64 n = 0;

  if (tag != NULL && g_ascii_string_to_unsigned (tag, 10, 0, LIA_LINK_STATE_N - 1, &n, NULL))
    return (LiaLinkState) n;
  /* The flag alone survives where tags are not kept (another client of
   * the same IMAP account). */
  if (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED))
    return LIA_LINK_STATE_TRACKED;
  return LIA_LINK_STATE_NONE;
}

static gint64
info_modified_at (CamelMessageInfo *info)
{
  gint64 t = camel_message_info_get_date_received (info);

  if (t <= 0)
    t = camel_message_info_get_date_sent (info);
  return t > 0 ? t * G_USEC_PER_SEC : 0;
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

GPtrArray *
lia_evo_mail_read_contents_sync (LiaEvoMail *mail, const char *folder, guint offset, guint limit,
                                 GCancellable *cancellable, GError **error)
{
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *uids;
  GPtrArray *page;

  g_return_val_if_fail (mail != NULL && folder != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  f = ref_folder (mail, folder, cancellable, error);
  if (f == NULL)
    return NULL;
  /* The whole folder from the summary (no message is opened): sorting
   * needs every date, and the summary answers from memory or its db. */
  uids = camel_folder_search_by_expression (f, "(match-all #t)", cancellable, error);
  if (uids == NULL)
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return NULL;
    }
  all = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = 0; i < uids->len; i++)
    {
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, g_ptr_array_index (uids, i));
      g_autofree char *id = NULL;

      if (info == NULL)
        continue;
      id = lia_evo_mail_item_id (folder, camel_message_info_get_uid (info));
      g_ptr_array_add (
          all, lia_host_row_new (id, info_modified_at (info), info_link_state (info),
                                 camel_message_info_get_user_tag (info, tag_names[LIA_HOST_PROP_CRM_ID])));
    }
  camel_folder_search_free (f, uids);
  g_ptr_array_sort (all, row_newest_first);
  page = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = offset; i < all->len && i - offset < limit; i++)
    g_ptr_array_add (page, g_steal_pointer (&g_ptr_array_index (all, i)));
  return page;
}

/* ---- Messages to LiaItem ---- */

/* Valid UTF-8 without NUL and without CR, cut at @max bytes on a
 * character boundary: what a LiaValue text accepts. */
static char *
clean_text (const char *text, gssize len, gsize max)
{
  g_autofree char *valid = g_utf8_make_valid (text, len);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p++)
    if (*p != '\r')
      g_string_append_c (out, *p);
  if (out->len > max)
    {
      const char *cut = g_utf8_find_prev_char (out->str, out->str + max + 1);

      g_string_truncate (out, cut != NULL ? (gsize) (cut - out->str) : 0);
    }
  return g_string_free (out, FALSE);
}

/* Finds the body to show a CRM user: in multipart/alternative the plain
 * text, else the first text part that is not an attachment. */
static CamelDataWrapper *
find_text (CamelDataWrapper *dw, gboolean *out_html)
{
  CamelContentType *ct = camel_data_wrapper_get_mime_type_field (dw);

  if (CAMEL_IS_MULTIPART (dw))
    {
      CamelMultipart *mp = CAMEL_MULTIPART (dw);
      guint n = camel_multipart_get_number (mp);

      if (ct != NULL && camel_content_type_is (ct, "multipart", "alternative"))
        for (guint i = 0; i < n; i++)
          {
            CamelDataWrapper *child =
                camel_medium_get_content (CAMEL_MEDIUM (camel_multipart_get_part (mp, i)));
            CamelContentType *cct = child != NULL ? camel_data_wrapper_get_mime_type_field (child) : NULL;

            if (cct != NULL && camel_content_type_is (cct, "text", "plain"))
              {
                *out_html = FALSE;
                return child;
              }
          }
      for (guint i = 0; i < n; i++)
        {
          CamelMimePart *part = camel_multipart_get_part (mp, i);
          const char *disposition = camel_mime_part_get_disposition (part);
          CamelDataWrapper *child = camel_medium_get_content (CAMEL_MEDIUM (part));
          CamelDataWrapper *found;

          if (child == NULL || g_strcmp0 (disposition, "attachment") == 0)
            continue;
          found = find_text (child, out_html);
          if (found != NULL)
            return found;
        }
      return NULL;
    }
  if (ct != NULL && camel_content_type_is (ct, "text", "plain"))
    {
      *out_html = FALSE;
      return dw;
    }
  if (ct != NULL && camel_content_type_is (ct, "text", "html"))
    {
      *out_html = TRUE;
      return dw;
    }
  return NULL;
}

/* Appends the character an HTML entity at @p (after the '&') names and
 * returns how many bytes it took, or 0 when it is not one we know (the
 * '&' is then kept as text). */
static gsize
html_entity (const char *p, GString *out)
{
  static const struct
  {
    const char *name;
    const char *text;
  } named[] = {
    { "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
  };

  if (*p == '#')
    {
      const char *digits = p[1] == 'x' || p[1] == 'X' ? p + 2 : p + 1;
      guint base = digits == p + 2 ? 16 : 10;
      const char *semi;
      g_autofree char *num = NULL;
      guint64 cp = 0;
      gsize n = 0;

      /* Only up to nine digit bytes are looked at, never the rest of the
       * text: searching for the ';' from every "&#" made a body of "&#1"
       * runs quadratic (a 3 MB message stalled the sync for half a
       * minute). Any non-digit before the ';' fails the parse below, so
       * the digits the loop accepts loosely change no result. */
      while (n <= 8 && g_ascii_isxdigit (digits[n]))
        n++;
      if (n == 0 || n > 8 || digits[n] != ';')
        return 0;
      semi = digits + n;
      num = g_strndup (digits, (gsize) (semi - digits));
      if (!g_ascii_string_to_unsigned (num, base, 1, 0x10FFFF, &cp, NULL)
          || !g_unichar_validate ((gunichar) cp))
        return 0;
      g_string_append_unichar (out, (gunichar) cp);
      return (gsize) (semi - p) + 1;
    }
  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    if (g_ascii_strncasecmp (p, named[i].name, strlen (named[i].name)) == 0)
      {
        g_string_append (out, named[i].text);
        return strlen (named[i].name);
      }
  return 0;
}

/* HTML as the text a reader sees: tags dropped, the content of style,
 * script and head dropped, block ends as line breaks, entities decoded,
 * runs of white space as one space. Works on UTF-8 bytes: every byte it
 * looks for is ASCII, so multibyte characters pass through whole. */
char *
lia_evo_mail_html_to_text (const char *html)
{
  static const char *const hidden[] = { "style", "script", "head", "title" };
  static const char *const breaks[] = { "br", "p",  "/p", "div", "/div", "li",  "tr", "/tr",
                                        "h1", "h2", "h3", "/h1", "/h2",  "/h3", "hr" };
  GString *out = g_string_new (NULL);
  const char *p = html;
  gboolean space = FALSE;

  while (*p != '\0')
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');
          gsize name_len = strcspn (p + 1, " \t\r\n/>");
          gboolean skipped = FALSE;

          if (p[1] == '/')
            name_len = 1 + strcspn (p + 2, " \t\r\n>");
          if (end == NULL)
            break;
          for (guint i = 0; i < G_N_ELEMENTS (hidden); i++)
            if (name_len == strlen (hidden[i]) && g_ascii_strncasecmp (p + 1, hidden[i], name_len) == 0)
              {
                g_autofree char *close = g_strconcat ("</", hidden[i], NULL);
                const char *q = end;

                /* The closing tag, matched without case. */
                while (*q != '\0' && g_ascii_strncasecmp (q, close, strlen (close)) != 0)
                  q++;
                end = *q != '\0' ? strchr (q, '>') : NULL;
                skipped = TRUE;
                break;
              }
          if (end == NULL)
            break;
          if (!skipped)
            for (guint i = 0; i < G_N_ELEMENTS (breaks); i++)
              if (name_len == strlen (breaks[i]) && g_ascii_strncasecmp (p + 1, breaks[i], name_len) == 0)
                {
                  while (out->len > 0 && out->str[out->len - 1] == ' ')
                    g_string_truncate (out, out->len - 1);
                  if (out->len > 0
                      && !(out->len > 1 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n'))
                    g_string_append_c (out, '\n');
                  space = FALSE;
                  break;
                }
          p = end + 1;
          continue;
        }
      if (g_ascii_isspace (*p))
        {
          space = TRUE;
          p++;
          continue;
        }
      if (space && out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c (out, ' ');
      space = FALSE;
      if (*p == '&')
        {
          gsize used = html_entity (p + 1, out);

          if (used > 0)
            {
              p += used + 1;
              continue;
            }
        }
      g_string_append_c (out, *p);
      p++;
    }
  while (out->len > 0 && (out->str[out->len - 1] == '\n' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

/* (transfer full) the plain-text body, or NULL when the message has no
 * text part. Transfer encoding, charset and HTML are undone here. */
static char *
body_text (CamelMimeMessage *msg, GCancellable *cancellable)
{
  gboolean html = FALSE;
  CamelDataWrapper *content = camel_medium_get_content (CAMEL_MEDIUM (msg));
  CamelDataWrapper *text = content != NULL ? find_text (content, &html) : NULL;
  CamelContentType *ct;
  const char *charset;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *utf8 = NULL;
  gsize len;
  const char *data;

  if (text == NULL)
    return NULL;
  out = g_memory_output_stream_new_resizable ();
  if (camel_data_wrapper_decode_to_output_stream_sync (text, out, cancellable, &error) < 0
      || !g_output_stream_close (out, cancellable, &error))
    {
      g_debug ("cannot decode a message body: %s", error->message);
      return NULL;
    }
  data = g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out));
  len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  ct = camel_data_wrapper_get_mime_type_field (text);
  charset = ct != NULL ? camel_content_type_param (ct, "charset") : NULL;
  if (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0
      && g_ascii_strcasecmp (charset, "us-ascii") != 0)
    utf8 = g_convert (data != NULL ? data : "", (gssize) len, "UTF-8", camel_iconv_charset_name (charset),
                      NULL, NULL, NULL);
  /* No charset, or a wrong one: UTF-8 if it is, else the Latin-1 that
   * most unlabelled mail is. */
  if (utf8 == NULL && data != NULL && !g_utf8_validate (data, (gssize) len, NULL))
    utf8 = g_convert (data, (gssize) len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
  if (utf8 == NULL)
    utf8 = g_strndup (data != NULL ? data : "", len);
  if (html)
    {
      g_autofree char *plain = lia_evo_mail_html_to_text (utf8);

      return clean_text (plain, -1, LIA_EVO_MAIL_BODY_MAX);
    }
  return clean_text (utf8, -1, LIA_EVO_MAIL_BODY_MAX);
}

/* (transfer full) a party list of @addr, or NULL when it is empty. */
static LiaValue *
parties_value (CamelInternetAddress *addr)
{
  gint n = addr != NULL ? camel_address_length (CAMEL_ADDRESS (addr)) : 0;
  g_autofree LiaParty *parties = NULL;
  g_autoptr (GPtrArray) strings = NULL;
  gsize count = 0;

  if (n <= 0)
    return NULL;
  parties = g_new0 (LiaParty, n);
  strings = g_ptr_array_new_with_free_func (g_free);
  for (gint i = 0; i < n; i++)
    {
      const char *name = NULL;
      const char *address = NULL;
      char *a;
      char *nm;

      if (!camel_internet_address_get (addr, i, &name, &address))
        continue;
      a = address != NULL && *address != '\0' ? clean_text (address, -1, G_MAXSIZE) : NULL;
      nm = name != NULL && *name != '\0' ? clean_text (name, -1, G_MAXSIZE) : NULL;
      if (a == NULL && nm == NULL)
        continue;
      if (a != NULL)
        g_ptr_array_add (strings, a);
      if (nm != NULL)
        g_ptr_array_add (strings, nm);
      parties[count].address = a;
      parties[count].name = nm;
      parties[count].entity = LIA_ENTITY_N;
      count++;
    }
  return count > 0 ? lia_value_new_party_list (parties, count) : NULL;
}

/* A header as one line: folded whitespace collapsed, NULL when absent. */
static char *
header_line (CamelMimeMessage *msg, const char *name)
{
  const char *raw = camel_medium_get_header (CAMEL_MEDIUM (msg), name);
  g_autofree char *valid = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) kept = NULL;

  if (raw == NULL)
    return NULL;
  valid = clean_text (raw, -1, G_MAXSIZE);
  words = g_strsplit_set (valid, " \t\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_strv_builder_add (b, words[i]);
  kept = g_strv_builder_end (b);
  return kept[0] != NULL ? g_strjoinv (" ", kept) : NULL;
}

static gboolean
set_value (LiaItem *item, const char *field, LiaValue *value, GError **error)
{
  g_autoptr (LiaValue) v = value;

  return v == NULL || lia_item_set (item, field, v, error);
}

static gboolean
set_text (LiaItem *item, const char *field, char *text, GError **error)
{
  g_autofree char *t = text;

  return t == NULL || lia_item_set_text (item, field, t, error);
}

/* The one reading of a message, whether it comes from a folder or from
 * bytes (lia_evo_mail_item_from_bytes()). */
static LiaItem *
message_to_item (CamelMimeMessage *msg, const char *account_address, gboolean in_sent,
                 GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
  CamelInternetAddress *from = camel_mime_message_get_from (msg);
  const char *from_address = NULL;
  gboolean outgoing;
  const char *subject = camel_mime_message_get_subject (msg);
  const char *message_id = camel_mime_message_get_message_id (msg);
  gint offset = 0;
  time_t date = camel_mime_message_get_date (msg, &offset);

  if (from == NULL || !camel_internet_address_get (from, 0, NULL, &from_address) || from_address == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "the message has no sender");
      return NULL;
    }
  outgoing = in_sent || (account_address != NULL && g_ascii_strcasecmp (from_address, account_address) == 0);
  if (date == CAMEL_MESSAGE_DATE_CURRENT || date <= 0)
    date = camel_mime_message_get_date_received (msg, &offset);
  if (!set_value (item, "direction", lia_value_new_enum (outgoing ? "outgoing" : "incoming"), error)
      || !set_value (item, "from", parties_value (from), error)
      || !set_value (item, "to",
                     parties_value (camel_mime_message_get_recipients (msg, CAMEL_RECIPIENT_TYPE_TO)), error)
      || !set_value (item, "cc",
                     parties_value (camel_mime_message_get_recipients (msg, CAMEL_RECIPIENT_TYPE_CC)), error)
      || !set_text (item, "subject", subject != NULL ? clean_text (subject, -1, G_MAXSIZE) : NULL, error)
      || !set_text (item, "body", body_text (msg, cancellable), error)
      /* The header's form, angle brackets included, as In-Reply-To and
       * References name it: R-MAIL-CORRELATE-SMART compares them. */
      || !set_text (item, "message-id", message_id != NULL ? g_strdup_printf ("<%s>", message_id) : NULL,
                    error)
      || !set_text (item, "in-reply-to", header_line (msg, "In-Reply-To"), error)
      || !set_text (item, "references", header_line (msg, "References"), error)
      || !set_value (item, "date",
                     date != CAMEL_MESSAGE_DATE_CURRENT && date > 0
                         ? lia_value_new_datetime ((gint64) date * G_USEC_PER_SEC, NULL)
                         : NULL,
                     error))
    return NULL;
  return g_steal_pointer (&item);
}

LiaItem *
lia_evo_mail_item_from_bytes (const char *data, gsize len, const char *account_address, gboolean in_sent,
                              GError **error)
{
  g_autoptr (CamelMimeMessage) msg = NULL;
  g_autoptr (CamelStream) stream = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg = camel_mime_message_new ();
  stream = camel_stream_mem_new_with_buffer (data != NULL ? data : "", len);
  if (!camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, error))
    {
      translate_error (error, LIA_ERROR_INVALID);
      return NULL;
    }
  return message_to_item (msg, account_address, in_sent, NULL, error);
}

LiaHostItem *
lia_evo_mail_read_item_sync (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable, GError **error)
{
  g_autofree char *folder = NULL;
  g_autofree char *uid = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (CamelMimeMessage) msg = NULL;
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (GError) local = NULL;
  LiaHostItem *hi;

  g_return_val_if_fail (mail != NULL && item_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!lia_evo_mail_parse_item_id (item_id, &folder, &uid))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return NULL;
    }
  f = ref_folder (mail, folder, cancellable, error);
  if (f == NULL)
    return NULL;
  info = camel_folder_get_message_info (f, uid);
  if (info == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return NULL;
    }
  msg = camel_folder_get_message_sync (f, uid, cancellable, &local);
  if (msg == NULL)
    {
      translate_error (&local, LIA_ERROR_INVALID);
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  item = message_to_item (msg, mail->account_address,
                          mail->sent_folder != NULL && g_strcmp0 (folder, mail->sent_folder) == 0,
                          cancellable, &local);
  if (item == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  hi = lia_host_item_new (lia_evo_mail_get_store_id (mail), folder, item_id, item);
  hi->modified_at = info_modified_at (info);
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      const char *v = camel_message_info_get_user_tag (info, tag_names[p]);

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
  if (!(hi->props.mask & (1u << LIA_HOST_PROP_LINK_STATE)) && info_link_state (info) != LIA_LINK_STATE_NONE)
    {
      hi->props.mask |= 1u << LIA_HOST_PROP_LINK_STATE;
      hi->props.link_state = info_link_state (info);
    }
  if (hi->props.mask & (1u << LIA_HOST_PROP_REGARDING))
    hi->props.regarding_name = g_strdup (camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
  return hi;
}

gboolean
lia_evo_mail_write_props_sync (LiaEvoMail *mail, const char *item_id, const LiaHostProps *props,
                               GCancellable *cancellable, GError **error)
{
  g_autofree char *folder = NULL;
  g_autofree char *uid = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;

  g_return_val_if_fail (mail != NULL && item_id != NULL && props != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!lia_evo_mail_parse_item_id (item_id, &folder, &uid))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return FALSE;
    }
  f = ref_folder (mail, folder, cancellable, error);
  if (f == NULL)
    return FALSE;
  info = camel_folder_get_message_info (f, uid);
  if (info == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return FALSE;
    }
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      g_autofree char *owned = NULL;
      const char *value = NULL;

      if (!(props->mask & (1u << p)))
        continue;
      switch ((LiaHostProp) p)
        {
        case LIA_HOST_PROP_LINK_STATE:
          /* State 0 is the absence of the tag: untracked mail carries
           * nothing of ours. */
          if (props->link_state != LIA_LINK_STATE_NONE)
            value = owned = g_strdup_printf ("%u", (guint) props->link_state);
          camel_message_info_set_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED,
                                            props->link_state == LIA_LINK_STATE_TRACKED);
          break;
        case LIA_HOST_PROP_CRM_ID:
          value = props->crm_id;
          break;
        case LIA_HOST_PROP_CRM_ORG:
          value = props->crm_org;
          break;
        case LIA_HOST_PROP_ORIGINAL:
          if (props->original != NULL)
            value = owned = g_base64_encode ((const guchar *) props->original, strlen (props->original));
          break;
        case LIA_HOST_PROP_REGARDING:
          value = props->regarding_id;
          camel_message_info_set_user_tag (info, TAG_REGARDING_NAME,
                                           props->regarding_id != NULL ? props->regarding_name : NULL);
          break;
        case LIA_HOST_PROP_N:
        default:
          g_assert_not_reached ();
        }
      camel_message_info_set_user_tag (info, tag_names[p], value);
    }
  if (!camel_folder_synchronize_sync (f, FALSE, cancellable, error))
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  return TRUE;
}

/* ---- Async twins: the sync bodies in a GTask thread ---- */

typedef struct
{
  LiaEvoMail *mail; /* borrowed: outlives its calls */
  char *folder;     /* owned */
  char *item_id;    /* owned */
  guint offset;
  guint limit;
  LiaHostProps props;
} Call;

static void
call_free (Call *call)
{
  g_free (call->folder);
  g_free (call->item_id);
  lia_host_props_clear (&call->props);
  g_free (call);
}

static GTask *
call_task (LiaEvoMail *mail, gpointer tag, const char *name, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, Call **out_call)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  call->mail = mail;
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  *out_call = call;
  return task;
}

static void
read_contents_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  GError *error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (call->mail, call->folder, call->offset, call->limit,
                                                     cancellable, &error);

  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
lia_evo_mail_read_contents_async (LiaEvoMail *mail, const char *folder, guint offset, guint limit,
                                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && folder != NULL);
  task = call_task (mail, lia_evo_mail_read_contents_async, "[liaison] read mail contents", cancellable,
                    callback, user_data, &call);
  call->folder = g_strdup (folder);
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
  Call *call = data;
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
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL);
  task = call_task (mail, lia_evo_mail_read_item_async, "[liaison] read mail", cancellable, callback,
                    user_data, &call);
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

static void
write_props_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  GError *error = NULL;

  if (lia_evo_mail_write_props_sync (call->mail, call->item_id, &call->props, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
lia_evo_mail_write_props_async (LiaEvoMail *mail, const char *item_id, const LiaHostProps *props,
                                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL && props != NULL);
  task = call_task (mail, lia_evo_mail_write_props_async, "[liaison] write mail properties", cancellable,
                    callback, user_data, &call);
  call->item_id = g_strdup (item_id);
  lia_host_props_copy (&call->props, props);
  g_task_run_in_thread (task, write_props_thread);
}

gboolean
lia_evo_mail_write_props_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_write_props_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
