/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"

/* iCalendar VEVENT / VTODO <-> LiaItem for appointments and tasks; see
 * lia-evo-convert-private.h for where each field is kept. */

static gboolean
comp_is_instance (ICalComponent *comp)
{
  g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);

  return rid != NULL && !i_cal_time_is_null_time (rid);
}

static gboolean
comp_is_todo (ICalComponent *comp)
{
  return i_cal_component_isa (comp) == I_CAL_VTODO_COMPONENT;
}

static char *
comp_dup_x (ICalComponent *comp, const char *name)
{
  g_autofree char *b64 = e_cal_util_component_dup_x_property (comp, name);
  g_autofree guchar *raw = NULL;
  gsize len = 0;

  if (b64 == NULL)
    return NULL;
  raw = g_base64_decode (b64, &len);
  if (raw == NULL || !g_utf8_validate ((const char *) raw, (gssize) len, NULL)
      || memchr (raw, '\0', len) != NULL)
    return NULL;
  return g_strndup ((const char *) raw, len);
}

static void
comp_put_x (ICalComponent *comp, const char *name, const char *value)
{
  g_autofree char *b64 = NULL;

  if (value != NULL && *value != '\0')
    b64 = g_base64_encode ((const guchar *) value, strlen (value));
  /* NULL removes the property. */
  e_cal_util_component_set_x_property (comp, name, b64);
}

/* Whether the last synchronized state (the original the engine keeps on
 * the component) holds no value for @field: CRM had none. FALSE without an
 * original (never synchronized) or with a corrupt one. */
static gboolean
original_lacks (ICalComponent *comp, const char *field)
{
  g_autofree char *xml = comp_dup_x (comp, lia_evo_x_prop_name (LIA_HOST_PROP_ORIGINAL));
  g_autoptr (LiaItem) orig = NULL;

  if (xml == NULL)
    return FALSE;
  orig = lia_original_decode (xml, strlen (xml), NULL);
  return orig != NULL && lia_field_lookup (lia_item_get_entity (orig), field) != NULL
         && lia_item_get (orig, field) == NULL;
}

void
lia_evo_comp_read_row (ICalComponent *comp, gint64 *out_modified_at, LiaLinkState *out_link_state,
                       char **out_crm_id)
{
  g_autofree char *state = comp_dup_x (comp, lia_evo_x_prop_name (LIA_HOST_PROP_LINK_STATE));
  g_auto (LiaHostProps) props = { 0 };
  ICalProperty *prop = i_cal_component_get_first_property (comp, I_CAL_LASTMODIFIED_PROPERTY);
  gint64 modified = 0;

  if (prop == NULL)
    prop = i_cal_component_get_first_property (comp, I_CAL_DTSTAMP_PROPERTY);
  if (prop != NULL)
    {
      g_autofree char *text = i_cal_property_get_value_as_string (prop);

      modified = lia_evo_parse_timestamp (text);
      g_object_unref (prop);
    }
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, state);
  *out_modified_at = modified;
  *out_link_state = state != NULL ? props.link_state : LIA_LINK_STATE_NONE;
  *out_crm_id = comp_dup_x (comp, lia_evo_x_prop_name (LIA_HOST_PROP_CRM_ID));
}

LiaLinkState
lia_evo_comp_link_state (ICalComponent *comp)
{
  gint64 modified = 0;
  LiaLinkState state = LIA_LINK_STATE_NONE;
  g_autofree char *crm_id = NULL;

  g_return_val_if_fail (I_CAL_IS_COMPONENT (comp), LIA_LINK_STATE_NONE);
  lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
  return state;
}

/* An iCalendar time as a value: DATE as a date at 00:00 UTC for the
 * all-day start/end date-time fields, UTC as UTC, a TZID through the
 * calendar's zones (named by their IANA location), floating as UTC. */
static LiaValue *
time_to_value (ICalProperty *prop, ICalTime *t, ECalClient *tz_client, GCancellable *cancellable)
{
  g_autoptr (ICalParameter) param = NULL;
  ICalTimezone *zone = NULL;
  const char *location = NULL;

  if (t == NULL || i_cal_time_is_null_time (t) || !i_cal_time_is_valid_time (t))
    return NULL;
  if (i_cal_time_is_date (t))
    {
      g_autoptr (GDateTime) dt = g_date_time_new_utc (i_cal_time_get_year (t), i_cal_time_get_month (t),
                                                      i_cal_time_get_day (t), 0, 0, 0);

      return dt != NULL ? lia_value_new_datetime (g_date_time_to_unix (dt) * G_USEC_PER_SEC, NULL) : NULL;
    }
  if (!i_cal_time_is_utc (t) && prop != NULL)
    param = i_cal_property_get_first_parameter (prop, I_CAL_TZID_PARAMETER);
  if (param != NULL)
    {
      const char *tzid = i_cal_parameter_get_tzid (param);

      zone = i_cal_timezone_get_builtin_timezone_from_tzid (tzid);
      if (zone == NULL)
        zone = i_cal_timezone_get_builtin_timezone (tzid);
      if (zone == NULL && tz_client != NULL)
        {
          ICalTimezone *found = NULL;

          /* Borrowed: the client caches its zones. */
          if (e_cal_client_get_timezone_sync (tz_client, tzid, &found, cancellable, NULL))
            zone = found;
        }
      if (zone != NULL)
        location = i_cal_timezone_get_location (zone);
    }
  if (zone == NULL)
    zone = i_cal_timezone_get_utc_timezone ();
  return lia_value_new_datetime ((gint64) i_cal_time_as_timet_with_zone (t, zone) * G_USEC_PER_SEC, location);
}

static LiaValue *
comp_time_value (ICalComponent *comp, ICalPropertyKind kind, ECalClient *tz_client, GCancellable *cancellable)
{
  g_autoptr (ICalProperty) prop = i_cal_component_get_first_property (comp, kind);
  g_autoptr (ICalTime) t = NULL;

  if (prop == NULL)
    return NULL;
  switch (kind)
    {
    case I_CAL_DTSTART_PROPERTY:
      t = i_cal_property_get_dtstart (prop);
      break;
    case I_CAL_DTEND_PROPERTY:
      t = i_cal_property_get_dtend (prop);
      break;
    case I_CAL_DUE_PROPERTY:
      t = i_cal_property_get_due (prop);
      break;
    case I_CAL_COMPLETED_PROPERTY:
      t = i_cal_property_get_completed (prop);
      break;
    default:
      return NULL;
    }
  return time_to_value (prop, t, tz_client, cancellable);
}

static const char *
priority_symbol (gint p)
{
  if (p <= 0)
    return NULL;
  return p <= 4 ? "high" : p == 5 ? "normal" : "low";
}

typedef struct
{
  ICalPropertyStatus status;
  const char *symbol;
} StatusMap;

static const StatusMap task_status[] = {
  { I_CAL_STATUS_NEEDSACTION, "not-started" },
  { I_CAL_STATUS_INPROCESS, "in-progress" },
  { I_CAL_STATUS_COMPLETED, "completed" },
  { I_CAL_STATUS_CANCELLED, "canceled" },
};

static ICalPropertyStatus
status_for_symbol (const char *symbol)
{
  for (guint i = 0; i < G_N_ELEMENTS (task_status); i++)
    if (g_strcmp0 (task_status[i].symbol, symbol) == 0)
      return task_status[i].status;
  /* waiting and deferred have no iCalendar status: not started yet. */
  return symbol != NULL ? I_CAL_STATUS_NEEDSACTION : I_CAL_STATUS_NONE;
}

static const char *const task_native[] = {
  "subject", "start", "due", "completed", "percent-complete", "priority", "description", "status", NULL
};
static const char *const event_native[] = { "subject",
                                            "location",
                                            "description",
                                            "start",
                                            "end",
                                            "all-day",
                                            "priority",
                                            "show-time-as",
                                            "recurrence",
                                            "required-attendees",
                                            "optional-attendees",
                                            "organizer",
                                            NULL };

/* iCalendar times hold whole seconds, CRM times microseconds: a time with
 * a sub-second part stays in the remainder too and reads back exactly
 * while the native time is that time cut to the second,
 * or every item written from CRM would read back as a host edit. */
static gboolean
has_sub_second (const LiaValue *value)
{
  return value != NULL && lia_value_get_kind (value) == LIA_VALUE_DATETIME
         && lia_value_get_instant (value) % G_USEC_PER_SEC != 0;
}

static gboolean
is_time_field (const char *field)
{
  return g_str_equal (field, "start") || g_str_equal (field, "end") || g_str_equal (field, "due")
         || g_str_equal (field, "completed");
}

/* @us cut to whole seconds as time_property() writes it. */
static gint64
whole_seconds (gint64 us)
{
  return us - us % G_USEC_PER_SEC;
}

static gboolean
task_keep_in_remainder (const char *field, const LiaValue *value)
{
  /* status stays in the remainder too: "waiting" and "deferred" read back
   * exactly while the iCalendar status still matches. */
  return g_str_equal (field, "status") || (is_time_field (field) && has_sub_second (value))
         || !g_strv_contains (task_native, field);
}

static gboolean
event_keep_in_remainder (const char *field, const LiaValue *value)
{
  /* The pattern stays in the remainder for RRULEs richer than
   * LiaRecurrence (read back from there while the RRULE does not parse),
   * the parties for their CRM resolution, which ATTENDEE cannot hold. */
  return g_str_equal (field, "show-time-as") || g_str_equal (field, "recurrence")
         || (is_time_field (field) && has_sub_second (value)) || g_str_equal (field, "required-attendees")
         || g_str_equal (field, "optional-attendees") || g_str_equal (field, "organizer")
         || !g_strv_contains (event_native, field);
}

static void
item_set_value (LiaItem *item, const char *field, LiaValue *value)
{
  if (value != NULL)
    lia_item_set (item, field, value, NULL);
}

/* ---- Recurrence (RRULE, EXDATE) ---- */

static const ICalRecurrenceFrequency freq_map[] = {
  [LIA_RECUR_DAILY] = I_CAL_DAILY_RECURRENCE,
  [LIA_RECUR_WEEKLY] = I_CAL_WEEKLY_RECURRENCE,
  [LIA_RECUR_MONTHLY] = I_CAL_MONTHLY_RECURRENCE,
  [LIA_RECUR_YEARLY] = I_CAL_YEARLY_RECURRENCE,
};
G_STATIC_ASSERT (G_N_ELEMENTS (freq_map) == LIA_RECUR_N);

/* LiaRecurrence counts weekdays from Monday (0), libical from Sunday (1). */
static ICalRecurrenceWeekday
weekday_to_ical (guint lia_day)
{
  return (ICalRecurrenceWeekday) ((lia_day + 1) % 7 + 1);
}

static guint
weekday_from_ical (ICalRecurrenceWeekday day)
{
  return ((guint) day + 5) % 7;
}

static gint
compare_instants (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

/* How many entries of a libical BY* array are set. */
static guint
by_count (ICalRecurrence *r, gshort (*get) (ICalRecurrence *, guint), guint size)
{
  guint n = 0;

  while (n < size && get (r, n) != I_CAL_RECURRENCE_ARRAY_MAX)
    n++;
  return n;
}

/* The first RRULE as a LiaRecurrence plus the EXDATEs; NULL when there is
 * none or it says more than LiaRecurrence can (BYHOUR, two BYMONTHDAYs,
 * mixed BYDAY positions, ...): the caller then falls back to the exact
 * copy in the remainder. */
static LiaValue *
comp_read_recurrence (ICalComponent *comp, ECalClient *tz_client, GCancellable *cancellable)
{
  g_autoptr (ICalProperty) prop = i_cal_component_get_first_property (comp, I_CAL_RRULE_PROPERTY);
  g_autoptr (ICalRecurrence) r = NULL;
  g_autoptr (GArray) exdates = g_array_new (FALSE, FALSE, sizeof (gint64));
  LiaRecurrence rec = { 0 };
  ICalRecurrenceFrequency freq;
  guint n_day;
  gint pos = 0;

  if (prop == NULL || i_cal_component_count_properties (comp, I_CAL_RRULE_PROPERTY) > 1)
    return NULL;
  r = i_cal_property_get_rrule (prop);
  if (r == NULL)
    return NULL;
  freq = i_cal_recurrence_get_freq (r);
  rec.frequency = LIA_RECUR_N;
  for (guint f = 0; f < LIA_RECUR_N; f++)
    if (freq_map[f] == freq)
      rec.frequency = (LiaRecurFrequency) f;
  if (rec.frequency == LIA_RECUR_N || by_count (r, i_cal_recurrence_get_by_second, I_CAL_BY_SECOND_SIZE) > 0
      || by_count (r, i_cal_recurrence_get_by_minute, I_CAL_BY_MINUTE_SIZE) > 0
      || by_count (r, i_cal_recurrence_get_by_hour, I_CAL_BY_HOUR_SIZE) > 0
      || by_count (r, i_cal_recurrence_get_by_year_day, I_CAL_BY_YEARDAY_SIZE) > 0
      || by_count (r, i_cal_recurrence_get_by_week_no, I_CAL_BY_WEEKNO_SIZE) > 0
      || by_count (r, i_cal_recurrence_get_by_month_day, I_CAL_BY_MONTHDAY_SIZE) > 1
      || by_count (r, i_cal_recurrence_get_by_month, I_CAL_BY_MONTH_SIZE) > 1
      || by_count (r, i_cal_recurrence_get_by_set_pos, I_CAL_BY_SETPOS_SIZE) > 1)
    return NULL;
  rec.interval = (guint) MAX (i_cal_recurrence_get_interval (r), 1);
  rec.count = (guint) MAX (i_cal_recurrence_get_count (r), 0);
  {
    g_autoptr (ICalTime) until = i_cal_recurrence_get_until (r);

    if (until != NULL && !i_cal_time_is_null_time (until))
      {
        g_autoptr (LiaValue) v = time_to_value (NULL, until, NULL, NULL);

        if (v == NULL)
          return NULL;
        rec.until_us = lia_value_get_instant (v);
      }
  }
  n_day = by_count (r, i_cal_recurrence_get_by_day, I_CAL_BY_DAY_SIZE);
  for (guint i = 0; i < n_day; i++)
    {
      gshort day = i_cal_recurrence_get_by_day (r, i);
      gint p = i_cal_recurrence_day_position (day);

      /* "2TU" is "TU" with BYSETPOS=2 when every day has that position. */
      if (i > 0 && p != pos)
        return NULL;
      pos = p;
      rec.by_day |= 1u << weekday_from_ical (i_cal_recurrence_day_day_of_week (day));
    }
  if (by_count (r, i_cal_recurrence_get_by_set_pos, I_CAL_BY_SETPOS_SIZE) == 1)
    {
      if (pos != 0)
        return NULL;
      pos = i_cal_recurrence_get_by_set_pos (r, 0);
    }
  rec.by_set_pos = pos;
  if (by_count (r, i_cal_recurrence_get_by_month_day, I_CAL_BY_MONTHDAY_SIZE) == 1)
    rec.by_month_day = i_cal_recurrence_get_by_month_day (r, 0);
  if (by_count (r, i_cal_recurrence_get_by_month, I_CAL_BY_MONTH_SIZE) == 1)
    rec.by_month = (guint) i_cal_recurrence_month_month (i_cal_recurrence_get_by_month (r, 0));
  if (i_cal_recurrence_get_week_start (r) != I_CAL_NO_WEEKDAY)
    rec.week_start = weekday_from_ical (i_cal_recurrence_get_week_start (r));
  for (ICalProperty *ex = i_cal_component_get_first_property (comp, I_CAL_EXDATE_PROPERTY); ex != NULL;
       ex = i_cal_component_get_next_property (comp, I_CAL_EXDATE_PROPERTY))
    {
      g_autoptr (ICalTime) t = i_cal_property_get_exdate (ex);
      g_autoptr (LiaValue) v = time_to_value (ex, t, tz_client, cancellable);

      if (v != NULL)
        {
          gint64 us = lia_value_get_instant (v);

          g_array_append_val (exdates, us);
        }
      g_object_unref (ex);
    }
  g_array_sort (exdates, compare_instants);
  rec.exdates_us = (const gint64 *) (gpointer) exdates->data;
  rec.n_exdates = exdates->len;
  return lia_value_new_recurrence (&rec);
}

/* ---- Parties (ATTENDEE, ORGANIZER) ---- */

#define NO_MAIL "invalid:nomail"

static char *
party_address (const char *cal_address)
{
  if (cal_address == NULL || g_ascii_strcasecmp (cal_address, NO_MAIL) == 0)
    return NULL;
  if (g_ascii_strncasecmp (cal_address, "mailto:", 7) == 0)
    cal_address += 7;
  return *cal_address != '\0' ? g_strdup (cal_address) : NULL;
}

/* Reads ATTENDEEs of one role group (or the ORGANIZER) as a party list;
 * NULL when there are none. */
static LiaValue *
comp_read_parties (ICalComponent *comp, ICalPropertyKind kind, gboolean optional)
{
  g_autoptr (GArray) parties = g_array_new (FALSE, TRUE, sizeof (LiaParty));
  g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);

  for (ICalProperty *p = i_cal_component_get_first_property (comp, kind); p != NULL;
       p = i_cal_component_get_next_property (comp, kind))
    {
      g_autoptr (ICalParameter) role = i_cal_property_get_first_parameter (p, I_CAL_ROLE_PARAMETER);
      g_autoptr (ICalParameter) cn = i_cal_property_get_first_parameter (p, I_CAL_CN_PARAMETER);
      /* No ROLE is REQ-PARTICIPANT (RFC 5545 3.2.16); a chair attends. */
      gboolean is_optional = role != NULL
                             && (i_cal_parameter_get_role (role) == I_CAL_ROLE_OPTPARTICIPANT
                                 || i_cal_parameter_get_role (role) == I_CAL_ROLE_NONPARTICIPANT);
      const char *value = kind == I_CAL_ATTENDEE_PROPERTY ? i_cal_property_get_attendee (p)
                                                          : i_cal_property_get_organizer (p);
      LiaParty party = { NULL, NULL, LIA_ENTITY_N, NULL };
      char *address = party_address (value);

      if (kind == I_CAL_ATTENDEE_PROPERTY && is_optional != optional)
        {
          g_free (address);
          g_object_unref (p);
          continue;
        }
      party.address = address;
      g_ptr_array_add (strings, address);
      if (cn != NULL && i_cal_parameter_get_cn (cn) != NULL && *i_cal_parameter_get_cn (cn) != '\0')
        {
          char *name = g_strdup (i_cal_parameter_get_cn (cn));

          party.name = name;
          g_ptr_array_add (strings, name);
        }
      if (party.address != NULL || party.name != NULL)
        g_array_append_val (parties, party);
      g_object_unref (p);
    }
  if (parties->len == 0)
    return NULL;
  return lia_value_new_party_list ((const LiaParty *) (gpointer) parties->data, parties->len);
}

/* Whether two party lists name the same people in the same order: then
 * the remainder's copy, which also knows the CRM records they resolved
 * to, stands for the native one. */
static gboolean
parties_same_people (const LiaValue *a, const LiaValue *b)
{
  gsize n;

  if (a == NULL || b == NULL)
    return a == b;
  n = lia_value_get_n_parties (a);
  if (n != lia_value_get_n_parties (b))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      const LiaParty *x = lia_value_get_party (a, i);
      const LiaParty *y = lia_value_get_party (b, i);

      if ((x->address == NULL) != (y->address == NULL)
          || (x->address != NULL && g_ascii_strcasecmp (x->address, y->address) != 0)
          || g_strcmp0 (x->name, y->name) != 0)
        return FALSE;
    }
  return TRUE;
}

LiaHostItem *
lia_evo_comp_to_host_item (ICalComponent *comp, ECalClient *tz_client, const char *folder,
                           GCancellable *cancellable, GError **error)
{
  gboolean todo = comp_is_todo (comp);
  g_autofree char *entity_name = comp_dup_x (comp, LIA_EVO_X_ENTITY);
  LiaEntity entity = todo ? LIA_ENTITY_TASK : LIA_ENTITY_APPOINTMENT;
  g_autoptr (LiaItem) item = NULL;
  g_autofree char *b64 = e_cal_util_component_dup_x_property (comp, LIA_EVO_X_FIELDS);
  g_autoptr (LiaItem) rest = lia_evo_remainder_decode (b64);
  g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);
  g_autofree char *rid_text = NULL;
  g_autofree char *id = NULL;
  const char *uid = i_cal_component_get_uid (comp);
  LiaHostItem *hi;
  gint64 modified = 0;
  LiaLinkState state;
  g_autofree char *crm_id = NULL;

  if (uid == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "component without UID");
      return NULL;
    }
  if (rid != NULL && !i_cal_time_is_null_time (rid))
    rid_text = i_cal_time_as_ical_string (rid);
  if (todo)
    {
      LiaEntity named;

      /* Phone calls, letters and faxes live in the task list too. */
      if (entity_name != NULL && lia_entity_from_string (entity_name, &named)
          && (named == LIA_ENTITY_PHONE_CALL || named == LIA_ENTITY_LETTER || named == LIA_ENTITY_FAX))
        entity = named;
    }
  else if (rid_text == NULL && e_cal_util_component_has_rrules (comp))
    entity = LIA_ENTITY_RECURRING_APPOINTMENT;
  item = lia_item_new (entity);
  lia_evo_set_text (item, "subject", i_cal_component_get_summary (comp));
  lia_evo_set_text (item, "description", i_cal_component_get_description (comp));
  {
    g_autoptr (LiaValue) start = comp_time_value (comp, I_CAL_DTSTART_PROPERTY, tz_client, cancellable);

    item_set_value (item, "start", start);
  }
  {
    g_autoptr (ICalProperty) prio = i_cal_component_get_first_property (comp, I_CAL_PRIORITY_PROPERTY);
    const char *sym = prio != NULL ? priority_symbol (i_cal_property_get_priority (prio)) : NULL;

    if (sym != NULL)
      {
        g_autoptr (LiaValue) v = lia_value_new_enum (sym);

        item_set_value (item, "priority", v);
      }
  }
  if (todo)
    {
      g_autoptr (LiaValue) due = comp_time_value (comp, I_CAL_DUE_PROPERTY, tz_client, cancellable);
      g_autoptr (LiaValue) done = comp_time_value (comp, I_CAL_COMPLETED_PROPERTY, tz_client, cancellable);
      g_autoptr (ICalProperty) pct =
          i_cal_component_get_first_property (comp, I_CAL_PERCENTCOMPLETE_PROPERTY);
      ICalPropertyStatus status = i_cal_component_get_status (comp);

      item_set_value (item, "due", due);
      item_set_value (item, "completed", done);
      if (pct != NULL && lia_field_lookup (entity, "percent-complete") != NULL)
        {
          g_autoptr (LiaValue) v = lia_value_new_integer (i_cal_property_get_percentcomplete (pct));

          item_set_value (item, "percent-complete", v);
        }
      for (guint i = 0; i < G_N_ELEMENTS (task_status); i++)
        if (task_status[i].status == status)
          {
            const char *sym = task_status[i].symbol;
            g_autoptr (LiaValue) v = NULL;

            /* Phone calls and the like know open/completed/canceled only. */
            if (entity != LIA_ENTITY_TASK && status == I_CAL_STATUS_INPROCESS)
              sym = "open";
            if (entity != LIA_ENTITY_TASK && status == I_CAL_STATUS_NEEDSACTION)
              sym = "open";
            v = lia_value_new_enum (sym);
            item_set_value (item, "status", v);
          }
    }
  else
    {
      g_autoptr (LiaValue) end = comp_time_value (comp, I_CAL_DTEND_PROPERTY, tz_client, cancellable);
      g_autoptr (ICalProperty) dtstart = i_cal_component_get_first_property (comp, I_CAL_DTSTART_PROPERTY);
      g_autoptr (ICalTime) st = dtstart != NULL ? i_cal_property_get_dtstart (dtstart) : NULL;
      g_autoptr (ICalProperty) transp = i_cal_component_get_first_property (comp, I_CAL_TRANSP_PROPERTY);
      gboolean free_time = transp != NULL && i_cal_property_get_transp (transp) == I_CAL_TRANSP_TRANSPARENT;
      g_autoptr (LiaValue) all_day = lia_value_new_boolean (st != NULL && i_cal_time_is_date (st));
      g_autoptr (LiaValue) show = lia_value_new_enum (free_time ? "free" : "busy");

      g_autoptr (LiaValue) required = comp_read_parties (comp, I_CAL_ATTENDEE_PROPERTY, FALSE);
      g_autoptr (LiaValue) optional = comp_read_parties (comp, I_CAL_ATTENDEE_PROPERTY, TRUE);
      g_autoptr (LiaValue) organizer = comp_read_parties (comp, I_CAL_ORGANIZER_PROPERTY, FALSE);

      item_set_value (item, "end", end);
      lia_evo_set_text (item, "location", i_cal_component_get_location (comp));
      item_set_value (item, "required-attendees", required);
      item_set_value (item, "optional-attendees", optional);
      item_set_value (item, "organizer", organizer);
      if (entity == LIA_ENTITY_RECURRING_APPOINTMENT)
        {
          g_autoptr (LiaValue) pattern = comp_read_recurrence (comp, tz_client, cancellable);

          item_set_value (item, "recurrence", pattern);
        }
      /* All-day is what DTSTART's value type says; without a DTSTART there
       * is nothing to say. Synchronized without all-day (CRM had none) and
       * still timed, it still has none: "false" would read as a host edit
       * of every such item. Made all-day by the user it reads true, and
       * timed again after that sync, false. */
      if (st != NULL && (i_cal_time_is_date (st) || !original_lacks (comp, "all-day")))
        item_set_value (item, "all-day", all_day);
      /* Absent TRANSP means busy in RFC 5545, but it also means nobody
       * chose: reporting "busy" would make an item written without the
       * field read back different from what was written. */
      if (transp != NULL)
        item_set_value (item, "show-time-as", show);
    }
  if (rest != NULL && lia_item_get_entity (rest) == entity)
    {
      guint n = 0;
      const LiaFieldInfo *list = lia_field_list (entity, &n);

      for (guint i = 0; i < n; i++)
        {
          LiaValue *kept = lia_item_get_at (rest, i);
          LiaValue *native = lia_item_get_at (item, i);

          if (is_time_field (list[i].name))
            {
              /* The exact time stands while the native one is it cut to
               * the second: no host edit can be finer than a second. */
              if (has_sub_second (kept) && native != NULL && lia_value_get_kind (native) == LIA_VALUE_DATETIME
                  && lia_value_get_instant (native) == whole_seconds (lia_value_get_instant (kept)))
                lia_item_set_at (item, i, kept, NULL);
            }
          else if (g_str_equal (list[i].name, "status"))
            {
              /* The exact status stands while the iCalendar one matches it. */
              if (kept != NULL && native != NULL
                  && status_for_symbol (lia_value_get_enum (kept)) == i_cal_component_get_status (comp))
                lia_item_set_at (item, i, kept, NULL);
            }
          else if (g_str_equal (list[i].name, "show-time-as"))
            {
              const char *k = kept != NULL ? lia_value_get_enum (kept) : NULL;

              /* tentative and out-of-office are busy time in TRANSP. */
              if (k != NULL && native != NULL
                  && (g_str_equal (k, "free") == g_str_equal (lia_value_get_enum (native), "free")))
                lia_item_set_at (item, i, kept, NULL);
            }
          else if (g_str_equal (list[i].name, "recurrence"))
            {
              /* An RRULE LiaRecurrence cannot say reads as the pattern
               * last written, rather than as no pattern at all. */
              if (native == NULL && kept != NULL && e_cal_util_component_has_rrules (comp))
                lia_item_set_at (item, i, kept, NULL);
            }
          else if (g_str_equal (list[i].name, "required-attendees")
                   || g_str_equal (list[i].name, "optional-attendees")
                   || g_str_equal (list[i].name, "organizer"))
            {
              if (kept != NULL && parties_same_people (kept, native))
                lia_item_set_at (item, i, kept, NULL);
            }
          else if (!(todo ? g_strv_contains (task_native, list[i].name)
                          : g_strv_contains (event_native, list[i].name)))
            lia_item_set_at (item, i, kept, NULL);
        }
    }
  id = lia_evo_item_id_for_component (todo ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
                                      uid, rid_text);
  hi = lia_host_item_new (LIA_EVO_STORE, folder, id, item);
  lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
  hi->modified_at = modified;
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      g_autofree char *v = comp_dup_x (comp, lia_evo_x_prop_name (p));

      if (v != NULL)
        lia_host_props_set (&hi->props, (LiaHostProp) p, v);
    }
  if (hi->props.mask & (1u << LIA_HOST_PROP_REGARDING))
    hi->props.regarding_name = comp_dup_x (comp, LIA_EVO_X_REGARDING_NAME);
  return hi;
}

static void
comp_remove_all (ICalComponent *comp, ICalPropertyKind kind)
{
  ICalProperty *prop;

  while ((prop = i_cal_component_get_first_property (comp, kind)) != NULL)
    {
      i_cal_component_remove_property (comp, prop);
      g_object_unref (prop);
    }
}

/* A DTSTART/DTEND/DUE/COMPLETED/EXDATE property for an instant: a DATE,
 * UTC, or local time with the TZID of a builtin zone (appended to @zones
 * so the caller adds it to the calendar). */
static ICalProperty *
time_property (ICalPropertyKind kind, gint64 instant_us, const char *tzid, gboolean as_date, GPtrArray *zones)
{
  ICalTimezone *zone = NULL;
  g_autoptr (ICalTime) t = NULL;
  ICalProperty *prop;
  time_t secs = (time_t) (instant_us / G_USEC_PER_SEC);

  if (as_date)
    {
      t = i_cal_time_new_from_timet_with_zone (secs, TRUE, NULL);
    }
  else
    {
      if (tzid != NULL && kind != I_CAL_COMPLETED_PROPERTY && g_strcmp0 (tzid, "UTC") != 0)
        zone = i_cal_timezone_get_builtin_timezone (tzid);
      t = i_cal_time_new_from_timet_with_zone (secs, FALSE,
                                               zone != NULL ? zone : i_cal_timezone_get_utc_timezone ());
      /* libical converts the fields to @zone but leaves the time marked
       * UTC, which serializes as "DTSTART;TZID=Europe/Berlin:...T100000Z":
       * the zone must be set on the time itself. */
      i_cal_time_set_timezone (t, zone != NULL ? zone : i_cal_timezone_get_utc_timezone ());
    }
  switch (kind)
    {
    case I_CAL_DTSTART_PROPERTY:
      prop = i_cal_property_new_dtstart (t);
      break;
    case I_CAL_DTEND_PROPERTY:
      prop = i_cal_property_new_dtend (t);
      break;
    case I_CAL_DUE_PROPERTY:
      prop = i_cal_property_new_due (t);
      break;
    case I_CAL_EXDATE_PROPERTY:
      prop = i_cal_property_new_exdate (t);
      break;
    case I_CAL_COMPLETED_PROPERTY:
    default:
      prop = i_cal_property_new_completed (t);
      break;
    }
  if (zone != NULL)
    {
      i_cal_property_take_parameter (prop, i_cal_parameter_new_tzid (i_cal_timezone_get_tzid (zone)));
      if (zones != NULL)
        g_ptr_array_add (zones, zone);
    }
  return prop;
}

/* Writes a date-time field as DTSTART/DTEND/DUE/COMPLETED. */
static void
comp_put_time (ICalComponent *comp, ICalPropertyKind kind, LiaValue *value, gboolean as_date,
               GPtrArray *zones)
{
  comp_remove_all (comp, kind);
  if (value != NULL)
    i_cal_component_take_property (comp, time_property (kind, lia_value_get_instant (value),
                                                        lia_value_get_tzid (value), as_date, zones));
}

/* RRULE and EXDATEs from a pattern; EXDATEs take DTSTART's zone or DATE
 * type, as RFC 5545 requires them to match it. */
static void
comp_put_recurrence (ICalComponent *comp, LiaValue *value, LiaValue *start, gboolean as_date,
                     GPtrArray *zones)
{
  const LiaRecurrence *rec = value != NULL ? lia_value_get_recurrence (value) : NULL;
  g_autoptr (ICalRecurrence) r = NULL;
  guint n_day = 0;

  comp_remove_all (comp, I_CAL_RRULE_PROPERTY);
  comp_remove_all (comp, I_CAL_EXDATE_PROPERTY);
  if (rec == NULL)
    return;
  r = i_cal_recurrence_new ();
  i_cal_recurrence_set_freq (r, freq_map[rec->frequency]);
  i_cal_recurrence_set_interval (r, (gshort) MAX (rec->interval, 1u));
  if (rec->count > 0)
    i_cal_recurrence_set_count (r, (gint) rec->count);
  else if (rec->until_us != 0)
    {
      g_autoptr (ICalTime) until = i_cal_time_new_from_timet_with_zone (
          (time_t) (rec->until_us / G_USEC_PER_SEC), as_date, i_cal_timezone_get_utc_timezone ());

      /* UNTIL is UTC for a timed series, a DATE for an all-day one. */
      i_cal_time_set_timezone (until, as_date ? NULL : i_cal_timezone_get_utc_timezone ());
      i_cal_recurrence_set_until (r, until);
    }
  for (guint d = 0; d < 7; d++)
    if (rec->by_day & (1u << d))
      i_cal_recurrence_set_by_day (r, n_day++, (gshort) weekday_to_ical (d));
  if (n_day < I_CAL_BY_DAY_SIZE)
    i_cal_recurrence_set_by_day (r, n_day, I_CAL_RECURRENCE_ARRAY_MAX);
  if (rec->by_set_pos != 0)
    {
      i_cal_recurrence_set_by_set_pos (r, 0, (gshort) rec->by_set_pos);
      i_cal_recurrence_set_by_set_pos (r, 1, I_CAL_RECURRENCE_ARRAY_MAX);
    }
  if (rec->by_month_day != 0)
    {
      i_cal_recurrence_set_by_month_day (r, 0, (gshort) rec->by_month_day);
      i_cal_recurrence_set_by_month_day (r, 1, I_CAL_RECURRENCE_ARRAY_MAX);
    }
  if (rec->by_month != 0)
    {
      i_cal_recurrence_set_by_month (r, 0, (gshort) rec->by_month);
      i_cal_recurrence_set_by_month (r, 1, I_CAL_RECURRENCE_ARRAY_MAX);
    }
  if (rec->week_start != 0)
    i_cal_recurrence_set_week_start (r, weekday_to_ical (rec->week_start));
  i_cal_component_take_property (comp, i_cal_property_new_rrule (r));
  for (gsize i = 0; i < rec->n_exdates; i++)
    i_cal_component_take_property (comp, time_property (I_CAL_EXDATE_PROPERTY, rec->exdates_us[i],
                                                        start != NULL ? lia_value_get_tzid (start) : NULL,
                                                        as_date, zones));
}

/* ATTENDEEs of one role, or the ORGANIZER (its first party: iCalendar
 * has one organizer; the whole list stays in the remainder). */
static void
comp_put_parties (ICalComponent *comp, ICalPropertyKind kind, LiaValue *value, ICalParameterRole role)
{
  gsize n = value != NULL ? lia_value_get_n_parties (value) : 0;

  if (kind == I_CAL_ORGANIZER_PROPERTY)
    n = MIN (n, 1);
  for (gsize i = 0; i < n; i++)
    {
      const LiaParty *party = lia_value_get_party (value, i);
      g_autofree char *cal_address =
          party->address != NULL ? g_strconcat ("mailto:", party->address, NULL) : g_strdup (NO_MAIL);
      ICalProperty *prop = kind == I_CAL_ATTENDEE_PROPERTY ? i_cal_property_new_attendee (cal_address)
                                                           : i_cal_property_new_organizer (cal_address);

      if (party->name != NULL)
        i_cal_property_take_parameter (prop, i_cal_parameter_new_cn (party->name));
      if (kind == I_CAL_ATTENDEE_PROPERTY)
        i_cal_property_take_parameter (prop, i_cal_parameter_new_role (role));
      i_cal_component_take_property (comp, prop);
    }
}

static void
comp_put_text (ICalComponent *comp, ICalPropertyKind kind, const char *text)
{
  comp_remove_all (comp, kind);
  if (text == NULL || *text == '\0')
    return;
  switch (kind)
    {
    case I_CAL_SUMMARY_PROPERTY:
      i_cal_component_set_summary (comp, text);
      break;
    case I_CAL_DESCRIPTION_PROPERTY:
      i_cal_component_set_description (comp, text);
      break;
    case I_CAL_LOCATION_PROPERTY:
    default:
      i_cal_component_set_location (comp, text);
      break;
    }
}

gboolean
lia_evo_comp_apply (ICalComponent *comp, const LiaItem *fields, const LiaHostProps *props,
                    GPtrArray *out_zones, GError **error)
{
  gboolean todo = comp_is_todo (comp);

  if (fields != NULL)
    {
      LiaEntity entity = lia_item_get_entity (fields);
      g_autofree char *rest = NULL;
      LiaValue *v;

      if (todo
              != (entity == LIA_ENTITY_TASK || entity == LIA_ENTITY_PHONE_CALL || entity == LIA_ENTITY_LETTER
                  || entity == LIA_ENTITY_FAX)
          || (!todo && entity != LIA_ENTITY_APPOINTMENT && entity != LIA_ENTITY_RECURRING_APPOINTMENT
              && entity != LIA_ENTITY_SERVICE_APPOINTMENT))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "a %s does not fit a %s",
                       lia_entity_to_string (entity), todo ? "task list" : "calendar");
          return FALSE;
        }
      rest =
          lia_evo_remainder_encode (fields, todo ? task_keep_in_remainder : event_keep_in_remainder, error);
      if (rest == NULL)
        return FALSE;
      comp_put_text (comp, I_CAL_SUMMARY_PROPERTY, lia_item_get_text (fields, "subject"));
      comp_put_text (comp, I_CAL_DESCRIPTION_PROPERTY, lia_item_get_text (fields, "description"));
      comp_remove_all (comp, I_CAL_PRIORITY_PROPERTY);
      v = lia_item_get (fields, "priority");
      if (v != NULL)
        {
          const char *sym = lia_value_get_enum (v);

          i_cal_component_take_property (comp, i_cal_property_new_priority (g_str_equal (sym, "high")  ? 1
                                                                            : g_str_equal (sym, "low") ? 9
                                                                                                       : 5));
        }
      if (todo)
        {
          comp_put_time (comp, I_CAL_DTSTART_PROPERTY, lia_item_get (fields, "start"), FALSE, out_zones);
          comp_put_time (comp, I_CAL_DUE_PROPERTY, lia_item_get (fields, "due"), FALSE, out_zones);
          comp_put_time (comp, I_CAL_COMPLETED_PROPERTY, lia_item_get (fields, "completed"), FALSE,
                         out_zones);
          comp_remove_all (comp, I_CAL_PERCENTCOMPLETE_PROPERTY);
          v = lia_item_get (fields, "percent-complete");
          if (v != NULL)
            i_cal_component_take_property (
                comp, i_cal_property_new_percentcomplete ((gint) CLAMP (lia_value_get_integer (v), 0, 100)));
          comp_remove_all (comp, I_CAL_STATUS_PROPERTY);
          v = lia_item_get (fields, "status");
          if (v != NULL)
            {
              const char *sym = lia_value_get_enum (v);

              i_cal_component_set_status (comp, g_str_equal (sym, "open") ? I_CAL_STATUS_NEEDSACTION
                                                                          : status_for_symbol (sym));
            }
          if (entity != LIA_ENTITY_TASK)
            comp_put_x (comp, LIA_EVO_X_ENTITY, lia_entity_to_string (entity));
          else
            comp_put_x (comp, LIA_EVO_X_ENTITY, NULL);
        }
      else
        {
          LiaValue *all_day = lia_item_get (fields, "all-day");
          gboolean as_date = all_day != NULL && lia_value_get_boolean (all_day);

          comp_put_text (comp, I_CAL_LOCATION_PROPERTY, lia_item_get_text (fields, "location"));
          comp_put_time (comp, I_CAL_DTSTART_PROPERTY, lia_item_get (fields, "start"), as_date, out_zones);
          comp_put_time (comp, I_CAL_DTEND_PROPERTY, lia_item_get (fields, "end"), as_date, out_zones);
          /* A detached instance has no rule of its own: the master's
           * RRULE and EXDATEs are the series'. */
          if (entity == LIA_ENTITY_RECURRING_APPOINTMENT && !comp_is_instance (comp))
            comp_put_recurrence (comp, lia_item_get (fields, "recurrence"), lia_item_get (fields, "start"),
                                 as_date, out_zones);
          comp_remove_all (comp, I_CAL_ATTENDEE_PROPERTY);
          comp_remove_all (comp, I_CAL_ORGANIZER_PROPERTY);
          comp_put_parties (comp, I_CAL_ORGANIZER_PROPERTY, lia_item_get (fields, "organizer"),
                            I_CAL_ROLE_CHAIR);
          comp_put_parties (comp, I_CAL_ATTENDEE_PROPERTY, lia_item_get (fields, "required-attendees"),
                            I_CAL_ROLE_REQPARTICIPANT);
          comp_put_parties (comp, I_CAL_ATTENDEE_PROPERTY, lia_item_get (fields, "optional-attendees"),
                            I_CAL_ROLE_OPTPARTICIPANT);
          comp_remove_all (comp, I_CAL_TRANSP_PROPERTY);
          v = lia_item_get (fields, "show-time-as");
          if (v != NULL)
            i_cal_component_take_property (
                comp, i_cal_property_new_transp (g_str_equal (lia_value_get_enum (v), "free")
                                                     ? I_CAL_TRANSP_TRANSPARENT
                                                     : I_CAL_TRANSP_OPAQUE));
        }
      comp_put_x (comp, LIA_EVO_X_FIELDS, NULL);
      if (*rest != '\0')
        e_cal_util_component_set_x_property (comp, LIA_EVO_X_FIELDS, rest);
    }
  if (props != NULL)
    {
      for (guint p = 0; p < LIA_HOST_PROP_N; p++)
        {
          char digit[2] = { 0 };

          if (!(props->mask & (1u << p)))
            continue;
          switch ((LiaHostProp) p)
            {
            case LIA_HOST_PROP_LINK_STATE:
              digit[0] = (char) ('0' + (props->link_state % 10));
              comp_put_x (comp, lia_evo_x_prop_name (p), digit);
              break;
            case LIA_HOST_PROP_CRM_ID:
              comp_put_x (comp, lia_evo_x_prop_name (p), props->crm_id);
              break;
            case LIA_HOST_PROP_CRM_ORG:
              comp_put_x (comp, lia_evo_x_prop_name (p), props->crm_org);
              break;
            case LIA_HOST_PROP_ORIGINAL:
              comp_put_x (comp, lia_evo_x_prop_name (p), props->original);
              break;
            case LIA_HOST_PROP_REGARDING:
            case LIA_HOST_PROP_N:
            default:
              comp_put_x (comp, lia_evo_x_prop_name (p), props->regarding_id);
              comp_put_x (comp, LIA_EVO_X_REGARDING_NAME, props->regarding_name);
              break;
            }
        }
    }
  return TRUE;
}
