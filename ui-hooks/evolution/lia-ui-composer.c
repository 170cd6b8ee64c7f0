/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <composer/e-composer-header-table.h>
#include <composer/e-msg-composer.h>
#include <libemail-engine/libemail-engine.h>
#include <shell/e-shell-window.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"

/* The mail composer: "Track in CRM When Sent" (a toggle) and "Set
 * Regarding…" in its Options menu (also reachable from the header bar's
 * menu button) and on its toolbar, and an information line in the
 * composer's alert bar saying that the message will be tracked and
 * regarding what.
 *
 * R-IMM-DRAFT: a draft is never written to CRM; tracking it means "track
 * when sent". When the composer's message is saved as a draft while the
 * toggle is on (or the toggle is switched on, or a regarding chosen, for a
 * composer that has a draft), the draft is marked through the plugin with
 * is_draft: the plugin writes link state 1 and the regarding on the draft
 * itself (Camel user tags, as a tracked message's regarding) and keeps the
 * command until the send (Track on a draft in the message list is not
 * applicable, R-IMM-TRACK-EXPL). Switching the toggle off takes the mark
 * and the regarding off the draft (Untrack with is_draft). A composer
 * opened from a marked draft (in this Evolution or after a restart) starts
 * with the toggle on and the draft's regarding (read from its tags,
 * lia_evo_mail_info_dup_regarding(); its entity from the recent choices
 * when the draft does not say), shown in the information line; the user
 * can still choose another or switch tracking off.
 *
 * On send (R-MAIL-CORRELATE-TOKEN, R-IMM-OUTGOING-ASYNC): the last
 * "presend" handler (connected after Evolution's checks, so it only runs
 * when nothing stopped the send) puts the org's tracking token into the
 * subject with the plugin's dup_send_subject (no network, no disk beyond
 * the token pool the engine keeps in memory), so the message Evolution
 * builds next carries it. The "send" signal hands over the built message:
 * its Message-ID (the composer generates one for every outbound copy) is
 * read, nothing is changed in it. A watch (lia-ui-sent.c) then finds the
 * sent copy in the identity's Sent folder in the background; only then is
 * CRM involved: LIA_UI_EVENT_SEND with the draft's id when a marked draft
 * was sent (the plugin tracks the sent copy with the draft's regarding:
 * what it remembers, or after a restart what it reads from the draft),
 * else Track / Set Regarding on the sent copy. Should the plugin have done
 * nothing a few seconds after the event, the copy is tracked directly with
 * this composer's regarding (the draft's). The send never waits for any of
 * it. */

#define ACTION_TRACK_WHEN_SENT "liaison-track-when-sent"
#define ACTION_REGARDING "liaison-composer-set-regarding"
#define DRAFT_FOLDER_HEADER "X-Evolution-Draft-Folder"
#define DRAFT_MESSAGE_HEADER "X-Evolution-Draft-Message"
/* A message waiting in the Outbox (offline) reaches Sent when it goes out:
 * the watch waits a day for it. */
#define SENT_WATCH_S (24 * 60 * 60)
/* Evolution saves a draft in the background: its id shows on the composer
 * within this time. */
#define DRAFT_POLL_MS 100
#define DRAFT_POLL_MAX 600

static const char ui_definition[] = "<ui>"
                                    "  <menubar name='main-menu'>"
                                    "    <menu action='options-menu'>"
                                    "      <separator/>"
                                    "      <menuitem action='" ACTION_TRACK_WHEN_SENT "'/>"
                                    "      <menuitem action='" ACTION_REGARDING "'/>"
                                    "    </menu>"
                                    "  </menubar>"
                                    "  <toolbar name='main-toolbar'>"
                                    "    <placeholder name='pre-main-toolbar'>"
                                    "      <toolitem action='" ACTION_TRACK_WHEN_SENT "'/>"
                                    "      <toolitem action='" ACTION_REGARDING "'/>"
                                    "    </placeholder>"
                                    "  </toolbar>"
                                    "</ui>";

typedef struct
{
  EExtension parent;
  gboolean track;           /* Track in CRM When Sent */
  gboolean user_set;        /* the user switched it: a marked draft no longer decides */
  LiaUiRegarding regarding; /* chosen in this composer; id NULL for none */
  char *marked_draft;       /* item id of the draft marked to be tracked when sent */
  char *draft_looked_up;    /* the draft whose mark was asked for */
  EAlert *info;             /* the information line, while shown */
  GtkToggleAction *toggle;  /* borrowed: the action group holds it */
  GtkAction *regarding_action;
  /* Decided by "presend", taken by "send". */
  gboolean send_tracked;
  char *send_folder_uri;
  char *send_draft_id;
  /* Waiting for a draft save to show its id. */
  guint draft_poll_id;
  guint draft_polls;
  char *draft_before;
} LiaUiComposer;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiComposerClass;

GType lia_ui_composer_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiComposer, lia_ui_composer, E_TYPE_EXTENSION)

static EMsgComposer *
composer_of (LiaUiComposer *self)
{
  return E_MSG_COMPOSER (e_extension_get_extensible (E_EXTENSION (self)));
}

static EAlertSink *
alert_sink_of (EMsgComposer *composer)
{
  EHTMLEditor *editor = e_msg_composer_get_editor (composer);

  if (editor != NULL && E_IS_ALERT_SINK (editor))
    return E_ALERT_SINK (editor);
  return E_IS_ALERT_SINK (composer) ? E_ALERT_SINK (composer) : NULL;
}

/* The item id of the draft the composer was saved to or opened from (the
 * headers Evolution keeps on it), NULL when it has none. No I/O. */
static char *
draft_item_id (EMsgComposer *composer)
{
  const char *folder_uri = e_msg_composer_get_header (composer, DRAFT_FOLDER_HEADER, 0);
  const char *uid = e_msg_composer_get_header (composer, DRAFT_MESSAGE_HEADER, 0);
  g_autoptr (CamelSession) session = NULL;
  g_autoptr (CamelStore) store = NULL;
  g_autofree char *full_name = NULL;

  if (folder_uri == NULL || uid == NULL || *uid == '\0')
    return NULL;
  session = e_msg_composer_ref_session (composer);
  if (session == NULL || !e_mail_folder_uri_parse (session, folder_uri, &store, &full_name, NULL))
    return NULL;
  return lia_evo_engine_item_id_for_message (camel_service_get_uid (CAMEL_SERVICE (store)), full_name, uid);
}

/* The folder Evolution puts the sent copy in: the identity's Sent folder,
 * or the local one when it names none; NULL when the identity keeps no
 * sent copy (there is then nothing to track). */
static char *
sent_folder_uri (EMsgComposer *composer)
{
  EComposerHeaderTable *table = e_msg_composer_get_header_table (composer);
  g_autofree char *uid = e_composer_header_table_dup_identity_uid (table, NULL, NULL);
  g_autoptr (ESource) source = uid != NULL ? e_composer_header_table_ref_source (table, uid) : NULL;
  g_autoptr (CamelSession) session = NULL;
  ESourceMailSubmission *submission;
  char *uri;

  if (source == NULL || !e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_SUBMISSION))
    return NULL;
  submission = e_source_get_extension (source, E_SOURCE_EXTENSION_MAIL_SUBMISSION);
  if (!e_source_mail_submission_get_use_sent_folder (submission))
    return NULL;
  uri = e_source_mail_submission_dup_sent_folder (submission);
  if (uri != NULL && *uri != '\0')
    return uri;
  g_free (uri);
  session = e_msg_composer_ref_session (composer);
  if (session == NULL || !E_IS_MAIL_SESSION (session))
    return NULL;
  return g_strdup (e_mail_session_get_local_folder_uri (E_MAIL_SESSION (session), E_MAIL_LOCAL_FOLDER_SENT));
}

/* The information line and the actions' texts follow the state. */
static void
show_state (LiaUiComposer *self)
{
  EMsgComposer *composer = composer_of (self);
  EAlertSink *sink = alert_sink_of (composer);
  g_autofree char *text = NULL;

  if (self->info != NULL)
    {
      e_alert_response (self->info, GTK_RESPONSE_CLOSE);
      g_clear_object (&self->info);
    }
  if (self->regarding_action != NULL)
    {
      g_autofree char *tip =
          self->regarding.id != NULL && (guint) self->regarding.entity < LIA_ENTITY_N
              ? g_strdup_printf (_ ("Regarding %s (%s); choose another CRM record"), self->regarding.name,
                                 lia_ui_entity_label (self->regarding.entity))
          : self->regarding.id != NULL
              ? g_strdup_printf (_ ("Regarding %s; choose another CRM record"), self->regarding.name)
              : g_strdup (_ ("Link the message to a CRM account, contact, lead, "
                             "opportunity or case when it is tracked"));

      gtk_action_set_tooltip (self->regarding_action, tip);
    }
  if (!self->track || sink == NULL)
    return;
  if (self->regarding.id != NULL && (guint) self->regarding.entity < LIA_ENTITY_N)
    text = g_strdup_printf (_ ("This message will be tracked in CRM when it is sent, regarding %s (%s)."),
                            self->regarding.name, lia_ui_entity_label (self->regarding.entity));
  else if (self->regarding.id != NULL)
    text = g_strdup_printf (_ ("This message will be tracked in CRM when it is sent, regarding %s."),
                            self->regarding.name);
  else
    text = g_strdup (_ ("This message will be tracked in CRM when it is sent."));
  self->info = e_alert_new ("system:simple-info", text, NULL);
  e_alert_sink_submit_alert (sink, self->info);
  lia_ui_selftest_log ("composer shows: %s", text);
}

/* The main window's alert bar: what is said at or after a send outlives
 * the composer, which closes. NULL without a main window. */
static EAlertSink *
shell_alert_sink (void)
{
  GApplication *app = g_application_get_default ();
  GtkWindow *active =
      GTK_IS_APPLICATION (app) ? gtk_application_get_active_window (GTK_APPLICATION (app)) : NULL;

  if (E_IS_SHELL_WINDOW (active) && E_IS_ALERT_SINK (active))
    return E_ALERT_SINK (active);
  for (GList *l = GTK_IS_APPLICATION (app) ? gtk_application_get_windows (GTK_APPLICATION (app)) : NULL;
       l != NULL; l = l->next)
    if (E_IS_SHELL_WINDOW (l->data) && E_IS_ALERT_SINK (l->data))
      return E_ALERT_SINK (l->data);
  return NULL;
}

/* R-IMM-DRAFT: marks the composer's draft (when it has one in the
 * primary store) to be tracked when sent, with the regarding chosen here.
 * @force: again even when this draft was marked already (a new
 * regarding). */
static void
mark_draft (LiaUiComposer *self, gboolean force)
{
  EMsgComposer *composer = composer_of (self);
  g_autofree char *draft_id = draft_item_id (composer);
  LiaCommand c = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = self->regarding.id != NULL ? LIA_COMMAND_SET_REGARDING : LIA_COMMAND_TRACK,
    .surface = LIA_SURFACE_INSPECTOR,
    .store = LIA_EVO_STORE,
    .item_id = draft_id,
    .regarding_id = self->regarding.id,
    .regarding_name = self->regarding.name,
    .entity = LIA_ENTITY_EMAIL,
    .link_state = LIA_LINK_STATE_NONE,
    .is_draft = TRUE,
  };
  g_autoptr (GError) error = NULL;

  if (!self->track || draft_id == NULL || lia_ui_engine () == NULL)
    return;
  if (!force && g_strcmp0 (draft_id, self->marked_draft) == 0)
    return;
  /* Returns at once: the plugin keeps the command until the send. A
   * refusal (a Drafts folder of another account, R-MARK-PROFILE) is not
   * shown here: the sent copy is still tracked on send, and a refusal
   * then is shown. */
  if (!lia_evo_engine_command (lia_ui_engine (), &c, &error))
    {
      lia_ui_selftest_log ("composer: draft %s not marked: %s", draft_id, error->message);
      g_debug ("draft %s not marked to be tracked when sent: %s", draft_id, error->message);
      return;
    }
  g_free (self->marked_draft);
  self->marked_draft = g_steal_pointer (&draft_id);
  lia_ui_selftest_log ("composer: draft %s marked to be tracked when sent", self->marked_draft);
}

/* R-IMM-DRAFT: tracking switched off in a composer whose draft is marked:
 * the draft's mark and regarding go (Untrack of a draft never concerns
 * CRM; the plugin forgets what waited for the send). */
static void
unmark_draft (LiaUiComposer *self)
{
  LiaCommand c = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = LIA_COMMAND_UNTRACK,
    .surface = LIA_SURFACE_INSPECTOR,
    .store = LIA_EVO_STORE,
    .item_id = self->marked_draft,
    .entity = LIA_ENTITY_EMAIL,
    .link_state = LIA_LINK_STATE_MARKED,
    .is_draft = TRUE,
  };
  g_autoptr (GError) error = NULL;

  if (self->marked_draft == NULL || lia_ui_engine () == NULL)
    return;
  if (!lia_evo_engine_command (lia_ui_engine (), &c, &error))
    g_debug ("draft %s not unmarked: %s", self->marked_draft, error->message);
  lia_ui_selftest_log ("composer: draft %s unmarked", self->marked_draft);
  g_clear_pointer (&self->marked_draft, g_free);
}

static void on_track_toggled (GtkToggleAction *action, gpointer user_data);

/* A composer opened from a draft marked to be tracked when sent (by an
 * earlier composer) has tracking on, unless the user switched it off.
 * Evolution fills the draft's headers after construction: checked when
 * the composer shows. A marked draft has no CRM mapping (it never reaches
 * CRM); the mark is the link-state property the host adapter writes on the
 * message (a Camel user tag, read from the folder summary on a worker). */
typedef struct
{
  GWeakRef self;
  char *draft_id;
  EMailSession *session;
  char *folder_uri;
  char *uid;
} DraftLookup;

static void
draft_lookup_free (gpointer data)
{
  DraftLookup *d = data;

  g_weak_ref_clear (&d->self);
  g_free (d->draft_id);
  g_clear_object (&d->session);
  g_free (d->folder_uri);
  g_free (d->uid);
  g_free (d);
}

static void
regarding_free (gpointer data)
{
  lia_ui_regarding_clear (data);
  g_free (data);
}

/* Worker: NULL when the draft is not marked, else its regarding (id NULL
 * for none). The entity, when the draft's tags do not name it, is the one
 * of the same record among the recent choices (display only). */
static void
draft_lookup_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DraftLookup *d = task_data;
  g_autoptr (CamelFolder) folder =
      e_mail_session_uri_to_folder_sync (d->session, d->folder_uri, 0, cancellable, NULL);
  CamelMessageInfo *info = folder != NULL ? camel_folder_get_message_info (folder, d->uid) : NULL;
  LiaUiRegarding *r = NULL;

  if (info != NULL && lia_evo_mail_info_link_state (info) == LIA_LINK_STATE_MARKED)
    {
      r = g_new0 (LiaUiRegarding, 1);
      if (lia_evo_mail_info_dup_regarding (info, &r->id, &r->name, &r->entity) && r->entity == LIA_ENTITY_N)
        {
          g_autoptr (GPtrArray) recent = lia_ui_recent_list ();

          for (guint i = 0; i < recent->len; i++)
            {
              const LiaUiRegarding *one = g_ptr_array_index (recent, i);

              if (g_strcmp0 (one->id, r->id) == 0)
                {
                  r->entity = one->entity;
                  break;
                }
            }
        }
    }
  g_clear_object (&info);
  g_task_return_pointer (task, r, regarding_free);
}

static void
on_draft_lookup (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DraftLookup *d = g_task_get_task_data (G_TASK (result));
  g_autoptr (GObject) object = g_weak_ref_get (&d->self);
  LiaUiComposer *self = (LiaUiComposer *) object;
  LiaUiRegarding *marked = g_task_propagate_pointer (G_TASK (result), NULL);

  if (self == NULL || marked == NULL || self->track || self->user_set)
    {
      if (marked != NULL)
        regarding_free (marked);
      return;
    }
  self->track = TRUE;
  g_free (self->marked_draft);
  self->marked_draft = g_strdup (d->draft_id);
  /* The regarding chosen for the draft, from the draft itself: known
   * whatever the plugin remembers (R-IMM-DRAFT). */
  if (self->regarding.id == NULL && marked->id != NULL)
    {
      lia_ui_regarding_clear (&self->regarding);
      self->regarding = *marked;
      *marked = (LiaUiRegarding){ 0 };
      lia_ui_selftest_log ("composer: the draft's regarding is %s \"%s\" (read from the draft)",
                           self->regarding.id, self->regarding.name);
    }
  regarding_free (marked);
  if (self->toggle != NULL)
    {
      g_signal_handlers_block_by_func (self->toggle, on_track_toggled, self);
      gtk_toggle_action_set_active (self->toggle, TRUE);
      g_signal_handlers_unblock_by_func (self->toggle, on_track_toggled, self);
    }
  lia_ui_selftest_log ("composer: opened from draft %s, marked to be tracked when sent", self->marked_draft);
  show_state (self);
}

static void
adopt_marked_draft (LiaUiComposer *self)
{
  EMsgComposer *composer = composer_of (self);
  g_autoptr (CamelSession) session = NULL;
  g_autofree char *draft_id = NULL;
  g_autoptr (GTask) task = NULL;
  DraftLookup *d;

  if (self->track || self->user_set || lia_ui_engine () == NULL)
    return;
  draft_id = draft_item_id (composer);
  session = e_msg_composer_ref_session (composer);
  if (draft_id == NULL || g_strcmp0 (draft_id, self->draft_looked_up) == 0 || !E_IS_MAIL_SESSION (session))
    return;
  g_free (self->draft_looked_up);
  self->draft_looked_up = g_strdup (draft_id);
  d = g_new0 (DraftLookup, 1);
  g_weak_ref_init (&d->self, self);
  d->draft_id = g_steal_pointer (&draft_id);
  d->session = g_object_ref (E_MAIL_SESSION (session));
  d->folder_uri = g_strdup (e_msg_composer_get_header (composer, DRAFT_FOLDER_HEADER, 0));
  d->uid = g_strdup (e_msg_composer_get_header (composer, DRAFT_MESSAGE_HEADER, 0));
  task = g_task_new (NULL, NULL, on_draft_lookup, NULL);
  g_task_set_source_tag (task, adopt_marked_draft);
  g_task_set_task_data (task, d, draft_lookup_free);
  g_task_run_in_thread (task, draft_lookup_thread);
}

static void
on_composer_map (GtkWidget *widget, gpointer user_data)
{
  adopt_marked_draft (user_data);
}

static void
on_track_toggled (GtkToggleAction *action, gpointer user_data)
{
  LiaUiComposer *self = user_data;

  self->track = gtk_toggle_action_get_active (action);
  self->user_set = TRUE;
  lia_ui_selftest_log ("composer: track when sent %s", self->track ? "on" : "off");
  if (self->track)
    mark_draft (self, FALSE);
  else
    unmark_draft (self);
  show_state (self);
}

static void
on_regarding (GtkAction *action, gpointer user_data)
{
  LiaUiComposer *self = user_data;
  g_auto (LiaUiRegarding) chosen = { 0 };

  if (!lia_ui_regarding_run (GTK_WINDOW (composer_of (self)), &chosen))
    return;
  lia_ui_regarding_clear (&self->regarding);
  self->regarding = chosen;
  chosen = (LiaUiRegarding){ 0 };
  /* A regarding is only kept for a tracked message: choosing one turns
   * tracking on (the toggle's handler shows the state). */
  if (!self->track && self->toggle != NULL)
    gtk_toggle_action_set_active (self->toggle, TRUE);
  else
    {
      mark_draft (self, TRUE);
      show_state (self);
    }
}

/* "presend", connected after Evolution's own handlers: the send goes on
 * (nothing refused it before us). R-MAIL-CORRELATE-TOKEN: the subject
 * gets the token here, before the composer builds the message. */
static gboolean
on_presend (EMsgComposer *composer, gpointer user_data)
{
  LiaUiComposer *self = user_data;
  gint64 start = g_get_monotonic_time ();
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  EComposerHeaderTable *table = e_msg_composer_get_header_table (composer);
  g_autofree char *draft_id = draft_item_id (composer);
  g_autofree char *subject = NULL;

  self->send_tracked = FALSE;
  g_clear_pointer (&self->send_folder_uri, g_free);
  g_clear_pointer (&self->send_draft_id, g_free);
  if (!self->track)
    {
      lia_ui_selftest_log ("composer presend: tracking off, %.2f ms",
                           (g_get_monotonic_time () - start) / 1000.0);
      return TRUE;
    }
  if (plugin == NULL || funcs == NULL || funcs->dup_send_subject == NULL)
    {
      /* Never hold the send: say why it will not be tracked. */
      lia_ui_alert (shell_alert_sink (), GTK_WINDOW (composer), "no-engine", NULL);
      return TRUE;
    }
  self->send_folder_uri = sent_folder_uri (composer);
  if (self->send_folder_uri == NULL)
    {
      lia_ui_alert (shell_alert_sink (), GTK_WINDOW (composer), "refused",
                    _ ("this identity keeps no copy of sent messages, so there is nothing to track"));
      return TRUE;
    }
  subject = funcs->dup_send_subject (plugin, e_composer_header_table_get_subject (table));
  if (subject != NULL && g_strcmp0 (subject, e_composer_header_table_get_subject (table)) != 0)
    e_composer_header_table_set_subject (table, subject);
  /* R-IMM-DRAFT: a marked draft is released by its send (known without
   * a lookup: marked here, or found marked when the composer opened). */
  if (draft_id != NULL && g_strcmp0 (draft_id, self->marked_draft) == 0)
    self->send_draft_id = g_steal_pointer (&draft_id);
  self->send_tracked = TRUE;
  lia_ui_selftest_log (
      "composer presend: tracking on, subject \"%s\", draft %s, %.2f ms", subject != NULL ? subject : "",
      self->send_draft_id != NULL ? self->send_draft_id : "none", (g_get_monotonic_time () - start) / 1000.0);
  return TRUE;
}

typedef struct
{
  char *draft_id;
  LiaUiRegarding regarding;
} SentCopy;

static void
sent_copy_free (gpointer data)
{
  SentCopy *s = data;

  g_free (s->draft_id);
  lia_ui_regarding_clear (&s->regarding);
  g_free (s);
}

static void
track_sent_copy (const char *item_id, const char *folder_id, const LiaUiRegarding *regarding)
{
  LiaCommand c = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = regarding->id != NULL ? LIA_COMMAND_SET_REGARDING : LIA_COMMAND_TRACK,
    .surface = LIA_SURFACE_INSPECTOR,
    .store = LIA_EVO_STORE,
    .folder = folder_id,
    .item_id = item_id,
    .regarding_id = regarding->id,
    .regarding_name = regarding->name,
    .entity = LIA_ENTITY_EMAIL,
    .link_state = LIA_LINK_STATE_NONE,
  };

  /* The copy just appeared: untracked, unless a lookup saw otherwise (no
   * disk read here). */
  lia_ui_link_state_known (item_id, &c.link_state);
  /* Another account's Sent folder is refused here (R-MARK-PROFILE). */
  lia_ui_command (&c, shell_alert_sink (), NULL);
}

/* The plugin tracks the sent copy of a marked draft with what it
 * remembers or, after a restart, with what it reads from the draft (which
 * Evolution may have removed by then). A few seconds after the event the
 * sent copy must be queued or tracked; when the plugin says "none" it is
 * tracked directly with this composer's regarding, which is the draft's
 * (read from it when the composer opened) unless the user chose another. */
#define SEND_EVENT_CHECK_S 3

typedef struct
{
  char *item_id;
  char *folder_id;
  LiaUiRegarding regarding;
} SendCheck;

static void
send_check_free (gpointer data)
{
  SendCheck *c = data;

  g_free (c->item_id);
  g_free (c->folder_id);
  lia_ui_regarding_clear (&c->regarding);
  g_free (c);
}

/* Worker (dup_track_result is one of the any-thread entry points). */
static gpointer
send_check_read (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  SendCheck *c = data;

  if (funcs->dup_track_result == NULL)
    return NULL;
  return funcs->dup_track_result (plugin, LIA_EVO_STORE, c->item_id, error);
}

static void
send_check_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  SendCheck *c = user_data;

  lia_ui_selftest_log ("composer: after the send event %s is %s", c->item_id,
                       result != NULL  ? (const char *) result
                       : error != NULL ? error->message
                                       : "?");
  if (g_strcmp0 (result, "none") != 0)
    return;
  g_message ("Liaison: the draft's mark was lost (Evolution restarted?); tracking the sent copy %s directly",
             c->item_id);
  track_sent_copy (c->item_id, c->folder_id, &c->regarding);
}

static gboolean
send_check (gpointer data)
{
  SendCheck *c = data;

  /* The call owns @c from here (freed when it ends). */
  lia_ui_plugin_call (NULL, NULL, send_check_read, c, send_check_free, g_free, send_check_done, c);
  return G_SOURCE_REMOVE;
}

static void
follow_send_event (const char *item_id, const char *folder_id, const LiaUiRegarding *regarding)
{
  SendCheck *c = g_new0 (SendCheck, 1);

  c->item_id = g_strdup (item_id);
  c->folder_id = g_strdup (folder_id);
  c->regarding.entity = regarding->entity;
  c->regarding.id = g_strdup (regarding->id);
  c->regarding.name = g_strdup (regarding->name);
  g_timeout_add_seconds (SEND_EVENT_CHECK_S, send_check, c);
}

/* The sent copy is in its folder (main context): now CRM hears of it. */
static void
on_sent_copy (const char *item_id, const char *folder_id, const GError *error, gpointer user_data)
{
  SentCopy *s = user_data;
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;

  if (item_id == NULL)
    {
      lia_ui_selftest_log ("composer: sent copy not tracked: %s", error != NULL ? error->message : "?");
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        lia_ui_alert (shell_alert_sink (), NULL, "failed", error->message);
      return;
    }
  if (plugin == NULL || funcs == NULL)
    {
      lia_ui_alert (shell_alert_sink (), NULL, "no-engine", NULL);
      return;
    }
  if (s->draft_id != NULL)
    {
      /* R-IMM-DRAFT: the plugin tracks the sent copy with what the draft
       * was marked with; the draft itself never reaches CRM. */
      lia_ui_send_event (LIA_UI_EVENT_SEND, item_id, s->draft_id);
      lia_ui_selftest_log ("composer: send event for %s (draft %s)", item_id, s->draft_id);
      follow_send_event (item_id, folder_id, &s->regarding);
      return;
    }
  track_sent_copy (item_id, folder_id, &s->regarding);
}

/* "send" (and "save-to-outbox"): the message is built (with the token
 * from presend) and goes to the transport now or from the Outbox later.
 * Only its Message-ID is read. */
static void
on_send (EMsgComposer *composer, CamelMimeMessage *message, EActivity *activity, gpointer user_data)
{
  LiaUiComposer *self = user_data;
  g_autoptr (CamelSession) session = NULL;
  const char *message_id;
  SentCopy *s;

  if (!self->send_tracked)
    return;
  self->send_tracked = FALSE;
  message_id = camel_mime_message_get_message_id (message);
  session = e_msg_composer_ref_session (composer);
  if (message_id == NULL || session == NULL || !E_IS_MAIL_SESSION (session))
    {
      lia_ui_selftest_log ("composer send: no Message-ID or mail session, not tracked");
      return;
    }
  s = g_new0 (SentCopy, 1);
  s->draft_id = g_steal_pointer (&self->send_draft_id);
  s->regarding.entity = self->regarding.entity;
  s->regarding.id = g_strdup (self->regarding.id);
  s->regarding.name = g_strdup (self->regarding.name);
  lia_ui_selftest_log ("composer send: watching %s for <%s>", self->send_folder_uri, message_id);
  lia_ui_sent_watch (E_MAIL_SESSION (session), self->send_folder_uri, message_id, SENT_WATCH_S, on_sent_copy,
                     s, sent_copy_free);
  g_clear_pointer (&self->send_folder_uri, g_free);
}

static gboolean
poll_draft (gpointer user_data)
{
  LiaUiComposer *self = user_data;
  const char *uid = e_msg_composer_get_header (composer_of (self), DRAFT_MESSAGE_HEADER, 0);

  if (uid != NULL && g_strcmp0 (uid, self->draft_before) != 0)
    {
      self->draft_poll_id = 0;
      mark_draft (self, FALSE);
      return G_SOURCE_REMOVE;
    }
  if (++self->draft_polls < DRAFT_POLL_MAX)
    return G_SOURCE_CONTINUE;
  self->draft_poll_id = 0;
  lia_ui_selftest_log ("composer: the draft's id did not show; not marked");
  return G_SOURCE_REMOVE;
}

/* "save-to-drafts": Evolution appends the draft in the background and
 * then records its folder and uid on the composer; mark it then. */
static void
on_save_to_drafts (EMsgComposer *composer, CamelMimeMessage *message, EActivity *activity, gpointer user_data)
{
  LiaUiComposer *self = user_data;

  if (!self->track)
    return;
  g_free (self->draft_before);
  self->draft_before = g_strdup (e_msg_composer_get_header (composer, DRAFT_MESSAGE_HEADER, 0));
  self->draft_polls = 0;
  if (self->draft_poll_id == 0)
    self->draft_poll_id = g_timeout_add (DRAFT_POLL_MS, poll_draft, self);
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GObject) object = g_weak_ref_get (weak);
  LiaUiComposer *self = (LiaUiComposer *) object;
  EMsgComposer *composer;
  EHTMLEditor *editor;
  GtkActionGroup *group;
  GtkToggleAction *toggle;
  GtkAction *regarding;
  g_autoptr (GError) error = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  composer = composer_of (self);
  editor = e_msg_composer_get_editor (composer);
  group = editor != NULL ? e_html_editor_get_action_group (editor, "composer") : NULL;
  if (group == NULL || gtk_action_group_get_action (group, ACTION_TRACK_WHEN_SENT) != NULL)
    return G_SOURCE_REMOVE;
  toggle = gtk_toggle_action_new (ACTION_TRACK_WHEN_SENT, _ ("_Track in CRM When Sent"),
                                  _ ("Track this message in CRM when it is sent (with the CRM tracking "
                                     "token in its subject); a draft is never written to CRM"),
                                  NULL);
  gtk_action_set_icon_name (GTK_ACTION (toggle), "emblem-shared");
  gtk_action_set_is_important (GTK_ACTION (toggle), TRUE);
  gtk_action_group_add_action (group, GTK_ACTION (toggle));
  self->toggle = toggle;
  regarding = gtk_action_new (ACTION_REGARDING, _ ("Set _Regarding…"), NULL, NULL);
  gtk_action_set_icon_name (regarding, "insert-link");
  gtk_action_group_add_action (group, regarding);
  self->regarding_action = regarding;
  if (gtk_ui_manager_add_ui_from_string (e_html_editor_get_ui_manager (editor), ui_definition, -1, &error)
      == 0)
    g_warning ("cannot add the Liaison actions to the composer: %s", error->message);
  g_signal_connect_object (toggle, "toggled", G_CALLBACK (on_track_toggled), self, 0);
  g_signal_connect_object (regarding, "activate", G_CALLBACK (on_regarding), self, 0);
  gtk_action_set_sensitive (GTK_ACTION (toggle), lia_ui_engine () != NULL);
  gtk_action_set_sensitive (regarding, lia_ui_engine () != NULL);
  /* The group holds the actions. */
  g_object_unref (toggle);
  g_object_unref (regarding);
  g_signal_connect_object (composer, "map", G_CALLBACK (on_composer_map), self, 0);
  show_state (self);
  adopt_marked_draft (self);
  lia_ui_selftest_log ("composer: actions in place (track when sent %s)", self->track ? "on" : "off");
  return G_SOURCE_REMOVE;
}

static void
lia_ui_composer_constructed (GObject *object)
{
  EMsgComposer *composer = E_MSG_COMPOSER (e_extension_get_extensible (E_EXTENSION (object)));

  G_OBJECT_CLASS (lia_ui_composer_parent_class)->constructed (object);
  /* After Evolution's presend checks (they may stop the send: then no
   * token is spent). */
  g_signal_connect_object (composer, "presend", G_CALLBACK (on_presend), object, G_CONNECT_AFTER);
  g_signal_connect_object (composer, "send", G_CALLBACK (on_send), object, 0);
  /* Send Later: the same message goes out from the Outbox, reaching Sent
   * then (the watch waits a day). */
  g_signal_connect_object (composer, "save-to-outbox", G_CALLBACK (on_send), object, 0);
  g_signal_connect_object (composer, "save-to-drafts", G_CALLBACK (on_save_to_drafts), object, 0);
  /* The composer fills its action groups and headers after construction. */
  lia_ui_idle_with_weak_ref (object, setup_idle);
}

static void
lia_ui_composer_dispose (GObject *object)
{
  LiaUiComposer *self = (LiaUiComposer *) object;

  if (self->draft_poll_id != 0)
    g_source_remove (self->draft_poll_id);
  self->draft_poll_id = 0;
  g_clear_object (&self->info);
  G_OBJECT_CLASS (lia_ui_composer_parent_class)->dispose (object);
}

static void
lia_ui_composer_finalize (GObject *object)
{
  LiaUiComposer *self = (LiaUiComposer *) object;

  lia_ui_regarding_clear (&self->regarding);
  g_free (self->marked_draft);
  g_free (self->draft_looked_up);
  g_free (self->send_folder_uri);
  g_free (self->send_draft_id);
  g_free (self->draft_before);
  G_OBJECT_CLASS (lia_ui_composer_parent_class)->finalize (object);
}

static void
lia_ui_composer_class_init (LiaUiComposerClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_composer_constructed;
  G_OBJECT_CLASS (klass)->dispose = lia_ui_composer_dispose;
  G_OBJECT_CLASS (klass)->finalize = lia_ui_composer_finalize;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_MSG_COMPOSER;
}

static void
lia_ui_composer_class_finalize (LiaUiComposerClass *klass)
{
}

static void
lia_ui_composer_init (LiaUiComposer *self)
{
}

void
lia_ui_composer_register (GTypeModule *module)
{
  lia_ui_composer_register_type (module);
}
