/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail adapter: a MIME message as a LiaItem email (pure: no store,
 * no I/O beyond memory; the fuzz target's subject). */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-internal.h"

/* ---- Messages to LiaItem ---- */

/* Valid UTF-8 without NUL and without CR, cut at @max bytes on a
 * character boundary: what a LiaValue text accepts. */
static char *
clean_text (const char *text, gssize len, gsize max)
{
  g_autofree char *made = NULL;
  const char *valid = text;
  const char *end;
  GString *out;

  /* Most text is valid already: no copy to make it so. Valid UTF-8 holds
   * no NUL within @len, so both ways stop where the text does. */
  if (!g_utf8_validate_len (text, len < 0 ? strlen (text) : (gsize) len, NULL))
    valid = made = g_utf8_make_valid (text, len);
  else if (len < 0)
    len = (gssize) strlen (text);
  end = made != NULL ? made + strlen (made) : text + len;
  out = g_string_sized_new ((gsize) (end - valid));
  for (const char *p = valid; p < end; p++)
    if (*p != '\r')
      g_string_append_c (out, *p);
  if (out->len > max)
    {
      const char *cut = g_utf8_find_prev_char (out->str, out->str + max + 1);

      g_string_truncate (out, cut != NULL ? (gsize) (cut - out->str) : 0);
    }
  return g_string_free (out, FALSE);
}

/* clean_text() on one line: every control character (a CR or LF that an
 * encoded word smuggled into a header, a tab) becomes a space, so that a
 * subject or an address can never carry a second header line into the CRM
 * or into anything that prints it. */
static char *
one_line (const char *text)
{
  char *t = clean_text (text, -1, G_MAXSIZE);

  for (char *p = t; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return t;
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
  /* Plain UTF-8 as decoded, cleaned without a copy first. */
  if (utf8 == NULL && !html)
    return clean_text (data != NULL ? data : "", data != NULL ? (gssize) len : 0, LIA_EVO_MAIL_BODY_MAX);
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
      a = address != NULL && *address != '\0' ? one_line (address) : NULL;
      nm = name != NULL && *name != '\0' ? one_line (name) : NULL;
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
  valid = one_line (raw);
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
LiaItem *
lia_evo_mail_message_to_item (CamelMimeMessage *msg, const char *account_address, gboolean in_sent,
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
      || !set_text (item, "subject", subject != NULL ? one_line (subject) : NULL, error)
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
      lia_evo_mail_translate_error (error, LIA_ERROR_INVALID);
      return NULL;
    }
  return lia_evo_mail_message_to_item (msg, account_address, in_sent, NULL, error);
}
