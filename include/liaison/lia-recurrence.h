/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-value.h>

G_BEGIN_DECLS

/**
 * LIA_RECURRENCE_MAX_PERIODS:
 *
 * The most periods (days, weeks, months or years of the pattern) one
 * expansion examines. A series may be endless on the host (R-APPT-RECUR) and
 * a pattern may match nothing at all (the 31st of February), so the window
 * alone cannot bound the work when a caller passes a huge one; this cap can.
 */
#define LIA_RECURRENCE_MAX_PERIODS 100000

/**
 * lia_recurrence_expand:
 * @recurrence: the pattern
 * @dtstart: the first start of the series; its time zone is the zone the
 *   series repeats in, so 09:00 stays 09:00 local time across daylight
 *   saving changes
 * @window_start_us: the earliest start to return, microseconds since the
 *   epoch (UTC), inclusive
 * @window_end_us: the latest start to return, exclusive
 * @out_truncated: (out) (optional): set to %TRUE when the expansion stopped at
 *   %LIA_RECURRENCE_MAX_PERIODS before reaching the end of the window or of
 *   the series, %FALSE otherwise
 * @error: return location for a #GError
 *
 * Lists the occurrences of a series that start inside a window. Follows RFC
 * 5545 for the subset #LiaRecurrence holds: @recurrence->count counts the
 * occurrences the pattern generates before exdates are removed, the until
 * instant is the last possible start (inclusive), candidates before @dtstart
 * are not occurrences, and dates a period lacks (the 31st of a 30-day month,
 * the 29th of February in other years) are skipped, not moved. A yearly
 * pattern repeats inside one month: @recurrence->by_month, or the month of
 * @dtstart. @recurrence->by_set_pos picks among the candidates of one period
 * ("the second Tuesday of the month"). Exdates remove the occurrence that
 * starts at exactly that instant.
 *
 * No I/O: the time zone comes with @dtstart.
 *
 * Returns: (transfer full) (element-type gint64): the start instants,
 *   ascending, possibly none; %NULL with %LIA_ERROR_INVALID when
 *   @recurrence is outside the ranges #LiaRecurrence documents.
 */
LIA_API GArray *lia_recurrence_expand (const LiaRecurrence *recurrence, GDateTime *dtstart,
                                       gint64 window_start_us, gint64 window_end_us, gboolean *out_truncated,
                                       GError **error);

G_END_DECLS
