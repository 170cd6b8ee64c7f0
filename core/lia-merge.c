/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-field-policy-private.h"

/* The three-way merge of SPEC section 5, one field at a time. For field i,
 * with o, h, c its original, host and CRM values:
 *
 *   host changed   hc = h != o          (original missing: always, see below)
 *   CRM changed    cc = readable && c != o
 *   host counts    hx = hc && may write CRM   (direction has "to CRM", user may update)
 *   CRM counts     cx = cc && may write host  (direction has "to host", user may read)
 *
 *   hx  cx   outcome                                   new original
 *   --  --   nothing                                   o
 *   yes --   write h to CRM (unless equal)             h
 *   --  yes  write c to host (unless equal)            c
 *   yes yes  h == c: nothing; else newer wins, tie CRM  the winner
 *
 * A change that may not travel (hc without hx, cc without cx) is ignored:
 * that is how a one-way field edited on the wrong side keeps its local
 * value until the owning side changes the field, whose change then counts
 * alone and overwrites it (R-MERGE-DIRECTION). Such ignored-but-different
 * pairs are still journalled as conflicts when the other side's change wins.
 *
 * Idempotence: every counted change ends with both sides and the new
 * original equal, and an ignored change leaves the original as it was, so a
 * second merge sees the same ignored changes and no counted one. */

struct _LiaMergeResult
{
  GArray *host_writes;     /* owned; LiaFieldWrite, values owned */
  GArray *crm_writes;      /* owned; LiaFieldWrite, values owned */
  GArray *conflicts;       /* owned; LiaConflict, values owned */
  LiaItem *original;       /* owned */
  LiaItem *original_step1; /* owned, nullable */
  gboolean original_missing;
};

static const char *const side_names[] = {
  [LIA_SIDE_HOST] = "host",
  [LIA_SIDE_CRM] = "CRM",
};
G_STATIC_ASSERT (G_N_ELEMENTS (side_names) == LIA_SIDE_N);

static const char *const reason_texts[] = {
  [LIA_CONFLICT_HOST_NEWER] = "host changed later, R-MERGE-NEWER-WINS",
  [LIA_CONFLICT_CRM_NEWER] = "CRM changed later, R-MERGE-NEWER-WINS",
  [LIA_CONFLICT_TIE] = "changed at the same time, ties go to CRM, R-MERGE-NEWER-WINS",
  [LIA_CONFLICT_HOST_MAY_NOT_SEND] = "the field does not sync host to CRM, R-MERGE-DIRECTION",
  [LIA_CONFLICT_CRM_MAY_NOT_SEND] = "the field does not sync CRM to host, R-MERGE-DIRECTION",
  [LIA_CONFLICT_NOT_UPDATABLE] = "the user may not update the field in CRM, R-MERGE-FLS",
};
G_STATIC_ASSERT (G_N_ELEMENTS (reason_texts) == LIA_CONFLICT_N);

const char *
lia_side_to_string (LiaSide side)
{
  if ((guint) side >= LIA_SIDE_N)
    return "?";
  return side_names[side];
}

const char *
lia_conflict_reason_to_string (LiaConflictReason reason)
{
  if ((guint) reason >= LIA_CONFLICT_N)
    return "?";
  return reason_texts[reason];
}

char *
lia_conflict_to_display (const LiaConflict *conflict)
{
  g_autofree char *host = NULL;
  g_autofree char *crm = NULL;

  g_return_val_if_fail (conflict != NULL, NULL);
  host = lia_value_to_display (conflict->host_value);
  crm = lia_value_to_display (conflict->crm_value);
  return g_strdup_printf ("%s: host %s / CRM %s: %s kept (%s)", conflict->field->label, host, crm,
                          lia_side_to_string (conflict->winner),
                          lia_conflict_reason_to_string (conflict->reason));
}

static void
field_write_clear (gpointer data)
{
  LiaFieldWrite *write = data;

  g_clear_pointer (&write->value, lia_value_unref);
}

static void
conflict_clear (gpointer data)
{
  LiaConflict *conflict = data;

  g_clear_pointer (&conflict->host_value, lia_value_unref);
  g_clear_pointer (&conflict->crm_value, lia_value_unref);
}

void
lia_merge_result_free (LiaMergeResult *result)
{
  if (result == NULL)
    return;
  g_array_unref (result->host_writes);
  g_array_unref (result->crm_writes);
  g_array_unref (result->conflicts);
  lia_item_free (result->original);
  lia_item_free (result->original_step1);
  g_free (result);
}

static LiaMergeResult *
result_new (LiaEntity entity, const LiaItem *original)
{
  LiaMergeResult *result = g_new0 (LiaMergeResult, 1);

  result->host_writes = g_array_new (FALSE, FALSE, sizeof (LiaFieldWrite));
  g_array_set_clear_func (result->host_writes, field_write_clear);
  result->crm_writes = g_array_new (FALSE, FALSE, sizeof (LiaFieldWrite));
  g_array_set_clear_func (result->crm_writes, field_write_clear);
  result->conflicts = g_array_new (FALSE, FALSE, sizeof (LiaConflict));
  g_array_set_clear_func (result->conflicts, conflict_clear);
  if (original != NULL)
    {
      result->original = lia_item_copy (original);
      result->original_step1 = lia_item_copy (original);
    }
  else
    result->original = lia_item_new (entity);
  return result;
}

static void
add_write (GArray *writes, const LiaFieldInfo *fields, guint index, LiaValue *value)
{
  LiaFieldWrite write = { index, &fields[index], value != NULL ? lia_value_ref (value) : NULL };

  g_array_append_val (writes, write);
}

static void
add_conflict (GArray *conflicts, const LiaFieldInfo *fields, guint index, LiaValue *h, LiaValue *c,
              LiaSide winner, LiaConflictReason reason)
{
  LiaConflict conflict = {
    index,  &fields[index], h != NULL ? lia_value_ref (h) : NULL, c != NULL ? lia_value_ref (c) : NULL,
    winner, reason,
  };

  g_array_append_val (conflicts, conflict);
}

/* Sets a slot of an item the merge built itself: the value came from an
 * item of the same entity, so it fits. */
static void
set_slot (LiaItem *item, guint index, LiaValue *value)
{
  gboolean ok = lia_item_set_at (item, index, value, NULL);

  g_assert (ok);
}

LiaMergeResult *
lia_merge_items (const LiaFieldPolicy *policy, const LiaItem *original, const LiaItem *host,
                 const LiaItem *crm, gint64 host_changed_us, gint64 crm_changed_us, GError **error)
{
  g_autoptr (LiaMergeResult) result = NULL;
  LiaEntity entity;
  const LiaFieldInfo *fields;
  guint n_fields = 0;
  gboolean missing;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (host != NULL, NULL);
  g_return_val_if_fail (crm != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entity = lia_field_policy_get_entity (policy);
  if (lia_item_get_entity (host) != entity || lia_item_get_entity (crm) != entity)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Cannot merge a host %s with a CRM %s under a %s policy",
                   lia_entity_to_string (lia_item_get_entity (host)),
                   lia_entity_to_string (lia_item_get_entity (crm)), lia_entity_to_string (entity));
      return NULL;
    }
  missing = original == NULL || lia_item_get_entity (original) != entity;
  if (original != NULL && missing)
    g_debug ("Original of a %s holds a %s: treated as corrupt", lia_entity_to_string (entity),
             lia_entity_to_string (lia_item_get_entity (original)));

  fields = lia_field_list (entity, &n_fields);
  g_assert (n_fields == lia_field_policy_get_n_fields (policy));
  result = result_new (entity, missing ? NULL : original);
  result->original_missing = missing;

  for (guint i = 0; i < n_fields; i++)
    {
      LiaValue *o = missing ? NULL : lia_item_get_at (original, i);
      LiaValue *h = lia_item_get_at (host, i);
      LiaValue *c = lia_item_get_at (crm, i);
      gboolean readable = lia_field_policy_can_read_at (policy, i);
      gboolean to_host = lia_field_policy_may_write_host (policy, i);
      gboolean to_crm = lia_field_policy_may_write_crm (policy, i);
      gboolean hc, cc, hx, cx;
      LiaValue *merged = o;
      gboolean crm_write_pending = FALSE;

      if (missing)
        {
          /* R-MERGE-ORIGINAL: everything changed on the host and, as far as
           * we can see, on CRM; differing fields go newer-wins below. */
          hc = readable || h != NULL;
          cc = readable;
        }
      else
        {
          hc = !lia_value_equal (h, o);
          cc = readable && !lia_value_equal (c, o);
        }
      hx = hc && to_crm;
      cx = cc && to_host;

      if (hx && cx)
        {
          if (lia_value_equal (h, c))
            merged = h;
          else
            {
              /* R-MERGE-NEWER-WINS: strictly newer host wins; a tie is CRM's. */
              gboolean host_wins = host_changed_us > crm_changed_us;
              LiaConflictReason reason =
                  host_wins ? LIA_CONFLICT_HOST_NEWER
                            : (host_changed_us == crm_changed_us ? LIA_CONFLICT_TIE : LIA_CONFLICT_CRM_NEWER);
              add_conflict (result->conflicts, fields, i, h, c, host_wins ? LIA_SIDE_HOST : LIA_SIDE_CRM,
                            reason);
              if (host_wins)
                {
                  add_write (result->crm_writes, fields, i, h);
                  crm_write_pending = TRUE;
                  merged = h;
                }
              else
                {
                  add_write (result->host_writes, fields, i, c);
                  merged = c;
                }
            }
        }
      else if (hx)
        {
          if (!lia_value_equal (h, c))
            {
              add_write (result->crm_writes, fields, i, h);
              crm_write_pending = TRUE;
              if (cc)
                add_conflict (result->conflicts, fields, i, h, c, LIA_SIDE_HOST,
                              LIA_CONFLICT_CRM_MAY_NOT_SEND);
            }
          merged = h;
        }
      else if (cx)
        {
          if (!lia_value_equal (h, c))
            {
              add_write (result->host_writes, fields, i, c);
              if (hc)
                add_conflict (result->conflicts, fields, i, h, c, LIA_SIDE_CRM,
                              lia_direction_allows_to_crm (lia_field_policy_get_direction_at (policy, i))
                                  ? LIA_CONFLICT_NOT_UPDATABLE
                                  : LIA_CONFLICT_HOST_MAY_NOT_SEND);
            }
          merged = c;
        }

      /* Both originals start as copies of the old one (or empty), so only
       * fields whose merged value is another value object are set. */
      if (merged != o)
        {
          set_slot (result->original, i, merged);
          if (result->original_step1 != NULL && !crm_write_pending)
            set_slot (result->original_step1, i, merged);
        }
    }

  return g_steal_pointer (&result);
}

static const void *
array_or_null (GArray *array, guint *out_n)
{
  if (out_n != NULL)
    *out_n = array->len;
  return array->len > 0 ? (const void *) array->data : NULL;
}

const LiaFieldWrite *
lia_merge_result_get_host_writes (const LiaMergeResult *result, guint *out_n_writes)
{
  g_return_val_if_fail (result != NULL, NULL);
  return array_or_null (result->host_writes, out_n_writes);
}

const LiaFieldWrite *
lia_merge_result_get_crm_writes (const LiaMergeResult *result, guint *out_n_writes)
{
  g_return_val_if_fail (result != NULL, NULL);
  return array_or_null (result->crm_writes, out_n_writes);
}

const LiaItem *
lia_merge_result_get_original_after_host (const LiaMergeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->original_step1;
}

const LiaItem *
lia_merge_result_get_original (const LiaMergeResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->original;
}

const LiaConflict *
lia_merge_result_get_conflicts (const LiaMergeResult *result, guint *out_n_conflicts)
{
  g_return_val_if_fail (result != NULL, NULL);
  return array_or_null (result->conflicts, out_n_conflicts);
}

gboolean
lia_merge_result_get_original_was_missing (const LiaMergeResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->original_missing;
}

gboolean
lia_merge_result_has_writes (const LiaMergeResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->host_writes->len > 0 || result->crm_writes->len > 0;
}

gboolean
lia_merge_apply_writes (LiaItem *item, const LiaFieldWrite *writes, guint n_writes, GError **error)
{
  const LiaFieldInfo *fields;
  guint n_fields = 0;

  g_return_val_if_fail (item != NULL, FALSE);
  g_return_val_if_fail (writes != NULL || n_writes == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Check every write before the first is applied, so a failure leaves the
   * item as it was. */
  fields = lia_field_list (lia_item_get_entity (item), &n_fields);
  for (guint i = 0; i < n_writes; i++)
    {
      if (writes[i].index >= n_fields || writes[i].field != &fields[writes[i].index]
          || !lia_field_accepts (writes[i].field, writes[i].value, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Write %u does not fit a %s", i,
                       lia_entity_to_string (lia_item_get_entity (item)));
          return FALSE;
        }
    }
  for (guint i = 0; i < n_writes; i++)
    {
      gboolean ok = lia_item_set_at (item, writes[i].index, writes[i].value, NULL);
      g_assert (ok);
    }
  return TRUE;
}

LiaItem *
lia_merge_dup_created (const LiaFieldPolicy *policy, const LiaItem *source, LiaSide target)
{
  g_autoptr (LiaItem) created = NULL;
  LiaEntity entity;
  guint n_fields = 0;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail ((guint) target < LIA_SIDE_N, NULL);

  entity = lia_field_policy_get_entity (policy);
  if (lia_item_get_entity (source) != entity)
    return NULL;
  lia_field_list (entity, &n_fields);
  created = lia_item_new (entity);
  for (guint i = 0; i < n_fields; i++)
    {
      gboolean travels = target == LIA_SIDE_HOST ? lia_field_policy_may_write_host (policy, i)
                                                 : lia_field_policy_may_write_crm (policy, i);
      if (travels)
        set_slot (created, i, lia_item_get_at (source, i));
    }
  return g_steal_pointer (&created);
}
