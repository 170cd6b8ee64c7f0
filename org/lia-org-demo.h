/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-service.h"

G_BEGIN_DECLS

/* A realistic demo org: an admin and three users, about 50 accounts, 500
 * contacts, leads, opportunities, cases and activities of every kind, the
 * same for a given seed. Tokens of the new users go to @out_tokens
 * (name -> token). */
gboolean lia_org_demo_load (LiaOrgService *service, guint32 seed, GHashTable *out_tokens, GError **error);

G_END_DECLS
