/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The format nests three levels (original > parties > party); anything
 * deeper can only come from a newer writer's unknown field or from an
 * attacker, and is refused beyond this depth so that no input can make the
 * parser recurse or track a deep stack. */
#define LIA_ORIGINAL_MAX_DEPTH 8

G_END_DECLS
