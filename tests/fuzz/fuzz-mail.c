/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the mail reader of the Evolution adapter (STYLE
 * rule 24): every byte of a message comes from whoever sent it, and the
 * adapter reads its headers, picks a body, undoes charsets and transfer
 * encodings and turns HTML into text.
 *
 * Properties checked on every input:
 * - reading it gives an email item, or NULL with one LIA_ERROR;
 * - every text, enum and party value of the item is valid UTF-8 without
 *   CR (what a LiaValue text promises to the engine and the CRM), and the
 *   body stays within LIA_EVO_MAIL_BODY_MAX;
 * - the HTML converter, fed the same bytes made valid UTF-8, returns valid
 *   UTF-8;
 * - the same bytes as an item or folder id parse to non-empty parts that
 *   rebuild to an id of the same parts.
 * A broken property aborts: that is how libFuzzer and the replay test see
 * it. (Aborting is for this harness only; the library never does.) */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-evo-mail-private.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
  G_STMT_START                                                                 \
  {                                                                            \
    if (!(cond))                                                               \
      {                                                                        \
        fprintf (stderr, "fuzz-mail: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                              \
      }                                                                        \
  }                                                                            \
  G_STMT_END

static gboolean
clean (const char *text)
{
  return text != NULL && g_utf8_validate (text, -1, NULL) && strchr (text, '\r') == NULL;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* Camel's global state (charset tables, debug flags, the header parser's
   * tables) is set up once per process, as Evolution does at start-up.
   * Parsing a message in memory reads nothing under the data directory. */
  camel_init (g_get_tmp_dir (), FALSE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) item = NULL;
  g_autofree char *valid = NULL;
  g_autofree char *text = NULL;
  guint n = 0;

  /* The direction flags only choose an enum symbol; alternate them so both
   * paths run without doubling the work per input. */
  item = lia_evo_mail_item_from_bytes ((const char *) data, size, "me@example.org", size % 2 == 1, &error);
  if (item == NULL)
    FUZZ_CHECK (error != NULL && error->domain == LIA_ERROR);
  else
    {
      const char *body = lia_item_get_text (item, "body");

      FUZZ_CHECK (error == NULL);
      FUZZ_CHECK (lia_item_get_entity (item) == LIA_ENTITY_EMAIL);
      FUZZ_CHECK (body == NULL || strlen (body) <= LIA_EVO_MAIL_BODY_MAX);
      (void) lia_field_list (LIA_ENTITY_EMAIL, &n);
      for (guint i = 0; i < n; i++)
        {
          const LiaValue *v = lia_item_get_at (item, i);

          if (v == NULL)
            continue;
          switch (lia_value_get_kind (v))
            {
            case LIA_VALUE_TEXT:
              FUZZ_CHECK (clean (lia_value_get_text (v)));
              break;
            case LIA_VALUE_ENUM:
              FUZZ_CHECK (clean (lia_value_get_enum (v)));
              break;
            case LIA_VALUE_PARTY_LIST:
              for (gsize k = 0; k < lia_value_get_n_parties (v); k++)
                {
                  const LiaParty *party = lia_value_get_party (v, k);

                  FUZZ_CHECK (party->address != NULL || party->name != NULL);
                  FUZZ_CHECK (party->address == NULL || clean (party->address));
                  FUZZ_CHECK (party->name == NULL || clean (party->name));
                }
              break;
            default:
              break;
            }
        }
    }

  valid = g_utf8_make_valid ((const char *) data, (gssize) size);
  text = lia_evo_mail_html_to_text (valid);
  FUZZ_CHECK (text != NULL && g_utf8_validate (text, -1, NULL));

  /* Item and folder ids arrive from other processes too (the D-Bus Track
   * method, the liaison command): a parsed id rebuilds to one that parses
   * to the same parts. */
  {
    g_autofree char *store = NULL;
    g_autofree char *folder = NULL;
    g_autofree char *uid = NULL;
    g_autofree char *fstore = NULL;
    g_autofree char *ffolder = NULL;

    if (lia_evo_mail_parse_item_id (valid, &store, &folder, &uid))
      {
        g_autofree char *again = lia_evo_mail_item_id (store, folder, uid);
        g_autofree char *s2 = NULL;
        g_autofree char *f2 = NULL;
        g_autofree char *u2 = NULL;

        FUZZ_CHECK (*store != '\0' && *folder != '\0' && *uid != '\0');
        FUZZ_CHECK (again != NULL && lia_evo_mail_parse_item_id (again, &s2, &f2, &u2));
        FUZZ_CHECK (g_str_equal (s2, store) && g_str_equal (f2, folder) && g_str_equal (u2, uid));
      }
    if (lia_evo_mail_parse_folder_id (valid, &fstore, &ffolder))
      {
        g_autofree char *again = lia_evo_mail_folder_id (fstore, ffolder);
        g_autofree char *s2 = NULL;
        g_autofree char *f2 = NULL;

        FUZZ_CHECK (again != NULL && lia_evo_mail_parse_folder_id (again, &s2, &f2));
        FUZZ_CHECK (g_str_equal (s2, fstore) && g_str_equal (f2, ffolder));
      }
  }
  return 0;
}
