/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <liaison/liaison.h>

/* The field map of SPEC section 10 as data. One table per entity; the order
 * of a table is the order of item slots and of OriginalXML, so new fields are
 * appended, never inserted. The tests in tests/unit/test-field.c read these
 * tables back against SPEC section 10. */

#define BOTH LIA_DIRECTION_BOTH
#define TO_CRM LIA_DIRECTION_TO_CRM
#define TO_HOST LIA_DIRECTION_TO_HOST
#define NONE LIA_DIRECTION_NONE

#define F(name, crm, label, kind, dir, fixed)            \
  {                                                      \
    name, crm, label, LIA_VALUE_##kind, dir, fixed, NULL \
  }
#define E(name, crm, label, values, dir, fixed)          \
  {                                                      \
    name, crm, label, LIA_VALUE_ENUM, dir, fixed, values \
  }

static const char *const priority_values[] = { "low", "normal", "high", NULL };
static const char *const show_as_values[] = { "free", "tentative", "busy", "out-of-office", NULL };
static const char *const task_status_values[] = { "not-started", "in-progress", "waiting", "completed",
                                                  "deferred",    "canceled",    NULL };
static const char *const activity_status_values[] = { "open", "completed", "canceled", NULL };
static const char *const email_direction_values[] = { "incoming", "outgoing", NULL };

static const LiaFieldInfo contact_fields[] = {
  F ("full-name", "fullname", "Full name", TEXT, BOTH, TRUE),
  F ("given-name", "firstname", "Given name", TEXT, BOTH, FALSE),
  F ("family-name", "lastname", "Family name", TEXT, BOTH, FALSE),
  F ("nickname", "nickname", "Nickname", TEXT, BOTH, FALSE),
  F ("job-title", "jobtitle", "Job title", TEXT, BOTH, FALSE),
  F ("department", "department", "Department", TEXT, BOTH, FALSE),
  /* Company name / regarding: the parent account; R-CONTACT-COMPANY. */
  F ("company", "parentcustomerid", "Company", REFERENCE, BOTH, TRUE),
  F ("manager", "managername", "Manager", TEXT, BOTH, FALSE),
  F ("assistant", "assistantname", "Assistant", TEXT, BOTH, FALSE),
  F ("assistant-phone", "assistantphone", "Assistant phone", TEXT, BOTH, FALSE),
  F ("spouse", "spousesname", "Spouse", TEXT, BOTH, FALSE),
  F ("children", "childrensnames", "Children", TEXT, BOTH, FALSE),
  F ("birthday", "birthdate", "Birthday", DATE, BOTH, FALSE),
  F ("anniversary", "anniversary", "Anniversary", DATE, BOTH, FALSE),
  F ("email-1", "emailaddress1", "Email", TEXT, BOTH, FALSE),
  F ("email-2", "emailaddress2", "Email 2", TEXT, BOTH, FALSE),
  F ("email-3", "emailaddress3", "Email 3", TEXT, BOTH, FALSE),
  F ("business-phone", "telephone1", "Business phone", TEXT, BOTH, FALSE),
  F ("business-phone-2", "business2", "Business phone 2", TEXT, BOTH, FALSE),
  F ("home-phone", "telephone2", "Home phone", TEXT, BOTH, FALSE),
  F ("home-phone-2", "home2", "Home phone 2", TEXT, BOTH, FALSE),
  F ("mobile-phone", "mobilephone", "Mobile phone", TEXT, BOTH, FALSE),
  F ("pager", "pager", "Pager", TEXT, BOTH, FALSE),
  F ("business-fax", "fax", "Business fax", TEXT, BOTH, FALSE),
  F ("company-main-phone", "company", "Company main phone", TEXT, BOTH, FALSE),
  F ("callback", "callback", "Callback", TEXT, BOTH, FALSE),
  F ("other-phone", "telephone3", "Other phone", TEXT, BOTH, FALSE),
  F ("business-address", "address1_composite", "Business address", TEXT, BOTH, FALSE),
  F ("home-address", "address2_composite", "Home address", TEXT, BOTH, FALSE),
  F ("other-address", "address3_composite", "Other address", TEXT, BOTH, FALSE),
  F ("web-page", "websiteurl", "Web page", TEXT, BOTH, FALSE),
  F ("ftp-site", "ftpsiteurl", "FTP site", TEXT, BOTH, FALSE),
  F ("government-id", "governmentid", "Government ID", TEXT, BOTH, FALSE),
  F ("notes", "description", "Notes", TEXT, BOTH, FALSE),
  F ("yomi-given-name", "yomifirstname", "Yomi given name", TEXT, BOTH, FALSE),
  F ("yomi-family-name", "yomilastname", "Yomi family name", TEXT, BOTH, FALSE),
};

/* Appointments; a service appointment has the same rows, all CRM to host and
 * fixed (R-APPT-SERVICE), and a recurring one adds the pattern. */
#define APPOINTMENT_FIELDS(D, FX)                                                                        \
  F ("subject", "subject", "Subject", TEXT, D, FX), F ("location", "location", "Location", TEXT, D, FX), \
      F ("description", "description", "Notes", TEXT, D, FX),                                            \
      F ("start", "scheduledstart", "Start", DATETIME, D, TRUE),                                         \
      F ("end", "scheduledend", "End", DATETIME, D, TRUE),                                               \
      F ("all-day", "isalldayevent", "All day", BOOLEAN, D, TRUE),                                       \
      E ("priority", "prioritycode", "Importance", priority_values, D, TRUE),                            \
      E ("show-time-as", "statuscode", "Show time as", show_as_values, D, TRUE),                         \
      F ("required-attendees", "requiredattendees", "Required attendees", PARTY_LIST, D, TRUE),          \
      F ("optional-attendees", "optionalattendees", "Optional attendees", PARTY_LIST, D, TRUE),          \
      F ("organizer", "organizer", "Organizer", PARTY_LIST, D, TRUE),                                    \
      F ("regarding", "regardingobjectid", "Regarding", REFERENCE, D, TRUE)

static const LiaFieldInfo appointment_fields[] = {
  APPOINTMENT_FIELDS (BOTH, FALSE),
};

static const LiaFieldInfo recurring_appointment_fields[] = {
  APPOINTMENT_FIELDS (BOTH, FALSE),
  F ("recurrence", "recurrencepattern", "Recurrence", RECURRENCE, BOTH, TRUE),
};

static const LiaFieldInfo service_appointment_fields[] = {
  APPOINTMENT_FIELDS (TO_HOST, TRUE),
};

static const LiaFieldInfo task_fields[] = {
  F ("subject", "subject", "Subject", TEXT, BOTH, FALSE),
  F ("start", "scheduledstart", "Start date", DATETIME, BOTH, FALSE),
  F ("due", "scheduledend", "Due date", DATETIME, BOTH, FALSE),
  F ("completed", "actualend", "Date completed", DATETIME, BOTH, FALSE),
  F ("percent-complete", "percentcomplete", "% complete", INTEGER, BOTH, FALSE),
  E ("priority", "prioritycode", "Importance", priority_values, BOTH, TRUE),
  F ("description", "description", "Notes", TEXT, BOTH, FALSE),
  E ("status", "statuscode", "Status", task_status_values, BOTH, TRUE),
  F ("regarding", "regardingobjectid", "Regarding", REFERENCE, BOTH, TRUE),
  /* Derived on the client from the CRM due time; never sent (R-TASK-REMINDER). */
  F ("reminder", NULL, "Reminder", DATETIME, TO_HOST, TRUE),
};

/* Phone calls, letters and faxes carry the task-like fields. */
static const LiaFieldInfo task_like_fields[] = {
  F ("subject", "subject", "Subject", TEXT, BOTH, FALSE),
  F ("start", "scheduledstart", "Start date", DATETIME, BOTH, FALSE),
  F ("due", "scheduledend", "Due date", DATETIME, BOTH, FALSE),
  F ("completed", "actualend", "Date completed", DATETIME, BOTH, FALSE),
  E ("priority", "prioritycode", "Importance", priority_values, BOTH, TRUE),
  F ("description", "description", "Notes", TEXT, BOTH, FALSE),
  E ("status", "statuscode", "Status", activity_status_values, BOTH, TRUE),
  F ("regarding", "regardingobjectid", "Regarding", REFERENCE, BOTH, TRUE),
};

/* R-MAIL-TRACK: one-way host to CRM, except regarding. */
static const LiaFieldInfo email_fields[] = {
  E ("direction", "directioncode", "Direction", email_direction_values, TO_CRM, TRUE),
  F ("from", "from", "From", PARTY_LIST, TO_CRM, TRUE),
  F ("to", "to", "To", PARTY_LIST, TO_CRM, TRUE),
  F ("cc", "cc", "Cc", PARTY_LIST, TO_CRM, TRUE),
  F ("subject", "subject", "Subject", TEXT, TO_CRM, TRUE),
  F ("body", "description", "Body", TEXT, TO_CRM, TRUE),
  F ("message-id", "messageid", "Message-ID", TEXT, TO_CRM, TRUE),
  F ("in-reply-to", "inreplyto", "In-Reply-To", TEXT, TO_CRM, TRUE),
  F ("references", "references", "References", TEXT, TO_CRM, TRUE),
  F ("date", "senton", "Date", DATETIME, TO_CRM, TRUE),
  F ("regarding", "regardingobjectid", "Regarding", REFERENCE, BOTH, TRUE),
};

/* Regarding-only records are never mapped to host items (R-UNSUPPORTED);
 * the client knows their display name only. */
static const LiaFieldInfo account_fields[] = {
  F ("name", "name", "Name", TEXT, NONE, TRUE),
};
static const LiaFieldInfo lead_fields[] = {
  F ("name", "fullname", "Name", TEXT, NONE, TRUE),
};
static const LiaFieldInfo opportunity_fields[] = {
  F ("name", "name", "Name", TEXT, NONE, TRUE),
};
static const LiaFieldInfo incident_fields[] = {
  F ("name", "title", "Title", TEXT, NONE, TRUE),
};

typedef struct
{
  const LiaFieldInfo *fields;
  guint n_fields;
} FieldTable;

#define T(array)                \
  {                             \
    array, G_N_ELEMENTS (array) \
  }

static const FieldTable tables[] = {
  [LIA_ENTITY_CONTACT] = T (contact_fields),
  [LIA_ENTITY_APPOINTMENT] = T (appointment_fields),
  [LIA_ENTITY_RECURRING_APPOINTMENT] = T (recurring_appointment_fields),
  [LIA_ENTITY_SERVICE_APPOINTMENT] = T (service_appointment_fields),
  [LIA_ENTITY_TASK] = T (task_fields),
  [LIA_ENTITY_PHONE_CALL] = T (task_like_fields),
  [LIA_ENTITY_LETTER] = T (task_like_fields),
  [LIA_ENTITY_FAX] = T (task_like_fields),
  [LIA_ENTITY_EMAIL] = T (email_fields),
  [LIA_ENTITY_ACCOUNT] = T (account_fields),
  [LIA_ENTITY_LEAD] = T (lead_fields),
  [LIA_ENTITY_OPPORTUNITY] = T (opportunity_fields),
  [LIA_ENTITY_INCIDENT] = T (incident_fields),
};
G_STATIC_ASSERT (G_N_ELEMENTS (tables) == LIA_ENTITY_N);

static const char *const direction_codes[] = {
  [LIA_DIRECTION_NONE] = "x",
  [LIA_DIRECTION_TO_CRM] = "->",
  [LIA_DIRECTION_TO_HOST] = "<-",
  [LIA_DIRECTION_BOTH] = "<->",
};
G_STATIC_ASSERT (G_N_ELEMENTS (direction_codes) == LIA_DIRECTION_N);

const char *
lia_direction_to_string (LiaDirection direction)
{
  if ((guint) direction >= LIA_DIRECTION_N)
    return "?";
  return direction_codes[direction];
}

gboolean
lia_direction_from_string (const char *code, LiaDirection *out_direction)
{
  if (code == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_DIRECTION_N; i++)
    {
      if (g_str_equal (code, direction_codes[i]))
        {
          if (out_direction != NULL)
            *out_direction = (LiaDirection) i;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
lia_direction_allows_to_crm (LiaDirection direction)
{
  return (direction & LIA_DIRECTION_TO_CRM) != 0;
}

gboolean
lia_direction_allows_to_host (LiaDirection direction)
{
  return (direction & LIA_DIRECTION_TO_HOST) != 0;
}

const LiaFieldInfo *
lia_field_list (LiaEntity entity, guint *out_n_fields)
{
  if ((guint) entity >= LIA_ENTITY_N)
    {
      if (out_n_fields != NULL)
        *out_n_fields = 0;
      return NULL;
    }
  if (out_n_fields != NULL)
    *out_n_fields = tables[entity].n_fields;
  return tables[entity].fields;
}

gint
lia_field_index (LiaEntity entity, const char *name)
{
  if ((guint) entity >= LIA_ENTITY_N || name == NULL)
    return -1;
  /* Tables are short (at most 36 rows); a scan beats a hash here. */
  for (guint i = 0; i < tables[entity].n_fields; i++)
    {
      if (strcmp (tables[entity].fields[i].name, name) == 0)
        return (gint) i;
    }
  return -1;
}

const LiaFieldInfo *
lia_field_lookup (LiaEntity entity, const char *name)
{
  gint index = lia_field_index (entity, name);

  return index < 0 ? NULL : &tables[entity].fields[index];
}

const LiaFieldInfo *
lia_field_lookup_crm (LiaEntity entity, const char *crm_name)
{
  if ((guint) entity >= LIA_ENTITY_N || crm_name == NULL)
    return NULL;
  for (guint i = 0; i < tables[entity].n_fields; i++)
    {
      if (g_strcmp0 (tables[entity].fields[i].crm_name, crm_name) == 0)
        return &tables[entity].fields[i];
    }
  return NULL;
}

gboolean
lia_field_accepts (const LiaFieldInfo *field, const LiaValue *value, GError **error)
{
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (value == NULL)
    return TRUE;
  if (lia_value_get_kind (value) != field->kind)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Field \"%s\" takes a %s value, not a %s value",
                   field->name, lia_value_kind_to_string (field->kind),
                   lia_value_kind_to_string (lia_value_get_kind (value)));
      return FALSE;
    }
  if (field->kind == LIA_VALUE_ENUM)
    {
      const char *symbol = lia_value_get_enum (value);
      for (const char *const *v = field->enum_values; v != NULL && *v != NULL; v++)
        {
          if (strcmp (*v, symbol) == 0)
            return TRUE;
        }
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Field \"%s\" has no value \"%s\"", field->name,
                   symbol);
      return FALSE;
    }
  return TRUE;
}
