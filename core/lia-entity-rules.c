/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-entity-rules-private.h"

/* Entity-specific rules (SPEC section 7). The ones that change what a merge
 * may write are rows of the table below: for the listed entities, when the
 * condition holds, the field (or every field) keeps only the directions in
 * 'allowed'. Rules only take directions away, so the order of the rows does
 * not matter and a rule can never send a field the org or the user's
 * field-level security holds back. */

#define BIT(e) (1u << (e))
#define APPOINTMENTS (BIT (LIA_ENTITY_APPOINTMENT) | BIT (LIA_ENTITY_RECURRING_APPOINTMENT))
#define ALL_APPOINTMENTS (APPOINTMENTS | BIT (LIA_ENTITY_SERVICE_APPOINTMENT))
#define TASK_LIKE \
  (BIT (LIA_ENTITY_TASK) | BIT (LIA_ENTITY_PHONE_CALL) | BIT (LIA_ENTITY_LETTER) | BIT (LIA_ENTITY_FAX))
#define REGARDING_ONLY                                                             \
  (BIT (LIA_ENTITY_ACCOUNT) | BIT (LIA_ENTITY_LEAD) | BIT (LIA_ENTITY_OPPORTUNITY) \
   | BIT (LIA_ENTITY_INCIDENT))
/* R-MAIL-TRACK: "the only synced email field afterwards is regarding". The
 * other email fields go to CRM when the message is tracked (the create)
 * and never in a merge, so that the host's reduced original
 * (lia_entity_rules_dup_host_original()) can never make them look changed.
 * One row per field: rules only take directions away, and regarding keeps
 * its two. */
#define MAIL_TRACKED(field)                                                                      \
  {                                                                                              \
    "R-MAIL-TRACK", BIT (LIA_ENTITY_EMAIL), LIA_ENTITY_RULE_IF_LINKED, field, LIA_DIRECTION_NONE \
  }

static const LiaEntityRuleRow entity_rules[] = {
  { "R-APPT-PAST", ALL_APPOINTMENTS, LIA_ENTITY_RULE_IF_PAST, NULL, LIA_DIRECTION_NONE },
  { "R-APPT-SERVICE", BIT (LIA_ENTITY_SERVICE_APPOINTMENT), LIA_ENTITY_RULE_ALWAYS, NULL,
    LIA_DIRECTION_TO_HOST },
  { "R-APPT-ORGANIZER", APPOINTMENTS, LIA_ENTITY_RULE_IF_HOST_ORGANIZER_ABSENT, "organizer",
    LIA_DIRECTION_TO_CRM },
  { "R-TASK-CLOSED", TASK_LIKE, LIA_ENTITY_RULE_IF_CRM_CLOSED, NULL, LIA_DIRECTION_TO_HOST },
  { "R-TASK-REMINDER", BIT (LIA_ENTITY_TASK), LIA_ENTITY_RULE_ALWAYS, "reminder", LIA_DIRECTION_TO_HOST },
  { "R-CONTACT-COMPANY", BIT (LIA_ENTITY_CONTACT), LIA_ENTITY_RULE_IF_COMPANY_SETTING_ON, "company",
    LIA_DIRECTION_TO_HOST },
  { "R-CONTACT-COMPANY", BIT (LIA_ENTITY_CONTACT), LIA_ENTITY_RULE_IF_COMPANY_SETTING_OFF, "company",
    LIA_DIRECTION_NONE },
  { "R-UNSUPPORTED", REGARDING_ONLY, LIA_ENTITY_RULE_ALWAYS, NULL, LIA_DIRECTION_NONE },
  MAIL_TRACKED ("direction"),
  MAIL_TRACKED ("from"),
  MAIL_TRACKED ("to"),
  MAIL_TRACKED ("cc"),
  MAIL_TRACKED ("subject"),
  MAIL_TRACKED ("body"),
  MAIL_TRACKED ("message-id"),
  MAIL_TRACKED ("in-reply-to"),
  MAIL_TRACKED ("references"),
  MAIL_TRACKED ("date"),
};
G_STATIC_ASSERT (LIA_ENTITY_N <= 32);

static const char *const condition_names[] = {
  [LIA_ENTITY_RULE_ALWAYS] = "always",
  [LIA_ENTITY_RULE_IF_PAST] = "tracked, and past on both sides",
  [LIA_ENTITY_RULE_IF_HOST_ORGANIZER_ABSENT] = "the host item has no organizer",
  [LIA_ENTITY_RULE_IF_CRM_CLOSED] = "completed or canceled in CRM",
  [LIA_ENTITY_RULE_IF_COMPANY_SETTING_ON] = "\"update the Company field\" on",
  [LIA_ENTITY_RULE_IF_COMPANY_SETTING_OFF] = "\"update the Company field\" off",
  [LIA_ENTITY_RULE_IF_LINKED] = "tracked (both sides exist)",
};
G_STATIC_ASSERT (G_N_ELEMENTS (condition_names) == LIA_ENTITY_RULE_IF_N);

const LiaEntityRuleRow *
lia_entity_rules_get_table (guint *out_n_rows)
{
  if (out_n_rows != NULL)
    *out_n_rows = G_N_ELEMENTS (entity_rules);
  return entity_rules;
}

const char *
lia_entity_rule_condition_to_string (LiaEntityRuleCondition condition)
{
  return (guint) condition < LIA_ENTITY_RULE_IF_N ? condition_names[condition] : "?";
}

gboolean
lia_entity_rules_check_track (LiaEntity entity, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!lia_entity_is_host_mapped (entity))
    {
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_REFUSED,
          "A %s cannot be tracked from the mail client: only contacts, appointments, tasks and email "
          "are synchronized.",
          lia_entity_to_string (entity));
      return FALSE;
    }
  if (entity == LIA_ENTITY_SERVICE_APPOINTMENT)
    {
      g_set_error_literal (error, LIA_ERROR, LIA_ERROR_REFUSED,
                           "Service appointments are scheduled in CRM and only copied to the mail client. "
                           "Change this one in CRM.");
      return FALSE;
    }
  return TRUE;
}

gboolean
lia_entity_rules_check_crm_entity (const char *crm_entity_name, LiaEntity *out_entity, GError **error)
{
  LiaEntity entity = LIA_ENTITY_N;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!lia_entity_from_string (crm_entity_name, &entity))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Records of \"%s\" are not synchronized with the mail client: custom entities have no "
                   "counterpart there.",
                   crm_entity_name != NULL ? crm_entity_name : "(none)");
      return FALSE;
    }
  if (!lia_entity_is_host_mapped (entity))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Records of \"%s\" are not synchronized with the mail client: they are never mapped to "
                   "contacts or tasks.",
                   crm_entity_name);
      return FALSE;
    }
  if (out_entity != NULL)
    *out_entity = entity;
  return TRUE;
}

gboolean
lia_entity_rules_field_is_synced (LiaEntity entity, const char *field)
{
  const LiaFieldInfo *info = lia_field_lookup (entity, field);

  return info != NULL && info->direction != LIA_DIRECTION_NONE;
}

static gboolean
get_instant (const LiaItem *item, const char *field, gint64 *out_us)
{
  LiaValue *value = lia_item_get (item, field);

  if (value == NULL || lia_value_get_kind (value) != LIA_VALUE_DATETIME)
    return FALSE;
  *out_us = lia_value_get_instant (value);
  return TRUE;
}

gboolean
lia_entity_rules_is_past (const LiaItem *item, gint64 now_us)
{
  gint64 start = 0, end = 0;
  gboolean has_start, has_end;

  g_return_val_if_fail (item != NULL, FALSE);

  has_start = get_instant (item, "start", &start);
  has_end = get_instant (item, "end", &end);
  switch (lia_item_get_entity (item))
    {
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      if (has_end)
        return end <= now_us;
      return has_start && start <= now_us;
    case LIA_ENTITY_RECURRING_APPOINTMENT:
      {
        LiaValue *pattern = lia_item_get (item, "recurrence");
        const LiaRecurrence *r;
        gint64 length = has_start && has_end && end > start ? end - start : 0;

        if (pattern == NULL)
          return FALSE;
        r = lia_value_get_recurrence (pattern);
        /* until_us is the last possible start; its occurrence ends 'length'
         * later. A count alone would need an expansion, and an expansion
         * needs the zone: R-APPT-RECUR's window bounds those series. */
        return r->until_us != 0 && r->until_us <= now_us - length;
      }
    case LIA_ENTITY_CONTACT:
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
    case LIA_ENTITY_EMAIL:
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return FALSE;
    }
}

gboolean
lia_entity_rules_is_closed (const LiaItem *item)
{
  LiaValue *status;
  const char *symbol;

  g_return_val_if_fail (item != NULL, FALSE);

  switch (lia_item_get_entity (item))
    {
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      break;
    case LIA_ENTITY_CONTACT:
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
    case LIA_ENTITY_EMAIL:
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return FALSE;
    }
  status = lia_item_get (item, "status");
  if (status == NULL)
    return FALSE;
  symbol = lia_value_get_enum (status);
  return g_strcmp0 (symbol, "completed") == 0 || g_strcmp0 (symbol, "canceled") == 0;
}

static gboolean
has_organizer (const LiaItem *item)
{
  LiaValue *organizer = item != NULL ? lia_item_get (item, "organizer") : NULL;

  /* An empty party list is no organizer either. */
  return organizer != NULL && lia_value_get_n_parties (organizer) > 0;
}

static gboolean
condition_holds (LiaEntityRuleCondition condition, const LiaItem *host, const LiaItem *crm,
                 gboolean update_company_field, gint64 now_us)
{
  switch (condition)
    {
    case LIA_ENTITY_RULE_ALWAYS:
      return TRUE;
    case LIA_ENTITY_RULE_IF_PAST:
      /* Only once both sides exist: tracking a past appointment still
       * creates its CRM activity. Past on both: a host edit that moves a
       * past meeting into the future makes it current again, and so does
       * CRM's. */
      return host != NULL && crm != NULL && lia_entity_rules_is_past (host, now_us)
             && lia_entity_rules_is_past (crm, now_us);
    case LIA_ENTITY_RULE_IF_HOST_ORGANIZER_ABSENT:
      return !has_organizer (host);
    case LIA_ENTITY_RULE_IF_CRM_CLOSED:
      return crm != NULL && lia_entity_rules_is_closed (crm);
    case LIA_ENTITY_RULE_IF_COMPANY_SETTING_ON:
      return update_company_field;
    case LIA_ENTITY_RULE_IF_COMPANY_SETTING_OFF:
      return !update_company_field;
    case LIA_ENTITY_RULE_IF_LINKED:
      /* A merge: creating the counterpart (tracking) is not affected. */
      return host != NULL && crm != NULL;
    case LIA_ENTITY_RULE_IF_N:
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

LiaFieldPolicy *
lia_entity_rules_dup_item_policy (const LiaFieldPolicy *org_policy, const LiaItem *host, const LiaItem *crm,
                                  gboolean update_company_field, gint64 now_us)
{
  g_autoptr (LiaFieldPolicy) policy = NULL;
  LiaEntity entity;

  g_return_val_if_fail (org_policy != NULL, NULL);
  entity = lia_field_policy_get_entity (org_policy);
  g_return_val_if_fail (host == NULL || lia_item_get_entity (host) == entity, NULL);
  g_return_val_if_fail (crm == NULL || lia_item_get_entity (crm) == entity, NULL);

  policy = lia_field_policy_copy (org_policy);
  for (guint i = 0; i < G_N_ELEMENTS (entity_rules); i++)
    {
      const LiaEntityRuleRow *row = &entity_rules[i];
      if ((row->entities & BIT (entity)) == 0
          || !condition_holds (row->condition, host, crm, update_company_field, now_us))
        continue;
      lia_field_policy_restrict (policy, row->field, row->allowed);
    }
  return g_steal_pointer (&policy);
}

LiaItem *
lia_entity_rules_dup_crm_view (const LiaItem *crm)
{
  g_autoptr (LiaItem) view = NULL;

  g_return_val_if_fail (crm != NULL, NULL);

  view = lia_item_copy (crm);
  if (lia_item_get_entity (crm) == LIA_ENTITY_TASK)
    {
      /* R-TASK-REMINDER: the host reminder follows the CRM due time. Both
       * are date-times of the same entity, so the set cannot fail. */
      gboolean ok = lia_item_set (view, "reminder", lia_item_get (crm, "due"), NULL);
      g_assert (ok);
    }
  return g_steal_pointer (&view);
}

LiaItem *
lia_entity_rules_dup_host_original (const LiaItem *original)
{
  g_autoptr (LiaItem) reduced = NULL;
  gint regarding;

  g_return_val_if_fail (original != NULL, NULL);

  if (lia_item_get_entity (original) != LIA_ENTITY_EMAIL)
    return lia_item_copy (original);
  /* R-MAIL-TRACK: after tracking only regarding synchronizes, so only
   * regarding needs an original on the message; the cache keeps the full
   * view (correlation reads it). A regarding of the email's own entity
   * always fits its slot. */
  reduced = lia_item_new (LIA_ENTITY_EMAIL);
  regarding = lia_field_index (LIA_ENTITY_EMAIL, "regarding");
  if (regarding < 0
      || !lia_item_set_at (reduced, (guint) regarding, lia_item_get_at (original, (guint) regarding), NULL))
    return NULL;
  return g_steal_pointer (&reduced);
}

LiaItem *
lia_entity_rules_dup_relinked_original (const LiaItem *host_original, const LiaItem *host_item)
{
  g_autoptr (LiaItem) rebuilt = NULL;

  g_return_val_if_fail (host_item != NULL, NULL);

  /* Missing or corrupt stays missing (R-MERGE-ORIGINAL). */
  if (host_original == NULL || lia_item_get_entity (host_original) != lia_item_get_entity (host_item))
    return NULL;
  if (lia_item_get_entity (host_item) != LIA_ENTITY_EMAIL)
    return lia_item_copy (host_original);
  /* The message's own fields never change after tracking (R-MAIL-TRACK),
   * so the message is their last synchronized state; regarding is the
   * original's. A full original from an older client gives the same. */
  rebuilt = lia_item_copy (host_item);
  if (!lia_item_set (rebuilt, "regarding", lia_item_get (host_original, "regarding"), NULL))
    return NULL;
  return g_steal_pointer (&rebuilt);
}

static gint
compare_instants (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : (x > y ? 1 : 0);
}

GArray *
lia_entity_rules_recurring_instances (const LiaRecurrence *recurrence, GDateTime *dtstart,
                                      const gint64 *modified_us, gsize n_modified, gint64 now_us,
                                      GError **error)
{
  g_autoptr (GArray) instances = NULL;
  g_autoptr (GDateTime) now_utc = NULL;
  g_autoptr (GDateTime) now_local = NULL;
  g_autoptr (GDateTime) horizon = NULL;
  gint64 horizon_us = G_MAXINT64;
  gboolean truncated = FALSE;
  guint kept = 0;

  g_return_val_if_fail (recurrence != NULL, NULL);
  g_return_val_if_fail (dtstart != NULL, NULL);
  g_return_val_if_fail (modified_us != NULL || n_modified == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* "The next 12 months" as calendar months where the series lives. */
  now_utc = g_date_time_new_from_unix_utc (now_us / G_USEC_PER_SEC);
  now_local = now_utc != NULL ? g_date_time_to_timezone (now_utc, g_date_time_get_timezone (dtstart)) : NULL;
  horizon = now_local != NULL ? g_date_time_add_months (now_local, LIA_RECURRENCE_HORIZON_MONTHS) : NULL;
  if (horizon != NULL)
    horizon_us = g_date_time_to_unix (horizon) * G_USEC_PER_SEC + now_us % G_USEC_PER_SEC;

  instances = lia_recurrence_expand (recurrence, dtstart, now_us, horizon_us, &truncated, error);
  if (instances == NULL)
    return NULL;
  for (gsize i = 0; i < n_modified && !truncated; i++)
    {
      g_autoptr (GArray) hit = NULL;
      if (modified_us[i] == G_MAXINT64)
        continue;
      hit =
          lia_recurrence_expand (recurrence, dtstart, modified_us[i], modified_us[i] + 1, &truncated, error);
      if (hit == NULL)
        return NULL;
      if (hit->len == 1)
        g_array_append_val (instances, modified_us[i]);
    }
  if (truncated)
    {
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_INVALID,
          "The recurring series needs more than %u periods to expand; it is too dense to synchronize",
          LIA_RECURRENCE_MAX_PERIODS);
      return NULL;
    }

  g_array_sort (instances, compare_instants);
  for (guint i = 0; i < instances->len; i++)
    {
      if (kept > 0 && g_array_index (instances, gint64, kept - 1) == g_array_index (instances, gint64, i))
        continue;
      g_array_index (instances, gint64, kept++) = g_array_index (instances, gint64, i);
    }
  g_array_set_size (instances, kept);
  return g_steal_pointer (&instances);
}
