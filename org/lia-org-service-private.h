/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-filter.h"
#include "lia-org-service.h"

G_BEGIN_DECLS

typedef struct
{
  guint id;
  LiaOrgChangeFunc func;
  gpointer user_data;
} LiaOrgWatch;

struct _LiaOrgService
{
  gint ref_count;
  GMutex lock;              /* serializes every call; guards everything below */
  GCond changed;            /* broadcast after each committed record change */
  guint64 change_seq;       /* guarded by lock: bumped with @changed */
  LiaOrgStore *store;       /* owned, guarded by lock */
  LiaClock *clock;          /* owned */
  gint64 cache_gen;         /* guarded by lock: the "filter-gen" the caches hold */
  GHashTable *filter_cache; /* guarded by lock: filter id -> LiaOrgFilter (owned) */
  GHashTable *fls_cache;    /* guarded by lock: "role/entity" -> guint8[] of field flags */
  GArray *watches;          /* guarded by lock: LiaOrgWatch */
  guint next_watch;         /* guarded by lock */
  gboolean batch;           /* guarded by lock: a batch is open, notifications wait for its end */
  gboolean batch_changed;   /* guarded by lock: the open batch changed a record */
};

/* Field flags of field-level security, per registry index. */
#define LIA_ORG_FLS_READ 1
#define LIA_ORG_FLS_UPDATE 2

/* Holds the service lock until the end of the enclosing scope. The locker
 * is never read, which clang reports as unused without the attribute. */
#define LOCK(service) g_autoptr (GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new (&(service)->lock)

/* The org service is split by concept; these are what the files share.
 * The _locked helpers expect the service lock held. */

/* lia-org-service.c: lifecycle, caches, settings, change notification. */
gboolean lia_org_service_finish_locked (LiaOrgService *service, gboolean ok, GError **error);
void lia_org_set_forbidden (GError **error, const char *what);
const guint8 *lia_org_service_fls_locked (LiaOrgService *service, const char *role, LiaEntity entity,
                                          GError **error);
GPtrArray *lia_org_service_filters_locked (LiaOrgService *service, const char *user_id, LiaEntity entity,
                                           gint64 *out_gen, GError **error);
GHashTable *lia_org_service_settings_locked (LiaOrgService *service, GError **error);
void lia_org_service_notify_locked (LiaOrgService *service);

/* lia-org-service-users.c: ownership and approval checks. */
gboolean lia_org_service_require_change_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                const char *owner_id, GError **error);
gboolean lia_org_service_require_owner_exists_locked (LiaOrgService *service, const char *owner_id,
                                                      GError **error);
gboolean lia_org_service_check_approved_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                LiaEntity entity, GError **error);

/* lia-org-service-records.c: what a reader may see of a record. */
void lia_org_service_strip_locked (LiaOrgService *service, LiaCrmRecord *record, const guint8 *fls,
                                   gboolean for_sync, GHashTable *settings);
LiaCrmRecord *lia_org_service_readable_copy_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                    const LiaCrmRecord *record, GError **error);

/* lia-org-service-email.c: R-MAIL-DEDUPE for lia_org_service_create(). */
gboolean lia_org_service_email_register_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                const LiaCrmRecord *stored, GError **error);
gboolean lia_org_service_email_find_same_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                 const LiaCrmRecord *record, LiaCrmRecord **out_same,
                                                 GError **error);
gboolean lia_org_service_email_track_same_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                                  LiaCrmRecord *same, const LiaCrmRecord *record,
                                                  gboolean *out_changed, GError **error);

/* lia-org-sync.c. R-ROLE-SECONDARY-NO-NEW for creates: a request id of
 * the form "SUBSCRIPTION/..." names the caller's client that creates. */
gboolean lia_org_sync_check_create_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                           LiaEntity entity, const char *request_id, GError **error);
/* The body of lia_org_sync_track(), for lia_org_service_create_tracked():
 * its own transaction, a savepoint inside a batch
 * (lia_org_store_begin_batch()). */
gboolean lia_org_sync_track_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                    const char *subscription, LiaEntity entity, const char *id,
                                    gboolean manual, GError **error);

G_END_DECLS
