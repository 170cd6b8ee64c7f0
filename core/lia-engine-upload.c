/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-scanner-private.h"

/* Phase 2: drain the outbound queue (R-DET-NOTIFY, R-IMM-*). */

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
  g_autofree char *host_xml = NULL;
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

      return rec != NULL && lia_engine_sync_pair (c, hi, rec, TRUE, hi->props.original, error);
    }
  /* R-APPT-SERVICE (and R-UNSUPPORTED): what may not be tracked from the
   * host never creates a CRM record, whatever marked it (the dispatcher
   * refuses the command; a mark set by another client or a scan ends
   * here). Kept as a failed change with the rule's message for the user. */
  if (!lia_entity_rules_check_track (entity, &local))
    {
      lia_engine_journal (c, "refused", change->item_id, NULL, local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  {
    /* R-APPT-PAST does not hold yet (no CRM side): tracking a past
     * appointment creates its record; the rules hold it afterwards. */
    g_autoptr (LiaFieldPolicy) policy = lia_engine_item_policy (c, entity, hi->item, NULL);

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

    xml = lia_engine_encode (made_view);
    host_xml = lia_engine_host_original (made_view, xml);
  }
  lia_engine_link_props (self, &props, LIA_LINK_STATE_TRACKED, lia_crm_record_get_id (made), host_xml);
  if (!lia_host_call_write_item (&self->link, change->store, change->item_id, NULL, &props, c->cancellable,
                                 error))
    return FALSE;
  mapping =
      lia_cache_mapping_new (change->store, hi->folder, change->item_id, entity, lia_crm_record_get_id (made),
                             LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
  if (!lia_cache_map (c->cache, mapping, error))
    return FALSE;
  if (xml != NULL && !lia_engine_store_original (c, change->item_id, xml, hi->modified_at, made, error))
    return FALSE;
  lia_engine_journal (c, "track", change->item_id, lia_crm_record_get_id (made),
                      "tracked in CRM (R-MARK-TRACK)");
  return TRUE;
}

/* An item with no mapping under its id that carries a CRM id: when the
 * mapping of that CRM id belongs to an item the host no longer has, this
 * is that item moved under a new id. Relinks it (never delete + create);
 * returns the mapping now found, or NULL. */
static LiaCacheMapping *
relink_moved (Cycle *c, const LiaCacheChange *change, gboolean promote_marked, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (GError) local = NULL;
  gboolean relinked = FALSE;

  hi = lia_host_call_read_item (&self->link, change->store, change->item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      if (!g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (hi->props.link_state == LIA_LINK_STATE_MARKED && promote_marked)
    {
      /* Marked, moved before its promotion: the mark moved with it. */
      g_autoptr (LiaCacheMapping) marked =
          lia_cache_mapping_new (self->store, change->folder, change->item_id, lia_item_get_entity (hi->item),
                                 NULL, LIA_LINK_STATE_MARKED, LIA_LINK_ORIGIN_MANUAL);

      if (!lia_cache_map (c->cache, marked, error))
        return NULL;
      return g_steal_pointer (&marked);
    }
  if (hi->props.link_state != LIA_LINK_STATE_TRACKED || hi->props.crm_id == NULL)
    return NULL;
  if (!lia_scanner_relink_if_moved (&self->link, c->cache, self->store, change->folder,
                                    lia_item_get_entity (hi->item), hi->props.crm_id, change->item_id,
                                    &relinked, c->cancellable, error)
      || !relinked)
    return NULL;
  lia_engine_journal (c, "moved", change->item_id, hi->props.crm_id, "relinked after a move (R-DUP-NONE)");
  return lia_cache_lookup_item (c->cache, self->store, change->item_id, NULL);
}

static gboolean
upload_update (Cycle *c, const LiaCacheChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GError) local = NULL;

  if (m == NULL && g_strcmp0 (change->store, self->store) != 0)
    m = lia_cache_lookup_item (c->cache, self->store, change->item_id, NULL);
  if (m == NULL)
    {
      /* A marked item with no mapping (marked by a delegate, or moved
       * before its promotion by a host that reports a move as a delete
       * and a create) is promoted here, as the scan does: the scan skips
       * items the queue holds, so this change is its only chance until
       * the item changes again (R-ROLE-DELEGATE, R-MARK-PROFILE). Only
       * the primary uploads PIM changes; email marks stay the email
       * phases' business. */
      m = relink_moved (c, change, change->entity != LIA_ENTITY_EMAIL, &local);
      if (m == NULL)
        {
          if (local == NULL)
            return TRUE; /* untracked since: nothing to send */
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
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
  return rec != NULL && lia_engine_sync_pair (c, hi, rec, TRUE, hi->props.original, error);
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
  lia_engine_journal (c, "regarding", change->item_id, m->crm_id, "regarding set (R-MARK-REGARDING)");
  return TRUE;
}

/* The host moved a linked item and gave it a new id: the payload is
 * "old store\nold item id". The link moves with the item (R-MARK-PROFILE,
 * R-DUP-NONE); a marked item is then promoted, a tracked one merged. */
static gboolean
upload_move (Cycle *c, const LiaCacheChange *change, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheMapping) old = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *old_store = NULL;
  const char *payload;
  const char *newline;
  gsize size = 0;
  LiaCacheChange moved;

  payload = change->payload != NULL ? g_bytes_get_data (change->payload, &size) : NULL;
  newline = payload != NULL ? memchr (payload, '\n', size) : NULL;
  if (newline == NULL || newline + 1 >= payload + size)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "a move names no former item");
      return FALSE;
    }
  old_store = g_strndup (payload, (gsize) (newline - payload));
  {
    g_autofree char *old_id = g_strndup (newline + 1, (gsize) (payload + size - newline - 1));

    old = lia_cache_lookup_item (c->cache, *old_store != '\0' ? old_store : change->store, old_id, NULL);
    if (old == NULL)
      old = lia_cache_lookup_item (c->cache, self->store, old_id, NULL);
  }
  moved = *change;
  if (old != NULL)
    {
      if (!lia_scanner_relink (c->cache, old, change->folder, change->item_id, error))
        return FALSE;
      lia_engine_journal (c, "moved", change->item_id, old->crm_id, "relinked after a move (R-DUP-NONE)");
      moved.store = old->store;
      m = lia_cache_lookup_item (c->cache, old->store, change->item_id, NULL);
    }
  else
    {
      m = relink_moved (c, change, TRUE, &local);
      if (m == NULL)
        {
          if (local == NULL)
            return TRUE; /* not linked: nothing to carry */
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      moved.store = m->store;
    }
  /* Email: the link is all a move changes (the message's fields do not);
   * its regarding and tracking stay the email phases' business. */
  if (m != NULL && m->entity == LIA_ENTITY_EMAIL)
    return TRUE;
  if (m != NULL && m->state == LIA_LINK_STATE_MARKED)
    return upload_track (c, &moved, error);
  return upload_update (c, &moved, error);
}

/* The item of @m's folder, other than @m's, that carries @m's CRM id and
 * is linked but not mapped: @m's item moved under a new id and reported
 * as a delete (and perhaps a create). The whole folder is read, once per
 * cycle (the index download uses too): hosts keep an item's modification
 * time on a move (IMAP, Maildir, vCard REV), so the copy may be older
 * than the watermark. Only cycles that upload a delete pay for it.
 * *@out_item_id NULL when there is none. */
static gboolean
find_moved_copy (Cycle *c, const LiaCacheMapping *m, char **out_item_id, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (GError) local = NULL;
  g_autoptr (LiaCacheMapping) taken = NULL;
  const LiaHostRow *row = lia_engine_find_by_crm_id (c, m->entity, m->crm_id, &local);

  *out_item_id = NULL;
  if (row == NULL && local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (row == NULL || row->link_state != LIA_LINK_STATE_TRACKED || g_strcmp0 (row->item_id, m->item_id) == 0)
    return TRUE;
  taken = lia_cache_lookup_item (c->cache, self->store, row->item_id, NULL);
  if (taken == NULL)
    *out_item_id = g_strdup (row->item_id);
  return TRUE;
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
  /* A host that reports a move as a delete and a create (or a create the
   * scanner found): the item carrying this CRM id under another id is the
   * same item. Relink it; nothing is deleted on either side. */
  if (!untrack && m->entity != LIA_ENTITY_EMAIL && self->folders[m->entity] != NULL)
    {
      g_autofree char *moved_to = NULL;

      if (!find_moved_copy (c, m, &moved_to, error))
        return FALSE;
      if (moved_to != NULL)
        {
          if (!lia_scanner_relink (c->cache, m, self->folders[m->entity], moved_to, error))
            return FALSE;
          lia_engine_journal (c, "moved", moved_to, m->crm_id, "relinked after a move (R-DUP-NONE)");
          return TRUE;
        }
    }
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
    lia_engine_deletion_facts (c, &d, rec);
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

      lia_engine_link_props (self, &props, LIA_LINK_STATE_NONE, NULL, NULL);
      g_clear_error (&local);
      if (!lia_host_call_write_item (&self->link, change->store, change->item_id, NULL, &props,
                                     c->cancellable, &local)
          && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  lia_engine_journal (c, untrack ? "untrack" : "host-delete", change->item_id, m->crm_id, decision.reason);
  return lia_cache_unmap (c->cache, change->store, change->item_id, error);
}

gboolean
lia_engine_upload (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaClientRole role;

  g_mutex_lock (&self->lock);
  role = self->role;
  g_mutex_unlock (&self->lock);
  for (;;)
    {
      g_autoptr (GPtrArray) batch = lia_cache_claim (c->cache, LIA_DIRECTION_TO_CRM, LIA_ENGINE_CLAIM_BATCH,
                                                     LIA_ENGINE_CLAIM_LEASE_US, error);

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
          else if (change->op == LIA_CHANGE_OP_MOVE)
            ok = upload_move (c, change, &local);
          else if (change->op == LIA_CHANGE_OP_DELETE || change->op == LIA_CHANGE_OP_UNTRACK)
            ok = upload_remove (c, change, &local);
          else
            ok = upload_update (c, change, &local);
          if (ok)
            {
              if (!lia_cache_complete (c->cache, &change->id, 1, error))
                return FALSE;
              c->uploaded++;
              lia_engine_progress (c);
              continue;
            }
          /* R-IMM-FALLBACK: kept, retried with backoff, never dropped. */
          if (!lia_cache_fail (c->cache, change->id, local->message, NULL, error))
            return FALSE;
          if (lia_engine_is_network_error (local)
              || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
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
