/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-entity.h>

G_BEGIN_DECLS

/**
 * LiaClientRole:
 * @LIA_CLIENT_PRIMARY: the user's synchronizing client
 * @LIA_CLIENT_SECONDARY: any other client of the same mailbox
 * @LIA_CLIENT_DELEGATE: a client of another user with delegated access
 * @LIA_CLIENT_N: the number of roles
 *
 * A client's role for one mailbox (SPEC section 2). Stored in the sync
 * cache: append only.
 */
typedef enum
{
  LIA_CLIENT_PRIMARY,
  LIA_CLIENT_SECONDARY,
  LIA_CLIENT_DELEGATE,
  LIA_CLIENT_N
} LiaClientRole;

/**
 * lia_client_role_to_string:
 * @role: a role
 *
 * Returns: (transfer none): "primary", "secondary" or "delegate"; "?" out
 *   of range.
 */
LIA_API const char *lia_client_role_to_string (LiaClientRole role);

/**
 * lia_client_role_resolve:
 * @client_id: this client's id
 * @primary_client_id: (nullable): the id of the client the server records as
 *   the user's synchronizing client; %NULL when none is recorded yet
 * @is_delegate: whether this client opens the mailbox of another user
 *
 * R-ROLE-ONE-PRIMARY: one client per user synchronizes. The first client
 * configured (none recorded yet) becomes primary; designating another one
 * on the server demotes the previous one, which resolves to secondary from
 * then on. A delegate is never the mailbox owner's primary.
 *
 * Returns: this client's role.
 */
LIA_API LiaClientRole lia_client_role_resolve (const char *client_id, const char *primary_client_id,
                                               gboolean is_delegate);

/**
 * LiaClientInfo:
 * @role: the client's role as resolved
 * @roaming: the user has the roaming profile option (R-ROLE-ROAMING)
 * @delegate_configured: for a delegate: the delegate is a CRM user
 *   configured for synchronization (R-ROLE-DELEGATE); ignored otherwise
 * @primary_name: (nullable): the display name of the user's synchronizing
 *   client, named in refusals; %NULL when unknown
 *
 * What the rules need to know about the client an action happens on.
 * Initialize it whole (`LiaClientInfo info = { 0 };`).
 */
typedef struct
{
  LiaClientRole role;
  gboolean roaming;
  gboolean delegate_configured;
  const char *primary_name;
} LiaClientInfo;

/**
 * lia_client_role_effective:
 * @client: a client
 *
 * R-ROLE-ROAMING: with a roaming profile every client of the user acts as
 * primary. A delegate stays a delegate: roaming is about the user's own
 * clients.
 *
 * Returns: the role the rules apply.
 */
LIA_API LiaClientRole lia_client_role_effective (const LiaClientInfo *client);

/**
 * LiaItemKind:
 * @LIA_ITEM_KIND_MAIL: a received or sent email
 * @LIA_ITEM_KIND_DRAFT: an email not sent yet
 * @LIA_ITEM_KIND_PIM: a contact, appointment, task or task-like activity
 *   (phone call, letter, fax)
 * @LIA_ITEM_KIND_N: the number of kinds
 *
 * The columns of the immediate synchronization table (SPEC section 3).
 */
typedef enum
{
  LIA_ITEM_KIND_MAIL,
  LIA_ITEM_KIND_DRAFT,
  LIA_ITEM_KIND_PIM,
  LIA_ITEM_KIND_N
} LiaItemKind;

/**
 * lia_item_kind_to_string:
 * @kind: a kind
 *
 * Returns: (transfer none): "email", "draft" or "contact/appointment/task";
 *   "?" out of range.
 */
LIA_API const char *lia_item_kind_to_string (LiaItemKind kind);

/**
 * lia_item_kind_for_entity:
 * @entity: the entity of a host item
 * @is_draft: for email: whether it is an unsent draft
 * @out_kind: (out): the kind
 *
 * Returns: %TRUE and sets @out_kind for entities with a host counterpart;
 *   %FALSE (@out_kind untouched) for regarding-only entities, which have no
 *   host item (R-UNSUPPORTED).
 */
LIA_API gboolean lia_item_kind_for_entity (LiaEntity entity, gboolean is_draft, LiaItemKind *out_kind);

/**
 * lia_client_sends_changes:
 * @client: a client
 * @kind: the kind of item changed on it
 *
 * Whether this client uploads changes of tracked items of @kind itself.
 * A secondary client leaves contacts, appointments and tasks to the primary,
 * whose next cycle picks the change up from the shared mailbox
 * (R-ROLE-SECONDARY-DEFER, R-ROLE-PRIMARY-OFFLINE: while the primary is
 * offline the change waits on the item); email behaves the same on primary
 * and secondary (R-ROLE-EMAIL-UNIFORM); a delegate never syncs
 * (R-ROLE-DELEGATE).
 *
 * Returns: %TRUE when this client sends the change.
 */
LIA_API gboolean lia_client_sends_changes (const LiaClientInfo *client, LiaItemKind kind);

/**
 * LiaSurface:
 * @LIA_SURFACE_INSPECTOR: the item's own window or editor
 * @LIA_SURFACE_EXPLORER: the list view of a folder
 * @LIA_SURFACE_N: the number of surfaces
 *
 * Where the user acted.
 */
typedef enum
{
  LIA_SURFACE_INSPECTOR,
  LIA_SURFACE_EXPLORER,
  LIA_SURFACE_N
} LiaSurface;

/**
 * lia_surface_to_string:
 * @surface: a surface
 *
 * Returns: (transfer none): "Inspector" or "Explorer"; "?" out of range.
 */
LIA_API const char *lia_surface_to_string (LiaSurface surface);

/**
 * LiaAction:
 * @LIA_ACTION_TRACK: Track in CRM
 * @LIA_ACTION_UPDATE: an edit of a tracked item
 * @LIA_ACTION_UNTRACK: Untrack
 * @LIA_ACTION_DELETE: delete the item
 * @LIA_ACTION_SET_REGARDING: Set Regarding
 * @LIA_ACTION_N: the number of actions
 *
 * The user actions of SPEC section 3.
 */
typedef enum
{
  LIA_ACTION_TRACK,
  LIA_ACTION_UPDATE,
  LIA_ACTION_UNTRACK,
  LIA_ACTION_DELETE,
  LIA_ACTION_SET_REGARDING,
  LIA_ACTION_N
} LiaAction;

/**
 * lia_action_to_string:
 * @action: an action
 *
 * Returns: (transfer none): "Track", "Update", "Untrack", "Delete" or
 *   "Set Regarding"; "?" out of range.
 */
LIA_API const char *lia_action_to_string (LiaAction action);

/**
 * LiaSyncTiming:
 * @LIA_SYNC_NOW: immediate sync, off the UI thread (R-IMM-BACKGROUND)
 * @LIA_SYNC_ON_CLOSE: when the Inspector closes
 * @LIA_SYNC_ON_SAVE: when the item is saved
 * @LIA_SYNC_ON_SEND: when the mail is sent (R-IMM-DRAFT)
 * @LIA_SYNC_NEXT_CYCLE: at this client's next sync cycle
 * @LIA_SYNC_PRIMARY_CYCLE: never by this client: the primary client's next
 *   cycle picks it up (the table's "never (cycle of primary)")
 * @LIA_SYNC_REFUSED: the action is refused; appears in the rule tables,
 *   lia_rules_sync_timing() reports it as %LIA_ERROR_REFUSED
 * @LIA_SYNC_NOT_APPLICABLE: the action does not exist there ("n/a")
 * @LIA_SYNC_N: the number of timings
 *
 * When a change reaches CRM (SPEC section 3). An immediate sync that fails
 * stays queued for the next cycles (R-IMM-FALLBACK); that is the engine's
 * part, not a timing.
 */
typedef enum
{
  LIA_SYNC_NOW,
  LIA_SYNC_ON_CLOSE,
  LIA_SYNC_ON_SAVE,
  LIA_SYNC_ON_SEND,
  LIA_SYNC_NEXT_CYCLE,
  LIA_SYNC_PRIMARY_CYCLE,
  LIA_SYNC_REFUSED,
  LIA_SYNC_NOT_APPLICABLE,
  LIA_SYNC_N
} LiaSyncTiming;

/**
 * lia_sync_timing_to_string:
 * @timing: a timing
 *
 * Returns: (transfer none): the code the rule tables use: "now", "close",
 *   "save", "send", "cycle", "cycle of primary", "refused", "n/a"; "?" out
 *   of range.
 */
LIA_API const char *lia_sync_timing_to_string (LiaSyncTiming timing);

/**
 * lia_rules_sync_timing:
 * @action: what the user did
 * @surface: where
 * @kind: on what kind of item
 * @item_tracked: whether the item was tracked (link state 1 or 2) before
 *   the action
 * @client: the client it happened on
 * @out_timing: (out): when the change reaches CRM
 * @out_rule_id: (out) (optional) (transfer none): the SPEC rule that
 *   decided, such as "R-IMM-UPDATE-INSP" or "R-ROLE-SECONDARY-DEFER"; "" for
 *   a combination SPEC does not list (the table marks it derived)
 * @error: return location for a #GError
 *
 * Looks the action up in the immediate synchronization table (SPEC section
 * 3, one row per SPEC row, a column per item kind and client role) after
 * applying the client roles of section 2: a roaming client acts as primary
 * (R-ROLE-ROAMING); Set Regarding on an untracked item is a Track
 * (R-MARK-REGARDING); updating, untracking or deleting an item that is not
 * tracked is n/a. A secondary client cannot track new contacts,
 * appointments or tasks (R-ROLE-SECONDARY-NO-NEW); a delegate that is not a
 * CRM user configured for synchronization cannot act at all
 * (R-ROLE-DELEGATE). Pure: no I/O, no shared state.
 *
 * Returns: %TRUE with @out_timing set; %FALSE with %LIA_ERROR_REFUSED when
 *   the action is refused: the message is for the user and names the
 *   synchronizing client where that is where to act.
 */
LIA_API gboolean lia_rules_sync_timing (LiaAction action, LiaSurface surface, LiaItemKind kind,
                                        gboolean item_tracked, const LiaClientInfo *client,
                                        LiaSyncTiming *out_timing, const char **out_rule_id, GError **error);

G_END_DECLS
