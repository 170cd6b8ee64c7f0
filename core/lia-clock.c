/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

struct _LiaClock
{
  gatomicrefcount ref_count;
  gboolean manual;
  GMutex lock;
  gint64 now_us;       /* guarded by lock; manual clocks only */
  gint64 monotonic_us; /* guarded by lock; manual clocks only, never decreases */
};

static LiaClock *
clock_new (gboolean manual, gint64 now_us)
{
  LiaClock *clock = g_new0 (LiaClock, 1);

  g_atomic_ref_count_init (&clock->ref_count);
  g_mutex_init (&clock->lock);
  clock->manual = manual;
  clock->now_us = now_us;
  /* Start well above zero so that "a while ago" never underflows. */
  clock->monotonic_us = G_GINT64_CONSTANT (1000000000000);
  return clock;
}

LiaClock *
lia_clock_new_system (void)
{
  return clock_new (FALSE, 0);
}

LiaClock *
lia_clock_new_manual (gint64 now_us)
{
  return clock_new (TRUE, now_us);
}

LiaClock *
lia_clock_ref (LiaClock *clock)
{
  g_return_val_if_fail (clock != NULL, NULL);
  g_atomic_ref_count_inc (&clock->ref_count);
  return clock;
}

void
lia_clock_unref (LiaClock *clock)
{
  if (clock == NULL || !g_atomic_ref_count_dec (&clock->ref_count))
    return;
  g_mutex_clear (&clock->lock);
  g_free (clock);
}

gint64
lia_clock_now (LiaClock *clock)
{
  gint64 now;

  g_return_val_if_fail (clock != NULL, 0);
  if (!clock->manual)
    return g_get_real_time ();
  g_mutex_lock (&clock->lock);
  now = clock->now_us;
  g_mutex_unlock (&clock->lock);
  return now;
}

gint64
lia_clock_now_monotonic (LiaClock *clock)
{
  gint64 now;

  g_return_val_if_fail (clock != NULL, 0);
  if (!clock->manual)
    return g_get_monotonic_time ();
  g_mutex_lock (&clock->lock);
  now = clock->monotonic_us;
  g_mutex_unlock (&clock->lock);
  return now;
}

GDateTime *
lia_clock_dup_now_datetime (LiaClock *clock)
{
  gint64 now = lia_clock_now (clock);
  g_autoptr (GDateTime) seconds = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);

  if (seconds == NULL)
    return NULL;
  return g_date_time_add (seconds, now % G_USEC_PER_SEC);
}

gboolean
lia_clock_is_manual (LiaClock *clock)
{
  g_return_val_if_fail (clock != NULL, FALSE);
  return clock->manual;
}

void
lia_clock_set (LiaClock *clock, gint64 now_us)
{
  g_return_if_fail (clock != NULL);
  g_return_if_fail (clock->manual);
  g_mutex_lock (&clock->lock);
  if (now_us > clock->now_us)
    clock->monotonic_us += now_us - clock->now_us;
  clock->now_us = now_us;
  g_mutex_unlock (&clock->lock);
}

void
lia_clock_advance (LiaClock *clock, gint64 delta_us)
{
  g_return_if_fail (clock != NULL);
  g_return_if_fail (clock->manual);
  g_mutex_lock (&clock->lock);
  clock->now_us += delta_us;
  if (delta_us > 0)
    clock->monotonic_us += delta_us;
  g_mutex_unlock (&clock->lock);
}
