/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

/* A record is an item plus the columns the org service keeps beside it. The
 * item is owned and always present, so getters never return NULL for it. */
struct _LiaCrmRecord
{
  LiaItem *item; /* owned */
  char *id;      /* owned, nullable until stored */
  gint64 version;
  char *owner; /* owned, nullable: the caller, on create */
  LiaRecordState state;
  gint64 modified_on;
  char *email; /* owned, nullable */
};

static const char *const state_names[] = {
  [LIA_RECORD_STATE_OPEN] = "open",
  [LIA_RECORD_STATE_SCHEDULED] = "scheduled",
  [LIA_RECORD_STATE_COMPLETED] = "completed",
  [LIA_RECORD_STATE_CANCELED] = "canceled",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == LIA_RECORD_STATE_N);

const char *
lia_record_state_to_string (LiaRecordState state)
{
  if ((guint) state >= LIA_RECORD_STATE_N)
    return "none";
  return state_names[state];
}

gboolean
lia_record_state_from_string (const char *name, LiaRecordState *out_state)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_RECORD_STATE_N; i++)
    {
      if (g_str_equal (name, state_names[i]))
        {
          if (out_state != NULL)
            *out_state = (LiaRecordState) i;
          return TRUE;
        }
    }
  return FALSE;
}

LiaCrmRecord *
lia_crm_record_new (LiaEntity entity)
{
  LiaCrmRecord *record;

  g_return_val_if_fail ((guint) entity < LIA_ENTITY_N, NULL);
  record = g_new0 (LiaCrmRecord, 1);
  record->item = lia_item_new (entity);
  record->state = LIA_RECORD_STATE_OPEN;
  return record;
}

LiaCrmRecord *
lia_crm_record_new_for_item (const LiaItem *item)
{
  LiaCrmRecord *record;

  g_return_val_if_fail (item != NULL, NULL);
  record = g_new0 (LiaCrmRecord, 1);
  record->item = lia_item_copy (item);
  record->state = LIA_RECORD_STATE_OPEN;
  return record;
}

LiaCrmRecord *
lia_crm_record_copy (const LiaCrmRecord *record)
{
  LiaCrmRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);
  copy = lia_crm_record_new_for_item (record->item);
  copy->id = g_strdup (record->id);
  copy->version = record->version;
  copy->owner = g_strdup (record->owner);
  copy->state = record->state;
  copy->modified_on = record->modified_on;
  copy->email = g_strdup (record->email);
  return copy;
}

void
lia_crm_record_free (LiaCrmRecord *record)
{
  if (record == NULL)
    return;
  lia_item_free (record->item);
  g_free (record->id);
  g_free (record->owner);
  g_free (record->email);
  g_free (record);
}

LiaEntity
lia_crm_record_get_entity (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, LIA_ENTITY_N);
  return lia_item_get_entity (record->item);
}

LiaItem *
lia_crm_record_get_item (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);
  return record->item;
}

const char *
lia_crm_record_get_id (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);
  return record->id;
}

void
lia_crm_record_set_id (LiaCrmRecord *record, const char *id)
{
  g_return_if_fail (record != NULL);
  g_free (record->id);
  record->id = g_strdup (id);
}

gint64
lia_crm_record_get_version (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, 0);
  return record->version;
}

void
lia_crm_record_set_version (LiaCrmRecord *record, gint64 version)
{
  g_return_if_fail (record != NULL);
  record->version = version;
}

const char *
lia_crm_record_get_owner (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);
  return record->owner;
}

void
lia_crm_record_set_owner (LiaCrmRecord *record, const char *owner)
{
  g_return_if_fail (record != NULL);
  g_free (record->owner);
  record->owner = g_strdup (owner);
}

LiaRecordState
lia_crm_record_get_state (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, LIA_RECORD_STATE_OPEN);
  return record->state;
}

void
lia_crm_record_set_state (LiaCrmRecord *record, LiaRecordState state)
{
  g_return_if_fail (record != NULL);
  g_return_if_fail ((guint) state < LIA_RECORD_STATE_N);
  record->state = state;
}

gint64
lia_crm_record_get_modified_on (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, 0);
  return record->modified_on;
}

void
lia_crm_record_set_modified_on (LiaCrmRecord *record, gint64 modified_on_us)
{
  g_return_if_fail (record != NULL);
  record->modified_on = modified_on_us;
}

const char *
lia_crm_record_get_email (const LiaCrmRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);
  return record->email;
}

void
lia_crm_record_set_email (LiaCrmRecord *record, const char *email)
{
  g_return_if_fail (record != NULL);
  g_free (record->email);
  record->email = g_strdup (email);
}

char *
lia_crm_record_dup_name (const LiaCrmRecord *record)
{
  const char *text;

  g_return_val_if_fail (record != NULL, NULL);
  switch (lia_crm_record_get_entity (record))
    {
    case LIA_ENTITY_CONTACT:
      text = lia_item_get_text (record->item, "full-name");
      if (text != NULL && *text != '\0')
        return g_strdup (text);
      {
        const char *given = lia_item_get_text (record->item, "given-name");
        const char *family = lia_item_get_text (record->item, "family-name");
        g_autofree char *joined =
            g_strjoin (" ", given != NULL ? given : "", family != NULL ? family : "", NULL);
        return g_strstrip (g_steal_pointer (&joined));
      }
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
      text = lia_item_get_text (record->item, "name");
      break;
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
    case LIA_ENTITY_EMAIL:
      text = lia_item_get_text (record->item, "subject");
      break;
    case LIA_ENTITY_N:
    default:
      text = NULL;
      break;
    }
  return g_strdup (text != NULL ? text : "");
}
