/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the sync filter parser (STYLE rule 24): filters are
 * written by users and admins and arrive over HTTP.
 *
 * Properties checked on every input:
 * - parse returns a filter, or NULL with one LIA_ERROR_INVALID on one line;
 * - a filter that parsed evaluates against records with and without
 *   fields, at several instants, without crashing.
 * A broken property aborts: that is how libFuzzer and the replay test see
 * it. (Aborting is for this harness only; the library never does.) */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-org-filter.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                             \
  G_STMT_START                                                                       \
  {                                                                                  \
    if (!(cond))                                                                     \
      {                                                                              \
        fprintf (stderr, "fuzz-org-filter: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                                    \
      }                                                                              \
  }                                                                                  \
  G_STMT_END

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgFilter) filter = lia_org_filter_parse ((const char *) data, size, &error);

  if (filter == NULL)
    {
      FUZZ_CHECK (g_error_matches (error, LIA_ERROR, LIA_ERROR_INVALID));
      FUZZ_CHECK (strchr (error->message, '\n') == NULL);
      return 0;
    }
  FUZZ_CHECK (error == NULL);
  {
    LiaEntity entity = lia_org_filter_get_entity (filter);
    g_autoptr (LiaItem) empty = lia_item_new (entity);
    g_autoptr (LiaItem) full = lia_item_new (entity);
    const LiaFieldInfo *fields;
    guint n = 0;
    static const gint64 instants[] = { 0, G_GINT64_CONSTANT (1717243200000000),
                                       -G_GINT64_CONSTANT (86400000000) };

    /* One value of the right kind in every text, integer, boolean and
     * date field, so the comparisons run. */
    fields = lia_field_list (entity, &n);
    for (guint i = 0; i < n; i++)
      {
        g_autoptr (LiaValue) v = NULL;
        switch (fields[i].kind)
          {
          case LIA_VALUE_TEXT:
            v = lia_value_new_text ("Smith");
            break;
          case LIA_VALUE_INTEGER:
            v = lia_value_new_integer (42);
            break;
          case LIA_VALUE_BOOLEAN:
            v = lia_value_new_boolean (TRUE);
            break;
          case LIA_VALUE_DATE:
            v = lia_value_new_date (1980, 5, 17);
            break;
          case LIA_VALUE_DATETIME:
            v = lia_value_new_datetime (G_GINT64_CONSTANT (1717243200000000), NULL);
            break;
          default:
            break;
          }
        if (v != NULL)
          lia_item_set_at (full, i, v, NULL);
      }
    for (guint t = 0; t < G_N_ELEMENTS (instants); t++)
      for (guint s = 0; s < LIA_RECORD_STATE_N; s++)
        {
          LiaOrgFilterSubject a = { "u1", (LiaRecordState) s, instants[t], empty };
          LiaOrgFilterSubject b = { NULL, (LiaRecordState) s, instants[t], full };
          (void) lia_org_filter_match (filter, &a, "u1", instants[t]);
          (void) lia_org_filter_match (filter, &b, "u2", instants[t]);
        }
  }
  return 0;
}
