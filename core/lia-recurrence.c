/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

/* Expansion works on local calendar days (Julian day numbers of GDate) in the
 * series' zone and turns each candidate day into an instant only at the end,
 * with the wall-clock time of DTSTART. The pattern is walked period by
 * period: period p is the p-th step of 'interval' days, weeks, months or
 * years after the one holding DTSTART. Invariants of the walk:
 *
 *   - the periods are visited in increasing order and the candidates of one
 *     period are produced in increasing order, so the first start at or past
 *     the window end (or the until instant, or the count) ends the walk;
 *   - without a count, periods wholly before the window are skipped by
 *     arithmetic, so an endless series costs only the periods inside the
 *     window; with a count they must be walked, since they consume it;
 *   - at most LIA_RECURRENCE_MAX_PERIODS periods are visited. */

/* Dates GDateTime can represent: years 1..9999. */
#define FIRST_JULIAN 1u
#define LAST_YEAR 9999u

/* Days either side of a window edge that the local date of an instant may lie
 * off its UTC date: zone offsets stay within +-26 hours. */
#define SLACK_DAYS 2

typedef struct
{
  const LiaRecurrence *rule; /* borrowed */
  GTimeZone *tz;             /* borrowed from dtstart */
  gint64 dtstart_us;
  guint32 start_julian;
  guint start_year;
  guint start_month;
  guint start_day;
  gint64 week0; /* first day of the week holding DTSTART; may precede day 1 */
  gint hour;
  gint minute;
  gint second;
  gint microsecond;
} Walk;

/* 0 Monday .. 6 Sunday, as LiaRecurrence counts weekdays. */
static guint
weekday_index (guint32 julian)
{
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_julian (&date, julian);
  return (guint) g_date_get_weekday (&date) - 1u;
}

static guint
weekday_bit (guint32 julian)
{
  return 1u << weekday_index (julian);
}

static guint32
julian_of (guint year, guint month, guint day)
{
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_dmy (&date, (GDateDay) day, (GDateMonth) month, (GDateYear) year);
  return g_date_get_julian (&date);
}

static void
ymd_of (guint32 julian, guint *out_year, guint *out_month, guint *out_day)
{
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_julian (&date, julian);
  *out_year = g_date_get_year (&date);
  *out_month = g_date_get_month (&date);
  *out_day = g_date_get_day (&date);
}

static guint
days_in_month (guint year, guint month)
{
  return g_date_get_days_in_month ((GDateMonth) month, (GDateYear) year);
}

static gboolean
day_matches_month_day (const LiaRecurrence *rule, guint year, guint month, guint day)
{
  if (rule->by_month_day == 0)
    return TRUE;
  if (rule->by_month_day == -1)
    return day == days_in_month (year, month);
  return day == (guint) rule->by_month_day;
}

/* The local date of an instant in the series' zone, clamped to the years
 * GDateTime can hold, so that G_MININT64 and G_MAXINT64 work as open window
 * edges. */
static guint32
local_julian (const Walk *walk, gint64 instant_us)
{
  const gint64 min_s = G_GINT64_CONSTANT (-62135596800); /* 0001-01-01T00:00:00Z */
  const gint64 max_s = G_GINT64_CONSTANT (253402300799); /* 9999-12-31T23:59:59Z */
  gint64 seconds = instant_us / G_USEC_PER_SEC;
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  seconds = CLAMP (seconds, min_s + 2 * 86400, max_s - 2 * 86400);
  utc = g_date_time_new_from_unix_utc (seconds);
  local = utc != NULL ? g_date_time_to_timezone (utc, walk->tz) : NULL;
  if (local == NULL)
    return seconds < 0 ? FIRST_JULIAN : julian_of (LAST_YEAR, 12, 31);
  return julian_of ((guint) g_date_time_get_year (local), (guint) g_date_time_get_month (local),
                    (guint) g_date_time_get_day_of_month (local));
}

/* The instant at which the series' wall-clock time falls on a local day;
 * FALSE when GDateTime cannot represent it. */
static gboolean
instant_of (const Walk *walk, guint32 julian, gint64 *out_us)
{
  guint year, month, day;
  g_autoptr (GDateTime) local = NULL;

  ymd_of (julian, &year, &month, &day);
  /* Whole seconds only: a fractional double would round the microseconds. */
  local = g_date_time_new (walk->tz, (gint) year, (gint) month, (gint) day, walk->hour, walk->minute,
                           walk->second);
  if (local == NULL)
    return FALSE;
  *out_us = g_date_time_to_unix (local) * G_USEC_PER_SEC + walk->microsecond;
  return TRUE;
}

/* Candidates of one month for monthly and yearly patterns, in day order. */
static void
month_candidates (const Walk *walk, guint year, guint month, GArray *days)
{
  const LiaRecurrence *rule = walk->rule;
  guint n_days = days_in_month (year, month);
  guint32 first = julian_of (year, month, 1);

  if (rule->by_day != 0)
    {
      for (guint d = 1; d <= n_days; d++)
        {
          guint32 julian = first + d - 1;
          if ((weekday_bit (julian) & rule->by_day) != 0 && day_matches_month_day (rule, year, month, d))
            g_array_append_val (days, julian);
        }
    }
  else if (rule->by_month_day != 0)
    {
      guint d = rule->by_month_day == -1 ? n_days : (guint) rule->by_month_day;
      if (d <= n_days)
        {
          guint32 julian = first + d - 1;
          g_array_append_val (days, julian);
        }
    }
  else if (walk->start_day <= n_days)
    {
      /* RFC 5545: a day the month lacks is skipped, not moved to the end. */
      guint32 julian = first + walk->start_day - 1;
      g_array_append_val (days, julian);
    }
}

/* The first local day of period p, or 0 when it lies past year 9999. */
static guint32
period_first_day (const Walk *walk, guint64 p)
{
  const LiaRecurrence *rule = walk->rule;
  guint64 step = p * rule->interval;
  guint64 limit = julian_of (LAST_YEAR, 12, 31);

  switch (rule->frequency)
    {
    case LIA_RECUR_DAILY:
      return walk->start_julian + step > limit ? 0 : (guint32) (walk->start_julian + step);
    case LIA_RECUR_WEEKLY:
      {
        gint64 first = walk->week0 + 7 * (gint64) step;
        /* Only a DTSTART in the first days of year 1 has a week that begins
         * before day 1; candidates there are before DTSTART anyway. */
        return first > (gint64) limit ? 0 : (guint32) MAX (first, (gint64) FIRST_JULIAN);
      }
    case LIA_RECUR_MONTHLY:
      {
        guint64 index = (guint64) walk->start_year * 12 + (walk->start_month - 1) + step;
        if (index / 12 > LAST_YEAR)
          return 0;
        return julian_of ((guint) (index / 12), (guint) (index % 12) + 1, 1);
      }
    case LIA_RECUR_YEARLY:
      if (walk->start_year + step > LAST_YEAR)
        return 0;
      return julian_of ((guint) (walk->start_year + step), 1, 1);
    case LIA_RECUR_N:
    default:
      g_assert_not_reached ();
    }
  return 0;
}

/* The candidate days of the period starting on @first_day, filtered and
 * picked by by_set_pos. */
static void
period_candidates (const Walk *walk, guint32 first_day, GArray *days)
{
  const LiaRecurrence *rule = walk->rule;
  guint year, month, day;

  g_array_set_size (days, 0);
  ymd_of (first_day, &year, &month, &day);
  switch (rule->frequency)
    {
    case LIA_RECUR_DAILY:
      if ((rule->by_day == 0 || (weekday_bit (first_day) & rule->by_day) != 0)
          && day_matches_month_day (rule, year, month, day))
        g_array_append_val (days, first_day);
      break;
    case LIA_RECUR_WEEKLY:
      for (guint i = 0; i < 7; i++)
        {
          guint32 julian = first_day + i;
          guint y, m, d;
          gboolean wanted = rule->by_day != 0 ? (weekday_bit (julian) & rule->by_day) != 0
                                              : weekday_bit (julian) == weekday_bit (walk->start_julian);
          ymd_of (julian, &y, &m, &d);
          if (wanted && y <= LAST_YEAR && day_matches_month_day (rule, y, m, d)
              && (rule->by_month == 0 || m == rule->by_month))
            g_array_append_val (days, julian);
        }
      break;
    case LIA_RECUR_MONTHLY:
      if (rule->by_month == 0 || month == rule->by_month)
        month_candidates (walk, year, month, days);
      break;
    case LIA_RECUR_YEARLY:
      month_candidates (walk, year, rule->by_month != 0 ? rule->by_month : walk->start_month, days);
      break;
    case LIA_RECUR_N:
    default:
      g_assert_not_reached ();
    }

  if (rule->frequency == LIA_RECUR_DAILY && rule->by_month != 0 && month != rule->by_month)
    g_array_set_size (days, 0);

  if (rule->by_set_pos != 0 && days->len > 0)
    {
      guint pick;
      if (rule->by_set_pos == -1)
        pick = days->len - 1;
      else if ((guint) rule->by_set_pos <= days->len)
        pick = (guint) rule->by_set_pos - 1;
      else
        {
          g_array_set_size (days, 0);
          return;
        }
      g_array_index (days, guint32, 0) = g_array_index (days, guint32, pick);
      g_array_set_size (days, 1);
    }
}

/* The first period that can hold a start at or after the window start; only
 * used without a count, whose skipped occurrences would otherwise be
 * unaccounted for. */
static guint64
first_useful_period (const Walk *walk, gint64 window_start_us)
{
  const LiaRecurrence *rule = walk->rule;
  guint32 target = local_julian (walk, window_start_us);
  guint year, month, day;

  if (target <= walk->start_julian + SLACK_DAYS + 7)
    return 0;
  target -= SLACK_DAYS;
  ymd_of (target, &year, &month, &day);
  switch (rule->frequency)
    {
    case LIA_RECUR_DAILY:
      return (target - walk->start_julian) / rule->interval;
    case LIA_RECUR_WEEKLY:
      return (guint64) (target - walk->week0) / (7u * rule->interval);
    case LIA_RECUR_MONTHLY:
      return (((guint64) year * 12 + month) - ((guint64) walk->start_year * 12 + walk->start_month))
             / rule->interval;
    case LIA_RECUR_YEARLY:
      return (year - walk->start_year) / rule->interval;
    case LIA_RECUR_N:
    default:
      g_assert_not_reached ();
    }
  return 0;
}

static gboolean
is_exdate (const LiaRecurrence *rule, gint64 instant_us)
{
  gsize lo = 0, hi = rule->n_exdates;

  /* lia_value_new_recurrence() has checked that exdates ascend. */
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if (rule->exdates_us[mid] == instant_us)
        return TRUE;
      if (rule->exdates_us[mid] < instant_us)
        lo = mid + 1;
      else
        hi = mid;
    }
  return FALSE;
}

GArray *
lia_recurrence_expand (const LiaRecurrence *recurrence, GDateTime *dtstart, gint64 window_start_us,
                       gint64 window_end_us, gboolean *out_truncated, GError **error)
{
  g_autoptr (LiaValue) checked = NULL;
  g_autoptr (GArray) starts = NULL;
  g_autoptr (GArray) days = NULL;
  Walk walk = { 0 };
  guint32 last_window_day;
  guint64 generated = 0;
  guint visited = 0;
  gboolean truncated = FALSE;
  gboolean done = FALSE;

  g_return_val_if_fail (recurrence != NULL, NULL);
  g_return_val_if_fail (dtstart != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* One definition of a valid pattern: the one values are built with. */
  checked = lia_value_new_recurrence (recurrence);
  if (checked == NULL)
    {
      g_set_error_literal (error, LIA_ERROR, LIA_ERROR_INVALID, "The recurrence pattern is out of range");
      return NULL;
    }

  starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  days = g_array_sized_new (FALSE, FALSE, sizeof (guint32), 31);
  walk.rule = recurrence;
  walk.tz = g_date_time_get_timezone (dtstart);
  walk.dtstart_us = g_date_time_to_unix (dtstart) * G_USEC_PER_SEC + g_date_time_get_microsecond (dtstart);
  walk.start_year = (guint) g_date_time_get_year (dtstart);
  walk.start_month = (guint) g_date_time_get_month (dtstart);
  walk.start_day = (guint) g_date_time_get_day_of_month (dtstart);
  walk.start_julian = julian_of (walk.start_year, walk.start_month, walk.start_day);
  walk.week0 = (gint64) walk.start_julian
               - (gint64) ((weekday_index (walk.start_julian) + 7u - recurrence->week_start) % 7u);
  walk.hour = g_date_time_get_hour (dtstart);
  walk.minute = g_date_time_get_minute (dtstart);
  walk.second = g_date_time_get_second (dtstart);
  walk.microsecond = g_date_time_get_microsecond (dtstart);

  if (window_end_us <= window_start_us || window_end_us <= walk.dtstart_us
      || (recurrence->until_us != 0 && recurrence->until_us < window_start_us))
    done = TRUE;
  last_window_day = done ? 0 : local_julian (&walk, window_end_us);

  for (guint64 p = (done || recurrence->count > 0) ? 0 : first_useful_period (&walk, window_start_us); !done;
       p++)
    {
      guint32 first_day;

      if (visited++ >= LIA_RECURRENCE_MAX_PERIODS)
        {
          truncated = TRUE;
          break;
        }
      first_day = period_first_day (&walk, p);
      if (first_day == 0 || first_day > last_window_day + SLACK_DAYS)
        break;
      period_candidates (&walk, first_day, days);
      for (guint i = 0; i < days->len && !done; i++)
        {
          gint64 instant;

          if (!instant_of (&walk, g_array_index (days, guint32, i), &instant))
            {
              done = TRUE;
              break;
            }
          if (instant < walk.dtstart_us)
            continue;
          if ((recurrence->until_us != 0 && instant > recurrence->until_us)
              || (recurrence->count > 0 && generated >= recurrence->count) || instant >= window_end_us)
            {
              done = TRUE;
              break;
            }
          generated++;
          if (instant >= window_start_us && !is_exdate (recurrence, instant))
            g_array_append_val (starts, instant);
        }
    }

  if (out_truncated != NULL)
    *out_truncated = truncated;
  return g_steal_pointer (&starts);
}
