/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "lia-test-camel.h"
#include "lia-test-dovecot.h"
#include "lia-test-eds.h"

/* The mail adapter over Camel's IMAPX provider against a real IMAP server:
 * dovecot started by the test on loopback (lia-test-dovecot.c). A message
 * is tracked through the plugin and the embedded org; the liaison-tracked
 * user flag must reach the server as an IMAP keyword, seen by a second,
 * fresh Camel session; the default folders come from the server's
 * SPECIAL-USE flags, not from names. */

#define STORE_UID "liaison-test-imap"
#define USER "me"
#define ME "me@example.org"

static const char incoming[] = "From: Alice Martin <alice@example.com>\r\n"
                               "To: Me <" ME ">\r\n"
                               "Subject: Offer for =?UTF-8?Q?Caf=C3=A9?=\r\n"
                               "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                               "Message-ID: <imap1@example.com>\r\n"
                               "Content-Type: text/plain; charset=UTF-8\r\n"
                               "\r\n"
                               "Here is the offer.\r\n";

typedef struct
{
  LiaTestCamel c; /* tmp, the org and the plugin (lia-test-camel.h) */
  LiaTestDovecot *server;
} Fx;

/* A Camel session of its own (as a separate process would have) with an
 * IMAPX store on the test server. */
static CamelStore *
imap_store (Fx *fx, const char *name, CamelSession **out_session)
{
  g_autofree char *data = g_build_filename (fx->c.tmp, name, "data", NULL);
  g_autofree char *cache = g_build_filename (fx->c.tmp, name, "cache", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelSettings) settings = NULL;
  CamelSession *session = lia_evo_mail_session_new (data, cache);
  CamelService *service =
      camel_session_add_service (session, STORE_UID, "imapx", CAMEL_PROVIDER_STORE, &error);

  g_assert_no_error (error);
  g_assert_true (CAMEL_IS_STORE (service));
  settings = camel_service_ref_settings (service);
  camel_network_settings_set_host (CAMEL_NETWORK_SETTINGS (settings), "127.0.0.1");
  camel_network_settings_set_port (CAMEL_NETWORK_SETTINGS (settings), lia_test_dovecot_get_port (fx->server));
  camel_network_settings_set_user (CAMEL_NETWORK_SETTINGS (settings), USER);
  camel_network_settings_set_security_method (CAMEL_NETWORK_SETTINGS (settings),
                                              CAMEL_NETWORK_SECURITY_METHOD_NONE);
  camel_network_settings_set_auth_mechanism (CAMEL_NETWORK_SETTINGS (settings), "PLAIN");
  camel_service_set_password (service, LIA_TEST_DOVECOT_PASSWORD);
  *out_session = session;
  return CAMEL_STORE (service);
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;

  fx->c.tmp = g_dir_make_tmp ("liaison-imap-XXXXXX", &error);
  g_assert_no_error (error);
  fx->c.me = ME;
  fx->c.client_name = "me-imap";
  dir = g_build_filename (fx->c.tmp, "dovecot", NULL);
  fx->server = lia_test_dovecot_start (dir, &error);
  if (fx->server == NULL)
    {
      g_autofree char *why = g_strdup_printf ("no local IMAP server: %s", error->message);

      /* Installed but failing is a failure; absent is a skip. */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      g_test_skip (why);
    }
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  if (fx->server != NULL)
    g_assert_cmpuint (lia_test_dovecot_stop (fx->server), ==, 0);
  lia_test_camel_clear (&fx->c);
}

static void
test_track_keyword (Fx *fx, gconstpointer data)
{
  CamelSession *session = NULL;
  CamelSession *session2 = NULL;
  g_autoptr (CamelStore) store = NULL;
  g_autoptr (CamelStore) store2 = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *item_id = NULL;
  g_autofree char *inbox = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *drafts = NULL;
  g_autofree char *want_inbox = lia_evo_mail_folder_id (STORE_UID, "INBOX");
  g_autofree char *want_sent = lia_evo_mail_folder_id (STORE_UID, "Sent");
  g_autofree char *want_drafts = lia_evo_mail_folder_id (STORE_UID, "Drafts");
  g_autofree char *crm_id = NULL;
  LiaEvoMail *mail;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };

  g_test_summary ("IMAP path (issue 8) on a real dovecot on loopback: Inbox from the store, Sent and Drafts "
                  "from the account configuration (never by name), a received "
                  "message tracked through the plugin into the embedded org (R-MAIL-TRACK), and the "
                  "liaison-tracked keyword on the server as a second fresh Camel session sees it; dovecot "
                  "stops leaving no process");
  if (fx->server == NULL)
    return;
  store = imap_store (fx, "one", &session);

  /* Delivered: appended over IMAP. */
  {
    g_autoptr (CamelFolder) f = NULL;
    g_autoptr (CamelMimeMessage) msg = camel_mime_message_new ();
    g_autoptr (CamelStream) stream = camel_stream_mem_new_with_buffer (incoming, strlen (incoming));

    camel_offline_store_set_online_sync (CAMEL_OFFLINE_STORE (store), TRUE, NULL, &error);
    g_assert_no_error (error);
    camel_service_connect_sync (CAMEL_SERVICE (store), NULL, &error);
    g_assert_no_error (error);
    f = camel_store_get_inbox_folder_sync (store, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (
        camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, &error));
    g_assert_true (camel_folder_append_message_sync (f, msg, NULL, &uid, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    g_assert_no_error (error);
    if (uid == NULL)
      {
        GPtrArray *uids = camel_folder_get_uids (f);

        g_assert_cmpuint (uids->len, ==, 1);
        uid = g_strdup (g_ptr_array_index (uids, 0));
        camel_folder_free_uids (f, uids);
      }
  }

  mail = lia_evo_mail_new (store, ME);
  lia_evo_mail_resolve_folders_async (mail, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  g_assert_true (lia_evo_mail_resolve_folders_finish (mail, res, &error));
  g_assert_no_error (error);
  /* Camel 3.46's IMAPX drops the types the server advertises (SPECIAL-USE)
   * from CamelFolderInfo on purpose (camel-imapx-store.c: "Do not inherit
   * folder types"): with nothing configured, dovecot's \\Sent folder
   * named "Sent" is not taken for the Sent folder. */
  sent = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_SENT);
  g_assert_null (sent);
  /* Evolution's account editor writes them into the identity. */
  {
    g_autofree char *s_name = lia_evo_mail_folder_name_from_uri (mail, "folder://" STORE_UID "/Sent");
    g_autofree char *d_name = lia_evo_mail_folder_name_from_uri (mail, "folder://" STORE_UID "/Drafts");

    lia_evo_mail_set_configured_folders (mail, s_name, d_name);
    g_assert_true (lia_evo_mail_resolve_folders_sync (mail, NULL, &error));
    g_assert_no_error (error);
  }
  inbox = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_INBOX);
  sent = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_SENT);
  drafts = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_DRAFTS);
  g_assert_cmpstr (inbox, ==, want_inbox);
  g_assert_cmpstr (sent, ==, want_sent);
  g_assert_cmpstr (drafts, ==, want_drafts);
  fx->c.host = lia_evo_host_new_for_mail (mail);
  item_id = lia_evo_mail_item_id (STORE_UID, "INBOX", uid);

  /* The engine over it, with the embedded org (user USER); the host is not
   * watched. */
  lia_test_camel_engine_start (&fx->c, FALSE);
  for (guint round = 0; round < 2; round++)
    {
      LiaEngine *engine = lia_plugin_get_engine (fx->c.plugin);
      g_autoptr (GAsyncResult) sres = NULL;

      if (round == 1)
        {
          cmd.folder = inbox;
          cmd.item_id = item_id;
          lia_test_camel_command (&fx->c, &cmd, 300);
        }
      lia_engine_sync_async (engine, NULL, lia_test_got_res, &sres);
      lia_test_wait_res (&sres);
      g_assert_true (lia_engine_sync_finish (engine, sres, &error));
      g_assert_no_error (error);
    }
  {
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, item_id);
    g_autoptr (LiaCrmRecord) rec = NULL;

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_nonnull (hi->props.crm_id);
    crm_id = g_strdup (hi->props.crm_id);
    rec = lia_crm_retrieve_sync (fx->c.crm, LIA_ENTITY_EMAIL, crm_id, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "subject"), ==,
                     "Offer for Caf\xc3\xa9");
    g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==,
                     "<imap1@example.com>");
  }
  g_clear_pointer (&fx->c.plugin, lia_plugin_internal_funcs ()->unload);
  lia_test_iterate_for (100);
  g_clear_pointer (&fx->c.host, lia_evo_host_free);
  camel_service_disconnect_sync (CAMEL_SERVICE (store), TRUE, NULL, NULL);

  /* Another client of the same account: only what the server keeps. */
  store2 = imap_store (fx, "two", &session2);
  {
    g_autoptr (LiaEvoMail) mail2 = lia_evo_mail_new (store2, ME);
    g_autoptr (CamelFolder) f = NULL;
    g_autoptr (CamelMessageInfo) info = NULL;
    g_autoptr (GPtrArray) rows = NULL;
    const LiaHostRow *row;

    g_assert_true (lia_evo_mail_resolve_folders_sync (mail2, NULL, &error));
    g_assert_no_error (error);
    f = camel_store_get_folder_sync (store2, "INBOX", 0, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    info = camel_folder_get_message_info (f, uid);
    g_assert_nonnull (info);
    g_assert_true (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
    /* Tags are local to a client: the CRM id is not on the server. */
    g_assert_null (camel_message_info_get_user_tag (info, "liaison-crm-id"));
    rows = lia_evo_mail_read_contents_sync (mail2, want_inbox, 0, 10, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, 1);
    row = g_ptr_array_index (rows, 0);
    g_assert_cmpint (row->link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_cmpstr (row->item_id, ==, item_id);
    camel_service_disconnect_sync (CAMEL_SERVICE (store2), TRUE, NULL, NULL);
  }
  camel_session_remove_service (session2, CAMEL_SERVICE (store2));
  camel_session_remove_service (session, CAMEL_SERVICE (store));
  g_clear_object (&store2);
  g_clear_object (&store);
  g_object_unref (session2);
  g_object_unref (session);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/evolution-mail-imap/dovecot/R-MAIL-TRACK-keyword", Fx, NULL, fx_setup, test_track_keyword,
              fx_teardown);
  return g_test_run ();
}
