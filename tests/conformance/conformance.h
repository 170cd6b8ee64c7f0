/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small builders shared by the rule conformance tests: items with a few
 * fields, a merge that must succeed, and applying a merge to both sides. */

#include <liaison/liaison.h>

/* 2026-03-01T09:00:00Z: "now" in every conformance scenario. */
#define CONF_NOW G_GINT64_CONSTANT (1772355600000000)
#define CONF_MINUTE (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define CONF_HOUR (60 * CONF_MINUTE)
#define CONF_DAY (24 * CONF_HOUR)

static inline void
conf_set_text (LiaItem *item, const char *field, const char *text)
{
  g_assert_true (lia_item_set_text (item, field, text, NULL));
}

static inline void
conf_set_time (LiaItem *item, const char *field, gint64 instant)
{
  g_autoptr (LiaValue) value = lia_value_new_datetime (instant, NULL);

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static inline void
conf_set_enum (LiaItem *item, const char *field, const char *symbol)
{
  g_autoptr (LiaValue) value = lia_value_new_enum (symbol);

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static inline void
conf_set_party (LiaItem *item, const char *field, const char *address)
{
  const LiaParty party = { address, NULL, LIA_ENTITY_N, NULL };
  g_autoptr (LiaValue) value = lia_value_new_party_list (&party, 1);

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static inline LiaMergeResult *
conf_merge (const LiaFieldPolicy *policy, const LiaItem *original, const LiaItem *host, const LiaItem *crm,
            gint64 host_time, gint64 crm_time)
{
  g_autoptr (GError) error = NULL;
  LiaMergeResult *result = lia_merge_items (policy, original, host, crm, host_time, crm_time, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

/* Applies both steps of a merge to the two sides, in R-MERGE-ORDER. */
static inline void
conf_apply (const LiaMergeResult *result, LiaItem *host, LiaItem *crm)
{
  const LiaFieldWrite *writes;
  guint n = 0;

  writes = lia_merge_result_get_host_writes (result, &n);
  g_assert_true (lia_merge_apply_writes (host, writes, n, NULL));
  writes = lia_merge_result_get_crm_writes (result, &n);
  g_assert_true (lia_merge_apply_writes (crm, writes, n, NULL));
}

static inline const LiaFieldWrite *
conf_find_write (const LiaMergeResult *result, LiaSide side, const char *field)
{
  guint n = 0;
  const LiaFieldWrite *writes = side == LIA_SIDE_HOST ? lia_merge_result_get_host_writes (result, &n)
                                                      : lia_merge_result_get_crm_writes (result, &n);

  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (writes[i].field->name, field))
        return &writes[i];
    }
  return NULL;
}

static inline guint
conf_n_writes (const LiaMergeResult *result, LiaSide side)
{
  guint n = 0;

  if (side == LIA_SIDE_HOST)
    lia_merge_result_get_host_writes (result, &n);
  else
    lia_merge_result_get_crm_writes (result, &n);
  return n;
}
