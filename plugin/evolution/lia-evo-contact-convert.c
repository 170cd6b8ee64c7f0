/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"

/* vCard <-> LiaItem for contacts (R-CONTACT-FIELDS); see
 * lia-evo-convert-private.h for where each field is kept. */

typedef struct
{
  const char *field;
  EContactField ef;
} ContactMap;

static const ContactMap contact_text[] = {
  { "full-name", E_CONTACT_FULL_NAME },
  { "given-name", E_CONTACT_GIVEN_NAME },
  { "family-name", E_CONTACT_FAMILY_NAME },
  { "nickname", E_CONTACT_NICKNAME },
  { "job-title", E_CONTACT_TITLE },
  { "department", E_CONTACT_ORG_UNIT },
  { "manager", E_CONTACT_MANAGER },
  { "assistant", E_CONTACT_ASSISTANT },
  { "assistant-phone", E_CONTACT_PHONE_ASSISTANT },
  { "spouse", E_CONTACT_SPOUSE },
  { "email-1", E_CONTACT_EMAIL_1 },
  { "email-2", E_CONTACT_EMAIL_2 },
  { "email-3", E_CONTACT_EMAIL_3 },
  { "business-phone", E_CONTACT_PHONE_BUSINESS },
  { "business-phone-2", E_CONTACT_PHONE_BUSINESS_2 },
  { "home-phone", E_CONTACT_PHONE_HOME },
  { "home-phone-2", E_CONTACT_PHONE_HOME_2 },
  { "mobile-phone", E_CONTACT_PHONE_MOBILE },
  { "pager", E_CONTACT_PHONE_PAGER },
  { "business-fax", E_CONTACT_PHONE_BUSINESS_FAX },
  { "company-main-phone", E_CONTACT_PHONE_COMPANY },
  { "callback", E_CONTACT_PHONE_CALLBACK },
  { "other-phone", E_CONTACT_PHONE_OTHER },
  { "business-address", E_CONTACT_ADDRESS_LABEL_WORK },
  { "home-address", E_CONTACT_ADDRESS_LABEL_HOME },
  { "other-address", E_CONTACT_ADDRESS_LABEL_OTHER },
  { "web-page", E_CONTACT_HOMEPAGE_URL },
  { "notes", E_CONTACT_NOTE },
};

static const ContactMap contact_date[] = {
  { "birthday", E_CONTACT_BIRTH_DATE },
  { "anniversary", E_CONTACT_ANNIVERSARY },
};

static gboolean
contact_is_native (const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (contact_text); i++)
    if (g_str_equal (contact_text[i].field, field))
      return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (contact_date); i++)
    if (g_str_equal (contact_date[i].field, field))
      return TRUE;
  return FALSE;
}

/* The company is shown as ORG, but its CRM id lives in the remainder. */
static gboolean
contact_keep_in_remainder (const char *field, const LiaValue *value)
{
  (void) value;
  return !contact_is_native (field);
}

static char *
vcard_dup (EVCard *vcard, const char *name)
{
  EVCardAttribute *attr = e_vcard_get_attribute (vcard, name);

  return attr != NULL ? e_vcard_attribute_get_value (attr) : NULL;
}

static void
vcard_put (EVCard *vcard, const char *name, const char *value)
{
  e_vcard_remove_attributes (vcard, NULL, name);
  if (value != NULL && *value != '\0')
    e_vcard_append_attribute_with_value (vcard, e_vcard_attribute_new (NULL, name), value);
}

void
lia_evo_contact_read_row (EContact *contact, gint64 *out_modified_at, LiaLinkState *out_link_state,
                          char **out_crm_id)
{
  EVCard *vcard = E_VCARD (contact);
  g_autofree char *state = vcard_dup (vcard, lia_evo_x_prop_name (LIA_HOST_PROP_LINK_STATE));
  g_auto (LiaHostProps) props = { 0 };

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, state);
  *out_modified_at = lia_evo_parse_timestamp (e_contact_get_const (contact, E_CONTACT_REV));
  *out_link_state = state != NULL ? props.link_state : LIA_LINK_STATE_NONE;
  *out_crm_id = vcard_dup (vcard, lia_evo_x_prop_name (LIA_HOST_PROP_CRM_ID));
}

LiaLinkState
lia_evo_contact_link_state (EContact *contact)
{
  gint64 modified = 0;
  LiaLinkState state = LIA_LINK_STATE_NONE;
  g_autofree char *crm_id = NULL;

  g_return_val_if_fail (E_IS_CONTACT (contact), LIA_LINK_STATE_NONE);
  lia_evo_contact_read_row (contact, &modified, &state, &crm_id);
  return state;
}

static void
contact_read_props (EVCard *vcard, LiaHostProps *props)
{
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      g_autofree char *v = vcard_dup (vcard, lia_evo_x_prop_name (p));

      if (v != NULL)
        lia_host_props_set (props, (LiaHostProp) p, v);
    }
  if (props->mask & (1u << LIA_HOST_PROP_REGARDING))
    props->regarding_name = vcard_dup (vcard, LIA_EVO_X_REGARDING_NAME);
}

LiaHostItem *
lia_evo_contact_to_host_item (EContact *contact, const char *folder, GError **error)
{
  EVCard *vcard = E_VCARD (contact);
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *b64 = vcard_dup (vcard, LIA_EVO_X_FIELDS);
  g_autoptr (LiaItem) rest = lia_evo_remainder_decode (b64);
  g_autofree char *id = lia_evo_item_id_for_contact (e_contact_get_const (contact, E_CONTACT_UID));
  const char *org = e_contact_get_const (contact, E_CONTACT_ORG);
  LiaHostItem *hi;

  for (guint i = 0; i < G_N_ELEMENTS (contact_text); i++)
    {
      g_autofree char *text = e_contact_get (contact, contact_text[i].ef);

      lia_evo_set_text (item, contact_text[i].field, text);
    }
  for (guint i = 0; i < G_N_ELEMENTS (contact_date); i++)
    {
      EContactDate *date = e_contact_get (contact, contact_date[i].ef);

      if (date != NULL)
        {
          g_autoptr (LiaValue) v = lia_value_new_date (date->year, date->month, date->day);

          if (v != NULL)
            lia_item_set (item, contact_date[i].field, v, NULL);
          e_contact_date_free (date);
        }
    }
  if (rest != NULL && lia_item_get_entity (rest) == LIA_ENTITY_CONTACT)
    {
      guint n = 0;
      const LiaFieldInfo *list = lia_field_list (LIA_ENTITY_CONTACT, &n);

      for (guint i = 0; i < n; i++)
        if (contact_keep_in_remainder (list[i].name, NULL))
          lia_item_set_at (item, i, lia_item_get_at (rest, i), NULL);
    }
  /* ORG is what the user sees and edits: when it no longer names the
   * company the remainder resolved, it is a new, unresolved name. */
  {
    LiaValue *company = lia_item_get (item, "company");
    const char *known = company != NULL ? lia_value_get_reference_name (company) : NULL;

    if (org == NULL || *org == '\0')
      lia_item_set (item, "company", NULL, NULL);
    else if (g_strcmp0 (known, org) != 0 && g_utf8_validate (org, -1, NULL))
      {
        g_autoptr (LiaValue) ref = lia_value_new_reference (LIA_ENTITY_ACCOUNT, NULL, org);

        lia_item_set (item, "company", ref, NULL);
      }
  }
  if (id == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "contact without UID");
      return NULL;
    }
  hi = lia_host_item_new (LIA_EVO_STORE, folder, id, item);
  hi->modified_at = lia_evo_parse_timestamp (e_contact_get_const (contact, E_CONTACT_REV));
  contact_read_props (vcard, &hi->props);
  return hi;
}

static void
vcard_write_props (EVCard *vcard, const LiaHostProps *props, gboolean base64)
{
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      const char *text = NULL;
      char digit[2] = { 0 };

      if (!(props->mask & (1u << p)))
        continue;
      switch ((LiaHostProp) p)
        {
        case LIA_HOST_PROP_LINK_STATE:
          digit[0] = (char) ('0' + (props->link_state % 10));
          text = digit;
          break;
        case LIA_HOST_PROP_CRM_ID:
          text = props->crm_id;
          break;
        case LIA_HOST_PROP_CRM_ORG:
          text = props->crm_org;
          break;
        case LIA_HOST_PROP_ORIGINAL:
          text = props->original;
          break;
        case LIA_HOST_PROP_REGARDING:
        case LIA_HOST_PROP_N:
        default:
          text = props->regarding_id;
          vcard_put (vcard, LIA_EVO_X_REGARDING_NAME, props->regarding_name);
          break;
        }
      (void) base64;
      vcard_put (vcard, lia_evo_x_prop_name (p), text);
    }
}

gboolean
lia_evo_contact_apply (EContact *contact, const LiaItem *fields, const LiaHostProps *props, GError **error)
{
  EVCard *vcard = E_VCARD (contact);

  if (fields != NULL)
    {
      g_autofree char *rest = NULL;
      LiaValue *company;

      if (lia_item_get_entity (fields) != LIA_ENTITY_CONTACT)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "not a contact");
          return FALSE;
        }
      rest = lia_evo_remainder_encode (fields, contact_keep_in_remainder, error);
      if (rest == NULL)
        return FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (contact_text); i++)
        {
          const char *text = lia_item_get_text (fields, contact_text[i].field);

          /* The name parts before FN: setting N recomputes nothing, but
           * e_contact_set with NULL on a part clears only that part. */
          e_contact_set (contact, contact_text[i].ef, text != NULL && *text != '\0' ? text : NULL);
        }
      for (guint i = 0; i < G_N_ELEMENTS (contact_date); i++)
        {
          LiaValue *v = lia_item_get (fields, contact_date[i].field);

          if (v == NULL)
            e_contact_set (contact, contact_date[i].ef, NULL);
          else
            {
              EContactDate date = { 0 };

              lia_value_get_date (v, &date.year, &date.month, &date.day);
              e_contact_set (contact, contact_date[i].ef, &date);
            }
        }
      company = lia_item_get (fields, "company");
      e_contact_set (contact, E_CONTACT_ORG, company != NULL ? lia_value_get_reference_name (company) : NULL);
      vcard_put (vcard, LIA_EVO_X_FIELDS, rest);
    }
  if (props != NULL)
    vcard_write_props (vcard, props, FALSE);
  return TRUE;
}
