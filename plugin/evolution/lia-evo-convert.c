/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"

/* Named properties, indexed by LiaHostProp; regarding takes two. */
static const char *const prop_names[] = {
  [LIA_HOST_PROP_LINK_STATE] = "X-LIAISON-LINK-STATE",  [LIA_HOST_PROP_CRM_ID] = "X-LIAISON-CRM-ID",
  [LIA_HOST_PROP_CRM_ORG] = "X-LIAISON-CRM-ORG",        [LIA_HOST_PROP_ORIGINAL] = "X-LIAISON-ORIGINAL",
  [LIA_HOST_PROP_REGARDING] = "X-LIAISON-REGARDING-ID",
};
G_STATIC_ASSERT (G_N_ELEMENTS (prop_names) == LIA_HOST_PROP_N);

const char *
lia_evo_x_prop_name (LiaHostProp prop)
{
  g_return_val_if_fail (prop < LIA_HOST_PROP_N, NULL);
  return prop_names[prop];
}

gint64
lia_evo_parse_timestamp (const char *text)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  int y, mo, d, h, mi, s;
  char z;

  if (text == NULL || *text == '\0')
    return 0;
  /* EDS writes REV as 2026-03-01T09:00:00Z; other clients and iCalendar use
   * the basic form 20260301T090000Z. Anything else is a broken REV: the
   * row then sorts as oldest, and the local backend rewrites REV on the
   * next save. */
  dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL && strlen (text) == 16
      && sscanf (text, "%4d%2d%2dT%2d%2d%2d%c", &y, &mo, &d, &h, &mi, &s, &z) == 7 && z == 'Z')
    dt = g_date_time_new_utc (y, mo, d, h, mi, s);
  if (dt == NULL)
    return 0;
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* The remainder: fields without a native property, as OriginalXML. */

LiaItem *
lia_evo_remainder_decode (const char *b64)
{
  g_autofree guchar *xml = NULL;
  gsize len = 0;

  if (b64 == NULL || *b64 == '\0')
    return NULL;
  xml = g_base64_decode (b64, &len);
  if (xml == NULL || len == 0)
    return NULL;
  /* A damaged property loses only what it carried; the native fields stand. */
  return lia_original_decode ((const char *) xml, len, NULL);
}

char *
lia_evo_remainder_encode (const LiaItem *fields, gboolean (*keep) (const char *field, const LiaValue *value),
                          GError **error)
{
  LiaEntity entity = lia_item_get_entity (fields);
  g_autoptr (LiaItem) rest = lia_item_new (entity);
  guint n = 0;
  const LiaFieldInfo *list = lia_field_list (entity, &n);
  g_autofree char *xml = NULL;
  gsize len = 0;
  gboolean any = FALSE;

  for (guint i = 0; i < n; i++)
    {
      LiaValue *v = lia_item_get_at (fields, i);

      if (v != NULL && keep (list[i].name, v))
        {
          if (!lia_item_set_at (rest, i, v, error))
            return NULL;
          any = TRUE;
        }
    }
  if (!any)
    return g_strdup ("");
  xml = lia_original_encode (rest, &len, error);
  if (xml == NULL)
    return NULL;
  return g_base64_encode ((const guchar *) xml, len);
}

gboolean
lia_evo_set_text (LiaItem *item, const char *field, const char *text)
{
  if (text == NULL || *text == '\0')
    return TRUE;
  /* Text that is not UTF-8 cannot become a value: the field stays absent
   * rather than failing the whole item. */
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  return lia_item_set_text (item, field, text, NULL);
}
