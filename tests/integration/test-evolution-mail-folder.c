/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "lia-cache-private.h"
#include "lia-engine-mail.h"
#include "lia-test-camel.h"
#include "lia-test-eds.h"

/* R-MAIL-FOLDER on real Camel (a maildir each test writes into a fresh
 * temporary directory), through the Evolution host adapter, the plugin and
 * the embedded org: the mail a folder held when the user tracked it is
 * never tracked by the folder, also when Camel announces all of it again
 * as new; mail moved in afterwards is. */

#define STORE_UID "liaison-test-maildir"
#define ME "me@example.org"
#define SENT "Sent"
#define DRAFTS "Drafts"
#define ARCHIVE "Archive"
#define N_OLD 30
/* With the one that is not mail. */
#define N_FILES (N_OLD + 1)

typedef struct
{
  LiaTestCamel c;   /* the store, host, org and plugin (lia-test-camel.h) */
  GPtrArray *notes; /* "event item-id folder" */
} Fx;

/* A received message dated in 2023, as a mail client files it. */
static char *
message (const char *message_id, const char *subject)
{
  return g_strdup_printf ("From: Friend <friend@example.net>\r\n"
                          "To: " ME "\r\n"
                          "Subject: %s\r\n"
                          "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                          "Message-ID: %s\r\n"
                          "\r\n"
                          "Private.\r\n",
                          subject, message_id);
}

static gboolean
fx_open (Fx *fx)
{
  return lia_test_camel_open_or_skip (&fx->c, SENT, DRAFTS);
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_ptr_array_add (fx->notes,
                   g_strdup_printf ("%s %s %s", lia_host_event_to_string (n->event), n->item_id, n->folder));
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  lia_test_camel_init (&fx->c, "liaison-folder-XXXXXX", STORE_UID, ME);
  fx->notes = g_ptr_array_new_with_free_func (g_free);
  fx->c.on_note = on_note;
  fx->c.on_note_data = fx;
  /* In the folder, a file that is not mail at all: Camel lists it, its
   * read fails. */
  {
    static const char garbage[] = "\x01\x02\xff\xfe\x00garbage\x00\x80\r\n\r\nmore\x00";
    g_autofree char *archive = g_build_filename (fx->c.maildir, "." ARCHIVE, NULL);

    lia_test_maildir_make (fx->c.maildir, ARCHIVE);
    lia_test_maildir_write (archive, "1700000900.bad.test", garbage, sizeof garbage - 1);
  }
  /* In the Inbox, as a delivery left it: moved into the folder later. */
  {
    g_autofree char *text = message ("<moved@example.com>", "Moved in later");

    lia_test_maildir_write (fx->c.maildir, "1700001200.moved.test", text, -1);
  }
  if (!fx_open (fx))
    return;
  {
    g_autoptr (CamelFolder) s = lia_test_camel_folder (&fx->c, SENT);
    g_autoptr (CamelFolder) d = lia_test_camel_folder (&fx->c, DRAFTS);
    g_autoptr (CamelFolder) a = lia_test_camel_folder (&fx->c, ARCHIVE);

    g_assert_true (s != NULL && d != NULL && a != NULL);
  }
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  lia_test_camel_clear (&fx->c);
  g_ptr_array_unref (fx->notes);
}

/* The link state of every message of @full_name, by Camel's summary. */
static guint
count_linked (Fx *fx, const char *full_name, guint *out_total)
{
  g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, full_name);
  GPtrArray *uids = camel_folder_get_uids (f);
  guint linked = 0;

  for (guint i = 0; i < uids->len; i++)
    {
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, uids->pdata[i]);

      if (info != NULL && lia_evo_mail_info_link_state (info) != LIA_LINK_STATE_NONE)
        linked++;
    }
  *out_total = uids->len;
  camel_folder_free_uids (f, uids);
  return linked;
}

static guint
count_created (Fx *fx, guint from, const char *folder)
{
  guint n = 0;
  g_autofree char *suffix = g_strdup_printf (" %s", folder);

  for (guint i = from; i < fx->notes->len; i++)
    if (g_str_has_prefix (fx->notes->pdata[i], "created ") && g_str_has_suffix (fx->notes->pdata[i], suffix))
      n++;
  return n;
}

static gint64
known (Fx *fx, const char *folder)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = g_strdup_printf ("%s/%s", LIA_EVO_STORE, folder);
  gint64 n = lia_cache_count_known (lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin)), key, &error);

  g_assert_no_error (error);
  return n;
}

/* One cache query's integer answer. */
static gint64
cache_int (Fx *fx, const char *sql)
{
  LiaCache *cache = lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin));
  g_autoptr (sqlite3_stmt) stmt = NULL;
  sqlite3 *db = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_open_v2 (lia_cache_get_path (cache), &db, SQLITE_OPEN_READONLY, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite3_close (db);
  return n;
}

/* How many messages the folder phase tracked (its journal lines), and how
 * many emails are linked or queued at all. */
static gint64
folder_tracks (Fx *fx)
{
  return cache_int (fx, "SELECT count(*) FROM journal WHERE kind = 'folder-track'");
}

static gint64
emails_linked (Fx *fx)
{
  g_autofree char *sql = g_strdup_printf ("SELECT (SELECT count(*) FROM id_mapping WHERE entity = %d)"
                                          " + (SELECT count(*) FROM change_queue)",
                                          (int) LIA_ENTITY_EMAIL);

  return cache_int (fx, sql);
}

/* Cycles until no arrival is noted any more. */
static void
sync_until_no_notes (Fx *fx)
{
  for (guint round = 0; round < 20; round++)
    {
      lia_test_camel_engine_sync (&fx->c);
      if (cache_int (fx, "SELECT count(*) FROM watermark WHERE key LIKE 'mail-arrival:%'") == 0)
        return;
      lia_test_iterate_for (200);
    }
  g_assert_not_reached ();
}

/* Renames every message file of the maildir folder @dir (its cur/): the
 * same messages under new Camel uids, as a sync tool renaming its files
 * (mbsync after an IMAP UIDVALIDITY change) leaves them. */
static guint
rename_messages (const char *dir)
{
  g_autofree char *cur = g_build_filename (dir, "cur", NULL);
  g_autoptr (GDir) d = g_dir_open (cur, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  for (guint i = 0; i < names->len; i++)
    {
      const char *old = names->pdata[i];
      const char *colon = strchr (old, ':');
      g_autofree char *base = colon != NULL ? g_strndup (old, (gsize) (colon - old)) : g_strdup (old);
      g_autofree char *renamed = g_strdup_printf ("%s.renamed%s", base, colon != NULL ? colon : "");
      g_autofree char *from = g_build_filename (cur, old, NULL);
      g_autofree char *to = g_build_filename (cur, renamed, NULL);

      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
  return names->len;
}

static void
test_reannounced (Fx *fx, gconstpointer data)
{
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, ARCHIVE);
  g_autofree char *account = NULL;
  g_autofree char *dir = g_build_filename (fx->c.maildir, "." ARCHIVE, NULL);
  g_autofree char *filed_id = NULL;
  g_autoptr (GError) error = NULL;
  guint total = 0;
  guint from;

  g_test_summary ("R-MAIL-FOLDER with real Camel: a maildir folder with 30 messages (and a file that is not "
                  "mail) is tracked; then its "
                  "files are renamed (the same messages under new uids, as a sync tool leaves them after an "
                  "IMAP UIDVALIDITY change) and Camel's summary is rebuilt, so Camel announces every message "
                  "again as added: none is tracked; a 2023-dated message with a new Message-ID moved in "
                  "afterwards is tracked with the folder's regarding");
  if (fx->c.mail == NULL)
    return;
  for (guint i = 0; i < N_OLD; i++)
    {
      g_autofree char *id = g_strdup_printf ("<private%u@example.net>", i);
      g_autofree char *subject = g_strdup_printf ("Private %u", i);
      g_autofree char *text = message (id, subject);
      g_autofree char *uid = lia_test_camel_append (&fx->c, ARCHIVE, text);

      g_assert_nonnull (uid);
    }
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, ARCHIVE);
  lia_test_iterate_for (500);
  account = lia_test_camel_crm_account (&fx->c, "Contoso");
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->c.plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   account, "Contoso", &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  g_assert_cmpint (known (fx, archive), ==, N_OLD);

  /* The same messages, new uids: Camel's next look at the folder removes
   * every old uid and adds every new one. */
  from = fx->notes->len;
  g_assert_cmpuint (rename_messages (dir), ==, N_FILES);
  {
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, ARCHIVE);

    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    g_assert_no_error (error);
  }
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (count_created (fx, from, archive) < N_FILES && g_get_monotonic_time () < until)
      lia_test_iterate_for (50);
  }
  g_test_message ("renamed: %u created in %s", count_created (fx, from, archive), archive);
  g_assert_cmpuint (count_created (fx, from, archive), ==, N_FILES);
  sync_until_no_notes (fx);
  g_assert_cmpuint (count_linked (fx, ARCHIVE, &total), ==, 0);
  g_assert_cmpuint (total, ==, N_FILES);
  g_assert_cmpint (folder_tracks (fx), ==, 0);
  g_assert_cmpint (emails_linked (fx), ==, 0);

  /* A moved-in message, older than the mark: tracked. */
  {
    g_autoptr (CamelFolder) inbox = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelFolder) dest = lia_test_camel_folder (&fx->c, ARCHIVE);
    GPtrArray *uids = camel_folder_get_uids (inbox);

    from = fx->notes->len;
    g_assert_cmpuint (uids->len, ==, 1);
    g_assert_true (camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, NULL, NULL, &error));
    g_assert_no_error (error);
    camel_folder_free_uids (inbox, uids);
    g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
    g_assert_true (camel_folder_synchronize_sync (dest, FALSE, NULL, &error));
    g_assert_no_error (error);
  }
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (filed_id == NULL && g_get_monotonic_time () < until)
      {
        for (guint i = from; i < fx->notes->len && filed_id == NULL; i++)
          {
            g_auto (GStrv) words = g_strsplit (fx->notes->pdata[i], " ", 3);

            if (g_strv_length (words) == 3 && g_str_equal (words[0], "created")
                && g_str_equal (words[2], archive))
              filed_id = g_strdup (words[1]);
          }
        lia_test_iterate_for (50);
      }
    g_assert_nonnull (filed_id);
  }
  sync_until_no_notes (fx);
  lia_test_camel_engine_sync (&fx->c);
  g_assert_cmpuint (count_linked (fx, ARCHIVE, &total), ==, 1);
  g_assert_cmpuint (total, ==, N_FILES + 1);
  g_assert_cmpint (folder_tracks (fx), ==, 1);
  g_assert_cmpint (emails_linked (fx), ==, 1);
  {
    g_autoptr (GAsyncResult) res = NULL;
    g_autoptr (LiaHostItem) hi = NULL;

    lia_evo_host_get_vtable ()->read_item (fx->c.host, LIA_EVO_STORE, filed_id, NULL, lia_test_got_res, &res);
    lia_test_wait_res (&res);
    hi = lia_evo_host_get_vtable ()->read_item_finish (fx->c.host, res, &error);
    g_assert_no_error (error);
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_cmpstr (hi->props.regarding_id, ==, account);
    g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<moved@example.com>");
  }

  /* Camel's summary lost (its database rows deleted while the store is
   * closed) and rebuilt from the files at the next open: nothing more is
   * tracked. */
  {
    g_autofree char *db_path =
        g_build_filename (camel_service_get_user_data_dir (CAMEL_SERVICE (fx->c.store)), "folders.db", NULL);
    sqlite3 *db = NULL;
    char *message = NULL;

    lia_test_camel_close (&fx->c);
    g_assert_true (g_file_test (db_path, G_FILE_TEST_EXISTS));
    g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
    g_assert_cmpint (
        sqlite3_exec (db, "DELETE FROM '" ARCHIVE "'; DELETE FROM folders WHERE folder_name = '" ARCHIVE "'",
                      NULL, NULL, &message),
        ==, SQLITE_OK);
    sqlite3_free (message);
    sqlite3_close (db);
  }
  g_assert_true (fx_open (fx));
  from = fx->notes->len;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, ARCHIVE);
  lia_test_iterate_for (500);
  {
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, ARCHIVE);

    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    g_assert_no_error (error);
  }
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (count_created (fx, from, archive) < N_FILES + 1 && g_get_monotonic_time () < until)
      lia_test_iterate_for (50);
  }
  /* Camel announced every message again, under the same uids. */
  g_test_message ("rebuilt summary: %u created in %s", count_created (fx, from, archive), archive);
  g_assert_cmpuint (count_created (fx, from, archive), ==, N_FILES + 1);
  sync_until_no_notes (fx);
  lia_test_camel_engine_sync (&fx->c);
  /* The rebuilt summary lost the moved message's Liaison tags; the cache
   * still links it, and no message is tracked again. */
  g_assert_cmpuint (count_linked (fx, ARCHIVE, &total), <=, 1);
  g_assert_cmpuint (total, ==, N_FILES + 1);
  g_assert_cmpint (folder_tracks (fx), ==, 1);
  g_assert_cmpint (emails_linked (fx), ==, 1);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/evolution-mail-folder/R-MAIL-FOLDER/reannounced-not-tracked", Fx, NULL, fx_setup,
              test_reannounced, fx_teardown);
  return g_test_run ();
}
