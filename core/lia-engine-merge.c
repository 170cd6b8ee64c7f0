/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-private.h"
#include "lia-entity-rules-private.h"
#include "lia-scanner-private.h"

/* One linked pair: field policies, originals, the link properties, and
 * the merge applied on both sides (R-MERGE-ORDER). Shared by upload and
 * download. */

const LiaFieldPolicy *
lia_engine_policy_for (LiaEngine *self, LiaEntity entity)
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
LiaFieldPolicy *
lia_engine_item_policy (Cycle *c, LiaEntity entity, const LiaItem *host, const LiaItem *crm_view)
{
  return lia_entity_rules_dup_item_policy (lia_engine_policy_for (c->engine, entity), host, crm_view,
                                           c->update_company, lia_clock_now (c->engine->clock));
}

/* Worker. The org's field directions ("direction.ENTITY.FIELD") and this
 * user's field-level security ("access.ENTITY.FIELD" = "read" | "none")
 * come with the settings; they replace the registry defaults
 * (R-MERGE-DIRECTION, R-MERGE-FLS). A setting the registry refuses (a
 * fixed field, an unknown name) is ignored: the org checks them too, and
 * a newer org must not stop an older client. */
void
lia_engine_load_policies (LiaEngine *self, GHashTable *settings)
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

char *
lia_engine_encode (const LiaItem *item)
{
  g_autoptr (GError) error = NULL;
  char *xml;

  /* The intermediate original is NULL while the original is missing
   * (lia_merge_result_get_original_after_host()): it stays missing. */
  if (item == NULL)
    return NULL;
  xml = lia_original_encode (item, NULL, &error);

  if (xml == NULL)
    g_debug ("cannot encode an original: %s", error->message);
  return xml;
}

LiaItem *
lia_engine_decode (const char *xml)
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

char *
lia_engine_host_original (const LiaItem *original, const char *xml)
{
  g_autoptr (LiaItem) host = NULL;

  /* Every other entity: the same bytes, not a re-encoding. An email's
   * copy exists even when its full view is over the OriginalXML limit
   * (@xml NULL: a huge body), so regarding keeps its original. */
  if (original == NULL || lia_item_get_entity (original) != LIA_ENTITY_EMAIL)
    return g_strdup (xml);
  host = lia_entity_rules_dup_host_original (original);
  return lia_engine_encode (host);
}

void
lia_engine_link_props (LiaEngine *self, LiaHostProps *props, LiaLinkState state, const char *crm_id,
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

gboolean
lia_engine_store_original (Cycle *c, const char *item_id, const char *xml, gint64 host_modified,
                           const LiaCrmRecord *rec, GError **error)
{
  g_autoptr (LiaCacheOriginal) orig = lia_cache_original_new (c->engine->store, item_id, xml);

  orig->host_modified_at = host_modified;
  orig->crm_version = lia_crm_record_get_version (rec);
  orig->crm_modified_at = lia_crm_record_get_modified_on (rec);
  orig->crm_owner = g_strdup (lia_crm_record_get_owner (rec));
  orig->crm_state = lia_crm_record_get_state (rec);
  return lia_cache_store_original (c->cache, orig, error);
}

gboolean
lia_engine_record_facts_changed (const LiaCacheOriginal *row, const LiaCrmRecord *rec)
{
  return row == NULL || row->crm_state != (guint) lia_crm_record_get_state (rec)
         || g_strcmp0 (row->crm_owner, lia_crm_record_get_owner (rec)) != 0
         || row->crm_version != lia_crm_record_get_version (rec);
}

/* The fields CRM owns for this item (direction CRM to host, after the
 * entity rules) whose host value differs from CRM's, when the record
 * changed since the last sync: the host's wrong-side edits, to be
 * overwritten (R-MERGE-DIRECTION, R-APPT-SERVICE, R-CONTACT-COMPANY).
 * Fields the merge already writes are left to it. Values borrowed from
 * @crm_view. */
static GArray *
owned_field_writes (const LiaFieldPolicy *policy, const LiaCacheOriginal *row, const LiaCrmRecord *rec,
                    const LiaItem *host, const LiaItem *crm_view, const LiaFieldWrite *merged, guint n_merged)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (LiaFieldWrite));
  const LiaFieldInfo *fields;
  guint n = 0;

  if (row == NULL || row->crm_version == lia_crm_record_get_version (rec))
    return out;
  fields = lia_field_list (lia_item_get_entity (host), &n);
  for (guint i = 0; i < n; i++)
    {
      LiaValue *h = lia_item_get_at (host, i);
      LiaValue *r = lia_item_get_at (crm_view, i);
      gboolean merged_already = FALSE;

      if (lia_field_policy_get_direction (policy, fields[i].name) != LIA_DIRECTION_TO_HOST)
        continue;
      if ((h == NULL) == (r == NULL) && (h == NULL || lia_value_equal (h, r)))
        continue;
      for (guint w = 0; w < n_merged; w++)
        if (merged[w].index == i)
          merged_already = TRUE;
      if (!merged_already)
        {
          LiaFieldWrite write = { i, &fields[i], r };

          g_array_append_val (out, write);
        }
    }
  return out;
}

/* Merges one linked pair and applies the result on both sides in
 * R-MERGE-ORDER: CRM to host first (and its original), then host to CRM
 * (and the final original). @fallback_original is the item's own
 * `original` property, used when the cache has none (rebuilt cache). The
 * cache keeps the full original, the host its copy from
 * lia_engine_host_original() (for email, regarding only). */
gboolean
lia_engine_sync_pair (Cycle *c, const LiaHostItem *hi, const LiaCrmRecord *rec_in, gboolean rec_full,
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
      g_autoptr (LiaItem) original = lia_engine_decode (old_xml);
      g_autoptr (LiaMergeResult) result = NULL;
      g_autoptr (LiaItem) host_now = lia_item_copy (host_cur);
      g_autoptr (LiaCrmRecord) stored = NULL;
      g_autoptr (GError) local = NULL;
      g_autofree char *final_xml = NULL;
      g_autofree char *final_host_xml = NULL;
      /* The merge sees CRM with the fields the client derives from it
       * (R-TASK-REMINDER), and a policy the entity rules narrowed for this
       * item as both sides are now. */
      g_autoptr (LiaItem) crm_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (rec));
      g_autoptr (LiaFieldPolicy) policy = lia_engine_item_policy (c, entity, host_cur, crm_view);
      const LiaFieldWrite *writes;
      guint n_host = 0;
      guint n_crm = 0;

      /* Only the host's copy was left (or none), which for email holds
       * regarding alone (R-MAIL-TRACK): the originals this merge stores in
       * the cache take the message's other fields, as the scanner's relink
       * does, so that correlation can read them. The merge itself only
       * looks at regarding. */
      gboolean rebuild = row == NULL && entity == LIA_ENTITY_EMAIL;

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
      /* R-MERGE-DIRECTION: a CRM-to-host field the user changed on the host
       * is overwritten by the next change from CRM, of whatever field. */
      g_autoptr (GArray) owned = owned_field_writes (policy, row, rec, host_cur, crm_view, writes, n_host);
      if (owned->len > 0)
        {
          for (guint w = 0; w < n_host; w++)
            g_array_append_val (owned, writes[w]);
          writes = (const LiaFieldWrite *) (gpointer) owned->data;
          n_host = owned->len;
        }
      if (n_host > 0)
        {
          const LiaItem *mid = lia_merge_result_get_original_after_host (result);
          g_autoptr (LiaItem) mid_rebuilt =
              rebuild && mid != NULL ? lia_entity_rules_dup_relinked_original (mid, host_cur) : NULL;
          g_autofree char *mid_xml = NULL;
          g_autofree char *mid_host_xml = NULL;
          g_auto (LiaHostProps) props = { 0 };

          if (mid_rebuilt != NULL)
            mid = mid_rebuilt;
          mid_xml = lia_engine_encode (mid);
          mid_host_xml = lia_engine_host_original (mid, mid_xml);
          if (!lia_merge_apply_writes (host_now, writes, n_host, error))
            return FALSE;
          lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, mid_host_xml);
          if (!lia_host_call_write_item (&self->link, self->store, hi->item_id, host_now, &props,
                                         c->cancellable, error))
            return FALSE;
          lia_item_free (host_cur);
          host_cur = lia_item_copy (host_now);
          if (mid_xml != NULL
              && !lia_engine_store_original (c, hi->item_id, mid_xml, hi->modified_at, rec, error))
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
      {
        const LiaItem *final = lia_merge_result_get_original (result);
        g_autoptr (LiaItem) final_rebuilt =
            rebuild ? lia_entity_rules_dup_relinked_original (final, host_cur) : NULL;

        if (final_rebuilt != NULL)
          final = final_rebuilt;
        final_xml = lia_engine_encode (final);
        final_host_xml = lia_engine_host_original (final, final_xml);
      }
      if (final_xml != NULL && g_strcmp0 (final_xml, old_xml) != 0)
        {
          g_auto (LiaHostProps) props = { 0 };

          lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, final_host_xml);
          /* The cache copy changes alone when the host already has its
           * copy (an email relinked from its host original). */
          if ((row != NULL || g_strcmp0 (final_host_xml, fallback_original) != 0)
              && !lia_host_call_write_item (&self->link, self->store, hi->item_id, NULL, &props,
                                            c->cancellable, error))
            return FALSE;
          if (!lia_engine_store_original (c, hi->item_id, final_xml, hi->modified_at,
                                          stored != NULL ? stored : rec, error))
            return FALSE;
        }
      else if (final_xml != NULL && lia_engine_record_facts_changed (row, stored != NULL ? stored : rec))
        {
          /* A CRM change of state or owner alone changes no synchronized
           * field, but the deletion rules read the state and owner the
           * last sync saw once the record is gone (R-DEL-IN-TASK,
           * R-DEL-IN-CONTACT): remember them. */
          if (!lia_engine_store_original (c, hi->item_id, final_xml, hi->modified_at,
                                          stored != NULL ? stored : rec, error))
            return FALSE;
        }
      if (n_host > 0 || n_crm > 0)
        lia_engine_journal (c, "merge", hi->item_id, lia_crm_record_get_id (rec),
                            n_host > 0 && n_crm > 0 ? "merged both ways"
                            : n_host > 0            ? "CRM changes applied to the host"
                                                    : "host changes sent to CRM");
      return TRUE;
    }
}

LiaCrmState
lia_engine_crm_state_of (LiaRecordState state)
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

void
lia_engine_deletion_facts (Cycle *c, LiaDeletion *d, const LiaCrmRecord *rec)
{
  LiaValue *start = lia_item_get (lia_crm_record_get_item (rec), "start");

  d->crm_state = lia_engine_crm_state_of (lia_crm_record_get_state (rec));
  d->user_is_owner = g_strcmp0 (lia_crm_record_get_owner (rec), c->user_id) == 0;
  d->user_is_organizer = d->user_is_owner;
  if (start != NULL && lia_value_get_kind (start) == LIA_VALUE_DATETIME)
    {
      d->has_start = TRUE;
      d->start_us = lia_value_get_instant (start);
    }
}
