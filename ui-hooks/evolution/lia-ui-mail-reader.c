/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <libemail-engine/libemail-engine.h>
#include <mail/e-mail-browser.h>
#include <mail/e-mail-reader.h>
#include <mail/e-mail-ui-session.h>
#include <mail/e-mail-label-list-store.h>
#include <glib/gstdio.h>
#include <shell/e-shell-taskbar.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-evo-mail.h"
#include "lia-ui-evo-private.h"

/* Track in CRM, Untrack, Set Regarding…, Synchronize Now on the mail
 * reader: the message-list popup, the toolbar and the Message menu of the
 * main window (Explorer) and of each message window (EMailBrowser,
 * Inspector).
 *
 * The extension attaches to every EMailReader: twice per main window
 * (EMailShellContent and EMailPanedView share one "mail" action group and
 * one UI manager) and once per message window. The actions go into the
 * reader's standard action group once, the UI is merged into each UI
 * manager once, and an activated action acts on the reader recorded on
 * its action group. The host builds its action groups after constructing
 * the extensions, so the setup runs in an idle holding a GWeakRef. */

#define READER_KEY "liaison-ui-reader"
#define MERGED_KEY "liaison-ui-merged"

static const char ui_definition[] = "<ui>"
                                    "  <popup name='mail-message-popup'>"
                                    "    <placeholder name='mail-message-popup-common-actions'>"
                                    "      <separator/>"
                                    "      <menuitem action='" LIA_UI_ACTION_TRACK "'/>"
                                    "      <menuitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                                    "      <menuitem action='" LIA_UI_ACTION_REGARDING "'/>"
                                    "      <menuitem action='" LIA_UI_ACTION_SYNC "'/>"
                                    "    </placeholder>"
                                    "  </popup>"
                                    "  <toolbar name='main-toolbar'>"
                                    "    <placeholder name='mail-toolbar-common'>"
                                    "      <toolitem action='" LIA_UI_ACTION_TRACK "'/>"
                                    "      <toolitem action='" LIA_UI_ACTION_REGARDING "'/>"
                                    "      <toolitem action='" LIA_UI_ACTION_SYNC "'/>"
                                    "    </placeholder>"
                                    "  </toolbar>"
                                    "  <menubar name='main-menu'>"
                                    "    <placeholder name='custom-menus'>"
                                    "      <menu action='mail-message-menu'>"
                                    "        <placeholder name='mail-message-custom-menus'>"
                                    "          <separator/>"
                                    "          <menuitem action='" LIA_UI_ACTION_TRACK "'/>"
                                    "          <menuitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                                    "          <menuitem action='" LIA_UI_ACTION_REGARDING "'/>"
                                    "          <menuitem action='" LIA_UI_ACTION_SYNC "'/>"
                                    "          <menuitem action='" LIA_UI_ACTION_STATUS "'/>"
                                    "        </placeholder>"
                                    "      </menu>"
                                    "    </placeholder>"
                                    "  </menubar>"
                                    "</ui>";

typedef struct
{
  EExtension parent;
  GWeakRef reader;
} LiaUiMailReader;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiMailReaderClass;

GType lia_ui_mail_reader_get_type (void);
/* Evolution 3.46 declares no autoptr cleanup for its interface type. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EMailReader, g_object_unref)
G_DEFINE_DYNAMIC_TYPE (LiaUiMailReader, lia_ui_mail_reader, E_TYPE_EXTENSION)

static GtkUIManager *
reader_ui_manager (EMailReader *reader)
{
  GtkWindow *window = e_mail_reader_get_window (reader);

  if (E_IS_SHELL_WINDOW (window))
    return e_shell_window_get_ui_manager (E_SHELL_WINDOW (window));
  if (E_IS_MAIL_BROWSER (window))
    return e_mail_browser_get_ui_manager (E_MAIL_BROWSER (window));
  return NULL;
}

/* The reader an action of @action acts on: the one recorded on its group. */
static EMailReader *
ref_reader_of (GtkAction *action)
{
  GtkActionGroup *group = NULL;
  GWeakRef *ref;

  g_object_get (action, "action-group", &group, NULL);
  if (group == NULL)
    return NULL;
  ref = g_object_get_data (G_OBJECT (group), READER_KEY);
  g_object_unref (group);
  return ref != NULL ? g_weak_ref_get (ref) : NULL;
}

typedef struct
{
  CamelFolder *folder;
  GPtrArray *uids;
  gboolean is_draft;
  LiaSurface surface;
} Selection;

static void
selection_clear (Selection *sel)
{
  g_clear_object (&sel->folder);
  g_clear_pointer (&sel->uids, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Selection, selection_clear)

static gboolean
get_selection (EMailReader *reader, Selection *sel)
{
  EMailBackend *backend = e_mail_reader_get_backend (reader);

  sel->folder = e_mail_reader_ref_folder (reader);
  sel->uids = e_mail_reader_get_selected_uids (reader);
  sel->surface =
      E_IS_MAIL_BROWSER (e_mail_reader_get_window (reader)) ? LIA_SURFACE_INSPECTOR : LIA_SURFACE_EXPLORER;
  if (sel->folder == NULL || sel->uids == NULL || sel->uids->len == 0)
    return FALSE;
  if (backend != NULL)
    {
      EShell *shell = e_shell_backend_get_shell (E_SHELL_BACKEND (backend));

      sel->is_draft = em_utils_folder_is_drafts (e_shell_get_registry (shell), sel->folder);
    }
  return TRUE;
}

/* Marks the selection after its first message through track_many; FALSE
 * when the plugin has no track_many (the caller goes on one command per
 * message). *out_n: how many were marked (0 after a refusal, shown as an
 * alert). */
static gboolean
track_many_rest (EMailReader *reader, const Selection *sel, const LiaCommand *first, const char *store,
                 const char *full_name, guint *out_n)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  LiaCommand c = *first;

  *out_n = 0;
  if (plugin == NULL || funcs == NULL || funcs->track_many == NULL)
    return FALSE;
  for (guint i = 1; i < sel->uids->len; i++)
    g_ptr_array_add (ids,
                     lia_evo_engine_item_id_for_message (store, full_name, g_ptr_array_index (sel->uids, i)));
  g_ptr_array_add (ids, NULL);
  c.item_id = NULL;
  c.link_state = LIA_LINK_STATE_NONE;
  if (!funcs->track_many (plugin, &c, (const char *const *) ids->pdata, &error))
    {
      EAlert *alert = lia_ui_alert_for_error (error);

      lia_ui_selftest_log ("track_many %u: %s", ids->len - 1, error->message);
      e_alert_sink_submit_alert (e_mail_reader_get_alert_sink (reader), alert);
      g_object_unref (alert);
      return TRUE;
    }
  lia_ui_selftest_log ("track_many %u: ok", ids->len - 1);
  *out_n = ids->len - 1;
  return TRUE;
}

/* Gives @kind for every selected message; returns how many succeeded. */
/* The link state the message shows: what the last lookup saw, else the
 * message's own tag in the folder's summary (in memory for a listed
 * folder), never the sync cache on the main loop. */
static LiaLinkState
message_link_state (CamelFolder *folder, const char *uid, const char *item_id)
{
  g_autoptr (CamelMessageInfo) info = NULL;
  LiaLinkState state;

  if (lia_ui_link_state_known (item_id, &state))
    return state;
  info = camel_folder_get_message_info (folder, uid);
  return info != NULL ? lia_evo_mail_info_link_state (info) : LIA_LINK_STATE_NONE;
}

static guint
command_on_selection (EMailReader *reader, LiaCommandKind kind, const LiaUiRegarding *regarding,
                      gboolean delete_in_crm)
{
  g_auto (Selection) sel = { 0 };
  const char *full_name, *store;
  g_autofree char *folder_id = NULL;
  guint ok = 0;

  if (!get_selection (reader, &sel))
    return 0;
  full_name = camel_folder_get_full_name (sel.folder);
  store = camel_service_get_uid (CAMEL_SERVICE (camel_folder_get_parent_store (sel.folder)));
  /* The primary account's mail is part of the profile's primary store
   * (lia-evo-host.h); its folders are named by account and full name. The
   * plugin refuses messages of other accounts with a reason. */
  folder_id = lia_evo_mail_folder_id (store, full_name);
  for (guint i = 0; i < sel.uids->len; i++)
    {
      g_autofree char *item_id =
          lia_evo_engine_item_id_for_message (store, full_name, g_ptr_array_index (sel.uids, i));
      LiaCommand c = {
        .abi_version = LIA_PLUGIN_ABI_VERSION,
        .kind = kind,
        .surface = sel.surface,
        .store = LIA_EVO_STORE,
        .folder = folder_id,
        .item_id = item_id,
        .regarding_id = regarding != NULL ? regarding->id : NULL,
        .regarding_name = regarding != NULL ? regarding->name : NULL,
        .delete_in_crm = delete_in_crm,
        .entity = LIA_ENTITY_EMAIL,
        .link_state = message_link_state (sel.folder, g_ptr_array_index (sel.uids, i), item_id),
        .is_draft = sel.is_draft,
      };

      /* One alert for the first refusal is enough: stop there. */
      if (!lia_ui_command (&c, e_mail_reader_get_alert_sink (reader), e_mail_reader_get_window (reader)))
        break;
      ok++;
      /* R-MAIL-BULK: the first message went through the rules (another
       * account's mail is refused there, R-MARK-PROFILE); the rest of a
       * multi-selection is marked at once by the plugin's track_many. */
      if (i == 0 && sel.uids->len > 1 && !sel.is_draft && kind != LIA_COMMAND_UNTRACK)
        {
          guint n;

          if (track_many_rest (reader, &sel, &c, store, full_name, &n))
            return ok + n;
        }
    }
  return ok;
}

static void
on_track (GtkAction *action, gpointer user_data)
{
  g_autoptr (EMailReader) reader = ref_reader_of (action);

  if (reader != NULL)
    command_on_selection (reader, LIA_COMMAND_TRACK, NULL, FALSE);
}

static void
on_untrack (GtkAction *action, gpointer user_data)
{
  g_autoptr (EMailReader) reader = ref_reader_of (action);
  g_autoptr (GPtrArray) uids = NULL;
  gboolean delete_in_crm = FALSE;

  if (reader == NULL)
    return;
  uids = e_mail_reader_get_selected_uids (reader);
  if (uids == NULL || uids->len == 0)
    return;
  /* SPEC section 6: the user decides whether the CRM copy goes too. */
  if (!lia_ui_ask_untrack (e_mail_reader_get_window (reader), uids->len, &delete_in_crm))
    return;
  command_on_selection (reader, LIA_COMMAND_UNTRACK, NULL, delete_in_crm);
}

static void
on_regarding (GtkAction *action, gpointer user_data)
{
  g_autoptr (EMailReader) reader = ref_reader_of (action);
  g_auto (LiaUiRegarding) regarding = { 0 };

  if (reader == NULL)
    return;
  if (!lia_ui_regarding_run (e_mail_reader_get_window (reader), &regarding))
    return;
  command_on_selection (reader, LIA_COMMAND_SET_REGARDING, &regarding, FALSE);
}

static void
on_sync (GtkAction *action, gpointer user_data)
{
  g_autoptr (EMailReader) reader = ref_reader_of (action);
  LiaCommand c = { .abi_version = LIA_PLUGIN_ABI_VERSION, .kind = LIA_COMMAND_SYNC_NOW };

  c.surface = reader != NULL && E_IS_MAIL_BROWSER (e_mail_reader_get_window (reader)) ? LIA_SURFACE_INSPECTOR
                                                                                      : LIA_SURFACE_EXPLORER;
  lia_ui_command (&c, reader != NULL ? e_mail_reader_get_alert_sink (reader) : NULL, NULL);
}

static void
set_sensitive (GtkActionGroup *group, const char *name, gboolean sensitive)
{
  GtkAction *action = gtk_action_group_get_action (group, name);

  if (action == NULL)
    return;
  gtk_action_set_sensitive (action, sensitive);
}

/* Tracking state visible: for one selected message, the status bar of the
 * main window says whether it is tracked (and why, when it was tracked
 * automatically), from the plugin's per-message result. */
static void
show_tracking (EMailReader *reader, const char *regarding, const char *result, const char *reason)
{
  GtkWindow *window = e_mail_reader_get_window (reader);
  EShellView *view;
  EShellTaskbar *taskbar;
  g_autofree char *line = NULL;

  if (!E_IS_SHELL_WINDOW (window))
    return;
  view = e_shell_window_peek_shell_view (E_SHELL_WINDOW (window), "mail");
  taskbar = view != NULL ? e_shell_view_get_shell_taskbar (view) : NULL;
  if (taskbar == NULL)
    return;
  if (result != NULL && g_str_has_prefix (result, "tracked"))
    {
      if (regarding != NULL && *regarding != '\0')
        line = reason != NULL ? g_strdup_printf (_ ("Tracked in CRM, regarding %s (automatically: %s)"),
                                                 regarding, reason)
                              : g_strdup_printf (_ ("Tracked in CRM, regarding %s"), regarding);
      else
        line = reason != NULL ? g_strdup_printf (_ ("Tracked in CRM (automatically: %s)"), reason)
                              : g_strdup (_ ("Tracked in CRM"));
    }
  else if (g_strcmp0 (result, "pending") == 0)
    line = g_strdup (_ ("Being tracked in CRM…"));
  else if (result != NULL && g_str_has_prefix (result, "failed: "))
    line = g_strdup_printf (_ ("Tracking in CRM failed: %s"), result + strlen ("failed: "));
  if (line != NULL)
    e_shell_taskbar_set_message (taskbar, line);
  else if (g_object_get_data (G_OBJECT (taskbar), "liaison-message") != NULL)
    e_shell_taskbar_unset_message (taskbar);
  /* Only ever clear a message this code set. */
  g_object_set_data (G_OBJECT (taskbar), "liaison-message", GINT_TO_POINTER (line != NULL));
}

/* The sensitivity the UI can tell without asking the org. Tracking needs
 * a selection; for one message the link state decides between Track and
 * Untrack (both while it is not known yet); with several both stay
 * available and the plugin decides per message. */
static void
set_sensitivities (EMailReader *reader, gboolean any, gboolean multiple, gboolean vtrash, gboolean link_known,
                   LiaLinkState link)
{
  GtkActionGroup *group = e_mail_reader_get_action_group (reader, E_MAIL_READER_ACTION_GROUP_STANDARD);
  gboolean engine = lia_ui_engine () != NULL;
  gboolean either = multiple || !link_known;

  if (group == NULL)
    return;
  set_sensitive (group, LIA_UI_ACTION_TRACK,
                 engine && any && !vtrash && (either || link == LIA_LINK_STATE_NONE));
  set_sensitive (group, LIA_UI_ACTION_UNTRACK,
                 engine && any && !vtrash && (either || link != LIA_LINK_STATE_NONE));
  set_sensitive (group, LIA_UI_ACTION_REGARDING, engine && any && !vtrash);
  set_sensitive (group, LIA_UI_ACTION_SYNC, engine);
}

/* One message's state, read on a worker (the sync cache: lia-plugin.h
 * "Threads"); the call's data doubles as its done callback's user data. */
typedef struct
{
  char *item_id;
  char *regarding; /* the Camel user tag, read on the main context */
  gboolean vtrash;
} MailQuery;

typedef struct
{
  LiaLinkState link;
  char *result;
  char *reason;
} MailState;

static void
mail_query_free (gpointer data)
{
  MailQuery *q = data;

  g_free (q->item_id);
  g_free (q->regarding);
  g_free (q);
}

static void
mail_state_free (gpointer data)
{
  MailState *st = data;

  if (st == NULL)
    return;
  g_free (st->result);
  g_free (st->reason);
  g_free (st);
}

static gpointer
read_mail_state (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  const MailQuery *q = data;
  MailState *st = g_new0 (MailState, 1);
  g_autoptr (LiaCacheMapping) m = NULL;

  if (funcs->lookup_item != NULL)
    m = funcs->lookup_item (plugin, LIA_EVO_STORE, q->item_id, error);
  if (error != NULL && *error != NULL)
    {
      mail_state_free (st);
      return NULL;
    }
  st->link = m != NULL ? m->state : LIA_LINK_STATE_NONE;
  if (funcs->dup_track_result != NULL)
    st->result = funcs->dup_track_result (plugin, LIA_EVO_STORE, q->item_id, NULL);
  if (st->result != NULL && g_str_has_prefix (st->result, "tracked") && funcs->dup_track_reason != NULL)
    st->reason = funcs->dup_track_reason (plugin, LIA_EVO_STORE, q->item_id, NULL);
  return st;
}

static void
mail_state_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  EMailReader *reader = owner;
  const MailQuery *q = user_data;
  MailState *st = result;

  if (st == NULL)
    {
      lia_ui_selftest_log ("message state of %s not read: %s", q->item_id,
                           error != NULL ? error->message : "");
      return;
    }
  lia_ui_link_state_remember (q->item_id, st->link);
  set_sensitivities (reader, TRUE, FALSE, q->vtrash, TRUE, st->link);
  show_tracking (reader, q->regarding, st->result, st->reason);
  mail_state_free (st);
}

#define LOOKUP_KEY "liaison-ui-lookup"

static void
cancel_and_unref (gpointer data)
{
  g_cancellable_cancel (data);
  g_object_unref (data);
}

/* EMailReader::update-actions: sensitivity at once from what is known,
 * the selected message's state read off the main loop; an answer for a
 * selection that changed meanwhile is dropped. */
static void
on_update_actions (EMailReader *reader, guint32 state, gpointer user_data)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  gboolean single = (state & E_MAIL_READER_SELECTION_SINGLE) != 0;
  gboolean multiple = (state & E_MAIL_READER_SELECTION_MULTIPLE) != 0;
  gboolean vtrash = (state & E_MAIL_READER_FOLDER_IS_VTRASH) != 0;
  GCancellable *cancellable = g_cancellable_new ();
  LiaLinkState link = LIA_LINK_STATE_NONE;
  gboolean known = FALSE;

  /* Replacing the data cancels the previous selection's lookup. */
  g_object_set_data_full (G_OBJECT (reader), LOOKUP_KEY, cancellable, cancel_and_unref);
  if (single && engine != NULL)
    {
      g_auto (Selection) sel = { 0 };

      if (get_selection (reader, &sel))
        {
          CamelStore *store = camel_folder_get_parent_store (sel.folder);
          CamelMessageInfo *info =
              camel_folder_get_message_info (sel.folder, g_ptr_array_index (sel.uids, 0));
          MailQuery *q = g_new0 (MailQuery, 1);

          q->item_id = lia_evo_engine_item_id_for_message (camel_service_get_uid (CAMEL_SERVICE (store)),
                                                           camel_folder_get_full_name (sel.folder),
                                                           g_ptr_array_index (sel.uids, 0));
          /* The regarding record's name as the host adapter tagged the
           * message (R-MAIL-TAGGING). */
          q->regarding = info != NULL
                             ? g_strdup (camel_message_info_get_user_tag (info, LIA_UI_TAG_REGARDING_NAME))
                             : NULL;
          q->vtrash = vtrash;
          g_clear_object (&info);
          known = lia_ui_link_state_known (q->item_id, &link);
          lia_ui_plugin_call (reader, cancellable, read_mail_state, q, mail_query_free, mail_state_free,
                              mail_state_done, q);
        }
    }
  else
    show_tracking (reader, NULL, NULL, NULL);
  set_sensitivities (reader, single || multiple, multiple, vtrash, known, link);
}

static guint
merge_ui (GtkUIManager *ui_manager)
{
  g_autoptr (GError) error = NULL;
  guint merge_id = gtk_ui_manager_add_ui_from_string (ui_manager, ui_definition, -1, &error);

  if (merge_id == 0)
    g_warning ("cannot add the Liaison actions to the mail UI: %s", error->message);
  return merge_id;
}

#define MERGE_ID_KEY "liaison-ui-merge-id"

static gboolean
sync_mail_view_ui (gpointer data)
{
  g_autoptr (GObject) view = g_weak_ref_get (data);
  gboolean merged;

  if (view == NULL)
    return G_SOURCE_REMOVE;
  merged = lia_ui_follow_view_ui (E_SHELL_VIEW (view), MERGE_ID_KEY, ui_definition, "actions to the mail UI");
  lia_ui_selftest_log ("mail view %s: Liaison UI %s",
                       e_shell_view_is_active (E_SHELL_VIEW (view)) ? "active" : "inactive",
                       merged ? "merged" : "removed");
  return G_SOURCE_REMOVE;
}

/* EShellView::toggled: the view's own UI is merged or removed around this
 * signal; follow it once the switch is over. */
static void
on_mail_view_toggled (EShellView *view, gpointer user_data)
{
  lia_ui_idle_with_weak_ref (view, sync_mail_view_ui);
}

/* Tracking state in the message list: the host adapter sets the user
 * flag LIA_EVO_MAIL_FLAG_TRACKED on every tracked message; a label with
 * that tag makes Evolution's Labels column and row colour show it. Added
 * once to the user's label list (Edit → Preferences → Mail → Labels, where
 * the user may recolour or remove it; it is not added back then). */
static void
ensure_crm_label (EMailReader *reader)
{
  static gboolean done;
  EMailBackend *backend = e_mail_reader_get_backend (reader);
  EMailSession *session = backend != NULL ? e_mail_backend_get_session (backend) : NULL;
  EMailLabelListStore *labels;
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "liaison", "ui.ini", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GtkTreeIter iter;

  if (done || session == NULL || !E_IS_MAIL_UI_SESSION (session))
    return;
  done = TRUE;
  /* A display preference of this UI, not sync state. */
  g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  if (g_key_file_get_boolean (kf, "message-list", "crm-label-added", NULL))
    return;
  labels = e_mail_ui_session_get_label_store (E_MAIL_UI_SESSION (session));
  if (!e_mail_label_list_store_lookup (labels, LIA_EVO_MAIL_FLAG_TRACKED, &iter))
    {
      GdkColor color = { 0, 0x4e00, 0x9a00, 0x0600 };

      e_mail_label_list_store_set_with_tag (labels, NULL, LIA_EVO_MAIL_FLAG_TRACKED, _ ("Tracked in CRM"),
                                            &color);
      lia_ui_selftest_log ("label \"%s\" added for tracked mail", LIA_EVO_MAIL_FLAG_TRACKED);
    }
  g_key_file_set_boolean (kf, "message-list", "crm-label-added", TRUE);
  {
    g_autofree char *dir = g_path_get_dirname (path);

    g_mkdir_with_parents (dir, 0700);
  }
  g_key_file_save_to_file (kf, path, NULL);
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (EMailReader) reader = g_weak_ref_get (weak);
  GtkActionGroup *group;
  GtkUIManager *ui_manager;

  if (reader == NULL)
    return G_SOURCE_REMOVE;
  group = e_mail_reader_get_action_group (reader, E_MAIL_READER_ACTION_GROUP_STANDARD);
  ui_manager = reader_ui_manager (reader);
  if (group == NULL || ui_manager == NULL)
    {
      g_debug ("mail reader %s: no action group or UI manager, no Liaison actions",
               G_OBJECT_TYPE_NAME (reader));
      return G_SOURCE_REMOVE;
    }
  if (g_object_get_data (G_OBJECT (group), READER_KEY) == NULL)
    {
      GWeakRef *ref = g_new0 (GWeakRef, 1);

      g_weak_ref_init (ref, reader);
      g_object_set_data_full (G_OBJECT (group), READER_KEY, ref, lia_ui_weak_ref_free);
      lia_ui_add_actions (group, NULL, NULL, G_CALLBACK (on_track), G_CALLBACK (on_untrack),
                          G_CALLBACK (on_regarding), G_CALLBACK (on_sync));
    }
  if (E_IS_SHELL_WINDOW (e_mail_reader_get_window (reader)))
    {
      /* The main window: the mail view merges its UI when it becomes
       * active and removes it when another view takes over; follow it. */
      EShellView *view =
          e_shell_window_peek_shell_view (E_SHELL_WINDOW (e_mail_reader_get_window (reader)), "mail");

      if (view != NULL && g_object_get_data (G_OBJECT (view), MERGED_KEY) == NULL)
        {
          g_object_set_data (G_OBJECT (view), MERGED_KEY, GUINT_TO_POINTER (1));
          g_signal_connect (view, "toggled", G_CALLBACK (on_mail_view_toggled), NULL);
          on_mail_view_toggled (view, NULL);
        }
    }
  else if (g_object_get_data (G_OBJECT (ui_manager), MERGED_KEY) == NULL)
    g_object_set_data (G_OBJECT (ui_manager), MERGED_KEY, GUINT_TO_POINTER (merge_ui (ui_manager)));
  g_signal_connect (reader, "update-actions", G_CALLBACK (on_update_actions), NULL);
  ensure_crm_label (reader);
  lia_ui_selftest_log ("mail reader %s: actions in place", G_OBJECT_TYPE_NAME (reader));
  return G_SOURCE_REMOVE;
}

static void
lia_ui_mail_reader_constructed (GObject *object)
{
  LiaUiMailReader *self = (LiaUiMailReader *) object;
  EExtensible *reader = e_extension_get_extensible (E_EXTENSION (object));

  G_OBJECT_CLASS (lia_ui_mail_reader_parent_class)->constructed (object);
  g_weak_ref_set (&self->reader, reader);
  lia_ui_idle_with_weak_ref (reader, setup_idle);
}

static void
lia_ui_mail_reader_finalize (GObject *object)
{
  LiaUiMailReader *self = (LiaUiMailReader *) object;

  g_weak_ref_clear (&self->reader);
  G_OBJECT_CLASS (lia_ui_mail_reader_parent_class)->finalize (object);
}

static void
lia_ui_mail_reader_class_init (LiaUiMailReaderClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_mail_reader_constructed;
  G_OBJECT_CLASS (klass)->finalize = lia_ui_mail_reader_finalize;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_MAIL_READER;
}

static void
lia_ui_mail_reader_class_finalize (LiaUiMailReaderClass *klass)
{
}

static void
lia_ui_mail_reader_init (LiaUiMailReader *self)
{
  g_weak_ref_init (&self->reader, NULL);
}

void
lia_ui_mail_reader_register (GTypeModule *module)
{
  lia_ui_mail_reader_register_type (module);
}
