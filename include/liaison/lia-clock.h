/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-version.h>

G_BEGIN_DECLS

/**
 * LiaClock:
 *
 * Where Liaison reads the time. No code calls g_get_real_time() directly: it
 * asks a clock, so rules such as "starts in the future" can be tested at an
 * exact instant. A system clock reads the wall clock; a manual clock holds
 * the instant a test sets and moves only when told. Clocks are thread-safe
 * and reference counted.
 */
typedef struct _LiaClock LiaClock;

/**
 * lia_clock_new_system:
 *
 * Returns: (transfer full): a clock that reads the real time.
 */
LIA_API LiaClock *lia_clock_new_system (void);

/**
 * lia_clock_new_manual:
 * @now_us: the instant to start at, microseconds since the Unix epoch (UTC)
 *
 * Returns: (transfer full): a clock that stays at @now_us until set or
 *   advanced.
 */
LIA_API LiaClock *lia_clock_new_manual (gint64 now_us);

/**
 * lia_clock_ref:
 * @clock: a clock
 *
 * Returns: (transfer full): @clock
 */
LIA_API LiaClock *lia_clock_ref (LiaClock *clock);

/**
 * lia_clock_unref:
 * @clock: (nullable) (transfer full): a clock
 */
LIA_API void lia_clock_unref (LiaClock *clock);

/**
 * lia_clock_now:
 * @clock: a clock
 *
 * Returns: the current instant in microseconds since the Unix epoch (UTC).
 */
LIA_API gint64 lia_clock_now (LiaClock *clock);

/**
 * lia_clock_now_monotonic:
 * @clock: a clock
 *
 * For timeouts and durations. A manual clock moves its monotonic time with
 * its wall time (set backwards, it does not go back).
 *
 * Returns: monotonic microseconds.
 */
LIA_API gint64 lia_clock_now_monotonic (LiaClock *clock);

/**
 * lia_clock_dup_now_datetime:
 * @clock: a clock
 *
 * Returns: (transfer full): the current instant as a UTC #GDateTime.
 */
LIA_API GDateTime *lia_clock_dup_now_datetime (LiaClock *clock);

/**
 * lia_clock_is_manual:
 * @clock: a clock
 *
 * Returns: %TRUE for a clock made by lia_clock_new_manual().
 */
LIA_API gboolean lia_clock_is_manual (LiaClock *clock);

/**
 * lia_clock_set:
 * @clock: a manual clock
 * @now_us: the new instant, microseconds since the Unix epoch (UTC)
 *
 * Sets a manual clock. Does nothing (with a critical warning) on a system
 * clock.
 */
LIA_API void lia_clock_set (LiaClock *clock, gint64 now_us);

/**
 * lia_clock_advance:
 * @clock: a manual clock
 * @delta_us: microseconds to move forward (or back, if negative)
 */
LIA_API void lia_clock_advance (LiaClock *clock, gint64 delta_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaClock, lia_clock_unref)

G_END_DECLS
