/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <calendar/gui/e-cal-model.h>
#include <calendar/gui/e-comp-editor-task.h>
#include <calendar/gui/e-comp-editor.h>
#include <calendar/gui/e-task-table.h>
#include <shell/e-shell-content.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>
#include <shell/e-shell.h>

#include "lia-ui-evo-private.h"
#include "lia-ui-selftest-private.h"

/* Self-test phase (lia-ui-selftest-private.h) of the preferences page's
 * read-only view of what the org decides, and of a secondary client
 * (R-ROLE-SECONDARY-NO-NEW): another client of the test user is made the
 * synchronizing one straight at the org, with the profile's own server
 * and token ($XDG_CONFIG_HOME/liaison/profile.ini and token, written by
 * `liaison setup`); after a cycle this Evolution is secondary, and Track
 * in the contacts view is insensitive and names that client. Then this
 * client takes the role back through the page's setting (R-SET-PRIMARY).
 * Only the self-test mode runs this. */

#define OTHER_CLIENT "liaison-selftest-desk"

static struct
{
  GThread *thread;    /* the org calls, off the main loop */
  gboolean demoted;   /* the other client is primary at the org */
  char *demote_error; /* why not */
  GtkWidget *prefs;
  char *task_uid; /* the task whose editor the phase opened */
} t;

static gint
rows_of (GtkWidget *page, const char *name)
{
  GtkWidget *view = lia_ui_selftest_find_named (page, name);

  if (view == NULL || !GTK_IS_TREE_VIEW (view))
    return -1;
  return gtk_tree_model_iter_n_children (gtk_tree_view_get_model (GTK_TREE_VIEW (view)), NULL);
}

/* Worker: subscribes a second client of the user and designates it. */
static gpointer
demote_thread (gpointer data)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "liaison", NULL);
  g_autofree char *ini = g_build_filename (dir, "profile.ini", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *org = NULL;
  g_autofree char *token = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (GError) error = NULL;

  if (!g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, &error)
      || (org = g_key_file_get_string (kf, "profile", "org", &error)) == NULL
      || !g_file_get_contents (token_path, &token, NULL, &error)
      || (crm = lia_crm_http_new (org, g_strstrip (token), &error)) == NULL
      || (sub = lia_crm_subscribe_sync (crm, OTHER_CLIENT, NULL, &error)) == NULL
      || !lia_crm_set_primary_sync (crm, sub->id, NULL, &error))
    t.demote_error = g_strdup (error->message);
  else
    g_atomic_int_set (&t.demoted, TRUE);
  return NULL;
}

static LiaClientRole
role (char **out_primary)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;

  if (out_primary != NULL)
    *out_primary = NULL;
  if (plugin == NULL || funcs == NULL || funcs->get_client_role == NULL)
    return LIA_CLIENT_N;
  return funcs->get_client_role (plugin, out_primary);
}

static void
sync_now (void)
{
  LiaCommand c = { .abi_version = LIA_PLUGIN_ABI_VERSION,
                   .kind = LIA_COMMAND_SYNC_NOW,
                   .surface = LIA_SURFACE_EXPLORER };

  lia_ui_command (&c, NULL, NULL);
}

static GtkAction *
find_action (const char *name)
{
  GtkUIManager *ui = e_shell_window_get_ui_manager (lia_ui_selftest_window ());

  for (GList *l = gtk_ui_manager_get_action_groups (ui); l != NULL; l = l->next)
    {
      GtkAction *action = gtk_action_group_get_action (l->data, name);

      if (action != NULL)
        return action;
    }
  return NULL;
}

static void
check_secondary_track (void)
{
  GtkAction *track;
  const char *tooltip;

  lia_ui_plugin_calls_wait (5000);
  track = find_action ("contacts-" LIA_UI_ACTION_TRACK);
  tooltip = track != NULL ? gtk_action_get_tooltip (track) : NULL;
  lia_ui_selftest_log ("contacts view on a secondary client: Track sensitive %d, tooltip \"%s\"",
                       track != NULL && gtk_action_is_sensitive (track), tooltip != NULL ? tooltip : "");
  lia_ui_selftest_check (track != NULL && !gtk_action_is_sensitive (track) && tooltip != NULL
                             && strstr (tooltip, OTHER_CLIENT) != NULL,
                         "R-ROLE-SECONDARY-NO-NEW: on a secondary client Track in CRM is insensitive in the "
                         "contacts view (contacts selected) and its tooltip names the synchronizing client");
}

/* The mapped widget of the contacts view that selects (EAddressbookView). */
static GtkWidget *
find_selectable (GtkWidget *widget)
{
  GtkWidget *found = NULL;
  g_autoptr (GList) children = NULL;

  if (!gtk_widget_get_mapped (widget))
    return NULL;
  if (E_IS_SELECTABLE (widget) && g_type_from_name ("EAddressbookView") != G_TYPE_INVALID
      && G_TYPE_CHECK_INSTANCE_TYPE (widget, g_type_from_name ("EAddressbookView")))
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && found == NULL; l = l->next)
    found = find_selectable (l->data);
  return found;
}

/* The first task of the tasks view opens in its editor. */
static gboolean
open_task_editor (void)
{
  EShellWindow *window = lia_ui_selftest_window ();
  EShellView *view = e_shell_window_get_shell_view (window, "tasks");
  GtkWidget *table = NULL;
  GSList *tasks;
  gboolean opened = FALSE;

  /* The mapped task table, breadth first. */
  {
    g_autoptr (GList) pending = g_list_prepend (NULL, e_shell_view_get_shell_content (view));

    while (pending != NULL && table == NULL)
      {
        GtkWidget *w = pending->data;

        pending = g_list_delete_link (pending, pending);
        if (E_IS_TASK_TABLE (w) && gtk_widget_get_mapped (w))
          table = w;
        else if (GTK_IS_CONTAINER (w))
          {
            GList *children = gtk_container_get_children (GTK_CONTAINER (w));

            pending = g_list_concat (pending, children);
          }
      }
  }
  if (table == NULL)
    return FALSE;
  e_table_select_all (E_TABLE (table));
  tasks = e_task_table_get_selected (E_TASK_TABLE (table));
  if (tasks != NULL)
    {
      ECalModelComponent *comp = tasks->data;

      g_free (t.task_uid);
      t.task_uid = g_strdup (i_cal_component_get_uid (comp->icalcomp));
      e_comp_editor_open_for_component (GTK_WINDOW (window), e_shell_window_get_shell (window),
                                        e_client_get_source (E_CLIENT (comp->client)), comp->icalcomp, 0);
      opened = TRUE;
    }
  g_slist_free (tasks);
  return opened;
}

/* The editor of the task the phase opened (other editors may be open). */
static ECompEditor *
find_comp_editor (void)
{
  g_autoptr (GList) list = gtk_window_list_toplevels ();

  for (GList *l = list; l != NULL; l = l->next)
    {
      ICalComponent *comp;

      if (!E_IS_COMP_EDITOR_TASK (l->data) || !gtk_widget_get_visible (l->data))
        continue;
      comp = e_comp_editor_get_component (l->data);
      if (comp != NULL && g_strcmp0 (i_cal_component_get_uid (comp), t.task_uid) == 0)
        return l->data;
    }
  return NULL;
}

static GtkAction *
editor_action (const char *name)
{
  ECompEditor *editor = find_comp_editor ();
  GtkActionGroup *group = editor != NULL ? e_comp_editor_get_action_group (editor, "individual") : NULL;

  return group != NULL ? gtk_action_group_get_action (group, name) : NULL;
}

/* Selects every contact; whether there was a view to select in. */
static gboolean
select_all_contacts (void)
{
  EShellView *view = e_shell_window_get_shell_view (lia_ui_selftest_window (), "addressbook");
  GtkWidget *selectable = find_selectable (GTK_WIDGET (e_shell_view_get_shell_content (view)));

  if (selectable == NULL)
    return FALSE;
  e_selectable_select_all (E_SELECTABLE (selectable));
  e_shell_view_update_actions (view);
  return TRUE;
}

/* The open task editor's Track still names the other client. */
static gboolean
editor_names_other_client (void)
{
  GtkAction *track = editor_action (LIA_UI_ACTION_TRACK);
  const char *tooltip = track != NULL ? gtk_action_get_tooltip (track) : NULL;

  return tooltip != NULL && strstr (tooltip, OTHER_CLIENT) != NULL;
}

LiaUiPhaseResult
lia_ui_selftest_phase_prefs (guint step, guint waited)
{
  EShellWindow *window = lia_ui_selftest_window ();
  EShell *shell = e_shell_window_get_shell (window);
  GtkWidget *page;
  g_autofree char *primary = NULL;

  switch (step)
    {
    case 0: /* the CRM page, tall enough to show its lists */
      t.prefs = e_shell_get_preferences_window (shell);
      e_preferences_window_setup (E_PREFERENCES_WINDOW (t.prefs));
      gtk_window_resize (GTK_WINDOW (t.prefs), 1200, 960);
      gtk_window_present (GTK_WINDOW (t.prefs));
      e_preferences_window_show_page (E_PREFERENCES_WINDOW (t.prefs), "liaison");
      return LIA_UI_PHASE_NEXT;
    case 1: /* the org's filters and the field map arrive from a worker */
      page = lia_ui_selftest_find_named (t.prefs, "liaison-preferences");
      /* At least half a second: the check boxes' animations end. */
      if ((page == NULL || rows_of (page, "liaison-fields") <= 0 || waited < 5) && waited < 100)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_log ("preferences lists: %d filters, %d fields",
                           page != NULL ? rows_of (page, "liaison-filters") : -1,
                           page != NULL ? rows_of (page, "liaison-fields") : -1);
      lia_ui_selftest_check (page != NULL && rows_of (page, "liaison-filters") > 0,
                             "the CRM page lists the org's sync filters (read-only)");
      lia_ui_selftest_check (page != NULL && rows_of (page, "liaison-fields") > 0,
                             "the CRM page lists the synchronized fields with their directions (read-only)");
      {
        GtkWidget *tagging =
            page != NULL ? lia_ui_selftest_find_named (page, "liaison-setting-" LIA_UI_SETTING_TAGGING)
                         : NULL;
        GtkWidget *note = page != NULL ? lia_ui_selftest_find_named (page, "liaison-tagging-note") : NULL;

        /* The demo org leaves tagging to the user (no tagging-override). */
        lia_ui_selftest_check (
            tagging != NULL && gtk_widget_is_sensitive (tagging) && note != NULL
                && !gtk_widget_get_visible (note),
            "R-SET-TAGGING: without an org override the Tag tracked email switch is the user's");
      }
      lia_ui_selftest_screenshot ("preferences");
      gtk_widget_hide (t.prefs);
      return LIA_UI_PHASE_NEXT;
    case 2: /* another client of the user becomes the synchronizing one */
      if (t.thread == NULL)
        t.thread = g_thread_new ("selftest-demote", demote_thread, NULL);
      if (!g_atomic_int_get (&t.demoted) && t.demote_error == NULL && waited < 100)
        return LIA_UI_PHASE_WAIT;
      g_clear_pointer (&t.thread, g_thread_join);
      lia_ui_selftest_check (t.demoted,
                             "another client of the test user is made the synchronizing client at the org");
      if (!t.demoted)
        {
          lia_ui_selftest_log ("cannot demote: %s", t.demote_error != NULL ? t.demote_error : "timeout");
          return LIA_UI_PHASE_DONE;
        }
      sync_now ();
      return LIA_UI_PHASE_NEXT;
    case 3: /* the cycle reads the role */
      if (role (NULL) != LIA_CLIENT_SECONDARY && waited < 300)
        {
          if (waited % 50 == 0 && !lia_ui_selftest_engine_busy ())
            sync_now ();
          return LIA_UI_PHASE_WAIT;
        }
      lia_ui_selftest_check (
          role (&primary) == LIA_CLIENT_SECONDARY && g_strcmp0 (primary, OTHER_CLIENT) == 0,
          "after a cycle this client is secondary and knows the synchronizing client's name");
      e_shell_window_set_active_view (window, "addressbook");
      return LIA_UI_PHASE_NEXT;
    case 4:
      if (waited < 10)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (select_all_contacts (), "the contacts view selects all its contacts");
      check_secondary_track ();
      lia_ui_selftest_screenshot ("contacts-secondary");
      e_shell_window_set_active_view (window, "tasks");
      return LIA_UI_PHASE_NEXT;
    case 5: /* a tracked task's editor on the secondary client */
      if (waited < 10)
        return LIA_UI_PHASE_WAIT;
      lia_ui_selftest_check (open_task_editor (), "a task of the tasks view opens in its editor");
      return LIA_UI_PHASE_NEXT;
    case 6:
      {
        ECompEditor *editor = find_comp_editor ();
        GtkActionGroup *group = editor != NULL ? e_comp_editor_get_action_group (editor, "individual") : NULL;
        GtkAction *track = group != NULL ? gtk_action_group_get_action (group, LIA_UI_ACTION_TRACK) : NULL;
        GtkAction *untrack =
            group != NULL ? gtk_action_group_get_action (group, LIA_UI_ACTION_UNTRACK) : NULL;
        const char *tooltip;

        /* The editor sets up from an idle, then reads the link state. */
        if (track == NULL && waited < 50)
          return LIA_UI_PHASE_WAIT;
        lia_ui_plugin_calls_wait (5000);
        /* Read after the wait: the answers set the tooltip anew. */
        tooltip = track != NULL ? gtk_action_get_tooltip (track) : NULL;
        lia_ui_selftest_log ("task editor on a secondary client: Track sensitive %d, Untrack sensitive %d, "
                             "tooltip \"%s\"",
                             track != NULL && gtk_action_is_sensitive (track),
                             untrack != NULL && gtk_action_is_sensitive (untrack),
                             tooltip != NULL ? tooltip : "");
        {
          gboolean ok = track != NULL && !gtk_action_is_sensitive (track) && tooltip != NULL
                        && strstr (tooltip, OTHER_CLIENT) != NULL;
          g_autofree char *what = g_strdup_printf (
              "R-ROLE-SECONDARY-NO-NEW: in a task editor on a secondary client Track in CRM is insensitive "
              "and "
              "names the synchronizing client%s%s%s",
              ok ? "" : " (tooltip: ", ok ? "" : (tooltip != NULL ? tooltip : "none"), ok ? "" : ")");

          lia_ui_selftest_check (ok, what);
        }
        lia_ui_selftest_check (untrack != NULL && gtk_action_is_sensitive (untrack),
                               "R-ROLE-SECONDARY-DEFER: the tracked task's editor still offers Untrack on a "
                               "secondary client");
      }
      e_shell_window_set_active_view (window, "addressbook");
      return LIA_UI_PHASE_NEXT;
    case 7: /* this client takes the role back (R-SET-PRIMARY) */
      {
        LiaEvoEngine *engine = lia_ui_engine ();
        const LiaPluginFuncs *funcs = lia_evo_engine_get_funcs (engine);
        g_autoptr (GError) error = NULL;

        /* Self-test only: one cache write on the main loop. */
        if (!funcs->set_setting (lia_evo_engine_get_plugin (engine), LIA_SETTING_PRIMARY_CLIENT, "on",
                                 &error))
          lia_ui_selftest_log ("cannot designate this client again: %s", error->message);
      }
      return LIA_UI_PHASE_NEXT;
    case 8:
      /* The role is read from memory at once; the editor hears of it with
       * the engine's next status on the main loop: wait for both. */
      if ((role (NULL) != LIA_CLIENT_PRIMARY || editor_names_other_client ()) && waited < 300)
        {
          if (waited % 50 == 0 && !lia_ui_selftest_engine_busy ())
            sync_now ();
          return LIA_UI_PHASE_WAIT;
        }
      lia_ui_selftest_check (role (NULL) == LIA_CLIENT_PRIMARY,
                             "R-SET-PRIMARY: this client is the synchronizing client again");
      {
        /* The editor left open follows the role without a new selection. */
        GtkAction *track = editor_action (LIA_UI_ACTION_TRACK);
        const char *tooltip = track != NULL ? gtk_action_get_tooltip (track) : NULL;
        ECompEditor *editor = find_comp_editor ();
        GtkAction *close = editor != NULL ? e_comp_editor_get_action (editor, "close") : NULL;

        lia_ui_selftest_check (tooltip != NULL && strstr (tooltip, OTHER_CLIENT) == NULL,
                               "the task editor left open no longer points to the other client once this one "
                               "is primary again");
        if (close != NULL)
          gtk_action_activate (close);
      }
      select_all_contacts ();
      lia_ui_plugin_calls_wait (5000);
      {
        GtkAction *track = find_action ("contacts-" LIA_UI_ACTION_TRACK);
        const char *tooltip = track != NULL ? gtk_action_get_tooltip (track) : NULL;

        lia_ui_selftest_check (
            track != NULL && gtk_action_is_sensitive (track) && tooltip != NULL
                && strstr (tooltip, OTHER_CLIENT) == NULL,
            "on the primary client again Track in CRM is sensitive for the same selection");
      }
      e_shell_window_set_active_view (window, "mail");
      return LIA_UI_PHASE_DONE;
    default:
      return LIA_UI_PHASE_DONE;
    }
}
