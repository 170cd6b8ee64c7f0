/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

static void
test_defaults (void)
{
  g_test_summary ("A new policy holds the registry's directions, every field readable and updatable.");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new ((LiaEntity) e);
      const LiaFieldInfo *fields;
      guint n = 0;

      fields = lia_field_list ((LiaEntity) e, &n);
      g_assert_cmpint (lia_field_policy_get_entity (policy), ==, e);
      for (guint i = 0; i < n; i++)
        {
          g_assert_cmpint (lia_field_policy_get_direction (policy, fields[i].name), ==, fields[i].direction);
          g_assert_true (lia_field_policy_can_read (policy, fields[i].name));
          g_assert_true (lia_field_policy_can_update (policy, fields[i].name));
          g_assert_cmpint (lia_field_policy_may_write_host (policy, i), ==,
                           lia_direction_allows_to_host (fields[i].direction));
          g_assert_cmpint (lia_field_policy_may_write_crm (policy, i), ==,
                           lia_direction_allows_to_crm (fields[i].direction));
        }
      g_assert_false (lia_field_policy_may_write_host (policy, n));
      g_assert_false (lia_field_policy_may_write_crm (policy, n));
    }
}

static void
test_org_directions (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (GError) error = NULL;

  g_test_summary ("The admin changes directions of fields that are not fixed; fixed fields, unknown fields "
                  "and out-of-range directions are refused and leave the policy unchanged.");
  g_assert_true (lia_field_policy_set_direction (policy, "nickname", LIA_DIRECTION_TO_CRM, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "nickname"), ==, LIA_DIRECTION_TO_CRM);

  g_assert_false (lia_field_policy_set_direction (policy, "full-name", LIA_DIRECTION_NONE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "full-name"), ==, LIA_DIRECTION_BOTH);
  /* Setting a fixed field to what it already is changes nothing and is fine. */
  g_assert_true (lia_field_policy_set_direction (policy, "full-name", LIA_DIRECTION_BOTH, NULL));

  g_assert_false (lia_field_policy_set_direction (policy, "x-favourite-colour", LIA_DIRECTION_BOTH, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "x-favourite-colour"), ==, LIA_DIRECTION_NONE);

  g_assert_false (lia_field_policy_set_direction (policy, "nickname", LIA_DIRECTION_N, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "nickname"), ==, LIA_DIRECTION_TO_CRM);
}

static void
test_access (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  gint index = lia_field_index (LIA_ENTITY_CONTACT, "spouse");
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "Field-level security gates the writes: unreadable never to host, not updatable never to CRM.");
  g_assert_cmpint (index, >=, 0);
  g_assert_true (lia_field_policy_set_access (policy, "spouse", FALSE, TRUE, NULL));
  g_assert_false (lia_field_policy_can_read (policy, "spouse"));
  g_assert_false (lia_field_policy_may_write_host (policy, (guint) index));
  g_assert_true (lia_field_policy_may_write_crm (policy, (guint) index));
  g_assert_true (lia_field_policy_set_access (policy, "spouse", TRUE, FALSE, NULL));
  g_assert_true (lia_field_policy_may_write_host (policy, (guint) index));
  g_assert_false (lia_field_policy_may_write_crm (policy, (guint) index));
  g_assert_false (lia_field_policy_set_access (policy, "x-user", TRUE, TRUE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_false (lia_field_policy_can_read (policy, "x-user"));
  g_assert_false (lia_field_policy_can_update (policy, NULL));
}

static void
test_restrict (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_TASK);
  g_autoptr (LiaFieldPolicy) copy = NULL;

  g_test_summary ("Restricting only narrows, also on fixed fields; a copy is independent of its source.");
  copy = lia_field_policy_copy (policy);
  lia_field_policy_restrict (policy, "subject", LIA_DIRECTION_TO_HOST);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "subject"), ==, LIA_DIRECTION_TO_HOST);
  lia_field_policy_restrict (policy, "subject", LIA_DIRECTION_BOTH);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "subject"), ==, LIA_DIRECTION_TO_HOST);
  lia_field_policy_restrict (policy, "subject", LIA_DIRECTION_TO_CRM);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "subject"), ==, LIA_DIRECTION_NONE);
  lia_field_policy_restrict (policy, "status", LIA_DIRECTION_TO_HOST);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "status"), ==, LIA_DIRECTION_TO_HOST);
  lia_field_policy_restrict (policy, NULL, LIA_DIRECTION_NONE);
  g_assert_cmpint (lia_field_policy_get_direction (policy, "due"), ==, LIA_DIRECTION_NONE);
  lia_field_policy_restrict (policy, "x-unknown", LIA_DIRECTION_NONE);
  g_assert_cmpint (lia_field_policy_get_direction (copy, "subject"), ==, LIA_DIRECTION_BOTH);
  g_assert_cmpint (lia_field_policy_get_direction (copy, "due"), ==, LIA_DIRECTION_BOTH);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/field-policy/defaults", test_defaults);
  g_test_add_func ("/field-policy/org-directions", test_org_directions);
  g_test_add_func ("/field-policy/access", test_access);
  g_test_add_func ("/field-policy/restrict", test_restrict);
  return g_test_run ();
}
