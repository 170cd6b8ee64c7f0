/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail-private.h"

/* R-MAIL-TAGGING, R-SET-TAGGING: the poll after the download applies a
 * regarding changed in CRM to the host message. */

#define TAGGING_PAGE 200

static gboolean
apply_tag (Cycle *c, LiaEngineMail *mail, const LiaCrmRecord *rec, GError **error)
{
  LiaEngine *self = c->engine;
  LiaValue *regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_autoptr (LiaCacheMapping) m =
      lia_cache_lookup_crm (c->cache, self->store, LIA_ENTITY_EMAIL, lia_crm_record_get_id (rec), NULL);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaItem) fields = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autofree char *why = NULL;

  if (m == NULL || m->state != LIA_LINK_STATE_TRACKED)
    return TRUE;
  /* Unchanged since this client linked it: nothing to read on the host. */
  {
    g_autoptr (LiaCacheOriginal) orig = lia_cache_load_original (c->cache, self->store, m->item_id, NULL);
    if (orig != NULL && orig->crm_version >= lia_crm_record_get_version (rec))
      return TRUE;
  }
  hi = lia_host_call_read_item (&self->link, self->store, m->item_id, c->cancellable, &local);
  if (hi == NULL)
    {
      if (g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (lia_value_equal (regarding, lia_item_get (hi->item, "regarding"))
      && g_strcmp0 (hi->props.regarding_id, regarding != NULL ? lia_value_get_reference_id (regarding) : NULL)
             == 0)
    return TRUE;
  fields = lia_item_copy (hi->item);
  if (!lia_item_set (fields, "regarding", regarding, error))
    return FALSE;
  lia_host_props_set (&props, LIA_HOST_PROP_REGARDING,
                      regarding != NULL ? lia_value_get_reference_id (regarding) : NULL);
  props.regarding_name = regarding != NULL ? g_strdup (lia_value_get_reference_name (regarding)) : NULL;
  if (!lia_host_call_write_item (&self->link, self->store, m->item_id, fields, &props, c->cancellable, error))
    return FALSE;
  if (mail->index != NULL)
    lia_mail_index_set_regarding (mail->index, m->item_id, regarding);
  why = g_strdup_printf ("R-MAIL-TAGGING: regarding changed in CRM to \"%s\"",
                         regarding != NULL && lia_value_get_reference_name (regarding) != NULL
                             ? lia_value_get_reference_name (regarding)
                             : "(none)");
  lia_engine_journal (c, "tagging", m->item_id, m->crm_id, why);
  return TRUE;
}

gboolean
lia_engine_mail_after_download (Cycle *c, GError **error)
{
  LiaEngine *self = c->engine;
  LiaEngineMail *mail = lia_engine_mail_of (self);
  g_autoptr (GHashTable) org = lia_engine_mail_org_settings (c, mail, FALSE, NULL);
  g_auto (LiaEngineMailSettings) s = { 0 };
  g_autofree char *mark = NULL;
  gint64 since = 0;
  gint64 t0;
  guint polls = 0, n = 0;

  lia_engine_mail_read_settings (c, org, &s);
  if (!s.tagging)
    return TRUE;
  t0 = g_get_monotonic_time ();
  mark = lia_cache_dup_watermark (c->cache, LIA_ENGINE_WATERMARK_TAGGING, NULL);
  if (mark != NULL)
    g_ascii_string_to_signed (mark, 10, 0, G_MAXINT64, &since, NULL);
  for (;;)
    {
      gint64 last = since;
      g_autofree char *next = NULL;
      g_autoptr (GError) local = NULL;
      g_autoptr (GPtrArray) recs =
          lia_crm_email_changes_sync (self->crm, since, TAGGING_PAGE, &last, c->cancellable, &local);

      if (recs == NULL)
        {
          /* An org without the poll is not an error of the cycle. */
          if (lia_engine_is_network_error (local)
              || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_debug ("tagging poll: %s", local->message);
          return TRUE;
        }
      polls++;
      n += recs->len;
      for (guint i = 0; i < recs->len; i++)
        if (!apply_tag (c, mail, recs->pdata[i], error))
          return FALSE;
      next = g_strdup_printf ("%" G_GINT64_FORMAT, last);
      if (!lia_cache_set_watermark (c->cache, LIA_ENGINE_WATERMARK_TAGGING, next, error))
        return FALSE;
      if (last <= since)
        {
          g_debug ("tagging poll: %u emails in %u polls, %.0f ms", n, polls,
                   (g_get_monotonic_time () - t0) / 1000.0);
          return TRUE;
        }
      since = last;
    }
}
