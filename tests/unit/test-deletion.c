/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

#include "lia-deletion-private.h"

#define NOW G_GINT64_CONSTANT (1772355600000000)

/* SPEC section 6 written as plain conditions, independently of the table:
 * the exhaustive test checks the table against it. */
static LiaDeletionAction
oracle (const LiaDeletion *d, gint64 now)
{
  gboolean open = d->crm_state == LIA_CRM_STATE_OPEN || d->crm_state == LIA_CRM_STATE_SCHEDULED;
  gboolean future = d->has_start && d->start_us > now;
  LiaDeletionEvent event = d->event;

  if (!lia_entity_is_host_mapped (d->entity))
    return LIA_DELETION_UNLINK;
  if (event == LIA_DELETION_CRM_LEFT_FILTER)
    {
      if (d->tracked_by_hand)
        return LIA_DELETION_KEEP;
      event = LIA_DELETION_CRM_DELETED;
    }
  switch (d->entity)
    {
    case LIA_ENTITY_EMAIL:
      return event == LIA_DELETION_HOST_UNTRACKED && d->also_delete_in_crm ? LIA_DELETION_DELETE_OTHER_SIDE
                                                                           : LIA_DELETION_UNLINK;
    case LIA_ENTITY_CONTACT:
      if (event == LIA_DELETION_CRM_DELETED)
        return d->user_is_owner ? LIA_DELETION_UNLINK : LIA_DELETION_DELETE_OTHER_SIDE;
      return event == LIA_DELETION_HOST_UNTRACKED && d->also_delete_in_crm ? LIA_DELETION_DELETE_OTHER_SIDE
                                                                           : LIA_DELETION_UNLINK;
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      if (event != LIA_DELETION_CRM_DELETED)
        return LIA_DELETION_UNLINK;
      return future ? LIA_DELETION_DELETE_OTHER_SIDE : LIA_DELETION_UNLINK;
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
      if (event == LIA_DELETION_CRM_DELETED)
        return future ? LIA_DELETION_DELETE_OTHER_SIDE : LIA_DELETION_UNLINK;
      return open && future && (d->user_is_owner || d->user_is_organizer) ? LIA_DELETION_DELETE_OTHER_SIDE
                                                                          : LIA_DELETION_UNLINK;
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      if (event == LIA_DELETION_CRM_DELETED)
        return open ? LIA_DELETION_DELETE_OTHER_SIDE : LIA_DELETION_UNLINK;
      if (event == LIA_DELETION_HOST_UNTRACKED && !d->also_delete_in_crm)
        return LIA_DELETION_UNLINK;
      return open && d->user_is_owner ? LIA_DELETION_DELETE_OTHER_SIDE : LIA_DELETION_UNLINK;
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      g_assert_not_reached ();
    }
  return LIA_DELETION_UNLINK;
}

static void
test_exhaustive (void)
{
  const gint64 starts[] = { NOW - 1, NOW, NOW + 1 };
  guint cases = 0;

  g_test_summary (
      "Every combination of entity, event, choice, CRM state, start (unknown, past, now, future), "
      "ownership and tracking origin decides as SPEC section 6 reads, with a rule and a reason; "
      "host-side events and only they remember a tombstone.");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    for (guint ev = 0; ev < LIA_DELETION_N; ev++)
      for (guint st = 0; st < LIA_CRM_STATE_N; st++)
        for (guint s = 0; s <= G_N_ELEMENTS (starts); s++)
          for (guint bits = 0; bits < 16; bits++)
            {
              LiaDeletion d = { 0 };
              LiaDeletionDecision decision = { LIA_DELETION_ACTION_N, FALSE, NULL, NULL };

              d.entity = (LiaEntity) e;
              d.event = (LiaDeletionEvent) ev;
              d.crm_state = (LiaCrmState) st;
              d.has_start = s < G_N_ELEMENTS (starts);
              d.start_us = d.has_start ? starts[s] : 0;
              d.also_delete_in_crm = (bits & 1) != 0;
              d.user_is_owner = (bits & 2) != 0;
              d.user_is_organizer = (bits & 4) != 0;
              d.tracked_by_hand = (bits & 8) != 0;
              lia_deletion_decide (&d, NOW, &decision);
              cases++;
              if (decision.action != oracle (&d, NOW))
                {
                  g_test_fail_printf ("%s %s (%s, start %u, bits %u): %s, SPEC says %s",
                                      lia_entity_to_string (d.entity), lia_deletion_event_to_string (d.event),
                                      lia_crm_state_to_string (d.crm_state), s, bits,
                                      lia_deletion_action_to_string (decision.action),
                                      lia_deletion_action_to_string (oracle (&d, NOW)));
                  return;
                }
              g_assert_nonnull (decision.rule_id);
              g_assert_true (g_str_has_prefix (decision.rule_id, "R-"));
              g_assert_nonnull (decision.reason);
              g_assert_cmpstr (decision.reason, !=, "?");
              g_assert_cmpint (
                  decision.remember_tombstone, ==,
                  lia_entity_is_host_mapped (d.entity)
                      && (d.event == LIA_DELETION_HOST_DELETED || d.event == LIA_DELETION_HOST_UNTRACKED));
            }
  g_test_message ("%u cases", cases);
}

static void
test_reason_names_failed_condition (void)
{
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;

  g_test_summary ("When a condition fails, the reason says which, so the journal can tell the user why the "
                  "CRM record stayed.");
  d.entity = LIA_ENTITY_APPOINTMENT;
  d.event = LIA_DELETION_HOST_DELETED;
  d.crm_state = LIA_CRM_STATE_SCHEDULED;
  d.has_start = TRUE;
  d.start_us = NOW + 1;
  d.user_is_organizer = FALSE;
  lia_deletion_decide (&d, NOW, &decision);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decision.reason, ==, "the user is neither its owner nor its organizer");
  d.crm_state = LIA_CRM_STATE_COMPLETED;
  lia_deletion_decide (&d, NOW, &decision);
  g_assert_cmpstr (decision.reason, ==, "completed or canceled in CRM");
}

static void
test_clock (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_manual (NOW);
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;

  g_test_summary ("The clock variant reads the instant from a LiaClock: moving the clock past the start "
                  "changes the decision.");
  d.entity = LIA_ENTITY_APPOINTMENT;
  d.event = LIA_DELETION_CRM_DELETED;
  d.has_start = TRUE;
  d.start_us = NOW + 60 * G_USEC_PER_SEC;
  lia_deletion_decide_now (&d, clock, &decision);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  lia_clock_advance (clock, 60 * G_USEC_PER_SEC);
  lia_deletion_decide_now (&d, clock, &decision);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_UNLINK);
}

static void
test_table_well_formed (void)
{
  const LiaDeletionRow *rows;
  guint n = 0;

  g_test_summary ("Table rows name a rule and a reason, never fall through from a host event, and every "
                  "condition and class has a name.");
  rows = lia_deletion_get_table (&n);
  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (g_str_has_prefix (rows[i].rule_id, "R-"));
      g_assert_nonnull (rows[i].met_reason);
      g_assert_cmpuint (rows[i].classes, !=, 0);
      if (rows[i].otherwise == LIA_DELETION_AS_CRM_DELETED)
        g_assert_cmpint (rows[i].event, ==, LIA_DELETION_CRM_LEFT_FILTER);
    }
  for (guint c = 0; c < LIA_DELETION_IF_N; c++)
    {
      g_assert_cmpstr (lia_deletion_condition_to_string ((LiaDeletionCondition) (1u << c), FALSE), !=, "?");
      g_assert_cmpstr (lia_deletion_condition_to_string ((LiaDeletionCondition) (1u << c), TRUE), !=, "?");
    }
  g_assert_cmpstr (lia_deletion_condition_to_string ((LiaDeletionCondition) 3, FALSE), ==, "?");
  for (guint c = 1; c < LIA_DELETION_CLASS_ANY; c <<= 1)
    g_assert_cmpstr (lia_deletion_class_to_string ((LiaDeletionClass) c), !=, "?");
  for (guint ev = 0; ev < LIA_DELETION_N; ev++)
    g_assert_cmpstr (lia_deletion_event_to_string ((LiaDeletionEvent) ev), !=, "?");
  g_assert_cmpstr (lia_deletion_action_to_string (LIA_DELETION_ACTION_N), ==, "?");
  for (guint st = 0; st < LIA_CRM_STATE_N; st++)
    g_assert_cmpstr (lia_crm_state_to_string ((LiaCrmState) st), !=, "?");
  g_assert_cmpstr (lia_crm_state_to_string (LIA_CRM_STATE_N), ==, "?");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/deletion/exhaustive", test_exhaustive);
  g_test_add_func ("/deletion/reason-names-failed-condition", test_reason_names_failed_condition);
  g_test_add_func ("/deletion/clock", test_clock);
  g_test_add_func ("/deletion/table-well-formed", test_table_well_formed);
  return g_test_run ();
}
