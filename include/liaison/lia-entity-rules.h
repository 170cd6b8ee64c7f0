/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-item.h>
#include <liaison/lia-field-policy.h>
#include <liaison/lia-recurrence.h>

G_BEGIN_DECLS

/**
 * LIA_RECURRENCE_HORIZON_MONTHS:
 *
 * How far ahead the instances of a recurring series exist in CRM
 * (R-APPT-RECUR): the next 12 months.
 */
#define LIA_RECURRENCE_HORIZON_MONTHS 12

/**
 * lia_entity_rules_check_track:
 * @entity: the entity a host item would be tracked as
 * @error: return location for a #GError
 *
 * Whether a host item may be tracked (its CRM record created from the
 * host). Leads, accounts, opportunities and cases have no host counterpart
 * (R-UNSUPPORTED); service appointments are created in CRM and only copied
 * to the host (R-APPT-SERVICE). A past appointment may be tracked
 * (R-APPT-PAST): see lia_entity_rules_dup_item_policy() for what happens
 * afterwards.
 *
 * Returns: %TRUE when allowed; %FALSE with %LIA_ERROR_REFUSED (the message
 *   is for the user) otherwise.
 */
LIA_API gboolean lia_entity_rules_check_track (LiaEntity entity, GError **error);

/**
 * lia_entity_rules_check_crm_entity:
 * @crm_entity_name: (nullable): the entity name of a CRM record, as the
 *   server spells it ("contact", "lead", "new_project")
 * @out_entity: (out): the entity, when it maps to host items
 * @error: return location for a #GError
 *
 * Whether records of a CRM entity are ever copied to the host
 * (R-UNSUPPORTED): leads, accounts, other activity types and custom
 * entities are never mapped to host contacts or tasks.
 *
 * Returns: %TRUE with @out_entity set; %FALSE with %LIA_ERROR_REFUSED
 *   otherwise (@out_entity untouched).
 */
LIA_API gboolean lia_entity_rules_check_crm_entity (const char *crm_entity_name, LiaEntity *out_entity,
                                                    GError **error);

/**
 * lia_entity_rules_field_is_synced:
 * @entity: an entity
 * @field: (nullable): a field name, as a host or a CRM record names it
 *
 * R-CUSTOM-FIELDS: user-defined fields are not part of the sync schema; only
 * the fields of the registry (SPEC section 10) are.
 *
 * Returns: %TRUE when @field is a registered field of @entity whose
 *   default direction synchronizes it at all.
 */
LIA_API gboolean lia_entity_rules_field_is_synced (LiaEntity entity, const char *field);

/**
 * lia_entity_rules_is_past:
 * @item: an appointment (single, recurring or service)
 * @now_us: the current instant, microseconds since the epoch (UTC)
 *
 * Whether an appointment has ended: its end (or, without one, its start) is
 * at or before @now_us. A recurring series has ended when its until instant
 * plus one occurrence's length has; a series bounded by a count only, or
 * endless, never counts as past here (R-APPT-RECUR bounds it instead).
 *
 * Returns: %TRUE for an appointment in the past; %FALSE for other entities
 *   and for appointments without times.
 */
LIA_API gboolean lia_entity_rules_is_past (const LiaItem *item, gint64 now_us);

/**
 * lia_entity_rules_is_closed:
 * @item: a task or task-like activity
 *
 * Returns: %TRUE when its status is completed or canceled (R-TASK-CLOSED);
 *   %FALSE for other entities.
 */
LIA_API gboolean lia_entity_rules_is_closed (const LiaItem *item);

/**
 * lia_entity_rules_dup_item_policy:
 * @org_policy: the entity's policy with the org's directions and the user's
 *   field-level security
 * @host: (nullable): the host item now; %NULL when it does not exist yet
 * @crm: (nullable): the CRM record now; %NULL when it does not exist yet
 * @update_company_field: the user setting R-SET-COMPANY
 * @now_us: the current instant, microseconds since the epoch (UTC)
 *
 * Narrows the org's policy for one item by the entity rules of SPEC section
 * 7, as data (one row per rule, see docs/rules.md):
 *
 * - R-APPT-PAST: once the appointment is tracked (both sides exist) and
 *   past on both, nothing synchronizes any more; creating its counterpart
 *   (tracking it) is not affected;
 * - R-APPT-SERVICE: service appointments go CRM to host only;
 * - R-APPT-ORGANIZER: while the host item has no organizer, CRM's is not
 *   written to it (an appointment created in CRM gets one when the host
 *   modifies it);
 * - R-TASK-CLOSED: while the task is completed or canceled in CRM, host
 *   edits are not sent;
 * - R-TASK-REMINDER: the reminder goes CRM to host only (see
 *   lia_entity_rules_dup_crm_view());
 * - R-CONTACT-COMPANY: the company field goes CRM to host only with the
 *   setting on, and not at all with it off;
 * - R-UNSUPPORTED: regarding-only entities synchronize nothing;
 * - R-MAIL-TRACK: once tracked (both sides exist), an email synchronizes
 *   regarding only; tracking it (the create) still sends every field.
 *
 * Rules only take directions away. Pure: no I/O, no shared state.
 *
 * Returns: (transfer full): the policy for this item's merge.
 */
LIA_API LiaFieldPolicy *lia_entity_rules_dup_item_policy (const LiaFieldPolicy *org_policy,
                                                          const LiaItem *host, const LiaItem *crm,
                                                          gboolean update_company_field, gint64 now_us);

/**
 * lia_entity_rules_dup_crm_view:
 * @crm: a CRM record as the connector read it
 *
 * Fills the fields the client derives from a CRM record before it is
 * merged: a task's reminder is its due time (R-TASK-REMINDER), so that a
 * changed CRM due time changes the host reminder and nothing else does.
 *
 * Returns: (transfer full): a copy of @crm with the derived fields set.
 */
LIA_API LiaItem *lia_entity_rules_dup_crm_view (const LiaItem *crm);

/**
 * lia_entity_rules_recurring_instances:
 * @recurrence: the series' pattern
 * @dtstart: the series' first start, in the zone it repeats in
 * @modified_us: (array length=n_modified) (nullable): the original starts
 *   (recurrence ids) of the instances modified as exceptions
 * @n_modified: the number of @modified_us
 * @now_us: the current instant, microseconds since the epoch (UTC)
 * @error: return location for a #GError
 *
 * R-APPT-RECUR: the series may be endless on the host, but CRM holds only
 * the instances that start within the next %LIA_RECURRENCE_HORIZON_MONTHS
 * months (from @now_us inclusive, calendar months in the series' zone) and
 * the modified exceptions, whenever they are. An exception whose recurrence
 * id is not an occurrence of the series (or was removed by an exdate) is
 * not an instance and is left out.
 *
 * Returns: (transfer full) (element-type gint64): the original starts of
 *   the instances CRM holds, ascending, without duplicates; %NULL with
 *   %LIA_ERROR_INVALID when the pattern is invalid or too dense to expand
 *   within %LIA_RECURRENCE_MAX_PERIODS.
 */
LIA_API GArray *lia_entity_rules_recurring_instances (const LiaRecurrence *recurrence, GDateTime *dtstart,
                                                      const gint64 *modified_us, gsize n_modified,
                                                      gint64 now_us, GError **error);

G_END_DECLS
