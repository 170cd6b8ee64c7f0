/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "lia-org-filter.h"

/* 2024-06-01T12:00:00Z */
#define NOW (G_GINT64_CONSTANT (1717243200) * G_USEC_PER_SEC)
#define DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

static LiaOrgFilter *
parse_ok (const char *xml)
{
  g_autoptr (GError) error = NULL;
  LiaOrgFilter *filter = lia_org_filter_parse (xml, strlen (xml), &error);

  g_assert_no_error (error);
  g_assert_nonnull (filter);
  return filter;
}

static void
expect_invalid (const char *xml, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgFilter) filter = lia_org_filter_parse (xml, strlen (xml), &error);

  g_assert_null (filter);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  /* Shows both strings when the message does not name the problem. */
  if (strstr (error->message, needle) == NULL)
    g_assert_cmpstr (error->message, ==, needle);
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_invalid_named (void)
{
  g_test_summary ("Invalid filter XML is rejected with a one-line message that names the problem.");
  expect_invalid ("<filter entity=\"contact\"><condition", "Malformed XML at line 1");
  expect_invalid ("<query/>", "Expected <filter>");
  expect_invalid ("<filter entity=\"gizmo\"/>", "unknown entity \"gizmo\"");
  expect_invalid (
      "<filter entity=\"contact\"><condition attribute=\"shoesize\" operator=\"eq\" value=\"9\"/></filter>",
      "unknown attribute \"shoesize\"");
  expect_invalid (
      "<filter entity=\"contact\"><condition attribute=\"firstname\" operator=\"resembles\" value=\"x\"/>"
      "</filter>",
      "unknown operator \"resembles\"");
  expect_invalid ("<filter entity=\"contact\"><condition attribute=\"firstname\" operator=\"eq\"/></filter>",
                  "takes exactly one value");
  expect_invalid (
      "<filter entity=\"contact\"><condition attribute=\"firstname\" operator=\"eq-current-user\"/>"
      "</filter>",
      "does not apply to \"firstname\"");
  expect_invalid ("<filter entity=\"task\">\n<condition attribute=\"scheduledend\" operator=\"next-x-days\" "
                  "value=\"many\"/></filter>",
                  "line 2");
  expect_invalid (
      "<filter entity=\"task\"><condition attribute=\"statecode\" operator=\"in\"><value>done</value>"
      "</condition></filter>",
      "not a record state");
  expect_invalid ("<filter entity=\"task\"><or/></filter>", "empty <or>");
  expect_invalid ("<filter entity=\"task\"><not/></filter>", "unknown element <not>");
  expect_invalid ("<!DOCTYPE filter [<!ENTITY x \"y\">]><filter entity=\"task\"/>", "Document type");
}

static void
test_match_owner_state (void)
{
  g_autoptr (LiaOrgFilter) filter = parse_ok (
      "<filter entity=\"task\"><condition attribute=\"ownerid\" operator=\"eq-current-user\"/>"
      "<condition attribute=\"statecode\" operator=\"in\"><value>open</value><value>scheduled</value>"
      "</condition></filter>");
  LiaOrgFilterSubject mine_open = { "u1", LIA_RECORD_STATE_OPEN, NOW, NULL };
  LiaOrgFilterSubject mine_done = { "u1", LIA_RECORD_STATE_COMPLETED, NOW, NULL };
  LiaOrgFilterSubject other = { "u2", LIA_RECORD_STATE_OPEN, NOW, NULL };

  g_test_summary ("My open activities: eq-current-user and statecode in (open, scheduled), and-ed; no field "
                  "is needed so records need not be decoded.");
  g_assert_false (lia_org_filter_needs_item (filter));
  g_assert_false (lia_org_filter_is_time_dependent (filter));
  g_assert_true (lia_org_filter_match (filter, &mine_open, "u1", NOW));
  g_assert_false (lia_org_filter_match (filter, &mine_done, "u1", NOW));
  g_assert_false (lia_org_filter_match (filter, &other, "u1", NOW));
  g_assert_true (lia_org_filter_match (filter, &other, "u2", NOW));
}

static void
test_match_fields_or (void)
{
  g_autoptr (LiaOrgFilter) filter =
      parse_ok ("<filter entity=\"contact\"><or>"
                "<condition attribute=\"lastname\" operator=\"eq\" value=\"SMITH\"/>"
                "<condition attribute=\"jobtitle\" operator=\"like\" value=\"sales\"/>"
                "<and><condition attribute=\"department\" operator=\"not-null\"/>"
                "<condition attribute=\"nickname\" operator=\"ne\" value=\"Bob\"/></and>"
                "</or></filter>");
  g_autoptr (LiaItem) smith = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) seller = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) bob = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) dept = lia_item_new (LIA_ENTITY_CONTACT);
  LiaOrgFilterSubject s = { "u1", LIA_RECORD_STATE_OPEN, NOW, NULL };

  g_test_summary ("Field conditions by CRM attribute name, text compared case-insensitively, in nested "
                  "and/or groups.");
  g_assert_true (lia_org_filter_needs_item (filter));
  g_assert_true (lia_item_set_text (smith, "family-name", "Smith", NULL));
  g_assert_true (lia_item_set_text (seller, "job-title", "Head of Sales EMEA", NULL));
  g_assert_true (lia_item_set_text (bob, "department", "R&D", NULL));
  g_assert_true (lia_item_set_text (bob, "nickname", "bob", NULL));
  g_assert_true (lia_item_set_text (dept, "department", "R&D", NULL));
  s.item = smith;
  g_assert_true (lia_org_filter_match (filter, &s, "u1", NOW));
  s.item = seller;
  g_assert_true (lia_org_filter_match (filter, &s, "u1", NOW));
  s.item = bob;
  g_assert_false (lia_org_filter_match (filter, &s, "u1", NOW));
  s.item = dept;
  g_assert_true (lia_org_filter_match (filter, &s, "u1", NOW));
}

static void
test_match_dates (void)
{
  g_autoptr (LiaOrgFilter) after = parse_ok (
      "<filter entity=\"appointment\"><condition attribute=\"scheduledend\" operator=\"on-or-after\" "
      "value=\"today\"/></filter>");
  g_autoptr (LiaOrgFilter) next = parse_ok (
      "<filter entity=\"appointment\"><condition attribute=\"scheduledstart\" operator=\"next-x-days\" "
      "value=\"7\"/></filter>");
  g_autoptr (LiaOrgFilter) last =
      parse_ok ("<filter entity=\"contact\"><condition attribute=\"modifiedon\" operator=\"last-x-days\" "
                "value=\"30\"/></filter>");
  g_autoptr (LiaOrgFilter) fixed =
      parse_ok ("<filter entity=\"contact\"><condition attribute=\"birthdate\" operator=\"on-or-before\" "
                "value=\"1980-12-31\"/></filter>");
  struct
  {
    gint64 offset;
    gboolean after, next;
  } cases[] = {
    { -DAY, FALSE, FALSE },
    { -G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, TRUE, TRUE },
    { 6 * DAY, TRUE, TRUE },
    { 8 * DAY, TRUE, FALSE },
  };
  LiaOrgFilterSubject s = { "u1", LIA_RECORD_STATE_OPEN, NOW, NULL };

  g_test_summary ("on-or-after today, next-x-days and last-x-days work on whole UTC days and mark the filter "
                  "time-dependent; on-or-before a fixed date does not.");
  g_assert_true (lia_org_filter_is_time_dependent (after));
  g_assert_true (lia_org_filter_is_time_dependent (next));
  g_assert_false (lia_org_filter_is_time_dependent (fixed));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_APPOINTMENT);
      g_autoptr (LiaValue) when = lia_value_new_datetime (NOW + cases[i].offset, NULL);
      g_assert_true (lia_item_set (item, "start", when, NULL));
      g_assert_true (lia_item_set (item, "end", when, NULL));
      s.item = item;
      g_assert_cmpint (lia_org_filter_match (after, &s, "u1", NOW), ==, cases[i].after);
      g_assert_cmpint (lia_org_filter_match (next, &s, "u1", NOW), ==, cases[i].next);
    }
  s.item = NULL;
  s.modified_on = NOW - 10 * DAY;
  g_assert_true (lia_org_filter_match (last, &s, "u1", NOW));
  s.modified_on = NOW - 40 * DAY;
  g_assert_false (lia_org_filter_match (last, &s, "u1", NOW));
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
    g_autoptr (LiaValue) born = lia_value_new_date (1980, 12, 31);
    g_autoptr (LiaValue) later = lia_value_new_date (1981, 1, 1);
    g_assert_true (lia_item_set (item, "birthday", born, NULL));
    s.item = item;
    g_assert_true (lia_org_filter_match (fixed, &s, "u1", NOW));
    g_assert_true (lia_item_set (item, "birthday", later, NULL));
    g_assert_false (lia_org_filter_match (fixed, &s, "u1", NOW));
  }
}

static void
count_default (LiaEntity entity, const char *name, const char *xml, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgFilter) filter = lia_org_filter_parse (xml, strlen (xml), &error);

  g_assert_no_error (error);
  g_assert_cmpint (lia_org_filter_get_entity (filter), ==, entity);
  (*(guint *) user_data) |= 1u << entity;
}

static void
test_defaults (void)
{
  guint seen = 0;

  g_test_summary (
      "The out-of-box filters (my contacts, my open activities, my future appointments) parse and "
      "cover contacts, every appointment kind and the task-list activities (R-MARK-NEEDS-FILTER).");
  lia_org_filter_foreach_default (count_default, &seen);
  g_assert_cmpuint (seen, ==,
                    (1u << LIA_ENTITY_CONTACT) | (1u << LIA_ENTITY_APPOINTMENT)
                        | (1u << LIA_ENTITY_RECURRING_APPOINTMENT) | (1u << LIA_ENTITY_SERVICE_APPOINTMENT)
                        | (1u << LIA_ENTITY_TASK) | (1u << LIA_ENTITY_PHONE_CALL) | (1u << LIA_ENTITY_LETTER)
                        | (1u << LIA_ENTITY_FAX));
}

static void
test_limits (void)
{
  GString *big = g_string_new ("<filter entity=\"contact\">");
  GString *deep = g_string_new ("<filter entity=\"contact\">");
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgFilter) filter = NULL;

  g_test_summary ("Oversized, too deep and too many-noded filters are refused, not evaluated.");
  for (guint i = 0; i < 300; i++)
    g_string_append (big, "<condition attribute=\"ownerid\" operator=\"not-null\"/>");
  g_string_append (big, "</filter>");
  expect_invalid (big->str, "more than 256");
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "<and>");
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "</and>");
  g_string_append (deep, "</filter>");
  expect_invalid (deep->str, "deeper");
  {
    g_autofree char *huge = g_strnfill (70 * 1024, ' ');
    filter = lia_org_filter_parse (huge, strlen (huge), &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  }
  g_string_free (big, TRUE);
  g_string_free (deep, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/org/filter/invalid-named", test_invalid_named);
  g_test_add_func ("/org/filter/owner-state", test_match_owner_state);
  g_test_add_func ("/org/filter/fields-or", test_match_fields_or);
  g_test_add_func ("/org/filter/dates", test_match_dates);
  g_test_add_func ("/org/filter/defaults", test_defaults);
  g_test_add_func ("/org/filter/limits", test_limits);
  return g_test_run ();
}
