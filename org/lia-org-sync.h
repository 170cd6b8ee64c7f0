/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-org-service.h"

G_BEGIN_DECLS

/* The sync API of the white paper's server side, on subscriptions (the
 * SyncEntry table): PrepareSync computes, per entity, what changed for one
 * client since its last acknowledged sync; GetSyncData hands out pages of
 * those changes; PostSync acknowledges them. See lia-org-sync.c for the
 * algorithm and its invariants. Callers only ever reach their own
 * subscriptions: another user's is %LIA_ERROR_FORBIDDEN. */

LiaCrmSubscription *lia_org_sync_subscribe (LiaOrgService *service, const LiaOrgCaller *caller,
                                            const char *client, GError **error);
GPtrArray *lia_org_sync_list_subscriptions (LiaOrgService *service, const LiaOrgCaller *caller,
                                            GError **error);
gboolean lia_org_sync_set_primary (LiaOrgService *service, const LiaOrgCaller *caller,
                                   const char *subscription, GError **error);
/* Who is primary (R-ROLE-ONE-PRIMARY): the client name of the caller's
 * synchronizing subscription, the one lia_org_sync_list_subscriptions()
 * marks primary; NULL without error when the caller has no client yet.
 * The user's first client is primary; lia_org_sync_set_primary()
 * designates another and demotes the previous one in one transaction.
 *
 * R-ROLE-SECONDARY-NO-NEW: a subscription that is not primary cannot track
 * new contacts, appointments or tasks (every host-mapped entity but
 * email): lia_org_sync_track() with @manual, and a create whose request id
 * names the subscription (lia_org_service_create()), are refused with
 * %LIA_ERROR_REFUSED naming the primary client. R-ROLE-ROAMING: a
 * secondary subscription that asks PrepareSync acts as primary (clients
 * download only as primary or roaming), and is not refused from then on. */
char *lia_org_sync_dup_primary_client (LiaOrgService *service, const LiaOrgCaller *caller, GError **error);
LiaSyncSummary *lia_org_sync_prepare (LiaOrgService *service, const LiaOrgCaller *caller,
                                      const char *subscription, guint entity_mask, GError **error);
LiaSyncPage *lia_org_sync_get_data (LiaOrgService *service, const LiaOrgCaller *caller,
                                    const char *subscription, LiaEntity entity, const char *cursor,
                                    guint max_changes, GError **error);
gboolean lia_org_sync_post (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                            LiaEntity entity, const char *const *ids, GError **error);
gboolean lia_org_sync_track (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                             LiaEntity entity, const char *id, gboolean manual, GError **error);
gboolean lia_org_sync_forget (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                              LiaEntity entity, const char *id, GError **error);
/* Whether a record in the subscription's reach changed since its last
 * PrepareSync; does not wait. */
gboolean lia_org_sync_has_changes (LiaOrgService *service, const LiaOrgCaller *caller,
                                   const char *subscription, gboolean *out_changed, GError **error);
/* Blocks up to @timeout_ms for lia_org_sync_has_changes() to become TRUE
 * (the embedded connector's push). */
gboolean lia_org_sync_wait (LiaOrgService *service, const LiaOrgCaller *caller, const char *subscription,
                            guint timeout_ms, GCancellable *cancellable, GError **error);

/* The entities PrepareSync covers when the client names none
 * (R-SET-ITEMTYPES defaults): the host-mapped ones except email. */
#define LIA_ORG_SYNC_DEFAULT_MASK                                                                         \
  ((1u << LIA_ENTITY_CONTACT) | (1u << LIA_ENTITY_APPOINTMENT) | (1u << LIA_ENTITY_RECURRING_APPOINTMENT) \
   | (1u << LIA_ENTITY_SERVICE_APPOINTMENT) | (1u << LIA_ENTITY_TASK) | (1u << LIA_ENTITY_PHONE_CALL)     \
   | (1u << LIA_ENTITY_LETTER) | (1u << LIA_ENTITY_FAX))

G_END_DECLS
