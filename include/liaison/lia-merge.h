/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-item.h>
#include <liaison/lia-field-policy.h>

G_BEGIN_DECLS

/**
 * LiaSide:
 * @LIA_SIDE_HOST: the mail client's item
 * @LIA_SIDE_CRM: the CRM record
 * @LIA_SIDE_N: the number of sides
 *
 * One side of a synchronized pair.
 */
typedef enum
{
  LIA_SIDE_HOST,
  LIA_SIDE_CRM,
  LIA_SIDE_N
} LiaSide;

/**
 * lia_side_to_string:
 * @side: a side
 *
 * Returns: (transfer none): "host" or "CRM"; "?" out of range.
 */
LIA_API const char *lia_side_to_string (LiaSide side);

/**
 * LiaConflictReason:
 * @LIA_CONFLICT_HOST_NEWER: both sides changed the field; the host's change
 *   is newer (R-MERGE-NEWER-WINS)
 * @LIA_CONFLICT_CRM_NEWER: both changed; CRM's change is newer
 *   (R-MERGE-NEWER-WINS)
 * @LIA_CONFLICT_TIE: both changed at the same instant; ties go to CRM
 *   (R-MERGE-NEWER-WINS)
 * @LIA_CONFLICT_HOST_MAY_NOT_SEND: both changed, but the field's direction
 *   does not allow host to CRM, so CRM's value stands (R-MERGE-DIRECTION)
 * @LIA_CONFLICT_CRM_MAY_NOT_SEND: both changed, but the field's direction
 *   does not allow CRM to host, so the host's value stands
 *   (R-MERGE-DIRECTION)
 * @LIA_CONFLICT_NOT_UPDATABLE: both changed, but the user may not update
 *   the field in CRM, so CRM's value stands (R-MERGE-FLS)
 * @LIA_CONFLICT_N: the number of reasons
 *
 * Why one side's value won over the other's.
 */
typedef enum
{
  LIA_CONFLICT_HOST_NEWER,
  LIA_CONFLICT_CRM_NEWER,
  LIA_CONFLICT_TIE,
  LIA_CONFLICT_HOST_MAY_NOT_SEND,
  LIA_CONFLICT_CRM_MAY_NOT_SEND,
  LIA_CONFLICT_NOT_UPDATABLE,
  LIA_CONFLICT_N
} LiaConflictReason;

/**
 * lia_conflict_reason_to_string:
 * @reason: a reason
 *
 * Returns: (transfer none): a short English explanation with the rule ID,
 *   for journals and conflict lists.
 */
LIA_API const char *lia_conflict_reason_to_string (LiaConflictReason reason);

/**
 * LiaFieldWrite:
 * @index: the field's position in lia_field_list()
 * @field: the field's registry row
 * @value: (nullable): the value to write; %NULL clears the field
 *
 * One field the merge writes to one side. Owned by its #LiaMergeResult.
 */
typedef struct
{
  guint index;
  const LiaFieldInfo *field;
  LiaValue *value;
} LiaFieldWrite;

/**
 * LiaConflict:
 * @index: the field's position in lia_field_list()
 * @field: the field's registry row
 * @host_value: (nullable): the host's value before the merge
 * @crm_value: (nullable): CRM's value before the merge
 * @winner: whose value both sides hold afterwards (or, when the loser may
 *   not be written, the value the synchronized state keeps)
 * @reason: why
 *
 * A field both sides changed to different values, as the journal records
 * it. Owned by its #LiaMergeResult.
 */
typedef struct
{
  guint index;
  const LiaFieldInfo *field;
  LiaValue *host_value;
  LiaValue *crm_value;
  LiaSide winner;
  LiaConflictReason reason;
} LiaConflict;

/**
 * lia_conflict_to_display:
 * @conflict: a conflict
 *
 * Returns: (transfer full): one line for the journal, such as
 *   `Subject: host "A" / CRM "B": CRM kept (CRM changed later, R-MERGE-NEWER-WINS)`.
 */
LIA_API char *lia_conflict_to_display (const LiaConflict *conflict);

/**
 * LiaMergeResult:
 *
 * What one three-way merge decided. Immutable; freed with
 * lia_merge_result_free().
 */
typedef struct _LiaMergeResult LiaMergeResult;

/**
 * lia_merge_items:
 * @policy: directions and field-level security for this item, with the
 *   entity rules already applied (see lia_entity_rules_dup_item_policy())
 * @original: (nullable): the last synchronized state; %NULL when it is
 *   missing or could not be decoded
 * @host: the host item now
 * @crm: the CRM record now
 * @host_changed_us: the host item's last-modified instant
 * @crm_changed_us: the CRM record's modifiedon instant
 * @error: return location for a #GError
 *
 * Merges overlapping changes (SPEC section 5). A field changed on one side
 * only (its value differs from @original) is copied to the other side
 * (R-MERGE-FIELDS, R-MERGE-DISJOINT); a field both sides changed to
 * different values takes the newer side's value, CRM on a tie
 * (R-MERGE-NEWER-WINS). Values compare with lia_value_equal(), so a time
 * entered in two zones is one instant, not a change.
 *
 * Nothing is written against a field's direction or the user's access
 * (R-MERGE-DIRECTION, R-MERGE-FLS): a change the policy does not let travel
 * is not a change for the merge, so a one-way field edited on the wrong
 * side keeps its local value until the owning side changes that field,
 * which then overwrites it.
 *
 * An @original that is %NULL, or of another entity, is corrupt or missing
 * (R-MERGE-ORIGINAL): every field counts as changed on the host and on CRM,
 * and fields that differ are settled newer-wins. The one exception: a field
 * the user cannot read is taken as changed on the host only when the host
 * has a value, so that a lost original never clears CRM data the user
 * cannot see.
 *
 * The result lists the writes in R-MERGE-ORDER: CRM to host first
 * (lia_merge_result_get_host_writes(), then store
 * lia_merge_result_get_original_after_host()), then host to CRM
 * (lia_merge_result_get_crm_writes(), then store
 * lia_merge_result_get_original()). Merging again after both steps, with no
 * new edit, writes nothing. Pure: no I/O, no shared state.
 *
 * Returns: (transfer full): the result, or %NULL with %LIA_ERROR_INVALID
 *   when @host or @crm is not of the policy's entity.
 */
LIA_API LiaMergeResult *lia_merge_items (const LiaFieldPolicy *policy, const LiaItem *original,
                                         const LiaItem *host, const LiaItem *crm, gint64 host_changed_us,
                                         gint64 crm_changed_us, GError **error);

/**
 * lia_merge_result_free:
 * @result: (nullable) (transfer full): a result
 */
LIA_API void lia_merge_result_free (LiaMergeResult *result);

/**
 * lia_merge_result_get_host_writes:
 * @result: a result
 * @out_n_writes: (out): the number of writes
 *
 * Step 1 of R-MERGE-ORDER: the fields to write to the host item.
 *
 * Returns: (transfer none) (array length=out_n_writes) (nullable): the
 *   writes in field order; %NULL when there are none.
 */
LIA_API const LiaFieldWrite *lia_merge_result_get_host_writes (const LiaMergeResult *result,
                                                               guint *out_n_writes);

/**
 * lia_merge_result_get_crm_writes:
 * @result: a result
 * @out_n_writes: (out): the number of writes
 *
 * Step 2 of R-MERGE-ORDER: the fields to write to the CRM record.
 *
 * Returns: (transfer none) (array length=out_n_writes) (nullable): the
 *   writes in field order; %NULL when there are none.
 */
LIA_API const LiaFieldWrite *lia_merge_result_get_crm_writes (const LiaMergeResult *result,
                                                              guint *out_n_writes);

/**
 * lia_merge_result_get_original_after_host:
 * @result: a result
 *
 * The original to store once the host writes are applied and before the CRM
 * writes are: the final original except for fields still to be written to
 * CRM, which keep their old value, so an interrupted sync still sees them as
 * host changes next time. %NULL when the original was missing: it stays
 * missing until step 2 is done.
 *
 * Returns: (transfer none) (nullable): the intermediate original.
 */
LIA_API const LiaItem *lia_merge_result_get_original_after_host (const LiaMergeResult *result);

/**
 * lia_merge_result_get_original:
 * @result: a result
 *
 * Returns: (transfer none): the new original, the merged state both sides
 *   hold once every write is applied (R-MERGE-ORIGINAL).
 */
LIA_API const LiaItem *lia_merge_result_get_original (const LiaMergeResult *result);

/**
 * lia_merge_result_get_conflicts:
 * @result: a result
 * @out_n_conflicts: (out): the number of conflicts
 *
 * Returns: (transfer none) (array length=out_n_conflicts) (nullable): the
 *   fields both sides changed to different values, in field order, for the
 *   journal; %NULL when there are none.
 */
LIA_API const LiaConflict *lia_merge_result_get_conflicts (const LiaMergeResult *result,
                                                           guint *out_n_conflicts);

/**
 * lia_merge_result_get_original_was_missing:
 * @result: a result
 *
 * Returns: %TRUE when the merge ran without a usable original
 *   (R-MERGE-ORIGINAL).
 */
LIA_API gboolean lia_merge_result_get_original_was_missing (const LiaMergeResult *result);

/**
 * lia_merge_result_has_writes:
 * @result: a result
 *
 * Returns: %TRUE when either side has something to write.
 */
LIA_API gboolean lia_merge_result_has_writes (const LiaMergeResult *result);

/**
 * lia_merge_dup_created:
 * @policy: the item's policy (see lia_entity_rules_dup_item_policy())
 * @source: the item or record that exists on one side only
 * @target: the side its counterpart is created on
 *
 * The counterpart to create when an item exists on one side only: tracking
 * a host item creates its CRM record; a CRM record that matches the filters
 * creates a host item. Only the fields the policy lets travel to @target
 * are copied, so a service appointment's host edits never create anything
 * in CRM and an appointment created in CRM arrives without an organizer
 * (R-APPT-ORGANIZER). The created item is also the first original.
 *
 * Returns: (transfer full): the counterpart, of the policy's entity; %NULL
 *   when @source is of another entity.
 */
LIA_API LiaItem *lia_merge_dup_created (const LiaFieldPolicy *policy, const LiaItem *source, LiaSide target);

/**
 * lia_merge_apply_writes:
 * @item: the item to change: a copy of the host item or of the CRM record
 * @writes: (array length=n_writes) (nullable): writes from a #LiaMergeResult
 * @n_writes: how many
 * @error: return location for a #GError
 *
 * Applies writes to an in-memory item, for callers (and tests) that hold
 * the other side as a #LiaItem.
 *
 * Returns: %TRUE on success; %FALSE with %LIA_ERROR_INVALID when a write
 *   does not fit @item (another entity); @item is then unchanged.
 */
LIA_API gboolean lia_merge_apply_writes (LiaItem *item, const LiaFieldWrite *writes, guint n_writes,
                                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaMergeResult, lia_merge_result_free)

G_END_DECLS
