/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

#include "lia-entity-rules-private.h"
#include "random-items.h"

#define HOUR_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define NOW RANDOM_ITEMS_T0

static void
set_time (LiaItem *item, const char *field, gint64 instant)
{
  g_autoptr (LiaValue) value = lia_value_new_datetime (instant, NULL);

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static void
set_enum (LiaItem *item, const char *field, const char *symbol)
{
  g_autoptr (LiaValue) value = lia_value_new_enum (symbol);

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static void
test_check_track (void)
{
  g_autoptr (GError) error = NULL;

  g_test_summary ("Host items of mapped entities may be tracked; regarding-only entities and service "
                  "appointments are refused with a message for the user.");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      gboolean ok = lia_entity_rules_check_track ((LiaEntity) e, &error);
      gboolean expected = lia_entity_is_host_mapped ((LiaEntity) e) && e != LIA_ENTITY_SERVICE_APPOINTMENT;
      g_assert_cmpint (ok, ==, expected);
      if (!ok)
        {
          g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
          g_clear_error (&error);
        }
    }
}

static void
test_check_crm_entity (void)
{
  LiaEntity entity = LIA_ENTITY_N;
  g_autoptr (GError) error = NULL;

  g_test_summary ("CRM entity names map to host entities only for host-mapped entities; custom and unknown "
                  "names are refused and the out-parameter stays untouched.");
  g_assert_true (lia_entity_rules_check_crm_entity ("contact", &entity, NULL));
  g_assert_cmpint (entity, ==, LIA_ENTITY_CONTACT);
  entity = LIA_ENTITY_N;
  g_assert_false (lia_entity_rules_check_crm_entity ("new_project", &entity, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_cmpint (entity, ==, LIA_ENTITY_N);
  g_clear_error (&error);
  g_assert_false (lia_entity_rules_check_crm_entity (NULL, &entity, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (lia_entity_rules_check_crm_entity ("opportunity", &entity, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_cmpint (entity, ==, LIA_ENTITY_N);
}

static void
test_is_past (void)
{
  g_autoptr (LiaItem) appt = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) series = lia_item_new (LIA_ENTITY_RECURRING_APPOINTMENT);
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 1 };
  g_autoptr (LiaValue) endless = lia_value_new_recurrence (&r);
  g_autoptr (LiaValue) ended = NULL;

  g_test_summary (
      "An appointment is past once its end (or, without one, its start) is at or before now; one "
      "in progress is not; a series is past when its until has passed by one occurrence's length.");
  g_assert_false (lia_entity_rules_is_past (appt, NOW));
  set_time (appt, "start", NOW - 2 * HOUR_US);
  g_assert_true (lia_entity_rules_is_past (appt, NOW));
  set_time (appt, "end", NOW + 1);
  g_assert_false (lia_entity_rules_is_past (appt, NOW));
  set_time (appt, "end", NOW);
  g_assert_true (lia_entity_rules_is_past (appt, NOW));

  set_time (series, "start", NOW - 100 * HOUR_US);
  set_time (series, "end", NOW - 99 * HOUR_US);
  g_assert_false (lia_entity_rules_is_past (series, NOW));
  g_assert_true (lia_item_set (series, "recurrence", endless, NULL));
  g_assert_false (lia_entity_rules_is_past (series, NOW));
  r.until_us = NOW - HOUR_US;
  ended = lia_value_new_recurrence (&r);
  g_assert_true (lia_item_set (series, "recurrence", ended, NULL));
  g_assert_true (lia_entity_rules_is_past (series, NOW));
  g_assert_false (lia_entity_rules_is_past (series, NOW - 1));

  set_time (task, "start", NOW - 100 * HOUR_US);
  g_assert_false (lia_entity_rules_is_past (task, NOW));
}

static void
test_is_closed (void)
{
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaItem) call = lia_item_new (LIA_ENTITY_PHONE_CALL);
  g_autoptr (LiaItem) appt = lia_item_new (LIA_ENTITY_APPOINTMENT);

  g_test_summary ("Tasks and task-like activities are closed when completed or canceled; nothing else is.");
  g_assert_false (lia_entity_rules_is_closed (task));
  set_enum (task, "status", "in-progress");
  g_assert_false (lia_entity_rules_is_closed (task));
  set_enum (task, "status", "completed");
  g_assert_true (lia_entity_rules_is_closed (task));
  set_enum (task, "status", "canceled");
  g_assert_true (lia_entity_rules_is_closed (task));
  set_enum (call, "status", "canceled");
  g_assert_true (lia_entity_rules_is_closed (call));
  g_assert_false (lia_entity_rules_is_closed (appt));
}

static void
test_policy_never_widens (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  g_test_summary ("For random org policies and items of every entity, the item policy never allows a "
                  "direction the org policy does not, and keeps field-level security as it was.");
  for (guint round = 0; round < 2000; round++)
    {
      LiaEntity entity = (LiaEntity) g_rand_int_range (rand, 0, LIA_ENTITY_N);
      g_autoptr (LiaFieldPolicy) org = random_policy (rand, entity);
      g_autoptr (LiaItem) host = random_item (rand, entity);
      g_autoptr (LiaItem) crm = random_item (rand, entity);
      g_autoptr (LiaFieldPolicy) item = lia_entity_rules_dup_item_policy (
          org, g_rand_boolean (rand) ? host : NULL, g_rand_boolean (rand) ? crm : NULL, g_rand_boolean (rand),
          NOW + g_rand_int_range (rand, -3, 4) * HOUR_US);
      const LiaFieldInfo *fields;
      guint n = 0;

      fields = lia_field_list (entity, &n);
      for (guint i = 0; i < n; i++)
        {
          LiaDirection before = lia_field_policy_get_direction (org, fields[i].name);
          LiaDirection after = lia_field_policy_get_direction (item, fields[i].name);
          g_assert_cmpuint (after & ~before, ==, 0);
          g_assert_cmpint (lia_field_policy_can_read (item, fields[i].name), ==,
                           lia_field_policy_can_read (org, fields[i].name));
          g_assert_cmpint (lia_field_policy_can_update (item, fields[i].name), ==,
                           lia_field_policy_can_update (org, fields[i].name));
        }
    }
}

static void
test_table_well_formed (void)
{
  const LiaEntityRuleRow *rows;
  guint n = 0;

  g_test_summary ("Every entity rule row names a rule, at least one entity, and a field its entities have.");
  rows = lia_entity_rules_get_table (&n);
  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (g_str_has_prefix (rows[i].rule_id, "R-"));
      g_assert_cmpuint (rows[i].entities, !=, 0);
      g_assert_cmpstr (lia_entity_rule_condition_to_string (rows[i].condition), !=, "?");
      for (guint e = 0; e < LIA_ENTITY_N && rows[i].field != NULL; e++)
        {
          if ((rows[i].entities & (1u << e)) != 0)
            g_assert_nonnull (lia_field_lookup ((LiaEntity) e, rows[i].field));
        }
    }
}

static void
test_crm_view (void)
{
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaItem) contact = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) view = NULL;

  g_test_summary ("The CRM view of a task carries the due time as its reminder; other records are copied as "
                  "they are.");
  set_time (task, "due", NOW + 5 * HOUR_US);
  view = lia_entity_rules_dup_crm_view (task);
  g_assert_cmpint (lia_value_get_instant (lia_item_get (view, "reminder")), ==, NOW + 5 * HOUR_US);
  g_assert_true (lia_item_get (task, "reminder") == NULL);
  g_clear_pointer (&view, lia_item_free);
  g_assert_true (lia_item_set_text (contact, "given-name", "Jeff", NULL));
  view = lia_entity_rules_dup_crm_view (contact);
  g_assert_true (lia_item_identical (view, contact));
}

static void
test_recurring_instances (void)
{
  g_autoptr (GDateTime) dtstart = g_date_time_new_utc (2025, 6, 2, 10, 0, 0);
  gint64 start_us = g_date_time_to_unix (dtstart) * G_USEC_PER_SEC;
  gint64 now = start_us + 300 * 24 * HOUR_US; /* 2026-03-29 10:00 */
  g_autoptr (GDateTime) now_dt = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  g_autoptr (GDateTime) horizon_dt = g_date_time_add_months (now_dt, 12);
  gint64 horizon = g_date_time_to_unix (horizon_dt) * G_USEC_PER_SEC;
  LiaRecurrence weekly = { .frequency = LIA_RECUR_WEEKLY, .interval = 1, .by_day = 1 };
  const gint64 modified[] = {
    start_us + 7 * 24 * HOUR_US, /* an old Monday: kept, it was modified */
    now + 8 * 24 * HOUR_US,      /* a Monday inside the window anyway: once only */
    start_us + 7 * 24 * HOUR_US, /* listed twice */
    start_us + 8 * 24 * HOUR_US, /* a Tuesday: not an occurrence */
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) instances = NULL;

  g_test_summary ("A weekly series yields the Mondays from now (inclusive) to twelve calendar months ahead "
                  "(exclusive) plus modified exceptions, sorted, once each; a bogus exception is dropped.");
  /* Mondays at 10:00: 'now' is a Sunday 10:00, so the first in the window is the next day. */
  instances =
      lia_entity_rules_recurring_instances (&weekly, dtstart, modified, G_N_ELEMENTS (modified), now, &error);
  g_assert_no_error (error);
  g_assert_nonnull (instances);
  g_assert_cmpint (g_array_index (instances, gint64, 0), ==, start_us + 7 * 24 * HOUR_US);
  g_assert_cmpint (g_array_index (instances, gint64, 1), ==, now + 24 * HOUR_US);
  for (guint i = 1; i < instances->len; i++)
    {
      gint64 at = g_array_index (instances, gint64, i);
      g_assert_cmpint (g_array_index (instances, gint64, i - 1), <, at);
      g_assert_cmpint (at, >=, now);
      g_assert_cmpint (at, <, horizon);
    }
  /* 52 or 53 Mondays in twelve months, plus the old exception. */
  g_assert_cmpuint (instances->len, >=, 1 + 52);
  g_assert_cmpuint (instances->len, <=, 1 + 53);
}

static void
test_recurring_too_dense (void)
{
  g_autoptr (GDateTime) dtstart = g_date_time_new_utc (2026, 1, 1, 10, 0, 0);
  /* 31 February, counted: nothing but the cap ends the walk for the exception's lookup. */
  LiaRecurrence never = {
    .frequency = LIA_RECUR_DAILY, .interval = 1, .count = 3, .by_month_day = 31, .by_month = 2
  };
  const gint64 modified[] = { NOW + G_GINT64_CONSTANT (500) * 365 * 24 * HOUR_US };
  g_autoptr (GError) error = NULL;
  GArray *instances;

  g_test_summary ("A series the expander cannot settle within its cap is reported as INVALID, not expanded "
                  "partially.");
  instances = lia_entity_rules_recurring_instances (&never, dtstart, modified, 1, NOW, &error);
  g_assert_null (instances);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

static LiaItem *
tracked_mail (const char *subject, const char *body, const char *to_address, const char *to_id,
              const char *regarding_id)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_EMAIL);
  LiaParty to = { .address = to_address,
                  .entity = to_id != NULL ? LIA_ENTITY_CONTACT : LIA_ENTITY_N,
                  .id = to_id };
  g_autoptr (LiaValue) to_list = lia_value_new_party_list (&to, 1);

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set_text (item, "body", body, NULL));
  g_assert_true (lia_item_set_text (item, "message-id", "<m1@example.org>", NULL));
  g_assert_true (lia_item_set (item, "to", to_list, NULL));
  set_enum (item, "direction", "outgoing");
  if (regarding_id != NULL)
    {
      g_autoptr (LiaValue) r = lia_value_new_reference (LIA_ENTITY_ACCOUNT, regarding_id, "Acme");
      g_assert_true (lia_item_set (item, "regarding", r, NULL));
    }
  return item;
}

static void
test_mail_linked_regarding_only (void)
{
  g_autoptr (LiaFieldPolicy) org = lia_field_policy_new (LIA_ENTITY_EMAIL);
  /* The message as the host has it; CRM resolved the recipient and its
   * user edited subject and body; the host changed regarding. */
  g_autoptr (LiaItem) host = tracked_mail ("Plan", "the whole body", "bob@example.org", NULL, "acct-b");
  g_autoptr (LiaItem) crm =
      tracked_mail ("Plan (edited in CRM)", "CRM's body", "bob@example.org", "c-1", "acct-a");
  g_autoptr (LiaItem) full = tracked_mail ("Plan", "the whole", "bob@example.org", "c-1", "acct-a");
  g_autoptr (LiaItem) reduced = lia_entity_rules_dup_host_original (full);
  g_autoptr (LiaFieldPolicy) created = lia_entity_rules_dup_item_policy (org, host, NULL, FALSE, NOW);
  g_autoptr (LiaFieldPolicy) linked = lia_entity_rules_dup_item_policy (org, host, crm, FALSE, NOW);
  const LiaFieldInfo *fields;
  guint n = 0;

  g_test_summary ("R-MAIL-TRACK: a tracked email (both sides exist) synchronizes regarding only, whatever "
                  "its original holds (full, reduced to regarding, missing): a host regarding change goes "
                  "to CRM and nothing else; CRM's regarding comes back; tracking still sends every field.");
  fields = lia_field_list (LIA_ENTITY_EMAIL, &n);
  for (guint i = 0; i < n; i++)
    {
      gboolean is_regarding = g_str_equal (fields[i].name, "regarding");

      g_assert_cmpint (lia_field_policy_get_direction (created, fields[i].name), ==,
                       lia_field_policy_get_direction (org, fields[i].name));
      g_assert_cmpint (lia_field_policy_get_direction (linked, fields[i].name), ==,
                       is_regarding ? LIA_DIRECTION_BOTH : LIA_DIRECTION_NONE);
    }
  {
    const LiaItem *originals[] = { full, reduced, NULL };

    for (guint k = 0; k < G_N_ELEMENTS (originals); k++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (LiaMergeResult) result =
            lia_merge_items (linked, originals[k], host, crm, NOW + HOUR_US, NOW, &error);
        const LiaFieldWrite *writes;
        guint n_writes = 0;

        g_assert_no_error (error);
        writes = lia_merge_result_get_crm_writes (result, &n_writes);
        g_assert_cmpuint (n_writes, ==, 1);
        g_assert_cmpstr (writes[0].field->name, ==, "regarding");
        g_assert_cmpstr (lia_value_get_reference_id (writes[0].value), ==, "acct-b");
        lia_merge_result_get_host_writes (result, &n_writes);
        g_assert_cmpuint (n_writes, ==, 0);
      }
  }
  {
    /* CRM's regarding change reaches the host (R-MAIL-TAGGING). */
    g_autoptr (LiaItem) host_same =
        tracked_mail ("Plan", "the whole body", "bob@example.org", NULL, "acct-a");
    g_autoptr (LiaItem) crm_c = tracked_mail ("Plan", "x", "bob@example.org", "c-1", "acct-c");
    g_autoptr (LiaMergeResult) result = lia_merge_items (linked, reduced, host_same, crm_c, NOW, NOW, NULL);
    const LiaFieldWrite *writes;
    guint n_writes = 0;

    writes = lia_merge_result_get_host_writes (result, &n_writes);
    g_assert_cmpuint (n_writes, ==, 1);
    g_assert_cmpstr (writes[0].field->name, ==, "regarding");
    g_assert_cmpstr (lia_value_get_reference_id (writes[0].value), ==, "acct-c");
    lia_merge_result_get_crm_writes (result, &n_writes);
    g_assert_cmpuint (n_writes, ==, 0);
  }
}

static void
test_mail_host_original (void)
{
  g_autoptr (LiaItem) full = tracked_mail ("Plan", "body", "bob@example.org", "c-1", "acct-a");
  g_autoptr (LiaItem) no_regarding = tracked_mail ("Plan", "body", "bob@example.org", NULL, NULL);
  g_autoptr (LiaItem) reduced = lia_entity_rules_dup_host_original (full);
  g_autoptr (LiaItem) reduced_empty = lia_entity_rules_dup_host_original (no_regarding);
  g_autoptr (LiaItem) contact = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) contact_copy = NULL;
  g_autoptr (LiaItem) host_msg = tracked_mail ("Plan", "the whole body", "bob@example.org", NULL, NULL);
  g_autoptr (LiaItem) rebuilt = NULL;
  g_autoptr (LiaItem) rebuilt_contact = NULL;
  const LiaFieldInfo *fields;
  guint n = 0;

  g_test_summary ("R-MAIL-TRACK, R-MERGE-ORIGINAL: the host copy of an email's original holds regarding "
                  "only; other entities keep the whole original; a relinked email's original is the "
                  "message with the host original's regarding, a missing one stays missing.");
  fields = lia_field_list (LIA_ENTITY_EMAIL, &n);
  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (fields[i].name, "regarding"))
        g_assert_true (lia_value_equal (lia_item_get_at (reduced, i), lia_item_get_at (full, i)));
      else
        g_assert_null (lia_item_get_at (reduced, i));
      g_assert_null (lia_item_get_at (reduced_empty, i));
    }
  g_assert_true (lia_item_set_text (contact, "given-name", "Jeff", NULL));
  contact_copy = lia_entity_rules_dup_host_original (contact);
  g_assert_true (lia_item_identical (contact_copy, contact));

  rebuilt = lia_entity_rules_dup_relinked_original (reduced, host_msg);
  g_assert_cmpstr (lia_item_get_text (rebuilt, "message-id"), ==, "<m1@example.org>");
  g_assert_cmpstr (lia_item_get_text (rebuilt, "body"), ==, "the whole body");
  g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (rebuilt, "regarding")), ==, "acct-a");
  g_assert_null (lia_entity_rules_dup_relinked_original (NULL, host_msg));
  g_assert_null (lia_entity_rules_dup_relinked_original (contact, host_msg));
  rebuilt_contact = lia_entity_rules_dup_relinked_original (contact, contact);
  g_assert_true (lia_item_identical (rebuilt_contact, contact));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/entity-rules/check-track", test_check_track);
  g_test_add_func ("/entity-rules/check-crm-entity", test_check_crm_entity);
  g_test_add_func ("/entity-rules/is-past", test_is_past);
  g_test_add_func ("/entity-rules/is-closed", test_is_closed);
  g_test_add_func ("/entity-rules/policy-never-widens", test_policy_never_widens);
  g_test_add_func ("/entity-rules/table-well-formed", test_table_well_formed);
  g_test_add_func ("/entity-rules/crm-view", test_crm_view);
  g_test_add_func ("/entity-rules/R-MAIL-TRACK/linked-regarding-only", test_mail_linked_regarding_only);
  g_test_add_func ("/entity-rules/R-MAIL-TRACK/host-original", test_mail_host_original);
  g_test_add_func ("/entity-rules/recurring-instances", test_recurring_instances);
  g_test_add_func ("/entity-rules/recurring-too-dense", test_recurring_too_dense);
  return g_test_run ();
}
