/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "lia-org-auth.h"

gboolean
lia_org_auth_new_token (char **out_token, char **out_hash, GError **error)
{
  guint8 bytes[32];
  gsize got = 0;
  GString *token;

  while (got < sizeof bytes)
    {
      ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);
      if (n < 0)
        {
          int saved = errno;
          if (saved == EINTR)
            continue;
          g_set_error (error, LIA_ERROR, LIA_ERROR_FAILED, "Cannot read random bytes for a token: %s",
                       g_strerror (saved));
          return FALSE;
        }
      got += (gsize) n;
    }
  token = g_string_new (LIA_ORG_TOKEN_PREFIX);
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (token, "%02x", bytes[i]);
  memset (bytes, 0, sizeof bytes);
  *out_hash = lia_org_auth_hash (token->str);
  *out_token = g_string_free (token, FALSE);
  return TRUE;
}

char *
lia_org_auth_hash (const char *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

char *
lia_org_auth_new_uuid (void)
{
  /* g_uuid_string_random() reads GLib's PRNG, seeded from /dev/urandom:
   * ids need to be unique, not secret (tokens use getrandom above). */
  return g_uuid_string_random ();
}
