/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

/* An item is its entity's registry row count of slots; slot i holds the value
 * of lia_field_list()[i] or NULL (absent). The field table outlives every
 * item, so the item borrows it. */
struct _LiaItem
{
  LiaEntity entity;
  const LiaFieldInfo *fields; /* borrowed: registry */
  guint n_fields;
  LiaValue *values[]; /* owned, each nullable */
};

LiaItem *
lia_item_new (LiaEntity entity)
{
  LiaItem *item;
  const LiaFieldInfo *fields;
  guint n_fields = 0;

  g_return_val_if_fail ((guint) entity < LIA_ENTITY_N, NULL);
  fields = lia_field_list (entity, &n_fields);
  item = g_malloc0 (sizeof (LiaItem) + n_fields * sizeof (LiaValue *));
  item->entity = entity;
  item->fields = fields;
  item->n_fields = n_fields;
  return item;
}

LiaItem *
lia_item_copy (const LiaItem *item)
{
  LiaItem *copy;

  g_return_val_if_fail (item != NULL, NULL);
  copy = lia_item_new (item->entity);
  for (guint i = 0; i < item->n_fields; i++)
    copy->values[i] = item->values[i] != NULL ? lia_value_ref (item->values[i]) : NULL;
  return copy;
}

void
lia_item_free (LiaItem *item)
{
  if (item == NULL)
    return;
  for (guint i = 0; i < item->n_fields; i++)
    lia_value_unref (item->values[i]);
  g_free (item);
}

LiaEntity
lia_item_get_entity (const LiaItem *item)
{
  g_return_val_if_fail (item != NULL, LIA_ENTITY_N);
  return item->entity;
}

LiaValue *
lia_item_get_at (const LiaItem *item, guint index)
{
  g_return_val_if_fail (item != NULL, NULL);
  g_return_val_if_fail (index < item->n_fields, NULL);
  return item->values[index];
}

LiaValue *
lia_item_get (const LiaItem *item, const char *field)
{
  gint index;

  g_return_val_if_fail (item != NULL, NULL);
  index = lia_field_index (item->entity, field);
  return index < 0 ? NULL : item->values[index];
}

gboolean
lia_item_set_at (LiaItem *item, guint index, LiaValue *value, GError **error)
{
  g_return_val_if_fail (item != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (index >= item->n_fields)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A %s has no field number %u",
                   lia_entity_to_string (item->entity), index);
      return FALSE;
    }
  if (!lia_field_accepts (&item->fields[index], value, error))
    return FALSE;
  if (value != NULL)
    lia_value_ref (value);
  lia_value_unref (item->values[index]);
  item->values[index] = value;
  return TRUE;
}

gboolean
lia_item_set (LiaItem *item, const char *field, LiaValue *value, GError **error)
{
  gint index;

  g_return_val_if_fail (item != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  index = lia_field_index (item->entity, field);
  if (index < 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A %s has no field \"%s\"",
                   lia_entity_to_string (item->entity), field != NULL ? field : "(null)");
      return FALSE;
    }
  return lia_item_set_at (item, (guint) index, value, error);
}

gboolean
lia_item_set_text (LiaItem *item, const char *field, const char *text, GError **error)
{
  g_autoptr (LiaValue) value = NULL;

  g_return_val_if_fail (item != NULL, FALSE);
  if (text != NULL)
    {
      value = lia_value_new_text (text);
      if (value == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Text for field \"%s\" is not valid UTF-8",
                       field != NULL ? field : "(null)");
          return FALSE;
        }
    }
  return lia_item_set (item, field, value, error);
}

const char *
lia_item_get_text (const LiaItem *item, const char *field)
{
  LiaValue *value = lia_item_get (item, field);

  if (value == NULL || lia_value_get_kind (value) != LIA_VALUE_TEXT)
    return NULL;
  return lia_value_get_text (value);
}

guint
lia_item_count_present (const LiaItem *item)
{
  guint n = 0;

  g_return_val_if_fail (item != NULL, 0);
  for (guint i = 0; i < item->n_fields; i++)
    n += item->values[i] != NULL;
  return n;
}

static gboolean
items_compare (const LiaItem *a, const LiaItem *b, gboolean (*same) (const LiaValue *, const LiaValue *))
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->entity != b->entity)
    return FALSE;
  for (guint i = 0; i < a->n_fields; i++)
    {
      if (!same (a->values[i], b->values[i]))
        return FALSE;
    }
  return TRUE;
}

gboolean
lia_item_equal (const LiaItem *a, const LiaItem *b)
{
  return items_compare (a, b, lia_value_equal);
}

gboolean
lia_item_identical (const LiaItem *a, const LiaItem *b)
{
  return items_compare (a, b, lia_value_identical);
}
