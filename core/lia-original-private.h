/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The format nests three levels (original > parties > party); anything
 * deeper can only come from a newer writer's unknown field or from an
 * attacker, and is refused beyond this depth so that no input can make the
 * parser recurse or track a deep stack. */
#define LIA_ORIGINAL_MAX_DEPTH 8

/* Shared by the encoder and the decoder: the names OriginalXML writes. */
static const char *const lia_original_frequency_names[] = {
  [LIA_RECUR_DAILY] = "daily",
  [LIA_RECUR_WEEKLY] = "weekly",
  [LIA_RECUR_MONTHLY] = "monthly",
  [LIA_RECUR_YEARLY] = "yearly",
};
G_STATIC_ASSERT (G_N_ELEMENTS (lia_original_frequency_names) == LIA_RECUR_N);

/* RFC 5545 weekday codes, in LiaRecurrence bit order (bit 0 is Monday). */
static const char lia_original_weekday_codes[7][3] = { "MO", "TU", "WE", "TH", "FR", "SA", "SU" };

G_END_DECLS
