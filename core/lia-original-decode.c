/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <liaison/liaison.h>

#include <libxml/SAX2.h>

#include "lia-original-private.h"
#include "lia-xml-private.h"

/* OriginalXML decoding; the format is specified in include/liaison/lia-original.h
 * and the invariants both halves keep are listed in lia-original-encode.c. */

/* ------------------------------------------------------------------------
 * Decoding
 *
 * SAX2 events drive a small machine keyed on the element depth:
 *
 *   depth 1  <original>            the item; its entity and version
 *   depth 2  <KIND field="NAME">   one field; an unknown NAME starts
 *                                  skipping until this element closes
 *   depth 3  <party/> <exdate>     members of parties and recurrences
 *
 * Scalar fields (text, datetime, date, integer, boolean, enum) and exdates
 * collect their character data in `chars` and become a value when their
 * element closes; references, parties and recurrences take their members
 * from attributes. A field's value is set on the item when its element
 * closes, so a slot that is already set when a field opens means the field
 * was given twice. The first failure is kept in `error` and stops the parser;
 * every handler returns at once after it.
 * ------------------------------------------------------------------------ */

typedef struct
{
  xmlParserCtxt *ctxt;        /* borrowed: the parser calling us */
  GError *error;              /* owned: the first failure, or NULL */
  LiaItem *item;              /* owned: built as fields close */
  const LiaFieldInfo *fields; /* borrowed: registry */
  guint n_fields;
  guint depth;      /* open elements; the root is 1 */
  guint skip_depth; /* depth of the unknown field being skipped, or 0 */
  gboolean done;    /* the root element closed */

  const LiaFieldInfo *field; /* borrowed: the open field, or NULL */
  guint field_index;
  guint next_field;         /* where find_field() starts looking */
  const xmlChar *uri;       /* borrowed: the namespace URI last matched */
  gboolean base64;          /* the open text field is base64 */
  gboolean in_exdate;       /* an <exdate> is open */
  GString *chars;           /* owned: character data of the open scalar or exdate */
  char *tzid;               /* owned, nullable: tz of the open datetime */
  LiaValue *pending;        /* owned, nullable: the open reference */
  GArray *parties;          /* owned: LiaParty with owned strings */
  GArray *exdates;          /* owned: gint64 */
  LiaRecurrence recurrence; /* the open recurrence; exdates_us unused */
} Decoder;

static void
party_clear (gpointer data)
{
  LiaParty *party = data;

  g_free ((char *) party->address);
  g_free ((char *) party->name);
  g_free ((char *) party->id);
}

/* @d starts zeroed, so decoder_clear() is safe before and after this. */
static void
decoder_init (Decoder *d)
{
  d->chars = g_string_sized_new (256);
  /* parties and exdates are made when a field needs them: most items
   * (contacts) have neither. */
}

static void
decoder_clear (Decoder *d)
{
  g_clear_error (&d->error);
  g_clear_pointer (&d->item, lia_item_free);
  if (d->chars != NULL)
    g_string_free (g_steal_pointer (&d->chars), TRUE);
  g_clear_pointer (&d->tzid, g_free);
  g_clear_pointer (&d->pending, lia_value_unref);
  g_clear_pointer (&d->parties, g_array_unref);
  g_clear_pointer (&d->exdates, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Decoder, decoder_clear)

static void decoder_fail (Decoder *d, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Keeps the first failure, as one line, and stops the parser. */
static void
decoder_fail (Decoder *d, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (d->error != NULL)
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (&d->error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid OriginalXML at line %d: %s",
               xmlSAX2GetLineNumber (d->ctxt), message);
  xmlStopParser (d->ctxt);
}

/* A user-supplied string for a message: at most 100 characters, control
 * characters replaced, so the message stays one short line. */
static char *
quote (const xmlChar *s, gsize len)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *p = (const char *) s;
  const char *end = p + len;
  guint n = 0;

  /* Input was validated as UTF-8 before parsing; attribute values and
   * names reach us as whole characters. */
  while (p < end && n < 100)
    {
      const char *next = g_utf8_next_char (p);

      if (next > end)
        break;
      if ((guchar) *p < 0x20)
        g_string_append_c (out, '?');
      else
        g_string_append_len (out, p, next - p);
      p = next;
      n++;
    }
  if (p < end)
    g_string_append (out, "...");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The structured error handler of the context: libxml2's own complaints
 * become our one error, never text on stderr. Warnings (such as an unknown
 * XML version) are not failures. */
static void
on_xml_error (void *user_data, xmlErrorPtr e)
{
  Decoder *d = user_data;
  g_autofree char *message = NULL;
  gsize len;

  if (e == NULL || e->level < XML_ERR_ERROR || d->error != NULL)
    return;
  /* libxml2's messages end in a newline. */
  len = e->message != NULL ? strlen (e->message) : 0;
  while (len > 0 && (e->message[len - 1] == '\n' || e->message[len - 1] == ' '))
    len--;
  message = len > 0 ? quote ((const xmlChar *) e->message, len) : g_strdup ("malformed XML");
  /* libxml2 stops by itself on fatal errors; stopping from inside its error
   * path could free input it still uses, so only record here. */
  g_set_error (&d->error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid OriginalXML at line %d: %s", e->line,
               message);
}

/* Any document type declaration is refused before its internal subset is
 * read: OriginalXML has no DTD, and this closes entity expansion ("billion
 * laughs") and external entities at the door. */
static void
on_internal_subset (void *user_data, const xmlChar *name, const xmlChar *external_id,
                    const xmlChar *system_id)
{
  decoder_fail (user_data, "a document type declaration is not allowed");
}

/* With the DOCTYPE refused no entity can be declared: every reference but
 * the five predefined ones (which libxml2 resolves before asking) is
 * undeclared, and libxml2 reports that as a fatal well-formedness error.
 * Stopping here instead would halt the parser in the middle of reading an
 * attribute value; answering "no such entity" lets libxml2 stop cleanly. */
static xmlEntityPtr
on_get_entity (void *user_data, const xmlChar *name)
{
  return NULL;
}

static gboolean
name_is (const xmlChar *name, const char *expected)
{
  return name != NULL && strcmp ((const char *) name, expected) == 0;
}

/* libxml2 interns namespace URIs in the document's dictionary: after the
 * first match, a pointer comparison answers. */
static gboolean
in_namespace (Decoder *d, const xmlChar *uri)
{
  if (uri != NULL && uri == d->uri)
    return TRUE;
  if (!name_is (uri, LIA_ORIGINAL_NAMESPACE))
    return FALSE;
  d->uri = uri;
  return TRUE;
}

/* SAX2 attributes come in fives: local name, prefix, URI, value start,
 * value end; values are not NUL-terminated. Only unprefixed attributes
 * belong to the format. */
static const xmlChar *
attribute_find (int n_attributes, const xmlChar **attributes, const char *name, gsize *out_len)
{
  for (int i = 0; i < n_attributes; i++)
    {
      const xmlChar **a = attributes + 5 * i;

      if (a[1] == NULL && strcmp ((const char *) a[0], name) == 0)
        {
          *out_len = (gsize) (a[4] - a[3]);
          return a[3];
        }
    }
  return NULL;
}

static gboolean
is_base64 (const char *s, gsize len)
{
  gsize padding = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = s[i];

      if (c == '=')
        {
          /* Padding only at the end, at most two. */
          if (i < len - 2 || ++padding > 2)
            return FALSE;
          continue;
        }
      if (padding > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return FALSE;
    }
  return TRUE;
}

/* Decodes strict base64 into a NUL-terminated string of valid UTF-8 without
 * NUL; returns NULL otherwise. */
static char *
base64_to_utf8 (const char *s, gsize len, gsize *out_len)
{
  g_autofree char *copy = NULL;
  gsize decoded_len = 0;

  if (!is_base64 (s, len))
    return NULL;
  copy = g_malloc (len + 1);
  memcpy (copy, s, len);
  copy[len] = '\0';
  if (len > 0)
    g_base64_decode_inplace (copy, &decoded_len);
  copy[decoded_len] = '\0';
  if (!g_utf8_validate_len (copy, decoded_len, NULL))
    return NULL;
  *out_len = decoded_len;
  return g_steal_pointer (&copy);
}

/* Without entity substitution (never XML_PARSE_NOENT), libxml2 hands SAX2
 * every '&' of an attribute value, however it was written (&amp;, &#38;,
 * &#x26;), as the five characters "&#38;", meant for a tree builder to
 * reparse; all libxml2 versions do. A raw '&' cannot occur (it would be
 * malformed), so turning each "&#38;" back into '&' is exact. Any other
 * '&' would be an undeclared entity, already a fatal error: refuse it
 * anyway. */
static char *
attribute_unescape (const xmlChar *s, gsize len, gsize *out_len)
{
  const char *p = (const char *) s;
  const char *end = p + len;
  const char *amp = memchr (p, '&', len);
  GString *out;

  if (amp == NULL)
    {
      *out_len = len;
      return g_strndup (p, len);
    }
  out = g_string_sized_new (len);
  while (amp != NULL)
    {
      if (end - amp < 5 || memcmp (amp, "&#38;", 5) != 0)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_len (out, p, amp - p);
      g_string_append_c (out, '&');
      p = amp + 5;
      amp = memchr (p, '&', end - p);
    }
  g_string_append_len (out, p, end - p);
  *out_len = out->len;
  return g_string_free (out, FALSE);
}

/* Reads the string attribute @name, or its base64 twin @name_b64, into
 * *@out (NULL when neither is there). Returns FALSE after decoder_fail(). */
static gboolean
string_attribute (Decoder *d, int n_attributes, const xmlChar **attributes, const char *name,
                  const char *name_b64, char **out)
{
  gsize len = 0, b64_len = 0;
  const xmlChar *plain = attribute_find (n_attributes, attributes, name, &len);
  const xmlChar *b64 = attribute_find (n_attributes, attributes, name_b64, &b64_len);
  g_autofree char *value = NULL;

  if (plain != NULL && b64 != NULL)
    {
      decoder_fail (d, "attributes %s and %s are exclusive", name, name_b64);
      return FALSE;
    }
  if (b64 != NULL)
    {
      value = base64_to_utf8 ((const char *) b64, b64_len, &len);
      if (value == NULL)
        {
          decoder_fail (d, "attribute %s is not base64 of UTF-8 text", name_b64);
          return FALSE;
        }
    }
  else if (plain != NULL)
    {
      /* libxml2 has checked the UTF-8 and the XML characters. */
      value = attribute_unescape (plain, len, &len);
      if (value == NULL)
        {
          decoder_fail (d, "attribute %s holds an entity reference", name);
          return FALSE;
        }
    }
  if (len > LIA_ORIGINAL_MAX_ATTRIBUTE)
    {
      decoder_fail (d, "attribute %s is %" G_GSIZE_FORMAT " bytes, over the limit of %d", name, len,
                    LIA_ORIGINAL_MAX_ATTRIBUTE);
      return FALSE;
    }
  *out = g_steal_pointer (&value);
  return TRUE;
}

static gboolean
parse_int64 (const char *s, gsize len, gint64 min, gint64 max, gint64 *out)
{
  guint64 limit = G_MAXINT64;
  guint64 acc = 0;
  gboolean negative = FALSE;
  gsize i = 0;
  gint64 v;

  if (len > 0 && s[0] == '-')
    {
      negative = TRUE;
      limit = (guint64) G_MAXINT64 + 1;
      i = 1;
    }
  if (i == len)
    return FALSE;
  for (; i < len; i++)
    {
      guint digit;

      if (s[i] < '0' || s[i] > '9')
        return FALSE;
      digit = (guint) (s[i] - '0');
      if (acc > (limit - digit) / 10)
        return FALSE;
      acc = acc * 10 + digit;
    }
  if (!negative)
    v = (gint64) acc;
  else if (acc == (guint64) G_MAXINT64 + 1)
    v = G_MININT64;
  else
    v = -(gint64) acc;
  if (v < min || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

/* Reads an optional integer attribute; *@out keeps its value when absent. */
static gboolean
int_attribute (Decoder *d, int n_attributes, const xmlChar **attributes, const char *name, gint64 min,
               gint64 max, gint64 *out)
{
  gsize len = 0;
  const xmlChar *s = attribute_find (n_attributes, attributes, name, &len);

  if (s == NULL)
    return TRUE;
  if (!parse_int64 ((const char *) s, len, min, max, out))
    {
      g_autofree char *q = quote (s, len);
      decoder_fail (d, "attribute %s \"%s\" is not an integer in range", name, q);
      return FALSE;
    }
  return TRUE;
}

static gint
weekday_from_code (const char *s)
{
  for (guint day = 0; day < 7; day++)
    {
      if (s[0] == lia_original_weekday_codes[day][0] && s[1] == lia_original_weekday_codes[day][1])
        return (gint) day;
    }
  return -1;
}

/* "MO,WE,FR" to a mask; each day at most once, at least one day. */
static gboolean
parse_weekdays (const char *s, gsize len, guint *out_mask)
{
  guint mask = 0;

  if (len == 0 || (len + 1) % 3 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i += 3)
    {
      gint day = weekday_from_code (s + i);

      if (day < 0 || (mask & (1u << day)) != 0 || (i + 2 < len && s[i + 2] != ','))
        return FALSE;
      mask |= 1u << day;
    }
  *out_mask = mask;
  return TRUE;
}

static void
start_root (Decoder *d, const xmlChar *localname, const xmlChar *uri, int n_attributes,
            const xmlChar **attributes)
{
  const xmlChar *version, *entity_name;
  gsize len = 0;
  gint64 version_number = 0;
  LiaEntity entity = LIA_ENTITY_N;
  char name[32];

  if (!name_is (localname, "original"))
    {
      g_autofree char *q = quote (localname, strlen ((const char *) localname));
      decoder_fail (d, "the root element is <%s>, not <original>", q);
      return;
    }
  if (!in_namespace (d, uri))
    {
      decoder_fail (d, "<original> is not in namespace %s", LIA_ORIGINAL_NAMESPACE);
      return;
    }
  version = attribute_find (n_attributes, attributes, "version", &len);
  if (version == NULL)
    {
      decoder_fail (d, "<original> has no version");
      return;
    }
  if (!parse_int64 ((const char *) version, len, 1, G_MAXINT64, &version_number))
    {
      g_autofree char *q = quote (version, len);
      decoder_fail (d, "version \"%s\" is not a positive integer", q);
      return;
    }
  if (version_number > LIA_ORIGINAL_VERSION)
    {
      decoder_fail (d, "version %" G_GINT64_FORMAT " is newer than this Liaison reads (%d); upgrade Liaison",
                    version_number, LIA_ORIGINAL_VERSION);
      return;
    }
  entity_name = attribute_find (n_attributes, attributes, "entity", &len);
  if (entity_name == NULL)
    {
      decoder_fail (d, "<original> has no entity");
      return;
    }
  if (len < sizeof name)
    {
      memcpy (name, entity_name, len);
      name[len] = '\0';
    }
  if (len >= sizeof name || !lia_entity_from_string (name, &entity))
    {
      g_autofree char *q = quote (entity_name, len);
      decoder_fail (d, "unknown entity \"%s\"", q);
      return;
    }
  d->item = lia_item_new (entity);
  d->fields = lia_field_list (entity, &d->n_fields);
}

static void
start_reference (Decoder *d, int n_attributes, const xmlChar **attributes)
{
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;
  const xmlChar *entity_name;
  gsize len = 0;
  LiaEntity entity = LIA_ENTITY_N;
  char buf[32];

  entity_name = attribute_find (n_attributes, attributes, "entity", &len);
  if (entity_name != NULL && len < sizeof buf)
    {
      memcpy (buf, entity_name, len);
      buf[len] = '\0';
      lia_entity_from_string (buf, &entity);
    }
  if (entity == LIA_ENTITY_N)
    {
      decoder_fail (d, "reference field \"%s\" has no known entity", d->field->name);
      return;
    }
  if (!string_attribute (d, n_attributes, attributes, "id", "id-b64", &id)
      || !string_attribute (d, n_attributes, attributes, "name", "name-b64", &name))
    return;
  d->pending = lia_value_new_reference (entity, id, name);
  if (d->pending == NULL)
    decoder_fail (d, "reference field \"%s\" has neither id nor name", d->field->name);
}

static void
start_party (Decoder *d, int n_attributes, const xmlChar **attributes)
{
  LiaParty party = { NULL, NULL, LIA_ENTITY_N, NULL };
  g_autofree char *address = NULL;
  g_autofree char *name = NULL;
  g_autofree char *id = NULL;
  const xmlChar *entity_name;
  gsize len = 0;
  char buf[32];

  if (!string_attribute (d, n_attributes, attributes, "address", "address-b64", &address)
      || !string_attribute (d, n_attributes, attributes, "name", "name-b64", &name)
      || !string_attribute (d, n_attributes, attributes, "id", "id-b64", &id))
    return;
  entity_name = attribute_find (n_attributes, attributes, "entity", &len);
  if (entity_name != NULL)
    {
      if (len < sizeof buf)
        {
          memcpy (buf, entity_name, len);
          buf[len] = '\0';
        }
      if (len >= sizeof buf || !lia_entity_from_string (buf, &party.entity))
        {
          g_autofree char *q = quote (entity_name, len);
          decoder_fail (d, "a party of field \"%s\" has unknown entity \"%s\"", d->field->name, q);
          return;
        }
    }
  party.address = g_steal_pointer (&address);
  party.name = g_steal_pointer (&name);
  party.id = g_steal_pointer (&id);
  g_array_append_val (d->parties, party);
}

static void
start_recurrence (Decoder *d, int n_attributes, const xmlChar **attributes)
{
  LiaRecurrence *r = &d->recurrence;
  const xmlChar *s;
  gsize len = 0;
  gint64 interval = 0, count = 0, until = 0, by_month_day = 0, by_month = 0, by_set_pos = 0;
  gboolean found = FALSE;

  memset (r, 0, sizeof *r);
  s = attribute_find (n_attributes, attributes, "frequency", &len);
  for (guint i = 0; s != NULL && i < LIA_RECUR_N; i++)
    {
      if (strlen (lia_original_frequency_names[i]) == len
          && memcmp (lia_original_frequency_names[i], s, len) == 0)
        {
          r->frequency = (LiaRecurFrequency) i;
          found = TRUE;
        }
    }
  if (!found)
    {
      decoder_fail (d, "recurrence field \"%s\" has no known frequency", d->field->name);
      return;
    }
  if (!int_attribute (d, n_attributes, attributes, "interval", 1, G_MAXUINT, &interval)
      || !int_attribute (d, n_attributes, attributes, "count", 0, G_MAXUINT, &count)
      || !int_attribute (d, n_attributes, attributes, "until", G_MININT64, G_MAXINT64, &until)
      || !int_attribute (d, n_attributes, attributes, "by-month-day", G_MININT, G_MAXINT, &by_month_day)
      || !int_attribute (d, n_attributes, attributes, "by-month", 0, G_MAXUINT, &by_month)
      || !int_attribute (d, n_attributes, attributes, "by-set-pos", G_MININT, G_MAXINT, &by_set_pos))
    return;
  if (interval == 0)
    {
      decoder_fail (d, "recurrence field \"%s\" has no interval", d->field->name);
      return;
    }
  r->interval = (guint) interval;
  r->count = (guint) count;
  r->until_us = until;
  r->by_month_day = (gint) by_month_day;
  r->by_month = (guint) by_month;
  r->by_set_pos = (gint) by_set_pos;
  s = attribute_find (n_attributes, attributes, "by-day", &len);
  if (s != NULL && !parse_weekdays ((const char *) s, len, &r->by_day))
    {
      g_autofree char *q = quote (s, len);
      decoder_fail (d, "by-day \"%s\" is not a list of days such as MO,WE", q);
      return;
    }
  s = attribute_find (n_attributes, attributes, "week-start", &len);
  if (s != NULL)
    {
      gint day = len == 2 ? weekday_from_code ((const char *) s) : -1;

      if (day < 0)
        {
          g_autofree char *q = quote (s, len);
          decoder_fail (d, "week-start \"%s\" is not a day such as MO", q);
          return;
        }
      r->week_start = (guint) day;
    }
  if (d->exdates == NULL)
    d->exdates = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_set_size (d->exdates, 0);
}

/* lia_field_index() for a name that is not NUL-terminated. Documents list
 * fields in registry order, so the search starts after the previous field:
 * one comparison a field instead of a scan of up to 36 names. */
static gint
find_field (Decoder *d, const char *name, gsize len)
{
  for (guint n = 0; n < d->n_fields; n++)
    {
      guint i = (d->next_field + n) % d->n_fields;
      const char *candidate = d->fields[i].name;

      if (strncmp (candidate, name, len) == 0 && candidate[len] == '\0')
        {
          d->next_field = i + 1;
          return (gint) i;
        }
    }
  return -1;
}

static void
start_field (Decoder *d, const xmlChar *localname, int n_attributes, const xmlChar **attributes)
{
  const xmlChar *field_name;
  gsize len = 0;
  LiaValueKind kind;
  gint index;

  field_name = attribute_find (n_attributes, attributes, "field", &len);
  if (field_name == NULL)
    {
      g_autofree char *q = quote (localname, strlen ((const char *) localname));
      decoder_fail (d, "element <%s> has no field attribute", q);
      return;
    }
  index = find_field (d, (const char *) field_name, len);
  if (index < 0)
    {
      /* A field of a newer client: skip it and everything inside it. */
      d->skip_depth = d->depth;
      return;
    }
  d->field = &d->fields[index];
  d->field_index = (guint) index;
  kind = d->field->kind;
  if (!name_is (localname, lia_value_kind_to_string (kind)))
    {
      g_autofree char *q = quote (localname, strlen ((const char *) localname));
      decoder_fail (d, "field \"%s\" takes a %s value, not <%s>", d->field->name,
                    lia_value_kind_to_string (kind), q);
      return;
    }
  if (lia_item_get_at (d->item, d->field_index) != NULL)
    {
      decoder_fail (d, "field \"%s\" is given twice", d->field->name);
      return;
    }

  g_string_truncate (d->chars, 0);
  switch (kind)
    {
    case LIA_VALUE_TEXT:
      {
        const xmlChar *encoding = attribute_find (n_attributes, attributes, "encoding", &len);

        d->base64 = encoding != NULL;
        if (encoding != NULL && !(len == 6 && memcmp (encoding, "base64", 6) == 0))
          {
            g_autofree char *q = quote (encoding, len);
            decoder_fail (d, "text field \"%s\" has unknown encoding \"%s\"", d->field->name, q);
          }
      }
      break;
    case LIA_VALUE_DATETIME:
      string_attribute (d, n_attributes, attributes, "tz", "tz-b64", &d->tzid);
      break;
    case LIA_VALUE_REFERENCE:
      start_reference (d, n_attributes, attributes);
      break;
    case LIA_VALUE_PARTY_LIST:
      if (d->parties == NULL)
        {
          d->parties = g_array_new (FALSE, TRUE, sizeof (LiaParty));
          g_array_set_clear_func (d->parties, party_clear);
        }
      g_array_set_size (d->parties, 0);
      break;
    case LIA_VALUE_RECURRENCE:
      start_recurrence (d, n_attributes, attributes);
      break;
    case LIA_VALUE_DATE:
    case LIA_VALUE_INTEGER:
    case LIA_VALUE_BOOLEAN:
    case LIA_VALUE_ENUM:
      break;
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
}

/* The kinds whose value is the element's character data. */
static gboolean
kind_has_content (LiaValueKind kind)
{
  return kind == LIA_VALUE_TEXT || kind == LIA_VALUE_DATETIME || kind == LIA_VALUE_DATE
         || kind == LIA_VALUE_INTEGER || kind == LIA_VALUE_BOOLEAN || kind == LIA_VALUE_ENUM;
}

static void
on_start_element (void *user_data, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                  int n_namespaces, const xmlChar **namespaces, int n_attributes, int n_defaulted,
                  const xmlChar **attributes)
{
  Decoder *d = user_data;

  if (d->error != NULL)
    return;
  if (++d->depth > LIA_ORIGINAL_MAX_DEPTH)
    {
      decoder_fail (d, "elements nest deeper than %d levels", LIA_ORIGINAL_MAX_DEPTH);
      return;
    }
  if (d->skip_depth != 0)
    return;
  if (d->depth == 1)
    {
      start_root (d, localname, uri, n_attributes, attributes);
      return;
    }
  if (!in_namespace (d, uri))
    {
      g_autofree char *q = quote (localname, strlen ((const char *) localname));
      decoder_fail (d, "element <%s> is not in namespace %s", q, LIA_ORIGINAL_NAMESPACE);
      return;
    }
  if (d->depth == 2)
    {
      start_field (d, localname, n_attributes, attributes);
      return;
    }
  if (d->depth == 3 && d->field->kind == LIA_VALUE_PARTY_LIST && name_is (localname, "party"))
    {
      start_party (d, n_attributes, attributes);
      return;
    }
  if (d->depth == 3 && d->field->kind == LIA_VALUE_RECURRENCE && name_is (localname, "exdate"))
    {
      d->in_exdate = TRUE;
      g_string_truncate (d->chars, 0);
      return;
    }
  {
    g_autofree char *q = quote (localname, strlen ((const char *) localname));
    decoder_fail (d, "unexpected element <%s> in field \"%s\"", q, d->field->name);
  }
}

static void
end_exdate (Decoder *d)
{
  gint64 us = 0;

  if (!parse_int64 (d->chars->str, d->chars->len, G_MININT64, G_MAXINT64, &us))
    {
      g_autofree char *q = quote ((const xmlChar *) d->chars->str, d->chars->len);
      decoder_fail (d, "exdate \"%s\" of field \"%s\" is not a number of microseconds", q, d->field->name);
      return;
    }
  g_array_append_val (d->exdates, us);
  d->in_exdate = FALSE;
}

static gboolean
symbol_of_field (const LiaFieldInfo *field, const char *symbol)
{
  for (const char *const *v = field->enum_values; v != NULL && *v != NULL; v++)
    {
      if (strcmp (*v, symbol) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Turns the open field into a value and sets it on the item. */
static void
end_field (Decoder *d)
{
  const LiaFieldInfo *field = d->field;
  const char *s = d->chars->str;
  gsize len = d->chars->len;
  g_autoptr (LiaValue) value = NULL;
  g_autoptr (GError) local_error = NULL;
  gint64 n = 0;

  switch (field->kind)
    {
    case LIA_VALUE_TEXT:
      if (d->base64)
        {
          g_autofree char *text = base64_to_utf8 (s, len, &len);

          if (text == NULL)
            {
              decoder_fail (d, "text field \"%s\" is not base64 of UTF-8 text", field->name);
              return;
            }
          value = lia_value_new_text_len (text, len);
        }
      else
        {
          value = lia_value_new_text_len (s, len);
        }
      break;
    case LIA_VALUE_DATETIME:
      if (parse_int64 (s, len, G_MININT64, G_MAXINT64, &n))
        value = lia_value_new_datetime (n, d->tzid);
      break;
    case LIA_VALUE_DATE:
      if (len == 10 && s[4] == '-' && s[7] == '-')
        {
          gint64 year = 0, month = 0, day = 0;

          if (parse_int64 (s, 4, 0, 9999, &year) && parse_int64 (s + 5, 2, 0, 99, &month)
              && parse_int64 (s + 8, 2, 0, 99, &day))
            value = lia_value_new_date ((guint) year, (guint) month, (guint) day);
        }
      break;
    case LIA_VALUE_INTEGER:
      if (parse_int64 (s, len, G_MININT64, G_MAXINT64, &n))
        value = lia_value_new_integer (n);
      break;
    case LIA_VALUE_BOOLEAN:
      if (len == 4 && memcmp (s, "true", 4) == 0)
        value = lia_value_new_boolean (TRUE);
      else if (len == 5 && memcmp (s, "false", 5) == 0)
        value = lia_value_new_boolean (FALSE);
      break;
    case LIA_VALUE_ENUM:
      /* Check before making the value: enum symbols are interned for the
       * life of the process, so junk from outside must not get that far. */
      if (strlen (s) == len && symbol_of_field (field, s))
        value = lia_value_new_enum (s);
      break;
    case LIA_VALUE_REFERENCE:
      value = g_steal_pointer (&d->pending);
      break;
    case LIA_VALUE_PARTY_LIST:
      value = lia_value_new_party_list ((const LiaParty *) (void *) d->parties->data, d->parties->len);
      break;
    case LIA_VALUE_RECURRENCE:
      d->recurrence.exdates_us = (const gint64 *) (void *) d->exdates->data;
      d->recurrence.n_exdates = d->exdates->len;
      value = lia_value_new_recurrence (&d->recurrence);
      d->recurrence.exdates_us = NULL;
      break;
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }

  if (value == NULL)
    {
      if (kind_has_content (field->kind))
        {
          g_autofree char *q = quote ((const xmlChar *) s, len);
          decoder_fail (d, "\"%s\" does not fit field \"%s\" (%s)", q, field->name,
                        lia_value_kind_to_string (field->kind));
        }
      else if (field->kind == LIA_VALUE_RECURRENCE)
        decoder_fail (d, "recurrence of field \"%s\" is out of range or its exdates are not ascending",
                      field->name);
      else
        decoder_fail (d, "field \"%s\" does not hold a valid %s", field->name,
                      lia_value_kind_to_string (field->kind));
      return;
    }
  if (!lia_item_set_at (d->item, d->field_index, value, &local_error))
    {
      decoder_fail (d, "%s", local_error->message);
      return;
    }
  d->field = NULL;
  d->base64 = FALSE;
  g_clear_pointer (&d->tzid, g_free);
  if (d->parties != NULL)
    g_array_set_size (d->parties, 0);
}

static void
on_end_element (void *user_data, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
  Decoder *d = user_data;

  if (d->error != NULL)
    return;
  if (d->skip_depth != 0)
    {
      if (d->depth == d->skip_depth)
        d->skip_depth = 0;
      d->depth--;
      return;
    }
  switch (d->depth)
    {
    case 1:
      d->done = TRUE;
      break;
    case 2:
      end_field (d);
      break;
    case 3:
      if (d->in_exdate)
        end_exdate (d);
      break;
    default:
      break;
    }
  d->depth--;
}

static gboolean
all_blank (const xmlChar *s, int len)
{
  for (int i = 0; i < len; i++)
    {
      if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
        return FALSE;
    }
  return TRUE;
}

/* Also the handler of CDATA sections and of whitespace: text is text. */
static void
on_characters (void *user_data, const xmlChar *s, int len)
{
  Decoder *d = user_data;

  if (d->error != NULL || d->skip_depth != 0)
    return;
  if ((d->depth == 2 && kind_has_content (d->field->kind)) || (d->depth == 3 && d->in_exdate))
    {
      g_string_append_len (d->chars, (const char *) s, len);
      return;
    }
  if (!all_blank (s, len))
    {
      g_autofree char *q = quote (s, (gsize) len);
      decoder_fail (d, "unexpected text \"%s\"", q);
    }
}

/* g_utf8_validate_len() goes byte by byte; OriginalXML is mostly ASCII.
 * Skip eight plain ASCII bytes at a time (no high bit, no NUL) and hand
 * GLib only the runs of non-ASCII bytes: ASCII bytes are never part of a
 * multi-byte sequence, so each run must be whole characters on its own. */
static gboolean
utf8_valid (const char *data, gsize len)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);
  gsize i = 0;

  for (;;)
    {
      gsize run;

      for (; i + 8 <= len; i += 8)
        {
          guint64 word;

          memcpy (&word, data + i, 8);
          /* A high bit set, or a zero byte (the classic has-zero test). */
          if (((word | ((word - ones) & ~word)) & highs) != 0)
            break;
        }
      if (i + 8 > len)
        return g_utf8_validate_len (data + i, len - i, NULL);
      for (; i < len && (guchar) data[i] < 0x80; i++)
        {
          if (data[i] == '\0')
            return FALSE;
        }
      for (run = i; i < len && (guchar) data[i] >= 0x80; i++)
        ;
      if (!g_utf8_validate_len (data + run, i - run, NULL))
        return FALSE;
    }
}

LiaItem *
lia_original_decode (const char *data, gsize len, GError **error)
{
  g_auto (Decoder) d = { 0 };
  g_autoptr (xmlParserCtxt) ctxt = NULL;
  xmlSAXHandler sax;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len == 0)
    {
      g_set_error_literal (error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid OriginalXML: the document is empty");
      return NULL;
    }
  if (len > LIA_ORIGINAL_MAX_SIZE)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Invalid OriginalXML: %" G_GSIZE_FORMAT " bytes, over the limit of %d", len,
                   LIA_ORIGINAL_MAX_SIZE);
      return NULL;
    }
  /* All of it UTF-8 and no NUL, checked up front: libxml2 then never
   * switches encodings (UTF-16 and EBCDIC detection need bytes that are not
   * UTF-8) and never has an encoding error to report. */
  if (!utf8_valid (data, len))
    {
      g_set_error_literal (error, LIA_ERROR, LIA_ERROR_INVALID,
                           "Invalid OriginalXML: the document is not valid UTF-8");
      return NULL;
    }

  /* Thread-safe and idempotent; a worker thread may be the first in the
   * process to use libxml2, and its lazy global set-up is not. */
  xmlInitParser ();
  decoder_init (&d);
  memset (&sax, 0, sizeof sax);
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = on_start_element;
  sax.endElementNs = on_end_element;
  sax.characters = on_characters;
  sax.ignorableWhitespace = on_characters;
  sax.cdataBlock = on_characters;
  sax.internalSubset = on_internal_subset;
  sax.getEntity = on_get_entity;
  sax.serror = on_xml_error;

  ctxt = xmlCreatePushParserCtxt (&sax, &d, NULL, 0, NULL);
  if (ctxt == NULL)
    {
      g_set_error_literal (error, LIA_ERROR, LIA_ERROR_FAILED, "Cannot create an XML parser");
      return NULL;
    }
  d.ctxt = ctxt;
  /* Never NOENT (entity substitution) or DTDLOAD: no DTD is read at all. */
  xmlCtxtUseOptions (ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
  xmlParseChunk (ctxt, data, (int) len, 1);

  if (d.error == NULL && (!ctxt->wellFormed || !ctxt->nsWellFormed || !d.done))
    g_set_error_literal (&d.error, LIA_ERROR, LIA_ERROR_INVALID,
                         "Invalid OriginalXML: the document is incomplete or malformed");
  if (d.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&d.error));
      return NULL;
    }
  return g_steal_pointer (&d.item);
}
