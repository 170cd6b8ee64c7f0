/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

static void
test_manual_holds_time (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);

  g_test_summary ("A manual clock stays where it was set and moves only when told.");
  g_assert_true (lia_clock_is_manual (clock));
  g_assert_cmpint (lia_clock_now (clock), ==, G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  g_usleep (2000);
  g_assert_cmpint (lia_clock_now (clock), ==, G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  lia_clock_advance (clock, 1500);
  g_assert_cmpint (lia_clock_now (clock), ==, G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC + 1500);
  lia_clock_set (clock, 42);
  g_assert_cmpint (lia_clock_now (clock), ==, 42);
}

static void
test_manual_monotonic_never_goes_back (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_manual (1000 * G_USEC_PER_SEC);
  gint64 m0 = lia_clock_now_monotonic (clock);
  gint64 m1, m2;

  g_test_summary ("Setting a manual clock back does not move its monotonic time back.");
  lia_clock_advance (clock, 10);
  m1 = lia_clock_now_monotonic (clock);
  g_assert_cmpint (m1, ==, m0 + 10);
  lia_clock_set (clock, 0);
  m2 = lia_clock_now_monotonic (clock);
  g_assert_cmpint (m2, ==, m1);
  lia_clock_advance (clock, -5);
  g_assert_cmpint (lia_clock_now_monotonic (clock), ==, m1);
  g_assert_cmpint (lia_clock_now (clock), ==, -5);
}

static void
test_system_follows_real_time (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_system ();
  gint64 before = g_get_real_time ();
  gint64 now = lia_clock_now (clock);
  gint64 after = g_get_real_time ();

  g_test_summary ("A system clock reads the wall clock.");
  g_assert_false (lia_clock_is_manual (clock));
  g_assert_cmpint (now, >=, before);
  g_assert_cmpint (now, <=, after);
  g_assert_cmpint (lia_clock_now_monotonic (clock), >, 0);
}

static void
test_system_refuses_set (void)
{
  g_test_summary ("Setting a system clock is a programming error that changes nothing.");
  if (g_test_subprocess ())
    {
      g_autoptr (LiaClock) clock = lia_clock_new_system ();
      lia_clock_set (clock, 5);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*manual*");
}

static void
test_datetime (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_manual (G_GINT64_CONSTANT (1735689600123456));
  g_autoptr (GDateTime) dt = lia_clock_dup_now_datetime (clock);

  g_test_summary ("The clock's instant converts to a UTC GDateTime to the microsecond.");
  g_assert_nonnull (dt);
  g_assert_cmpint (g_date_time_get_year (dt), ==, 2025);
  g_assert_cmpint (g_date_time_get_month (dt), ==, 1);
  g_assert_cmpint (g_date_time_get_day_of_month (dt), ==, 1);
  g_assert_cmpint (g_date_time_get_microsecond (dt), ==, 123456);
  g_assert_cmpint (g_date_time_to_unix (dt), ==, 1735689600);
}

static gpointer
advance_thread (gpointer data)
{
  for (int i = 0; i < 10000; i++)
    lia_clock_advance (data, 1);
  return NULL;
}

static void
test_thread_safe (void)
{
  g_autoptr (LiaClock) clock = lia_clock_new_manual (0);
  GThread *a = g_thread_new ("a", advance_thread, clock);
  GThread *b = g_thread_new ("b", advance_thread, clock);

  g_test_summary ("Concurrent advances on a shared clock are not lost.");
  g_thread_join (a);
  g_thread_join (b);
  g_assert_cmpint (lia_clock_now (clock), ==, 20000);
}

static void
test_ref_counting (void)
{
  LiaClock *clock = lia_clock_new_manual (7);

  g_test_summary ("A clock lives as long as its last reference; unref accepts NULL.");
  g_assert_true (lia_clock_ref (clock) == clock);
  lia_clock_unref (clock);
  g_assert_cmpint (lia_clock_now (clock), ==, 7);
  lia_clock_unref (clock);
  lia_clock_unref (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clock/manual/holds-time", test_manual_holds_time);
  g_test_add_func ("/clock/manual/monotonic-never-back", test_manual_monotonic_never_goes_back);
  g_test_add_func ("/clock/system/real-time", test_system_follows_real_time);
  g_test_add_func ("/clock/system/refuses-set", test_system_refuses_set);
  g_test_add_func ("/clock/datetime", test_datetime);
  g_test_add_func ("/clock/thread-safe", test_thread_safe);
  g_test_add_func ("/clock/ref-counting", test_ref_counting);
  return g_test_run ();
}
