/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-org-service-private.h"

/* Finding records: search by name for regarding (R-MARK-REGARDING) and
 * resolution of email addresses to records and users. */

GPtrArray *
lia_org_service_search (LiaOrgService *service, const LiaOrgCaller *caller, const char *text, guint limit,
                        GError **error)
{
  g_autofree char *folded = NULL;
  g_autofree char *trimmed = NULL;
  LOCK (service);

  if (text == NULL || !g_utf8_validate (text, -1, NULL) || strlen (text) > 256)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Search text is UTF-8, at most 256 bytes");
      return NULL;
    }
  trimmed = g_strstrip (g_strdup (text));
  if (*trimmed == '\0')
    return g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_match_free);
  folded = g_utf8_casefold (trimmed, -1);
  return lia_org_store_record_search (service->store, folded, CLAMP (limit, 1, 100), error);
}

GPtrArray *
lia_org_service_resolve (LiaOrgService *service, const LiaOrgCaller *caller, const char *const *addresses,
                         GError **error)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_match_free);
  LOCK (service);

  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *folded = NULL;
      g_autoptr (GPtrArray) matches = NULL;
      g_autoptr (LiaCrmUser) user = NULL;
      GError *local = NULL;

      if (i >= 1000)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "At most 1000 addresses per request");
          return NULL;
        }
      if (!g_utf8_validate (addresses[i], -1, NULL))
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Address is not UTF-8");
          return NULL;
        }
      folded = g_utf8_casefold (addresses[i], -1);
      matches = lia_org_store_record_resolve (service->store, folded, error);
      if (matches == NULL)
        return NULL;
      for (guint j = 0; j < matches->len; j++)
        {
          LiaCrmMatch *match = matches->pdata[j];
          match->address = g_strdup (addresses[i]);
          g_ptr_array_add (all, g_steal_pointer (&matches->pdata[j]));
        }
      user = lia_org_store_user_by_email (service->store, folded, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (user != NULL)
        {
          LiaCrmMatch *match = g_new0 (LiaCrmMatch, 1);
          match->entity = LIA_ENTITY_N;
          match->id = g_strdup (user->id);
          match->name = g_strdup (user->name);
          match->address = g_strdup (addresses[i]);
          g_ptr_array_add (all, match);
        }
    }
  return g_steal_pointer (&all);
}
