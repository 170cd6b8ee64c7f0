/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "evolution-mail-fixture.h"
#include "lia-engine-mail.h"
#include "lia-test-eds.h"

/* The Evolution mail adapter's host vtable and its notifications against
 * real Camel on a real maildir (evolution-mail-fixture.h): what a folder's
 * change announces, moves keeping the item id, the mail folder cache
 * hook. */

/* ---- Through the host vtable ---- */

static gboolean
rows_have (GPtrArray *rows, const char *item_id)
{
  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (((LiaHostRow *) g_ptr_array_index (rows, i))->item_id, item_id))
      return TRUE;
  return FALSE;
}

static void
test_host_vtable (Fx *fx, gconstpointer data)
{
  g_autofree char *s_uid = NULL;
  g_autofree char *o_uid = NULL;
  g_autofree char *d_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *o_id = NULL;
  g_autofree char *d_id = NULL;
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autoptr (GPtrArray) inbox = NULL;
  g_autoptr (GPtrArray) sent = NULL;
  g_autoptr (GAsyncResult) cres = NULL;
  g_autoptr (GAsyncResult) dres = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) anything = lia_item_new (LIA_ENTITY_EMAIL);
  g_auto (LiaHostProps) props = { 0 };

  g_test_summary ("The host adapter serves mail through LiaHostVTable on the primary store: contents of the "
                  "Inbox and Sent, messages read with direction by folder and address, drafts flagged, "
                  "properties written; creating or deleting a message is refused (R-MAIL-TRACK, "
                  "R-DEL-IN-EMAIL); a contact id on a mail-only host is not found");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  o_uid = lia_test_camel_append (&fx->c, SENT, sent_other);
  d_uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  s_id = id_in (SENT, s_uid);
  o_id = id_in (SENT, o_uid);
  d_id = id_in (DRAFTS, d_uid);

  inbox = host_contents (fx, fx->inbox);
  g_assert_cmpuint (inbox->len, ==, G_N_ELEMENTS (newest_first));
  g_assert_true (rows_have (inbox, m1_id));
  sent = host_contents (fx, fx->sent);
  g_assert_cmpuint (sent->len, ==, 2);
  g_assert_true (rows_have (sent, s_id));
  {
    g_autoptr (LiaHostItem) hs = host_read (fx, s_id, &error);
    g_autoptr (LiaHostItem) ho = host_read (fx, o_id, &error);
    g_autoptr (LiaHostItem) hd = host_read (fx, d_id, &error);
    g_autoptr (LiaHostItem) hm = host_read (fx, m1_id, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (hs->store, ==, LIA_EVO_STORE);
    g_assert_cmpstr (hs->folder, ==, fx->sent);
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hs->item, "direction")), ==, "outgoing");
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (ho->item, "direction")), ==, "outgoing");
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hm->item, "direction")), ==, "incoming");
    g_assert_false (hs->is_draft);
    g_assert_true (hd->is_draft);
    g_assert_cmpstr (hd->folder, ==, fx->drafts);
  }
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  host_write (fx, s_id, &props);
  {
    g_autoptr (LiaHostItem) hs = host_read (fx, s_id, &error);

    g_assert_cmpint (hs->props.link_state, ==, LIA_LINK_STATE_MARKED);
  }

  vt ()->create_item (fx->c.host, LIA_EVO_STORE, fx->inbox, anything, NULL, NULL, lia_test_got_res, &cres);
  lia_test_wait_res (&cres);
  g_assert_null (vt ()->create_item_finish (fx->c.host, cres, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  vt ()->delete_item (fx->c.host, LIA_EVO_STORE, m1_id, NULL, lia_test_got_res, &dres);
  lia_test_wait_res (&dres);
  g_assert_false (vt ()->delete_item_finish (fx->c.host, dres, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  {
    g_autoptr (LiaHostItem) still = host_read (fx, m1_id, &error);

    g_assert_no_error (error);
    g_assert_nonnull (still);
  }
  {
    LiaHostItem *none = host_read (fx, "contact:abc", &error);

    g_assert_null (none);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  }
}

/* ---- Notifications ---- */

/* Delivery by an MDA: a file in new/, then the folder refresh that
 * Evolution runs periodically. */
static void
deliver (Fx *fx, const char *name, const char *text)
{
  g_autofree char *tmp = g_build_filename (fx->c.maildir, "tmp", name, NULL);
  g_autofree char *path = g_build_filename (fx->c.maildir, "new", name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");

  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
  g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
  g_assert_no_error (error);
}

static void
test_notifications (Fx *fx, gconstpointer data)
{
  static const char arrived[] = "From: Zed <zed@example.com>\r\n"
                                "To: " ME "\r\n"
                                "Subject: just arrived\r\n"
                                "Date: Tue, 14 Nov 2023 23:30:00 +0000\r\n"
                                "Message-ID: <new1@example.com>\r\n"
                                "\r\n"
                                "Hello.\r\n";
  g_autofree char *m3_id = id_of (newest_first[2]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autofree char *new_id = NULL;
  GPtrArray *uids;

  g_test_summary (
      "R-DET-NOTIFY on Camel: a message arriving in the Inbox is a created notification; a change "
      "of a message's Liaison properties by another writer is a modified one, a flag change (read) "
      "is none; the adapter's own property writes are not echoed; a removed message is a deleted "
      "one carrying the last link state seen");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  /* Camel reports its first load of the Inbox summary as added messages:
   * not new mail. */
  lia_test_iterate_for (1000);
  g_assert_cmpuint (fx->notes->len, ==, 0);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  deliver (fx, "1700002000.new1.test", arrived);
  uids = camel_folder_search_by_expression (inbox, "(match-all (header-contains \"Message-ID\" \"new1@\"))",
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 1);
  new_id = id_of (g_ptr_array_index (uids, 0));
  camel_folder_search_free (inbox, uids);
  g_assert_true (notes_have (fx, "created", new_id, fx->inbox, 10000));

  /* Ours: not echoed, even though Camel reports the change. */
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  host_write (fx, m3_id, &props);
  lia_test_iterate_for (1500);
  for (guint i = 0; i < fx->notes->len; i++)
    g_test_message ("note: %s", (const char *) g_ptr_array_index (fx->notes, i));
  g_assert_cmpuint (notes_about (fx, m3_id), ==, 0);

  /* The user reads it: flags are not an item change. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[2]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED,
                                  CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED);
  }
  lia_test_iterate_for (1000);
  g_assert_cmpuint (notes_about (fx, m3_id), ==, 0);

  /* Another writer (a second Evolution on the same IMAP account, the
   * user's filter) changes our properties. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[2]);

    camel_message_info_set_user_tag (info, "liaison-regarding-id", "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  }
  g_assert_true (notes_have (fx, "modified", m3_id, fx->inbox, 10000));

  /* Removed (deleted and expunged): the last link state travels. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[3]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_DELETED, CAMEL_MESSAGE_DELETED);
    g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_true (notes_have (fx, "deleted", m2_id, fx->inbox, 10000));
  lia_evo_host_unwatch (fx->c.host);
}

static void
test_watch_folder_hook (Fx *fx, gconstpointer data)
{
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autofree char *uid = NULL;
  g_autofree char *id = NULL;
  g_autofree char *data_dir = g_build_filename (fx->c.tmp, "other-data", NULL);
  g_autofree char *cache_dir = g_build_filename (fx->c.tmp, "other-cache", NULL);
  g_autofree char *other_dir = g_build_filename (fx->c.tmp, "OtherMaildir", NULL);
  g_autoptr (CamelSession) other_session = NULL;
  g_autoptr (CamelStore) other = NULL;
  g_autoptr (GError) error = NULL;
  gint64 until;

  g_test_summary ("The MailFolderCache hook: a folder of the primary store handed to "
                  "lia_evo_mail_watch_folder() is watched from then on (a message filed there is a created "
                  "notification); a folder of another account's store is ignored; without the hook a folder "
                  "outside Inbox/Sent/Drafts is not watched");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  /* Not watched yet. */
  uid = lia_test_camel_append (&fx->c, "Archive", m5);
  id = id_in ("Archive", uid);
  lia_test_iterate_for (500);
  g_assert_cmpuint (notes_about (fx, id), ==, 0);

  other_session = lia_evo_mail_session_new (data_dir, cache_dir);
  g_assert_cmpint (g_mkdir_with_parents (other_dir, 0700), ==, 0);
  other = lia_evo_mail_add_maildir_sync (other_session, "other-account", other_dir, &error);
  g_assert_no_error (error);
  lia_evo_mail_watch_folder (fx->c.mail, other, "Archive");
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, "Archive");
  /* Opened in a worker: wait until it is connected (a filed message
   * proves it). */
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      g_autofree char *u = lia_test_camel_append (&fx->c, "Archive", m3);
      g_autofree char *i = id_in ("Archive", u);

      if (notes_have (fx, "created", i, archive, 300))
        break;
    }
  g_assert_cmpuint (g_get_monotonic_time (), <, until);
  /* The other account's Archive: nothing reported. */
  {
    g_autoptr (CamelFolder) f =
        camel_store_get_folder_sync (other, "Archive", CAMEL_STORE_FOLDER_CREATE, NULL, &error);
    g_autoptr (CamelMimeMessage) msg = camel_mime_message_new ();
    g_autoptr (CamelStream) stream = camel_stream_mem_new_with_buffer (m5, strlen (m5));

    g_assert_no_error (error);
    g_assert_true (
        camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, &error));
    g_assert_true (camel_folder_append_message_sync (f, msg, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    lia_test_iterate_for (500);
    g_assert_cmpuint (notes_about (fx, "mail:other-account"), ==, 0);
  }
  camel_session_remove_service (other_session, CAMEL_SERVICE (other));
  lia_evo_host_unwatch (fx->c.host);
}

static void
test_moved (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (CamelFolder) dest = NULL;
  g_autoptr (GPtrArray) uids = g_ptr_array_new ();
  g_autoptr (GPtrArray) moved_uids = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_auto (LiaHostProps) regarding = { 0 };

  g_test_summary ("A tracked message the user files into another folder keeps its item id: a moved "
                  "notification names the new folder, reads and writes of the id reach it there, and the new "
                  "folder's contents list it under that id (the link survives, R-MARK-PROFILE)");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  host_write (fx, m1_id, &props);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  dest = lia_test_camel_folder (&fx->c, "Archive");
  g_ptr_array_add (uids, (gpointer) newest_first[4]);
  g_assert_true (camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, &moved_uids, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_true (camel_folder_synchronize_sync (dest, FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (notes_have (fx, "moved", m1_id, archive, 10000));
  lia_test_iterate_for (500);
  for (guint i = 0; i < fx->notes->len; i++)
    g_assert_false (g_str_has_prefix (g_ptr_array_index (fx->notes, i), "deleted"));

  hi = host_read (fx, m1_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hi->folder, ==, archive);
  g_assert_cmpstr (hi->props.crm_id, ==, "0f8fad5b-d9cb-469f-a165-70867728950e");
  g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<m1@example.com>");
  rows = host_contents (fx, archive);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, m1_id);
  lia_host_props_set (&regarding, LIA_HOST_PROP_REGARDING, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  regarding.regarding_name = g_strdup ("Contoso");
  host_write (fx, m1_id, &regarding);
  {
    g_autoptr (LiaHostItem) again = host_read (fx, m1_id, &error);

    g_assert_cmpstr (again->props.regarding_name, ==, "Contoso");
    g_assert_cmpstr (again->folder, ==, archive);
  }
  lia_evo_host_unwatch (fx->c.host);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution-mail/host/vtable", test_host_vtable);
  ADD ("/evolution-mail/notify/R-DET-NOTIFY-echo", test_notifications);
  ADD ("/evolution-mail/notify/moved-keeps-id", test_moved);
  ADD ("/evolution-mail/notify/mail-folder-cache-hook", test_watch_folder_hook);
#undef ADD
  return g_test_run ();
}
