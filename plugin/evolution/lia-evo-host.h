/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libebook/libebook.h>
#include <libecal/libecal.h>
#include <liaison/liaison.h>

#include "lia-evo-mail.h"

G_BEGIN_DECLS

/* The Evolution host adapter: LiaHost over evolution-data-server. One store
 * (the profile's primary store, R-MARK-PROFILE) whose folders are the
 * default address book, calendar and task list, named by their ESource
 * UIDs. Item ids carry their kind so that read_item, which gets no folder,
 * knows which client to ask:
 *
 *   contact:<vCard UID>
 *   task:<iCalendar UID>
 *   event:<iCalendar UID>                        a single event or a series
 *   event:<iCalendar UID>;RECURRENCE-ID=<rid>    a detached instance
 *
 * Every EDS call runs in a GTask thread (the *_sync client calls are
 * thread-safe D-Bus calls); results come back on the thread-default main
 * context of the caller, as lia-host.h requires. Notifications come from
 * EBookClientView / ECalClientView created on the context that called
 * lia_evo_host_watch_async(). */

#define LIA_EVO_STORE "evolution"

/* libical-glib 3.0 declares no autoptr cleanups for its GObjects. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ICalComponent, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ICalProperty, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ICalParameter, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ICalTime, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ICalRecurrence, g_object_unref)
/* Nor does libebook for EContact. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EContact, g_object_unref)

typedef struct _LiaEvoHost LiaEvoHost;

typedef void (*LiaEvoNotifyFunc) (const LiaHostNotification *notification, gpointer user_data);

/* Opens the default address book, calendar and task list of @registry.
 * Blocks: call it from a worker thread, or use the async pair. */
LiaEvoHost *lia_evo_host_new_sync (ESourceRegistry *registry, GCancellable *cancellable, GError **error);
void lia_evo_host_new_async (ESourceRegistry *registry, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
LiaEvoHost *lia_evo_host_new_finish (GAsyncResult *result, GError **error);
/* Over clients someone else opened and shares (Evolution's EClientCache):
 * the default address book, calendar and task list. No I/O; takes
 * references. */
LiaEvoHost *lia_evo_host_new_for_clients (EBookClient *book, ECalClient *events, ECalClient *tasks);
void lia_evo_host_free (LiaEvoHost *host);

const LiaHostVTable *lia_evo_host_get_vtable (void);

/* Mail (lia-evo-mail.h): the primary mail account's store joins the
 * primary store LIA_EVO_STORE. Its default folders (Inbox, Sent, Drafts)
 * are folders of LIA_EVO_STORE with mail folder ids, its messages items
 * with mail item ids ("mail:<store uid>/<folder>/<uid>"); email's default
 * folder is the Inbox. Messages are read and their properties written;
 * create_item and delete_item refuse them (LIA_ERROR_REFUSED: mail is
 * one-way to the CRM, R-MARK-PROFILE, R-DEL-IN-EMAIL). Takes @mail
 * (transfer full), whose folders must be resolved
 * (lia_evo_mail_resolve_folders_sync()); call before watching. */
void lia_evo_host_set_mail (LiaEvoHost *host, LiaEvoMail *mail);
/* Borrowed, nullable: the module hands MailFolderCache's folders to
 * lia_evo_mail_watch_folder() through it. */
LiaEvoMail *lia_evo_host_get_mail (LiaEvoHost *host);
/* (transfer full) the adapter over @account's store in @session (inside
 * Evolution: the EMailSession), with the account's address and its
 * configured Sent and Drafts folders from @identity (the identity source
 * the account names). No I/O; resolve its folders before
 * lia_evo_host_set_mail(). LIA_ERROR_NOT_FOUND when @session has no store
 * of that uid. */
LiaEvoMail *lia_evo_host_mail_for_account (ESource *account, ESource *identity, CamelSession *session,
                                           GError **error);
/* The same for the registry's default mail account (R-MARK-PROFILE). */
LiaEvoMail *lia_evo_host_mail_for_default_account (ESourceRegistry *registry, CamelSession *session,
                                                   GError **error);
/* A host of mail alone (no address book, calendar or task list): the
 * liaison command without EDS, and the mail tests. Takes @mail. */
LiaEvoHost *lia_evo_host_new_for_mail (LiaEvoMail *mail);

/* Client accessors (borrowed): what the module and the tests act on as the
 * user would. */
EBookClient *lia_evo_host_get_book (LiaEvoHost *host);
ECalClient *lia_evo_host_get_calendar (LiaEvoHost *host);
ECalClient *lia_evo_host_get_tasks (LiaEvoHost *host);

/* The item id of a contact, task or event as the adapter names it. */
char *lia_evo_item_id_for_contact (const char *uid);
char *lia_evo_item_id_for_component (ECalClientSourceType kind, const char *uid, const char *rid);

/* The link state a contact or a VEVENT/VTODO carries in its
 * X-LIAISON-LINK-STATE property (none when absent): what the UI shows for
 * an item no lookup has seen, read from memory, never the sync cache. */
LiaLinkState lia_evo_contact_link_state (EContact *contact);
LiaLinkState lia_evo_comp_link_state (ICalComponent *comp);

/* Starts the client views on the calling thread's thread-default context;
 * from then on @func is called there for every change made by someone
 * other than this adapter. Completes once all three views run, and the
 * mail folders are watched (CamelFolder::changed, lia_evo_mail_watch_async()). */
void lia_evo_host_watch_async (LiaEvoHost *host, LiaEvoNotifyFunc func, gpointer func_data,
                               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean lia_evo_host_watch_finish (LiaEvoHost *host, GAsyncResult *result, GError **error);
/* Stops calling the notify function (views stay until the host is freed). */
void lia_evo_host_unwatch (LiaEvoHost *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaEvoHost, lia_evo_host_free)

G_END_DECLS
