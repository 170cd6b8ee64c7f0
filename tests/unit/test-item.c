/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

static void
test_new_is_empty (void)
{
  g_test_summary ("A new item has its entity and every field absent.");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaItem) item = lia_item_new ((LiaEntity) e);
      guint n = 0;
      lia_field_list ((LiaEntity) e, &n);
      g_assert_cmpint (lia_item_get_entity (item), ==, e);
      g_assert_cmpuint (lia_item_count_present (item), ==, 0);
      for (guint i = 0; i < n; i++)
        g_assert_null (lia_item_get_at (item, i));
    }
}

static void
test_set_get (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaValue) birthday = lia_value_new_date (1980, 5, 17);
  g_autoptr (GError) error = NULL;

  g_test_summary ("Fields are set by name, read back, and unset with NULL; empty text is not absent.");
  g_assert_true (lia_item_set_text (item, "given-name", "Jeff", &error));
  g_assert_no_error (error);
  g_assert_true (lia_item_set_text (item, "nickname", "", &error));
  g_assert_true (lia_item_set (item, "birthday", birthday, &error));
  g_assert_cmpstr (lia_item_get_text (item, "given-name"), ==, "Jeff");
  g_assert_cmpstr (lia_item_get_text (item, "nickname"), ==, "");
  g_assert_null (lia_item_get_text (item, "family-name"));
  g_assert_null (lia_item_get_text (item, "birthday"));
  g_assert_true (lia_item_get (item, "birthday") == birthday);
  g_assert_cmpuint (lia_item_count_present (item), ==, 3);
  g_assert_true (lia_item_set_text (item, "nickname", NULL, &error));
  g_assert_cmpuint (lia_item_count_present (item), ==, 2);
  g_assert_true (
      lia_item_set_at (item, (guint) lia_field_index (LIA_ENTITY_CONTACT, "given-name"), NULL, &error));
  g_assert_null (lia_item_get (item, "given-name"));
}

static void
test_refuses_bad_input (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaValue) number = lia_value_new_integer (5);
  g_autoptr (LiaValue) bogus_status = lia_value_new_enum ("done-ish");
  g_autoptr (GError) error = NULL;
  guint n = 0;

  g_test_summary ("Unknown fields, wrong kinds, foreign enum symbols and invalid UTF-8 are refused; the item "
                  "is unchanged.");
  lia_field_list (LIA_ENTITY_TASK, &n);
  g_assert_true (lia_item_set_text (item, "subject", "Call back", NULL));

  g_assert_false (lia_item_set (item, "x-user-defined", number, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_item_set (item, NULL, number, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_item_set (item, "subject", number, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_item_set (item, "status", bogus_status, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_item_set_text (item, "subject", "bad \xfe", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_item_set_at (item, n, number, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_cmpstr (lia_item_get_text (item, "subject"), ==, "Call back");
  g_assert_cmpuint (lia_item_count_present (item), ==, 1);
  g_assert_null (lia_item_get (item, "x-user-defined"));
}

static void
test_copy_and_equality (void)
{
  g_autoptr (LiaItem) a = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) b = NULL;
  g_autoptr (LiaItem) contact = lia_item_new (LIA_ENTITY_CONTACT);
  gint64 t = G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC;
  g_autoptr (LiaValue) paris = lia_value_new_datetime (t, "Europe/Paris");
  g_autoptr (LiaValue) utc = lia_value_new_datetime (t, NULL);

  g_test_summary ("A copy is equal and independent; equality compares instants, identity also zones.");
  g_assert_true (lia_item_set_text (a, "subject", "Review", NULL));
  g_assert_true (lia_item_set (a, "start", paris, NULL));
  b = lia_item_copy (a);
  g_assert_true (lia_item_identical (a, b));
  g_assert_true (lia_item_set (b, "start", utc, NULL));
  g_assert_true (lia_item_equal (a, b));
  g_assert_false (lia_item_identical (a, b));
  g_assert_true (lia_item_set_text (b, "subject", "Review 2", NULL));
  g_assert_false (lia_item_equal (a, b));
  g_assert_cmpstr (lia_item_get_text (a, "subject"), ==, "Review");
  g_assert_false (lia_item_equal (a, contact));
  g_assert_false (lia_item_equal (a, NULL));
  g_assert_true (lia_item_equal (NULL, NULL));
  lia_item_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/item/new-is-empty", test_new_is_empty);
  g_test_add_func ("/item/set-get", test_set_get);
  g_test_add_func ("/item/refuses-bad-input", test_refuses_bad_input);
  g_test_add_func ("/item/copy-and-equality", test_copy_and_equality);
  return g_test_run ();
}
