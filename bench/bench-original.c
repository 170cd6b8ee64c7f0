/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* OriginalXML throughput on realistic contacts (issue 2: encode + decode
 * >= 100,000 contacts/s). Prints encode, decode and encode+decode rates,
 * the ratio of encode+decode to the target, and the ratio of decode to its
 * baseline: libxml2 alone parsing the same bytes into a tree
 * (xmlReadMemory + xmlFreeDoc), which is what a straightforward decoder
 * would at least pay.
 *
 * Usage: bench-original [SECONDS]   (time per measurement, default 1)
 *
 * Each figure is the best of three runs: the machine is shared, and the
 * best run is the one least disturbed by other work. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <liaison/liaison.h>

#define TARGET_PER_SECOND 100000.0
#define N_CONTACTS 512
#define ROUNDS 3

/* A contact as a CRM user keeps it: 18 fields, a multi-line address and a
 * notes paragraph with the odd character to escape; about 1.3 KB of XML. */
static LiaItem *
make_contact (guint i)
{
  static const char *const given[] = { "Jeff", "Zoë", "Ana", "Kenji", "Ørjan", "Priya", "Li", "Mark" };
  static const char *const family[] = {
    "Smith", "Ødegård", "García", "Tanaka", "Nguyen", "Müller", "O'Brien"
  };
  const char *g = given[i % G_N_ELEMENTS (given)];
  const char *f = family[i % G_N_ELEMENTS (family)];
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *full = g_strdup_printf ("%s %s", g, f);
  g_autofree char *email1 = g_strdup_printf ("%s.%s%u@example.com", g, f, i);
  g_autofree char *email2 = g_strdup_printf ("%c%u@mail.example.org", g[0], i);
  g_autofree char *phone = g_strdup_printf ("+1 555 01%02u", i % 100);
  g_autofree char *mobile = g_strdup_printf ("+1 555 02%02u", (i * 7) % 100);
  g_autofree char *home = g_strdup_printf ("+1 555 03%02u", (i * 3) % 100);
  g_autofree char *address =
      g_strdup_printf ("%u Main Street\nSuite %u\nSpringfield, IL 62701\nUSA", 100 + i, i % 40);
  g_autofree char *home_address = g_strdup_printf ("%u Elm Road\nShelbyville, IL 62565", 10 + i);
  g_autofree char *account_id = g_strdup_printf ("5b6c0f5e-8a3d-4a53-9f0e-%012u", i);
  g_autoptr (LiaValue) company =
      lia_value_new_reference (LIA_ENTITY_ACCOUNT, account_id, "Contoso & Sons Ltd.");
  g_autoptr (LiaValue) birthday = lia_value_new_date (1960 + i % 40, 1 + i % 12, 1 + i % 28);
  g_autofree char *notes = g_strdup_printf (
      "Met %s at the trade fair in booth #%u. Interested in the <Enterprise> plan; wants a quote by Friday "
      "& a demo for the team. Prefers email; call only after 10:00. Follow up with %s's assistant.",
      g, i % 500, g);

  lia_item_set_text (item, "full-name", full, NULL);
  lia_item_set_text (item, "given-name", g, NULL);
  lia_item_set_text (item, "family-name", f, NULL);
  lia_item_set_text (item, "job-title", "Director of Purchasing", NULL);
  lia_item_set_text (item, "department", "Procurement", NULL);
  lia_item_set (item, "company", company, NULL);
  lia_item_set_text (item, "manager", "Pat Jones", NULL);
  lia_item_set_text (item, "assistant", "Sam Lee", NULL);
  lia_item_set (item, "birthday", birthday, NULL);
  lia_item_set_text (item, "email-1", email1, NULL);
  lia_item_set_text (item, "email-2", email2, NULL);
  lia_item_set_text (item, "business-phone", phone, NULL);
  lia_item_set_text (item, "home-phone", home, NULL);
  lia_item_set_text (item, "mobile-phone", mobile, NULL);
  lia_item_set_text (item, "business-address", address, NULL);
  lia_item_set_text (item, "home-address", home_address, NULL);
  lia_item_set_text (item, "web-page", "https://www.contoso.example/people?id=42&lang=en", NULL);
  lia_item_set_text (item, "notes", notes, NULL);
  return g_steal_pointer (&item);
}

typedef enum
{
  MODE_ENCODE,
  MODE_DECODE,
  MODE_ROUND_TRIP,
  MODE_LIBXML2_TREE,
} Mode;

typedef struct
{
  LiaItem *items[N_CONTACTS]; /* owned */
  char *xml[N_CONTACTS];      /* owned: the items, encoded */
  gsize len[N_CONTACTS];
} Data;

static void
run_one (Data *data, Mode mode, guint i)
{
  switch (mode)
    {
    case MODE_ENCODE:
      {
        g_autofree char *xml = lia_original_encode (data->items[i], NULL, NULL);
        g_assert (xml != NULL);
      }
      break;
    case MODE_DECODE:
      {
        g_autoptr (LiaItem) item = lia_original_decode (data->xml[i], data->len[i], NULL);
        g_assert (item != NULL);
      }
      break;
    case MODE_ROUND_TRIP:
      {
        gsize len = 0;
        g_autofree char *xml = lia_original_encode (data->items[i], &len, NULL);
        g_autoptr (LiaItem) item = lia_original_decode (xml, len, NULL);
        g_assert (item != NULL);
      }
      break;
    case MODE_LIBXML2_TREE:
      {
        xmlDoc *doc = xmlReadMemory (data->xml[i], (int) data->len[i], NULL, NULL, XML_PARSE_NONET);
        g_assert (doc != NULL);
        xmlFreeDoc (doc);
      }
      break;
    }
}

/* Contacts per second, best of ROUNDS runs of about @seconds each. */
static double
measure (Data *data, Mode mode, double seconds)
{
  double best = 0;

  for (guint round = 0; round < ROUNDS; round++)
    {
      gint64 start = g_get_monotonic_time ();
      gint64 deadline = start + (gint64) (seconds * G_USEC_PER_SEC);
      guint64 done = 0;
      gint64 now;

      do
        {
          for (guint i = 0; i < N_CONTACTS; i++)
            run_one (data, mode, i);
          done += N_CONTACTS;
          now = g_get_monotonic_time ();
        }
      while (now < deadline);
      best = MAX (best, (double) done * G_USEC_PER_SEC / (double) (now - start));
    }
  return best;
}

int
main (int argc, char **argv)
{
  Data data;
  double seconds = argc > 1 ? g_ascii_strtod (argv[1], NULL) : 1.0;
  gsize total = 0;
  double encode, decode, round_trip, tree;

  if (seconds <= 0)
    seconds = 1.0;
  xmlInitParser ();
  for (guint i = 0; i < N_CONTACTS; i++)
    {
      data.items[i] = make_contact (i);
      data.xml[i] = lia_original_encode (data.items[i], &data.len[i], NULL);
      g_assert (data.xml[i] != NULL);
      total += data.len[i];
    }
  /* Warm caches and the allocator before measuring. */
  measure (&data, MODE_ROUND_TRIP, 0.2);

  encode = measure (&data, MODE_ENCODE, seconds);
  decode = measure (&data, MODE_DECODE, seconds);
  round_trip = measure (&data, MODE_ROUND_TRIP, seconds);
  tree = measure (&data, MODE_LIBXML2_TREE, seconds);

  printf ("OriginalXML, realistic contact (%u fields, %" G_GSIZE_FORMAT " bytes on average), one thread\n",
          lia_item_count_present (data.items[0]), total / N_CONTACTS);
  printf ("  encode:                   %9.0f contacts/s\n", encode);
  printf ("  decode:                   %9.0f contacts/s\n", decode);
  printf ("  encode+decode:            %9.0f contacts/s  (%.2fx the %.0f/s target)\n", round_trip,
          round_trip / TARGET_PER_SECOND, TARGET_PER_SECOND);
  printf ("  baseline, libxml2 tree:   %9.0f contacts/s  (xmlReadMemory + xmlFreeDoc of the same bytes)\n",
          tree);
  printf ("  decode / baseline:        %9.2fx\n", decode / tree);
  printf ("  encode+decode / baseline: %9.2fx\n", round_trip / tree);

  for (guint i = 0; i < N_CONTACTS; i++)
    {
      lia_item_free (data.items[i]);
      g_free (data.xml[i]);
    }
  return 0;
}
