/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPEC section 7, entity-specific rules. Each scenario builds the item
 * policy the engine would (org policy, then the entity rules) and merges. */
#include <string.h>

#include "conformance.h"

static LiaFieldPolicy *
item_policy (LiaEntity entity, const LiaItem *host, const LiaItem *crm, gboolean company_setting)
{
  g_autoptr (LiaFieldPolicy) org = lia_field_policy_new (entity);

  return lia_entity_rules_dup_item_policy (org, host, crm, company_setting, CONF_NOW);
}

static LiaItem *
appointment (LiaEntity entity, gint64 start, gint64 end)
{
  LiaItem *item = lia_item_new (entity);

  conf_set_text (item, "subject", "Quarterly review");
  conf_set_time (item, "start", start);
  conf_set_time (item, "end", end);
  return item;
}

static void
test_appt_past (void)
{
  g_autoptr (LiaItem) host =
      appointment (LIA_ENTITY_APPOINTMENT, CONF_NOW - 3 * CONF_HOUR, CONF_NOW - CONF_HOUR);
  g_autoptr (LiaFieldPolicy) policy = NULL;
  g_autoptr (LiaItem) created = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaMergeResult) result = NULL;
  g_autoptr (LiaItem) current = NULL;
  g_autoptr (LiaFieldPolicy) current_policy = NULL;

  g_test_summary ("R-APPT-PAST: a past appointment can be tracked, and its CRM activity is created with its "
                  "fields; afterwards edits on either side are not synchronized. One still in progress is.");
  g_assert_true (lia_entity_rules_check_track (LIA_ENTITY_APPOINTMENT, NULL));
  policy = item_policy (LIA_ENTITY_APPOINTMENT, host, NULL, TRUE);
  created = lia_merge_dup_created (policy, host, LIA_SIDE_CRM);
  g_assert_cmpstr (lia_item_get_text (created, "subject"), ==, "Quarterly review");
  g_assert_nonnull (lia_item_get (created, "start"));

  crm = lia_item_copy (created);
  conf_set_text (host, "location", "Room 4");
  conf_set_text (crm, "description", "Minutes attached");
  g_clear_pointer (&policy, lia_field_policy_free);
  policy = item_policy (LIA_ENTITY_APPOINTMENT, host, crm, TRUE);
  result = conf_merge (policy, created, host, crm, CONF_NOW, CONF_NOW);
  g_assert_false (lia_merge_result_has_writes (result));

  current = appointment (LIA_ENTITY_APPOINTMENT, CONF_NOW - CONF_HOUR, CONF_NOW + CONF_HOUR);
  current_policy = item_policy (LIA_ENTITY_APPOINTMENT, current, current, TRUE);
  g_assert_cmpint (lia_field_policy_get_direction (current_policy, "location"), ==, LIA_DIRECTION_BOTH);
}

static void
test_appt_recur (void)
{
  g_autoptr (GDateTime) dtstart = g_date_time_new_utc (2020, 1, 6, 9, 0, 0); /* a Monday, long ago */
  LiaRecurrence weekly = { .frequency = LIA_RECUR_WEEKLY, .interval = 1 };   /* endless */
  gint64 old_exception = g_date_time_to_unix (dtstart) * G_USEC_PER_SEC + 7 * CONF_DAY;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) instances = NULL;
  g_autoptr (GDateTime) now_dt = g_date_time_new_from_unix_utc (CONF_NOW / G_USEC_PER_SEC);
  g_autoptr (GDateTime) horizon_dt = g_date_time_add_months (now_dt, 12);
  gint64 horizon = g_date_time_to_unix (horizon_dt) * G_USEC_PER_SEC;
  guint in_window = 0;

  g_test_summary ("R-APPT-RECUR: an endless weekly series yields in CRM only the instances of the next 12 "
                  "months, plus an instance modified as an exception years ago; the expansion ends.");
  instances = lia_entity_rules_recurring_instances (&weekly, dtstart, &old_exception, 1, CONF_NOW, &error);
  g_assert_no_error (error);
  g_assert_nonnull (instances);
  g_assert_cmpint (g_array_index (instances, gint64, 0), ==, old_exception);
  for (guint i = 1; i < instances->len; i++)
    {
      gint64 at = g_array_index (instances, gint64, i);
      g_assert_cmpint (at, >=, CONF_NOW);
      g_assert_cmpint (at, <, horizon);
      in_window++;
    }
  g_assert_cmpuint (in_window, >=, 52);
  g_assert_cmpuint (in_window, <=, 53);
}

static void
test_appt_service (void)
{
  g_autoptr (LiaItem) original =
      appointment (LIA_ENTITY_SERVICE_APPOINTMENT, CONF_NOW + CONF_DAY, CONF_NOW + CONF_DAY + CONF_HOUR);
  g_autoptr (LiaItem) host = lia_item_copy (original);
  g_autoptr (LiaItem) crm = lia_item_copy (original);
  g_autoptr (LiaFieldPolicy) policy = item_policy (LIA_ENTITY_SERVICE_APPOINTMENT, host, crm, TRUE);
  g_autoptr (LiaMergeResult) kept = NULL;
  g_autoptr (LiaMergeResult) overwritten = NULL;
  g_autoptr (GError) error = NULL;
  LiaDeletion d = { 0 };
  LiaDeletionDecision decision;

  g_test_summary (
      "R-APPT-SERVICE: service appointments come from CRM only: they cannot be tracked from the "
      "host, host edits are not sent back and are overwritten by the next CRM change, and deleting "
      "one on the host never deletes it in CRM.");
  g_assert_false (lia_entity_rules_check_track (LIA_ENTITY_SERVICE_APPOINTMENT, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);

  conf_set_text (host, "location", "Customer site B");
  kept = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_DAY);
  g_assert_cmpuint (conf_n_writes (kept, LIA_SIDE_CRM), ==, 0);

  conf_set_text (crm, "location", "Customer site A, gate 2");
  overwritten = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_HOUR);
  g_assert_cmpuint (conf_n_writes (overwritten, LIA_SIDE_CRM), ==, 0);
  g_assert_cmpstr (lia_value_get_text (conf_find_write (overwritten, LIA_SIDE_HOST, "location")->value), ==,
                   "Customer site A, gate 2");

  d.entity = LIA_ENTITY_SERVICE_APPOINTMENT;
  d.event = LIA_DELETION_HOST_DELETED;
  d.crm_state = LIA_CRM_STATE_SCHEDULED;
  d.has_start = TRUE;
  d.start_us = CONF_NOW + CONF_DAY;
  d.user_is_owner = TRUE;
  lia_deletion_decide (&d, CONF_NOW, &decision);
  g_assert_cmpint (decision.action, ==, LIA_DELETION_UNLINK);
}

static void
test_appt_organizer (void)
{
  g_autoptr (LiaItem) crm =
      appointment (LIA_ENTITY_APPOINTMENT, CONF_NOW + CONF_DAY, CONF_NOW + CONF_DAY + CONF_HOUR);
  g_autoptr (LiaFieldPolicy) create_policy = NULL;
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaFieldPolicy) policy = NULL;
  g_autoptr (LiaMergeResult) untouched = NULL;
  g_autoptr (LiaMergeResult) modified = NULL;

  g_test_summary (
      "R-APPT-ORGANIZER: an appointment created in CRM arrives on the host without an organizer and "
      "CRM's organizer is not written to it later; once the host modifies it and fills its "
      "organizer, that organizer synchronizes.");
  conf_set_party (crm, "organizer", "owner@contoso.example");
  create_policy = item_policy (LIA_ENTITY_APPOINTMENT, NULL, crm, TRUE);
  host = lia_merge_dup_created (create_policy, crm, LIA_SIDE_HOST);
  g_assert_null (lia_item_get (host, "organizer"));
  g_assert_nonnull (lia_item_get (host, "subject"));

  policy = item_policy (LIA_ENTITY_APPOINTMENT, host, crm, TRUE);
  untouched = conf_merge (policy, host, host, crm, CONF_NOW - CONF_HOUR, CONF_NOW);
  g_assert_null (conf_find_write (untouched, LIA_SIDE_HOST, "organizer"));

  /* The user edits it in the host, which now names itself as organizer. */
  conf_set_text (host, "location", "Room 4");
  conf_set_party (host, "organizer", "me@contoso.example");
  g_clear_pointer (&policy, lia_field_policy_free);
  policy = item_policy (LIA_ENTITY_APPOINTMENT, host, crm, TRUE);
  modified = conf_merge (policy, lia_merge_result_get_original (untouched), host, crm, CONF_NOW,
                         CONF_NOW - CONF_HOUR);
  g_assert_nonnull (conf_find_write (modified, LIA_SIDE_CRM, "organizer"));
  g_assert_nonnull (conf_find_write (modified, LIA_SIDE_CRM, "location"));
}

static LiaItem *
task (const char *status)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_TASK);

  conf_set_text (item, "subject", "Send the quote");
  conf_set_enum (item, "status", status);
  return item;
}

static void
test_task_closed (void)
{
  g_autoptr (LiaItem) original = task ("in-progress");
  g_autoptr (LiaItem) host = lia_item_copy (original);
  g_autoptr (LiaItem) crm = lia_item_copy (original);
  g_autoptr (LiaFieldPolicy) policy = NULL;
  g_autoptr (LiaMergeResult) closed_in_crm = NULL;
  g_autoptr (LiaMergeResult) closed_on_host = NULL;

  g_test_summary ("R-TASK-CLOSED: a task completed in CRM and edited on the host: the completion reaches the "
                  "host, the host edit does not reach CRM. Completed on the host and edited in CRM: both "
                  "changes reach the other side.");
  conf_set_enum (crm, "status", "completed");
  conf_set_text (host, "description", "Called twice, no answer");
  policy = item_policy (LIA_ENTITY_TASK, host, crm, TRUE);
  closed_in_crm = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_HOUR);
  g_assert_cmpstr (lia_value_get_enum (conf_find_write (closed_in_crm, LIA_SIDE_HOST, "status")->value), ==,
                   "completed");
  g_assert_cmpuint (conf_n_writes (closed_in_crm, LIA_SIDE_CRM), ==, 0);

  g_clear_pointer (&host, lia_item_free);
  g_clear_pointer (&crm, lia_item_free);
  g_clear_pointer (&policy, lia_field_policy_free);
  host = lia_item_copy (original);
  crm = lia_item_copy (original);
  conf_set_enum (host, "status", "completed");
  conf_set_text (crm, "description", "Customer asked for a discount");
  policy = item_policy (LIA_ENTITY_TASK, host, crm, TRUE);
  closed_on_host = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_HOUR);
  g_assert_cmpstr (lia_value_get_enum (conf_find_write (closed_on_host, LIA_SIDE_CRM, "status")->value), ==,
                   "completed");
  g_assert_nonnull (conf_find_write (closed_on_host, LIA_SIDE_HOST, "description"));
}

static void
test_task_reminder (void)
{
  g_autoptr (LiaItem) crm_record = task ("not-started");
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaItem) original = NULL;
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaFieldPolicy) policy = NULL;
  g_autoptr (LiaMergeResult) due_moved = NULL;
  g_autoptr (LiaMergeResult) snoozed = NULL;
  g_autoptr (LiaValue) snooze = lia_value_new_datetime (CONF_NOW + 2 * CONF_DAY, NULL);

  g_test_summary ("R-TASK-REMINDER: a CRM due time sets the host reminder; a reminder changed on the host is "
                  "not sent to CRM and survives CRM changes to other fields.");
  conf_set_time (crm_record, "due", CONF_NOW + CONF_DAY);
  crm = lia_entity_rules_dup_crm_view (crm_record);
  original = lia_item_copy (crm);
  host = lia_item_copy (crm);

  /* CRM moves the due date: the reminder follows on the host. */
  g_clear_pointer (&crm, lia_item_free);
  conf_set_time (crm_record, "due", CONF_NOW + 3 * CONF_DAY);
  crm = lia_entity_rules_dup_crm_view (crm_record);
  policy = item_policy (LIA_ENTITY_TASK, host, crm, TRUE);
  due_moved = conf_merge (policy, original, host, crm, CONF_NOW - CONF_HOUR, CONF_NOW);
  g_assert_cmpint (lia_value_get_instant (conf_find_write (due_moved, LIA_SIDE_HOST, "reminder")->value), ==,
                   CONF_NOW + 3 * CONF_DAY);
  conf_apply (due_moved, host, crm);

  /* The user snoozes the reminder; CRM changes the subject. */
  g_assert_true (lia_item_set (host, "reminder", snooze, NULL));
  conf_set_text (crm_record, "subject", "Send the revised quote");
  g_clear_pointer (&crm, lia_item_free);
  crm = lia_entity_rules_dup_crm_view (crm_record);
  snoozed = conf_merge (policy, lia_merge_result_get_original (due_moved), host, crm, CONF_NOW, CONF_NOW + 1);
  g_assert_null (conf_find_write (snoozed, LIA_SIDE_CRM, "reminder"));
  g_assert_null (conf_find_write (snoozed, LIA_SIDE_HOST, "reminder"));
  g_assert_nonnull (conf_find_write (snoozed, LIA_SIDE_HOST, "subject"));
}

static void
test_contact_company (void)
{
  g_autoptr (LiaItem) original = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaValue) contoso =
      lia_value_new_reference (LIA_ENTITY_ACCOUNT, "6f0c0a52-0000-4000-8000-000000000001", "Contoso Ltd");
  g_autoptr (LiaValue) typed = lia_value_new_reference (LIA_ENTITY_ACCOUNT, NULL, "Contoso (typed)");
  g_autoptr (LiaFieldPolicy) on = NULL;
  g_autoptr (LiaFieldPolicy) off = NULL;
  g_autoptr (LiaMergeResult) written = NULL;
  g_autoptr (LiaMergeResult) not_sent = NULL;
  g_autoptr (LiaMergeResult) setting_off = NULL;

  g_test_summary ("R-CONTACT-COMPANY: with \"update the Company field\" on, the CRM contact's parent account "
                  "name is written to the host company field and host edits of it are not sent; with it off, "
                  "CRM does not write the field.");
  conf_set_text (original, "full-name", "Jeff Smith");
  host = lia_item_copy (original);
  crm = lia_item_copy (original);
  g_assert_true (lia_item_set (crm, "company", contoso, NULL));
  on = item_policy (LIA_ENTITY_CONTACT, host, crm, TRUE);
  off = item_policy (LIA_ENTITY_CONTACT, host, crm, FALSE);
  written = conf_merge (on, original, host, crm, CONF_NOW - CONF_HOUR, CONF_NOW);
  g_assert_cmpstr (lia_value_get_reference_name (conf_find_write (written, LIA_SIDE_HOST, "company")->value),
                   ==, "Contoso Ltd");
  setting_off = conf_merge (off, original, host, crm, CONF_NOW - CONF_HOUR, CONF_NOW);
  g_assert_false (lia_merge_result_has_writes (setting_off));

  conf_apply (written, host, crm);
  g_assert_true (lia_item_set (host, "company", typed, NULL));
  not_sent =
      conf_merge (on, lia_merge_result_get_original (written), host, crm, CONF_NOW + CONF_HOUR, CONF_NOW);
  g_assert_false (lia_merge_result_has_writes (not_sent));
}

static void
test_unsupported (void)
{
  static const LiaEntity regarding_only[] = { LIA_ENTITY_LEAD, LIA_ENTITY_ACCOUNT, LIA_ENTITY_OPPORTUNITY,
                                              LIA_ENTITY_INCIDENT };
  g_autoptr (GError) error = NULL;
  LiaEntity entity = LIA_ENTITY_N;

  g_test_summary (
      "R-UNSUPPORTED: leads, accounts, other record types and custom entities are never mapped to "
      "host items: they cannot be tracked, CRM records of them are refused, nothing of them merges.");
  for (guint i = 0; i < G_N_ELEMENTS (regarding_only); i++)
    {
      g_autoptr (LiaFieldPolicy) policy = item_policy (regarding_only[i], NULL, NULL, TRUE);
      guint n = 0;

      g_assert_false (lia_entity_rules_check_track (regarding_only[i], &error));
      g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
      g_clear_error (&error);
      g_assert_false (
          lia_entity_rules_check_crm_entity (lia_entity_to_string (regarding_only[i]), &entity, &error));
      g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
      g_clear_error (&error);
      lia_field_list (regarding_only[i], &n);
      for (guint f = 0; f < n; f++)
        {
          g_assert_false (lia_field_policy_may_write_host (policy, f));
          g_assert_false (lia_field_policy_may_write_crm (policy, f));
        }
    }
  g_assert_false (lia_entity_rules_check_crm_entity ("new_project", &entity, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "\"new_project\""));
  g_assert_cmpint (entity, ==, LIA_ENTITY_N);
}

static void
test_custom_fields (void)
{
  g_autoptr (LiaItem) contact = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-CUSTOM-FIELDS: user-defined fields are not in the sync schema: they cannot be set on an "
                  "item, an admin cannot give them a direction, and the rules call them unsynced.");
  g_assert_false (lia_entity_rules_field_is_synced (LIA_ENTITY_CONTACT, "new_loyaltytier"));
  g_assert_false (lia_entity_rules_field_is_synced (LIA_ENTITY_CONTACT, NULL));
  g_assert_true (lia_entity_rules_field_is_synced (LIA_ENTITY_CONTACT, "given-name"));
  g_assert_false (lia_item_set_text (contact, "new_loyaltytier", "Gold", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_field_policy_set_direction (policy, "new_loyaltytier", LIA_DIRECTION_BOTH, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules/R-APPT-PAST/tracked-then-frozen", test_appt_past);
  g_test_add_func ("/rules/R-APPT-RECUR/twelve-months-and-exceptions", test_appt_recur);
  g_test_add_func ("/rules/R-APPT-SERVICE/crm-to-host-only", test_appt_service);
  g_test_add_func ("/rules/R-APPT-ORGANIZER/filled-after-host-edit", test_appt_organizer);
  g_test_add_func ("/rules/R-TASK-CLOSED/completed-on-one-side-edited-on-other", test_task_closed);
  g_test_add_func ("/rules/R-TASK-REMINDER/due-sets-reminder", test_task_reminder);
  g_test_add_func ("/rules/R-CONTACT-COMPANY/parent-account-one-way", test_contact_company);
  g_test_add_func ("/rules/R-UNSUPPORTED/never-mapped", test_unsupported);
  g_test_add_func ("/rules/R-CUSTOM-FIELDS/not-in-schema", test_custom_fields);
  return g_test_run ();
}
