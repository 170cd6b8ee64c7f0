/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <liaison/liaison.h>

#define DAY_US (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)
#define HOUR_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

enum
{
  MON = 1 << 0,
  TUE = 1 << 1,
  WED = 1 << 2,
  THU = 1 << 3,
  FRI = 1 << 4,
  SAT = 1 << 5,
  SUN = 1 << 6,
};

static gint64
usec_of (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

static gint64
utc_us (gint year, gint month, gint day, gint hour, gint minute)
{
  g_autoptr (GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, 0);

  g_assert_nonnull (dt);
  return usec_of (dt);
}

static GArray *
expand (const LiaRecurrence *r, GDateTime *dtstart, gint64 from, gint64 to, gboolean *out_truncated)
{
  g_autoptr (GError) error = NULL;
  GArray *starts = lia_recurrence_expand (r, dtstart, from, to, out_truncated, &error);

  g_assert_no_error (error);
  g_assert_nonnull (starts);
  for (guint i = 1; i < starts->len; i++)
    g_assert_cmpint (g_array_index (starts, gint64, i - 1), <, g_array_index (starts, gint64, i));
  return starts;
}

static void
assert_dates (GArray *starts, const char *const *expected)
{
  guint n = g_strv_length ((char **) expected);

  g_assert_cmpuint (starts->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GDateTime) dt =
          g_date_time_new_from_unix_utc (g_array_index (starts, gint64, i) / G_USEC_PER_SEC);
      g_autofree char *text = g_date_time_format (dt, "%Y-%m-%d %H:%M");
      g_assert_cmpstr (text, ==, expected[i]);
    }
}

static void
test_daily_count (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 30, 9, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 2, .count = 4 };
  g_autoptr (GArray) starts = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  const char *const expected[] = { "2026-03-30 09:00", "2026-04-01 09:00", "2026-04-03 09:00",
                                   "2026-04-05 09:00", NULL };

  g_test_summary ("Every other day, four times: the count bounds an open window.");
  assert_dates (starts, expected);
}

static void
test_weekly_days (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 2, 9, 0, 0); /* a Monday */
  LiaRecurrence r = { .frequency = LIA_RECUR_WEEKLY, .interval = 2, .by_day = MON | THU };
  g_autoptr (GArray) starts = expand (&r, start, utc_us (2026, 3, 1, 0, 0), utc_us (2026, 3, 31, 0, 0), NULL);
  const char *const expected[] = { "2026-03-02 09:00", "2026-03-05 09:00", "2026-03-16 09:00",
                                   "2026-03-19 09:00", "2026-03-30 09:00", NULL };

  g_test_summary ("Every other week on Monday and Thursday; the window end is exclusive of later weeks.");
  assert_dates (starts, expected);
}

static void
test_weekly_week_start (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 3, 9, 0, 0); /* a Tuesday */
  LiaRecurrence monday = { .frequency = LIA_RECUR_WEEKLY, .interval = 2, .count = 4, .by_day = TUE | SUN };
  LiaRecurrence sunday = monday;
  g_autoptr (GArray) a = NULL;
  g_autoptr (GArray) b = NULL;
  const char *const weeks_from_monday[] = { "2026-03-03 09:00", "2026-03-08 09:00", "2026-03-17 09:00",
                                            "2026-03-22 09:00", NULL };
  const char *const weeks_from_sunday[] = { "2026-03-03 09:00", "2026-03-15 09:00", "2026-03-17 09:00",
                                            "2026-03-29 09:00", NULL };

  g_test_summary ("The week start decides which days share a week in a bi-weekly pattern (RFC 5545 WKST).");
  sunday.week_start = 6;
  a = expand (&monday, start, G_MININT64, G_MAXINT64, NULL);
  b = expand (&sunday, start, G_MININT64, G_MAXINT64, NULL);
  assert_dates (a, weeks_from_monday);
  assert_dates (b, weeks_from_sunday);
}

static void
test_monthly_day_31 (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 1, 31, 12, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_MONTHLY, .interval = 1, .count = 4 };
  LiaRecurrence last = { .frequency = LIA_RECUR_MONTHLY, .interval = 1, .count = 4, .by_month_day = -1 };
  g_autoptr (GArray) starts = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  g_autoptr (GArray) lasts = expand (&last, start, G_MININT64, G_MAXINT64, NULL);
  const char *const expected[] = { "2026-01-31 12:00", "2026-03-31 12:00", "2026-05-31 12:00",
                                   "2026-07-31 12:00", NULL };
  const char *const expected_last[] = { "2026-01-31 12:00", "2026-02-28 12:00", "2026-03-31 12:00",
                                        "2026-04-30 12:00", NULL };

  g_test_summary (
      "Monthly on the 31st skips shorter months; 'last day of the month' takes each month's end.");
  assert_dates (starts, expected);
  assert_dates (lasts, expected_last);
}

static void
test_monthly_set_pos (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 1, 13, 15, 30, 0); /* 2nd Tuesday of January */
  LiaRecurrence second_tue = {
    .frequency = LIA_RECUR_MONTHLY, .interval = 1, .count = 3, .by_day = TUE, .by_set_pos = 2
  };
  LiaRecurrence last_workday = { .frequency = LIA_RECUR_MONTHLY,
                                 .interval = 1,
                                 .count = 3,
                                 .by_day = MON | TUE | WED | THU | FRI,
                                 .by_set_pos = -1 };
  g_autoptr (GArray) a = expand (&second_tue, start, G_MININT64, G_MAXINT64, NULL);
  g_autoptr (GArray) b = expand (&last_workday, start, G_MININT64, G_MAXINT64, NULL);
  const char *const expected_a[] = { "2026-01-13 15:30", "2026-02-10 15:30", "2026-03-10 15:30", NULL };
  const char *const expected_b[] = { "2026-01-30 15:30", "2026-02-27 15:30", "2026-03-31 15:30", NULL };

  g_test_summary ("Set positions pick among a month's candidates: the second Tuesday, the last weekday.");
  assert_dates (a, expected_a);
  assert_dates (b, expected_b);
}

static void
test_yearly_leap_day (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2024, 2, 29, 8, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_YEARLY, .interval = 1, .count = 3 };
  LiaRecurrence thanksgiving = {
    .frequency = LIA_RECUR_YEARLY, .interval = 1, .count = 2, .by_day = THU, .by_month = 11, .by_set_pos = 4
  };
  g_autoptr (GDateTime) nov = g_date_time_new_utc (2026, 11, 26, 18, 0, 0);
  g_autoptr (GArray) starts = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  g_autoptr (GArray) thursdays = expand (&thanksgiving, nov, G_MININT64, G_MAXINT64, NULL);
  const char *const expected[] = { "2024-02-29 08:00", "2028-02-29 08:00", "2032-02-29 08:00", NULL };
  const char *const expected_thu[] = { "2026-11-26 18:00", "2027-11-25 18:00", NULL };

  g_test_summary ("A yearly 29 February occurs in leap years only; the fourth Thursday of November moves.");
  assert_dates (starts, expected);
  assert_dates (thursdays, expected_thu);
}

static void
test_until_and_exdates (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 2, 9, 0, 0);
  const gint64 exdates[] = { utc_us (2026, 3, 3, 9, 0), utc_us (2026, 3, 5, 9, 0) };
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY,
                      .interval = 1,
                      .until_us = utc_us (2026, 3, 6, 9, 0),
                      .exdates_us = exdates,
                      .n_exdates = G_N_ELEMENTS (exdates) };
  LiaRecurrence counted = { .frequency = LIA_RECUR_DAILY,
                            .interval = 1,
                            .count = 3,
                            .exdates_us = exdates,
                            .n_exdates = G_N_ELEMENTS (exdates) };
  g_autoptr (GArray) a = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  g_autoptr (GArray) b = expand (&counted, start, G_MININT64, G_MAXINT64, NULL);
  const char *const expected_a[] = { "2026-03-02 09:00", "2026-03-04 09:00", "2026-03-06 09:00", NULL };
  const char *const expected_b[] = { "2026-03-02 09:00", "2026-03-04 09:00", NULL };

  g_test_summary ("Until is the last possible start, inclusive; exdates remove occurrences and still count "
                  "towards the count (RFC 5545).");
  assert_dates (a, expected_a);
  assert_dates (b, expected_b);
}

static void
test_window_edges (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 2, 9, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 1 };
  gint64 day3 = utc_us (2026, 3, 4, 9, 0);
  g_autoptr (GArray) exact = expand (&r, start, day3, day3 + 1, NULL);
  g_autoptr (GArray) none = expand (&r, start, day3 + 1, day3 + DAY_US, NULL);
  g_autoptr (GArray) before = expand (&r, start, G_MININT64, usec_of (start), NULL);
  g_autoptr (GArray) inverted = expand (&r, start, day3, day3 - DAY_US, NULL);

  g_test_summary (
      "The window start is inclusive and its end exclusive; empty and inverted windows give none.");
  g_assert_cmpuint (exact->len, ==, 1);
  g_assert_cmpint (g_array_index (exact, gint64, 0), ==, day3);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (before->len, ==, 0);
  g_assert_cmpuint (inverted->len, ==, 0);
}

static void
test_endless_far_window (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (1990, 1, 1, 7, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 1 };
  gint64 from = utc_us (2200, 1, 1, 0, 0);
  gboolean truncated = TRUE;
  g_autoptr (GArray) starts = expand (&r, start, from, from + 365 * DAY_US, &truncated);

  g_test_summary (
      "An endless daily series started long ago is expanded in a window far ahead without walking "
      "the years before it.");
  g_assert_false (truncated);
  g_assert_cmpuint (starts->len, ==, 365);
  g_assert_cmpint (g_array_index (starts, gint64, 0), ==, from + 7 * HOUR_US);
}

static void
test_cap (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 1, 1, 9, 0, 0);
  /* 31 February never happens; with a count, nothing bounds the walk but the cap. */
  LiaRecurrence never = {
    .frequency = LIA_RECUR_DAILY, .interval = 1, .count = 5, .by_month_day = 31, .by_month = 2
  };
  LiaRecurrence never_endless = never;
  gboolean truncated = FALSE;
  g_autoptr (GArray) a = expand (&never, start, G_MININT64, G_MAXINT64, &truncated);
  g_autoptr (GArray) b = NULL;

  g_test_summary ("A pattern that never matches stops: at the period cap when only a count bounds it "
                  "(reported as truncated), at the window end otherwise.");
  g_assert_true (truncated);
  g_assert_cmpuint (a->len, ==, 0);
  never_endless.count = 0;
  b = expand (&never_endless, start, G_MININT64, utc_us (2126, 1, 1, 0, 0), &truncated);
  g_assert_false (truncated);
  g_assert_cmpuint (b->len, ==, 0);
}

static void
test_dtstart_off_pattern (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 3, 9, 0, 0); /* a Tuesday */
  LiaRecurrence r = { .frequency = LIA_RECUR_WEEKLY, .interval = 1, .count = 2, .by_day = FRI };
  g_autoptr (GArray) starts = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  const char *const expected[] = { "2026-03-06 09:00", "2026-03-13 09:00", NULL };

  g_test_summary (
      "Candidates before DTSTART are not occurrences; a DTSTART off the pattern is not one either.");
  assert_dates (starts, expected);
}

static void
test_wall_clock_across_dst (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  g_autoptr (GDateTime) start = NULL;
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 1, .count = 3 };
  g_autoptr (GArray) starts = NULL;

  g_test_summary ("A daily 09:00 in Europe/Berlin stays 09:00 local across the spring change: the instants "
                  "are 23 hours apart on that day.");
  if (berlin == NULL)
    {
      g_test_skip ("no time zone data for Europe/Berlin");
      return;
    }
  start = g_date_time_new (berlin, 2026, 3, 27, 9, 0, 0);
  starts = expand (&r, start, G_MININT64, G_MAXINT64, NULL);
  g_assert_cmpuint (starts->len, ==, 3);
  g_assert_cmpint (g_array_index (starts, gint64, 1) - g_array_index (starts, gint64, 0), ==, 24 * HOUR_US);
  g_assert_cmpint (g_array_index (starts, gint64, 2) - g_array_index (starts, gint64, 1), ==, 23 * HOUR_US);
  for (guint i = 0; i < starts->len; i++)
    {
      g_autoptr (GDateTime) utc =
          g_date_time_new_from_unix_utc (g_array_index (starts, gint64, i) / G_USEC_PER_SEC);
      g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, berlin);
      g_assert_cmpint (g_date_time_get_hour (local), ==, 9);
    }
}

static void
test_invalid (void)
{
  g_autoptr (GDateTime) start = g_date_time_new_utc (2026, 3, 3, 9, 0, 0);
  LiaRecurrence r = { .frequency = LIA_RECUR_DAILY, .interval = 0 };
  g_autoptr (GError) error = NULL;
  gboolean truncated = TRUE;
  GArray *starts;

  g_test_summary ("A pattern outside the documented ranges is refused with INVALID; the out-parameter is not "
                  "touched.");
  starts = lia_recurrence_expand (&r, start, G_MININT64, G_MAXINT64, &truncated, &error);
  g_assert_null (starts);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_true (truncated);
}

/* Skipping ahead must not change what a window holds: expanding a late
 * window directly equals filtering an expansion from the first start. */
static void
test_skip_ahead_consistent (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (5545);

  g_test_summary ("For random patterns without a count, a window far from DTSTART holds exactly the "
                  "occurrences a walk from DTSTART finds there.");
  for (guint round = 0; round < 300; round++)
    {
      g_autoptr (GDateTime) start =
          g_date_time_new_utc (2020 + g_rand_int_range (rand, 0, 3), g_rand_int_range (rand, 1, 13),
                               g_rand_int_range (rand, 1, 29), g_rand_int_range (rand, 0, 24), 0, 0);
      LiaRecurrence r = { 0 };
      gint64 from, to;
      g_autoptr (GArray) direct = NULL;
      g_autoptr (GArray) walked = NULL;
      guint j = 0;

      r.frequency = (LiaRecurFrequency) g_rand_int_range (rand, 0, LIA_RECUR_N);
      r.interval = (guint) g_rand_int_range (rand, 1, 4);
      r.week_start = (guint) g_rand_int_range (rand, 0, 7);
      if (g_rand_boolean (rand))
        r.by_day = (guint) g_rand_int_range (rand, 1, 128);
      if (g_rand_int_range (rand, 0, 4) == 0)
        r.by_month_day = g_rand_int_range (rand, -1, 32);
      if (g_rand_int_range (rand, 0, 4) == 0)
        r.by_set_pos = g_rand_boolean (rand) ? -1 : g_rand_int_range (rand, 1, 3);
      if (r.frequency == LIA_RECUR_YEARLY && g_rand_boolean (rand))
        r.by_month = (guint) g_rand_int_range (rand, 1, 13);
      from = usec_of (start) + g_rand_int_range (rand, 30, 3000) * DAY_US;
      to = from + 400 * DAY_US;
      direct = expand (&r, start, from, to, NULL);
      walked = expand (&r, start, G_MININT64, to, NULL);
      while (j < walked->len && g_array_index (walked, gint64, j) < from)
        j++;
      g_assert_cmpuint (walked->len - j, ==, direct->len);
      for (guint i = 0; i < direct->len; i++)
        g_assert_cmpint (g_array_index (direct, gint64, i), ==, g_array_index (walked, gint64, j + i));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/recurrence/daily-count", test_daily_count);
  g_test_add_func ("/recurrence/weekly-days", test_weekly_days);
  g_test_add_func ("/recurrence/weekly-week-start", test_weekly_week_start);
  g_test_add_func ("/recurrence/monthly-day-31", test_monthly_day_31);
  g_test_add_func ("/recurrence/monthly-set-pos", test_monthly_set_pos);
  g_test_add_func ("/recurrence/yearly", test_yearly_leap_day);
  g_test_add_func ("/recurrence/until-and-exdates", test_until_and_exdates);
  g_test_add_func ("/recurrence/window-edges", test_window_edges);
  g_test_add_func ("/recurrence/endless-far-window", test_endless_far_window);
  g_test_add_func ("/recurrence/cap", test_cap);
  g_test_add_func ("/recurrence/dtstart-off-pattern", test_dtstart_off_pattern);
  g_test_add_func ("/recurrence/wall-clock-across-dst", test_wall_clock_across_dst);
  g_test_add_func ("/recurrence/invalid", test_invalid);
  g_test_add_func ("/recurrence/skip-ahead-consistent", test_skip_ahead_consistent);
  return g_test_run ();
}
