/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "lia-ui-evo-private.h"

/* The Set Regarding dialog: search as you type over accounts, contacts,
 * leads, opportunities and cases; recent choices first; each row says
 * what kind of record it is. Keyboard only: type, Down/Up to move, Enter
 * to choose, Escape to cancel. Without the org (offline, or a plugin
 * without search) the recent choices are still there, and the command it
 * leads to is queued by the plugin (R-IMM-FALLBACK).
 *
 * The search runs on the plugin's worker (search_async); the dialog only
 * fills a list store, so typing never waits for the org. */

#define RECENT_MAX 10
#define SEARCH_LIMIT 50

enum
{
  COL_ENTITY,
  COL_ID,
  COL_NAME,
  COL_KIND,
  COL_RECENT,
  N_COLS
};

void
lia_ui_regarding_clear (LiaUiRegarding *regarding)
{
  g_clear_pointer (&regarding->id, g_free);
  g_clear_pointer (&regarding->name, g_free);
}

static void
regarding_free (gpointer data)
{
  lia_ui_regarding_clear (data);
  g_free (data);
}

/* ---- recent choices: what this user picked, display-only ---- */

static char *
recent_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "liaison", "ui-recent.ini", NULL);
}

GPtrArray *
lia_ui_recent_list (void)
{
  g_autofree char *path = recent_path ();
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_auto (GStrv) groups = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (regarding_free);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
    return out;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL && out->len < RECENT_MAX; i++)
    {
      g_autofree char *entity = g_key_file_get_string (kf, groups[i], "entity", NULL);
      g_autofree char *id = g_key_file_get_string (kf, groups[i], "id", NULL);
      g_autofree char *name = g_key_file_get_string (kf, groups[i], "name", NULL);
      LiaUiRegarding *r;
      LiaEntity e;

      /* A damaged file loses entries, never the dialog. */
      if (entity == NULL || id == NULL || name == NULL || !lia_entity_from_string (entity, &e)
          || !lia_entity_is_regarding_target (e))
        continue;
      r = g_new0 (LiaUiRegarding, 1);
      r->entity = e;
      r->id = g_steal_pointer (&id);
      r->name = g_steal_pointer (&name);
      g_ptr_array_add (out, r);
    }
  return out;
}

static void
recent_write (GKeyFile *kf, guint n, const LiaUiRegarding *r)
{
  g_autofree char *group = g_strdup_printf ("recent-%02u", n);

  g_key_file_set_string (kf, group, "entity", lia_entity_to_string (r->entity));
  g_key_file_set_string (kf, group, "id", r->id);
  g_key_file_set_string (kf, group, "name", r->name);
}

void
lia_ui_recent_add (const LiaUiRegarding *regarding)
{
  g_autoptr (GPtrArray) old = lia_ui_recent_list ();
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = recent_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  guint n = 0;

  /* The newest first, each record once. */
  recent_write (kf, n++, regarding);
  for (guint i = 0; i < old->len && n < RECENT_MAX; i++)
    {
      const LiaUiRegarding *r = g_ptr_array_index (old, i);

      if (g_strcmp0 (r->id, regarding->id) != 0)
        recent_write (kf, n++, r);
    }
  if (g_mkdir_with_parents (dir, 0700) != 0 || !g_key_file_save_to_file (kf, path, &error))
    g_debug ("recent regarding choices not saved: %s", error != NULL ? error->message : g_strerror (errno));
}

/* ---- the dialog ---- */

typedef struct
{
  GtkWidget *dialog;
  GtkWidget *entry;
  GtkWidget *view;
  GtkWidget *note;
  GtkListStore *store;
  GCancellable *cancellable;
  GPtrArray *recent; /* LiaUiRegarding* */
  guint generation;
} Dialog;

static void
dialog_free (gpointer data)
{
  Dialog *d = data;

  g_cancellable_cancel (d->cancellable);
  g_clear_object (&d->cancellable);
  g_clear_pointer (&d->recent, g_ptr_array_unref);
  g_clear_object (&d->store);
  g_free (d);
}

static gboolean
text_matches (const char *name, const char *text)
{
  g_autofree char *n = NULL;
  g_autofree char *t = NULL;

  if (text == NULL || *text == '\0')
    return TRUE;
  n = g_utf8_casefold (name, -1);
  t = g_utf8_casefold (text, -1);
  return strstr (n, t) != NULL;
}

static void
add_row (Dialog *d, LiaEntity entity, const char *id, const char *name, gboolean recent)
{
  GtkTreeIter iter;
  GtkTreeModel *model = GTK_TREE_MODEL (d->store);

  /* A recent choice the search finds again stays once, at the top. */
  if (gtk_tree_model_get_iter_first (model, &iter))
    do
      {
        g_autofree char *have = NULL;

        gtk_tree_model_get (model, &iter, COL_ID, &have, -1);
        if (g_strcmp0 (have, id) == 0)
          return;
      }
    while (gtk_tree_model_iter_next (model, &iter));
  gtk_list_store_insert_with_values (d->store, NULL, -1, COL_ENTITY, (gint) entity, COL_ID, id, COL_NAME,
                                     name, COL_KIND, lia_ui_entity_label (entity), COL_RECENT, recent, -1);
}

static void
select_first (Dialog *d)
{
  GtkTreePath *path = gtk_tree_path_new_first ();
  GtkTreeIter iter;

  if (gtk_tree_model_get_iter (GTK_TREE_MODEL (d->store), &iter, path))
    gtk_tree_selection_select_path (gtk_tree_view_get_selection (GTK_TREE_VIEW (d->view)), path);
  gtk_tree_path_free (path);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK,
                                     gtk_tree_model_iter_n_children (GTK_TREE_MODEL (d->store), NULL) > 0);
}

static void
fill_recent (Dialog *d, const char *text)
{
  gtk_list_store_clear (d->store);
  for (guint i = 0; i < d->recent->len; i++)
    {
      const LiaUiRegarding *r = g_ptr_array_index (d->recent, i);

      if (text_matches (r->name, text))
        add_row (d, r->entity, r->id, r->name, TRUE);
    }
}

typedef struct
{
  Dialog *d; /* valid while generation matches and not cancelled */
  guint generation;
} SearchCall;

static void
on_search_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SearchCall *call = user_data;
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) matches = NULL;

  if (funcs != NULL && plugin != NULL)
    matches = funcs->search_finish (plugin, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || call->d == NULL
      || call->generation != call->d->generation)
    {
      g_free (call);
      return;
    }
  if (matches == NULL)
    {
      gtk_label_set_text (GTK_LABEL (call->d->note), _ ("CRM cannot be searched now; showing recent choices. "
                                                        "The change is queued until CRM answers."));
      lia_ui_selftest_log ("regarding search failed: %s", error != NULL ? error->message : "no plugin");
    }
  else
    {
      guint added = 0;

      for (guint i = 0; i < matches->len; i++)
        {
          const LiaCrmMatch *m = g_ptr_array_index (matches, i);

          if (!lia_entity_is_regarding_target (m->entity))
            continue;
          add_row (call->d, m->entity, m->id, m->name, FALSE);
          added++;
        }
      gtk_label_set_text (GTK_LABEL (call->d->note), "");
      lia_ui_selftest_log ("regarding search: %u results", added);
    }
  select_first (call->d);
  g_free (call);
}

static void
on_search_changed (GtkSearchEntry *entry, gpointer user_data)
{
  Dialog *d = user_data;
  const char *text = gtk_entry_get_text (GTK_ENTRY (entry));
  LiaEvoEngine *engine = lia_ui_engine ();
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;

  d->generation++;
  g_cancellable_cancel (d->cancellable);
  g_clear_object (&d->cancellable);
  fill_recent (d, text);
  select_first (d);
  if (g_utf8_strlen (text, -1) < 2)
    return;
  if (plugin != NULL && lia_evo_engine_get_funcs (engine)->search_async != NULL)
    {
      SearchCall *call = g_new0 (SearchCall, 1);

      call->d = d;
      call->generation = d->generation;
      d->cancellable = g_cancellable_new ();
      gtk_label_set_text (GTK_LABEL (d->note), _ ("Searching CRM…"));
      lia_evo_engine_get_funcs (engine)->search_async (plugin, text, SEARCH_LIMIT, d->cancellable,
                                                       on_search_done, call);
      return;
    }
  gtk_label_set_text (GTK_LABEL (d->note), _ ("CRM cannot be searched now; showing recent choices."));
}

/* Enter in the entry chooses the selected row; Down moves into the list. */
static void
on_entry_activate (GtkEntry *entry, gpointer user_data)
{
  Dialog *d = user_data;

  if (gtk_tree_selection_count_selected_rows (gtk_tree_view_get_selection (GTK_TREE_VIEW (d->view))) > 0)
    gtk_dialog_response (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK);
}

static gboolean
on_entry_key (GtkWidget *widget, GdkEventKey *event, gpointer user_data)
{
  Dialog *d = user_data;

  if (event->keyval == GDK_KEY_Down || event->keyval == GDK_KEY_KP_Down)
    {
      gtk_widget_grab_focus (d->view);
      return TRUE;
    }
  return FALSE;
}

static void
on_row_activated (GtkTreeView *view, GtkTreePath *path, GtkTreeViewColumn *column, gpointer user_data)
{
  Dialog *d = user_data;

  gtk_dialog_response (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK);
}

GtkWidget *
lia_ui_regarding_dialog_new (GtkWindow *parent)
{
  Dialog *d = g_new0 (Dialog, 1);
  GtkWidget *content, *box, *label, *scrolled;
  GtkCellRenderer *renderer;
  GtkTreeViewColumn *column;

  d->dialog = gtk_dialog_new_with_buttons (_ ("Set Regarding"), parent,
                                           GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, _ ("_Cancel"),
                                           GTK_RESPONSE_CANCEL, _ ("_Set Regarding"), GTK_RESPONSE_OK, NULL);
  gtk_widget_set_name (d->dialog, "liaison-set-regarding");
  gtk_dialog_set_default_response (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK);
  gtk_window_set_default_size (GTK_WINDOW (d->dialog), 520, 420);
  content = gtk_dialog_get_content_area (GTK_DIALOG (d->dialog));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  gtk_box_pack_start (GTK_BOX (content), box, TRUE, TRUE, 0);

  label = gtk_label_new_with_mnemonic (_ ("_Find an account, contact, lead, opportunity or case:"));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);
  d->entry = gtk_search_entry_new ();
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->entry);
  gtk_box_pack_start (GTK_BOX (box), d->entry, FALSE, FALSE, 0);

  d->store =
      gtk_list_store_new (N_COLS, G_TYPE_INT, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);
  d->view = gtk_tree_view_new_with_model (GTK_TREE_MODEL (d->store));
  gtk_tree_view_set_enable_search (GTK_TREE_VIEW (d->view), FALSE);
  renderer = gtk_cell_renderer_text_new ();
  column = gtk_tree_view_column_new_with_attributes (_ ("Name"), renderer, "text", COL_NAME, NULL);
  gtk_tree_view_column_set_expand (column, TRUE);
  gtk_tree_view_append_column (GTK_TREE_VIEW (d->view), column);
  renderer = gtk_cell_renderer_text_new ();
  column = gtk_tree_view_column_new_with_attributes (_ ("Type"), renderer, "text", COL_KIND, NULL);
  gtk_tree_view_append_column (GTK_TREE_VIEW (d->view), column);
  renderer = gtk_cell_renderer_text_new ();
  g_object_set (renderer, "text", _ ("recent"), "style", PANGO_STYLE_ITALIC, NULL);
  column = gtk_tree_view_column_new_with_attributes ("", renderer, "visible", COL_RECENT, NULL);
  gtk_tree_view_append_column (GTK_TREE_VIEW (d->view), column);
  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_container_add (GTK_CONTAINER (scrolled), d->view);
  gtk_box_pack_start (GTK_BOX (box), scrolled, TRUE, TRUE, 0);

  d->note = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (d->note), 0);
  gtk_label_set_line_wrap (GTK_LABEL (d->note), TRUE);
  gtk_box_pack_start (GTK_BOX (box), d->note, FALSE, FALSE, 0);

  d->recent = lia_ui_recent_list ();
  g_signal_connect (d->entry, "search-changed", G_CALLBACK (on_search_changed), d);
  g_signal_connect (d->entry, "activate", G_CALLBACK (on_entry_activate), d);
  g_signal_connect (d->entry, "key-press-event", G_CALLBACK (on_entry_key), d);
  g_signal_connect (d->view, "row-activated", G_CALLBACK (on_row_activated), d);
  g_object_set_data_full (G_OBJECT (d->dialog), "liaison-dialog", d, dialog_free);
  fill_recent (d, NULL);
  select_first (d);
  if (d->recent->len == 0)
    gtk_label_set_text (GTK_LABEL (d->note), _ ("Type at least two letters to search CRM."));
  gtk_widget_show_all (box);
  gtk_widget_grab_focus (d->entry);
  return d->dialog;
}

gboolean
lia_ui_regarding_dialog_get (GtkWidget *dialog, LiaUiRegarding *out)
{
  Dialog *d = g_object_get_data (G_OBJECT (dialog), "liaison-dialog");
  GtkTreeModel *model;
  GtkTreeIter iter;
  gint entity = 0;

  if (d == NULL
      || !gtk_tree_selection_get_selected (gtk_tree_view_get_selection (GTK_TREE_VIEW (d->view)), &model,
                                           &iter))
    return FALSE;
  gtk_tree_model_get (model, &iter, COL_ENTITY, &entity, COL_ID, &out->id, COL_NAME, &out->name, -1);
  out->entity = (LiaEntity) entity;
  return TRUE;
}

/* The self-test drives the dialog through its widgets by name. */
GtkWidget *lia_ui_regarding_dialog_get_entry (GtkWidget *dialog);
GtkWidget *
lia_ui_regarding_dialog_get_entry (GtkWidget *dialog)
{
  Dialog *d = g_object_get_data (G_OBJECT (dialog), "liaison-dialog");

  return d != NULL ? d->entry : NULL;
}

gboolean
lia_ui_regarding_run (GtkWindow *parent, LiaUiRegarding *out)
{
  GtkWidget *dialog = lia_ui_regarding_dialog_new (parent);
  gboolean ok;

  ok = gtk_dialog_run (GTK_DIALOG (dialog)) == GTK_RESPONSE_OK && lia_ui_regarding_dialog_get (dialog, out);
  gtk_widget_destroy (dialog);
  if (ok)
    lia_ui_recent_add (out);
  lia_ui_selftest_log ("regarding dialog: %s", ok ? out->id : "cancelled");
  return ok;
}
