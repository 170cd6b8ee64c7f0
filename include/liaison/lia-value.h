/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-entity.h>

G_BEGIN_DECLS

/**
 * LiaValueKind:
 * @LIA_VALUE_TEXT: UTF-8 text; "" (empty) is a value, distinct from absent
 * @LIA_VALUE_DATETIME: an instant (microseconds since the epoch, UTC) with
 *   the IANA time zone it was entered in (or none: UTC)
 * @LIA_VALUE_DATE: a calendar date without time (birthdays, all-day days)
 * @LIA_VALUE_INTEGER: a 64-bit integer
 * @LIA_VALUE_BOOLEAN: true or false
 * @LIA_VALUE_ENUM: one symbol of the field's enumeration ("high", "busy")
 * @LIA_VALUE_REFERENCE: a CRM record: entity, id and display name
 * @LIA_VALUE_PARTY_LIST: ordered people: address, name, resolved record
 * @LIA_VALUE_RECURRENCE: a recurrence pattern (RFC 5545 subset)
 * @LIA_VALUE_N: the number of kinds
 *
 * Stored in OriginalXML by name: append only.
 */
typedef enum
{
  LIA_VALUE_TEXT,
  LIA_VALUE_DATETIME,
  LIA_VALUE_DATE,
  LIA_VALUE_INTEGER,
  LIA_VALUE_BOOLEAN,
  LIA_VALUE_ENUM,
  LIA_VALUE_REFERENCE,
  LIA_VALUE_PARTY_LIST,
  LIA_VALUE_RECURRENCE,
  LIA_VALUE_N
} LiaValueKind;

/**
 * LiaParty:
 * @address: (nullable): the email address
 * @name: (nullable): the display name
 * @entity: the CRM record it resolved to, or %LIA_ENTITY_N when unresolved
 * @id: (nullable): that record's id
 *
 * One entry of a party list (attendees, recipients, organizer).
 */
typedef struct
{
  const char *address;
  const char *name;
  LiaEntity entity;
  const char *id;
} LiaParty;

/**
 * LiaRecurFrequency:
 *
 * How often a recurrence repeats.
 */
typedef enum
{
  LIA_RECUR_DAILY,
  LIA_RECUR_WEEKLY,
  LIA_RECUR_MONTHLY,
  LIA_RECUR_YEARLY,
  LIA_RECUR_N
} LiaRecurFrequency;

/**
 * LiaRecurrence:
 * @frequency: daily, weekly, monthly, yearly
 * @interval: every @interval periods, at least 1
 * @count: number of occurrences, 0 for no count
 * @until_us: last possible start (microseconds, UTC), 0 for none; with
 *   @count 0 too, the series is endless
 * @by_day: weekday mask, bit 0 Monday .. bit 6 Sunday; 0 for none
 * @by_month_day: 1..31, -1 for the last day, 0 for none
 * @by_month: 1..12, 0 for none
 * @by_set_pos: 1..5, -1 for the last, 0 for none ("second Tuesday")
 * @week_start: 0 Monday .. 6 Sunday
 * @exdates_us: (array length=n_exdates) (nullable): start instants removed
 *   from the series, ascending
 * @n_exdates: length of @exdates_us
 *
 * The recurrence pattern of a series. A plain struct: it is copied into a
 * #LiaValue, which owns its copy.
 */
typedef struct
{
  LiaRecurFrequency frequency;
  guint interval;
  guint count;
  gint64 until_us;
  guint by_day;
  gint by_month_day;
  guint by_month;
  gint by_set_pos;
  guint week_start;
  const gint64 *exdates_us;
  gsize n_exdates;
} LiaRecurrence;

/**
 * LiaValue:
 *
 * One typed field value. Immutable and reference counted, so items and
 * merges share values without copying. An absent field has no #LiaValue
 * (NULL); an empty text is a #LiaValue holding "".
 */
typedef struct _LiaValue LiaValue;

LIA_API LiaValue *lia_value_ref (LiaValue *value);
LIA_API void lia_value_unref (LiaValue *value);

/**
 * lia_value_new_text:
 * @text: UTF-8 text, may be ""
 *
 * Returns: (transfer full) (nullable): a text value, or %NULL when @text is
 *   not valid UTF-8.
 */
LIA_API LiaValue *lia_value_new_text (const char *text);

/**
 * lia_value_new_text_len:
 * @text: UTF-8 text, need not be NUL-terminated
 * @len: its length in bytes
 *
 * Returns: (transfer full) (nullable): a text value, or %NULL when the bytes
 *   are not valid UTF-8 or contain NUL.
 */
LIA_API LiaValue *lia_value_new_text_len (const char *text, gsize len);

/**
 * lia_value_new_datetime:
 * @instant_us: microseconds since the Unix epoch, UTC
 * @tzid: (nullable): IANA zone the time was entered in; %NULL for UTC
 *
 * Returns: (transfer full): a date-time value.
 */
LIA_API LiaValue *lia_value_new_datetime (gint64 instant_us, const char *tzid);

/**
 * lia_value_new_date:
 * @year: 1..9999
 * @month: 1..12
 * @day: 1..31
 *
 * Returns: (transfer full) (nullable): a date value, or %NULL for a date that
 *   does not exist.
 */
LIA_API LiaValue *lia_value_new_date (guint year, guint month, guint day);

LIA_API LiaValue *lia_value_new_integer (gint64 integer);
LIA_API LiaValue *lia_value_new_boolean (gboolean boolean);

/**
 * lia_value_new_enum:
 * @symbol: a non-empty symbol of ASCII letters, digits and '-'
 *
 * Whether the symbol belongs to a field is checked when the value is set on
 * an item (lia_item_set()).
 *
 * Returns: (transfer full) (nullable): an enum value, or %NULL for a symbol
 *   of other characters.
 */
LIA_API LiaValue *lia_value_new_enum (const char *symbol);

/**
 * lia_value_new_reference:
 * @entity: the record's entity
 * @id: (nullable): its id (a UUID); %NULL for a name typed on the host that
 *   is not resolved yet
 * @name: (nullable): its display name
 *
 * Returns: (transfer full) (nullable): a reference, or %NULL when @entity is
 *   out of range, both @id and @name are %NULL, or a string is not UTF-8.
 */
LIA_API LiaValue *lia_value_new_reference (LiaEntity entity, const char *id, const char *name);

/**
 * lia_value_new_party_list:
 * @parties: (array length=n_parties) (nullable): the parties, copied
 * @n_parties: how many
 *
 * Returns: (transfer full) (nullable): a party list (possibly empty), or
 *   %NULL when a string is not UTF-8 or an entity is out of range.
 */
LIA_API LiaValue *lia_value_new_party_list (const LiaParty *parties, gsize n_parties);

/**
 * lia_value_new_recurrence:
 * @recurrence: the pattern, copied
 *
 * Returns: (transfer full) (nullable): a recurrence value, or %NULL when a
 *   member is out of its documented range or the exdates are not ascending.
 */
LIA_API LiaValue *lia_value_new_recurrence (const LiaRecurrence *recurrence);

LIA_API LiaValueKind lia_value_get_kind (const LiaValue *value);

/* Getters return borrowed data, valid as long as the value; called on a
 * value of another kind they warn and return a zero. */
LIA_API const char *lia_value_get_text (const LiaValue *value);
LIA_API gint64 lia_value_get_instant (const LiaValue *value);
LIA_API const char *lia_value_get_tzid (const LiaValue *value);
LIA_API void lia_value_get_date (const LiaValue *value, guint *out_year, guint *out_month, guint *out_day);
LIA_API guint32 lia_value_get_julian (const LiaValue *value);
LIA_API gint64 lia_value_get_integer (const LiaValue *value);
LIA_API gboolean lia_value_get_boolean (const LiaValue *value);
LIA_API const char *lia_value_get_enum (const LiaValue *value);
LIA_API LiaEntity lia_value_get_reference_entity (const LiaValue *value);
LIA_API const char *lia_value_get_reference_id (const LiaValue *value);
LIA_API const char *lia_value_get_reference_name (const LiaValue *value);
LIA_API gsize lia_value_get_n_parties (const LiaValue *value);
LIA_API const LiaParty *lia_value_get_party (const LiaValue *value, gsize index);
LIA_API const LiaRecurrence *lia_value_get_recurrence (const LiaValue *value);

/**
 * lia_value_equal:
 * @a: (nullable): a value
 * @b: (nullable): a value
 *
 * Semantic equality, as the merge compares: date-times compare their
 * instants (the same moment entered in two zones is equal), everything else
 * compares exactly. Two %NULL (absent) values are equal; absent never equals
 * a value, not even "".
 *
 * Returns: whether @a and @b mean the same.
 */
LIA_API gboolean lia_value_equal (const LiaValue *a, const LiaValue *b);

/**
 * lia_value_identical:
 * @a: (nullable): a value
 * @b: (nullable): a value
 *
 * Like lia_value_equal(), but date-times must also carry the same zone.
 * Round trips through OriginalXML are identical.
 *
 * Returns: whether @a and @b are the same in every stored detail.
 */
LIA_API gboolean lia_value_identical (const LiaValue *a, const LiaValue *b);

/**
 * lia_value_to_display:
 * @value: (nullable): a value
 *
 * Returns: (transfer full): a short one-line rendering for journals, logs
 *   and conflict lists; "(absent)" for %NULL.
 */
LIA_API char *lia_value_to_display (const LiaValue *value);

LIA_API const char *lia_value_kind_to_string (LiaValueKind kind);
LIA_API gboolean lia_value_kind_from_string (const char *name, LiaValueKind *out_kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaValue, lia_value_unref)

G_END_DECLS
