/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-engine-mail-private.h"

/* R-MAIL-CORRELATE-TOKEN: the pool of tracking tokens the org handed out,
 * taken by outgoing mail on the host's thread and refilled by the cycle. */

#define TOKEN_POOL_LOW 8
#define TOKEN_POOL_FILL 32

char *
lia_engine_mail_take_token (LiaEngine *engine)
{
  LiaEngineMail *mail;
  char *token = NULL;

  g_return_val_if_fail (engine != NULL, NULL);
  mail = lia_engine_mail_of (engine);
  g_mutex_lock (&mail->lock);
  lia_engine_mail_load_locked (mail, lia_engine_get_cache (engine));
  if (mail->tokens->len > 0)
    token = g_ptr_array_steal_index (mail->tokens, 0);
  g_mutex_unlock (&mail->lock);
  return token;
}

gboolean
lia_engine_mail_refill_tokens (Cycle *c, LiaEngineMail *mail, const LiaEngineMailSettings *s, GError **error)
{
  g_auto (GStrv) fresh = NULL;
  g_autofree char *setting = NULL;
  g_autoptr (GError) local = NULL;
  guint have;

  if (!s->config.token_enabled)
    return TRUE;
  g_mutex_lock (&mail->lock);
  have = mail->tokens->len;
  g_mutex_unlock (&mail->lock);
  if (have >= TOKEN_POOL_LOW)
    return TRUE;
  fresh = lia_crm_allocate_tokens_sync (c->engine->crm, TOKEN_POOL_FILL, c->cancellable, &local);
  if (fresh == NULL)
    {
      /* An unapproved user (R-MAIL-APPROVED), an older org or the org
       * gone since: no tokens now, and mail still goes out; the upload
       * says whether the org is reachable. */
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_debug ("email phase: no tracking tokens: %s", local->message);
      return TRUE;
    }
  g_mutex_lock (&mail->lock);
  for (guint i = 0; fresh[i] != NULL; i++)
    g_ptr_array_add (mail->tokens, g_strdup (fresh[i]));
  g_ptr_array_add (mail->tokens, NULL);
  setting = g_strjoinv (" ", (char **) mail->tokens->pdata);
  g_ptr_array_remove_index (mail->tokens, mail->tokens->len - 1);
  g_mutex_unlock (&mail->lock);
  return lia_cache_set_setting (c->cache, LIA_ENGINE_SETTING_MAIL_TOKENS, setting, error);
}
