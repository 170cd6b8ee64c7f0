/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

static void
test_text (void)
{
  g_autoptr (LiaValue) empty = lia_value_new_text ("");
  g_autoptr (LiaValue) accents = lia_value_new_text ("Zoë Ångström – 東京");
  g_autoptr (LiaValue) partial = lia_value_new_text_len ("abcdef", 3);

  g_test_summary ("Text keeps its UTF-8 bytes; empty text is a value; invalid UTF-8 and NUL are refused.");
  g_assert_cmpstr (lia_value_get_text (empty), ==, "");
  g_assert_cmpint (lia_value_get_kind (empty), ==, LIA_VALUE_TEXT);
  g_assert_cmpstr (lia_value_get_text (accents), ==, "Zoë Ångström – 東京");
  g_assert_cmpstr (lia_value_get_text (partial), ==, "abc");
  g_assert_null (lia_value_new_text ("bad \xff byte"));
  g_assert_null (lia_value_new_text_len ("a\0b", 3));
  g_assert_false (lia_value_equal (empty, NULL));
  g_assert_true (lia_value_equal (NULL, NULL));
}

static void
test_datetime_instants (void)
{
  /* 2025-03-01 09:00 in Paris is 08:00 UTC. */
  gint64 instant = G_GINT64_CONSTANT (1740816000) * G_USEC_PER_SEC;
  g_autoptr (LiaValue) paris = lia_value_new_datetime (instant, "Europe/Paris");
  g_autoptr (LiaValue) utc = lia_value_new_datetime (instant, NULL);
  g_autoptr (LiaValue) empty_zone = lia_value_new_datetime (instant, "");
  g_autoptr (LiaValue) later = lia_value_new_datetime (instant + 1, "Europe/Paris");

  g_test_summary ("Date-times compare by instant; identical also compares the zone.");
  g_assert_true (lia_value_equal (paris, utc));
  g_assert_false (lia_value_identical (paris, utc));
  g_assert_true (lia_value_identical (utc, empty_zone));
  g_assert_null (lia_value_get_tzid (utc));
  g_assert_cmpstr (lia_value_get_tzid (paris), ==, "Europe/Paris");
  g_assert_false (lia_value_equal (paris, later));
  {
    /* Zone names are copied, not interned: equal names from two buffers
     * are identical, and the value does not keep the caller's buffer. */
    g_autofree char *zone = g_strdup ("Europe/Paris");
    g_autoptr (LiaValue) copy = lia_value_new_datetime (instant, zone);
    g_assert_true (lia_value_get_tzid (copy) != zone);
    g_assert_true (lia_value_identical (paris, copy));
  }
  g_assert_cmpint (lia_value_get_instant (later), ==, instant + 1);
}

static void
test_dates (void)
{
  g_autoptr (LiaValue) leap = lia_value_new_date (2024, 2, 29);
  g_autoptr (LiaValue) first = lia_value_new_date (1, 1, 1);
  guint y = 0, m = 0, d = 0;

  g_test_summary ("Dates hold real calendar days only, from year 1 to 9999.");
  g_assert_nonnull (leap);
  lia_value_get_date (leap, &y, &m, &d);
  g_assert_cmpuint (y, ==, 2024);
  g_assert_cmpuint (m, ==, 2);
  g_assert_cmpuint (d, ==, 29);
  g_assert_nonnull (first);
  g_assert_null (lia_value_new_date (2023, 2, 29));
  g_assert_null (lia_value_new_date (2024, 13, 1));
  g_assert_null (lia_value_new_date (2024, 0, 1));
  g_assert_null (lia_value_new_date (0, 1, 1));
  g_assert_null (lia_value_new_date (10000, 1, 1));
  g_assert_cmpuint (lia_value_get_julian (first), ==, 1);
}

static void
test_scalars (void)
{
  g_autoptr (LiaValue) min = lia_value_new_integer (G_MININT64);
  g_autoptr (LiaValue) max = lia_value_new_integer (G_MAXINT64);
  g_autoptr (LiaValue) yes = lia_value_new_boolean (42);
  g_autoptr (LiaValue) also_yes = lia_value_new_boolean (TRUE);
  g_autoptr (LiaValue) high = lia_value_new_enum ("high");
  g_autoptr (LiaValue) high2 = lia_value_new_enum ("high");

  g_test_summary ("Integers keep the full 64-bit range; booleans normalize; enum symbols are checked.");
  g_assert_cmpint (lia_value_get_integer (min), ==, G_MININT64);
  g_assert_cmpint (lia_value_get_integer (max), ==, G_MAXINT64);
  g_assert_true (lia_value_equal (yes, also_yes));
  g_assert_true (lia_value_get_boolean (yes) == TRUE);
  g_assert_true (lia_value_equal (high, high2));
  g_assert_null (lia_value_new_enum (""));
  g_assert_null (lia_value_new_enum ("out of office"));
  g_assert_null (lia_value_new_enum ("<x>"));
  g_assert_false (lia_value_equal (min, yes));
}

static void
test_reference (void)
{
  g_autoptr (LiaValue) full =
      lia_value_new_reference (LIA_ENTITY_ACCOUNT, "6f1c2a8e-0000-4000-8000-000000000001", "Fabrikam");
  g_autoptr (LiaValue) name_only = lia_value_new_reference (LIA_ENTITY_ACCOUNT, NULL, "Fabrikam");

  g_test_summary ("A reference needs an id or a name and a real entity.");
  g_assert_cmpint (lia_value_get_reference_entity (full), ==, LIA_ENTITY_ACCOUNT);
  g_assert_cmpstr (lia_value_get_reference_name (full), ==, "Fabrikam");
  g_assert_null (lia_value_get_reference_id (name_only));
  g_assert_false (lia_value_equal (full, name_only));
  g_assert_null (lia_value_new_reference (LIA_ENTITY_ACCOUNT, NULL, NULL));
  g_assert_null (lia_value_new_reference (LIA_ENTITY_N, "x", "y"));
  g_assert_null (lia_value_new_reference (LIA_ENTITY_LEAD, NULL, "\xc3"));
}

static void
test_parties (void)
{
  const LiaParty parties[] = {
    { "ann@example.com", "Ann", LIA_ENTITY_CONTACT, "id-1" },
    { "dl-sales@example.com", NULL, LIA_ENTITY_N, NULL },
  };
  g_autoptr (LiaValue) list = lia_value_new_party_list (parties, G_N_ELEMENTS (parties));
  g_autoptr (LiaValue) reversed = NULL;
  g_autoptr (LiaValue) none = lia_value_new_party_list (NULL, 0);
  const LiaParty swapped[] = { parties[1], parties[0] };
  const LiaParty bad[] = { { "x@example.com", NULL, (LiaEntity) 77, NULL } };

  g_test_summary ("Party lists copy their parties, keep their order and may be empty.");
  reversed = lia_value_new_party_list (swapped, 2);
  g_assert_cmpuint (lia_value_get_n_parties (list), ==, 2);
  g_assert_cmpstr (lia_value_get_party (list, 0)->address, ==, "ann@example.com");
  g_assert_true (lia_value_get_party (list, 0)->address != parties[0].address);
  g_assert_cmpint (lia_value_get_party (list, 1)->entity, ==, LIA_ENTITY_N);
  g_assert_false (lia_value_equal (list, reversed));
  g_assert_nonnull (none);
  g_assert_cmpuint (lia_value_get_n_parties (none), ==, 0);
  g_assert_false (lia_value_equal (none, NULL));
  g_assert_null (lia_value_new_party_list (bad, 1));
}

static void
test_recurrence (void)
{
  const gint64 exdates[] = { 100, 200 };
  const gint64 unsorted[] = { 200, 100 };
  LiaRecurrence r = {
    .frequency = LIA_RECUR_WEEKLY, .interval = 2, .by_day = 0x15, .exdates_us = exdates, .n_exdates = 2
  };
  g_autoptr (LiaValue) value = lia_value_new_recurrence (&r);
  const LiaRecurrence *got;
  LiaRecurrence broken;

  g_test_summary ("A recurrence copies its pattern and exdates and refuses out-of-range members.");
  g_assert_nonnull (value);
  got = lia_value_get_recurrence (value);
  g_assert_cmpint (got->frequency, ==, LIA_RECUR_WEEKLY);
  g_assert_cmpuint (got->interval, ==, 2);
  g_assert_true (got->exdates_us != exdates);
  g_assert_cmpint (got->exdates_us[1], ==, 200);

  broken = r;
  broken.interval = 0;
  g_assert_null (lia_value_new_recurrence (&broken));
  broken = r;
  broken.by_day = 0x80;
  g_assert_null (lia_value_new_recurrence (&broken));
  broken = r;
  broken.exdates_us = unsorted;
  g_assert_null (lia_value_new_recurrence (&broken));
  broken = r;
  broken.by_month = 13;
  g_assert_null (lia_value_new_recurrence (&broken));
  broken = r;
  broken.frequency = LIA_RECUR_N;
  g_assert_null (lia_value_new_recurrence (&broken));
}

static void
test_display (void)
{
  g_autoptr (LiaValue) text = lia_value_new_text ("Jeff");
  g_autoptr (LiaValue) when = lia_value_new_datetime (0, "Europe/Paris");
  g_autoptr (LiaValue) day = lia_value_new_date (2026, 11, 21);
  g_autofree char *a = lia_value_to_display (text);
  g_autofree char *b = lia_value_to_display (when);
  g_autofree char *c = lia_value_to_display (day);
  g_autofree char *d = lia_value_to_display (NULL);

  g_test_summary ("Values render as one short line for journals and conflict lists.");
  g_assert_cmpstr (a, ==, "\"Jeff\"");
  g_assert_cmpstr (b, ==, "1970-01-01T00:00:00Z (Europe/Paris)");
  g_assert_cmpstr (c, ==, "2026-11-21");
  g_assert_cmpstr (d, ==, "(absent)");
}

static void
test_kind_names (void)
{
  g_test_summary ("Every value kind has a name that parses back to it.");
  for (guint i = 0; i < LIA_VALUE_N; i++)
    {
      LiaValueKind back = LIA_VALUE_N;
      g_assert_true (lia_value_kind_from_string (lia_value_kind_to_string ((LiaValueKind) i), &back));
      g_assert_cmpint (back, ==, i);
    }
  g_assert_false (lia_value_kind_from_string ("none", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/value/text", test_text);
  g_test_add_func ("/value/datetime/instants", test_datetime_instants);
  g_test_add_func ("/value/date", test_dates);
  g_test_add_func ("/value/scalars", test_scalars);
  g_test_add_func ("/value/reference", test_reference);
  g_test_add_func ("/value/parties", test_parties);
  g_test_add_func ("/value/recurrence", test_recurrence);
  g_test_add_func ("/value/display", test_display);
  g_test_add_func ("/value/kind-names", test_kind_names);
  return g_test_run ();
}
