/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "lia-org-service.h"
#include "lia-plugin-private.h"
#include "lia-test-host.h"

/* The plugin opens its own connector from its configuration (lia-plugin.h,
 * LiaPluginConfig): an embedded org file, or a liaison-server URL with the
 * user's token. Each case prepares a real org file with one user and one
 * contact, loads the plugin with nothing but paths, URL and token, runs a
 * cycle and finds the contact on the test host. */

typedef struct
{
  char *dir;
  char *org_path;
  char *cache_path;
  char *token;
  LiaTestMailbox *mailbox;
  LiaTestHost *host;
  LiaPlugin *plugin;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgService) org = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_system ();
  g_autoptr (LiaCrmRecord) contact = lia_crm_record_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaCrmRecord) made = NULL;
  LiaOrgCaller *caller;

  f->dir = g_build_filename (g_get_user_data_dir (), "liaison-connector", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  f->org_path = g_build_filename (f->dir, "org.db", NULL);
  f->cache_path = g_build_filename (f->dir, "cache.db", NULL);
  org = lia_org_service_open (f->org_path, clock, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_add_user (org, "alice", "alice@example.org", FALSE, &f->token, &error));
  caller = lia_org_service_authenticate (org, f->token, &error);
  g_assert_no_error (error);
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (contact), "family-name", "Okafor", NULL));
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (contact), "full-name", "Ada Okafor", NULL));
  made = lia_org_service_create (org, caller, contact, NULL, &error);
  g_assert_no_error (error);
  lia_org_caller_free (caller);
  f->mailbox = lia_test_mailbox_new (clock);
  f->host = lia_test_host_new (f->mailbox);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->plugin != NULL)
    {
      g_clear_pointer (&f->plugin, lia_plugin_internal_funcs ()->unload);
      for (guint i = 0; i < 50; i++)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  g_clear_pointer (&f->host, lia_test_host_free);
  lia_test_mailbox_unref (f->mailbox);
  g_free (f->token);
  g_free (f->cache_path);
  g_free (f->org_path);
  g_free (f->dir);
}

static void
sync_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

/* Loads the plugin with @config, runs one cycle and checks the contact
 * came from the org the configuration names. */
static void
load_and_sync (Fixture *f, LiaPluginConfig *config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  LiaEngine *engine;

  config->cache_path = f->cache_path;
  config->org_name = "connector-org";
  config->client_name = "alice-laptop";
  f->plugin = lia_plugin_internal_funcs ()->load (config, lia_test_host_get_vtable (), f->host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->plugin);
  engine = lia_plugin_get_engine (f->plugin);
  lia_engine_sync_async (engine, NULL, sync_done, &res);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (lia_engine_sync_finish (engine, res, &error));
  g_assert_no_error (error);
  hi = lia_test_host_find (f->host, "contacts", "family-name", "Okafor");
  g_assert_nonnull (hi);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (hi->props.crm_org, ==, "connector-org");
}

static void
test_embedded (Fixture *f, gconstpointer data)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };

  g_test_summary ("The plugin opens an embedded org file from its configuration (org_path and token, no "
                  "connector passed) and synchronizes the user's contact from it");
  config.org_path = f->org_path;
  config.token = f->token;
  load_and_sync (f, &config);
}

#ifdef LIA_TEST_SERVER
static void
server_child_setup (gpointer data)
{
  /* The server must not outlive a test that crashes. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
test_http (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };

  g_test_summary ("The plugin opens the http connector from its configuration (org_url and token, no "
                  "connector passed) and synchronizes the user's contact from a real liaison-server on a "
                  "free loopback port, stopped afterwards");
  g_subprocess_launcher_set_child_setup (launcher, server_child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", f->org_path, "--listen",
                                        "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening "));
  config.org_url = line + strlen ("listening ");
  config.token = f->token;
  load_and_sync (f, &config);
  g_clear_pointer (&f->plugin, lia_plugin_internal_funcs ()->unload);
  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, &error));
  g_assert_no_error (error);
}

/* Starts liaison-server on @listen; returns its base URL. */
static GSubprocess *
server_start (Fixture *f, const char *listen, char **out_url)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  GSubprocess *server;

  g_subprocess_launcher_set_child_setup (launcher, server_child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", f->org_path, "--listen",
                                        listen, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening "));
  *out_url = g_strdup (line + strlen ("listening "));
  return server;
}

static void
server_stop (GSubprocess *server)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, &error));
  g_assert_no_error (error);
}

static void
test_http_offline_start (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autofree char *url = NULL;
  g_autofree char *url2 = NULL;
  g_autofree char *listen = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  gint64 until;

  g_test_summary ("R-OFF-QUEUE, R-OFF-STATUS over http: liaison-server stopped, a change made while the "
                  "plugin was not loaded is scanned and queued at load although the server refuses the "
                  "connection; the status says offline with one queued change; with the server back on "
                  "the same port the change reaches the org");
  server = server_start (f, "127.0.0.1:0", &url);
  config.org_url = url;
  config.token = f->token;
  load_and_sync (f, &config);
  g_clear_pointer (&f->plugin, lia_plugin_internal_funcs ()->unload);
  for (guint i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
  server_stop (server);
  g_clear_object (&server);

  hi = lia_test_host_find (f->host, "contacts", "family-name", "Okafor");
  g_usleep (G_USEC_PER_SEC); /* past the scan watermark's whole second */
  g_assert_true (lia_test_host_user_edit (f->host, hi->item_id, "job-title", "Edited offline"));

  f->plugin = lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), f->host, &error);
  g_assert_no_error (error);
  until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      g_auto (LiaSyncStatus) status = { 0 };

      lia_plugin_internal_funcs ()->get_status (f->plugin, &status);
      if (status.state == LIA_SYNC_STATE_OFFLINE)
        {
          g_assert_false (status.online);
          g_assert_cmpuint (status.queued, ==, 1);
          break;
        }
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }

  /* The server back on the same address. */
  listen = g_strdup (url + strlen ("http://"));
  if (strchr (listen, '/') != NULL)
    *strchr (listen, '/') = '\0';
  server = server_start (f, listen, &url2);
  {
    g_autoptr (GAsyncResult) res = NULL;
    LiaEngine *engine = lia_plugin_get_engine (f->plugin);

    lia_engine_sync_async (engine, NULL, sync_done, &res);
    while (res == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (lia_engine_sync_finish (engine, res, &error));
    g_assert_no_error (error);
  }
  g_clear_pointer (&f->plugin, lia_plugin_internal_funcs ()->unload);
  server_stop (server);
  {
    g_autoptr (LiaClock) clock = lia_clock_new_system ();
    g_autoptr (LiaOrgService) org = lia_org_service_open (f->org_path, clock, &error);
    g_autoptr (LiaOrgCaller) caller = NULL;
    g_autoptr (LiaHostItem) now = lia_test_host_dup_item (f->host, hi->item_id);
    g_autoptr (LiaCrmRecord) rec = NULL;

    g_assert_no_error (error);
    caller = lia_org_service_authenticate (org, f->token, &error);
    g_assert_no_error (error);
    rec = lia_org_service_retrieve (org, caller, LIA_ENTITY_CONTACT, now->props.crm_id, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Edited offline");
  }
}
#endif

static void
test_refused (Fixture *f, gconstpointer data)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;

  g_test_summary ("A configuration that names no org, or a server without a token, is refused with "
                  "LIA_ERROR_INVALID at load, before anything starts");
  config.cache_path = f->cache_path;
  g_assert_null (lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), f->host, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  config.org_url = "http://127.0.0.1:1/";
  g_assert_null (lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), f->host, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_false (g_file_test (f->cache_path, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  /* Isolated dirs hide the system's GSettings schemas, which the default
   * proxy resolver of the http connector's socket client would read. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/plugin/connector/embedded-org-file", Fixture, NULL, setup, test_embedded, teardown);
#ifdef LIA_TEST_SERVER
  g_test_add ("/plugin/connector/http-liaison-server", Fixture, NULL, setup, test_http, teardown);
  g_test_add ("/plugin/connector/R-OFF-QUEUE/R-OFF-STATUS/http-offline-start", Fixture, NULL, setup,
              test_http_offline_start, teardown);
#endif
  g_test_add ("/plugin/connector/refused-without-org", Fixture, NULL, setup, test_refused, teardown);
  return g_test_run ();
}
