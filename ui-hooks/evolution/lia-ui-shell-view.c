/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>

#include <calendar/gui/e-cal-model.h>
#include <calendar/gui/e-calendar-view.h>
#include <calendar/gui/e-task-table.h>
#include <libebook/libebook.h>
#include <shell/e-shell-content.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"

/* Track in CRM, Untrack, Set Regarding…, Synchronize Now in the contacts,
 * calendar and tasks views (Explorers): the toolbar and the item popups
 * (contact-popup, calendar-event-popup/event-popup-actions, task-popup),
 * on the whole selection. The UI is merged while the view is active and
 * removed when another view takes over (EShellView::toggled).
 *
 * Selections: the calendar's ECalendarView and the tasks' ETaskTable have
 * installed headers. The contacts' EAddressbookView has none in 3.46: its
 * type is found by name and e_addressbook_view_get_selected() resolved
 * from the process (libeabwidgets); without it the contact actions stay
 * insensitive and say why. */

typedef enum
{
  VIEW_NONE,
  VIEW_CONTACTS,
  VIEW_CALENDAR,
  VIEW_TASKS
} ViewKind;

typedef struct
{
  EExtension parent;
  ViewKind kind;
  GtkActionGroup *group; /* owned by the shell window's UI manager */
  guint merge_id;
  GCancellable *lookup; /* owned: the current selection's link-state lookup */
  gint can_track_new;   /* as the sensitivity last said: -1 not yet */
} LiaUiShellView;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiShellViewClass;

GType lia_ui_shell_view_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiShellView, lia_ui_shell_view, E_TYPE_EXTENSION)

static const char *const ui_definitions[] = {
  [VIEW_NONE] = NULL,
  [VIEW_CONTACTS] = "<ui>"
                    "  <toolbar name='main-toolbar'>"
                    "    <separator/>"
                    "    <toolitem action='" LIA_UI_ACTION_TRACK "'/>"
                    "    <toolitem action='" LIA_UI_ACTION_REGARDING "'/>"
                    "    <toolitem action='" LIA_UI_ACTION_SYNC "'/>"
                    "  </toolbar>"
                    "  <popup name='contact-popup'>"
                    "    <separator/>"
                    "    <menuitem action='" LIA_UI_ACTION_TRACK "'/>"
                    "    <menuitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                    "    <menuitem action='" LIA_UI_ACTION_SYNC "'/>"
                    "  </popup>"
                    "</ui>",
  [VIEW_CALENDAR] = "<ui>"
                    "  <toolbar name='main-toolbar'>"
                    "    <separator/>"
                    "    <toolitem action='" LIA_UI_ACTION_TRACK "'/>"
                    "    <toolitem action='" LIA_UI_ACTION_REGARDING "'/>"
                    "    <toolitem action='" LIA_UI_ACTION_SYNC "'/>"
                    "  </toolbar>"
                    "  <popup name='calendar-event-popup'>"
                    "    <placeholder name='event-popup-actions'>"
                    "      <separator/>"
                    "      <menuitem action='" LIA_UI_ACTION_TRACK "'/>"
                    "      <menuitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                    "      <menuitem action='" LIA_UI_ACTION_REGARDING "'/>"
                    "      <menuitem action='" LIA_UI_ACTION_SYNC "'/>"
                    "    </placeholder>"
                    "  </popup>"
                    "</ui>",
  [VIEW_TASKS] = "<ui>"
                 "  <toolbar name='main-toolbar'>"
                 "    <separator/>"
                 "    <toolitem action='" LIA_UI_ACTION_TRACK "'/>"
                 "    <toolitem action='" LIA_UI_ACTION_REGARDING "'/>"
                 "    <toolitem action='" LIA_UI_ACTION_SYNC "'/>"
                 "  </toolbar>"
                 "  <popup name='task-popup'>"
                 "    <separator/>"
                 "    <menuitem action='" LIA_UI_ACTION_TRACK "'/>"
                 "    <menuitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                 "    <menuitem action='" LIA_UI_ACTION_REGARDING "'/>"
                 "    <menuitem action='" LIA_UI_ACTION_SYNC "'/>"
                 "  </popup>"
                 "</ui>",
};

/* Distinct action names per view: the views share the window's UI
 * manager with the mail reader's actions. */
static const char *const prefixes[] = {
  [VIEW_NONE] = NULL,
  [VIEW_CONTACTS] = "contacts-",
  [VIEW_CALENDAR] = "calendar-",
  [VIEW_TASKS] = "tasks-",
};

static const char *const group_names[] = {
  [VIEW_NONE] = NULL,
  [VIEW_CONTACTS] = "liaison-contacts",
  [VIEW_CALENDAR] = "liaison-calendar",
  [VIEW_TASKS] = "liaison-tasks",
};

static ViewKind
kind_of (EShellView *view)
{
  const char *name = e_shell_view_get_name (view);

  if (g_strcmp0 (name, "addressbook") == 0)
    return VIEW_CONTACTS;
  if (g_strcmp0 (name, "calendar") == 0)
    return VIEW_CALENDAR;
  if (g_strcmp0 (name, "tasks") == 0)
    return VIEW_TASKS;
  return VIEW_NONE;
}

/* ---- selections: one (item id, entity) per selected item ---- */

typedef struct
{
  char *item_id;
  LiaEntity entity;
  LiaLinkState carried; /* the state the item carries (its X-LIAISON property) */
} Sel;

static void
sel_free (gpointer data)
{
  Sel *s = data;

  g_free (s->item_id);
  g_free (s);
}

static void
add_sel (GPtrArray *out, char *item_id, LiaEntity entity, LiaLinkState carried)
{
  Sel *s;

  if (item_id == NULL)
    return;
  s = g_new0 (Sel, 1);
  s->item_id = item_id;
  s->entity = entity;
  s->carried = carried;
  g_ptr_array_add (out, s);
}

static GPtrArray *
selection_of (EShellView *shell_view, ViewKind kind, gboolean *out_supported)
{
  GtkWidget *content = GTK_WIDGET (e_shell_view_get_shell_content (shell_view));
  GPtrArray *out = g_ptr_array_new_with_free_func (sel_free);

  *out_supported = TRUE;
  if (kind == VIEW_CONTACTS)
    {
      GSList *contacts = lia_ui_selected_contacts (content, out_supported);

      for (GSList *l = contacts; l != NULL; l = l->next)
        if (E_IS_CONTACT (l->data))
          add_sel (out, lia_evo_engine_item_id_for_contact (e_contact_get_const (l->data, E_CONTACT_UID)),
                   LIA_ENTITY_CONTACT, lia_evo_contact_link_state (l->data));
      lia_ui_contacts_free (contacts);
    }
  else if (kind == VIEW_CALENDAR)
    {
      GtkWidget *view = lia_ui_find_mapped (content, E_TYPE_CALENDAR_VIEW);
      GSList *events = view != NULL ? e_calendar_view_get_selected_events (E_CALENDAR_VIEW (view)) : NULL;

      for (GSList *l = events; l != NULL; l = l->next)
        {
          ECalendarViewSelectionData *data = l->data;

          add_sel (out, lia_ui_event_item_id (data->icalcomp), LIA_ENTITY_APPOINTMENT,
                   lia_evo_comp_link_state (data->icalcomp));
        }
      g_slist_free_full (events, e_calendar_view_selection_data_free);
    }
  else if (kind == VIEW_TASKS)
    {
      GtkWidget *table = lia_ui_find_mapped (content, E_TYPE_TASK_TABLE);
      GSList *tasks = table != NULL ? e_task_table_get_selected (E_TASK_TABLE (table)) : NULL;

      for (GSList *l = tasks; l != NULL; l = l->next)
        {
          ECalModelComponent *comp = l->data;

          add_sel (out, lia_evo_engine_item_id_for_task (i_cal_component_get_uid (comp->icalcomp)),
                   LIA_ENTITY_TASK, lia_evo_comp_link_state (comp->icalcomp));
        }
      g_slist_free (tasks);
    }
  return out;
}

static EAlertSink *
sink_of (EShellView *view)
{
  return E_ALERT_SINK (e_shell_view_get_shell_content (view));
}

static void
command_on_selection (EShellView *view, ViewKind kind, LiaCommandKind command,
                      const LiaUiRegarding *regarding, gboolean delete_in_crm)
{
  gboolean supported;
  g_autoptr (GPtrArray) sel = selection_of (view, kind, &supported);

  for (guint i = 0; i < sel->len; i++)
    {
      const Sel *s = g_ptr_array_index (sel, i);
      /* The engine fills the primary store and its folder. */
      LiaCommand c = {
        .abi_version = LIA_PLUGIN_ABI_VERSION,
        .kind = command,
        .surface = LIA_SURFACE_EXPLORER,
        .item_id = s->item_id,
        .regarding_id = regarding != NULL ? regarding->id : NULL,
        .regarding_name = regarding != NULL ? regarding->name : NULL,
        .delete_in_crm = delete_in_crm,
        .entity = s->entity,
        .link_state = lia_ui_link_state (s->item_id, s->carried),
      };

      if (!lia_ui_command (&c, sink_of (view), NULL))
        break;
    }
}

static EShellView *
view_of (LiaUiShellView *self)
{
  return E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
}

static void
on_track (GtkAction *action, LiaUiShellView *self)
{
  command_on_selection (view_of (self), self->kind, LIA_COMMAND_TRACK, NULL, FALSE);
}

static void
on_untrack (GtkAction *action, LiaUiShellView *self)
{
  gboolean supported, delete_in_crm = FALSE;
  g_autoptr (GPtrArray) sel = selection_of (view_of (self), self->kind, &supported);
  GtkWindow *window = GTK_WINDOW (e_shell_view_get_shell_window (view_of (self)));

  if (sel->len == 0 || !lia_ui_ask_untrack (window, sel->len, &delete_in_crm))
    return;
  command_on_selection (view_of (self), self->kind, LIA_COMMAND_UNTRACK, NULL, delete_in_crm);
}

static void
on_regarding (GtkAction *action, LiaUiShellView *self)
{
  g_auto (LiaUiRegarding) regarding = { 0 };
  GtkWindow *window = GTK_WINDOW (e_shell_view_get_shell_window (view_of (self)));

  if (lia_ui_regarding_run (window, &regarding))
    command_on_selection (view_of (self), self->kind, LIA_COMMAND_SET_REGARDING, &regarding, FALSE);
}

static void
on_sync (GtkAction *action, LiaUiShellView *self)
{
  LiaCommand c = { .abi_version = LIA_PLUGIN_ABI_VERSION,
                   .kind = LIA_COMMAND_SYNC_NOW,
                   .surface = LIA_SURFACE_EXPLORER };

  lia_ui_command (&c, sink_of (view_of (self)), NULL);
}

static void
set_action (LiaUiShellView *self, const char *base, gboolean sensitive, const char *tooltip)
{
  g_autofree char *name = g_strconcat (prefixes[self->kind], base, NULL);
  GtkAction *action = gtk_action_group_get_action (self->group, name);

  if (action == NULL)
    return;
  gtk_action_set_sensitive (action, sensitive);
  if (tooltip != NULL)
    gtk_action_set_tooltip (action, tooltip);
}

/* The most selected items whose link states are looked up (one worker
 * call reads them all); commands on more read the rest then. */
#define LOOKUP_MAX 500

/* A selection needs a view that tells it; for one item its link state
 * (while known) picks Track or Untrack; several items leave both to the
 * plugin's per-item rules. Set Regarding applies to activities only. On a
 * secondary client nothing here can be tracked anew: the untracked items
 * are refused (R-ROLE-SECONDARY-NO-NEW) and the tracked ones are tracked
 * already, so Track is insensitive and says where to track; changes to
 * tracked items, Untrack and Set Regarding stay (R-ROLE-SECONDARY-DEFER). */
static void
apply_sensitivity (LiaUiShellView *self, guint n_selected, gboolean supported, gboolean link_known,
                   LiaLinkState link)
{
  gboolean engine = lia_ui_engine () != NULL;
  gboolean either = n_selected > 1 || !link_known;
  g_autofree char *secondary = NULL;
  gboolean can_track_new = lia_ui_can_track_new_pim (&secondary);
  const char *track_tooltip = _ ("Track the selected items in CRM");

  self->can_track_new = can_track_new;

  if (!supported)
    track_tooltip = _ ("This Evolution does not tell which contacts are selected");
  else if (!can_track_new)
    track_tooltip = secondary;
  set_action (self, LIA_UI_ACTION_TRACK,
              engine && supported && can_track_new && n_selected > 0
                  && (either || link == LIA_LINK_STATE_NONE),
              track_tooltip);
  set_action (self, LIA_UI_ACTION_UNTRACK,
              engine && supported && n_selected > 0 && (either || link != LIA_LINK_STATE_NONE), NULL);
  set_action (self, LIA_UI_ACTION_REGARDING, engine && n_selected > 0 && self->kind != VIEW_CONTACTS, NULL);
  set_action (self, LIA_UI_ACTION_SYNC, engine, NULL);
}

typedef struct
{
  char *item_id; /* the one selected item, or NULL for several */
  guint n_selected;
} Lookup;

static void
lookup_free (gpointer data)
{
  Lookup *lookup = data;

  g_free (lookup->item_id);
  g_free (lookup);
}

static void
lookup_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  LiaUiShellView *self = owner;
  const Lookup *lookup = user_data;
  const char *item_id = lookup->item_id;
  GHashTable *tracked = result;
  EShellView *view = E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));

  if (self->group != NULL && e_shell_view_is_active (view))
    {
      if (tracked != NULL && item_id != NULL)
        apply_sensitivity (self, 1, TRUE, TRUE,
                           GPOINTER_TO_INT (g_hash_table_lookup (tracked, item_id)) /* NONE when absent */);
      lia_ui_selftest_log ("%s view: link states read for %u selected", e_shell_view_get_name (view),
                           lookup->n_selected);
    }
  if (tracked != NULL)
    g_hash_table_unref (tracked);
}

/* EShellView::update-actions: sensitivity at once from what is known; the
 * link states of the selection are read off the main loop, and an answer
 * for a selection that changed meanwhile is dropped. */
static void
on_update_actions (EShellView *view, LiaUiShellView *self)
{
  gboolean supported;
  g_autoptr (GPtrArray) sel = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  LiaLinkState link = LIA_LINK_STATE_NONE;
  gboolean known = FALSE;
  Lookup *lookup;

  if (self->group == NULL || !e_shell_view_is_active (view))
    return;
  sel = selection_of (view, self->kind, &supported);
  if (sel->len == 1)
    known = lia_ui_link_state_known (((Sel *) g_ptr_array_index (sel, 0))->item_id, &link);
  apply_sensitivity (self, sel->len, supported, known, link);
  lia_ui_cancellable_renew (&self->lookup);
  if (sel->len == 0 || lia_ui_engine () == NULL)
    return;
  ids = g_ptr_array_new ();
  for (guint i = 0; i < sel->len && i < LOOKUP_MAX; i++)
    g_ptr_array_add (ids, ((Sel *) g_ptr_array_index (sel, i))->item_id);
  g_ptr_array_add (ids, NULL);
  lookup = g_new0 (Lookup, 1);
  lookup->item_id = sel->len == 1 ? g_strdup (((Sel *) g_ptr_array_index (sel, 0))->item_id) : NULL;
  lookup->n_selected = sel->len;
  lia_ui_link_states_async (self, self->lookup, (const char *const *) ids->pdata, lookup_done, lookup,
                            lookup_free);
}

/* The role can change at any cycle (another client designated, this one
 * again): the actions follow at once, not at the next selection change.
 * Comparing the role is memory only; status changes come per item. */
static void
on_engine_status (LiaEvoEngine *engine, gconstpointer status, LiaUiShellView *self)
{
  EShellView *view = view_of (self);

  if (self->group != NULL && self->can_track_new >= 0 && e_shell_view_is_active (view)
      && lia_ui_can_track_new_pim (NULL) != self->can_track_new)
    e_shell_view_update_actions (view);
}

static void
on_toggled (EShellView *view, LiaUiShellView *self)
{
  GtkUIManager *ui_manager = e_shell_window_get_ui_manager (e_shell_view_get_shell_window (view));

  if (e_shell_view_is_active (view) && self->merge_id == 0)
    {
      g_autoptr (GError) error = NULL;

      g_auto (GStrv) parts = g_strsplit (ui_definitions[self->kind], "action='liaison-", -1);
      g_autofree char *glue = g_strdup_printf ("action='%sliaison-", prefixes[self->kind]);
      g_autofree char *ui = g_strjoinv (glue, parts);

      self->merge_id = gtk_ui_manager_add_ui_from_string (ui_manager, ui, -1, &error);
      if (self->merge_id == 0)
        g_warning ("cannot add the Liaison actions to the %s view: %s", e_shell_view_get_name (view),
                   error->message);
      lia_ui_selftest_log ("%s view: actions merged", e_shell_view_get_name (view));
    }
  else if (!e_shell_view_is_active (view) && self->merge_id != 0)
    {
      gtk_ui_manager_remove_ui (ui_manager, self->merge_id);
      self->merge_id = 0;
    }
  if (self->group != NULL)
    gtk_action_group_set_visible (self->group, e_shell_view_is_active (view));
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GObject) object = g_weak_ref_get (weak);
  LiaUiShellView *self = (LiaUiShellView *) object;
  EShellView *view;
  EShellWindow *window;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  view = view_of (self);
  self->kind = kind_of (view);
  if (self->kind == VIEW_NONE)
    return G_SOURCE_REMOVE;
  window = e_shell_view_get_shell_window (view);
  e_shell_window_add_action_group (window, group_names[self->kind]);
  self->group = e_shell_window_get_action_group (window, group_names[self->kind]);
  lia_ui_add_actions (self->group, prefixes[self->kind], self, G_CALLBACK (on_track), G_CALLBACK (on_untrack),
                      G_CALLBACK (on_regarding), G_CALLBACK (on_sync));
  g_signal_connect_object (view, "toggled", G_CALLBACK (on_toggled), self, 0);
  g_signal_connect_object (view, "update-actions", G_CALLBACK (on_update_actions), self, G_CONNECT_AFTER);
  if (lia_ui_engine () != NULL)
    g_signal_connect_object (lia_ui_engine (), "status-changed", G_CALLBACK (on_engine_status), self, 0);
  on_toggled (view, self);
  return G_SOURCE_REMOVE;
}

static void
lia_ui_shell_view_constructed (GObject *object)
{
  G_OBJECT_CLASS (lia_ui_shell_view_parent_class)->constructed (object);
  /* The view builds its UI after its extensions: set up from idle. */
  lia_ui_idle_with_weak_ref (object, setup_idle);
}

static void
lia_ui_shell_view_dispose (GObject *object)
{
  LiaUiShellView *self = (LiaUiShellView *) object;

  if (self->lookup != NULL)
    g_cancellable_cancel (self->lookup);
  g_clear_object (&self->lookup);
  G_OBJECT_CLASS (lia_ui_shell_view_parent_class)->dispose (object);
}

static void
lia_ui_shell_view_class_init (LiaUiShellViewClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_shell_view_constructed;
  G_OBJECT_CLASS (klass)->dispose = lia_ui_shell_view_dispose;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL_VIEW;
}

static void
lia_ui_shell_view_class_finalize (LiaUiShellViewClass *klass)
{
}

static void
lia_ui_shell_view_init (LiaUiShellView *self)
{
  self->can_track_new = -1;
}

void
lia_ui_shell_view_register (GTypeModule *module)
{
  lia_ui_shell_view_register_type (module);
}
