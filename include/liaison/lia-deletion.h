/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-clock.h>
#include <liaison/lia-entity.h>

G_BEGIN_DECLS

/**
 * LiaDeletionEvent:
 * @LIA_DELETION_HOST_DELETED: the user deleted the tracked item on the host
 * @LIA_DELETION_HOST_UNTRACKED: the user untracked it on the host
 * @LIA_DELETION_CRM_DELETED: the CRM record was deleted
 * @LIA_DELETION_CRM_LEFT_FILTER: the CRM record no longer matches the
 *   user's sync filters (for example a contact assigned to another owner)
 * @LIA_DELETION_N: the number of events
 *
 * What ended a link, and on which side (SPEC section 6).
 */
typedef enum
{
  LIA_DELETION_HOST_DELETED,
  LIA_DELETION_HOST_UNTRACKED,
  LIA_DELETION_CRM_DELETED,
  LIA_DELETION_CRM_LEFT_FILTER,
  LIA_DELETION_N
} LiaDeletionEvent;

/**
 * lia_deletion_event_to_string:
 * @event: an event
 *
 * Returns: (transfer none): "deleted on the host", "untracked on the host",
 *   "deleted in CRM" or "left the filters in CRM"; "?" out of range.
 */
LIA_API const char *lia_deletion_event_to_string (LiaDeletionEvent event);

/**
 * LiaCrmState:
 * @LIA_CRM_STATE_OPEN: open (active)
 * @LIA_CRM_STATE_SCHEDULED: scheduled (appointments)
 * @LIA_CRM_STATE_COMPLETED: completed (closed)
 * @LIA_CRM_STATE_CANCELED: canceled (closed)
 * @LIA_CRM_STATE_N: the number of states
 *
 * The CRM state of an activity. Records that are not activities (contacts)
 * are open.
 */
typedef enum
{
  LIA_CRM_STATE_OPEN,
  LIA_CRM_STATE_SCHEDULED,
  LIA_CRM_STATE_COMPLETED,
  LIA_CRM_STATE_CANCELED,
  LIA_CRM_STATE_N
} LiaCrmState;

/**
 * lia_crm_state_to_string:
 * @state: a state
 *
 * Returns: (transfer none): "open", "scheduled", "completed" or "canceled";
 *   "?" out of range.
 */
LIA_API const char *lia_crm_state_to_string (LiaCrmState state);

/**
 * LiaDeletion:
 * @entity: the entity of the linked pair
 * @event: what happened
 * @also_delete_in_crm: the user's answer to "also delete it in CRM?" when
 *   untracking (ignored for other events)
 * @crm_state: the record's CRM state (for a CRM-side event, the last state
 *   synchronized)
 * @has_start: whether @start_us is known
 * @start_us: the appointment's start (microseconds since the epoch, UTC)
 * @user_is_owner: the user owns the CRM record
 * @user_is_organizer: the user organizes the appointment
 * @tracked_by_hand: the item was tracked by the user (Track in CRM, Set
 *   Regarding), not brought in by a sync filter
 *
 * The facts the deletion rules look at. Initialize it whole
 * (`LiaDeletion d = { 0 };`): unknown facts are the cautious zero (no start,
 * not owner, not chosen).
 */
typedef struct
{
  LiaEntity entity;
  LiaDeletionEvent event;
  gboolean also_delete_in_crm;
  LiaCrmState crm_state;
  gboolean has_start;
  gint64 start_us;
  gboolean user_is_owner;
  gboolean user_is_organizer;
  gboolean tracked_by_hand;
} LiaDeletion;

/**
 * LiaDeletionAction:
 * @LIA_DELETION_DELETE_OTHER_SIDE: delete the counterpart on the other side
 *   and remove the link
 * @LIA_DELETION_UNLINK: keep the counterpart, remove the link (and the
 *   item's link properties)
 * @LIA_DELETION_KEEP: nothing ends: the item stays linked and synchronized
 * @LIA_DELETION_ACTION_N: the number of actions
 *
 * What the engine does at the next sync cycle.
 */
typedef enum
{
  LIA_DELETION_DELETE_OTHER_SIDE,
  LIA_DELETION_UNLINK,
  LIA_DELETION_KEEP,
  LIA_DELETION_ACTION_N
} LiaDeletionAction;

/**
 * lia_deletion_action_to_string:
 * @action: an action
 *
 * Returns: (transfer none): "delete on the other side", "unlink only" or
 *   "keep"; "?" out of range.
 */
LIA_API const char *lia_deletion_action_to_string (LiaDeletionAction action);

/**
 * LiaDeletionDecision:
 * @action: what to do
 * @remember_tombstone: the engine records the pair as deleted by this
 *   client, so the server does not send the record back to it until the
 *   client is reconfigured (R-DEL-OUT-REMEMBER)
 * @rule_id: (transfer none): the SPEC rule that decided, such as
 *   "R-DEL-OUT-APPT"
 * @reason: (transfer none): why, in one English sentence, for the journal
 *
 * The outcome of lia_deletion_decide(). The strings are static.
 */
typedef struct
{
  LiaDeletionAction action;
  gboolean remember_tombstone;
  const char *rule_id;
  const char *reason;
} LiaDeletionDecision;

/**
 * lia_deletion_decide:
 * @deletion: the facts
 * @now_us: the current instant, microseconds since the epoch (UTC)
 * @out_decision: (out caller-allocates): the decision
 *
 * Applies the deletion rules of SPEC section 6 in both directions. "In the
 * future" means strictly after @now_us: an appointment starting exactly now
 * has started. A record that left the filters is a CRM-side deletion unless
 * the user tracked it by hand, which keeps it (R-DEL-IN-FILTER). Entities
 * that have no host counterpart only unlink (R-UNSUPPORTED); a service
 * appointment deleted on the host is never deleted in CRM, since it
 * synchronizes CRM to host only (R-APPT-SERVICE). Pure: no I/O, no shared
 * state.
 */
LIA_API void lia_deletion_decide (const LiaDeletion *deletion, gint64 now_us,
                                  LiaDeletionDecision *out_decision);

/**
 * lia_deletion_decide_now:
 * @deletion: the facts
 * @clock: where to read the current instant
 * @out_decision: (out caller-allocates): the decision
 *
 * lia_deletion_decide() at lia_clock_now().
 */
LIA_API void lia_deletion_decide_now (const LiaDeletion *deletion, LiaClock *clock,
                                      LiaDeletionDecision *out_decision);

G_END_DECLS
