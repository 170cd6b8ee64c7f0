/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of the email phases share (lia-engine-mail.c: state,
 * settings, the phases; -folders.c: R-MAIL-FOLDER; -auto.c: the index and
 * R-MAIL-AUTO; -tokens.c: the token pool; -tagging.c: R-MAIL-TAGGING;
 * -bulk.c: R-MAIL-BULK). Engine-internal. */

#include "lia-cache-private.h"
#include "lia-engine-private.h"
#include "lia-mail-correlate.h"

G_BEGIN_DECLS

struct _LiaEngineMail
{
  LiaMailIndex *index; /* owned; worker only */
  GHashTable *indexed; /* owned; worker only: item id -> crm id (owned) */
  char *index_config;  /* owned; worker only: the settings the index was made for */
  GHashTable *org;     /* owned, nullable; worker only: the org settings the cycle read */
  GMutex lock;
  GHashTable *folders; /* owned, guarded by lock: "store/folder" -> "id\nname" or "" */
  GPtrArray *tokens;   /* owned, guarded by lock: unused tokens, oldest first */
  GHashTable *early;   /* owned, guarded by lock: item id -> folder, arrivals before the cache opened */
  gboolean loaded;     /* guarded by lock: folders and tokens read from the cache */
  gint bulk_pending;   /* atomic: bulk batches not yet written */
  guint arrivals;      /* atomic: arrivals noted since the folder phase listed them */
};

typedef struct
{
  LiaMailCorrelateConfig config;
  char *prefix;
  LiaMailAutoTrack option;
  gboolean tagging;
} LiaEngineMailSettings;

void lia_engine_mail_settings_clear (LiaEngineMailSettings *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LiaEngineMailSettings, lia_engine_mail_settings_clear)

typedef gboolean (*LiaEngineMailRowFunc) (Cycle *c, const LiaHostItem *hi, gpointer data, GError **error);

/* lia-engine-mail.c */
LiaEngineMail *lia_engine_mail_of (LiaEngine *engine);
void lia_engine_mail_load_locked (LiaEngineMail *mail, LiaCache *cache);
GHashTable *lia_engine_mail_org_settings (Cycle *c, LiaEngineMail *mail, gboolean fresh, GError **error);
void lia_engine_mail_read_settings (Cycle *c, GHashTable *org, LiaEngineMailSettings *out);

/* lia-engine-mail-folders.c */
gboolean lia_engine_mail_list_folders (Cycle *c, GError **error);
gboolean lia_engine_mail_scan_folders (Cycle *c, GHashTable *folders, GError **error);

/* lia-engine-mail-auto.c */
gboolean lia_engine_mail_refresh_index (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s,
                                        GError **error);
gboolean lia_engine_mail_scan_inbox (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s,
                                     GError **error);
gboolean lia_engine_mail_scan_new_mail (Cycle *c, const char *folder, const char *wkey,
                                        LiaEngineMailRowFunc func, gpointer data, GError **error);
/* Whether the user untracked @item_id at some point (a journal line):
 * automatic tracking never undoes that. */
gboolean lia_engine_mail_was_untracked (LiaCache *cache, const char *store, const char *item_id);
gboolean lia_engine_mail_track_now (Cycle *c, const LiaHostItem *hi, const char *regarding_id,
                                    const char *regarding_name, const char *kind, const char *why,
                                    GError **error);

/* lia-engine-mail-tokens.c */
gboolean lia_engine_mail_refill_tokens (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s,
                                        GError **error);

/* lia-engine-mail-bulk.c */
gboolean lia_engine_mail_bulk_upload (Cycle *c, GError **error);
LiaHostItem **lia_engine_mail_read_many (Cycle *c, const char *const *ids, guint n, GError **error);

G_END_DECLS
