/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"

G_BEGIN_DECLS

/* The engine's email features the plugin and hosts reach (SPEC section 8):
 * tracked folders, tracking tokens for outgoing subjects, why a message was
 * tracked. Private to libliaison and the plugin, like lia-engine.h. */

typedef struct _LiaEngineMail LiaEngineMail;

/* Cache settings (SPEC section 9). R-SET-AUTOTRACK: "none", "all",
 * "response" (default), "crm-contacts", "email-enabled". R-SET-TAGGING:
 * "on" (default) or "off"; the org's tagging-override wins. */
#define LIA_ENGINE_SETTING_AUTO_TRACK "mail-auto-track"
#define LIA_ENGINE_SETTING_TAGGING "mail-tagging"

/* R-MAIL-FOLDER: marks (or unmarks) a mail folder of the primary store as
 * tracked, with an optional regarding record; mail that arrives in it from
 * now on (moved, filtered) is tracked at the next cycle. Writes the cache:
 * call off the UI thread or for a user command. %LIA_ERROR_REFUSED for
 * another store, %LIA_ERROR_UNAVAILABLE before start-up. */
LIA_API gboolean lia_engine_mail_set_folder (LiaEngine *engine, const char *store, const char *folder,
                                             gboolean tracked, const char *regarding_id,
                                             const char *regarding_name, GError **error);
/* Whether @folder is tracked, as far as the engine has read its settings
 * (a cycle or lia_engine_mail_set_folder() did); no I/O. Any thread. */
LIA_API gboolean lia_engine_mail_folder_is_tracked (LiaEngine *engine, const char *store, const char *folder);
/* R-MAIL-FOLDER, "moved or filtered into it": notes that email @item_id
 * arrived in @folder (created or moved there), durably and without I/O on
 * the caller's thread, when @folder is tracked or the tracked folders are
 * not read yet. The next cycle's folder phase tracks every noted arrival
 * of a tracked folder whatever the message's date (the date scan alone
 * misses an older message moved in). TRUE when the note went to the cache:
 * @callback (nullable) then runs on the caller's thread-default context
 * once it is durable or failed, as for lia_cache_enqueue_async(). */
LIA_API gboolean lia_engine_mail_note_arrival (LiaEngine *engine, const char *store, const char *folder,
                                               const char *item_id, LiaCacheEnqueueFunc callback,
                                               gpointer user_data);
/* R-MAIL-CORRELATE-TOKEN: a tracking token for the subject of a tracked
 * outgoing message, from the pool the cycles keep filled; NULL when the
 * pool is empty (no org tokens yet, or tokens disabled). Any thread. */
LIA_API char *lia_engine_mail_take_token (LiaEngine *engine);
/* Why @item_id was tracked automatically (cache table mail_reason):
 * @out_kind "auto-track", "folder-track" or "bulk-track", @out_rule the
 * SPEC rule ID, @out_earlier the Message-ID of the earlier tracked message
 * it matched (nullable), @out_message the line shown to the user; all NULL
 * when it was not. Each out is nullable. Reads the cache. */
LIA_API gboolean lia_engine_mail_dup_reason (LiaCache *cache, const char *store, const char *item_id,
                                             char **out_kind, char **out_rule, char **out_earlier,
                                             char **out_message, GError **error);

/* R-MAIL-BULK ----------------------------------------------------------- */

typedef enum
{
  LIA_BULK_PENDING, /* queued; CRM has not answered yet */
  LIA_BULK_TRACKED, /* linked to its CRM email */
  LIA_BULK_FAILED,  /* tried and failed; retried with backoff */
  LIA_BULK_NONE,    /* not tracked and nothing queued */
  LIA_BULK_N
} LiaBulkState;

LIA_API const char *lia_bulk_state_to_string (LiaBulkState state);

typedef struct
{
  char *item_id; /* owned */
  LiaBulkState state;
  char *message; /* owned, nullable: the CRM id, or why it failed */
} LiaBulkResult;

LIA_API void lia_bulk_result_free (LiaBulkResult *result);

/* Tracks many messages of @store's @folder at once (R-MAIL-BULK): every
 * message is marked (link state 1) on the host at once, from this call, on
 * the host's main context; the cache work (one transaction: the queued
 * Tracks and a "bulk-track" journal line each) runs on a worker, then a
 * sync starts. The queue is durable, so a restart resumes what CRM has not
 * done. Untracking is never done in bulk. %LIA_ERROR_REFUSED for another
 * store, %LIA_ERROR_UNAVAILABLE before start-up, %LIA_ERROR_INVALID for an
 * empty list or more than 100,000 messages. */
LIA_API gboolean lia_engine_mail_bulk_track (LiaEngine *engine, const char *store, const char *folder,
                                             const char *const *item_ids, const char *regarding_id,
                                             const char *regarding_name, GError **error);
/* How many bulk batches are still being written to the cache. */
LIA_API guint lia_engine_mail_bulk_pending (LiaEngine *engine);
/* (element-type LiaBulkResult): the result of each of @item_ids, in order;
 * reads the cache. */
LIA_API GPtrArray *lia_engine_mail_bulk_results (LiaEngine *engine, const char *store,
                                                 const char *const *item_ids, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaBulkResult, lia_bulk_result_free)

G_END_DECLS
