/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsecret/secret.h>

/* The keyring entry of a user's org token: one secret per org and user,
 * written by `liaison setup --keyring` and Evolution's preferences page
 * and read by both, so both must use this one schema. Header-only: the
 * tool links libsecret only when it is installed (LIA_HAVE_LIBSECRET). */
static inline const SecretSchema *
lia_evo_token_schema (void)
{
  static const SecretSchema schema = {
    "org.gnome.Liaison.Token",
    SECRET_SCHEMA_NONE,
    {
        { "org", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
        { NULL, 0 },
    },
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  };

  return &schema;
}
