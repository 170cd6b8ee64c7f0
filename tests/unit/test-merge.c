/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <liaison/liaison.h>

#include "random-items.h"

#define T(hours) (RANDOM_ITEMS_T0 + (gint64) (hours) *G_GINT64_CONSTANT (3600000000))

static LiaItem *
contact (const char *given, const char *family)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_CONTACT);

  g_assert_true (lia_item_set_text (item, "given-name", given, NULL));
  g_assert_true (lia_item_set_text (item, "family-name", family, NULL));
  return item;
}

static void
set_text (LiaItem *item, const char *field, const char *text)
{
  g_assert_true (lia_item_set_text (item, field, text, NULL));
}

/* The write of @field in @writes, or NULL; *out_found tells absent-write
 * (clear) from no write. */
static const LiaFieldWrite *
find_write (const LiaFieldWrite *writes, guint n, const char *field)
{
  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (writes[i].field->name, field))
        return &writes[i];
    }
  return NULL;
}

static const LiaFieldWrite *
host_write (const LiaMergeResult *result, const char *field)
{
  guint n = 0;
  const LiaFieldWrite *writes = lia_merge_result_get_host_writes (result, &n);

  return find_write (writes, n, field);
}

static const LiaFieldWrite *
crm_write (const LiaMergeResult *result, const char *field)
{
  guint n = 0;
  const LiaFieldWrite *writes = lia_merge_result_get_crm_writes (result, &n);

  return find_write (writes, n, field);
}

static guint
n_host_writes (const LiaMergeResult *result)
{
  guint n = 0;

  lia_merge_result_get_host_writes (result, &n);
  return n;
}

static guint
n_crm_writes (const LiaMergeResult *result)
{
  guint n = 0;

  lia_merge_result_get_crm_writes (result, &n);
  return n;
}

static guint
n_conflicts (const LiaMergeResult *result)
{
  guint n = 0;

  lia_merge_result_get_conflicts (result, &n);
  return n;
}

static void
assert_write_text (const LiaFieldWrite *write, const char *text)
{
  g_assert_nonnull (write);
  g_assert_nonnull (write->value);
  g_assert_cmpstr (lia_value_get_text (write->value), ==, text);
}

static LiaMergeResult *
merge (const LiaFieldPolicy *policy, const LiaItem *original, const LiaItem *host, const LiaItem *crm,
       gint64 host_time, gint64 crm_time)
{
  g_autoptr (GError) error = NULL;
  LiaMergeResult *result = lia_merge_items (policy, original, host, crm, host_time, crm_time, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static void
test_one_side_copies (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary (
      "A field changed on one side only is written to the other side, and the original takes it.");
  set_text (host, "job-title", "Buyer");
  set_text (crm, "business-phone", "+1 555 0100");
  result = merge (policy, original, host, crm, T (1), T (2));
  assert_write_text (crm_write (result, "job-title"), "Buyer");
  assert_write_text (host_write (result, "business-phone"), "+1 555 0100");
  g_assert_cmpuint (n_host_writes (result), ==, 1);
  g_assert_cmpuint (n_crm_writes (result), ==, 1);
  g_assert_cmpuint (n_conflicts (result), ==, 0);
  g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (result), "job-title"), ==, "Buyer");
  g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (result), "business-phone"), ==,
                   "+1 555 0100");
  g_assert_false (lia_merge_result_get_original_was_missing (result));
}

static void
test_clearing_is_a_change (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;
  const LiaFieldWrite *write;

  g_test_summary ("Clearing a field on the host is a change: CRM gets a clearing write (value NULL).");
  set_text (original, "nickname", "JJ");
  set_text (crm, "nickname", "JJ");
  result = merge (policy, original, host, crm, T (1), T (0));
  write = crm_write (result, "nickname");
  g_assert_nonnull (write);
  g_assert_null (write->value);
  g_assert_null (lia_item_get (lia_merge_result_get_original (result), "nickname"));
}

static void
test_same_change_both_sides (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("John", "Smith");
  g_autoptr (LiaItem) crm = contact ("John", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary ("Both sides making the same change is no conflict and needs no write.");
  result = merge (policy, original, host, crm, T (1), T (2));
  g_assert_false (lia_merge_result_has_writes (result));
  g_assert_cmpuint (n_conflicts (result), ==, 0);
  g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (result), "given-name"), ==, "John");
}

static void
check_newer_wins (gint64 host_time, gint64 crm_time, LiaSide winner, LiaConflictReason reason)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("John", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jon", "Smith");
  g_autoptr (LiaMergeResult) result = merge (policy, original, host, crm, host_time, crm_time);
  guint n = 0;
  const LiaConflict *conflicts = lia_merge_result_get_conflicts (result, &n);
  const char *kept = winner == LIA_SIDE_HOST ? "John" : "Jon";

  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (conflicts[0].field->name, ==, "given-name");
  g_assert_cmpstr (lia_value_get_text (conflicts[0].host_value), ==, "John");
  g_assert_cmpstr (lia_value_get_text (conflicts[0].crm_value), ==, "Jon");
  g_assert_cmpint (conflicts[0].winner, ==, winner);
  g_assert_cmpint (conflicts[0].reason, ==, reason);
  if (winner == LIA_SIDE_HOST)
    {
      assert_write_text (crm_write (result, "given-name"), kept);
      g_assert_cmpuint (n_host_writes (result), ==, 0);
    }
  else
    {
      assert_write_text (host_write (result, "given-name"), kept);
      g_assert_cmpuint (n_crm_writes (result), ==, 0);
    }
  g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (result), "given-name"), ==, kept);
}

static void
test_newer_wins (void)
{
  g_test_summary ("A field both sides changed differently goes to the newer change; a tie goes to CRM.");
  check_newer_wins (T (2), T (1), LIA_SIDE_HOST, LIA_CONFLICT_HOST_NEWER);
  check_newer_wins (T (1), T (2), LIA_SIDE_CRM, LIA_CONFLICT_CRM_NEWER);
  check_newer_wins (T (1), T (1), LIA_SIDE_CRM, LIA_CONFLICT_TIE);
  /* One microsecond decides. */
  check_newer_wins (T (1) + 1, T (1), LIA_SIDE_HOST, LIA_CONFLICT_HOST_NEWER);
}

static void
test_order_steps (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;
  g_autoptr (LiaMergeResult) again = NULL;
  const LiaItem *step1;
  guint n = 0;
  const LiaFieldWrite *writes;

  g_test_summary (
      "The intermediate original after the host writes keeps the old value of fields still owed to "
      "CRM, so a sync interrupted between the two steps redoes exactly the second step.");
  set_text (host, "job-title", "Buyer"); /* host only: owed to CRM */
  set_text (crm, "department", "Sales"); /* CRM only: written to the host */
  result = merge (policy, original, host, crm, T (1), T (2));
  step1 = lia_merge_result_get_original_after_host (result);
  g_assert_nonnull (step1);
  g_assert_null (lia_item_get (step1, "job-title"));
  g_assert_cmpstr (lia_item_get_text (step1, "department"), ==, "Sales");

  /* Crash after step 1: the host has the CRM writes and step 1's original. */
  writes = lia_merge_result_get_host_writes (result, &n);
  g_assert_true (lia_merge_apply_writes (host, writes, n, NULL));
  again = merge (policy, step1, host, crm, T (3), T (2));
  g_assert_cmpuint (n_host_writes (again), ==, 0);
  g_assert_cmpuint (n_crm_writes (again), ==, 1);
  assert_write_text (crm_write (again, "job-title"), "Buyer");
  g_assert_true (
      lia_item_equal (lia_merge_result_get_original (again), lia_merge_result_get_original (result)));
}

static void
test_original_missing (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = contact ("John", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Rodman");
  g_autoptr (LiaItem) wrong_entity = lia_item_new (LIA_ENTITY_TASK);

  g_test_summary ("Without an original (missing, or an original of another entity), every differing field "
                  "is settled newer-wins, and the result is never a failure.");
  set_text (host, "notes", "same");
  set_text (crm, "notes", "same");
  for (guint round = 0; round < 2; round++)
    {
      const LiaItem *original = round == 0 ? NULL : wrong_entity;
      g_autoptr (LiaMergeResult) host_newer = merge (policy, original, host, crm, T (2), T (1));
      g_autoptr (LiaMergeResult) crm_newer = merge (policy, original, host, crm, T (1), T (2));

      g_assert_true (lia_merge_result_get_original_was_missing (host_newer));
      g_assert_null (lia_merge_result_get_original_after_host (host_newer));
      g_assert_cmpuint (n_conflicts (host_newer), ==, 2);
      assert_write_text (crm_write (host_newer, "given-name"), "John");
      assert_write_text (crm_write (host_newer, "family-name"), "Smith");
      g_assert_cmpuint (n_host_writes (host_newer), ==, 0);
      assert_write_text (host_write (crm_newer, "given-name"), "Jeff");
      assert_write_text (host_write (crm_newer, "family-name"), "Rodman");
      g_assert_cmpuint (n_crm_writes (crm_newer), ==, 0);
      g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (crm_newer), "notes"), ==, "same");
    }
}

static void
test_missing_original_keeps_unreadable (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary ("A lost original does not clear a CRM field the user cannot read: the host, which never "
                  "had its value, sends nothing for it.");
  g_assert_true (lia_field_policy_set_access (policy, "government-id", FALSE, TRUE, NULL));
  result = merge (policy, NULL, host, crm, T (5), T (1));
  g_assert_null (crm_write (result, "government-id"));
  g_assert_false (lia_merge_result_has_writes (result));
}

static void
test_instants_not_strings (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) original = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) host = NULL;
  g_autoptr (LiaItem) crm = NULL;
  g_autoptr (LiaValue) utc = lia_value_new_datetime (T (0), NULL);
  g_autoptr (LiaValue) berlin = lia_value_new_datetime (T (0), "Europe/Berlin");
  g_autoptr (LiaValue) later = lia_value_new_datetime (T (1), "America/New_York");
  g_autoptr (LiaMergeResult) same = NULL;
  g_autoptr (LiaMergeResult) moved = NULL;

  g_test_summary ("The same instant in another time zone is no change; a different instant is one.");
  g_assert_true (lia_item_set (original, "start", utc, NULL));
  host = lia_item_copy (original);
  crm = lia_item_copy (original);
  g_assert_true (lia_item_set (host, "start", berlin, NULL));
  same = merge (policy, original, host, crm, T (9), T (1));
  g_assert_false (lia_merge_result_has_writes (same));

  g_assert_true (lia_item_set (host, "start", later, NULL));
  moved = merge (policy, original, host, crm, T (9), T (1));
  g_assert_nonnull (crm_write (moved, "start"));
  g_assert_cmpint (lia_value_get_instant (crm_write (moved, "start")->value), ==, T (1));
}

static void
test_wrong_side_edit (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) ignored = NULL;
  g_autoptr (LiaMergeResult) overwritten = NULL;
  guint n = 0;
  const LiaConflict *conflicts;

  g_test_summary (
      "A CRM-to-host field edited on the host is not sent and stays until CRM changes that field, "
      "which then overwrites it even if the host edit is newer.");
  g_assert_true (lia_field_policy_set_direction (policy, "job-title", LIA_DIRECTION_TO_HOST, NULL));
  set_text (original, "job-title", "Buyer");
  set_text (crm, "job-title", "Buyer");
  set_text (host, "job-title", "Chief Buyer");
  ignored = merge (policy, original, host, crm, T (2), T (1));
  g_assert_false (lia_merge_result_has_writes (ignored));
  g_assert_cmpstr (lia_item_get_text (lia_merge_result_get_original (ignored), "job-title"), ==, "Buyer");

  set_text (crm, "job-title", "Head of Purchasing");
  overwritten = merge (policy, original, host, crm, T (5), T (1));
  assert_write_text (host_write (overwritten, "job-title"), "Head of Purchasing");
  g_assert_cmpuint (n_crm_writes (overwritten), ==, 0);
  conflicts = lia_merge_result_get_conflicts (overwritten, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (conflicts[0].winner, ==, LIA_SIDE_CRM);
  g_assert_cmpint (conflicts[0].reason, ==, LIA_CONFLICT_HOST_MAY_NOT_SEND);
}

static void
test_read_not_update (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) kept_local = NULL;
  g_autoptr (LiaMergeResult) crm_wins = NULL;
  guint n = 0;
  const LiaConflict *conflicts;

  g_test_summary ("A field the user may read but not update: host edits never reach CRM, CRM changes reach "
                  "the host, and a host edit loses to a CRM change whatever the times.");
  g_assert_true (lia_field_policy_set_access (policy, "business-phone", TRUE, FALSE, NULL));
  set_text (original, "business-phone", "100");
  set_text (crm, "business-phone", "100");
  set_text (host, "business-phone", "200");
  kept_local = merge (policy, original, host, crm, T (2), T (1));
  g_assert_false (lia_merge_result_has_writes (kept_local));

  set_text (crm, "business-phone", "300");
  crm_wins = merge (policy, original, host, crm, T (9), T (1));
  assert_write_text (host_write (crm_wins, "business-phone"), "300");
  g_assert_null (crm_write (crm_wins, "business-phone"));
  conflicts = lia_merge_result_get_conflicts (crm_wins, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (conflicts[0].reason, ==, LIA_CONFLICT_NOT_UPDATABLE);
}

static void
test_unreadable (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Smith");
  g_autoptr (LiaMergeResult) result = NULL;

  g_test_summary ("A field the user cannot read is never written to the host, and its CRM value is not a "
                  "change; a host edit of it still reaches CRM when the user may update it.");
  g_assert_true (lia_field_policy_set_access (policy, "spouse", FALSE, TRUE, NULL));
  set_text (crm, "spouse", "Mary");
  set_text (host, "children", "Tom");
  result = merge (policy, original, host, crm, T (1), T (2));
  g_assert_null (host_write (result, "spouse"));
  g_assert_null (lia_item_get (lia_merge_result_get_original (result), "spouse"));

  set_text (host, "spouse", "Anne");
  g_clear_pointer (&result, lia_merge_result_free);
  result = merge (policy, original, host, crm, T (1), T (2));
  assert_write_text (crm_write (result, "spouse"), "Anne");
  g_assert_null (host_write (result, "spouse"));
}

static void
test_entity_mismatch (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) crm = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (GError) error = NULL;
  LiaMergeResult *result;

  g_test_summary ("Merging a host item with a CRM record of another entity is refused with INVALID.");
  result = lia_merge_items (policy, NULL, host, crm, 0, 0, &error);
  g_assert_null (result);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

static void
test_apply_writes_checked (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("John", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jeff", "Rodman");
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaMergeResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const LiaFieldWrite *writes;
  guint n = 0;

  g_test_summary ("Writes apply to an item of their entity and are refused whole, leaving the item as it "
                  "was, on another entity.");
  result = merge (policy, original, host, crm, T (1), T (2));
  writes = lia_merge_result_get_crm_writes (result, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_false (lia_merge_apply_writes (task, writes, n, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_cmpuint (lia_item_count_present (task), ==, 0);
  g_assert_true (lia_merge_apply_writes (crm, writes, n, NULL));
  g_assert_cmpstr (lia_item_get_text (crm, "given-name"), ==, "John");
}

static void
test_dup_created (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) host = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) created = NULL;

  g_test_summary ("A counterpart created on the other side copies only the fields that may travel there.");
  set_text (host, "spouse", "Mary");
  g_assert_true (lia_field_policy_set_access (policy, "spouse", TRUE, FALSE, NULL));
  created = lia_merge_dup_created (policy, host, LIA_SIDE_CRM);
  g_assert_cmpstr (lia_item_get_text (created, "given-name"), ==, "Jeff");
  g_assert_null (lia_item_get (created, "spouse"));
  g_clear_pointer (&created, lia_item_free);
  created = lia_merge_dup_created (policy, host, LIA_SIDE_HOST);
  g_assert_cmpstr (lia_item_get_text (created, "spouse"), ==, "Mary");
}

static void
test_conflict_display (void)
{
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) original = contact ("Jeff", "Smith");
  g_autoptr (LiaItem) host = contact ("John", "Smith");
  g_autoptr (LiaItem) crm = contact ("Jon", "Smith");
  g_autoptr (LiaMergeResult) result = merge (policy, original, host, crm, T (1), T (1));
  g_autofree char *line = NULL;
  guint n = 0;
  const LiaConflict *conflicts = lia_merge_result_get_conflicts (result, &n);

  g_test_summary (
      "A conflict renders as one journal line naming the field, both values, the winner and why.");
  g_assert_cmpuint (n, ==, 1);
  line = lia_conflict_to_display (&conflicts[0]);
  g_assert_nonnull (strstr (line, "Given name"));
  g_assert_nonnull (strstr (line, "\"John\""));
  g_assert_nonnull (strstr (line, "\"Jon\""));
  g_assert_nonnull (strstr (line, "CRM kept"));
  g_assert_nonnull (strstr (line, "R-MERGE-NEWER-WINS"));
  g_assert_null (strchr (line, '\n'));
  for (guint r = 0; r < LIA_CONFLICT_N; r++)
    g_assert_nonnull (strstr (lia_conflict_reason_to_string ((LiaConflictReason) r), "R-MERGE-"));
  g_assert_cmpstr (lia_conflict_reason_to_string (LIA_CONFLICT_N), ==, "?");
  g_assert_cmpstr (lia_side_to_string (LIA_SIDE_HOST), ==, "host");
}

/* Property test. */

#define PROPERTY_ROUNDS 10000

/* Fails the case with the seed and round in the message, so the failure can
 * be replayed. */
#define PROPERTY_FAIL(...)            \
  G_STMT_START                        \
  {                                   \
    g_test_fail_printf (__VA_ARGS__); \
    return;                           \
  }                                   \
  G_STMT_END

static gboolean
writes_equal (const LiaFieldWrite *a, guint na, const LiaFieldWrite *b, guint nb)
{
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    {
      if (a[i].index != b[i].index || !lia_value_identical (a[i].value, b[i].value))
        return FALSE;
    }
  return TRUE;
}

static gboolean
results_equal (const LiaMergeResult *a, const LiaMergeResult *b)
{
  guint na = 0, nb = 0;
  const LiaFieldWrite *wa, *wb;
  const LiaConflict *ca, *cb;

  wa = lia_merge_result_get_host_writes (a, &na);
  wb = lia_merge_result_get_host_writes (b, &nb);
  if (!writes_equal (wa, na, wb, nb))
    return FALSE;
  wa = lia_merge_result_get_crm_writes (a, &na);
  wb = lia_merge_result_get_crm_writes (b, &nb);
  if (!writes_equal (wa, na, wb, nb))
    return FALSE;
  ca = lia_merge_result_get_conflicts (a, &na);
  cb = lia_merge_result_get_conflicts (b, &nb);
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    {
      if (ca[i].index != cb[i].index || ca[i].winner != cb[i].winner || ca[i].reason != cb[i].reason)
        return FALSE;
    }
  return lia_item_identical (lia_merge_result_get_original (a), lia_merge_result_get_original (b))
         && lia_item_identical (lia_merge_result_get_original_after_host (a),
                                lia_merge_result_get_original_after_host (b));
}

static guint32
property_seed (void)
{
  const char *env = g_getenv ("LIA_MERGE_SEED");
  guint64 seed = 20260301;

  if (env != NULL && !g_ascii_string_to_unsigned (env, 10, 0, G_MAXUINT32, &seed, NULL))
    g_test_message ("LIA_MERGE_SEED=%s is not a number; using %" G_GUINT64_FORMAT, env, seed);
  return (guint32) seed;
}

static void
test_property (gconstpointer data)
{
  LiaEntity entity = (LiaEntity) GPOINTER_TO_INT (data);
  guint32 seed = property_seed () + (guint32) entity;
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  const LiaFieldInfo *fields;
  guint n_fields = 0;

  g_test_summary ("For 10,000 random (original, host, CRM) triples and policies the merge is deterministic, "
                  "never writes against a direction or the user's access, converges two-way fields, and a "
                  "second merge with no new edit changes nothing. Reproduce with LIA_MERGE_SEED.");
  g_test_message ("seed %u (entity %s); rerun with LIA_MERGE_SEED=%u", seed, lia_entity_to_string (entity),
                  property_seed ());
  fields = lia_field_list (entity, &n_fields);
  for (guint round = 0; round < PROPERTY_ROUNDS; round++)
    {
      g_autoptr (LiaFieldPolicy) policy = random_policy (rand, entity);
      g_autoptr (LiaItem) original = random_item (rand, entity);
      g_autoptr (LiaItem) host = random_variant (rand, original, 0.3);
      g_autoptr (LiaItem) crm = random_variant (rand, original, 0.3);
      gboolean lose_original = g_rand_int_range (rand, 0, 10) == 0;
      gint64 host_time = T (g_rand_int_range (rand, 0, 3));
      gint64 crm_time = T (g_rand_int_range (rand, 0, 3));
      g_autoptr (LiaMergeResult) result = NULL;
      g_autoptr (LiaMergeResult) repeat = NULL;
      g_autoptr (LiaMergeResult) second = NULL;
      g_autoptr (LiaItem) host2 = NULL;
      g_autoptr (LiaItem) crm2 = NULL;
      const LiaFieldWrite *writes;
      guint n = 0;

      result = merge (policy, lose_original ? NULL : original, host, crm, host_time, crm_time);
      repeat = merge (policy, lose_original ? NULL : original, host, crm, host_time, crm_time);
      if (!results_equal (result, repeat))
        PROPERTY_FAIL ("seed %u round %u: two merges of the same input differ", seed, round);

      host2 = lia_item_copy (host);
      writes = lia_merge_result_get_host_writes (result, &n);
      for (guint i = 0; i < n; i++)
        {
          if (!lia_field_policy_may_write_host (policy, writes[i].index)
              || !lia_field_policy_can_read (policy, writes[i].field->name))
            PROPERTY_FAIL ("seed %u round %u: \"%s\" written to the host against its direction or access",
                           seed, round, writes[i].field->name);
        }
      g_assert_true (lia_merge_apply_writes (host2, writes, n, NULL));

      crm2 = lia_item_copy (crm);
      writes = lia_merge_result_get_crm_writes (result, &n);
      for (guint i = 0; i < n; i++)
        {
          if (!lia_field_policy_may_write_crm (policy, writes[i].index)
              || !lia_field_policy_can_update (policy, writes[i].field->name))
            PROPERTY_FAIL ("seed %u round %u: \"%s\" written to CRM against its direction or access", seed,
                           round, writes[i].field->name);
        }
      g_assert_true (lia_merge_apply_writes (crm2, writes, n, NULL));

      for (guint i = 0; i < n_fields; i++)
        {
          if (lia_field_policy_may_write_host (policy, i) && lia_field_policy_may_write_crm (policy, i)
              && !lia_value_equal (lia_item_get_at (host2, i), lia_item_get_at (crm2, i)))
            PROPERTY_FAIL ("seed %u round %u: two-way field \"%s\" did not converge", seed, round,
                           fields[i].name);
        }

      second = merge (policy, lia_merge_result_get_original (result), host2, crm2, host_time, crm_time);
      if (lia_merge_result_has_writes (second) || n_conflicts (second) > 0
          || !lia_item_identical (lia_merge_result_get_original (second),
                                  lia_merge_result_get_original (result)))
        PROPERTY_FAIL ("seed %u round %u: merging the result again changed something", seed, round);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/merge/one-side-copies", test_one_side_copies);
  g_test_add_func ("/merge/clearing-is-a-change", test_clearing_is_a_change);
  g_test_add_func ("/merge/same-change-both-sides", test_same_change_both_sides);
  g_test_add_func ("/merge/newer-wins", test_newer_wins);
  g_test_add_func ("/merge/order/interrupted-between-steps", test_order_steps);
  g_test_add_func ("/merge/original/missing-or-corrupt", test_original_missing);
  g_test_add_func ("/merge/original/missing-keeps-unreadable", test_missing_original_keeps_unreadable);
  g_test_add_func ("/merge/time-zones-compare-instants", test_instants_not_strings);
  g_test_add_func ("/merge/direction/wrong-side-edit", test_wrong_side_edit);
  g_test_add_func ("/merge/fls/read-not-update", test_read_not_update);
  g_test_add_func ("/merge/fls/unreadable", test_unreadable);
  g_test_add_func ("/merge/entity-mismatch", test_entity_mismatch);
  g_test_add_func ("/merge/apply-writes-checked", test_apply_writes_checked);
  g_test_add_func ("/merge/dup-created", test_dup_created);
  g_test_add_func ("/merge/conflict-display", test_conflict_display);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autofree char *path = NULL;
      if (!lia_entity_is_host_mapped ((LiaEntity) e))
        continue;
      path = g_strdup_printf ("/merge/property/%s", lia_entity_to_string ((LiaEntity) e));
      g_test_add_data_func (path, GINT_TO_POINTER (e), test_property);
    }
  return g_test_run ();
}
