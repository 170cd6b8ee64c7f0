/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of the mail adapter share (lia-evo-mail.c: the adapter,
 * ids, folders, contents and reads; -session.c: the standalone
 * CamelSession; -convert.c: messages as LiaItem; -props.c: property
 * writes and their burst saves; -watch.c: notifications). Not installed,
 * not for other parts of the plugin: they use lia-evo-mail.h. */

#include "lia-evo-mail-private.h"

G_BEGIN_DECLS

/* User tags, indexed by LiaHostProp; regarding takes three (id, name,
 * entity). The original is base64 so that no byte of OriginalXML depends
 * on how a summary backend stores tag values. */
extern const char *const lia_evo_mail_tag_names[LIA_HOST_PROP_N];
#define TAG_REGARDING_NAME "liaison-regarding-name"
#define TAG_REGARDING_ENTITY "liaison-regarding-entity"
/* The item id the message was tracked under (see lia-evo-mail.h). */
#define TAG_ITEM_ID "liaison-item-id"
/* When Liaison last wrote the message's properties (microseconds): Camel
 * keeps no modification time, and a message marked long after it arrived
 * must sort as changed now (R-DET-SCAN). */
#define TAG_MODIFIED "liaison-modified"

/* What the watch remembers of a message it saw (main context). */
typedef struct
{
  char *item_id; /* owned: the id it is known by (its tag, or its place) */
  char *sig;     /* owned: its Liaison properties, for change detection */
  LiaLinkState state;
} LiaEvoMailSeen;

void lia_evo_mail_seen_free (LiaEvoMailSeen *s);

struct _LiaEvoMail
{
  CamelStore *store;     /* owned */
  char *account_address; /* owned, nullable */
  char *host_store;      /* owned, nullable */
  GMutex lock;
  char *configured[LIA_EVO_MAIL_N]; /* owned, nullable: full names; guarded by lock */
  char *resolved[LIA_EVO_MAIL_N];   /* owned, nullable: full names; guarded by lock */
  /* Folders once opened stay open so that their summaries (and the
   * properties written into them) live until lia_evo_mail_free(). */
  GHashTable *folders; /* owned: full name -> CamelFolder; guarded by lock */
  /* A folder's contents table, sorted, for the pages after the first
   * while no folder reported a change (EVOLUTION.md's scan recipe: a scan
   * starts from a fresh listing and reads on without relisting). */
  GHashTable *listings; /* owned: full name -> Listing; guarded by lock */
  gint change_stamp;    /* atomic: bumped by every change of an open folder */

  /* Watching (main context). */
  GMainContext *context; /* owned, nullable: the watching context */
  LiaEvoMailNotifyFunc notify;
  gpointer notify_data;
  GHashTable *watched; /* owned: CamelFolder (ref) -> handler id */
  GHashTable *seen;    /* owned: place id -> LiaEvoMailSeen */
  GHashTable *pending; /* owned: item id -> count of own writes in flight */
  /* The uids each watched folder held when the watch began: Camel reports
   * its first load of a summary as added messages, after the handler is
   * connected; those are not new mail. */
  GHashTable *initial;             /* owned: CamelFolder (ref) -> GHashTable of uids */
  GCancellable *watch_cancellable; /* owned */
  /* Watch workers still running (they borrow the adapter): free waits. */
  gint in_flight;

  /* Property writes save their folders' summaries once per burst: a
   * write completes after the save that covers it (guarded by lock). */
  guint writes_running; /* async writes posted, not yet written */
  GPtrArray *unsaved;   /* owned: GTask (ref) of writes done, not saved */
  GHashTable *dirty;    /* owned: CamelFolder (ref) the unsaved wrote to */
  gboolean saving;      /* a save is running */
};

/* An async call's data: the sync body runs in a GTask thread. */
typedef struct
{
  LiaEvoMail *mail; /* borrowed: outlives its calls */
  char *folder;     /* owned */
  char *item_id;    /* owned */
  guint offset;
  guint limit;
  LiaItem *fields; /* owned, nullable */
  LiaHostProps props;
  gboolean echo; /* a pending echo was counted for item_id */
  char *place;   /* owned: result of a write */
  char *sig;     /* owned: result of a write */
} LiaEvoMailCall;

void lia_evo_mail_call_free (LiaEvoMailCall *call);
/* (transfer full) a task for @mail's call @name, its data *out_call. */
GTask *lia_evo_mail_call_task (LiaEvoMail *mail, gpointer tag, const char *name, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data, LiaEvoMailCall **out_call);

/* Camel's errors become LIA_ERROR once, here (@code unless not found). */
void lia_evo_mail_translate_error (GError **error, LiaErrorCode code);

/* (transfer full) the open folder @name. The first open refreshes the
 * summary from disk, so messages delivered while no engine ran are seen. */
CamelFolder *lia_evo_mail_ref_folder (LiaEvoMail *mail, const char *name, GCancellable *cancellable,
                                      GError **error);
/* The same; without @refresh a folder not open yet is opened as its
 * summary has it and not kept (a watch of a folder Evolution announced:
 * no server round trip per folder at start). */
CamelFolder *lia_evo_mail_open_folder (LiaEvoMail *mail, const char *name, gboolean refresh,
                                       GCancellable *cancellable, GError **error);
/* Every uid of @f from its summary (no message is opened); free with
 * camel_folder_search_free(). */
GPtrArray *lia_evo_mail_all_uids (CamelFolder *f, GCancellable *cancellable, GError **error);
/* Finds the message @item_id names, also after a move (lia-evo-mail.c). */
CamelFolder *lia_evo_mail_locate (LiaEvoMail *mail, const char *item_id, char **out_uid,
                                  CamelMessageInfo **out_info, GCancellable *cancellable, GError **error);

/* (transfer full) the id the message is known by. */
char *lia_evo_mail_info_item_id (LiaEvoMail *mail, CamelFolder *folder, CamelMessageInfo *info);
/* (transfer full) the message's Liaison properties as one string. */
char *lia_evo_mail_info_sig (CamelMessageInfo *info);

/* (transfer full) @msg as a LiaItem email (lia-evo-mail-convert.c). */
LiaItem *lia_evo_mail_message_to_item (CamelMimeMessage *msg, const char *account_address, gboolean in_sent,
                                       GCancellable *cancellable, GError **error);

G_END_DECLS
