/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-version.h>

G_BEGIN_DECLS

/**
 * LiaEntity:
 * @LIA_ENTITY_CONTACT: a contact (host address book)
 * @LIA_ENTITY_APPOINTMENT: a single appointment (host calendar)
 * @LIA_ENTITY_RECURRING_APPOINTMENT: a recurring series (host calendar)
 * @LIA_ENTITY_SERVICE_APPOINTMENT: CRM to host only (R-APPT-SERVICE)
 * @LIA_ENTITY_TASK: a task (host task list)
 * @LIA_ENTITY_PHONE_CALL: a phone call activity (host task list)
 * @LIA_ENTITY_LETTER: a letter activity (host task list)
 * @LIA_ENTITY_FAX: a fax activity (host task list)
 * @LIA_ENTITY_EMAIL: an email activity (host mail)
 * @LIA_ENTITY_ACCOUNT: regarding target only
 * @LIA_ENTITY_LEAD: regarding target only
 * @LIA_ENTITY_OPPORTUNITY: regarding target only
 * @LIA_ENTITY_INCIDENT: a case; regarding target only
 * @LIA_ENTITY_N: the number of entities; also "no entity"
 *
 * The CRM record types. The values are stored in the sync cache: append only.
 */
typedef enum
{
  LIA_ENTITY_CONTACT,
  LIA_ENTITY_APPOINTMENT,
  LIA_ENTITY_RECURRING_APPOINTMENT,
  LIA_ENTITY_SERVICE_APPOINTMENT,
  LIA_ENTITY_TASK,
  LIA_ENTITY_PHONE_CALL,
  LIA_ENTITY_LETTER,
  LIA_ENTITY_FAX,
  LIA_ENTITY_EMAIL,
  LIA_ENTITY_ACCOUNT,
  LIA_ENTITY_LEAD,
  LIA_ENTITY_OPPORTUNITY,
  LIA_ENTITY_INCIDENT,
  LIA_ENTITY_N
} LiaEntity;

/**
 * lia_entity_to_string:
 * @entity: an entity
 *
 * Returns: (transfer none): the entity's name as SPEC.md spells it
 *   ("contact", "recurringappointment", "incident", ...), or "none" for
 *   %LIA_ENTITY_N and out-of-range values.
 */
LIA_API const char *lia_entity_to_string (LiaEntity entity);

/**
 * lia_entity_from_string:
 * @name: (nullable): an entity name
 * @out_entity: (out): the entity
 *
 * Returns: %TRUE when @name is one of the names of lia_entity_to_string();
 *   @out_entity is untouched otherwise.
 */
LIA_API gboolean lia_entity_from_string (const char *name, LiaEntity *out_entity);

/**
 * lia_entity_is_activity:
 * @entity: an entity
 *
 * Returns: %TRUE for appointments, tasks, phone calls, letters, faxes and
 *   email: the entities that can have a regarding record.
 */
LIA_API gboolean lia_entity_is_activity (LiaEntity entity);

/**
 * lia_entity_is_regarding_target:
 * @entity: an entity
 *
 * Returns: %TRUE for the entities Set Regarding can point at: account,
 *   contact, lead, opportunity and incident (R-MARK-REGARDING).
 */
LIA_API gboolean lia_entity_is_regarding_target (LiaEntity entity);

/**
 * lia_entity_is_host_mapped:
 * @entity: an entity
 *
 * Returns: %TRUE when the entity has a host counterpart (a contact, an
 *   event, a task-list entry or a message); %FALSE for the regarding-only
 *   entities (R-UNSUPPORTED).
 */
LIA_API gboolean lia_entity_is_host_mapped (LiaEntity entity);

G_END_DECLS
