/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <libemail-engine/libemail-engine.h>
#include <mail/em-folder-tree.h>
#include <shell/e-shell-sidebar.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-evo-mail.h"
#include "lia-ui-evo-private.h"

/* R-MAIL-FOLDER: "Track This Folder in CRM…" and "Stop Tracking This
 * Folder" in the mail folder tree's context menu (evolution-mail.ui,
 * /mail-folder-popup/mail-folder-popup-actions). Tracking asks for an
 * optional regarding record (the Set Regarding dialog with a "Without
 * Regarding" button) and gives the plugin's set_folder_tracked; mail moved
 * or filtered into the folder from then on is tracked by the engine's
 * email phase.
 *
 * Which folders are tracked: the plugin keeps them in the sync cache's
 * setting "mail-folders" (core/lia-engine-mail.c), read here through the
 * plugin's dup_setting on a worker thread, never on the main loop, when
 * the engine is ready and after every change made here; the menu shows
 * what the last read said (the profile is this process's while Evolution
 * runs: nothing else changes it). Only folders of the default mail account (the
 * profile's primary store) can be tracked (R-MARK-PROFILE); virtual
 * folders and account roots cannot. */

typedef struct
{
  EExtension parent;
  GtkActionGroup *group; /* owned by the shell window */
} LiaUiFolder;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiFolderClass;

GType lia_ui_folder_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiFolder, lia_ui_folder, E_TYPE_EXTENSION)

#define GROUP_NAME "liaison-folder"
#define MERGE_ID_KEY "liaison-folder-merge-id"

static const char ui_definition[] = "<ui>"
                                    "  <popup name='mail-folder-popup'>"
                                    "    <placeholder name='mail-folder-popup-actions'>"
                                    "      <menuitem action='" LIA_UI_ACTION_FOLDER_TRACK "'/>"
                                    "      <menuitem action='" LIA_UI_ACTION_FOLDER_UNTRACK "'/>"
                                    "      <separator/>"
                                    "    </placeholder>"
                                    "  </popup>"
                                    "</ui>";

/* ---- the tracked folders, as the plugin last said ---- */

/* "store/folder-id" -> regarding name ("" for none). Main thread only. */
static GHashTable *tracked;
static gboolean reading;
static gboolean read_again;
static GPtrArray *listeners; /* GWeakRef* to LiaUiFolder */

static void update_actions_of (LiaUiFolder *self);

static void
notify_listeners (void)
{
  for (guint i = 0; listeners != NULL && i < listeners->len;)
    {
      g_autoptr (GObject) self = g_weak_ref_get (listeners->pdata[i]);

      if (self == NULL)
        {
          g_ptr_array_remove_index_fast (listeners, i);
          continue;
        }
      update_actions_of ((LiaUiFolder *) self);
      i++;
    }
}

static GHashTable *
parse_folders (const char *setting)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (setting != NULL ? setting : "", "\n", -1);

  /* Lines "store/folder\tregarding-id\tregarding-name". */
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 3);

      if (g_strv_length (f) != 3 || *f[0] == '\0')
        continue;
      g_hash_table_replace (table, g_strdup (f[0]), g_strdup (f[2]));
    }
  return table;
}

typedef struct
{
  LiaEvoEngine *engine; /* a reference */
  char *store;
  char *folder;
  gboolean track;
  LiaUiRegarding regarding;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->engine);
  g_free (job->store);
  g_free (job->folder);
  lia_ui_regarding_clear (&job->regarding);
  g_free (job);
}

/* On a worker: dup_setting reads the sync cache (any thread, lia-plugin.h
 * "Threads"). */
static gpointer
read_folders (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  g_autofree char *value = NULL;
  GError *local = NULL;

  if (funcs->dup_setting == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "this plugin has no settings");
      return NULL;
    }
  value = funcs->dup_setting (plugin, LIA_UI_SETTING_MAIL_FOLDERS, &local);
  if (value == NULL && local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return parse_folders (value);
}

static void refresh (void);

static void
on_read_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  reading = FALSE;
  if (result != NULL)
    {
      g_clear_pointer (&tracked, g_hash_table_unref);
      tracked = result;
      notify_listeners ();
    }
  else
    g_debug ("tracked folders not read: %s", error != NULL ? error->message : "no answer");
  if (read_again)
    refresh ();
}

/* Starts a read of the tracked folders (one at a time). */
static void
refresh (void)
{
  LiaEvoEngine *engine = lia_ui_engine ();

  read_again = FALSE;
  if (engine == NULL || lia_evo_engine_get_plugin (engine) == NULL)
    return;
  if (reading)
    {
      read_again = TRUE;
      return;
    }
  reading = TRUE;
  lia_ui_plugin_call (NULL, NULL, read_folders, NULL, NULL, (GDestroyNotify) g_hash_table_unref, on_read_done,
                      NULL);
}

gboolean
lia_ui_folder_is_tracked (const char *store, const char *folder, char **out_regarding)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", store, folder);
  const char *regarding = tracked != NULL ? g_hash_table_lookup (tracked, key) : NULL;

  if (out_regarding != NULL)
    *out_regarding = regarding != NULL && *regarding != '\0' ? g_strdup (regarding) : NULL;
  return regarding != NULL;
}

/* ---- the selected folder ---- */

typedef struct
{
  char *store;      /* LIA_EVO_STORE for the default account, else its uid */
  char *folder;     /* the host adapter's folder id */
  char *full_name;  /* for the user */
  gboolean primary; /* of the default mail account */
  gboolean real;    /* a folder (not an account root, not virtual) */
} Selected;

static void
selected_clear (Selected *s)
{
  g_clear_pointer (&s->store, g_free);
  g_clear_pointer (&s->folder, g_free);
  g_clear_pointer (&s->full_name, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Selected, selected_clear)

static GtkWidget *
find_type (GtkWidget *widget, GType type)
{
  GtkWidget *found = NULL;
  g_autoptr (GList) children = NULL;

  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && found == NULL; l = l->next)
    found = find_type (l->data, type);
  return found;
}

static EMFolderTree *
folder_tree_of (EShellView *view)
{
  EShellSidebar *sidebar = e_shell_view_get_shell_sidebar (view);
  GtkWidget *tree = sidebar != NULL ? find_type (GTK_WIDGET (sidebar), EM_TYPE_FOLDER_TREE) : NULL;

  return tree != NULL ? EM_FOLDER_TREE (tree) : NULL;
}

static gboolean
get_selected (EShellView *view, Selected *out)
{
  EMFolderTree *tree = folder_tree_of (view);
  g_autoptr (CamelStore) store = NULL;
  g_autofree char *full_name = NULL;
  EShell *shell = e_shell_window_get_shell (e_shell_view_get_shell_window (view));
  g_autoptr (ESource) account = e_source_registry_ref_default_mail_account (e_shell_get_registry (shell));
  const char *uid;

  if (tree == NULL || !em_folder_tree_get_selected (tree, &store, &full_name) || store == NULL)
    return FALSE;
  uid = camel_service_get_uid (CAMEL_SERVICE (store));
  out->primary = account != NULL && g_strcmp0 (uid, e_source_get_uid (account)) == 0;
  out->store = g_strdup (out->primary ? LIA_EVO_STORE : uid);
  {
    g_autoptr (CamelStore) root = NULL;

    out->real = full_name != NULL && *full_name != '\0' && !CAMEL_IS_VEE_STORE (store)
                && !em_folder_tree_store_root_selected (tree, &root);
  }
  out->folder = out->real ? lia_evo_mail_folder_id (uid, full_name) : NULL;
  out->full_name = g_steal_pointer (&full_name);
  return TRUE;
}

/* ---- the actions ---- */

static EShellView *
view_of (LiaUiFolder *self)
{
  return E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
}

static void
update_actions_of (LiaUiFolder *self)
{
  g_auto (Selected) sel = { 0 };
  gboolean have = self->group != NULL && get_selected (view_of (self), &sel);
  gboolean engine = lia_ui_engine () != NULL;
  gboolean is_tracked = have && sel.real && lia_ui_folder_is_tracked (sel.store, sel.folder, NULL);
  GtkAction *track, *untrack;

  if (self->group == NULL)
    return;
  track = gtk_action_group_get_action (self->group, LIA_UI_ACTION_FOLDER_TRACK);
  untrack = gtk_action_group_get_action (self->group, LIA_UI_ACTION_FOLDER_UNTRACK);
  gtk_action_set_visible (track, !is_tracked);
  gtk_action_set_visible (untrack, is_tracked);
  gtk_action_set_sensitive (track, engine && have && sel.real && sel.primary);
  gtk_action_set_sensitive (untrack, engine && is_tracked);
  gtk_action_set_tooltip (track, have && sel.real && !sel.primary
                                     ? _ ("Only folders of your default mail account can be tracked in CRM")
                                     : _ ("Track the email moved or filtered into this folder in CRM"));
}

static void
set_tracked (LiaUiFolder *self, gboolean track)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  GtkWindow *window = GTK_WINDOW (e_shell_view_get_shell_window (view_of (self)));
  g_auto (Selected) sel = { 0 };
  g_autoptr (GError) error = NULL;
  Job *job;

  if (!get_selected (view_of (self), &sel) || !sel.real)
    return;
  if (engine == NULL)
    {
      lia_ui_alert (NULL, window, "no-engine", NULL);
      return;
    }
  job = g_new0 (Job, 1);
  job->engine = g_object_ref (engine);
  job->store = g_steal_pointer (&sel.store);
  job->folder = g_steal_pointer (&sel.folder);
  job->track = track;
  if (track)
    {
      /* The regarding is optional: the Set Regarding dialog with a
       * button to go on without one. */
      GtkWidget *dialog = lia_ui_regarding_dialog_new (window);
      gint response;

      gtk_window_set_title (GTK_WINDOW (dialog), _ ("Track This Folder in CRM"));
      gtk_dialog_add_button (GTK_DIALOG (dialog), _ ("Track _Without Regarding"), GTK_RESPONSE_NO);
      response = gtk_dialog_run (GTK_DIALOG (dialog));
      if (response == GTK_RESPONSE_OK && lia_ui_regarding_dialog_get (dialog, &job->regarding))
        lia_ui_recent_add (&job->regarding);
      else if (response != GTK_RESPONSE_NO)
        {
          gtk_widget_destroy (dialog);
          lia_ui_selftest_log ("folder track: cancelled");
          job_free (job);
          return;
        }
      gtk_widget_destroy (dialog);
    }
  lia_ui_selftest_log ("folder %s %s (%s), regarding %s", track ? "track" : "untrack", job->folder,
                       sel.full_name, job->regarding.id != NULL ? job->regarding.id : "none");
  /* A user command on the main context, as lia-plugin.h asks of
   * set_folder_tracked: one setting written, and a cycle requested. */
  if (lia_evo_engine_get_plugin (engine) == NULL || lia_evo_engine_get_funcs (engine) == NULL
      || lia_evo_engine_get_funcs (engine)->set_folder_tracked == NULL)
    g_set_error (&error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the sync engine is not running");
  else
    lia_evo_engine_get_funcs (engine)->set_folder_tracked (lia_evo_engine_get_plugin (engine), job->store,
                                                           job->folder, track, job->regarding.id,
                                                           job->regarding.name, &error);
  lia_ui_selftest_log ("folder %s %s: %s", track ? "track" : "untrack", job->folder,
                       error != NULL ? error->message : "ok");
  if (error != NULL)
    {
      EAlert *alert = lia_ui_alert_for_error (error);

      e_alert_run_dialog (window, alert);
      g_object_unref (alert);
    }
  job_free (job);
  refresh ();
}

static void
on_track (GtkAction *action, LiaUiFolder *self)
{
  set_tracked (self, TRUE);
}

static void
on_untrack (GtkAction *action, LiaUiFolder *self)
{
  set_tracked (self, FALSE);
}

static void
on_update_actions (EShellView *view, LiaUiFolder *self)
{
  update_actions_of (self);
  /* Not read yet (the engine was starting): read now, the menu follows. */
  if (tracked == NULL)
    refresh ();
}

/* The folders are the engine's: read them again when it (re)starts. */
static void
on_engine_ready (LiaEvoEngine *engine, gpointer user_data)
{
  refresh ();
}

static gboolean
sync_ui (gpointer data)
{
  g_autoptr (GObject) view = g_weak_ref_get (data);

  if (view != NULL)
    lia_ui_follow_view_ui (E_SHELL_VIEW (view), MERGE_ID_KEY, ui_definition, "folder actions");
  return G_SOURCE_REMOVE;
}

/* The view merges its own UI around "toggled": follow once it is over. */
static void
on_toggled (EShellView *view, gpointer user_data)
{
  lia_ui_idle_with_weak_ref (view, sync_ui);
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GObject) object = g_weak_ref_get (weak);
  LiaUiFolder *self = (LiaUiFolder *) object;
  EShellView *view;
  EShellWindow *window;
  GtkAction *action;
  GWeakRef *ref;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  view = view_of (self);
  if (g_strcmp0 (e_shell_view_get_name (view), "mail") != 0)
    return G_SOURCE_REMOVE;
  window = e_shell_view_get_shell_window (view);
  e_shell_window_add_action_group (window, GROUP_NAME);
  self->group = e_shell_window_get_action_group (window, GROUP_NAME);
  if (gtk_action_group_get_action (self->group, LIA_UI_ACTION_FOLDER_TRACK) == NULL)
    {
      action = gtk_action_new (LIA_UI_ACTION_FOLDER_TRACK, _ ("_Track This Folder in CRM…"),
                               _ ("Track the email moved or filtered into this folder in CRM"), NULL);
      gtk_action_set_icon_name (action, "emblem-shared");
      g_signal_connect_object (action, "activate", G_CALLBACK (on_track), self, 0);
      gtk_action_group_add_action (self->group, action);
      g_object_unref (action);
      action = gtk_action_new (LIA_UI_ACTION_FOLDER_UNTRACK, _ ("_Stop Tracking This Folder"),
                               _ ("Email moved into this folder is no longer tracked in CRM"), NULL);
      gtk_action_set_icon_name (action, "edit-clear");
      g_signal_connect_object (action, "activate", G_CALLBACK (on_untrack), self, 0);
      gtk_action_group_add_action (self->group, action);
      g_object_unref (action);
    }
  if (listeners == NULL)
    listeners = g_ptr_array_new_with_free_func (lia_ui_weak_ref_free);
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  g_ptr_array_add (listeners, ref);
  g_signal_connect_object (view, "toggled", G_CALLBACK (on_toggled), self, 0);
  g_signal_connect_object (view, "update-actions", G_CALLBACK (on_update_actions), self, G_CONNECT_AFTER);
  if (lia_ui_engine () != NULL)
    g_signal_connect_object (lia_ui_engine (), "ready", G_CALLBACK (on_engine_ready), self, 0);
  on_toggled (view, self);
  update_actions_of (self);
  refresh ();
  lia_ui_selftest_log ("mail folder popup: actions in place");
  return G_SOURCE_REMOVE;
}

static void
lia_ui_folder_constructed (GObject *object)
{
  G_OBJECT_CLASS (lia_ui_folder_parent_class)->constructed (object);
  /* The view builds its UI after its extensions: set up from idle. */
  lia_ui_idle_with_weak_ref (object, setup_idle);
}

static void
lia_ui_folder_class_init (LiaUiFolderClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_folder_constructed;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL_VIEW;
}

static void
lia_ui_folder_class_finalize (LiaUiFolderClass *klass)
{
}

static void
lia_ui_folder_init (LiaUiFolder *self)
{
}

void
lia_ui_folder_register (GTypeModule *module)
{
  lia_ui_folder_register_type (module);
}
