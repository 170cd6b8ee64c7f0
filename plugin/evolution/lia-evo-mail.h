/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <camel/camel.h>
#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The mail part of the Evolution host adapter: LiaHost's contents tables,
 * item reads and named properties over one Camel store.
 *
 * The store comes from whoever owns the CamelSession: inside Evolution the
 * module passes a store of Evolution's mail session (EMailSession), a
 * standalone process (the liaison command, the tests) makes its own
 * session with lia_evo_mail_session_new() and adds a local maildir store
 * with lia_evo_mail_add_maildir_sync(). Either way the adapter only holds a
 * reference to the CamelStore.
 *
 * Folder ids are Camel folder full names ("Inbox", "Sent"). Item ids name
 * the folder and the Camel message uid, each URI-escaped so that neither
 * may contain the separator:
 *
 *   mail:<escaped folder full name>/<escaped uid>
 *
 * Named properties live in the folder summary: user tags (local, copied on
 * moves) hold every property; the user flag LIA_EVO_MAIL_FLAG_TRACKED
 * mirrors link state 2 so that an IMAP server keeps the fact that a
 * message is tracked even where tags are lost.
 *
 * Every Camel call runs in a GTask worker thread; the async functions
 * complete on the thread-default main context of their caller. The _sync
 * bodies are for worker threads and tests only. */

#define LIA_EVO_MAIL_FLAG_TRACKED "liaison-tracked"
/* The body of a LiaItem email is capped (in bytes of UTF-8): a CRM email
 * description holds about a megabyte, and a newsletter must not stall the
 * sync cycle. The cut falls on a character boundary. */
#define LIA_EVO_MAIL_BODY_MAX (1024 * 1024)

typedef struct _LiaEvoMail LiaEvoMail;

/* A CamelSession for a process that is not Evolution: data and cache
 * under @data_dir and @cache_dir. Calls camel_init() once. */
CamelSession *lia_evo_mail_session_new (const char *data_dir, const char *cache_dir);

/* Adds a local maildir store named @uid over the directory @path (which
 * holds the Inbox's cur/new/tmp) to @session. No I/O beyond the provider
 * lookup; returns (transfer full) the store. LIA_ERROR_UNAVAILABLE when
 * Camel has no maildir provider. */
CamelStore *lia_evo_mail_add_maildir_sync (CamelSession *session, const char *uid, const char *path,
                                           GError **error);

/* The adapter over @store. @account_address is the account's own address
 * (a message from it is outgoing); @sent_folder (nullable) the full name of
 * the folder whose messages are all outgoing. No I/O. */
LiaEvoMail *lia_evo_mail_new (CamelStore *store, const char *account_address, const char *sent_folder);
/* Saves pending summary changes (blocking: worker thread or shutdown) and
 * drops the adapter's folders; the store stays with its session. */
void lia_evo_mail_free (LiaEvoMail *mail);

/* Borrowed: the store id the rows and items carry (the CamelService uid). */
const char *lia_evo_mail_get_store_id (LiaEvoMail *mail);

/* (transfer full) the item id of @uid in @folder; %NULL for NULL input. */
char *lia_evo_mail_item_id (const char *folder, const char *uid);
/* Splits an item id; FALSE (outputs untouched) for ids this adapter never
 * made. */
gboolean lia_evo_mail_parse_item_id (const char *item_id, char **out_folder, char **out_uid);

/* Rows @offset..@offset + @limit - 1 of @folder's contents table, newest
 * first by date received (date sent when a message has none; uid breaks
 * ties), with link state and CRM id from the summary: (element-type
 * LiaHostRow). LIA_ERROR_NOT_FOUND for an unknown folder. */
GPtrArray *lia_evo_mail_read_contents_sync (LiaEvoMail *mail, const char *folder, guint offset, guint limit,
                                            GCancellable *cancellable, GError **error);
void lia_evo_mail_read_contents_async (LiaEvoMail *mail, const char *folder, guint offset, guint limit,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
GPtrArray *lia_evo_mail_read_contents_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

/* The message as a LiaItem email with its named properties.
 * LIA_ERROR_NOT_FOUND when it is gone, LIA_ERROR_INVALID when Camel cannot
 * parse it or it has no sender (nothing a CRM email can be made of). */
LiaHostItem *lia_evo_mail_read_item_sync (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                                          GError **error);
void lia_evo_mail_read_item_async (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
LiaHostItem *lia_evo_mail_read_item_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

/* Writes the properties in @props->mask (the message itself is never
 * changed: mail is one-way to the CRM) and saves the folder summary.
 * LIA_ERROR_NOT_FOUND when the message is gone. */
gboolean lia_evo_mail_write_props_sync (LiaEvoMail *mail, const char *item_id, const LiaHostProps *props,
                                        GCancellable *cancellable, GError **error);
void lia_evo_mail_write_props_async (LiaEvoMail *mail, const char *item_id, const LiaHostProps *props,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean lia_evo_mail_write_props_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaEvoMail, lia_evo_mail_free)

G_END_DECLS
