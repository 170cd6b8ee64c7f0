/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

/* clang-format off */
G_DEFINE_QUARK (lia-error-quark, lia_error)
/* clang-format on */

const char *
lia_version_string (void)
{
  return LIA_VERSION;
}
