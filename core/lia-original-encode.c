/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <liaison/liaison.h>

#include "lia-original-private.h"

/* OriginalXML: the format is specified in include/liaison/lia-original.h.
 *
 * Invariants this file and lia-original-decode.c keep together:
 *
 * - encode(item) is a function of lia_item_identical() classes: fields in
 *   registry order, attributes in a fixed order, members left out exactly
 *   when they are absent or zero, base64 exactly when XML 1.0 cannot carry a
 *   string. So originals compare byte for byte.
 * - Whatever encode writes, decode reads back identical: encode refuses
 *   (instead of writing) anything decode would refuse, which is only a
 *   document over LIA_ORIGINAL_MAX_SIZE or an attribute string over
 *   LIA_ORIGINAL_MAX_ATTRIBUTE.
 * - decode returns a complete item or NULL with one LIA_ERROR_INVALID; it
 *   never leaves a half-built item behind and never lets libxml2 report
 *   anywhere but into that error.
 *
 * Decoding streams through libxml2's SAX2 push parser, one fresh context a
 * document: measured on the target machine, this is faster than building a
 * tree (about 3x) and than xmlCtxtReadMemory on a reused context, and a
 * fresh context carries no state (dictionary growth, options) from one
 * document to the next. Every option and handler is set on the context, so
 * a host process that changed libxml2's global defaults does not change how
 * OriginalXML is read, and nothing here changes them for the host. */

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

/* GString's appends are calls out of line, and a document is a few hundred
 * small pieces: these inline the common case, where the buffer has room. */
static inline void
out_append_len (GString *out, const char *s, gsize n)
{
  if (G_LIKELY (out->len + n < out->allocated_len))
    {
      memcpy (out->str + out->len, s, n);
      out->len += n;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_len (out, s, (gssize) n);
}

static inline void
out_append (GString *out, const char *s)
{
  out_append_len (out, s, strlen (s));
}

#define out_append_literal(out, s) out_append_len ((out), "" s, sizeof (s) - 1)

static void
append_int64 (GString *out, gint64 v)
{
  char buf[24];
  char *p = buf + sizeof buf;
  /* Negate in unsigned arithmetic: G_MININT64 has no positive twin. */
  guint64 u = v < 0 ? -(guint64) v : (guint64) v;

  do
    {
      *--p = (char) ('0' + u % 10);
      u /= 10;
    }
  while (u != 0);
  if (v < 0)
    *--p = '-';
  out_append_len (out, p, buf + sizeof buf - p);
}

static void
append_digits (GString *out, guint v, guint width)
{
  char buf[16];
  char *p = buf + sizeof buf;

  do
    {
      *--p = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v != 0 || buf + sizeof buf - p < (gssize) width);
  out_append_len (out, p, buf + sizeof buf - p);
}

/* Appends @len bytes of valid UTF-8 escaped for element content or for a
 * double-quoted attribute value. Returns FALSE, with @out as it was, when
 * the text holds a character XML 1.0 cannot carry at all, not even as a
 * character reference: C0 controls other than tab, newline and carriage
 * return, and U+FFFE/U+FFFF (UTF-8 EF BF BE/BF). Carriage returns are always
 * written as references, because parsers turn raw CR and CRLF into LF; in
 * attributes tab and newline too, because parsers turn them into spaces. */
static gboolean
append_escaped (GString *out, const char *text, gsize len, gboolean attribute)
{
  const guchar *p = (const guchar *) text;
  const guchar *end = p + len;
  const guchar *run = p;
  gsize mark = out->len;

  for (; p < end; p++)
    {
      const char *ref;
      guchar c = *p;

      /* Fast path: every byte above '>' except EF (the lead byte of
       * U+FFFE/U+FFFF) goes out as it is. */
      if (c > '>' && c != 0xef)
        continue;
      switch (c)
        {
        case '<':
          ref = "&lt;";
          break;
        case '>':
          ref = "&gt;";
          break;
        case '&':
          ref = "&amp;";
          break;
        case '"':
          if (!attribute)
            continue;
          ref = "&quot;";
          break;
        case '\r':
          ref = "&#13;";
          break;
        case '\n':
          if (!attribute)
            continue;
          ref = "&#10;";
          break;
        case '\t':
          if (!attribute)
            continue;
          ref = "&#9;";
          break;
        case 0xef:
          if (end - p >= 3 && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
            goto unrepresentable;
          continue;
        default:
          if (c < 0x20)
            goto unrepresentable;
          continue;
        }
      out_append_len (out, (const char *) run, p - run);
      out_append (out, ref);
      run = p + 1;
    }
  out_append_len (out, (const char *) run, p - run);
  return TRUE;

unrepresentable:
  g_string_truncate (out, mark);
  return FALSE;
}

static void
append_base64 (GString *out, const char *text, gsize len)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) text, len);

  out_append (out, b64);
}

/* Appends ` name="value"`, or ` name-b64="..."` for a value XML cannot
 * carry. */
static gboolean
append_string_attribute (GString *out, const LiaFieldInfo *field, const char *name, const char *value,
                         GError **error)
{
  gsize len = strlen (value);
  gsize mark = out->len;

  if (len > LIA_ORIGINAL_MAX_ATTRIBUTE)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Field \"%s\" has a %s of %" G_GSIZE_FORMAT " bytes, over OriginalXML's limit of %d",
                   field->name, name, len, LIA_ORIGINAL_MAX_ATTRIBUTE);
      return FALSE;
    }
  g_string_append_c (out, ' ');
  out_append (out, name);
  out_append_literal (out, "=\"");
  if (!append_escaped (out, value, len, TRUE))
    {
      g_string_truncate (out, mark);
      g_string_append_c (out, ' ');
      out_append (out, name);
      out_append_literal (out, "-b64=\"");
      append_base64 (out, value, len);
    }
  g_string_append_c (out, '"');
  return TRUE;
}

static void
append_raw_attribute (GString *out, const char *name, const char *value)
{
  g_string_append_c (out, ' ');
  out_append (out, name);
  out_append_literal (out, "=\"");
  out_append (out, value);
  g_string_append_c (out, '"');
}

static void
append_int_attribute (GString *out, const char *name, gint64 value)
{
  g_string_append_c (out, ' ');
  out_append (out, name);
  out_append_literal (out, "=\"");
  append_int64 (out, value);
  g_string_append_c (out, '"');
}

static void
append_close (GString *out, const char *kind)
{
  out_append_literal (out, "</");
  out_append (out, kind);
  out_append_literal (out, ">\n");
}

static gboolean
encode_parties (GString *out, const LiaFieldInfo *field, const LiaValue *value, GError **error)
{
  gsize n = lia_value_get_n_parties (value);

  if (n == 0)
    {
      out_append_literal (out, "/>\n");
      return TRUE;
    }
  g_string_append_c (out, '>');
  for (gsize i = 0; i < n; i++)
    {
      const LiaParty *party = lia_value_get_party (value, i);

      out_append_literal (out, "<party");
      if (party->address != NULL && !append_string_attribute (out, field, "address", party->address, error))
        return FALSE;
      if (party->name != NULL && !append_string_attribute (out, field, "name", party->name, error))
        return FALSE;
      if ((guint) party->entity < LIA_ENTITY_N)
        append_raw_attribute (out, "entity", lia_entity_to_string (party->entity));
      if (party->id != NULL && !append_string_attribute (out, field, "id", party->id, error))
        return FALSE;
      out_append_literal (out, "/>");
    }
  append_close (out, "parties");
  return TRUE;
}

static void
append_weekdays (GString *out, const char *name, guint mask)
{
  gboolean first = TRUE;

  g_string_append_c (out, ' ');
  out_append (out, name);
  out_append_literal (out, "=\"");
  for (guint day = 0; day < 7; day++)
    {
      if ((mask & (1u << day)) == 0)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      out_append_len (out, lia_original_weekday_codes[day], 2);
      first = FALSE;
    }
  g_string_append_c (out, '"');
}

static void
encode_recurrence (GString *out, const LiaValue *value)
{
  const LiaRecurrence *r = lia_value_get_recurrence (value);

  append_raw_attribute (out, "frequency", lia_original_frequency_names[r->frequency]);
  append_int_attribute (out, "interval", r->interval);
  if (r->count != 0)
    append_int_attribute (out, "count", r->count);
  if (r->until_us != 0)
    append_int_attribute (out, "until", r->until_us);
  if (r->by_day != 0)
    append_weekdays (out, "by-day", r->by_day);
  if (r->by_month_day != 0)
    append_int_attribute (out, "by-month-day", r->by_month_day);
  if (r->by_month != 0)
    append_int_attribute (out, "by-month", r->by_month);
  if (r->by_set_pos != 0)
    append_int_attribute (out, "by-set-pos", r->by_set_pos);
  if (r->week_start != 0)
    append_raw_attribute (out, "week-start", lia_original_weekday_codes[r->week_start]);
  if (r->n_exdates == 0)
    {
      out_append_literal (out, "/>\n");
      return;
    }
  g_string_append_c (out, '>');
  for (gsize i = 0; i < r->n_exdates; i++)
    {
      out_append_literal (out, "<exdate>");
      append_int64 (out, r->exdates_us[i]);
      out_append_literal (out, "</exdate>");
    }
  append_close (out, "recurrence");
}

static gboolean
encode_field (GString *out, const LiaFieldInfo *field, const LiaValue *value, GError **error)
{
  LiaValueKind kind = lia_value_get_kind (value);
  const char *kind_name = lia_value_kind_to_string (kind);

  /* Registry names are ASCII letters, digits and '-': no escaping needed. */
  out_append_literal (out, "  <");
  out_append (out, kind_name);
  out_append_literal (out, " field=\"");
  out_append (out, field->name);
  g_string_append_c (out, '"');

  switch (kind)
    {
    case LIA_VALUE_TEXT:
      {
        const char *text = lia_value_get_text (value);
        gsize len = strlen (text);

        g_string_append_c (out, '>');
        if (!append_escaped (out, text, len, FALSE))
          {
            g_string_truncate (out, out->len - 1);
            out_append_literal (out, " encoding=\"base64\">");
            append_base64 (out, text, len);
          }
      }
      break;
    case LIA_VALUE_DATETIME:
      {
        const char *tzid = lia_value_get_tzid (value);

        if (tzid != NULL && !append_string_attribute (out, field, "tz", tzid, error))
          return FALSE;
        g_string_append_c (out, '>');
        append_int64 (out, lia_value_get_instant (value));
      }
      break;
    case LIA_VALUE_DATE:
      {
        guint year = 0, month = 0, day = 0;

        lia_value_get_date (value, &year, &month, &day);
        g_string_append_c (out, '>');
        append_digits (out, year, 4);
        g_string_append_c (out, '-');
        append_digits (out, month, 2);
        g_string_append_c (out, '-');
        append_digits (out, day, 2);
      }
      break;
    case LIA_VALUE_INTEGER:
      g_string_append_c (out, '>');
      append_int64 (out, lia_value_get_integer (value));
      break;
    case LIA_VALUE_BOOLEAN:
      out_append (out, lia_value_get_boolean (value) ? ">true" : ">false");
      break;
    case LIA_VALUE_ENUM:
      /* Symbols are ASCII letters, digits and '-' (lia_value_new_enum). */
      g_string_append_c (out, '>');
      out_append (out, lia_value_get_enum (value));
      break;
    case LIA_VALUE_REFERENCE:
      {
        const char *id = lia_value_get_reference_id (value);
        const char *name = lia_value_get_reference_name (value);

        append_raw_attribute (out, "entity", lia_entity_to_string (lia_value_get_reference_entity (value)));
        if (id != NULL && !append_string_attribute (out, field, "id", id, error))
          return FALSE;
        if (name != NULL && !append_string_attribute (out, field, "name", name, error))
          return FALSE;
        out_append_literal (out, "/>\n");
      }
      return TRUE;
    case LIA_VALUE_PARTY_LIST:
      return encode_parties (out, field, value, error);
    case LIA_VALUE_RECURRENCE:
      encode_recurrence (out, value);
      return TRUE;
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
  append_close (out, kind_name);
  return TRUE;
}

static gboolean
check_size (gsize size, GError **error)
{
  if (size <= LIA_ORIGINAL_MAX_SIZE)
    return TRUE;
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "OriginalXML would be over its limit of %d bytes",
               LIA_ORIGINAL_MAX_SIZE);
  return FALSE;
}

char *
lia_original_encode (const LiaItem *item, gsize *out_len, GError **error)
{
  g_autoptr (GString) out = NULL;
  const LiaFieldInfo *fields;
  guint n_fields = 0;
  LiaEntity entity;

  g_return_val_if_fail (item != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entity = lia_item_get_entity (item);
  fields = lia_field_list (entity, &n_fields);
  /* A realistic contact is about 1.5 KB: one allocation in the common case. */
  out = g_string_sized_new (2048);
  out_append (out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<original xmlns=\"" LIA_ORIGINAL_NAMESPACE "\" version=\"");
  append_int64 (out, LIA_ORIGINAL_VERSION);
  out_append_literal (out, "\" entity=\"");
  out_append (out, lia_entity_to_string (entity));
  out_append_literal (out, "\">\n");
  for (guint i = 0; i < n_fields; i++)
    {
      const LiaValue *value = lia_item_get_at (item, i);

      if (value == NULL)
        continue;
      if (!encode_field (out, &fields[i], value, error))
        return NULL;
      /* Stop early rather than build megabytes that will be refused. */
      if (!check_size (out->len, error))
        return NULL;
    }
  out_append_literal (out, "</original>\n");
  if (!check_size (out->len, error))
    return NULL;

  if (out_len != NULL)
    *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
