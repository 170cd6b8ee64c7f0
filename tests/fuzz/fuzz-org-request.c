/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the org service's HTTP request handling (STYLE rule
 * 24): method, path, query and body come from the network. The input is
 *
 *   METHOD SP PATH[?QUERY] LF AUTH LF BODY
 *
 * where AUTH is "alice" (a valid token), "none" or anything else (sent as
 * is). The service runs on an in-memory store with two users, records and
 * a subscription, so requests reach the record, filter and sync code.
 *
 * Properties checked on every input:
 * - a status is one of the protocol's (200, 201, 204, 400, 401, 403, 404,
 *   409, 413, 503) or a parked long poll;
 * - an error body is one <error> element on one line. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-org-http.h"
#include "lia-org-sync.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
  G_STMT_START                                                                        \
  {                                                                                   \
    if (!(cond))                                                                      \
      {                                                                               \
        fprintf (stderr, "fuzz-org-request: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                                     \
      }                                                                               \
  }                                                                                   \
  G_STMT_END

static LiaOrgService *service;
static char *alice_token;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_manual (G_GINT64_CONSTANT (1717243200000000));
  g_autofree char *bob_token = NULL;
  g_autoptr (LiaOrgCaller) alice = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;

  service = lia_org_service_open (":memory:", clock, &error);
  FUZZ_CHECK (service != NULL);
  FUZZ_CHECK (lia_org_service_add_user (service, "alice", "alice@example.org", FALSE, &alice_token, &error));
  FUZZ_CHECK (lia_org_service_add_user (service, "bob", "bob@example.org", TRUE, &bob_token, &error));
  alice = lia_org_service_authenticate (service, alice_token, &error);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr (LiaCrmRecord) c = lia_crm_record_new (LIA_ENTITY_CONTACT);
      g_autoptr (LiaCrmRecord) made = NULL;
      g_autofree char *id = g_strdup_printf ("00000000-0000-4000-8000-00000000000%u", i);
      lia_crm_record_set_id (c, id);
      lia_item_set_text (lia_crm_record_get_item (c), "full-name", "Fuzz Contact", NULL);
      made = lia_org_service_create (service, alice, c, NULL, &error);
      FUZZ_CHECK (made != NULL);
    }
  sub = lia_org_sync_subscribe (service, alice, "fuzz", &error);
  FUZZ_CHECK (sub != NULL);
}

static gboolean
known_status (guint status)
{
  static const guint statuses[] = { 200, 201, 204, 400, 401, 403, 404, 409, 413, 503 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (statuses[i] == status)
      return TRUE;
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = NULL;
  g_auto (GStrv) request = NULL;
  g_autofree char *path = NULL;
  g_autofree char *auth = NULL;
  const char *query = NULL;
  const char *body;
  g_autoptr (LiaOrgResponse) response = NULL;

  if (service == NULL)
    setup ();
  lines = g_strsplit (text, "\n", 3);
  if (g_strv_length (lines) < 2)
    return 0;
  request = g_strsplit (lines[0], " ", 2);
  if (g_strv_length (request) != 2)
    return 0;
  path = g_strdup (request[1]);
  {
    char *mark = strchr (path, '?');
    if (mark != NULL)
      {
        *mark = '\0';
        query = mark + 1;
      }
  }
  if (g_str_equal (lines[1], "alice"))
    auth = g_strconcat ("Bearer ", alice_token, NULL);
  else if (!g_str_equal (lines[1], "none"))
    auth = g_strdup (lines[1]);
  body = lines[2] != NULL ? lines[2] : "";
  response = lia_org_http_handle (service, request[0], path, query, auth, body, strlen (body), 64 * 1024);
  FUZZ_CHECK (response != NULL);
  FUZZ_CHECK (response->wait || known_status (response->status));
  if (response->status >= 400)
    {
      const char *start = strstr (response->body, "<error");
      FUZZ_CHECK (start != NULL);
      FUZZ_CHECK (strchr (start, '\n') == start + strlen (start) - 1);
    }
  return 0;
}
