/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "lia-crm-embedded.h"
#include "lia-evo-host.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"
#include "lia-test-eds.h"

/* R-IMM-DRAFT on real Camel (a maildir each test writes into a fresh
 * temporary directory), through the Evolution host adapter, the plugin and
 * the embedded org: the regarding chosen for a draft travels on the draft
 * as user tags, read back by lia_evo_mail_info_dup_regarding() (what the
 * composer reads when it is opened from the draft), and the sent message
 * is tracked with it after the plugin restarted. */

#define STORE_UID "liaison-test-maildir"
#define ME "me@example.org"
#define SENT "Sent"
#define DRAFTS "Drafts"

typedef struct
{
  char *tmp;
  char *maildir;
  CamelSession *session;
  CamelStore *store;
  LiaEvoHost *host;
  LiaEvoMail *mail; /* borrowed from host */
  char *drafts;
  LiaClock *clock;
  LiaOrgService *org;
  char *token;
  LiaCrm *crm;
  LiaPlugin *plugin;
  char *cache_path;
} Fx;

static const char draft1[] = "From: " ME "\r\n"
                             "To: dan@example.com\r\n"
                             "Subject: Proposal\r\n"
                             "Message-ID: <d1@example.org>\r\n"
                             "\r\n"
                             "Draft.\r\n";

static const char sent1[] = "From: " ME "\r\n"
                            "To: dan@example.com\r\n"
                            "Subject: Proposal\r\n"
                            "Message-ID: <d1-sent@example.org>\r\n"
                            "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
                            "\r\n"
                            "Sent.\r\n";

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

/* Opens (or reopens) the store with a fresh session, as a new process
 * would. FALSE when this machine has no Camel maildir provider. */
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
  g_free (fx->drafts);
  fx->drafts = lia_evo_mail_dup_folder (fx->mail, LIA_EVO_MAIL_DRAFTS);
  return TRUE;
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  if (fx->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (fx->plugin, n);
}

/* A plugin instance over the host: nothing of an earlier one's memory. */
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

  fx->tmp = g_dir_make_tmp ("liaison-draft-XXXXXX", &error);
  g_assert_no_error (error);
  fx->maildir = g_build_filename (fx->tmp, "Maildir", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (fx->maildir, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
  if (!fx_open (fx))
    return;
  {
    g_autoptr (CamelFolder) s = camel_folder (fx, SENT);
    g_autoptr (CamelFolder) d = camel_folder (fx, DRAFTS);

    g_assert_true (s != NULL && d != NULL);
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
  g_free (fx->drafts);
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

static LiaHostItem *
host_read_ok (Fx *fx, const char *item_id)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  LiaHostItem *hi;

  lia_evo_host_get_vtable ()->read_item (fx->host, LIA_EVO_STORE, item_id, NULL, got_res, &res);
  wait_res (&res);
  hi = lia_evo_host_get_vtable ()->read_item_finish (fx->host, res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (hi);
  return hi;
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

static void
draft_cmd (Fx *fx, LiaCommandKind kind, const char *draft_id, const char *regarding_id, const char *name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_INSPECTOR };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_EVO_STORE;
  cmd.folder = fx->drafts;
  cmd.item_id = draft_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.is_draft = TRUE;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = name;
  g_assert_true (lia_plugin_internal_funcs ()->command (fx->plugin, &cmd, &error));
  g_assert_no_error (error);
  /* The host write is async (a worker, then the folder's save). */
  iterate_for (500);
}

/* What the composer reads from the draft (its summary, no message
 * download), after the store was reopened as by a restarted Evolution. */
typedef struct
{
  LiaLinkState state;
  gboolean has;
  char *id;
  char *name;
  char *foreign;
  gboolean label;
} DraftTags;

static void
draft_tags_clear (DraftTags *t)
{
  g_free (t->id);
  g_free (t->name);
  g_free (t->foreign);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DraftTags, draft_tags_clear)

static void
read_draft_tags (Fx *fx, const char *uid, DraftTags *out)
{
  g_autoptr (CamelFolder) drafts = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;

  engine_stop (fx);
  fx_close (fx);
  g_assert_true (fx_open (fx));
  drafts = camel_folder (fx, DRAFTS);
  info = camel_folder_get_message_info (drafts, uid);
  g_assert_nonnull (info);
  out->state = lia_evo_mail_info_link_state (info);
  out->has = lia_evo_mail_info_dup_regarding (info, &out->id, &out->name, NULL);
  out->foreign = g_strdup (camel_message_info_get_user_tag (info, "label-note"));
  out->label = camel_message_info_get_user_flag (info, "$Label1");
}

static void
test_draft_tags (Fx *fx, gconstpointer data)
{
  g_autofree char *uid = NULL;
  g_autofree char *draft_id = NULL;
  g_autofree char *account = NULL;

  g_test_summary ("R-IMM-DRAFT on Camel: a draft marked to be tracked when sent with a regarding carries "
                  "the regarding as user tags, read back with lia_evo_mail_info_dup_regarding() after the "
                  "store is reopened; Untrack of the draft removes mark and regarding; the draft's other "
                  "user tags and labels are kept; the draft never reaches CRM");
  if (fx->mail == NULL)
    return;
  uid = append (fx, DRAFTS, draft1);
  draft_id = lia_evo_mail_item_id (STORE_UID, DRAFTS, uid);
  {
    g_autoptr (CamelFolder) drafts = camel_folder (fx, DRAFTS);
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (drafts, uid);
    g_autoptr (GError) error = NULL;
    g_autofree char *id = NULL;
    g_autofree char *name = NULL;
    LiaEntity entity = LIA_ENTITY_CONTACT;

    g_assert_nonnull (info);
    /* Nothing of ours yet: no regarding. */
    g_assert_false (lia_evo_mail_info_dup_regarding (info, &id, &name, &entity));
    g_assert_null (id);
    g_assert_null (name);
    g_assert_cmpint (entity, ==, LIA_ENTITY_N);
    camel_message_info_set_user_tag (info, "label-note", "kept: not ours");
    camel_message_info_set_user_flag (info, "$Label1", TRUE);
    g_assert_true (camel_folder_summary_save (camel_folder_get_folder_summary (drafts), &error));
    g_assert_no_error (error);
  }
  engine_start (fx);
  engine_sync (fx);
  account = crm_account (fx, "Northwind");
  draft_cmd (fx, LIA_COMMAND_SET_REGARDING, draft_id, account, "Northwind");
  {
    g_auto (DraftTags) t = { 0 };

    read_draft_tags (fx, uid, &t);
    g_assert_cmpint (t.state, ==, LIA_LINK_STATE_MARKED);
    g_assert_true (t.has);
    g_assert_cmpstr (t.id, ==, account);
    g_assert_cmpstr (t.name, ==, "Northwind");
    g_assert_cmpstr (t.foreign, ==, "kept: not ours");
    g_assert_true (t.label);
  }
  {
    g_autoptr (LiaHostItem) hi = host_read_ok (fx, draft_id);

    g_assert_true (hi->is_draft);
    g_assert_cmpstr (hi->props.regarding_id, ==, account);
    g_assert_cmpstr (hi->props.regarding_name, ==, "Northwind");
    g_assert_null (hi->props.crm_id);
  }
  engine_start (fx);
  draft_cmd (fx, LIA_COMMAND_UNTRACK, draft_id, NULL, NULL);
  {
    g_auto (DraftTags) t = { 0 };

    read_draft_tags (fx, uid, &t);
    g_assert_cmpint (t.state, ==, LIA_LINK_STATE_NONE);
    g_assert_false (t.has);
    g_assert_null (t.id);
    g_assert_cmpstr (t.foreign, ==, "kept: not ours");
    g_assert_true (t.label);
  }
}

static void
test_sent_after_restart (Fx *fx, gconstpointer data)
{
  g_autofree char *d_uid = NULL;
  g_autofree char *s_uid = NULL;
  g_autofree char *d_id = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *account = NULL;
  g_autoptr (LiaHostItem) sent = NULL;
  g_autoptr (LiaHostItem) draft = NULL;
  LiaUiEvent ev = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SEND };

  g_test_summary ("R-IMM-DRAFT, R-IMM-OUTGOING-ASYNC on Camel: a draft marked with a regarding, then "
                  "Evolution restarts (store reopened, a new plugin instance: no memory of the draft); the "
                  "send event makes the plugin read the draft's regarding from its tags in the background "
                  "and track the sent copy with it; the draft never reaches CRM");
  if (fx->mail == NULL)
    return;
  engine_start (fx);
  engine_sync (fx);
  account = crm_account (fx, "Northwind");
  d_uid = append (fx, DRAFTS, draft1);
  d_id = lia_evo_mail_item_id (STORE_UID, DRAFTS, d_uid);
  draft_cmd (fx, LIA_COMMAND_SET_REGARDING, d_id, account, "Northwind");

  engine_stop (fx);
  fx_close (fx);
  g_assert_true (fx_open (fx));
  engine_start (fx);
  engine_sync (fx);
  s_uid = append (fx, SENT, sent1);
  s_id = lia_evo_mail_item_id (STORE_UID, SENT, s_uid);
  ev.store = LIA_EVO_STORE;
  ev.item_id = s_id;
  ev.draft_id = d_id;
  lia_plugin_internal_funcs ()->ui_event (fx->plugin, &ev);
  iterate_for (500);
  engine_sync (fx);
  sent = host_read_ok (fx, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (sent->props.crm_id);
  g_assert_cmpstr (sent->props.regarding_id, ==, account);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (LiaCrmRecord) rec =
        lia_crm_retrieve_sync (fx->crm, LIA_ENTITY_EMAIL, sent->props.crm_id, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")),
                     ==, account);
  }
  draft = host_read_ok (fx, d_id);
  g_assert_null (draft->props.crm_id);
  g_assert_cmpint (draft->props.link_state, ==, LIA_LINK_STATE_MARKED);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution-mail/R-IMM-DRAFT/regarding-tags-round-trip-foreign-kept", test_draft_tags);
  ADD ("/evolution-mail/R-IMM-DRAFT/R-IMM-OUTGOING-ASYNC/sent-after-restart", test_sent_after_restart);
#undef ADD
  return g_test_run ();
}
