/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lia-test-camel.h"

#include <glib/gstdio.h>
#include <string.h>

#include "lia-test-eds.h"

void
lia_test_got_res (GObject *source, GAsyncResult *res, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (res);
}

void
lia_test_wait_res (GAsyncResult **res)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*res == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*res);
}

void
lia_test_iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

void
lia_test_maildir_make (const char *maildir, const char *folder)
{
  const char *subdirs[] = { "cur", "new", "tmp" };
  g_autofree char *dot = folder != NULL ? g_strconcat (".", folder, NULL) : NULL;

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d =
          g_build_filename (maildir, dot != NULL ? dot : subdirs[i], dot != NULL ? subdirs[i] : NULL, NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
}

void
lia_test_maildir_write (const char *maildir, const char *name, const char *text, gssize len)
{
  g_autofree char *path = g_build_filename (maildir, "cur", name, NULL);
  g_autofree char *with_flags = g_strconcat (path, ":2,S", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (with_flags, text, len, &error);
  g_assert_no_error (error);
}

void
lia_test_camel_init (LiaTestCamel *tc, const char *tmp_template, const char *store_uid, const char *me)
{
  g_autoptr (GError) error = NULL;

  tc->store_uid = store_uid;
  tc->me = me;
  tc->tmp = g_dir_make_tmp (tmp_template, &error);
  g_assert_no_error (error);
  tc->maildir = g_build_filename (tc->tmp, "Maildir", NULL);
  lia_test_maildir_make (tc->maildir, NULL);
}

gboolean
lia_test_camel_open (LiaTestCamel *tc, const char *sent_name, const char *drafts_name, GError **error)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autofree char *data = g_build_filename (tc->tmp, "camel-data", NULL);
  g_autofree char *cache = g_build_filename (tc->tmp, "camel-cache", NULL);
  LiaEvoMail *mail;

  tc->session = lia_evo_mail_session_new (data, cache);
  tc->store = lia_evo_mail_add_maildir_sync (tc->session, tc->store_uid, tc->maildir, error);
  if (tc->store == NULL)
    return FALSE;
  mail = lia_evo_mail_new (tc->store, tc->me);
  if (sent_name != NULL)
    {
      g_autofree char *sent_uri = g_strdup_printf ("folder://%s/%s", tc->store_uid, sent_name);
      g_autofree char *sent = lia_evo_mail_folder_name_from_uri (mail, sent_uri);

      lia_evo_mail_set_configured_folders (mail, sent, drafts_name);
    }
  lia_evo_mail_resolve_folders_async (mail, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  {
    g_autoptr (GError) local = NULL;

    g_assert_true (lia_evo_mail_resolve_folders_finish (mail, res, &local));
    g_assert_no_error (local);
  }
  tc->host = lia_evo_host_new_for_mail (mail);
  tc->mail = lia_evo_host_get_mail (tc->host);
  return TRUE;
}

gboolean
lia_test_camel_open_or_skip (LiaTestCamel *tc, const char *sent_name, const char *drafts_name)
{
  g_autoptr (GError) error = NULL;

  if (lia_test_camel_open (tc, sent_name, drafts_name, &error))
    {
      g_assert_no_error (error);
      return TRUE;
    }
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_test_skip ("no Camel maildir provider (package evolution-data-server)");
  return FALSE;
}

void
lia_test_camel_close (LiaTestCamel *tc)
{
  lia_test_camel_engine_stop (tc);
  g_clear_pointer (&tc->host, lia_evo_host_free);
  tc->mail = NULL;
  if (tc->store != NULL)
    camel_session_remove_service (tc->session, CAMEL_SERVICE (tc->store));
  g_clear_object (&tc->store);
  g_clear_object (&tc->session);
}

void
lia_test_camel_clear (LiaTestCamel *tc)
{
  lia_test_camel_close (tc);
  g_clear_object (&tc->crm);
  g_clear_pointer (&tc->org, lia_org_service_unref);
  g_clear_pointer (&tc->clock, lia_clock_unref);
  g_clear_pointer (&tc->token, g_free);
  g_clear_pointer (&tc->cache_path, g_free);
  if (tc->tmp != NULL)
    lia_test_remove_tree (tc->tmp);
  g_clear_pointer (&tc->tmp, g_free);
  g_clear_pointer (&tc->maildir, g_free);
}

CamelFolder *
lia_test_camel_folder (LiaTestCamel *tc, const char *full_name)
{
  g_autoptr (GError) error = NULL;
  CamelFolder *f =
      camel_store_get_folder_sync (tc->store, full_name, CAMEL_STORE_FOLDER_CREATE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (f);
  return f;
}

char *
lia_test_camel_append (LiaTestCamel *tc, const char *full_name, const char *text)
{
  g_autoptr (CamelFolder) f = lia_test_camel_folder (tc, full_name);
  g_autoptr (CamelMimeMessage) msg = camel_mime_message_new ();
  g_autoptr (CamelStream) stream = camel_stream_mem_new_with_buffer (text, strlen (text));
  g_autoptr (GError) error = NULL;
  char *uid = NULL;

  g_assert_true (
      camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, &error));
  g_assert_true (camel_folder_append_message_sync (f, msg, NULL, &uid, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (uid);
  g_assert_true (camel_folder_synchronize_sync (f, FALSE, NULL, &error));
  return uid;
}

static void
on_engine_note (const LiaHostNotification *n, gpointer user_data)
{
  LiaTestCamel *tc = user_data;

  if (tc->on_note != NULL)
    tc->on_note (n, tc->on_note_data);
  if (tc->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (tc->plugin, n);
}

void
lia_test_camel_engine_start (LiaTestCamel *tc, gboolean watch)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;

  if (tc->org == NULL)
    {
      g_autofree char *org_path = g_build_filename (tc->tmp, "org.db", NULL);

      tc->clock = lia_clock_new_system ();
      tc->org = lia_org_service_open (org_path, tc->clock, &error);
      g_assert_no_error (error);
      g_assert_true (lia_org_service_add_user (tc->org, tc->user != NULL ? tc->user : "me", tc->me, FALSE,
                                               &tc->token, &error));
      tc->crm = lia_crm_embedded_new_for_service (tc->org, tc->token);
      tc->cache_path = g_build_filename (tc->tmp, "cache.db", NULL);
    }
  config.cache_path = tc->cache_path;
  config.crm = tc->crm;
  config.org_name = tc->org_name != NULL ? tc->org_name : "test-org";
  config.client_name = tc->client_name != NULL ? tc->client_name : "me-evolution";
  config.clock = tc->clock;
  config.manual_sync = tc->manual_sync;
  if (watch)
    {
      g_autoptr (GAsyncResult) res = NULL;

      lia_evo_host_watch_async (tc->host, on_engine_note, tc, NULL, lia_test_got_res, &res);
      lia_test_wait_res (&res);
      g_assert_true (lia_evo_host_watch_finish (tc->host, res, &error));
      g_assert_no_error (error);
    }
  tc->plugin = lia_plugin_internal_funcs ()->load (&config, lia_evo_host_get_vtable (), tc->host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tc->plugin);
}

void
lia_test_camel_engine_stop (LiaTestCamel *tc)
{
  if (tc->host != NULL)
    lia_evo_host_unwatch (tc->host);
  if (tc->plugin != NULL)
    {
      g_clear_pointer (&tc->plugin, lia_plugin_internal_funcs ()->unload);
      lia_test_iterate_for (100);
    }
}

void
lia_test_camel_engine_sync (LiaTestCamel *tc)
{
  LiaEngine *engine = lia_plugin_get_engine (tc->plugin);

  /* A command's change reaches the queue through the cache's writer
   * thread and may miss the cycle started here: cycle again (a few times
   * at most) until nothing that never failed is left queued. */
  for (guint round = 0; round < 5; round++)
    {
      g_autoptr (GAsyncResult) res = NULL;
      g_autoptr (GError) error = NULL;
      guint64 pending = 0;

      lia_engine_sync_async (engine, NULL, lia_test_got_res, &res);
      lia_test_wait_res (&res);
      g_assert_true (lia_engine_sync_finish (engine, res, &error));
      g_assert_no_error (error);
      lia_test_iterate_for (200);
      g_assert_true (lia_cache_count_changes (lia_engine_get_cache (engine), LIA_CACHE_CHANGES_PENDING,
                                              &pending, &error));
      if (pending == 0)
        break;
    }
}

void
lia_test_camel_command (LiaTestCamel *tc, LiaCommand *cmd, guint settle_ms)
{
  g_autoptr (GError) error = NULL;

  cmd->store = LIA_EVO_STORE;
  cmd->entity = LIA_ENTITY_EMAIL;
  g_assert_true (lia_plugin_internal_funcs ()->command (tc->plugin, cmd, &error));
  g_assert_no_error (error);
  lia_test_iterate_for (settle_ms);
}

LiaHostItem *
lia_test_camel_host_read_ok (LiaTestCamel *tc, const char *item_id)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  LiaHostItem *hi;

  lia_evo_host_get_vtable ()->read_item (tc->host, LIA_EVO_STORE, item_id, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  hi = lia_evo_host_get_vtable ()->read_item_finish (tc->host, res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (hi);
  return hi;
}

char *
lia_test_camel_crm_account (LiaTestCamel *tc, const char *name)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (item, "name", name, NULL));
  rec = lia_crm_record_new_for_item (item);
  made = lia_crm_create_sync (tc->crm, rec, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}
