/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <gmodule.h>
#include <string.h>
#include <liaison/liaison.h>

#include "lia-test-host.h"

/* liaison-plugin.so as a host loads it: through lia_plugin_module_open()
 * and its one exported query function, linked against the shared
 * libliaison only. */

/* An org that takes two seconds to say it is unreachable: loading must
 * not wait for it. */
#define SLOW_ORG_US (2 * G_USEC_PER_SEC)

#define TEST_TYPE_SLOW_ORG (test_slow_org_get_type ())
G_DECLARE_FINAL_TYPE (TestSlowOrg, test_slow_org, TEST, SLOW_ORG, GObject)

struct _TestSlowOrg
{
  GObject parent;
};

static LiaCrmUser *
slow_whoami (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  g_usleep (SLOW_ORG_US);
  g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "connection refused");
  return NULL;
}

static void
test_slow_org_iface_init (LiaCrmInterface *iface)
{
  iface->whoami = slow_whoami;
}

G_DEFINE_TYPE_WITH_CODE (TestSlowOrg, test_slow_org, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (LIA_TYPE_CRM, test_slow_org_iface_init))

static void
test_slow_org_class_init (TestSlowOrgClass *klass)
{
}

static void
test_slow_org_init (TestSlowOrg *self)
{
}

static void
test_module_loads (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = NULL;
  const LiaPluginFuncs *funcs;

  g_test_summary ("liaison-plugin.so opens with GModule, exports lia_plugin_query, and reports the ABI "
                  "this host was built for");
  module = lia_plugin_module_open (LIA_TEST_PLUGIN, &error);
  g_assert_no_error (error);
  funcs = lia_plugin_module_get_funcs (module);
  g_assert_cmpuint (funcs->abi_version, ==, LIA_PLUGIN_ABI_VERSION);
  g_assert_nonnull (funcs->load);
}

static void
test_module_abi_mismatch (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = NULL;
  g_autofree char *mine = g_strdup_printf ("needs ABI %u", (guint) LIA_PLUGIN_ABI_VERSION);

  g_test_summary ("A plugin of another ABI is refused with LIA_ERROR_ABI and a message naming both versions");
  module = lia_plugin_module_open (LIA_TEST_BAD_PLUGIN, &error);
  g_assert_null (module);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_ABI);
  g_assert_nonnull (strstr (error->message, "ABI 999"));
  g_assert_nonnull (strstr (error->message, mine));
}

static void
test_module_not_plugin (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = NULL;

  g_test_summary ("A library without the query function, and a missing file, are refused with "
                  "LIA_ERROR_NOT_FOUND");
  module = lia_plugin_module_open (LIA_TEST_NOT_PLUGIN, &error);
  g_assert_null (module);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  module = lia_plugin_module_open ("/nonexistent/liaison-plugin.so", &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_host_abi_mismatch (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = lia_plugin_module_open (LIA_TEST_PLUGIN, &error);
  g_autoptr (LiaTestMailbox) mailbox = lia_test_mailbox_new (NULL);
  g_autoptr (LiaTestHost) host = lia_test_host_new (mailbox);
  g_autoptr (TestSlowOrg) org = g_object_new (TEST_TYPE_SLOW_ORG, NULL);
  g_autofree char *cache = g_build_filename (g_get_user_data_dir (), "cache.db", NULL);
  LiaHostVTable old = *lia_test_host_get_vtable ();
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };

  g_test_summary ("A host whose interface is of another ABI is refused at load with LIA_ERROR_ABI");
  g_assert_no_error (error);
  old.abi_version = LIA_HOST_ABI_VERSION + 1;
  config.cache_path = cache;
  config.crm = LIA_CRM (org);
  g_assert_null (lia_plugin_module_get_funcs (module)->load (&config, &old, host, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_ABI);
}

static void
on_status (const LiaSyncStatus *status, gpointer user_data)
{
  LiaSyncState *last = user_data;

  *last = status->state;
}

static void
test_load_does_not_block (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = lia_plugin_module_open (LIA_TEST_PLUGIN, &error);
  g_autoptr (LiaTestMailbox) mailbox = lia_test_mailbox_new (NULL);
  g_autoptr (LiaTestHost) host = lia_test_host_new (mailbox);
  g_autoptr (TestSlowOrg) org = g_object_new (TEST_TYPE_SLOW_ORG, NULL);
  g_autofree char *cache = g_build_filename (g_get_user_data_dir (), "cache.db", NULL);
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  const LiaPluginFuncs *funcs;
  LiaSyncState last = LIA_SYNC_STATE_STARTING;
  LiaPlugin *plugin;
  g_auto (LiaSyncStatus) status = { 0 };
  gint64 t0;
  gint64 until;

  g_test_summary ("Loading returns at once while the org takes two seconds to fail; the host keeps "
                  "running; the status goes from starting to offline with the error (R-OFF-STATUS, "
                  "R-IMM-BACKGROUND)");
  g_assert_no_error (error);
  funcs = lia_plugin_module_get_funcs (module);
  config.cache_path = cache;
  config.crm = LIA_CRM (org);
  config.client_name = "test-host";
  config.status_func = on_status;
  config.status_data = &last;
  t0 = g_get_monotonic_time ();
  plugin = funcs->load (&config, lia_test_host_get_vtable (), host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, SLOW_ORG_US / 10);
  funcs->get_status (plugin, &status);
  g_assert_cmpint (status.state, ==, LIA_SYNC_STATE_STARTING);
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (last != LIA_SYNC_STATE_OFFLINE && g_get_monotonic_time () < until)
    {
      gint64 before = g_get_monotonic_time ();

      g_main_context_iteration (NULL, FALSE);
      /* The host's main context is never held up by the plugin. */
      g_assert_cmpint (g_get_monotonic_time () - before, <, SLOW_ORG_US / 10);
      g_usleep (1000);
    }
  g_assert_cmpint (last, ==, LIA_SYNC_STATE_OFFLINE);
  lia_sync_status_clear (&status);
  funcs->get_status (plugin, &status);
  g_assert_false (status.online);
  g_assert_cmpstr (status.last_error, ==, "connection refused");
  t0 = g_get_monotonic_time ();
  funcs->unload (plugin);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, SLOW_ORG_US / 10);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Runs the org tool on @org; returns its standard output. */
static char *
org_tool (const char *org, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  gint status = 0;

  g_ptr_array_add (argv, (gpointer) LIA_TEST_ORG_TOOL);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, (gpointer) org);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("liaison-org failed: %s: %s", error->message, err);
  return out;
}

static void
sync_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (res);
}

static void
sync_now (const LiaPluginFuncs *funcs, LiaPlugin *plugin)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  funcs->sync_async (plugin, NULL, sync_done, &res);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (funcs->sync_finish (plugin, res, &error));
  g_assert_no_error (error);
}

typedef struct
{
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin;
} NotifyTarget;

static void
forward_notify (const LiaHostNotification *n, gpointer user_data)
{
  NotifyTarget *t = user_data;

  t->funcs->notify (t->plugin, n);
}

static void
test_embedded_org_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaPluginModule) module = lia_plugin_module_open (LIA_TEST_PLUGIN, &error);
  g_autoptr (LiaTestMailbox) mailbox = lia_test_mailbox_new (NULL);
  g_autoptr (LiaTestHost) host = lia_test_host_new (mailbox);
  g_autofree char *cache = g_build_filename (g_get_user_data_dir (), "embedded-cache.db", NULL);
  g_autofree char *org = g_build_filename (g_get_user_data_dir (), "demo-org.db", NULL);
  g_autofree char *users = NULL;
  g_autofree char *export = NULL;
  g_autoptr (GPtrArray) contacts = NULL;
  g_autoptr (LiaItem) zed = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *zed_id = NULL;
  g_autoptr (LiaHostItem) zed_after = NULL;
  g_auto (GStrv) lines = NULL;
  const char *token = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin;
  const LiaHostItem *first;
  NotifyTarget target;

  g_test_summary ("liaison-plugin.so, loaded as a host loads it, opens an embedded org file (the product "
                  "default) and synchronizes both ways: the user's CRM contacts reach the host linked "
                  "(R-MARK-FILTER), a host contact tracked by hand reaches the org file (R-MARK-TRACK)");
  g_assert_no_error (error);
  funcs = lia_plugin_module_get_funcs (module);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  users = org_tool (org, (const char *const[]){ "demo", NULL });
  lines = g_strsplit (users, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "alice\t"))
      token = lines[i] + strlen ("alice\t");
  g_assert_nonnull (token);

  config.cache_path = cache;
  config.org_path = org;
  config.token = token;
  config.org_name = "demo";
  config.client_name = "plugin-load-test";
  config.manual_sync = TRUE;
  plugin = funcs->load (&config, lia_test_host_get_vtable (), host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  target.funcs = funcs;
  target.plugin = plugin;
  lia_test_host_set_notify (host, forward_notify, &target);
  sync_now (funcs, plugin);
  contacts = lia_test_host_list_items (host, LIA_TEST_STORE, "contacts");
  g_assert_cmpuint (contacts->len, >, 0);
  first = g_ptr_array_index (contacts, 0);
  g_assert_cmpint (first->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (first->props.crm_id);
  export = org_tool (org, (const char *const[]){ "export", "-", NULL });
  g_assert_nonnull (strstr (export, first->props.crm_id));
  g_clear_pointer (&export, g_free);

  g_assert_true (lia_item_set_text (zed, "given-name", "Zed", NULL));
  g_assert_true (lia_item_set_text (zed, "family-name", "Zulu-Plugin", NULL));
  g_assert_true (lia_item_set_text (zed, "full-name", "Zed Zulu-Plugin", NULL));
  zed_id = lia_test_host_user_create (host, LIA_TEST_STORE, "contacts", zed, FALSE);
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "contacts";
  cmd.item_id = zed_id;
  cmd.entity = LIA_ENTITY_CONTACT;
  g_assert_true (funcs->command (plugin, &cmd, &error));
  g_assert_no_error (error);
  sync_now (funcs, plugin);
  zed_after = lia_test_host_dup_item (host, zed_id);
  g_assert_cmpint (zed_after->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (zed_after->props.crm_id);
  export = org_tool (org, (const char *const[]){ "export", "-", NULL });
  g_assert_nonnull (strstr (export, zed_after->props.crm_id));
  g_assert_nonnull (strstr (export, "Zulu-Plugin"));

  lia_test_host_set_notify (host, NULL, NULL);
  funcs->unload (plugin);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/plugin/module/loads", test_module_loads);
  g_test_add_func ("/plugin/module/abi-mismatch", test_module_abi_mismatch);
  g_test_add_func ("/plugin/module/not-a-plugin", test_module_not_plugin);
  g_test_add_func ("/plugin/module/host-abi-mismatch", test_host_abi_mismatch);
  g_test_add_func ("/plugin/R-IMM-BACKGROUND/load-does-not-block", test_load_does_not_block);
  g_test_add_func ("/plugin/module/R-MARK-FILTER/R-MARK-TRACK/embedded-org-file", test_embedded_org_file);
  return g_test_run ();
}
