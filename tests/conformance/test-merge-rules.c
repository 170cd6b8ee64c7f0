/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPEC section 5, merging overlapping changes. */
#include "conformance.h"

static LiaItem *
jeff_smith (void)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_CONTACT);

  conf_set_text (item, "given-name", "Jeff");
  conf_set_text (item, "family-name", "Smith");
  return item;
}

static void
assert_text (const LiaItem *item, const char *field, const char *text)
{
  g_assert_cmpstr (lia_item_get_text (item, field), ==, text);
}

static void
test_fields (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = jeff_smith ();
  g_autoptr (LiaItem) crm = jeff_smith ();
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary ("R-MERGE-FIELDS: a change is the set of fields that differ from the original; a field "
                  "changed on one side only is copied to the other, and unchanged fields are not written.");
  conf_set_text (host, "mobile-phone", "+1 555 0101");
  conf_set_text (crm, "email-1", "jeff@contoso.example");
  result = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW);
  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_HOST), ==, 1);
  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_CRM), ==, 1);
  conf_apply (result, host, crm);
  g_assert_true (lia_item_equal (host, crm));
  g_assert_true (lia_item_equal (host, lia_merge_result_get_original (result)));
}

static void
test_newer_wins (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = jeff_smith ();
  g_autoptr (LiaItem) crm = jeff_smith ();
  g_autoptr (LiaMergeResult) host_later = NULL;
  g_autoptr (LiaMergeResult) crm_later = NULL;
  g_autoptr (LiaMergeResult) tie = NULL;
  guint n = 0;

  g_test_summary (
      "R-MERGE-NEWER-WINS: a field both sides changed takes the value of the side whose change is "
      "newer (host last-modified vs CRM modifiedon); a tie goes to CRM; the journal gets both values.");
  conf_set_text (host, "job-title", "Buyer");
  conf_set_text (crm, "job-title", "Senior Buyer");
  host_later = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_MINUTE);
  crm_later = conf_merge (policy, original, host, crm, CONF_NOW - CONF_MINUTE, CONF_NOW);
  tie = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW);
  g_assert_cmpstr (lia_value_get_text (conf_find_write (host_later, LIA_SIDE_CRM, "job-title")->value), ==,
                   "Buyer");
  g_assert_cmpstr (lia_value_get_text (conf_find_write (crm_later, LIA_SIDE_HOST, "job-title")->value), ==,
                   "Senior Buyer");
  g_assert_cmpstr (lia_value_get_text (conf_find_write (tie, LIA_SIDE_HOST, "job-title")->value), ==,
                   "Senior Buyer");
  g_assert_null (conf_find_write (tie, LIA_SIDE_CRM, "job-title"));
  g_assert_cmpint (lia_merge_result_get_conflicts (tie, &n)->reason, ==, LIA_CONFLICT_TIE);
  g_assert_cmpuint (n, ==, 1);
}

static void
test_order (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaMergeResult) result = NULL;
  const LiaItem *step1;
  const LiaItem *merged;

  g_test_summary (
      "R-MERGE-ORDER worked example: the host changed A, B, C; CRM later changed A, B. Both sides "
      "end with A and B from CRM and C from the host; CRM's C is updated; the original holds the "
      "merged state, and after the first step it already holds A and B but not yet C.");
  /* A = job title, B = department, C = nickname. */
  conf_set_text (original, "job-title", "A");
  conf_set_text (original, "department", "B");
  conf_set_text (original, "nickname", "C");
  host = lia_item_copy (original);
  crm = lia_item_copy (original);
  conf_set_text (host, "job-title", "A1");
  conf_set_text (host, "department", "B1");
  conf_set_text (host, "nickname", "C1");
  conf_set_text (crm, "job-title", "A2");
  conf_set_text (crm, "department", "B2");
  result = conf_merge (policy, original, host, crm, CONF_NOW - CONF_HOUR, CONF_NOW);

  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_HOST), ==, 2);
  g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_CRM), ==, 1);
  step1 = lia_merge_result_get_original_after_host (result);
  assert_text (step1, "job-title", "A2");
  assert_text (step1, "department", "B2");
  assert_text (step1, "nickname", "C");
  conf_apply (result, host, crm);
  merged = lia_merge_result_get_original (result);
  for (guint i = 0; i < 2; i++)
    {
      const LiaItem *side = i == 0 ? host : crm;
      assert_text (side, "job-title", "A2");
      assert_text (side, "department", "B2");
      assert_text (side, "nickname", "C1");
    }
  g_assert_true (lia_item_equal (merged, host));
}

static void
test_disjoint (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = jeff_smith ();
  g_autoptr (LiaItem) crm = jeff_smith ();
  g_autoptr (LiaMergeResult) result = NULL;
  guint n = 0;

  g_test_summary ("R-MERGE-DISJOINT: one person renames Jeff to John, another changes Smith to Rodman: the "
                  "result on both sides is John Rodman, whichever change is newer, with no conflict.");
  conf_set_text (host, "given-name", "John");
  conf_set_text (crm, "family-name", "Rodman");
  for (guint newer = 0; newer < 2; newer++)
    {
      g_autoptr (LiaItem) h = lia_item_copy (host);
      g_autoptr (LiaItem) c = lia_item_copy (crm);
      g_clear_pointer (&result, lia_merge_result_free);
      result = conf_merge (policy, original, h, c, newer ? CONF_NOW : CONF_NOW - CONF_DAY,
                           newer ? CONF_NOW - CONF_DAY : CONF_NOW);
      lia_merge_result_get_conflicts (result, &n);
      g_assert_cmpuint (n, ==, 0);
      conf_apply (result, h, c);
      assert_text (h, "given-name", "John");
      assert_text (h, "family-name", "Rodman");
      g_assert_true (lia_item_equal (h, c));
    }
}

static void
test_direction (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaMergeResult) wrong_side = NULL;
  g_autoptr (LiaMergeResult) owner_side = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-MERGE-DIRECTION: the admin makes the nickname host-to-CRM; a CRM edit of it is never "
      "written to the host, and the next host change of it overwrites CRM. Fixed fields keep their "
      "direction.");
  g_assert_true (lia_field_policy_set_direction (policy, "nickname", LIA_DIRECTION_TO_CRM, NULL));
  g_assert_false (lia_field_policy_set_direction (policy, "full-name", LIA_DIRECTION_TO_CRM, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  conf_set_text (original, "nickname", "JJ");
  host = lia_item_copy (original);
  crm = lia_item_copy (original);
  conf_set_text (crm, "nickname", "Jeffrey");
  wrong_side = conf_merge (policy, original, host, crm, CONF_NOW - CONF_DAY, CONF_NOW);
  g_assert_null (conf_find_write (wrong_side, LIA_SIDE_HOST, "nickname"));
  g_assert_false (lia_merge_result_has_writes (wrong_side));

  conf_set_text (host, "nickname", "Jeff the Buyer");
  owner_side = conf_merge (policy, lia_merge_result_get_original (wrong_side), host, crm,
                           CONF_NOW - CONF_HOUR, CONF_NOW);
  g_assert_cmpstr (lia_value_get_text (conf_find_write (owner_side, LIA_SIDE_CRM, "nickname")->value), ==,
                   "Jeff the Buyer");
  g_assert_null (conf_find_write (owner_side, LIA_SIDE_HOST, "nickname"));
}

static void
test_fls (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = jeff_smith ();
  g_autoptr (LiaItem) host = jeff_smith ();
  g_autoptr (LiaItem) crm = jeff_smith ();
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary ("R-MERGE-FLS: a field the user cannot read is not synced to the host; a field the user can "
                  "read but not update is not sent to CRM.");
  g_assert_true (lia_field_policy_set_access (policy, "government-id", FALSE, FALSE, NULL));
  g_assert_true (lia_field_policy_set_access (policy, "anniversary", TRUE, FALSE, NULL));
  conf_set_text (crm, "government-id", "123-45-6789");
  {
    g_autoptr (LiaValue) date = lia_value_new_date (2010, 6, 12);
    g_assert_true (lia_item_set (host, "anniversary", date, NULL));
  }
  result = conf_merge (policy, original, host, crm, CONF_NOW, CONF_NOW - CONF_DAY);
  g_assert_null (conf_find_write (result, LIA_SIDE_HOST, "government-id"));
  g_assert_null (conf_find_write (result, LIA_SIDE_CRM, "anniversary"));
  g_assert_false (lia_merge_result_has_writes (result));
}

static void
test_original (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = jeff_smith ();
  g_autoptr (LiaItem) crm = jeff_smith ();
  g_autoptr (LiaItem) corrupt = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaMergeResult) result = NULL;
  g_autoptr (LiaMergeResult) next = NULL;

  g_test_summary (
      "R-MERGE-ORIGINAL: with the original missing or corrupt, every field counts as changed on the "
      "host and differing fields are settled newer-wins, field by field, without failing; the new "
      "original is the merged state and the next merge finds nothing to do.");
  /* Without an original, both fields are simply different on the two
   * sides; CRM changed later, so CRM's values win. */
  conf_set_text (host, "job-title", "Buyer");
  conf_set_text (crm, "job-title", "Accountant");
  conf_set_text (crm, "department", "Finance");
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr (LiaItem) h = lia_item_copy (host);
      g_autoptr (LiaItem) c = lia_item_copy (crm);
      g_clear_pointer (&result, lia_merge_result_free);
      g_clear_pointer (&next, lia_merge_result_free);
      result = conf_merge (policy, round == 0 ? NULL : corrupt, h, c, CONF_NOW - CONF_DAY, CONF_NOW);
      g_assert_true (lia_merge_result_get_original_was_missing (result));
      /* CRM is newer: it wins both differing fields. */
      g_assert_cmpstr (lia_value_get_text (conf_find_write (result, LIA_SIDE_HOST, "job-title")->value), ==,
                       "Accountant");
      g_assert_cmpstr (lia_value_get_text (conf_find_write (result, LIA_SIDE_HOST, "department")->value), ==,
                       "Finance");
      g_assert_cmpuint (conf_n_writes (result, LIA_SIDE_CRM), ==, 0);
      conf_apply (result, h, c);
      g_assert_true (lia_item_equal (h, lia_merge_result_get_original (result)));
      next = conf_merge (policy, lia_merge_result_get_original (result), h, c, CONF_NOW, CONF_NOW);
      g_assert_false (lia_merge_result_has_writes (next));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules/R-MERGE-FIELDS/one-side-copied", test_fields);
  g_test_add_func ("/rules/R-MERGE-NEWER-WINS/newer-and-tie", test_newer_wins);
  g_test_add_func ("/rules/R-MERGE-ORDER/worked-example", test_order);
  g_test_add_func ("/rules/R-MERGE-DISJOINT/john-rodman", test_disjoint);
  g_test_add_func ("/rules/R-MERGE-DIRECTION/one-way-wrong-side", test_direction);
  g_test_add_func ("/rules/R-MERGE-FLS/read-and-update", test_fls);
  g_test_add_func ("/rules/R-MERGE-ORIGINAL/missing-or-corrupt", test_original);
  return g_test_run ();
}
