/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A network switch in front of a real connector: every call goes to the
 * embedded org unless the switch is off (LIA_ERROR_UNAVAILABLE, as a
 * refused connection) or slowed down (each call first waits). Used for the
 * offline rules (SPEC section 12) and for proving that the host thread
 * never waits on the org. Include from one test file only. */

#include <liaison/liaison.h>

#define SWITCH_TYPE_CRM (switch_crm_get_type ())
G_DECLARE_FINAL_TYPE (SwitchCrm, switch_crm, SWITCH, CRM, GObject)

struct _SwitchCrm
{
  GObject parent;
  LiaCrm *inner; /* owned */
  gint down;     /* atomic */
  gint delay_ms; /* atomic */
  gint up_calls; /* atomic: > 0, calls still passing before the switch goes down */
};

static inline gboolean
switch_pass (LiaCrm *crm, GError **error)
{
  SwitchCrm *self = SWITCH_CRM (crm);
  gint delay = g_atomic_int_get (&self->delay_ms);

  if (delay > 0)
    g_usleep ((gulong) delay * 1000);
  if (g_atomic_int_get (&self->up_calls) > 0 && g_atomic_int_dec_and_test (&self->up_calls))
    g_atomic_int_set (&self->down, TRUE);
  if (g_atomic_int_get (&self->down))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "org unreachable");
      return FALSE;
    }
  return TRUE;
}

#define INNER(crm) (SWITCH_CRM (crm)->inner)
#define FWD(ret, fail, name, params, args) \
  static ret sw_##name params              \
  {                                        \
    if (!switch_pass (crm, error))         \
      return fail;                         \
    return lia_crm_##name##_sync args;     \
  }

FWD (LiaCrmUser *, NULL, whoami, (LiaCrm * crm, GCancellable *c, GError **error), (INNER (crm), c, error))
FWD (LiaCrmSubscription *, NULL, subscribe,
     (LiaCrm * crm, const char *client, GCancellable *c, GError **error), (INNER (crm), client, c, error))
FWD (GPtrArray *, NULL, list_subscriptions, (LiaCrm * crm, GCancellable *c, GError **error),
     (INNER (crm), c, error))
FWD (gboolean, FALSE, set_primary, (LiaCrm * crm, const char *s, GCancellable *c, GError **error),
     (INNER (crm), s, c, error))
FWD (LiaSyncSummary *, NULL, prepare_sync,
     (LiaCrm * crm, const char *s, guint m, GCancellable *c, GError **error), (INNER (crm), s, m, c, error))
FWD (LiaSyncPage *, NULL, get_sync_data,
     (LiaCrm * crm, const char *s, LiaEntity e, const char *cur, guint n, GCancellable *c, GError **error),
     (INNER (crm), s, e, cur, n, c, error))
FWD (gboolean, FALSE, post_sync,
     (LiaCrm * crm, const char *s, LiaEntity e, const char *const *ids, GCancellable *c, GError **error),
     (INNER (crm), s, e, ids, c, error))
FWD (gboolean, FALSE, track,
     (LiaCrm * crm, const char *s, LiaEntity e, const char *id, gboolean m, GCancellable *c, GError **error),
     (INNER (crm), s, e, id, m, c, error))
FWD (gboolean, FALSE, forget,
     (LiaCrm * crm, const char *s, LiaEntity e, const char *id, GCancellable *c, GError **error),
     (INNER (crm), s, e, id, c, error))
FWD (gboolean, FALSE, wait_changes, (LiaCrm * crm, const char *s, guint t, GCancellable *c, GError **error),
     (INNER (crm), s, t, c, error))
FWD (LiaCrmRecord *, NULL, create,
     (LiaCrm * crm, const LiaCrmRecord *r, const char *req, GCancellable *c, GError **error),
     (INNER (crm), r, req, c, error))
FWD (LiaCrmRecord *, NULL, retrieve,
     (LiaCrm * crm, LiaEntity e, const char *id, GCancellable *c, GError **error),
     (INNER (crm), e, id, c, error))
FWD (LiaCrmRecord *, NULL, update, (LiaCrm * crm, const LiaCrmRecord *r, GCancellable *c, GError **error),
     (INNER (crm), r, c, error))
FWD (gboolean, FALSE, delete,
     (LiaCrm * crm, LiaEntity e, const char *id, gint64 v, GCancellable *c, GError **error),
     (INNER (crm), e, id, v, c, error))
FWD (GPtrArray *, NULL, list_filters, (LiaCrm * crm, GCancellable *c, GError **error),
     (INNER (crm), c, error))
FWD (GHashTable *, NULL, get_settings, (LiaCrm * crm, GCancellable *c, GError **error),
     (INNER (crm), c, error))
/* Email (SPEC section 8): sender resolution, tokens, the tagging poll. */
FWD (GPtrArray *, NULL, resolve, (LiaCrm * crm, const char *const *a, GCancellable *c, GError **error),
     (INNER (crm), a, c, error))
FWD (GStrv, NULL, allocate_tokens, (LiaCrm * crm, guint n, GCancellable *c, GError **error),
     (INNER (crm), n, c, error))
FWD (GPtrArray *, NULL, email_changes,
     (LiaCrm * crm, gint64 since, guint n, gint64 *last, GCancellable *c, GError **error),
     (INNER (crm), since, n, last, c, error))

/* The batched create and track (R-MAIL-BULK) counts as a create and a
 * track per item, as the calls it replaces. When the switch goes down
 * inside a batch, the items whose calls passed reach the org as a batch of
 * their own and keep their results, and the batch fails with the lost
 * connection: what a connector without the batch call (one create and
 * track at a time) reports, the harder case for the engine (made and
 * unmade items in one page). */
static gboolean
sw_create_tracked (LiaCrm *crm, const char *s, const LiaCrmRecord *const *records, const char *const *req,
                   guint n, LiaCrmRecord **out_records, GError **out_errors, GCancellable *c, GError **error)
{
  g_autoptr (GError) lost = NULL;
  guint passed = 0;

  while (passed < n && switch_pass (crm, &lost) && switch_pass (crm, &lost))
    passed++;
  if (passed > 0
      && !lia_crm_create_tracked_sync (INNER (crm), s, records, req, passed, out_records, out_errors, c,
                                       error))
    return FALSE;
  if (lost != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&lost));
      return FALSE;
    }
  return TRUE;
}

static void
switch_crm_iface_init (LiaCrmInterface *iface)
{
  iface->whoami = sw_whoami;
  iface->subscribe = sw_subscribe;
  iface->list_subscriptions = sw_list_subscriptions;
  iface->set_primary = sw_set_primary;
  iface->prepare_sync = sw_prepare_sync;
  iface->get_sync_data = sw_get_sync_data;
  iface->post_sync = sw_post_sync;
  iface->track = sw_track;
  iface->forget = sw_forget;
  iface->wait_changes = sw_wait_changes;
  iface->create = sw_create;
  iface->retrieve = sw_retrieve;
  iface->update = sw_update;
  iface->remove = sw_delete;
  iface->list_filters = sw_list_filters;
  iface->get_settings = sw_get_settings;
  iface->resolve = sw_resolve;
  iface->allocate_tokens = sw_allocate_tokens;
  iface->email_changes = sw_email_changes;
  iface->create_tracked = sw_create_tracked;
}

G_DEFINE_TYPE_WITH_CODE (SwitchCrm, switch_crm, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (LIA_TYPE_CRM, switch_crm_iface_init))

static void
switch_crm_finalize (GObject *object)
{
  g_clear_object (&SWITCH_CRM (object)->inner);
  G_OBJECT_CLASS (switch_crm_parent_class)->finalize (object);
}

static void
switch_crm_class_init (SwitchCrmClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = switch_crm_finalize;
}

static void
switch_crm_init (SwitchCrm *self)
{
}

static inline LiaCrm *
switch_crm_new (LiaCrm *inner)
{
  SwitchCrm *self = g_object_new (SWITCH_TYPE_CRM, NULL);

  self->inner = g_object_ref (inner);
  return LIA_CRM (self);
}

static inline void
switch_crm_set_down (LiaCrm *crm, gboolean down)
{
  g_atomic_int_set (&SWITCH_CRM (crm)->down, down);
}

/* The switch goes down by itself at the @n-th call from now (that call
 * fails): a connection lost in the middle of a run of calls. */
static inline void
switch_crm_set_down_after (LiaCrm *crm, guint n)
{
  g_atomic_int_set (&SWITCH_CRM (crm)->up_calls, (gint) n);
}

static inline void
switch_crm_set_delay (LiaCrm *crm, guint delay_ms)
{
  g_atomic_int_set (&SWITCH_CRM (crm)->delay_ms, (gint) delay_ms);
}
