/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-cache.h>
#include <liaison/lia-clock.h>
#include <liaison/lia-crm.h>
#include <liaison/lia-host.h>
#include <liaison/lia-rules.h>

G_BEGIN_DECLS

/* The plugin's ABI (DESIGN.md "The host interface"): liaison-plugin.so
 * exports one function, lia_plugin_query(), returning a table of entry
 * points; a host adapter opens the module with lia_plugin_module_open(),
 * which checks the ABI before anything else runs. The tracking entry
 * points are called on the host's main context and return without disk or
 * network I/O (R-IMM-BACKGROUND); the administration ones that read the
 * sync cache may be called from worker threads instead (#LiaPluginFuncs,
 * "Threads"), which is how a UI keeps its main loop free of disk I/O. */

/**
 * LIA_PLUGIN_ABI_VERSION:
 *
 * The version of #LiaPluginFuncs and the structs it takes. The plugin and
 * the host must agree exactly.
 */
#define LIA_PLUGIN_ABI_VERSION 1

/**
 * LIA_PLUGIN_QUERY_SYMBOL:
 *
 * The one symbol liaison-plugin.so exports: a #LiaPluginQueryFunc.
 */
#define LIA_PLUGIN_QUERY_SYMBOL "lia_plugin_query"

/**
 * LiaPlugin:
 *
 * A loaded plugin instance: the engine of one profile and org.
 */
typedef struct _LiaPlugin LiaPlugin;

/**
 * LiaSyncState:
 * @LIA_SYNC_STATE_STARTING: opening the cache and the org in the background
 * @LIA_SYNC_STATE_IDLE: ready, no cycle running
 * @LIA_SYNC_STATE_SCANNING: a cycle runs the scanner
 * @LIA_SYNC_STATE_UPLOADING: a cycle drains the outbound queue
 * @LIA_SYNC_STATE_DOWNLOADING: a cycle fetches and applies server changes
 * @LIA_SYNC_STATE_OFFLINE: the org was unreachable; retrying with backoff
 * @LIA_SYNC_STATE_STOPPED: unloaded, or start-up failed
 * @LIA_SYNC_STATE_N: the number of states
 *
 * What the engine is doing (R-OFF-STATUS).
 */
typedef enum
{
  LIA_SYNC_STATE_STARTING,
  LIA_SYNC_STATE_IDLE,
  LIA_SYNC_STATE_SCANNING,
  LIA_SYNC_STATE_UPLOADING,
  LIA_SYNC_STATE_DOWNLOADING,
  LIA_SYNC_STATE_OFFLINE,
  LIA_SYNC_STATE_STOPPED,
  LIA_SYNC_STATE_N
} LiaSyncState;

LIA_API const char *lia_sync_state_to_string (LiaSyncState state);

/**
 * LiaSyncStatus:
 * @abi_version: %LIA_PLUGIN_ABI_VERSION
 * @state: what the engine does now
 * @online: whether the last call to the org succeeded
 * @queued: changes waiting in the queue
 * @failed: queued changes that failed at least once
 * @cycles: completed sync cycles since load
 * @last_sync_at: end of the last successful cycle (microseconds), 0 never
 * @last_error: (nullable): the last failure, one line
 * @progress_done: items processed by the running cycle
 *
 * The state the user can always see (R-OFF-STATUS).
 */
typedef struct
{
  guint abi_version;
  LiaSyncState state;
  gboolean online;
  guint64 queued;
  guint64 failed;
  guint cycles;
  gint64 last_sync_at;
  char *last_error;
  guint progress_done;
} LiaSyncStatus;

/**
 * lia_sync_status_clear:
 * @status: a status; frees @last_error
 */
LIA_API void lia_sync_status_clear (LiaSyncStatus *status);

/**
 * LiaSyncStatusFunc:
 * @status: (transfer none): the new status
 * @user_data: user data
 *
 * Called on the host's main context whenever the status changes.
 */
typedef void (*LiaSyncStatusFunc) (const LiaSyncStatus *status, gpointer user_data);

/**
 * LiaPluginConfig:
 * @abi_version: %LIA_PLUGIN_ABI_VERSION
 * @cache_path: the sync cache file of this profile and org
 * @crm: (nullable): a connector to use (tests, several users in one
 *   process); otherwise @org_path or @org_url with @token
 * @org_path: (nullable): an embedded org file (with @token); every build
 *   of the plugin, liaison-plugin.so included, opens one
 * @org_url: (nullable): a liaison-server base URL
 * @token: (nullable): the user's bearer token
 * @org_name: the org's name, written to items as `crm-org`
 * @client_name: this client's name (host and profile) for its subscription
 * @delegate: this client opens another user's mailbox (R-ROLE-DELEGATE)
 * @roaming: every client of the user acts as primary (R-ROLE-ROAMING)
 * @clock: (nullable): the clock; the system clock when %NULL
 * @interval_s: the background sync interval; 0 for the default (15 min)
 * @status_func: (nullable): told of every status change
 * @status_data: user data for @status_func
 * @manual_sync: automatic synchronization off (R-SET-INTERVAL): no
 *   background interval, only Synchronize Now, push and offline retries.
 *   The host's default; the user's choice in the cache
 *   (%LIA_SETTING_SYNC_AUTOMATIC) wins once read. Appended.
 *
 * How a host configures the plugin; borrowed for the duration of load.
 */
typedef struct
{
  guint abi_version;
  const char *cache_path;
  LiaCrm *crm;
  const char *org_path;
  const char *org_url;
  const char *token;
  const char *org_name;
  const char *client_name;
  gboolean delegate;
  gboolean roaming;
  LiaClock *clock;
  guint interval_s;
  LiaSyncStatusFunc status_func;
  gpointer status_data;
  gboolean manual_sync;
} LiaPluginConfig;

/**
 * LiaUiEventKind:
 * @LIA_UI_EVENT_INSPECTOR_OPEN: an item's editor opened
 * @LIA_UI_EVENT_SAVE: the item was saved
 * @LIA_UI_EVENT_CLOSE: the editor closed
 * @LIA_UI_EVENT_SEND: the mail was sent
 * @LIA_UI_EVENT_SELECT: the Explorer selection changed
 * @LIA_UI_EVENT_N: the number of kinds
 */
typedef enum
{
  LIA_UI_EVENT_INSPECTOR_OPEN,
  LIA_UI_EVENT_SAVE,
  LIA_UI_EVENT_CLOSE,
  LIA_UI_EVENT_SEND,
  LIA_UI_EVENT_SELECT,
  LIA_UI_EVENT_N
} LiaUiEventKind;

/**
 * LiaUiEvent:
 * @abi_version: %LIA_PLUGIN_ABI_VERSION
 * @kind: what happened
 * @store: the store id
 * @item_id: the item id (for sends: the sent item)
 * @draft_id: (nullable): for sends: the draft it came from
 */
typedef struct
{
  guint abi_version;
  LiaUiEventKind kind;
  const char *store;
  const char *item_id;
  const char *draft_id;
} LiaUiEvent;

/**
 * LiaCommandKind:
 * @LIA_COMMAND_TRACK: Track in CRM
 * @LIA_COMMAND_UNTRACK: Untrack
 * @LIA_COMMAND_SET_REGARDING: Set Regarding
 * @LIA_COMMAND_SYNC_NOW: Synchronize Now (joins a running cycle)
 * @LIA_COMMAND_N: the number of commands
 */
typedef enum
{
  LIA_COMMAND_TRACK,
  LIA_COMMAND_UNTRACK,
  LIA_COMMAND_SET_REGARDING,
  LIA_COMMAND_SYNC_NOW,
  LIA_COMMAND_N
} LiaCommandKind;

/**
 * LiaCommand:
 * @abi_version: %LIA_PLUGIN_ABI_VERSION
 * @kind: the command
 * @surface: where the user gave it
 * @store: (nullable): the item's store (not for Sync Now)
 * @folder: (nullable): the item's folder
 * @item_id: (nullable): the item
 * @regarding_id: (nullable): for Set Regarding: the record id
 * @regarding_name: (nullable): for Set Regarding: its name
 * @delete_in_crm: for Untrack: the user chose to delete the CRM copy
 * @entity: the item's entity
 * @link_state: the item's link state as the UI shows it
 * @is_draft: the item is an unsent draft mail
 *
 * The UI has the item at hand, so it passes what the rules need: the
 * plugin decides at once, without reading the item (R-IMM-BACKGROUND).
 */
typedef struct
{
  guint abi_version;
  LiaCommandKind kind;
  LiaSurface surface;
  const char *store;
  const char *folder;
  const char *item_id;
  const char *regarding_id;
  const char *regarding_name;
  gboolean delete_in_crm;
  LiaEntity entity;
  LiaLinkState link_state;
  gboolean is_draft;
} LiaCommand;

/**
 * LiaPluginFuncs:
 * @abi_version: %LIA_PLUGIN_ABI_VERSION of the plugin
 * @load: creates an instance for a host and returns at once; the cache and
 *   the org are opened in the background (state %LIA_SYNC_STATE_STARTING),
 *   then the start-up scan runs (R-DET-SCAN-STARTUP)
 * @unload: cancels everything and frees the instance; NULL-safe
 * @notify: a host change notification (R-DET-NOTIFY)
 * @ui_event: an Inspector or Explorer event
 * @command: a user command; %FALSE with %LIA_ERROR_REFUSED and a message
 *   for the user when the rules refuse it
 * @get_status: fills a #LiaSyncStatus (clear it with
 *   lia_sync_status_clear())
 * @sync_async: Synchronize Now with completion: one cycle (joins a running
 *   one); @callback runs on the main context when it is done
 * @sync_finish: the cycle's result
 * @list_changes: (element-type LiaCacheChange): the outbox, pending and
 *   failed changes both ways; %LIA_ERROR_UNAVAILABLE before the cache opened
 * @retry_change: the change @id again, due now, its failures forgotten;
 *   %LIA_ERROR_CONFLICT while a cycle runs, %LIA_ERROR_NOT_FOUND for an
 *   unknown id
 * @drop_change: removes the change @id from the outbox (same errors)
 * @lookup_item: (transfer full) (nullable): the cache's mapping of an item;
 *   %NULL without error when it has none
 * @list_journal: (element-type LiaCacheJournalEntry): the newest @limit
 *   journal entries, newest first ("what moved where")
 * @track_many: R-MAIL-BULK: Track (or Set Regarding) of many selected
 *   messages: all are marked at once, the cache and CRM work runs in the
 *   background, resumable after a restart; %LIA_ERROR_REFUSED for Untrack
 *   (bulk untrack is not offered)
 * @dup_track_result: one message's result: "tracked: CRM-ID", "pending",
 *   "failed: REASON" or "none"
 * @set_folder_tracked: R-MAIL-FOLDER: marks a mail folder tracked (with an
 *   optional regarding) or not; mail moved or filtered into it is tracked
 * @dup_send_subject: R-MAIL-CORRELATE-TOKEN: the subject to send a tracked
 *   message with: the org's tracking token appended (when the org hands
 *   them out), CR/LF and control characters removed
 * @dup_track_reason: (nullable): why a message was tracked automatically
 *   (rule ID and earlier message), %NULL when it was not
 * @dup_setting: (nullable): a user setting of the sync cache (SPEC section
 *   9, keys such as %LIA_SETTING_SYNC_AUTOMATIC), %NULL without error when
 *   unset (%LIA_SETTING_PRIMARY_CLIENT always answers, from the org's
 *   role); %LIA_ERROR_UNAVAILABLE before the cache opened
 * @set_setting: writes a user setting (@value %NULL: back to the default);
 *   %LIA_ERROR_INVALID for a malformed key or value, or a key that
 *   is not a user setting (the keys of SPEC section 9 listed here and
 *   "mail-auto-track", "mail-tagging"; the engine's own cache keys, such as
 *   the tracked folders, are read-only), and nothing changes.
 *   %LIA_SETTING_SYNC_AUTOMATIC and %LIA_SETTING_SYNC_INTERVAL apply at
 *   once, the others from the next cycle
 * @search_async: the Set Regarding picker's org search (lia_crm_search_sync()
 *   on a worker thread, never on the main context); @callback runs on the
 *   caller's thread-default main context
 * @search_finish: (element-type LiaCrmMatch): the matches;
 *   %LIA_ERROR_UNAVAILABLE when the org cannot be reached
 * @get_client_role: this client's role for its mailbox as the last cycle
 *   read it from the org (R-ROLE-ONE-PRIMARY; roaming counts as primary),
 *   and in @out_primary_name (optional, transfer full, nullable) the name
 *   of the user's synchronizing client. A host's UI makes Track of a new
 *   contact, appointment or task insensitive on %LIA_CLIENT_SECONDARY and
 *   names that client (R-ROLE-SECONDARY-NO-NEW); email is tracked the same
 *   on every client (R-ROLE-EMAIL-UNIFORM), and changes to items already
 *   tracked stay allowed (R-ROLE-SECONDARY-DEFER). No I/O: the value is in
 *   memory; %LIA_CLIENT_N once the plugin is unloaded. Appended.
 * @org_info_async: reads, on a worker thread, what the org decides for
 *   this user and the preferences page shows read-only: the tagging
 *   override (R-SET-TAGGING), the sync filters (system and the user's)
 *   and the field map with the org's directions (R-MERGE-DIRECTION,
 *   R-MERGE-FLS); @callback runs on the caller's thread-default main
 *   context. Appended.
 * @org_info_finish: (transfer full): the information as a #GVariant of
 *   type `a{sv}`, keys:
 *   `tagging-override` (`s`, present only when the org overrides the
 *   user's R-SET-TAGGING choice: "on" or "off");
 *   `filters` (`a(sssbb)`: entity name as lia_entity_to_string(), filter
 *   name, filter XML, system (org-wide) filter, enabled);
 *   `fields` (`a(ssssubb)`, registry order per entity, for the entities a
 *   host maps: entity name, field name, its label, the CRM attribute or ""
 *   when derived on the client, the #LiaDirection the org set, the user
 *   may read it, the user may update it).
 *   Keys may be added; hosts ignore the ones they do not know.
 *   %LIA_ERROR_UNAVAILABLE when the org cannot be reached
 *
 * The plugin's entry points. The administration entry points from
 * @sync_async on were appended in plugin/lia-plugin-admin.c (the outbox,
 * the D-Bus interface of module-liaison.so, the `liaison` command); they
 * read and write the sync cache on the calling thread, so hosts call them
 * for user commands only, never per item.
 *
 * Threads: @list_changes, @retry_change, @drop_change, @lookup_item,
 * @list_journal, @dup_track_result, @dup_track_reason, @dup_setting,
 * @set_setting and @get_client_role may also be called from any other
 * thread, concurrently with each other, with the engine's workers and
 * with @unload: reads use the cache's read connection under its lock,
 * writes go through its writer thread, what must run on the host's main
 * context (the scheduler's timers, starting a cycle) is handed to it, and
 * a call that races @unload returns %LIA_ERROR_UNAVAILABLE or finishes
 * before the instance is freed. A host's UI calls these off its main
 * loop (they do disk I/O); the other entry points stay on the main
 * context.
 */
typedef struct
{
  guint abi_version;
  LiaPlugin *(*load) (const LiaPluginConfig *config, const LiaHostVTable *vtable, gpointer host,
                      GError **error);
  void (*unload) (LiaPlugin *plugin);
  void (*notify) (LiaPlugin *plugin, const LiaHostNotification *notification);
  void (*ui_event) (LiaPlugin *plugin, const LiaUiEvent *event);
  gboolean (*command) (LiaPlugin *plugin, const LiaCommand *command, GError **error);
  void (*get_status) (LiaPlugin *plugin, LiaSyncStatus *out_status);
  void (*sync_async) (LiaPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  gboolean (*sync_finish) (LiaPlugin *plugin, GAsyncResult *result, GError **error);
  GPtrArray *(*list_changes) (LiaPlugin *plugin, GError **error);
  gboolean (*retry_change) (LiaPlugin *plugin, gint64 id, GError **error);
  gboolean (*drop_change) (LiaPlugin *plugin, gint64 id, GError **error);
  LiaCacheMapping *(*lookup_item) (LiaPlugin *plugin, const char *store, const char *item_id, GError **error);
  GPtrArray *(*list_journal) (LiaPlugin *plugin, guint limit, GError **error);
  gboolean (*track_many) (LiaPlugin *plugin, const LiaCommand *command, const char *const *item_ids,
                          GError **error);
  char *(*dup_track_result) (LiaPlugin *plugin, const char *store, const char *item_id, GError **error);
  gboolean (*set_folder_tracked) (LiaPlugin *plugin, const char *store, const char *folder, gboolean tracked,
                                  const char *regarding_id, const char *regarding_name, GError **error);
  char *(*dup_send_subject) (LiaPlugin *plugin, const char *subject);
  char *(*dup_track_reason) (LiaPlugin *plugin, const char *store, const char *item_id, GError **error);
  char *(*dup_setting) (LiaPlugin *plugin, const char *key, GError **error);
  gboolean (*set_setting) (LiaPlugin *plugin, const char *key, const char *value, GError **error);
  void (*search_async) (LiaPlugin *plugin, const char *text, guint limit, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);
  GPtrArray *(*search_finish) (LiaPlugin *plugin, GAsyncResult *result, GError **error);
  LiaClientRole (*get_client_role) (LiaPlugin *plugin, char **out_primary_name);
  void (*org_info_async) (LiaPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data);
  GVariant *(*org_info_finish) (LiaPlugin *plugin, GAsyncResult *result, GError **error);
} LiaPluginFuncs;

/**
 * LIA_SETTING_SYNC_AUTOMATIC:
 *
 * R-SET-INTERVAL: automatic synchronization, "on" (default) or "off".
 */
#define LIA_SETTING_SYNC_AUTOMATIC "sync-automatic"
/**
 * LIA_SETTING_SYNC_INTERVAL:
 *
 * R-SET-INTERVAL: the interval in minutes, 1 to 1440 (default 15); the
 * org's minimum still applies.
 */
#define LIA_SETTING_SYNC_INTERVAL "sync-interval-minutes"
/**
 * LIA_SETTING_UPDATE_COMPANY:
 *
 * R-SET-COMPANY: update the Company field of host contacts, "on"
 * (default) or "off".
 */
#define LIA_SETTING_UPDATE_COMPANY "update-company-field"
/**
 * LIA_SETTING_ITEM_TYPES:
 *
 * R-SET-ITEMTYPES: the entities the org prepares for this client, a comma
 * list of "contact", "appointment" (with recurring and service
 * appointments), "task", "phonecall", "letter" and "fax"; "" for none;
 * unset (default): all. Types left out are not brought from CRM to the
 * host; items of them tracked on the host still reach CRM. Applies from
 * the next cycle.
 */
#define LIA_SETTING_ITEM_TYPES "item-types"
/**
 * LIA_SETTING_PRIMARY_CLIENT:
 *
 * R-SET-PRIMARY: this client is the user's synchronizing (primary) client,
 * "on" or "off". Reading gives the org's view as of the last cycle ("on"
 * while a designation waits to reach the org); the user's first client is
 * the primary one. Writing "on" designates this client at the next cycle,
 * which starts at once, and the org demotes the previous primary. "off" on
 * the primary client, and any value on a delegate, is %LIA_ERROR_REFUSED:
 * exactly one client of a user synchronizes, so another one is designated
 * instead.
 */
#define LIA_SETTING_PRIMARY_CLIENT "primary-client"

/**
 * LiaPluginQueryFunc:
 *
 * The type of lia_plugin_query().
 *
 * Returns: (transfer none): the plugin's entry points.
 */
typedef const LiaPluginFuncs *(*LiaPluginQueryFunc) (void);

/**
 * LiaPluginModule:
 *
 * An opened liaison-plugin.so.
 */
typedef struct _LiaPluginModule LiaPluginModule;

/**
 * lia_plugin_module_open:
 * @path: the module file
 * @error: return location for a #GError
 *
 * Opens the module, looks up %LIA_PLUGIN_QUERY_SYMBOL and checks its ABI.
 *
 * Returns: (transfer full): the module, or %NULL with %LIA_ERROR_NOT_FOUND
 *   (no file or no query symbol), %LIA_ERROR_ABI (the message names the
 *   plugin's and the host's ABI versions) or %LIA_ERROR_INVALID.
 */
LIA_API LiaPluginModule *lia_plugin_module_open (const char *path, GError **error);
/**
 * lia_plugin_module_get_funcs:
 * @module: a module
 *
 * Returns: (transfer none): its entry points, valid until the module closes.
 */
LIA_API const LiaPluginFuncs *lia_plugin_module_get_funcs (LiaPluginModule *module);
/**
 * lia_plugin_module_close:
 * @module: (nullable): a module; unload every instance first
 */
LIA_API void lia_plugin_module_close (LiaPluginModule *module);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaPluginModule, lia_plugin_module_close)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LiaSyncStatus, lia_sync_status_clear)

G_END_DECLS
