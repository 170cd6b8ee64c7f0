/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <camel/camel.h>
#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The mail part of the Evolution host adapter: LiaHost's contents tables,
 * item reads, named properties and change notifications over one Camel
 * store, the primary mail account's (R-MARK-PROFILE).
 *
 * The store comes from whoever owns the CamelSession: inside Evolution the
 * module passes the default account's store of Evolution's mail session
 * (EMailSession), a standalone process (the liaison command, the tests)
 * makes its own session with lia_evo_mail_session_new() and adds a local
 * maildir store with lia_evo_mail_add_maildir_sync() or any other provider
 * (IMAPX) with camel_session_add_service(). Either way the adapter only
 * holds a reference to the CamelStore.
 *
 * Ids. Every part is URI-escaped, so no part can hold the separator:
 *
 *   folder id   mail:<store uid>/<folder full name>
 *   item id     mail:<store uid>/<folder full name>/<message uid>
 *
 * where the store uid is the CamelService uid (Evolution's account ESource
 * uid), the full name Camel's ("Inbox", "INBOX/Lists/gtk") and the uid the
 * message's uid in that folder. An item id names where the message was
 * when it was first tracked: tracking writes it into the message's
 * `liaison-item-id` user tag, which Camel copies when the message moves or
 * is copied, and a message carrying the tag is known by that id wherever
 * it lies (rows, items, notifications). Reads and writes of an id whose
 * folder no longer holds that uid search the store's folders for the tag
 * (a Camel search in a worker thread), so a tracked message stays linked
 * when the user files it away. Untracking removes the tag.
 *
 * Named properties live in the folder summary: user tags (local, copied on
 * moves) hold every property; the user flag LIA_EVO_MAIL_FLAG_TRACKED
 * mirrors link state 2 so that an IMAP server keeps the fact that a
 * message is tracked (as an IMAP keyword) even where tags are lost.
 *
 * Threads: every Camel *_sync call runs in a GTask worker thread; the
 * async functions complete on the thread-default main context of their
 * caller. The _sync bodies are for worker threads and tests only.
 * Notifications come from CamelFolder::changed, which Camel emits on the
 * main context of its session; the handler reads message infos from the
 * in-memory summary only and moves any search to a worker. */

#define LIA_EVO_MAIL_PREFIX "mail:"
#define LIA_EVO_MAIL_FLAG_TRACKED "liaison-tracked"
/* The body of a LiaItem email is capped (in bytes of UTF-8): a CRM email
 * description holds about a megabyte, and a newsletter must not stall the
 * sync cycle. The cut falls on a character boundary. */
#define LIA_EVO_MAIL_BODY_MAX (1024 * 1024)

typedef struct _LiaEvoMail LiaEvoMail;

/* The account's default folders. */
typedef enum
{
  LIA_EVO_MAIL_INBOX,
  LIA_EVO_MAIL_SENT,
  LIA_EVO_MAIL_DRAFTS,
  LIA_EVO_MAIL_N
} LiaEvoMailFolder;

/* A CamelSession for a process that is not Evolution: data and cache
 * under @data_dir and @cache_dir. Calls camel_init() once. */
CamelSession *lia_evo_mail_session_new (const char *data_dir, const char *cache_dir);

/* Adds a local maildir store named @uid over the directory @path (which
 * holds the Inbox's cur/new/tmp) to @session. No I/O beyond the provider
 * lookup; returns (transfer full) the store. LIA_ERROR_UNAVAILABLE when
 * Camel has no maildir provider. */
CamelStore *lia_evo_mail_add_maildir_sync (CamelSession *session, const char *uid, const char *path,
                                           GError **error);

/* The adapter over @store. @account_address (nullable) is the account's
 * own address: a message from it is outgoing. No I/O. */
LiaEvoMail *lia_evo_mail_new (CamelStore *store, const char *account_address);
/* Saves pending summary changes (blocking: worker thread or shutdown) and
 * drops the adapter's folders; the store stays with its session. Stop
 * watching first (lia_evo_mail_unwatch()), on the watching context. */
void lia_evo_mail_free (LiaEvoMail *mail);

/* Borrowed: the CamelService uid of the store. */
const char *lia_evo_mail_get_store_uid (LiaEvoMail *mail);
/* The store id rows, items and notifications carry: the host's store
 * (LIA_EVO_STORE inside the Evolution adapter); the Camel store uid until
 * set. */
void lia_evo_mail_set_host_store (LiaEvoMail *mail, const char *store_id);
const char *lia_evo_mail_get_store_id (LiaEvoMail *mail);

/* The account's configured Sent and Drafts folders (full names, nullable):
 * Evolution keeps them in the identity's ESourceMailSubmission and
 * ESourceMailComposition as folder URIs (see
 * lia_evo_mail_folder_name_from_uri()). Configured folders win over the
 * folder types the store reports. Call before resolving. */
void lia_evo_mail_set_configured_folders (LiaEvoMail *mail, const char *sent, const char *drafts);
/* (transfer full) the full name in an Evolution folder URI
 * ("folder://<store uid>/<escaped full name>") when it names a folder of
 * @mail's store, else NULL. */
char *lia_evo_mail_folder_name_from_uri (LiaEvoMail *mail, const char *uri);

/* Finds the default folders: the Inbox by the store's folder types
 * (CAMEL_FOLDER_TYPE_INBOX) or camel_store_get_inbox_folder_sync(); Sent
 * and Drafts from the configured folders, else by CAMEL_FOLDER_TYPE_SENT /
 * CAMEL_FOLDER_TYPE_DRAFTS (IMAP SPECIAL-USE). Never by name. Blocking:
 * worker thread, or the async pair. LIA_ERROR_UNAVAILABLE when the store
 * cannot list its folders; a folder not found stays unset. */
gboolean lia_evo_mail_resolve_folders_sync (LiaEvoMail *mail, GCancellable *cancellable, GError **error);
void lia_evo_mail_resolve_folders_async (LiaEvoMail *mail, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean lia_evo_mail_resolve_folders_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);
/* (transfer full) the folder id of a default folder, NULL when the store
 * has none (or it is not resolved yet). No I/O. */
char *lia_evo_mail_dup_folder (LiaEvoMail *mail, LiaEvoMailFolder which);

/* Ids (see above); all return NULL / FALSE (outputs untouched) for NULL
 * input and for ids this adapter never made. */
char *lia_evo_mail_folder_id (const char *store_uid, const char *full_name);
gboolean lia_evo_mail_parse_folder_id (const char *folder_id, char **out_store_uid, char **out_full_name);
char *lia_evo_mail_item_id (const char *store_uid, const char *full_name, const char *uid);
gboolean lia_evo_mail_parse_item_id (const char *item_id, char **out_store_uid, char **out_full_name,
                                     char **out_uid);
/* Whether @id (a folder or an item id) is one of @mail's store. */
gboolean lia_evo_mail_owns_id (LiaEvoMail *mail, const char *id);
/* The link state a message carries (its liaison-link-state tag, or the
 * tracked flag alone where tags are not kept); no I/O beyond what
 * camel_message_info_get_user_tag() does. For the UI, which passes the
 * state it shows with a command. */
LiaLinkState lia_evo_mail_info_link_state (CamelMessageInfo *info);
/* The regarding a message carries (its `regarding` property: the record
 * id, display name and, when known, entity tags), as the host write of a
 * tracked message or of a draft marked to be tracked when sent with a
 * regarding (R-IMM-DRAFT) left it. TRUE with *@out_id and *@out_name
 * (transfer full; the name "" when none was written) when there is one;
 * FALSE with them NULL otherwise. @out_entity (nullable) gets the record's
 * entity, LIA_ENTITY_N when the message does not say. No I/O beyond what
 * camel_message_info_get_user_tag() does: for the UI. */
gboolean lia_evo_mail_info_dup_regarding (CamelMessageInfo *info, char **out_id, char **out_name,
                                          LiaEntity *out_entity);

/* Rows @offset..@offset + @limit - 1 of a folder's contents table, newest
 * first by date received (date sent when a message has none; item id
 * breaks ties), with link state and CRM id from the summary: (element-type
 * LiaHostRow). LIA_ERROR_NOT_FOUND for an unknown folder. */
GPtrArray *lia_evo_mail_read_contents_sync (LiaEvoMail *mail, const char *folder_id, guint offset,
                                            guint limit, GCancellable *cancellable, GError **error);
void lia_evo_mail_read_contents_async (LiaEvoMail *mail, const char *folder_id, guint offset, guint limit,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
GPtrArray *lia_evo_mail_read_contents_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

/* The message as a LiaItem email with its named properties; `regarding`
 * comes from the properties. is_draft for the Drafts folder.
 * LIA_ERROR_NOT_FOUND when it is gone, LIA_ERROR_INVALID when Camel cannot
 * parse it or it has no sender (nothing a CRM email can be made of). */
LiaHostItem *lia_evo_mail_read_item_sync (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                                          GError **error);
void lia_evo_mail_read_item_async (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
LiaHostItem *lia_evo_mail_read_item_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

/* Writes the properties in @props->mask and saves the folder summary. The
 * message itself is never changed (mail is one-way to the CRM): of
 * @fields (nullable) only `regarding` is kept, for the entity of the
 * regarding record. LIA_ERROR_NOT_FOUND when the message is gone. While
 * watching, the change this makes is not notified (echo suppression). */
gboolean lia_evo_mail_write_props_sync (LiaEvoMail *mail, const char *item_id, const LiaItem *fields,
                                        const LiaHostProps *props, GCancellable *cancellable, GError **error);
void lia_evo_mail_write_props_async (LiaEvoMail *mail, const char *item_id, const LiaItem *fields,
                                     const LiaHostProps *props, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean lia_evo_mail_write_props_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);

/* Whether @result comes from one of the async functions above (the host
 * adapter dispatches its _finish calls on it). */
gboolean lia_evo_mail_is_result (GAsyncResult *result);

/* ---- Notifications ---- */

typedef void (*LiaEvoMailNotifyFunc) (const LiaHostNotification *notification, gpointer user_data);

/* Watches the resolved default folders (and any folder given to
 * lia_evo_mail_watch_folder()): from then on @func is called on the
 * calling thread's thread-default main context, which must be the
 * session's (Camel emits CamelFolder::changed there), for
 *   - a message added: created;
 *   - a change of a message's Liaison properties (link state, CRM id, org,
 *     regarding) by someone else: modified (flags such as seen are not
 *     item changes: an email's fields never change);
 *   - a message removed: deleted, with the last link state seen; for a
 *     tracked message found again elsewhere in the store by its item id:
 *     moved (item id kept, new folder, old folder).
 * The adapter's own writes are not reported. Completes once the folders
 * are open and their tracked messages known. */
void lia_evo_mail_watch_async (LiaEvoMail *mail, LiaEvoMailNotifyFunc func, gpointer func_data,
                               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean lia_evo_mail_watch_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error);
/* Stops notifications and disconnects from the folders. */
void lia_evo_mail_unwatch (LiaEvoMail *mail);

/* The hook for Evolution's MailFolderCache, which covers every account:
 * the module calls this from its "folder-available" and "folder-changed"
 * handlers (main context). A folder of @mail's store is watched from then
 * on (opened in a worker); folders of other stores are ignored (only the
 * primary store is tracked, R-MARK-PROFILE). No-op while not watching. */
void lia_evo_mail_watch_folder (LiaEvoMail *mail, CamelStore *store, const char *full_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaEvoMail, lia_evo_mail_free)

G_END_DECLS
