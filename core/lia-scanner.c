/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-entity-rules-private.h"
#include "lia-scanner-private.h"

#define SCAN_PAGE 100

/* Changes found are collected and committed once per folder: one fsync
 * for a scan, not one per change. */
static void
enqueue (LiaCacheBatch *batch, LiaChangeOp op, const char *store, const char *folder, const char *item_id,
         LiaEntity entity, const char *crm_id)
{
  g_autoptr (LiaCacheChange) change =
      lia_cache_change_new (LIA_DIRECTION_TO_CRM, op, store, item_id, entity, crm_id);

  change->folder = g_strdup (folder);
  lia_cache_batch_enqueue (batch, change);
}

static gboolean
commit (LiaCache *cache, LiaCacheBatch *batch, GError **error)
{
  return lia_cache_batch_get_size (batch) == 0 || lia_cache_apply (cache, batch, error);
}

/* Whether the item's fields differ from its last synchronized state. A
 * missing or corrupt original counts as a change (R-MERGE-ORIGINAL). */
static gboolean
differs_from_row (const LiaCacheOriginal *row, const LiaHostItem *hi)
{
  g_autoptr (LiaItem) orig = NULL;

  if (row == NULL || row->xml == NULL)
    return TRUE;
  orig = lia_original_decode (row->xml, strlen (row->xml), NULL);
  if (orig == NULL)
    return TRUE;
  /* The original holds only synchronized fields, so compare those: a host
   * field outside the field map is not a change. */
  {
    guint n = 0;
    const LiaFieldInfo *fields = lia_field_list (lia_item_get_entity (orig), &n);

    for (guint i = 0; i < n; i++)
      {
        LiaValue *a = lia_item_get_at (orig, i);
        LiaValue *b = lia_item_get_at (hi->item, i);

        if (fields[i].direction == LIA_DIRECTION_NONE)
          continue;
        if ((a == NULL) != (b == NULL) || (a != NULL && !lia_value_equal (a, b)))
          return TRUE;
      }
  }
  return FALSE;
}

static gboolean
differs_from_original (LiaCache *cache, const LiaHostItem *hi)
{
  g_autoptr (LiaCacheOriginal) row = lia_cache_load_original (cache, hi->store, hi->item_id, NULL);

  return differs_from_row (row, hi);
}

/* The cache's original rebuilt from the item's own (relink, R-DUP-NONE):
 * the host's copy of every entity but email, byte for byte; an email's
 * holds regarding only (R-MAIL-TRACK), so its cache copy is the message
 * with that regarding (lia_entity_rules_dup_relinked_original()), which
 * correlation reads. NULL when it is corrupt: missing, as the merge
 * would treat it (R-MERGE-ORIGINAL). */
static char *
relinked_original (const LiaHostItem *hi)
{
  g_autoptr (LiaItem) host_original = NULL;
  g_autoptr (LiaItem) rebuilt = NULL;

  if (hi->props.original == NULL || lia_item_get_entity (hi->item) != LIA_ENTITY_EMAIL)
    return g_strdup (hi->props.original);
  host_original = lia_original_decode (hi->props.original, strlen (hi->props.original), NULL);
  rebuilt = host_original != NULL ? lia_entity_rules_dup_relinked_original (host_original, hi->item) : NULL;
  return rebuilt != NULL ? lia_original_encode (rebuilt, NULL, NULL) : NULL;
}

/* Whether the host last changed the item before the engine stored its
 * original, so it is as the engine wrote it: the original of an item the
 * engine created holds the engine's clock right after the create, while
 * the other paths store the host's own stamp as they read it, which a
 * later host change never undercuts. A host stamp with one-second
 * resolution gives a change made in the same second as the create an
 * earlier stamp than that: such a change, made while the engine runs, is
 * reported by its notification (R-DET-NOTIFY; the adapter swallows only
 * the one echo of each own write). The scanner is for changes made while
 * nothing listened, and those come later. */
static gboolean
unchanged_since_own_write (const LiaCacheOriginal *row, gint64 host_modified_at)
{
  return row != NULL && row->xml != NULL && host_modified_at > 0 && host_modified_at < row->host_modified_at;
}

gboolean
lia_scanner_relink (LiaCache *cache, const LiaCacheMapping *from, const char *folder, const char *item_id,
                    GError **error)
{
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  g_autoptr (LiaCacheMapping) to = lia_cache_mapping_copy (from);
  g_autoptr (LiaCacheOriginal) orig = lia_cache_load_original (cache, from->store, from->item_id, NULL);

  if (g_strcmp0 (from->item_id, item_id) == 0)
    return TRUE;
  g_free (to->item_id);
  to->item_id = g_strdup (item_id);
  if (folder != NULL)
    {
      g_free (to->folder);
      to->folder = g_strdup (folder);
    }
  /* One transaction: the link is never lost nor held twice. The mapping
   * keeps its store (the profile's primary store, R-MARK-PROFILE) so that
   * lookups by CRM id still find it. */
  lia_cache_batch_unmap (batch, from->store, from->item_id);
  lia_cache_batch_map (batch, to);
  if (orig != NULL)
    {
      g_free (orig->item_id);
      orig->item_id = g_strdup (item_id);
      lia_cache_batch_store_original (batch, orig);
    }
  g_debug ("scanner: relinked %s -> %s (moved)", from->item_id, item_id);
  return lia_cache_apply (cache, batch, error);
}

gboolean
lia_scanner_relink_if_moved (const LiaHostLink *link, LiaCache *cache, const char *store, const char *folder,
                             LiaEntity entity, const char *crm_id, const char *item_id,
                             gboolean *out_relinked, GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaCacheMapping) holder = lia_cache_lookup_crm (cache, store, entity, crm_id, NULL);
  g_autoptr (LiaHostItem) old = NULL;
  g_autoptr (GError) local = NULL;

  *out_relinked = FALSE;
  if (holder == NULL)
    return TRUE;
  old = lia_host_call_read_item (link, holder->store, holder->item_id, cancellable, &local);
  if (old != NULL && g_strcmp0 (old->props.crm_id, crm_id) == 0)
    return TRUE;
  if (old == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!lia_scanner_relink (cache, holder, folder, item_id, error))
    return FALSE;
  *out_relinked = TRUE;
  return TRUE;
}

gboolean
lia_scanner_scan_folder (const LiaHostLink *link, LiaCache *cache, const char *store, const char *folder,
                         LiaEntity entity, gint64 watermark, gboolean promote, GHashTable *queued,
                         LiaScanStats *stats, GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();

  for (guint offset = 0;; offset += SCAN_PAGE)
    {
      g_autoptr (GPtrArray) rows =
          lia_host_call_read_contents (link, store, folder, offset, SCAN_PAGE, cancellable, error);

      if (rows == NULL)
        return FALSE;
      for (guint i = 0; i < rows->len; i++)
        {
          const LiaHostRow *row = g_ptr_array_index (rows, i);
          g_autoptr (LiaCacheMapping) m = NULL;
          g_autoptr (LiaHostItem) hi = NULL;
          g_autoptr (LiaCacheOriginal) stored = NULL;
          g_autoptr (GError) local = NULL;

          /* R-DET-SCAN: newest first, stop at the first item older than
           * the last completed sync. */
          if (row->modified_at < watermark)
            return commit (cache, batch, error);
          stats->rows_read++;
          if (row->link_state == LIA_LINK_STATE_NONE && row->crm_id == NULL)
            continue;
          /* Already queued (by a notification): the queue has it. */
          if (queued != NULL && g_hash_table_contains (queued, row->item_id))
            continue;
          m = lia_cache_lookup_item (cache, store, row->item_id, &local);
          if (m == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if (m == NULL && row->crm_id != NULL && row->link_state == LIA_LINK_STATE_TRACKED)
            {
              g_autoptr (LiaCacheMapping) rebuilt = NULL;
              g_autoptr (LiaCacheOriginal) orig = NULL;
              g_autoptr (GError) dup = NULL;

              /* R-DUP-NONE: a linked item without a mapping (lost cache,
               * or linked by the other client of a shared mailbox) is
               * relinked from its own properties, never re-created. */
              hi = lia_host_call_read_item (link, store, row->item_id, cancellable, error);
              if (hi == NULL)
                return FALSE;
              rebuilt = lia_cache_mapping_new (store, folder, row->item_id, lia_item_get_entity (hi->item),
                                               row->crm_id, LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_FILTER);
              if (!lia_cache_map (cache, rebuilt, &dup))
                {
                  gboolean relinked = FALSE;

                  if (!g_error_matches (dup, LIA_ERROR, LIA_ERROR_CONFLICT))
                    {
                      g_propagate_error (error, g_steal_pointer (&dup));
                      return FALSE;
                    }
                  /* Another item holds this CRM id. When the host no longer
                   * has it, this is that item moved under a new id: relink,
                   * never delete + create. Otherwise leave this one for the
                   * doctor (R-DUP-DOCTOR) rather than guess. */
                  if (!lia_scanner_relink_if_moved (link, cache, store, folder,
                                                    lia_item_get_entity (hi->item), row->crm_id, row->item_id,
                                                    &relinked, cancellable, error))
                    return FALSE;
                  if (!relinked)
                    continue;
                  stats->relinked++;
                  if (differs_from_original (cache, hi))
                    {
                      enqueue (batch, LIA_CHANGE_OP_UPDATE, store, folder, row->item_id,
                               lia_item_get_entity (hi->item), row->crm_id);
                      stats->queued++;
                    }
                  continue;
                }
              if (hi->props.original != NULL)
                {
                  g_autofree char *xml = relinked_original (hi);

                  if (xml != NULL)
                    {
                      orig = lia_cache_original_new (store, row->item_id, xml);
                      orig->host_modified_at = hi->modified_at;
                      if (!lia_cache_store_original (cache, orig, error))
                        return FALSE;
                    }
                }
              stats->relinked++;
              if (differs_from_original (cache, hi))
                {
                  enqueue (batch, LIA_CHANGE_OP_UPDATE, store, folder, row->item_id,
                           lia_item_get_entity (hi->item), row->crm_id);
                  stats->queued++;
                }
              continue;
            }
          if ((m == NULL || m->state == LIA_LINK_STATE_MARKED) && row->link_state == LIA_LINK_STATE_MARKED)
            {
              /* Marked by a delegate or before the plugin ran: the
               * primary promotes it (R-ROLE-DELEGATE). */
              if (!promote)
                continue;
              if (m == NULL)
                {
                  g_autoptr (LiaCacheMapping) marked =
                      lia_cache_mapping_new (store, folder, row->item_id, entity, NULL, LIA_LINK_STATE_MARKED,
                                             LIA_LINK_ORIGIN_MANUAL);

                  hi = lia_host_call_read_item (link, store, row->item_id, cancellable, error);
                  if (hi == NULL)
                    return FALSE;
                  marked->entity = lia_item_get_entity (hi->item);
                  if (!lia_cache_map (cache, marked, error))
                    return FALSE;
                }
              enqueue (batch, LIA_CHANGE_OP_TRACK, store, folder, row->item_id,
                       m != NULL ? m->entity : lia_item_get_entity (hi->item), NULL);
              stats->promoted++;
              stats->queued++;
              continue;
            }
          if (m == NULL || m->state != LIA_LINK_STATE_TRACKED)
            continue;
          /* An email's fields never change and its regarding changes come
           * as notifications: a linked message is not read back (a bulk
           * track makes thousands newer than the watermark). */
          if (m->entity == LIA_ENTITY_EMAIL)
            continue;
          stored = lia_cache_load_original (cache, store, row->item_id, NULL);
          /* Items the last cycle created (a whole initial sync) are not
           * read back one by one. */
          if (unchanged_since_own_write (stored, row->modified_at))
            {
              stats->unchanged++;
              continue;
            }
          hi = lia_host_call_read_item (link, store, row->item_id, cancellable, &local);
          stats->items_read++;
          if (hi == NULL)
            {
              if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
                continue;
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if (differs_from_row (stored, hi))
            {
              enqueue (batch, LIA_CHANGE_OP_UPDATE, store, folder, row->item_id, m->entity, m->crm_id);
              stats->queued++;
            }
        }
      if (rows->len < SCAN_PAGE)
        return commit (cache, batch, error);
    }
}

gboolean
lia_scanner_reconcile_deletes (const LiaHostLink *link, LiaCache *cache, const char *store,
                               const char *folder, guint *out_queued, GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (GPtrArray) mappings = lia_cache_list_mappings (cache, store, folder, error);
  g_autoptr (GHashTable) present = NULL;
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  guint queued = 0;

  if (mappings == NULL)
    return FALSE;
  if (mappings->len == 0)
    {
      *out_queued = 0;
      return TRUE;
    }
  present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint offset = 0;; offset += SCAN_PAGE)
    {
      g_autoptr (GPtrArray) rows =
          lia_host_call_read_contents (link, store, folder, offset, SCAN_PAGE, cancellable, error);

      if (rows == NULL)
        return FALSE;
      for (guint i = 0; i < rows->len; i++)
        g_hash_table_add (present, g_strdup (((const LiaHostRow *) g_ptr_array_index (rows, i))->item_id));
      if (rows->len < SCAN_PAGE)
        break;
    }
  for (guint i = 0; i < mappings->len; i++)
    {
      const LiaCacheMapping *m = g_ptr_array_index (mappings, i);

      g_autoptr (LiaHostItem) moved = NULL;
      g_autoptr (GError) local = NULL;

      if (g_hash_table_contains (present, m->item_id))
        continue;
      /* R-MARK-PROFILE: an item moved to another store stays tracked; a
       * host that still finds it by id, carrying its link, did not lose
       * it. Only an item the host no longer has is a delete. */
      moved = lia_host_call_read_item (link, store, m->item_id, cancellable, &local);
      if (moved == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (moved != NULL && g_strcmp0 (moved->props.crm_id, m->crm_id) == 0)
        continue;
      /* R-DET-DELETES: mapped, but the folder no longer has it. */
      enqueue (batch, LIA_CHANGE_OP_DELETE, store, folder, m->item_id, m->entity, m->crm_id);
      queued++;
    }
  if (!commit (cache, batch, error))
    return FALSE;
  *out_queued = queued;
  return TRUE;
}
