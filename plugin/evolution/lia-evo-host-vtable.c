/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Evolution host adapter: the LiaHostVTable over EDS (contents
 * tables, reads, writes, creates in batches, deletes) and the mail part. */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"
#include "lia-evo-host-internal.h"

/* ---- The vtable ---- */

typedef struct
{
  LiaEvoHost *host; /* borrowed: outlives its calls */
  LiaEvoKind kind;
  char *uid;     /* owned */
  char *rid;     /* owned */
  char *item_id; /* owned */
  guint offset;
  guint limit;
  LiaItem *fields; /* owned */
  LiaHostProps props;
  gboolean has_props;
} Call;

static void
call_free (Call *call)
{
  g_free (call->uid);
  g_free (call->rid);
  g_free (call->item_id);
  lia_item_free (call->fields);
  lia_host_props_clear (&call->props);
  g_free (call);
}

static GTask *
call_task (LiaEvoHost *host, gpointer tag, const char *name, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, Call **out_call)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  call->host = host;
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  *out_call = call;
  return task;
}

/* Runs @func on a worker, counted in host->workers so that freeing the
 * host waits for it (lia_evo_host_free()). */
typedef struct
{
  LiaEvoHost *host;
  GTaskThreadFunc func;
} Worker;

static GQuark
worker_quark (void)
{
  return g_quark_from_static_string ("lia-evo-host-worker");
}

static void
worker_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  /* The thread holds a reference on @task, so its Worker lives until here. */
  Worker *w = g_object_get_qdata (G_OBJECT (task), worker_quark ());
  LiaEvoHost *host = w->host;

  w->func (task, source, data, cancellable);
  g_mutex_lock (&host->lock);
  if (--host->workers == 0)
    g_cond_broadcast (&host->workers_done);
  g_mutex_unlock (&host->lock);
}

static void
run_on_worker (LiaEvoHost *host, GTask *task, GTaskThreadFunc func)
{
  Worker *w = g_new (Worker, 1);

  w->host = host;
  w->func = func;
  g_object_set_qdata_full (G_OBJECT (task), worker_quark (), w, g_free);
  g_mutex_lock (&host->lock);
  host->workers++;
  g_mutex_unlock (&host->lock);
  g_task_run_in_thread (task, worker_thread);
}

static char *
vt_dup_primary_store (gpointer h)
{
  return g_strdup (LIA_EVO_STORE);
}

static char *
vt_dup_default_folder (gpointer h, const char *store, LiaEntity entity)
{
  LiaEvoHost *host = h;

  if (g_strcmp0 (store, LIA_EVO_STORE) != 0)
    return NULL;
  switch (entity)
    {
    case LIA_ENTITY_CONTACT:
      return g_strdup (host->folders[KIND_CONTACT]);
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      return g_strdup (host->folders[KIND_EVENT]);
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      return g_strdup (host->folders[KIND_TASK]);
    case LIA_ENTITY_EMAIL:
      return host->mail != NULL ? lia_evo_mail_dup_folder (host->mail, LIA_EVO_MAIL_INBOX) : NULL;
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return NULL;
    }
}

static gint
row_newest_first (gconstpointer a, gconstpointer b)
{
  const LiaHostRow *x = *(const LiaHostRow *const *) a;
  const LiaHostRow *y = *(const LiaHostRow *const *) b;

  if (x->modified_at != y->modified_at)
    return x->modified_at > y->modified_at ? -1 : 1;
  return -strcmp (x->item_id, y->item_id);
}

static GPtrArray *
list_rows (LiaEvoHost *host, LiaEvoKind kind, GCancellable *cancellable, GError **error)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);

  if (kind == KIND_CONTACT)
    {
      GSList *contacts = NULL;

      if (!e_book_client_get_contacts_sync (E_BOOK_CLIENT (host->clients[kind]),
                                            "(contains \"x-evolution-any-field\" \"\")", &contacts,
                                            cancellable, error))
        {
          g_ptr_array_unref (rows);
          return NULL;
        }
      for (GSList *l = contacts; l != NULL; l = l->next)
        {
          gint64 modified;
          LiaLinkState state;
          g_autofree char *crm_id = NULL;
          g_autofree char *id = lia_evo_item_id_for_contact (e_contact_get_const (l->data, E_CONTACT_UID));

          if (id == NULL)
            continue;
          lia_evo_contact_read_row (l->data, &modified, &state, &crm_id);
          g_ptr_array_add (rows, lia_host_row_new (id, modified, state, crm_id));
        }
      g_slist_free_full (contacts, g_object_unref);
    }
  else
    {
      GSList *comps = NULL;

      if (!e_cal_client_get_object_list_sync (E_CAL_CLIENT (host->clients[kind]), "#t", &comps, cancellable,
                                              error))
        {
          g_ptr_array_unref (rows);
          return NULL;
        }
      for (GSList *l = comps; l != NULL; l = l->next)
        {
          ICalComponent *comp = l->data;
          g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);
          g_autofree char *rid_text =
              rid != NULL && !i_cal_time_is_null_time (rid) ? i_cal_time_as_ical_string (rid) : NULL;
          g_autofree char *id = lia_evo_item_id_for_component (
              kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
              i_cal_component_get_uid (comp), rid_text);
          gint64 modified;
          LiaLinkState state;
          g_autofree char *crm_id = NULL;

          if (id == NULL)
            continue;
          lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
          g_ptr_array_add (rows, lia_host_row_new (id, modified, state, crm_id));
        }
      e_util_free_nullable_object_slist (comps);
    }
  g_ptr_array_sort (rows, row_newest_first);
  return rows;
}

static void
read_contents_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  LiaEvoHost *host = call->host;
  g_autofree char *revision = NULL;
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *page = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  GError *error = NULL;

  /* A failed revision read only costs a relist. */
  e_client_get_backend_property_sync (host->clients[call->kind], "revision", &revision, cancellable, NULL);
  g_mutex_lock (&host->lock);
  /* The client's revision is a cached D-Bus property that a worker thread
   * may read stale: a scan starts (offset 0) from a fresh listing, and only
   * its later pages reuse it while the revision holds. */
  if (call->offset > 0 && revision != NULL && host->contents[call->kind].rows != NULL
      && g_strcmp0 (host->contents[call->kind].revision, revision) == 0)
    all = g_ptr_array_ref (host->contents[call->kind].rows);
  g_mutex_unlock (&host->lock);
  if (all == NULL)
    {
      all = list_rows (host, call->kind, cancellable, &error);
      if (all == NULL)
        {
          g_ptr_array_unref (page);
          lia_evo_host_translate_error (&error);
          g_task_return_error (task, error);
          return;
        }
      g_mutex_lock (&host->lock);
      lia_evo_host_contents_clear (&host->contents[call->kind]);
      host->contents[call->kind].revision = g_steal_pointer (&revision);
      host->contents[call->kind].rows = g_ptr_array_ref (all);
      g_mutex_unlock (&host->lock);
    }
  for (guint i = call->offset; i < all->len && i - call->offset < call->limit; i++)
    {
      const LiaHostRow *r = g_ptr_array_index (all, i);

      g_ptr_array_add (page, lia_host_row_new (r->item_id, r->modified_at, r->link_state, r->crm_id));
    }
  g_task_return_pointer (task, page, (GDestroyNotify) g_ptr_array_unref);
}

static gboolean
kind_for_folder (LiaEvoHost *host, const char *store, const char *folder, LiaEvoKind *out_kind)
{
  if (g_strcmp0 (store, LIA_EVO_STORE) != 0)
    return FALSE;
  for (guint k = 0; k < KIND_N; k++)
    if (host->folders[k] != NULL && g_strcmp0 (host->folders[k], folder) == 0)
      {
        *out_kind = (LiaEvoKind) k;
        return TRUE;
      }
  return FALSE;
}

static void
vt_read_contents (gpointer h, const char *store, const char *folder, guint offset, guint limit,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, folder))
    {
      lia_evo_mail_read_contents_async (host->mail, folder, offset, limit, cancellable, callback, user_data);
      return;
    }
  task = call_task (h, vt_read_contents, "[liaison] read contents", cancellable, callback, user_data, &call);

  if (!kind_for_folder (h, store, folder, &call->kind))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder);
      return;
    }
  call->offset = offset;
  call->limit = limit;
  run_on_worker (host, task, read_contents_thread);
}

static GPtrArray *
vt_read_contents_finish (gpointer h, GAsyncResult *result, GError **error)
{
  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_read_contents_finish (((LiaEvoHost *) h)->mail, result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Reads the component of @uid/@rid: with no rid, the master (a series
 * with detached instances comes back as a VCALENDAR holding all). */
static ICalComponent *
get_component (ECalClient *client, const char *uid, const char *rid, GCancellable *cancellable,
               GError **error)
{
  ICalComponent *comp = NULL;

  if (!e_cal_client_get_object_sync (client, uid, rid, &comp, cancellable, error))
    return NULL;
  if (i_cal_component_isa (comp) == I_CAL_VCALENDAR_COMPONENT)
    {
      ICalComponent *found = NULL;

      for (ICalComponent *sub = i_cal_component_get_first_component (comp, I_CAL_ANY_COMPONENT); sub != NULL;
           sub = i_cal_component_get_next_component (comp, I_CAL_ANY_COMPONENT))
        {
          g_autoptr (ICalTime) r = i_cal_component_get_recurrenceid (sub);
          ICalComponentKind k = i_cal_component_isa (sub);

          if (found == NULL && (k == I_CAL_VEVENT_COMPONENT || k == I_CAL_VTODO_COMPONENT)
              && (r == NULL || i_cal_time_is_null_time (r)))
            found = i_cal_component_clone (sub);
          g_object_unref (sub);
        }
      g_object_unref (comp);
      if (found == NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", uid);
      return found;
    }
  return comp;
}

static LiaHostItem *
read_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  LiaHostItem *hi = NULL;

  if (call->kind == KIND_CONTACT)
    {
      g_autoptr (EContact) contact = NULL;

      if (e_book_client_get_contact_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), call->uid, &contact,
                                          cancellable, error))
        hi = lia_evo_contact_to_host_item (contact, host->folders[KIND_CONTACT], error);
    }
  else
    {
      g_autoptr (ICalComponent) comp =
          get_component (E_CAL_CLIENT (host->clients[call->kind]), call->uid, call->rid, cancellable, error);

      if (comp != NULL)
        hi = lia_evo_comp_to_host_item (comp, E_CAL_CLIENT (host->clients[call->kind]),
                                        host->folders[call->kind], cancellable, error);
    }
  if (hi == NULL)
    lia_evo_host_translate_error (error);
  return hi;
}

static void
read_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  LiaHostItem *hi = read_item_sync (data, cancellable, &error);

  if (hi == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, hi, (GDestroyNotify) lia_host_item_free);
}

static gboolean
call_parse (Call *call, GTask *task, const char *store, const char *item_id)
{
  if (g_strcmp0 (store, LIA_EVO_STORE) != 0
      || !lia_evo_host_parse_item_id (item_id, &call->kind, &call->uid, &call->rid)
      || call->host->clients[call->kind] == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return FALSE;
    }
  call->item_id = g_strdup (item_id);
  return TRUE;
}

static void
vt_read_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, item_id))
    {
      lia_evo_mail_read_item_async (host->mail, item_id, cancellable, callback, user_data);
      return;
    }
  task = call_task (h, vt_read_item, "[liaison] read item", cancellable, callback, user_data, &call);
  if (call_parse (call, task, store, item_id))
    run_on_worker (host, task, read_item_thread);
}

static LiaHostItem *
vt_read_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_read_item_finish (((LiaEvoHost *) h)->mail, result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
add_zones (ECalClient *client, GPtrArray *zones, GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < zones->len; i++)
    if (!e_cal_client_add_timezone_sync (client, g_ptr_array_index (zones, i), cancellable, error))
      return FALSE;
  return TRUE;
}

static gboolean
write_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  const LiaHostProps *props = call->has_props ? &call->props : NULL;
  gboolean ok = FALSE;

  if (call->kind == KIND_CONTACT)
    {
      EBookClient *book = E_BOOK_CLIENT (host->clients[KIND_CONTACT]);
      g_autoptr (EContact) contact = NULL;

      ok = e_book_client_get_contact_sync (book, call->uid, &contact, cancellable, error)
           && lia_evo_contact_apply (contact, call->fields, props, error)
           && e_book_client_modify_contact_sync (book, contact, E_BOOK_OPERATION_FLAG_NONE, cancellable,
                                                 error);
    }
  else
    {
      ECalClient *client = E_CAL_CLIENT (host->clients[call->kind]);
      g_autoptr (ICalComponent) comp = get_component (client, call->uid, call->rid, cancellable, error);
      g_autoptr (GPtrArray) zones = g_ptr_array_new ();
      /* A series is written whole; a detached instance or a single item
       * alone. */
      ECalObjModType mod = call->rid == NULL && comp != NULL && e_cal_util_component_has_rrules (comp)
                               ? E_CAL_OBJ_MOD_ALL
                               : E_CAL_OBJ_MOD_THIS;

      ok = comp != NULL && lia_evo_comp_apply (comp, call->fields, props, zones, error)
           && add_zones (client, zones, cancellable, error)
           && e_cal_client_modify_object_sync (client, comp, mod, E_CAL_OPERATION_FLAG_NONE, cancellable,
                                               error);
    }
  if (!ok)
    lia_evo_host_translate_error (error);
  return ok;
}

static void
write_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (write_item_sync (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
vt_write_item (gpointer h, const char *store, const char *item_id, const LiaItem *fields,
               const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, item_id))
    {
      /* A message's fields never change; the mail part keeps regarding's
       * entity and writes the properties (echoes suppressed there). */
      lia_evo_mail_write_props_async (host->mail, item_id, fields,
                                      props != NULL ? props : &(LiaHostProps){ 0 }, cancellable, callback,
                                      user_data);
      return;
    }
  task = call_task (h, vt_write_item, "[liaison] write item", cancellable, callback, user_data, &call);
  if (!call_parse (call, task, store, item_id))
    return;
  call->fields = fields != NULL ? lia_item_copy (fields) : NULL;
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  if (host->notify != NULL)
    lia_evo_host_echo_expect (host, item_id);
  run_on_worker (host, task, write_item_thread);
}

static gboolean
vt_bool_finish (gpointer h, GAsyncResult *result, GError **error)
{
  LiaEvoHost *host = h;
  Call *call;
  gboolean ok;

  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_write_props_finish (host->mail, result, error);
  call = g_task_get_task_data (G_TASK (result));
  ok = g_task_propagate_boolean (G_TASK (result), error);

  /* A failed write makes no echo. */
  if (!ok && call->item_id != NULL)
    lia_evo_host_echo_take (host, call->item_id);
  return ok;
}

static char *
create_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  const LiaHostProps *props = call->has_props ? &call->props : NULL;
  g_autofree char *uid = NULL;
  char *id = NULL;

  if (call->kind == KIND_CONTACT)
    {
      g_autoptr (EContact) contact = e_contact_new ();

      e_contact_set (contact, E_CONTACT_UID, call->uid);
      if (lia_evo_contact_apply (contact, call->fields, props, error)
          && e_book_client_add_contact_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), contact,
                                             E_BOOK_OPERATION_FLAG_NONE, &uid, cancellable, error))
        id = lia_evo_item_id_for_contact (uid);
    }
  else
    {
      ECalClient *client = E_CAL_CLIENT (host->clients[call->kind]);
      g_autoptr (ICalComponent) comp =
          i_cal_component_new (call->kind == KIND_TASK ? I_CAL_VTODO_COMPONENT : I_CAL_VEVENT_COMPONENT);
      g_autoptr (GPtrArray) zones = g_ptr_array_new ();

      i_cal_component_set_uid (comp, call->uid);
      if (lia_evo_comp_apply (comp, call->fields, props, zones, error)
          && add_zones (client, zones, cancellable, error)
          && e_cal_client_create_object_sync (client, comp, E_CAL_OPERATION_FLAG_NONE, &uid, cancellable,
                                              error))
        id = lia_evo_item_id_for_component (e_cal_client_get_source_type (client),
                                            uid != NULL ? uid : call->uid, NULL);
    }
  if (id == NULL)
    lia_evo_host_translate_error (error);
  return id;
}

static void
create_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  char *id = create_item_sync (data, cancellable, &error);

  if (id == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, id, g_free);
}

/* Contact creates in batches. Creates that are waiting together when the
 * main context goes idle (a caller that hands over several at once) go to
 * EDS in one e_book_client_add_contacts_sync: one D-Bus call and one
 * backend transaction instead of one per contact, which is what a contact
 * costs EDS (bench/evolution: ~0.2 ms a contact in batches of 100 against
 * 2.5-5 ms one by one). One create alone goes as before. Each call still
 * completes on its own with its own result: when a batch fails, its
 * contacts are added one by one so that each error belongs to its item. */
#define CONTACT_BATCH_MAX 1000

static void
create_contacts_thread (GTask *batch_task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *tasks = data;
  g_autoptr (GPtrArray) valid = g_ptr_array_new ();
  GSList *contacts = NULL;
  g_autoptr (GError) batch_error = NULL;
  EBookClient *book = NULL;

  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);
      Call *call = g_task_get_task_data (task);
      EContact *contact = e_contact_new ();
      GError *error = NULL;

      book = E_BOOK_CLIENT (call->host->clients[KIND_CONTACT]);
      e_contact_set (contact, E_CONTACT_UID, call->uid);
      if (g_task_return_error_if_cancelled (task))
        g_object_unref (contact);
      else if (!lia_evo_contact_apply (contact, call->fields, call->has_props ? &call->props : NULL, &error))
        {
          g_object_unref (contact);
          g_task_return_error (task, error);
        }
      else
        {
          contacts = g_slist_prepend (contacts, contact);
          g_ptr_array_add (valid, task);
        }
    }
  contacts = g_slist_reverse (contacts);
  if (valid->len > 1
      && e_book_client_add_contacts_sync (book, contacts, E_BOOK_OPERATION_FLAG_NONE, NULL, NULL,
                                          &batch_error))
    for (guint i = 0; i < valid->len; i++)
      {
        Call *call = g_task_get_task_data (g_ptr_array_index (valid, i));

        g_task_return_pointer (g_ptr_array_index (valid, i), lia_evo_item_id_for_contact (call->uid), g_free);
      }
  else
    for (guint i = 0; i < valid->len; i++)
      {
        Call *call = g_task_get_task_data (g_ptr_array_index (valid, i));
        g_autoptr (EContact) added = NULL;
        GError *error = NULL;
        char *id = NULL;

        /* A backend that failed half way may have added some: the UID is
         * ours, so one that is there is this create's. */
        if (batch_error != NULL && e_book_client_get_contact_sync (book, call->uid, &added, NULL, NULL))
          id = lia_evo_item_id_for_contact (call->uid);
        else
          id = create_item_sync (call, NULL, &error);

        if (id == NULL)
          g_task_return_error (g_ptr_array_index (valid, i), error);
        else
          g_task_return_pointer (g_ptr_array_index (valid, i), id, g_free);
      }
  g_slist_free_full (contacts, g_object_unref);
  g_task_return_boolean (batch_task, TRUE);
}

static gboolean
create_contacts_flush (gpointer data)
{
  LiaEvoHost *host = data;

  g_clear_pointer (&host->batch_source, g_source_unref);
  while (host->contact_batch != NULL && host->contact_batch->len > 0)
    {
      guint n = MIN (host->contact_batch->len, CONTACT_BATCH_MAX);
      g_autoptr (GTask) batch = g_task_new (NULL, NULL, NULL, NULL);
      GPtrArray *tasks = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (tasks, g_ptr_array_index (host->contact_batch, i));
      g_ptr_array_remove_range (host->contact_batch, 0, n);
      g_task_set_name (batch, "[liaison] create contacts");
      g_task_set_task_data (batch, tasks, (GDestroyNotify) g_ptr_array_unref);
      run_on_worker (host, batch, create_contacts_thread);
    }
  return G_SOURCE_REMOVE;
}

static void
create_contact_queue (LiaEvoHost *host, GTask *task)
{
  if (host->contact_batch == NULL)
    host->contact_batch = g_ptr_array_new ();
  /* The batch owns the reference the caller's g_autoptr gives up. */
  g_ptr_array_add (host->contact_batch, g_object_ref (task));
  if (host->batch_source == NULL)
    {
      /* Below the default priority: the creates posted meanwhile join. */
      host->batch_source = g_idle_source_new ();
      g_source_set_priority (host->batch_source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (host->batch_source, create_contacts_flush, host, NULL);
      g_source_set_static_name (host->batch_source, "[liaison] create contacts");
      g_source_attach (host->batch_source, g_main_context_get_thread_default ());
    }
}

static void
vt_create_item (gpointer h, const char *store, const char *folder, const LiaItem *item,
                const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task =
      call_task (h, vt_create_item, "[liaison] create item", cancellable, callback, user_data, &call);

  if (lia_evo_mail_owns_id (((LiaEvoHost *) h)->mail, folder))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_REFUSED,
                               "messages are never created from CRM (R-MAIL-TRACK)");
      return;
    }
  if (!kind_for_folder (h, store, folder, &call->kind))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder);
      return;
    }
  call->fields = lia_item_copy (item);
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  /* The UID is ours, so the view's echo of the new item is expected before
   * the backend can report it. */
  call->uid = e_util_generate_uid ();
  if (call->kind == KIND_CONTACT)
    call->item_id = lia_evo_item_id_for_contact (call->uid);
  else
    call->item_id = lia_evo_item_id_for_component (call->kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS
                                                                           : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
                                                   call->uid, NULL);
  if (((LiaEvoHost *) h)->notify != NULL)
    {
      /* The link state the echo will carry is the one written here, so
       * the echo need not be read (on_contacts): a bulk download gets
       * every contact it creates back from the book view. */
      LiaLinkState state = props != NULL && (props->mask & (1u << LIA_HOST_PROP_LINK_STATE))
                               ? props->link_state
                               : LIA_LINK_STATE_NONE;

      g_hash_table_insert (((LiaEvoHost *) h)->link_states, g_strdup (call->item_id),
                           GUINT_TO_POINTER (state));
      lia_evo_host_echo_expect (h, call->item_id);
    }
  if (call->kind == KIND_CONTACT)
    create_contact_queue (h, task);
  else
    run_on_worker (h, task, create_item_thread);
}

static char *
vt_create_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  LiaEvoHost *host = h;
  Call *call = g_task_get_task_data (G_TASK (result));
  char *id = g_task_propagate_pointer (G_TASK (result), error);

  if (id == NULL && call->item_id != NULL && lia_evo_host_echo_take (host, call->item_id))
    g_hash_table_remove (host->link_states, call->item_id);
  return id;
}

static void
delete_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  LiaEvoHost *host = call->host;
  GError *error = NULL;
  gboolean ok;

  if (call->kind == KIND_CONTACT)
    ok = e_book_client_remove_contact_by_uid_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), call->uid,
                                                   E_BOOK_OPERATION_FLAG_NONE, cancellable, &error);
  else
    ok = e_cal_client_remove_object_sync (E_CAL_CLIENT (host->clients[call->kind]), call->uid, call->rid,
                                          call->rid != NULL ? E_CAL_OBJ_MOD_THIS : E_CAL_OBJ_MOD_ALL,
                                          E_CAL_OPERATION_FLAG_NONE, cancellable, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    {
      lia_evo_host_translate_error (&error);
      g_task_return_error (task, error);
    }
}

static void
vt_delete_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task =
      call_task (h, vt_delete_item, "[liaison] delete item", cancellable, callback, user_data, &call);

  if (lia_evo_mail_owns_id (host->mail, item_id))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_REFUSED,
                               "messages are never deleted from CRM (R-DEL-IN-EMAIL)");
      return;
    }
  if (!call_parse (call, task, store, item_id))
    return;
  if (host->notify != NULL)
    lia_evo_host_echo_expect (host, item_id);
  run_on_worker (host, task, delete_item_thread);
}

/* Any thread (lia-host.h): the mail adapter keeps its folders under its
 * lock. A message marked while no engine ran may lie in Sent as well as
 * in the Inbox (R-DET-SCAN-STARTUP); never Drafts, whose marks wait for
 * the send (R-IMM-DRAFT). */
static char **
vt_dup_scan_folders (gpointer h, const char *store, LiaEntity entity)
{
  LiaEvoHost *host = h;
  char *sent;
  char **folders;

  if (g_strcmp0 (store, LIA_EVO_STORE) != 0 || entity != LIA_ENTITY_EMAIL || host->mail == NULL)
    return NULL;
  sent = lia_evo_mail_dup_folder (host->mail, LIA_EVO_MAIL_SENT);
  if (sent == NULL)
    return NULL;
  folders = g_new0 (char *, 2);
  folders[0] = sent;
  return folders;
}

static const LiaHostVTable evo_vtable = {
  .abi_version = LIA_HOST_ABI_VERSION,
  .dup_primary_store = vt_dup_primary_store,
  .dup_default_folder = vt_dup_default_folder,
  .read_contents = vt_read_contents,
  .read_contents_finish = vt_read_contents_finish,
  .read_item = vt_read_item,
  .read_item_finish = vt_read_item_finish,
  .write_item = vt_write_item,
  .write_item_finish = vt_bool_finish,
  .create_item = vt_create_item,
  .create_item_finish = vt_create_item_finish,
  .delete_item = vt_delete_item,
  .delete_item_finish = vt_bool_finish,
  .dup_scan_folders = vt_dup_scan_folders,
};

const LiaHostVTable *
lia_evo_host_get_vtable (void)
{
  return &evo_vtable;
}
