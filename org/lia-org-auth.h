/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Bearer tokens: 256 random bits from the kernel, shown once, stored only
 * as their SHA-256. A token is all entropy, so an unsalted hash is enough:
 * nobody can guess a preimage, and lookup stays a primary-key probe. */

#define LIA_ORG_TOKEN_PREFIX "lia_"

gboolean lia_org_auth_new_token (char **out_token, char **out_hash, GError **error);
char *lia_org_auth_hash (const char *token);
char *lia_org_auth_new_uuid (void);

G_END_DECLS
