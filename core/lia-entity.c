/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

static const char *const entity_names[] = {
  [LIA_ENTITY_CONTACT] = "contact",
  [LIA_ENTITY_APPOINTMENT] = "appointment",
  [LIA_ENTITY_RECURRING_APPOINTMENT] = "recurringappointment",
  [LIA_ENTITY_SERVICE_APPOINTMENT] = "serviceappointment",
  [LIA_ENTITY_TASK] = "task",
  [LIA_ENTITY_PHONE_CALL] = "phonecall",
  [LIA_ENTITY_LETTER] = "letter",
  [LIA_ENTITY_FAX] = "fax",
  [LIA_ENTITY_EMAIL] = "email",
  [LIA_ENTITY_ACCOUNT] = "account",
  [LIA_ENTITY_LEAD] = "lead",
  [LIA_ENTITY_OPPORTUNITY] = "opportunity",
  [LIA_ENTITY_INCIDENT] = "incident",
};
G_STATIC_ASSERT (G_N_ELEMENTS (entity_names) == LIA_ENTITY_N);

const char *
lia_entity_to_string (LiaEntity entity)
{
  if ((guint) entity >= LIA_ENTITY_N)
    return "none";
  return entity_names[entity];
}

gboolean
lia_entity_from_string (const char *name, LiaEntity *out_entity)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_ENTITY_N; i++)
    {
      if (g_str_equal (name, entity_names[i]))
        {
          if (out_entity != NULL)
            *out_entity = (LiaEntity) i;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
lia_entity_is_activity (LiaEntity entity)
{
  return entity >= LIA_ENTITY_APPOINTMENT && entity <= LIA_ENTITY_EMAIL;
}

gboolean
lia_entity_is_regarding_target (LiaEntity entity)
{
  return entity == LIA_ENTITY_CONTACT || entity == LIA_ENTITY_ACCOUNT || entity == LIA_ENTITY_LEAD
         || entity == LIA_ENTITY_OPPORTUNITY || entity == LIA_ENTITY_INCIDENT;
}

gboolean
lia_entity_is_host_mapped (LiaEntity entity)
{
  return entity >= LIA_ENTITY_CONTACT && entity <= LIA_ENTITY_EMAIL;
}
