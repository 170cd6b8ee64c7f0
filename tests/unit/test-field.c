/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <liaison/liaison.h>

static void
test_tables_well_formed (void)
{
  g_test_summary ("Every entity has fields with unique Liaison and CRM names, a kind, and enum symbols.");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      guint n = 0;
      const LiaFieldInfo *fields = lia_field_list ((LiaEntity) e, &n);
      g_assert_nonnull (fields);
      g_assert_cmpuint (n, >, 0);
      for (guint i = 0; i < n; i++)
        {
          const LiaFieldInfo *f = &fields[i];
          g_assert_nonnull (f->name);
          g_assert_nonnull (f->label);
          g_assert_cmpint (f->kind, <, LIA_VALUE_N);
          g_assert_cmpint (f->direction, <, LIA_DIRECTION_N);
          g_assert_true ((f->kind == LIA_VALUE_ENUM) == (f->enum_values != NULL));
          g_assert_cmpint (lia_field_index ((LiaEntity) e, f->name), ==, (gint) i);
          g_assert_true (lia_field_lookup ((LiaEntity) e, f->name) == f);
          if (f->crm_name != NULL)
            g_assert_true (lia_field_lookup_crm ((LiaEntity) e, f->crm_name) == f);
          for (guint j = 0; j < i; j++)
            g_assert_cmpstr (f->name, !=, fields[j].name);
        }
    }
}

static void
assert_field (LiaEntity e, const char *name, LiaValueKind kind, LiaDirection dir, gboolean fixed)
{
  const LiaFieldInfo *f = lia_field_lookup (e, name);

  if (f == NULL)
    g_error ("%s has no field %s", lia_entity_to_string (e), name);
  g_assert_cmpint (f->kind, ==, kind);
  g_assert_cmpstr (lia_direction_to_string (f->direction), ==, lia_direction_to_string (dir));
  g_assert_cmpint (f->fixed, ==, fixed);
}

static void
test_contact_map (void)
{
  static const char *const two_way[] = {
    "given-name",      "family-name",      "nickname",
    "job-title",       "department",       "manager",
    "assistant",       "assistant-phone",  "spouse",
    "children",        "email-1",          "email-2",
    "email-3",         "business-phone",   "business-phone-2",
    "home-phone",      "home-phone-2",     "mobile-phone",
    "pager",           "business-fax",     "company-main-phone",
    "callback",        "other-phone",      "business-address",
    "home-address",    "other-address",    "web-page",
    "ftp-site",        "government-id",    "notes",
    "yomi-given-name", "yomi-family-name",
  };
  guint n = 0;

  g_test_summary ("SPEC section 10: contact fields are all two-way; full name and company are fixed.");
  lia_field_list (LIA_ENTITY_CONTACT, &n);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (two_way) + 4);
  for (guint i = 0; i < G_N_ELEMENTS (two_way); i++)
    assert_field (LIA_ENTITY_CONTACT, two_way[i], LIA_VALUE_TEXT, LIA_DIRECTION_BOTH, FALSE);
  assert_field (LIA_ENTITY_CONTACT, "full-name", LIA_VALUE_TEXT, LIA_DIRECTION_BOTH, TRUE);
  assert_field (LIA_ENTITY_CONTACT, "company", LIA_VALUE_REFERENCE, LIA_DIRECTION_BOTH, TRUE);
  assert_field (LIA_ENTITY_CONTACT, "birthday", LIA_VALUE_DATE, LIA_DIRECTION_BOTH, FALSE);
  assert_field (LIA_ENTITY_CONTACT, "anniversary", LIA_VALUE_DATE, LIA_DIRECTION_BOTH, FALSE);
  g_assert_cmpstr (lia_field_lookup (LIA_ENTITY_CONTACT, "notes")->crm_name, ==, "description");
  g_assert_cmpstr (lia_field_lookup (LIA_ENTITY_CONTACT, "business-address")->crm_name, ==,
                   "address1_composite");
}

static void
test_appointment_map (void)
{
  static const char *const fixed_fields[] = {
    "start",
    "end",
    "all-day",
    "priority",
    "show-time-as",
    "required-attendees",
    "optional-attendees",
    "organizer",
    "regarding",
  };
  guint n_appt = 0, n_recur = 0, n_service = 0;
  const LiaFieldInfo *service;

  g_test_summary ("SPEC section 10: appointment fields are two-way with the fixed ones fixed; "
                  "a recurring appointment adds its pattern; a service appointment is all CRM-to-host.");
  lia_field_list (LIA_ENTITY_APPOINTMENT, &n_appt);
  lia_field_list (LIA_ENTITY_RECURRING_APPOINTMENT, &n_recur);
  service = lia_field_list (LIA_ENTITY_SERVICE_APPOINTMENT, &n_service);
  g_assert_cmpuint (n_recur, ==, n_appt + 1);
  g_assert_cmpuint (n_service, ==, n_appt);
  for (guint i = 0; i < G_N_ELEMENTS (fixed_fields); i++)
    {
      g_assert_true (lia_field_lookup (LIA_ENTITY_APPOINTMENT, fixed_fields[i])->fixed);
      g_assert_cmpint (lia_field_lookup (LIA_ENTITY_APPOINTMENT, fixed_fields[i])->direction, ==,
                       LIA_DIRECTION_BOTH);
    }
  assert_field (LIA_ENTITY_APPOINTMENT, "subject", LIA_VALUE_TEXT, LIA_DIRECTION_BOTH, FALSE);
  assert_field (LIA_ENTITY_APPOINTMENT, "start", LIA_VALUE_DATETIME, LIA_DIRECTION_BOTH, TRUE);
  assert_field (LIA_ENTITY_APPOINTMENT, "required-attendees", LIA_VALUE_PARTY_LIST, LIA_DIRECTION_BOTH, TRUE);
  assert_field (LIA_ENTITY_RECURRING_APPOINTMENT, "recurrence", LIA_VALUE_RECURRENCE, LIA_DIRECTION_BOTH,
                TRUE);
  g_assert_null (lia_field_lookup (LIA_ENTITY_APPOINTMENT, "recurrence"));
  for (guint i = 0; i < n_service; i++)
    {
      g_assert_cmpint (service[i].direction, ==, LIA_DIRECTION_TO_HOST);
      g_assert_true (service[i].fixed);
    }
}

static void
test_task_map (void)
{
  static const char *const task_like[] = { "subject",  "start",       "due",    "completed",
                                           "priority", "description", "status", "regarding" };
  const LiaEntity entities[] = { LIA_ENTITY_TASK, LIA_ENTITY_PHONE_CALL, LIA_ENTITY_LETTER, LIA_ENTITY_FAX };

  g_test_summary ("SPEC section 10: tasks, phone calls, letters and faxes carry the task-like fields; "
                  "importance, status and regarding are fixed; the task reminder is never sent to CRM.");
  for (guint e = 0; e < G_N_ELEMENTS (entities); e++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (task_like); i++)
        {
          const LiaFieldInfo *f = lia_field_lookup (entities[e], task_like[i]);
          g_assert_nonnull (f);
          g_assert_cmpint (f->direction, ==, LIA_DIRECTION_BOTH);
          g_assert_true (f->fixed
                         == (g_str_equal (f->name, "priority") || g_str_equal (f->name, "status")
                             || g_str_equal (f->name, "regarding")));
        }
    }
  assert_field (LIA_ENTITY_TASK, "percent-complete", LIA_VALUE_INTEGER, LIA_DIRECTION_BOTH, FALSE);
  assert_field (LIA_ENTITY_TASK, "reminder", LIA_VALUE_DATETIME, LIA_DIRECTION_TO_HOST, TRUE);
  g_assert_null (lia_field_lookup (LIA_ENTITY_TASK, "reminder")->crm_name);
  g_assert_null (lia_field_lookup (LIA_ENTITY_PHONE_CALL, "percent-complete"));
}

static void
test_email_map (void)
{
  guint n = 0;
  const LiaFieldInfo *fields = lia_field_list (LIA_ENTITY_EMAIL, &n);

  g_test_summary ("R-MAIL-TRACK: email is one-way host to CRM except regarding.");
  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (fields[i].name, "regarding"))
        g_assert_cmpint (fields[i].direction, ==, LIA_DIRECTION_BOTH);
      else
        g_assert_cmpint (fields[i].direction, ==, LIA_DIRECTION_TO_CRM);
    }
  g_assert_nonnull (lia_field_lookup (LIA_ENTITY_EMAIL, "message-id"));
  g_assert_nonnull (lia_field_lookup (LIA_ENTITY_EMAIL, "in-reply-to"));
}

static void
test_regarding_only (void)
{
  g_test_summary ("R-UNSUPPORTED: regarding-only entities carry a name that is never synchronized.");
  for (LiaEntity e = LIA_ENTITY_ACCOUNT; e < LIA_ENTITY_N; e++)
    {
      guint n = 0;
      const LiaFieldInfo *fields = lia_field_list (e, &n);
      g_assert_cmpuint (n, ==, 1);
      g_assert_cmpstr (fields[0].name, ==, "name");
      g_assert_cmpint (fields[0].direction, ==, LIA_DIRECTION_NONE);
    }
}

static void
test_unknown_fields_kept_out (void)
{
  guint n = 99;

  g_test_summary ("Unknown fields, entities and CRM names from the outside are not found, never a crash.");
  g_assert_null (lia_field_lookup (LIA_ENTITY_CONTACT, "x-custom"));
  g_assert_null (lia_field_lookup (LIA_ENTITY_CONTACT, ""));
  g_assert_null (lia_field_lookup (LIA_ENTITY_CONTACT, NULL));
  g_assert_null (lia_field_lookup (LIA_ENTITY_N, "subject"));
  g_assert_null (lia_field_lookup ((LiaEntity) 1234, "subject"));
  g_assert_cmpint (lia_field_index (LIA_ENTITY_TASK, "Subject"), ==, -1);
  g_assert_null (lia_field_lookup_crm (LIA_ENTITY_CONTACT, "new_customfield"));
  g_assert_null (lia_field_list (LIA_ENTITY_N, &n));
  g_assert_cmpuint (n, ==, 0);
}

static void
test_accepts (void)
{
  const LiaFieldInfo *priority = lia_field_lookup (LIA_ENTITY_TASK, "priority");
  const LiaFieldInfo *subject = lia_field_lookup (LIA_ENTITY_TASK, "subject");
  g_autoptr (LiaValue) high = lia_value_new_enum ("high");
  g_autoptr (LiaValue) urgent = lia_value_new_enum ("urgent");
  g_autoptr (LiaValue) number = lia_value_new_integer (3);
  g_autoptr (GError) error = NULL;

  g_test_summary ("A field accepts only its own kind and, for enumerations, its own symbols.");
  g_assert_true (lia_field_accepts (priority, high, NULL));
  g_assert_true (lia_field_accepts (priority, NULL, NULL));
  g_assert_false (lia_field_accepts (priority, urgent, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "urgent"));
  g_clear_error (&error);
  g_assert_false (lia_field_accepts (subject, number, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

static void
test_directions (void)
{
  g_test_summary ("Direction codes are SPEC's and parse back; each direction says which way it allows.");
  for (guint d = 0; d < LIA_DIRECTION_N; d++)
    {
      LiaDirection back = LIA_DIRECTION_N;
      g_assert_true (lia_direction_from_string (lia_direction_to_string ((LiaDirection) d), &back));
      g_assert_cmpint (back, ==, d);
    }
  g_assert_cmpstr (lia_direction_to_string (LIA_DIRECTION_BOTH), ==, "<->");
  g_assert_true (lia_direction_allows_to_crm (LIA_DIRECTION_TO_CRM));
  g_assert_false (lia_direction_allows_to_host (LIA_DIRECTION_TO_CRM));
  g_assert_true (lia_direction_allows_to_host (LIA_DIRECTION_TO_HOST));
  g_assert_false (lia_direction_allows_to_crm (LIA_DIRECTION_NONE));
  g_assert_false (lia_direction_from_string ("=>", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/field/tables-well-formed", test_tables_well_formed);
  g_test_add_func ("/field/map/contact", test_contact_map);
  g_test_add_func ("/field/map/appointment", test_appointment_map);
  g_test_add_func ("/field/map/task", test_task_map);
  g_test_add_func ("/field/map/email", test_email_map);
  g_test_add_func ("/field/map/regarding-only", test_regarding_only);
  g_test_add_func ("/field/unknown-kept-out", test_unknown_fields_kept_out);
  g_test_add_func ("/field/accepts", test_accepts);
  g_test_add_func ("/field/directions", test_directions);
  return g_test_run ();
}
