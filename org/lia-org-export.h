/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-service.h"

G_BEGIN_DECLS

/* Export and import of a whole org as one XML document, keeping user,
 * record and filter ids, so that clients relink instead of duplicating
 * after a migration (R-DUP-IDS). Tokens are not exported: they exist only
 * as hashes; the admin issues new ones after an import. */
gboolean lia_org_export (LiaOrgService *service, GOutputStream *out, GError **error);
gboolean lia_org_import (LiaOrgService *service, const char *data, gsize len, GError **error);

G_END_DECLS
