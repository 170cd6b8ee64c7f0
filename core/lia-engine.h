/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The sync engine: host-neutral and UI-free. It owns the sync cache and
 * runs sync cycles on a worker (scanner, upload, download), calling the
 * host only through LiaHost on the host's main context. The plugin's
 * dispatcher and scheduler drive it; tests drive it directly. Private to
 * libliaison and the plugin (not installed). */

typedef struct _LiaEngine LiaEngine;

typedef struct
{
  const LiaHostVTable *vtable; /* borrowed; must outlive the engine */
  gpointer host;               /* borrowed */
  const char *cache_path;
  LiaCrm *crm;
  LiaClock *clock; /* nullable: system clock */
  const char *client_name;
  const char *org_name;
  gboolean delegate;
  gboolean roaming;
  LiaSyncStatusFunc status_func; /* nullable; called on the main context */
  gpointer status_data;
} LiaEngineConfig;

/* Call on the host's main context: the engine captures it. No I/O; the
 * cache and the org are opened by the first cycle, on the worker. */
LIA_API LiaEngine *lia_engine_new (const LiaEngineConfig *config, GError **error);
LIA_API LiaEngine *lia_engine_ref (LiaEngine *engine);
LIA_API void lia_engine_unref (LiaEngine *engine);
/* Cancels the running cycle; no status callback runs after this. */
LIA_API void lia_engine_stop (LiaEngine *engine);

/* One cycle: start-up (once), scanner, upload, download. A request while a
 * cycle runs joins that cycle. @callback runs on the main context. */
LIA_API void lia_engine_sync_async (LiaEngine *engine, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
LIA_API gboolean lia_engine_sync_finish (LiaEngine *engine, GAsyncResult *result, GError **error);
/* Fire and forget: the scheduler's and the dispatcher's Sync Now. */
LIA_API void lia_engine_request_sync (LiaEngine *engine);

LIA_API void lia_engine_get_status (LiaEngine *engine, LiaSyncStatus *out_status);
/* (nullable): the cache once the engine has started. */
LIA_API LiaCache *lia_engine_get_cache (LiaEngine *engine);
/* The primary store's id, read at creation. */
LIA_API const char *lia_engine_get_store (LiaEngine *engine);
/* The folder the engine synchronizes for @entity, or NULL. */
LIA_API const char *lia_engine_get_folder (LiaEngine *engine, LiaEntity entity);
/* The client as the org sees it; valid once started (role primary before). */
LIA_API void lia_engine_get_client (LiaEngine *engine, LiaClientRole *out_role, char **out_primary_name);
/* (nullable): the subscription id once started. */
LIA_API char *lia_engine_dup_subscription (LiaEngine *engine);
/* The org's minimum sync interval in seconds (R-SET-INTERVAL); 0 unknown. */
LIA_API guint lia_engine_get_min_interval_s (LiaEngine *engine);
/* Whether an enabled sync filter exists for @entity (R-MARK-NEEDS-FILTER);
 * TRUE while not yet known. */
LIA_API gboolean lia_engine_has_filter (LiaEngine *engine, LiaEntity entity);
/* The connector, for the scheduler's push wait. */
LIA_API LiaCrm *lia_engine_get_crm (LiaEngine *engine);
/* Whether the engine has started (cache open, subscribed). */
LIA_API gboolean lia_engine_is_ready (LiaEngine *engine);

/* The cache setting of R-SET-COMPANY: "on" or "off"; absent means on. The
 * engine reads it at the start of every cycle, so a change made in the
 * host's preferences applies from the next cycle. */
#define LIA_ENGINE_SETTING_UPDATE_COMPANY LIA_SETTING_UPDATE_COMPANY

/* The cache settings of R-SET-INTERVAL: automatic synchronization "on" or
 * "off" (absent: the host's configuration, on by default) and the interval
 * in minutes (absent: the host's configuration, 15 by default; the org's
 * minimum still applies). Read when the cache opens and at every cycle;
 * lia_engine_set_schedule() makes a change known at once. */
#define LIA_ENGINE_SETTING_SYNC_AUTOMATIC LIA_SETTING_SYNC_AUTOMATIC
#define LIA_ENGINE_SETTING_SYNC_INTERVAL LIA_SETTING_SYNC_INTERVAL

/* The cache setting of R-SET-ITEMTYPES: the entity types the download
 * brings to the host (lia-plugin.h); absent means all. Read at every
 * cycle's download. */
#define LIA_ENGINE_SETTING_ITEM_TYPES LIA_SETTING_ITEM_TYPES
/* Every type R-SET-ITEMTYPES can leave out, as (1 << entity) bits. */
#define LIA_ENGINE_ITEM_TYPES_ALL                                                                         \
  ((1u << LIA_ENTITY_CONTACT) | (1u << LIA_ENTITY_APPOINTMENT) | (1u << LIA_ENTITY_RECURRING_APPOINTMENT) \
   | (1u << LIA_ENTITY_SERVICE_APPOINTMENT) | (1u << LIA_ENTITY_TASK) | (1u << LIA_ENTITY_PHONE_CALL)     \
   | (1u << LIA_ENTITY_LETTER) | (1u << LIA_ENTITY_FAX))
/* Parses a value of it (%NULL: all) into (1 << entity) bits: %FALSE with
 * %LIA_ERROR_INVALID. */
LIA_API gboolean lia_engine_parse_item_types (const char *value, guint *out_mask, GError **error);

/* The cache setting of R-SET-PRIMARY: "on" is a designation of this client
 * that the next cycle tells the org (which demotes the previous primary)
 * and then removes; the role itself is always the org's
 * (lia_engine_get_client()). */
#define LIA_ENGINE_SETTING_PRIMARY_CLIENT LIA_SETTING_PRIMARY_CLIENT

/* What the cache says of R-SET-INTERVAL: @out_automatic -1 when it says
 * nothing, else 0 or 1; @out_interval_s 0 when it says nothing. */
LIA_API void lia_engine_get_schedule (LiaEngine *engine, gint *out_automatic, guint *out_interval_s);
/* Records a schedule just written to the cache (-1 / 0: leave as is). */
LIA_API void lia_engine_set_schedule (LiaEngine *engine, gint automatic, guint interval_s);
/* Parses a value of the settings above: %FALSE with %LIA_ERROR_INVALID. */
LIA_API gboolean lia_engine_parse_schedule (const char *key, const char *value, gint *out_automatic,
                                            guint *out_interval_s, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaEngine, lia_engine_unref)

G_END_DECLS
