/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <calendar/gui/e-comp-editor-event.h>
#include <calendar/gui/e-comp-editor-task.h>
#include <calendar/gui/e-comp-editor.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"

/* Track in CRM, Untrack, Set Regarding… in the event and task editors
 * (Inspectors), in the editor's "individual" action group and its
 * always-visible toolbar placeholder "after-content"; and the Inspector
 * events the dispatcher needs: open when the editor shows, save and close
 * from "editor-closed" (saved) (SPEC section 5: Inspector saves and
 * closes). "fill-component" is not used: it fires many times per edit. */

typedef struct
{
  EExtension parent;
} LiaUiCompEditor;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiCompEditorClass;

GType lia_ui_comp_editor_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiCompEditor, lia_ui_comp_editor, E_TYPE_EXTENSION)

static const char ui_definition[] = "<ui>"
                                    "  <toolbar name='main-toolbar'>"
                                    "    <placeholder name='after-content'>"
                                    "      <toolitem action='" LIA_UI_ACTION_TRACK "'/>"
                                    "      <toolitem action='" LIA_UI_ACTION_UNTRACK "'/>"
                                    "      <toolitem action='" LIA_UI_ACTION_REGARDING "'/>"
                                    "    </placeholder>"
                                    "  </toolbar>"
                                    "</ui>";

static ECompEditor *
editor_of (gpointer self)
{
  return E_COMP_EDITOR (e_extension_get_extensible (E_EXTENSION (self)));
}

/* The item id and entity of the component being edited; NULL for a new
 * component not yet saved (no UID in the store yet). */
static char *
editor_item_id (ECompEditor *editor, LiaEntity *out_entity)
{
  ICalComponent *comp = e_comp_editor_get_component (editor);
  const char *uid = comp != NULL ? i_cal_component_get_uid (comp) : NULL;

  if (uid == NULL)
    return NULL;
  if (E_IS_COMP_EDITOR_TASK (editor))
    {
      *out_entity = LIA_ENTITY_TASK;
      return lia_evo_engine_item_id_for_task (uid);
    }
  *out_entity = LIA_ENTITY_APPOINTMENT;
  return lia_evo_engine_item_id_for_event (uid, NULL);
}

static void
send_ui_event (ECompEditor *editor, LiaUiEventKind kind)
{
  LiaEntity entity = LIA_ENTITY_N;
  g_autofree char *item_id = editor_item_id (editor, &entity);

  if (lia_ui_send_event (kind, item_id, NULL))
    lia_ui_selftest_log ("editor event %d for %s", kind, item_id);
}

static void
command (ECompEditor *editor, LiaCommandKind kind, const LiaUiRegarding *regarding, gboolean delete_in_crm)
{
  LiaEntity entity = LIA_ENTITY_N;
  g_autofree char *item_id = editor_item_id (editor, &entity);
  ICalComponent *comp = e_comp_editor_get_component (editor);
  LiaCommand c = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = kind,
    .surface = LIA_SURFACE_INSPECTOR,
    .item_id = item_id,
    .regarding_id = regarding != NULL ? regarding->id : NULL,
    .regarding_name = regarding != NULL ? regarding->name : NULL,
    .delete_in_crm = delete_in_crm,
    .entity = entity,
    .link_state =
        lia_ui_link_state (item_id, comp != NULL ? lia_evo_comp_link_state (comp) : LIA_LINK_STATE_NONE),
  };

  if (item_id == NULL)
    {
      lia_ui_alert (E_ALERT_SINK (editor), GTK_WINDOW (editor), "refused", _ ("Save the item first."));
      return;
    }
  lia_ui_command (&c, E_ALERT_SINK (editor), GTK_WINDOW (editor));
}

static void refresh (gpointer self);

static void
on_track (GtkAction *action, gpointer self)
{
  command (editor_of (self), LIA_COMMAND_TRACK, NULL, FALSE);
  refresh (self);
}

static void
on_untrack (GtkAction *action, gpointer self)
{
  gboolean delete_in_crm = FALSE;

  if (lia_ui_ask_untrack (GTK_WINDOW (editor_of (self)), 1, &delete_in_crm))
    {
      command (editor_of (self), LIA_COMMAND_UNTRACK, NULL, delete_in_crm);
      refresh (self);
    }
}

static void
on_regarding (GtkAction *action, gpointer self)
{
  g_auto (LiaUiRegarding) regarding = { 0 };

  if (lia_ui_regarding_run (GTK_WINDOW (editor_of (self)), &regarding))
    {
      command (editor_of (self), LIA_COMMAND_SET_REGARDING, &regarding, FALSE);
      refresh (self);
    }
}

/* Track for an item not tracked yet, Untrack for a tracked one (both
 * while its state is being read); on a secondary client Track of a new
 * appointment or task is insensitive and names the synchronizing client
 * (R-ROLE-SECONDARY-NO-NEW), changes to a tracked one stay allowed
 * (R-ROLE-SECONDARY-DEFER). */
static void
update_sensitivity (GtkActionGroup *group, gboolean known, LiaLinkState link)
{
  gboolean engine = lia_ui_engine () != NULL;
  g_autofree char *secondary = NULL;
  gboolean can_track_new = lia_ui_can_track_new_pim (&secondary);
  GtkAction *action;

  /* What on_engine_status compares with (+1: 0 is "not yet"). */
  g_object_set_data (G_OBJECT (group), "liaison-can-track-new", GINT_TO_POINTER (can_track_new + 1));

  if ((action = gtk_action_group_get_action (group, LIA_UI_ACTION_TRACK)) != NULL)
    {
      gtk_action_set_sensitive (action, engine && can_track_new && (!known || link == LIA_LINK_STATE_NONE));
      gtk_action_set_tooltip (action, can_track_new ? _ ("Track the selected items in CRM") : secondary);
    }
  if ((action = gtk_action_group_get_action (group, LIA_UI_ACTION_UNTRACK)) != NULL)
    gtk_action_set_sensitive (action, engine && (!known || link != LIA_LINK_STATE_NONE));
  if ((action = gtk_action_group_get_action (group, LIA_UI_ACTION_REGARDING)) != NULL)
    gtk_action_set_sensitive (action, engine);
}

static gpointer
lookup_mapping (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  return funcs->lookup_item != NULL ? funcs->lookup_item (plugin, LIA_EVO_STORE, data, error) : NULL;
}

/* Tracking state visible: a line in the editor says the item is tracked
 * and with which CRM record (from the sync cache through the plugin, read
 * off the main loop). @user_data is the item id, freed with the call. */
static void
mapping_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  ECompEditor *editor = editor_of (owner);
  g_autoptr (LiaCacheMapping) m = result;
  const char *item_id = user_data;
  LiaLinkState link = m != NULL ? m->state : LIA_LINK_STATE_NONE;
  GtkActionGroup *group = e_comp_editor_get_action_group (editor, "individual");
  EAlert *alert;

  if (error != NULL)
    {
      lia_ui_selftest_log ("editor: link state of %s not read: %s", item_id, error->message);
      return;
    }
  lia_ui_link_state_remember (item_id, link);
  if (group != NULL)
    update_sensitivity (group, TRUE, link);
  if (link == LIA_LINK_STATE_NONE || g_object_get_data (owner, "liaison-tracking-shown") != NULL)
    return;
  alert = e_comp_editor_add_information (
      editor, link == LIA_LINK_STATE_TRACKED ? _ ("Tracked in CRM") : _ ("Marked to be tracked in CRM"),
      m->crm_id);
  g_object_set_data (owner, "liaison-tracking-shown", GINT_TO_POINTER (TRUE));
  lia_ui_selftest_log ("editor shows: tracked (%s)", m->crm_id != NULL ? m->crm_id : "no CRM id yet");
  /* The alert bar holds its own reference. */
  g_clear_object (&alert);
}

static void
refresh (gpointer self)
{
  ECompEditor *editor = editor_of (self);
  LiaEntity entity = LIA_ENTITY_N;
  char *item_id = editor_item_id (editor, &entity);
  GtkActionGroup *group = e_comp_editor_get_action_group (editor, "individual");
  LiaLinkState link = LIA_LINK_STATE_NONE;
  gboolean known = item_id != NULL && lia_ui_link_state_known (item_id, &link);

  if (group != NULL)
    update_sensitivity (group, known || item_id == NULL, link);
  if (item_id == NULL)
    return;
  lia_ui_plugin_call (self, NULL, lookup_mapping, item_id, g_free, (GDestroyNotify) lia_cache_mapping_free,
                      mapping_done, item_id);
}

/* The role can change at any cycle: an open editor follows (memory only:
 * the role and the link state last read). */
static void
on_engine_status (LiaEvoEngine *engine, gconstpointer status, gpointer self)
{
  ECompEditor *editor = editor_of (self);
  GtkActionGroup *group = e_comp_editor_get_action_group (editor, "individual");
  GtkAction *track = group != NULL ? gtk_action_group_get_action (group, LIA_UI_ACTION_TRACK) : NULL;
  gboolean can_track_new = lia_ui_can_track_new_pim (NULL);
  gint shown = group != NULL
                   ? GPOINTER_TO_INT (g_object_get_data (G_OBJECT (group), "liaison-can-track-new")) - 1
                   : -1;
  LiaEntity entity = LIA_ENTITY_N;
  g_autofree char *item_id = NULL;
  LiaLinkState link = LIA_LINK_STATE_NONE;
  gboolean known;

  if (track == NULL || shown < 0 || shown == can_track_new)
    return;
  item_id = editor_item_id (editor, &entity);
  known = item_id == NULL || lia_ui_link_state_known (item_id, &link);
  update_sensitivity (group, known, link);
}

static void
on_editor_closed (ECompEditor *editor, gboolean saved, gpointer self)
{
  if (saved)
    send_ui_event (editor, LIA_UI_EVENT_SAVE);
  send_ui_event (editor, LIA_UI_EVENT_CLOSE);
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GObject) self = g_weak_ref_get (weak);
  ECompEditor *editor;
  GtkActionGroup *group;
  g_autoptr (GError) error = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  editor = editor_of (self);
  if (!E_IS_COMP_EDITOR_EVENT (editor) && !E_IS_COMP_EDITOR_TASK (editor))
    return G_SOURCE_REMOVE; /* memos are not synchronized */
  group = e_comp_editor_get_action_group (editor, "individual");
  if (group == NULL)
    return G_SOURCE_REMOVE;
  /* The actions act on the editor, not the shell's selection: no Sync Now. */
  lia_ui_add_actions (group, NULL, self, G_CALLBACK (on_track), G_CALLBACK (on_untrack),
                      G_CALLBACK (on_regarding), NULL);
  if (gtk_ui_manager_add_ui_from_string (e_comp_editor_get_ui_manager (editor), ui_definition, -1, &error)
      == 0)
    g_warning ("cannot add the Liaison actions to the editor: %s", error->message);
  refresh (self);
  g_signal_connect_object (editor, "editor-closed", G_CALLBACK (on_editor_closed), self, 0);
  if (lia_ui_engine () != NULL)
    g_signal_connect_object (lia_ui_engine (), "status-changed", G_CALLBACK (on_engine_status), self, 0);
  send_ui_event (editor, LIA_UI_EVENT_INSPECTOR_OPEN);
  lia_ui_selftest_log ("%s: actions in place", G_OBJECT_TYPE_NAME (editor));
  return G_SOURCE_REMOVE;
}

static void
lia_ui_comp_editor_constructed (GObject *object)
{
  G_OBJECT_CLASS (lia_ui_comp_editor_parent_class)->constructed (object);
  /* The editor fills its component after construction: set up from idle. */
  lia_ui_idle_with_weak_ref (object, setup_idle);
}

static void
lia_ui_comp_editor_class_init (LiaUiCompEditorClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_comp_editor_constructed;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_COMP_EDITOR;
}

static void
lia_ui_comp_editor_class_finalize (LiaUiCompEditorClass *klass)
{
}

static void
lia_ui_comp_editor_init (LiaUiCompEditor *self)
{
}

void
lia_ui_comp_editor_register (GTypeModule *module)
{
  lia_ui_comp_editor_register_type (module);
}
