/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* docs/rules.md against the tables in core/: the document is what
 * lia_rules_render_markdown() renders, so it cannot drift from the code.
 *
 *   test-rules-doc [--tap] DOC   check DOC (meson passes docs/rules.md)
 *   test-rules-doc --write DOC   regenerate DOC */
#include <stdio.h>
#include <string.h>

#include <liaison/liaison.h>

#include "lia-rules-doc-private.h"

static const char *doc_path;
static const char *program;

/* The 1-based number of the first line where @a and @b differ, with both
 * lines, for a failure message a person can act on. */
static guint
first_difference (const char *a, const char *b, char **out_line_a, char **out_line_b)
{
  g_auto (GStrv) lines_a = g_strsplit (a, "\n", -1);
  g_auto (GStrv) lines_b = g_strsplit (b, "\n", -1);
  guint i = 0;

  while (lines_a[i] != NULL && lines_b[i] != NULL && g_str_equal (lines_a[i], lines_b[i]))
    i++;
  *out_line_a = g_strdup (lines_a[i] != NULL ? lines_a[i] : "(end of file)");
  *out_line_b = g_strdup (lines_b[i] != NULL ? lines_b[i] : "(end of file)");
  return i + 1;
}

static void
test_up_to_date (void)
{
  g_autofree char *expected = lia_rules_render_markdown ();
  g_autofree char *actual = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("docs/rules.md is exactly what the code's rule tables render, so the document shows the "
                  "tables as the code has them.");
  if (doc_path == NULL)
    {
      g_test_skip ("no document path given");
      return;
    }
  if (!g_file_get_contents (doc_path, &actual, NULL, &error))
    {
      g_test_fail_printf ("cannot read %s: %s; generate it with: %s --write %s", doc_path, error->message,
                          program, doc_path);
      return;
    }
  if (strcmp (actual, expected) != 0)
    {
      g_autofree char *file_line = NULL;
      g_autofree char *code_line = NULL;
      guint line = first_difference (actual, expected, &file_line, &code_line);

      g_test_fail_printf ("%s differs from the code's tables at line %u:\n  file: %s\n  code: %s\n"
                          "regenerate it with: %s --write %s",
                          doc_path, line, file_line, code_line, program, doc_path);
    }
}

static void
test_renders_every_rule (void)
{
  g_autofree char *text = lia_rules_render_markdown ();
  static const char *const ids[] = {
    "R-IMM-TRACK-INSP",
    "R-IMM-UPDATE-INSP",
    "R-IMM-UNTRACK-INSP",
    "R-IMM-DELETE-INSP",
    "R-IMM-TRACK-EXPL",
    "R-IMM-REGARDING-EXPL",
    "R-IMM-DELETE-EXPL",
    "R-IMM-DRAFT",
    "R-ROLE-SECONDARY-NO-NEW",
    "R-ROLE-SECONDARY-DEFER",
    "R-ROLE-DELEGATE",
    "R-DEL-OUT-EMAIL",
    "R-DEL-OUT-APPT",
    "R-DEL-OUT-CONTACT",
    "R-DEL-OUT-TASK",
    "R-DEL-OUT-REMEMBER",
    "R-DEL-IN-EMAIL",
    "R-DEL-IN-APPT",
    "R-DEL-IN-CONTACT",
    "R-DEL-IN-TASK",
    "R-DEL-IN-FILTER",
    "R-APPT-PAST",
    "R-APPT-SERVICE",
    "R-APPT-ORGANIZER",
    "R-TASK-CLOSED",
    "R-TASK-REMINDER",
    "R-CONTACT-COMPANY",
    "R-UNSUPPORTED",
    "R-APPT-RECUR",
    "R-CUSTOM-FIELDS",
    "R-MERGE-NEWER-WINS",
    "R-MERGE-DIRECTION",
    "R-MERGE-FLS",
    "R-MERGE-ORDER",
    "R-MERGE-ORIGINAL",
  };

  g_test_summary ("The rendered document names every rule the tables implement and ends in one newline.");
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      if (strstr (text, ids[i]) == NULL)
        g_test_fail_printf ("the rendered rules do not mention %s", ids[i]);
    }
  g_assert_true (g_str_has_suffix (text, "\n"));
  g_assert_false (g_str_has_suffix (text, "\n\n"));
}

int
main (int argc, char **argv)
{
  program = argv[0];
  if (argc == 3 && g_str_equal (argv[1], "--write"))
    {
      g_autofree char *text = lia_rules_render_markdown ();
      g_autoptr (GError) error = NULL;

      if (!g_file_set_contents (argv[2], text, -1, &error))
        {
          fprintf (stderr, "%s: %s\n", argv[0], error->message);
          return 1;
        }
      printf ("wrote %s\n", argv[2]);
      return 0;
    }
  g_test_init (&argc, &argv, NULL);
  doc_path = argc > 1 ? argv[1] : NULL;
  g_test_add_func ("/rules/doc/up-to-date", test_up_to_date);
  g_test_add_func ("/rules/doc/renders-every-rule", test_renders_every_rule);
  return g_test_run ();
}
