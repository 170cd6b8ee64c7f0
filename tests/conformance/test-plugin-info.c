/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "engine-fixture.h"

/* What a host's UI reads from the plugin besides the settings
 * (lia-plugin.h): this client's role and the synchronizing client's name
 * (get_client_role, R-ROLE-SECONDARY-NO-NEW), what the org decides for the
 * preferences page (org_info_async: R-SET-TAGGING's override, the sync
 * filters, the field map with the org's directions and the user's field
 * security), and the entry points a UI calls from worker threads
 * (lia-plugin.h "Threads"): concurrently with each other, with the engine
 * and with unload. On the test host and the embedded org. */

static const LiaPluginFuncs *
funcs (void)
{
  return lia_plugin_internal_funcs ();
}

/* A Synchronize Now that joins a cycle already in flight may have read the
 * role before the test changed it: the second one started after the call. */
static void
sync_fresh (EfClient *client)
{
  ef_sync (client);
  ef_sync (client);
}

static gboolean
track_contact (EfClient *client, const char *item_id, GError **error)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };

  cmd.store = LIA_TEST_STORE;
  cmd.folder = lia_test_folder_for (LIA_ENTITY_CONTACT);
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_CONTACT;
  cmd.link_state = LIA_LINK_STATE_NONE;
  return funcs ()->command (client->plugin, &cmd, error);
}

static void
test_role_names_primary (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *primary = NULL;
  g_autofree char *desk_primary = NULL;
  g_autofree char *item = NULL;
  g_autoptr (LiaCrmRecord) c = ef_contact ("Ned", "North");
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-ROLE-SECONDARY-NO-NEW, R-ROLE-ONE-PRIMARY: get_client_role tells a UI this client's role and "
      "the synchronizing client's name, without I/O, so that Track of a new contact can be made "
      "insensitive with a tooltip naming the client the core's refusal names too");
  sync_fresh (&ef->a);
  g_assert_cmpint (funcs ()->get_client_role (ef->a.plugin, &primary), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpstr (primary, ==, "alice-laptop");
  /* The name is optional. */
  g_assert_cmpint (funcs ()->get_client_role (ef->a.plugin, NULL), ==, LIA_CLIENT_PRIMARY);

  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  sync_fresh (&desk);
  g_assert_cmpint (funcs ()->get_client_role (desk.plugin, &desk_primary), ==, LIA_CLIENT_SECONDARY);
  g_assert_cmpstr (desk_primary, ==, "alice-laptop");
  /* The refusal a UI would otherwise show names the same client. */
  item =
      lia_test_host_user_create (desk.host, LIA_TEST_STORE, "contacts", lia_crm_record_get_item (c), FALSE);
  g_assert_false (track_contact (&desk, item, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, desk_primary));
  ef_client_stop (&desk);
}

static void
test_role_delegate_and_roaming (Ef *ef, gconstpointer data)
{
  EfClient bob = { 0 };
  EfClient roaming = { 0 };

  g_test_summary (
      "R-ROLE-DELEGATE, R-ROLE-ROAMING: a delegate reads as delegate (it may still mark new items), "
      "a roaming secondary as primary: only a plain secondary makes Track of new items insensitive");
  sync_fresh (&ef->a);
  ef_client_start (ef, &bob, ef->mailbox, ef->bob_token, "bob-on-alice", "bob.db", TRUE);
  sync_fresh (&bob);
  g_assert_cmpint (funcs ()->get_client_role (bob.plugin, NULL), ==, LIA_CLIENT_DELEGATE);
  ef_client_stop (&bob);
  roaming.roaming = TRUE;
  ef_client_start (ef, &roaming, ef->mailbox, ef->alice_token, "alice-tablet", "tablet.db", FALSE);
  sync_fresh (&roaming);
  g_assert_cmpint (funcs ()->get_client_role (roaming.plugin, NULL), ==, LIA_CLIENT_PRIMARY);
  ef_client_stop (&roaming);
}

/* ---- org_info ---- */

static void
info_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GVariant *
org_info (EfClient *client, GError **error)
{
  GAsyncResult *result = NULL;
  GVariant *info;

  funcs ()->org_info_async (client->plugin, NULL, info_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  info = funcs ()->org_info_finish (client->plugin, result, error);
  g_object_unref (result);
  return info;
}

static LiaOrgCaller *
root_caller (Ef *ef)
{
  g_autofree char *token = NULL;
  g_autoptr (GError) error = NULL;
  LiaOrgCaller *root;

  g_assert_true (lia_org_service_add_user (ef->org, "root", "root@example.org", TRUE, &token, &error));
  root = lia_org_service_authenticate (ef->org, token, &error);
  g_assert_no_error (error);
  return root;
}

/* The direction and access of one field in the "fields" list; FALSE when
 * it is not listed. */
static gboolean
field_of (GVariant *info, const char *entity, const char *field, guint32 *out_direction, gboolean *out_read,
          gboolean *out_update)
{
  g_autoptr (GVariant) fields = g_variant_lookup_value (info, "fields", G_VARIANT_TYPE ("a(ssssubb)"));
  GVariantIter iter;
  const char *e, *name, *label, *crm;
  guint32 direction;
  gboolean can_read, can_update;

  g_assert_nonnull (fields);
  g_variant_iter_init (&iter, fields);
  while (g_variant_iter_next (&iter, "(&s&s&s&subb)", &e, &name, &label, &crm, &direction, &can_read,
                              &can_update))
    {
      g_assert_cmpuint (strlen (label), >, 0);
      g_assert_cmpuint (direction, <, LIA_DIRECTION_N);
      if (g_str_equal (e, entity) && g_str_equal (name, field))
        {
          *out_direction = direction;
          *out_read = can_read;
          *out_update = can_update;
          return TRUE;
        }
    }
  return FALSE;
}

static void
test_tagging_override (Ef *ef, gconstpointer data)
{
  LiaOrgCaller *root = root_caller (ef);
  g_autoptr (GVariant) before = NULL;
  g_autoptr (GVariant) off = NULL;
  g_autoptr (GVariant) none = NULL;
  g_autoptr (GError) error = NULL;
  const char *value = NULL;

  g_test_summary (
      "R-SET-TAGGING: the org may override the user's email tagging; org_info tells the UI, which "
      "then shows the switch fixed with an explanation; \"none\" leaves it to the user");
  before = org_info (&ef->a, &error);
  g_assert_no_error (error);
  g_assert_false (g_variant_lookup (before, "tagging-override", "&s", &value));
  g_assert_true (lia_org_service_set_setting (ef->org, root, "tagging-override", "off", &error));
  g_assert_no_error (error);
  off = org_info (&ef->a, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (off, "tagging-override", "&s", &value));
  g_assert_cmpstr (value, ==, "off");
  g_assert_true (lia_org_service_set_setting (ef->org, root, "tagging-override", "none", &error));
  none = org_info (&ef->a, &error);
  g_assert_no_error (error);
  g_assert_false (g_variant_lookup (none, "tagging-override", "&s", &value));
  lia_org_caller_free (root);
}

static void
test_filters_and_fields (Ef *ef, gconstpointer data)
{
  LiaOrgCaller *root = root_caller (ef);
  g_autoptr (LiaCrmFilter) sys = NULL;
  g_autoptr (LiaCrmFilter) mine = NULL;
  g_autoptr (GVariant) info = NULL;
  g_autoptr (GVariant) filters = NULL;
  g_autoptr (GError) error = NULL;
  const char *xml = "<filter entity=\"contact\"><condition attribute=\"statecode\" operator=\"eq\" "
                    "value=\"open\"/></filter>";
  GVariantIter iter;
  const char *entity, *name, *fxml;
  gboolean system, enabled, saw_sys = FALSE, saw_mine = FALSE;
  guint32 direction = 0;
  gboolean can_read = FALSE, can_update = FALSE;

  g_test_summary ("R-MERGE-DIRECTION, R-MERGE-FLS: org_info lists the org's and the user's sync filters and "
                  "every mapped field with the direction the org set and the user's field security, as data");
  sys = lia_org_service_add_filter (ef->org, root, LIA_ENTITY_CONTACT, "Org contacts", xml, TRUE, &error);
  g_assert_no_error (error);
  mine = lia_crm_add_filter_sync (ef->direct, LIA_ENTITY_CONTACT, "Alice contacts", xml, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_set_setting (ef->org, root, "direction.contact.nickname", "x", &error));
  g_assert_true (lia_org_service_set_field_security (ef->org, "user", LIA_ENTITY_CONTACT, "job-title", TRUE,
                                                     FALSE, &error));
  g_assert_no_error (error);

  info = org_info (&ef->a, &error);
  g_assert_no_error (error);
  filters = g_variant_lookup_value (info, "filters", G_VARIANT_TYPE ("a(sssbb)"));
  g_assert_nonnull (filters);
  g_variant_iter_init (&iter, filters);
  while (g_variant_iter_next (&iter, "(&s&s&sbb)", &entity, &name, &fxml, &system, &enabled))
    {
      if (g_str_equal (name, "Org contacts"))
        saw_sys = system && enabled && g_str_equal (entity, "contact") && strstr (fxml, "statecode") != NULL;
      if (g_str_equal (name, "Alice contacts"))
        saw_mine = !system && g_str_equal (entity, "contact");
    }
  g_assert_true (saw_sys);
  g_assert_true (saw_mine);

  g_assert_true (field_of (info, "contact", "given-name", &direction, &can_read, &can_update));
  g_assert_cmpuint (direction, ==, LIA_DIRECTION_BOTH);
  g_assert_true (can_read && can_update);
  g_assert_true (field_of (info, "contact", "nickname", &direction, &can_read, &can_update));
  g_assert_cmpuint (direction, ==, LIA_DIRECTION_NONE);
  g_assert_true (field_of (info, "contact", "job-title", &direction, &can_read, &can_update));
  g_assert_true (can_read);
  g_assert_false (can_update);
  g_assert_true (field_of (info, "task", "subject", &direction, &can_read, &can_update)
                 || field_of (info, "task", "title", &direction, &can_read, &can_update));
  /* Email is tracked, not field-synchronized: not in the page's list. */
  g_assert_false (field_of (info, "email", "subject", &direction, &can_read, &can_update));
  lia_org_caller_free (root);
}

static void
test_org_info_unreachable (Ef *ef, gconstpointer data)
{
  g_autoptr (GVariant) info = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("org_info with the org unreachable fails with a GError and changes nothing");
  switch_crm_set_down (ef->a.crm, TRUE);
  info = org_info (&ef->a, &error);
  g_assert_null (info);
  g_assert_nonnull (error);
  switch_crm_set_down (ef->a.crm, FALSE);
}

/* ---- threads ---- */

typedef struct
{
  LiaPlugin *plugin; /* not dereferenced after unload: the plugin checks */
  gint stop;
  guint answers;
  guint unavailable;
} Hammer;

static gpointer
hammer_thread (gpointer data)
{
  Hammer *h = data;

  while (!g_atomic_int_get (&h->stop))
    {
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (GError) e3 = NULL;
      g_autoptr (GError) e4 = NULL;
      g_autofree char *value = funcs ()->dup_setting (h->plugin, LIA_SETTING_SYNC_INTERVAL, &e1);
      g_autoptr (LiaCacheMapping) m = funcs ()->lookup_item (h->plugin, LIA_TEST_STORE, "contact:none", &e2);
      g_autoptr (GPtrArray) changes = funcs ()->list_changes (h->plugin, &e3);
      g_autofree char *result = funcs ()->dup_track_result (h->plugin, LIA_TEST_STORE, "mail:none", &e4);
      LiaClientRole role = funcs ()->get_client_role (h->plugin, NULL);

      g_assert_null (m);
      if (g_error_matches (e1, LIA_ERROR, LIA_ERROR_UNAVAILABLE) || role == LIA_CLIENT_N)
        g_atomic_int_inc (&h->unavailable);
      else
        g_atomic_int_inc (&h->answers);
      /* Before the cache opened or after unload: UNAVAILABLE, nothing else. */
      g_assert_true (e2 == NULL || g_error_matches (e2, LIA_ERROR, LIA_ERROR_UNAVAILABLE));
      g_assert_true (e3 == NULL || g_error_matches (e3, LIA_ERROR, LIA_ERROR_UNAVAILABLE));
      g_assert_true (changes != NULL || e3 != NULL);
      g_assert_true (result != NULL || e4 != NULL);
      /* Unset (the default) or the value the setter thread writes. */
      g_assert_true (e1 != NULL || value == NULL || g_str_equal (value, "30"));
    }
  return NULL;
}

typedef struct
{
  LiaPlugin *plugin;
  gboolean ok;
  GError *error;
} SetCall;

static gpointer
set_thread (gpointer data)
{
  SetCall *call = data;

  call->ok = funcs ()->set_setting (call->plugin, LIA_SETTING_SYNC_INTERVAL, "30", &call->error);
  return NULL;
}

static void
test_threads (Ef *ef, gconstpointer data)
{
  Hammer h = { ef->a.plugin };
  SetCall set = { ef->a.plugin };
  GThread *threads[4];
  GThread *setter;
  guint answers_before_unload;

  g_test_summary ("lia-plugin.h Threads: the cache-reading entry points run from worker threads concurrently "
                  "with each other and the engine; set_setting from a worker applies R-SET-INTERVAL to the "
                  "scheduler on the main context; calls racing unload answer UNAVAILABLE and never touch a "
                  "freed instance");
  sync_fresh (&ef->a);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("hammer", hammer_thread, &h);
  /* A cycle runs meanwhile. */
  ef_sync (&ef->a);
  setter = g_thread_new ("setter", set_thread, &set);
  g_thread_join (setter);
  g_assert_no_error (set.error);
  g_assert_true (set.ok);
  /* The scheduler's timer is the main context's: the change lands there,
   * not on the calling thread. */
  g_assert_cmpuint (lia_scheduler_get_interval_s (lia_plugin_get_scheduler (ef->a.plugin)), ==, 15 * 60);
  for (guint i = 0;
       i < 50 && lia_scheduler_get_interval_s (lia_plugin_get_scheduler (ef->a.plugin)) != 30 * 60; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (lia_scheduler_get_interval_s (lia_plugin_get_scheduler (ef->a.plugin)), ==, 30 * 60);
  while ((guint) g_atomic_int_get (&h.answers) < 200)
    g_usleep (1000);
  answers_before_unload = g_atomic_int_get (&h.answers);
  g_assert_cmpuint (answers_before_unload, >=, 200);
  /* Unload while the threads go on calling. */
  ef_client_stop (&ef->a);
  {
    guint unavailable = g_atomic_int_get (&h.unavailable);

    while ((guint) g_atomic_int_get (&h.unavailable) < unavailable + 100)
      g_usleep (1000);
  }
  g_atomic_int_set (&h.stop, 1);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpuint (h.unavailable, >=, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/plugin-info/R-ROLE-SECONDARY-NO-NEW/role-names-primary", test_role_names_primary);
  ADD ("/plugin-info/R-ROLE-DELEGATE/role-delegate-roaming", test_role_delegate_and_roaming);
  ADD ("/plugin-info/R-SET-TAGGING/org-override", test_tagging_override);
  ADD ("/plugin-info/R-MERGE-DIRECTION/filters-and-fields", test_filters_and_fields);
  ADD ("/plugin-info/org-unreachable", test_org_info_unreachable);
  ADD ("/plugin-info/threads/concurrent-and-unload", test_threads);
#undef ADD
  return g_test_run ();
}
