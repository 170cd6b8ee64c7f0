/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-org-http.h"
#include "lia-org-sync.h"

/* liaison-server: the org service over HTTP/1.1 (libsoup 3). One thread
 * runs the main loop and the service calls; SQLite answers an incremental
 * PrepareSync in tens of microseconds, so serializing is cheaper than a
 * pool contending for one file. Connections are accepted here (not by
 * soup_server_listen) so each socket gets an I/O timeout and, optionally,
 * TLS before libsoup sees it. */

typedef struct
{
  LiaOrgService *service;       /* owned */
  SoupServer *soup;             /* owned */
  GSocketService *listener;     /* owned */
  GTlsCertificate *certificate; /* owned, nullable */
  GMainLoop *loop;              /* owned */
  GList *waiters;               /* owned Waiter list: parked long polls */
  gsize max_body;
  guint io_timeout_s;
  gboolean recheck_queued; /* guarded by recheck_lock */
  GMutex recheck_lock;
  gboolean stopping;
} Server;

typedef struct
{
  Server *server;         /* borrowed */
  SoupServerMessage *msg; /* owned ref */
  LiaOrgCaller *caller;   /* owned */
  char *subscription;     /* owned */
  guint timeout_id;
} Waiter;

static void
set_response (SoupServerMessage *msg, LiaOrgResponse *response)
{
  soup_server_message_set_status (msg, response->status, NULL);
  if (response->status == 401)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                  "Bearer realm=\"liaison\"");
  if (response->body != NULL)
    soup_server_message_set_response (msg, "application/xml; charset=utf-8", SOUP_MEMORY_COPY, response->body,
                                      response->body_len);
}

static void
waiter_finish (Waiter *waiter, gboolean changed)
{
  Server *server = waiter->server;
  g_autoptr (LiaOrgResponse) response = lia_org_http_wait_response (changed);

  server->waiters = g_list_remove (server->waiters, waiter);
  g_clear_handle_id (&waiter->timeout_id, g_source_remove);
  set_response (waiter->msg, response);
  soup_server_message_unpause (waiter->msg);
  g_object_unref (waiter->msg);
  lia_org_caller_free (waiter->caller);
  g_free (waiter->subscription);
  g_free (waiter);
}

static gboolean
waiter_timeout (gpointer data)
{
  Waiter *waiter = data;

  waiter->timeout_id = 0;
  waiter_finish (waiter, FALSE);
  return G_SOURCE_REMOVE;
}

/* Runs on the main loop after a committed change: answers the long polls
 * whose subscription the change touched. */
static gboolean
recheck_waiters (gpointer data)
{
  Server *server = data;
  GList *copy;

  g_mutex_lock (&server->recheck_lock);
  server->recheck_queued = FALSE;
  g_mutex_unlock (&server->recheck_lock);
  copy = g_list_copy (server->waiters);
  for (GList *l = copy; l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;
      gboolean changed = FALSE;
      g_autoptr (GError) error = NULL;

      if (!lia_org_sync_has_changes (server->service, waiter->caller, waiter->subscription, &changed, &error)
          || changed)
        waiter_finish (waiter, TRUE);
    }
  g_list_free (copy);
  return G_SOURCE_REMOVE;
}

/* Called with the service lock held, from whichever thread committed:
 * only queue work for the main loop. */
static void
on_change (gpointer data)
{
  Server *server = data;

  g_mutex_lock (&server->recheck_lock);
  if (!server->recheck_queued)
    {
      server->recheck_queued = TRUE;
      g_idle_add (recheck_waiters, server);
    }
  g_mutex_unlock (&server->recheck_lock);
}

/* Counts the body as it arrives; past the limit the body is dropped (not
 * kept in memory) and the handler answers 413. An early handler would be
 * the natural place, but with libsoup 3.2 one breaks request bodies on
 * kept-alive connections. */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
  Server *server = data;
  gsize total =
      GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "lia-body-size")) + g_bytes_get_size (chunk);

  g_object_set_data (G_OBJECT (msg), "lia-body-size", GSIZE_TO_POINTER (total));
  if (total > server->max_body)
    {
      SoupMessageBody *body = soup_server_message_get_request_body (msg);
      soup_message_body_set_accumulate (body, FALSE);
      soup_message_body_truncate (body);
    }
}

static void
on_request_started (SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), data);
}

static void
answer_too_large (Server *server, SoupServerMessage *msg, gsize length)
{
  g_autoptr (GError) error =
      g_error_new (LIA_ERROR, LIA_ERROR_INVALID,
                   "Request body of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT, length,
                   server->max_body);
  g_autoptr (LiaOrgResponse) response = lia_org_http_error_response (error);

  response->status = 413;
  set_response (msg, response);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
}

static void
handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Server *server = data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (LiaOrgResponse) response = NULL;
  gsize len = 0;
  const char *data_ptr;

  {
    gsize seen = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "lia-body-size"));
    if (seen > server->max_body)
      {
        answer_too_large (server, msg, seen);
        return;
      }
  }
  if (server->stopping)
    {
      soup_server_message_set_status (msg, 503, NULL);
      return;
    }
  bytes = soup_message_body_flatten (body);
  data_ptr = g_bytes_get_data (bytes, &len);
  response = lia_org_http_handle (
      server->service, soup_server_message_get_method (msg), path, g_uri_get_query (uri),
      soup_message_headers_get_one (headers, "Authorization"), data_ptr, len, server->max_body);
  if (response->wait)
    {
      Waiter *waiter = g_new0 (Waiter, 1);
      waiter->server = server;
      waiter->msg = g_object_ref (msg);
      waiter->caller = g_steal_pointer (&response->caller);
      waiter->subscription = g_steal_pointer (&response->subscription);
      waiter->timeout_id = g_timeout_add (response->timeout_ms, waiter_timeout, waiter);
      server->waiters = g_list_prepend (server->waiters, waiter);
      soup_server_message_pause (msg);
      return;
    }
  set_response (msg, response);
}

static gboolean
on_incoming (GSocketService *listener, GSocketConnection *connection, GObject *source, gpointer data)
{
  Server *server = data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  if (server->stopping)
    return TRUE;
  /* A slow or stalled peer is cut off after the I/O timeout. Responses
   * go out as headers then body: without TCP_NODELAY, Nagle and delayed
   * ACKs hold each small answer for 40 ms. */
  g_socket_set_timeout (socket, server->io_timeout_s);
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_clear_error (&error);
  if (server->certificate != NULL)
    {
      stream =
          G_IO_STREAM (g_tls_server_connection_new (G_IO_STREAM (connection), server->certificate, &error));
      if (stream == NULL)
        {
          g_warning ("TLS: %s", error->message);
          return TRUE;
        }
    }
  else
    stream = G_IO_STREAM (g_object_ref (connection));
  if (!soup_server_accept_iostream (server->soup, stream, local, remote, &error))
    g_warning ("Cannot accept a connection: %s", error->message);
  return TRUE;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_sigterm (gpointer data)
{
  Server *server = data;

  /* Graceful: stop accepting, answer parked long polls, let the loop
   * finish the requests it holds, then quit. */
  server->stopping = TRUE;
  g_socket_service_stop (server->listener);
  g_socket_listener_close (G_SOCKET_LISTENER (server->listener));
  while (server->waiters != NULL)
    waiter_finish (server->waiters->data, FALSE);
  g_timeout_add (100, quit_loop, server->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
parse_listen (const char *text, char **out_host, guint16 *out_port, GError **error)
{
  const char *colon = strrchr (text, ':');
  guint64 port = 0;

  if (colon == NULL || colon == text || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "--listen takes HOST:PORT, not \"%s\"", text);
      return FALSE;
    }
  *out_host = g_strndup (text, (gsize) (colon - text));
  *out_port = (guint16) port;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *tls_cert = NULL;
  gint64 max_body = 16 * 1024 * 1024;
  gint io_timeout = 60;
  GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The org store (SQLite file)", "FILE" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address to listen on (default 127.0.0.1:8642)",
      "HOST:PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, "PEM file with certificate and key: serve HTTPS",
      "FILE" },
    { "max-request", 0, 0, G_OPTION_ARG_INT64, &max_body, "Largest request body in bytes", "BYTES" },
    { "io-timeout", 0, 0, G_OPTION_ARG_INT, &io_timeout, "Seconds a connection may stall", "SECONDS" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the Liaison org service over HTTP");
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autoptr (GSocketAddress) bind_address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  Server server = { 0 };
  guint16 port = 0;
  guint watch;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("liaison-server: %s\n", error->message);
      return 2;
    }
  if (db == NULL)
    {
      g_printerr ("liaison-server: --db FILE is required\n");
      return 2;
    }
  if (max_body < 1024 || io_timeout < 1)
    {
      g_printerr ("liaison-server: --max-request is at least 1024 and --io-timeout at least 1\n");
      return 2;
    }
  if (!parse_listen (listen != NULL ? listen : "127.0.0.1:8642", &host, &port, &error))
    {
      g_printerr ("liaison-server: %s\n", error->message);
      return 2;
    }
  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    {
      g_printerr ("liaison-server: \"%s\" is not an IP address\n", host);
      return 2;
    }
  server.max_body = (gsize) max_body;
  /* The timeout counts while a socket operation waits: a parked long poll
   * waits on no socket, so it may outlast it. */
  server.io_timeout_s = (guint) io_timeout;
  g_mutex_init (&server.recheck_lock);
  if (tls_cert != NULL)
    {
      server.certificate = g_tls_certificate_new_from_file (tls_cert, &error);
      if (server.certificate == NULL)
        {
          g_printerr ("liaison-server: %s\n", error->message);
          return 1;
        }
    }
  server.service = lia_org_service_open (db, NULL, &error);
  if (server.service == NULL)
    {
      g_printerr ("liaison-server: %s\n", error->message);
      return 1;
    }
  server.soup = soup_server_new ("server-header", "liaison-server/" LIA_VERSION, NULL);
  g_signal_connect (server.soup, "request-started", G_CALLBACK (on_request_started), &server);
  soup_server_add_handler (server.soup, NULL, handler, &server, NULL);
  watch = lia_org_service_watch (server.service, on_change, &server);

  server.listener = g_socket_service_new ();
  /* GLib's default backlog of 10 drops the SYNs of a burst of clients. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (server.listener), 512);
  bind_address = g_inet_socket_address_new (address, port);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (server.listener), bind_address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error))
    {
      g_printerr ("liaison-server: cannot listen on %s: %s\n", listen != NULL ? listen : "127.0.0.1:8642",
                  error->message);
      return 1;
    }
  g_signal_connect (server.listener, "incoming", G_CALLBACK (on_incoming), &server);
  g_socket_service_start (server.listener);
  server.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_sigterm, &server);
  g_unix_signal_add (SIGINT, on_sigterm, &server);

  {
    g_autofree char *ip = g_inet_address_to_string (address);
    guint16 bound = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
    gboolean v6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
    /* Tests and supervisors read this line for the port actually bound. */
    printf ("listening %s://%s%s%s:%u/\n", server.certificate != NULL ? "https" : "http", v6 ? "[" : "", ip,
            v6 ? "]" : "", bound);
    fflush (stdout);
  }
  g_main_loop_run (server.loop);

  lia_org_service_unwatch (server.service, watch);
  soup_server_disconnect (server.soup);
  g_clear_object (&server.soup);
  g_clear_object (&server.listener);
  g_clear_object (&server.certificate);
  g_main_loop_unref (server.loop);
  lia_org_service_unref (server.service);
  g_mutex_clear (&server.recheck_lock);
  return 0;
}
