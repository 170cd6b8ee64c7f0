/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-service.h"

G_BEGIN_DECLS

/* The HTTP API of the org service, independent of any HTTP library: a
 * request (method, path, query, Authorization header, body) in, a status
 * and an XML body out. liaison-server feeds it from libsoup; the fuzz
 * target feeds it bytes. docs/protocol.md is the reference.
 *
 * Long polls are the one exception: the handler answers "wait" with the
 * caller and subscription, and the server parks the message until
 * lia_org_sync_has_changes() or the timeout. */

typedef struct
{
  guint status;
  char *body; /* owned, nullable: XML */
  gsize body_len;
  gboolean wait;        /* park until changes or timeout */
  LiaOrgCaller *caller; /* owned, for waits */
  char *subscription;   /* owned, for waits */
  guint timeout_ms;     /* for waits */
} LiaOrgResponse;

void lia_org_response_free (LiaOrgResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgResponse, lia_org_response_free)

/* Longest long poll a client may ask for; the server closes idle
 * connections after a bit more. */
#define LIA_ORG_HTTP_MAX_WAIT_MS 55000

LiaOrgResponse *lia_org_http_handle (LiaOrgService *service, const char *method, const char *path,
                                     const char *query, const char *authorization, const char *body,
                                     gsize body_len, gsize max_body);
/* The body of a finished long poll. */
LiaOrgResponse *lia_org_http_wait_response (gboolean changed);
/* Maps an error to its status and a one-line XML body. */
LiaOrgResponse *lia_org_http_error_response (const GError *error);

G_END_DECLS
