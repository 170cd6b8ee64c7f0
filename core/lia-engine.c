/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* The engine's lifecycle and the cycle's orchestration: start-up, one
 * cycle in flight, joiners, hold/release. Phases live in lia-engine-*.c. */

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
  self->link.gate = lia_host_gate_new ();
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
  self->auto_sync = -1;
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
  lia_host_gate_unref (engine->link.gate);
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
  g_clear_pointer (&engine->mail, lia_engine_mail_free);
  g_mutex_clear (&engine->lock);
  g_atomic_rc_box_release (engine);
}

void
lia_engine_stop (LiaEngine *engine)
{
  g_return_if_fail (engine != NULL);
  lia_engine_set_state (engine, LIA_SYNC_STATE_STOPPED);
  g_mutex_lock (&engine->lock);
  engine->stopped = TRUE;
  g_mutex_unlock (&engine->lock);
  g_cancellable_cancel (engine->cancellable);
  /* After this no host function is entered (the host may go now). */
  lia_host_gate_close (engine->link.gate);
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

gboolean
lia_engine_parse_schedule (const char *key, const char *value, gint *out_automatic, guint *out_interval_s,
                           GError **error)
{
  guint64 minutes = 0;

  *out_automatic = -1;
  *out_interval_s = 0;
  if (g_strcmp0 (key, LIA_ENGINE_SETTING_SYNC_AUTOMATIC) == 0)
    {
      if (g_strcmp0 (value, "on") != 0 && g_strcmp0 (value, "off") != 0)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "automatic synchronization is \"on\" or \"off\", not \"%s\"",
                       value != NULL ? value : "");
          return FALSE;
        }
      *out_automatic = g_str_equal (value, "on");
      return TRUE;
    }
  if (g_strcmp0 (key, LIA_ENGINE_SETTING_SYNC_INTERVAL) == 0)
    {
      if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, 24 * 60, &minutes, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "the synchronization interval is a number of minutes from 1 to 1440, not \"%s\"",
                       value != NULL ? value : "");
          return FALSE;
        }
      *out_interval_s = (guint) minutes * 60;
      return TRUE;
    }
  return TRUE;
}

/* R-SET-ITEMTYPES: the names the user checks, each bringing its entities. */
static const struct
{
  const char *name;
  guint mask;
} item_types[] = {
  { "contact", 1u << LIA_ENTITY_CONTACT },
  { "appointment", (1u << LIA_ENTITY_APPOINTMENT) | (1u << LIA_ENTITY_RECURRING_APPOINTMENT)
                       | (1u << LIA_ENTITY_SERVICE_APPOINTMENT) },
  { "task", 1u << LIA_ENTITY_TASK },
  { "phonecall", 1u << LIA_ENTITY_PHONE_CALL },
  { "letter", 1u << LIA_ENTITY_LETTER },
  { "fax", 1u << LIA_ENTITY_FAX },
};

gboolean
lia_engine_parse_item_types (const char *value, guint *out_mask, GError **error)
{
  g_auto (GStrv) names = NULL;
  guint mask = 0;
  guint n;

  *out_mask = LIA_ENGINE_ITEM_TYPES_ALL;
  if (value == NULL)
    return TRUE;
  if (strlen (value) > 256 || !g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "the item types are a short comma-separated list");
      return FALSE;
    }
  names = g_strsplit (value, ",", -1);
  n = g_strv_length (names);
  for (guint i = 0; i < n; i++)
    {
      const char *name = g_strstrip (names[i]);
      gboolean known = FALSE;

      /* "" (or blanks) alone is the empty list: no type. */
      if (*name == '\0' && n == 1)
        break;
      for (guint t = 0; t < G_N_ELEMENTS (item_types) && !known; t++)
        if (g_str_equal (name, item_types[t].name))
          {
            mask |= item_types[t].mask;
            known = TRUE;
          }
      if (!known)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                       "\"%s\" is not an item type (contact, appointment, task, phonecall, letter, fax)",
                       name);
          return FALSE;
        }
    }
  *out_mask = mask;
  return TRUE;
}

void
lia_engine_get_schedule (LiaEngine *engine, gint *out_automatic, guint *out_interval_s)
{
  g_mutex_lock (&engine->lock);
  *out_automatic = engine->auto_sync;
  *out_interval_s = engine->sync_interval_s;
  g_mutex_unlock (&engine->lock);
}

void
lia_engine_set_schedule (LiaEngine *engine, gint automatic, guint interval_s)
{
  g_mutex_lock (&engine->lock);
  if (automatic >= 0)
    engine->auto_sync = automatic != 0;
  if (interval_s > 0)
    engine->sync_interval_s = interval_s;
  g_mutex_unlock (&engine->lock);
}

/* Worker: R-SET-INTERVAL as the cache says; a value that does not parse
 * (written by an older or broken tool) is ignored. */
static void
read_schedule (LiaEngine *self, LiaCache *cache)
{
  g_autofree char *automatic = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_SYNC_AUTOMATIC, NULL);
  g_autofree char *minutes = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_SYNC_INTERVAL, NULL);
  gint a = -1;
  guint i = 0;
  guint unused = 0;
  gint unused_a = -1;

  if (automatic != NULL
      && !lia_engine_parse_schedule (LIA_ENGINE_SETTING_SYNC_AUTOMATIC, automatic, &a, &unused, NULL))
    a = -1;
  if (minutes != NULL
      && !lia_engine_parse_schedule (LIA_ENGINE_SETTING_SYNC_INTERVAL, minutes, &unused_a, &i, NULL))
    i = 0;
  lia_engine_set_schedule (self, a, i);
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

/* ---- start-up and the cycle ---- */

/* R-SET-PRIMARY: "on" in the cache is the user's designation of this
 * client, not yet told to the org. The org demotes the previous primary
 * (R-ROLE-ONE-PRIMARY); the designation then leaves the cache, so that one
 * made later on another client is not undone from here. An unreachable org
 * leaves it for the next cycle; an org that refuses it fails this cycle
 * once, with its reason. */
static gboolean
apply_primary_designation (LiaEngine *self, const char *subscription, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *wanted = NULL;
  LiaCache *cache;

  g_mutex_lock (&self->lock);
  cache = self->cache;
  g_mutex_unlock (&self->lock);
  if (cache == NULL || self->delegate)
    return TRUE;
  wanted = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_PRIMARY_CLIENT, NULL);
  if (g_strcmp0 (wanted, "on") != 0)
    return TRUE;
  if (!lia_crm_set_primary_sync (self->crm, subscription, cancellable, &local)
      && lia_engine_is_network_error (local))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!lia_cache_set_setting (cache, LIA_ENGINE_SETTING_PRIMARY_CLIENT, NULL, error))
    return FALSE;
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                  "This client could not become the synchronizing client: ");
      return FALSE;
    }
  g_debug ("engine: designated \"%s\" the synchronizing client", self->client_name);
  return TRUE;
}

/* R-ROLE-ONE-PRIMARY: the server says which client of the user is primary,
 * and the user may designate another at any time (on any client), so the
 * role is read again at every cycle, not only at start-up. */
static gboolean
refresh_role (LiaEngine *self, const char *subscription, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) subs = NULL;
  LiaClientInfo info = { 0 };
  const char *primary_name = NULL;
  gboolean primary = FALSE;
  gboolean changed;
  LiaClientRole role;
  LiaCache *cache;

  if (!apply_primary_designation (self, subscription, cancellable, error))
    return FALSE;
  subs = lia_crm_list_subscriptions_sync (self->crm, cancellable, error);
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
  changed = self->role != role || !self->started;
  if (self->role != role)
    g_debug ("engine: role %s -> %s", lia_client_role_to_string (self->role),
             lia_client_role_to_string (role));
  self->role = role;
  g_free (self->primary_name);
  self->primary_name = g_strdup (primary_name);
  cache = self->cache;
  g_mutex_unlock (&self->lock);
  /* Remembered for a start with the org unreachable (R-OFF-QUEUE). */
  if (changed && cache != NULL)
    lia_cache_set_setting (cache, LIA_ENGINE_SETTING_ROLE, lia_client_role_to_string (role), NULL);
  return TRUE;
}

/* Worker. Opens the cache once; no network. Done before the org is
 * contacted so that an unreachable org still leaves the local changes
 * scanned and queued (R-OFF-QUEUE). */
static LiaCache *
open_cache (LiaEngine *self, GError **error)
{
  LiaCache *cache;

  g_mutex_lock (&self->lock);
  cache = self->cache;
  g_mutex_unlock (&self->lock);
  if (cache == NULL)
    {
      cache = lia_cache_open (self->cache_path, self->clock, NULL, error);
      if (cache == NULL)
        return NULL;
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
      {
        g_autofree char *role = lia_cache_dup_setting (cache, LIA_ENGINE_SETTING_ROLE, NULL);

        /* The role last read from the org, for a start while it is
         * unreachable; a delegate is one by configuration. */
        g_mutex_lock (&self->lock);
        if (self->delegate)
          self->role = LIA_CLIENT_DELEGATE;
        else if (g_strcmp0 (role, lia_client_role_to_string (LIA_CLIENT_SECONDARY)) == 0)
          self->role = LIA_CLIENT_SECONDARY;
        g_mutex_unlock (&self->lock);
      }
      read_schedule (self, cache);
    }
  return cache;
}

static gboolean
start (LiaEngine *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaCrmUser) user = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  LiaCache *cache = open_cache (self, error);

  if (cache == NULL)
    return FALSE;
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

    lia_engine_load_policies (self, settings);
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

/* Worker: the scan of a cycle whose start-up could not reach the org. Its
 * own failure is only logged: the cycle fails with the network error. */
static void
offline_scan (LiaEngine *self, GCancellable *cancellable)
{
  Cycle c = { 0 };
  g_autoptr (GError) error = NULL;
  LiaClientRole role;

  g_mutex_lock (&self->lock);
  role = self->role;
  self->progress = 0;
  g_mutex_unlock (&self->lock);
  if (role == LIA_CLIENT_DELEGATE)
    return;
  c.engine = self;
  c.cache = lia_engine_get_cache (self);
  c.cancellable = cancellable;
  lia_engine_set_state (self, LIA_SYNC_STATE_SCANNING);
  if (!lia_engine_scan (&c, &error))
    g_debug ("engine: offline scan failed: %s", error->message);
  else
    lia_engine_journal (&c, "cycle", NULL, NULL, "offline: local changes queued");
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

  if (lia_engine_get_state (self) == LIA_SYNC_STATE_OFFLINE)
    lia_engine_set_state (self, LIA_SYNC_STATE_SCANNING);
  if (!lia_engine_is_ready (self))
    {
      if (!start (self, cancellable, &local))
        {
          /* R-OFF-QUEUE: the org is unreachable at start-up. The changes
           * made meanwhile are still found and queued durably now, not at
           * the first cycle that reaches the org; the status then shows
           * offline with their count (R-OFF-STATUS). */
          if (lia_engine_is_network_error (local) && lia_engine_get_cache (self) != NULL)
            offline_scan (self, cancellable);
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  else
    {
      /* In SCANNING before the first network call, so that going offline
       * here is a transition the state machine allows. */
      lia_engine_set_state (self, LIA_SYNC_STATE_SCANNING);
      g_mutex_lock (&self->lock);
      sub = g_strdup (self->subscription);
      g_mutex_unlock (&self->lock);
      /* Unreachable: keep the last known role and go on, so that the
       * queued changes are tried and their errors recorded per item
       * (R-OFF-STATUS, R-IMM-FALLBACK). */
      if (!refresh_role (self, sub, cancellable, &local) && !lia_engine_is_network_error (local))
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
  c.started_at = lia_clock_now (self->clock) - LIA_ENGINE_WATERMARK_SLACK_US;
  {
    g_autofree char *company = lia_cache_dup_setting (c.cache, LIA_ENGINE_SETTING_UPDATE_COMPANY, NULL);

    /* R-SET-COMPANY defaults to on; only an explicit "off" turns it off. */
    c.update_company = g_strcmp0 (company, "off") != 0;
  }
  read_schedule (self, c.cache);

  lia_engine_set_state (self, LIA_SYNC_STATE_SCANNING);
  /* R-DET-SCAN-STARTUP: the first cycle after load is the start-up scan. */
  if (role != LIA_CLIENT_DELEGATE && !lia_engine_scan (&c, error))
    goto out;
  /* SPEC section 8: auto-tracked and folder-tracked mail is queued before
   * the upload, so this cycle creates it in CRM. */
  if (role == LIA_CLIENT_PRIMARY && !lia_engine_mail_before_upload (&c, error))
    goto out;
  lia_engine_set_state (self, LIA_SYNC_STATE_UPLOADING);
  if (!lia_engine_upload (&c, error))
    goto out;
  lia_engine_set_state (self, LIA_SYNC_STATE_DOWNLOADING);
  /* R-ROLE-SECONDARY-DEFER: only the primary brings CRM changes to the
   * shared mailbox; a secondary sees them through the mailbox. */
  if (role == LIA_CLIENT_PRIMARY && !lia_engine_download (&c, error))
    goto out;
  /* R-MAIL-TAGGING: regarding changes of tracked email, after the download. */
  if (role == LIA_CLIENT_PRIMARY && !lia_engine_mail_after_download (&c, error))
    goto out;
  if (role != LIA_CLIENT_DELEGATE && !lia_engine_set_scan_watermarks (&c, error))
    goto out;
  {
    g_autofree char *msg = g_strdup_printf ("cycle: %u sent, %u received", c.uploaded, c.downloaded);

    lia_engine_journal (&c, "cycle", NULL, NULL, msg);
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
  else if (lia_engine_is_network_error (error))
    next = LIA_SYNC_STATE_OFFLINE;
  else if (!lia_engine_is_ready (self))
    next = lia_engine_get_state (self) == LIA_SYNC_STATE_STARTING ? LIA_SYNC_STATE_IDLE
                                                                  : lia_engine_get_state (self);
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
      self->online = !lia_engine_is_network_error (error);
      g_free (self->last_error);
      self->last_error = g_strdup (error->message);
    }
  waiters = g_steal_pointer (&self->waiters);
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_unlock (&self->lock);
  if (lia_engine_get_state (self) != LIA_SYNC_STATE_STOPPED)
    {
      if (lia_engine_get_state (self) == LIA_SYNC_STATE_STARTING && next == LIA_SYNC_STATE_IDLE)
        next = LIA_SYNC_STATE_IDLE;
      lia_engine_set_state (self, next);
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
  /* Mail that arrived in a tracked folder while this cycle ran, after its
   * folder phase: its notification's request found the cycle running. */
  if (ok && lia_engine_mail_take_rerun (self))
    start_cycle (self);
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
