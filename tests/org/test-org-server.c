/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libsoup/soup.h>
#include <string.h>

#include "crm-test-backend.h"

/* liaison-server's HTTP surface, spoken raw: every error status of the
 * protocol, with a one-line reason, and the connector's mapping of them. */

static guint
request (CrmFixture *f, const char *method, const char *path, const char *token, const char *body,
         char **out_body)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("%s%s", f->url, path + 1);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;

  if (token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/xml", bytes);
    }
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  if (out_body != NULL)
    *out_body = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  return soup_message_get_status (msg);
}

/* An error body is one <error> line naming the problem. */
static void
assert_error_body (const char *body, const char *needle)
{
  const char *start = strstr (body, "<error");

  g_assert_nonnull (start);
  g_assert_null (strchr (start, '\n') == NULL ? NULL : strchr (strchr (start, '\n') + 1, '<'));
  if (needle != NULL && strstr (body, needle) == NULL)
    g_assert_cmpstr (body, ==, needle);
}

static void
test_statuses (CrmFixture *f, gconstpointer data)
{
  g_autofree char *body = NULL;
  g_autoptr (LiaCrmRecord) c = lia_crm_record_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *stale = NULL;
  guint status;

  g_test_summary (
      "Every error status of the protocol: 200 /health without a token; 401 without or with a "
      "bad token; 400 for malformed XML, unknown entity, unknown field; 404 for unknown records; "
      "403 for another user's record; 409 for a stale version; 413 for an oversized body; each with "
      "a one-line reason.");
  status = request (f, "GET", "/health", NULL, NULL, &body);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (body, "status=\"ok\""));
  g_clear_pointer (&body, g_free);

  g_assert_cmpuint (request (f, "GET", "/v1/whoami", NULL, NULL, &body), ==, 401);
  assert_error_body (body, "token");
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (request (f, "GET", "/v1/whoami", "lia_bogus", NULL, &body), ==, 401);
  g_clear_pointer (&body, g_free);

  g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token, "<create><record", &body), ==, 400);
  assert_error_body (body, "Malformed XML at line 1");
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token,
                             "<create><record entity=\"spaceship\"/></create>", &body),
                    ==, 400);
  assert_error_body (body, "spaceship");
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token,
                             "<create><record entity=\"contact\"><field name=\"shoe-size\">9</field></record>"
                             "</create>",
                             &body),
                    ==, 400);
  assert_error_body (body, "shoe-size");
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (request (f, "GET", "/v1/records/contact/00000000-0000-4000-8000-000000000000",
                             f->alice_token, NULL, &body),
                    ==, 404);
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (request (f, "GET", "/v1/records/gizmo/1", f->alice_token, NULL, &body), ==, 400);
  g_clear_pointer (&body, g_free);

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (c), "full-name", "Bob Own", NULL));
  made = lia_crm_create_sync (f->bob, c, NULL, NULL, &error);
  g_assert_no_error (error);
  path = g_strdup_printf ("/v1/records/contact/%s", lia_crm_record_get_id (made));
  {
    GString *xml = g_string_new (NULL);
    g_autoptr (LiaCrmRecord) changed = lia_crm_record_copy (made);
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (changed), "nickname", "X", NULL));
    /* Written by hand: what any HTTP client would send. */
    g_string_append_printf (xml,
                            "<record entity=\"contact\" id=\"%s\" version=\"%" G_GINT64_FORMAT
                            "\"><field name=\"full-name\">Bob Own</field><field name=\"nickname\">X</field>"
                            "</record>",
                            lia_crm_record_get_id (made), lia_crm_record_get_version (made));
    g_assert_cmpuint (request (f, "PUT", path, f->alice_token, xml->str, &body), ==, 403);
    g_clear_pointer (&body, g_free);
    g_assert_cmpuint (request (f, "PUT", path, f->bob_token, xml->str, &body), ==, 200);
    g_clear_pointer (&body, g_free);
    g_assert_cmpuint (request (f, "PUT", path, f->bob_token, xml->str, &body), ==, 409);
    assert_error_body (body, "changed");
    g_clear_pointer (&body, g_free);
    g_string_free (xml, TRUE);
  }
  {
    /* 17 MiB: above the default 16 MiB limit. */
    gsize big = 17 * 1024 * 1024;
    g_autofree char *huge = g_malloc (big + 1);
    memset (huge, 'x', big);
    huge[big] = '\0';
    g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token, huge, &body), ==, 413);
    assert_error_body (body, "exceeds");
    g_clear_pointer (&body, g_free);
  }
  g_assert_cmpuint (request (f, "GET", "/v1/no-such-thing", f->alice_token, NULL, &body), ==, 404);
  g_clear_pointer (&body, g_free);
  (void) stale;
}

static void
test_secondary_refused (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) laptop = NULL;
  g_autoptr (LiaCrmSubscription) desktop = NULL;
  g_autoptr (LiaCrmRecord) c = lia_crm_record_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *create = NULL;
  g_autofree char *track = NULL;
  g_autofree char *track_path = NULL;
  g_autofree char *body = NULL;

  g_test_summary ("R-ROLE-SECONDARY-NO-NEW over raw HTTP: a create whose request id names a secondary "
                  "subscription, and its manual track, answer 403 with one <error code=\"refused\"> line "
                  "naming the primary client.");
  laptop = lia_crm_subscribe_sync (f->alice, "laptop", NULL, &error);
  g_assert_no_error (error);
  desktop = lia_crm_subscribe_sync (f->alice, "desktop", NULL, &error);
  g_assert_no_error (error);
  create = g_strdup_printf ("<create request-id=\"%s/store/dan\"><record entity=\"contact\">"
                            "<field name=\"full-name\">Dan Desk</field></record></create>",
                            desktop->id);
  g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token, create, &body), ==, 403);
  assert_error_body (body, "code=\"refused\"");
  assert_error_body (body, "&quot;laptop&quot;");
  g_clear_pointer (&body, g_free);

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (c), "full-name", "Ann Lap", NULL));
  made = lia_crm_create_sync (f->alice, c, NULL, NULL, &error);
  g_assert_no_error (error);
  track_path = g_strdup_printf ("/v1/subscriptions/%s/track", desktop->id);
  track =
      g_strdup_printf ("<track entity=\"contact\" id=\"%s\" manual=\"true\"/>", lia_crm_record_get_id (made));
  g_assert_cmpuint (request (f, "POST", track_path, f->alice_token, track, &body), ==, 403);
  assert_error_body (body, "code=\"refused\"");
  g_clear_pointer (&body, g_free);
}

static void
test_rejected_changes_nothing (CrmFixture *f, gconstpointer data)
{
  g_autofree char *body = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "A request rejected halfway (a record with one bad field among good ones) leaves no trace.");
  g_assert_cmpuint (request (f, "POST", "/v1/records", f->alice_token,
                             "<create request-id=\"r1\"><record entity=\"contact\"><field name=\"full-name\">"
                             "Half Way</field><field name=\"birthday\">1980-02-31</field></record></create>",
                             &body),
                    ==, 400);
  found = lia_crm_search_sync (f->alice, "half way", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 0);
}

static void
test_connector_errors (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrm) offline = NULL;
  g_autoptr (LiaCrmUser) user = NULL;
  g_autoptr (GError) error = NULL;
  guint16 port;

  g_test_summary (
      "R-OFF-QUEUE groundwork: with no server listening the connector fails with "
      "LIA_ERROR_UNAVAILABLE (after its retries) rather than hanging or crashing; a URL that is not "
      "http is LIA_ERROR_INVALID.");
  /* A port that was free a moment ago: bind, note, close. */
  {
    g_autoptr (GSocket) socket =
        g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
    g_autoptr (GSocketAddress) bound = NULL;
    g_assert_true (g_socket_bind (socket, any, FALSE, &error));
    bound = g_socket_get_local_address (socket, &error);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    g_assert_true (g_socket_close (socket, &error));
  }
  {
    g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", port);
    offline = lia_crm_http_new (url, f->alice_token, &error);
    g_assert_no_error (error);
  }
  user = lia_crm_whoami_sync (offline, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "offline"));
  g_clear_error (&error);
  g_assert_null (lia_crm_http_new ("ftp://example.org/", "t", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

static void
serve_503 (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  static const char body[] = "<error code=\"unavailable\">Store is busy</error>";

  (*(guint *) data)++;
  soup_server_message_set_status (msg, 503, NULL);
  soup_server_message_set_response (msg, "application/xml", SOUP_MEMORY_STATIC, body, strlen (body));
}

typedef struct
{
  LiaCrm *crm;
  GError *error;
  gboolean done;
} ThreadCall;

static gboolean
mark_done (gpointer data)
{
  ((ThreadCall *) data)->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
whoami_thread (gpointer data)
{
  ThreadCall *call = data;
  LiaCrmUser *user = lia_crm_whoami_sync (call->crm, NULL, &call->error);

  lia_crm_user_free (user);
  /* Set from the main context, so its blocking iteration wakes up. */
  g_idle_add (mark_done, call);
  return NULL;
}

static void
test_connector_5xx (CrmFixture *f, gconstpointer data)
{
  g_autoptr (SoupServer) failing = soup_server_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (GSList) uris = NULL;
  g_autofree char *url = NULL;
  ThreadCall call = { 0 };
  GThread *thread;
  guint hits = 0;

  g_test_summary ("A 5xx answer is retried with backoff for idempotent calls and then reported as "
                  "LIA_ERROR_UNAVAILABLE with the server's reason (the one part of this suite played by a "
                  "stand-in server: liaison-server does not fail on demand).");
  soup_server_add_handler (failing, NULL, serve_503, &hits, NULL);
  g_assert_true (soup_server_listen_local (failing, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  uris = soup_server_get_uris (failing);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  crm = lia_crm_http_new (url, "lia_x", &error);
  call.crm = crm;
  thread = g_thread_new ("whoami", whoami_thread, &call);
  while (!call.done)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  g_assert_error (call.error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (call.error->message, "Store is busy"));
  g_assert_cmpuint (hits, ==, 3);
  g_clear_error (&call.error);
}

/* LeakSanitizer cannot stop a process that loaded GnuTLS's trust store
 * (p11-kit makes it non-dumpable), so under ASan the TLS case runs only
 * with leak detection off. */
#if defined(__SANITIZE_ADDRESS__)
#define LIA_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIA_TEST_ASAN 1
#endif
#endif

static gboolean
accept_any (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors, gpointer data)
{
  (*(guint *) data)++;
  return TRUE;
}

static void
test_tls (CrmFixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "tls", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *both = g_build_filename (dir, "server.pem", NULL);
  g_autofree char *key_text = NULL;
  g_autofree char *cert_text = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GSubprocess) gen = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (LiaCrmUser) user = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;
  guint accepted = 0;

  g_test_summary (
      "liaison-server --tls-cert serves HTTPS with the certificate from the PEM file; the http "
      "connector refuses a certificate it cannot verify (LIA_ERROR_UNAVAILABLE), it never ignores it.");
#ifdef LIA_TEST_ASAN
  if (g_strrstr (g_getenv ("ASAN_OPTIONS") != NULL ? g_getenv ("ASAN_OPTIONS") : "", "detect_leaks=0")
      == NULL)
    {
      g_test_skip ("LeakSanitizer cannot check a process that loaded p11-kit; run with detect_leaks=0");
      return;
    }
#endif
  if (openssl == NULL || !g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("needs openssl and a GIO TLS backend");
      return;
    }
  g_mkdir_with_parents (dir, 0700);
  gen =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (gen, NULL, &error));
  g_assert_true (g_file_get_contents (key, &key_text, NULL, &error));
  g_assert_true (g_file_get_contents (cert, &cert_text, NULL, &error));
  pem = g_strconcat (cert_text, key_text, NULL);
  g_assert_true (g_file_set_contents (both, pem, -1, &error));

  g_subprocess_launcher_set_child_setup (launcher, crm_server_child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", f->path, "--listen",
                                        "127.0.0.1:0", "--tls-cert", both, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening https://"));
  url = g_strconcat (line + strlen ("listening "), "health", NULL);

  msg = soup_message_new ("GET", url);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any), &accepted);
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (accepted, ==, 1);

  crm = lia_crm_http_new (line + strlen ("listening "), f->alice_token, &error);
  user = lia_crm_whoami_sync (crm, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, NULL));
}

static void
test_io_timeout (CrmFixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (LiaSyncSummary) summary = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) error = NULL;
  static const char partial[] = "GET /health HTTP/1.1\r\nHost: x\r\n";
  char buffer[256];
  gssize n;
  gint64 start;

  g_test_summary (
      "Limits on time: a client that stalls mid-request is disconnected after --io-timeout, while a "
      "long poll longer than that timeout is answered normally.");
  g_subprocess_launcher_set_child_setup (launcher, crm_server_child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", f->path, "--listen",
                                        "127.0.0.1:0", "--io-timeout", "1", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);
  uri = g_uri_parse (line + strlen ("listening "), G_URI_FLAGS_NONE, &error);
  g_assert_no_error (error);

  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri), (guint16) g_uri_get_port (uri),
                                                NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), partial,
                                            strlen (partial), NULL, NULL, &error));
  start = g_get_monotonic_time ();
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buffer, sizeof buffer,
                           NULL, &error);
  /* Closed (EOF or reset), not answered, after about the timeout. */
  g_assert_true (n <= 0);
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 2);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);

  crm = lia_crm_http_new (line + strlen ("listening "), f->alice_token, &error);
  sub = lia_crm_subscribe_sync (crm, "patient", NULL, &error);
  g_assert_no_error (error);
  summary = lia_crm_prepare_sync_sync (crm, sub->id, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (lia_crm_wait_changes_sync (crm, sub->id, 2500, NULL, &error));
  g_assert_no_error (error);
  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, NULL));
}

int
main (int argc, char **argv)
{
  /* The isolated XDG dirs hide the system's GSettings schemas, which the
   * desktop proxy resolver reads: loopback needs no proxy. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/org/server/statuses", CrmFixture, GUINT_TO_POINTER (1), crm_fixture_setup, test_statuses,
              crm_fixture_teardown);
  g_test_add ("/org/server/R-ROLE-SECONDARY-NO-NEW", CrmFixture, GUINT_TO_POINTER (1), crm_fixture_setup,
              test_secondary_refused, crm_fixture_teardown);
  g_test_add ("/org/server/rejected-changes-nothing", CrmFixture, GUINT_TO_POINTER (1), crm_fixture_setup,
              test_rejected_changes_nothing, crm_fixture_teardown);
  g_test_add ("/org/server/connector-offline", CrmFixture, GUINT_TO_POINTER (1), crm_fixture_setup,
              test_connector_errors, crm_fixture_teardown);
  g_test_add ("/org/server/connector-5xx", CrmFixture, GUINT_TO_POINTER (1), crm_fixture_setup,
              test_connector_5xx, crm_fixture_teardown);
  g_test_add ("/org/server/io-timeout", CrmFixture, GUINT_TO_POINTER (0), crm_fixture_setup, test_io_timeout,
              crm_fixture_teardown);
  g_test_add ("/org/server/tls", CrmFixture, GUINT_TO_POINTER (0), crm_fixture_setup, test_tls,
              crm_fixture_teardown);
  return g_test_run ();
}
