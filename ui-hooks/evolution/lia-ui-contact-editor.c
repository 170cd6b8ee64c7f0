/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>

#include <libebook/libebook.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"

/* Track in CRM, Untrack, Set Regarding… in the contact editor (an
 * Inspector), and the Inspector events the dispatcher needs: open when the
 * editor shows, save on contact_added / contact_modified, close on
 * editor_closed (SPEC section 5).
 *
 * Evolution 3.46's contact editor is not extensible (EVOLUTION.md): its
 * class EABEditor lives in the private libecontacteditor.so without an
 * installed header. This part watches EShell::window-added, finds the
 * editor showing in the new window among eab_editor_get_all_editors() and
 * eab_editor_get_window() (resolved from the process with
 * g_module_symbol), reads its contact from the "contact" property, and
 * adds a "CRM" menu button to the window's header bar (or next to the
 * Save button without one). When a symbol, the property or the signals are
 * missing it logs once and adds nothing.
 *
 * A line under the window title (the header bar's subtitle, else a label
 * by the button; 3.46's contact editor has no header bar) says whether the
 * contact is tracked; the link state is read from the sync cache on a
 * worker thread (lia_ui_link_states_async()). A Track or Untrack given in the editor reaches CRM when
 * the contact is saved or the editor closes (R-IMM-TRACK-INSP,
 * R-IMM-UNTRACK-INSP for contacts): until then the editor shows it as
 * given.
 *
 * Set Regarding links an activity (email, appointment, task) to a CRM
 * record (R-MARK-REGARDING); a contact is such a record itself, so the
 * action is there and insensitive, as in the contacts view. */

typedef GSList *(*GetAllEditorsFunc) (void);
typedef GtkWindow *(*GetWindowFunc) (gpointer editor);

static GetAllEditorsFunc get_all_editors;
static GetWindowFunc get_window;
static gboolean symbols_missing;

#define EDITOR_KEY "liaison-contact-editor"
#define GROUP_NAME "liaison-contact-editor"

/* Per editor window: the actions and the contact they act on. */
typedef struct
{
  GObject *editor;   /* owns this (data EDITOR_KEY) */
  GtkWindow *window; /* weak: destroyed before the editor emits editor_closed */
  GtkActionGroup *group;
  GtkWidget *button;
  GtkHeaderBar *header_bar; /* NULL: the line is @label */
  GtkWidget *label;
  char *uid;          /* the contact's, NULL while it is new */
  LiaLinkState state; /* as last read */
  GCancellable *read; /* owned: the running read */
  LiaSyncState engine_state;
  /* A Track or Untrack given here waits for the save or the close (SPEC
   * section 5): the state shown is the command's until then. */
  LiaCommandKind pending;
  gboolean has_pending;
} Editor;

static void
editor_free (gpointer data)
{
  Editor *e = data;

  if (e->window != NULL)
    g_object_remove_weak_pointer (G_OBJECT (e->window), (gpointer *) &e->window);
  if (e->read != NULL)
    g_cancellable_cancel (e->read);
  g_clear_object (&e->read);
  g_clear_object (&e->group);
  g_free (e->uid);
  g_free (e);
}

static gboolean symbols_resolved;
static gboolean symbols_hidden; /* self-test: as on an Evolution without them */
static guint missing_logged;

static gboolean
resolve_symbols (void)
{
  GModule *process;
  const char *list_name =
      symbols_hidden ? "eab_editor_get_all_editors_hidden_by_the_selftest" : "eab_editor_get_all_editors";

  if (symbols_resolved)
    return !symbols_missing;
  symbols_resolved = TRUE;
  /* The process: Evolution's modules are loaded globally, so the
   * addressbook module's libecontacteditor.so is in its scope. Kept open:
   * the symbols stay valid. */
  process = g_module_open (NULL, 0);
  symbols_missing = process == NULL || !g_module_symbol (process, list_name, (gpointer *) &get_all_editors)
                    || !g_module_symbol (process, "eab_editor_get_window", (gpointer *) &get_window);
  if (symbols_missing)
    {
      missing_logged++;
      g_message ("this Evolution's contact editor has no %s / eab_editor_get_window: no CRM button in the "
                 "contact editor",
                 list_name);
      lia_ui_selftest_log ("contact editor: private symbols missing");
    }
  return !symbols_missing;
}

/* Self-test only: look the symbols up again, under a name that does not
 * exist when @hide is 1 (as on another Evolution), the real one when 0;
 * -1 changes nothing. Returns how many times the missing symbols were
 * logged so far. */
guint
lia_ui_contact_editor_selftest_hide_symbols (gint hide)
{
  if (lia_ui_selftest_enabled () && hide >= 0)
    {
      symbols_hidden = hide == 1;
      symbols_resolved = FALSE;
      symbols_missing = FALSE;
    }
  return missing_logged;
}

static GObject *editor_of_window (GtkWindow *window);

static char *
item_id_of (Editor *e)
{
  return e->uid != NULL ? lia_evo_engine_item_id_for_contact (e->uid) : NULL;
}

static void
send_ui_event (Editor *e, LiaUiEventKind kind)
{
  g_autofree char *item_id = item_id_of (e);

  if (lia_ui_send_event (kind, item_id, NULL))
    lia_ui_selftest_log ("contact editor event %d for %s", kind, item_id);
}

/* ---- the state line and sensitivity ---- */

static void
update_sensitivity (Editor *e)
{
  gboolean engine = lia_ui_engine () != NULL;
  GtkAction *action;

  if ((action = gtk_action_group_get_action (e->group, LIA_UI_ACTION_TRACK)) != NULL)
    gtk_action_set_sensitive (action, engine && e->uid != NULL && e->state == LIA_LINK_STATE_NONE);
  if ((action = gtk_action_group_get_action (e->group, LIA_UI_ACTION_UNTRACK)) != NULL)
    gtk_action_set_sensitive (action, engine && e->uid != NULL && e->state != LIA_LINK_STATE_NONE);
  if ((action = gtk_action_group_get_action (e->group, LIA_UI_ACTION_REGARDING)) != NULL)
    {
      gtk_action_set_sensitive (action, FALSE);
      gtk_action_set_tooltip (action, _ ("A contact is a CRM record itself: Set Regarding links email, "
                                         "appointments and tasks to one"));
    }
}

static void
show_line (Editor *e)
{
  g_autofree char *line = NULL;

  if (e->uid == NULL)
    line = g_strdup (_ ("Save the contact to track it in CRM"));
  else if (e->has_pending && e->pending == LIA_COMMAND_TRACK)
    line = g_strdup (_ ("Tracked in CRM when you save the contact"));
  else if (e->has_pending && e->pending == LIA_COMMAND_UNTRACK)
    line = g_strdup (_ ("No longer tracked in CRM once you close the editor"));
  else
    line = lia_ui_view_state_line (e->state, NULL);

  if (e->window == NULL)
    return; /* the window is gone, the editor not yet */
  if (e->header_bar != NULL)
    gtk_header_bar_set_subtitle (e->header_bar, line);
  else if (e->label != NULL)
    gtk_label_set_text (GTK_LABEL (e->label), line != NULL ? line : "");
  lia_ui_selftest_log ("contact editor line: %s", line != NULL ? line : "(none)");
}

static void
on_read_done (gpointer owner, gpointer result, const GError *error, gpointer data)
{
  Editor *e = g_object_get_data (G_OBJECT (owner), EDITOR_KEY);
  const char *item_id = data;
  GHashTable *tracked = result;

  if (e != NULL && tracked != NULL && !e->has_pending)
    {
      e->state = GPOINTER_TO_INT (g_hash_table_lookup (tracked, item_id));
      update_sensitivity (e);
      show_line (e);
    }
  if (tracked != NULL)
    g_hash_table_unref (tracked);
}

/* Reads the contact's link state off the main loop, then updates; an
 * older read still running is dropped. */
static void
refresh (Editor *e)
{
  GCancellable *cancellable = lia_ui_cancellable_renew (&e->read);
  const char *ids[2] = { NULL, NULL };
  char *item_id;

  if (e->has_pending)
    {
      update_sensitivity (e);
      show_line (e);
      return;
    }
  if (lia_ui_engine () == NULL || e->uid == NULL || e->window == NULL)
    {
      e->state = LIA_LINK_STATE_NONE;
      update_sensitivity (e);
      show_line (e);
      return;
    }
  item_id = item_id_of (e);
  ids[0] = item_id;
  lia_ui_link_states_async (e->editor, cancellable, ids, on_read_done, item_id, g_free);
}

/* Whether the last read answered for the current contact (self-test). */
gboolean
lia_ui_contact_editor_state (GtkWindow *window, LiaLinkState *out_state)
{
  GObject *editor = window != NULL && resolve_symbols () ? editor_of_window (window) : NULL;
  Editor *e = editor != NULL ? g_object_get_data (editor, EDITOR_KEY) : NULL;

  if (e == NULL)
    return FALSE;
  *out_state = e->state;
  return TRUE;
}

/* ---- commands ---- */

static void
command (Editor *e, LiaCommandKind kind, const LiaUiRegarding *regarding, gboolean delete_in_crm)
{
  g_autofree char *item_id = item_id_of (e);
  LiaCommand c = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = kind,
    .surface = LIA_SURFACE_INSPECTOR,
    .item_id = item_id,
    .regarding_id = regarding != NULL ? regarding->id : NULL,
    .regarding_name = regarding != NULL ? regarding->name : NULL,
    .delete_in_crm = delete_in_crm,
    .entity = LIA_ENTITY_CONTACT,
    .link_state = e->state,
  };

  if (item_id == NULL)
    {
      lia_ui_alert (NULL, e->window, "refused", _ ("Save the contact first."));
      return;
    }
  if (lia_ui_command (&c, NULL, e->window) && kind != LIA_COMMAND_SET_REGARDING)
    {
      /* The item shows the command at once (R-IMM-BACKGROUND); the cache
       * follows on save or close. */
      e->has_pending = TRUE;
      e->pending = kind;
      e->state = kind == LIA_COMMAND_TRACK ? LIA_LINK_STATE_MARKED : LIA_LINK_STATE_NONE;
    }
  refresh (e);
}

static void
on_track (GtkAction *action, Editor *e)
{
  command (e, LIA_COMMAND_TRACK, NULL, FALSE);
}

static void
on_untrack (GtkAction *action, Editor *e)
{
  gboolean delete_in_crm = FALSE;

  /* R-DEL-OUT-CONTACT: the CRM contact is deleted only if the user says so. */
  if (lia_ui_ask_untrack (e->window, 1, &delete_in_crm))
    command (e, LIA_COMMAND_UNTRACK, NULL, delete_in_crm);
}

static void
on_regarding (GtkAction *action, Editor *e)
{
  g_auto (LiaUiRegarding) regarding = { 0 };

  if (lia_ui_regarding_run (e->window, &regarding))
    command (e, LIA_COMMAND_SET_REGARDING, &regarding, FALSE);
}

/* The engine's work on the contact shows at the end of each busy spell
 * (a command's immediate sync, a cycle): read the state again then. */
static void
on_engine_status (LiaEvoEngine *engine, gconstpointer data, gpointer editor)
{
  const LiaSyncStatus *status = data;
  Editor *e = g_object_get_data (G_OBJECT (editor), EDITOR_KEY);
  gboolean rest = status->state == LIA_SYNC_STATE_IDLE || status->state == LIA_SYNC_STATE_OFFLINE;

  if (e == NULL || status->state == e->engine_state)
    return;
  e->engine_state = status->state;
  if (rest)
    refresh (e);
}

/* ---- the editor's signals ---- */

static void
take_contact (Editor *e, gpointer contact)
{
  if (contact == NULL || !E_IS_CONTACT (contact))
    return;
  if (e_contact_get_const (contact, E_CONTACT_UID) != NULL)
    {
      g_free (e->uid);
      e->uid = g_strdup (e_contact_get_const (contact, E_CONTACT_UID));
    }
}

/* contact_added / contact_modified (EABEditor *, const GError *, EContact *):
 * saved when there is no error. */
static void
on_saved (GObject *editor, gpointer error, gpointer contact, gpointer data)
{
  Editor *e = g_object_get_data (editor, EDITOR_KEY);

  if (e == NULL || error != NULL)
    return;
  take_contact (e, contact);
  send_ui_event (e, LIA_UI_EVENT_SAVE);
  /* A Track waited for this save; an Untrack waits for the close. */
  if (e->has_pending && e->pending == LIA_COMMAND_TRACK)
    e->has_pending = FALSE;
  refresh (e);
}

static void
on_closed (GObject *editor, gpointer data)
{
  Editor *e = g_object_get_data (editor, EDITOR_KEY);

  if (e != NULL)
    send_ui_event (e, LIA_UI_EVENT_CLOSE);
}

/* ---- finding the editor of a new window ---- */

static GObject *
editor_of_window (GtkWindow *window)
{
  for (GSList *l = get_all_editors (); l != NULL; l = l->next)
    if (G_IS_OBJECT (l->data) && get_window (l->data) == window)
      return l->data;
  return NULL;
}

static gboolean
has_signals (GObject *editor)
{
  static const char *const names[] = { "contact_added", "contact_modified", "editor_closed" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_signal_lookup (names[i], G_OBJECT_TYPE (editor)) == 0)
      return FALSE;
  return g_object_class_find_property (G_OBJECT_GET_CLASS (editor), "contact") != NULL;
}

static GtkWidget *
find_buildable (GtkWidget *widget, const char *name)
{
  GtkWidget *found = NULL;
  g_autoptr (GList) children = NULL;

  if (GTK_IS_BUILDABLE (widget) && g_strcmp0 (gtk_buildable_get_name (GTK_BUILDABLE (widget)), name) == 0)
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && found == NULL; l = l->next)
    found = find_buildable (l->data, name);
  return found;
}

static GtkWidget *
make_button (Editor *e)
{
  const char *const names[] = { LIA_UI_ACTION_TRACK, LIA_UI_ACTION_UNTRACK, LIA_UI_ACTION_REGARDING };
  GtkWidget *button = gtk_menu_button_new ();
  GtkWidget *menu = gtk_menu_new ();

  gtk_button_set_label (GTK_BUTTON (button), _ ("CRM"));
  gtk_widget_set_tooltip_text (button, _ ("Track this contact in CRM"));
  gtk_widget_set_name (button, "liaison-contact-editor-button");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      GtkAction *action = gtk_action_group_get_action (e->group, names[i]);

      if (action != NULL)
        gtk_menu_shell_append (GTK_MENU_SHELL (menu), gtk_action_create_menu_item (action));
    }
  gtk_widget_show_all (menu);
  gtk_menu_button_set_popup (GTK_MENU_BUTTON (button), menu);
  gtk_widget_show (button);
  return button;
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GtkWindow) window = g_weak_ref_get (weak);
  GtkWidget *titlebar;
  GObject *editor;
  EContact *contact = NULL;
  Editor *e;

  if (window == NULL || !resolve_symbols ())
    return G_SOURCE_REMOVE;
  editor = editor_of_window (window);
  if (editor == NULL || g_object_get_data (editor, EDITOR_KEY) != NULL)
    return G_SOURCE_REMOVE; /* not a contact editor, or done */
  if (!has_signals (editor))
    {
      static gboolean logged;

      if (!logged)
        g_message ("this Evolution's contact editor (%s) has not the expected signals or contact property: "
                   "no CRM button in the contact editor",
                   G_OBJECT_TYPE_NAME (editor));
      logged = TRUE;
      return G_SOURCE_REMOVE;
    }
  e = g_new0 (Editor, 1);
  e->editor = editor;
  e->window = window;
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &e->window);
  g_object_set_data_full (editor, EDITOR_KEY, e, editor_free);
  g_object_get (editor, "contact", &contact, NULL);
  /* A new contact has no UID until it is saved. */
  {
    gboolean is_new = FALSE;

    if (g_object_class_find_property (G_OBJECT_GET_CLASS (editor), "is-new-contact") != NULL)
      g_object_get (editor, "is-new-contact", &is_new, NULL);
    if (!is_new)
      take_contact (e, contact);
    g_clear_object (&contact);
  }
  e->group = gtk_action_group_new (GROUP_NAME);
  gtk_action_group_set_translation_domain (e->group, GETTEXT_PACKAGE);
  lia_ui_add_actions (e->group, NULL, e, G_CALLBACK (on_track), G_CALLBACK (on_untrack),
                      G_CALLBACK (on_regarding), NULL);
  titlebar = gtk_window_get_titlebar (window);
  if (titlebar != NULL && GTK_IS_HEADER_BAR (titlebar))
    {
      e->header_bar = GTK_HEADER_BAR (titlebar);
      e->button = make_button (e);
      gtk_header_bar_pack_end (e->header_bar, e->button);
    }
  else
    {
      /* Without a header bar: beside the Save button. */
      GtkWidget *save = find_buildable (GTK_WIDGET (window), "button-ok");
      GtkWidget *box = save != NULL ? gtk_widget_get_parent (save) : NULL;

      if (box == NULL || !GTK_IS_BOX (box))
        {
          g_message ("no header bar and no Save button in the contact editor: no CRM button");
          g_object_set_data (editor, EDITOR_KEY, NULL);
          return G_SOURCE_REMOVE;
        }
      e->button = make_button (e);
      e->label = gtk_label_new ("");
      gtk_widget_set_name (e->label, "liaison-contact-editor-line");
      gtk_widget_show (e->label);
      gtk_box_pack_start (GTK_BOX (box), e->button, FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (box), e->label, FALSE, FALSE, 0);
      if (GTK_IS_BUTTON_BOX (box))
        {
          gtk_button_box_set_child_secondary (GTK_BUTTON_BOX (box), e->button, TRUE);
          gtk_button_box_set_child_secondary (GTK_BUTTON_BOX (box), e->label, TRUE);
        }
    }
  g_signal_connect (editor, "contact_added", G_CALLBACK (on_saved), NULL);
  g_signal_connect (editor, "contact_modified", G_CALLBACK (on_saved), NULL);
  g_signal_connect (editor, "editor_closed", G_CALLBACK (on_closed), NULL);
  if (lia_ui_engine () != NULL)
    g_signal_connect_object (lia_ui_engine (), "status-changed", G_CALLBACK (on_engine_status), editor, 0);
  update_sensitivity (e);
  refresh (e);
  send_ui_event (e, LIA_UI_EVENT_INSPECTOR_OPEN);
  lia_ui_selftest_log ("contact editor: CRM button in place (%s)",
                       e->header_bar != NULL ? "header bar" : "button box");
  return G_SOURCE_REMOVE;
}

/* EShell::window-added: the contact editor adds its window to the
 * application while it is constructed; look once that is over. */
static void
on_window_added (GtkApplication *app, GtkWindow *window, gpointer user_data)
{
  if (symbols_resolved && symbols_missing)
    return;
  lia_ui_idle_with_weak_ref (window, setup_idle);
}

/* The EShell extension that watches the windows. */
typedef struct
{
  EExtension parent;
} LiaUiContactEditor;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiContactEditorClass;

GType lia_ui_contact_editor_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiContactEditor, lia_ui_contact_editor, E_TYPE_EXTENSION)

static void
lia_ui_contact_editor_constructed (GObject *object)
{
  EExtensible *shell = e_extension_get_extensible (E_EXTENSION (object));

  G_OBJECT_CLASS (lia_ui_contact_editor_parent_class)->constructed (object);
  g_signal_connect_object (shell, "window-added", G_CALLBACK (on_window_added), object, 0);
}

static void
lia_ui_contact_editor_class_init (LiaUiContactEditorClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_contact_editor_constructed;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL;
}

static void
lia_ui_contact_editor_class_finalize (LiaUiContactEditorClass *klass)
{
}

static void
lia_ui_contact_editor_init (LiaUiContactEditor *self)
{
}

void
lia_ui_contact_editor_register (GTypeModule *module)
{
  lia_ui_contact_editor_register_type (module);
}
