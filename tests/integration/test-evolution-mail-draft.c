/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "lia-test-camel.h"
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
  LiaTestCamel c; /* the store, host, org and plugin (lia-test-camel.h) */
  char *drafts;
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

/* Opens (or reopens) the store with a fresh session, as a new process
 * would. FALSE when this machine has no Camel maildir provider. */
static gboolean
fx_open (Fx *fx)
{
  if (!lia_test_camel_open_or_skip (&fx->c, SENT, DRAFTS))
    return FALSE;
  g_free (fx->drafts);
  fx->drafts = lia_evo_mail_dup_folder (fx->c.mail, LIA_EVO_MAIL_DRAFTS);
  return TRUE;
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  lia_test_camel_init (&fx->c, "liaison-draft-XXXXXX", STORE_UID, ME);
  if (!fx_open (fx))
    return;
  {
    g_autoptr (CamelFolder) s = lia_test_camel_folder (&fx->c, SENT);
    g_autoptr (CamelFolder) d = lia_test_camel_folder (&fx->c, DRAFTS);

    g_assert_true (s != NULL && d != NULL);
  }
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  lia_test_camel_clear (&fx->c);
  g_free (fx->drafts);
}

static void
draft_cmd (Fx *fx, LiaCommandKind kind, const char *draft_id, const char *regarding_id, const char *name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_INSPECTOR };

  cmd.folder = fx->drafts;
  cmd.item_id = draft_id;
  cmd.is_draft = TRUE;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = name;
  /* The host write is async (a worker, then the folder's save). */
  lia_test_camel_command (&fx->c, &cmd, 500);
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

  lia_test_camel_engine_stop (&fx->c);
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  drafts = lia_test_camel_folder (&fx->c, DRAFTS);
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
  if (fx->c.mail == NULL)
    return;
  uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  draft_id = lia_evo_mail_item_id (STORE_UID, DRAFTS, uid);
  {
    g_autoptr (CamelFolder) drafts = lia_test_camel_folder (&fx->c, DRAFTS);
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
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Northwind");
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
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, draft_id);

    g_assert_true (hi->is_draft);
    g_assert_cmpstr (hi->props.regarding_id, ==, account);
    g_assert_cmpstr (hi->props.regarding_name, ==, "Northwind");
    g_assert_null (hi->props.crm_id);
  }
  lia_test_camel_engine_start (&fx->c, TRUE);
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
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Northwind");
  d_uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  d_id = lia_evo_mail_item_id (STORE_UID, DRAFTS, d_uid);
  draft_cmd (fx, LIA_COMMAND_SET_REGARDING, d_id, account, "Northwind");

  lia_test_camel_engine_stop (&fx->c);
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = lia_evo_mail_item_id (STORE_UID, SENT, s_uid);
  ev.store = LIA_EVO_STORE;
  ev.item_id = s_id;
  ev.draft_id = d_id;
  lia_plugin_internal_funcs ()->ui_event (fx->c.plugin, &ev);
  lia_test_iterate_for (500);
  lia_test_camel_engine_sync (&fx->c);
  sent = lia_test_camel_host_read_ok (&fx->c, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (sent->props.crm_id);
  g_assert_cmpstr (sent->props.regarding_id, ==, account);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (LiaCrmRecord) rec =
        lia_crm_retrieve_sync (fx->c.crm, LIA_ENTITY_EMAIL, sent->props.crm_id, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")),
                     ==, account);
  }
  draft = lia_test_camel_host_read_ok (&fx->c, d_id);
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
