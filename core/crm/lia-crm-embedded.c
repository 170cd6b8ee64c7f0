/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-crm-embedded.h"
#include "lia-org-sync.h"

struct _LiaCrmEmbedded
{
  GObject parent_instance;
  LiaOrgService *service; /* owned */
  char *token;            /* owned */
};

static void lia_crm_embedded_iface_init (LiaCrmInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LiaCrmEmbedded, lia_crm_embedded, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LIA_TYPE_CRM, lia_crm_embedded_iface_init))

static void
lia_crm_embedded_finalize (GObject *object)
{
  LiaCrmEmbedded *self = LIA_CRM_EMBEDDED (object);

  lia_org_service_unref (self->service);
  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_free (self->token);
  G_OBJECT_CLASS (lia_crm_embedded_parent_class)->finalize (object);
}

static void
lia_crm_embedded_class_init (LiaCrmEmbeddedClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lia_crm_embedded_finalize;
}

static void
lia_crm_embedded_init (LiaCrmEmbedded *self)
{
}

/* Authenticates the connector's token for one call: revocation takes
 * effect at the next call, as over http. */
static LiaOrgCaller *
caller (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  LiaCrmEmbedded *self = LIA_CRM_EMBEDDED (crm);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  return lia_org_service_authenticate (self->service, self->token, error);
}

#define SERVICE(crm) (LIA_CRM_EMBEDDED (crm)->service)
#define CALLER_OR(ret)                                             \
  g_autoptr (LiaOrgCaller) who = caller (crm, cancellable, error); \
  if (who == NULL)                                                 \
  return ret

static LiaCrmUser *
embedded_whoami (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_get_user (SERVICE (crm), who->user_id, error);
}

static LiaCrmSubscription *
embedded_subscribe (LiaCrm *crm, const char *client, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_sync_subscribe (SERVICE (crm), who, client, error);
}

static GPtrArray *
embedded_list_subscriptions (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_sync_list_subscriptions (SERVICE (crm), who, error);
}

static gboolean
embedded_set_primary (LiaCrm *crm, const char *subscription, GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_sync_set_primary (SERVICE (crm), who, subscription, error);
}

static LiaSyncSummary *
embedded_prepare_sync (LiaCrm *crm, const char *subscription, guint entity_mask, GCancellable *cancellable,
                       GError **error)
{
  CALLER_OR (NULL);
  return lia_org_sync_prepare (SERVICE (crm), who, subscription, entity_mask, error);
}

static LiaSyncPage *
embedded_get_sync_data (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *cursor,
                        guint max_changes, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_sync_get_data (SERVICE (crm), who, subscription, entity, cursor, max_changes, error);
}

static gboolean
embedded_post_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *const *ids,
                    GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_sync_post (SERVICE (crm), who, subscription, entity, ids, error);
}

static gboolean
embedded_track (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id, gboolean manual,
                GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_sync_track (SERVICE (crm), who, subscription, entity, id, manual, error);
}

static gboolean
embedded_forget (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
                 GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_sync_forget (SERVICE (crm), who, subscription, entity, id, error);
}

static gboolean
embedded_wait_changes (LiaCrm *crm, const char *subscription, guint timeout_ms, GCancellable *cancellable,
                       GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_sync_wait (SERVICE (crm), who, subscription, timeout_ms, cancellable, error);
}

static LiaCrmRecord *
embedded_create (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id, GCancellable *cancellable,
                 GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_create (SERVICE (crm), who, record, request_id, error);
}

static LiaCrmRecord *
embedded_retrieve (LiaCrm *crm, LiaEntity entity, const char *id, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_retrieve (SERVICE (crm), who, entity, id, error);
}

static LiaCrmRecord *
embedded_update (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_update (SERVICE (crm), who, record, error);
}

static gboolean
embedded_remove (LiaCrm *crm, LiaEntity entity, const char *id, gint64 version, GCancellable *cancellable,
                 GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_service_delete (SERVICE (crm), who, entity, id, version, error);
}

static GPtrArray *
embedded_search (LiaCrm *crm, const char *text, guint limit, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_search (SERVICE (crm), who, text, limit, error);
}

static GPtrArray *
embedded_resolve (LiaCrm *crm, const char *const *addresses, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_resolve (SERVICE (crm), who, addresses, error);
}

static GPtrArray *
embedded_list_filters (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_list_filters (SERVICE (crm), who, error);
}

static LiaCrmFilter *
embedded_add_filter (LiaCrm *crm, LiaEntity entity, const char *name, const char *xml, gboolean system,
                     GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_add_filter (SERVICE (crm), who, entity, name, xml, system, error);
}

static gboolean
embedded_enable_filter (LiaCrm *crm, const char *id, gboolean enabled, GCancellable *cancellable,
                        GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_service_enable_filter (SERVICE (crm), who, id, enabled, error);
}

static gboolean
embedded_remove_filter (LiaCrm *crm, const char *id, GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_service_remove_filter (SERVICE (crm), who, id, error);
}

static GHashTable *
embedded_get_settings (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_get_settings_for (SERVICE (crm), who, error);
}

static gboolean
embedded_set_setting (LiaCrm *crm, const char *key, const char *value, GCancellable *cancellable,
                      GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_service_set_setting (SERVICE (crm), who, key, value, error);
}

static GStrv
embedded_allocate_tokens (LiaCrm *crm, guint count, GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_allocate_tokens (SERVICE (crm), who, count, error);
}

static GPtrArray *
embedded_email_changes (LiaCrm *crm, gint64 since_version, guint limit, gint64 *out_last_version,
                        GCancellable *cancellable, GError **error)
{
  CALLER_OR (NULL);
  return lia_org_service_email_changes (SERVICE (crm), who, since_version, limit, out_last_version, error);
}

/* One authentication and one org transaction for the batch. */
static gboolean
embedded_create_tracked (LiaCrm *crm, const char *subscription, const LiaCrmRecord *const *records,
                         const char *const *request_ids, guint n, LiaCrmRecord **out_records,
                         GError **out_errors, GCancellable *cancellable, GError **error)
{
  CALLER_OR (FALSE);
  return lia_org_service_create_tracked (SERVICE (crm), who, subscription, records, request_ids, n,
                                         out_records, out_errors, error);
}

static void
lia_crm_embedded_iface_init (LiaCrmInterface *iface)
{
  iface->whoami = embedded_whoami;
  iface->subscribe = embedded_subscribe;
  iface->list_subscriptions = embedded_list_subscriptions;
  iface->set_primary = embedded_set_primary;
  iface->prepare_sync = embedded_prepare_sync;
  iface->get_sync_data = embedded_get_sync_data;
  iface->post_sync = embedded_post_sync;
  iface->track = embedded_track;
  iface->forget = embedded_forget;
  iface->wait_changes = embedded_wait_changes;
  iface->create = embedded_create;
  iface->retrieve = embedded_retrieve;
  iface->update = embedded_update;
  iface->remove = embedded_remove;
  iface->search = embedded_search;
  iface->resolve = embedded_resolve;
  iface->list_filters = embedded_list_filters;
  iface->add_filter = embedded_add_filter;
  iface->enable_filter = embedded_enable_filter;
  iface->remove_filter = embedded_remove_filter;
  iface->get_settings = embedded_get_settings;
  iface->set_setting = embedded_set_setting;
  iface->allocate_tokens = embedded_allocate_tokens;
  iface->email_changes = embedded_email_changes;
  iface->create_tracked = embedded_create_tracked;
}

LiaCrm *
lia_crm_embedded_new_for_service (LiaOrgService *service, const char *token)
{
  LiaCrmEmbedded *self;

  g_return_val_if_fail (service != NULL, NULL);
  self = g_object_new (LIA_TYPE_CRM_EMBEDDED, NULL);
  self->service = lia_org_service_ref (service);
  self->token = g_strdup (token);
  return LIA_CRM (self);
}

LiaCrm *
lia_crm_embedded_new (const char *path, const char *token, LiaClock *clock, GError **error)
{
  g_autoptr (LiaOrgService) service = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  service = lia_org_service_open (path, clock, error);
  if (service == NULL)
    return NULL;
  return lia_crm_embedded_new_for_service (service, token);
}
