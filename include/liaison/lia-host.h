/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <gio/gio.h>
#include <liaison/lia-cache.h>
#include <liaison/lia-item.h>

G_BEGIN_DECLS

/* The host interface (DESIGN.md "The host interface"): what a mail client's
 * adapter implements so that the host-neutral plugin can read and write its
 * stores. MAPI-shaped: stores with default folders, contents tables read
 * newest first in pages, items as LiaItem plus named properties. Every call
 * that can block is asynchronous and is made on the host's main context
 * only; the adapter completes it on that context. */

/**
 * LIA_HOST_ABI_VERSION:
 *
 * The version of #LiaHostVTable and the structs beside it. A host fills
 * @abi_version with the value it was compiled against; the plugin refuses
 * any other. Bump it on every incompatible change of this header.
 */
#define LIA_HOST_ABI_VERSION 1

/**
 * LiaHostRow:
 * @item_id: (transfer full): the item's id in its store
 * @modified_at: its last-modified time (microseconds since the epoch)
 * @link_state: its `link-state` property
 * @crm_id: (transfer full) (nullable): its `crm-id` property
 *
 * One row of a contents table: the columns the scanner and the identity
 * rebuild need without reading the item (R-DET-SCAN, R-DUP-NONE).
 */
typedef struct
{
  char *item_id;
  gint64 modified_at;
  LiaLinkState link_state;
  char *crm_id;
} LiaHostRow;

/**
 * lia_host_row_new:
 * @item_id: the item id
 * @modified_at: last-modified time
 * @link_state: link state
 * @crm_id: (nullable): CRM id
 *
 * Returns: (transfer full): a row; free with lia_host_row_free().
 */
LIA_API LiaHostRow *lia_host_row_new (const char *item_id, gint64 modified_at, LiaLinkState link_state,
                                      const char *crm_id);
LIA_API void lia_host_row_free (LiaHostRow *row);

/**
 * LiaHostProp:
 * @LIA_HOST_PROP_LINK_STATE: `link-state`
 * @LIA_HOST_PROP_CRM_ID: `crm-id`
 * @LIA_HOST_PROP_CRM_ORG: `crm-org`, the org the CRM id belongs to
 * @LIA_HOST_PROP_ORIGINAL: `original`, OriginalXML
 * @LIA_HOST_PROP_REGARDING: `regarding`, id and display name
 * @LIA_HOST_PROP_N: the number of properties
 *
 * The named properties Liaison keeps on host items. The cache is
 * authoritative; these travel with the item (to a secondary client, to a
 * rebuilt cache) and may be dropped by remote backends.
 */
typedef enum
{
  LIA_HOST_PROP_LINK_STATE,
  LIA_HOST_PROP_CRM_ID,
  LIA_HOST_PROP_CRM_ORG,
  LIA_HOST_PROP_ORIGINAL,
  LIA_HOST_PROP_REGARDING,
  LIA_HOST_PROP_N
} LiaHostProp;

LIA_API const char *lia_host_prop_to_string (LiaHostProp prop);

/**
 * LiaHostProps:
 * @mask: bit (1 << #LiaHostProp) for each property present (read) or to
 *   write (write); properties outside the mask are left alone
 * @link_state: `link-state`
 * @crm_id: (nullable): `crm-id`
 * @crm_org: (nullable): `crm-org`
 * @original: (nullable): `original`
 * @regarding_id: (nullable): `regarding`, the record id
 * @regarding_name: (nullable): `regarding`, its display name
 *
 * The named properties of one item. Strings are owned by the struct;
 * %NULL with the bit set clears a property.
 */
typedef struct
{
  guint mask;
  LiaLinkState link_state;
  char *crm_id;
  char *crm_org;
  char *original;
  char *regarding_id;
  char *regarding_name;
} LiaHostProps;

/**
 * lia_host_props_copy:
 * @dest: (out caller-allocates): where to copy
 * @src: the properties
 */
LIA_API void lia_host_props_copy (LiaHostProps *dest, const LiaHostProps *src);
/**
 * lia_host_props_clear:
 * @props: properties; frees the strings and zeroes the struct
 */
LIA_API void lia_host_props_clear (LiaHostProps *props);
/**
 * lia_host_props_set:
 * @props: properties
 * @prop: which one
 * @text: (nullable): its value (for %LIA_HOST_PROP_LINK_STATE the digit)
 *
 * Sets one string property and its bit of the mask.
 */
LIA_API void lia_host_props_set (LiaHostProps *props, LiaHostProp prop, const char *text);

/**
 * LiaHostItem:
 * @store: (transfer full): the store id
 * @folder: (transfer full): the folder id
 * @item_id: (transfer full): the item id
 * @item: (transfer full): the fields
 * @modified_at: last-modified time (microseconds)
 * @is_draft: whether the item is an unsent draft mail
 * @props: the named properties (mask says which exist)
 *
 * One host item as read.
 */
typedef struct
{
  char *store;
  char *folder;
  char *item_id;
  LiaItem *item;
  gint64 modified_at;
  gboolean is_draft;
  LiaHostProps props;
} LiaHostItem;

/**
 * lia_host_item_new:
 * @store: store id
 * @folder: folder id
 * @item_id: item id
 * @item: (transfer none): the fields, copied
 *
 * Returns: (transfer full): a host item with no properties.
 */
LIA_API LiaHostItem *lia_host_item_new (const char *store, const char *folder, const char *item_id,
                                        const LiaItem *item);
LIA_API LiaHostItem *lia_host_item_copy (const LiaHostItem *item);
LIA_API void lia_host_item_free (LiaHostItem *item);

/**
 * LiaHostEvent:
 * @LIA_HOST_EVENT_CREATED: an item was created in a watched folder
 * @LIA_HOST_EVENT_MODIFIED: an item was modified
 * @LIA_HOST_EVENT_DELETED: an item was deleted
 * @LIA_HOST_EVENT_MOVED: an item moved (@old_folder or another store)
 * @LIA_HOST_EVENT_N: the number of events
 *
 * What a host adapter reports through the plugin's notify entry point.
 */
typedef enum
{
  LIA_HOST_EVENT_CREATED,
  LIA_HOST_EVENT_MODIFIED,
  LIA_HOST_EVENT_DELETED,
  LIA_HOST_EVENT_MOVED,
  LIA_HOST_EVENT_N
} LiaHostEvent;

LIA_API const char *lia_host_event_to_string (LiaHostEvent event);

/**
 * LiaHostNotification:
 * @abi_version: %LIA_HOST_ABI_VERSION
 * @event: what happened
 * @store: the store id
 * @folder: the folder id (after a move: the new folder)
 * @item_id: the item id
 * @old_store: (nullable): for moves: where it was
 * @old_folder: (nullable): for moves: where it was
 * @entity: the item's entity (what its folder holds)
 * @link_state: its `link-state` property as the host read it; for
 *   deletions the last one it knew
 * @old_item_id: (nullable): for moves that changed the item's id (another
 *   store or folder with its own ids): the id it had before; %NULL when
 *   the id is unchanged. Appended: hosts that fill the struct with an
 *   initializer leave it %NULL.
 *
 * One change notification; borrowed for the duration of the call. The
 * host fills @entity and @link_state from the item it already holds, so
 * the plugin decides without reading anything (R-IMM-BACKGROUND).
 */
typedef struct
{
  guint abi_version;
  LiaHostEvent event;
  const char *store;
  const char *folder;
  const char *item_id;
  const char *old_store;
  const char *old_folder;
  LiaEntity entity;
  LiaLinkState link_state;
  const char *old_item_id;
} LiaHostNotification;

/**
 * LiaHostVTable:
 * @abi_version: %LIA_HOST_ABI_VERSION
 * @dup_primary_store: the primary store's id (R-MARK-PROFILE); no I/O
 * @dup_default_folder: the default folder of @store for @entity's kind, or
 *   %NULL when it has none; no I/O
 * @read_contents: starts reading rows @offset.. @offset + @limit - 1 of
 *   @folder's contents table sorted by last-modified time, newest first
 * @read_contents_finish: (element-type LiaHostRow) the rows; fewer than
 *   @limit at the end
 * @read_item: starts reading an item and its properties
 * @read_item_finish: the item, or %NULL with %LIA_ERROR_NOT_FOUND
 * @write_item: starts writing the item: @fields (nullable: leave the fields)
 *   replaces every field (absent ones are cleared), then the properties in
 *   @props->mask (nullable: none)
 * @write_item_finish: whether it was written
 * @create_item: starts creating an item in @folder with @props
 * @create_item_finish: the new item's id
 * @delete_item: starts deleting an item
 * @delete_item_finish: whether it was deleted (%LIA_ERROR_NOT_FOUND if gone)
 * @dup_scan_folders: (nullable) the folders of @store the scanner reads
 *   for @entity besides its default folder (R-DET-SCAN-STARTUP): for email
 *   the Sent folder, whose marked messages are promoted like the Inbox's; a
 *   %NULL-terminated array of folder ids, or %NULL for none. Called from
 *   the engine's worker at each cycle: no I/O and thread-safe. Appended
 *   and optional: a host that leaves it %NULL has its default folders
 *   scanned alone. The engine adds the mail folders the user tracks
 *   (R-MAIL-FOLDER) itself.
 *
 * The functions a host adapter implements. @host is the adapter's own
 * pointer given at load. Each _finish runs in the callback of its start
 * call; all of them run on the host's main context. Every function is
 * required, except the appended @dup_scan_folders.
 */
typedef struct
{
  guint abi_version;

  char *(*dup_primary_store) (gpointer host);
  char *(*dup_default_folder) (gpointer host, const char *store, LiaEntity entity);

  void (*read_contents) (gpointer host, const char *store, const char *folder, guint offset, guint limit,
                         GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  GPtrArray *(*read_contents_finish) (gpointer host, GAsyncResult *result, GError **error);

  void (*read_item) (gpointer host, const char *store, const char *item_id, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data);
  LiaHostItem *(*read_item_finish) (gpointer host, GAsyncResult *result, GError **error);

  void (*write_item) (gpointer host, const char *store, const char *item_id, const LiaItem *fields,
                      const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  gboolean (*write_item_finish) (gpointer host, GAsyncResult *result, GError **error);

  void (*create_item) (gpointer host, const char *store, const char *folder, const LiaItem *item,
                       const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  char *(*create_item_finish) (gpointer host, GAsyncResult *result, GError **error);

  void (*delete_item) (gpointer host, const char *store, const char *item_id, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*delete_item_finish) (gpointer host, GAsyncResult *result, GError **error);

  char **(*dup_scan_folders) (gpointer host, const char *store, LiaEntity entity);
} LiaHostVTable;

/**
 * lia_host_vtable_check:
 * @vtable: a host's vtable
 * @error: return location for a #GError
 *
 * Returns: %TRUE when @vtable is of this ABI and complete; %FALSE with
 *   %LIA_ERROR_ABI naming both versions, or %LIA_ERROR_INVALID naming the
 *   missing function.
 */
LIA_API gboolean lia_host_vtable_check (const LiaHostVTable *vtable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaHostRow, lia_host_row_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaHostItem, lia_host_item_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LiaHostProps, lia_host_props_clear)

G_END_DECLS
