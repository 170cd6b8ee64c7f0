/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

G_DEFINE_QUARK (lia-error-quark, lia_error)

const char *
lia_version_string (void)
{
  return LIA_VERSION;
}
