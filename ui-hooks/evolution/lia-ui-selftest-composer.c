/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <composer/e-composer-header-table.h>
#include <composer/e-msg-composer.h>
#include <e-util/e-util.h>
#include <libemail-engine/libemail-engine.h>
#include <mail/e-mail-backend.h>
#include <mail/e-mail-reader.h>
#include <mail/em-composer-utils.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"
#include "lia-ui-selftest-private.h"

/* Self-test phase (lia-ui-selftest-private.h) of the mail composer
 * (lia-ui-composer.c): a new message with Track in CRM When Sent and a
 * regarding chosen in the Set Regarding dialog, saved as a draft (marked,
 * never sent to CRM: R-IMM-DRAFT; the regarding goes on the draft's tags),
 * closed, opened again from the draft (tracking on by itself, and the
 * regarding read from the draft's tags: the new composer has nothing of
 * the first one's memory), then sent through the account's
 * transport (tests/ui/test-ui.sh gives it a local sink); its sent copy
 * must carry the tracking token (R-MAIL-CORRELATE-TOKEN) and become
 * tracked with the draft's regarding. A second message is sent with tracking off. The time
 * e_msg_composer_send() takes on the main loop, and until the composer
 * closes (the message went to the transport), is logged for both
 * (R-IMM-OUTGOING-ASYNC; printed, not asserted). Environment:
 *   LIAISON_UI_SELFTEST_ACCOUNT            the mail account (its store uid)
 *   LIAISON_UI_SELFTEST_COMPOSER_SUBJECT   the tracked message's subject
 *   LIAISON_UI_SELFTEST_COMPOSER_PLAIN     the untracked message's subject
 *   LIAISON_UI_SELFTEST_QUERY              what to type in Set Regarding */

GtkWidget *lia_ui_regarding_dialog_get_entry (GtkWidget *dialog);

#define ACTION_TRACK_WHEN_SENT "liaison-track-when-sent"
#define ACTION_REGARDING "liaison-composer-set-regarding"
#define SENT_FOLDER "Sent"
#define TO_ADDRESS "ursula@customer.example"

static struct
{
  EMsgComposer *composer; /* weak pointer */
  char *open_error;
  char *draft_id;
  char *draft_regarding_id; /* as read from the draft's tags */
  char *draft_regarding_name;
  gint64 send_started;
  gint64 send_call_us[2];   /* [tracked] e_msg_composer_send() on the main loop */
  gint64 send_closed_us[2]; /* [tracked] until the composer closed */
  gint64 closed_at;
  guint regarding_ticks;
  CamelFolder *reopen_folder;
  CamelMimeMessage *reopen_message;
  char *reopen_uid;
  gboolean later; /* the Send Later message */
} t;

static const char *
subject_for (gboolean tracked)
{
  const char *s =
      g_getenv (tracked ? "LIAISON_UI_SELFTEST_COMPOSER_SUBJECT" : "LIAISON_UI_SELFTEST_COMPOSER_PLAIN");

  return s != NULL ? s : tracked ? "Liaison composer test" : "Liaison composer test, not tracked";
}

/* The message sent later, through the Outbox, with tracking on. */
static const char *
subject_later (void)
{
  const char *s = g_getenv ("LIAISON_UI_SELFTEST_COMPOSER_LATER");

  return s != NULL ? s : "Liaison composer test, sent later";
}

static void
on_composer_gone (gpointer data, GObject *where)
{
  t.closed_at = g_get_monotonic_time ();
}

static void
on_composer_new (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  EMsgComposer *composer = e_msg_composer_new_finish (result, &error);

  if (composer == NULL)
    {
      t.open_error = g_strdup (error != NULL ? error->message : "no composer");
      return;
    }
  t.composer = composer;
  /* Step 4: the draft, opened as Evolution opens one from Drafts (its
   * folder and uid go on the composer). */
  if (t.reopen_message != NULL)
    {
      em_utils_edit_message (composer, t.reopen_folder, t.reopen_message, t.reopen_uid, TRUE, TRUE);
      g_clear_object (&t.reopen_message);
      g_clear_object (&t.reopen_folder);
    }
  g_object_add_weak_pointer (G_OBJECT (composer), (gpointer *) &t.composer);
  g_object_weak_ref (G_OBJECT (composer), on_composer_gone, NULL);
  /* No window manager under Xvfb: place it for the screenshot. */
  gtk_window_move (GTK_WINDOW (composer), 120, 60);
  gtk_window_resize (GTK_WINDOW (composer), 900, 640);
  gtk_widget_show (GTK_WIDGET (composer));
}

static GtkAction *
composer_action (const char *name)
{
  EHTMLEditor *editor = t.composer != NULL ? e_msg_composer_get_editor (t.composer) : NULL;
  GtkUIManager *ui = editor != NULL ? e_html_editor_get_ui_manager (editor) : NULL;

  for (GList *l = ui != NULL ? gtk_ui_manager_get_action_groups (ui) : NULL; l != NULL; l = l->next)
    {
      GtkAction *action = gtk_action_group_get_action (l->data, name);

      if (action != NULL)
        return action;
    }
  return NULL;
}

static void
fill (gboolean tracked)
{
  EComposerHeaderTable *table = e_msg_composer_get_header_table (t.composer);
  EDestination *to = e_destination_new ();
  EDestination *destv[] = { to, NULL };

  e_destination_set_name (to, "Ursula Customer");
  e_destination_set_email (to, TO_ADDRESS);
  e_composer_header_table_set_destinations_to (table, destv);
  g_object_unref (to);
  e_composer_header_table_set_subject (table, t.later ? subject_later () : subject_for (tracked));
  e_msg_composer_set_body_text (t.composer,
                                tracked ? "Here is the offer we spoke about." : "See you on Monday.", TRUE);
}

/* The Set Regarding dialog runs in its own loop: this drives it (type the
 * query like a user, give the search time, choose the first row). */
static gboolean
drive_regarding (gpointer data)
{
  GtkWidget *dialog = lia_ui_selftest_find_toplevel ("liaison-set-regarding");

  if (dialog == NULL)
    return ++t.regarding_ticks < 50 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
  if (t.regarding_ticks < 100)
    {
      const char *query = g_getenv ("LIAISON_UI_SELFTEST_QUERY");

      gtk_entry_set_text (GTK_ENTRY (lia_ui_regarding_dialog_get_entry (dialog)),
                          query != NULL ? query : "Fabrikam");
      t.regarding_ticks = 100;
      return G_SOURCE_CONTINUE;
    }
  if (++t.regarding_ticks < 100 + 20)
    return G_SOURCE_CONTINUE;
  {
    LiaUiRegarding r = { 0 };
    gboolean have = lia_ui_regarding_dialog_get (dialog, &r);

    lia_ui_regarding_clear (&r);
    gtk_dialog_response (GTK_DIALOG (dialog), have ? GTK_RESPONSE_OK : GTK_RESPONSE_CANCEL);
  }
  return G_SOURCE_REMOVE;
}

/* Whether an EAlertBar in @widget is visible (the information line). */
static gboolean
alert_bar_shown (GtkWidget *widget)
{
  g_autoptr (GList) children = NULL;
  gboolean found = FALSE;

  if (E_IS_ALERT_BAR (widget))
    return gtk_widget_get_visible (widget);
  if (!GTK_IS_CONTAINER (widget))
    return FALSE;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && !found; l = l->next)
    found = alert_bar_shown (l->data);
  return found;
}

/* The composer's draft as an item id (the headers Evolution keeps). */
static char *
composer_draft_id (void)
{
  const char *folder_uri = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Folder", 0);
  const char *uid = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Message", 0);
  g_autoptr (CamelSession) session = e_msg_composer_ref_session (t.composer);
  g_autoptr (CamelStore) store = NULL;
  g_autofree char *full_name = NULL;

  if (folder_uri == NULL || uid == NULL
      || !e_mail_folder_uri_parse (session, folder_uri, &store, &full_name, NULL))
    return NULL;
  return lia_evo_engine_item_id_for_message (camel_service_get_uid (CAMEL_SERVICE (store)), full_name, uid);
}

/* Self-test only (a maildir folder opens in milliseconds): the link-state
 * property the host adapter wrote on the composer's draft (a Camel user
 * tag), NULL when there is none. */
static char *
draft_link_tag (void)
{
  const char *folder_uri = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Folder", 0);
  const char *uid = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Message", 0);
  g_autoptr (CamelSession) session = e_msg_composer_ref_session (t.composer);
  g_autoptr (CamelFolder) folder = NULL;
  CamelMessageInfo *info;
  char *tag;

  if (folder_uri == NULL || uid == NULL || !E_IS_MAIL_SESSION (session))
    return NULL;
  folder = e_mail_session_uri_to_folder_sync (E_MAIL_SESSION (session), folder_uri, 0, NULL, NULL);
  info = folder != NULL ? camel_folder_get_message_info (folder, uid) : NULL;
  tag = info != NULL ? g_strdup (camel_message_info_get_user_tag (info, "liaison-link-state")) : NULL;
  g_clear_object (&info);
  return tag;
}

/* Self-test only: the regarding the composer's draft carries (its tags,
 * through the adapter's accessor); FALSE when none. */
static gboolean
draft_regarding (char **out_id, char **out_name)
{
  const char *folder_uri = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Folder", 0);
  const char *uid = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Message", 0);
  g_autoptr (CamelSession) session = e_msg_composer_ref_session (t.composer);
  g_autoptr (CamelFolder) folder = NULL;
  CamelMessageInfo *info;
  gboolean has;

  *out_id = *out_name = NULL;
  if (folder_uri == NULL || uid == NULL || !E_IS_MAIL_SESSION (session))
    return FALSE;
  folder = e_mail_session_uri_to_folder_sync (E_MAIL_SESSION (session), folder_uri, 0, NULL, NULL);
  info = folder != NULL ? camel_folder_get_message_info (folder, uid) : NULL;
  has = info != NULL && lia_evo_mail_info_dup_regarding (info, out_id, out_name, NULL);
  g_clear_object (&info);
  return has;
}

/* Self-test only (a maildir folder opens in milliseconds): the item id
 * and subject of the newest message of the account's Sent folder whose
 * subject starts with @prefix. */
static char *
find_sent_full (const char *prefix, char **out_subject, char **out_regarding)
{
  EMailReader *reader = lia_ui_selftest_mail_reader ();
  EMailSession *session =
      reader != NULL ? e_mail_backend_get_session (e_mail_reader_get_backend (reader)) : NULL;
  const char *account = g_getenv ("LIAISON_UI_SELFTEST_ACCOUNT");
  g_autoptr (CamelService) service = NULL;
  g_autoptr (CamelFolder) folder = NULL;
  GPtrArray *uids;
  char *found = NULL;

  if (session == NULL || account == NULL)
    return NULL;
  service = camel_session_ref_service (CAMEL_SESSION (session), account);
  if (service == NULL || !CAMEL_IS_STORE (service))
    return NULL;
  folder = camel_store_get_folder_sync (CAMEL_STORE (service), SENT_FOLDER, 0, NULL, NULL);
  if (folder == NULL)
    return NULL;
  uids = camel_folder_get_uids (folder);
  for (guint i = 0; i < uids->len && found == NULL; i++)
    {
      CamelMessageInfo *info = camel_folder_get_message_info (folder, g_ptr_array_index (uids, i));

      if (info != NULL && g_str_has_prefix (camel_message_info_get_subject (info), prefix))
        {
          found = lia_evo_engine_item_id_for_message (account, SENT_FOLDER, g_ptr_array_index (uids, i));
          *out_subject = g_strdup (camel_message_info_get_subject (info));
          if (out_regarding != NULL)
            {
              g_autofree char *name = NULL;

              lia_evo_mail_info_dup_regarding (info, out_regarding, &name, NULL);
            }
        }
      g_clear_object (&info);
    }
  camel_folder_free_uids (folder, uids);
  return found;
}

static char *
find_sent (const char *prefix, char **out_subject)
{
  return find_sent_full (prefix, out_subject, NULL);
}

static char *
track_result (const char *item_id)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;

  if (funcs == NULL || funcs->dup_track_result == NULL || item_id == NULL)
    return NULL;
  return funcs->dup_track_result (lia_evo_engine_get_plugin (engine), LIA_EVO_STORE, item_id, NULL);
}

static void
send_now (gboolean tracked)
{
  gint64 start = g_get_monotonic_time ();

  t.closed_at = 0;
  t.send_started = start;
  e_msg_composer_send (t.composer);
  t.send_call_us[tracked] = g_get_monotonic_time () - start;
  lia_ui_selftest_log ("composer: e_msg_composer_send() returned after %.2f ms (tracking %s)",
                       t.send_call_us[tracked] / 1000.0, tracked ? "on" : "off");
}

/* Steps: 0 open, 1 fill and choose, 2 save as draft, 3 draft marked,
 * 4 close and open the draft again, 5 tracking on there, 6 send, 7 sent
 * copy tracked (with the regarding chosen before the draft was saved),
 * 8 open, 9 fill and send untracked, 10 check, 11 open, 12 Send Later
 * tracked, 13 the Outbox is sent, 14 its sent copy tracked. */
LiaUiPhaseResult
lia_ui_selftest_phase_composer (guint step, guint waited)
{
  switch (step)
    {
    case 0:
    case 8:
    case 11:
      if (waited == 1)
        {
          /* One composer at a time (the last one, should its send have
           * failed). */
          if (t.composer != NULL)
            gtk_widget_destroy (GTK_WIDGET (t.composer));
          g_clear_pointer (&t.open_error, g_free);
          e_msg_composer_new (e_shell_get_default (), on_composer_new, NULL);
        }
      if ((t.composer == NULL || composer_action (ACTION_TRACK_WHEN_SENT) == NULL) && t.open_error == NULL
          && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (t.composer != NULL && composer_action (ACTION_TRACK_WHEN_SENT) != NULL,
                             "a new composer has Track in CRM When Sent");
      if (t.composer == NULL)
        {
          lia_ui_selftest_log ("composer: %s", t.open_error != NULL ? t.open_error : "did not open in 30 s");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 1:
      {
        GtkToggleAction *toggle = GTK_TOGGLE_ACTION (composer_action (ACTION_TRACK_WHEN_SENT));
        GtkAction *regarding = composer_action (ACTION_REGARDING);
        EHTMLEditor *editor = e_msg_composer_get_editor (t.composer);
        const char *query = g_getenv ("LIAISON_UI_SELFTEST_QUERY");
        const char *tip;

        /* The web editor loads its content a moment after it shows. */
        if (waited < 20)
          return LIA_UI_PHASE_WAIT;
        fill (TRUE);
        gtk_ui_manager_ensure_update (e_html_editor_get_ui_manager (editor));
        lia_ui_selftest_check (gtk_ui_manager_get_widget (e_html_editor_get_ui_manager (editor),
                                                          "/main-menu/options-menu/" ACTION_TRACK_WHEN_SENT)
                                       != NULL
                                   && gtk_ui_manager_get_widget (e_html_editor_get_ui_manager (editor),
                                                                 "/main-menu/options-menu/" ACTION_REGARDING)
                                          != NULL,
                               "Track in CRM When Sent and Set Regarding are in the composer's Options menu");
        lia_ui_selftest_check (!gtk_toggle_action_get_active (toggle)
                                   && gtk_action_is_sensitive (GTK_ACTION (toggle)),
                               "Track in CRM When Sent is off and available in a new composer");
        gtk_toggle_action_set_active (toggle, TRUE);
        t.regarding_ticks = 0;
        g_timeout_add (100, drive_regarding, NULL);
        /* Runs the dialog (its own loop) until drive_regarding answers. */
        gtk_action_activate (regarding);
        tip = gtk_action_get_tooltip (regarding);
        lia_ui_selftest_log ("composer: regarding action says \"%s\"", tip != NULL ? tip : "");
        lia_ui_selftest_check (gtk_toggle_action_get_active (toggle) && tip != NULL && query != NULL
                                   && strstr (tip, query) != NULL
                                   && alert_bar_shown (GTK_WIDGET (t.composer)),
                               "the composer shows that the message will be tracked when sent, with the "
                               "regarding chosen in Set Regarding");
        return LIA_UI_PHASE_NEXT;
      }
    case 2: /* R-IMM-DRAFT: saved as a draft while Track When Sent is on */
      /* The dialog's window is gone from the screen first. */
      if (waited < 5)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_screenshot ("composer");
      e_msg_composer_save_to_drafts (t.composer);
      return LIA_UI_PHASE_NEXT;
    case 3:
      {
        g_autofree char *draft_id = composer_draft_id ();
        g_autofree char *tag = draft_id != NULL ? draft_link_tag () : NULL;
        g_autofree char *result = NULL;

        if (g_strcmp0 (tag, "1") != 0 && waited < 200)
          return LIA_UI_PHASE_WAIT;
        result = track_result (draft_id);
        lia_ui_selftest_log ("composer: draft %s, link-state tag %s, CRM: %s",
                             draft_id != NULL ? draft_id : "none", tag != NULL ? tag : "none",
                             result != NULL ? result : "-");
        /* Marked on the item, unknown to the sync cache and CRM. */
        lia_ui_selftest_check (g_strcmp0 (tag, "1") == 0 && (result == NULL || g_str_equal (result, "none")),
                               "R-IMM-DRAFT: the draft saved with Track in CRM When Sent on is marked to be "
                               "tracked when sent (link state 1), not tracked");
        g_free (t.draft_id);
        t.draft_id = g_steal_pointer (&draft_id);
        {
          const char *query = g_getenv ("LIAISON_UI_SELFTEST_QUERY");

          g_clear_pointer (&t.draft_regarding_id, g_free);
          g_clear_pointer (&t.draft_regarding_name, g_free);
          draft_regarding (&t.draft_regarding_id, &t.draft_regarding_name);
          lia_ui_selftest_log ("composer: the draft's regarding tags: %s \"%s\"",
                               t.draft_regarding_id != NULL ? t.draft_regarding_id : "none",
                               t.draft_regarding_name != NULL ? t.draft_regarding_name : "");
          lia_ui_selftest_check (t.draft_regarding_id != NULL && query != NULL
                                     && t.draft_regarding_name != NULL
                                     && strstr (t.draft_regarding_name, query) != NULL,
                                 "R-IMM-DRAFT: the marked draft carries the regarding chosen in the composer "
                                 "(its tags, read back with the adapter's accessor)");
        }
        return LIA_UI_PHASE_NEXT;
      }
    case 4: /* close it; open the draft again, as a double-click in Drafts does */
      {
        const char *folder_uri = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Folder", 0);
        const char *uid = e_msg_composer_get_header (t.composer, "X-Evolution-Draft-Message", 0);
        g_autoptr (CamelSession) session = e_msg_composer_ref_session (t.composer);
        g_autoptr (GError) error = NULL;

        g_clear_object (&t.reopen_folder);
        g_clear_object (&t.reopen_message);
        g_free (t.reopen_uid);
        t.reopen_uid = g_strdup (uid);
        if (folder_uri != NULL && uid != NULL && E_IS_MAIL_SESSION (session))
          t.reopen_folder =
              e_mail_session_uri_to_folder_sync (E_MAIL_SESSION (session), folder_uri, 0, NULL, &error);
        if (t.reopen_folder != NULL)
          t.reopen_message = camel_folder_get_message_sync (t.reopen_folder, uid, NULL, &error);
        gtk_widget_destroy (GTK_WIDGET (t.composer));
        if (t.reopen_message == NULL)
          {
            lia_ui_selftest_check (FALSE, "the saved draft can be read back");
            lia_ui_selftest_log ("composer: draft: %s", error != NULL ? error->message : "no draft headers");
            return LIA_UI_PHASE_DONE;
          }
        g_clear_pointer (&t.open_error, g_free);
        e_msg_composer_new (e_shell_get_default (), on_composer_new, NULL);
        return LIA_UI_PHASE_NEXT;
      }
    case 5:
      {
        GtkToggleAction *toggle =
            t.composer != NULL ? GTK_TOGGLE_ACTION (composer_action (ACTION_TRACK_WHEN_SENT)) : NULL;
        g_autofree char *draft_id = t.composer != NULL ? composer_draft_id () : NULL;

        GtkAction *regarding = t.composer != NULL ? composer_action (ACTION_REGARDING) : NULL;
        const char *tip = regarding != NULL ? gtk_action_get_tooltip (regarding) : NULL;
        const char *name = t.draft_regarding_name;
        gboolean shows = tip != NULL && name != NULL && *name != '\0' && strstr (tip, name) != NULL;

        if ((toggle == NULL || !gtk_toggle_action_get_active (toggle) || !shows) && t.open_error == NULL
            && waited < 200)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_check (
            toggle != NULL && gtk_toggle_action_get_active (toggle) && g_strcmp0 (draft_id, t.draft_id) == 0,
            "R-IMM-DRAFT: the marked draft opened again in a composer has Track in CRM When "
            "Sent on");
        lia_ui_selftest_log ("composer: reopened, regarding action says \"%s\"", tip != NULL ? tip : "");
        lia_ui_selftest_check (shows && t.composer != NULL && alert_bar_shown (GTK_WIDGET (t.composer)),
                               "R-IMM-DRAFT: the composer opened again from the marked draft shows the "
                               "draft's regarding, read from the draft");
        if (t.composer == NULL)
          return LIA_UI_PHASE_DONE;
        return LIA_UI_PHASE_NEXT;
      }
    case 6: /* a moment for a cycle that might wrongly take the draft */
      if (waited < 30 || (lia_ui_selftest_engine_busy () && waited < 300))
        return LIA_UI_PHASE_WAIT;
      send_now (TRUE);
      return LIA_UI_PHASE_NEXT;
    case 7:
      {
        g_autofree char *subject = NULL;
        g_autofree char *sent_regarding = NULL;
        g_autofree char *item_id =
            t.closed_at != 0 ? find_sent_full (subject_for (TRUE), &subject, &sent_regarding) : NULL;
        g_autofree char *result = track_result (item_id);

        /* Tracked, then linked to its regarding (the last host write). */
        if ((result == NULL || !g_str_has_prefix (result, "tracked") || sent_regarding == NULL)
            && waited < 400)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_log ("composer: the sent copy's regarding: %s",
                             sent_regarding != NULL ? sent_regarding : "none");
        lia_ui_selftest_check (sent_regarding != NULL
                                   && g_strcmp0 (sent_regarding, t.draft_regarding_id) == 0,
                               "R-IMM-DRAFT: the sent copy of the marked draft is tracked with the draft's "
                               "regarding");
        if (t.closed_at != 0)
          t.send_closed_us[TRUE] = t.closed_at - t.send_started;
        lia_ui_selftest_log ("composer: sent copy %s \"%s\": %s", item_id != NULL ? item_id : "not found",
                             subject != NULL ? subject : "", result != NULL ? result : "-");
        lia_ui_selftest_check (t.closed_at != 0, "the composer sent the message and closed");
        lia_ui_selftest_check (subject != NULL && strlen (subject) > strlen (subject_for (TRUE)),
                               "R-MAIL-CORRELATE-TOKEN: the sent copy's subject carries the tracking token");
        lia_ui_selftest_check (result != NULL && g_str_has_prefix (result, "tracked"),
                               "R-IMM-DRAFT, R-IMM-OUTGOING-ASYNC: the sent copy of the marked draft is "
                               "tracked in CRM after the send");
        return LIA_UI_PHASE_NEXT;
      }
    case 9:
      {
        GtkToggleAction *toggle = GTK_TOGGLE_ACTION (composer_action (ACTION_TRACK_WHEN_SENT));

        if (waited < 20)
          return LIA_UI_PHASE_WAIT;
        fill (FALSE);
        lia_ui_selftest_check (!gtk_toggle_action_get_active (toggle),
                               "Track in CRM When Sent starts off in the next composer");
        send_now (FALSE);
        return LIA_UI_PHASE_NEXT;
      }
    case 10:
      {
        g_autofree char *subject = NULL;
        g_autofree char *item_id = t.closed_at != 0 ? find_sent (subject_for (FALSE), &subject) : NULL;
        g_autofree char *result = NULL;

        if (item_id == NULL && waited < 300)
          return LIA_UI_PHASE_WAIT;
        /* Time for a wrong track to show. */
        if (waited < 30)
          return LIA_UI_PHASE_WAIT;
        result = track_result (item_id);
        if (t.closed_at != 0)
          t.send_closed_us[FALSE] = t.closed_at - t.send_started;
        lia_ui_selftest_check (item_id != NULL && g_strcmp0 (subject, subject_for (FALSE)) == 0
                                   && (result == NULL || g_str_equal (result, "none")),
                               "a message sent with Track in CRM When Sent off keeps its subject and is not "
                               "tracked");
        lia_ui_selftest_log ("composer send timing: e_msg_composer_send() on the main loop %.2f ms tracked, "
                             "%.2f ms untracked; until the composer closed (message handed to the transport) "
                             "%.0f ms tracked, %.0f ms untracked (R-IMM-OUTGOING-ASYNC)",
                             t.send_call_us[TRUE] / 1000.0, t.send_call_us[FALSE] / 1000.0,
                             t.send_closed_us[TRUE] / 1000.0, t.send_closed_us[FALSE] / 1000.0);
        return LIA_UI_PHASE_NEXT;
      }
    case 12: /* Send Later, tracked: it waits in the Outbox, goes out later */
      {
        GtkToggleAction *toggle = GTK_TOGGLE_ACTION (composer_action (ACTION_TRACK_WHEN_SENT));

        if (waited < 20)
          return LIA_UI_PHASE_WAIT;
        t.later = TRUE;
        fill (TRUE);
        gtk_toggle_action_set_active (toggle, TRUE);
        t.closed_at = 0;
        e_msg_composer_save_to_outbox (t.composer);
        return LIA_UI_PHASE_NEXT;
      }
    case 13:
      {
        EMailReader *reader = lia_ui_selftest_mail_reader ();

        if (t.closed_at == 0 && waited < 200)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_check (t.closed_at != 0,
                               "Send Later put the message in the Outbox and closed the composer");
        /* Later: the Outbox is sent (as Send / Receive does). */
        if (reader != NULL)
          e_mail_session_flush_outbox (e_mail_backend_get_session (e_mail_reader_get_backend (reader)));
        return LIA_UI_PHASE_NEXT;
      }
    case 14:
      {
        g_autofree char *subject = NULL;
        g_autofree char *item_id = find_sent (subject_later (), &subject);
        g_autofree char *result = track_result (item_id);

        if ((result == NULL || !g_str_has_prefix (result, "tracked")) && waited < 400)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_log ("composer: sent later %s \"%s\": %s", item_id != NULL ? item_id : "not found",
                             subject != NULL ? subject : "", result != NULL ? result : "-");
        lia_ui_selftest_check (
            subject != NULL && strlen (subject) > strlen (subject_later ()) && result != NULL
                && g_str_has_prefix (result, "tracked"),
            "R-IMM-OUTGOING-ASYNC, R-MAIL-CORRELATE-TOKEN: a message sent later from the Outbox "
            "with Track in CRM When Sent carries the token and is tracked once it is sent");
        return LIA_UI_PHASE_DONE;
      }
    default:
      return LIA_UI_PHASE_DONE;
    }
}
