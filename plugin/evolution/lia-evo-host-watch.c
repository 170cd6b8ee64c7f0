/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Evolution host adapter: the views of the address book and
 * calendars and the mail watch, as LiaHostNotification (main context). */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"
#include "lia-evo-host-internal.h"

/* ---- Notifications (main context) ---- */

static void
emit (LiaEvoHost *host, LiaEvoKind kind, LiaHostEvent event, const char *item_id, LiaEntity entity,
      LiaLinkState state)
{
  LiaHostNotification n = {
    LIA_HOST_ABI_VERSION, event, LIA_EVO_STORE, host->folders[kind], item_id, NULL, NULL, entity, state
  };

  if (event == LIA_HOST_EVENT_DELETED)
    {
      gpointer known = NULL;

      if (g_hash_table_lookup_extended (host->link_states, item_id, NULL, &known))
        n.link_state = (LiaLinkState) GPOINTER_TO_UINT (known);
      g_hash_table_remove (host->link_states, item_id);
    }
  else
    g_hash_table_insert (host->link_states, g_strdup (item_id), GUINT_TO_POINTER (state));
  if (lia_evo_host_echo_take (host, item_id))
    return;
  if (host->notify != NULL)
    host->notify (&n, host->notify_data);
}

static void
on_contacts (LiaEvoHost *host, const GSList *contacts, LiaHostEvent event)
{
  for (const GSList *l = contacts; l != NULL; l = l->next)
    {
      /* The view hands the UID over beside the vCard: reading it does not
       * parse the vCard. */
      g_autofree char *id = lia_evo_item_id_for_contact (e_contact_get_const (l->data, E_CONTACT_UID));
      g_autofree char *crm_id = NULL;
      gint64 modified;
      LiaLinkState state;

      if (id == NULL)
        continue;
      /* The echo of our own create (its UID is new and ours, its link
       * state recorded by vt_create_item): swallowed without parsing the
       * vCard, as emit() would swallow it after parsing. */
      if (event == LIA_HOST_EVENT_CREATED && g_hash_table_contains (host->link_states, id)
          && lia_evo_host_echo_take (host, id))
        continue;
      lia_evo_contact_read_row (l->data, &modified, &state, &crm_id);
      emit (host, KIND_CONTACT, event, id, LIA_ENTITY_CONTACT, state);
    }
}

static void
on_contacts_added (EBookClientView *view, const GSList *contacts, gpointer data)
{
  on_contacts (data, contacts, LIA_HOST_EVENT_CREATED);
}

static void
on_contacts_modified (EBookClientView *view, const GSList *contacts, gpointer data)
{
  on_contacts (data, contacts, LIA_HOST_EVENT_MODIFIED);
}

static void
on_contacts_removed (EBookClientView *view, const GSList *uids, gpointer data)
{
  for (const GSList *l = uids; l != NULL; l = l->next)
    {
      g_autofree char *id = lia_evo_item_id_for_contact (l->data);

      emit (data, KIND_CONTACT, LIA_HOST_EVENT_DELETED, id, LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE);
    }
}

static LiaEvoKind
view_kind (LiaEvoHost *host, ECalClientView *view)
{
  return (GObject *) view == host->views[KIND_TASK] ? KIND_TASK : KIND_EVENT;
}

static void
on_comps (LiaEvoHost *host, ECalClientView *view, const GSList *comps, LiaHostEvent event)
{
  LiaEvoKind kind = view_kind (host, view);

  for (const GSList *l = comps; l != NULL; l = l->next)
    {
      ICalComponent *comp = l->data;
      g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);
      g_autofree char *rid_text =
          rid != NULL && !i_cal_time_is_null_time (rid) ? i_cal_time_as_ical_string (rid) : NULL;
      g_autofree char *id = lia_evo_item_id_for_component (
          kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
          i_cal_component_get_uid (comp), rid_text);
      g_autofree char *crm_id = NULL;
      gint64 modified;
      LiaLinkState state;
      LiaEntity entity = kind == KIND_TASK ? LIA_ENTITY_TASK
                         : rid_text == NULL && e_cal_util_component_has_rrules (comp)
                             ? LIA_ENTITY_RECURRING_APPOINTMENT
                             : LIA_ENTITY_APPOINTMENT;

      if (id == NULL)
        continue;
      lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
      emit (host, kind, event, id, entity, state);
    }
}

static void
on_objects_added (ECalClientView *view, const GSList *comps, gpointer data)
{
  on_comps (data, view, comps, LIA_HOST_EVENT_CREATED);
}

static void
on_objects_modified (ECalClientView *view, const GSList *comps, gpointer data)
{
  on_comps (data, view, comps, LIA_HOST_EVENT_MODIFIED);
}

static void
on_objects_removed (ECalClientView *view, const GSList *ids, gpointer data)
{
  LiaEvoHost *host = data;
  LiaEvoKind kind = view_kind (host, view);

  for (const GSList *l = ids; l != NULL; l = l->next)
    {
      ECalComponentId *cid = l->data;
      g_autofree char *id = lia_evo_item_id_for_component (
          kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
          e_cal_component_id_get_uid (cid), e_cal_component_id_get_rid (cid));

      if (id != NULL)
        emit (host, kind, LIA_HOST_EVENT_DELETED, id,
              kind == KIND_TASK ? LIA_ENTITY_TASK : LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE);
    }
}

typedef struct
{
  LiaEvoHost *host;
  guint pending;
  GError *error; /* owned: the first failure */
} Watch;

static void
watch_free (Watch *w)
{
  g_clear_error (&w->error);
  g_free (w);
}

/* The first failure of a watch is the one reported; later ones are freed. */
static void
watch_keep_error (Watch *w, GError *error)
{
  if (w->error == NULL)
    w->error = error;
  else
    g_error_free (error);
}

static void
watch_step_done (GTask *task)
{
  Watch *w = g_task_get_task_data (task);

  if (--w->pending > 0)
    return;
  if (w->error != NULL)
    g_task_return_error (task, g_steal_pointer (&w->error));
  else
    g_task_return_boolean (task, TRUE);
}

/* A started view may still be running its initial query, and a change
 * made meanwhile can go unreported: the watch completes on "complete". */
static void
on_view_complete (GObject *view, const GError *error, gpointer user_data)
{
  GTask *task = user_data;

  g_signal_handlers_disconnect_by_func (view, on_view_complete, task);
  watch_step_done (task);
  g_object_unref (task);
}

static void
book_view_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  EBookClientView *view = NULL;
  GError *error = NULL;

  if (!e_book_client_get_view_finish (E_BOOK_CLIENT (source), res, &view, &error))
    {
      watch_keep_error (w, error);
    }
  else
    {
      LiaEvoHost *host = w->host;

      if (host->views[KIND_CONTACT] != NULL)
        {
          /* A concurrent watch got there first. */
          e_book_client_view_stop (view, NULL);
          g_object_unref (view);
          watch_step_done (task);
          return;
        }
      /* Existing contacts are the scanner's business, not notifications. */
      e_book_client_view_set_flags (view, E_BOOK_CLIENT_VIEW_FLAGS_NONE, NULL);
      g_signal_connect (view, "objects-added", G_CALLBACK (on_contacts_added), host);
      g_signal_connect (view, "objects-modified", G_CALLBACK (on_contacts_modified), host);
      g_signal_connect (view, "objects-removed", G_CALLBACK (on_contacts_removed), host);
      host->views[KIND_CONTACT] = G_OBJECT (view);
      g_signal_connect (view, "complete", G_CALLBACK (on_view_complete), g_object_ref (task));
      e_book_client_view_start (view, NULL);
      return;
    }
  watch_step_done (task);
}

static void
cal_view_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  ECalClientView *view = NULL;
  GError *error = NULL;

  if (!e_cal_client_get_view_finish (E_CAL_CLIENT (source), res, &view, &error))
    {
      watch_keep_error (w, error);
    }
  else
    {
      LiaEvoHost *host = w->host;
      LiaEvoKind kind = (GObject *) source == (GObject *) host->clients[KIND_TASK] ? KIND_TASK : KIND_EVENT;

      if (host->views[kind] != NULL)
        {
          e_cal_client_view_stop (view, NULL);
          g_object_unref (view);
          watch_step_done (task);
          return;
        }
      e_cal_client_view_set_flags (view, E_CAL_CLIENT_VIEW_FLAGS_NONE, NULL);
      host->views[kind] = G_OBJECT (view);
      g_signal_connect (view, "objects-added", G_CALLBACK (on_objects_added), host);
      g_signal_connect (view, "objects-modified", G_CALLBACK (on_objects_modified), host);
      g_signal_connect (view, "objects-removed", G_CALLBACK (on_objects_removed), host);
      g_signal_connect (view, "complete", G_CALLBACK (on_view_complete), g_object_ref (task));
      e_cal_client_view_start (view, NULL);
      return;
    }
  watch_step_done (task);
}

static void
on_mail_note (const LiaHostNotification *n, gpointer user_data)
{
  LiaEvoHost *host = user_data;

  if (host->notify != NULL)
    host->notify (n, host->notify_data);
}

static void
mail_watch_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  GError *error = NULL;

  if (!lia_evo_mail_watch_finish (w->host->mail, res, &error))
    watch_keep_error (w, error);
  watch_step_done (task);
}

void
lia_evo_host_watch_async (LiaEvoHost *host, LiaEvoNotifyFunc func, gpointer func_data,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Watch *w = g_new0 (Watch, 1);

  g_task_set_source_tag (task, lia_evo_host_watch_async);
  g_task_set_name (task, "[liaison] watch EDS");
  w->host = host;
  g_task_set_task_data (task, w, (GDestroyNotify) watch_free);
  host->notify = func;
  host->notify_data = func_data;
  /* Watching again (an engine restarted on the same host) reuses the
   * views: new ones would leave the old ones emitting into this host
   * after it is freed, as only the views it holds are disconnected. A
   * mail-only host has no clients. The mail watch is idempotent. */
  for (guint k = 0; k < KIND_N; k++)
    if (host->clients[k] != NULL && host->views[k] == NULL)
      w->pending++;
  if (host->mail != NULL)
    w->pending++;
  if (w->pending == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* Each callback holds one reference; the last one completes the task. */
  if (host->clients[KIND_CONTACT] != NULL && host->views[KIND_CONTACT] == NULL)
    e_book_client_get_view (E_BOOK_CLIENT (host->clients[KIND_CONTACT]),
                            "(contains \"x-evolution-any-field\" \"\")", cancellable, book_view_ready,
                            g_object_ref (task));
  for (guint k = KIND_EVENT; k <= KIND_TASK; k++)
    if (host->clients[k] != NULL && host->views[k] == NULL)
      e_cal_client_get_view (E_CAL_CLIENT (host->clients[k]), "#t", cancellable, cal_view_ready,
                             g_object_ref (task));
  if (host->mail != NULL)
    lia_evo_mail_watch_async (host->mail, on_mail_note, host, cancellable, mail_watch_ready,
                              g_object_ref (task));
  g_object_unref (task);
}

gboolean
lia_evo_host_watch_finish (LiaEvoHost *host, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    {
      lia_evo_host_translate_error (error);
      return FALSE;
    }
  return TRUE;
}

void
lia_evo_host_unwatch (LiaEvoHost *host)
{
  host->notify = NULL;
  host->notify_data = NULL;
}
