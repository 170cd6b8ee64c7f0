/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>
#include <string.h>

#include <calendar/gui/e-cal-model.h>
#include <calendar/gui/e-calendar-view.h>
#include <calendar/gui/e-task-table.h>
#include <libebook/libebook.h>
#include <shell/e-shell-content.h>
#include <shell/e-shell-taskbar.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>

#include "lia-ui-evo-private.h"

/* Tracking state visible in the contacts, calendar and tasks views (issue
 * 7): when one item is selected, the view's status line says whether it is
 * tracked in CRM and with which regarding record ("Tracked in CRM,
 * regarding Fabrikam"), as the mail reader does for one message.
 *
 * The link state comes from the sync cache on a worker thread
 * (lia_ui_link_states_async()), never on the main loop; the regarding record's name from
 * the item itself (the host adapter writes X-LIAISON-REGARDING-NAME,
 * base64, on tracked events and tasks, plugin/evolution/lia-evo-convert.c). A newer
 * selection makes an older answer moot. */

#define X_REGARDING_NAME "X-LIAISON-REGARDING-NAME"
#define MESSAGE_KEY "liaison-view-state-message"

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
  GCancellable *lookup;      /* owned: the current selection's lookup */
  LiaSyncState engine_state; /* as last seen */
  GObject *model;            /* weak: the calendar's or tasks' ECalModel watched */
  guint reread_id;           /* a coalesced re-read after the model changed */
} LiaUiViewState;
typedef struct
{
  EExtensionClass parent_class;
} LiaUiViewStateClass;

GType lia_ui_view_state_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaUiViewState, lia_ui_view_state, E_TYPE_EXTENSION)

static EShellView *
view_of (LiaUiViewState *self)
{
  return E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
}

/* The regarding name the adapter wrote: base64 in iCalendar X-properties
 * (plugin/evolution/lia-evo-convert.c comp_put_x(): they do not
 * round-trip newlines or backslashes); NULL when absent or not text. */
static char *
comp_regarding (ICalComponent *icalcomp)
{
  g_autofree char *b64 = e_cal_util_component_dup_x_property (icalcomp, X_REGARDING_NAME);
  g_autofree guchar *raw = NULL;
  gsize len = 0;

  if (b64 == NULL || *b64 == '\0')
    return NULL;
  raw = g_base64_decode (b64, &len);
  if (raw == NULL || len == 0 || !g_utf8_validate ((const char *) raw, (gssize) len, NULL)
      || memchr (raw, '\0', len) != NULL)
    return NULL;
  return g_strndup ((const char *) raw, len);
}

/* The one selected item: its id and the regarding name it carries; FALSE
 * when none or several are selected. */
static gboolean
single_selection (LiaUiViewState *self, char **out_item_id, char **out_regarding, ECalModel **out_model)
{
  GtkWidget *content = GTK_WIDGET (e_shell_view_get_shell_content (view_of (self)));
  gboolean one = FALSE;

  *out_item_id = NULL;
  *out_regarding = NULL;
  *out_model = NULL;
  if (self->kind == VIEW_CONTACTS)
    {
      GSList *contacts = lia_ui_selected_contacts (content, NULL);

      one = contacts != NULL && contacts->next == NULL && E_IS_CONTACT (contacts->data);
      if (one)
        *out_item_id =
            lia_evo_engine_item_id_for_contact (e_contact_get_const (contacts->data, E_CONTACT_UID));
      lia_ui_contacts_free (contacts);
    }
  else if (self->kind == VIEW_CALENDAR)
    {
      GtkWidget *view = lia_ui_find_mapped (content, E_TYPE_CALENDAR_VIEW);
      GSList *events = view != NULL ? e_calendar_view_get_selected_events (E_CALENDAR_VIEW (view)) : NULL;

      *out_model = view != NULL ? e_calendar_view_get_model (E_CALENDAR_VIEW (view)) : NULL;

      one = events != NULL && events->next == NULL;
      if (one)
        {
          ECalendarViewSelectionData *data = events->data;
          ICalComponent *icalcomp = data->icalcomp;

          *out_item_id = lia_ui_event_item_id (icalcomp);
          *out_regarding = comp_regarding (icalcomp);
        }
      g_slist_free_full (events, e_calendar_view_selection_data_free);
    }
  else if (self->kind == VIEW_TASKS)
    {
      GtkWidget *table = lia_ui_find_mapped (content, E_TYPE_TASK_TABLE);
      GSList *tasks = table != NULL ? e_task_table_get_selected (E_TASK_TABLE (table)) : NULL;

      *out_model = table != NULL ? e_task_table_get_model (E_TASK_TABLE (table)) : NULL;

      one = tasks != NULL && tasks->next == NULL;
      if (one)
        {
          ECalModelComponent *comp = tasks->data;

          *out_item_id = lia_evo_engine_item_id_for_task (i_cal_component_get_uid (comp->icalcomp));
          *out_regarding = comp_regarding (comp->icalcomp);
        }
      g_slist_free (tasks);
    }
  return one && *out_item_id != NULL;
}

/* The line for a link state; NULL for none. */
char *
lia_ui_view_state_line (LiaLinkState state, const char *regarding)
{
  if (state == LIA_LINK_STATE_TRACKED)
    return regarding != NULL ? g_strdup_printf (_ ("Tracked in CRM, regarding %s"), regarding)
                             : g_strdup (_ ("Tracked in CRM"));
  if (state == LIA_LINK_STATE_MARKED)
    return g_strdup (_ ("Being tracked in CRM…"));
  return NULL;
}

static void
show_line (LiaUiViewState *self, const char *line)
{
  EShellView *view = view_of (self);
  EShellTaskbar *taskbar = e_shell_view_get_shell_taskbar (view);

  if (taskbar == NULL)
    return;
  if (line != NULL)
    e_shell_taskbar_set_message (taskbar, line);
  else if (g_object_get_data (G_OBJECT (taskbar), MESSAGE_KEY) != NULL)
    e_shell_taskbar_unset_message (taskbar);
  /* Only ever clear a message this code set. */
  g_object_set_data (G_OBJECT (taskbar), MESSAGE_KEY, GINT_TO_POINTER (line != NULL));
  if (line != NULL)
    lia_ui_selftest_log ("%s view status line: %s", e_shell_view_get_name (view), line);
}

typedef struct
{
  char *item_id;
  char *regarding;
} Lookup;

static void
lookup_free (gpointer data)
{
  Lookup *l = data;

  g_free (l->item_id);
  g_free (l->regarding);
  g_free (l);
}

static void
on_lookup_done (gpointer owner, gpointer result, const GError *error, gpointer data)
{
  LiaUiViewState *self = owner;
  const Lookup *l = data;
  GHashTable *tracked = result;
  g_autofree char *line = NULL;

  if (tracked != NULL && e_shell_view_is_active (view_of (self)))
    {
      line =
          lia_ui_view_state_line (GPOINTER_TO_INT (g_hash_table_lookup (tracked, l->item_id)), l->regarding);
      show_line (self, line);
    }
  if (tracked != NULL)
    g_hash_table_unref (tracked);
}

static void on_update_actions (EShellView *view, LiaUiViewState *self);

static gboolean
reread (gpointer data)
{
  LiaUiViewState *self = data;

  self->reread_id = 0;
  if (e_shell_view_is_active (view_of (self)))
    on_update_actions (view_of (self), self);
  return G_SOURCE_REMOVE;
}

/* An item of the model changed (the host adapter wrote the regarding name
 * after a Set Regarding, say): read the selection again, once for a burst. */
static void
on_model_row_changed (GObject *model, gint row, gpointer user_data)
{
  LiaUiViewState *self = user_data;

  if (self->reread_id == 0 && e_shell_view_is_active (view_of (self)))
    self->reread_id = g_timeout_add (300, reread, self);
}

static void
on_model_changed (GObject *model, gpointer user_data)
{
  on_model_row_changed (model, -1, user_data);
}

static void
watch_model (LiaUiViewState *self, ECalModel *model)
{
  if (model == NULL || G_OBJECT (model) == self->model)
    return;
  if (self->model != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->model, self);
      g_object_remove_weak_pointer (self->model, (gpointer *) &self->model);
    }
  self->model = G_OBJECT (model);
  g_object_add_weak_pointer (self->model, (gpointer *) &self->model);
  g_signal_connect (model, "model-row-changed", G_CALLBACK (on_model_row_changed), self);
  g_signal_connect (model, "model-changed", G_CALLBACK (on_model_changed), self);
}

/* EShellView::update-actions: the views run it on every selection change;
 * an answer for an older selection is dropped (its cancellable). */
static void
on_update_actions (EShellView *view, LiaUiViewState *self)
{
  g_autofree char *item_id = NULL;
  g_autofree char *regarding = NULL;
  const char *ids[2] = { NULL, NULL };
  GCancellable *cancellable;
  ECalModel *model = NULL;
  gboolean one;
  Lookup *l;

  if (!e_shell_view_is_active (view))
    return;
  cancellable = lia_ui_cancellable_renew (&self->lookup);
  one = lia_ui_engine () != NULL && single_selection (self, &item_id, &regarding, &model);
  watch_model (self, model);
  if (!one)
    {
      show_line (self, NULL);
      return;
    }
  l = g_new0 (Lookup, 1);
  l->item_id = g_steal_pointer (&item_id);
  l->regarding = g_steal_pointer (&regarding);
  ids[0] = l->item_id;
  lia_ui_link_states_async (self, cancellable, ids, on_lookup_done, l, lookup_free);
}

/* A Track or Set Regarding from the view reaches CRM in the engine's
 * background work: at the end of each busy spell, read the selected item
 * again (no new selection tells). */
static void
on_engine_status (LiaEvoEngine *engine, gconstpointer data, gpointer user_data)
{
  LiaUiViewState *self = user_data;
  const LiaSyncStatus *status = data;

  if (status->state == self->engine_state)
    return;
  self->engine_state = status->state;
  if ((status->state == LIA_SYNC_STATE_IDLE || status->state == LIA_SYNC_STATE_OFFLINE)
      && e_shell_view_is_active (view_of (self)))
    on_update_actions (view_of (self), self);
}

static gboolean
setup_idle (gpointer data)
{
  GWeakRef *weak = data;
  g_autoptr (GObject) object = g_weak_ref_get (weak);
  LiaUiViewState *self = (LiaUiViewState *) object;
  const char *name;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  name = e_shell_view_get_name (view_of (self));
  self->kind = g_strcmp0 (name, "addressbook") == 0 ? VIEW_CONTACTS
               : g_strcmp0 (name, "calendar") == 0  ? VIEW_CALENDAR
               : g_strcmp0 (name, "tasks") == 0     ? VIEW_TASKS
                                                    : VIEW_NONE;
  if (self->kind == VIEW_NONE)
    return G_SOURCE_REMOVE;
  g_signal_connect_object (view_of (self), "update-actions", G_CALLBACK (on_update_actions), self,
                           G_CONNECT_AFTER);
  if (lia_ui_engine () != NULL)
    g_signal_connect_object (lia_ui_engine (), "status-changed", G_CALLBACK (on_engine_status), self, 0);
  return G_SOURCE_REMOVE;
}

static void
lia_ui_view_state_constructed (GObject *object)
{
  G_OBJECT_CLASS (lia_ui_view_state_parent_class)->constructed (object);
  lia_ui_idle_with_weak_ref (object, setup_idle);
}

static void
lia_ui_view_state_dispose (GObject *object)
{
  LiaUiViewState *self = (LiaUiViewState *) object;

  if (self->lookup != NULL)
    g_cancellable_cancel (self->lookup);
  g_clear_object (&self->lookup);
  if (self->model != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->model, self);
      g_object_remove_weak_pointer (self->model, (gpointer *) &self->model);
      self->model = NULL;
    }
  if (self->reread_id != 0)
    g_source_remove (self->reread_id);
  self->reread_id = 0;
  G_OBJECT_CLASS (lia_ui_view_state_parent_class)->dispose (object);
}

static void
lia_ui_view_state_class_init (LiaUiViewStateClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_ui_view_state_constructed;
  G_OBJECT_CLASS (klass)->dispose = lia_ui_view_state_dispose;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL_VIEW;
}

static void
lia_ui_view_state_class_finalize (LiaUiViewStateClass *klass)
{
}

static void
lia_ui_view_state_init (LiaUiViewState *self)
{
}

void
lia_ui_view_state_register (GTypeModule *module)
{
  lia_ui_view_state_register_type (module);
}
