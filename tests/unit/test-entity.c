/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

static void
test_names_round_trip (void)
{
  g_test_summary ("Every entity has a unique name that parses back to it.");
  for (guint i = 0; i < LIA_ENTITY_N; i++)
    {
      LiaEntity back = LIA_ENTITY_N;
      const char *name = lia_entity_to_string ((LiaEntity) i);
      g_assert_true (lia_entity_from_string (name, &back));
      g_assert_cmpint (back, ==, i);
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (name, !=, lia_entity_to_string ((LiaEntity) j));
    }
  g_assert_cmpstr (lia_entity_to_string (LIA_ENTITY_RECURRING_APPOINTMENT), ==, "recurringappointment");
  g_assert_cmpstr (lia_entity_to_string (LIA_ENTITY_INCIDENT), ==, "incident");
}

static void
test_unknown_names (void)
{
  LiaEntity e = LIA_ENTITY_TASK;

  g_test_summary ("Unknown or missing names are refused and leave the out-parameter alone.");
  g_assert_false (lia_entity_from_string ("Contact", &e));
  g_assert_false (lia_entity_from_string ("", &e));
  g_assert_false (lia_entity_from_string (NULL, &e));
  g_assert_false (lia_entity_from_string ("none", &e));
  g_assert_cmpint (e, ==, LIA_ENTITY_TASK);
  g_assert_cmpstr (lia_entity_to_string (LIA_ENTITY_N), ==, "none");
  g_assert_cmpstr (lia_entity_to_string ((LiaEntity) 999), ==, "none");
}

static void
test_classes (void)
{
  g_test_summary ("Activities, regarding targets and host-mapped entities are the ones SPEC names.");
  g_assert_false (lia_entity_is_activity (LIA_ENTITY_CONTACT));
  for (LiaEntity e = LIA_ENTITY_APPOINTMENT; e <= LIA_ENTITY_EMAIL; e++)
    {
      g_assert_true (lia_entity_is_activity (e));
      g_assert_true (lia_entity_is_host_mapped (e));
      g_assert_false (lia_entity_is_regarding_target (e));
    }
  g_assert_true (lia_entity_is_host_mapped (LIA_ENTITY_CONTACT));
  g_assert_true (lia_entity_is_regarding_target (LIA_ENTITY_CONTACT));
  for (LiaEntity e = LIA_ENTITY_ACCOUNT; e < LIA_ENTITY_N; e++)
    {
      g_assert_true (lia_entity_is_regarding_target (e));
      g_assert_false (lia_entity_is_host_mapped (e));
      g_assert_false (lia_entity_is_activity (e));
    }
  g_assert_false (lia_entity_is_host_mapped (LIA_ENTITY_N));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/entity/names/round-trip", test_names_round_trip);
  g_test_add_func ("/entity/names/unknown", test_unknown_names);
  g_test_add_func ("/entity/classes", test_classes);
  return g_test_run ();
}
