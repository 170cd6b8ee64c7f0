/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "crm/lia-crm-xml-private.h"
#include "lia-org-filter.h"

typedef enum
{
  OP_EQ,
  OP_NE,
  OP_IN,
  OP_NOT_IN,
  OP_NULL,
  OP_NOT_NULL,
  OP_LIKE,
  OP_BEGINS_WITH,
  OP_EQ_CURRENT_USER,
  OP_NE_CURRENT_USER,
  OP_ON_OR_AFTER,
  OP_ON_OR_BEFORE,
  OP_LAST_X_DAYS,
  OP_NEXT_X_DAYS,
  OP_N
} Op;

/* How many values each operator takes: 0, exactly 1, or 1 and more. */
typedef enum
{
  ARITY_NONE,
  ARITY_ONE,
  ARITY_MANY
} Arity;

static const struct
{
  const char *name;
  Arity arity;
} ops[] = {
  [OP_EQ] = { "eq", ARITY_ONE },
  [OP_NE] = { "ne", ARITY_ONE },
  [OP_IN] = { "in", ARITY_MANY },
  [OP_NOT_IN] = { "not-in", ARITY_MANY },
  [OP_NULL] = { "null", ARITY_NONE },
  [OP_NOT_NULL] = { "not-null", ARITY_NONE },
  [OP_LIKE] = { "like", ARITY_ONE },
  [OP_BEGINS_WITH] = { "begins-with", ARITY_ONE },
  [OP_EQ_CURRENT_USER] = { "eq-current-user", ARITY_NONE },
  [OP_NE_CURRENT_USER] = { "ne-current-user", ARITY_NONE },
  [OP_ON_OR_AFTER] = { "on-or-after", ARITY_ONE },
  [OP_ON_OR_BEFORE] = { "on-or-before", ARITY_ONE },
  [OP_LAST_X_DAYS] = { "last-x-days", ARITY_ONE },
  [OP_NEXT_X_DAYS] = { "next-x-days", ARITY_ONE },
};
G_STATIC_ASSERT (G_N_ELEMENTS (ops) == OP_N);

/* What a condition reads: one of the record columns or a registry field. */
typedef enum
{
  ATTR_OWNER,
  ATTR_STATE,
  ATTR_MODIFIED_ON,
  ATTR_FIELD
} AttrKind;

#define US_PER_DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

typedef enum
{
  NODE_AND,
  NODE_OR,
  NODE_CONDITION
} NodeKind;

typedef struct _Node Node;
struct _Node
{
  NodeKind kind;
  GPtrArray *children; /* owned, of Node; groups only */
  /* Conditions: */
  Op op;
  AttrKind attr;
  gint field_index;     /* ATTR_FIELD: position in the registry */
  LiaValueKind kind_of; /* the value kind compared */
  GPtrArray *values;    /* owned strings, casefolded for text */
  gint64 number;        /* integers, days, or a day (as instant) */
  gboolean relative_today;
};

struct _LiaOrgFilter
{
  LiaEntity entity;
  Node *root; /* owned */
  gboolean time_dependent;
  gboolean needs_item;
};

static void
node_free (Node *node)
{
  if (node == NULL)
    return;
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_clear_pointer (&node->values, g_ptr_array_unref);
  g_free (node);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Node, node_free)

void
lia_org_filter_free (LiaOrgFilter *filter)
{
  if (filter == NULL)
    return;
  node_free (filter->root);
  g_free (filter);
}

typedef struct
{
  LiaOrgFilter *filter;
  guint n_nodes;
} ParseState;

static gboolean
parse_day (const char *text, gint64 *out_day_us, gboolean *out_today)
{
  guint y = 0, m = 0, d = 0;
  char extra = 0;
  g_autoptr (GDateTime) dt = NULL;

  if (g_str_equal (text, "today"))
    {
      *out_today = TRUE;
      *out_day_us = 0;
      return TRUE;
    }
  if (sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &extra) != 3)
    return FALSE;
  if (y < 1 || y > 9999 || !g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    return FALSE;
  dt = g_date_time_new_utc ((gint) y, (gint) m, (gint) d, 0, 0, 0);
  if (dt == NULL)
    return FALSE;
  *out_today = FALSE;
  *out_day_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC;
  return TRUE;
}

static Node *parse_group (ParseState *state, xmlNode *xml, NodeKind kind, GError **error);

static Node *
parse_condition (ParseState *state, xmlNode *xml, GError **error)
{
  LiaEntity entity = state->filter->entity;
  g_autofree char *attribute = lia_crm_xml_get (xml, "attribute");
  g_autofree char *operator= lia_crm_xml_get (xml, "operator");
  g_autofree char *value_attr = lia_crm_xml_get (xml, "value");
  g_autoptr (Node) node = g_new0 (Node, 1);
  const LiaFieldInfo *field = NULL;
  guint op;
  const char *what;

  node->kind = NODE_CONDITION;
  node->values = g_ptr_array_new_with_free_func (g_free);
  if (attribute == NULL || operator== NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Filter line %d: <condition> needs attribute and operator", (int) xmlGetLineNo (xml));
      return NULL;
    }
  for (op = 0; op < OP_N; op++)
    if (g_str_equal (ops[op].name, operator))
      break;
  if (op == OP_N)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: unknown operator \"%s\"",
                   (int) xmlGetLineNo (xml), operator);
      return NULL;
    }
  node->op = (Op) op;

  if (g_str_equal (attribute, "ownerid"))
    {
      node->attr = ATTR_OWNER;
      node->kind_of = LIA_VALUE_TEXT;
    }
  else if (g_str_equal (attribute, "statecode"))
    {
      node->attr = ATTR_STATE;
      node->kind_of = LIA_VALUE_ENUM;
    }
  else if (g_str_equal (attribute, "modifiedon"))
    {
      node->attr = ATTR_MODIFIED_ON;
      node->kind_of = LIA_VALUE_DATETIME;
    }
  else
    {
      field = lia_field_lookup_crm (entity, attribute);
      if (field == NULL)
        field = lia_field_lookup (entity, attribute);
      if (field == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "Filter line %d: unknown attribute \"%s\" for entity %s", (int) xmlGetLineNo (xml),
                       attribute, lia_entity_to_string (entity));
          return NULL;
        }
      node->attr = ATTR_FIELD;
      node->field_index = lia_field_index (entity, field->name);
      node->kind_of = field->kind;
      state->filter->needs_item = TRUE;
    }

  /* Values: a value="" attribute or <value> children, never both. */
  if (value_attr != NULL)
    g_ptr_array_add (node->values, g_steal_pointer (&value_attr));
  for (xmlNode *child = xml->children; child != NULL; child = child->next)
    {
      g_autoptr (LiaXmlChar) content = NULL;
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (!lia_crm_xml_is (child, "value"))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: unexpected <%s> in <condition>",
                       (int) xmlGetLineNo (child), (const char *) child->name);
          return NULL;
        }
      if (node->values->len >= LIA_ORG_FILTER_MAX_NODES)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: more than %d values",
                       (int) xmlGetLineNo (child), LIA_ORG_FILTER_MAX_NODES);
          return NULL;
        }
      content = xmlNodeGetContent (child);
      g_ptr_array_add (node->values, g_strdup (content != NULL ? (const char *) content : ""));
    }
  what = ops[op].arity == ARITY_NONE  ? "no value"
         : ops[op].arity == ARITY_ONE ? "exactly one value"
                                      : "values";
  if ((ops[op].arity == ARITY_NONE && node->values->len != 0)
      || (ops[op].arity == ARITY_ONE && node->values->len != 1)
      || (ops[op].arity == ARITY_MANY && node->values->len == 0))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: operator \"%s\" takes %s",
                   (int) xmlGetLineNo (xml), operator, what);
      return NULL;
    }

  /* Check each operator against what the attribute is. */
  switch (node->op)
    {
    case OP_EQ_CURRENT_USER:
    case OP_NE_CURRENT_USER:
      if (node->attr != ATTR_OWNER)
        goto wrong_type;
      break;
    case OP_ON_OR_AFTER:
    case OP_ON_OR_BEFORE:
      if (node->kind_of != LIA_VALUE_DATETIME && node->kind_of != LIA_VALUE_DATE)
        goto wrong_type;
      if (!parse_day (node->values->pdata[0], &node->number, &node->relative_today))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "Filter line %d: \"%s\" is not a date (YYYY-MM-DD or today)", (int) xmlGetLineNo (xml),
                       (const char *) node->values->pdata[0]);
          return NULL;
        }
      if (node->relative_today)
        state->filter->time_dependent = TRUE;
      break;
    case OP_LAST_X_DAYS:
    case OP_NEXT_X_DAYS:
      if (node->kind_of != LIA_VALUE_DATETIME && node->kind_of != LIA_VALUE_DATE)
        goto wrong_type;
      if (!g_ascii_string_to_signed (node->values->pdata[0], 10, 1, 3650, &node->number, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "Filter line %d: \"%s\" is not a day count in 1..3650", (int) xmlGetLineNo (xml),
                       (const char *) node->values->pdata[0]);
          return NULL;
        }
      state->filter->time_dependent = TRUE;
      break;
    case OP_LIKE:
    case OP_BEGINS_WITH:
      if (node->kind_of != LIA_VALUE_TEXT)
        goto wrong_type;
      break;
    case OP_EQ:
    case OP_NE:
    case OP_IN:
    case OP_NOT_IN:
      if (node->kind_of == LIA_VALUE_PARTY_LIST || node->kind_of == LIA_VALUE_RECURRENCE
          || node->kind_of == LIA_VALUE_DATETIME || node->kind_of == LIA_VALUE_DATE)
        goto wrong_type;
      for (guint i = 0; i < node->values->len; i++)
        {
          const char *v = node->values->pdata[i];
          gint64 n = 0;
          if (node->attr == ATTR_STATE && !lia_record_state_from_string (v, NULL))
            {
              g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                           "Filter line %d: \"%s\" is not a record state", (int) xmlGetLineNo (xml), v);
              return NULL;
            }
          if (node->kind_of == LIA_VALUE_INTEGER
              && !g_ascii_string_to_signed (v, 10, G_MININT64, G_MAXINT64, &n, NULL))
            {
              g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: \"%s\" is not an integer",
                           (int) xmlGetLineNo (xml), v);
              return NULL;
            }
          if (node->kind_of == LIA_VALUE_BOOLEAN && !g_str_equal (v, "true") && !g_str_equal (v, "false"))
            {
              g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: \"%s\" is not true or false",
                           (int) xmlGetLineNo (xml), v);
              return NULL;
            }
        }
      break;
    case OP_NULL:
    case OP_NOT_NULL:
    case OP_N:
    default:
      break;
    }
  /* Text compares case-insensitively, as the CRM does. */
  if (node->kind_of == LIA_VALUE_TEXT && node->attr == ATTR_FIELD)
    for (guint i = 0; i < node->values->len; i++)
      {
        char *folded = g_utf8_casefold (node->values->pdata[i], -1);
        g_free (node->values->pdata[i]);
        node->values->pdata[i] = folded;
      }
  return g_steal_pointer (&node);

wrong_type:
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
               "Filter line %d: operator \"%s\" does not apply to \"%s\"", (int) xmlGetLineNo (xml), operator,
               attribute);
  return NULL;
}

static Node *
parse_group (ParseState *state, xmlNode *xml, NodeKind kind, GError **error)
{
  g_autoptr (Node) node = g_new0 (Node, 1);

  node->kind = kind;
  node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  for (xmlNode *child = xml->children; child != NULL; child = child->next)
    {
      Node *sub;

      if (child->type == XML_TEXT_NODE || child->type == XML_COMMENT_NODE)
        {
          if (child->type == XML_TEXT_NODE && !xmlIsBlankNode (child))
            {
              g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: unexpected text",
                           (int) xmlGetLineNo (child));
              return NULL;
            }
          continue;
        }
      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (++state->n_nodes > LIA_ORG_FILTER_MAX_NODES)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter has more than %d conditions and groups",
                       LIA_ORG_FILTER_MAX_NODES);
          return NULL;
        }
      if (lia_crm_xml_is (child, "condition"))
        sub = parse_condition (state, child, error);
      else if (lia_crm_xml_is (child, "and"))
        sub = parse_group (state, child, NODE_AND, error);
      else if (lia_crm_xml_is (child, "or"))
        sub = parse_group (state, child, NODE_OR, error);
      else
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "Filter line %d: unknown element <%s> (expected condition, and, or)",
                       (int) xmlGetLineNo (child), (const char *) child->name);
          return NULL;
        }
      if (sub == NULL)
        return NULL;
      g_ptr_array_add (node->children, sub);
    }
  if (kind != NODE_AND && node->children->len == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Filter line %d: empty <or> group",
                   (int) xmlGetLineNo (xml));
      return NULL;
    }
  return g_steal_pointer (&node);
}

LiaOrgFilter *
lia_org_filter_parse (const char *xml, gsize len, GError **error)
{
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (LiaOrgFilter) filter = g_new0 (LiaOrgFilter, 1);
  g_autofree char *entity = NULL;
  xmlNode *root;
  ParseState state = { filter, 0 };

  g_return_val_if_fail (xml != NULL, NULL);
  doc = lia_crm_xml_parse (xml, len, LIA_ORG_FILTER_MAX_BYTES, "filter", error);
  if (doc == NULL)
    {
      g_prefix_error (error, "Invalid filter: ");
      return NULL;
    }
  root = xmlDocGetRootElement (doc);
  entity = lia_crm_xml_get (root, "entity");
  if (!lia_entity_from_string (entity, &filter->entity))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Invalid filter: unknown entity \"%s\"",
                   entity != NULL ? entity : "(missing)");
      if (error != NULL && *error != NULL)
        g_strdelimit ((*error)->message, "\r\n", ' ');
      return NULL;
    }
  filter->root = parse_group (&state, root, NODE_AND, error);
  if (filter->root == NULL)
    {
      g_prefix_error (error, "Invalid filter: ");
      /* Names quoted from the input may hold newlines; errors are one line. */
      if (error != NULL && *error != NULL)
        g_strdelimit ((*error)->message, "\r\n", ' ');
      return NULL;
    }
  return g_steal_pointer (&filter);
}

LiaEntity
lia_org_filter_get_entity (const LiaOrgFilter *filter)
{
  return filter->entity;
}

gboolean
lia_org_filter_is_time_dependent (const LiaOrgFilter *filter)
{
  return filter->time_dependent;
}

gboolean
lia_org_filter_needs_item (const LiaOrgFilter *filter)
{
  return filter->needs_item;
}

static gint64
day_start (gint64 instant_us)
{
  gint64 day = instant_us / US_PER_DAY;

  if (instant_us < 0 && instant_us % US_PER_DAY != 0)
    day--;
  return day * US_PER_DAY;
}

/* A comparable instant for dates and times; FALSE when absent. */
static gboolean
instant_of (const LiaValue *value, gint64 *out)
{
  if (value == NULL)
    return FALSE;
  if (lia_value_get_kind (value) == LIA_VALUE_DATETIME)
    *out = lia_value_get_instant (value);
  else
    {
      guint y = 0, m = 0, d = 0;
      g_autoptr (GDateTime) dt = NULL;
      lia_value_get_date (value, &y, &m, &d);
      dt = g_date_time_new_utc ((gint) y, (gint) m, (gint) d, 0, 0, 0);
      if (dt == NULL)
        return FALSE;
      *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC;
    }
  return TRUE;
}

/* The text a value compares as, for eq/in/like: borrowed or in @scratch. */
static const char *
text_of (const Node *node, const LiaOrgFilterSubject *subject, const LiaValue *value, char **scratch)
{
  switch (node->attr)
    {
    case ATTR_OWNER:
      return subject->owner;
    case ATTR_STATE:
      return lia_record_state_to_string (subject->state);
    case ATTR_MODIFIED_ON:
      return NULL;
    case ATTR_FIELD:
    default:
      break;
    }
  if (value == NULL)
    return NULL;
  switch (lia_value_get_kind (value))
    {
    case LIA_VALUE_TEXT:
      *scratch = g_utf8_casefold (lia_value_get_text (value), -1);
      return *scratch;
    case LIA_VALUE_ENUM:
      return lia_value_get_enum (value);
    case LIA_VALUE_REFERENCE:
      return lia_value_get_reference_id (value);
    case LIA_VALUE_BOOLEAN:
      return lia_value_get_boolean (value) ? "true" : "false";
    case LIA_VALUE_INTEGER:
      *scratch = g_strdup_printf ("%" G_GINT64_FORMAT, lia_value_get_integer (value));
      return *scratch;
    default:
      return NULL;
    }
}

static gboolean
match_condition (const Node *node, const LiaOrgFilterSubject *subject, const char *user_id, gint64 now_us)
{
  const LiaValue *value = NULL;
  g_autofree char *scratch = NULL;
  const char *text;
  gint64 instant = 0;
  gboolean present;

  if (node->attr == ATTR_FIELD)
    {
      if (subject->item == NULL)
        return FALSE;
      value = lia_item_get_at (subject->item, (guint) node->field_index);
      present = value != NULL;
    }
  else
    present = node->attr != ATTR_OWNER || subject->owner != NULL;

  switch (node->op)
    {
    case OP_NULL:
      return !present;
    case OP_NOT_NULL:
      return present;
    case OP_EQ_CURRENT_USER:
      return g_strcmp0 (subject->owner, user_id) == 0;
    case OP_NE_CURRENT_USER:
      return g_strcmp0 (subject->owner, user_id) != 0;
    case OP_EQ:
    case OP_IN:
    case OP_NE:
    case OP_NOT_IN:
      {
        gboolean hit = FALSE;
        text = text_of (node, subject, value, &scratch);
        if (text != NULL)
          for (guint i = 0; i < node->values->len && !hit; i++)
            hit = strcmp (text, node->values->pdata[i]) == 0;
        return (node->op == OP_EQ || node->op == OP_IN) ? hit : !hit;
      }
    case OP_LIKE:
      text = text_of (node, subject, value, &scratch);
      return text != NULL && strstr (text, node->values->pdata[0]) != NULL;
    case OP_BEGINS_WITH:
      text = text_of (node, subject, value, &scratch);
      return text != NULL && g_str_has_prefix (text, node->values->pdata[0]);
    case OP_ON_OR_AFTER:
    case OP_ON_OR_BEFORE:
    case OP_LAST_X_DAYS:
    case OP_NEXT_X_DAYS:
      if (node->attr == ATTR_MODIFIED_ON)
        instant = subject->modified_on;
      else if (!instant_of (value, &instant))
        return FALSE;
      switch (node->op)
        {
        case OP_ON_OR_AFTER:
          return instant >= (node->relative_today ? day_start (now_us) : node->number);
        case OP_ON_OR_BEFORE:
          return instant < (node->relative_today ? day_start (now_us) : node->number) + US_PER_DAY;
        case OP_LAST_X_DAYS:
          /* Whole UTC days, today included: the result changes only when
           * the day does, which PrepareSync relies on. */
          return instant >= day_start (now_us) - node->number * US_PER_DAY
                 && instant < day_start (now_us) + US_PER_DAY;
        case OP_NEXT_X_DAYS:
        default:
          return instant >= day_start (now_us)
                 && instant < day_start (now_us) + (node->number + 1) * US_PER_DAY;
        }
    case OP_N:
    default:
      return FALSE;
    }
}

static gboolean
match_node (const Node *node, const LiaOrgFilterSubject *subject, const char *user_id, gint64 now_us)
{
  if (node->kind == NODE_CONDITION)
    return match_condition (node, subject, user_id, now_us);
  for (guint i = 0; i < node->children->len; i++)
    {
      gboolean hit = match_node (node->children->pdata[i], subject, user_id, now_us);
      if (node->kind == NODE_AND && !hit)
        return FALSE;
      if (node->kind == NODE_OR && hit)
        return TRUE;
    }
  return node->kind == NODE_AND;
}

gboolean
lia_org_filter_match (const LiaOrgFilter *filter, const LiaOrgFilterSubject *subject, const char *user_id,
                      gint64 now_us)
{
  return match_node (filter->root, subject, user_id, now_us);
}

void
lia_org_filter_foreach_default (LiaOrgFilterDefaultFunc func, gpointer user_data)
{
  static const char my_contacts[] =
      "<filter entity=\"contact\"><condition attribute=\"ownerid\" operator=\"eq-current-user\"/></filter>";
  static const LiaEntity activities[] = { LIA_ENTITY_TASK, LIA_ENTITY_PHONE_CALL, LIA_ENTITY_LETTER,
                                          LIA_ENTITY_FAX };
  static const LiaEntity appointments[] = { LIA_ENTITY_APPOINTMENT, LIA_ENTITY_RECURRING_APPOINTMENT,
                                            LIA_ENTITY_SERVICE_APPOINTMENT };

  func (LIA_ENTITY_CONTACT, "My contacts", my_contacts, user_data);
  for (guint i = 0; i < G_N_ELEMENTS (activities); i++)
    {
      g_autofree char *xml = g_strdup_printf (
          "<filter entity=\"%s\"><condition attribute=\"ownerid\" operator=\"eq-current-user\"/>"
          "<condition attribute=\"statecode\" operator=\"in\"><value>open</value><value>scheduled</value>"
          "</condition></filter>",
          lia_entity_to_string (activities[i]));
      func (activities[i], "My open activities", xml, user_data);
    }
  for (guint i = 0; i < G_N_ELEMENTS (appointments); i++)
    {
      g_autofree char *xml = g_strdup_printf (
          "<filter entity=\"%s\"><condition attribute=\"ownerid\" operator=\"eq-current-user\"/>"
          "<condition attribute=\"scheduledend\" operator=\"on-or-after\" value=\"today\"/>"
          "</filter>",
          lia_entity_to_string (appointments[i]));
      func (appointments[i], "My future appointments", xml, user_data);
    }
}
