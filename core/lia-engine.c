/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/*
 * The engine's states (STYLE 19). Changed only through set_state().
 *
 *              start-up ok
 *   STARTING -------------> SCANNING --> UPLOADING --> DOWNLOADING --> IDLE
 *      |                      ^   |          |              |           |
 *      | org unreachable      |   +----------+--------------+           |
 *      v                      |          | org unreachable              |
 *   OFFLINE <-----------------+----------+                              |
 *      |  retry (scheduler, network back, Sync Now)                     |
 *      +----------------------> SCANNING <------------------------------+
 *
 *   any state --stop--> STOPPED (final).  A failed or cancelled cycle that
 *   was not a network failure ends in IDLE with last_error set.
 *
 * Invariants:
 *   STARTING     no cycle has completed start-up: cache may be NULL.
 *   IDLE         cache open and subscribed; no cycle in flight.
 *   SCANNING,
 *   UPLOADING,
 *   DOWNLOADING  exactly one cycle in flight (running == TRUE), on a worker.
 *   OFFLINE      the last call to the org failed with LIA_ERROR_UNAVAILABLE;
 *                queued changes wait with backoff (R-IMM-FALLBACK).
 *   STOPPED      no callback reaches the host any more.
 */

#define PAGE_SIZE 200
/* Covers the whole-second timestamps of vCard and iCalendar. */
#define WATERMARK_SLACK_US (2 * G_USEC_PER_SEC)
#define CLAIM_BATCH 64
#define CLAIM_LEASE_US (5 * G_TIME_SPAN_MINUTE)
#define SCAN_PAGE 100

struct _LiaEngine
{
  gatomicrefcount ref;
  LiaHostLink link;  /* vtable and host borrowed; context owned */
  char *cache_path;  /* owned */
  LiaCrm *crm;       /* owned */
  LiaClock *clock;   /* owned */
  char *client_name; /* owned */
  char *org_name;    /* owned */
  gboolean delegate;
  gboolean roaming;
  LiaSyncStatusFunc status_func;
  gpointer status_data;
  char *store;                          /* owned */
  char *folders[LIA_ENTITY_N];          /* owned, nullable */
  LiaFieldPolicy *policy[LIA_ENTITY_N]; /* owned, created by the worker */
  GCancellable *cancellable;            /* owned: stop() cancels it */

  /* Written by the one cycle in flight, read by anyone under lock. */
  GMutex lock;
  LiaCache *cache;          /* guarded by lock (set once) */
  char *subscription;       /* guarded by lock */
  char *user_id;            /* guarded by lock */
  LiaClientRole role;       /* guarded by lock */
  char *primary_name;       /* guarded by lock */
  gboolean started;         /* guarded by lock */
  guint min_interval_s;     /* guarded by lock */
  guint filter_mask;        /* guarded by lock: bit per entity with a filter */
  gboolean scanned_deletes; /* guarded by lock */
  LiaSyncState state;       /* guarded by lock */
  gboolean online;          /* guarded by lock */
  guint cycles;             /* guarded by lock */
  gint64 last_sync_at;      /* guarded by lock */
  char *last_error;         /* guarded by lock */
  guint progress;           /* guarded by lock */
  gboolean running;         /* guarded by lock */
  gboolean stopped;         /* guarded by lock */
  GPtrArray *waiters;       /* guarded by lock: GTask of sync_async */
};

/* Allowed transitions: bit (1 << to) in allowed[from]. */
#define S(x) (1u << LIA_SYNC_STATE_##x)
static const guint allowed[] = {
  [LIA_SYNC_STATE_STARTING] = S (SCANNING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_IDLE] = S (SCANNING) | S (STOPPED),
  [LIA_SYNC_STATE_SCANNING] = S (UPLOADING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_UPLOADING] = S (DOWNLOADING) | S (OFFLINE) | S (IDLE) | S (STOPPED),
  [LIA_SYNC_STATE_DOWNLOADING] = S (IDLE) | S (OFFLINE) | S (STOPPED),
  [LIA_SYNC_STATE_OFFLINE] = S (SCANNING) | S (STARTING) | S (STOPPED),
  [LIA_SYNC_STATE_STOPPED] = S (STOPPED),
};
#undef S
G_STATIC_ASSERT (G_N_ELEMENTS (allowed) == LIA_SYNC_STATE_N);

static void
status_fill (LiaEngine *self, LiaSyncStatus *out)
{
  guint64 queued = 0;
  guint64 failed = 0;

  /* Counting reads the cache: callers are the worker or get_status(),
   * which the host calls knowing it reads a SQLite file in WAL mode. */
  if (self->cache != NULL)
    {
      lia_cache_count_changes (self->cache, LIA_CACHE_CHANGES_ALL, &queued, NULL);
      lia_cache_count_changes (self->cache, LIA_CACHE_CHANGES_FAILED, &failed, NULL);
    }
  out->abi_version = LIA_PLUGIN_ABI_VERSION;
  out->state = self->state;
  out->online = self->online;
  out->queued = queued;
  out->failed = failed;
  out->cycles = self->cycles;
  out->last_sync_at = self->last_sync_at;
  out->last_error = g_strdup (self->last_error);
  out->progress_done = self->progress;
}

typedef struct
{
  LiaEngine *engine; /* owned ref */
  LiaSyncStatus status;
} StatusPost;

static gboolean
status_post_run (gpointer data)
{
  StatusPost *post = data;
  LiaEngine *self = post->engine;
  gboolean stopped;

  g_mutex_lock (&self->lock);
  stopped = self->stopped;
  g_mutex_unlock (&self->lock);
  if (!stopped && self->status_func != NULL)
    self->status_func (&post->status, self->status_data);
  return G_SOURCE_REMOVE;
}

static void
status_post_free (gpointer data)
{
  StatusPost *post = data;

  lia_sync_status_clear (&post->status);
  lia_engine_unref (post->engine);
  g_free (post);
}

/* Must hold the lock. */
static void
status_changed_locked (LiaEngine *self)
{
  StatusPost *post;

  if (self->status_func == NULL || self->stopped)
    return;
  post = g_new0 (StatusPost, 1);
  post->engine = lia_engine_ref (self);
  status_fill (self, &post->status);
  /* Always through a source, never inline: we hold the lock, and the
   * callback may call back into the engine. */
  {
    g_autoptr (GSource) source = g_idle_source_new ();

    g_source_set_priority (source, G_PRIORITY_DEFAULT);
    g_source_set_callback (source, status_post_run, post, status_post_free);
    g_source_set_static_name (source, "[liaison] status");
    g_source_attach (source, self->link.context);
  }
}

static void
set_state (LiaEngine *self, LiaSyncState to)
{
  LiaSyncState from;

  g_mutex_lock (&self->lock);
  from = self->state;
  if (from == to || from == LIA_SYNC_STATE_STOPPED)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  g_assert (allowed[from] & (1u << to));
  g_debug ("engine: %s -> %s", lia_sync_state_to_string (from), lia_sync_state_to_string (to));
  self->state = to;
  status_changed_locked (self);
  g_mutex_unlock (&self->lock);
}

static LiaSyncState
get_state (LiaEngine *self)
{
  LiaSyncState state;

  g_mutex_lock (&self->lock);
  state = self->state;
  g_mutex_unlock (&self->lock);
  return state;
}

LiaEngine *
lia_engine_new (const LiaEngineConfig *config, GError **error)
{
  g_autoptr (LiaEngine) self = NULL;

  g_return_val_if_fail (config != NULL && config->vtable != NULL, NULL);
  g_return_val_if_fail (config->cache_path != NULL && LIA_IS_CRM (config->crm), NULL);
  if (!lia_host_vtable_check (config->vtable, error))
    return NULL;
  self = g_atomic_rc_box_new0 (LiaEngine);
  g_atomic_ref_count_init (&self->ref);
  self->link.vtable = config->vtable;
  self->link.host = config->host;
  self->link.context = g_main_context_ref_thread_default ();
  self->cache_path = g_strdup (config->cache_path);
  self->crm = g_object_ref (config->crm);
  self->clock = config->clock != NULL ? lia_clock_ref (config->clock) : lia_clock_new_system ();
  self->client_name = g_strdup (config->client_name != NULL ? config->client_name : "liaison");
  self->org_name = g_strdup (config->org_name != NULL ? config->org_name : "default");
  self->delegate = config->delegate;
  self->roaming = config->roaming;
  self->status_func = config->status_func;
  self->status_data = config->status_data;
  self->cancellable = g_cancellable_new ();
  self->role = LIA_CLIENT_PRIMARY;
  self->state = LIA_SYNC_STATE_STARTING;
  self->online = TRUE;
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&self->lock);
  /* Stores and folders come from the host without I/O (lia-host.h), and
   * we are on its main context: read them once. */
  self->store = config->vtable->dup_primary_store (config->host);
  if (self->store == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "the host has no primary store");
      return NULL;
    }
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    if (lia_entity_is_host_mapped ((LiaEntity) e))
      self->folders[e] = config->vtable->dup_default_folder (config->host, self->store, (LiaEntity) e);
  return g_steal_pointer (&self);
}

LiaEngine *
lia_engine_ref (LiaEngine *engine)
{
  g_atomic_ref_count_inc (&engine->ref);
  return engine;
}

void
lia_engine_unref (LiaEngine *engine)
{
  if (engine == NULL || !g_atomic_ref_count_dec (&engine->ref))
    return;
  /* The last reference goes with the last cycle or status post: no worker
   * uses the cache any more. */
  g_clear_pointer (&engine->cache, lia_cache_close);
  g_main_context_unref (engine->link.context);
  g_free (engine->cache_path);
  g_object_unref (engine->crm);
  lia_clock_unref (engine->clock);
  g_free (engine->client_name);
  g_free (engine->org_name);
  g_free (engine->store);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_free (engine->folders[e]);
      g_clear_pointer (&engine->policy[e], lia_field_policy_free);
    }
  g_object_unref (engine->cancellable);
  g_free (engine->subscription);
  g_free (engine->user_id);
  g_free (engine->primary_name);
  g_free (engine->last_error);
  g_ptr_array_unref (engine->waiters);
  g_mutex_clear (&engine->lock);
  g_atomic_rc_box_release (engine);
}

void
lia_engine_stop (LiaEngine *engine)
{
  g_return_if_fail (engine != NULL);
  set_state (engine, LIA_SYNC_STATE_STOPPED);
  g_mutex_lock (&engine->lock);
  engine->stopped = TRUE;
  g_mutex_unlock (&engine->lock);
  g_cancellable_cancel (engine->cancellable);
}

LiaCache *
lia_engine_get_cache (LiaEngine *engine)
{
  LiaCache *cache;

  g_mutex_lock (&engine->lock);
  cache = engine->cache;
  g_mutex_unlock (&engine->lock);
  return cache;
}

const char *
lia_engine_get_store (LiaEngine *engine)
{
  return engine->store;
}

const char *
lia_engine_get_folder (LiaEngine *engine, LiaEntity entity)
{
  g_return_val_if_fail ((guint) entity < LIA_ENTITY_N, NULL);
  return engine->folders[entity];
}

gboolean
lia_engine_is_ready (LiaEngine *engine)
{
  gboolean started;

  g_mutex_lock (&engine->lock);
  started = engine->started;
  g_mutex_unlock (&engine->lock);
  return started;
}

char *
lia_engine_dup_subscription (LiaEngine *engine)
{
  char *sub;

  g_mutex_lock (&engine->lock);
  sub = g_strdup (engine->subscription);
  g_mutex_unlock (&engine->lock);
  return sub;
}

guint
lia_engine_get_min_interval_s (LiaEngine *engine)
{
  guint s;

  g_mutex_lock (&engine->lock);
  s = engine->min_interval_s;
  g_mutex_unlock (&engine->lock);
  return s;
}

gboolean
lia_engine_has_filter (LiaEngine *engine, LiaEntity entity)
{
  gboolean has;

  g_mutex_lock (&engine->lock);
  has = !engine->started || (engine->filter_mask & (1u << entity)) != 0;
  g_mutex_unlock (&engine->lock);
  return has;
}

const LiaHostLink *
lia_engine_get_host_link (LiaEngine *engine)
{
  return &engine->link;
}

LiaCrm *
lia_engine_get_crm (LiaEngine *engine)
{
  return engine->crm;
}

void
lia_engine_get_client (LiaEngine *engine, LiaClientRole *out_role, char **out_primary_name)
{
  g_mutex_lock (&engine->lock);
  if (out_role != NULL)
    *out_role = engine->role;
  if (out_primary_name != NULL)
    *out_primary_name = g_strdup (engine->primary_name);
  g_mutex_unlock (&engine->lock);
}

void
lia_engine_get_status (LiaEngine *engine, LiaSyncStatus *out_status)
{
  g_return_if_fail (engine != NULL && out_status != NULL);
  g_mutex_lock (&engine->lock);
  status_fill (engine, out_status);
  g_mutex_unlock (&engine->lock);
}

/* ---- the cycle, on the worker ---- */

typedef struct
{
  LiaEngine *engine;         /* borrowed */
  LiaCache *cache;           /* borrowed */
  const char *sub;           /* borrowed */
  const char *user_id;       /* borrowed */
  GCancellable *cancellable; /* borrowed */
  gint64 started_at;
  gboolean update_company; /* R-SET-COMPANY, read once per cycle */
  guint uploaded;
  guint downloaded;
  /* Per entity, host items by CRM id, read from the contents table the
   * first time a CRM record has no mapping (R-DUP-NONE). */
  GHashTable *by_crm_id[LIA_ENTITY_N]; /* owned: crm id -> LiaHostRow */
} Cycle;

static const LiaFieldPolicy *
policy_for (LiaEngine *self, LiaEntity entity)
{
  /* Only the worker creates policies; one cycle runs at a time. */
  if (self->policy[entity] == NULL)
    self->policy[entity] = lia_field_policy_new (entity);
  return self->policy[entity];
}

/* Worker. The org's policy narrowed for one item by the entity rules of
 * SPEC section 7 (R-APPT-PAST, R-APPT-SERVICE, R-TASK-CLOSED,
 * R-CONTACT-COMPANY...): every merge and every new record goes through it,
 * so that no path can write what a rule holds back. @host and @crm_view are
 * the two sides as the merge sees them; either is NULL while it does not
 * exist yet (a create). */
static LiaFieldPolicy *
item_policy (Cycle *c, LiaEntity entity, const LiaItem *host, const LiaItem *crm_view)
{
  return lia_entity_rules_dup_item_policy (policy_for (c->engine, entity), host, crm_view, c->update_company,
                                           lia_clock_now (c->engine->clock));
}

/* Worker. The org's field directions ("direction.ENTITY.FIELD") and this
 * user's field-level security ("access.ENTITY.FIELD" = "read" | "none")
 * come with the settings; they replace the registry defaults
 * (R-MERGE-DIRECTION, R-MERGE-FLS). A setting the registry refuses (a
 * fixed field, an unknown name) is ignored: the org checks them too, and
 * a newer org must not stop an older client. */
static void
load_policies (LiaEngine *self, GHashTable *settings)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_clear_pointer (&self->policy[e], lia_field_policy_free);
      self->policy[e] = lia_field_policy_new ((LiaEntity) e);
    }
  if (settings == NULL)
    return;
  g_hash_table_iter_init (&iter, settings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gboolean is_direction = g_str_has_prefix (key, "direction.");
      gboolean is_access = g_str_has_prefix (key, "access.");
      g_auto (GStrv) parts = NULL;
      LiaEntity entity;
      LiaDirection direction;

      if (!is_direction && !is_access)
        continue;
      parts = g_strsplit (key, ".", 3);
      if (g_strv_length (parts) != 3 || !lia_entity_from_string (parts[1], &entity))
        continue;
      if (is_direction && lia_direction_from_string (value, &direction))
        lia_field_policy_set_direction (self->policy[entity], parts[2], direction, NULL);
      else if (is_access)
        lia_field_policy_set_access (self->policy[entity], parts[2], g_str_equal (value, "read"), FALSE,
                                     NULL);
    }
}

static gboolean
is_network_error (const GError *error)
{
  return g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
}

static void
progress (Cycle *c)
{
  LiaEngine *self = c->engine;

  g_mutex_lock (&self->lock);
  self->progress++;
  g_mutex_unlock (&self->lock);
}

static void
journal (Cycle *c, const char *kind, const char *item_id, const char *crm_id, const char *message)
{
  g_autoptr (LiaCacheJournalEntry) entry = lia_cache_journal_entry_new (kind, message);

  entry->store = g_strdup (c->engine->store);
  entry->item_id = g_strdup (item_id);
  entry->crm_id = g_strdup (crm_id);
  /* The journal is diagnostics: a failure to write it must not fail a sync. */
  lia_cache_append_journal (c->cache, entry, NULL, NULL);
}

static char *
encode (const LiaItem *item)
{
  g_autoptr (GError) error = NULL;
  char *xml = lia_original_encode (item, NULL, &error);

  if (xml == NULL)
    g_debug ("cannot encode an original: %s", error->message);
  return xml;
}

static LiaItem *
decode (const char *xml)
{
  g_autoptr (GError) error = NULL;
  LiaItem *item;

  if (xml == NULL)
    return NULL;
  item = lia_original_decode (xml, strlen (xml), &error);
  if (item == NULL)
    g_debug ("corrupt original, treated as missing (R-MERGE-ORIGINAL): %s", error->message);
  return item;
}

static void
link_props (LiaEngine *self, LiaHostProps *props, LiaLinkState state, const char *crm_id,
            const char *original)
{
  lia_host_props_set (props, LIA_HOST_PROP_LINK_STATE,
                      state == LIA_LINK_STATE_TRACKED  ? "2"
                      : state == LIA_LINK_STATE_MARKED ? "1"
                                                       : "0");
  lia_host_props_set (props, LIA_HOST_PROP_CRM_ID, crm_id);
  lia_host_props_set (props, LIA_HOST_PROP_CRM_ORG, crm_id != NULL ? self->org_name : NULL);
  lia_host_props_set (props, LIA_HOST_PROP_ORIGINAL, original);
}

static gboolean
store_original (Cycle *c, const char *item_id, const char *xml, gint64 host_modified, const LiaCrmRecord *rec,
                GError **error)
{
  g_autoptr (LiaCacheOriginal) orig = lia_cache_original_new (c->engine->store, item_id, xml);

  orig->host_modified_at = host_modified;
  orig->crm_version = lia_crm_record_get_version (rec);
  orig->crm_modified_at = lia_crm_record_get_modified_on (rec);
  orig->crm_owner = g_strdup (lia_crm_record_get_owner (rec));
  orig->crm_state = lia_crm_record_get_state (rec);
  return lia_cache_store_original (c->cache, orig, error);
}

static gboolean
record_facts_changed (const LiaCacheOriginal *row, const LiaCrmRecord *rec)
{
  return row == NULL || row->crm_state != (guint) lia_crm_record_get_state (rec)
         || g_strcmp0 (row->crm_owner, lia_crm_record_get_owner (rec)) != 0
         || row->crm_version != lia_crm_record_get_version (rec);
}

/* Merges one linked pair and applies the result on both sides in
 * R-MERGE-ORDER: CRM to host first (and its original), then host to CRM
 * (and the final original). @fallback_original is the item's own
 * `original` property, used when the cache has none (rebuilt cache). */
static gboolean
sync_pair (Cycle *c, const LiaHostItem *hi, const LiaCrmRecord *rec_in, gboolean rec_full,
           const char *fallback_original, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEntity entity = lia_item_get_entity (hi->item);
  g_autoptr (LiaCrmRecord) rec = lia_crm_record_copy (rec_in);
  /* The host's side as this pair's writes left it: a merge repeated after
   * a conflict must not see our own host writes as the user's edits. */
  g_autoptr (LiaItem) host_cur = lia_item_copy (hi->item);
  gboolean retried = FALSE;

  for (;;)
    {
      g_autoptr (LiaCacheOriginal) row = lia_cache_load_original (c->cache, self->store, hi->item_id, NULL);
      const char *old_xml = row != NULL ? row->xml : fallback_original;
      g_autoptr (LiaItem) original = decode (old_xml);
      g_autoptr (LiaMergeResult) result = NULL;
      g_autoptr (LiaItem) host_now = lia_item_copy (host_cur);
      g_autoptr (LiaCrmRecord) stored = NULL;
      g_autoptr (GError) local = NULL;
      g_autofree char *final_xml = NULL;
      /* The merge sees CRM with the fields the client derives from it
       * (R-TASK-REMINDER), and a policy the entity rules narrowed for this
       * item as both sides are now. */
      g_autoptr (LiaItem) crm_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (rec));
      g_autoptr (LiaFieldPolicy) policy = item_policy (c, entity, host_cur, crm_view);
      const LiaFieldWrite *writes;
      guint n_host = 0;
      guint n_crm = 0;

      result = lia_merge_items (policy, original, host_cur, crm_view, hi->modified_at,
                                lia_crm_record_get_modified_on (rec), error);
      if (result == NULL)
        return FALSE;
      lia_merge_result_get_crm_writes (result, &n_crm);
      if (n_crm > 0 && !rec_full)
        {
          /* A record from GetSyncData lacks the fields whose direction does
           * not go to the host, and an update replaces every field the user
           * may change: sending it would clear them in CRM. Merge again, before
           * writing anything, on the record as the user may read it. */
          g_autoptr (LiaCrmRecord) full =
              lia_crm_retrieve_sync (self->crm, entity, lia_crm_record_get_id (rec), c->cancellable, error);

          if (full == NULL)
            return FALSE;
          g_clear_pointer (&rec, lia_crm_record_free);
          rec = g_steal_pointer (&full);
          rec_full = TRUE;
          continue;
        }
      writes = lia_merge_result_get_host_writes (result, &n_host);
      if (n_host > 0)
        {
          g_autofree char *mid_xml = encode (lia_merge_result_get_original_after_host (result));
          g_auto (LiaHostProps) props = { 0 };

          if (!lia_merge_apply_writes (host_now, writes, n_host, error))
            return FALSE;
          lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, mid_xml);
          if (!lia_host_call_write_item (&self->link, self->store, hi->item_id, host_now, &props,
                                         c->cancellable, error))
            return FALSE;
          lia_item_free (host_cur);
          host_cur = lia_item_copy (host_now);
          if (mid_xml != NULL && !store_original (c, hi->item_id, mid_xml, hi->modified_at, rec, error))
            return FALSE;
        }
      writes = lia_merge_result_get_crm_writes (result, &n_crm);
      if (n_crm > 0)
        {
          g_autoptr (LiaCrmRecord) update = lia_crm_record_copy (rec);

          if (!lia_merge_apply_writes (lia_crm_record_get_item (update), writes, n_crm, error))
            return FALSE;
          stored = lia_crm_update_sync (self->crm, update, c->cancellable, &local);
          if (stored == NULL)
            {
              /* Someone changed the record since we read it: read it again
               * and merge again, once (R-MERGE-NEWER-WINS on fresh data). */
              if (g_error_matches (local, LIA_ERROR, LIA_ERROR_CONFLICT) && !retried)
                {
                  g_autoptr (LiaCrmRecord) fresh = lia_crm_retrieve_sync (
                      self->crm, entity, lia_crm_record_get_id (rec), c->cancellable, error);

                  if (fresh == NULL)
                    return FALSE;
                  g_clear_pointer (&rec, lia_crm_record_free);
                  rec = g_steal_pointer (&fresh);
                  rec_full = TRUE;
                  retried = TRUE;
                  continue;
                }
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
        }
      final_xml = encode (lia_merge_result_get_original (result));
      if (final_xml != NULL && g_strcmp0 (final_xml, old_xml) != 0)
        {
          g_auto (LiaHostProps) props = { 0 };

          lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, final_xml);
          if (!lia_host_call_write_item (&self->link, self->store, hi->item_id, NULL, &props, c->cancellable,
                                         error))
            return FALSE;
          if (!store_original (c, hi->item_id, final_xml, hi->modified_at, stored != NULL ? stored : rec,
                               error))
            return FALSE;
        }
      else if (final_xml != NULL && record_facts_changed (row, stored != NULL ? stored : rec))
        {
          /* A CRM change of state or owner alone changes no synchronized
           * field, but the deletion rules read the state and owner the
           * last sync saw once the record is gone (R-DEL-IN-TASK,
           * R-DEL-IN-CONTACT): remember them. */
          if (!store_original (c, hi->item_id, final_xml, hi->modified_at, stored != NULL ? stored : rec,
                               error))
            return FALSE;
        }
      if (n_host > 0 || n_crm > 0)
        journal (c, "merge", hi->item_id, lia_crm_record_get_id (rec),
                 n_host > 0 && n_crm > 0 ? "merged both ways"
                 : n_host > 0            ? "CRM changes applied to the host"
                                         : "host changes sent to CRM");
      return TRUE;
    }
}

/* ---- upload (R-DET-NOTIFY, R-IMM-*, STYLE 20: upload first) ---- */

static gboolean
upload_track (Cycle *c, const LiaCacheChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaItem) created = NULL;
  g_autoptr (LiaCrmRecord) record = NULL;
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCacheMapping) mapping = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *request_id = NULL;
  g_autofree char *xml = NULL;
  g_auto (LiaHostProps) props = { 0 };
  LiaEntity entity;

  hi = lia_host_call_read_item (&self->link, change->store, change->item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      /* Gone before it could be tracked: nothing to do. */
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  entity = lia_item_get_entity (hi->item);
  if (m != NULL && m->state == LIA_LINK_STATE_TRACKED)
    {
      g_autoptr (LiaCrmRecord) rec =
          lia_crm_retrieve_sync (self->crm, entity, m->crm_id, c->cancellable, error);

      return rec != NULL && sync_pair (c, hi, rec, TRUE, hi->props.original, error);
    }
  {
    /* R-APPT-PAST does not hold yet (no CRM side): tracking a past
     * appointment creates its record; the rules hold it afterwards. */
    g_autoptr (LiaFieldPolicy) policy = item_policy (c, entity, hi->item, NULL);

    created = lia_merge_dup_created (policy, hi->item, LIA_SIDE_CRM);
  }
  record = lia_crm_record_new_for_item (created);
  /* Deterministic: a create retried after a crash or a lost answer returns
   * the record of the first try instead of a duplicate (R-DUP-NONE). */
  request_id = g_strdup_printf ("%s/%s/%s", c->sub, change->store, change->item_id);
  made = lia_crm_create_sync (self->crm, record, request_id, c->cancellable, error);
  if (made == NULL)
    return FALSE;
  if (!lia_crm_track_sync (self->crm, c->sub, entity, lia_crm_record_get_id (made), TRUE, c->cancellable,
                           error))
    return FALSE;
  {
    g_autoptr (LiaItem) made_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (made));

    xml = encode (made_view);
  }
  link_props (self, &props, LIA_LINK_STATE_TRACKED, lia_crm_record_get_id (made), xml);
  if (!lia_host_call_write_item (&self->link, change->store, change->item_id, NULL, &props, c->cancellable,
                                 error))
    return FALSE;
  mapping =
      lia_cache_mapping_new (change->store, hi->folder, change->item_id, entity, lia_crm_record_get_id (made),
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
  if (!lia_cache_map (c->cache, mapping, error))
    return FALSE;
  if (xml != NULL && !store_original (c, change->item_id, xml, hi->modified_at, made, error))
    return FALSE;
  journal (c, "track", change->item_id, lia_crm_record_get_id (made), "tracked in CRM (R-MARK-TRACK)");
  return TRUE;
}

static gboolean
upload_update (Cycle *c, const LiaCacheChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) local = NULL;

  if (m == NULL)
    return TRUE; /* untracked since: nothing to send */
  if (m->state == LIA_LINK_STATE_MARKED)
    return upload_track (c, change, error);
  hi = lia_host_call_read_item (&self->link, change->store, change->item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE; /* a delete follows in the queue or reconciliation finds it */
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  rec = lia_crm_retrieve_sync (self->crm, m->entity, m->crm_id, c->cancellable, error);
  return rec != NULL && sync_pair (c, hi, rec, TRUE, hi->props.original, error);
}

/* R-MARK-REGARDING: links the item's CRM record to a regarding record
 * (tracking it first when it is not tracked yet), then shows the record's
 * name on the host: regarding property and field (contacts: Company), only
 * now that CRM has it (R-MARK-REGARDING-TEXT). */
static gboolean
upload_regarding (Cycle *c, const LiaCacheChange *change, GError **error)
{
  static const LiaEntity targets[] = { LIA_ENTITY_ACCOUNT, LIA_ENTITY_CONTACT, LIA_ENTITY_LEAD,
                                       LIA_ENTITY_OPPORTUNITY, LIA_ENTITY_INCIDENT };
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autoptr (LiaCrmRecord) target = NULL;
  g_autoptr (LiaValue) value = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaItem) host_item = NULL;
  g_autofree char *target_id = NULL;
  g_autofree char *name = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (GError) local = NULL;
  const char *payload;
  const char *newline;
  const char *field;
  gsize size = 0;

  m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  if (m == NULL || m->state != LIA_LINK_STATE_TRACKED)
    {
      g_clear_pointer (&m, lia_cache_mapping_free);
      if (!upload_track (c, change, error))
        return FALSE;
      m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
      if (m == NULL || m->crm_id == NULL)
        return TRUE; /* the item is gone: nothing to link */
    }
  payload = change->payload != NULL ? g_bytes_get_data (change->payload, &size) : NULL;
  newline = payload != NULL ? memchr (payload, '\n', size) : NULL;
  if (newline == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "a Set Regarding change names no record");
      return FALSE;
    }
  target_id = g_strndup (payload, (gsize) (newline - payload));
  /* The UI passes an id and a name; the record says which entity it is and
   * what its name is now. */
  for (guint i = 0; i < G_N_ELEMENTS (targets) && target == NULL; i++)
    {
      g_clear_error (&local);
      target = lia_crm_retrieve_sync (self->crm, targets[i], target_id, c->cancellable, &local);
      if (target == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  if (target == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "the regarding record \"%s\" does not exist",
                   target_id);
      return FALSE;
    }
  name = lia_crm_record_dup_name (target);
  value = lia_value_new_reference (lia_crm_record_get_entity (target), target_id, name);
  field = m->entity == LIA_ENTITY_CONTACT ? "company" : "regarding";
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr (LiaCrmRecord) rec =
          lia_crm_retrieve_sync (self->crm, m->entity, m->crm_id, c->cancellable, error);
      g_autoptr (LiaCrmRecord) stored = NULL;

      if (rec == NULL)
        return FALSE;
      if (!lia_item_set (lia_crm_record_get_item (rec), field, value, error))
        return FALSE;
      g_clear_error (&local);
      stored = lia_crm_update_sync (self->crm, rec, c->cancellable, &local);
      if (stored != NULL)
        break;
      if (attempt > 0 || !g_error_matches (local, LIA_ERROR, LIA_ERROR_CONFLICT))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  hi = lia_host_call_read_item (&self->link, change->store, change->item_id, c->cancellable, error);
  if (hi == NULL)
    return FALSE;
  host_item = lia_item_copy (hi->item);
  if (!lia_item_set (host_item, field, value, error))
    return FALSE;
  lia_host_props_set (&props, LIA_HOST_PROP_REGARDING, target_id);
  props.regarding_name = g_strdup (name);
  if (!lia_host_call_write_item (&self->link, change->store, change->item_id, host_item, &props,
                                 c->cancellable, error))
    return FALSE;
  journal (c, "regarding", change->item_id, m->crm_id, "regarding set (R-MARK-REGARDING)");
  return TRUE;
}

static LiaCrmState
crm_state_of (LiaRecordState state)
{
  switch (state)
    {
    case LIA_RECORD_STATE_SCHEDULED:
      return LIA_CRM_STATE_SCHEDULED;
    case LIA_RECORD_STATE_COMPLETED:
      return LIA_CRM_STATE_COMPLETED;
    case LIA_RECORD_STATE_CANCELED:
      return LIA_CRM_STATE_CANCELED;
    case LIA_RECORD_STATE_OPEN:
    case LIA_RECORD_STATE_N:
    default:
      return LIA_CRM_STATE_OPEN;
    }
}

static void
deletion_facts (Cycle *c, LiaDeletion *d, const LiaCrmRecord *rec)
{
  LiaValue *start = lia_item_get (lia_crm_record_get_item (rec), "start");

  d->crm_state = crm_state_of (lia_crm_record_get_state (rec));
  d->user_is_owner = g_strcmp0 (lia_crm_record_get_owner (rec), c->user_id) == 0;
  d->user_is_organizer = d->user_is_owner;
  if (start != NULL && lia_value_get_kind (start) == LIA_VALUE_DATETIME)
    {
      d->has_start = TRUE;
      d->start_us = lia_value_get_instant (start);
    }
}

/* Host deletes and untracks (SPEC section 6, outgoing). */
static gboolean
upload_remove (Cycle *c, const LiaCacheChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) local = NULL;
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;
  gboolean untrack = change->op == LIA_CHANGE_OP_UNTRACK;

  if (m == NULL)
    return TRUE;
  if (m->crm_id == NULL || m->state != LIA_LINK_STATE_TRACKED)
    return lia_cache_unmap (c->cache, change->store, change->item_id, error);
  d.entity = m->entity;
  d.event = untrack ? LIA_DELETION_HOST_UNTRACKED : LIA_DELETION_HOST_DELETED;
  /* The untrack payload says whether the user chose to delete the CRM copy. */
  d.also_delete_in_crm = untrack && change->payload != NULL && g_bytes_get_size (change->payload) > 0;
  d.tracked_by_hand = m->origin == LIA_LINK_ORIGIN_MANUAL;
  rec = lia_crm_retrieve_sync (self->crm, m->entity, m->crm_id, c->cancellable, &local);
  if (rec == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (rec != NULL)
    deletion_facts (c, &d, rec);
  lia_deletion_decide_now (&d, self->clock, &decision);
  if (rec != NULL && decision.action == LIA_DELETION_DELETE_OTHER_SIDE)
    {
      if (!lia_crm_delete_sync (self->crm, m->entity, m->crm_id, 0, c->cancellable, &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  else if (rec != NULL && untrack)
    {
      /* Kept in CRM: drop the manual mark so the filters decide again. */
      if (!lia_crm_track_sync (self->crm, c->sub, m->entity, m->crm_id, FALSE, c->cancellable, error))
        return FALSE;
    }
  /* R-DEL-OUT-REMEMBER: this client no longer holds the record. */
  if (!untrack || decision.action == LIA_DELETION_DELETE_OTHER_SIDE)
    {
      g_clear_error (&local);
      if (!lia_crm_forget_sync (self->crm, c->sub, m->entity, m->crm_id, c->cancellable, &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  if (untrack)
    {
      g_auto (LiaHostProps) props = { 0 };

      link_props (self, &props, LIA_LINK_STATE_NONE, NULL, NULL);
      g_clear_error (&local);
      if (!lia_host_call_write_item (&self->link, change->store, change->item_id, NULL, &props,
                                     c->cancellable, &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  journal (c, untrack ? "untrack" : "host-delete", change->item_id, m->crm_id, decision.reason);
  return lia_cache_unmap (c->cache, change->store, change->item_id, error);
}

static gboolean
upload (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaClientRole role;

  g_mutex_lock (&self->lock);
  role = self->role;
  g_mutex_unlock (&self->lock);
  for (;;)
    {
      g_autoptr (GPtrArray) batch =
          lia_cache_claim (c->cache, LIA_DIRECTION_TO_CRM, CLAIM_BATCH, CLAIM_LEASE_US, error);

      if (batch == NULL)
        return FALSE;
      if (batch->len == 0)
        return TRUE;
      for (guint i = 0; i < batch->len; i++)
        {
          const LiaCacheChange *change = g_ptr_array_index (batch, i);
          g_autoptr (GError) local = NULL;
          gboolean ok;

          if (g_cancellable_set_error_if_cancelled (c->cancellable, error))
            return FALSE;
          /* R-ROLE-SECONDARY-DEFER, R-ROLE-DELEGATE: only email travels
           * from a client that is not the primary. */
          if (role != LIA_CLIENT_PRIMARY && change->entity != LIA_ENTITY_EMAIL)
            ok = TRUE;
          else if (change->op == LIA_CHANGE_OP_REGARDING
                   || (change->op == LIA_CHANGE_OP_TRACK && change->payload != NULL))
            ok = upload_regarding (c, change, &local);
          else if (change->op == LIA_CHANGE_OP_TRACK || change->op == LIA_CHANGE_OP_CREATE)
            ok = upload_track (c, change, &local);
          else if (change->op == LIA_CHANGE_OP_DELETE || change->op == LIA_CHANGE_OP_UNTRACK)
            ok = upload_remove (c, change, &local);
          else
            ok = upload_update (c, change, &local);
          if (ok)
            {
              if (!lia_cache_complete (c->cache, &change->id, 1, error))
                return FALSE;
              c->uploaded++;
              progress (c);
              continue;
            }
          /* R-IMM-FALLBACK: kept, retried with backoff, never dropped. */
          if (!lia_cache_fail (c->cache, change->id, local->message, NULL, error))
            return FALSE;
          if (is_network_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_mutex_lock (&self->lock);
          g_free (self->last_error);
          self->last_error = g_strdup (local->message);
          g_mutex_unlock (&self->lock);
        }
    }
}

/* ---- download (R-DET-SERVER, R-MARK-FILTER) ---- */

static const LiaHostRow *
find_by_crm_id (Cycle *c, LiaEntity entity, const char *crm_id, GError **error)
{
  LiaEngine *self = c->engine;

  if (c->by_crm_id[entity] == NULL)
    {
      GHashTable *index =
          g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) lia_host_row_free);

      c->by_crm_id[entity] = index;
      for (guint offset = 0;; offset += SCAN_PAGE)
        {
          g_autoptr (GPtrArray) rows = lia_host_call_read_contents (
              &self->link, self->store, self->folders[entity], offset, SCAN_PAGE, c->cancellable, error);

          if (rows == NULL)
            {
              g_clear_pointer (&c->by_crm_id[entity], g_hash_table_unref);
              return NULL;
            }
          for (guint i = 0; i < rows->len; i++)
            {
              const LiaHostRow *row = g_ptr_array_index (rows, i);

              if (row->crm_id != NULL && !g_hash_table_contains (index, row->crm_id))
                {
                  LiaHostRow *copy =
                      lia_host_row_new (row->item_id, row->modified_at, row->link_state, row->crm_id);

                  g_hash_table_insert (index, copy->crm_id, copy);
                }
            }
          if (rows->len < SCAN_PAGE)
            break;
        }
    }
  return g_hash_table_lookup (c->by_crm_id[entity], crm_id);
}

static gboolean
download_upsert (Cycle *c, const LiaSyncChange *change, LiaCacheBatch *page_batch, GError **error)
{
  LiaEngine *self = c->engine;
  const char *folder = self->folders[change->entity];
  g_autoptr (LiaCacheMapping) m =
      lia_cache_lookup_crm (c->cache, self->store, change->entity, change->id, NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GError) local = NULL;
  const LiaHostRow *row;
  g_autoptr (LiaItem) item = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *item_id = NULL;
  g_autoptr (LiaCacheMapping) mapping = NULL;
  g_auto (LiaHostProps) props = { 0 };

  if (m != NULL)
    {
      hi = lia_host_call_read_item (&self->link, self->store, m->item_id, c->cancellable, &local);
      if (hi == NULL)
        {
          if (!g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          /* Deleted on the host meanwhile: reconciliation queues the
           * delete; do not recreate it. */
          return TRUE;
        }
      return sync_pair (c, hi, change->record, FALSE, hi->props.original, error);
    }
  /* R-DUP-NONE: an item that carries this CRM id is relinked, never
   * duplicated, whatever happened to the cache. */
  row = find_by_crm_id (c, change->entity, change->id, error);
  if (row == NULL && c->by_crm_id[change->entity] == NULL)
    return FALSE;
  if (row != NULL)
    {
      hi = lia_host_call_read_item (&self->link, self->store, row->item_id, c->cancellable, error);
      if (hi == NULL)
        return FALSE;
      mapping = lia_cache_mapping_new (self->store, folder, hi->item_id, change->entity, change->id,
                                       LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
      if (!lia_cache_map (c->cache, mapping, error))
        return FALSE;
      journal (c, "relink", hi->item_id, change->id, "relinked from the item's CRM id (R-DUP-NONE)");
      return sync_pair (c, hi, change->record, FALSE, hi->props.original, error);
    }
  {
    g_autoptr (LiaItem) crm_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (change->record));
    g_autoptr (LiaFieldPolicy) policy = item_policy (c, change->entity, NULL, crm_view);

    item = lia_merge_dup_created (policy, crm_view, LIA_SIDE_HOST);
    /* The original is in the merge's terms (the CRM view), or the next
     * merge would see the derived fields as CRM changes. */
    xml = encode (crm_view);
  }
  link_props (self, &props, LIA_LINK_STATE_TRACKED, change->id, xml);
  item_id = lia_host_call_create_item (&self->link, self->store, folder, item, &props, c->cancellable, error);
  if (item_id == NULL)
    return FALSE;
  /* The new mapping and original are committed with the rest of the page
   * and its anchor (STYLE 20). A crash before that leaves an item carrying
   * its CRM id; the page comes again and relinks it (R-DUP-NONE). */
  mapping = lia_cache_mapping_new (self->store, folder, item_id, change->entity, change->id,
                                   LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
  lia_cache_batch_map (page_batch, mapping);
  if (xml != NULL)
    {
      g_autoptr (LiaCacheOriginal) orig = lia_cache_original_new (self->store, item_id, xml);

      orig->host_modified_at = lia_clock_now (self->clock);
      orig->crm_version = lia_crm_record_get_version (change->record);
      orig->crm_modified_at = lia_crm_record_get_modified_on (change->record);
      orig->crm_owner = g_strdup (lia_crm_record_get_owner (change->record));
      orig->crm_state = lia_crm_record_get_state (change->record);
      lia_cache_batch_store_original (page_batch, orig);
    }
  return TRUE;
}

/* CRM deletes and records that left the filters (SPEC section 6, incoming). */
static gboolean
download_delete (Cycle *c, const LiaSyncChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m =
      lia_cache_lookup_crm (c->cache, self->store, change->entity, change->id, NULL);
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) local = NULL;
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;

  if (m == NULL)
    return TRUE;
  d.entity = change->entity;
  d.tracked_by_hand = m->origin == LIA_LINK_ORIGIN_MANUAL;
  /* Still readable means it left the filters; gone means deleted. */
  rec = lia_crm_retrieve_sync (self->crm, change->entity, change->id, c->cancellable, &local);
  if (rec == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND)
      && !g_error_matches (local, LIA_ERROR, LIA_ERROR_FORBIDDEN))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  d.event = rec != NULL ? LIA_DELETION_CRM_LEFT_FILTER : LIA_DELETION_CRM_DELETED;
  if (rec != NULL)
    deletion_facts (c, &d, rec);
  else
    {
      /* The record is gone: its owner, state and start come from what the
       * last sync stored beside the original. An unknown owner (a cache
       * older than schema 2) is not the user. */
      g_autoptr (LiaCacheOriginal) row = lia_cache_load_original (c->cache, self->store, m->item_id, NULL);
      g_autoptr (LiaItem) orig = decode (row != NULL ? row->xml : NULL);
      LiaValue *start = orig != NULL ? lia_item_get (orig, "start") : NULL;

      d.crm_state = row != NULL && row->crm_state < LIA_RECORD_STATE_N
                        ? crm_state_of ((LiaRecordState) row->crm_state)
                        : LIA_CRM_STATE_OPEN;
      d.user_is_owner = row != NULL && row->crm_owner != NULL && g_strcmp0 (row->crm_owner, c->user_id) == 0;
      d.user_is_organizer = d.user_is_owner;
      if (start != NULL && lia_value_get_kind (start) == LIA_VALUE_DATETIME)
        {
          d.has_start = TRUE;
          d.start_us = lia_value_get_instant (start);
        }
    }
  lia_deletion_decide_now (&d, self->clock, &decision);
  g_clear_error (&local);
  if (decision.action == LIA_DELETION_DELETE_OTHER_SIDE)
    {
      if (!lia_host_call_delete_item (&self->link, self->store, m->item_id, c->cancellable, &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  else if (decision.action == LIA_DELETION_UNLINK)
    {
      g_auto (LiaHostProps) props = { 0 };

      link_props (self, &props, LIA_LINK_STATE_NONE, NULL, NULL);
      if (!lia_host_call_write_item (&self->link, self->store, m->item_id, NULL, &props, c->cancellable,
                                     &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  journal (c, "crm-delete", m->item_id, change->id, decision.reason);
  if (decision.action == LIA_DELETION_KEEP)
    return TRUE;
  return lia_cache_unmap (c->cache, self->store, m->item_id, error);
}

static gboolean
download (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaSyncSummary) summary = NULL;
  guint mask = 0;

  /* Email is asked for too, though it travels host to CRM only
   * (R-MAIL-TRACK): the subscription holds the emails this client tracked,
   * and their CRM deletes must reach it to unlink the host message
   * (R-DEL-IN-EMAIL). A tracked message may sit in any folder, so email
   * does not depend on a default folder. */
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    if (self->folders[e] != NULL || e == LIA_ENTITY_EMAIL)
      mask |= 1u << e;
  summary = lia_crm_prepare_sync_sync (self->crm, c->sub, mask, c->cancellable, error);
  if (summary == NULL)
    return FALSE;
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *cursor = NULL;
      guint total = 0;

      if (!(mask & (1u << e)))
        continue;
      for (guint op = 0; op < LIA_SYNC_OP_N; op++)
        total += lia_sync_summary_get (summary, (LiaEntity) e, (LiaSyncOp) op);
      if (total == 0)
        continue;
      for (;;)
        {
          g_autoptr (LiaSyncPage) page = lia_crm_get_sync_data_sync (self->crm, c->sub, (LiaEntity) e, cursor,
                                                                     PAGE_SIZE, c->cancellable, error);
          g_autoptr (GPtrArray) ids = NULL;
          g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
          g_autofree char *key = NULL;
          gint64 anchor = 0;
          guint n;

          if (page == NULL)
            return FALSE;
          n = lia_sync_page_get_n_changes (page);
          ids = g_ptr_array_new_full (n + 1, NULL);
          for (guint i = 0; i < n; i++)
            {
              const LiaSyncChange *change = lia_sync_page_get_change (page, i);
              g_autoptr (GError) local = NULL;
              gboolean ok;

              if (g_cancellable_set_error_if_cancelled (c->cancellable, error))
                return FALSE;
              /* R-MAIL-TRACK: a CRM email is never created or rewritten on
               * the host. Its creates and edits are acknowledged unapplied,
               * or PrepareSync would return them at every cycle; the cached
               * original is left alone, so a later host-side sync of the
               * message still sees what changed in CRM. */
              if (change->entity == LIA_ENTITY_EMAIL && change->op != LIA_SYNC_OP_DELETE)
                {
                  g_ptr_array_add (ids, change->id);
                  continue;
                }
              ok = change->op == LIA_SYNC_OP_DELETE ? download_delete (c, change, &local)
                                                    : download_upsert (c, change, batch, &local);
              if (!ok)
                {
                  /* Not acknowledged: PrepareSync returns it next cycle. */
                  if (is_network_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                      || g_error_matches (local, LIA_ERROR, LIA_ERROR_STORE))
                    {
                      g_propagate_error (error, g_steal_pointer (&local));
                      return FALSE;
                    }
                  journal (c, "error", NULL, change->id, local->message);
                  continue;
                }
              anchor = MAX (anchor, change->version);
              g_ptr_array_add (ids, change->id);
              c->downloaded++;
              progress (c);
            }
          g_ptr_array_add (ids, NULL);
          /* The anchor is stored only after the page's items are applied
           * (STYLE 20), then acknowledged; a crash between the two replays
           * the page, which applies idempotently. */
          key = g_strdup_printf ("anchor:%s", lia_entity_to_string ((LiaEntity) e));
          if (anchor > 0)
            {
              g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, anchor);

              lia_cache_batch_set_watermark (batch, key, value);
            }
          if (lia_cache_batch_get_size (batch) > 0 && !lia_cache_apply (c->cache, batch, error))
            return FALSE;
          if (ids->len > 1
              && !lia_crm_post_sync_sync (self->crm, c->sub, (LiaEntity) e, (const char *const *) ids->pdata,
                                          c->cancellable, error))
            return FALSE;
          if (!lia_sync_page_get_more (page) || lia_sync_page_get_cursor (page) == NULL)
            break;
          g_free (cursor);
          cursor = g_strdup (lia_sync_page_get_cursor (page));
        }
    }
  return TRUE;
}

/* ---- start-up and the cycle ---- */

/* R-ROLE-ONE-PRIMARY: the server says which client of the user is primary,
 * and the user may designate another at any time (on any client), so the
 * role is read again at every cycle, not only at start-up. */
static gboolean
refresh_role (LiaEngine *self, const char *subscription, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) subs = lia_crm_list_subscriptions_sync (self->crm, cancellable, error);
  LiaClientInfo info = { 0 };
  const char *primary_name = NULL;
  gboolean primary = FALSE;
  LiaClientRole role;

  if (subs == NULL)
    return FALSE;
  for (guint i = 0; i < subs->len; i++)
    {
      const LiaCrmSubscription *s = g_ptr_array_index (subs, i);

      if (s->primary)
        primary_name = s->client;
      if (s->primary && g_strcmp0 (s->id, subscription) == 0)
        primary = TRUE;
    }
  info.role = self->delegate ? LIA_CLIENT_DELEGATE : primary ? LIA_CLIENT_PRIMARY : LIA_CLIENT_SECONDARY;
  info.roaming = self->roaming;
  info.delegate_configured = TRUE;
  info.primary_name = primary_name;
  role = lia_client_role_effective (&info);
  g_mutex_lock (&self->lock);
  if (self->role != role)
    g_debug ("engine: role %s -> %s", lia_client_role_to_string (self->role),
             lia_client_role_to_string (role));
  self->role = role;
  g_free (self->primary_name);
  self->primary_name = g_strdup (primary_name);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
start (LiaEngine *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaCrmUser) user = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  LiaCache *cache;

  g_mutex_lock (&self->lock);
  cache = self->cache;
  g_mutex_unlock (&self->lock);
  if (cache == NULL)
    {
      cache = lia_cache_open (self->cache_path, self->clock, NULL, error);
      if (cache == NULL)
        return FALSE;
      /* This engine is the one syncer of its cache and nothing of it has
       * claimed yet: a claim in the file is a killed predecessor's, and its
       * changes must go now, not when its lease runs out
       * (R-DET-QUEUE-DURABLE). */
      if (!lia_cache_release_claims (cache, error))
        {
          lia_cache_close (cache);
          return FALSE;
        }
      g_mutex_lock (&self->lock);
      self->cache = cache;
      g_mutex_unlock (&self->lock);
    }
  user = lia_crm_whoami_sync (self->crm, cancellable, error);
  if (user == NULL)
    return FALSE;
  sub = lia_crm_subscribe_sync (self->crm, self->client_name, cancellable, error);
  if (sub == NULL)
    return FALSE;
  if (!refresh_role (self, sub->id, cancellable, error))
    return FALSE;
  g_mutex_lock (&self->lock);
  g_free (self->subscription);
  self->subscription = g_strdup (sub->id);
  g_free (self->user_id);
  self->user_id = g_strdup (user->id);
  self->started = TRUE;
  g_mutex_unlock (&self->lock);
  {
    g_autoptr (GHashTable) settings = lia_crm_get_settings_sync (self->crm, cancellable, NULL);
    g_autoptr (GPtrArray) filters = lia_crm_list_filters_sync (self->crm, cancellable, NULL);

    load_policies (self, settings);
    const char *min = settings != NULL ? g_hash_table_lookup (settings, "sync-interval-min") : NULL;
    guint64 minutes = 0;
    guint mask = 0;

    if (min != NULL)
      g_ascii_string_to_unsigned (min, 10, 0, 1440, &minutes, NULL);
    for (guint i = 0; filters != NULL && i < filters->len; i++)
      {
        const LiaCrmFilter *f = g_ptr_array_index (filters, i);

        if (f->enabled)
          mask |= 1u << f->entity;
      }
    g_mutex_lock (&self->lock);
    self->min_interval_s = (guint) minutes * 60;
    self->filter_mask = filters != NULL ? mask : G_MAXUINT;
    g_mutex_unlock (&self->lock);
  }
  lia_cache_set_setting (cache, "subscription", sub->id, NULL);
  g_debug ("engine: started as %s of \"%s\"", lia_client_role_to_string (self->role), user->name);
  return TRUE;
}

static gboolean
scan (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) changes = lia_cache_list_changes (c->cache, LIA_CACHE_CHANGES_ALL, 0, error);
  gboolean first;
  gboolean promote;

  if (changes == NULL)
    return FALSE;
  for (guint i = 0; i < changes->len; i++)
    {
      const LiaCacheChange *change = g_ptr_array_index (changes, i);

      if (change->direction == LIA_DIRECTION_TO_CRM && change->item_id != NULL)
        g_hash_table_add (queued, g_strdup (change->item_id));
    }
  g_mutex_lock (&self->lock);
  first = !self->scanned_deletes;
  promote = self->role == LIA_CLIENT_PRIMARY;
  g_mutex_unlock (&self->lock);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *key = NULL;
      g_autofree char *mark = NULL;
      gint64 watermark = 0;
      LiaScanStats stats = { 0 };
      gboolean seen = FALSE;

      if (self->folders[e] == NULL || e == LIA_ENTITY_EMAIL)
        continue;
      /* Several entities share a folder (appointments; task-like
       * activities): scan each folder once, as its first entity. */
      for (guint p = 0; p < e; p++)
        if (self->folders[p] != NULL && g_str_equal (self->folders[p], self->folders[e]))
          seen = TRUE;
      if (seen)
        continue;
      key = g_strdup_printf ("folder:%s/%s", self->store, self->folders[e]);
      mark = lia_cache_dup_watermark (c->cache, key, NULL);
      if (mark != NULL)
        g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &watermark, NULL);
      if (!lia_scanner_scan_folder (&self->link, c->cache, self->store, self->folders[e], (LiaEntity) e,
                                    watermark, promote, queued, &stats, c->cancellable, error))
        return FALSE;
      /* R-DET-DELETES: deletions made while we were not running. */
      if (first)
        {
          guint n_deleted = 0;

          if (!lia_scanner_reconcile_deletes (&self->link, c->cache, self->store, self->folders[e],
                                              &n_deleted, c->cancellable, error))
            return FALSE;
        }
    }
  g_mutex_lock (&self->lock);
  self->scanned_deletes = TRUE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
set_scan_watermarks (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, c->started_at);

  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *key = NULL;

      if (self->folders[e] == NULL || e == LIA_ENTITY_EMAIL)
        continue;
      key = g_strdup_printf ("folder:%s/%s", self->store, self->folders[e]);
      if (!lia_cache_set_watermark (c->cache, key, value, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
cycle_run (LiaEngine *self, GCancellable *cancellable, GError **error)
{
  Cycle c = { 0 };
  g_autoptr (GError) local = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *user_id = NULL;
  gboolean ok = FALSE;
  LiaClientRole role;

  if (get_state (self) == LIA_SYNC_STATE_OFFLINE)
    set_state (self, LIA_SYNC_STATE_SCANNING);
  if (!lia_engine_is_ready (self))
    {
      if (!start (self, cancellable, error))
        return FALSE;
    }
  else
    {
      /* In SCANNING before the first network call, so that going offline
       * here is a transition the state machine allows. */
      set_state (self, LIA_SYNC_STATE_SCANNING);
      g_mutex_lock (&self->lock);
      sub = g_strdup (self->subscription);
      g_mutex_unlock (&self->lock);
      /* Unreachable: keep the last known role and go on, so that the
       * queued changes are tried and their errors recorded per item
       * (R-OFF-STATUS, R-IMM-FALLBACK). */
      if (!refresh_role (self, sub, cancellable, &local) && !is_network_error (local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_clear_error (&local);
      g_clear_pointer (&sub, g_free);
    }
  g_mutex_lock (&self->lock);
  sub = g_strdup (self->subscription);
  user_id = g_strdup (self->user_id);
  role = self->role;
  self->progress = 0;
  g_mutex_unlock (&self->lock);
  c.engine = self;
  c.cache = lia_engine_get_cache (self);
  c.sub = sub;
  c.user_id = user_id;
  c.cancellable = cancellable;
  /* The next scan's watermark, a little before this cycle started: host
   * clocks are coarse (vCard REV and iCalendar LAST-MODIFIED carry whole
   * seconds), so an edit made after this start but in the same second
   * carries an earlier time, and the next scan must still reach it.
   * Rescanning those seconds is harmless: the scanner queues only items
   * that differ from their original. */
  c.started_at = lia_clock_now (self->clock) - WATERMARK_SLACK_US;
  {
    g_autofree char *company = lia_cache_dup_setting (c.cache, LIA_ENGINE_SETTING_UPDATE_COMPANY, NULL);

    /* R-SET-COMPANY defaults to on; only an explicit "off" turns it off. */
    c.update_company = g_strcmp0 (company, "off") != 0;
  }

  set_state (self, LIA_SYNC_STATE_SCANNING);
  /* R-DET-SCAN-STARTUP: the first cycle after load is the start-up scan. */
  if (role != LIA_CLIENT_DELEGATE && !scan (&c, error))
    goto out;
  set_state (self, LIA_SYNC_STATE_UPLOADING);
  if (!upload (&c, error))
    goto out;
  set_state (self, LIA_SYNC_STATE_DOWNLOADING);
  /* R-ROLE-SECONDARY-DEFER: only the primary brings CRM changes to the
   * shared mailbox; a secondary sees them through the mailbox. */
  if (role == LIA_CLIENT_PRIMARY && !download (&c, error))
    goto out;
  if (role != LIA_CLIENT_DELEGATE && !set_scan_watermarks (&c, error))
    goto out;
  {
    g_autofree char *msg = g_strdup_printf ("cycle: %u sent, %u received", c.uploaded, c.downloaded);

    journal (&c, "cycle", NULL, NULL, msg);
  }
  ok = TRUE;
out:
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    g_clear_pointer (&c.by_crm_id[e], g_hash_table_unref);
  return ok;
}

static void
cycle_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LiaEngine *self = task_data;
  GError *error = NULL;

  if (cycle_run (self, self->cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void start_cycle (LiaEngine *self);

static void
cycle_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEngine *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) waiters = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (res), &error);
  LiaSyncState next;

  if (ok)
    next = LIA_SYNC_STATE_IDLE;
  else if (is_network_error (error))
    next = LIA_SYNC_STATE_OFFLINE;
  else if (!lia_engine_is_ready (self))
    next = get_state (self) == LIA_SYNC_STATE_STARTING ? LIA_SYNC_STATE_IDLE : get_state (self);
  else
    next = LIA_SYNC_STATE_IDLE;
  g_mutex_lock (&self->lock);
  self->running = FALSE;
  if (ok)
    {
      self->cycles++;
      self->online = TRUE;
      self->last_sync_at = lia_clock_now (self->clock);
    }
  else
    {
      self->online = !is_network_error (error);
      g_free (self->last_error);
      self->last_error = g_strdup (error->message);
    }
  waiters = g_steal_pointer (&self->waiters);
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_unlock (&self->lock);
  if (get_state (self) != LIA_SYNC_STATE_STOPPED)
    {
      if (get_state (self) == LIA_SYNC_STATE_STARTING && next == LIA_SYNC_STATE_IDLE)
        next = LIA_SYNC_STATE_IDLE;
      set_state (self, next);
    }
  if (!ok)
    g_debug ("engine: cycle failed: %s", error->message);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *waiter = g_ptr_array_index (waiters, i);

      if (ok)
        g_task_return_boolean (waiter, TRUE);
      else
        g_task_return_error (waiter, g_error_copy (error));
    }
  g_mutex_lock (&self->lock);
  g_mutex_unlock (&self->lock);
  lia_engine_unref (self);
}

/* Main context. Must not hold the lock. */
static void
start_cycle (LiaEngine *self)
{
  g_autoptr (GTask) task = NULL;

  g_mutex_lock (&self->lock);
  if (self->running || self->stopped)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->running = TRUE;
  g_mutex_unlock (&self->lock);
  task = g_task_new (NULL, NULL, cycle_done, lia_engine_ref (self));
  g_task_set_source_tag (task, start_cycle);
  g_task_set_name (task, "[liaison] sync cycle");
  g_task_set_task_data (task, lia_engine_ref (self), (GDestroyNotify) lia_engine_unref);
  g_task_run_in_thread (task, cycle_thread);
}

gboolean
lia_engine_hold (LiaEngine *engine, GError **error)
{
  gboolean busy;

  g_mutex_lock (&engine->lock);
  busy = engine->running || engine->stopped;
  if (!busy)
    engine->running = TRUE;
  g_mutex_unlock (&engine->lock);
  if (busy)
    g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT, "a synchronization is running; try again after it");
  return !busy;
}

static gboolean
release_idle (gpointer data)
{
  LiaEngine *self = data;
  gboolean waiting;

  g_mutex_lock (&self->lock);
  waiting = self->waiters->len > 0;
  g_mutex_unlock (&self->lock);
  if (waiting)
    start_cycle (self);
  return G_SOURCE_REMOVE;
}

void
lia_engine_release (LiaEngine *engine)
{
  g_autoptr (GSource) source = g_idle_source_new ();

  g_mutex_lock (&engine->lock);
  engine->running = FALSE;
  g_mutex_unlock (&engine->lock);
  /* Requests that came while held wait as joiners: start their cycle on
   * the host's context, where cycles start. */
  g_source_set_callback (source, release_idle, lia_engine_ref (engine), (GDestroyNotify) lia_engine_unref);
  g_source_set_static_name (source, "[liaison] release");
  g_source_attach (source, engine->link.context);
}

void
lia_engine_sync_async (LiaEngine *engine, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  gboolean stopped;

  g_return_if_fail (engine != NULL);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, lia_engine_sync_async);
  g_task_set_name (task, "[liaison] sync now");
  g_mutex_lock (&engine->lock);
  stopped = engine->stopped;
  if (!stopped)
    g_ptr_array_add (engine->waiters, g_object_ref (task));
  g_mutex_unlock (&engine->lock);
  if (stopped)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the engine is stopped");
      return;
    }
  /* One cycle in flight: a request while one runs joins it. */
  start_cycle (engine);
}

gboolean
lia_engine_sync_finish (LiaEngine *engine, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lia_engine_request_sync (LiaEngine *engine)
{
  g_return_if_fail (engine != NULL);
  start_cycle (engine);
}
