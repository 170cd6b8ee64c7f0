/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of the Evolution host adapter share (lia-evo-host.c: ids,
 * opening, the mail account, echo suppression; -vtable.c: the
 * LiaHostVTable; -watch.c: views and notifications). Not for other parts
 * of the plugin: they use lia-evo-host.h. */

#include "lia-evo-host.h"

G_BEGIN_DECLS

#define RID_SEP ";RECURRENCE-ID="

typedef enum
{
  KIND_CONTACT,
  KIND_EVENT,
  KIND_TASK,
  KIND_N
} LiaEvoKind;

/* A folder's contents table, sorted newest first, valid while the
 * backend's "revision" property is unchanged (EVOLUTION.md's scan
 * recipe): the scanner reads it page by page without relisting. */
typedef struct
{
  char *revision;  /* owned */
  GPtrArray *rows; /* owned: LiaHostRow */
} LiaEvoContents;

struct _LiaEvoHost
{
  EClient *clients[KIND_N]; /* owned */
  char *folders[KIND_N];    /* owned: ESource UIDs */
  GMutex lock;
  LiaEvoContents contents[KIND_N]; /* guarded by lock */
  guint workers;                   /* guarded by lock: vtable calls running on threads */
  GCond workers_done;              /* signalled when workers drops to 0 */

  /* Main-context state (the context of lia_evo_host_watch_async). */
  GObject *views[KIND_N]; /* owned: EBookClientView / ECalClientView */
  LiaEvoNotifyFunc notify;
  gpointer notify_data;
  /* Our own writes come back from the views: item id -> pending count of
   * echoes to swallow, so the engine hears only other writers. */
  GHashTable *echoes;      /* owned */
  GHashTable *link_states; /* owned: item id -> last known link state */
  /* Contact creates waiting to go to EDS together (create_contacts_flush). */
  GPtrArray *contact_batch; /* owned: GTask, nullable */
  GSource *batch_source;    /* owned, nullable */
  /* The primary mail account (lia-evo-mail.h). */
  LiaEvoMail *mail; /* owned, nullable */
};

void lia_evo_host_contents_clear (LiaEvoContents *c);
/* Splits an item id; FALSE for ids this adapter never made. */
gboolean lia_evo_host_parse_item_id (const char *item_id, LiaEvoKind *out_kind, char **out_uid,
                                     char **out_rid);
/* Foreign errors become LIA_ERROR once, here. */
void lia_evo_host_translate_error (GError **error);
/* Echo suppression (main context): one echo of @item_id's own write to
 * swallow; _take() swallows one, TRUE when there was one. */
void lia_evo_host_echo_expect (LiaEvoHost *host, const char *item_id);
gboolean lia_evo_host_echo_take (LiaEvoHost *host, const char *item_id);

G_END_DECLS
