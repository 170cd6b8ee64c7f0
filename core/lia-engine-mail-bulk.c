/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail-private.h"

/* R-MAIL-BULK: tracking many selected messages (lia_engine_mail_bulk_track()
 * queues them at once) and the upload's many-messages path that works
 * through them a page at a time. */

/* The many-messages path of the upload (R-MAIL-BULK): queued Tracks of
 * email without a regarding do what the upload's track does (create with a
 * request id, mark manual, link the host message), but each page of them
 * writes the cache once (mappings, originals, journal, completions) instead
 * of four commits per message. Anything else in a page is released to the
 * upload, which follows in the same cycle. */
#define BULK_PAGE 256
/* A page is one lia_crm_create_tracked_sync() call. */
G_STATIC_ASSERT (BULK_PAGE <= LIA_CRM_BATCH_MAX);

/* Many host calls of one kind in one round trip to the host's main
 * context: the worker posts them all and waits once, instead of once per
 * message. Reference counted like lia-host-call.c's calls: a cancelled
 * worker may leave while the host still holds callbacks. */
typedef struct
{
  LiaHostLink link; /* borrowed pointers */
  gboolean write;
  char *store;         /* owned */
  GPtrArray *ids;      /* owned: char * */
  LiaHostProps *props; /* owned, writes: one per id */
  LiaHostItem **items; /* owned, reads: one per id, NULL on failure */
  GError **errors;     /* owned: one per id */
  GMutex lock;
  GCond cond;
  guint pending; /* guarded by lock */
} Many;

typedef struct
{
  Many *many; /* owned ref */
  guint index;
} ManyOne;

static void
many_clear (gpointer data)
{
  Many *m = data;

  for (guint i = 0; i < m->ids->len; i++)
    {
      if (m->props != NULL)
        lia_host_props_clear (&m->props[i]);
      if (m->items != NULL)
        g_clear_pointer (&m->items[i], lia_host_item_free);
      g_clear_error (&m->errors[i]);
    }
  g_free (m->props);
  g_free (m->items);
  g_free (m->errors);
  g_ptr_array_unref (m->ids);
  g_free (m->store);
  lia_host_gate_unref (m->link.gate);
  g_mutex_clear (&m->lock);
  g_cond_clear (&m->cond);
}

static void
many_unref (Many *m)
{
  g_atomic_rc_box_release_full (m, many_clear);
}

static void
many_one_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ManyOne *one = user_data;
  Many *m = one->many;
  GError *error = NULL;

  if (m->write)
    m->link.vtable->write_item_finish (m->link.host, res, &error);
  else
    {
      LiaHostItem *item = m->link.vtable->read_item_finish (m->link.host, res, &error);
      g_mutex_lock (&m->lock);
      m->items[one->index] = item;
      g_mutex_unlock (&m->lock);
    }
  g_mutex_lock (&m->lock);
  m->errors[one->index] = error;
  if (--m->pending == 0)
    g_cond_signal (&m->cond);
  g_mutex_unlock (&m->lock);
  many_unref (m);
  g_free (one);
}

static gboolean
many_start (gpointer data)
{
  Many *m = data;

  /* Unloaded: the host may be gone; the waiting worker is cancelled. */
  if (!lia_host_link_enter (&m->link))
    return G_SOURCE_REMOVE;
  for (guint i = 0; i < m->ids->len; i++)
    {
      ManyOne *one = g_new0 (ManyOne, 1);
      one->many = g_atomic_rc_box_acquire (m);
      one->index = i;
      if (m->write)
        m->link.vtable->write_item (m->link.host, m->store, m->ids->pdata[i], NULL, &m->props[i], NULL,
                                    many_one_done, one);
      else
        m->link.vtable->read_item (m->link.host, m->store, m->ids->pdata[i], NULL, many_one_done, one);
    }
  lia_host_link_leave (&m->link);
  return G_SOURCE_REMOVE;
}

/* Starts the calls on the host's context; many_wait() waits for them. */
static void
many_begin (Many *m)
{
  m->pending = m->ids->len;
  if (m->pending == 0)
    return;
  g_main_context_invoke_full (m->link.context, G_PRIORITY_DEFAULT, many_start, g_atomic_rc_box_acquire (m),
                              (GDestroyNotify) many_unref);
}

/* Waits for every call many_begin() started; FALSE when cancelled. */
static gboolean
many_wait (Many *m, GCancellable *cancellable, GError **error)
{
  gboolean done;

  g_mutex_lock (&m->lock);
  while (m->pending > 0 && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&m->cond, &m->lock, g_get_monotonic_time () + 100 * 1000);
  done = m->pending == 0;
  g_mutex_unlock (&m->lock);
  if (!done)
    g_cancellable_set_error_if_cancelled (cancellable, error);
  return done;
}

static Many *
many_new (LiaEngine *engine, const char *store, gboolean write)
{
  Many *m = g_atomic_rc_box_new0 (Many);

  m->link = engine->link;
  m->link.gate = lia_host_gate_ref (engine->link.gate);
  m->write = write;
  m->store = g_strdup (store);
  m->ids = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&m->lock);
  g_cond_init (&m->cond);
  return m;
}

typedef struct
{
  const LiaCacheChange *change; /* borrowed from the claimed page */
  LiaHostItem *hi;              /* owned */
  LiaCrmRecord *made;           /* owned */
  char *xml;                    /* owned: the cache's original, the CRM view */
  char *host_xml;               /* owned: the host's, regarding only (R-MAIL-TRACK) */
} BulkItem;

static void
bulk_item_clear (BulkItem *b)
{
  g_clear_pointer (&b->hi, lia_host_item_free);
  g_clear_pointer (&b->made, lia_crm_record_free);
  g_clear_pointer (&b->xml, g_free);
  g_clear_pointer (&b->host_xml, g_free);
}

static gboolean
bulk_selectable (Cycle *c, const LiaCacheChange *change)
{
  g_autoptr (LiaCacheMapping) m = NULL;

  if (change->entity != LIA_ENTITY_EMAIL || change->item_id == NULL || change->payload != NULL
      || (change->op != LIA_CHANGE_OP_TRACK && change->op != LIA_CHANGE_OP_CREATE))
    return FALSE;
  m = lia_cache_lookup_item (c->cache, change->store, change->item_id, NULL);
  return m == NULL || m->state != LIA_LINK_STATE_TRACKED;
}

/* One message's CRM record, and its request id: the upload's, so a retry
 * on either path finds this create. */
static LiaCrmRecord *
bulk_record (Cycle *c, BulkItem *b, char **out_request_id)
{
  g_autoptr (LiaItem) created = NULL;

  {
    g_autoptr (LiaFieldPolicy) policy = lia_engine_item_policy (c, LIA_ENTITY_EMAIL, b->hi->item, NULL);
    created = lia_merge_dup_created (policy, b->hi->item, LIA_SIDE_CRM);
  }
  *out_request_id = g_strdup_printf ("%s/%s/%s", c->sub, b->change->store, b->change->item_id);
  return lia_crm_record_new_for_item (created);
}

/* The originals of a message made in CRM (b->made). */
static void
bulk_made_xml (Cycle *c, BulkItem *b)
{
  g_autoptr (LiaItem) made_view = NULL;

  made_view = lia_entity_rules_dup_crm_view (lia_crm_record_get_item (b->made));
  b->xml = lia_engine_encode (made_view);
  b->host_xml = lia_engine_host_original (made_view, b->xml);
}

/* One page: read every message in one host round trip, create them in CRM,
 * link them on the host in one round trip, then one cache transaction:
 * host first, cache second, as the upload does (a crash in between leaves
 * messages carrying their CRM id, which the scanner relinks).
 *
 * Pages overlap (lia_engine_mail_bulk_upload()): while the cycle creates
 * page k's CRM emails, page k + 1 is read on the host and page k - 1's
 * finisher thread waits for its host links (Camel's summary save, in its
 * workers) and then writes its cache transaction. */
typedef struct
{
  GPtrArray *page;         /* owned: the claimed changes */
  GArray *items;           /* owned: BulkItem */
  Many *reads;             /* owned */
  Many *writes;            /* owned */
  GError *stop;            /* owned, nullable: the network failure that stopped the page */
  gboolean all;            /* every claimed change was a bulk track */
  gint64 waited_read, crm; /* the cycle's time in each stage, for the debug line */
  Cycle *cycle;            /* borrowed: for the finisher */
  GThread *finisher;       /* owned, nullable: runs bulk_page_finish() */
  gboolean finish_ok;      /* set by the finisher */
  GError *finish_error;    /* owned, set by the finisher */
  guint uploaded;          /* set by the finisher: messages linked */
} BulkPage;

static void
bulk_page_free (BulkPage *bp)
{
  if (bp == NULL)
    return;
  g_ptr_array_unref (bp->page);
  g_array_unref (bp->items);
  many_unref (bp->reads);
  many_unref (bp->writes);
  g_clear_error (&bp->stop);
  g_clear_error (&bp->finish_error);
  g_free (bp);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BulkPage, bulk_page_free)

/* Selects the page's bulk tracks and starts reading them on the host. */
static BulkPage *
bulk_page_begin (Cycle *c, GPtrArray *page)
{
  LiaEngine *self = c->engine;
  BulkPage *bp = g_new0 (BulkPage, 1);

  bp->page = g_ptr_array_ref (page);
  bp->items = g_array_new (FALSE, TRUE, sizeof (BulkItem));
  g_array_set_clear_func (bp->items, (GDestroyNotify) bulk_item_clear);
  bp->reads = many_new (self, self->store, FALSE);
  bp->writes = many_new (self, self->store, TRUE);
  bp->all = TRUE;
  for (guint i = 0; i < page->len; i++)
    {
      const LiaCacheChange *change = page->pdata[i];
      BulkItem b = { change };
      if (!bulk_selectable (c, change))
        {
          bp->all = FALSE;
          continue;
        }
      g_array_append_val (bp->items, b);
      g_ptr_array_add (bp->reads->ids, g_strdup (change->item_id));
    }
  bp->reads->items = g_new0 (LiaHostItem *, bp->reads->ids->len);
  bp->reads->errors = g_new0 (GError *, bp->reads->ids->len);
  many_begin (bp->reads);
  return bp;
}

/* Waits for the page's reads, creates its CRM emails, and starts linking
 * the made ones on the host. */
static gboolean
bulk_page_crm (Cycle *c, BulkPage *bp, GError **error)
{
  LiaEngine *self = c->engine;
  GArray *items = bp->items;
  Many *reads = bp->reads;
  Many *writes = bp->writes;
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_auto (GStrv) request_ids = g_new0 (char *, items->len + 1);
  g_autofree LiaCrmRecord **made = NULL;
  g_autofree GError **errors = NULL;
  g_autoptr (GError) ended = NULL;
  gboolean ok = TRUE;

  gint64 t0 = g_get_monotonic_time ();

  if (!many_wait (reads, c->cancellable, error))
    return FALSE;
  bp->waited_read = g_get_monotonic_time () - t0;
  writes->props = g_new0 (LiaHostProps, items->len);
  writes->errors = g_new0 (GError *, items->len);
  /* The messages read, in one create-and-track batch: one org transaction
   * for the page (a message that fails is undone alone). */
  for (guint i = 0; i < items->len; i++)
    {
      BulkItem *b = &g_array_index (items, BulkItem, i);

      if (reads->items[i] == NULL)
        continue;
      b->hi = g_steal_pointer (&reads->items[i]);
      g_ptr_array_add (records, bulk_record (c, b, &request_ids[records->len]));
    }
  made = g_new0 (LiaCrmRecord *, records->len + 1);
  errors = g_new0 (GError *, records->len + 1);
  if (records->len > 0)
    lia_crm_create_tracked_sync (self->crm, c->sub, (const LiaCrmRecord *const *) records->pdata,
                                 (const char *const *) request_ids, records->len, made, errors,
                                 c->cancellable, &ended);
  for (guint i = 0, j = 0; i < items->len; i++)
    {
      BulkItem *b = &g_array_index (items, BulkItem, i);
      g_autoptr (GError) local = NULL;

      if (b->hi == NULL)
        {
          /* Gone before it could be tracked: nothing to do (completed with
           * the page's cache transaction). */
          if (g_error_matches (reads->errors[i], LIA_ERROR, LIA_ERROR_NOT_FOUND))
            continue;
          local = g_error_copy (reads->errors[i]);
        }
      else if ((b->made = g_steal_pointer (&made[j])) != NULL)
        {
          j++;
          bulk_made_xml (c, b);
          lia_engine_link_props (self, &writes->props[writes->ids->len], LIA_LINK_STATE_TRACKED,
                                 lia_crm_record_get_id (b->made), b->host_xml);
          g_ptr_array_add (writes->ids, g_strdup (b->change->item_id));
          continue;
        }
      else if (errors[j] != NULL)
        local = g_steal_pointer (&errors[j++]);
      else
        {
          /* Not made: the failure that ended the batch (R-IMM-FALLBACK). */
          j++;
          local = ended != NULL
                      ? g_error_copy (ended)
                      : g_error_new_literal (LIA_ERROR, LIA_ERROR_FAILED, "The org returned no result");
        }
      if (bp->stop != NULL)
        continue; /* stays claimed until released, then queued */
      /* R-IMM-FALLBACK: kept, retried with backoff; a network failure
       * stops the page (the rest stays queued). */
      if (!lia_cache_fail (c->cache, b->change->id, local->message, NULL, error))
        {
          ok = FALSE;
          break;
        }
      if (lia_engine_is_network_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        bp->stop = g_steal_pointer (&local);
    }
  for (guint j = 0; j < records->len; j++)
    {
      g_clear_pointer (&made[j], lia_crm_record_free);
      g_clear_error (&errors[j]);
    }
  if (!ok)
    return FALSE;
  bp->crm = g_get_monotonic_time () - t0 - bp->waited_read;
  many_begin (writes);
  return TRUE;
}

/* Waits for the page's host links, then its one cache transaction. Runs on
 * the page's finisher thread: it touches no cycle state but the cache. */
static gboolean
bulk_page_finish (Cycle *c, BulkPage *bp, GError **error)
{
  LiaEngine *self = c->engine;
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  GArray *items = bp->items;
  Many *reads = bp->reads;
  Many *writes = bp->writes;
  gint64 t0 = g_get_monotonic_time ();
  gint64 t_write;

  if (!many_wait (writes, c->cancellable, error))
    return FALSE;
  t_write = g_get_monotonic_time ();
  for (guint i = 0, w = 0; i < items->len; i++)
    {
      BulkItem *b = &g_array_index (items, BulkItem, i);
      g_autoptr (LiaCacheMapping) mapping = NULL;
      g_autoptr (LiaCacheOriginal) orig = NULL;
      g_autoptr (LiaCacheJournalEntry) entry = NULL;

      if (b->hi == NULL && g_error_matches (reads->errors[i], LIA_ERROR, LIA_ERROR_NOT_FOUND))
        {
          lia_cache_batch_complete (batch, b->change->id);
          continue;
        }
      if (b->made == NULL)
        continue;
      if (writes->errors[w] != NULL)
        {
          /* The CRM email exists; the retry's create finds it by its
           * request id and links the message then. */
          if (!lia_cache_fail (c->cache, b->change->id, writes->errors[w]->message, NULL, error))
            return FALSE;
          w++;
          continue;
        }
      w++;
      mapping = lia_cache_mapping_new (b->change->store, b->hi->folder, b->change->item_id, LIA_ENTITY_EMAIL,
                                       lia_crm_record_get_id (b->made), LIA_LINK_STATE_TRACKED,
                                       LIA_LINK_ORIGIN_MANUAL);
      orig = lia_cache_original_new (self->store, b->change->item_id, b->xml);
      orig->host_modified_at = b->hi->modified_at;
      orig->crm_version = lia_crm_record_get_version (b->made);
      orig->crm_modified_at = lia_crm_record_get_modified_on (b->made);
      orig->crm_owner = g_strdup (lia_crm_record_get_owner (b->made));
      orig->crm_state = lia_crm_record_get_state (b->made);
      entry = lia_cache_journal_entry_new ("track", "tracked in CRM (R-MARK-TRACK)");
      entry->store = g_strdup (self->store);
      entry->item_id = g_strdup (b->change->item_id);
      entry->crm_id = g_strdup (lia_crm_record_get_id (b->made));
      lia_cache_batch_map (batch, mapping);
      if (b->xml != NULL)
        lia_cache_batch_store_original (batch, orig);
      lia_cache_batch_append_journal (batch, entry);
      lia_cache_batch_complete (batch, b->change->id);
      bp->uploaded++;
    }
  if (lia_cache_batch_get_size (batch) > 0 && !lia_cache_apply (c->cache, batch, error))
    return FALSE;
  g_debug ("bulk page of %u, the cycle's time: waiting for host reads %.0f ms, CRM %.0f ms, waiting for host "
           "links %.0f ms, cache %.0f ms",
           items->len, bp->waited_read / 1000.0, bp->crm / 1000.0, (t_write - t0) / 1000.0,
           (g_get_monotonic_time () - t_write) / 1000.0);
  return TRUE;
}

static gpointer
bulk_finisher (gpointer data)
{
  BulkPage *bp = data;

  bp->finish_ok = bulk_page_finish (bp->cycle, bp, &bp->finish_error);
  return NULL;
}

/* Finishes the page (its host links, then its cache) on a thread of its
 * own, while the cycle creates the next page's CRM emails: the cache's
 * commit (an fsync) is then off the cycle's path. */
static void
bulk_start_finish (Cycle *c, BulkPage *bp)
{
  bp->cycle = c;
  bp->finisher = g_thread_try_new ("lia-bulk-finish", bulk_finisher, bp, NULL);
  /* Without a thread, bulk_join() finishes it. */
}

/* Waits for the page's finish (or runs it when it was not started) and
 * counts it in the cycle. With @ok FALSE, @error is already set and keeps
 * that first error. */
static gboolean
bulk_join (Cycle *c, BulkPage **inout, gboolean ok, GError **error)
{
  g_autoptr (BulkPage) bp = g_steal_pointer (inout);

  if (bp == NULL)
    return ok;
  if (bp->finisher != NULL)
    g_thread_join (g_steal_pointer (&bp->finisher));
  else
    bp->finish_ok = bulk_page_finish (c, bp, &bp->finish_error);
  c->uploaded += bp->uploaded;
  if (!bp->finish_ok)
    {
      if (ok)
        g_propagate_error (error, g_steal_pointer (&bp->finish_error));
      return FALSE;
    }
  lia_engine_progress (c);
  return ok;
}

/* Claims the next page and starts its host reads; NULL with *@out_ok TRUE
 * when nothing is left. */
static BulkPage *
bulk_next (Cycle *c, gboolean *out_ok, GError **error)
{
  g_autoptr (GPtrArray) page =
      lia_cache_claim (c->cache, LIA_DIRECTION_TO_CRM, BULK_PAGE, LIA_ENGINE_CLAIM_LEASE_US, error);

  *out_ok = page != NULL;
  return page != NULL && page->len > 0 ? bulk_page_begin (c, page) : NULL;
}

/* Waits for a page's host calls, so that nothing runs for it after the
 * cycle gave up (its changes stay claimed until released or their lease
 * ends, then are queued again). */
static void
bulk_abandon (Cycle *c, BulkPage *bp)
{
  if (bp == NULL)
    return;
  many_wait (bp->reads, c->cancellable, NULL);
  many_wait (bp->writes, c->cancellable, NULL);
}

/* The pages go through three stages at once: page k + 1 is read on the
 * host while the cycle creates page k's CRM emails, and page k - 1's
 * finisher waits for its host links and writes it to the cache. A page
 * that was read but not created (the run stopped first) stays claimed
 * until the claims are released or their lease ends. */
gboolean
lia_engine_mail_bulk_upload (Cycle *c, GError **error)
{
  g_autoptr (BulkPage) prev = NULL; /* CRM done, being finished */
  g_autoptr (BulkPage) cur = NULL;  /* host reads running */
  gboolean ok = TRUE;

  cur = bulk_next (c, &ok, error);
  while (cur != NULL)
    {
      g_autoptr (BulkPage) next = NULL;

      /* The next page's reads run while this one's CRM emails are made. */
      next = bulk_next (c, &ok, error);
      if (!ok || !bulk_page_crm (c, cur, ok ? error : NULL))
        {
          bulk_join (c, &prev, FALSE, NULL);
          bulk_abandon (c, cur);
          bulk_abandon (c, next);
          return FALSE;
        }
      if (cur->stop != NULL || !cur->all)
        {
          /* The last page of this run: finish both, then hand the rest
           * back to the queue. */
          g_autoptr (GError) stop = g_steal_pointer (&cur->stop);
          bulk_abandon (c, next);
          ok = bulk_join (c, &prev, TRUE, error);
          if (!bulk_join (c, &cur, ok, error))
            return FALSE;
          if (stop != NULL)
            {
              lia_cache_release_claims (c->cache, NULL);
              g_propagate_error (error, g_steal_pointer (&stop));
              return FALSE;
            }
          /* Not every claimed change was a bulk track: the upload takes
           * the rest. */
          return lia_cache_release_claims (c->cache, error);
        }
      bulk_start_finish (c, cur);
      ok = bulk_join (c, &prev, TRUE, error);
      if (!ok)
        {
          bulk_abandon (c, next);
          bulk_join (c, &cur, FALSE, NULL);
          return FALSE;
        }
      prev = g_steal_pointer (&cur);
      cur = g_steal_pointer (&next);
    }
  return bulk_join (c, &prev, ok, error);
}

static const char *const bulk_state_names[] = {
  [LIA_BULK_PENDING] = "pending",
  [LIA_BULK_TRACKED] = "tracked",
  [LIA_BULK_FAILED] = "failed",
  [LIA_BULK_NONE] = "none",
};
G_STATIC_ASSERT (G_N_ELEMENTS (bulk_state_names) == LIA_BULK_N);

const char *
lia_bulk_state_to_string (LiaBulkState state)
{
  g_return_val_if_fail (state < LIA_BULK_N, NULL);
  return bulk_state_names[state];
}

void
lia_bulk_result_free (LiaBulkResult *result)
{
  if (result == NULL)
    return;
  g_free (result->item_id);
  g_free (result->message);
  g_free (result);
}

typedef struct
{
  LiaEngine *engine; /* owned ref */
  LiaCache *cache;   /* borrowed: the engine keeps it open */
  char *store;       /* owned */
  char *folder;      /* owned, nullable */
  GStrv item_ids;    /* owned */
  char *payload;     /* owned, nullable: "id\nname" */
} BulkJob;

static void
bulk_job_free (BulkJob *job)
{
  lia_engine_unref (job->engine);
  g_free (job->store);
  g_free (job->folder);
  g_strfreev (job->item_ids);
  g_free (job->payload);
  g_free (job);
}

static void
bulk_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  BulkJob *job = task_data;
  g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  guint n = g_strv_length (job->item_ids);

  why = g_strdup_printf ("R-MAIL-BULK: tracked with %u selected messages", n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaCacheChange) change = lia_cache_change_new (
          LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_TRACK, job->store, job->item_ids[i], LIA_ENTITY_EMAIL, NULL);
      g_autoptr (LiaCacheJournalEntry) entry = lia_cache_journal_entry_new ("bulk-track", why);

      change->folder = g_strdup (job->folder);
      if (job->payload != NULL)
        change->payload = g_bytes_new (job->payload, strlen (job->payload));
      lia_cache_batch_enqueue (batch, change);
      entry->store = g_strdup (job->store);
      entry->item_id = g_strdup (job->item_ids[i]);
      lia_cache_batch_append_journal (batch, entry);
    }
  if (!lia_cache_apply (job->cache, batch, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
bulk_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEngine *engine = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    /* The marks stay on the host: the scanner of a later cycle cannot
     * queue email, so say it; the user tracks again. */
    g_warning ("bulk track not queued: %s", error->message);
  else
    lia_engine_request_sync (engine);
  g_atomic_int_dec_and_test (&lia_engine_mail_of (engine)->bulk_pending);
  lia_engine_unref (engine);
}

static void
bulk_mark_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEngine *engine = user_data;
  g_autoptr (GError) error = NULL;

  if (!engine->link.vtable->write_item_finish (engine->link.host, res, &error))
    g_debug ("bulk: link state not written: %s", error->message);
  lia_engine_unref (engine);
}

gboolean
lia_engine_mail_bulk_track (LiaEngine *engine, const char *store, const char *folder,
                            const char *const *item_ids, const char *regarding_id, const char *regarding_name,
                            GError **error)
{
  LiaCache *cache;
  BulkJob *job;
  g_autoptr (GTask) task = NULL;
  g_auto (LiaHostProps) props = { 0 };
  guint n;

  g_return_val_if_fail (engine != NULL && store != NULL && item_ids != NULL, FALSE);
  n = g_strv_length ((GStrv) item_ids);
  if (n == 0 || n > 100000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Select 1 to 100,000 messages to track at once");
      return FALSE;
    }
  if (g_strcmp0 (store, engine->store) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Only items in your primary mailbox can be tracked in CRM; \"%s\" is another store",
                   store);
      return FALSE;
    }
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return FALSE;
    }
  /* The UI shows every message as tracked at once (white paper: "the
   * properties of items are immediately updated"). */
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  for (guint i = 0; i < n; i++)
    engine->link.vtable->write_item (engine->link.host, store, item_ids[i], NULL, &props, NULL,
                                     bulk_mark_done, lia_engine_ref (engine));
  job = g_new0 (BulkJob, 1);
  job->engine = lia_engine_ref (engine);
  job->cache = cache;
  job->store = g_strdup (store);
  job->folder = g_strdup (folder);
  job->item_ids = g_strdupv ((GStrv) item_ids);
  if (regarding_id != NULL)
    job->payload = g_strdup_printf ("%s\n%s", regarding_id, regarding_name != NULL ? regarding_name : "");
  g_atomic_int_inc (&lia_engine_mail_of (engine)->bulk_pending);
  task = g_task_new (NULL, NULL, bulk_done, lia_engine_ref (engine));
  g_task_set_source_tag (task, lia_engine_mail_bulk_track);
  g_task_set_name (task, "[liaison] bulk track");
  g_task_set_task_data (task, job, (GDestroyNotify) bulk_job_free);
  g_task_run_in_thread (task, bulk_thread);
  return TRUE;
}

guint
lia_engine_mail_bulk_pending (LiaEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return (guint) g_atomic_int_get (&lia_engine_mail_of (engine)->bulk_pending);
}

GPtrArray *
lia_engine_mail_bulk_results (LiaEngine *engine, const char *store, const char *const *item_ids,
                              GError **error)
{
  LiaCache *cache;
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GHashTable) queued = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_bulk_result_free);

  g_return_val_if_fail (engine != NULL && store != NULL && item_ids != NULL, NULL);
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return NULL;
    }
  changes = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, G_MAXINT, error);
  if (changes == NULL)
    return NULL;
  for (guint i = 0; i < changes->len; i++)
    {
      const LiaCacheChange *ch = changes->pdata[i];
      if (ch->item_id != NULL && g_strcmp0 (ch->store, store) == 0 && ch->direction == LIA_DIRECTION_TO_CRM)
        g_hash_table_insert (queued, ch->item_id, (gpointer) ch);
    }
  for (guint i = 0; item_ids[i] != NULL; i++)
    {
      LiaBulkResult *r = g_new0 (LiaBulkResult, 1);
      const LiaCacheChange *ch = g_hash_table_lookup (queued, item_ids[i]);
      g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (cache, store, item_ids[i], NULL);

      r->item_id = g_strdup (item_ids[i]);
      if (ch != NULL && ch->attempts > 0)
        {
          r->state = LIA_BULK_FAILED;
          r->message = g_strdup (ch->last_error);
        }
      else if (ch != NULL)
        r->state = LIA_BULK_PENDING;
      else if (m != NULL && m->state == LIA_LINK_STATE_TRACKED)
        {
          r->state = LIA_BULK_TRACKED;
          r->message = g_strdup (m->crm_id);
        }
      else
        r->state = LIA_BULK_NONE;
      g_ptr_array_add (out, r);
    }
  return g_steal_pointer (&out);
}

/* Reads @n messages of the engine's store in one round trip to the host
 * (the folder phase's list of what a tracked folder holds, R-MAIL-FOLDER).
 * (transfer full): @n items, NULL for a message no longer there or that
 * the host cannot read (%LIA_ERROR_INVALID: a malformed message); NULL
 * with @error for any other failure (the host unavailable) or a cancel. */
LiaHostItem **
lia_engine_mail_read_many (Cycle *c, const char *const *ids, guint n, GError **error)
{
  Many *m = many_new (c->engine, c->engine->store, FALSE);
  LiaHostItem **out = NULL;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (m->ids, g_strdup (ids[i]));
  m->items = g_new0 (LiaHostItem *, MAX (n, 1));
  m->errors = g_new0 (GError *, MAX (n, 1));
  many_begin (m);
  if (many_wait (m, c->cancellable, error))
    {
      out = g_new0 (LiaHostItem *, MAX (n, 1));
      for (guint i = 0; i < n && out != NULL; i++)
        {
          if (m->items[i] != NULL)
            out[i] = g_steal_pointer (&m->items[i]);
          else if (m->errors[i] != NULL && !g_error_matches (m->errors[i], LIA_ERROR, LIA_ERROR_NOT_FOUND)
                   && !g_error_matches (m->errors[i], LIA_ERROR, LIA_ERROR_INVALID))
            {
              g_propagate_error (error, g_steal_pointer (&m->errors[i]));
              for (guint j = 0; j < i; j++)
                g_clear_pointer (&out[j], lia_host_item_free);
              g_clear_pointer (&out, g_free);
            }
        }
    }
  many_unref (m);
  return out;
}
