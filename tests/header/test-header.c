/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compiled as a C99 and a C11 consumer with -Wpedantic -Werror: the public
 * headers must stay usable by any C program, not only by our own build. */
#include <liaison/liaison.h>

#include <stdio.h>

int
main (void)
{
  /* Touch one symbol of each header so a missing export fails to link. */
  LiaClock *clock = lia_clock_new_manual (0);
  LiaItem *item = lia_item_new (LIA_ENTITY_CONTACT);
  guint n = 0;
  int ok;

  lia_field_list (LIA_ENTITY_CONTACT, &n);
  ok = lia_clock_now (clock) == 0 && n > 0 && lia_item_count_present (item) == 0 && lia_error_quark () != 0
       && lia_version_string () != NULL && lia_value_kind_to_string (LIA_VALUE_TEXT) != NULL;
  lia_item_free (item);
  lia_clock_unref (clock);
  printf ("%s\n", ok ? "ok" : "not ok");
  return ok ? 0 : 1;
}
