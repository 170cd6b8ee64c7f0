/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-dispatcher.h"
#include "lia-engine-mail.h"

typedef struct
{
  LiaChangeOp op;
  LiaEntity entity;
  char *store;
  char *folder;
  gboolean delete_in_crm;
  char *regarding_id;   /* owned, nullable: travels with a draft to its sent message */
  char *regarding_name; /* owned, nullable */
  LiaUiEventKind when;  /* the UI event that releases it */
} Deferred;

struct _LiaDispatcher
{
  LiaEngine *engine;           /* owned ref */
  const LiaHostVTable *vtable; /* borrowed */
  gpointer host;               /* borrowed */
  GHashTable *deferred;        /* owned: item id -> Deferred (on close/save/send) */
  guint *pending;              /* owned, shared with enqueue callbacks */
};

static void
deferred_free (Deferred *d)
{
  g_free (d->store);
  g_free (d->folder);
  g_free (d->regarding_id);
  g_free (d->regarding_name);
  g_free (d);
}

LiaDispatcher *
lia_dispatcher_new (LiaEngine *engine, const LiaHostVTable *vtable, gpointer host)
{
  LiaDispatcher *self = g_new0 (LiaDispatcher, 1);

  self->engine = lia_engine_ref (engine);
  self->vtable = vtable;
  self->host = host;
  self->deferred = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) deferred_free);
  /* Outlives the dispatcher when callbacks are still queued: owned by the
   * last of them (an atomic refcounted box). */
  self->pending = g_atomic_rc_box_new0 (guint);
  return self;
}

void
lia_dispatcher_free (LiaDispatcher *dispatcher)
{
  if (dispatcher == NULL)
    return;
  g_hash_table_unref (dispatcher->deferred);
  g_atomic_rc_box_release (dispatcher->pending);
  lia_engine_unref (dispatcher->engine);
  g_free (dispatcher);
}

guint
lia_dispatcher_get_n_pending (LiaDispatcher *dispatcher)
{
  return g_atomic_int_get (dispatcher->pending);
}

typedef struct
{
  guint *pending;    /* owned ref */
  LiaEngine *engine; /* owned ref */
  gboolean sync_now;
} EnqueueDone;

static void
enqueue_done (gint64 id, const GError *error, gpointer user_data)
{
  EnqueueDone *done = user_data;

  g_atomic_int_dec_and_test ((gint *) done->pending);
  if (error != NULL)
    g_warning ("a change could not be queued: %s", error->message);
  else if (done->sync_now)
    /* Immediate sync (SPEC section 3, "now"): the change is durable; the
     * worker sends it. */
    lia_engine_request_sync (done->engine);
  g_atomic_rc_box_release (done->pending);
  lia_engine_unref (done->engine);
  g_free (done);
}

/* Hands a change to the cache's writer; needs only the engine and the
 * pending box, so that it also runs after an async host call. */
static void
enqueue_change (LiaEngine *engine, guint *pending, LiaChangeOp op, const char *store, const char *folder,
                const char *item_id, LiaEntity entity, gboolean delete_in_crm, const char *regarding_id,
                const char *regarding_name, gboolean sync_now)
{
  LiaCache *cache = lia_engine_get_cache (engine);
  g_autoptr (LiaCacheChange) change = NULL;
  EnqueueDone *done;

  if (cache == NULL)
    {
      /* Still starting: the start-up scan finds the item by its
       * link-state property (R-DET-SCAN-STARTUP), so nothing is lost. */
      g_debug ("change of \"%s\" before start-up; the scanner will find it", item_id);
      return;
    }
  change = lia_cache_change_new (LIA_DIRECTION_TO_CRM, op, store, item_id, entity, NULL);
  change->folder = g_strdup (folder);
  if (delete_in_crm)
    change->payload = g_bytes_new_static ("delete", 6);
  else if (regarding_id != NULL)
    {
      /* Set Regarding: "id\nname" for the worker, which resolves the record
       * and writes the name the host shows (R-MARK-REGARDING-TEXT). */
      g_autofree char *text =
          g_strdup_printf ("%s\n%s", regarding_id, regarding_name != NULL ? regarding_name : "");

      change->payload = g_bytes_new (text, strlen (text));
    }
  done = g_new0 (EnqueueDone, 1);
  done->pending = g_atomic_rc_box_acquire (pending);
  done->engine = lia_engine_ref (engine);
  done->sync_now = sync_now;
  g_atomic_int_inc ((gint *) pending);
  lia_cache_enqueue_async (cache, change, enqueue_done, done);
}

static void
enqueue_full (LiaDispatcher *self, LiaChangeOp op, const char *store, const char *folder, const char *item_id,
              LiaEntity entity, gboolean delete_in_crm, const char *regarding_id, const char *regarding_name,
              gboolean sync_now)
{
  enqueue_change (self->engine, self->pending, op, store, folder, item_id, entity, delete_in_crm,
                  regarding_id, regarding_name, sync_now);
}

static void
enqueue (LiaDispatcher *self, LiaChangeOp op, const char *store, const char *folder, const char *item_id,
         LiaEntity entity, gboolean delete_in_crm, gboolean sync_now)
{
  enqueue_full (self, op, store, folder, item_id, entity, delete_in_crm, NULL, NULL, sync_now);
}

/* A move that changed the item's id: "old store\nold id" for the worker. */
static void
enqueue_move (LiaDispatcher *self, const LiaHostNotification *n)
{
  LiaCache *cache = lia_engine_get_cache (self->engine);
  g_autoptr (LiaCacheChange) change = NULL;
  g_autofree char *text = NULL;
  EnqueueDone *done;

  if (cache == NULL)
    {
      g_debug ("move of \"%s\" before start-up; the scanner will relink it", n->item_id);
      return;
    }
  change =
      lia_cache_change_new (LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_MOVE, n->store, n->item_id, n->entity, NULL);
  change->folder = g_strdup (n->folder);
  text = g_strdup_printf ("%s\n%s", n->old_store != NULL ? n->old_store : "", n->old_item_id);
  change->payload = g_bytes_new (text, strlen (text));
  done = g_new0 (EnqueueDone, 1);
  done->pending = g_atomic_rc_box_acquire (self->pending);
  done->engine = lia_engine_ref (self->engine);
  g_atomic_int_inc ((gint *) self->pending);
  lia_cache_enqueue_async (cache, change, enqueue_done, done);
}

typedef struct
{
  const LiaHostVTable *vtable; /* borrowed */
  gpointer host;               /* borrowed */
} WriteCtx;

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autofree WriteCtx *ctx = user_data;
  g_autoptr (GError) error = NULL;

  if (!ctx->vtable->write_item_finish (ctx->host, res, &error))
    g_debug ("link state not written: %s", error->message);
}

/* The UI state updates at once (R-MARK-TRACK, R-IMM-BACKGROUND).
 * @draft: R-IMM-DRAFT, the item is a draft: its regarding travels on it
 * (@regarding_id, NULL for none, is written with the mark and cleared with
 * it), so that a composer reopened from it, or the plugin after a restart,
 * still knows the regarding chosen for its sent message. */
static void
set_link_state (LiaDispatcher *self, const char *store, const char *item_id, LiaLinkState state,
                gboolean draft, const char *regarding_id, const char *regarding_name)
{
  g_auto (LiaHostProps) props = { 0 };
  WriteCtx *ctx = g_new0 (WriteCtx, 1);

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, state == LIA_LINK_STATE_MARKED ? "1" : "0");
  if (state == LIA_LINK_STATE_NONE)
    {
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, NULL);
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ORG, NULL);
      lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, NULL);
    }
  if (draft)
    {
      gboolean keep = state != LIA_LINK_STATE_NONE && regarding_id != NULL;

      lia_host_props_set (&props, LIA_HOST_PROP_REGARDING, keep ? regarding_id : NULL);
      props.regarding_name = keep ? g_strdup (regarding_name != NULL ? regarding_name : "") : NULL;
    }
  ctx->vtable = self->vtable;
  ctx->host = self->host;
  self->vtable->write_item (self->host, store, item_id, NULL, &props, NULL, write_done, ctx);
}

static gboolean
client_info (LiaDispatcher *self, LiaClientInfo *info, char **out_primary)
{
  LiaClientRole role = LIA_CLIENT_PRIMARY;

  lia_engine_get_client (self->engine, &role, out_primary);
  info->role = role;
  /* The engine already resolved roaming into the role. */
  info->roaming = FALSE;
  info->delegate_configured = TRUE;
  info->primary_name = *out_primary;
  return TRUE;
}

static gboolean
deferred_until_send (LiaDispatcher *self, const char *item_id)
{
  Deferred *d = g_hash_table_lookup (self->deferred, item_id);

  return d != NULL && d->when == LIA_UI_EVENT_SEND;
}

void
lia_dispatcher_notify (LiaDispatcher *self, const LiaHostNotification *n)
{
  g_return_if_fail (self != NULL && n != NULL && n->abi_version == LIA_HOST_ABI_VERSION);
  if (n->item_id == NULL || n->store == NULL)
    return;
  /* R-MAIL-FOLDER: mail moved or filtered into a tracked folder is tracked
   * by the email phase of a cycle, whatever its date: the arrival is noted
   * durably (no I/O here) and a cycle starts once it is on disk. */
  if ((n->event == LIA_HOST_EVENT_CREATED || n->event == LIA_HOST_EVENT_MOVED)
      && n->entity == LIA_ENTITY_EMAIL && n->link_state == LIA_LINK_STATE_NONE && n->folder != NULL)
    {
      EnqueueDone *done = g_new0 (EnqueueDone, 1);

      done->pending = g_atomic_rc_box_acquire (self->pending);
      done->engine = lia_engine_ref (self->engine);
      done->sync_now = TRUE;
      g_atomic_int_inc ((gint *) self->pending);
      if (!lia_engine_mail_note_arrival (self->engine, n->store, n->folder, n->item_id, enqueue_done, done))
        {
          g_atomic_int_dec_and_test ((gint *) self->pending);
          g_atomic_rc_box_release (done->pending);
          lia_engine_unref (done->engine);
          g_free (done);
        }
    }
  switch (n->event)
    {
    case LIA_HOST_EVENT_MOVED:
      if (n->old_item_id != NULL && g_strcmp0 (n->old_item_id, n->item_id) != 0)
        {
          gpointer key = NULL;
          gpointer value = NULL;

          /* What waits for the Inspector's close/save/send follows the
           * item to its new id. */
          if (g_hash_table_steal_extended (self->deferred, n->old_item_id, &key, &value))
            {
              g_free (key);
              g_hash_table_replace (self->deferred, g_strdup (n->item_id), value);
            }
          if (deferred_until_send (self, n->item_id))
            break;
          /* The link moves with the item: relinked, never deleted and
           * created again (R-DUP-NONE). */
          if (n->link_state >= LIA_LINK_STATE_MARKED)
            enqueue_move (self, n);
          break;
        }
      G_GNUC_FALLTHROUGH;
    case LIA_HOST_EVENT_CREATED:
    case LIA_HOST_EVENT_MODIFIED:
      /* R-DET-NOTIFY: a change of an item in link state >= 1 is queued at
       * once; sending it waits for the next cycle (SPEC section 3). */
      /* R-IMM-DRAFT: a draft waiting for its send carries the mark but is
       * never written to CRM; its sent message is. */
      if (deferred_until_send (self, n->item_id))
        break;
      if (n->link_state >= LIA_LINK_STATE_MARKED)
        enqueue (self, LIA_CHANGE_OP_UPDATE, n->store, n->folder, n->item_id, n->entity, FALSE, FALSE);
      break;
    case LIA_HOST_EVENT_DELETED:
      /* R-IMM-DELETE-*: deletions go at the next cycle, by the deletion
       * rules; an untracked item's delete is dropped by the engine. */
      /* A draft waiting for its send stays remembered and CRM never hears
       * of it: clients delete the draft as part of sending, before or after
       * they report the send. */
      if (deferred_until_send (self, n->item_id))
        break;
      if (n->link_state >= LIA_LINK_STATE_MARKED)
        enqueue (self, LIA_CHANGE_OP_DELETE, n->store, n->folder, n->item_id, n->entity, FALSE, FALSE);
      g_hash_table_remove (self->deferred, n->item_id);
      break;
    case LIA_HOST_EVENT_N:
    default:
      break;
    }
}

/* A send of a draft the dispatcher has no Deferred for (the plugin
 * restarted since the draft was marked): the draft's own properties say
 * whether it was marked and regarding what (R-IMM-DRAFT). */
typedef struct
{
  const LiaHostVTable *vtable; /* borrowed */
  gpointer host;               /* borrowed: it completes the read */
  LiaEngine *engine;           /* owned ref */
  guint *pending;              /* owned ref */
  char *store;
  char *sent_id;
  char *draft_id;
} DraftRead;

static void
draft_read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  DraftRead *r = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = r->vtable->read_item_finish (r->host, res, &error);

  if (hi == NULL)
    g_debug ("sent draft \"%s\" not read (%s): its sent copy is not tracked from it", r->draft_id,
             error != NULL ? error->message : "?");
  else if (hi->is_draft && hi->props.link_state == LIA_LINK_STATE_MARKED)
    /* As the Deferred would have: tracked with the draft's regarding;
     * the draft itself still never reaches CRM. */
    enqueue_change (r->engine, r->pending, LIA_CHANGE_OP_TRACK, r->store, "sent", r->sent_id,
                    LIA_ENTITY_EMAIL, FALSE, hi->props.regarding_id, hi->props.regarding_name, TRUE);
  g_atomic_int_dec_and_test ((gint *) r->pending);
  g_atomic_rc_box_release (r->pending);
  lia_engine_unref (r->engine);
  g_free (r->store);
  g_free (r->sent_id);
  g_free (r->draft_id);
  g_free (r);
}

static void
read_sent_draft (LiaDispatcher *self, const LiaUiEvent *e)
{
  DraftRead *r = g_new0 (DraftRead, 1);

  r->vtable = self->vtable;
  r->host = self->host;
  r->engine = lia_engine_ref (self->engine);
  r->pending = g_atomic_rc_box_acquire (self->pending);
  r->store = g_strdup (e->store);
  r->sent_id = g_strdup (e->item_id);
  r->draft_id = g_strdup (e->draft_id);
  /* Counted as pending: the change it may queue is not durable yet. */
  g_atomic_int_inc ((gint *) self->pending);
  self->vtable->read_item (self->host, e->store, e->draft_id, NULL, draft_read_done, r);
}

void
lia_dispatcher_ui_event (LiaDispatcher *self, const LiaUiEvent *e)
{
  Deferred *d;
  const char *key;

  g_return_if_fail (self != NULL && e != NULL && e->abi_version == LIA_PLUGIN_ABI_VERSION);
  key = e->kind == LIA_UI_EVENT_SEND && e->draft_id != NULL ? e->draft_id : e->item_id;
  if (key == NULL)
    return;
  d = g_hash_table_lookup (self->deferred, key);
  if (d == NULL)
    {
      /* R-IMM-DRAFT, R-IMM-OUTGOING-ASYNC: nothing remembered for the
       * draft; its properties are read by the host in the background. */
      if (e->kind == LIA_UI_EVENT_SEND && e->draft_id != NULL && e->item_id != NULL && e->store != NULL)
        read_sent_draft (self, e);
      return;
    }
  /* A save does not release what waits for the close, a close releases
   * what waits for the save (the user closed after saving). */
  if (d->when != e->kind && !(d->when == LIA_UI_EVENT_SAVE && e->kind == LIA_UI_EVENT_CLOSE))
    return;
  /* R-IMM-DRAFT: the sent message is tracked, not the draft, with the
   * regarding chosen on the draft. R-IMM-OUTGOING-ASYNC: this only hands
   * the change to the cache's writer; the send never waits for the org. */
  enqueue_full (self, d->op, d->store, e->kind == LIA_UI_EVENT_SEND ? "sent" : d->folder, e->item_id,
                d->entity, d->delete_in_crm, d->regarding_id, d->regarding_name, TRUE);
  g_hash_table_remove (self->deferred, key);
}

gboolean
lia_dispatcher_command (LiaDispatcher *self, const LiaCommand *cmd, GError **error)
{
  g_autofree char *primary_store = NULL;
  g_autofree char *primary_name = NULL;
  LiaClientInfo info = { 0 };
  LiaAction action;
  LiaItemKind kind;
  LiaSyncTiming timing;
  gboolean tracked;
  LiaChangeOp op;

  g_return_val_if_fail (self != NULL && cmd != NULL, FALSE);
  if (cmd->abi_version != LIA_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_ABI, "command of ABI %u, plugin has %u", cmd->abi_version,
                   (guint) LIA_PLUGIN_ABI_VERSION);
      return FALSE;
    }
  if (cmd->kind == LIA_COMMAND_SYNC_NOW)
    {
      lia_engine_request_sync (self->engine);
      return TRUE;
    }
  g_return_val_if_fail (cmd->store != NULL && cmd->item_id != NULL, FALSE);
  action = cmd->kind == LIA_COMMAND_TRACK     ? LIA_ACTION_TRACK
           : cmd->kind == LIA_COMMAND_UNTRACK ? LIA_ACTION_UNTRACK
                                              : LIA_ACTION_SET_REGARDING;
  tracked = cmd->link_state >= LIA_LINK_STATE_MARKED;
  /* R-MARK-PROFILE: only the primary store can be tracked. */
  primary_store = self->vtable->dup_primary_store (self->host);
  if (action != LIA_ACTION_UNTRACK && !tracked && g_strcmp0 (primary_store, cmd->store) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Only items in your primary mailbox can be tracked in CRM; \"%s\" is another store",
                   cmd->store);
      return FALSE;
    }
  if (!lia_item_kind_for_entity (cmd->entity, cmd->is_draft, &kind))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED, "%s items cannot be tracked in CRM (R-UNSUPPORTED)",
                   lia_entity_to_string (cmd->entity));
      return FALSE;
    }
  /* R-APPT-SERVICE, R-UNSUPPORTED: kinds that only come from CRM. */
  if (action != LIA_ACTION_UNTRACK && !tracked && !lia_entity_rules_check_track (cmd->entity, error))
    return FALSE;
  /* R-MARK-NEEDS-FILTER: hand tracking of PIM items needs a filter. */
  if (action == LIA_ACTION_TRACK && !tracked && kind == LIA_ITEM_KIND_PIM
      && !lia_engine_has_filter (self->engine, cmd->entity))
    {
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_REFUSED,
          "Tracking %s items needs at least one enabled synchronization filter for them; ask your CRM "
          "administrator or add one in the filters",
          lia_entity_to_string (cmd->entity));
      return FALSE;
    }
  client_info (self, &info, &primary_name);
  if (!lia_rules_sync_timing (action, cmd->surface, kind, tracked, &info, &timing, NULL, error))
    return FALSE;
  op = action == LIA_ACTION_UNTRACK ? LIA_CHANGE_OP_UNTRACK : LIA_CHANGE_OP_TRACK;
  if (action == LIA_ACTION_SET_REGARDING && tracked)
    op = LIA_CHANGE_OP_REGARDING;
  /* Track and untrack show at once, whenever CRM hears of them. */
  /* R-IMM-DRAFT: Untrack of a draft never concerns CRM (not applicable),
   * but it takes back the "track when sent" mark: the draft's mark, its
   * regarding and what waits for its send. */
  if (cmd->is_draft && action == LIA_ACTION_UNTRACK)
    {
      g_hash_table_remove (self->deferred, cmd->item_id);
      set_link_state (self, cmd->store, cmd->item_id, LIA_LINK_STATE_NONE, TRUE, NULL, NULL);
      return TRUE;
    }
  if (timing != LIA_SYNC_NOT_APPLICABLE && timing != LIA_SYNC_REFUSED
      && (action == LIA_ACTION_UNTRACK || cmd->link_state < LIA_LINK_STATE_TRACKED))
    set_link_state (self, cmd->store, cmd->item_id,
                    action == LIA_ACTION_UNTRACK ? LIA_LINK_STATE_NONE : LIA_LINK_STATE_MARKED, cmd->is_draft,
                    cmd->regarding_id, cmd->regarding_name);
  switch (timing)
    {
    case LIA_SYNC_NOW:
    case LIA_SYNC_NEXT_CYCLE:
      enqueue_full (self, op, cmd->store, cmd->folder, cmd->item_id, cmd->entity, cmd->delete_in_crm,
                    action == LIA_ACTION_SET_REGARDING ? cmd->regarding_id : NULL, cmd->regarding_name,
                    timing == LIA_SYNC_NOW);
      return TRUE;
    case LIA_SYNC_ON_CLOSE:
    case LIA_SYNC_ON_SAVE:
    case LIA_SYNC_ON_SEND:
      {
        Deferred *d = g_new0 (Deferred, 1);

        d->op = op;
        d->entity = cmd->entity;
        d->store = g_strdup (cmd->store);
        d->folder = g_strdup (cmd->folder);
        d->delete_in_crm = cmd->delete_in_crm;
        if (cmd->regarding_id != NULL && (action == LIA_ACTION_SET_REGARDING || cmd->is_draft))
          {
            d->regarding_id = g_strdup (cmd->regarding_id);
            d->regarding_name = g_strdup (cmd->regarding_name);
          }
        d->when = timing == LIA_SYNC_ON_CLOSE  ? LIA_UI_EVENT_CLOSE
                  : timing == LIA_SYNC_ON_SAVE ? LIA_UI_EVENT_SAVE
                                               : LIA_UI_EVENT_SEND;
        g_hash_table_replace (self->deferred, g_strdup (cmd->item_id), d);
        return TRUE;
      }
    case LIA_SYNC_PRIMARY_CYCLE:
      /* R-ROLE-DELEGATE, R-ROLE-SECONDARY-DEFER: the mark travels on the
       * item; the user's primary client promotes it. */
      return TRUE;
    case LIA_SYNC_NOT_APPLICABLE:
      return TRUE;
    case LIA_SYNC_REFUSED:
    case LIA_SYNC_N:
    default:
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED, "this action is not possible here");
      return FALSE;
    }
}
