/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"
#include "lia-engine-mail.h"
#include "lia-host-call-private.h"
#include "lia-deletion-private.h"

G_BEGIN_DECLS

/* For core modules that call the host from a worker as the engine does
 * (the doctor): the engine's link to its host. */
const LiaHostLink *lia_engine_get_host_link (LiaEngine *engine);

/* Keeps cycles out while another worker job (the doctor) uses the cache
 * and the host: %FALSE with %LIA_ERROR_CONFLICT while a cycle runs. A sync
 * requested meanwhile starts on release. Any thread. */
gboolean lia_engine_hold (LiaEngine *engine, GError **error);
void lia_engine_release (LiaEngine *engine);

/* ---- inside the engine: shared by lia-engine*.c ----
 *
 * lia-engine.c           lifecycle, start-up, cycle orchestration
 * lia-engine-status.c    state machine, status, progress, journal
 * lia-engine-scan.c      phase 1: scanner, deletion reconciliation, watermarks
 * lia-engine-upload.c    phase 2: drain the outbound queue
 * lia-engine-download.c  phase 3: PrepareSync/GetSyncData and apply
 * lia-engine-merge.c     one linked pair: policies, originals, merge
 */

/* GetSyncData page: the org's maximum. Fewer round trips and larger host
 * batches (bench/evolution: 1.4 x EDS's own batched add, 1.9-2.8 x with
 * 200); peak memory +9 MB at 110,000 items (bench/engine). */
#define LIA_ENGINE_PAGE_SIZE 1000
/* Covers the whole-second timestamps of vCard and iCalendar. */
#define LIA_ENGINE_WATERMARK_SLACK_US (2 * G_USEC_PER_SEC)
#define LIA_ENGINE_CLAIM_BATCH 64
#define LIA_ENGINE_CLAIM_LEASE_US (5 * G_TIME_SPAN_MINUTE)
#define LIA_ENGINE_SCAN_PAGE 100
/* Cache setting: the client's role as last read from the org, used when a
 * start-up cannot reach it (R-OFF-QUEUE). */
#define LIA_ENGINE_SETTING_ROLE "client-role"

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
  gint auto_sync;           /* guarded by lock: R-SET-INTERVAL, -1 unknown */
  guint sync_interval_s;    /* guarded by lock: R-SET-INTERVAL, 0 unknown */
  LiaEngineMail *mail;      /* owned, guarded by lock (made once): lia-engine-mail.c */
};

/* One cycle, on the worker. */
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

static inline gboolean
lia_engine_is_network_error (const GError *error)
{
  return g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
}

/* lia-engine-status.c */
void lia_engine_status_fill_locked (LiaEngine *self, LiaSyncStatus *out);
void lia_engine_status_changed_locked (LiaEngine *self);
void lia_engine_set_state (LiaEngine *self, LiaSyncState to);
LiaSyncState lia_engine_get_state (LiaEngine *self);
void lia_engine_progress (Cycle *c);
void lia_engine_journal (Cycle *c, const char *kind, const char *item_id, const char *crm_id,
                         const char *message);

/* lia-engine-merge.c */
const LiaFieldPolicy *lia_engine_policy_for (LiaEngine *self, LiaEntity entity);
LiaFieldPolicy *lia_engine_item_policy (Cycle *c, LiaEntity entity, const LiaItem *host,
                                        const LiaItem *crm_view);
void lia_engine_load_policies (LiaEngine *self, GHashTable *settings);
char *lia_engine_encode (const LiaItem *item);
LiaItem *lia_engine_decode (const char *xml);
/* The host's copy of an original the cache keeps as @xml (the encoding of
 * @original, NULL when over the limit): for email regarding only
 * (R-MAIL-TRACK), for every other entity @xml itself. Caller frees. */
char *lia_engine_host_original (const LiaItem *original, const char *xml);
void lia_engine_link_props (LiaEngine *self, LiaHostProps *props, LiaLinkState state, const char *crm_id,
                            const char *original);
gboolean lia_engine_store_original (Cycle *c, const char *item_id, const char *xml, gint64 host_modified,
                                    const LiaCrmRecord *rec, GError **error);
gboolean lia_engine_record_facts_changed (const LiaCacheOriginal *row, const LiaCrmRecord *rec);
gboolean lia_engine_sync_pair (Cycle *c, const LiaHostItem *hi, const LiaCrmRecord *rec_in, gboolean rec_full,
                               const char *fallback_original, GError **error);
LiaCrmState lia_engine_crm_state_of (LiaRecordState state);
void lia_engine_deletion_facts (Cycle *c, LiaDeletion *d, const LiaCrmRecord *rec);

/* lia-engine-scan.c */
gboolean lia_engine_scan (Cycle *c, GError **error);
gboolean lia_engine_set_scan_watermarks (Cycle *c, GError **error);

/* lia-engine-upload.c */
gboolean lia_engine_upload (Cycle *c, GError **error);

/* lia-engine-download.c */
gboolean lia_engine_download (Cycle *c, GError **error);
/* The row of @entity's folder whose item carries @crm_id, from an index
 * read once per cycle; NULL with @error unset when none does. */
const LiaHostRow *lia_engine_find_by_crm_id (Cycle *c, LiaEntity entity, const char *crm_id, GError **error);

/* lia-engine-mail.c: the email phases around upload and download. */
#define LIA_ENGINE_SETTING_MAIL_FOLDERS "mail-folders"
#define LIA_ENGINE_SETTING_MAIL_TOKENS "mail-tokens"
#define LIA_ENGINE_WATERMARK_TAGGING "mail-tagging"
LiaEngineMail *lia_engine_mail_new (void);
void lia_engine_mail_free (LiaEngineMail *mail);
gboolean lia_engine_mail_before_upload (Cycle *c, GError **error);
/* Whether an arrival in a tracked folder was noted after this cycle's
 * folder phase listed them (R-MAIL-FOLDER): the engine runs one more
 * cycle. Clears it. */
gboolean lia_engine_mail_take_rerun (LiaEngine *engine);
gboolean lia_engine_mail_after_download (Cycle *c, GError **error);

G_END_DECLS
