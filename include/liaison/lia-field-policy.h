/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-field.h>

G_BEGIN_DECLS

/**
 * LiaFieldPolicy:
 *
 * What the merge may do with each field of one entity: its sync direction
 * (R-MERGE-DIRECTION; the registry's default, changed by the org admin where
 * the field is not fixed, then narrowed by the entity rules of SPEC section
 * 7) and the user's field-level security (R-MERGE-FLS: may read, may
 * update). A field reaches the host only when its direction allows "to host"
 * and the user may read it; it reaches CRM only when its direction allows
 * "to CRM" and the user may update it.
 *
 * A plain value: no references, no locking; copy it to share it between
 * threads.
 */
typedef struct _LiaFieldPolicy LiaFieldPolicy;

/**
 * lia_field_policy_new:
 * @entity: an entity other than %LIA_ENTITY_N
 *
 * Returns: (transfer full): the registry's default directions for @entity
 *   (SPEC section 10), every field readable and updatable.
 */
LIA_API LiaFieldPolicy *lia_field_policy_new (LiaEntity entity);

/**
 * lia_field_policy_copy:
 * @policy: a policy
 *
 * Returns: (transfer full): an independent copy of @policy.
 */
LIA_API LiaFieldPolicy *lia_field_policy_copy (const LiaFieldPolicy *policy);

/**
 * lia_field_policy_free:
 * @policy: (nullable) (transfer full): a policy
 */
LIA_API void lia_field_policy_free (LiaFieldPolicy *policy);

/**
 * lia_field_policy_get_entity:
 * @policy: a policy
 *
 * Returns: the entity whose fields @policy covers.
 */
LIA_API LiaEntity lia_field_policy_get_entity (const LiaFieldPolicy *policy);

/**
 * lia_field_policy_set_direction:
 * @policy: a policy
 * @field: a field name of the policy's entity
 * @direction: the direction the org admin chose
 * @error: return location for a #GError
 *
 * Applies one org setting (R-MERGE-DIRECTION). Fields marked fixed in SPEC
 * section 10 keep their direction, and only registered fields exist
 * (R-CUSTOM-FIELDS): an admin cannot add a user-defined field to the sync
 * schema.
 *
 * Returns: %TRUE when set; %FALSE with %LIA_ERROR_INVALID for an unknown
 *   field, a fixed field or a direction out of range (@policy unchanged).
 */
LIA_API gboolean lia_field_policy_set_direction (LiaFieldPolicy *policy, const char *field,
                                                 LiaDirection direction, GError **error);

/**
 * lia_field_policy_get_direction:
 * @policy: a policy
 * @field: a field name
 *
 * Returns: the field's direction, %LIA_DIRECTION_NONE for a name that is not
 *   a field of the policy's entity.
 */
LIA_API LiaDirection lia_field_policy_get_direction (const LiaFieldPolicy *policy, const char *field);

/**
 * lia_field_policy_set_access:
 * @policy: a policy
 * @field: a field name of the policy's entity
 * @can_read: whether the user may read the field in CRM
 * @can_update: whether the user may update it in CRM
 * @error: return location for a #GError
 *
 * Records the user's field-level security for one field (R-MERGE-FLS). A
 * field the user cannot read is never written to the host, and its CRM value
 * is not taken as a change (CRM does not send it, so "absent" means
 * "unknown"). A field the user cannot update is never written to CRM.
 *
 * Returns: %TRUE when set; %FALSE with %LIA_ERROR_INVALID for an unknown
 *   field (@policy unchanged).
 */
LIA_API gboolean lia_field_policy_set_access (LiaFieldPolicy *policy, const char *field, gboolean can_read,
                                              gboolean can_update, GError **error);

/**
 * lia_field_policy_can_read:
 * @policy: a policy
 * @field: a field name
 *
 * Returns: whether the user may read @field; %FALSE for unknown names.
 */
LIA_API gboolean lia_field_policy_can_read (const LiaFieldPolicy *policy, const char *field);

/**
 * lia_field_policy_can_update:
 * @policy: a policy
 * @field: a field name
 *
 * Returns: whether the user may update @field; %FALSE for unknown names.
 */
LIA_API gboolean lia_field_policy_can_update (const LiaFieldPolicy *policy, const char *field);

/**
 * lia_field_policy_restrict:
 * @policy: a policy
 * @field: a field name of the policy's entity, or %NULL for every field
 * @allowed: the directions still allowed
 *
 * Narrows a direction to what @allowed permits (a bitwise "and"): how the
 * entity rules of SPEC section 7 take a direction away from one item. It
 * never widens a direction, and ignores fixed flags, which bind the admin,
 * not the rules. Unknown names are ignored.
 */
LIA_API void lia_field_policy_restrict (LiaFieldPolicy *policy, const char *field, LiaDirection allowed);

/**
 * lia_field_policy_may_write_host:
 * @policy: a policy
 * @index: a position in lia_field_list() of the policy's entity
 *
 * Returns: whether the merge may write the field to the host: its direction
 *   allows it and the user may read it. %FALSE for an index out of range.
 */
LIA_API gboolean lia_field_policy_may_write_host (const LiaFieldPolicy *policy, guint index);

/**
 * lia_field_policy_may_write_crm:
 * @policy: a policy
 * @index: a position in lia_field_list() of the policy's entity
 *
 * Returns: whether the merge may write the field to CRM: its direction
 *   allows it and the user may update it. %FALSE for an index out of range.
 */
LIA_API gboolean lia_field_policy_may_write_crm (const LiaFieldPolicy *policy, guint index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaFieldPolicy, lia_field_policy_free)

G_END_DECLS
