/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-host-call-private.h"

struct _LiaHostGate
{
  GRecMutex lock;
  gboolean closed; /* guarded by lock */
};

static void
gate_clear (gpointer data)
{
  LiaHostGate *gate = data;

  g_rec_mutex_clear (&gate->lock);
}

LiaHostGate *
lia_host_gate_new (void)
{
  LiaHostGate *gate = g_atomic_rc_box_new0 (LiaHostGate);

  g_rec_mutex_init (&gate->lock);
  return gate;
}

LiaHostGate *
lia_host_gate_ref (LiaHostGate *gate)
{
  return gate != NULL ? g_atomic_rc_box_acquire (gate) : NULL;
}

void
lia_host_gate_unref (LiaHostGate *gate)
{
  if (gate != NULL)
    g_atomic_rc_box_release_full (gate, gate_clear);
}

void
lia_host_gate_close (LiaHostGate *gate)
{
  g_return_if_fail (gate != NULL);
  g_rec_mutex_lock (&gate->lock);
  gate->closed = TRUE;
  g_rec_mutex_unlock (&gate->lock);
}

gboolean
lia_host_link_enter (const LiaHostLink *link)
{
  if (link->gate == NULL)
    return TRUE;
  g_rec_mutex_lock (&link->gate->lock);
  if (!link->gate->closed)
    return TRUE;
  g_rec_mutex_unlock (&link->gate->lock);
  return FALSE;
}

void
lia_host_link_leave (const LiaHostLink *link)
{
  if (link->gate != NULL)
    g_rec_mutex_unlock (&link->gate->lock);
}

/* One call in flight: shared by the worker that waits and the main context
 * that runs it, so it is reference counted; the worker may give up
 * (cancelled) while the host still holds the callback. */

typedef enum
{
  CALL_READ_CONTENTS,
  CALL_READ_ITEM,
  CALL_WRITE_ITEM,
  CALL_CREATE_ITEM,
  CALL_DELETE_ITEM,
} CallKind;

typedef struct
{
  CallKind kind;
  LiaHostLink link; /* borrowed pointers; context not owned here */
  char *store;      /* owned */
  char *folder;     /* owned */
  char *item_id;    /* owned */
  guint offset;
  guint limit;
  LiaItem *item;      /* owned, nullable */
  LiaHostProps props; /* owned */
  gboolean has_props;
  GCancellable *cancellable; /* owned, nullable */

  GMutex lock;
  GCond cond;
  gboolean done;   /* guarded by lock */
  gpointer result; /* guarded by lock; owned */
  gboolean ok;     /* guarded by lock */
  GError *error;   /* guarded by lock; owned */
} Call;

static void
call_clear (gpointer data)
{
  Call *call = data;

  g_free (call->store);
  g_free (call->folder);
  g_free (call->item_id);
  g_clear_pointer (&call->item, lia_item_free);
  lia_host_props_clear (&call->props);
  g_clear_object (&call->cancellable);
  g_clear_pointer (&call->link.gate, lia_host_gate_unref);
  switch (call->kind)
    {
    case CALL_READ_CONTENTS:
      g_clear_pointer ((GPtrArray **) &call->result, g_ptr_array_unref);
      break;
    case CALL_READ_ITEM:
      g_clear_pointer ((LiaHostItem **) &call->result, lia_host_item_free);
      break;
    case CALL_CREATE_ITEM:
      g_clear_pointer ((char **) &call->result, g_free);
      break;
    case CALL_WRITE_ITEM:
    case CALL_DELETE_ITEM:
    default:
      break;
    }
  g_clear_error (&call->error);
  g_mutex_clear (&call->lock);
  g_cond_clear (&call->cond);
}

static void
call_unref (Call *call)
{
  g_atomic_rc_box_release_full (call, call_clear);
}

static void
call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Call *call = user_data;
  const LiaHostVTable *vt = call->link.vtable;
  gpointer host = call->link.host;
  GError *error = NULL;
  gpointer result = NULL;
  gboolean ok = FALSE;

  switch (call->kind)
    {
    case CALL_READ_CONTENTS:
      result = vt->read_contents_finish (host, res, &error);
      ok = result != NULL;
      break;
    case CALL_READ_ITEM:
      result = vt->read_item_finish (host, res, &error);
      ok = result != NULL;
      break;
    case CALL_WRITE_ITEM:
      ok = vt->write_item_finish (host, res, &error);
      break;
    case CALL_CREATE_ITEM:
      result = vt->create_item_finish (host, res, &error);
      ok = result != NULL;
      break;
    case CALL_DELETE_ITEM:
      ok = vt->delete_item_finish (host, res, &error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (!ok && error == NULL)
    error = g_error_new (LIA_ERROR, LIA_ERROR_FAILED, "the host failed without saying why");
  g_mutex_lock (&call->lock);
  call->result = result;
  call->ok = ok;
  call->error = error;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  call_unref (call);
}

/* Runs on the host's main context. */
static gboolean
call_start (gpointer data)
{
  Call *call = g_atomic_rc_box_acquire ((Call *) data);
  const LiaHostVTable *vt = call->link.vtable;
  gpointer host = call->link.host;

  /* A worker that gave up may have let the host go, and an unloaded
   * plugin must not reach its host: do not start. */
  if (g_cancellable_is_cancelled (call->cancellable) || !lia_host_link_enter (&call->link))
    {
      g_mutex_lock (&call->lock);
      call->error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      call->done = TRUE;
      g_cond_signal (&call->cond);
      g_mutex_unlock (&call->lock);
      call_unref (call);
      return G_SOURCE_REMOVE;
    }
  switch (call->kind)
    {
    case CALL_READ_CONTENTS:
      vt->read_contents (host, call->store, call->folder, call->offset, call->limit, call->cancellable,
                         call_done, call);
      break;
    case CALL_READ_ITEM:
      vt->read_item (host, call->store, call->item_id, call->cancellable, call_done, call);
      break;
    case CALL_WRITE_ITEM:
      vt->write_item (host, call->store, call->item_id, call->item, call->has_props ? &call->props : NULL,
                      call->cancellable, call_done, call);
      break;
    case CALL_CREATE_ITEM:
      vt->create_item (host, call->store, call->folder, call->item, call->has_props ? &call->props : NULL,
                       call->cancellable, call_done, call);
      break;
    case CALL_DELETE_ITEM:
      vt->delete_item (host, call->store, call->item_id, call->cancellable, call_done, call);
      break;
    default:
      g_assert_not_reached ();
    }
  lia_host_link_leave (&call->link);
  return G_SOURCE_REMOVE;
}

static Call *
call_new (const LiaHostLink *link, CallKind kind, const char *store, GCancellable *cancellable)
{
  Call *call = g_atomic_rc_box_new0 (Call);

  call->kind = kind;
  call->link = *link;
  call->link.gate = lia_host_gate_ref (link->gate);
  call->store = g_strdup (store);
  call->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  g_mutex_init (&call->lock);
  g_cond_init (&call->cond);
  return call;
}

/* Waits for @call, polling the cancellable: a host that stopped iterating
 * must not keep a worker forever. On success steals the result into
 * @out_result. */
static gboolean
call_wait (Call *call, gpointer *out_result, GError **error)
{
  gboolean ok;

  g_mutex_lock (&call->lock);
  while (!call->done)
    {
      gint64 until = g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND;

      if (g_cancellable_is_cancelled (call->cancellable))
        break;
      g_cond_wait_until (&call->cond, &call->lock, until);
    }
  if (!call->done)
    {
      g_mutex_unlock (&call->lock);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  ok = call->ok;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&call->error));
  else if (out_result != NULL)
    *out_result = g_steal_pointer (&call->result);
  g_mutex_unlock (&call->lock);
  return ok;
}

/* Posts @call and waits. */
static gboolean
call_run (Call *call, gpointer *out_result, GError **error)
{
  g_main_context_invoke_full (call->link.context, G_PRIORITY_DEFAULT, call_start,
                              g_atomic_rc_box_acquire (call), (GDestroyNotify) call_unref);
  return call_wait (call, out_result, error);
}

GPtrArray *
lia_host_call_read_contents (const LiaHostLink *link, const char *store, const char *folder, guint offset,
                             guint limit, GCancellable *cancellable, GError **error)
{
  Call *call = call_new (link, CALL_READ_CONTENTS, store, cancellable);
  gpointer result = NULL;

  call->folder = g_strdup (folder);
  call->offset = offset;
  call->limit = limit;
  call_run (call, &result, error);
  call_unref (call);
  return result;
}

LiaHostItem *
lia_host_call_read_item (const LiaHostLink *link, const char *store, const char *item_id,
                         GCancellable *cancellable, GError **error)
{
  Call *call = call_new (link, CALL_READ_ITEM, store, cancellable);
  gpointer result = NULL;

  call->item_id = g_strdup (item_id);
  call_run (call, &result, error);
  call_unref (call);
  return result;
}

gboolean
lia_host_call_write_item (const LiaHostLink *link, const char *store, const char *item_id,
                          const LiaItem *fields, const LiaHostProps *props, GCancellable *cancellable,
                          GError **error)
{
  Call *call = call_new (link, CALL_WRITE_ITEM, store, cancellable);
  gboolean ok;

  call->item_id = g_strdup (item_id);
  call->item = fields != NULL ? lia_item_copy (fields) : NULL;
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  ok = call_run (call, NULL, error);
  call_unref (call);
  return ok;
}

char *
lia_host_call_create_item (const LiaHostLink *link, const char *store, const char *folder,
                           const LiaItem *item, const LiaHostProps *props, GCancellable *cancellable,
                           GError **error)
{
  Call *call = call_new (link, CALL_CREATE_ITEM, store, cancellable);
  gpointer result = NULL;

  call->folder = g_strdup (folder);
  call->item = lia_item_copy (item);
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  call_run (call, &result, error);
  call_unref (call);
  return result;
}

gboolean
lia_host_call_delete_item (const LiaHostLink *link, const char *store, const char *item_id,
                           GCancellable *cancellable, GError **error)
{
  Call *call = call_new (link, CALL_DELETE_ITEM, store, cancellable);
  gboolean ok;

  call->item_id = g_strdup (item_id);
  ok = call_run (call, NULL, error);
  call_unref (call);
  return ok;
}

/* Runs on the host's main context: starts every create of a batch in the
 * same turn, so an adapter can hand them to its host together. */
static gboolean
call_start_many (gpointer data)
{
  GPtrArray *calls = data;

  for (guint i = 0; i < calls->len; i++)
    call_start (g_ptr_array_index (calls, i));
  return G_SOURCE_REMOVE;
}

struct _LiaHostCreates
{
  GPtrArray *calls; /* owned, the worker's references */
};

LiaHostCreates *
lia_host_call_create_items_start (const LiaHostLink *link, const char *store, const char *folder, guint n,
                                  LiaItem *const *items, LiaHostProps *const *props,
                                  GCancellable *cancellable)
{
  /* The main context holds its own references: a worker that gives up
   * (cancelled) may return before the batch has started. */
  GPtrArray *posted = g_ptr_array_new_full (n, (GDestroyNotify) call_unref);
  LiaHostCreates *creates = g_new0 (LiaHostCreates, 1);

  creates->calls = g_ptr_array_new_full (n, (GDestroyNotify) call_unref);
  for (guint i = 0; i < n; i++)
    {
      Call *call = call_new (link, CALL_CREATE_ITEM, store, cancellable);

      call->folder = g_strdup (folder);
      call->item = lia_item_copy (items[i]);
      if (props != NULL && props[i] != NULL)
        {
          lia_host_props_copy (&call->props, props[i]);
          call->has_props = TRUE;
        }
      g_ptr_array_add (creates->calls, call);
      g_ptr_array_add (posted, g_atomic_rc_box_acquire (call));
    }
  g_main_context_invoke_full (link->context, G_PRIORITY_DEFAULT, call_start_many, posted,
                              (GDestroyNotify) g_ptr_array_unref);
  return creates;
}

char **
lia_host_call_create_items_finish (LiaHostCreates *creates, GError **errors)
{
  char **ids = g_new0 (char *, creates->calls->len + 1);

  for (guint i = 0; i < creates->calls->len; i++)
    {
      gpointer result = NULL;

      if (call_wait (g_ptr_array_index (creates->calls, i), &result, &errors[i]))
        ids[i] = result;
    }
  lia_host_creates_free (creates);
  return ids;
}

void
lia_host_creates_free (LiaHostCreates *creates)
{
  if (creates == NULL)
    return;
  g_ptr_array_unref (creates->calls);
  g_free (creates);
}

char **
lia_host_call_create_items (const LiaHostLink *link, const char *store, const char *folder, guint n,
                            LiaItem *const *items, LiaHostProps *const *props, GCancellable *cancellable,
                            GError **errors)
{
  return lia_host_call_create_items_finish (
      lia_host_call_create_items_start (link, store, folder, n, items, props, cancellable), errors);
}
