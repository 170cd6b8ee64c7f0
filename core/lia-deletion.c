/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-deletion-private.h"

/* The deletion rules of SPEC section 6 as data. A row matches an entity
 * class and an event; if every condition it requires holds, 'when_met'
 * applies, otherwise 'otherwise'. The first matching row decides, so the
 * catch-all rows (unmapped entities) come first and the filter row precedes
 * the per-entity CRM rows it falls through to.
 *
 * Every host-side row remembers a tombstone (R-DEL-OUT-REMEMBER): when the
 * CRM record stays, the server must not send it back to this client, or a
 * contact the user deleted would reappear at the next cycle through the
 * filter that brought it in. When the record is deleted too, the tombstone
 * costs nothing and covers a delete CRM refused. */

#define CHOSEN LIA_DELETION_IF_CHOSEN
#define OPEN LIA_DELETION_IF_OPEN
#define FUTURE LIA_DELETION_IF_FUTURE
#define OWNER_OR_ORGANIZER LIA_DELETION_IF_OWNER_OR_ORGANIZER
#define OWNER LIA_DELETION_IF_OWNER
#define NOT_OWNER LIA_DELETION_IF_NOT_OWNER
#define BY_HAND LIA_DELETION_IF_BY_HAND

#define EMAIL LIA_DELETION_CLASS_EMAIL
#define APPT LIA_DELETION_CLASS_APPOINTMENT
#define SERVICE LIA_DELETION_CLASS_SERVICE
#define CONTACT LIA_DELETION_CLASS_CONTACT
#define TASK LIA_DELETION_CLASS_TASK
#define UNMAPPED LIA_DELETION_CLASS_UNMAPPED
#define ANY LIA_DELETION_CLASS_ANY

#define DELETE LIA_DELETION_DELETE_OTHER_SIDE
#define UNLINK LIA_DELETION_UNLINK
#define KEEP LIA_DELETION_KEEP

static const LiaDeletionRow deletion_table[] = {
  { "R-UNSUPPORTED", UNMAPPED, LIA_DELETION_N, 0, UNLINK, UNLINK, FALSE,
    "the record has no host counterpart, only a link to forget", NULL },

  /* Deletions on the host. */
  { "R-DEL-OUT-EMAIL", EMAIL, LIA_DELETION_HOST_DELETED, 0, UNLINK, UNLINK, TRUE,
    "deleting a tracked email on the host never deletes it in CRM", NULL },
  { "R-DEL-OUT-EMAIL", EMAIL, LIA_DELETION_HOST_UNTRACKED, CHOSEN, DELETE, UNLINK, TRUE,
    "the user chose to delete the email in CRM too", NULL },
  { "R-APPT-SERVICE", SERVICE, LIA_DELETION_HOST_DELETED, 0, UNLINK, UNLINK, TRUE,
    "service appointments synchronize CRM to host only", "follows R-APPT-SERVICE" },
  { "R-APPT-SERVICE", SERVICE, LIA_DELETION_HOST_UNTRACKED, 0, UNLINK, UNLINK, TRUE,
    "service appointments synchronize CRM to host only", "follows R-APPT-SERVICE" },
  { "R-DEL-OUT-APPT", APPT, LIA_DELETION_HOST_DELETED, OPEN | FUTURE | OWNER_OR_ORGANIZER, DELETE, UNLINK,
    TRUE, "the appointment is open or scheduled, starts in the future, and the user owns or organizes it",
    NULL },
  { "R-DEL-OUT-APPT", APPT, LIA_DELETION_HOST_UNTRACKED, OPEN | FUTURE | OWNER_OR_ORGANIZER, DELETE, UNLINK,
    TRUE, "the appointment is open or scheduled, starts in the future, and the user owns or organizes it",
    NULL },
  { "R-DEL-OUT-CONTACT", CONTACT, LIA_DELETION_HOST_DELETED, 0, UNLINK, UNLINK, TRUE,
    "deleting a tracked contact on the host never deletes it in CRM", NULL },
  { "R-DEL-OUT-CONTACT", CONTACT, LIA_DELETION_HOST_UNTRACKED, CHOSEN, DELETE, UNLINK, TRUE,
    "the user chose to delete the contact in CRM too", NULL },
  { "R-DEL-OUT-TASK", TASK, LIA_DELETION_HOST_DELETED, OPEN | OWNER, DELETE, UNLINK, TRUE,
    "the task is not completed and the user owns it", NULL },
  { "R-DEL-OUT-TASK", TASK, LIA_DELETION_HOST_UNTRACKED, CHOSEN | OPEN | OWNER, DELETE, UNLINK, TRUE,
    "the user chose to delete the task in CRM too, it is not completed and the user owns it",
    "untrack: R-MARK-UNTRACK's choice, and never more than deleting would" },

  /* Deletions in CRM. */
  { "R-DEL-IN-FILTER", ANY, LIA_DELETION_CRM_LEFT_FILTER, BY_HAND, KEEP, LIA_DELETION_AS_CRM_DELETED, FALSE,
    "the user tracked it by hand, so it stays synchronized outside the filters", NULL },
  { "R-DEL-IN-EMAIL", EMAIL, LIA_DELETION_CRM_DELETED, 0, UNLINK, UNLINK, FALSE,
    "deleting an email in CRM never deletes it on the host", NULL },
  { "R-DEL-IN-APPT", APPT | SERVICE, LIA_DELETION_CRM_DELETED, FUTURE, DELETE, UNLINK, FALSE,
    "the appointment starts in the future", NULL },
  { "R-DEL-IN-CONTACT", CONTACT, LIA_DELETION_CRM_DELETED, NOT_OWNER, DELETE, UNLINK, FALSE,
    "the user is not the contact's CRM owner", NULL },
  { "R-DEL-IN-TASK", TASK, LIA_DELETION_CRM_DELETED, OPEN, DELETE, UNLINK, FALSE, "the task is not completed",
    NULL },
};

static const char *const condition_texts[LIA_DELETION_IF_N][2] = {
  { "the user chose to delete it in CRM", "the user did not choose to delete it in CRM" },
  { "open or scheduled (not completed or canceled) in CRM", "completed or canceled in CRM" },
  { "starts in the future", "its start is not in the future" },
  { "the user is its owner or organizer", "the user is neither its owner nor its organizer" },
  { "the user is its owner", "the user is not its owner" },
  { "the user is not its CRM owner", "the user is its CRM owner" },
  { "tracked by hand", "brought in by a sync filter, not tracked by hand" },
};

static const char *const event_names[] = {
  [LIA_DELETION_HOST_DELETED] = "deleted on the host",
  [LIA_DELETION_HOST_UNTRACKED] = "untracked on the host",
  [LIA_DELETION_CRM_DELETED] = "deleted in CRM",
  [LIA_DELETION_CRM_LEFT_FILTER] = "left the filters in CRM",
};
G_STATIC_ASSERT (G_N_ELEMENTS (event_names) == LIA_DELETION_N);

static const char *const action_names[] = {
  [LIA_DELETION_DELETE_OTHER_SIDE] = "delete on the other side",
  [LIA_DELETION_UNLINK] = "unlink only",
  [LIA_DELETION_KEEP] = "keep",
};
G_STATIC_ASSERT (G_N_ELEMENTS (action_names) == LIA_DELETION_ACTION_N);

static const char *const state_names[] = {
  [LIA_CRM_STATE_OPEN] = "open",
  [LIA_CRM_STATE_SCHEDULED] = "scheduled",
  [LIA_CRM_STATE_COMPLETED] = "completed",
  [LIA_CRM_STATE_CANCELED] = "canceled",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == LIA_CRM_STATE_N);

const char *
lia_crm_state_to_string (LiaCrmState state)
{
  return (guint) state < LIA_CRM_STATE_N ? state_names[state] : "?";
}

const char *
lia_deletion_event_to_string (LiaDeletionEvent event)
{
  return (guint) event < LIA_DELETION_N ? event_names[event] : "?";
}

const char *
lia_deletion_action_to_string (LiaDeletionAction action)
{
  return (guint) action < LIA_DELETION_ACTION_N ? action_names[action] : "?";
}

const char *
lia_deletion_condition_to_string (LiaDeletionCondition condition, gboolean negated)
{
  gint bit = g_bit_nth_lsf ((gulong) condition, -1);

  if (bit < 0 || bit >= LIA_DELETION_IF_N || (guint) condition != 1u << bit)
    return "?";
  return condition_texts[bit][negated ? 1 : 0];
}

const char *
lia_deletion_class_to_string (LiaDeletionClass cls)
{
  switch (cls)
    {
    case LIA_DELETION_CLASS_EMAIL:
      return "email";
    case LIA_DELETION_CLASS_APPOINTMENT:
      return "appointment";
    case LIA_DELETION_CLASS_SERVICE:
      return "service appointment";
    case LIA_DELETION_CLASS_CONTACT:
      return "contact";
    case LIA_DELETION_CLASS_TASK:
      return "task";
    case LIA_DELETION_CLASS_UNMAPPED:
      return "regarding-only";
    case LIA_DELETION_CLASS_ANY:
      return "any";
    default:
      return "?";
    }
}

const LiaDeletionRow *
lia_deletion_get_table (guint *out_n_rows)
{
  if (out_n_rows != NULL)
    *out_n_rows = G_N_ELEMENTS (deletion_table);
  return deletion_table;
}

static LiaDeletionClass
class_of (LiaEntity entity)
{
  switch (entity)
    {
    case LIA_ENTITY_EMAIL:
      return LIA_DELETION_CLASS_EMAIL;
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
      return LIA_DELETION_CLASS_APPOINTMENT;
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      return LIA_DELETION_CLASS_SERVICE;
    case LIA_ENTITY_CONTACT:
      return LIA_DELETION_CLASS_CONTACT;
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      return LIA_DELETION_CLASS_TASK;
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return LIA_DELETION_CLASS_UNMAPPED;
    }
}

/* The conditions that hold for these facts. */
static guint
facts_of (const LiaDeletion *d, gint64 now_us)
{
  guint facts = 0;

  if (d->also_delete_in_crm)
    facts |= LIA_DELETION_IF_CHOSEN;
  if (d->crm_state == LIA_CRM_STATE_OPEN || d->crm_state == LIA_CRM_STATE_SCHEDULED)
    facts |= LIA_DELETION_IF_OPEN;
  /* Strictly after now: an appointment starting this very instant has
   * started, and what has started is history worth keeping. */
  if (d->has_start && d->start_us > now_us)
    facts |= LIA_DELETION_IF_FUTURE;
  if (d->user_is_owner || d->user_is_organizer)
    facts |= LIA_DELETION_IF_OWNER_OR_ORGANIZER;
  if (d->user_is_owner)
    facts |= LIA_DELETION_IF_OWNER;
  else
    facts |= LIA_DELETION_IF_NOT_OWNER;
  if (d->tracked_by_hand)
    facts |= LIA_DELETION_IF_BY_HAND;
  return facts;
}

static const LiaDeletionRow *
find_row (LiaDeletionClass cls, LiaDeletionEvent event)
{
  for (guint i = 0; i < G_N_ELEMENTS (deletion_table); i++)
    {
      const LiaDeletionRow *row = &deletion_table[i];
      if ((row->classes & cls) != 0 && (row->event == LIA_DELETION_N || row->event == event))
        return row;
    }
  return NULL;
}

void
lia_deletion_decide (const LiaDeletion *deletion, gint64 now_us, LiaDeletionDecision *out_decision)
{
  LiaDeletionClass cls;
  LiaDeletionEvent event;
  const LiaDeletionRow *row;
  const char *rule_id;
  guint facts, missing;

  g_return_if_fail (deletion != NULL);
  g_return_if_fail ((guint) deletion->event < LIA_DELETION_N);
  g_return_if_fail (out_decision != NULL);

  cls = class_of (deletion->entity);
  event = deletion->event;
  facts = facts_of (deletion, now_us);
  row = find_row (cls, event);
  g_assert (row != NULL);
  rule_id = row->rule_id;
  missing = row->requires & ~facts;
  if (missing != 0 && row->otherwise == LIA_DELETION_AS_CRM_DELETED)
    {
      /* R-DEL-IN-FILTER: a record that left the filters is a CRM deletion;
       * the entity's row decides, and the filter rule is why. */
      event = LIA_DELETION_CRM_DELETED;
      row = find_row (cls, event);
      g_assert (row != NULL && row->otherwise != LIA_DELETION_AS_CRM_DELETED);
      missing = row->requires & ~facts;
    }

  out_decision->action = missing == 0 ? row->when_met : row->otherwise;
  out_decision->remember_tombstone = row->remember_tombstone;
  out_decision->rule_id = rule_id;
  out_decision->reason = missing == 0 ? row->met_reason
                                      : lia_deletion_condition_to_string (
                                          (LiaDeletionCondition) (1u << g_bit_nth_lsf (missing, -1)), TRUE);
}

void
lia_deletion_decide_now (const LiaDeletion *deletion, LiaClock *clock, LiaDeletionDecision *out_decision)
{
  g_return_if_fail (clock != NULL);
  lia_deletion_decide (deletion, lia_clock_now (clock), out_decision);
}
