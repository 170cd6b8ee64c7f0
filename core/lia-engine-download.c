/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* Phase 3: PrepareSync / GetSyncData and apply (R-DET-SERVER). */

/* ---- download (R-DET-SERVER, R-MARK-FILTER) ---- */

const LiaHostRow *
lia_engine_find_by_crm_id (Cycle *c, LiaEntity entity, const char *crm_id, GError **error)
{
  LiaEngine *self = c->engine;

  if (c->by_crm_id[entity] == NULL)
    {
      GHashTable *index =
          g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) lia_host_row_free);

      c->by_crm_id[entity] = index;
      for (guint offset = 0;; offset += LIA_ENGINE_SCAN_PAGE)
        {
          g_autoptr (GPtrArray) rows =
              lia_host_call_read_contents (&self->link, self->store, self->folders[entity], offset,
                                           LIA_ENGINE_SCAN_PAGE, c->cancellable, error);

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
          if (rows->len < LIA_ENGINE_SCAN_PAGE)
            break;
        }
    }
  return g_hash_table_lookup (c->by_crm_id[entity], crm_id);
}

typedef struct
{
  const LiaSyncChange *change; /* borrowed from the page */
  LiaItem *item;
  LiaHostProps props;
  char *xml;
} PendingCreate;

static void
pending_create_free (gpointer data)
{
  PendingCreate *p = data;

  lia_item_free (p->item);
  lia_host_props_clear (&p->props);
  g_free (p->xml);
  g_free (p);
}

static void
record_created (Cycle *c, const LiaSyncChange *change, const char *item_id, const char *xml,
                LiaCacheBatch *page_batch)
{
  LiaEngine *self = c->engine;
  const char *folder = self->folders[change->entity];
  g_autoptr (LiaCacheMapping) mapping =
      lia_cache_mapping_new (self->store, folder, item_id, change->entity, change->id, LIA_LINK_STATE_TRACKED,
                             LIA_LINK_ORIGIN_FILTER);

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
}

static gboolean
download_upsert (Cycle *c, const LiaSyncChange *change, LiaCacheBatch *page_batch, GPtrArray *pending,
                 GError **error)
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
  g_autofree char *host_xml = NULL;
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
      return lia_engine_sync_pair (c, hi, change->record, FALSE, hi->props.original, error);
    }
  /* R-DUP-NONE: an item that carries this CRM id is relinked, never
   * duplicated, whatever happened to the cache. */
  row = lia_engine_find_by_crm_id (c, change->entity, change->id, error);
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
      lia_engine_journal (c, "relink", hi->item_id, change->id,
                          "relinked from the item's CRM id (R-DUP-NONE)");
      return lia_engine_sync_pair (c, hi, change->record, FALSE, hi->props.original, error);
    }
  {
    g_autoptr (LiaItem) crm_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (change->record));
    g_autoptr (LiaFieldPolicy) policy = lia_engine_item_policy (c, change->entity, NULL, crm_view);

    item = lia_merge_dup_created (policy, crm_view, LIA_SIDE_HOST);
    /* The original is in the merge's terms (the CRM view), or the next
     * merge would see the derived fields as CRM changes. */
    xml = lia_engine_encode (crm_view);
    host_xml = lia_engine_host_original (crm_view, xml);
  }
  lia_engine_link_props (self, &props, LIA_LINK_STATE_TRACKED, change->id, host_xml);
  /* Created with the page's other new items (lia_engine_download). */
  {
    PendingCreate *p = g_new0 (PendingCreate, 1);

    p->change = change;
    p->item = g_steal_pointer (&item);
    lia_host_props_copy (&p->props, &props);
    p->xml = g_steal_pointer (&xml);
    g_ptr_array_add (pending, p);
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
    lia_engine_deletion_facts (c, &d, rec);
  else
    {
      /* The record is gone: its owner, state and start come from what the
       * last sync stored beside the original. An unknown owner (a cache
       * older than schema 2) is not the user. */
      g_autoptr (LiaCacheOriginal) row = lia_cache_load_original (c->cache, self->store, m->item_id, NULL);
      g_autoptr (LiaItem) orig = lia_engine_decode (row != NULL ? row->xml : NULL);
      LiaValue *start = orig != NULL ? lia_item_get (orig, "start") : NULL;

      d.crm_state = row != NULL && row->crm_state < LIA_RECORD_STATE_N
                        ? lia_engine_crm_state_of ((LiaRecordState) row->crm_state)
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

      lia_engine_link_props (self, &props, LIA_LINK_STATE_NONE, NULL, NULL);
      if (!lia_host_call_write_item (&self->link, self->store, m->item_id, NULL, &props, c->cancellable,
                                     &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  lia_engine_journal (c, "crm-delete", m->item_id, change->id, decision.reason);
  if (decision.action == LIA_DELETION_KEEP)
    return TRUE;
  return lia_cache_unmap (c->cache, self->store, m->item_id, error);
}

/* Errors that end the download (the rest would fail the same way); any
 * other error skips one change, which PrepareSync returns next cycle. */
static gboolean
stops_download (const GError *error)
{
  return lia_engine_is_network_error (error) || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
         || g_error_matches (error, LIA_ERROR, LIA_ERROR_STORE);
}

/* Takes the results of @n creates (@run[i] made @made[i], NULL with
 * @errors[i] when it failed) into the page: mapping and original in its
 * batch, its id to acknowledge. Frees @made and the errors. FALSE with the
 * first error that ends the download. */
static gboolean
record_made (Cycle *c, PendingCreate *const *run, guint n, char **made, GError **errors,
             LiaCacheBatch *page_batch, GPtrArray *ids, gint64 *anchor, GError **error)
{
  GError *fatal = NULL;

  for (guint i = 0; i < n; i++)
    {
      const PendingCreate *p = run[i];

      if (made[i] == NULL)
        {
          if (fatal == NULL && stops_download (errors[i]))
            fatal = g_steal_pointer (&errors[i]);
          else if (errors[i] != NULL)
            lia_engine_journal (c, "error", NULL, p->change->id, errors[i]->message);
          g_clear_error (&errors[i]);
          continue;
        }
      record_created (c, p->change, made[i], p->xml, page_batch);
      g_free (made[i]);
      *anchor = MAX (*anchor, p->change->version);
      g_ptr_array_add (ids, p->change->id);
      c->downloaded++;
      lia_engine_progress (c);
    }
  g_free (made);
  if (fatal != NULL)
    {
      g_propagate_error (error, fatal);
      return FALSE;
    }
  return TRUE;
}

/* Creates a page's new items in one go, so the host can store them
 * together (one EDS add_contacts call and one transaction instead of one
 * per item). Their mappings and originals go into the page's batch and are
 * committed with its anchor (STYLE 20); a crash before that leaves items
 * carrying their CRM id, which the replayed page relinks (R-DUP-NONE). */
static gboolean
create_pending (Cycle *c, GPtrArray *pending, LiaCacheBatch *page_batch, GPtrArray *ids, gint64 *anchor,
                GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree LiaItem **items = g_new0 (LiaItem *, pending->len);
  g_autofree LiaHostProps **props = g_new0 (LiaHostProps *, pending->len);
  g_autofree GError **errors = g_new0 (GError *, pending->len);
  g_autofree PendingCreate **run = g_new0 (PendingCreate *, pending->len);
  g_autofree gboolean *done = g_new0 (gboolean, pending->len);
  gboolean ok = TRUE;

  /* A page holds one entity, so one folder; grouped by folder anyway. */
  for (guint first = 0; first < pending->len; first++)
    {
      const char *folder;
      char **made;
      guint n = 0;

      if (done[first])
        continue;
      folder = self->folders[((PendingCreate *) g_ptr_array_index (pending, first))->change->entity];
      for (guint i = first; i < pending->len; i++)
        {
          PendingCreate *p = g_ptr_array_index (pending, i);

          if (done[i] || g_strcmp0 (self->folders[p->change->entity], folder) != 0)
            continue;
          done[i] = TRUE;
          run[n] = p;
          items[n] = p->item;
          props[n] = &p->props;
          errors[n] = NULL;
          n++;
        }
      made = lia_host_call_create_items (&self->link, self->store, folder, n, items, props, c->cancellable,
                                         errors);
      if (!record_made (c, run, n, made, errors, page_batch, ids, anchor, ok ? error : NULL))
        ok = FALSE;
    }
  return ok;
}

/* A page applied but not yet committed: the host may still be creating
 * its new items while the worker fetches and applies the next page, so
 * the org, the engine and the host work at the same time. Pages are still
 * committed (anchor, then PostSync) in order, each after its items. */
typedef struct
{
  LiaEntity entity;
  LiaSyncPage *page;       /* owned: the changes below borrow from it */
  LiaCacheBatch *batch;    /* owned */
  GPtrArray *ids;          /* owned: ids to acknowledge */
  GPtrArray *pending;      /* owned: PendingCreate */
  GHashTable *pending_ids; /* owned, nullable: CRM ids in pending */
  LiaHostCreates *creates; /* owned, nullable: pending's creates in flight */
  gint64 anchor;
} Flight;

static Flight *
flight_new (LiaEntity entity, LiaSyncPage *page)
{
  Flight *f = g_new0 (Flight, 1);

  f->entity = entity;
  f->page = page;
  f->batch = lia_cache_batch_new ();
  f->ids = g_ptr_array_new_full (lia_sync_page_get_n_changes (page) + 1, NULL);
  f->pending = g_ptr_array_new_with_free_func (pending_create_free);
  return f;
}

static void
flight_free (Flight *f)
{
  if (f == NULL)
    return;
  lia_host_creates_free (f->creates);
  g_clear_pointer (&f->pending_ids, g_hash_table_unref);
  g_ptr_array_unref (f->pending);
  g_ptr_array_unref (f->ids);
  lia_cache_batch_free (f->batch);
  lia_sync_page_free (f->page);
  g_free (f);
}

static gboolean
flight_holds (const Flight *f, const char *crm_id)
{
  return f != NULL && f->pending_ids != NULL && g_hash_table_contains (f->pending_ids, crm_id);
}

/* Posts the page's new items to the host without waiting. */
static void
flight_start (Cycle *c, Flight *f)
{
  LiaEngine *self = c->engine;
  g_autofree LiaItem **items = NULL;
  g_autofree LiaHostProps **props = NULL;
  const char *folder;

  if (f->pending->len == 0)
    return;
  folder = self->folders[((PendingCreate *) g_ptr_array_index (f->pending, 0))->change->entity];
  items = g_new0 (LiaItem *, f->pending->len);
  props = g_new0 (LiaHostProps *, f->pending->len);
  f->pending_ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < f->pending->len; i++)
    {
      PendingCreate *p = g_ptr_array_index (f->pending, i);

      /* Items for several folders: created in flight_finish(). */
      if (g_strcmp0 (self->folders[p->change->entity], folder) != 0)
        return;
      items[i] = p->item;
      props[i] = &p->props;
      g_hash_table_add (f->pending_ids, (gpointer) p->change->id);
    }
  f->creates = lia_host_call_create_items_start (&self->link, self->store, folder, f->pending->len, items,
                                                 props, c->cancellable);
}

/* Waits for the page's new items, then stores its anchor with its mappings
 * and originals (STYLE 20) and acknowledges it. */
static gboolean
flight_finish (Cycle *c, Flight *f, GError **error)
{
  LiaEngine *self = c->engine;
  g_autofree char *key = NULL;

  if (f->creates != NULL)
    {
      g_autofree GError **errors = g_new0 (GError *, f->pending->len);
      char **made = lia_host_call_create_items_finish (g_steal_pointer (&f->creates), errors);

      if (!record_made (c, (PendingCreate *const *) f->pending->pdata, f->pending->len, made, errors,
                        f->batch, f->ids, &f->anchor, error))
        return FALSE;
    }
  else if (f->pending->len > 0 && !create_pending (c, f->pending, f->batch, f->ids, &f->anchor, error))
    return FALSE;
  g_ptr_array_add (f->ids, NULL);
  /* The anchor is stored only after the page's items are applied
   * (STYLE 20), then acknowledged; a crash between the two replays the
   * page, which applies idempotently. */
  key = g_strdup_printf ("anchor:%s", lia_entity_to_string (f->entity));
  if (f->anchor > 0)
    {
      g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, f->anchor);

      lia_cache_batch_set_watermark (f->batch, key, value);
    }
  if (lia_cache_batch_get_size (f->batch) > 0 && !lia_cache_apply (c->cache, f->batch, error))
    return FALSE;
  if (f->ids->len > 1
      && !lia_crm_post_sync_sync (self->crm, c->sub, f->entity, (const char *const *) f->ids->pdata,
                                  c->cancellable, error))
    return FALSE;
  return TRUE;
}

/* Finishes and frees *@f, if any; FALSE (with @error when it is not set
 * yet) when finishing failed. */
static gboolean
flight_land (Cycle *c, Flight **f, GError **error)
{
  g_autoptr (GError) local = NULL;
  gboolean ok;

  if (*f == NULL)
    return TRUE;
  ok = flight_finish (c, *f, &local);
  g_clear_pointer (f, flight_free);
  if (!ok)
    {
      if (error != NULL && *error == NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_debug ("download: an earlier page not committed: %s", local->message);
    }
  return ok;
}

/* Applies the changes of @cur's page; new items wait in @cur->pending. A
 * change for an item still being created by the page before (*@prev)
 * waits for that page first. */
static gboolean
apply_page (Cycle *c, Flight *cur, Flight **prev, GError **error)
{
  guint n = lia_sync_page_get_n_changes (cur->page);

  for (guint i = 0; i < n; i++)
    {
      const LiaSyncChange *change = lia_sync_page_get_change (cur->page, i);
      g_autoptr (GError) local = NULL;
      guint deferred = cur->pending->len;
      gboolean ok;

      if (g_cancellable_set_error_if_cancelled (c->cancellable, error))
        return FALSE;
      /* R-MAIL-TRACK: a CRM email is never created or rewritten on the
       * host. Its creates and edits are acknowledged unapplied, or
       * PrepareSync would return them at every cycle; the cached original
       * is left alone, so a later host-side sync of the message still sees
       * what changed in CRM. */
      if (change->entity == LIA_ENTITY_EMAIL && change->op != LIA_SYNC_OP_DELETE)
        {
          g_ptr_array_add (cur->ids, change->id);
          continue;
        }
      if (flight_holds (*prev, change->id) && !flight_land (c, prev, error))
        return FALSE;
      ok = change->op == LIA_SYNC_OP_DELETE ? download_delete (c, change, &local)
                                            : download_upsert (c, change, cur->batch, cur->pending, &local);
      if (ok && cur->pending->len > deferred)
        continue; /* created with the page's other new items */
      if (!ok)
        {
          /* Not acknowledged: PrepareSync returns it next cycle. */
          if (stops_download (local))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          lia_engine_journal (c, "error", NULL, change->id, local->message);
          continue;
        }
      cur->anchor = MAX (cur->anchor, change->version);
      g_ptr_array_add (cur->ids, change->id);
      c->downloaded++;
      lia_engine_progress (c);
    }
  return TRUE;
}

gboolean
lia_engine_download (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaSyncSummary) summary = NULL;
  g_autofree char *types = lia_cache_dup_setting (c->cache, LIA_ENGINE_SETTING_ITEM_TYPES, NULL);
  guint wanted = LIA_ENGINE_ITEM_TYPES_ALL;
  guint mask = 0;

  /* R-SET-ITEMTYPES: nothing of a type the user left out comes to the
   * host (items of it tracked on the host still go up). It is neither
   * prepared nor fetched: the org then stops watching it for the push
   * (R-DET-PUSH), and prepares it in full once it is asked for again, so
   * its changes come down when it is checked again. A value that does not
   * parse (an older or broken tool wrote it) counts as the default, all. */
  if (types != NULL && !lia_engine_parse_item_types (types, &wanted, NULL))
    wanted = LIA_ENGINE_ITEM_TYPES_ALL;
  /* Email is asked for too, though it travels host to CRM only
   * (R-MAIL-TRACK): the subscription holds the emails this client tracked,
   * and their CRM deletes must reach it to unlink the host message
   * (R-DEL-IN-EMAIL). A tracked message may sit in any folder, so email
   * does not depend on a default folder. */
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    if ((self->folders[e] != NULL && (wanted & (1u << e))) || e == LIA_ENTITY_EMAIL)
      mask |= 1u << e;
  summary = lia_crm_prepare_sync_sync (self->crm, c->sub, mask, c->cancellable, error);
  if (summary == NULL)
    return FALSE;
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *cursor = NULL;
      Flight *prev = NULL;
      guint total = 0;

      if (!(mask & (1u << e)))
        continue;
      for (guint op = 0; op < LIA_SYNC_OP_N; op++)
        total += lia_sync_summary_get (summary, (LiaEntity) e, (LiaSyncOp) op);
      if (total == 0)
        continue;
      for (;;)
        {
          LiaSyncPage *page = lia_crm_get_sync_data_sync (self->crm, c->sub, (LiaEntity) e, cursor,
                                                          LIA_ENGINE_PAGE_SIZE, c->cancellable, error);
          Flight *cur;

          if (page == NULL)
            {
              flight_land (c, &prev, NULL);
              return FALSE;
            }
          cur = flight_new ((LiaEntity) e, page);
          if (!apply_page (c, cur, &prev, error))
            {
              flight_free (cur);
              flight_land (c, &prev, NULL);
              return FALSE;
            }
          /* This page's new items are created while the page before is
           * committed and the next one fetched and applied. */
          flight_start (c, cur);
          if (!flight_land (c, &prev, error))
            {
              flight_free (cur);
              return FALSE;
            }
          prev = cur;
          if (!lia_sync_page_get_more (page) || lia_sync_page_get_cursor (page) == NULL)
            break;
          g_free (cursor);
          cursor = g_strdup (lia_sync_page_get_cursor (page));
        }
      if (!flight_land (c, &prev, error))
        return FALSE;
    }
  return TRUE;
}
