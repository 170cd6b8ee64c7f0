/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the OriginalXML decoder (STYLE rule 24): originals
 * come back from host properties and the cache, so any bytes may arrive.
 *
 * Properties checked on every input:
 * - decode returns an item, or NULL with one LIA_ERROR_INVALID on one line;
 * - an item that decoded re-encodes, decodes back lia_item_identical(), and
 *   its canonical bytes are a fixed point (encode (decode (x)) == x).
 * A broken property aborts: that is how libFuzzer and the replay test see
 * it. (Aborting is for this harness only; the library never does.) */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liaison/liaison.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                           \
  G_STMT_START                                                                     \
  {                                                                                \
    if (!(cond))                                                                   \
      {                                                                            \
        fprintf (stderr, "fuzz-original: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                                  \
      }                                                                            \
  }                                                                                \
  G_STMT_END

#ifdef LIA_LIBFUZZER
/* GLib never frees interned strings, and when its quark table grows it
 * drops the old array on purpose. Decoding interns every time zone name it
 * reads (lia_value_new_datetime()), so after thousands of made-up zones a
 * long run ends with those arrays reported as leaks. libFuzzer still checks
 * each input for leaks while it runs; only LeakSanitizer's check at exit is
 * off, and only in the libFuzzer binary (the replay test keeps it). */
const char *__lsan_default_options (void);

const char *
__lsan_default_options (void)
{
  return "leak_check_at_exit=0";
}
#endif

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* A critical from a g_return_if_fail() guard is a bug too. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_refusal (const GError *error)
{
  FUZZ_CHECK (error != NULL);
  FUZZ_CHECK (error->domain == LIA_ERROR && error->code == LIA_ERROR_INVALID);
  FUZZ_CHECK (strchr (error->message, '\n') == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (LiaItem) again = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *xml2 = NULL;
  gsize len = 0, len2 = 0;

  item = lia_original_decode ((const char *) data, size, &error);
  if (item == NULL)
    {
      check_refusal (error);
      return 0;
    }
  FUZZ_CHECK (error == NULL);

  xml = lia_original_encode (item, &len, &error);
  if (xml == NULL)
    {
      /* The canonical form can be longer than the input (escaping,
       * indentation; at most about six times): it may only overflow the
       * size cap for inputs that were already big. */
      check_refusal (error);
      FUZZ_CHECK (size > LIA_ORIGINAL_MAX_SIZE / 8);
      return 0;
    }
  FUZZ_CHECK (len <= LIA_ORIGINAL_MAX_SIZE);

  again = lia_original_decode (xml, len, &error);
  FUZZ_CHECK (again != NULL && error == NULL);
  FUZZ_CHECK (lia_item_identical (item, again));

  xml2 = lia_original_encode (again, &len2, &error);
  FUZZ_CHECK (xml2 != NULL && error == NULL);
  FUZZ_CHECK (len == len2 && memcmp (xml, xml2, len) == 0);
  return 0;
}
