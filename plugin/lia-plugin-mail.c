/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail.h"
#include "lia-mail-correlate.h"
#include "lia-plugin-mail.h"
#include "lia-plugin-private.h"

/* The host-neutral email commands a host's UI gives (SPEC section 8). They
 * decide at once and leave the cache and CRM work to workers, like the
 * dispatcher's commands (R-IMM-BACKGROUND). */

gboolean
lia_plugin_mail_track_many (LiaPlugin *plugin, const LiaCommand *command, const char *const *item_ids,
                            GError **error)
{
  g_return_val_if_fail (plugin != NULL && command != NULL && item_ids != NULL, FALSE);
  if (command->abi_version != LIA_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_ABI, "command of ABI %u, plugin has %u", command->abi_version,
                   (guint) LIA_PLUGIN_ABI_VERSION);
      return FALSE;
    }
  /* R-MAIL-BULK: bulk untrack is not offered (white paper: "You can't
   * untrack bulk emails"). */
  if (command->kind == LIA_COMMAND_UNTRACK)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "Untracking many messages at once is not offered; untrack them one at a time");
      return FALSE;
    }
  if (command->kind != LIA_COMMAND_TRACK && command->kind != LIA_COMMAND_SET_REGARDING)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Only Track and Set Regarding apply to many messages");
      return FALSE;
    }
  if (command->entity != LIA_ENTITY_EMAIL || command->store == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED, "Only email messages are tracked many at a time");
      return FALSE;
    }
  return lia_engine_mail_bulk_track (lia_plugin_get_engine (plugin), command->store, command->folder,
                                     item_ids, command->regarding_id, command->regarding_name, error);
}

char *
lia_plugin_mail_dup_track_result (LiaPlugin *plugin, const char *store, const char *item_id, GError **error)
{
  const char *ids[] = { item_id, NULL };
  g_autoptr (GPtrArray) results = NULL;
  g_autoptr (LiaEngine) engine = NULL;
  const LiaBulkResult *r;

  g_return_val_if_fail (plugin != NULL && store != NULL && item_id != NULL, NULL);
  /* Any thread (lia-plugin.h, "Threads"). */
  engine = lia_plugin_ref_engine (plugin, error);
  if (engine == NULL)
    return NULL;
  results = lia_engine_mail_bulk_results (engine, store, ids, error);
  if (results == NULL)
    return NULL;
  r = results->pdata[0];
  if (r->message != NULL)
    return g_strdup_printf ("%s: %s", lia_bulk_state_to_string (r->state), r->message);
  return g_strdup (lia_bulk_state_to_string (r->state));
}

gboolean
lia_plugin_mail_set_folder_tracked (LiaPlugin *plugin, const char *store, const char *folder,
                                    gboolean tracked, const char *regarding_id, const char *regarding_name,
                                    GError **error)
{
  LiaEngine *engine;

  g_return_val_if_fail (plugin != NULL && store != NULL && folder != NULL, FALSE);
  engine = lia_plugin_get_engine (plugin);
  if (!lia_engine_mail_set_folder (engine, store, folder, tracked, regarding_id, regarding_name, error))
    return FALSE;
  /* Mail may already be arriving: look at the next cycle, now. */
  if (tracked)
    lia_engine_request_sync (engine);
  return TRUE;
}

char *
lia_plugin_mail_dup_send_subject (LiaPlugin *plugin, const char *subject)
{
  g_autofree char *token = NULL;
  g_autofree char *prefix = NULL;
  guint digits = 0;

  g_return_val_if_fail (plugin != NULL, NULL);
  token = lia_engine_mail_take_token (lia_plugin_get_engine (plugin));
  if (token == NULL)
    return lia_mail_sanitize_subject (subject);
  /* The token's own prefix and digits: what the org used when it made it. */
  for (digits = 0; digits < strlen (token) && g_ascii_isdigit (token[strlen (token) - 1 - digits]); digits++)
    ;
  prefix = g_strndup (token, strlen (token) - digits);
  return lia_mail_subject_add_token (subject, token, prefix, digits);
}

char *
lia_plugin_mail_dup_track_reason (LiaPlugin *plugin, const char *store, const char *item_id, GError **error)
{
  LiaCache *cache;
  g_autofree char *kind = NULL;
  g_autoptr (LiaEngine) engine = NULL;
  char *message = NULL;

  g_return_val_if_fail (plugin != NULL && store != NULL && item_id != NULL, NULL);
  /* Any thread (lia-plugin.h, "Threads"). */
  engine = lia_plugin_ref_engine (plugin, error);
  if (engine == NULL)
    return NULL;
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison is still starting; try again");
      return NULL;
    }
  if (!lia_engine_mail_dup_reason (cache, store, item_id, &kind, NULL, NULL, &message, error))
    return NULL;
  return message;
}
