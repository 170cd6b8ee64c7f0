/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <glib.h>

/* LIA_API marks the symbols libliaison exports; everything else is hidden. */
#if defined(LIAISON_COMPILATION) && defined(__GNUC__)
#define LIA_API __attribute__ ((visibility ("default"))) extern
#else
#define LIA_API extern
#endif

G_BEGIN_DECLS

/**
 * lia_version_string:
 *
 * Returns: (transfer none): the version of the libliaison that is loaded,
 *   such as "0.1.0".
 */
LIA_API const char *lia_version_string (void);

G_END_DECLS
