/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

#include "lia-org-service.h"

G_BEGIN_DECLS

/* The embedded connector: the org service in-process on one SQLite file
 * (the default org). It lives in core/crm/ beside the http connector but is
 * built with org/ (it is the one place core reaches into org/, DESIGN.md
 * "Boundaries"), so libliaison itself carries no SQL of the org. Calls block
 * on the store; the _async() wrappers of LiaCrm run them on a worker. */

#define LIA_TYPE_CRM_EMBEDDED (lia_crm_embedded_get_type ())
G_DECLARE_FINAL_TYPE (LiaCrmEmbedded, lia_crm_embedded, LIA, CRM_EMBEDDED, GObject)

/* Opens (creating if needed) the org file at @path and authenticates every
 * call with @token. */
LiaCrm *lia_crm_embedded_new (const char *path, const char *token, LiaClock *clock, GError **error);
/* Shares an open service, for several users in one process. */
LiaCrm *lia_crm_embedded_new_for_service (LiaOrgService *service, const char *token);

G_END_DECLS
