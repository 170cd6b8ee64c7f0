/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "evolution-mail-fixture.h"
#include "lia-engine-mail.h"
#include "lia-test-eds.h"

/* The engine end to end over the Evolution mail adapter on real Camel
 * (a real maildir, evolution-mail-fixture.h), the plugin and the embedded
 * org: tracking, the startup scan, tracked folders, regarding, deletes in
 * both directions, drafts, a second client and hostile mail. */

/* ---- The engine end to end ---- */

static void
command (Fx *fx, LiaCommandKind kind, const char *folder, const char *item_id, LiaLinkState state,
         const char *regarding_id, const char *regarding_name, gboolean delete_in_crm)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };

  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.link_state = state;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = regarding_name;
  cmd.delete_in_crm = delete_in_crm;
  lia_test_camel_command (&fx->c, &cmd, 300);
}

static LiaCrmRecord *
crm_get (Fx *fx, LiaEntity entity, const char *id, GError **error)
{
  return lia_crm_retrieve_sync (fx->c.crm, entity, id, NULL, error);
}

static LiaCrmRecord *
crm_email (Fx *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaCrmRecord *rec = crm_get (fx, LIA_ENTITY_EMAIL, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  return rec;
}

static void
assert_crm_party (const LiaItem *item, const char *field, gsize index, const char *address)
{
  LiaValue *v = lia_item_get (item, field);

  g_assert_nonnull (v);
  g_assert_cmpuint (index, <, lia_value_get_n_parties (v));
  g_assert_cmpstr (lia_value_get_party (v, index)->address, ==, address);
}

/* Tracks @item_id through the plugin and returns (transfer full) its CRM id. */
static char *
track (Fx *fx, const char *folder, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = NULL;

  command (fx, LIA_COMMAND_TRACK, folder, item_id, LIA_LINK_STATE_NONE, NULL, NULL, FALSE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, item_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.crm_org, ==, "test-org");
  return g_strdup (hi->props.crm_id);
}

static void
test_engine_track (Fx *fx, gconstpointer data)
{
  g_autofree char *m3_id = id_of (newest_first[2]);
  g_autofree char *s_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *in_crm = NULL;
  g_autofree char *out_crm = NULL;
  g_autoptr (LiaCrmRecord) in = NULL;
  g_autoptr (LiaCrmRecord) out = NULL;
  const LiaItem *it;

  g_test_summary ("R-MAIL-TRACK through the plugin and the embedded org: tracking a received and a sent "
                  "message creates CRM email activities with direction, sender, to/cc, subject, plain-text "
                  "body, date, Message-ID, In-Reply-To and References, and links the messages (user tag + "
                  "the liaison-tracked flag)");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  in_crm = track (fx, fx->inbox, m3_id);
  out_crm = track (fx, fx->sent, s_id);

  in = crm_email (fx, in_crm);
  it = lia_crm_record_get_item (in);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (it, "direction")), ==, "incoming");
  assert_crm_party (it, "from", 0, "alice@example.com");
  assert_crm_party (it, "to", 0, ME);
  g_assert_cmpstr (lia_item_get_text (it, "subject"), ==, "Re: Caf\xc3\xa9");
  g_assert_cmpstr (lia_item_get_text (it, "body"), ==, "Plain version");
  g_assert_cmpstr (lia_item_get_text (it, "message-id"), ==, "<m3@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "in-reply-to"), ==, "<m1@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "references"), ==, "<m0@example.com> <m1@example.com>");
  g_assert_cmpint (lia_value_get_instant (lia_item_get (it, "date")), ==,
                   G_GINT64_CONSTANT (1700000400) * G_USEC_PER_SEC);

  out = crm_email (fx, out_crm);
  it = lia_crm_record_get_item (out);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (it, "direction")), ==, "outgoing");
  assert_crm_party (it, "from", 0, ME);
  assert_crm_party (it, "to", 0, "alice@example.com");
  assert_crm_party (it, "cc", 0, "bea@example.com");
  g_assert_cmpstr (lia_item_get_text (it, "body"), ==, "Thanks, Alice.\n");
  g_assert_cmpstr (lia_item_get_text (it, "in-reply-to"), ==, "<m3@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "references"), ==, "<m1@example.com> <m3@example.com>");

  /* The flag is what an IMAP server keeps. */
  {
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, newest_first[2]);

    g_assert_true (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
  }
  /* Tracked twice is still one activity (R-DUP-NONE). */
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, m3_id);

    g_assert_cmpstr (hi->props.crm_id, ==, in_crm);
  }
}

static void
test_engine_scan_startup (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_auto (LiaHostProps) marked = { 0 };
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) other = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-DET-SCAN-STARTUP on mail: a message marked for tracking while no engine ran (a "
                  "delegate, or Evolution without the plugin) is found by the startup scan of the Inbox by "
                  "its last-modified and tracked, without any notification; a message nobody marked is left "
                  "alone");
  if (fx->c.mail == NULL)
    return;
  /* A first run leaves its watermarks, then stops. */
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_close (&fx->c);
  /* No engine, no watch: the mark is a property write on the message. */
  g_assert_true (fx_open (fx));
  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  write_ok (fx, m1_id, &marked);
  lia_test_camel_close (&fx->c);
  /* A new process: the startup scan finds it. */
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, m1_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  rec = crm_email (fx, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m1@example.com>");
  other = lia_test_camel_host_read_ok (&fx->c, m2_id);
  g_assert_cmpint (other->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (other->props.crm_id);
}

static void
test_engine_scan_startup_folders (Fx *fx, gconstpointer data)
{
  g_autofree char *s_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *a_uid = NULL;
  g_autofree char *a_id = NULL;
  g_autofree char *n_uid = NULL;
  g_autofree char *n_id = NULL;
  g_autofree char *archive = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaHostProps) marked = { 0 };
  g_autoptr (LiaHostItem) sent = NULL;
  g_autoptr (LiaHostItem) filed = NULL;
  g_autoptr (LiaHostItem) other = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-DET-SCAN-STARTUP beyond the Inbox: a message marked while no engine ran in Sent (the "
                  "folder the host names for the scan) and one in a folder the user tracks (R-MAIL-FOLDER) "
                  "are found by the startup scan and tracked; an unmarked neighbour in Sent is left "
                  "alone");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  a_uid = lia_test_camel_append (&fx->c, "Archive", m3);
  a_id = id_in ("Archive", a_uid);
  n_uid = lia_test_camel_append (&fx->c, SENT, m5);
  n_id = id_in (SENT, n_uid);
  archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  /* A first run tracks the Archive folder, leaves its watermarks, stops. */
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->c.plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   NULL, NULL, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_close (&fx->c);
  /* No engine, no watch: the marks are property writes on the messages. */
  g_assert_true (fx_open (fx));
  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  write_ok (fx, s_id, &marked);
  write_ok (fx, a_id, &marked);
  lia_test_camel_close (&fx->c);
  /* A new process: the startup scan finds both. */
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  sent = lia_test_camel_host_read_ok (&fx->c, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (sent->props.crm_id);
  rec = crm_email (fx, sent->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<s1@example.org>");
  filed = lia_test_camel_host_read_ok (&fx->c, a_id);
  g_assert_cmpint (filed->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (filed->props.crm_id);
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = crm_email (fx, filed->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m3@example.com>");
  other = lia_test_camel_host_read_ok (&fx->c, n_id);
  g_assert_cmpint (other->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (other->props.crm_id);
}

static void
test_engine_folder_older_moved (Fx *fx, gconstpointer data)
{
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autofree char *filed_id = NULL;
  g_autofree char *account = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *why = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (CamelFolder) dest = NULL;
  g_autoptr (GPtrArray) uids = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaValue *regarding;
  guint n_notes;

  g_test_summary ("R-MAIL-FOLDER with real Camel: a message dated 2023, older than the mark of the folder "
                  "the user tracks, moved into that maildir folder afterwards (Camel keeps its date) is "
                  "tracked: a CRM email with the folder's regarding, and the reason names the rule");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  /* What Evolution's MailFolderCache hook does for every folder; a message
   * filed there before the folder is tracked proves the watch is
   * connected. */
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, "Archive");
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    gboolean seen = FALSE;

    while (!seen && g_get_monotonic_time () < until)
      {
        g_autofree char *u = lia_test_camel_append (&fx->c, "Archive", m5);
        g_autofree char *i = id_in ("Archive", u);

        seen = notes_have (fx, "created", i, archive, 300);
      }
    g_assert_true (seen);
  }
  account = lia_test_camel_crm_account (&fx->c, "Contoso");
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->c.plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   account, "Contoso", &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  dest = lia_test_camel_folder (&fx->c, "Archive");
  g_ptr_array_add (uids, (gpointer) newest_first[3]);
  n_notes = fx->notes->len;
  g_assert_true (camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_true (camel_folder_synchronize_sync (dest, FALSE, NULL, &error));
  g_assert_no_error (error);
  /* An untracked message moved is a new one to the watch: created in the
   * folder under its new place's id (a maildir transfer does not return
   * the new uid). */
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (filed_id == NULL && g_get_monotonic_time () < until)
      {
        for (guint i = n_notes; i < fx->notes->len && filed_id == NULL; i++)
          {
            g_auto (GStrv) words = g_strsplit (g_ptr_array_index (fx->notes, i), " ", 3);

            if (g_strv_length (words) == 3 && g_str_equal (words[0], "created")
                && g_str_equal (words[2], archive))
              filed_id = g_strdup (words[1]);
          }
        lia_test_iterate_for (50);
      }
    g_assert_nonnull (filed_id);
  }
  /* The notification starts a cycle by itself; a few more at most. */
  for (guint round = 0; round < 10; round++)
    {
      g_clear_pointer (&hi, lia_host_item_free);
      lia_test_iterate_for (300);
      hi = lia_test_camel_host_read_ok (&fx->c, filed_id);
      if (hi->props.link_state == LIA_LINK_STATE_TRACKED)
        break;
      lia_test_camel_engine_sync (&fx->c);
    }
  g_assert_cmpstr (hi->folder, ==, archive);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  rec = crm_email (fx, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m2@example.net>");
  regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (regarding);
  g_assert_cmpstr (lia_value_get_reference_id (regarding), ==, account);
  g_assert_true (lia_engine_mail_dup_reason (lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin)),
                                             LIA_EVO_STORE, filed_id, &kind, NULL, NULL, &why, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kind, ==, "folder-track");
  g_assert_true (g_str_has_prefix (why, "R-MAIL-FOLDER: arrived in tracked folder"));
}

static void
test_engine_regarding (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_autofree char *account = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) h2 = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCrmRecord) rec2 = NULL;
  LiaValue *reg;

  g_test_summary ("R-MARK-REGARDING on a message: Set Regarding on a tracked message links its CRM email to "
                  "the account and shows the account's name on the message; on an untracked one it tracks "
                  "it first; a later sync leaves the regarding as it is (only field synchronized)");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Contoso Caf\xc3\xa9");
  crm_id = track (fx, fx->inbox, m1_id);
  command (fx, LIA_COMMAND_SET_REGARDING, fx->inbox, m1_id, LIA_LINK_STATE_TRACKED, account, "Contoso",
           FALSE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, m1_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  g_assert_cmpstr (hi->props.regarding_name, ==, "Contoso Caf\xc3\xa9");
  reg = lia_item_get (hi->item, "regarding");
  g_assert_nonnull (reg);
  g_assert_cmpint (lia_value_get_reference_entity (reg), ==, LIA_ENTITY_ACCOUNT);
  g_assert_cmpstr (lia_value_get_reference_id (reg), ==, account);
  rec = crm_email (fx, crm_id);
  reg = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (reg);
  g_assert_cmpstr (lia_value_get_reference_id (reg), ==, account);

  /* Untracked: Set Regarding tracks it with the regarding. */
  command (fx, LIA_COMMAND_SET_REGARDING, fx->inbox, m2_id, LIA_LINK_STATE_NONE, account, "Contoso", FALSE);
  lia_test_camel_engine_sync (&fx->c);
  h2 = lia_test_camel_host_read_ok (&fx->c, m2_id);
  g_assert_cmpint (h2->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (h2->props.regarding_id, ==, account);
  rec2 = crm_email (fx, h2->props.crm_id);
  g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec2), "regarding")),
                   ==, account);
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaCrmRecord) again = crm_email (fx, crm_id);

    g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (again), "regarding")),
                     ==, account);
  }
}

static void
assert_unlinked (Fx *fx, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, item_id);
  g_autofree char *uid = NULL;
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;

  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (hi->props.crm_id);
  g_assert_true (lia_evo_mail_parse_item_id (item_id, &store, &full, &uid));
  f = lia_test_camel_folder (&fx->c, full);
  info = camel_folder_get_message_info (f, uid);
  g_assert_nonnull (info);
  g_assert_false (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
  g_assert_null (camel_message_info_get_user_tag (info, "liaison-item-id"));
}

static void
test_engine_untrack (Fx *fx, gconstpointer data)
{
  g_autofree char *keep_id = id_of (newest_first[4]);
  g_autofree char *drop_id = id_of (newest_first[2]);
  g_autofree char *keep_crm = NULL;
  g_autofree char *drop_crm = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (LiaCrmRecord) gone = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-OUT-EMAIL: untracking a message keeps its CRM email unless the user says to delete "
                  "it; either way the message is kept and carries nothing of ours afterwards");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  keep_crm = track (fx, fx->inbox, keep_id);
  drop_crm = track (fx, fx->inbox, drop_id);
  command (fx, LIA_COMMAND_UNTRACK, fx->inbox, keep_id, LIA_LINK_STATE_TRACKED, NULL, NULL, FALSE);
  command (fx, LIA_COMMAND_UNTRACK, fx->inbox, drop_id, LIA_LINK_STATE_TRACKED, NULL, NULL, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  assert_unlinked (fx, keep_id);
  assert_unlinked (fx, drop_id);
  kept = crm_email (fx, keep_crm);
  g_assert_nonnull (kept);
  gone = crm_get (fx, LIA_ENTITY_EMAIL, drop_crm, &error);
  g_assert_null (gone);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_engine_host_delete (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[4]);
  g_autofree char *crm_id = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (GError) error = NULL;
  LiaCache *cache;

  g_test_summary ("R-DEL-OUT-EMAIL: deleting a tracked message in the mail client never deletes its CRM "
                  "email; the notification unlinks it in the cache");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, id);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[4]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_DELETED, CAMEL_MESSAGE_DELETED);
  }
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (notes_have (fx, "deleted", id, fx->inbox, 10000));
  lia_test_iterate_for (300);
  lia_test_camel_engine_sync (&fx->c);
  kept = crm_email (fx, crm_id);
  g_assert_nonnull (kept);
  cache = lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin));
  g_assert_null (lia_cache_lookup_item (cache, LIA_EVO_STORE, id, NULL));
}

static void
test_engine_crm_delete (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[2]);
  g_autofree char *crm_id = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-DEL-IN-EMAIL: a CRM delete of a tracked email unlinks the host message at the next sync; "
      "the message stays");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, id);
  g_assert_true (lia_crm_delete_sync (fx->c.crm, LIA_ENTITY_EMAIL, crm_id, 0, NULL, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_engine_sync (&fx->c);
  assert_unlinked (fx, id);
  {
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, id);

    g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<m3@example.com>");
  }
}

static void
test_engine_draft_send (Fx *fx, gconstpointer data)
{
  g_autofree char *d_uid = NULL;
  g_autofree char *s_uid = NULL;
  g_autofree char *d_id = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *account = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) draft = NULL;
  g_autoptr (LiaHostItem) sent = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_SET_REGARDING, LIA_SURFACE_INSPECTOR };
  LiaUiEvent ev = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SEND };

  g_test_summary (
      "R-IMM-DRAFT on Camel: Set Regarding on a draft in the Drafts folder (is_draft) never reaches "
      "CRM; when the composer reports the send, the message filed in Sent is tracked with that "
      "regarding (R-IMM-OUTGOING-ASYNC: the send only queues it)");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Northwind");
  d_uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  d_id = id_in (DRAFTS, d_uid);
  draft = lia_test_camel_host_read_ok (&fx->c, d_id);
  g_assert_true (draft->is_draft);
  cmd.store = LIA_EVO_STORE;
  cmd.folder = fx->drafts;
  cmd.item_id = d_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.is_draft = TRUE;
  cmd.regarding_id = account;
  cmd.regarding_name = "Northwind";
  g_assert_true (lia_plugin_internal_funcs ()->command (fx->c.plugin, &cmd, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaHostItem) still = lia_test_camel_host_read_ok (&fx->c, d_id);

    g_assert_null (still->props.crm_id);
    g_assert_cmpint (still->props.link_state, <, LIA_LINK_STATE_TRACKED);
  }

  /* Sent: Evolution files the message in Sent and removes the draft. */
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  ev.store = LIA_EVO_STORE;
  ev.item_id = s_id;
  ev.draft_id = d_id;
  lia_plugin_internal_funcs ()->ui_event (fx->c.plugin, &ev);
  lia_test_iterate_for (300);
  lia_test_camel_engine_sync (&fx->c);
  sent = lia_test_camel_host_read_ok (&fx->c, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (sent->props.regarding_id, ==, account);
  rec = crm_email (fx, sent->props.crm_id);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (lia_crm_record_get_item (rec), "direction")), ==,
                   "outgoing");
  g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")), ==,
                   account);
}

/* R-ROLE-EMAIL-UNIFORM: a second client of the same user (its own copy of
 * the mailbox, its own cache) is secondary, and email behaves there as on
 * the primary. */
static void
test_engine_secondary (Fx *fx, gconstpointer data)
{
  g_autofree char *maildir2 = g_build_filename (fx->c.tmp, "Maildir2", NULL);
  g_autofree char *data2 = g_build_filename (fx->c.tmp, "camel-data-2", NULL);
  g_autofree char *cache2 = g_build_filename (fx->c.tmp, "camel-cache-2", NULL);
  g_autofree char *cache_path2 = g_build_filename (fx->c.tmp, "cache-2.db", NULL);
  const char *subdirs[] = { "cur", "new", "tmp" };
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelSession) session2 = NULL;
  g_autoptr (CamelStore) store2 = NULL;
  g_autoptr (LiaEvoHost) host2 = NULL;
  g_autofree char *id2 = lia_evo_mail_item_id ("liaison-test-maildir-2", "Inbox", newest_first[4]);
  g_autofree char *inbox2 = NULL;
  g_autofree char *account = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  LiaPlugin *plugin2 = NULL;
  LiaEvoMail *mail2;
  LiaClientRole role = LIA_CLIENT_PRIMARY;
  const LiaCommandKind kinds[] = { LIA_COMMAND_TRACK, LIA_COMMAND_SET_REGARDING, LIA_COMMAND_UNTRACK };

  g_test_summary ("R-ROLE-EMAIL-UNIFORM: on a secondary client of the same user, tracking, Set Regarding and "
                  "untracking (with CRM delete) of a message reach CRM at once, as on the primary");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Fabrikam");

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (maildir2, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
  lia_test_maildir_write (maildir2, newest_first[4], m1, -1);
  session2 = lia_evo_mail_session_new (data2, cache2);
  store2 = lia_evo_mail_add_maildir_sync (session2, "liaison-test-maildir-2", maildir2, &error);
  g_assert_no_error (error);
  mail2 = lia_evo_mail_new (store2, ME);
  g_assert_true (lia_evo_mail_resolve_folders_sync (mail2, NULL, &error));
  g_assert_no_error (error);
  host2 = lia_evo_host_new_for_mail (mail2);
  inbox2 = lia_evo_mail_dup_folder (mail2, LIA_EVO_MAIL_INBOX);
  config.cache_path = cache_path2;
  config.crm = fx->c.crm;
  config.org_name = "test-org";
  config.client_name = "me-laptop";
  config.clock = fx->c.clock;
  plugin2 = lia_plugin_internal_funcs ()->load (&config, vt (), host2, &error);
  g_assert_no_error (error);
  for (guint step = 0; step <= G_N_ELEMENTS (kinds); step++)
    {
      LiaEngine *engine = lia_plugin_get_engine (plugin2);
      g_autoptr (GAsyncResult) sres = NULL;

      if (step > 0)
        {
          LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kinds[step - 1], LIA_SURFACE_EXPLORER };

          cmd.store = LIA_EVO_STORE;
          cmd.folder = inbox2;
          cmd.item_id = id2;
          cmd.entity = LIA_ENTITY_EMAIL;
          cmd.link_state = step == 1 ? LIA_LINK_STATE_NONE : LIA_LINK_STATE_TRACKED;
          cmd.regarding_id = account;
          cmd.regarding_name = "Fabrikam";
          cmd.delete_in_crm = kinds[step - 1] == LIA_COMMAND_UNTRACK;
          g_assert_true (lia_plugin_internal_funcs ()->command (plugin2, &cmd, &error));
          g_assert_no_error (error);
          /* The change is queued by the cache's writer thread. */
          lia_test_iterate_for (300);
        }
      lia_engine_sync_async (engine, NULL, lia_test_got_res, &sres);
      lia_test_wait_res (&sres);
      g_assert_true (lia_engine_sync_finish (engine, sres, &error));
      g_assert_no_error (error);
      lia_test_iterate_for (200);
      lia_engine_get_client (engine, &role, NULL);
      g_assert_cmpint (role, ==, LIA_CLIENT_SECONDARY);
      if (step == 1 || step == 2)
        {
          g_autoptr (LiaHostItem) hi = NULL;
          g_autoptr (LiaCrmRecord) rec = NULL;
          g_autoptr (GAsyncResult) rres = NULL;

          vt ()->read_item (host2, LIA_EVO_STORE, id2, NULL, lia_test_got_res, &rres);
          lia_test_wait_res (&rres);
          hi = vt ()->read_item_finish (host2, rres, &error);
          g_assert_no_error (error);
          g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
          rec = crm_email (fx, hi->props.crm_id);
          g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==,
                           "<m1@example.com>");
          if (step == 2)
            g_assert_cmpstr (
                lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")), ==,
                account);
          g_object_set_data_full (G_OBJECT (store2), "crm-id", g_strdup (hi->props.crm_id), g_free);
        }
    }
  {
    g_autoptr (LiaCrmRecord) gone = lia_crm_retrieve_sync (
        fx->c.crm, LIA_ENTITY_EMAIL, g_object_get_data (G_OBJECT (store2), "crm-id"), NULL, &error);

    g_autoptr (GAsyncResult) rres = NULL;
    g_autoptr (LiaHostItem) hi = NULL;

    g_assert_null (gone);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
    g_clear_error (&error);
    vt ()->read_item (host2, LIA_EVO_STORE, id2, NULL, lia_test_got_res, &rres);
    lia_test_wait_res (&rres);
    hi = vt ()->read_item_finish (host2, rres, &error);
    g_assert_no_error (error);
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (hi->props.crm_id);
  }
  g_clear_pointer (&plugin2, lia_plugin_internal_funcs ()->unload);
  lia_test_iterate_for (100);
  g_clear_pointer (&host2, lia_evo_host_free);
  camel_session_remove_service (session2, CAMEL_SERVICE (store2));
}

/* Hostile mail, each read by Camel from a real maildir file. */
static char *
huge_message (void)
{
  GString *s = g_string_new ("From: Flood <flood@example.com>\r\nTo: " ME "\r\nSubject: big\r\n"
                             "Message-ID: <big@example.com>\r\n"
                             "Content-Type: text/plain; charset=UTF-8\r\n\r\n");

  /* 10 MB: lines of 76 bytes, a two-byte character straddling the cap. */
  while (s->len < 10 * 1024 * 1024)
    g_string_append (s, "\xc3\xa9"
                        "123456789012345678901234567890123456789012345678901234567890123456789012\r\n");
  return g_string_free (s, FALSE);
}

static void
test_engine_hostile (Fx *fx, gconstpointer data)
{
  static const char injected[] = "From: Eve <eve@example.com>\r\n"
                                 "To: " ME "\r\n"
                                 /* An encoded CR LF that would start a Bcc header. */
                                 "Subject: =?UTF-8?Q?Invoice=0D=0ABcc:_all@example.com?=\r\n"
                                 "Message-ID: <inj@example.com>\r\n"
                                 "\r\n"
                                 "pay\r\n";
  static const char bad_utf8[] = "From: =?UTF-8?B?/w==?= <odd@example.com>\r\n"
                                 "To: " ME "\r\n"
                                 "Subject: caf\xe9 \xff\xfe broken\r\n"
                                 "Message-ID: <utf@example.com>\r\n"
                                 "Content-Type: text/plain; charset=UTF-8\r\n"
                                 "\r\n"
                                 "bytes \xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 end\r\n";
  static const char malformed[] = "From: \"unterminated <bad@example.com\r\n"
                                  "To: ,,, <>, @, a@, \"\" <b@example.com>\r\n"
                                  "Date: yesterday-ish\r\n"
                                  "Message-ID: not-an-id\r\n"
                                  "References: <a@b> garbage <c@d\r\n"
                                  "Content-Type: multipart/mixed; boundary=\r\n"
                                  "\r\n"
                                  "--\r\nbody\r\n";
  static const char no_sender[] = "To: " ME "\r\n"
                                  "Subject: who sent this\r\n"
                                  "\r\n"
                                  "nobody\r\n";
  g_autofree char *huge = huge_message ();
  const char *names[] = { "1700003001.inj.test", "1700003002.utf.test", "1700003003.mal.test",
                          "1700003004.huge.test", "1700003005.nosender.test" };
  const char *texts[] = { injected, bad_utf8, malformed, huge, no_sender };
  g_autoptr (GPtrArray) id_list = g_ptr_array_new_with_free_func (g_free);
  const char *ids[G_N_ELEMENTS (names)] = { NULL };
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GError) error = NULL;
  gboolean reported = FALSE;
  LiaCache *cache;

  g_test_summary ("Hostile mail through the engine (issue 8): a subject smuggling a header line, invalid "
                  "UTF-8, malformed headers and a 10 MB body are tracked with clean single-line text and a "
                  "capped body; a message without a sender is rejected with a clear reason in the outbox; "
                  "nothing crashes and the other messages still track");
  if (fx->c.mail == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      lia_test_maildir_write (fx->c.maildir, names[i], texts[i], -1);
      ids[i] = id_of (names[i]);
      g_ptr_array_add (id_list, (gpointer) ids[i]);
    }
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    command (fx, LIA_COMMAND_TRACK, fx->inbox, ids[i], LIA_LINK_STATE_NONE, NULL, NULL, FALSE);
  lia_test_camel_engine_sync (&fx->c);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, ids[i]);
      g_autoptr (LiaCrmRecord) rec = NULL;
      const char *subject;
      const char *body;

      g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
      rec = crm_email (fx, hi->props.crm_id);
      subject = lia_item_get_text (lia_crm_record_get_item (rec), "subject");
      body = lia_item_get_text (lia_crm_record_get_item (rec), "body");
      g_assert_true (subject == NULL
                     || (g_utf8_validate (subject, -1, NULL) && strpbrk (subject, "\r\n") == NULL));
      g_assert_true (body == NULL || g_utf8_validate (body, -1, NULL));
      if (i == 0)
        g_assert_cmpstr (subject, ==, "Invoice Bcc: all@example.com");
      if (i == 3)
        {
          g_assert_cmpuint (strlen (body), <=, LIA_EVO_MAIL_BODY_MAX);
          g_assert_cmpuint (strlen (body), >, LIA_EVO_MAIL_BODY_MAX - 100);
        }
    }
  {
    g_autoptr (GError) why = NULL;
    LiaHostItem *none = host_read (fx, ids[4], &why);
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, names[4]);

    /* Not an email a CRM can hold: read refused with the reason, never
     * linked. */
    g_assert_null (none);
    g_assert_error (why, LIA_ERROR, LIA_ERROR_INVALID);
    g_assert_nonnull (info);
    g_assert_false (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
    g_assert_null (camel_message_info_get_user_tag (info, "liaison-crm-id"));
  }
  cache = lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin));
  /* A slow machine (sanitizers) may queue the last command after the
   * cycle started: give it a few more cycles. */
  for (guint round = 0; round < 5 && !reported; round++)
    {
      g_clear_pointer (&failed, g_ptr_array_unref);
      failed = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_FAILED, 0, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < failed->len; i++)
        {
          const LiaCacheChange *c = g_ptr_array_index (failed, i);

          g_assert_cmpstr (c->item_id, ==, ids[4]);
          g_assert_nonnull (strstr (c->last_error, "no sender"));
          reported = TRUE;
        }
      if (!reported)
        lia_test_camel_engine_sync (&fx->c);
    }
  g_assert_true (reported);
}

static void
test_engine_original_size (Fx *fx, gconstpointer data)
{
  g_autofree char *big_id = id_of (newest_first[1]);
  g_autofree char *crm_id = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autofree guchar *xml = NULL;
  gsize xml_len = 0;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (LiaItem) host_original = NULL;
  g_autoptr (LiaItem) cache_original = NULL;
  g_autoptr (LiaCacheOriginal) orig = NULL;
  const char *tag;

  g_test_summary ("R-MAIL-TRACK, R-MAIL-RECIPIENTS, R-MERGE-ORIGINAL in Camel: a tracked message with "
                  "5,000 recipients carries a small original in its folder summary (its user tag holds "
                  "regarding only, under 1 KB) while the cache keeps the full CRM view");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, big_id);
  g_assert_true (lia_evo_mail_parse_item_id (big_id, &store, &full, &uid));
  f = lia_test_camel_folder (&fx->c, full);
  info = camel_folder_get_message_info (f, uid);
  g_assert_nonnull (info);
  tag = camel_message_info_get_user_tag (info, "liaison-original");
  g_assert_nonnull (tag);
  g_test_message ("liaison-original tag: %" G_GSIZE_FORMAT " bytes", strlen (tag));
  g_assert_cmpuint (strlen (tag), <, 1024);
  xml = g_base64_decode (tag, &xml_len);
  host_original = lia_original_decode ((const char *) xml, xml_len, NULL);
  g_assert_nonnull (host_original);
  g_assert_cmpint (lia_item_get_entity (host_original), ==, LIA_ENTITY_EMAIL);
  g_assert_null (lia_item_get (host_original, "to"));
  g_assert_null (lia_item_get (host_original, "subject"));
  g_assert_null (lia_item_get (host_original, "message-id"));

  orig = lia_cache_load_original (lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin)), LIA_EVO_STORE,
                                  big_id, NULL);
  g_assert_nonnull (orig);
  g_test_message ("cache original: %" G_GSIZE_FORMAT " bytes", strlen (orig->xml));
  cache_original = lia_original_decode (orig->xml, strlen (orig->xml), NULL);
  g_assert_nonnull (cache_original);
  g_assert_cmpstr (lia_item_get_text (cache_original, "message-id"), ==, "<m4@example.org>");
  g_assert_cmpuint (lia_value_get_n_parties (lia_item_get (cache_original, "to")), ==, 5000);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution-mail/engine/R-MAIL-TRACK", test_engine_track);
  ADD ("/evolution-mail/engine/R-MAIL-TRACK-R-MERGE-ORIGINAL-small-host-original", test_engine_original_size);
  ADD ("/evolution-mail/engine/R-DET-SCAN-STARTUP-marked-offline", test_engine_scan_startup);
  ADD ("/evolution-mail/engine/R-DET-SCAN-STARTUP-R-MAIL-FOLDER-marked-offline-sent-and-tracked",
       test_engine_scan_startup_folders);
  ADD ("/evolution-mail/engine/R-MAIL-FOLDER-older-message-moved-in", test_engine_folder_older_moved);
  ADD ("/evolution-mail/engine/R-MARK-REGARDING", test_engine_regarding);
  ADD ("/evolution-mail/engine/R-DEL-OUT-EMAIL-untrack", test_engine_untrack);
  ADD ("/evolution-mail/engine/R-DEL-OUT-EMAIL-host-delete", test_engine_host_delete);
  ADD ("/evolution-mail/engine/R-DEL-IN-EMAIL", test_engine_crm_delete);
  ADD ("/evolution-mail/engine/hostile-mail", test_engine_hostile);
  ADD ("/evolution-mail/engine/R-IMM-DRAFT-send", test_engine_draft_send);
  ADD ("/evolution-mail/engine/R-ROLE-EMAIL-UNIFORM-secondary", test_engine_secondary);
#undef ADD
  return g_test_run ();
}
