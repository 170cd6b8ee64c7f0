/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Index-based accessors for the merge, which walks fields by position. */
LiaDirection lia_field_policy_get_direction_at (const LiaFieldPolicy *policy, guint index);
gboolean lia_field_policy_can_read_at (const LiaFieldPolicy *policy, guint index);
gboolean lia_field_policy_can_update_at (const LiaFieldPolicy *policy, guint index);
guint lia_field_policy_get_n_fields (const LiaFieldPolicy *policy);

G_END_DECLS
