/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <shell/e-shell.h>

#include "lia-ui-evo-private.h"

/* What the user can always see (R-OFF-STATUS):
 *
 * - an EActivity in the status bar while a cycle runs, with the number of
 *   items done, and one while the org is unreachable (offline, with the
 *   number of queued changes) — both follow the engine's "status-changed";
 * - the status window: state, last sync, last error, the outbox (pending
 *   and failed changes with their reasons, Retry / Drop) and the journal
 *   of recent syncs, through the plugin's administration entry points. */

typedef struct
{
  EShellBackend *backend; /* the mail backend: its views show the activity */
  EActivity *sync_activity;
  EActivity *offline_activity;
} StatusUi;

static StatusUi status_ui;

char *
lia_ui_status_describe (const LiaSyncStatus *status)
{
  GString *s = g_string_new (NULL);

  switch (status->state)
    {
    case LIA_SYNC_STATE_STARTING:
      g_string_append (s, _ ("Starting"));
      break;
    case LIA_SYNC_STATE_IDLE:
      g_string_append (s, _ ("Up to date"));
      break;
    case LIA_SYNC_STATE_SCANNING:
    case LIA_SYNC_STATE_UPLOADING:
    case LIA_SYNC_STATE_DOWNLOADING:
      g_string_append_printf (s, _ ("Synchronizing (%u items done)"), status->progress_done);
      break;
    case LIA_SYNC_STATE_OFFLINE:
      g_string_append (s, _ ("Offline: CRM cannot be reached, retrying"));
      break;
    default:
      g_string_append (s, _ ("Stopped"));
      break;
    }
  /* Counts as unsigned long: xgettext cannot see through G_GUINT64_FORMAT. */
  if (status->queued > 0)
    g_string_append_printf (
        s,
        g_dngettext (GETTEXT_PACKAGE, ", %lu change queued", ", %lu changes queued", (gulong) status->queued),
        (gulong) status->queued);
  if (status->failed > 0)
    g_string_append_printf (
        s, g_dngettext (GETTEXT_PACKAGE, ", %lu failed", ", %lu failed", (gulong) status->failed),
        (gulong) status->failed);
  return g_string_free (s, FALSE);
}

static void
finish_activity (EActivity **activity)
{
  if (*activity == NULL)
    return;
  e_activity_set_state (*activity, E_ACTIVITY_COMPLETED);
  g_clear_object (activity);
}

static EActivity *
new_activity (const char *icon)
{
  EActivity *activity = e_activity_new ();

  e_activity_set_icon_name (activity, icon);
  e_activity_set_state (activity, E_ACTIVITY_RUNNING);
  if (status_ui.backend != NULL)
    e_shell_backend_add_activity (status_ui.backend, activity);
  return activity;
}

static void
on_status_changed (LiaEvoEngine *engine, gconstpointer data, gpointer user_data)
{
  const LiaSyncStatus *status = data;
  gboolean running = status->state == LIA_SYNC_STATE_SCANNING || status->state == LIA_SYNC_STATE_UPLOADING
                     || status->state == LIA_SYNC_STATE_DOWNLOADING;
  g_autofree char *text = lia_ui_status_describe (status);

  if (running)
    {
      g_autofree char *line = g_strdup_printf (_ ("CRM: %s"), text);

      if (status_ui.sync_activity == NULL)
        status_ui.sync_activity = new_activity ("view-refresh");
      e_activity_set_text (status_ui.sync_activity, line);
    }
  else
    finish_activity (&status_ui.sync_activity);

  if (status->state == LIA_SYNC_STATE_OFFLINE)
    {
      g_autofree char *line = g_strdup_printf (_ ("CRM: %s"), text);

      if (status_ui.offline_activity == NULL)
        status_ui.offline_activity = new_activity ("network-offline");
      e_activity_set_state (status_ui.offline_activity, E_ACTIVITY_WAITING);
      e_activity_set_text (status_ui.offline_activity, line);
    }
  else if (status->state != LIA_SYNC_STATE_STARTING)
    finish_activity (&status_ui.offline_activity);
  lia_ui_selftest_log ("status: %s (%s)", lia_sync_state_to_string (status->state), text);
}

gboolean
lia_ui_status_offline_shown (void)
{
  return status_ui.offline_activity != NULL;
}

void
lia_ui_status_attach (GtkApplication *shell)
{
  LiaEvoEngine *engine = lia_ui_engine ();

  status_ui.backend = e_shell_get_backend_by_name (E_SHELL (shell), "mail");
  if (engine == NULL)
    {
      lia_ui_selftest_log ("status: no engine");
      return;
    }
  g_signal_connect (engine, "status-changed", G_CALLBACK (on_status_changed), NULL);
}

/* ---- the status window ---- */

enum
{
  CH_ID,
  CH_STATUS,
  CH_WHAT,
  CH_ITEM,
  CH_REASON,
  CH_N
};

typedef struct
{
  GtkWidget *window;
  GtkWidget *summary;
  GtkWidget *changes;
  GtkWidget *journal;
  GtkWidget *retry;
  GtkWidget *drop;
  GtkListStore *change_store;
  GtkListStore *journal_store;
  gulong status_handler;
  guint refresh_id;
  GCancellable *cancellable; /* owned: cancelled when the window goes */
  GCancellable *reading;     /* owned: the lists being read, renewed per refresh */
} StatusWindow;

static StatusWindow *the_window;

static char *
format_time (gint64 us)
{
  g_autoptr (GDateTime) dt = NULL;

  if (us <= 0)
    return g_strdup (_ ("never"));
  dt = g_date_time_new_from_unix_local (us / G_USEC_PER_SEC);
  return dt != NULL ? g_date_time_format (dt, "%x %X") : g_strdup ("?");
}

/* The outbox and the journal, read on a worker (the sync cache). */
typedef struct
{
  GPtrArray *changes;
  GPtrArray *journal;
  char *error;
} Lists;

static void
lists_free (gpointer data)
{
  Lists *lists = data;

  if (lists == NULL)
    return;
  g_clear_pointer (&lists->changes, g_ptr_array_unref);
  g_clear_pointer (&lists->journal, g_ptr_array_unref);
  g_free (lists->error);
  g_free (lists);
}

static gpointer
read_lists (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  Lists *lists = g_new0 (Lists, 1);
  g_autoptr (GError) local = NULL;

  lists->changes = funcs->list_changes (plugin, &local);
  if (lists->changes == NULL)
    lists->error = g_strdup (local->message);
  lists->journal = funcs->list_journal (plugin, 50, NULL);
  return lists;
}

static void
lists_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  StatusWindow *w = user_data; /* alive: its cancellable was not cancelled */
  Lists *lists = result;

  gtk_list_store_clear (w->change_store);
  gtk_list_store_clear (w->journal_store);
  if (lists == NULL || lists->changes == NULL)
    lia_ui_selftest_log ("status window: no outbox: %s", lists != NULL   ? lists->error
                                                         : error != NULL ? error->message
                                                                         : "");
  for (guint i = 0; lists != NULL && lists->changes != NULL && i < lists->changes->len; i++)
    {
      const LiaCacheChange *c = g_ptr_array_index (lists->changes, i);
      g_autofree char *what =
          g_strdup_printf ("%s %s %s", lia_change_op_to_string (c->op), lia_ui_entity_label (c->entity),
                           c->direction == LIA_DIRECTION_TO_CRM ? _ ("to CRM") : _ ("to Evolution"));

      gtk_list_store_insert_with_values (w->change_store, NULL, -1, CH_ID, c->id, CH_STATUS,
                                         c->attempts > 0 ? _ ("failed") : _ ("pending"), CH_WHAT, what,
                                         CH_ITEM, c->item_id != NULL ? c->item_id : c->crm_id, CH_REASON,
                                         c->last_error != NULL ? c->last_error : "", -1);
    }
  for (guint i = 0; lists != NULL && lists->journal != NULL && i < lists->journal->len; i++)
    {
      const LiaCacheJournalEntry *e = g_ptr_array_index (lists->journal, i);
      g_autofree char *at = format_time (e->at);

      gtk_list_store_insert_with_values (w->journal_store, NULL, -1, 0, at, 1, e->kind, 2, e->message, -1);
    }
  lia_ui_selftest_log ("status window: %u changes, %u journal entries",
                       lists != NULL && lists->changes != NULL ? lists->changes->len : 0,
                       lists != NULL && lists->journal != NULL ? lists->journal->len : 0);
  lists_free (lists);
}

/* The summary from the engine's status (in memory); the lists read off
 * the main loop, a newer refresh dropping an older one's answer. */
static void
refresh (StatusWindow *w)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  g_auto (LiaSyncStatus) status = { 0 };
  g_autofree char *text = NULL;
  g_autofree char *last = NULL;
  g_autofree char *summary = NULL;

  if (engine == NULL)
    {
      gtk_label_set_text (GTK_LABEL (w->summary), _ ("Liaison is not set up for this profile."));
      return;
    }
  lia_evo_engine_get_status (engine, &status);
  text = lia_ui_status_describe (&status);
  last = format_time (status.last_sync_at);
  summary = g_strdup_printf ("%s\n%s %s\n%s %s\n%s %s", text, _ ("Connection:"),
                             status.online ? _ ("online") : _ ("offline"), _ ("Last synchronization:"), last,
                             _ ("Last error:"), status.last_error != NULL ? status.last_error : _ ("none"));
  gtk_label_set_text (GTK_LABEL (w->summary), summary);
  lia_ui_cancellable_renew (&w->reading);
  lia_ui_plugin_call (w->window, w->reading, read_lists, NULL, NULL, lists_free, lists_done, w);
}

static gboolean
refresh_later (gpointer user_data)
{
  StatusWindow *w = user_data;

  w->refresh_id = 0;
  refresh (w);
  return G_SOURCE_REMOVE;
}

/* Status changes come with every item of a cycle: the lists (read from the
 * sync cache) are read again at most once a second. */
static void
on_window_status (LiaEvoEngine *engine, gconstpointer status, gpointer user_data)
{
  StatusWindow *w = user_data;

  if (w->refresh_id == 0)
    w->refresh_id = g_timeout_add_seconds (1, refresh_later, w);
}

typedef struct
{
  gint64 id;
  gboolean drop;
} OutboxAction;

static gpointer
run_outbox_action (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  const OutboxAction *a = data;
  gboolean ok =
      a->drop ? funcs->drop_change (plugin, a->id, error) : funcs->retry_change (plugin, a->id, error);

  return ok ? GINT_TO_POINTER (TRUE) : NULL;
}

static void
outbox_action_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  StatusWindow *w = the_window;
  const OutboxAction *a = user_data;

  lia_ui_selftest_log ("outbox %s %" G_GINT64_FORMAT ": %s", a->drop ? "drop" : "retry", a->id,
                       error == NULL ? "ok" : error->message);
  if (w == NULL || w->window != owner)
    return;
  if (error != NULL)
    lia_ui_alert (NULL, GTK_WINDOW (w->window), "outbox-failed", error->message);
  refresh (w);
}

static void
outbox_action (StatusWindow *w, gboolean drop)
{
  GtkTreeModel *model;
  GtkTreeIter iter;
  OutboxAction *a;

  if (lia_ui_engine () == NULL
      || !gtk_tree_selection_get_selected (gtk_tree_view_get_selection (GTK_TREE_VIEW (w->changes)), &model,
                                           &iter))
    return;
  a = g_new0 (OutboxAction, 1);
  gtk_tree_model_get (model, &iter, CH_ID, &a->id, -1);
  a->drop = drop;
  lia_ui_plugin_call (w->window, w->cancellable, run_outbox_action, a, g_free, NULL, outbox_action_done, a);
}

static void
on_retry (GtkButton *button, gpointer user_data)
{
  outbox_action (user_data, FALSE);
}

static void
on_drop (GtkButton *button, gpointer user_data)
{
  outbox_action (user_data, TRUE);
}

static void
on_selection_changed (GtkTreeSelection *selection, gpointer user_data)
{
  StatusWindow *w = user_data;
  gboolean any = gtk_tree_selection_count_selected_rows (selection) > 0;

  gtk_widget_set_sensitive (w->retry, any);
  gtk_widget_set_sensitive (w->drop, any);
}

static void
on_sync_now (GtkButton *button, gpointer user_data)
{
  StatusWindow *w = user_data;
  LiaCommand c = { .abi_version = LIA_PLUGIN_ABI_VERSION,
                   .kind = LIA_COMMAND_SYNC_NOW,
                   .surface = LIA_SURFACE_EXPLORER };

  lia_ui_command (&c, NULL, GTK_WINDOW (w->window));
}

static void
on_destroy (GtkWidget *widget, gpointer user_data)
{
  StatusWindow *w = user_data;
  LiaEvoEngine *engine = lia_ui_engine ();

  if (engine != NULL && w->status_handler != 0)
    g_signal_handler_disconnect (engine, w->status_handler);
  g_clear_handle_id (&w->refresh_id, g_source_remove);
  /* Answers still on their way are dropped. */
  g_cancellable_cancel (w->cancellable);
  g_clear_object (&w->cancellable);
  if (w->reading != NULL)
    g_cancellable_cancel (w->reading);
  g_clear_object (&w->reading);
  g_clear_object (&w->change_store);
  g_clear_object (&w->journal_store);
  if (the_window == w)
    the_window = NULL;
  g_free (w);
}

static GtkWidget *
text_view_of (GtkListStore *store, const char *const *titles, guint n)
{
  GtkWidget *view = gtk_tree_view_new_with_model (GTK_TREE_MODEL (store));

  for (guint i = 0; i < n; i++)
    {
      GtkCellRenderer *renderer = gtk_cell_renderer_text_new ();
      GtkTreeViewColumn *column;

      column = gtk_tree_view_column_new_with_attributes (titles[i], renderer, "text", i, NULL);
      gtk_tree_view_column_set_resizable (column, TRUE);
      gtk_tree_view_append_column (GTK_TREE_VIEW (view), column);
    }
  return view;
}

static GtkWidget *
framed (const char *title, GtkWidget *child)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *scrolled = gtk_scrolled_window_new (NULL, NULL);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", title);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_container_add (GTK_CONTAINER (scrolled), child);
  gtk_box_pack_start (GTK_BOX (box), scrolled, TRUE, TRUE, 0);
  return box;
}

GtkWidget *
lia_ui_status_window_show (GtkWindow *parent)
{
  StatusWindow *w;
  GtkWidget *box, *buttons, *sync;
  const char *change_titles[] = { "#", N_ ("Status"), N_ ("Change"), N_ ("Item"), N_ ("Reason") };
  const char *journal_titles[] = { N_ ("When"), N_ ("What"), N_ ("Details") };

  if (the_window != NULL)
    {
      refresh (the_window);
      gtk_window_present (GTK_WINDOW (the_window->window));
      return the_window->window;
    }
  for (guint i = 1; i < G_N_ELEMENTS (change_titles); i++)
    change_titles[i] = _ (change_titles[i]);
  for (guint i = 0; i < G_N_ELEMENTS (journal_titles); i++)
    journal_titles[i] = _ (journal_titles[i]);
  w = g_new0 (StatusWindow, 1);
  w->cancellable = g_cancellable_new ();
  the_window = w;
  w->window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  gtk_widget_set_name (w->window, "liaison-status");
  gtk_window_set_title (GTK_WINDOW (w->window), _ ("CRM Synchronization Status"));
  gtk_window_set_transient_for (GTK_WINDOW (w->window), parent);
  gtk_window_set_default_size (GTK_WINDOW (w->window), 760, 560);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  gtk_container_add (GTK_CONTAINER (w->window), box);

  w->summary = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (w->summary), 0);
  gtk_box_pack_start (GTK_BOX (box), w->summary, FALSE, FALSE, 0);

  w->change_store =
      gtk_list_store_new (CH_N, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  w->changes = text_view_of (w->change_store, change_titles, G_N_ELEMENTS (change_titles));
  gtk_box_pack_start (GTK_BOX (box), framed (_ ("Pending and failed changes"), w->changes), TRUE, TRUE, 0);

  buttons = gtk_button_box_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout (GTK_BUTTON_BOX (buttons), GTK_BUTTONBOX_START);
  gtk_box_set_spacing (GTK_BOX (buttons), 6);
  w->retry = gtk_button_new_with_mnemonic (_ ("_Retry"));
  w->drop = gtk_button_new_with_mnemonic (_ ("_Drop"));
  sync = gtk_button_new_with_mnemonic (_ ("S_ynchronize Now"));
  gtk_widget_set_tooltip_text (w->retry, _ ("Send the selected change again now"));
  gtk_widget_set_tooltip_text (w->drop, _ ("Remove the selected change from the queue; it will not be sent"));
  gtk_container_add (GTK_CONTAINER (buttons), w->retry);
  gtk_container_add (GTK_CONTAINER (buttons), w->drop);
  gtk_container_add (GTK_CONTAINER (buttons), sync);
  gtk_box_pack_start (GTK_BOX (box), buttons, FALSE, FALSE, 0);

  w->journal_store = gtk_list_store_new (3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  w->journal = text_view_of (w->journal_store, journal_titles, G_N_ELEMENTS (journal_titles));
  gtk_box_pack_start (GTK_BOX (box), framed (_ ("Recent synchronizations"), w->journal), TRUE, TRUE, 0);

  g_signal_connect (w->retry, "clicked", G_CALLBACK (on_retry), w);
  g_signal_connect (w->drop, "clicked", G_CALLBACK (on_drop), w);
  g_signal_connect (sync, "clicked", G_CALLBACK (on_sync_now), w);
  g_signal_connect (gtk_tree_view_get_selection (GTK_TREE_VIEW (w->changes)), "changed",
                    G_CALLBACK (on_selection_changed), w);
  g_signal_connect (w->window, "destroy", G_CALLBACK (on_destroy), w);
  if (lia_ui_engine () != NULL)
    w->status_handler =
        g_signal_connect (lia_ui_engine (), "status-changed", G_CALLBACK (on_window_status), w);
  on_selection_changed (gtk_tree_view_get_selection (GTK_TREE_VIEW (w->changes)), w);
  refresh (w);
  gtk_widget_show_all (w->window);
  return w->window;
}
