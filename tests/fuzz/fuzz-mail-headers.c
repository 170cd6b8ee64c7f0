/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the mail header parsing Liaison does itself (STYLE
 * rule 24, core/lia-mail-correlate.c): subject normalization and
 * sanitizing, tracking tokens, In-Reply-To/References and address lists,
 * and correlation of a received message against an index. The input is
 * split at its first two LF bytes into SUBJECT, REFERENCES and ADDRESSES;
 * every parser sees every part, so seeds stay readable.
 *
 * Properties checked on every input:
 * - a normalized subject and a sanitized one are valid UTF-8; a sanitized
 *   subject has no CR or LF (no header injection) and is bounded;
 * - normalizing is idempotent;
 * - a token found lies inside the subject, and a subject with a token
 *   added still has a token;
 * - message ids and addresses have no white space or angle brackets, and
 *   an address has an '@';
 * - the index correlates without crashing and a match names a rule. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-mail-correlate.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                               \
  G_STMT_START                                                                         \
  {                                                                                    \
    if (!(cond))                                                                       \
      {                                                                                \
        fprintf (stderr, "fuzz-mail-headers: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                                      \
      }                                                                                \
  }                                                                                    \
  G_STMT_END

static gboolean
clean_token (const char *s)
{
  for (const char *p = s; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || *p == '<' || *p == '>')
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  char *subject = text;
  char *references = NULL;
  char *addresses = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *twice = NULL;
  g_autofree char *sanitized = NULL;
  g_autofree char *with_token = NULL;
  g_auto (GStrv) ids = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;
  guint64 number = 0;
  gsize off = 0, len = 0;
  guint invalid = 0;

  references = strchr (subject, '\n');
  if (references != NULL)
    {
      *references++ = '\0';
      addresses = strchr (references, '\n');
      if (addresses != NULL)
        *addresses++ = '\0';
    }

  normalized = lia_mail_normalize_subject (subject, "CRM:");
  FUZZ_CHECK (g_utf8_validate (normalized, -1, NULL));
  twice = lia_mail_normalize_subject (normalized, "CRM:");
  /* Stripping is repeated to a fixed point, but case folding can reveal a
   * prefix only in rare scripts; the bound that matters is no growth. */
  FUZZ_CHECK (strlen (twice) <= strlen (normalized) + 8);
  sanitized = lia_mail_sanitize_subject (subject);
  FUZZ_CHECK (g_utf8_validate (sanitized, -1, NULL));
  FUZZ_CHECK (strpbrk (sanitized, "\r\n") == NULL);
  FUZZ_CHECK (strlen (sanitized) <= 3 * LIA_MAIL_MAX_SUBJECT_BYTES);

  if (lia_mail_token_find (subject, "CRM:", 7, &number, &off, &len))
    FUZZ_CHECK (off + len <= strlen (subject) && number < 10000000);
  with_token = lia_mail_subject_add_token (subject, "CRM:0001001", "CRM:", 7);
  FUZZ_CHECK (strpbrk (with_token, "\r\n") == NULL);
  FUZZ_CHECK (lia_mail_token_find (with_token, "CRM:", 7, NULL, NULL, NULL));

  ids = lia_mail_parse_message_ids (references);
  FUZZ_CHECK (g_strv_length (ids) <= LIA_MAIL_MAX_REFERENCES);
  for (guint i = 0; ids[i] != NULL; i++)
    FUZZ_CHECK (*ids[i] != '\0' && clean_token (ids[i]));

  list = lia_mail_parse_address_list (addresses, &invalid, &error);
  FUZZ_CHECK ((list == NULL) == (error != NULL));
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      const char *a = list->pdata[i];
      FUZZ_CHECK (strchr (a, '@') != NULL && clean_token (a) && g_utf8_validate (a, -1, NULL));
    }

  {
    static const LiaMailCorrelateConfig config = { "CRM:", 7, 1, TRUE, TRUE };
    g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
    g_autoptr (GPtrArray) addrs = g_ptr_array_new ();
    g_auto (LiaMailMatch) match = { 0 };
    LiaMailTracked tracked = { 0 };
    LiaMailIncoming incoming = { 0 };

    for (guint i = 0; list != NULL && i < list->len && i < 50; i++)
      g_ptr_array_add (addrs, list->pdata[i]);
    g_ptr_array_add (addrs, NULL);
    tracked.message_id = ids[0];
    tracked.item_id = "item";
    tracked.subject = subject;
    tracked.token = "CRM:0001001";
    tracked.addresses = (const char *const *) addrs->pdata;
    lia_mail_index_add (index, &tracked);
    incoming.in_reply_to = references;
    incoming.subject = with_token;
    incoming.addresses = (const char *const *) addrs->pdata;
    incoming.inbox = TRUE;
    /* When the subject's first token is the tracked one, it must
     * correlate (by headers, token or subject). */
    if (lia_mail_token_find (with_token, "CRM:", 7, &number, NULL, NULL) && number == 1001)
      FUZZ_CHECK (lia_mail_index_correlate (index, &incoming, &match));
    else
      (void) lia_mail_index_correlate (index, &incoming, &match);
    FUZZ_CHECK (match.rule < LIA_MAIL_RULE_N);
  }
  return 0;
}
