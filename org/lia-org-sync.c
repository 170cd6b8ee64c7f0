/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-auth.h"
#include "lia-org-codec.h"
#include "lia-org-service-private.h"
#include "lia-org-sync.h"

/* PrepareSync, per subscription S and entity E.
 *
 * S holds one SyncEntry per record it has been sent or is about to be sent:
 * (record, sent_version, manual, pending, pending_version). Invariants:
 *
 *   - sent_version is the version the client acknowledged (0: never sent);
 *   - pending is -1 (nothing to send) or the op GetSyncData returns next;
 *   - a record is "in" S when it is live, not tombstoned for S
 *     (R-DEL-OUT-REMEMBER), and matches one of the user's enabled filters
 *     for E or is marked manual (R-MARK-MANUAL-KEEPS);
 *   - after PrepareSync, for every record: in and unsent -> create; in and
 *     sent_version < version -> update; out and sent -> delete
 *     (R-DEL-IN-FILTER: leaving the filters is a deletion); out and
 *     unsent -> no entry.
 *
 * The anchor of (S, E) is the org version up to which this holds, and the
 * rule stamp the filter/security generation (and, for filters relative to
 * today, the day) it was computed under. With an unchanged stamp, only
 * records whose version passed the anchor can have moved, and the store
 * returns exactly those from an index on (entity, version): the cost of an
 * incremental PrepareSync follows the changes, not the org. A changed stamp
 * (or no anchor) re-evaluates every record of E once.
 *
 * Unacknowledged changes stay pending, so a client that lost a page asks
 * again; PostSync moves pending_version to sent_version (or drops the entry
 * of a delete). */

#define US_PER_DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

typedef struct
{
  LiaOrgService *service;
  LiaOrgStore *store;
  const char *subscription;
  const char *user_id;
  LiaEntity entity;
  gint64 now;
  GPtrArray *filters; /* borrowed from the service cache */
  gboolean needs_item;
  gboolean full;
  GHashTable *entries;    /* full pass: record id -> LiaOrgEntry, owned */
  GHashTable *tombstones; /* full pass: record ids, owned */
} Prepare;

static gboolean
check_subscription_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                           LiaCrmSubscription **out_subscription, GError **error)
{
  g_autofree char *owner = NULL;
  LiaCrmSubscription *subscription = NULL;

  if (id == NULL || !lia_org_store_subscription_get (service->store, id, &owner, &subscription, error))
    {
      if (id == NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "No subscription named");
      return FALSE;
    }
  if (subscription == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No subscription \"%s\"", id);
      return FALSE;
    }
  if (!g_str_equal (owner, caller->user_id))
    {
      lia_crm_subscription_free (subscription);
      g_set_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN,
                   "Not allowed: subscription \"%s\" is another user's", id);
      return FALSE;
    }
  if (out_subscription != NULL)
    *out_subscription = subscription;
  else
    lia_crm_subscription_free (subscription);
  return TRUE;
}

static gboolean
check_entity (LiaEntity entity, GError **error)
{
  if ((guint) entity >= LIA_ENTITY_N)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown entity");
      return FALSE;
    }
  return TRUE;
}

LiaCrmSubscription *
lia_org_sync_subscribe (LiaOrgService *service, const LiaOrgCaller *caller, const char *client,
                        GError **error)
{
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (LiaCrmSubscription) subscription = NULL;
  gboolean has_primary = FALSE;
  gboolean ok;
  LOCK (service);

  if (client == NULL || *client == '\0' || strlen (client) > 200 || !g_utf8_validate (client, -1, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A client name is 1 to 200 characters");
      return NULL;
    }
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  list = lia_org_store_subscription_list (service->store, caller->user_id, error);
  if (list == NULL)
    {
      lia_org_store_rollback (service->store);
      return NULL;
    }
  for (guint i = 0; i < list->len; i++)
    {
      LiaCrmSubscription *s = list->pdata[i];
      if (g_str_equal (s->client, client))
        {
          lia_org_store_rollback (service->store);
          return g_steal_pointer (&list->pdata[i]);
        }
      has_primary |= s->primary;
    }
  /* R-ROLE-ONE-PRIMARY: the user's first client is the primary one. */
  subscription = g_new0 (LiaCrmSubscription, 1);
  subscription->id = lia_org_auth_new_uuid ();
  subscription->client = g_strdup (client);
  subscription->primary = !has_primary;
  ok = lia_org_store_subscription_put (service->store, caller->user_id, subscription,
                                       lia_clock_now (service->clock), error);
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return NULL;
    }
  if (!lia_org_store_commit (service->store, error))
    return NULL;
  return g_steal_pointer (&subscription);
}

GPtrArray *
lia_org_sync_list_subscriptions (LiaOrgService *service, const LiaOrgCaller *caller, GError **error)
{
  LOCK (service);

  return lia_org_store_subscription_list (service->store, caller->user_id, error);
}

gboolean
lia_org_sync_set_primary (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                          GError **error)
{
  g_autoptr (LiaCrmSubscription) sub = NULL;
  gboolean ok;
  LOCK (service);

  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  /* Demote every client of the user, then promote one: exactly one
   * primary at every commit (R-ROLE-ONE-PRIMARY). */
  ok = check_subscription_locked (service, caller, subscription, &sub, error)
       && lia_org_store_subscription_demote_all (service->store, caller->user_id, error);
  if (ok)
    {
      sub->primary = TRUE;
      ok = lia_org_store_subscription_put (service->store, caller->user_id, sub, 0, error);
    }
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  return lia_org_store_commit (service->store, error);
}

static gboolean
primary_client_locked (LiaOrgService *service, const char *user_id, char **out_client, GError **error)
{
  g_autoptr (GPtrArray) list = lia_org_store_subscription_list (service->store, user_id, error);

  if (list == NULL)
    return FALSE;
  *out_client = NULL;
  for (guint i = 0; i < list->len; i++)
    {
      const LiaCrmSubscription *s = list->pdata[i];
      if (s->primary)
        {
          *out_client = g_strdup (s->client);
          break;
        }
    }
  return TRUE;
}

char *
lia_org_sync_dup_primary_client (LiaOrgService *service, const LiaOrgCaller *caller, GError **error)
{
  char *client = NULL;
  LOCK (service);

  primary_client_locked (service, caller->user_id, &client, error);
  return client;
}

/* R-ROLE-SECONDARY-NO-NEW: only the primary (or a roaming client,
 * R-ROLE-ROAMING) tracks new contacts, appointments and tasks; a secondary
 * that did would make a second CRM record of an item the primary creates
 * too (R-ROLE-SECONDARY-DEFER). Email is the same on every client
 * (R-ROLE-EMAIL-UNIFORM). */
static gboolean
require_may_track_new_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                              const LiaCrmSubscription *sub, LiaEntity entity, GError **error)
{
  g_autofree char *primary = NULL;
  gboolean roaming = FALSE;

  if (sub->primary || entity == LIA_ENTITY_EMAIL || !lia_entity_is_host_mapped (entity))
    return TRUE;
  if (!lia_org_store_subscription_is_roaming (service->store, sub->id, &roaming, error))
    return FALSE;
  if (roaming)
    return TRUE;
  if (!primary_client_locked (service, caller->user_id, &primary, error))
    return FALSE;
  g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
               "Only your synchronizing client \"%s\" can track new contacts, appointments and tasks; "
               "\"%s\" is a secondary client",
               primary != NULL ? primary : "(none)", sub->client);
  return FALSE;
}

gboolean
lia_org_sync_check_create_locked (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                                  const char *request_id, GError **error)
{
  g_autofree char *id = NULL;
  g_autofree char *owner = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  const char *slash;

  if (request_id == NULL || (slash = strchr (request_id, '/')) == NULL)
    return TRUE;
  id = g_strndup (request_id, (gsize) (slash - request_id));
  if (!g_uuid_string_is_valid (id))
    return TRUE;
  if (!lia_org_store_subscription_get (service->store, id, &owner, &sub, error))
    return FALSE;
  /* Not one of the caller's clients: the request id names nobody. */
  if (sub == NULL || g_strcmp0 (owner, caller->user_id) != 0)
    return TRUE;
  return require_may_track_new_locked (service, caller, sub, entity, error);
}

static gboolean
row_matches (Prepare *p, const LiaOrgRow *row, gboolean *out_match, GError **error)
{
  g_autoptr (LiaItem) item = NULL;
  LiaOrgFilterSubject subject = { row->owner, row->state, row->modified_on, NULL };

  *out_match = FALSE;
  if (p->filters->len == 0)
    return TRUE;
  if (p->needs_item)
    {
      item = lia_org_codec_decode (row->entity, row->fields, row->fields_len, error);
      if (item == NULL)
        return FALSE;
      subject.item = item;
    }
  for (guint i = 0; i < p->filters->len && !*out_match; i++)
    *out_match = lia_org_filter_match (p->filters->pdata[i], &subject, p->user_id, p->now);
  return TRUE;
}

/* Brings one entry in line with the invariants above. @entry is borrowed
 * and may be NULL. */
static gboolean
decide (Prepare *p, const char *record_id, gint64 version, gboolean in, LiaOrgEntry *entry, GError **error)
{
  if (in)
    {
      LiaOrgEntry fresh = { (char *) record_id, p->entity, 0, FALSE, LIA_SYNC_OP_CREATE, version };
      gint op;

      if (entry == NULL)
        return lia_org_store_entry_put (p->store, p->subscription, &fresh, error);
      if (entry->sent_version == 0)
        op = LIA_SYNC_OP_CREATE;
      else if (entry->sent_version < version)
        op = LIA_SYNC_OP_UPDATE;
      else
        op = -1;
      if (entry->pending == op && (op < 0 || entry->pending_version == version))
        return TRUE;
      entry->pending = op;
      entry->pending_version = op < 0 ? entry->sent_version : version;
      return lia_org_store_entry_put (p->store, p->subscription, entry, error);
    }
  if (entry == NULL)
    return TRUE;
  if (entry->sent_version == 0)
    return lia_org_store_entry_delete (p->store, p->subscription, record_id, error);
  if (entry->pending == LIA_SYNC_OP_DELETE)
    return TRUE;
  entry->pending = LIA_SYNC_OP_DELETE;
  entry->pending_version = entry->sent_version;
  return lia_org_store_entry_put (p->store, p->subscription, entry, error);
}

static gboolean
full_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  Prepare *p = user_data;
  g_autoptr (LiaOrgEntry) entry = NULL;
  gboolean match = FALSE;
  gpointer key = NULL, value = NULL;

  if (g_hash_table_steal_extended (p->entries, row->id, &key, &value))
    entry = value;
  if (!row_matches (p, row, &match, error))
    return FALSE;
  return decide (p, row->id, row->version,
                 (match || (entry != NULL && entry->manual))
                     && !g_hash_table_contains (p->tombstones, row->id),
                 entry, error);
}

static gboolean
incremental_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  Prepare *p = user_data;
  g_autoptr (LiaOrgEntry) entry = NULL;
  gboolean match = FALSE, tombstoned = FALSE, in = FALSE;

  if (!lia_org_store_entry_get (p->store, p->subscription, row->id, &entry, error))
    return FALSE;
  if (!row->deleted)
    {
      if (!row_matches (p, row, &match, error)
          || !lia_org_store_tombstone_has (p->store, p->subscription, row->id, &tombstoned, error))
        return FALSE;
      in = (match || (entry != NULL && entry->manual)) && !tombstoned;
    }
  return decide (p, row->id, row->version, in, entry, error);
}

static gint64
rule_stamp (gint64 gen, gboolean time_dependent, gint64 now)
{
  gint64 day = now >= 0 ? now / US_PER_DAY : 0;

  /* The generation in the high bits; for filters relative to today, the
   * day in the low 24 bits (about 45,000 years of days). */
  return (gen << 24) | (time_dependent ? ((day + 1) & 0xffffff) : 0);
}

static gboolean
prepare_entity_locked (LiaOrgService *service, const char *subscription, const char *user_id,
                       LiaEntity entity, gint64 top_version, GError **error)
{
  Prepare p = { 0 };
  gint64 anchor = 0, old_stamp = 0, gen = 0, stamp;
  gboolean time_dependent = FALSE;
  gboolean ok;
  g_autoptr (GPtrArray) filters = NULL;

  filters = lia_org_service_filters_locked (service, user_id, entity, &gen, error);
  if (filters == NULL)
    return FALSE;
  p.service = service;
  p.store = service->store;
  p.subscription = subscription;
  p.user_id = user_id;
  p.entity = entity;
  p.now = lia_clock_now (service->clock);
  p.filters = filters;
  for (guint i = 0; i < filters->len; i++)
    {
      time_dependent |= lia_org_filter_is_time_dependent (filters->pdata[i]);
      p.needs_item |= lia_org_filter_needs_item (filters->pdata[i]);
    }
  stamp = rule_stamp (gen, time_dependent, p.now);
  if (!lia_org_store_anchor_get (service->store, subscription, entity, &anchor, &old_stamp, error))
    return FALSE;
  /* A stamp is never 0 (generations start at 1): 0 means never prepared. */
  p.full = old_stamp == 0 || stamp != old_stamp;
  if (!p.full && anchor == top_version)
    return TRUE;
  if (p.full)
    {
      p.entries = lia_org_store_entry_load (service->store, subscription, entity, error);
      if (p.entries == NULL)
        return FALSE;
      p.tombstones = lia_org_store_tombstone_load (service->store, subscription, error);
      ok = p.tombstones != NULL
           && lia_org_store_record_foreach (service->store, entity, -1, full_row, &p, error);
      /* Entries left over name records that are no longer live. */
      if (ok)
        {
          GHashTableIter iter;
          gpointer value;
          g_hash_table_iter_init (&iter, p.entries);
          while (ok && g_hash_table_iter_next (&iter, NULL, &value))
            {
              LiaOrgEntry *entry = value;
              ok = decide (&p, entry->record_id, 0, FALSE, entry, error);
            }
        }
      g_clear_pointer (&p.entries, g_hash_table_unref);
      g_clear_pointer (&p.tombstones, g_hash_table_unref);
    }
  else
    ok = lia_org_store_record_foreach (service->store, entity, anchor, incremental_row, &p, error);
  return ok && lia_org_store_anchor_put (service->store, subscription, entity, top_version, stamp, error);
}

LiaSyncSummary *
lia_org_sync_prepare (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                      guint entity_mask, GError **error)
{
  g_autoptr (LiaSyncSummary) summary = lia_sync_summary_new ();
  g_autoptr (LiaCrmSubscription) sub = NULL;
  gint64 top = 0;
  gboolean ok;
  LOCK (service);

  if (entity_mask == 0)
    entity_mask = LIA_ORG_SYNC_DEFAULT_MASK;
  if (entity_mask >= (1u << LIA_ENTITY_N))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown entity in the entity mask");
      return NULL;
    }
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  /* R-ROLE-ROAMING: a client downloads only as primary or roaming, so a
   * secondary that asks PrepareSync acts as primary from now on. */
  ok = check_subscription_locked (service, caller, subscription, &sub, error)
       && (sub->primary || lia_org_store_subscription_set_roaming (service->store, subscription, error))
       && lia_org_store_counter_get (service->store, "version", &top, error);
  for (guint e = 0; ok && e < LIA_ENTITY_N; e++)
    {
      guint counts[LIA_SYNC_OP_N] = { 0 };
      if ((entity_mask & (1u << e)) == 0)
        continue;
      ok = prepare_entity_locked (service, subscription, caller->user_id, (LiaEntity) e, top, error)
           && lia_org_store_entry_count_pending (service->store, subscription, (LiaEntity) e, counts, error);
      for (guint o = 0; ok && o < LIA_SYNC_OP_N; o++)
        lia_sync_summary_add (summary, (LiaEntity) e, (LiaSyncOp) o, counts[o]);
    }
  /* R-SET-ITEMTYPES, R-DET-PUSH: a type the client no longer asks for is
   * no longer watched. Its anchor stays, with its stamp cleared ("never
   * prepared"): the push wait skips it, and when the client asks for it
   * again the first prepare is a full one, so what changed in between
   * comes down then. */
  for (guint e = 0; ok && e < LIA_ENTITY_N; e++)
    {
      gint64 anchor = 0, stamp = 0;
      if ((entity_mask & (1u << e)) != 0)
        continue;
      ok = lia_org_store_anchor_get (service->store, subscription, (LiaEntity) e, &anchor, &stamp, error)
           && (stamp == 0
               || lia_org_store_anchor_put (service->store, subscription, (LiaEntity) e, anchor, 0, error));
    }
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return NULL;
    }
  if (!lia_org_store_commit (service->store, error))
    return NULL;
  return g_steal_pointer (&summary);
}

LiaSyncPage *
lia_org_sync_get_data (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                       LiaEntity entity, const char *cursor, guint max_changes, GError **error)
{
  g_autoptr (LiaSyncPage) page = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GHashTable) settings = NULL;
  const guint8 *fls;
  LOCK (service);

  if (!check_entity (entity, error))
    return NULL;
  if (max_changes == 0 || max_changes > 1000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A page holds 1 to 1000 changes");
      return NULL;
    }
  if (!check_subscription_locked (service, caller, subscription, NULL, error))
    return NULL;
  fls = lia_org_service_fls_locked (service, caller->role, entity, error);
  if (fls == NULL || (settings = lia_org_service_settings_locked (service, error)) == NULL)
    return NULL;
  /* One more than asked, to know whether the page is truncated. */
  entries =
      lia_org_store_entry_pending (service->store, subscription, entity, cursor, max_changes + 1, error);
  if (entries == NULL)
    return NULL;
  page = lia_sync_page_new (entity);
  lia_sync_page_set_more (page, entries->len > max_changes);
  for (guint i = 0; i < MIN (entries->len, max_changes); i++)
    {
      LiaOrgEntry *entry = entries->pdata[i];
      LiaCrmRecord *record = NULL;
      gboolean deleted = FALSE;

      if (entry->pending != LIA_SYNC_OP_DELETE)
        {
          if (!lia_org_store_record_get (service->store, entry->record_id, &record, &deleted, error))
            return NULL;
          /* Deleted after PrepareSync: say so now rather than send a ghost. */
          if (record == NULL || deleted)
            {
              lia_crm_record_free (record);
              lia_sync_page_add (page, LIA_SYNC_OP_DELETE, entry->record_id, entry->sent_version, NULL);
              continue;
            }
          lia_org_service_strip_locked (service, record, fls, TRUE, settings);
          lia_sync_page_add (page, (LiaSyncOp) entry->pending, entry->record_id,
                             lia_crm_record_get_version (record), record);
        }
      else
        lia_sync_page_add (page, LIA_SYNC_OP_DELETE, entry->record_id, entry->pending_version, NULL);
    }
  return g_steal_pointer (&page);
}

gboolean
lia_org_sync_post (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                   LiaEntity entity, const char *const *ids, GError **error)
{
  gboolean ok;
  LOCK (service);

  if (!check_entity (entity, error))
    return FALSE;
  if (g_strv_length ((char **) ids) > 10000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "At most 10000 ids per PostSync");
      return FALSE;
    }
  if (!lia_org_store_begin (service->store, error))
    return FALSE;
  ok = check_subscription_locked (service, caller, subscription, NULL, error);
  /* Acknowledging is idempotent: unknown or settled ids are skipped, so a
   * client that repeats a PostSync after a lost reply does no harm. */
  for (guint i = 0; ok && ids[i] != NULL; i++)
    {
      g_autoptr (LiaOrgEntry) entry = NULL;
      ok = lia_org_store_entry_get (service->store, subscription, ids[i], &entry, error);
      if (!ok || entry == NULL || entry->entity != entity || entry->pending < 0)
        continue;
      if (entry->pending == LIA_SYNC_OP_DELETE)
        ok = lia_org_store_entry_delete (service->store, subscription, ids[i], error);
      else
        {
          entry->sent_version = entry->pending_version;
          entry->pending = -1;
          ok = lia_org_store_entry_put (service->store, subscription, entry, error);
        }
    }
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  return lia_org_store_commit (service->store, error);
}

/* A record of @entity that exists and is live, or NOT_FOUND. */
static gboolean
require_live_locked (LiaOrgService *service, LiaEntity entity, const char *id, gint64 *out_version,
                     GError **error)
{
  gboolean found = FALSE, deleted = FALSE;
  LiaEntity stored = LIA_ENTITY_N;

  /* The row's head only: decoding the fields was a third of a track. */
  if (!lia_org_store_record_head (service->store, id, &found, &stored, out_version, &deleted, error))
    return FALSE;
  if (!found || deleted || stored != entity)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No %s \"%s\"", lia_entity_to_string (entity), id);
      return FALSE;
    }
  return TRUE;
}

/* R-MARK-NEEDS-FILTER: contacts, appointments and tasks are tracked by hand
 * only when at least one enabled filter (system or the user's) exists for
 * the entity; otherwise the records could never come back from CRM. */
static gboolean
require_filter_locked (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity, GError **error)
{
  g_autoptr (GPtrArray) filters = NULL;

  if (entity != LIA_ENTITY_CONTACT && entity != LIA_ENTITY_APPOINTMENT
      && entity != LIA_ENTITY_RECURRING_APPOINTMENT && entity != LIA_ENTITY_TASK)
    return TRUE;
  filters = lia_org_service_filters_locked (service, caller->user_id, entity, NULL, error);
  if (filters == NULL)
    return FALSE;
  if (filters->len == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "To track a %s by hand, enable at least one %s sync filter first",
                   lia_entity_to_string (entity), lia_entity_to_string (entity));
      return FALSE;
    }
  return TRUE;
}

gboolean
lia_org_sync_track_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                           LiaEntity entity, const char *id, gboolean manual, GError **error)
{
  g_autoptr (LiaOrgEntry) entry = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  gint64 version = 0;
  gboolean ok;

  if (!check_entity (entity, error) || !lia_org_store_begin (service->store, error))
    return FALSE;
  ok = check_subscription_locked (service, caller, subscription, &sub, error)
       && (!manual || require_may_track_new_locked (service, caller, sub, entity, error))
       && (!manual || require_filter_locked (service, caller, entity, error))
       && require_live_locked (service, entity, id, &version, error)
       && lia_org_store_entry_get (service->store, subscription, id, &entry, error);
  if (ok)
    {
      if (entry == NULL)
        {
          /* The client tracked it by hand: it holds the record already,
           * at the version it just wrote or read. */
          entry = g_new0 (LiaOrgEntry, 1);
          entry->record_id = g_strdup (id);
          entry->entity = entity;
          entry->sent_version = version;
          entry->pending = -1;
          entry->pending_version = version;
        }
      entry->manual = manual;
      ok = lia_org_store_entry_put (service->store, subscription, entry, error);
    }
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  return lia_org_store_commit (service->store, error);
}

gboolean
lia_org_sync_track (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                    LiaEntity entity, const char *id, gboolean manual, GError **error)
{
  LOCK (service);

  return lia_org_sync_track_locked (service, caller, subscription, entity, id, manual, error);
}

gboolean
lia_org_sync_forget (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                     LiaEntity entity, const char *id, GError **error)
{
  gboolean ok;
  LOCK (service);

  if (!check_entity (entity, error) || !lia_org_store_begin (service->store, error))
    return FALSE;
  /* R-DEL-OUT-REMEMBER: remember the deletion for this subscription only;
   * a new subscription (a reconfigured client) starts clean. */
  ok = check_subscription_locked (service, caller, subscription, NULL, error)
       && lia_org_store_tombstone_put (service->store, subscription, id, error)
       && lia_org_store_entry_delete (service->store, subscription, id, error);
  if (!ok)
    {
      lia_org_store_rollback (service->store);
      return FALSE;
    }
  return lia_org_store_commit (service->store, error);
}

typedef struct
{
  Prepare *p;
  gboolean hit;
} Probe;

static gboolean
probe_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  Probe *probe = user_data;
  g_autoptr (LiaOrgEntry) entry = NULL;
  gboolean match = FALSE;

  if (!lia_org_store_entry_get (probe->p->store, probe->p->subscription, row->id, &entry, error))
    return FALSE;
  if (entry == NULL && !row->deleted && !row_matches (probe->p, row, &match, error))
    return FALSE;
  if (entry != NULL || match)
    {
      probe->hit = TRUE;
      /* Stop the scan early: one hit is enough. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "found");
      return FALSE;
    }
  return TRUE;
}

static gboolean
has_changes_locked (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                    gboolean *out_changed, GError **error)
{
  if (!check_subscription_locked (service, caller, subscription, NULL, error))
    return FALSE;
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      gint64 anchor = 0, stamp = 0, gen = 0;
      g_autoptr (GPtrArray) filters = NULL;
      gboolean time_dependent = FALSE;
      Prepare p = { 0 };
      Probe probe = { &p, FALSE };
      GError *local = NULL;

      if (!lia_org_store_anchor_get (service->store, subscription, (LiaEntity) e, &anchor, &stamp, error))
        return FALSE;
      if (stamp == 0)
        continue;
      filters = lia_org_service_filters_locked (service, caller->user_id, (LiaEntity) e, &gen, error);
      if (filters == NULL)
        return FALSE;
      p.store = service->store;
      p.subscription = subscription;
      p.user_id = caller->user_id;
      p.entity = (LiaEntity) e;
      p.now = lia_clock_now (service->clock);
      p.filters = filters;
      for (guint i = 0; i < filters->len; i++)
        {
          time_dependent |= lia_org_filter_is_time_dependent (filters->pdata[i]);
          p.needs_item |= lia_org_filter_needs_item (filters->pdata[i]);
        }
      if (rule_stamp (gen, time_dependent, p.now) != stamp)
        {
          *out_changed = TRUE;
          return TRUE;
        }
      if (!lia_org_store_record_foreach (service->store, (LiaEntity) e, anchor, probe_row, &probe, &local))
        {
          if (!probe.hit)
            {
              g_propagate_error (error, local);
              return FALSE;
            }
          g_clear_error (&local);
        }
      if (probe.hit)
        {
          *out_changed = TRUE;
          return TRUE;
        }
    }
  *out_changed = FALSE;
  return TRUE;
}

gboolean
lia_org_sync_has_changes (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                          gboolean *out_changed, GError **error)
{
  LOCK (service);

  return has_changes_locked (service, caller, subscription, out_changed, error);
}

/* How long a push wait lets commits pile up before it looks again. */
#define LIA_ORG_WAIT_COALESCE_US (50 * 1000)

gboolean
lia_org_sync_wait (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                   guint timeout_ms, GCancellable *cancellable, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint64 last_check = 0;
  LOCK (service);

  for (;;)
    {
      gboolean changed = FALSE;
      guint64 seq = service->change_seq;
      gint64 now = g_get_monotonic_time ();

      /* A burst of commits (a bulk track makes thousands) is checked at
       * most every LIA_ORG_WAIT_COALESCE_US, not after each: the check
       * scans the records since the anchor under the service lock, so
       * checking per commit made the burst quadratic and stalled it. */
      if (last_check != 0 && now - last_check < LIA_ORG_WAIT_COALESCE_US)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error) || now >= deadline)
            return FALSE;
          g_cond_wait_until (&service->changed, &service->lock,
                             MIN (deadline, last_check + LIA_ORG_WAIT_COALESCE_US));
          continue;
        }
      last_check = now;
      if (!has_changes_locked (service, caller, subscription, &changed, error))
        return FALSE;
      if (changed)
        return TRUE;
      /* Wake at each change committed in this process, and every 100 ms
       * anyway: another process (liaison-org, a second client) may write
       * the same file, and GCond has no cancellable. */
      now = g_get_monotonic_time ();
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (now >= deadline)
        return FALSE;
      if (seq == service->change_seq)
        g_cond_wait_until (&service->changed, &service->lock, MIN (deadline, now + 100 * 1000));
    }
}
