/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <liaison/liaison.h>

/* Values are immutable after construction, so sharing them between items
 * (and threads) needs only the atomic reference count. Text lives in the same
 * allocation as the value: decoding a contact makes one allocation a field. */
struct _LiaValue
{
  gatomicrefcount ref_count;
  LiaValueKind kind;
  union
  {
    struct
    {
      const char *text; /* points into tail */
    } text;
    struct
    {
      gint64 instant_us;
      const char *tzid; /* points into tail, nullable */
    } datetime;
    guint32 julian;
    gint64 integer;
    gboolean boolean;
    const char *symbol; /* points into tail */
    struct
    {
      LiaEntity entity;
      char *id;   /* owned, nullable */
      char *name; /* owned, nullable */
    } reference;
    struct
    {
      LiaParty *parties; /* owned, with owned strings */
      gsize n_parties;
    } parties;
    LiaRecurrence recurrence; /* exdates_us owned */
  } u;
  char tail[];
};

static const char *const kind_names[] = {
  [LIA_VALUE_TEXT] = "text",
  [LIA_VALUE_DATETIME] = "datetime",
  [LIA_VALUE_DATE] = "date",
  [LIA_VALUE_INTEGER] = "integer",
  [LIA_VALUE_BOOLEAN] = "boolean",
  [LIA_VALUE_ENUM] = "enum",
  [LIA_VALUE_REFERENCE] = "reference",
  [LIA_VALUE_PARTY_LIST] = "parties",
  [LIA_VALUE_RECURRENCE] = "recurrence",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == LIA_VALUE_N);

const char *
lia_value_kind_to_string (LiaValueKind kind)
{
  if ((guint) kind >= LIA_VALUE_N)
    return "none";
  return kind_names[kind];
}

gboolean
lia_value_kind_from_string (const char *name, LiaValueKind *out_kind)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_VALUE_N; i++)
    {
      if (g_str_equal (name, kind_names[i]))
        {
          if (out_kind != NULL)
            *out_kind = (LiaValueKind) i;
          return TRUE;
        }
    }
  return FALSE;
}

static LiaValue *
value_alloc (LiaValueKind kind, gsize tail)
{
  LiaValue *value = g_malloc0 (sizeof (LiaValue) + tail);

  g_atomic_ref_count_init (&value->ref_count);
  value->kind = kind;
  return value;
}

LiaValue *
lia_value_ref (LiaValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_atomic_ref_count_inc (&value->ref_count);
  return value;
}

static void
value_free_contents (LiaValue *value)
{
  switch (value->kind)
    {
    case LIA_VALUE_REFERENCE:
      g_free (value->u.reference.id);
      g_free (value->u.reference.name);
      break;
    case LIA_VALUE_PARTY_LIST:
      for (gsize i = 0; i < value->u.parties.n_parties; i++)
        {
          LiaParty *p = &value->u.parties.parties[i];
          g_free ((char *) p->address);
          g_free ((char *) p->name);
          g_free ((char *) p->id);
        }
      g_free (value->u.parties.parties);
      break;
    case LIA_VALUE_RECURRENCE:
      g_free ((gint64 *) value->u.recurrence.exdates_us);
      break;
    case LIA_VALUE_TEXT:
    case LIA_VALUE_DATETIME:
    case LIA_VALUE_DATE:
    case LIA_VALUE_INTEGER:
    case LIA_VALUE_BOOLEAN:
    case LIA_VALUE_ENUM:
    case LIA_VALUE_N:
    default:
      break;
    }
}

void
lia_value_unref (LiaValue *value)
{
  if (value == NULL || !g_atomic_ref_count_dec (&value->ref_count))
    return;
  value_free_contents (value);
  g_free (value);
}

LiaValue *
lia_value_new_text_len (const char *text, gsize len)
{
  LiaValue *value;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  if (len > 0 && !g_utf8_validate_len (text, len, NULL))
    return NULL;
  value = value_alloc (LIA_VALUE_TEXT, len + 1);
  if (len > 0)
    memcpy (value->tail, text, len);
  value->tail[len] = '\0';
  value->u.text.text = value->tail;
  return value;
}

LiaValue *
lia_value_new_text (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  return lia_value_new_text_len (text, strlen (text));
}

LiaValue *
lia_value_new_datetime (gint64 instant_us, const char *tzid)
{
  /* The zone name is copied into the value, not interned: values are built
   * from outside data (OriginalXML, CRM pages), and interned strings are
   * never freed, so made-up zone names would grow the process forever. */
  gsize len = (tzid != NULL) ? strlen (tzid) : 0;
  LiaValue *value = value_alloc (LIA_VALUE_DATETIME, len > 0 ? len + 1 : 0);

  value->u.datetime.instant_us = instant_us;
  if (len > 0)
    {
      memcpy (value->tail, tzid, len + 1);
      value->u.datetime.tzid = value->tail;
    }
  return value;
}

LiaValue *
lia_value_new_date (guint year, guint month, guint day)
{
  LiaValue *value;

  if (year < 1 || year > 9999 || !g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year))
    return NULL;
  value = value_alloc (LIA_VALUE_DATE, 0);
  {
    GDate date;
    g_date_clear (&date, 1);
    g_date_set_dmy (&date, (GDateDay) day, (GDateMonth) month, (GDateYear) year);
    value->u.julian = g_date_get_julian (&date);
  }
  return value;
}

LiaValue *
lia_value_new_integer (gint64 integer)
{
  LiaValue *value = value_alloc (LIA_VALUE_INTEGER, 0);

  value->u.integer = integer;
  return value;
}

LiaValue *
lia_value_new_boolean (gboolean boolean)
{
  LiaValue *value = value_alloc (LIA_VALUE_BOOLEAN, 0);

  value->u.boolean = boolean ? TRUE : FALSE;
  return value;
}

static gboolean
symbol_valid (const char *symbol)
{
  if (symbol == NULL || *symbol == '\0')
    return FALSE;
  for (const char *p = symbol; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-')
        return FALSE;
    }
  return TRUE;
}

LiaValue *
lia_value_new_enum (const char *symbol)
{
  LiaValue *value;
  gsize len;

  if (!symbol_valid (symbol))
    return NULL;
  /* Copied, not interned: symbols come from outside data (see datetime). */
  len = strlen (symbol);
  value = value_alloc (LIA_VALUE_ENUM, len + 1);
  memcpy (value->tail, symbol, len + 1);
  value->u.symbol = value->tail;
  return value;
}

static gboolean
utf8_or_null (const char *s)
{
  return s == NULL || g_utf8_validate (s, -1, NULL);
}

LiaValue *
lia_value_new_reference (LiaEntity entity, const char *id, const char *name)
{
  LiaValue *value;

  if ((guint) entity >= LIA_ENTITY_N || (id == NULL && name == NULL) || !utf8_or_null (id)
      || !utf8_or_null (name))
    return NULL;
  value = value_alloc (LIA_VALUE_REFERENCE, 0);
  value->u.reference.entity = entity;
  value->u.reference.id = g_strdup (id);
  value->u.reference.name = g_strdup (name);
  return value;
}

LiaValue *
lia_value_new_party_list (const LiaParty *parties, gsize n_parties)
{
  LiaValue *value;

  g_return_val_if_fail (parties != NULL || n_parties == 0, NULL);
  for (gsize i = 0; i < n_parties; i++)
    {
      const LiaParty *p = &parties[i];
      if (!utf8_or_null (p->address) || !utf8_or_null (p->name) || !utf8_or_null (p->id)
          || (guint) p->entity > LIA_ENTITY_N)
        return NULL;
    }
  value = value_alloc (LIA_VALUE_PARTY_LIST, 0);
  value->u.parties.n_parties = n_parties;
  value->u.parties.parties = g_new0 (LiaParty, n_parties);
  for (gsize i = 0; i < n_parties; i++)
    {
      LiaParty *p = &value->u.parties.parties[i];
      p->address = g_strdup (parties[i].address);
      p->name = g_strdup (parties[i].name);
      p->entity = parties[i].entity;
      p->id = g_strdup (parties[i].id);
    }
  return value;
}

static gboolean
recurrence_valid (const LiaRecurrence *r)
{
  if ((guint) r->frequency >= LIA_RECUR_N || r->interval < 1 || r->interval > 1000)
    return FALSE;
  if (r->by_day > 0x7f || r->by_month > 12 || r->week_start > 6)
    return FALSE;
  if (r->by_month_day < -1 || r->by_month_day > 31)
    return FALSE;
  if (r->by_set_pos < -1 || r->by_set_pos > 5)
    return FALSE;
  if (r->n_exdates > 0 && r->exdates_us == NULL)
    return FALSE;
  for (gsize i = 1; i < r->n_exdates; i++)
    {
      if (r->exdates_us[i] <= r->exdates_us[i - 1])
        return FALSE;
    }
  return TRUE;
}

LiaValue *
lia_value_new_recurrence (const LiaRecurrence *recurrence)
{
  LiaValue *value;

  g_return_val_if_fail (recurrence != NULL, NULL);
  if (!recurrence_valid (recurrence))
    return NULL;
  value = value_alloc (LIA_VALUE_RECURRENCE, 0);
  value->u.recurrence = *recurrence;
  value->u.recurrence.exdates_us =
      recurrence->n_exdates > 0 ? g_memdup2 (recurrence->exdates_us, recurrence->n_exdates * sizeof (gint64))
                                : NULL;
  return value;
}

LiaValueKind
lia_value_get_kind (const LiaValue *value)
{
  g_return_val_if_fail (value != NULL, LIA_VALUE_N);
  return value->kind;
}

#define CHECK_KIND(value, k, zero)                     \
  G_STMT_START                                         \
  {                                                    \
    g_return_val_if_fail ((value) != NULL, zero);      \
    g_return_val_if_fail ((value)->kind == (k), zero); \
  }                                                    \
  G_STMT_END

const char *
lia_value_get_text (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_TEXT, NULL);
  return value->u.text.text;
}

gint64
lia_value_get_instant (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_DATETIME, 0);
  return value->u.datetime.instant_us;
}

const char *
lia_value_get_tzid (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_DATETIME, NULL);
  return value->u.datetime.tzid;
}

guint32
lia_value_get_julian (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_DATE, 0);
  return value->u.julian;
}

void
lia_value_get_date (const LiaValue *value, guint *out_year, guint *out_month, guint *out_day)
{
  GDate date;

  g_return_if_fail (value != NULL && value->kind == LIA_VALUE_DATE);
  g_date_clear (&date, 1);
  g_date_set_julian (&date, value->u.julian);
  if (out_year != NULL)
    *out_year = g_date_get_year (&date);
  if (out_month != NULL)
    *out_month = g_date_get_month (&date);
  if (out_day != NULL)
    *out_day = g_date_get_day (&date);
}

gint64
lia_value_get_integer (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_INTEGER, 0);
  return value->u.integer;
}

gboolean
lia_value_get_boolean (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_BOOLEAN, FALSE);
  return value->u.boolean;
}

const char *
lia_value_get_enum (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_ENUM, NULL);
  return value->u.symbol;
}

LiaEntity
lia_value_get_reference_entity (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_REFERENCE, LIA_ENTITY_N);
  return value->u.reference.entity;
}

const char *
lia_value_get_reference_id (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_REFERENCE, NULL);
  return value->u.reference.id;
}

const char *
lia_value_get_reference_name (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_REFERENCE, NULL);
  return value->u.reference.name;
}

gsize
lia_value_get_n_parties (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_PARTY_LIST, 0);
  return value->u.parties.n_parties;
}

const LiaParty *
lia_value_get_party (const LiaValue *value, gsize index)
{
  CHECK_KIND (value, LIA_VALUE_PARTY_LIST, NULL);
  g_return_val_if_fail (index < value->u.parties.n_parties, NULL);
  return &value->u.parties.parties[index];
}

const LiaRecurrence *
lia_value_get_recurrence (const LiaValue *value)
{
  CHECK_KIND (value, LIA_VALUE_RECURRENCE, NULL);
  return &value->u.recurrence;
}

static gboolean
recurrence_equal (const LiaRecurrence *a, const LiaRecurrence *b)
{
  return a->frequency == b->frequency && a->interval == b->interval && a->count == b->count
         && a->until_us == b->until_us && a->by_day == b->by_day && a->by_month_day == b->by_month_day
         && a->by_month == b->by_month && a->by_set_pos == b->by_set_pos && a->week_start == b->week_start
         && a->n_exdates == b->n_exdates
         && (a->n_exdates == 0 || memcmp (a->exdates_us, b->exdates_us, a->n_exdates * sizeof (gint64)) == 0);
}

static gboolean
parties_equal (const LiaValue *a, const LiaValue *b)
{
  if (a->u.parties.n_parties != b->u.parties.n_parties)
    return FALSE;
  for (gsize i = 0; i < a->u.parties.n_parties; i++)
    {
      const LiaParty *pa = &a->u.parties.parties[i];
      const LiaParty *pb = &b->u.parties.parties[i];
      if (pa->entity != pb->entity || g_strcmp0 (pa->address, pb->address) != 0
          || g_strcmp0 (pa->name, pb->name) != 0 || g_strcmp0 (pa->id, pb->id) != 0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
value_compare (const LiaValue *a, const LiaValue *b, gboolean identical)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->kind != b->kind)
    return FALSE;
  switch (a->kind)
    {
    case LIA_VALUE_TEXT:
      return strcmp (a->u.text.text, b->u.text.text) == 0;
    case LIA_VALUE_DATETIME:
      return a->u.datetime.instant_us == b->u.datetime.instant_us
             && (!identical || g_strcmp0 (a->u.datetime.tzid, b->u.datetime.tzid) == 0);
    case LIA_VALUE_DATE:
      return a->u.julian == b->u.julian;
    case LIA_VALUE_INTEGER:
      return a->u.integer == b->u.integer;
    case LIA_VALUE_BOOLEAN:
      return a->u.boolean == b->u.boolean;
    case LIA_VALUE_ENUM:
      return strcmp (a->u.symbol, b->u.symbol) == 0;
    case LIA_VALUE_REFERENCE:
      return a->u.reference.entity == b->u.reference.entity
             && g_strcmp0 (a->u.reference.id, b->u.reference.id) == 0
             && g_strcmp0 (a->u.reference.name, b->u.reference.name) == 0;
    case LIA_VALUE_PARTY_LIST:
      return parties_equal (a, b);
    case LIA_VALUE_RECURRENCE:
      return recurrence_equal (&a->u.recurrence, &b->u.recurrence);
    case LIA_VALUE_N:
    default:
      return FALSE;
    }
}

gboolean
lia_value_equal (const LiaValue *a, const LiaValue *b)
{
  return value_compare (a, b, FALSE);
}

gboolean
lia_value_identical (const LiaValue *a, const LiaValue *b)
{
  return value_compare (a, b, TRUE);
}

static void
append_instant (GString *out, gint64 instant_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (instant_us / G_USEC_PER_SEC);

  if (dt == NULL)
    {
      g_string_append_printf (out, "@%" G_GINT64_FORMAT "us", instant_us);
      return;
    }
  g_autofree char *s = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
  g_string_append (out, s);
}

char *
lia_value_to_display (const LiaValue *value)
{
  GString *out;

  if (value == NULL)
    return g_strdup ("(absent)");
  out = g_string_new (NULL);
  switch (value->kind)
    {
    case LIA_VALUE_TEXT:
      g_string_append_printf (out, "\"%s\"", value->u.text.text);
      break;
    case LIA_VALUE_DATETIME:
      append_instant (out, value->u.datetime.instant_us);
      if (value->u.datetime.tzid != NULL)
        g_string_append_printf (out, " (%s)", value->u.datetime.tzid);
      break;
    case LIA_VALUE_DATE:
      {
        guint y, m, d;
        lia_value_get_date (value, &y, &m, &d);
        g_string_append_printf (out, "%04u-%02u-%02u", y, m, d);
      }
      break;
    case LIA_VALUE_INTEGER:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, value->u.integer);
      break;
    case LIA_VALUE_BOOLEAN:
      g_string_append (out, value->u.boolean ? "true" : "false");
      break;
    case LIA_VALUE_ENUM:
      g_string_append (out, value->u.symbol);
      break;
    case LIA_VALUE_REFERENCE:
      g_string_append_printf (out, "%s \"%s\"", lia_entity_to_string (value->u.reference.entity),
                              value->u.reference.name != NULL ? value->u.reference.name
                                                              : value->u.reference.id);
      break;
    case LIA_VALUE_PARTY_LIST:
      for (gsize i = 0; i < value->u.parties.n_parties; i++)
        {
          const LiaParty *p = &value->u.parties.parties[i];
          if (i > 0)
            g_string_append (out, ", ");
          g_string_append (out, p->address != NULL ? p->address : (p->name != NULL ? p->name : "?"));
        }
      break;
    case LIA_VALUE_RECURRENCE:
      {
        static const char *const freq[] = { "daily", "weekly", "monthly", "yearly" };
        G_STATIC_ASSERT (G_N_ELEMENTS (freq) == LIA_RECUR_N);
        g_string_append_printf (out, "%s every %u", freq[value->u.recurrence.frequency],
                                value->u.recurrence.interval);
        if (value->u.recurrence.count > 0)
          g_string_append_printf (out, ", %u times", value->u.recurrence.count);
      }
      break;
    case LIA_VALUE_N:
    default:
      break;
    }
  return g_string_free (out, FALSE);
}
