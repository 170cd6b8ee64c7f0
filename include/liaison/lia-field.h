/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-value.h>

G_BEGIN_DECLS

/**
 * LiaDirection:
 * @LIA_DIRECTION_NONE: not synchronized ("x")
 * @LIA_DIRECTION_TO_CRM: host to CRM only ("->")
 * @LIA_DIRECTION_TO_HOST: CRM to host only ("<-")
 * @LIA_DIRECTION_BOTH: two-way ("<->")
 *
 * A field's sync direction (R-MERGE-DIRECTION). Bit 0 means "to CRM",
 * bit 1 "to host".
 */
typedef enum
{
  LIA_DIRECTION_NONE = 0,
  LIA_DIRECTION_TO_CRM = 1,
  LIA_DIRECTION_TO_HOST = 2,
  LIA_DIRECTION_BOTH = 3,
  LIA_DIRECTION_N
} LiaDirection;

/**
 * lia_direction_to_string:
 * @direction: a direction
 *
 * Returns: (transfer none): SPEC section 10's code: "x", "->", "<-" or "<->".
 */
LIA_API const char *lia_direction_to_string (LiaDirection direction);
LIA_API gboolean lia_direction_from_string (const char *code, LiaDirection *out_direction);
LIA_API gboolean lia_direction_allows_to_crm (LiaDirection direction);
LIA_API gboolean lia_direction_allows_to_host (LiaDirection direction);

/**
 * LiaFieldInfo:
 * @name: the field's name in Liaison (and in OriginalXML): "given-name"
 * @crm_name: the CRM attribute it maps to: "firstname"; %NULL when the value
 *   is derived on the client (for example the task reminder)
 * @label: the name a user reads in preferences and conflict lists
 * @kind: the value kind
 * @direction: the default direction (SPEC section 10)
 * @fixed: %TRUE when the admin cannot change the direction
 * @enum_values: (nullable) (array zero-terminated=1): the symbols of an
 *   %LIA_VALUE_ENUM field
 *
 * One row of the field registry: the field map of SPEC section 10, as data.
 * The registry owns every row; they live as long as the library.
 */
typedef struct
{
  const char *name;
  const char *crm_name;
  const char *label;
  LiaValueKind kind;
  LiaDirection direction;
  gboolean fixed;
  const char *const *enum_values;
} LiaFieldInfo;

/**
 * lia_field_list:
 * @entity: an entity
 * @out_n_fields: (out): the number of fields
 *
 * Returns: (transfer none) (array length=out_n_fields): the fields of
 *   @entity in registry order (the order of OriginalXML and of item slots).
 *   Regarding-only entities have their display name field only.
 */
LIA_API const LiaFieldInfo *lia_field_list (LiaEntity entity, guint *out_n_fields);

/**
 * lia_field_lookup:
 * @entity: an entity
 * @name: (nullable): a field name
 *
 * Returns: (transfer none) (nullable): the field, or %NULL when @entity has
 *   no field of that name (fields from the outside are not trusted).
 */
LIA_API const LiaFieldInfo *lia_field_lookup (LiaEntity entity, const char *name);

/**
 * lia_field_index:
 * @entity: an entity
 * @name: (nullable): a field name
 *
 * Returns: the field's position in lia_field_list(), or -1.
 */
LIA_API gint lia_field_index (LiaEntity entity, const char *name);

/**
 * lia_field_lookup_crm:
 * @entity: an entity
 * @crm_name: (nullable): a CRM attribute name
 *
 * Returns: (transfer none) (nullable): the field mapped to @crm_name.
 */
LIA_API const LiaFieldInfo *lia_field_lookup_crm (LiaEntity entity, const char *crm_name);

/**
 * lia_field_accepts:
 * @field: a field of the registry
 * @value: (nullable): a value; %NULL (absent) is always accepted
 * @error: return location for a #GError
 *
 * Checks that @value has the field's kind and, for enumerations, one of its
 * symbols.
 *
 * Returns: %TRUE when @value fits; %FALSE with %LIA_ERROR_INVALID otherwise.
 */
LIA_API gboolean lia_field_accepts (const LiaFieldInfo *field, const LiaValue *value, GError **error);

G_END_DECLS
