/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Replays a libFuzzer corpus without libFuzzer (STYLE rule 24): linked with
 * any fuzz-<target>.c, it feeds LLVMFuzzerTestOneInput() every file named on
 * the command line or found in a directory named there, and prints one TAP
 * result per input. A target that crashes, aborts or trips a sanitizer
 * fails the test run; so does a corpus with no inputs, so a wrong path
 * cannot pass by testing nothing.
 *
 * Each input is handed over in an allocation of exactly its size, as
 * libFuzzer does, so that an AddressSanitizer build catches reads past the
 * end. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

static void
collect (const char *path, GPtrArray *files)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      /* Skip README and other notes kept beside the inputs. */
      if (name[0] == '.' || g_str_has_suffix (name, ".md"))
        continue;
      g_ptr_array_add (files, g_build_filename (path, name, NULL));
    }
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  guint failed = 0;

  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    collect (argv[i], files);
  /* Directory order is arbitrary; TAP output should not be. */
  g_ptr_array_sort (files, compare_paths);
  if (files->len == 0)
    {
      printf ("1..0 # no corpus inputs found\n");
      printf ("Bail out! no inputs: pass corpus directories or files\n");
      return 1;
    }
  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autofree char *contents = NULL;
      g_autofree uint8_t *exact = NULL;
      g_autoptr (GError) error = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &contents, &len, &error))
        {
          printf ("not ok %u - %s # %s\n", i + 1, path, error->message);
          failed++;
          continue;
        }
      exact = g_malloc (len > 0 ? len : 1);
      if (len > 0)
        memcpy (exact, contents, len);
      fflush (stdout);
      LLVMFuzzerTestOneInput (exact, len);
      printf ("ok %u - %s\n", i + 1, path);
    }
  return failed > 0 ? 1 : 0;
}
