/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-test-camel.h"

G_BEGIN_DECLS

/* What test-evolution-mail.c, test-evolution-mail-notify.c and
 * test-evolution-mail-engine.c share: the mail part of the Evolution
 * adapter against real Camel on a real maildir that each test writes into
 * a fresh temporary directory (lia-test-camel.h), alone and through the
 * host adapter, the plugin and the embedded org. Camel's local provider
 * runs in-process: no bus, no daemon, nothing left running. Only the file
 * names' timestamps order the Inbox (Camel's maildir summary takes the
 * received date from them). */

#define STORE_UID "liaison-test-maildir"
#define ME "me@example.org"
#define SENT "Sent"
#define DRAFTS "Drafts"

typedef struct
{
  LiaTestCamel c; /* the store, host, org and plugin (lia-test-camel.h) */
  char *inbox;    /* folder ids */
  char *sent;
  char *drafts;
  GPtrArray *notes; /* "event item-id [old-folder]" */
} Fx;

/* The Inbox fx_setup() writes (m4 is big_recipients_message()), and
 * garbage, a file that is not mail at all; newest_first: their file names
 * in the order the contents table must give. */
extern const char m1[];
extern const char m2[];
extern const char m3[];
extern const char m5[];
extern const char garbage[];
extern const char *const newest_first[6];
char *big_recipients_message (void);
/* Appended by the tests: sent1 and sent_other to Sent, draft1 to Drafts. */
extern const char sent1[];
extern const char sent_other[];
extern const char draft1[];

/* Opens (or reopens, after lia_test_camel_close()) the store and the host;
 * FALSE (the test skipped) without a Camel maildir provider. */
gboolean fx_open (Fx *fx);
void fx_setup (Fx *fx, gconstpointer data);
void fx_teardown (Fx *fx, gconstpointer data);

/* The Inbox's contents table, read directly from the adapter. */
GPtrArray *contents (Fx *fx, guint offset, guint limit);
char *id_in (const char *full_name, const char *uid);
/* The item id of the Inbox file @file. */
char *id_of (const char *file);
LiaHostItem *read_id (Fx *fx, const char *id);
LiaHostItem *read_ok (Fx *fx, const char *file);
void write_ok (Fx *fx, const char *item_id, const LiaHostProps *props);

/* Through the host vtable. */
const LiaHostVTable *vt (void);
GPtrArray *host_contents (Fx *fx, const char *folder);
LiaHostItem *host_read (Fx *fx, const char *item_id, GError **error);
void host_write (Fx *fx, const char *item_id, const LiaHostProps *props);

/* Notifications: on_note() records them in fx->notes ("event item-id
 * folder [from old-folder]"); watch() makes the host call @func. */
void on_note (const LiaHostNotification *n, gpointer user_data);
gboolean notes_have (Fx *fx, const char *event, const char *item_id, const char *folder, guint wait_ms);
guint notes_about (Fx *fx, const char *item_id);
void watch (Fx *fx, LiaEvoNotifyFunc func);

G_END_DECLS
