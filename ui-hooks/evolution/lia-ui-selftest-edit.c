/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>
#include <string.h>

#include <calendar/gui/e-cal-list-view.h>
#include <calendar/gui/e-cal-model.h>
#include <calendar/gui/e-calendar-view.h>
#include <calendar/gui/e-task-table.h>
#include <e-util/e-util.h>
#include <libebook/libebook.h>
#include <libemail-engine/libemail-engine.h>
#include <mail/e-mail-backend.h>
#include <mail/e-mail-reader.h>
#include <mail/em-folder-tree.h>
#include <shell/e-shell-content.h>
#include <shell/e-shell-sidebar.h>
#include <shell/e-shell-taskbar.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"
#include "lia-ui-selftest-private.h"

/* Self-test phases (lia-ui-selftest-private.h) of the contact editor, the
 * contacts view's status line and folder tracking. Only the self-test mode
 * runs them. Environment (tests/ui/test-ui.sh):
 *   LIAISON_UI_SELFTEST_CONTACT          the test contact's family name
 *   LIAISON_UI_SELFTEST_ACCOUNT          the mail account (its store uid)
 *   LIAISON_UI_SELFTEST_FOLDER_SUBJECT   the subject of the message that
 *                                        arrives in the tracked folder
 *   LIAISON_UI_SELFTEST_MOVED_SUBJECT    an older Inbox message moved into it
 *   LIAISON_UI_SELFTEST_TASK             the test task's summary
 *   LIAISON_UI_SELFTEST_EVENT            the test event's summary */

/* The state the engine recorded for @item_id, read from the sync cache on
 * the calling thread: the self-test checks the engine's result; the UI
 * itself never reads the cache on the main loop (lia_ui_link_state()). */
static LiaLinkState
engine_link_state (const char *item_id)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  g_autoptr (LiaCacheMapping) m = NULL;

  if (plugin == NULL || funcs == NULL || funcs->lookup_item == NULL || item_id == NULL)
    return LIA_LINK_STATE_NONE;
  m = funcs->lookup_item (plugin, LIA_EVO_STORE, item_id, NULL);
  return m != NULL ? m->state : LIA_LINK_STATE_NONE;
}

GtkWidget *lia_ui_regarding_dialog_get_entry (GtkWidget *dialog);

#define FOLDER_NAME "Liaison Project"

static struct
{
  /* contact editor */
  GObject *editor; /* weak */
  GtkWindow *editor_window;
  GObject *editor2; /* weak */
  GtkWindow *editor_window2;
  guint missing_logged;
  /* folder */
  CamelStore *store;
  gboolean created;
  char *created_error;
  char *appended_uid;
  char *append_error;
  gboolean appended;
  char *regarding_id;
  char *regarding_name;
  gboolean synced;
  char *inbox_uri; /* selected before the phase */
  gboolean moved;
  char *moved_uid; /* in the tracked folder */
  char *move_error;
  /* tasks view */
  char *task_regarding;
} t;

static gpointer
process_symbol (const char *name)
{
  static GModule *process;
  gpointer symbol = NULL;

  if (process == NULL)
    process = g_module_open (NULL, 0);
  if (process == NULL || !g_module_symbol (process, name, &symbol))
    {
      lia_ui_selftest_log ("no symbol %s in this Evolution", name);
      return NULL;
    }
  return symbol;
}

static const char *
status_line (const char *view_name)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), view_name);
  const char *msg = view != NULL ? e_shell_taskbar_get_message (e_shell_view_get_shell_taskbar (view)) : NULL;

  return msg != NULL ? msg : "";
}

/* ---- the contacts view and the contact editor ---- */

typedef GObject *(*GetModelFunc) (GtkWidget *view);
typedef gint (*CountFunc) (GObject *model);
typedef EContact *(*ContactAtFunc) (GObject *model, gint index);
typedef EBookClient *(*GetClientFunc) (GObject *model);
typedef ESelectionModel *(*GetSelectionFunc) (GtkWidget *view);
typedef GObject *(*EditorNewFunc) (EShell *shell, EBookClient *client, EContact *contact, gboolean is_new,
                                   gboolean editable);
typedef void (*EditorVoidFunc) (GObject *editor);
typedef void (*EditorSaveFunc) (GObject *editor, gboolean should_close);

/* The test contact's row in the contacts view's model, selected alone;
 * -1 when it is not there (yet). */
static gint
select_test_contact (EContact **out_contact, EBookClient **out_client)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "addressbook");
  GtkWidget *book_view = view != NULL
                             ? lia_ui_find_mapped (GTK_WIDGET (e_shell_view_get_shell_content (view)),
                                                   g_type_from_name ("EAddressbookView"))
                             : NULL;
  GetModelFunc get_model = process_symbol ("e_addressbook_view_get_model");
  CountFunc count = process_symbol ("e_addressbook_model_contact_count");
  ContactAtFunc contact_at = process_symbol ("e_addressbook_model_contact_at");
  GetClientFunc get_client = process_symbol ("e_addressbook_model_get_client");
  GetSelectionFunc get_selection = process_symbol ("e_addressbook_view_get_selection_model");
  const char *family = g_getenv ("LIAISON_UI_SELFTEST_CONTACT");
  GObject *model;

  if (book_view == NULL || get_model == NULL || count == NULL || contact_at == NULL || get_client == NULL
      || get_selection == NULL || family == NULL)
    return -1;
  model = get_model (book_view);
  for (gint i = 0; model != NULL && i < count (model); i++)
    {
      EContact *contact = contact_at (model, i);

      if (contact != NULL && g_strcmp0 (e_contact_get_const (contact, E_CONTACT_FAMILY_NAME), family) == 0)
        {
          ESelectionModel *selection = get_selection (book_view);

          if (selection != NULL)
            e_selection_model_select_single_row (selection, i);
          e_shell_view_update_actions (view);
          *out_contact = contact;
          *out_client = get_client (model);
          return i;
        }
    }
  return -1;
}

static GtkWidget *
editor_button (void)
{
  return t.editor_window != NULL
             ? lia_ui_selftest_find_named (GTK_WIDGET (t.editor_window), "liaison-contact-editor-button")
             : NULL;
}

/* The action behind the button's menu item @name. */
static GtkAction *
editor_action (const char *name)
{
  GtkWidget *button = editor_button ();
  GtkMenu *menu = button != NULL ? gtk_menu_button_get_popup (GTK_MENU_BUTTON (button)) : NULL;
  g_autoptr (GList) items = menu != NULL ? gtk_container_get_children (GTK_CONTAINER (menu)) : NULL;

  for (GList *l = items; l != NULL; l = l->next)
    {
      GtkAction *action = gtk_activatable_get_related_action (GTK_ACTIVATABLE (l->data));

      if (action != NULL && g_strcmp0 (gtk_action_get_name (action), name) == 0)
        return action;
    }
  return NULL;
}

static gboolean
editor_action_sensitive (const char *name)
{
  GtkAction *action = editor_action (name);

  return action != NULL && gtk_action_is_sensitive (action);
}

static gboolean
editor_state_is (LiaLinkState want)
{
  LiaLinkState state = LIA_LINK_STATE_N;

  return lia_ui_contact_editor_state (t.editor_window, &state) && state == want;
}

/* The state line: the header bar's subtitle, else the label by the button. */
static const char *
editor_line (void)
{
  GtkWidget *bar = t.editor_window != NULL ? gtk_window_get_titlebar (t.editor_window) : NULL;
  GtkWidget *label = t.editor_window != NULL ? lia_ui_selftest_find_named (GTK_WIDGET (t.editor_window),
                                                                           "liaison-contact-editor-line")
                                             : NULL;

  if (bar != NULL && GTK_IS_HEADER_BAR (bar))
    return gtk_header_bar_get_subtitle (GTK_HEADER_BAR (bar));
  return label != NULL ? gtk_label_get_text (GTK_LABEL (label)) : NULL;
}

/* Opens the test contact's editor as a double click does
 * (e_contact_editor_new + eab_editor_show); into *@out_editor and
 * *@out_window (weak pointers). */
static gboolean
open_test_editor (GObject **out_editor, GtkWindow **out_window)
{
  EContact *contact = NULL;
  EBookClient *client = NULL;
  EditorNewFunc editor_new = process_symbol ("e_contact_editor_new");
  EditorVoidFunc show = process_symbol ("eab_editor_show");
  GtkWindow *(*get_window) (GObject *) = process_symbol ("eab_editor_get_window");
  GObject *editor;

  if (select_test_contact (&contact, &client) < 0 || editor_new == NULL || show == NULL || get_window == NULL
      || client == NULL)
    return FALSE;
  /* An earlier editor still alive must not clear the new pointers. */
  if (*out_editor != NULL)
    g_object_remove_weak_pointer (*out_editor, (gpointer *) out_editor);
  if (*out_window != NULL)
    g_object_remove_weak_pointer (G_OBJECT (*out_window), (gpointer *) out_window);
  editor = editor_new (e_shell_get_default (), client, contact, FALSE, TRUE);
  show (editor);
  *out_editor = editor;
  g_object_add_weak_pointer (editor, (gpointer *) out_editor);
  *out_window = get_window (editor);
  g_object_add_weak_pointer (G_OBJECT (*out_window), (gpointer *) out_window);
  return TRUE;
}

/* The test contact's link state as the sync cache has it now (a fresh
 * read: the UI's remembered states may be older). */
static LiaLinkState
contact_cache_state (void)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  EContact *contact = NULL;
  EBookClient *client = NULL;
  g_autofree char *item_id = NULL;
  LiaCacheMapping *m;
  LiaLinkState state;

  if (funcs == NULL || plugin == NULL || select_test_contact (&contact, &client) < 0)
    return LIA_LINK_STATE_N;
  item_id = lia_evo_engine_item_id_for_contact (e_contact_get_const (contact, E_CONTACT_UID));
  m = funcs->lookup_item (plugin, LIA_EVO_STORE, item_id, NULL);
  state = m != NULL ? m->state : LIA_LINK_STATE_NONE;
  lia_cache_mapping_free (m);
  return state;
}

static void
close_editor (GObject *editor)
{
  EditorVoidFunc close = process_symbol ("eab_editor_close");

  if (close != NULL && editor != NULL)
    close (editor);
}

LiaUiPhaseResult
lia_ui_selftest_phase_contact_editor (guint step, guint waited)
{
  switch (step)
    {
    case 0:
      e_shell_window_set_active_view (lia_ui_selftest_window (), "addressbook");
      return LIA_UI_PHASE_NEXT;
    case 1: /* the test contact alone selected: the status line (issue 7) */
      {
        EContact *contact = NULL;
        EBookClient *client = NULL;

        if (waited < 10 || lia_ui_selftest_engine_busy ())
          return waited < 300 ? LIA_UI_PHASE_WAIT : LIA_UI_PHASE_NEXT;
        if (select_test_contact (&contact, &client) < 0)
          {
            if (waited < 100)
              return LIA_UI_PHASE_WAIT;
            lia_ui_selftest_check (FALSE, "the test contact is in the contacts view");
            e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
            return LIA_UI_PHASE_DONE;
          }
        return LIA_UI_PHASE_NEXT;
      }
    case 2:
      if (strstr (status_line ("addressbook"), "Tracked in CRM") == NULL && waited < 50)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_log ("contacts view status line: %s", status_line ("addressbook"));
      lia_ui_selftest_check (strstr (status_line ("addressbook"), "Tracked in CRM") != NULL,
                             "the contacts view's status line says the selected contact is tracked in CRM "
                             "(read off the main loop)");
      return LIA_UI_PHASE_NEXT;
    case 3: /* open its editor as a double click does */
      if (!open_test_editor (&t.editor, &t.editor_window))
        {
          lia_ui_selftest_check (FALSE, "the contact editor can be opened (private symbols)");
          e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 4: /* the button, its actions as the rules say, the line */
      if ((editor_button () == NULL || !editor_state_is (LIA_LINK_STATE_TRACKED)) && waited < 100)
        return LIA_UI_PHASE_WAIT;
      {
        GtkWidget *button = editor_button ();

        lia_ui_selftest_check (
            button != NULL && gtk_widget_get_mapped (button),
            "the contact editor shows a CRM button (window-added + eab_editor_get_all_editors; "
            "3.46's editor has no header bar: beside Save)");
        lia_ui_selftest_check (!editor_action_sensitive (LIA_UI_ACTION_TRACK)
                                   && editor_action_sensitive (LIA_UI_ACTION_UNTRACK),
                               "R-IMM-UNTRACK-INSP: in the editor of a tracked contact Untrack is sensitive, "
                               "Track is not");
        lia_ui_selftest_check (
            editor_action (LIA_UI_ACTION_REGARDING) != NULL
                && !editor_action_sensitive (LIA_UI_ACTION_REGARDING),
            "R-MARK-REGARDING: Set Regarding is in the contact editor, insensitive (a contact "
            "is a CRM record, not an activity)");
        lia_ui_selftest_log ("contact editor line: %s", editor_line () != NULL ? editor_line () : "(none)");
        lia_ui_selftest_check (editor_line () != NULL && strstr (editor_line (), "Tracked in CRM") != NULL,
                               "the contact editor says the contact is tracked in CRM");
        if (button != NULL)
          gtk_button_clicked (GTK_BUTTON (button));
        lia_ui_selftest_screenshot ("contact-editor");
        if (button != NULL && gtk_menu_button_get_popup (GTK_MENU_BUTTON (button)) != NULL)
          gtk_menu_shell_deactivate (GTK_MENU_SHELL (gtk_menu_button_get_popup (GTK_MENU_BUTTON (button))));
        if (editor_action (LIA_UI_ACTION_UNTRACK) != NULL)
          gtk_action_activate (editor_action (LIA_UI_ACTION_UNTRACK));
      }
      return LIA_UI_PHASE_NEXT;
    case 5: /* untracked (CRM copy kept: the self-test answers the question) */
      if ((!editor_state_is (LIA_LINK_STATE_NONE) || lia_ui_selftest_engine_busy ()) && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (
          editor_state_is (LIA_LINK_STATE_NONE) && editor_action_sensitive (LIA_UI_ACTION_TRACK)
              && !editor_action_sensitive (LIA_UI_ACTION_UNTRACK),
          "R-IMM-UNTRACK-INSP: Untrack in the contact editor shows at once (CRM hears of it when the "
          "editor closes); Track is sensitive again");
      if (editor_action (LIA_UI_ACTION_TRACK) != NULL)
        gtk_action_activate (editor_action (LIA_UI_ACTION_TRACK));
      return LIA_UI_PHASE_NEXT;
    case 6:
      if (editor_state_is (LIA_LINK_STATE_NONE) && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (editor_state_is (LIA_LINK_STATE_MARKED)
                                 || editor_state_is (LIA_LINK_STATE_TRACKED),
                             "R-IMM-TRACK-INSP: Track in CRM in the contact editor marked the contact");
      /* Save and close: the dispatcher gets the Inspector's save and close. */
      {
        EditorSaveFunc save = process_symbol ("eab_editor_save_contact");

        if (save != NULL && t.editor != NULL)
          save (t.editor, TRUE);
      }
      return LIA_UI_PHASE_NEXT;
    case 7:
      if (t.editor_window != NULL && gtk_widget_get_visible (GTK_WIDGET (t.editor_window)) && waited < 100)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (t.editor_window == NULL
                                 || !gtk_widget_get_visible (GTK_WIDGET (t.editor_window)),
                             "Save and Close closed the contact editor");
      return LIA_UI_PHASE_NEXT;
    case 8: /* the Untrack was replaced by the Track before either reached CRM */
      if (waited < 20 || (lia_ui_selftest_engine_busy () && waited < 300))
        return LIA_UI_PHASE_WAIT;
      if (contact_cache_state () != LIA_LINK_STATE_TRACKED && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (
          contact_cache_state () == LIA_LINK_STATE_TRACKED,
          "R-IMM-TRACK-INSP: Untrack then Track in the contact editor, then Save and Close: the "
          "contact stays linked in CRM");
      return LIA_UI_PHASE_NEXT;
    case 9: /* Untrack alone reaches CRM when the editor closes (R-IMM-UNTRACK-INSP) */
      if (!open_test_editor (&t.editor, &t.editor_window))
        {
          lia_ui_selftest_check (FALSE, "the contact editor opens again");
          e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 10:
      if ((editor_button () == NULL || !editor_state_is (LIA_LINK_STATE_TRACKED)) && waited < 100)
        return LIA_UI_PHASE_WAIT;
      if (editor_action (LIA_UI_ACTION_UNTRACK) != NULL)
        gtk_action_activate (editor_action (LIA_UI_ACTION_UNTRACK));
      lia_ui_selftest_log ("contact editor line after Untrack: %s",
                           editor_line () != NULL ? editor_line () : "");
      lia_ui_selftest_check (
          contact_cache_state () == LIA_LINK_STATE_TRACKED && editor_line () != NULL
              && strstr (editor_line (), "close") != NULL,
          "R-IMM-UNTRACK-INSP: an Untrack in the contact editor waits for the close (still "
          "linked in the cache, the editor says so)");
      close_editor (t.editor);
      return LIA_UI_PHASE_NEXT;
    case 11:
      if ((t.editor_window != NULL || lia_ui_selftest_engine_busy ()
           || contact_cache_state () != LIA_LINK_STATE_NONE)
          && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (contact_cache_state () == LIA_LINK_STATE_NONE,
                             "R-IMM-UNTRACK-INSP: closing the contact editor untracked the contact");
      /* Tracked again from the contacts view (R-IMM-TRACK-EXPL), as the
       * phases after this one found it. */
      {
        EContact *contact = NULL;
        EBookClient *client = NULL;

        select_test_contact (&contact, &client);
        lia_ui_selftest_fire ("contacts-" LIA_UI_ACTION_TRACK);
      }
      return LIA_UI_PHASE_NEXT;
    case 12:
      if ((lia_ui_selftest_engine_busy () || contact_cache_state () != LIA_LINK_STATE_TRACKED)
          && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (
          contact_cache_state () == LIA_LINK_STATE_TRACKED,
          "R-IMM-TRACK-EXPL: the contact untracked from its editor is tracked again from the "
          "contacts view");
      return LIA_UI_PHASE_NEXT;
    case 13: /* an Evolution without the editor's private symbols: no button, one log line */
      t.missing_logged = lia_ui_contact_editor_selftest_hide_symbols (1);
      /* Two windows: the log line is once per process, not per window. */
      if (!open_test_editor (&t.editor2, &t.editor_window2)
          || !open_test_editor (&t.editor, &t.editor_window))
        {
          lia_ui_contact_editor_selftest_hide_symbols (0);
          lia_ui_selftest_check (FALSE, "the contact editor opens again");
          e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 14:
      if (waited < 20)
        return LIA_UI_PHASE_WAIT;
      {
        LiaLinkState state;

        lia_ui_selftest_check (
            t.editor_window != NULL && gtk_widget_get_visible (GTK_WIDGET (t.editor_window))
                && t.editor_window2 != NULL && gtk_widget_get_visible (GTK_WIDGET (t.editor_window2))
                && editor_button () == NULL
                && lia_ui_selftest_find_named (GTK_WIDGET (t.editor_window2), "liaison-contact-editor-button")
                       == NULL
                && !lia_ui_contact_editor_state (t.editor_window, &state)
                && lia_ui_contact_editor_selftest_hide_symbols (-1) == t.missing_logged + 1,
            "without eab_editor_get_all_editors two contact editors open without a CRM button and the "
            "missing "
            "symbol is logged once");
        close_editor (t.editor);
        close_editor (t.editor2);
      }
      return LIA_UI_PHASE_NEXT;
    case 15:
      if (((t.editor_window != NULL && gtk_widget_get_visible (GTK_WIDGET (t.editor_window)))
           || (t.editor_window2 != NULL && gtk_widget_get_visible (GTK_WIDGET (t.editor_window2))))
          && waited < 50)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (
          (t.editor_window == NULL || !gtk_widget_get_visible (GTK_WIDGET (t.editor_window)))
              && (t.editor_window2 == NULL || !gtk_widget_get_visible (GTK_WIDGET (t.editor_window2))),
          "the contact editors without a CRM button close normally");
      lia_ui_contact_editor_selftest_hide_symbols (0);
      e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
      return LIA_UI_PHASE_DONE;
    default:
      return LIA_UI_PHASE_DONE;
    }
}

/* ---- folder tracking (R-MAIL-FOLDER) ---- */

static EMFolderTree *
folder_tree (void)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "mail");
  EShellSidebar *sidebar = view != NULL ? e_shell_view_get_shell_sidebar (view) : NULL;
  GtkWidget *tree = sidebar != NULL ? lia_ui_find_mapped (GTK_WIDGET (sidebar), EM_TYPE_FOLDER_TREE) : NULL;

  return tree != NULL ? EM_FOLDER_TREE (tree) : NULL;
}

static CamelStore *
test_store (void)
{
  EMailReader *reader = lia_ui_selftest_mail_reader ();
  EMailBackend *backend = reader != NULL ? e_mail_reader_get_backend (reader) : NULL;
  EMailSession *session = backend != NULL ? e_mail_backend_get_session (backend) : NULL;
  const char *uid = g_getenv ("LIAISON_UI_SELFTEST_ACCOUNT");
  CamelService *service =
      session != NULL && uid != NULL ? camel_session_ref_service (CAMEL_SESSION (session), uid) : NULL;

  if (service != NULL && !CAMEL_IS_STORE (service))
    g_clear_object (&service);
  return (CamelStore *) service;
}

/* On a worker: Camel's sync calls. */
static void
create_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  CamelFolderInfo *fi = camel_store_get_folder_info_sync (t.store, FOLDER_NAME, 0, NULL, NULL);

  if (fi == NULL)
    fi = camel_store_create_folder_sync (t.store, NULL, FOLDER_NAME, NULL, &error);
  if (fi != NULL)
    camel_folder_info_free (fi);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    t.created_error = g_strdup (error->message);
  t.created = TRUE;
}

/* A message that arrives in the folder now, as a filter delivers it. */
static void
append_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const char *subject = g_getenv ("LIAISON_UI_SELFTEST_FOLDER_SUBJECT");
  g_autoptr (CamelFolder) folder = NULL;
  g_autoptr (CamelMimeMessage) message = camel_mime_message_new ();
  g_autoptr (CamelInternetAddress) from = camel_internet_address_new ();
  g_autoptr (CamelInternetAddress) to = camel_internet_address_new ();
  char *uid = NULL;
  GError *error = NULL;

  folder = camel_store_get_folder_sync (t.store, FOLDER_NAME, 0, NULL, &error);
  if (folder == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  camel_internet_address_add (from, "Grace Customer", "grace@customer.example");
  camel_internet_address_add (to, "Test User", "test@example.org");
  camel_mime_message_set_from (message, from);
  camel_mime_message_set_recipients (message, CAMEL_RECIPIENT_TYPE_TO, to);
  camel_mime_message_set_subject (message, subject != NULL ? subject : "Liaison UI folder test");
  camel_mime_message_set_date (message, CAMEL_MESSAGE_DATE_CURRENT, 0);
  camel_mime_message_set_message_id (message, NULL);
  camel_mime_part_set_content (CAMEL_MIME_PART (message), "Project news, filed in the tracked folder.\n",
                               strlen ("Project news, filed in the tracked folder.\n"), "text/plain");
  if (!camel_folder_append_message_sync (folder, message, NULL, &uid, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  camel_folder_synchronize_sync (folder, FALSE, NULL, NULL);
  g_task_return_pointer (task, uid, g_free);
}

static void
on_appended (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  t.appended_uid = g_task_propagate_pointer (G_TASK (result), &error);
  if (t.appended_uid == NULL)
    t.append_error = g_strdup (error != NULL ? error->message : "no uid");
  t.appended = TRUE;
}

/* An older message (dated before the folder was marked) moved from the
 * Inbox into the tracked folder, as a user drags it there. */
static void
move_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  const char *subject = g_getenv ("LIAISON_UI_SELFTEST_MOVED_SUBJECT");
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (CamelFolder) dest = NULL;
  g_autoptr (GPtrArray) uids = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *transferred = NULL;
  GPtrArray *all;
  GError *error = NULL;

  inbox = subject != NULL ? camel_store_get_inbox_folder_sync (t.store, NULL, &error) : NULL;
  dest = inbox != NULL ? camel_store_get_folder_sync (t.store, FOLDER_NAME, 0, NULL, &error) : NULL;
  if (dest == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no message to move");
      return;
    }
  all = camel_folder_get_uids (inbox);
  for (guint i = 0; i < all->len; i++)
    {
      CamelMessageInfo *info = camel_folder_get_message_info (inbox, all->pdata[i]);

      if (info != NULL && g_strcmp0 (camel_message_info_get_subject (info), subject) == 0)
        g_ptr_array_add (uids, g_strdup (all->pdata[i]));
      g_clear_object (&info);
    }
  camel_folder_free_uids (inbox, all);
  if (uids->len != 1
      || !camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, &transferred, NULL, &error))
    {
      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%u messages \"%s\" in the Inbox",
                                 uids->len, subject);
      return;
    }
  camel_folder_synchronize_sync (inbox, FALSE, NULL, NULL);
  camel_folder_synchronize_sync (dest, FALSE, NULL, NULL);
  /* The local stores do not say which uid the message got: find it. */
  {
    char *found = transferred != NULL && transferred->len == 1 ? g_strdup (transferred->pdata[0]) : NULL;

    camel_folder_refresh_info_sync (dest, NULL, NULL);
    all = camel_folder_get_uids (dest);
    for (guint i = 0; found == NULL && i < all->len; i++)
      {
        CamelMessageInfo *info = camel_folder_get_message_info (dest, all->pdata[i]);

        if (info != NULL && g_strcmp0 (camel_message_info_get_subject (info), subject) == 0)
          found = g_strdup (all->pdata[i]);
        g_clear_object (&info);
      }
    camel_folder_free_uids (dest, all);
    g_task_return_pointer (task, found, g_free);
  }
  if (transferred != NULL)
    g_ptr_array_unref (transferred);
}

static void
on_moved (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  t.moved_uid = g_task_propagate_pointer (G_TASK (result), &error);
  if (error != NULL)
    t.move_error = g_strdup (error->message);
  t.moved = TRUE;
}

static void
run_worker (GTaskThreadFunc func, GAsyncReadyCallback done)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, done, NULL);

  g_task_run_in_thread (task, func);
}

static char *
folder_id (void)
{
  return lia_evo_mail_folder_id (camel_service_get_uid (CAMEL_SERVICE (t.store)), FOLDER_NAME);
}

static char *
message_item_id (void)
{
  return t.appended_uid != NULL ? lia_evo_engine_item_id_for_message (
             camel_service_get_uid (CAMEL_SERVICE (t.store)), FOLDER_NAME, t.appended_uid)
                                : NULL;
}

static char *
folders_setting (void)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;

  if (funcs == NULL || funcs->dup_setting == NULL || lia_evo_engine_get_plugin (engine) == NULL)
    return NULL;
  return funcs->dup_setting (lia_evo_engine_get_plugin (engine), LIA_UI_SETTING_MAIL_FOLDERS, NULL);
}

static GtkAction *
folder_action (const char *name)
{
  GtkActionGroup *group = e_shell_window_get_action_group (lia_ui_selftest_window (), "liaison-folder");

  return group != NULL ? gtk_action_group_get_action (group, name) : NULL;
}

/* The dialog of Track This Folder runs in its own loop: choose the first
 * record it offers (the recent Set Regarding choice). */
static gboolean
drive_folder_dialog (gpointer data)
{
  static guint ticks;
  GtkWidget *dialog = lia_ui_selftest_find_toplevel ("liaison-set-regarding");
  LiaUiRegarding r = { 0 };

  if (dialog == NULL)
    {
      if (++ticks < 50)
        return G_SOURCE_CONTINUE;
      ticks = 0;
      lia_ui_selftest_log ("folder: no regarding dialog showed");
      return G_SOURCE_REMOVE;
    }
  if (++ticks < 55) /* half a second with the dialog up */
    return G_SOURCE_CONTINUE;
  ticks = 0;
  if (lia_ui_regarding_dialog_get (dialog, &r))
    {
      g_free (t.regarding_id);
      t.regarding_id = g_strdup (r.id);
      g_free (t.regarding_name);
      t.regarding_name = g_strdup (r.name);
      lia_ui_selftest_log ("folder: regarding %s (%s)", r.name, r.id);
    }
  lia_ui_regarding_clear (&r);
  gtk_dialog_response (GTK_DIALOG (dialog), t.regarding_id != NULL ? GTK_RESPONSE_OK : GTK_RESPONSE_NO);
  return G_SOURCE_REMOVE;
}

LiaUiPhaseResult
lia_ui_selftest_phase_folder (guint step, guint waited)
{
  switch (step)
    {
    case 0: /* a folder of the default account, made with Camel on a worker */
      t.store = test_store ();
      if (t.store == NULL)
        {
          lia_ui_selftest_check (FALSE, "R-MAIL-FOLDER: the test mail account's store");
          return LIA_UI_PHASE_DONE;
        }
      if (folder_tree () != NULL)
        t.inbox_uri = em_folder_tree_get_selected_uri (folder_tree ());
      run_worker (create_thread, on_created);
      return LIA_UI_PHASE_NEXT;
    case 1: /* selected in the folder tree, as a right click does */
      if (!t.created && waited < 100)
        return LIA_UI_PHASE_WAIT;
      if (t.created_error != NULL || !t.created)
        {
          lia_ui_selftest_log ("folder: %s",
                               t.created_error != NULL ? t.created_error : "not created in 10 s");
          lia_ui_selftest_check (FALSE, "R-MAIL-FOLDER: a folder to track");
          return LIA_UI_PHASE_DONE;
        }
      {
        EMFolderTree *tree = folder_tree ();
        g_autofree char *uri = e_mail_folder_uri_build (t.store, FOLDER_NAME);
        g_autoptr (CamelStore) store = NULL;
        g_autofree char *name = NULL;

        if (tree != NULL && waited % 10 == 1)
          em_folder_tree_set_selected (tree, uri, FALSE);
        if ((tree == NULL || !em_folder_tree_get_selected (tree, &store, &name)
             || g_strcmp0 (name, FOLDER_NAME) != 0)
            && waited < 100)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_check (g_strcmp0 (name, FOLDER_NAME) == 0,
                               "R-MAIL-FOLDER: the new folder is selected in the folder tree");
      }
      return LIA_UI_PHASE_NEXT;
    case 2: /* Track This Folder… in the folder popup */
      if (waited < 10)
        return LIA_UI_PHASE_WAIT;
      {
        EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "mail");
        GtkUIManager *ui = e_shell_window_get_ui_manager (lia_ui_selftest_window ());
        GtkAction *track = folder_action (LIA_UI_ACTION_FOLDER_TRACK);

        e_shell_view_update_actions (view);
        lia_ui_selftest_check (
            gtk_ui_manager_get_widget (
                ui, "/mail-folder-popup/mail-folder-popup-actions/" LIA_UI_ACTION_FOLDER_TRACK)
                != NULL,
            "R-MAIL-FOLDER: Track This Folder is in the folder tree's popup menu");
        lia_ui_selftest_check (track != NULL && gtk_action_is_sensitive (track)
                                   && gtk_action_is_visible (track),
                               "R-MAIL-FOLDER: Track This Folder is sensitive on a folder of the default "
                               "account");
        if (track == NULL)
          return LIA_UI_PHASE_DONE;
        g_timeout_add (10, drive_folder_dialog, NULL);
        lia_ui_selftest_log ("fire %s", LIA_UI_ACTION_FOLDER_TRACK);
        /* Returns when the dialog closed (its own loop). */
        gtk_action_activate (track);
      }
      return LIA_UI_PHASE_NEXT;
    case 3: /* the plugin has the folder; the menu says Stop Tracking */
      {
        g_autofree char *setting = folders_setting ();
        g_autofree char *id = folder_id ();
        GtkAction *untrack = folder_action (LIA_UI_ACTION_FOLDER_UNTRACK);

        e_shell_view_update_actions (e_shell_window_get_shell_view (lia_ui_selftest_window (), "mail"));
        if ((untrack == NULL || !gtk_action_is_visible (untrack)) && waited < 50)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_log ("folder: mail-folders setting: %s", setting != NULL ? setting : "(none)");
        lia_ui_selftest_check (
            setting != NULL && strstr (setting, id) != NULL
                && (t.regarding_id == NULL || strstr (setting, t.regarding_id) != NULL),
            "R-MAIL-FOLDER: Track This Folder marked the folder tracked with its regarding "
            "(plugin set_folder_tracked, read back)");
        lia_ui_selftest_check (
            untrack != NULL && gtk_action_is_visible (untrack) && gtk_action_is_sensitive (untrack)
                && !gtk_action_is_visible (folder_action (LIA_UI_ACTION_FOLDER_TRACK)),
            "R-MAIL-FOLDER: the popup offers Stop Tracking This Folder once it is tracked");
        {
          GtkWidget *menu = gtk_ui_manager_get_widget (
              e_shell_window_get_ui_manager (lia_ui_selftest_window ()), "/mail-folder-popup");
          EMFolderTree *tree = folder_tree ();

          if (menu != NULL && tree != NULL)
            gtk_menu_popup_at_widget (GTK_MENU (menu), GTK_WIDGET (tree), GDK_GRAVITY_CENTER,
                                      GDK_GRAVITY_NORTH_WEST, NULL);
        }
      }
      return LIA_UI_PHASE_NEXT;
    case 4: /* the menu shows; then a message arrives in the folder */
      if (waited < 10)
        return LIA_UI_PHASE_WAIT;
      {
        GtkWidget *menu = gtk_ui_manager_get_widget (
            e_shell_window_get_ui_manager (lia_ui_selftest_window ()), "/mail-folder-popup");

        lia_ui_selftest_screenshot ("folder-tracked");
        if (menu != NULL)
          gtk_menu_popdown (GTK_MENU (menu));
      }
      /* Dated after the mark (the engine tracks what arrives from then on,
       * with one-second dates). */
      run_worker (append_thread, on_appended);
      return LIA_UI_PHASE_NEXT;
    case 5: /* tracked by the engine's email phase */
      {
        g_autofree char *item_id = NULL;

        if (!t.appended && waited < 100)
          return LIA_UI_PHASE_WAIT;
        if (t.appended_uid == NULL)
          {
            lia_ui_selftest_log ("folder: append failed: %s",
                                 t.append_error != NULL ? t.append_error : "timeout");
            lia_ui_selftest_check (FALSE, "R-MAIL-FOLDER: a message arrived in the tracked folder");
            return LIA_UI_PHASE_DONE;
          }
        item_id = message_item_id ();
        if (engine_link_state (item_id) == LIA_LINK_STATE_TRACKED
            || (waited >= 600 && !lia_ui_selftest_engine_busy ()) || waited >= 900)
          {
            lia_ui_selftest_log ("folder: %s %s after %.1f s%s", item_id,
                                 engine_link_state (item_id) == LIA_LINK_STATE_TRACKED ? "tracked"
                                                                                       : "not tracked",
                                 waited / 10.0, t.synced ? " (after Synchronize Now)" : "");
            lia_ui_selftest_check (
                engine_link_state (item_id) == LIA_LINK_STATE_TRACKED,
                "R-MAIL-FOLDER: a message arriving in the tracked folder is tracked in CRM");
            return LIA_UI_PHASE_NEXT;
          }
        /* The module watches the new folder and asks for a cycle at once;
         * a cycle with the org 2 s away takes a while. After 30 s without
         * one, Synchronize Now. */
        if (waited == 300 && !t.synced && !lia_ui_selftest_engine_busy ())
          {
            t.synced = TRUE;
            lia_ui_selftest_fire (LIA_UI_ACTION_SYNC);
          }
        return LIA_UI_PHASE_WAIT;
      }
    case 6: /* an older message moved in (dragged there from the Inbox) */
      run_worker (move_thread, on_moved);
      return LIA_UI_PHASE_NEXT;
    case 7: /* R-MAIL-FOLDER "moved into it": tracked whatever its date */
      {
        static guint moved_tick;
        g_autofree char *item_id = NULL;
        guint since;

        if (!t.moved)
          {
            if (waited < 300)
              return LIA_UI_PHASE_WAIT;
            lia_ui_selftest_check (FALSE, "R-MAIL-FOLDER: an older message could be moved into the folder");
            return LIA_UI_PHASE_NEXT;
          }
        if (moved_tick == 0)
          moved_tick = waited;
        if (t.moved_uid == NULL)
          {
            lia_ui_selftest_log ("folder: moving an older message in failed: %s",
                                 t.move_error != NULL ? t.move_error : "no uid");
            lia_ui_selftest_check (FALSE, "R-MAIL-FOLDER: an older message could be moved into the folder");
            return LIA_UI_PHASE_NEXT;
          }
        since = waited - moved_tick;
        item_id = lia_evo_engine_item_id_for_message (camel_service_get_uid (CAMEL_SERVICE (t.store)),
                                                      FOLDER_NAME, t.moved_uid);
        /* No Synchronize Now: the move's notification starts the work. */
        if (engine_link_state (item_id) != LIA_LINK_STATE_TRACKED
            && (since < 300 || (lia_ui_selftest_engine_busy () && since < 600)))
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_log (
            "folder: older message moved in (dated before the mark): %s %s %.1f s after the move", item_id,
            engine_link_state (item_id) == LIA_LINK_STATE_TRACKED ? "tracked" : "NOT tracked", since / 10.0);
        lia_ui_selftest_check (
            engine_link_state (item_id) == LIA_LINK_STATE_TRACKED,
            "R-MAIL-FOLDER: a message dated before the folder was tracked, moved into it, is "
            "tracked");
        return LIA_UI_PHASE_NEXT;
      }
    case 8: /* Stop Tracking This Folder */
      {
        GtkAction *untrack = folder_action (LIA_UI_ACTION_FOLDER_UNTRACK);

        e_shell_view_update_actions (e_shell_window_get_shell_view (lia_ui_selftest_window (), "mail"));
        if (untrack != NULL && gtk_action_is_sensitive (untrack))
          gtk_action_activate (untrack);
        return LIA_UI_PHASE_NEXT;
      }
    case 9:
      {
        g_autofree char *setting = folders_setting ();
        g_autofree char *id = folder_id ();
        GtkAction *track = folder_action (LIA_UI_ACTION_FOLDER_TRACK);

        e_shell_view_update_actions (e_shell_window_get_shell_view (lia_ui_selftest_window (), "mail"));
        if ((track == NULL || !gtk_action_is_visible (track)) && waited < 50)
          return LIA_UI_PHASE_WAIT;
        lia_ui_selftest_check (
            (setting == NULL || strstr (setting, id) == NULL) && track != NULL
                && gtk_action_is_visible (track),
            "R-MAIL-FOLDER: Stop Tracking This Folder removed the folder; the popup offers "
            "Track again");
      }
      /* Back to the folder selected before (the Inbox) for the phases
       * after this one. */
      if (folder_tree () != NULL && t.inbox_uri != NULL)
        em_folder_tree_set_selected (folder_tree (), t.inbox_uri, FALSE);
      g_clear_pointer (&t.inbox_uri, g_free);
      g_clear_object (&t.store);
      return LIA_UI_PHASE_DONE;
    default:
      return LIA_UI_PHASE_DONE;
    }
}

/* ---- the tasks view's status line (issue 7: tracked state and regarding) ---- */

/* The test task alone selected in the tasks view; FALSE when not there. */
static gboolean
select_test_task (void)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "tasks");
  GtkWidget *table = view != NULL ? lia_ui_find_mapped (GTK_WIDGET (e_shell_view_get_shell_content (view)),
                                                        E_TYPE_TASK_TABLE)
                                  : NULL;
  const char *summary = g_getenv ("LIAISON_UI_SELFTEST_TASK");
  ECalModel *model = table != NULL ? e_task_table_get_model (E_TASK_TABLE (table)) : NULL;
  gint rows = model != NULL ? e_table_model_row_count (E_TABLE_MODEL (model)) : 0;

  for (gint i = 0; summary != NULL && i < rows; i++)
    {
      ECalModelComponent *comp = e_cal_model_get_component_at (model, i);

      if (comp != NULL && g_strcmp0 (i_cal_component_get_summary (comp->icalcomp), summary) == 0)
        {
          e_selection_model_select_single_row (e_table_get_selection_model (E_TABLE (table)), i);
          e_shell_view_update_actions (view);
          return TRUE;
        }
    }
  return FALSE;
}

LiaUiPhaseResult
lia_ui_selftest_phase_tasks_state (guint step, guint waited)
{
  switch (step)
    {
    case 0:
      e_shell_window_set_active_view (lia_ui_selftest_window (), "tasks");
      return LIA_UI_PHASE_NEXT;
    case 1:
      if (waited < 10 || lia_ui_selftest_engine_busy ())
        return waited < 300 ? LIA_UI_PHASE_WAIT : LIA_UI_PHASE_NEXT;
      if (!select_test_task ())
        {
          if (waited < 100)
            return LIA_UI_PHASE_WAIT;
          lia_ui_selftest_check (FALSE, "the test task is in the tasks view");
          e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 2:
      if (strstr (status_line ("tasks"), "Tracked in CRM") == NULL && waited < 50)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_log ("tasks view status line: %s", status_line ("tasks"));
      lia_ui_selftest_check (strstr (status_line ("tasks"), "Tracked in CRM") != NULL,
                             "the tasks view's status line says the selected task is tracked in CRM");
      /* Set Regarding on it (the dialog's first record, as in the folder phase). */
      g_clear_pointer (&t.regarding_id, g_free);
      g_clear_pointer (&t.regarding_name, g_free);
      g_timeout_add (10, drive_folder_dialog, NULL);
      lia_ui_selftest_fire ("tasks-" LIA_UI_ACTION_REGARDING);
      return LIA_UI_PHASE_NEXT;
    case 3: /* the regarding reaches CRM, the adapter writes its name on the task */
      if (waited < 20 || lia_ui_selftest_engine_busy ())
        return waited < 600 ? LIA_UI_PHASE_WAIT : LIA_UI_PHASE_NEXT;
      /* No new selection: the line follows the engine's work (the view
       * reads the item again when a busy spell ends). */
      if ((t.regarding_name == NULL || strstr (status_line ("tasks"), t.regarding_name) == NULL)
          && waited < 300)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_log ("tasks view status line after Set Regarding: %s", status_line ("tasks"));
      lia_ui_selftest_check (
          t.regarding_name != NULL && strstr (status_line ("tasks"), "Tracked in CRM, regarding ") != NULL
              && strstr (status_line ("tasks"), t.regarding_name) != NULL,
          "R-IMM-REGARDING-EXPL: after Set Regarding the tasks view's status line names the "
          "regarding record of the selected task");
      lia_ui_selftest_screenshot ("tasks-tracked-state");
      e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
      return LIA_UI_PHASE_DONE;
    default:
      return LIA_UI_PHASE_DONE;
    }
}

/* ---- the calendar view's status line (its list view, as the walk left it) ---- */

static gboolean
select_test_event (void)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "calendar");
  GtkWidget *list = view != NULL ? lia_ui_find_mapped (GTK_WIDGET (e_shell_view_get_shell_content (view)),
                                                       E_TYPE_CAL_LIST_VIEW)
                                 : NULL;
  const char *summary = g_getenv ("LIAISON_UI_SELFTEST_EVENT");
  ECalModel *model = list != NULL ? e_calendar_view_get_model (E_CALENDAR_VIEW (list)) : NULL;
  ETable *table = list != NULL ? e_cal_list_view_get_table (E_CAL_LIST_VIEW (list)) : NULL;
  gint rows = model != NULL ? e_table_model_row_count (E_TABLE_MODEL (model)) : 0;

  for (gint i = 0; summary != NULL && table != NULL && i < rows; i++)
    {
      ECalModelComponent *comp = e_cal_model_get_component_at (model, i);

      if (comp != NULL && g_strcmp0 (i_cal_component_get_summary (comp->icalcomp), summary) == 0)
        {
          e_selection_model_select_single_row (e_table_get_selection_model (table), i);
          e_shell_view_update_actions (view);
          return TRUE;
        }
    }
  return FALSE;
}

LiaUiPhaseResult
lia_ui_selftest_phase_calendar_state (guint step, guint waited)
{
  switch (step)
    {
    case 0:
      e_shell_window_set_active_view (lia_ui_selftest_window (), "calendar");
      return LIA_UI_PHASE_NEXT;
    case 1:
      if (waited < 10 || lia_ui_selftest_engine_busy ())
        return waited < 300 ? LIA_UI_PHASE_WAIT : LIA_UI_PHASE_NEXT;
      if (!select_test_event ())
        {
          if (waited < 100)
            return LIA_UI_PHASE_WAIT;
          lia_ui_selftest_check (FALSE, "the test event is in the calendar's list view");
          e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
          return LIA_UI_PHASE_DONE;
        }
      return LIA_UI_PHASE_NEXT;
    case 2:
      if (strstr (status_line ("calendar"), "Tracked in CRM") == NULL && waited < 50)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_log ("calendar view status line: %s", status_line ("calendar"));
      lia_ui_selftest_check (strstr (status_line ("calendar"), "Tracked in CRM") != NULL,
                             "the calendar view's status line says the selected event is tracked in CRM");
      e_shell_window_set_active_view (lia_ui_selftest_window (), "mail");
      return LIA_UI_PHASE_DONE;
    default:
      return LIA_UI_PHASE_DONE;
    }
}
