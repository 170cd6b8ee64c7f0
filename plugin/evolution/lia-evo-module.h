/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between module-liaison.so (the engine inside Evolution) and the
 * UI hooks (ui-hooks/evolution/, issue 7).
 *
 * module-liaison.so owns one LiaEvoEngine per Evolution process: an EShell
 * extension creates it when the shell is constructed, and it lives until
 * the shell is finalized (Evolution's load/unload/load sequence of the
 * module does not touch it). The engine loads liaison-plugin.so through
 * the plugin ABI (lia-plugin.h), runs it over the EDS host adapter
 * (lia-evo-host.h), and exports the session D-Bus interface
 * org.gnome.Liaison.Engine1 (docs/architecture.md).
 *
 * Everything here is called on the main context (Evolution's GTK thread);
 * signals are emitted there too.
 *
 * Item ids (what LiaCommand.item_id and LiaUiEvent.item_id carry) follow
 * the host adapter's scheme:
 *
 *   contact:<vCard UID>                           EContact (E_CONTACT_UID)
 *   task:<iCalendar UID>                          a task (ECalComponent)
 *   event:<iCalendar UID>                         a single event or a series
 *   event:<iCalendar UID>;RECURRENCE-ID=<rid>     a detached instance
 *   mail:<store uid>/<folder full name>/<message uid>
 *                                                 a Camel message (each part
 *                                                 URI-escaped, lia-evo-mail.h)
 *
 * The helpers below build them, so the UI never formats ids itself. The
 * store of every contact, event and task, and of the default mail
 * account's messages, is the primary store LIA_EVO_STORE ("evolution"); a
 * message's folder is the mail folder id "mail:<store uid>/<full name>".
 * lia_evo_engine_command() fills store and folder from the item id (for
 * messages it always does, whatever the UI passed), so a message of
 * another account keeps its CamelService uid as store and the rules
 * refuse to track it (R-MARK-PROFILE).
 *
 * The UI keeps no sync state: it reads status with
 * lia_evo_engine_get_status(), asks the link state of an item with
 * lia_evo_engine_dup_link_state(), and gives commands through
 * lia_evo_engine_command() (which fills store and folder as above; the raw
 * entry point lia_evo_engine_get_funcs()->command does not). */

#include <glib-object.h>
#include <liaison/liaison.h>

G_BEGIN_DECLS

#define LIA_EVO_TYPE_ENGINE (lia_evo_engine_get_type ())
G_DECLARE_FINAL_TYPE (LiaEvoEngine, lia_evo_engine, LIA_EVO, ENGINE, GObject)

/**
 * lia_evo_engine_get_default:
 *
 * Returns: (transfer none) (nullable): the module's engine, or %NULL when
 *   the module does not run one (no profile, the profile is locked by a
 *   `liaison` command, the plugin could not be loaded).
 */
LiaEvoEngine *lia_evo_engine_get_default (void);

/**
 * lia_evo_engine_get_funcs:
 * @self: the engine
 *
 * Returns: (transfer none) (nullable): the entry points of the loaded
 *   liaison-plugin.so; %NULL when it could not be loaded.
 */
const LiaPluginFuncs *lia_evo_engine_get_funcs (LiaEvoEngine *self);

/**
 * lia_evo_engine_get_plugin:
 * @self: the engine
 *
 * Returns: (transfer none) (nullable): the plugin instance to pass to the
 *   entry points; %NULL while the engine is starting (before "ready") and
 *   after it stopped.
 */
LiaPlugin *lia_evo_engine_get_plugin (LiaEvoEngine *self);

/**
 * lia_evo_engine_is_ready:
 * @self: the engine
 *
 * Returns: whether "ready" was emitted (the plugin is loaded over the host
 *   adapter; the cache may still be opening, see the status).
 */
gboolean lia_evo_engine_is_ready (LiaEvoEngine *self);

/**
 * lia_evo_engine_get_status:
 * @self: the engine
 * @out_status: (out caller-allocates): filled; clear with
 *   lia_sync_status_clear()
 *
 * The engine's status (R-OFF-STATUS). Before "ready" the state is
 * %LIA_SYNC_STATE_STARTING; when the engine could not start it is
 * %LIA_SYNC_STATE_STOPPED with @last_error saying why.
 */
void lia_evo_engine_get_status (LiaEvoEngine *self, LiaSyncStatus *out_status);

/**
 * lia_evo_engine_command:
 * @self: the engine
 * @command: the command; @command->store and @command->folder may be
 *   %NULL for contacts, events and tasks (the engine fills the primary
 *   store and its default folder, R-MARK-PROFILE)
 * @error: return location for a #GError
 *
 * Gives a Track / Untrack / Set Regarding / Synchronize Now command to the
 * plugin. %LIA_ERROR_UNAVAILABLE while the engine is not ready.
 *
 * Returns: %FALSE with @error set (one line, for the user) when refused.
 */
gboolean lia_evo_engine_command (LiaEvoEngine *self, const LiaCommand *command, GError **error);

/**
 * lia_evo_engine_dup_link_state:
 * @self: the engine
 * @item_id: an item id
 * @out_crm_id: (out) (optional) (transfer full) (nullable): the CRM record id
 *
 * Returns: the item's link state in the sync cache (%LIA_LINK_STATE_NONE
 *   when untracked, or while the cache is not open).
 */
LiaLinkState lia_evo_engine_dup_link_state (LiaEvoEngine *self, const char *item_id, char **out_crm_id);

/* Item ids (see above); (transfer full), %NULL for %NULL input. */
char *lia_evo_engine_item_id_for_contact (const char *uid);
char *lia_evo_engine_item_id_for_event (const char *uid, const char *rid);
char *lia_evo_engine_item_id_for_task (const char *uid);
char *lia_evo_engine_item_id_for_message (const char *store_uid, const char *folder_full_name,
                                          const char *message_uid);

/* Signals:
 *
 * "ready" (LiaEvoEngine *engine): the plugin is loaded; get_plugin() is
 *   non-NULL from now on.
 * "status-changed" (LiaEvoEngine *engine, gconstpointer status): a
 *   const LiaSyncStatus * (transfer none), after every change of state,
 *   counts or progress.
 * "stopped" (LiaEvoEngine *engine): the plugin was unloaded (shell
 *   shutting down); get_plugin() is NULL from now on. */

G_END_DECLS
