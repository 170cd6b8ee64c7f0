/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

#include "lia-org-store.h"

G_BEGIN_DECLS

/* The org service: the CRM side of Liaison. Records with versions and
 * optimistic concurrency, users and tokens, permissions and field-level
 * security, filters and settings; the sync API is in lia-org-sync.h. Both
 * liaison-server and the embedded connector call this one API, so both
 * enforce the same rules.
 *
 * Thread-safe: one lock serializes every call (a store connection is not
 * shared between threads). Every call that writes runs in one store
 * transaction and changes nothing when it fails. */

typedef struct _LiaOrgService LiaOrgService;

/* Who is calling: made by lia_org_service_authenticate(). */
typedef struct
{
  char *user_id;
  char *name;
  char *role; /* "admin" or "user": the field-level security profile */
  gboolean admin;
  gboolean approved;
} LiaOrgCaller;

void lia_org_caller_free (LiaOrgCaller *caller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgCaller, lia_org_caller_free)

LiaOrgService *lia_org_service_open (const char *path, LiaClock *clock, GError **error);
LiaOrgService *lia_org_service_ref (LiaOrgService *service);
void lia_org_service_unref (LiaOrgService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgService, lia_org_service_unref)
LiaClock *lia_org_service_get_clock (LiaOrgService *service);

/* Tokens -> callers; %LIA_ERROR_AUTH for a missing or unknown token. */
LiaOrgCaller *lia_org_service_authenticate (LiaOrgService *service, const char *token, GError **error);

/* Administration (liaison-org runs these as the owner of the file). */
gboolean lia_org_service_add_user (LiaOrgService *service, const char *name, const char *email,
                                   gboolean admin, char **out_token, GError **error);
gboolean lia_org_service_new_token (LiaOrgService *service, const char *name, char **out_token,
                                    GError **error);
gboolean lia_org_service_set_approved (LiaOrgService *service, const char *name, gboolean approved,
                                       GError **error);
gboolean lia_org_service_set_delegate (LiaOrgService *service, const char *owner, const char *delegate,
                                       gboolean allowed, GError **error);
gboolean lia_org_service_set_field_security (LiaOrgService *service, const char *role, LiaEntity entity,
                                             const char *field, gboolean can_read, gboolean can_update,
                                             GError **error);
GPtrArray *lia_org_service_list_users (LiaOrgService *service, GError **error);
LiaCrmUser *lia_org_service_get_user (LiaOrgService *service, const char *id_or_name, GError **error);

/* Records. Errors: %LIA_ERROR_INVALID (bad input), %LIA_ERROR_NOT_FOUND,
 * %LIA_ERROR_FORBIDDEN, %LIA_ERROR_CONFLICT (stale version). */
LiaCrmRecord *lia_org_service_create (LiaOrgService *service, const LiaOrgCaller *caller,
                                      const LiaCrmRecord *record, const char *request_id, GError **error);
LiaCrmRecord *lia_org_service_retrieve (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                                        const char *id, GError **error);
LiaCrmRecord *lia_org_service_update (LiaOrgService *service, const LiaOrgCaller *caller,
                                      const LiaCrmRecord *record, GError **error);
gboolean lia_org_service_delete (LiaOrgService *service, const LiaOrgCaller *caller, LiaEntity entity,
                                 const char *id, gint64 version, GError **error);
GPtrArray *lia_org_service_search (LiaOrgService *service, const LiaOrgCaller *caller, const char *text,
                                   guint limit, GError **error);
GPtrArray *lia_org_service_resolve (LiaOrgService *service, const LiaOrgCaller *caller,
                                    const char *const *addresses, GError **error);
/* Imports keep ids (R-DUP-IDS); admin path, no caller. A batch is one
 * transaction: all records or none. Versions are the importing org's. */
gboolean lia_org_service_import_record (LiaOrgService *service, const LiaCrmRecord *record, GError **error);
gboolean lia_org_service_import_batch (LiaOrgService *service, GPtrArray *records, GError **error);
/* Adds a user keeping its id (no token: issue one with new_token). */
gboolean lia_org_service_import_user (LiaOrgService *service, const LiaCrmUser *user, GError **error);
/* The owner of a filter (NULL for system filters), for export. */
gboolean lia_org_service_get_filter_owner (LiaOrgService *service, const char *id, char **out_owner,
                                           GError **error);
/* Every live record of @entity, for export. */
gboolean lia_org_service_foreach_record (LiaOrgService *service, LiaEntity entity, LiaOrgRowFunc func,
                                         gpointer user_data, GError **error);
/* Adds a filter as is, keeping its id (import); @owner NULL for system. */
gboolean lia_org_service_import_filter (LiaOrgService *service, const char *owner, const LiaCrmFilter *filter,
                                        GError **error);

/* Filters. A caller sees and changes system filters (admins change) and
 * its own. @caller NULL is the administrator at the command line. */
GPtrArray *lia_org_service_list_filters (LiaOrgService *service, const LiaOrgCaller *caller, GError **error);
LiaCrmFilter *lia_org_service_add_filter (LiaOrgService *service, const LiaOrgCaller *caller,
                                          LiaEntity entity, const char *name, const char *xml,
                                          gboolean system, GError **error);
gboolean lia_org_service_enable_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                                        gboolean enabled, GError **error);
gboolean lia_org_service_remove_filter (LiaOrgService *service, const LiaOrgCaller *caller, const char *id,
                                        GError **error);

/* Org settings: every key with its value or default. */
GHashTable *lia_org_service_get_settings (LiaOrgService *service, GError **error);
/* The same plus the caller's field-level security: "access.ENTITY.FIELD"
 * = "read" (not updatable) or "none" (not readable) where it is not full. */
GHashTable *lia_org_service_get_settings_for (LiaOrgService *service, const LiaOrgCaller *caller,
                                              GError **error);
gboolean lia_org_service_set_setting (LiaOrgService *service, const LiaOrgCaller *caller, const char *key,
                                      const char *value, GError **error);

/* Email (R-MAIL-CORRELATE-TOKEN): @count (1..1000) fresh tracking tokens
 * in the org's format; refused for unapproved users like tracking
 * (R-MAIL-APPROVED). */
GStrv lia_org_service_allocate_tokens (LiaOrgService *service, const LiaOrgCaller *caller, guint count,
                                       GError **error);
/* Email tagging (R-MAIL-TAGGING): the live emails @caller tracked and is a
 * party to (by their own address, R-MAIL-DL) whose version passed
 * @since_version and the version the caller's own create or track
 * returned (what the caller made is not sent back to it), oldest first, at
 * most @limit scanned. @out_last_version is the version to ask from next
 * time (it passes emails scanned but not returned, and after a short page
 * every email up to the newest). */
GPtrArray *lia_org_service_email_changes (LiaOrgService *service, const LiaOrgCaller *caller,
                                          gint64 since_version, guint limit, gint64 *out_last_version,
                                          GError **error);

/* The most items lia_org_service_create_tracked() takes in one call. */
#define LIA_ORG_BATCH_MAX 1000

/* A batch of lia_org_service_create() (with its request id, nullable) and
 * lia_org_sync_track() of the created record (@manual TRUE), for the bulk
 * track of email (R-MAIL-BULK): one transaction with a savepoint per item,
 * so a failing item (refused, invalid) is undone alone and reported in
 * @out_errors[i] while the others commit together; one notification.
 * @out_records and @out_errors are the caller's arrays of @n, zeroed;
 * each slot receives (transfer full) the stored record or the error.
 * Returns FALSE with @error (and both arrays left NULL) when the batch as a
 * whole failed and changed nothing: a store failure, its commit, or more
 * than LIA_ORG_BATCH_MAX items. */
gboolean lia_org_service_create_tracked (LiaOrgService *service, const LiaOrgCaller *caller,
                                         const char *subscription, const LiaCrmRecord *const *records,
                                         const char *const *request_ids, guint n, LiaCrmRecord **out_records,
                                         GError **out_errors, GError **error);

/* Change notification for push: @func runs after every committed record
 * change, on the thread that made it. */
typedef void (*LiaOrgChangeFunc) (gpointer user_data);
guint lia_org_service_watch (LiaOrgService *service, LiaOrgChangeFunc func, gpointer user_data);
void lia_org_service_unwatch (LiaOrgService *service, guint id);

G_END_DECLS
