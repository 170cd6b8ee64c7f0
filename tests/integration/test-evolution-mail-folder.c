/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "lia-cache-private.h"
#include "lia-crm-embedded.h"
#include "lia-engine-mail.h"
#include "lia-evo-host.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"
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
  char *tmp;
  char *maildir;
  CamelSession *session;
  CamelStore *store;
  LiaEvoHost *host;
  LiaEvoMail *mail; /* borrowed from host */
  GPtrArray *notes; /* "event item-id folder" */
  LiaClock *clock;
  LiaOrgService *org;
  char *token;
  LiaCrm *crm;
  LiaPlugin *plugin;
  char *cache_path;
} Fx;

static void
got_res (GObject *source, GAsyncResult *res, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (res);
}

static void
wait_res (GAsyncResult **res)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*res == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*res);
}

static void
iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

static CamelFolder *
camel_folder (Fx *fx, const char *full_name)
{
  g_autoptr (GError) error = NULL;
  CamelFolder *f =
      camel_store_get_folder_sync (fx->store, full_name, CAMEL_STORE_FOLDER_CREATE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (f);
  return f;
}

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

static char *
append (Fx *fx, const char *full_name, const char *text)
{
  g_autoptr (CamelFolder) f = camel_folder (fx, full_name);
  g_autoptr (CamelMimeMessage) msg = camel_mime_message_new ();
  g_autoptr (CamelStream) stream = camel_stream_mem_new_with_buffer (text, strlen (text));
  g_autoptr (GError) error = NULL;
  char *uid = NULL;

  g_assert_true (
      camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, &error));
  g_assert_true (camel_folder_append_message_sync (f, msg, NULL, &uid, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (camel_folder_synchronize_sync (f, FALSE, NULL, &error));
  return uid;
}

static gboolean
fx_open (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autofree char *data = g_build_filename (fx->tmp, "camel-data", NULL);
  g_autofree char *cache = g_build_filename (fx->tmp, "camel-cache", NULL);
  g_autofree char *sent_uri = g_strdup_printf ("folder://%s/%s", STORE_UID, SENT);
  g_autofree char *sent = NULL;
  LiaEvoMail *mail;

  fx->session = lia_evo_mail_session_new (data, cache);
  fx->store = lia_evo_mail_add_maildir_sync (fx->session, STORE_UID, fx->maildir, &error);
  if (fx->store == NULL)
    {
      g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
      g_test_skip ("no Camel maildir provider (package evolution-data-server)");
      return FALSE;
    }
  mail = lia_evo_mail_new (fx->store, ME);
  sent = lia_evo_mail_folder_name_from_uri (mail, sent_uri);
  lia_evo_mail_set_configured_folders (mail, sent, DRAFTS);
  lia_evo_mail_resolve_folders_async (mail, NULL, got_res, &res);
  wait_res (&res);
  g_assert_true (lia_evo_mail_resolve_folders_finish (mail, res, &error));
  g_assert_no_error (error);
  fx->host = lia_evo_host_new_for_mail (mail);
  fx->mail = lia_evo_host_get_mail (fx->host);
  return TRUE;
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_ptr_array_add (fx->notes,
                   g_strdup_printf ("%s %s %s", lia_host_event_to_string (n->event), n->item_id, n->folder));
  if (fx->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (fx->plugin, n);
}

static void
engine_start (Fx *fx)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  if (fx->org == NULL)
    {
      g_autofree char *org_path = g_build_filename (fx->tmp, "org.db", NULL);

      fx->clock = lia_clock_new_system ();
      fx->org = lia_org_service_open (org_path, fx->clock, &error);
      g_assert_no_error (error);
      g_assert_true (lia_org_service_add_user (fx->org, "me", ME, FALSE, &fx->token, &error));
      fx->crm = lia_crm_embedded_new_for_service (fx->org, fx->token);
      fx->cache_path = g_build_filename (fx->tmp, "cache.db", NULL);
    }
  config.cache_path = fx->cache_path;
  config.crm = fx->crm;
  config.org_name = "test-org";
  config.client_name = "me-evolution";
  config.clock = fx->clock;
  lia_evo_host_watch_async (fx->host, on_note, fx, NULL, got_res, &res);
  wait_res (&res);
  g_assert_true (lia_evo_host_watch_finish (fx->host, res, &error));
  g_assert_no_error (error);
  fx->plugin = lia_plugin_internal_funcs ()->load (&config, lia_evo_host_get_vtable (), fx->host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->plugin);
}

static void
engine_stop (Fx *fx)
{
  if (fx->host != NULL)
    lia_evo_host_unwatch (fx->host);
  if (fx->plugin != NULL)
    {
      g_clear_pointer (&fx->plugin, lia_plugin_internal_funcs ()->unload);
      iterate_for (100);
    }
}

static void
engine_sync (Fx *fx)
{
  LiaEngine *engine = lia_plugin_get_engine (fx->plugin);

  for (guint round = 0; round < 5; round++)
    {
      g_autoptr (GAsyncResult) res = NULL;
      g_autoptr (GError) error = NULL;
      guint64 pending = 0;

      lia_engine_sync_async (engine, NULL, got_res, &res);
      wait_res (&res);
      g_assert_true (lia_engine_sync_finish (engine, res, &error));
      g_assert_no_error (error);
      iterate_for (200);
      g_assert_true (lia_cache_count_changes (lia_engine_get_cache (engine), LIA_CACHE_CHANGES_PENDING,
                                              &pending, &error));
      if (pending == 0)
        break;
    }
}

static void
fx_close (Fx *fx)
{
  engine_stop (fx);
  g_clear_pointer (&fx->host, lia_evo_host_free);
  fx->mail = NULL;
  if (fx->store != NULL)
    camel_session_remove_service (fx->session, CAMEL_SERVICE (fx->store));
  g_clear_object (&fx->store);
  g_clear_object (&fx->session);
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *subdirs[] = { "cur", "new", "tmp" };

  fx->tmp = g_dir_make_tmp ("liaison-folder-XXXXXX", &error);
  g_assert_no_error (error);
  fx->maildir = g_build_filename (fx->tmp, "Maildir", NULL);
  fx->notes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (fx->maildir, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
  /* In the folder, a file that is not mail at all: Camel lists it, its
   * read fails. */
  {
    static const char garbage[] = "\x01\x02\xff\xfe\x00garbage\x00\x80\r\n\r\nmore\x00";
    const char *archive_dirs[] = { ".Archive/cur", ".Archive/new", ".Archive/tmp" };
    g_autofree char *path =
        g_build_filename (fx->maildir, ".Archive", "cur", "1700000900.bad.test:2,S", NULL);

    for (guint i = 0; i < G_N_ELEMENTS (archive_dirs); i++)
      {
        g_autofree char *d = g_build_filename (fx->maildir, archive_dirs[i], NULL);

        g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
      }
    g_file_set_contents (path, garbage, sizeof garbage - 1, &error);
    g_assert_no_error (error);
  }
  /* In the Inbox, as a delivery left it: moved into the folder later. */
  {
    g_autofree char *text = message ("<moved@example.com>", "Moved in later");
    g_autofree char *path = g_build_filename (fx->maildir, "cur", "1700001200.moved.test:2,S", NULL);

    g_file_set_contents (path, text, -1, &error);
    g_assert_no_error (error);
  }
  if (!fx_open (fx))
    return;
  {
    g_autoptr (CamelFolder) s = camel_folder (fx, SENT);
    g_autoptr (CamelFolder) d = camel_folder (fx, DRAFTS);
    g_autoptr (CamelFolder) a = camel_folder (fx, ARCHIVE);

    g_assert_true (s != NULL && d != NULL && a != NULL);
  }
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  fx_close (fx);
  g_clear_object (&fx->crm);
  g_clear_pointer (&fx->org, lia_org_service_unref);
  g_clear_pointer (&fx->clock, lia_clock_unref);
  g_clear_pointer (&fx->token, g_free);
  g_clear_pointer (&fx->cache_path, g_free);
  lia_test_remove_tree (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->maildir);
  g_ptr_array_unref (fx->notes);
}

static char *
crm_account (Fx *fx, const char *name)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (item, "name", name, NULL));
  rec = lia_crm_record_new_for_item (item);
  made = lia_crm_create_sync (fx->crm, rec, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

/* The link state of every message of @full_name, by Camel's summary. */
static guint
count_linked (Fx *fx, const char *full_name, guint *out_total)
{
  g_autoptr (CamelFolder) f = camel_folder (fx, full_name);
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
  gint64 n = lia_cache_count_known (lia_engine_get_cache (lia_plugin_get_engine (fx->plugin)), key, &error);

  g_assert_no_error (error);
  return n;
}

/* One cache query's integer answer. */
static gint64
cache_int (Fx *fx, const char *sql)
{
  LiaCache *cache = lia_engine_get_cache (lia_plugin_get_engine (fx->plugin));
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
      engine_sync (fx);
      if (cache_int (fx, "SELECT count(*) FROM watermark WHERE key LIKE 'mail-arrival:%'") == 0)
        return;
      iterate_for (200);
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
  g_autofree char *dir = g_build_filename (fx->maildir, "." ARCHIVE, NULL);
  g_autofree char *moved = NULL;
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
  if (fx->mail == NULL)
    return;
  for (guint i = 0; i < N_OLD; i++)
    {
      g_autofree char *id = g_strdup_printf ("<private%u@example.net>", i);
      g_autofree char *subject = g_strdup_printf ("Private %u", i);
      g_autofree char *text = message (id, subject);
      g_autofree char *uid = append (fx, ARCHIVE, text);
    }
  engine_start (fx);
  engine_sync (fx);
  lia_evo_mail_watch_folder (fx->mail, fx->store, ARCHIVE);
  iterate_for (500);
  account = crm_account (fx, "Contoso");
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   account, "Contoso", &error));
  g_assert_no_error (error);
  engine_sync (fx);
  g_assert_cmpint (known (fx, archive), ==, N_OLD);

  /* The same messages, new uids: Camel's next look at the folder removes
   * every old uid and adds every new one. */
  from = fx->notes->len;
  g_assert_cmpuint (rename_messages (dir), ==, N_FILES);
  {
    g_autoptr (CamelFolder) f = camel_folder (fx, ARCHIVE);

    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    g_assert_no_error (error);
  }
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (count_created (fx, from, archive) < N_FILES && g_get_monotonic_time () < until)
      iterate_for (50);
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
    g_autoptr (CamelFolder) inbox = camel_folder (fx, "Inbox");
    g_autoptr (CamelFolder) dest = camel_folder (fx, ARCHIVE);
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
        iterate_for (50);
      }
    g_assert_nonnull (filed_id);
  }
  sync_until_no_notes (fx);
  engine_sync (fx);
  g_assert_cmpuint (count_linked (fx, ARCHIVE, &total), ==, 1);
  g_assert_cmpuint (total, ==, N_FILES + 1);
  g_assert_cmpint (folder_tracks (fx), ==, 1);
  g_assert_cmpint (emails_linked (fx), ==, 1);
  {
    g_autoptr (GAsyncResult) res = NULL;
    g_autoptr (LiaHostItem) hi = NULL;

    lia_evo_host_get_vtable ()->read_item (fx->host, LIA_EVO_STORE, filed_id, NULL, got_res, &res);
    wait_res (&res);
    hi = lia_evo_host_get_vtable ()->read_item_finish (fx->host, res, &error);
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
        g_build_filename (camel_service_get_user_data_dir (CAMEL_SERVICE (fx->store)), "folders.db", NULL);
    sqlite3 *db = NULL;
    char *message = NULL;

    fx_close (fx);
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
  engine_start (fx);
  lia_evo_mail_watch_folder (fx->mail, fx->store, ARCHIVE);
  iterate_for (500);
  {
    g_autoptr (CamelFolder) f = camel_folder (fx, ARCHIVE);

    g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
    g_assert_no_error (error);
  }
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (count_created (fx, from, archive) < N_FILES + 1 && g_get_monotonic_time () < until)
      iterate_for (50);
  }
  /* Camel announced every message again, under the same uids. */
  g_test_message ("rebuilt summary: %u created in %s", count_created (fx, from, archive), archive);
  g_assert_cmpuint (count_created (fx, from, archive), ==, N_FILES + 1);
  sync_until_no_notes (fx);
  engine_sync (fx);
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
