/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-doctor.h"
#include "lia-engine-private.h"

#define DOCTOR_PAGE 200

static const char *const kind_names[] = {
  [LIA_DOCTOR_UNMAPPED_LINK] = "unmapped-link",
  [LIA_DOCTOR_GONE_IN_CRM] = "gone-in-crm",
  [LIA_DOCTOR_DUPLICATE] = "duplicate",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == LIA_DOCTOR_N);

const char *
lia_doctor_kind_to_string (LiaDoctorKind kind)
{
  g_return_val_if_fail ((guint) kind < LIA_DOCTOR_N, NULL);
  return kind_names[kind];
}

void
lia_doctor_issue_free (LiaDoctorIssue *issue)
{
  if (issue == NULL)
    return;
  g_free (issue->folder);
  g_free (issue->item_id);
  g_free (issue->crm_id);
  g_free (issue);
}

static LiaDoctorIssue *
issue_new (LiaDoctorKind kind, const char *folder, const char *item_id, const char *crm_id)
{
  LiaDoctorIssue *issue = g_new0 (LiaDoctorIssue, 1);

  issue->kind = kind;
  issue->folder = g_strdup (folder);
  issue->item_id = g_strdup (item_id);
  issue->crm_id = g_strdup (crm_id);
  return issue;
}

static gboolean
clear_link (const LiaHostLink *link, const char *store, const char *item_id, GCancellable *cancellable,
            GError **error)
{
  g_auto (LiaHostProps) props = { 0 };

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "0");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, NULL);
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ORG, NULL);
  lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, NULL);
  return lia_host_call_write_item (link, store, item_id, NULL, &props, cancellable, error);
}

/* One folder: its rows against the mapping, and each mapped record against
 * the org. @seen (crm id -> item id) spans the folders of one entity kind. */
static gboolean
doctor_folder (LiaEngine *engine, const char *folder, guint fix_mask, GPtrArray *issues,
               GCancellable *cancellable, GError **error)
{
  const LiaHostLink *link = lia_engine_get_host_link (engine);
  LiaCache *cache = lia_engine_get_cache (engine);
  LiaCrm *crm = lia_engine_get_crm (engine);
  const char *store = lia_engine_get_store (engine);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  g_autoptr (GHashTable) owner = g_hash_table_new (g_str_hash, g_str_equal); /* crm id -> row */

  for (guint offset = 0;; offset += DOCTOR_PAGE)
    {
      g_autoptr (GPtrArray) page =
          lia_host_call_read_contents (link, store, folder, offset, DOCTOR_PAGE, cancellable, error);
      guint n;

      if (page == NULL)
        return FALSE;
      n = page->len;
      g_ptr_array_extend_and_steal (rows, g_steal_pointer (&page));
      if (n < DOCTOR_PAGE)
        break;
    }
  /* First pass: which item holds each CRM id. The mapped item wins, so a
   * duplicate is always the copy the cache does not know. */
  for (guint i = 0; i < rows->len; i++)
    {
      LiaHostRow *row = g_ptr_array_index (rows, i);
      g_autoptr (LiaCacheMapping) m = NULL;

      if (row->crm_id == NULL)
        continue;
      m = lia_cache_lookup_item (cache, store, row->item_id, NULL);
      if (m != NULL && g_strcmp0 (m->crm_id, row->crm_id) == 0)
        g_hash_table_insert (owner, row->crm_id, row);
    }
  for (guint i = 0; i < rows->len; i++)
    {
      LiaHostRow *row = g_ptr_array_index (rows, i);
      g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (cache, store, row->item_id, NULL);
      LiaDoctorIssue *issue = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (row->crm_id != NULL)
        {
          LiaHostRow *holder = g_hash_table_lookup (owner, row->crm_id);

          if (holder == NULL)
            g_hash_table_insert (owner, row->crm_id, row);
          else if (holder != row)
            {
              issue = issue_new (LIA_DOCTOR_DUPLICATE, folder, row->item_id, row->crm_id);
              g_ptr_array_add (issues, issue);
              if (fix_mask & (1u << LIA_DOCTOR_DUPLICATE))
                {
                  g_autoptr (GError) local = NULL;

                  if (!lia_host_call_delete_item (link, store, row->item_id, cancellable, &local)
                      && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
                    {
                      g_propagate_error (error, g_steal_pointer (&local));
                      return FALSE;
                    }
                  if (m != NULL && !lia_cache_unmap (cache, store, row->item_id, error))
                    return FALSE;
                  issue->fixed = TRUE;
                }
              continue;
            }
        }
      if (m == NULL && (row->crm_id != NULL || row->link_state == LIA_LINK_STATE_TRACKED))
        {
          issue = issue_new (LIA_DOCTOR_UNMAPPED_LINK, folder, row->item_id, row->crm_id);
          g_ptr_array_add (issues, issue);
          if (fix_mask & (1u << LIA_DOCTOR_UNMAPPED_LINK))
            {
              if (!clear_link (link, store, row->item_id, cancellable, error))
                return FALSE;
              issue->fixed = TRUE;
            }
          continue;
        }
      if (m != NULL && m->crm_id != NULL && m->state == LIA_LINK_STATE_TRACKED)
        {
          g_autoptr (LiaCrmRecord) rec = NULL;
          g_autoptr (GError) local = NULL;

          rec = lia_crm_retrieve_sync (crm, m->entity, m->crm_id, cancellable, &local);
          if (rec != NULL)
            continue;
          if (!g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND)
              && !g_error_matches (local, LIA_ERROR, LIA_ERROR_FORBIDDEN))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          issue = issue_new (LIA_DOCTOR_GONE_IN_CRM, folder, row->item_id, m->crm_id);
          g_ptr_array_add (issues, issue);
          if (fix_mask & (1u << LIA_DOCTOR_GONE_IN_CRM))
            {
              if (!clear_link (link, store, row->item_id, cancellable, error)
                  || !lia_cache_unmap (cache, store, row->item_id, error))
                return FALSE;
              issue->fixed = TRUE;
            }
        }
    }
  return TRUE;
}

GPtrArray *
lia_doctor_run_held_sync (LiaEngine *engine, guint fix_mask, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) issues = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_doctor_issue_free);
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (engine != NULL, NULL);
  if (lia_engine_get_cache (engine) == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "the engine has not opened its cache yet");
      return NULL;
    }
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      const char *folder = lia_engine_get_folder (engine, (LiaEntity) e);

      /* Several entities share a folder: examine each folder once. */
      if (folder == NULL || e == LIA_ENTITY_EMAIL || g_hash_table_contains (done, folder))
        continue;
      g_hash_table_add (done, (gpointer) folder);
      if (!doctor_folder (engine, folder, fix_mask, issues, cancellable, error))
        return NULL;
    }
  return g_steal_pointer (&issues);
}

GPtrArray *
lia_doctor_run_sync (LiaEngine *engine, guint fix_mask, GCancellable *cancellable, GError **error)
{
  GPtrArray *issues;

  g_return_val_if_fail (engine != NULL, NULL);
  /* A cycle would relink what we unlink (the scanner relinks by CRM id). */
  if (!lia_engine_hold (engine, error))
    return NULL;
  issues = lia_doctor_run_held_sync (engine, fix_mask, cancellable, error);
  lia_engine_release (engine);
  return issues;
}
