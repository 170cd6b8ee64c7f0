/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <shell/e-shell-window.h>
#include <shell/e-shell.h>

#include "lia-evo-host.h"
#include "lia-ui-evo-private.h"

/* The parts every surface shares: the engine, commands with their alerts,
 * the Untrack question, the four actions, and the EShell extension that
 * sets up what exists once per process (status activity, preferences
 * page, self-test). */

static void forget_state (const char *item_id);

LiaEvoEngine *
lia_ui_engine (void)
{
  return lia_evo_engine_get_default ();
}

static const char *const command_names[] = {
  [LIA_COMMAND_TRACK] = "track",
  [LIA_COMMAND_UNTRACK] = "untrack",
  [LIA_COMMAND_SET_REGARDING] = "set-regarding",
  [LIA_COMMAND_SYNC_NOW] = "sync-now",
};
G_STATIC_ASSERT (G_N_ELEMENTS (command_names) == LIA_COMMAND_N);

/* The alert definitions ship in Evolution's errordir (liaison.error); a
 * build that is run uninstalled falls back to Evolution's generic alert so
 * that the user still reads the reason. */
static gboolean
have_alert_table (void)
{
  static gint have = -1;

  if (have < 0)
    {
      g_autofree char *path = g_build_filename (LIA_ERRORDIR, "liaison.error", NULL);

      have = g_file_test (path, G_FILE_TEST_EXISTS) ? 1 : 0;
    }
  return have == 1;
}

void
lia_ui_weak_ref_free (gpointer weak)
{
  g_weak_ref_clear (weak);
  g_free (weak);
}

void
lia_ui_idle_with_weak_ref (gpointer object, GSourceFunc func)
{
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, object);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, func, weak, lia_ui_weak_ref_free);
}

void
lia_ui_alert (EAlertSink *sink, GtkWindow *parent, const char *tag, const char *arg)
{
  g_autofree char *full_tag = g_strconcat ("liaison:", tag, NULL);
  const char *use_tag = have_alert_table () ? full_tag : "system:simple-error";

  lia_ui_selftest_log ("alert %s: %s", tag, arg != NULL ? arg : "");
  if (sink != NULL)
    e_alert_submit (sink, use_tag, arg != NULL ? arg : "", NULL);
  else
    e_alert_run_dialog_for_args (parent, use_tag, arg != NULL ? arg : "", NULL);
}

/* Which alert explains an error: each names what fixes it. */
static const char *
alert_tag_for (const GError *error)
{
  if (error->domain != LIA_ERROR)
    return "failed";
  switch (error->code)
    {
    case LIA_ERROR_REFUSED:
      return "refused";
    case LIA_ERROR_UNAVAILABLE:
      return "not-ready";
    case LIA_ERROR_AUTH:
      return "auth";
    case LIA_ERROR_FORBIDDEN:
      return "forbidden";
    default:
      return "failed";
    }
}

EAlert *
lia_ui_alert_for_error (const GError *error)
{
  g_autofree char *full_tag = g_strconcat ("liaison:", alert_tag_for (error), NULL);

  lia_ui_selftest_log ("alert %s: %s", alert_tag_for (error), error->message);
  return e_alert_new (have_alert_table () ? full_tag : "system:simple-error", error->message, NULL);
}

gboolean
lia_ui_command (const LiaCommand *command, EAlertSink *sink, GtkWindow *parent)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (engine == NULL)
    {
      lia_ui_selftest_log ("command %s %s: no engine", command_names[command->kind],
                           command->item_id != NULL ? command->item_id : "-");
      lia_ui_alert (sink, parent, "no-engine", NULL);
      return FALSE;
    }
  /* Returns at once: the plugin records the command and a worker does
   * the rest (R-IMM-BACKGROUND). */
  ok = lia_evo_engine_command (engine, command, &error);
  /* Its link state changes now: the next lookup tells the new one. */
  forget_state (command->item_id);
  lia_ui_selftest_log ("command %s %s: %s", command_names[command->kind],
                       command->item_id != NULL ? command->item_id : "-", ok ? "ok" : error->message);
  if (!ok)
    lia_ui_alert (sink, parent, alert_tag_for (error), error->message);
  return ok;
}

/* ---- plugin calls off the main loop ---- */

typedef struct
{
  LiaPlugin *plugin;
  const LiaPluginFuncs *funcs;
  LiaUiPluginFunc func;
  gpointer data;
  GDestroyNotify data_free;
  GDestroyNotify result_free;
  LiaUiPluginDone done;
  gpointer user_data;
  gboolean has_owner;
  GWeakRef owner;
} PluginCall;

static guint calls_pending;

static void
plugin_call_free (gpointer data)
{
  PluginCall *call = data;

  if (call->data_free != NULL)
    call->data_free (call->data);
  g_weak_ref_clear (&call->owner);
  g_free (call);
}

/* Worker: the entry points lia-plugin.h lists under "Threads" only. */
static void
plugin_call_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PluginCall *call = task_data;
  GError *error = NULL;
  gpointer result;

  if (call->plugin == NULL || call->funcs == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "%s",
                               _ ("Liaison is not running in this Evolution"));
      return;
    }
  result = call->func (call->plugin, call->funcs, call->data, &error);
  if (error != NULL)
    {
      if (result != NULL && call->result_free != NULL)
        call->result_free (result);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, result, call->result_free);
}

static void
plugin_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = G_TASK (res);
  PluginCall *call = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GObject) owner = call->has_owner ? g_weak_ref_get (&call->owner) : NULL;
  gpointer result;

  calls_pending--;
  /* A cancelled task returns G_IO_ERROR_CANCELLED and frees its result. */
  result = g_task_propagate_pointer (task, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || (call->has_owner && owner == NULL))
    {
      if (result != NULL && call->result_free != NULL)
        call->result_free (result);
      return;
    }
  call->done (owner, result, error, call->user_data);
}

void
lia_ui_plugin_call (gpointer owner, GCancellable *cancellable, LiaUiPluginFunc func, gpointer data,
                    GDestroyNotify data_free, GDestroyNotify result_free, LiaUiPluginDone done,
                    gpointer user_data)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  PluginCall *call = g_new0 (PluginCall, 1);
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, plugin_call_done, NULL);

  call->plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  call->funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  call->func = func;
  call->data = data;
  call->data_free = data_free;
  call->result_free = result_free;
  call->done = done;
  call->user_data = user_data;
  call->has_owner = owner != NULL;
  g_weak_ref_init (&call->owner, owner);
  g_task_set_task_data (task, call, plugin_call_free);
  g_task_set_source_tag (task, lia_ui_plugin_call);
  g_task_set_name (task, "[liaison-ui] plugin call");
  calls_pending++;
  /* The plugin may be unloaded while the worker runs: its entry points
   * then answer LIA_ERROR_UNAVAILABLE (lia-plugin.h, "Threads"). */
  g_task_run_in_thread (task, plugin_call_thread);
}

GCancellable *
lia_ui_cancellable_renew (GCancellable **slot)
{
  if (*slot != NULL)
    g_cancellable_cancel (*slot);
  g_clear_object (slot);
  *slot = g_cancellable_new ();
  return *slot;
}

guint
lia_ui_plugin_calls_pending (void)
{
  return calls_pending;
}

gboolean
lia_ui_plugin_calls_wait (guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (calls_pending > 0 && g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return calls_pending == 0;
}

/* ---- link states ---- */

/* The last state each lookup saw (main context only), bounded. */
static GHashTable *known_states;
#define KNOWN_STATES_MAX 4096

static void
remember_state (const char *item_id, LiaLinkState state)
{
  if (known_states == NULL)
    known_states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_size (known_states) >= KNOWN_STATES_MAX)
    g_hash_table_remove_all (known_states);
  g_hash_table_insert (known_states, g_strdup (item_id), GINT_TO_POINTER (state));
}

void
lia_ui_link_state_remember (const char *item_id, LiaLinkState state)
{
  if (item_id != NULL)
    remember_state (item_id, state);
}

static void
forget_state (const char *item_id)
{
  if (known_states != NULL && item_id != NULL)
    g_hash_table_remove (known_states, item_id);
}

gboolean
lia_ui_link_state_known (const char *item_id, LiaLinkState *out_state)
{
  gpointer value;

  if (known_states == NULL || item_id == NULL
      || !g_hash_table_lookup_extended (known_states, item_id, NULL, &value))
    return FALSE;
  *out_state = GPOINTER_TO_INT (value);
  return TRUE;
}

/* Every item the engine tracks lives in the profile's primary store
 * LIA_EVO_STORE; the primary account's mail joins it (lia-evo-host.h). The
 * plugin's lookup_item reads the cache mapping; no host call. */
typedef struct
{
  char **ids;
  LiaUiPluginDone done;
  gpointer user_data;
  GDestroyNotify user_data_free;
} StatesCall;

static void
states_call_free (gpointer data)
{
  StatesCall *sc = data;

  g_strfreev (sc->ids);
  if (sc->user_data_free != NULL)
    sc->user_data_free (sc->user_data);
  g_free (sc);
}

static gpointer
lookup_states (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  const char *const *ids = (const char *const *) ((StatesCall *) data)->ids;
  GHashTable *states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (funcs->lookup_item == NULL)
    return states;
  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (LiaCacheMapping) m = funcs->lookup_item (plugin, LIA_EVO_STORE, ids[i], &local);

      if (local != NULL)
        {
          /* Not known: not remembered as untracked either. */
          g_debug ("cannot look up %s: %s", ids[i], local->message);
          continue;
        }
      g_hash_table_insert (states, g_strdup (ids[i]),
                           GINT_TO_POINTER (m != NULL ? m->state : LIA_LINK_STATE_NONE));
    }
  return states;
}

/* @user_data is the call's StatesCall, freed with the call after this. */
static void
states_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  StatesCall *sc = user_data;
  GHashTable *states = result;
  GHashTableIter iter;
  gpointer key, value;

  if (states != NULL)
    {
      g_hash_table_iter_init (&iter, states);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          remember_state (key, GPOINTER_TO_INT (value));
          if (GPOINTER_TO_INT (value) == LIA_LINK_STATE_NONE)
            g_hash_table_iter_remove (&iter);
        }
    }
  sc->done (owner, states, error, sc->user_data);
}

static void
states_free (gpointer data)
{
  if (data != NULL)
    g_hash_table_unref (data);
}

void
lia_ui_link_states_async (gpointer owner, GCancellable *cancellable, const char *const *item_ids,
                          LiaUiPluginDone done, gpointer user_data, GDestroyNotify user_data_free)
{
  StatesCall *sc = g_new0 (StatesCall, 1);

  sc->ids = g_strdupv ((char **) item_ids);
  sc->done = done;
  sc->user_data = user_data;
  sc->user_data_free = user_data_free;
  lia_ui_plugin_call (owner, cancellable, lookup_states, sc, states_call_free, states_free, states_done, sc);
}

LiaLinkState
lia_ui_link_state (const char *item_id, LiaLinkState carried)
{
  LiaLinkState state;

  if (lia_ui_link_state_known (item_id, &state))
    return state;
  return carried;
}

/* ---- R-ROLE-SECONDARY-NO-NEW ---- */

gboolean
lia_ui_can_track_new_pim (char **out_tooltip)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  g_autofree char *primary = NULL;
  LiaClientRole role;

  if (out_tooltip != NULL)
    *out_tooltip = NULL;
  /* An older plugin without the entry point: its command refuses. */
  if (plugin == NULL || funcs == NULL || funcs->get_client_role == NULL)
    return TRUE;
  role = funcs->get_client_role (plugin, &primary);
  if (role != LIA_CLIENT_SECONDARY)
    return TRUE;
  if (out_tooltip != NULL)
    *out_tooltip = primary != NULL && *primary != '\0'
                       ? g_strdup_printf (_ ("Track this on your synchronizing client “%s”"), primary)
                       : g_strdup (_ ("Track this on your synchronizing client"));
  return FALSE;
}

gboolean
lia_ui_ask_untrack (GtkWindow *parent, guint n_items, gboolean *out_delete)
{
  GtkWidget *dialog, *check, *area;
  gint response;

  /* In the self-test nobody answers: keep the CRM copy. */
  if (lia_ui_selftest_enabled ())
    {
      *out_delete = FALSE;
      lia_ui_selftest_log ("untrack question answered: keep in CRM");
      return TRUE;
    }
  dialog = gtk_message_dialog_new (parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   g_dngettext (GETTEXT_PACKAGE, "Stop tracking this item in CRM?",
                                                "Stop tracking these %u items in CRM?", n_items),
                                   n_items);
  gtk_message_dialog_format_secondary_text (
      GTK_MESSAGE_DIALOG (dialog), "%s",
      _ ("The item stays in Evolution. Its CRM copy stays too, unless you choose to delete it."));
  check = gtk_check_button_new_with_mnemonic (_ ("Also _delete it in CRM"));
  area = gtk_message_dialog_get_message_area (GTK_MESSAGE_DIALOG (dialog));
  gtk_container_add (GTK_CONTAINER (area), check);
  gtk_widget_show (check);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _ ("_Cancel"), GTK_RESPONSE_CANCEL, _ ("_Untrack"),
                          GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  response = gtk_dialog_run (GTK_DIALOG (dialog));
  *out_delete = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (check));
  gtk_widget_destroy (dialog);
  return response == GTK_RESPONSE_OK;
}

const char *
lia_ui_entity_label (LiaEntity entity)
{
  switch (entity)
    {
    case LIA_ENTITY_ACCOUNT:
      return _ ("Account");
    case LIA_ENTITY_CONTACT:
      return _ ("Contact");
    case LIA_ENTITY_LEAD:
      return _ ("Lead");
    case LIA_ENTITY_OPPORTUNITY:
      return _ ("Opportunity");
    case LIA_ENTITY_INCIDENT:
      return _ ("Case");
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      return _ ("Appointment");
    case LIA_ENTITY_TASK:
      return _ ("Task");
    case LIA_ENTITY_EMAIL:
      return _ ("Email");
    case LIA_ENTITY_PHONE_CALL:
      return _ ("Phone call");
    case LIA_ENTITY_LETTER:
      return _ ("Letter");
    case LIA_ENTITY_FAX:
      return _ ("Fax");
    default:
      return _ ("Record");
    }
}

static void
on_status (GtkAction *action, gpointer user_data)
{
  GApplication *app = g_application_get_default ();
  GtkWindow *parent =
      GTK_IS_APPLICATION (app) ? gtk_application_get_active_window (GTK_APPLICATION (app)) : NULL;

  lia_ui_status_window_show (parent);
}

void
lia_ui_add_actions (GtkActionGroup *group, const char *prefix, gpointer user_data, GCallback on_track,
                    GCallback on_untrack, GCallback on_regarding, GCallback on_sync)
{
  const struct
  {
    const char *name;
    const char *icon;
    const char *label;
    const char *tooltip;
    GCallback callback;
  } entries[] = {
    { LIA_UI_ACTION_TRACK, "emblem-shared", N_ ("_Track in CRM"), N_ ("Track the selected items in CRM"),
      on_track },
    { LIA_UI_ACTION_UNTRACK, "edit-clear", N_ ("_Untrack"), N_ ("Stop tracking the selected items in CRM"),
      on_untrack },
    { LIA_UI_ACTION_REGARDING, "insert-link", N_ ("Set _Regarding…"),
      N_ ("Link the selected items to a CRM account, contact, lead, opportunity or case"), on_regarding },
    { LIA_UI_ACTION_SYNC, "view-refresh", N_ ("S_ynchronize Now"), N_ ("Synchronize with CRM now"), on_sync },
    { LIA_UI_ACTION_STATUS, "dialog-information", N_ ("CRM _Status…"),
      N_ ("Show the synchronization status, the queued changes and recent synchronizations"),
      G_CALLBACK (on_status) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_autofree char *name = g_strconcat (prefix != NULL ? prefix : "", entries[i].name, NULL);
      GtkAction *action;

      if (entries[i].callback == NULL || gtk_action_group_get_action (group, name) != NULL)
        continue;
      action = gtk_action_new (name, _ (entries[i].label), _ (entries[i].tooltip), NULL);
      gtk_action_set_icon_name (action, entries[i].icon);
      /* Track in CRM shows its label on toolbars (the others their icons). */
      gtk_action_set_is_important (action, g_str_equal (entries[i].name, LIA_UI_ACTION_TRACK));
      g_signal_connect (action, "activate", entries[i].callback, user_data);
      gtk_action_group_add_action (group, action);
      g_object_unref (action);
    }
}

/* ---- The EShell extension: once per process ---- */

#define LIA_UI_TYPE_SHELL (lia_ui_shell_get_type ())
typedef struct
{
  EExtension parent;
  gboolean started;
} LiaUiShell;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiShellClass;

GType lia_ui_shell_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiShell, lia_ui_shell, E_TYPE_EXTENSION)

static void
on_window_added (GtkApplication *app, GtkWindow *window, gpointer user_data)
{
  LiaUiShell *self = user_data;

  /* The first shell window: Evolution's backends and the status bar of
   * the window exist now. */
  if (self->started || !E_IS_SHELL_WINDOW (window))
    return;
  self->started = TRUE;
  lia_ui_status_attach (app);
  lia_ui_prefs_register (app);
  if (lia_ui_selftest_enabled ())
    lia_ui_selftest_start (app);
}

static void
lia_ui_shell_constructed (GObject *object)
{
  EExtensible *shell = e_extension_get_extensible (E_EXTENSION (object));

  G_OBJECT_CLASS (lia_ui_shell_parent_class)->constructed (object);
  g_signal_connect_object (shell, "window-added", G_CALLBACK (on_window_added), object, 0);
}

static void
lia_ui_shell_class_init (LiaUiShellClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_shell_constructed;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL;
}

static void
lia_ui_shell_class_finalize (LiaUiShellClass *klass)
{
}

static void
lia_ui_shell_init (LiaUiShell *self)
{
}

void
lia_ui_shell_register (GTypeModule *module)
{
  lia_ui_shell_register_type (module);
}

void
lia_ui_evo_register_types (GTypeModule *type_module)
{
  static gboolean text_domain_bound;

  if (!text_domain_bound)
    {
      bindtextdomain (GETTEXT_PACKAGE, LIA_LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      text_domain_bound = TRUE;
    }
  /* G_DEFINE_DYNAMIC_TYPE's register functions are idempotent per module
   * (g_type_module_register_type reuses the type on a reload). */
  lia_ui_shell_register (type_module);
  lia_ui_mail_reader_register (type_module);
  lia_ui_shell_view_register (type_module);
  lia_ui_comp_editor_register (type_module);
  lia_ui_composer_register (type_module);
  lia_ui_folder_register (type_module);
  lia_ui_contact_editor_register (type_module);
  lia_ui_view_state_register (type_module);
}

gboolean
lia_ui_send_event (LiaUiEventKind kind, const char *item_id, const char *draft_id)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  LiaUiEvent event = {
    .abi_version = LIA_PLUGIN_ABI_VERSION,
    .kind = kind,
    .store = LIA_EVO_STORE,
    .item_id = item_id,
    .draft_id = draft_id,
  };

  if (plugin == NULL || funcs == NULL || item_id == NULL)
    return FALSE;
  /* The dispatcher only records it: no I/O on the main loop. */
  funcs->ui_event (plugin, &event);
  return TRUE;
}

gboolean
lia_ui_follow_view_ui (EShellView *view, const char *key, const char *ui_definition, const char *what)
{
  GtkUIManager *ui_manager = e_shell_window_get_ui_manager (e_shell_view_get_shell_window (view));
  guint merge_id = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (view), key));

  if (e_shell_view_is_active (view) && merge_id == 0)
    {
      g_autoptr (GError) error = NULL;

      merge_id = gtk_ui_manager_add_ui_from_string (ui_manager, ui_definition, -1, &error);
      if (merge_id == 0)
        g_warning ("cannot add the Liaison %s: %s", what, error->message);
    }
  else if (!e_shell_view_is_active (view) && merge_id != 0)
    {
      gtk_ui_manager_remove_ui (ui_manager, merge_id);
      merge_id = 0;
    }
  g_object_set_data (G_OBJECT (view), key, GUINT_TO_POINTER (merge_id));
  return merge_id != 0;
}
