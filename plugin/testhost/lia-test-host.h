/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The test host: a complete in-memory LiaHost that behaves like a mail
 * client for the plugin and the engine. A LiaTestMailbox holds the items
 * (stores, folders, fields, named properties); a LiaTestHost is one
 * client's view of it, with its own notification listener, so two clients
 * sharing one mailbox (primary and secondary) or a delegate are two hosts
 * on one mailbox. Every host call completes asynchronously on the caller's
 * main context, as a real client's would. The mailbox can be saved to a
 * directory and loaded again to model a kill and restart. */

/* The primary store and a second store of the profile (R-MARK-PROFILE). */
#define LIA_TEST_STORE "primary"
#define LIA_TEST_STORE_OTHER "archive"

typedef struct _LiaTestMailbox LiaTestMailbox;
typedef struct _LiaTestHost LiaTestHost;

LiaTestMailbox *lia_test_mailbox_new (LiaClock *clock);
LiaTestMailbox *lia_test_mailbox_ref (LiaTestMailbox *mailbox);
void lia_test_mailbox_unref (LiaTestMailbox *mailbox);
/* Writes every item to @dir (mailbox.ini and one file per item in items/). */
gboolean lia_test_mailbox_save (LiaTestMailbox *mailbox, const char *dir, GError **error);
/* Saves to @dir now and then after every change, before the call making it
 * returns: a process killed at any instant leaves what it had written. */
gboolean lia_test_mailbox_set_autosave (LiaTestMailbox *mailbox, const char *dir, GError **error);
LiaTestMailbox *lia_test_mailbox_load (const char *dir, LiaClock *clock, GError **error);
/* The default folder of an entity: contacts, calendar, tasks or inbox. */
const char *lia_test_folder_for (LiaEntity entity);

typedef void (*LiaTestNotifyFunc) (const LiaHostNotification *notification, gpointer user_data);

LiaTestHost *lia_test_host_new (LiaTestMailbox *mailbox);
void lia_test_host_free (LiaTestHost *host);
const LiaHostVTable *lia_test_host_get_vtable (void);
LiaTestMailbox *lia_test_host_get_mailbox (LiaTestHost *host);
void lia_test_host_set_notify (LiaTestHost *host, LiaTestNotifyFunc func, gpointer user_data);
/* Drops notifications on purpose: what the scanner must catch (R-DET-SCAN). */
void lia_test_host_set_drop_notifications (LiaTestHost *host, gboolean drop);
/* How many vtable calls the engine made, and how many are still pending. */
guint lia_test_host_get_n_calls (LiaTestHost *host);

/* What the user does in the client's UI: synchronous, notifying. */
char *lia_test_host_user_create (LiaTestHost *host, const char *store, const char *folder,
                                 const LiaItem *item, gboolean is_draft);
gboolean lia_test_host_user_edit (LiaTestHost *host, const char *item_id, const char *field,
                                  const char *text);
/* Sets any field (a reference, a date) as the user's editor would. */
gboolean lia_test_host_user_set (LiaTestHost *host, const char *item_id, const char *field,
                                 const LiaValue *value);
gboolean lia_test_host_user_delete (LiaTestHost *host, const char *item_id);
gboolean lia_test_host_user_move (LiaTestHost *host, const char *item_id, const char *store,
                                  const char *folder);
/* Moves the item to a place with its own ids (another store or folder, as
 * MAPI and IMAP do): it gets a new id, returned, and keeps its
 * modification time. @report_move: one "moved"
 * notification with the old id; otherwise a delete and a create, as a
 * client that cannot report moves. */
char *lia_test_host_user_move_new_id (LiaTestHost *host, const char *item_id, const char *store,
                                      const char *folder, gboolean report_move);
/* Sets named properties as a client does when it marks (delegates). */
gboolean lia_test_host_user_set_props (LiaTestHost *host, const char *item_id, const LiaHostProps *props);

/* Inspection, for assertions. */
LiaHostItem *lia_test_host_dup_item (LiaTestHost *host, const char *item_id);
/* (element-type LiaHostItem): the items of a folder, any order. */
GPtrArray *lia_test_host_list_items (LiaTestHost *host, const char *store, const char *folder);
guint lia_test_host_count_items (LiaTestHost *host, const char *store, const char *folder);
/* The item of @folder whose @field is @text, or NULL. */
LiaHostItem *lia_test_host_find (LiaTestHost *host, const char *folder, const char *field, const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaTestMailbox, lia_test_mailbox_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaTestHost, lia_test_host_free)

G_END_DECLS
