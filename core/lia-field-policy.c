/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-field-policy-private.h"

/* One slot per registry row of the entity, in registry order, so the merge
 * reads a field's policy at the same index as its value. */
typedef struct
{
  LiaDirection direction;
  gboolean can_read;
  gboolean can_update;
} Slot;

struct _LiaFieldPolicy
{
  LiaEntity entity;
  const LiaFieldInfo *fields; /* borrowed: registry */
  guint n_fields;
  Slot slots[]; /* n_fields of them */
};

LiaFieldPolicy *
lia_field_policy_new (LiaEntity entity)
{
  LiaFieldPolicy *policy;
  const LiaFieldInfo *fields;
  guint n_fields = 0;

  g_return_val_if_fail ((guint) entity < LIA_ENTITY_N, NULL);
  fields = lia_field_list (entity, &n_fields);
  policy = g_malloc0 (sizeof (LiaFieldPolicy) + n_fields * sizeof (Slot));
  policy->entity = entity;
  policy->fields = fields;
  policy->n_fields = n_fields;
  for (guint i = 0; i < n_fields; i++)
    {
      policy->slots[i].direction = fields[i].direction;
      policy->slots[i].can_read = TRUE;
      policy->slots[i].can_update = TRUE;
    }
  return policy;
}

LiaFieldPolicy *
lia_field_policy_copy (const LiaFieldPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  return g_memdup2 (policy, sizeof (LiaFieldPolicy) + policy->n_fields * sizeof (Slot));
}

void
lia_field_policy_free (LiaFieldPolicy *policy)
{
  g_free (policy);
}

LiaEntity
lia_field_policy_get_entity (const LiaFieldPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, LIA_ENTITY_N);
  return policy->entity;
}

static gint
lookup (const LiaFieldPolicy *policy, const char *field, GError **error)
{
  gint index = lia_field_index (policy->entity, field);

  if (index < 0)
    g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A %s has no synchronized field \"%s\"",
                 lia_entity_to_string (policy->entity), field != NULL ? field : "(null)");
  return index;
}

gboolean
lia_field_policy_set_direction (LiaFieldPolicy *policy, const char *field, LiaDirection direction,
                                GError **error)
{
  gint index;

  g_return_val_if_fail (policy != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  index = lookup (policy, field, error);
  if (index < 0)
    return FALSE;
  if ((guint) direction >= LIA_DIRECTION_N)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Direction %d is out of range", (int) direction);
      return FALSE;
    }
  if (policy->fields[index].fixed && direction != policy->fields[index].direction)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "The direction of \"%s\" is fixed (%s)",
                   policy->fields[index].label, lia_direction_to_string (policy->fields[index].direction));
      return FALSE;
    }
  policy->slots[index].direction = direction;
  return TRUE;
}

LiaDirection
lia_field_policy_get_direction (const LiaFieldPolicy *policy, const char *field)
{
  gint index;

  g_return_val_if_fail (policy != NULL, LIA_DIRECTION_NONE);
  index = lia_field_index (policy->entity, field);
  return index < 0 ? LIA_DIRECTION_NONE : policy->slots[index].direction;
}

gboolean
lia_field_policy_set_access (LiaFieldPolicy *policy, const char *field, gboolean can_read,
                             gboolean can_update, GError **error)
{
  gint index;

  g_return_val_if_fail (policy != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  index = lookup (policy, field, error);
  if (index < 0)
    return FALSE;
  policy->slots[index].can_read = can_read ? TRUE : FALSE;
  policy->slots[index].can_update = can_update ? TRUE : FALSE;
  return TRUE;
}

gboolean
lia_field_policy_can_read (const LiaFieldPolicy *policy, const char *field)
{
  gint index;

  g_return_val_if_fail (policy != NULL, FALSE);
  index = lia_field_index (policy->entity, field);
  return index >= 0 && policy->slots[index].can_read;
}

gboolean
lia_field_policy_can_update (const LiaFieldPolicy *policy, const char *field)
{
  gint index;

  g_return_val_if_fail (policy != NULL, FALSE);
  index = lia_field_index (policy->entity, field);
  return index >= 0 && policy->slots[index].can_update;
}

void
lia_field_policy_restrict (LiaFieldPolicy *policy, const char *field, LiaDirection allowed)
{
  g_return_if_fail (policy != NULL);

  if (field == NULL)
    {
      for (guint i = 0; i < policy->n_fields; i++)
        policy->slots[i].direction &= allowed;
      return;
    }
  {
    gint index = lia_field_index (policy->entity, field);
    if (index >= 0)
      policy->slots[index].direction &= allowed;
  }
}

gboolean
lia_field_policy_may_write_host (const LiaFieldPolicy *policy, guint index)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  if (index >= policy->n_fields)
    return FALSE;
  return lia_direction_allows_to_host (policy->slots[index].direction) && policy->slots[index].can_read;
}

gboolean
lia_field_policy_may_write_crm (const LiaFieldPolicy *policy, guint index)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  if (index >= policy->n_fields)
    return FALSE;
  return lia_direction_allows_to_crm (policy->slots[index].direction) && policy->slots[index].can_update;
}

LiaDirection
lia_field_policy_get_direction_at (const LiaFieldPolicy *policy, guint index)
{
  g_assert (index < policy->n_fields);
  return policy->slots[index].direction;
}

gboolean
lia_field_policy_can_read_at (const LiaFieldPolicy *policy, guint index)
{
  g_assert (index < policy->n_fields);
  return policy->slots[index].can_read;
}

gboolean
lia_field_policy_can_update_at (const LiaFieldPolicy *policy, guint index)
{
  g_assert (index < policy->n_fields);
  return policy->slots[index].can_update;
}

guint
lia_field_policy_get_n_fields (const LiaFieldPolicy *policy)
{
  return policy->n_fields;
}
