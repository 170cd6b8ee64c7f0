/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-org-codec.h"

static GVariant *
encode_value (const LiaValue *value)
{
  switch (lia_value_get_kind (value))
    {
    case LIA_VALUE_TEXT:
      return g_variant_new_string (lia_value_get_text (value));
    case LIA_VALUE_ENUM:
      return g_variant_new_string (lia_value_get_enum (value));
    case LIA_VALUE_DATETIME:
      {
        const char *tz = lia_value_get_tzid (value);
        return g_variant_new ("(xs)", lia_value_get_instant (value), tz != NULL ? tz : "");
      }
    case LIA_VALUE_DATE:
      {
        guint y = 0, m = 0, d = 0;
        lia_value_get_date (value, &y, &m, &d);
        return g_variant_new ("(qyy)", (guint16) y, (guchar) m, (guchar) d);
      }
    case LIA_VALUE_INTEGER:
      return g_variant_new_int64 (lia_value_get_integer (value));
    case LIA_VALUE_BOOLEAN:
      return g_variant_new_boolean (lia_value_get_boolean (value));
    case LIA_VALUE_REFERENCE:
      return g_variant_new ("(imsms)", (gint32) lia_value_get_reference_entity (value),
                            lia_value_get_reference_id (value), lia_value_get_reference_name (value));
    case LIA_VALUE_PARTY_LIST:
      {
        GVariantBuilder builder;
        g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(msmsims)"));
        for (gsize i = 0; i < lia_value_get_n_parties (value); i++)
          {
            const LiaParty *p = lia_value_get_party (value, i);
            g_variant_builder_add (&builder, "(msmsims)", p->address, p->name, (gint32) p->entity, p->id);
          }
        return g_variant_builder_end (&builder);
      }
    case LIA_VALUE_RECURRENCE:
      {
        const LiaRecurrence *r = lia_value_get_recurrence (value);
        GVariant *exdates =
            g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, r->exdates_us, r->n_exdates, sizeof (gint64));
        return g_variant_new ("(uuuxuiuiu@ax)", (guint32) r->frequency, r->interval, r->count, r->until_us,
                              r->by_day, (gint32) r->by_month_day, r->by_month, (gint32) r->by_set_pos,
                              r->week_start, exdates);
      }
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

GBytes *
lia_org_codec_encode (const LiaItem *item)
{
  GVariantBuilder builder;
  guint n = 0;
  g_autoptr (GVariant) variant = NULL;

  lia_field_list (lia_item_get_entity (item), &n);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(qv)"));
  for (guint i = 0; i < n; i++)
    {
      LiaValue *value = lia_item_get_at (item, i);
      if (value != NULL)
        g_variant_builder_add (&builder, "(qv)", (guint16) i, encode_value (value));
    }
  variant = g_variant_ref_sink (g_variant_builder_end (&builder));
  return g_variant_get_data_as_bytes (variant);
}

static LiaValue *
decode_value (LiaValueKind kind, GVariant *v)
{
#define IS(t) g_variant_is_of_type (v, G_VARIANT_TYPE (t))
  switch (kind)
    {
    case LIA_VALUE_TEXT:
      return IS ("s") ? lia_value_new_text (g_variant_get_string (v, NULL)) : NULL;
    case LIA_VALUE_ENUM:
      return IS ("s") ? lia_value_new_enum (g_variant_get_string (v, NULL)) : NULL;
    case LIA_VALUE_DATETIME:
      {
        gint64 instant = 0;
        const char *tz = NULL;
        if (!IS ("(xs)"))
          return NULL;
        g_variant_get (v, "(x&s)", &instant, &tz);
        return lia_value_new_datetime (instant, *tz != '\0' ? tz : NULL);
      }
    case LIA_VALUE_DATE:
      {
        guint16 y = 0;
        guchar m = 0, d = 0;
        if (!IS ("(qyy)"))
          return NULL;
        g_variant_get (v, "(qyy)", &y, &m, &d);
        return lia_value_new_date (y, m, d);
      }
    case LIA_VALUE_INTEGER:
      return IS ("x") ? lia_value_new_integer (g_variant_get_int64 (v)) : NULL;
    case LIA_VALUE_BOOLEAN:
      return IS ("b") ? lia_value_new_boolean (g_variant_get_boolean (v)) : NULL;
    case LIA_VALUE_REFERENCE:
      {
        gint32 entity = 0;
        const char *id = NULL, *name = NULL;
        if (!IS ("(imsms)"))
          return NULL;
        g_variant_get (v, "(im&sm&s)", &entity, &id, &name);
        return lia_value_new_reference ((LiaEntity) entity, id, name);
      }
    case LIA_VALUE_PARTY_LIST:
      {
        gsize n;
        g_autofree LiaParty *parties = NULL;
        if (!IS ("a(msmsims)"))
          return NULL;
        n = g_variant_n_children (v);
        parties = g_new0 (LiaParty, MAX (n, 1));
        for (gsize i = 0; i < n; i++)
          {
            gint32 entity = 0;
            g_variant_get_child (v, i, "(m&sm&sim&s)", &parties[i].address, &parties[i].name, &entity,
                                 &parties[i].id);
            parties[i].entity = (LiaEntity) entity;
          }
        return lia_value_new_party_list (parties, n);
      }
    case LIA_VALUE_RECURRENCE:
      {
        LiaRecurrence r = { 0 };
        guint32 freq = 0;
        gint32 by_month_day = 0, by_set_pos = 0;
        g_autoptr (GVariant) exdates = NULL;
        if (!IS ("(uuuxuiuiuax)"))
          return NULL;
        g_variant_get (v, "(uuuxuiuiu@ax)", &freq, &r.interval, &r.count, &r.until_us, &r.by_day,
                       &by_month_day, &r.by_month, &by_set_pos, &r.week_start, &exdates);
        r.frequency = (LiaRecurFrequency) freq;
        r.by_month_day = by_month_day;
        r.by_set_pos = by_set_pos;
        r.exdates_us = g_variant_get_fixed_array (exdates, &r.n_exdates, sizeof (gint64));
        return lia_value_new_recurrence (&r);
      }
    case LIA_VALUE_N:
    default:
      return NULL;
    }
#undef IS
}

LiaItem *
lia_org_codec_decode (LiaEntity entity, const void *data, gsize len, GError **error)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, len);
  g_autoptr (GVariant) variant = g_variant_new_from_bytes (G_VARIANT_TYPE ("a(qv)"), bytes, FALSE);
  g_autoptr (LiaItem) item = lia_item_new (entity);
  const LiaFieldInfo *fields;
  guint n = 0;
  gsize count;

  fields = lia_field_list (entity, &n);
  count = g_variant_n_children (variant);
  for (gsize i = 0; i < count; i++)
    {
      guint16 index = 0;
      g_autoptr (GVariant) inner = NULL;
      g_autoptr (LiaValue) value = NULL;

      g_variant_get_child (variant, i, "(qv)", &index, &inner);
      if (index >= n || (value = decode_value (fields[index].kind, inner)) == NULL
          || !lia_item_set_at (item, index, value, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "Stored %s record has an unreadable field %u",
                       lia_entity_to_string (entity), index);
          return NULL;
        }
    }
  return g_steal_pointer (&item);
}
