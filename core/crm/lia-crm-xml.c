/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-crm-xml-private.h"

static gboolean
check_depth (xmlNode *node, guint depth)
{
  if (depth > LIA_CRM_XML_MAX_DEPTH)
    return FALSE;
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE && !check_depth (child, depth + 1))
      return FALSE;
  return TRUE;
}

LiaXmlDoc *
lia_crm_xml_parse (const char *data, gsize len, gsize max_bytes, const char *root, GError **error)
{
  xmlParserCtxtPtr ctxt;
  g_autoptr (LiaXmlDoc) doc = NULL;
  xmlNode *top;

  if (len > max_bytes)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Document of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT " bytes",
                   len, max_bytes);
      return NULL;
    }
  if (len > G_MAXINT)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Document too large");
      return NULL;
    }
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_FAILED, "Out of memory for the XML parser");
      return NULL;
    }
  /* No XML_PARSE_NOENT (no entity substitution), no DTD loading, no
   * network, and no NOBLANKS: whitespace inside text values is data. */
  doc = xmlCtxtReadMemory (ctxt, len > 0 ? data : "", (int) len, "request.xml", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
  if (doc == NULL)
    {
      const xmlError *xerr = xmlCtxtGetLastError (ctxt);
      g_autofree char *msg = g_strdup (xerr != NULL && xerr->message != NULL ? xerr->message : "not XML");
      /* libxml2 messages may hold newlines (found by fuzz-org-filter):
       * errors are one line. */
      g_strdelimit (msg, "\r\n", ' ');
      g_strstrip (msg);
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Malformed XML at line %d: %s",
                   xerr != NULL ? xerr->line : 0, msg);
      xmlFreeParserCtxt (ctxt);
      return NULL;
    }
  xmlFreeParserCtxt (ctxt);
  if (doc->intSubset != NULL || doc->extSubset != NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Document type declarations are not accepted");
      return NULL;
    }
  top = xmlDocGetRootElement (doc);
  if (top == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Document has no root element");
      return NULL;
    }
  if (root != NULL && !lia_crm_xml_is (top, root))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <%s>, found <%s>", root,
                   (const char *) top->name);
      return NULL;
    }
  if (!check_depth (top, 1))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Document nests deeper than %d elements",
                   LIA_CRM_XML_MAX_DEPTH);
      return NULL;
    }
  return g_steal_pointer (&doc);
}

char *
lia_crm_xml_get (xmlNode *node, const char *name)
{
  g_autoptr (LiaXmlChar) value = xmlGetNoNsProp (node, (const xmlChar *) name);

  return value != NULL ? g_strdup ((const char *) value) : NULL;
}

gboolean
lia_crm_xml_is (xmlNode *node, const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE && strcmp ((const char *) node->name, name) == 0;
}

/* XML 1.0 cannot carry most C0 controls even as character references. */
static gboolean
xml_safe (const char *text)
{
  for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
    if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
      return FALSE;
  return TRUE;
}

void
lia_crm_xml_escape (GString *out, const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '<':
          g_string_append (out, "&lt;");
          break;
        case '>':
          g_string_append (out, "&gt;");
          break;
        case '&':
          g_string_append (out, "&amp;");
          break;
        case '"':
          g_string_append (out, "&quot;");
          break;
        case '\r':
          g_string_append (out, "&#13;");
          break;
        case '\n':
          g_string_append (out, "&#10;");
          break;
        case '\t':
          g_string_append (out, "&#9;");
          break;
        default:
          g_string_append_c (out, *p);
        }
    }
}

void
lia_crm_xml_attr (GString *out, const char *name, const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, " %s=\"", name);
  lia_crm_xml_escape (out, value);
  g_string_append_c (out, '"');
}

static void
attr_int (GString *out, const char *name, gint64 value)
{
  g_string_append_printf (out, " %s=\"%" G_GINT64_FORMAT "\"", name, value);
}

static void
attr_bool (GString *out, const char *name, gboolean value)
{
  g_string_append_printf (out, " %s=\"%s\"", name, value ? "true" : "false");
}

static gboolean
parse_int (const char *text, gint64 min, gint64 max, gint64 *out, const char *what, GError **error)
{
  gint64 value = 0;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Attribute \"%s\" is not a number in range: \"%s\"",
                   what, text != NULL ? text : "(missing)");
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
get_int (xmlNode *node, const char *name, gint64 min, gint64 max, gint64 dflt, gint64 *out, GError **error)
{
  g_autofree char *text = lia_crm_xml_get (node, name);

  if (text == NULL)
    {
      *out = dflt;
      return TRUE;
    }
  return parse_int (text, min, max, out, name, error);
}

static gboolean
get_bool (xmlNode *node, const char *name, gboolean *out, GError **error)
{
  g_autofree char *text = lia_crm_xml_get (node, name);

  if (text == NULL || g_str_equal (text, "false") || g_str_equal (text, "0"))
    *out = FALSE;
  else if (g_str_equal (text, "true") || g_str_equal (text, "1"))
    *out = TRUE;
  else
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Attribute \"%s\" is not true or false: \"%s\"", name,
                   text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_entity (xmlNode *node, const char *name, LiaEntity *out, GError **error)
{
  g_autofree char *text = lia_crm_xml_get (node, name);

  if (!lia_entity_from_string (text, out))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown entity \"%s\"",
                   text != NULL ? text : "(missing)");
      return FALSE;
    }
  return TRUE;
}

static char *
node_text (xmlNode *node)
{
  g_autoptr (LiaXmlChar) content = xmlNodeGetContent (node);
  g_autofree char *enc = lia_crm_xml_get (node, "enc");

  if (enc != NULL && g_str_equal (enc, "base64"))
    {
      gsize len = 0;
      guchar *raw = g_base64_decode (content != NULL ? (const char *) content : "", &len);
      char *text = g_strndup ((const char *) raw, len);
      g_free (raw);
      return text;
    }
  return g_strdup (content != NULL ? (const char *) content : "");
}

static void
write_text_content (GString *out, const char *text)
{
  if (xml_safe (text))
    {
      g_string_append_c (out, '>');
      lia_crm_xml_escape (out, text);
    }
  else
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) text, strlen (text));
      g_string_append_printf (out, " enc=\"base64\">%s", b64);
    }
}

static void
write_value (GString *out, const char *name, const LiaValue *value)
{
  g_string_append (out, "<field");
  lia_crm_xml_attr (out, "name", name);
  switch (lia_value_get_kind (value))
    {
    case LIA_VALUE_TEXT:
      write_text_content (out, lia_value_get_text (value));
      break;
    case LIA_VALUE_ENUM:
      g_string_append_c (out, '>');
      lia_crm_xml_escape (out, lia_value_get_enum (value));
      break;
    case LIA_VALUE_DATETIME:
      lia_crm_xml_attr (out, "tz", lia_value_get_tzid (value));
      g_string_append_printf (out, ">%" G_GINT64_FORMAT, lia_value_get_instant (value));
      break;
    case LIA_VALUE_DATE:
      {
        guint y = 0, m = 0, d = 0;
        lia_value_get_date (value, &y, &m, &d);
        g_string_append_printf (out, ">%04u-%02u-%02u", y, m, d);
        break;
      }
    case LIA_VALUE_INTEGER:
      g_string_append_printf (out, ">%" G_GINT64_FORMAT, lia_value_get_integer (value));
      break;
    case LIA_VALUE_BOOLEAN:
      g_string_append_printf (out, ">%s", lia_value_get_boolean (value) ? "true" : "false");
      break;
    case LIA_VALUE_REFERENCE:
      lia_crm_xml_attr (out, "ref-entity", lia_entity_to_string (lia_value_get_reference_entity (value)));
      lia_crm_xml_attr (out, "ref-id", lia_value_get_reference_id (value));
      lia_crm_xml_attr (out, "ref-name", lia_value_get_reference_name (value));
      g_string_append_c (out, '>');
      break;
    case LIA_VALUE_PARTY_LIST:
      g_string_append_c (out, '>');
      for (gsize i = 0; i < lia_value_get_n_parties (value); i++)
        {
          const LiaParty *p = lia_value_get_party (value, i);
          g_string_append (out, "<party");
          lia_crm_xml_attr (out, "address", p->address);
          lia_crm_xml_attr (out, "name", p->name);
          if (p->entity != LIA_ENTITY_N)
            lia_crm_xml_attr (out, "entity", lia_entity_to_string (p->entity));
          lia_crm_xml_attr (out, "id", p->id);
          g_string_append (out, "/>");
        }
      break;
    case LIA_VALUE_RECURRENCE:
      {
        const LiaRecurrence *r = lia_value_get_recurrence (value);
        attr_int (out, "freq", r->frequency);
        attr_int (out, "interval", r->interval);
        attr_int (out, "count", r->count);
        attr_int (out, "until", r->until_us);
        attr_int (out, "by-day", r->by_day);
        attr_int (out, "by-month-day", r->by_month_day);
        attr_int (out, "by-month", r->by_month);
        attr_int (out, "by-set-pos", r->by_set_pos);
        attr_int (out, "week-start", r->week_start);
        g_string_append_c (out, '>');
        for (gsize i = 0; i < r->n_exdates; i++)
          g_string_append_printf (out, "<exdate>%" G_GINT64_FORMAT "</exdate>", r->exdates_us[i]);
        break;
      }
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
  g_string_append (out, "</field>");
}

static LiaValue *
read_value (xmlNode *node, const LiaFieldInfo *field, GError **error)
{
  LiaValue *value = NULL;

  switch (field->kind)
    {
    case LIA_VALUE_TEXT:
      {
        g_autofree char *text = node_text (node);
        value = lia_value_new_text (text);
        break;
      }
    case LIA_VALUE_ENUM:
      {
        g_autofree char *text = node_text (node);
        value = lia_value_new_enum (text);
        break;
      }
    case LIA_VALUE_DATETIME:
      {
        g_autofree char *text = node_text (node);
        g_autofree char *tz = lia_crm_xml_get (node, "tz");
        gint64 instant = 0;
        if (!parse_int (text, G_MININT64, G_MAXINT64, &instant, field->name, error))
          return NULL;
        value = lia_value_new_datetime (instant, tz);
        break;
      }
    case LIA_VALUE_DATE:
      {
        g_autofree char *text = node_text (node);
        guint y = 0, m = 0, d = 0;
        char extra = 0;
        if (sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &extra) == 3)
          value = lia_value_new_date (y, m, d);
        break;
      }
    case LIA_VALUE_INTEGER:
      {
        g_autofree char *text = node_text (node);
        gint64 number = 0;
        if (!parse_int (text, G_MININT64, G_MAXINT64, &number, field->name, error))
          return NULL;
        value = lia_value_new_integer (number);
        break;
      }
    case LIA_VALUE_BOOLEAN:
      {
        g_autofree char *text = node_text (node);
        if (g_str_equal (text, "true"))
          value = lia_value_new_boolean (TRUE);
        else if (g_str_equal (text, "false"))
          value = lia_value_new_boolean (FALSE);
        break;
      }
    case LIA_VALUE_REFERENCE:
      {
        LiaEntity entity = LIA_ENTITY_N;
        g_autofree char *id = lia_crm_xml_get (node, "ref-id");
        g_autofree char *name = lia_crm_xml_get (node, "ref-name");
        if (!get_entity (node, "ref-entity", &entity, error))
          return NULL;
        value = lia_value_new_reference (entity, id, name);
        break;
      }
    case LIA_VALUE_PARTY_LIST:
      {
        g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
        g_autoptr (GArray) parties = g_array_new (FALSE, TRUE, sizeof (LiaParty));
        for (xmlNode *child = node->children; child != NULL; child = child->next)
          {
            LiaParty party = { NULL, NULL, LIA_ENTITY_N, NULL };
            g_autofree char *entity = NULL;
            if (child->type != XML_ELEMENT_NODE)
              continue;
            if (!lia_crm_xml_is (child, "party"))
              {
                g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unexpected <%s> in party list",
                             (const char *) child->name);
                return NULL;
              }
            entity = lia_crm_xml_get (child, "entity");
            if (entity != NULL && !lia_entity_from_string (entity, &party.entity))
              {
                g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown entity \"%s\"", entity);
                return NULL;
              }
            party.address = lia_crm_xml_get (child, "address");
            party.name = lia_crm_xml_get (child, "name");
            party.id = lia_crm_xml_get (child, "id");
            g_ptr_array_add (strings, (gpointer) party.address);
            g_ptr_array_add (strings, (gpointer) party.name);
            g_ptr_array_add (strings, (gpointer) party.id);
            g_array_append_val (parties, party);
          }
        value = lia_value_new_party_list ((const LiaParty *) (gpointer) parties->data, parties->len);
        break;
      }
    case LIA_VALUE_RECURRENCE:
      {
        LiaRecurrence r = { 0 };
        gint64 v[9];
        g_autoptr (GArray) exdates = g_array_new (FALSE, FALSE, sizeof (gint64));
        if (!get_int (node, "freq", 0, LIA_RECUR_N - 1, 0, &v[0], error)
            || !get_int (node, "interval", 0, G_MAXUINT32, 1, &v[1], error)
            || !get_int (node, "count", 0, G_MAXUINT32, 0, &v[2], error)
            || !get_int (node, "until", G_MININT64, G_MAXINT64, 0, &v[3], error)
            || !get_int (node, "by-day", 0, 127, 0, &v[4], error)
            || !get_int (node, "by-month-day", -31, 31, 0, &v[5], error)
            || !get_int (node, "by-month", 0, 12, 0, &v[6], error)
            || !get_int (node, "by-set-pos", -5, 5, 0, &v[7], error)
            || !get_int (node, "week-start", 0, 6, 0, &v[8], error))
          return NULL;
        for (xmlNode *child = node->children; child != NULL; child = child->next)
          {
            g_autofree char *text = NULL;
            gint64 instant = 0;
            if (!lia_crm_xml_is (child, "exdate"))
              continue;
            text = node_text (child);
            if (!parse_int (text, G_MININT64, G_MAXINT64, &instant, "exdate", error))
              return NULL;
            g_array_append_val (exdates, instant);
          }
        r.frequency = (LiaRecurFrequency) v[0];
        r.interval = (guint) v[1];
        r.count = (guint) v[2];
        r.until_us = v[3];
        r.by_day = (guint) v[4];
        r.by_month_day = (gint) v[5];
        r.by_month = (guint) v[6];
        r.by_set_pos = (gint) v[7];
        r.week_start = (guint) v[8];
        r.exdates_us = (const gint64 *) (gpointer) exdates->data;
        r.n_exdates = exdates->len;
        value = lia_value_new_recurrence (&r);
        break;
      }
    case LIA_VALUE_N:
    default:
      break;
    }
  if (value == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Field \"%s\" has an invalid %s value", field->name,
                 lia_value_kind_to_string (field->kind));
  return value;
}

void
lia_crm_xml_write_record (GString *out, const LiaCrmRecord *record)
{
  const LiaItem *item = lia_crm_record_get_item (record);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (lia_item_get_entity (item), &n);
  g_string_append (out, "<record");
  lia_crm_xml_attr (out, "entity", lia_entity_to_string (lia_crm_record_get_entity (record)));
  lia_crm_xml_attr (out, "id", lia_crm_record_get_id (record));
  attr_int (out, "version", lia_crm_record_get_version (record));
  lia_crm_xml_attr (out, "owner", lia_crm_record_get_owner (record));
  lia_crm_xml_attr (out, "state", lia_record_state_to_string (lia_crm_record_get_state (record)));
  attr_int (out, "modified-on", lia_crm_record_get_modified_on (record));
  lia_crm_xml_attr (out, "email", lia_crm_record_get_email (record));
  g_string_append_c (out, '>');
  for (guint i = 0; i < n; i++)
    {
      LiaValue *value = lia_item_get_at (item, i);
      if (value != NULL)
        write_value (out, fields[i].name, value);
    }
  g_string_append (out, "</record>");
}

LiaCrmRecord *
lia_crm_xml_read_record (xmlNode *node, GError **error)
{
  LiaEntity entity = LIA_ENTITY_N;
  LiaRecordState state = LIA_RECORD_STATE_OPEN;
  g_autoptr (LiaCrmRecord) record = NULL;
  g_autofree char *id = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *state_name = NULL;
  g_autofree char *email = NULL;
  gint64 version = 0, modified_on = 0;

  if (!lia_crm_xml_is (node, "record"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <record>");
      return NULL;
    }
  if (!get_entity (node, "entity", &entity, error)
      || !get_int (node, "version", 0, G_MAXINT64, 0, &version, error)
      || !get_int (node, "modified-on", G_MININT64, G_MAXINT64, 0, &modified_on, error))
    return NULL;
  state_name = lia_crm_xml_get (node, "state");
  if (state_name != NULL && !lia_record_state_from_string (state_name, &state))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown record state \"%s\"", state_name);
      return NULL;
    }
  record = lia_crm_record_new (entity);
  id = lia_crm_xml_get (node, "id");
  owner = lia_crm_xml_get (node, "owner");
  email = lia_crm_xml_get (node, "email");
  lia_crm_record_set_id (record, id);
  lia_crm_record_set_owner (record, owner);
  lia_crm_record_set_email (record, email);
  lia_crm_record_set_version (record, version);
  lia_crm_record_set_state (record, state);
  lia_crm_record_set_modified_on (record, modified_on);
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      g_autofree char *name = NULL;
      const LiaFieldInfo *field;
      g_autoptr (LiaValue) value = NULL;

      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (!lia_crm_xml_is (child, "field"))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unexpected <%s> in <record>",
                       (const char *) child->name);
          return NULL;
        }
      name = lia_crm_xml_get (child, "name");
      field = lia_field_lookup (entity, name);
      if (field == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown field \"%s\" for entity %s",
                       name != NULL ? name : "(missing)", lia_entity_to_string (entity));
          return NULL;
        }
      value = read_value (child, field, error);
      if (value == NULL || !lia_item_set (lia_crm_record_get_item (record), name, value, error))
        return NULL;
    }
  return g_steal_pointer (&record);
}

void
lia_crm_xml_write_summary (GString *out, const LiaSyncSummary *summary)
{
  g_string_append (out, "<sync-summary>");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      guint c = lia_sync_summary_get (summary, (LiaEntity) e, LIA_SYNC_OP_CREATE);
      guint u = lia_sync_summary_get (summary, (LiaEntity) e, LIA_SYNC_OP_UPDATE);
      guint d = lia_sync_summary_get (summary, (LiaEntity) e, LIA_SYNC_OP_DELETE);
      if (c + u + d == 0)
        continue;
      g_string_append_printf (out, "<entity name=\"%s\" create=\"%u\" update=\"%u\" delete=\"%u\"/>",
                              lia_entity_to_string ((LiaEntity) e), c, u, d);
    }
  g_string_append (out, "</sync-summary>");
}

LiaSyncSummary *
lia_crm_xml_read_summary (xmlNode *node, GError **error)
{
  g_autoptr (LiaSyncSummary) summary = lia_sync_summary_new ();

  if (!lia_crm_xml_is (node, "sync-summary"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <sync-summary>");
      return NULL;
    }
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      LiaEntity entity = LIA_ENTITY_N;
      gint64 c = 0, u = 0, d = 0;
      if (!lia_crm_xml_is (child, "entity"))
        continue;
      if (!get_entity (child, "name", &entity, error)
          || !get_int (child, "create", 0, G_MAXUINT, 0, &c, error)
          || !get_int (child, "update", 0, G_MAXUINT, 0, &u, error)
          || !get_int (child, "delete", 0, G_MAXUINT, 0, &d, error))
        return NULL;
      lia_sync_summary_add (summary, entity, LIA_SYNC_OP_CREATE, (guint) c);
      lia_sync_summary_add (summary, entity, LIA_SYNC_OP_UPDATE, (guint) u);
      lia_sync_summary_add (summary, entity, LIA_SYNC_OP_DELETE, (guint) d);
    }
  return g_steal_pointer (&summary);
}

void
lia_crm_xml_write_page (GString *out, const LiaSyncPage *page)
{
  g_string_append (out, "<sync-page");
  lia_crm_xml_attr (out, "entity", lia_entity_to_string (lia_sync_page_get_entity (page)));
  attr_bool (out, "more", lia_sync_page_get_more (page));
  g_string_append_c (out, '>');
  for (guint i = 0; i < lia_sync_page_get_n_changes (page); i++)
    {
      const LiaSyncChange *change = lia_sync_page_get_change (page, i);
      g_string_append (out, "<change");
      lia_crm_xml_attr (out, "op", lia_sync_op_to_string (change->op));
      lia_crm_xml_attr (out, "id", change->id);
      attr_int (out, "version", change->version);
      g_string_append_c (out, '>');
      if (change->record != NULL)
        lia_crm_xml_write_record (out, change->record);
      g_string_append (out, "</change>");
    }
  g_string_append (out, "</sync-page>");
}

LiaSyncPage *
lia_crm_xml_read_page (xmlNode *node, GError **error)
{
  LiaEntity entity = LIA_ENTITY_N;
  g_autoptr (LiaSyncPage) page = NULL;
  gboolean more = FALSE;

  if (!lia_crm_xml_is (node, "sync-page"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <sync-page>");
      return NULL;
    }
  if (!get_entity (node, "entity", &entity, error) || !get_bool (node, "more", &more, error))
    return NULL;
  page = lia_sync_page_new (entity);
  lia_sync_page_set_more (page, more);
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      g_autofree char *op_name = NULL;
      g_autofree char *id = NULL;
      LiaSyncOp op = LIA_SYNC_OP_N;
      gint64 version = 0;
      LiaCrmRecord *record = NULL;

      if (!lia_crm_xml_is (child, "change"))
        continue;
      op_name = lia_crm_xml_get (child, "op");
      id = lia_crm_xml_get (child, "id");
      if (!lia_sync_op_from_string (op_name, &op) || id == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Change without a valid op and id");
          return NULL;
        }
      if (!get_int (child, "version", 0, G_MAXINT64, 0, &version, error))
        return NULL;
      for (xmlNode *r = child->children; r != NULL; r = r->next)
        {
          if (!lia_crm_xml_is (r, "record"))
            continue;
          record = lia_crm_xml_read_record (r, error);
          if (record == NULL)
            return NULL;
          break;
        }
      lia_sync_page_add (page, op, id, version, record);
    }
  return g_steal_pointer (&page);
}

void
lia_crm_xml_write_user (GString *out, const LiaCrmUser *user)
{
  g_string_append (out, "<user");
  lia_crm_xml_attr (out, "id", user->id);
  lia_crm_xml_attr (out, "name", user->name);
  lia_crm_xml_attr (out, "email", user->email);
  attr_bool (out, "admin", user->admin);
  attr_bool (out, "approved", user->approved);
  g_string_append (out, "/>");
}

LiaCrmUser *
lia_crm_xml_read_user (xmlNode *node, GError **error)
{
  g_autoptr (LiaCrmUser) user = g_new0 (LiaCrmUser, 1);

  if (!lia_crm_xml_is (node, "user"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <user>");
      return NULL;
    }
  user->id = lia_crm_xml_get (node, "id");
  user->name = lia_crm_xml_get (node, "name");
  user->email = lia_crm_xml_get (node, "email");
  if (user->id == NULL || user->name == NULL || !get_bool (node, "admin", &user->admin, error)
      || !get_bool (node, "approved", &user->approved, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "User without id or name");
      return NULL;
    }
  return g_steal_pointer (&user);
}

void
lia_crm_xml_write_subscription (GString *out, const LiaCrmSubscription *subscription)
{
  g_string_append (out, "<subscription");
  lia_crm_xml_attr (out, "id", subscription->id);
  lia_crm_xml_attr (out, "client", subscription->client);
  attr_bool (out, "primary", subscription->primary);
  g_string_append (out, "/>");
}

LiaCrmSubscription *
lia_crm_xml_read_subscription (xmlNode *node, GError **error)
{
  g_autoptr (LiaCrmSubscription) subscription = g_new0 (LiaCrmSubscription, 1);

  if (!lia_crm_xml_is (node, "subscription"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <subscription>");
      return NULL;
    }
  subscription->id = lia_crm_xml_get (node, "id");
  subscription->client = lia_crm_xml_get (node, "client");
  if (subscription->id == NULL || subscription->client == NULL
      || !get_bool (node, "primary", &subscription->primary, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Subscription without id or client");
      return NULL;
    }
  return g_steal_pointer (&subscription);
}

void
lia_crm_xml_write_filter (GString *out, const LiaCrmFilter *filter)
{
  g_string_append (out, "<sync-filter");
  lia_crm_xml_attr (out, "id", filter->id);
  lia_crm_xml_attr (out, "entity", lia_entity_to_string (filter->entity));
  lia_crm_xml_attr (out, "name", filter->name);
  attr_bool (out, "system", filter->system);
  attr_bool (out, "enabled", filter->enabled);
  g_string_append_c (out, '>');
  lia_crm_xml_escape (out, filter->xml);
  g_string_append (out, "</sync-filter>");
}

LiaCrmFilter *
lia_crm_xml_read_filter (xmlNode *node, GError **error)
{
  g_autoptr (LiaCrmFilter) filter = g_new0 (LiaCrmFilter, 1);

  if (!lia_crm_xml_is (node, "sync-filter"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <sync-filter>");
      return NULL;
    }
  if (!get_entity (node, "entity", &filter->entity, error)
      || !get_bool (node, "system", &filter->system, error)
      || !get_bool (node, "enabled", &filter->enabled, error))
    return NULL;
  filter->id = lia_crm_xml_get (node, "id");
  filter->name = lia_crm_xml_get (node, "name");
  filter->xml = node_text (node);
  if (filter->name == NULL)
    filter->name = g_strdup ("");
  return g_steal_pointer (&filter);
}

void
lia_crm_xml_write_match (GString *out, const LiaCrmMatch *match)
{
  g_string_append (out, "<match");
  lia_crm_xml_attr (out, "entity",
                    match->entity == LIA_ENTITY_N ? "user" : lia_entity_to_string (match->entity));
  lia_crm_xml_attr (out, "id", match->id);
  lia_crm_xml_attr (out, "name", match->name);
  lia_crm_xml_attr (out, "address", match->address);
  g_string_append (out, "/>");
}

LiaCrmMatch *
lia_crm_xml_read_match (xmlNode *node, GError **error)
{
  g_autoptr (LiaCrmMatch) match = g_new0 (LiaCrmMatch, 1);
  g_autofree char *entity = NULL;

  if (!lia_crm_xml_is (node, "match"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Expected <match>");
      return NULL;
    }
  entity = lia_crm_xml_get (node, "entity");
  if (g_strcmp0 (entity, "user") == 0)
    match->entity = LIA_ENTITY_N;
  else if (!lia_entity_from_string (entity, &match->entity))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Match of unknown entity");
      return NULL;
    }
  match->id = lia_crm_xml_get (node, "id");
  match->name = lia_crm_xml_get (node, "name");
  match->address = lia_crm_xml_get (node, "address");
  if (match->id == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Match without id");
      return NULL;
    }
  if (match->name == NULL)
    match->name = g_strdup ("");
  return g_steal_pointer (&match);
}

/* Email ------------------------------------------------------------------ */

void
lia_crm_xml_write_tokens (GString *out, const char *const *tokens)
{
  g_string_append (out, "<tokens>");
  for (guint i = 0; tokens[i] != NULL; i++)
    {
      g_string_append (out, "<token>");
      lia_crm_xml_escape (out, tokens[i]);
      g_string_append (out, "</token>");
    }
  g_string_append (out, "</tokens>");
}

GStrv
lia_crm_xml_read_tokens (xmlNode *node, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  if (!lia_crm_xml_is (node, "tokens"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <tokens>");
      return NULL;
    }
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      g_autoptr (LiaXmlChar) content = NULL;
      const char *text;
      gsize len;
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (!lia_crm_xml_is (child, "token") || out->len >= 1000)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<tokens> holds at most 1000 <token>");
          return NULL;
        }
      content = xmlNodeGetContent (child);
      text = content != NULL ? (const char *) content : "";
      len = strlen (text);
      /* A token goes into a subject header: printable ASCII only. */
      if (len == 0 || len > 64)
        goto bad;
      for (const char *p = text; *p != '\0'; p++)
        if (*p <= ' ' || *p > '~')
          goto bad;
      g_ptr_array_add (out, g_strdup (text));
      continue;
    bad:
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A <token> is 1..64 printable ASCII characters");
      return NULL;
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

void
lia_crm_xml_write_email_changes (GString *out, GPtrArray *records, gint64 last_version)
{
  g_string_append_printf (out, "<email-changes last-version=\"%" G_GINT64_FORMAT "\">", last_version);
  for (guint i = 0; i < records->len; i++)
    lia_crm_xml_write_record (out, records->pdata[i]);
  g_string_append (out, "</email-changes>");
}

GPtrArray *
lia_crm_xml_read_email_changes (xmlNode *node, gint64 *out_last_version, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autofree char *last = NULL;
  gint64 version = 0;

  if (!lia_crm_xml_is (node, "email-changes"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <email-changes>");
      return NULL;
    }
  last = lia_crm_xml_get (node, "last-version");
  if (last == NULL || !g_ascii_string_to_signed (last, 10, 0, G_MAXINT64, &version, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<email-changes> needs a last-version >= 0");
      return NULL;
    }
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      LiaCrmRecord *record;
      if (child->type != XML_ELEMENT_NODE)
        continue;
      record = out->len < 1000 ? lia_crm_xml_read_record (child, error) : NULL;
      if (record == NULL)
        {
          if (out->len >= 1000)
            g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<email-changes> holds at most 1000 records");
          return NULL;
        }
      if (lia_crm_record_get_entity (record) != LIA_ENTITY_EMAIL)
        {
          lia_crm_record_free (record);
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<email-changes> holds emails only");
          return NULL;
        }
      g_ptr_array_add (out, record);
    }
  if (out_last_version != NULL)
    *out_last_version = version;
  return g_steal_pointer (&out);
}

/* Batched create and track (R-MAIL-BULK) ------------------------------- */

static const char *const error_codes[] = {
  [LIA_ERROR_FAILED] = "failed",
  [LIA_ERROR_INVALID] = "invalid",
  [LIA_ERROR_STORE] = "store",
  [LIA_ERROR_PROTOCOL] = "protocol",
  [LIA_ERROR_NOT_FOUND] = "not-found",
  [LIA_ERROR_CONFLICT] = "conflict",
  [LIA_ERROR_AUTH] = "auth",
  [LIA_ERROR_FORBIDDEN] = "forbidden",
  [LIA_ERROR_UNAVAILABLE] = "unavailable",
  [LIA_ERROR_REFUSED] = "refused",
  [LIA_ERROR_ABI] = "abi",
};

void
lia_crm_xml_write_create_tracked (GString *out, const LiaCrmRecord *const *records,
                                  const char *const *request_ids, guint n)
{
  g_string_append (out, "<create-tracked>");
  for (guint i = 0; i < n; i++)
    {
      g_string_append (out, "<item");
      lia_crm_xml_attr (out, "request-id", request_ids != NULL ? request_ids[i] : NULL);
      g_string_append_c (out, '>');
      lia_crm_xml_write_record (out, records[i]);
      g_string_append (out, "</item>");
    }
  g_string_append (out, "</create-tracked>");
}

/* Element children of @node, each checked to be <@name>; at most @max. */
static gboolean
items_of (xmlNode *node, const char *name, guint max, GPtrArray *out, GError **error)
{
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    {
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (!lia_crm_xml_is (child, name) || out->len >= max)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<%s> holds at most %u <%s>",
                       (const char *) node->name, max, name);
          return FALSE;
        }
      g_ptr_array_add (out, child);
    }
  return TRUE;
}

/* The one element child of @item, NULL when there is none or more. */
static xmlNode *
only_child (xmlNode *item)
{
  xmlNode *found = NULL;

  for (xmlNode *child = item->children; child != NULL; child = child->next)
    {
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (found != NULL)
        return NULL;
      found = child;
    }
  return found;
}

gboolean
lia_crm_xml_read_create_tracked (xmlNode *node, guint max, GPtrArray **out_records,
                                 GPtrArray **out_request_ids, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new ();
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autoptr (GPtrArray) request_ids = g_ptr_array_new_with_free_func (g_free);

  if (!lia_crm_xml_is (node, "create-tracked"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <create-tracked>");
      return FALSE;
    }
  if (!items_of (node, "item", max, items, error))
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      xmlNode *child = only_child (items->pdata[i]);
      LiaCrmRecord *record;
      if (child == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Item %u of <create-tracked> needs one <record>",
                       i);
          return FALSE;
        }
      record = lia_crm_xml_read_record (child, error);
      if (record == NULL)
        {
          g_prefix_error (error, "Item %u of <create-tracked>: ", i);
          return FALSE;
        }
      g_ptr_array_add (records, record);
      g_ptr_array_add (request_ids, lia_crm_xml_get (items->pdata[i], "request-id"));
    }
  *out_records = g_steal_pointer (&records);
  *out_request_ids = g_steal_pointer (&request_ids);
  return TRUE;
}

void
lia_crm_xml_write_create_tracked_results (GString *out, LiaCrmRecord *const *records, GError *const *errors,
                                          guint n)
{
  g_string_append (out, "<create-tracked-results>");
  for (guint i = 0; i < n; i++)
    {
      g_string_append (out, "<item>");
      if (records[i] != NULL)
        lia_crm_xml_write_record (out, records[i]);
      else
        {
          const GError *e = errors[i];
          guint code = e != NULL && e->domain == LIA_ERROR && e->code >= 0
                               && e->code < (int) G_N_ELEMENTS (error_codes)
                           ? (guint) e->code
                           : LIA_ERROR_FAILED;
          g_string_append (out, "<error");
          lia_crm_xml_attr (out, "code", error_codes[code]);
          g_string_append_c (out, '>');
          lia_crm_xml_escape (out, e != NULL ? e->message : "No result");
          g_string_append (out, "</error>");
        }
      g_string_append (out, "</item>");
    }
  g_string_append (out, "</create-tracked-results>");
}

gboolean
lia_crm_xml_read_create_tracked_results (xmlNode *node, guint n, LiaCrmRecord **out_records,
                                         GError **out_errors, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new ();

  if (!lia_crm_xml_is (node, "create-tracked-results"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Expected <create-tracked-results>");
      return FALSE;
    }
  if (!items_of (node, "item", n, items, error))
    return FALSE;
  if (items->len != n)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<create-tracked-results> has %u items, not %u",
                   items->len, n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      xmlNode *child = only_child (items->pdata[i]);
      if (child != NULL && lia_crm_xml_is (child, "record"))
        {
          out_records[i] = lia_crm_xml_read_record (child, error);
          if (out_records[i] != NULL)
            continue;
        }
      else if (child != NULL && lia_crm_xml_is (child, "error"))
        {
          g_autofree char *code_name = lia_crm_xml_get (child, "code");
          g_autoptr (LiaXmlChar) text = xmlNodeGetContent (child);
          LiaErrorCode code = LIA_ERROR_FAILED;
          for (guint c = 0; c < G_N_ELEMENTS (error_codes); c++)
            if (g_strcmp0 (code_name, error_codes[c]) == 0)
              code = (LiaErrorCode) c;
          out_errors[i] = g_error_new (LIA_ERROR, code, "%s",
                                       text != NULL && *text != '\0' ? (const char *) text : "Failed");
          continue;
        }
      else
        g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                     "Item %u of <create-tracked-results> needs a <record> or an <error>", i);
      for (guint j = 0; j <= i; j++)
        {
          g_clear_pointer (&out_records[j], lia_crm_record_free);
          g_clear_error (&out_errors[j]);
        }
      return FALSE;
    }
  return TRUE;
}
