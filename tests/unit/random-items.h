/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Random items, variants and policies for the merge property test and
 * bench/bench-merge. Values come from small pools, so that two sides often
 * hold equal values and the merge meets every case: unchanged, changed on
 * one side, changed on both to the same or to different values. Date-times
 * repeat one instant in several zones, which must compare equal. */

#include <liaison/liaison.h>

/* 2026-03-01T09:00:00Z */
#define RANDOM_ITEMS_T0 G_GINT64_CONSTANT (1772355600000000)

static inline LiaValue *
random_value (GRand *rand, const LiaFieldInfo *field)
{
  static const char *const texts[] = { "", "Jeff", "John", "Smith", "Rodman" };
  static const char *const zones[] = { NULL, "Europe/Berlin", "America/New_York" };

  /* One in six fields is absent. */
  if (g_rand_int_range (rand, 0, 6) == 0)
    return NULL;
  switch (field->kind)
    {
    case LIA_VALUE_TEXT:
      return lia_value_new_text (texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (texts))]);
    case LIA_VALUE_DATETIME:
      return lia_value_new_datetime (RANDOM_ITEMS_T0
                                         + g_rand_int_range (rand, 0, 3) * G_GINT64_CONSTANT (3600000000),
                                     zones[g_rand_int_range (rand, 0, G_N_ELEMENTS (zones))]);
    case LIA_VALUE_DATE:
      return lia_value_new_date (1980 + g_rand_int_range (rand, 0, 2), 5, 17);
    case LIA_VALUE_INTEGER:
      return lia_value_new_integer (g_rand_int_range (rand, 0, 3) * 50);
    case LIA_VALUE_BOOLEAN:
      return lia_value_new_boolean (g_rand_boolean (rand));
    case LIA_VALUE_ENUM:
      {
        guint n = g_strv_length ((char **) field->enum_values);
        return lia_value_new_enum (field->enum_values[g_rand_int_range (rand, 0, (gint32) n)]);
      }
    case LIA_VALUE_REFERENCE:
      return g_rand_boolean (rand)
                 ? lia_value_new_reference (LIA_ENTITY_ACCOUNT, "7d1b2c2e-0000-4000-8000-000000000001",
                                            "Contoso")
                 : lia_value_new_reference (LIA_ENTITY_ACCOUNT, "7d1b2c2e-0000-4000-8000-000000000002",
                                            "Fabrikam");
    case LIA_VALUE_PARTY_LIST:
      {
        const LiaParty parties[] = {
          { "jeff@example.com", "Jeff Smith", LIA_ENTITY_CONTACT, "7d1b2c2e-0000-4000-8000-00000000000a" },
          { "ann@example.com", "Ann Lee", LIA_ENTITY_N, NULL },
        };
        return lia_value_new_party_list (parties, (gsize) g_rand_int_range (rand, 0, 3));
      }
    case LIA_VALUE_RECURRENCE:
      {
        LiaRecurrence r = { 0 };
        r.frequency = g_rand_boolean (rand) ? LIA_RECUR_DAILY : LIA_RECUR_WEEKLY;
        r.interval = (guint) g_rand_int_range (rand, 1, 3);
        return lia_value_new_recurrence (&r);
      }
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

static inline LiaItem *
random_item (GRand *rand, LiaEntity entity)
{
  LiaItem *item = lia_item_new (entity);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (entity, &n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaValue) value = random_value (rand, &fields[i]);
      g_assert_true (lia_item_set_at (item, i, value, NULL));
    }
  return item;
}

/* A copy of @base with each field redrawn with probability @p_change. */
static inline LiaItem *
random_variant (GRand *rand, const LiaItem *base, gdouble p_change)
{
  LiaItem *item = lia_item_copy (base);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (lia_item_get_entity (base), &n);
  for (guint i = 0; i < n; i++)
    {
      if (g_rand_double (rand) < p_change)
        {
          g_autoptr (LiaValue) value = random_value (rand, &fields[i]);
          g_assert_true (lia_item_set_at (item, i, value, NULL));
        }
    }
  return item;
}

/* Registry defaults, then random org directions on the fields that are not
 * fixed, and random field-level security on any field. */
static inline LiaFieldPolicy *
random_policy (GRand *rand, LiaEntity entity)
{
  LiaFieldPolicy *policy = lia_field_policy_new (entity);
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (entity, &n);
  for (guint i = 0; i < n; i++)
    {
      if (!fields[i].fixed && g_rand_int_range (rand, 0, 4) == 0)
        g_assert_true (lia_field_policy_set_direction (
            policy, fields[i].name, (LiaDirection) g_rand_int_range (rand, 0, LIA_DIRECTION_N), NULL));
      if (g_rand_int_range (rand, 0, 5) == 0)
        g_assert_true (lia_field_policy_set_access (policy, fields[i].name, g_rand_boolean (rand),
                                                    g_rand_boolean (rand), NULL));
    }
  return policy;
}
