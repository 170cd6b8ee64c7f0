/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-host-call-private.h"

G_BEGIN_DECLS

/* The fallback scanner (R-DET-SCAN) and the deletion reconciliation
 * (R-DET-DELETES). They run inside a sync cycle, on the engine's worker,
 * reading the host through lia_host_call_*(); what they find goes into the
 * change queue like a notification would. */

typedef struct
{
  guint rows_read;  /* contents-table rows passed */
  guint queued;     /* changes enqueued */
  guint relinked;   /* mappings rebuilt from item properties (R-DUP-NONE) */
  guint promoted;   /* items in link state 1 queued for tracking */
  guint items_read; /* tracked items read from the host to compare */
  guint unchanged;  /* tracked items not read: unchanged since the engine wrote them */
} LiaScanStats;

/* Reads @folder newest first down to @watermark (microseconds; 0 for the
 * whole folder). Queues an update for every tracked item whose fields
 * differ from its original, a track for every item marked (link state 1)
 * when @promote, and relinks items that carry a CRM id but no mapping.
 * Items in @queued (item ids with a change already in the queue) are not
 * queued again. */
gboolean lia_scanner_scan_folder (const LiaHostLink *link, LiaCache *cache, const char *store,
                                  const char *folder, LiaEntity entity, gint64 watermark, gboolean promote,
                                  GHashTable *queued, LiaScanStats *stats, GCancellable *cancellable,
                                  GError **error);

/* Moves the link of @from (mapping and original, in one transaction) to
 * the item @item_id in @folder (NULL: unchanged): the same item after its
 * host moved it and gave it a new id. */
gboolean lia_scanner_relink (LiaCache *cache, const LiaCacheMapping *from, const char *folder,
                             const char *item_id, GError **error);

/* The mapping holding @crm_id in @store belongs to an item that is gone:
 * the item @item_id carrying the same CRM id is that item, moved with a
 * new id by its host; relinks it. *@out_relinked is FALSE when no mapping
 * holds @crm_id or its item still exists (a real duplicate, for the
 * doctor). */
gboolean lia_scanner_relink_if_moved (const LiaHostLink *link, LiaCache *cache, const char *store,
                                      const char *folder, LiaEntity entity, const char *crm_id,
                                      const char *item_id, gboolean *out_relinked, GCancellable *cancellable,
                                      GError **error);

/* Queues a host deletion for every mapping of @folder whose item is gone. */
gboolean lia_scanner_reconcile_deletes (const LiaHostLink *link, LiaCache *cache, const char *store,
                                        const char *folder, guint *out_queued, GCancellable *cancellable,
                                        GError **error);

G_END_DECLS
