/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPEC section 6, deletion rules in both directions. */
#include "conformance.h"

static LiaDeletionDecision
decide (const LiaDeletion *d)
{
  LiaDeletionDecision decision = { LIA_DELETION_ACTION_N, FALSE, NULL, NULL };

  lia_deletion_decide (d, CONF_NOW, &decision);
  g_assert_nonnull (decision.rule_id);
  return decision;
}

static LiaDeletion
facts (LiaEntity entity, LiaDeletionEvent event)
{
  LiaDeletion d = { 0 };

  d.entity = entity;
  d.event = event;
  d.crm_state = LIA_CRM_STATE_OPEN;
  return d;
}

static void
test_out_email (void)
{
  LiaDeletion d = facts (LIA_ENTITY_EMAIL, LIA_DELETION_HOST_DELETED);

  g_test_summary ("R-DEL-OUT-EMAIL: deleting a tracked email on the host never deletes it in CRM; untracking "
                  "deletes it only when the user says so.");
  d.user_is_owner = TRUE;
  d.also_delete_in_crm = TRUE; /* no such question on delete: ignored */
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decide (&d).rule_id, ==, "R-DEL-OUT-EMAIL");
  d.event = LIA_DELETION_HOST_UNTRACKED;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  d.also_delete_in_crm = FALSE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
}

static void
test_out_appt_attendee (void)
{
  LiaDeletion d = facts (LIA_ENTITY_APPOINTMENT, LIA_DELETION_HOST_DELETED);
  LiaDeletionDecision decision;

  g_test_summary ("R-DEL-OUT-APPT: an attendee (neither owner nor organizer) deleting a future, scheduled "
                  "meeting only unlinks it; the CRM record stays.");
  d.crm_state = LIA_CRM_STATE_SCHEDULED;
  d.has_start = TRUE;
  d.start_us = CONF_NOW + CONF_DAY;
  decision = decide (&d);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decision.rule_id, ==, "R-DEL-OUT-APPT");
  g_assert_cmpstr (decision.reason, ==, "the user is neither its owner nor its organizer");
}

static void
test_out_appt_conditions (void)
{
  static const LiaDeletionEvent events[] = { LIA_DELETION_HOST_DELETED, LIA_DELETION_HOST_UNTRACKED };

  g_test_summary ("R-DEL-OUT-APPT: deleting or untracking deletes in CRM only when it is open or scheduled, "
                  "starts in the future and the user owns or organizes it; an appointment starting exactly "
                  "now, a completed or canceled one, or one without a known start stays in CRM.");
  for (guint e = 0; e < G_N_ELEMENTS (events); e++)
    {
      LiaDeletion d = facts (LIA_ENTITY_APPOINTMENT, events[e]);
      d.has_start = TRUE;
      d.start_us = CONF_NOW + CONF_MINUTE;
      d.user_is_organizer = TRUE;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
      d.user_is_organizer = FALSE;
      d.user_is_owner = TRUE;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
      d.crm_state = LIA_CRM_STATE_SCHEDULED;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);

      d.start_us = CONF_NOW; /* starts exactly now: not in the future */
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
      d.start_us = CONF_NOW + 1;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
      d.has_start = FALSE;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
      d.has_start = TRUE;

      d.crm_state = LIA_CRM_STATE_COMPLETED;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
      d.crm_state = LIA_CRM_STATE_CANCELED;
      g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
    }
  {
    LiaDeletion series = facts (LIA_ENTITY_RECURRING_APPOINTMENT, LIA_DELETION_HOST_DELETED);
    series.has_start = TRUE;
    series.start_us = CONF_NOW + CONF_DAY;
    series.user_is_owner = TRUE;
    g_assert_cmpint (decide (&series).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  }
}

static void
test_out_contact (void)
{
  LiaDeletion d = facts (LIA_ENTITY_CONTACT, LIA_DELETION_HOST_DELETED);

  g_test_summary (
      "R-DEL-OUT-CONTACT: deleting a tracked contact on the host never deletes it in CRM, even its "
      "owner's; untracking deletes it in CRM only if the user says so.");
  d.user_is_owner = TRUE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  d.event = LIA_DELETION_HOST_UNTRACKED;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  d.also_delete_in_crm = TRUE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  g_assert_cmpstr (decide (&d).rule_id, ==, "R-DEL-OUT-CONTACT");
}

static void
test_out_task (void)
{
  LiaDeletion d = facts (LIA_ENTITY_TASK, LIA_DELETION_HOST_DELETED);

  g_test_summary (
      "R-DEL-OUT-TASK: deleting a tracked task deletes it in CRM only if it is not completed and the "
      "user owns it; phone calls, letters and faxes follow tasks.");
  d.user_is_owner = TRUE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  d.crm_state = LIA_CRM_STATE_COMPLETED;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decide (&d).reason, ==, "completed or canceled in CRM");
  d.crm_state = LIA_CRM_STATE_OPEN;
  d.user_is_owner = FALSE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  d.entity = LIA_ENTITY_PHONE_CALL;
  d.user_is_owner = TRUE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
}

static void
test_out_remember (void)
{
  static const LiaEntity entities[] = { LIA_ENTITY_EMAIL, LIA_ENTITY_APPOINTMENT, LIA_ENTITY_CONTACT,
                                        LIA_ENTITY_TASK, LIA_ENTITY_SERVICE_APPOINTMENT };

  g_test_summary (
      "R-DEL-OUT-REMEMBER: every host-side deletion or untrack carries 'remember tombstone', so CRM "
      "does not send the record back to this client; CRM-side deletions do not.");
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    for (guint ev = 0; ev < LIA_DELETION_N; ev++)
      {
        LiaDeletion d = facts (entities[i], (LiaDeletionEvent) ev);
        gboolean host_side = ev == LIA_DELETION_HOST_DELETED || ev == LIA_DELETION_HOST_UNTRACKED;
        g_assert_cmpint (decide (&d).remember_tombstone, ==, host_side);
      }
}

static void
test_in_email (void)
{
  LiaDeletion d = facts (LIA_ENTITY_EMAIL, LIA_DELETION_CRM_DELETED);

  g_test_summary ("R-DEL-IN-EMAIL: deleting an email in CRM never deletes it on the host; it is unlinked.");
  d.user_is_owner = FALSE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decide (&d).rule_id, ==, "R-DEL-IN-EMAIL");
}

static void
test_in_appt (void)
{
  LiaDeletion d = facts (LIA_ENTITY_APPOINTMENT, LIA_DELETION_CRM_DELETED);

  g_test_summary (
      "R-DEL-IN-APPT: an appointment deleted in CRM is deleted on the host only if it starts in the "
      "future; one that starts now or started is unlinked and kept.");
  d.has_start = TRUE;
  d.start_us = CONF_NOW + CONF_HOUR;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  d.start_us = CONF_NOW;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  d.start_us = CONF_NOW - CONF_DAY;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
  g_assert_cmpstr (decide (&d).rule_id, ==, "R-DEL-IN-APPT");
}

static void
test_in_contact (void)
{
  LiaDeletion d = facts (LIA_ENTITY_CONTACT, LIA_DELETION_CRM_DELETED);

  g_test_summary (
      "R-DEL-IN-CONTACT: a contact deleted in CRM is deleted on the host if the user is not its CRM "
      "owner; the owner's host contact is unlinked and kept.");
  d.user_is_owner = FALSE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  d.user_is_owner = TRUE;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
}

static void
test_in_task (void)
{
  LiaDeletion d = facts (LIA_ENTITY_TASK, LIA_DELETION_CRM_DELETED);

  g_test_summary ("R-DEL-IN-TASK: a task deleted in CRM is deleted on the host only if it is not completed.");
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  d.crm_state = LIA_CRM_STATE_COMPLETED;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
}

static void
test_in_filter (void)
{
  LiaDeletion d = facts (LIA_ENTITY_CONTACT, LIA_DELETION_CRM_LEFT_FILTER);
  LiaDeletionDecision decision;

  g_test_summary (
      "R-DEL-IN-FILTER: a contact assigned to another owner leaves the user's filter and is "
      "treated as a CRM deletion (deleted on the host, as the user no longer owns it), except when "
      "the user tracked it by hand: then it stays linked.");
  d.user_is_owner = FALSE;
  decision = decide (&d);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_DELETE_OTHER_SIDE);
  g_assert_cmpstr (decision.rule_id, ==, "R-DEL-IN-FILTER");
  g_assert_false (decision.remember_tombstone);
  d.tracked_by_hand = TRUE;
  decision = decide (&d);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_KEEP);
  /* A filtered-out appointment in the past falls through to R-DEL-IN-APPT's "unlink". */
  d = facts (LIA_ENTITY_APPOINTMENT, LIA_DELETION_CRM_LEFT_FILTER);
  d.has_start = TRUE;
  d.start_us = CONF_NOW - CONF_HOUR;
  g_assert_cmpint (decide (&d).action, ==, LIA_DELETION_UNLINK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules/R-DEL-OUT-EMAIL/delete-keeps-untrack-asks", test_out_email);
  g_test_add_func ("/rules/R-DEL-OUT-APPT/attendee-delete-keeps-crm", test_out_appt_attendee);
  g_test_add_func ("/rules/R-DEL-OUT-APPT/conditions-and-starting-now", test_out_appt_conditions);
  g_test_add_func ("/rules/R-DEL-OUT-CONTACT/delete-keeps-untrack-asks", test_out_contact);
  g_test_add_func ("/rules/R-DEL-OUT-TASK/open-and-owned-only", test_out_task);
  g_test_add_func ("/rules/R-DEL-OUT-REMEMBER/host-side-tombstones", test_out_remember);
  g_test_add_func ("/rules/R-DEL-IN-EMAIL/never-deletes-host", test_in_email);
  g_test_add_func ("/rules/R-DEL-IN-APPT/future-only", test_in_appt);
  g_test_add_func ("/rules/R-DEL-IN-CONTACT/owner-keeps", test_in_contact);
  g_test_add_func ("/rules/R-DEL-IN-TASK/not-completed-only", test_in_task);
  g_test_add_func ("/rules/R-DEL-IN-FILTER/reassigned-contact", test_in_filter);
  return g_test_run ();
}
