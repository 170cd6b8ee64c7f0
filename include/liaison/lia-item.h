/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-field.h>

G_BEGIN_DECLS

/**
 * LiaItem:
 *
 * One host item or CRM record as Liaison sees it: an entity and a value (or
 * nothing) for each of that entity's registered fields. Fields that are not
 * in the registry cannot be set, so nothing from the outside gets in
 * unchecked. Not thread-safe; values inside are shared by reference.
 */
typedef struct _LiaItem LiaItem;

/**
 * lia_item_new:
 * @entity: an entity other than %LIA_ENTITY_N
 *
 * Returns: (transfer full): an item with every field absent.
 */
LIA_API LiaItem *lia_item_new (LiaEntity entity);

/**
 * lia_item_copy:
 * @item: an item
 *
 * Returns: (transfer full): a copy sharing @item's (immutable) values.
 */
LIA_API LiaItem *lia_item_copy (const LiaItem *item);

/**
 * lia_item_free:
 * @item: (nullable) (transfer full): an item
 */
LIA_API void lia_item_free (LiaItem *item);

LIA_API LiaEntity lia_item_get_entity (const LiaItem *item);

/**
 * lia_item_get:
 * @item: an item
 * @field: a field name
 *
 * Returns: (transfer none) (nullable): the value, or %NULL when the field is
 *   absent or is not a field of the item's entity.
 */
LIA_API LiaValue *lia_item_get (const LiaItem *item, const char *field);

/**
 * lia_item_get_at:
 * @item: an item
 * @index: a position in lia_field_list() of the item's entity
 *
 * Returns: (transfer none) (nullable): the value, or %NULL when absent.
 */
LIA_API LiaValue *lia_item_get_at (const LiaItem *item, guint index);

/**
 * lia_item_set:
 * @item: an item
 * @field: a field name
 * @value: (nullable) (transfer none): the value; %NULL makes the field absent
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; %FALSE with %LIA_ERROR_INVALID when the entity
 *   has no such field or the value does not fit it (the item is unchanged).
 */
LIA_API gboolean lia_item_set (LiaItem *item, const char *field, LiaValue *value, GError **error);

/**
 * lia_item_set_at:
 * @item: an item
 * @index: a field position
 * @value: (nullable) (transfer none): the value; %NULL makes it absent
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; %FALSE with %LIA_ERROR_INVALID otherwise.
 */
LIA_API gboolean lia_item_set_at (LiaItem *item, guint index, LiaValue *value, GError **error);

/**
 * lia_item_set_text:
 * @item: an item
 * @field: the name of a text field
 * @text: (nullable): UTF-8 text; %NULL makes the field absent
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success; %FALSE with %LIA_ERROR_INVALID otherwise.
 */
LIA_API gboolean lia_item_set_text (LiaItem *item, const char *field, const char *text, GError **error);

/**
 * lia_item_get_text:
 * @item: an item
 * @field: the name of a text field
 *
 * Returns: (transfer none) (nullable): the text, or %NULL when absent or not
 *   a text field.
 */
LIA_API const char *lia_item_get_text (const LiaItem *item, const char *field);

/**
 * lia_item_count_present:
 * @item: an item
 *
 * Returns: how many fields have a value.
 */
LIA_API guint lia_item_count_present (const LiaItem *item);

/**
 * lia_item_equal:
 * @a: (nullable): an item
 * @b: (nullable): an item
 *
 * Returns: %TRUE when both have the same entity and every field is
 *   lia_value_equal().
 */
LIA_API gboolean lia_item_equal (const LiaItem *a, const LiaItem *b);

/**
 * lia_item_identical:
 * @a: (nullable): an item
 * @b: (nullable): an item
 *
 * Returns: %TRUE when every field is lia_value_identical().
 */
LIA_API gboolean lia_item_identical (const LiaItem *a, const LiaItem *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaItem, lia_item_free)

G_END_DECLS
