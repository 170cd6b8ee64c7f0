/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <liaison/liaison.h>

#include "lia-original-private.h"
#include "lia-xml-private.h"

/* Items are generated from a fixed seed, so a failure names a reproducible
 * item; every field of every entity gets values of every interesting shape
 * (XML specials, CR, control characters, non-ASCII, extremes of each range). */
#define SEED 20240501
#define ITEMS_PER_ENTITY 400

/* ------------------------------------------------------------------------
 * Random values
 * ------------------------------------------------------------------------ */

static const char *const plain_pieces[] = {
  "Jeff",
  "Smith",
  " ",
  "Contoso Ltd.",
  "é",
  "ß",
  "日本語",
  "😀",
  "<",
  ">",
  "&",
  "\"",
  "'",
  "\n",
  "\t",
  "\r",
  "\r\n",
  "]]>",
  "&amp;",
  "&#13;",
  "  ",
  "\xc2\x85",
  "\xe2\x80\xa8",
  "\xef\xbf\xbd",
  "@",
  "+1 555 0100",
  "x",
  "\xc2\xa0",
  "Zoë",
  "a=b;c",
  "/",
  "\\",
};

/* Characters XML 1.0 cannot carry at all: they force the base64 path. */
static const char *const unrepresentable_pieces[] = {
  "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\xef\xbf\xbe", "\xef\xbf\xbf",
};

static char *
random_string (GRand *rand, guint max_pieces)
{
  GString *s = g_string_new (NULL);
  guint n = g_rand_int_range (rand, 0, (gint32) max_pieces + 1);
  gboolean hostile = g_rand_int_range (rand, 0, 8) == 0;

  for (guint i = 0; i < n; i++)
    {
      if (hostile && g_rand_int_range (rand, 0, 4) == 0)
        g_string_append (
            s, unrepresentable_pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (unrepresentable_pieces))]);
      else
        g_string_append (s, plain_pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (plain_pieces))]);
    }
  return g_string_free (s, FALSE);
}

static char *
random_nullable_string (GRand *rand)
{
  return g_rand_boolean (rand) ? random_string (rand, 6) : NULL;
}

static gint64
random_int64 (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 6))
    {
    case 0:
      return G_MININT64;
    case 1:
      return G_MAXINT64;
    case 2:
      return 0;
    case 3:
      return (gint64) g_rand_int_range (rand, -1000, 1000);
    default:
      return (gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand));
    }
}

static const char *const zones[] = {
  NULL,
  "Europe/Paris",
  "America/New_York",
  "UTC",
  "/freeassociation.sourceforge.net/Europe/London",
  "Etc/GMT+5",
  "zone with \"quotes\" & <angles>",
  "tab\there",
  "ctl\x01zone",
};

static LiaValue *
random_value (GRand *rand, const LiaFieldInfo *field)
{
  switch (field->kind)
    {
    case LIA_VALUE_TEXT:
      {
        g_autofree char *text = random_string (rand, 12);
        return lia_value_new_text (text);
      }
    case LIA_VALUE_DATETIME:
      return lia_value_new_datetime (random_int64 (rand),
                                     zones[g_rand_int_range (rand, 0, G_N_ELEMENTS (zones))]);
    case LIA_VALUE_DATE:
      {
        guint year = g_rand_boolean (rand) ? (guint) g_rand_int_range (rand, 1, 10000)
                                           : 1900 + (guint) g_rand_int_range (rand, 0, 200);
        guint month = (guint) g_rand_int_range (rand, 1, 13);
        guint day = (guint) g_rand_int_range (
            rand, 1, g_date_get_days_in_month ((GDateMonth) month, (GDateYear) year) + 1);
        return lia_value_new_date (year, month, day);
      }
    case LIA_VALUE_INTEGER:
      return lia_value_new_integer (random_int64 (rand));
    case LIA_VALUE_BOOLEAN:
      return lia_value_new_boolean (g_rand_boolean (rand));
    case LIA_VALUE_ENUM:
      {
        guint n = g_strv_length ((char **) field->enum_values);
        return lia_value_new_enum (field->enum_values[g_rand_int_range (rand, 0, (gint32) n)]);
      }
    case LIA_VALUE_REFERENCE:
      {
        g_autofree char *id = NULL;
        g_autofree char *name = NULL;
        switch (g_rand_int_range (rand, 0, 3))
          {
          case 0:
            id = g_uuid_string_random ();
            break;
          case 1:
            name = random_string (rand, 6);
            break;
          default:
            id = random_string (rand, 3);
            name = random_string (rand, 6);
            break;
          }
        return lia_value_new_reference ((LiaEntity) g_rand_int_range (rand, 0, LIA_ENTITY_N), id, name);
      }
    case LIA_VALUE_PARTY_LIST:
      {
        guint n = (guint) g_rand_int_range (rand, 0, 6);
        LiaParty parties[6];
        g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
        for (guint i = 0; i < n; i++)
          {
            parties[i].address = random_nullable_string (rand);
            parties[i].name = random_nullable_string (rand);
            parties[i].id = g_rand_boolean (rand) ? g_uuid_string_random () : NULL;
            parties[i].entity = (LiaEntity) g_rand_int_range (rand, 0, LIA_ENTITY_N + 1);
            g_ptr_array_add (strings, (char *) parties[i].address);
            g_ptr_array_add (strings, (char *) parties[i].name);
            g_ptr_array_add (strings, (char *) parties[i].id);
          }
        return lia_value_new_party_list (parties, n);
      }
    case LIA_VALUE_RECURRENCE:
      {
        LiaRecurrence r = { 0 };
        gint64 exdates[5];
        guint n = (guint) g_rand_int_range (rand, 0, 6);
        gint64 at = random_int64 (rand) / 4;

        r.frequency = (LiaRecurFrequency) g_rand_int_range (rand, 0, LIA_RECUR_N);
        r.interval = (guint) g_rand_int_range (rand, 1, 1001);
        r.count = g_rand_boolean (rand) ? 0 : (g_rand_boolean (rand) ? G_MAXUINT : g_rand_int (rand));
        r.until_us = g_rand_boolean (rand) ? 0 : random_int64 (rand);
        r.by_day = (guint) g_rand_int_range (rand, 0, 0x80);
        r.by_month_day = g_rand_int_range (rand, -1, 32);
        r.by_month = (guint) g_rand_int_range (rand, 0, 13);
        r.by_set_pos = g_rand_int_range (rand, -1, 6);
        r.week_start = (guint) g_rand_int_range (rand, 0, 7);
        for (guint i = 0; i < n && i < G_N_ELEMENTS (exdates); i++)
          {
            exdates[i] = at;
            at += 1 + g_rand_int_range (rand, 0, 1000000);
          }
        r.exdates_us = exdates;
        r.n_exdates = n;
        return lia_value_new_recurrence (&r);
      }
    case LIA_VALUE_N:
    default:
      g_assert_not_reached ();
    }
}

/* Every field present with probability @density percent. */
static LiaItem *
random_item (GRand *rand, LiaEntity entity, guint density)
{
  g_autoptr (LiaItem) item = lia_item_new (entity);
  guint n_fields = 0;
  const LiaFieldInfo *fields = lia_field_list (entity, &n_fields);

  for (guint i = 0; i < n_fields; i++)
    {
      g_autoptr (LiaValue) value = NULL;

      if ((guint) g_rand_int_range (rand, 0, 100) >= density)
        continue;
      value = random_value (rand, &fields[i]);
      g_assert_nonnull (value);
      g_assert_true (lia_item_set_at (item, i, value, NULL));
    }
  return g_steal_pointer (&item);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char *
encode_ok (const LiaItem *item, gsize *out_len)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  char *xml = lia_original_encode (item, &len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (xml);
  g_assert_cmpuint (strlen (xml), ==, len);
  if (out_len != NULL)
    *out_len = len;
  return xml;
}

/* The round trip and canonical-bytes check shared by every test that
 * builds an item. */
static void
assert_round_trip (const LiaItem *item)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0, len2 = 0;
  g_autofree char *xml = encode_ok (item, &len);
  g_autoptr (LiaItem) back = lia_original_decode (xml, len, &error);
  g_autofree char *xml2 = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (back);
  if (!lia_item_identical (item, back))
    {
      guint n_fields = 0;
      const LiaFieldInfo *fields = lia_field_list (lia_item_get_entity (item), &n_fields);

      g_test_message ("round trip changed the item; document:\n%s", xml);
      for (guint i = 0; i < n_fields; i++)
        {
          g_autofree char *a = lia_value_to_display (lia_item_get_at (item, i));
          g_autofree char *b = lia_value_to_display (lia_item_get_at (back, i));
          if (!lia_value_identical (lia_item_get_at (item, i), lia_item_get_at (back, i)))
            g_test_message ("field %s: %s became %s", fields[i].name, a, b);
        }
    }
  g_assert_true (lia_item_identical (item, back));
  xml2 = encode_ok (back, &len2);
  g_assert_cmpmem (xml, len, xml2, len2);
}

static void
assert_invalid_len (const char *xml, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) item = lia_original_decode (xml, len, &error);

  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_null (item);
  g_test_message ("refused: %s", error->message);
  /* One line, saying something. */
  g_assert_null (strchr (error->message, '\n'));
  g_assert_cmpuint (strlen (error->message), >, 10);
}

static void
assert_invalid (const char *xml)
{
  assert_invalid_len (xml, strlen (xml));
}

static LiaItem *
decode_ok (const char *xml)
{
  g_autoptr (GError) error = NULL;
  LiaItem *item = lia_original_decode (xml, strlen (xml), &error);

  g_assert_no_error (error);
  g_assert_nonnull (item);
  return item;
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define OPEN(entity) "<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"" entity "\">"
#define CLOSE "</original>"

/* ------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------ */

static void
test_round_trip_random (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED);
  guint n = 0;

  g_test_summary ("Randomized items of every entity (fixed seed) decode identical to what was encoded, "
                  "and re-encoding gives the same bytes");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      for (guint i = 0; i < ITEMS_PER_ENTITY; i++)
        {
          /* Sparse, half-full and full items. */
          guint density = (guint[]){ 15, 60, 100 }[i % 3];
          g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) e, density);

          assert_round_trip (item);
          n++;
        }
    }
  g_assert_cmpuint (n, >=, 5000);
}

static void
test_round_trip_every_field (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + 1);

  g_test_summary ("Every field of every entity, all present at once, survives a round trip");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      for (guint i = 0; i < 20; i++)
        {
          g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) e, 100);
          guint n_fields = 0;

          lia_field_list ((LiaEntity) e, &n_fields);
          g_assert_cmpuint (lia_item_count_present (item), ==, n_fields);
          assert_round_trip (item);
        }
    }
}

static void
test_round_trip_empty (void)
{
  g_test_summary ("An item with every field absent round-trips, for every entity");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaItem) item = lia_item_new ((LiaEntity) e);
      assert_round_trip (item);
    }
}

static void
set_text (LiaItem *item, const char *field, const char *text)
{
  g_assert_true (lia_item_set_text (item, field, text, NULL));
}

static void
test_text (void)
{
  static const char *const texts[] = {
    "",
    " ",
    "  leading and trailing  ",
    "\n",
    "\r",
    "\r\n",
    "line 1\r\nline 2\rline 3\nline 4",
    "\t tab",
    "<b>&amp;</b> \"quoted\" 'single' ]]>",
    "Zoë Ødegård 日本語 😀 \xc2\x85 \xe2\x80\xa8",
    "\x01",
    "bell\x07 and vertical tab\x0b from a Word paste",
    "\x1f\r\n\x01",
    "\xef\xbf\xbe",
    "nonchar \xef\xbf\xbf end",
    "&#13; &lt; stays literal",
  };

  g_test_summary ("Text round-trips exactly: empty is not absent, CR and CRLF survive, XML specials are "
                  "escaped, and characters XML cannot carry go base64");
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
      set_text (item, "notes", texts[i]);
      set_text (item, "nickname", texts[i]);
      assert_round_trip (item);
    }

  /* Absent and "" stay apart. */
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
    g_autoptr (LiaItem) back = NULL;
    g_autofree char *xml = NULL;

    set_text (item, "nickname", "");
    xml = encode_ok (item, NULL);
    back = decode_ok (xml);
    g_assert_cmpstr (lia_item_get_text (back, "nickname"), ==, "");
    g_assert_null (lia_item_get (back, "notes"));
  }
}

static void
test_text_base64 (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *xml = NULL;

  g_test_summary ("Only text XML cannot carry is written base64; printable text stays readable");
  set_text (item, "notes", "a\x01z");
  set_text (item, "nickname", "Plain <text> & \"more\"\r\n");
  xml = encode_ok (item, NULL);
  g_assert_nonnull (strstr (xml, "<text field=\"nickname\">Plain &lt;text&gt; &amp; \"more\"&#13;\n</text>"));
  g_assert_nonnull (strstr (xml, "<text field=\"notes\" encoding=\"base64\">YQF6</text>"));
}

static void
test_datetime (void)
{
  static const gint64 instants[] = { 0, 1, -1, 1714554000123456, G_MININT64, G_MAXINT64 };

  g_test_summary ("Date-times keep their exact microsecond and their zone, or their lack of one, over the "
                  "whole 64-bit range");
  for (guint i = 0; i < G_N_ELEMENTS (instants); i++)
    {
      for (guint z = 0; z < G_N_ELEMENTS (zones); z++)
        {
          g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_TASK);
          g_autoptr (LiaValue) v = lia_value_new_datetime (instants[i], zones[z]);
          g_assert_true (lia_item_set (item, "due", v, NULL));
          assert_round_trip (item);
        }
    }
}

static void
test_date (void)
{
  static const guint dates[][3] = {
    { 1, 1, 1 }, { 9999, 12, 31 }, { 2000, 2, 29 }, { 1980, 2, 29 }, { 1970, 1, 1 }
  };

  g_test_summary ("All-day dates (birthdays) round-trip at both ends of the calendar and on leap days");
  for (guint i = 0; i < G_N_ELEMENTS (dates); i++)
    {
      g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
      g_autoptr (LiaValue) v = lia_value_new_date (dates[i][0], dates[i][1], dates[i][2]);
      g_assert_true (lia_item_set (item, "birthday", v, NULL));
      assert_round_trip (item);
    }
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
    g_autoptr (LiaValue) v = lia_value_new_date (7, 3, 5);
    g_autofree char *xml = NULL;
    g_assert_true (lia_item_set (item, "anniversary", v, NULL));
    xml = encode_ok (item, NULL);
    g_assert_nonnull (strstr (xml, ">0007-03-05</date>"));
  }
}

static void
test_integer_boolean_enum (void)
{
  static const gint64 integers[] = { 0, -1, 100, G_MININT64, G_MAXINT64, G_MININT64 + 1, G_MAXINT64 - 1 };

  g_test_summary ("Integers over the whole 64-bit range, booleans and enum symbols round-trip");
  for (guint i = 0; i < G_N_ELEMENTS (integers); i++)
    {
      g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_TASK);
      g_autoptr (LiaValue) v = lia_value_new_integer (integers[i]);
      g_assert_true (lia_item_set (item, "percent-complete", v, NULL));
      assert_round_trip (item);
    }
  for (guint b = 0; b < 2; b++)
    {
      g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_APPOINTMENT);
      g_autoptr (LiaValue) v = lia_value_new_boolean (b);
      g_assert_true (lia_item_set (item, "all-day", v, NULL));
      assert_round_trip (item);
    }
  {
    const LiaFieldInfo *field = lia_field_lookup (LIA_ENTITY_TASK, "status");
    for (const char *const *s = field->enum_values; *s != NULL; s++)
      {
        g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_TASK);
        g_autoptr (LiaValue) v = lia_value_new_enum (*s);
        g_assert_true (lia_item_set (item, "status", v, NULL));
        assert_round_trip (item);
      }
  }
}

static void
test_reference (void)
{
  g_test_summary ("References keep their entity, and an id only, a name only, or both");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      const char *ids[] = { "5b6c0f5e-8a3d-4a53-9f0e-6b9c3d2a1f00", NULL, "id \"1\"" };
      const char *names[] = { NULL, "Contoso & Sons <UK>", "" };
      for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
        {
          g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
          g_autoptr (LiaValue) v = lia_value_new_reference ((LiaEntity) e, ids[i], names[i]);
          g_assert_nonnull (v);
          g_assert_true (lia_item_set (item, "regarding", v, NULL));
          assert_round_trip (item);
        }
    }
}

static void
test_parties (void)
{
  g_test_summary ("An empty party list is not an absent one, and parties keep any subset of address, "
                  "name, entity and id, in order");
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
    g_autoptr (LiaValue) empty = lia_value_new_party_list (NULL, 0);
    g_autoptr (LiaItem) back = NULL;
    g_autofree char *xml = NULL;

    g_assert_true (lia_item_set (item, "to", empty, NULL));
    xml = encode_ok (item, NULL);
    back = decode_ok (xml);
    g_assert_nonnull (lia_item_get (back, "to"));
    g_assert_cmpuint (lia_value_get_n_parties (lia_item_get (back, "to")), ==, 0);
    g_assert_null (lia_item_get (back, "cc"));
    assert_round_trip (item);
  }
  {
    LiaParty parties[16];
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
    g_autoptr (LiaValue) v = NULL;

    /* Each of the 16 subsets of the four members, in one list. */
    for (guint mask = 0; mask < 16; mask++)
      {
        parties[mask].address = (mask & 1) ? "jeff@example.com" : NULL;
        parties[mask].name = (mask & 2) ? "Jeff \"The\" Smith" : NULL;
        parties[mask].entity = (mask & 4) ? LIA_ENTITY_CONTACT : LIA_ENTITY_N;
        parties[mask].id = (mask & 8) ? "0d0c8f3a-1111-4a53-9f0e-6b9c3d2a1f00" : NULL;
      }
    v = lia_value_new_party_list (parties, G_N_ELEMENTS (parties));
    g_assert_true (lia_item_set (item, "cc", v, NULL));
    assert_round_trip (item);
  }
}

static void
test_recurrence (void)
{
  gint64 exdates[] = { G_MININT64, -5, 0, 1714554000000000, G_MAXINT64 };
  LiaRecurrence full = {
    .frequency = LIA_RECUR_MONTHLY,
    .interval = 1000,
    .count = G_MAXUINT,
    .until_us = G_MININT64,
    .by_day = 0x7f,
    .by_month_day = -1,
    .by_month = 12,
    .by_set_pos = -1,
    .week_start = 6,
    .exdates_us = exdates,
    .n_exdates = G_N_ELEMENTS (exdates),
  };
  LiaRecurrence minimal = { .frequency = LIA_RECUR_DAILY, .interval = 1 };

  g_test_summary ("Recurrences keep every member and their exdates, and a minimal pattern stays minimal");
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_RECURRING_APPOINTMENT);
    g_autoptr (LiaValue) v = lia_value_new_recurrence (&full);
    g_autofree char *xml = NULL;
    g_assert_true (lia_item_set (item, "recurrence", v, NULL));
    assert_round_trip (item);
    xml = encode_ok (item, NULL);
    g_assert_nonnull (strstr (xml, "by-day=\"MO,TU,WE,TH,FR,SA,SU\""));
    g_assert_nonnull (strstr (xml, "week-start=\"SU\""));
  }
  {
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_RECURRING_APPOINTMENT);
    g_autoptr (LiaValue) v = lia_value_new_recurrence (&minimal);
    g_autofree char *xml = NULL;
    g_assert_true (lia_item_set (item, "recurrence", v, NULL));
    assert_round_trip (item);
    xml = encode_ok (item, NULL);
    g_assert_nonnull (strstr (xml, "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\"/>"));
  }
}

/* ------------------------------------------------------------------------
 * Canonical form
 * ------------------------------------------------------------------------ */

static void
test_canonical_golden (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaValue) company = lia_value_new_reference (LIA_ENTITY_ACCOUNT, "a1", "Contoso");
  g_autoptr (LiaValue) birthday = lia_value_new_date (1980, 2, 29);
  g_autofree char *xml = NULL;
  const char *expected =
      HEAD "<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"contact\">\n"
           "  <text field=\"full-name\">Jeff Smith</text>\n"
           "  <reference field=\"company\" entity=\"account\" id=\"a1\" name=\"Contoso\"/>\n"
           "  <date field=\"birthday\">1980-02-29</date>\n"
           "</original>\n";

  g_test_summary ("The stored format is pinned: a small contact encodes to these exact bytes (a change "
                  "here needs a LIA_ORIGINAL_VERSION decision)");
  /* Set in another order than the registry's: the output follows the registry. */
  g_assert_true (lia_item_set (item, "birthday", birthday, NULL));
  g_assert_true (lia_item_set (item, "company", company, NULL));
  set_text (item, "full-name", "Jeff Smith");
  xml = encode_ok (item, NULL);
  g_assert_cmpstr (xml, ==, expected);
}

static void
test_canonical_stable (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + 2);

  g_test_summary ("The same item gives the same bytes: from a copy, from items built field by field in "
                  "reverse order, and after a decode");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) e, 80);
      g_autoptr (LiaItem) copy = lia_item_copy (item);
      g_autoptr (LiaItem) reversed = lia_item_new ((LiaEntity) e);
      guint n_fields = 0;
      gsize len1 = 0, len2 = 0, len3 = 0;
      g_autofree char *xml1 = NULL;
      g_autofree char *xml2 = NULL;
      g_autofree char *xml3 = NULL;

      lia_field_list ((LiaEntity) e, &n_fields);
      for (guint i = n_fields; i-- > 0;)
        g_assert_true (lia_item_set_at (reversed, i, lia_item_get_at (item, i), NULL));
      xml1 = encode_ok (item, &len1);
      xml2 = encode_ok (copy, &len2);
      xml3 = encode_ok (reversed, &len3);
      g_assert_cmpmem (xml1, len1, xml2, len2);
      g_assert_cmpmem (xml1, len1, xml3, len3);
      assert_round_trip (item);
    }
}

static void
test_canonical_registry_order (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + 3);

  g_test_summary ("Fields are written in registry order, one element each, absent fields left out");
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) e, 70);
      g_autofree char *xml = encode_ok (item, NULL);
      guint n_fields = 0;
      const LiaFieldInfo *fields = lia_field_list ((LiaEntity) e, &n_fields);
      const char *at = xml;

      for (guint i = 0; i < n_fields; i++)
        {
          g_autofree char *needle = g_strdup_printf (" field=\"%s\"", fields[i].name);
          const char *found = strstr (xml, needle);

          if (lia_item_get_at (item, i) == NULL)
            {
              g_assert_null (found);
              continue;
            }
          g_assert_nonnull (found);
          g_assert_true (found > at);
          g_assert_null (strstr (found + 1, needle));
          at = found;
        }
    }
}

static void
test_decode_lenient_syntax (void)
{
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (LiaItem) expected = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaValue) due = lia_value_new_datetime (42, "Europe/Paris");
  g_autoptr (LiaValue) percent = lia_value_new_integer (7);
  const char *xml = "<!-- written by hand -->\n"
                    "<o:original xmlns:o='urn:liaison:original' entity='task' version='1'>"
                    "<o:integer field='percent-complete'>007</o:integer>\n\n"
                    "  <o:text field='subject'><![CDATA[a <b> & c]]>&#x41;&#13;&lt;</o:text>"
                    "<?some-pi data?>"
                    "<o:datetime tz='Europe/Paris' field='due' unknown-attribute='x'>42</o:datetime>"
                    "</o:original>";

  g_test_summary ("Any well-formed spelling decodes: prefixes, single quotes, CDATA, character references, "
                  "comments, fields out of order; re-encoding gives the canonical form");
  set_text (expected, "subject", "a <b> & cA\r<");
  g_assert_true (lia_item_set (expected, "due", due, NULL));
  g_assert_true (lia_item_set (expected, "percent-complete", percent, NULL));
  item = decode_ok (xml);
  g_assert_true (lia_item_identical (item, expected));
  {
    g_autofree char *a = encode_ok (item, NULL);
    g_autofree char *b = encode_ok (expected, NULL);
    g_assert_cmpstr (a, ==, b);
  }
}

static void
test_decode_unterminated_buffer (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  gsize len = 0;
  g_autofree char *xml = NULL;
  g_autofree char *exact = NULL;
  g_autofree char *padded = NULL;

  g_test_summary ("Decoding reads exactly len bytes: no NUL terminator needed, bytes after len ignored");
  set_text (item, "full-name", "Jeff");
  xml = encode_ok (item, &len);
  /* Exactly len bytes, so a read past the end is a heap overflow that the
   * sanitizer build reports. */
  exact = g_malloc (len);
  memcpy (exact, xml, len);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (LiaItem) back = lia_original_decode (exact, len, &error);
    g_assert_no_error (error);
    g_assert_true (lia_item_identical (item, back));
  }
  padded = g_strconcat (xml, "<garbage", NULL);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (LiaItem) back = lia_original_decode (padded, len, &error);
    g_assert_no_error (error);
    g_assert_true (lia_item_identical (item, back));
  }
}

static gpointer
thread_round_trips (gpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (GPOINTER_TO_UINT (data));

  for (guint i = 0; i < 300; i++)
    {
      g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) g_rand_int_range (rand, 0, LIA_ENTITY_N), 60);
      gsize len = 0;
      g_autofree char *xml = lia_original_encode (item, &len, NULL);
      g_autoptr (LiaItem) back = lia_original_decode (xml, len, NULL);

      if (!lia_item_identical (item, back))
        return GUINT_TO_POINTER (FALSE);
    }
  return GUINT_TO_POINTER (TRUE);
}

static void
test_threads (void)
{
  GThread *threads[4];

  g_test_summary ("Encoding and decoding run on several threads at once (the sync worker and the host "
                  "thread) without shared state");
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("original", thread_round_trips, GUINT_TO_POINTER (SEED + 10 + i));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_true (GPOINTER_TO_UINT (g_thread_join (threads[i])));
}

/* ------------------------------------------------------------------------
 * Refused input
 * ------------------------------------------------------------------------ */

static void
test_bad_malformed (void)
{
  static const char *const docs[] = {
    "not xml at all",
    "<",
    "<original",
    OPEN ("contact"),
    OPEN ("contact") "<text field=\"nickname\">x</date>" CLOSE,
    OPEN ("contact") CLOSE "<original/>",
    OPEN ("contact") CLOSE "trailing",
    OPEN ("contact") "<text field=\"nickname\" field=\"notes\">x</text>" CLOSE,
    OPEN ("contact") "<text field=\"nickname\">&undefined;</text>" CLOSE,
    OPEN ("contact") "<text field=\"nickname\">&#1;</text>" CLOSE,
    OPEN ("contact") "<x:text field=\"nickname\">x</x:text>" CLOSE,
    "<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"contact\" entity=\"task\"/>",
  };

  g_test_summary ("Malformed XML is refused with LIA_ERROR_INVALID, a one-line message and no item");
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    assert_invalid (docs[i]);
  assert_invalid_len ("", 0);
  assert_invalid_len (NULL, 0);
}

static void
test_bad_truncated (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + 4);
  g_autoptr (LiaItem) item = random_item (rand, LIA_ENTITY_RECURRING_APPOINTMENT, 100);
  gsize len = 0;
  g_autofree char *xml = encode_ok (item, &len);

  g_test_summary ("Every proper prefix of a valid document is refused: a truncated original never yields "
                  "a partial item");
  /* The last byte is the newline after </original>: without it the
   * document is still complete. */
  for (gsize cut = 0; cut < len - 1; cut++)
    assert_invalid_len (xml, cut);
}

/* A well-formed document of exactly @len bytes: the root, whitespace, the
 * end tag. */
static char *
padded_document (gsize len)
{
  const char *head = OPEN ("contact");
  char *doc = g_malloc (len);

  memset (doc, ' ', len);
  memcpy (doc, head, strlen (head));
  memcpy (doc + len - strlen (CLOSE), CLOSE, strlen (CLOSE));
  return doc;
}

static void
test_bad_oversized (void)
{
  g_autofree char *over = padded_document (LIA_ORIGINAL_MAX_SIZE + 1);
  g_autofree char *at_cap = padded_document (LIA_ORIGINAL_MAX_SIZE);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) item = NULL;

  g_test_summary ("A document over LIA_ORIGINAL_MAX_SIZE is refused before parsing, even when "
                  "well-formed; one of exactly the cap is read");
  item = lia_original_decode (over, LIA_ORIGINAL_MAX_SIZE + 1, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_null (item);
  g_assert_nonnull (strstr (error->message, "limit"));
  g_clear_error (&error);

  item = lia_original_decode (at_cap, LIA_ORIGINAL_MAX_SIZE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (item);
}

static void
test_bad_version (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) item = NULL;
  const char *newer = "<original xmlns=\"urn:liaison:original\" version=\"2\" entity=\"contact\"/>";

  g_test_summary ("A newer format version is refused with a message that says so; a missing or nonsense "
                  "version is refused too");
  item = lia_original_decode (newer, strlen (newer), &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_null (item);
  g_assert_nonnull (strstr (error->message, "newer"));
  g_assert_null (strchr (error->message, '\n'));

  assert_invalid ("<original xmlns=\"urn:liaison:original\" entity=\"contact\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"0\" entity=\"contact\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"-1\" entity=\"contact\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"one\" entity=\"contact\"/>");
  assert_invalid (
      "<original xmlns=\"urn:liaison:original\" version=\"99999999999999999999\" entity=\"contact\"/>");
  {
    g_autoptr (LiaItem) ok =
        decode_ok ("<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"contact\"/>");
    g_assert_cmpuint (lia_item_count_present (ok), ==, 0);
  }
}

static void
test_bad_root (void)
{
  g_test_summary ("The root must be <original> in the OriginalXML namespace, with a known entity");
  assert_invalid ("<original version=\"1\" entity=\"contact\"/>");
  assert_invalid ("<original xmlns=\"urn:other\" version=\"1\" entity=\"contact\"/>");
  assert_invalid ("<item xmlns=\"urn:liaison:original\" version=\"1\" entity=\"contact\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"1\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"spaceship\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"none\"/>");
  assert_invalid ("<original xmlns=\"urn:liaison:original\" version=\"1\" entity=\"\"/>");
}

static void
test_bad_value (void)
{
  static const char *const docs[] = {
    /* Kind does not match the field. */
    OPEN ("task") "<text field=\"percent-complete\">5</text>" CLOSE,
    OPEN ("task") "<future-kind field=\"subject\">x</future-kind>" CLOSE,
    /* Values that do not parse or do not fit. */
    OPEN ("task") "<integer field=\"percent-complete\">5a</integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\"> 5</integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\">+5</integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\"></integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\">-</integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\">9223372036854775808</integer>" CLOSE,
    OPEN ("task") "<integer field=\"percent-complete\">-9223372036854775809</integer>" CLOSE,
    OPEN ("task") "<enum field=\"status\">high</enum>" CLOSE,
    OPEN ("task") "<enum field=\"status\">not started</enum>" CLOSE,
    OPEN ("task") "<enum field=\"status\"></enum>" CLOSE,
    OPEN ("task") "<datetime field=\"due\">yesterday</datetime>" CLOSE,
    OPEN ("task") "<datetime field=\"due\" tz-b64=\"!!\">1</datetime>" CLOSE,
    OPEN ("task") "<datetime field=\"due\" tz=\"a\" tz-b64=\"YQ==\">1</datetime>" CLOSE,
    OPEN ("contact") "<date field=\"birthday\">2023-02-30</date>" CLOSE,
    OPEN ("contact") "<date field=\"birthday\">0000-01-01</date>" CLOSE,
    OPEN ("contact") "<date field=\"birthday\">2023-1-01</date>" CLOSE,
    OPEN ("contact") "<date field=\"birthday\">-023-01-01</date>" CLOSE,
    OPEN ("contact") "<date field=\"birthday\">2023-01-01T00:00</date>" CLOSE,
    OPEN ("appointment") "<boolean field=\"all-day\">yes</boolean>" CLOSE,
    OPEN ("appointment") "<boolean field=\"all-day\">TRUE</boolean>" CLOSE,
    OPEN ("contact") "<text field=\"notes\" encoding=\"rot13\">x</text>" CLOSE,
    OPEN ("contact") "<text field=\"notes\" encoding=\"base64\">not base64!</text>" CLOSE,
    OPEN ("contact") "<text field=\"notes\" encoding=\"base64\">/w==</text>" CLOSE, /* 0xff: not UTF-8 */
    OPEN ("contact") "<text field=\"notes\" encoding=\"base64\">YQBi</text>" CLOSE, /* NUL inside */
    OPEN ("contact") "<text field=\"notes\" encoding=\"base64\">YQ=a</text>" CLOSE,
    OPEN ("contact") "<text field=\"notes\">a<b/>c</text>" CLOSE,
    OPEN ("contact") "<reference field=\"company\" entity=\"account\"/>" CLOSE,
    OPEN ("contact") "<reference field=\"company\" id=\"1\"/>" CLOSE,
    OPEN ("contact") "<reference field=\"company\" entity=\"starship\" id=\"1\"/>" CLOSE,
    OPEN ("contact") "<reference field=\"company\" entity=\"account\" id=\"1\">text</reference>" CLOSE,
    OPEN ("email") "<parties field=\"to\"><party entity=\"starship\"/></parties>" CLOSE,
    OPEN ("email") "<parties field=\"to\"><person/></parties>" CLOSE,
    OPEN ("email") "<parties field=\"to\">text</parties>" CLOSE,
    OPEN ("email") "<parties field=\"to\"><party>text</party></parties>" CLOSE,
    OPEN ("email") "<parties field=\"to\"><party><party/></party></parties>" CLOSE,
    OPEN ("email") "<parties field=\"to\"><party name-b64=\"AQ=\"/></parties>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" interval=\"1\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"hourly\" "
                                  "interval=\"1\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\"/>" CLOSE,
    OPEN (
        "recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"0\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" "
                                  "interval=\"1001\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "count=\"-1\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "count=\"4294967296\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-month=\"13\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-month-day=\"32\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-set-pos=\"6\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-day=\"MO,MO\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-day=\"MO;TU\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-day=\"\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "by-day=\"XX\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\" "
                                  "week-start=\"MON\"/>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\">"
                                  "<exdate>5</exdate><exdate>4</exdate></recurrence>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\">"
                                  "<exdate>5</exdate><exdate>5</exdate></recurrence>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\">"
                                  "<exdate>soon</exdate></recurrence>" CLOSE,
    OPEN ("recurringappointment") "<recurrence field=\"recurrence\" frequency=\"daily\" interval=\"1\">"
                                  "<until>5</until></recurrence>" CLOSE,
    /* Structure. */
    OPEN ("contact") "<text>no field attribute</text>" CLOSE,
    OPEN ("contact") "stray text" CLOSE,
    OPEN ("contact") "<text xmlns=\"urn:other\" field=\"notes\">x</text>" CLOSE,
  };

  g_test_summary ("A value that does not fit its field (kind, syntax, range, enum symbol) or a field "
                  "element of the wrong shape is refused");
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_test_message ("document %u: %s", i, docs[i]);
      assert_invalid (docs[i]);
    }
}

static void
test_bad_duplicate (void)
{
  g_test_summary ("A field given twice is refused, even with the same value");
  assert_invalid (OPEN ("contact") "<text field=\"notes\">a</text><text field=\"notes\">a</text>" CLOSE);
  assert_invalid (
      OPEN ("email") "<parties field=\"to\"/><text field=\"subject\">s</text><parties field=\"to\"/>" CLOSE);
}

static void
test_bad_utf8 (void)
{
  static const char *const docs[] = {
    OPEN ("contact") "<text field=\"notes\">\xff</text>" CLOSE,
    OPEN ("contact") "<text field=\"notes\">\xc0\xaf</text>" CLOSE,     /* overlong '/' */
    OPEN ("contact") "<text field=\"notes\">\xed\xa0\x80</text>" CLOSE, /* surrogate */
    OPEN ("contact") "<text field=\"notes\">\xe6\x97</text>" CLOSE,     /* cut sequence */
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" OPEN (
        "contact") "<text field=\"notes\">\xe9</text>" CLOSE,
    "\xff\xfe<\0o\0",
  };
  const char with_nul[] = OPEN ("contact") "<text field=\"notes\">a\0b</text>" CLOSE;

  g_test_summary ("Bytes that are not UTF-8, or a NUL byte, are refused whatever the XML declaration "
                  "says");
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    assert_invalid (docs[i]);
  assert_invalid_len ("\xff\xfe<\0o\0", 6);
  assert_invalid_len (with_nul, sizeof with_nul - 1);
}

static void
test_bad_doctype (void)
{
  static const char *const docs[] = {
    /* Billion laughs. */
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE original [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n" OPEN ("contact") "<text field=\"notes\">&lol9;</text>" CLOSE,
    /* External entity (XXE). */
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE original [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n" OPEN (
        "contact") "<text field=\"notes\">&xxe;</text>" CLOSE,
    /* Parameter entity pulling an external DTD. */
    "<!DOCTYPE original [ <!ENTITY % ext SYSTEM \"http://127.0.0.1:1/evil.dtd\"> %ext; ]>" OPEN ("contact")
        CLOSE,
    /* External subset. */
    "<!DOCTYPE original SYSTEM \"file:///etc/passwd\">" OPEN ("contact") CLOSE,
    /* Even a harmless one. */
    "<!DOCTYPE original>" OPEN ("contact") CLOSE,
  };

  g_test_summary ("Any document type declaration is refused: no entity expansion (billion laughs), no "
                  "external entities or DTDs (XXE)");
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    assert_invalid (docs[i]);
}

static char *
nested (guint depth)
{
  GString *s = g_string_new (OPEN ("contact") "<future field=\"x\">");

  /* The root and <future> are two levels. */
  for (guint i = 2; i < depth; i++)
    g_string_append (s, "<a>");
  for (guint i = 2; i < depth; i++)
    g_string_append (s, "</a>");
  g_string_append (s, "</future>" CLOSE);
  return g_string_free (s, FALSE);
}

static void
test_bad_deep (void)
{
  g_autofree char *at_limit = nested (LIA_ORIGINAL_MAX_DEPTH);
  g_autofree char *over = nested (LIA_ORIGINAL_MAX_DEPTH + 1);
  g_autofree char *deep = nested (100000);
  g_autoptr (LiaItem) item = NULL;

  g_test_summary ("Nesting is refused beyond LIA_ORIGINAL_MAX_DEPTH levels, even inside a skipped unknown "
                  "field, and 100000 levels are refused without recursion trouble");
  item = decode_ok (at_limit);
  g_assert_cmpuint (lia_item_count_present (item), ==, 0);
  assert_invalid (over);
  assert_invalid (deep);
}

static void
test_bad_huge_attribute (void)
{
  g_autofree char *name_at_limit = g_strnfill (LIA_ORIGINAL_MAX_ATTRIBUTE, 'n');
  g_autofree char *name_over = g_strnfill (LIA_ORIGINAL_MAX_ATTRIBUTE + 1, 'n');
  g_autofree char *name_huge = g_strnfill (LIA_ORIGINAL_MAX_SIZE - 200, 'n');
  g_autofree char *b64 = NULL;

  g_test_summary ("Attribute strings are bounded by LIA_ORIGINAL_MAX_ATTRIBUTE on both sides: decode "
                  "refuses longer ones (plain or base64), encode refuses to write them");
  {
    g_autofree char *xml = g_strconcat (OPEN ("email"), "<parties field=\"to\"><party name=\"", name_at_limit,
                                        "\"/></parties>", CLOSE, NULL);
    g_autoptr (LiaItem) item = decode_ok (xml);
    g_assert_cmpstr (lia_value_get_party (lia_item_get (item, "to"), 0)->name, ==, name_at_limit);
    assert_round_trip (item);
  }
  {
    g_autofree char *xml = g_strconcat (OPEN ("email"), "<parties field=\"to\"><party name=\"", name_over,
                                        "\"/></parties>", CLOSE, NULL);
    assert_invalid (xml);
  }
  {
    g_autofree char *xml = g_strconcat (OPEN ("email"), "<parties field=\"to\"><party name=\"", name_huge,
                                        "\"/></parties>", CLOSE, NULL);
    assert_invalid (xml);
  }
  {
    g_autofree char *xml = NULL;
    b64 = g_base64_encode ((const guchar *) name_over, strlen (name_over));
    xml =
        g_strconcat (OPEN ("task"), "<datetime field=\"due\" tz-b64=\"", b64, "\">1</datetime>", CLOSE, NULL);
    assert_invalid (xml);
  }
  {
    LiaParty party = { NULL, name_over, LIA_ENTITY_N, NULL };
    g_autoptr (LiaValue) v = lia_value_new_party_list (&party, 1);
    g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
    g_autoptr (GError) error = NULL;
    gsize len = 12345;
    g_autofree char *xml = NULL;

    g_assert_true (lia_item_set (item, "from", v, NULL));
    xml = lia_original_encode (item, &len, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
    g_assert_null (xml);
    g_assert_cmpuint (len, ==, 12345);
  }
}

static void
test_size_cap_encode (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaItem) fits = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *too_big = g_strnfill (LIA_ORIGINAL_MAX_SIZE, 'x');
  g_autofree char *big = g_strnfill (LIA_ORIGINAL_MAX_SIZE - 200, 'x');
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  gsize len = 0;

  g_test_summary ("Encode refuses an item whose document would exceed LIA_ORIGINAL_MAX_SIZE, and one "
                  "just under the cap round-trips");
  set_text (item, "notes", too_big);
  xml = lia_original_encode (item, &len, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_null (xml);

  set_text (fits, "notes", big);
  assert_round_trip (fits);
  xml = encode_ok (fits, &len);
  g_assert_cmpuint (len, <=, LIA_ORIGINAL_MAX_SIZE);
}

static void
test_unknown_fields (void)
{
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (LiaItem) expected = lia_item_new (LIA_ENTITY_CONTACT);
  const char *xml =
      OPEN ("contact") "<text field=\"full-name\">Jeff</text>"
                       "<text field=\"pronouns\">he/him</text>"
                       "<hologram field=\"avatar\" quality=\"8k\"><frame n=\"1\"><pixel/></frame>"
                       "text &amp; more</hologram>"
                       "<text field=\"nickname\">J</text>"
                       "<text field=\"pronouns\">twice is fine when skipped</text>" CLOSE;

  g_test_summary ("Fields the entity does not have (from a newer client) are skipped with their content; "
                  "they never reach the item and the known fields still decode");
  set_text (expected, "full-name", "Jeff");
  set_text (expected, "nickname", "J");
  item = decode_ok (xml);
  g_assert_true (lia_item_identical (item, expected));
  g_assert_null (lia_item_get (item, "pronouns"));
}

/* ------------------------------------------------------------------------
 * libxml2 stays quiet and host settings do not matter
 * ------------------------------------------------------------------------ */

static const char *const hostile[] = {
  "<!DOCTYPE original [ <!ENTITY a \"b\"> ]>" OPEN ("contact") "<text field=\"notes\">&a;</text>" CLOSE,
  "<!DOCTYPE original [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>" OPEN (
      "contact") "<text field=\"notes\">&xxe;</text>" CLOSE,
  OPEN ("contact") "<text field=\"notes\">&nope;</text>" CLOSE,
  OPEN ("contact") "<text field=\"notes\">x</nottext>" CLOSE,
  OPEN ("contact") "<p:text field=\"notes\">x</p:text>" CLOSE,
  "<original xmlns=\"urn:liaison:original\" xmlns=\"urn:liaison:original\" version=\"1\" "
  "entity=\"contact\"/>",
  "<original xmlns=\"relative/uri\" version=\"1\" entity=\"contact\"/>",
  OPEN ("contact"),
};

/* Valid, but libxml2 has warnings about them. */
static const char *const noisy[] = {
  "<?xml version=\"1.1\"?>" OPEN ("contact") "<text field=\"notes\">x</text>" CLOSE,
  "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" OPEN ("contact") CLOSE,
  "<?xml version=\"1.0\" encoding=\"no-such-encoding\"?>" OPEN ("contact") CLOSE,
};

static guint host_handler_calls;

static void
host_structured_error (void *data, xmlErrorPtr e)
{
  host_handler_calls++;
}

static void
test_quiet_stderr (void)
{
  g_test_summary ("libxml2 never writes to stderr while decoding hostile or malformed input");
  if (g_test_subprocess ())
    {
      for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
        assert_invalid (hostile[i]);
      for (guint i = 0; i < G_N_ELEMENTS (noisy); i++)
        {
          g_autoptr (LiaItem) item = decode_ok (noisy[i]);
          g_assert_cmpint (lia_item_get_entity (item), ==, LIA_ENTITY_CONTACT);
        }
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

static void
test_host_defaults (void)
{
  int old_substitute, old_load_dtd;

  g_test_summary ("A host that changed libxml2's global defaults (entity substitution, DTD loading, its "
                  "own error handler) changes nothing: hostile input is still refused and reported only "
                  "through GError");
  old_substitute = xmlSubstituteEntitiesDefault (1);
  old_load_dtd = xmlLoadExtDtdDefaultValue;
  xmlLoadExtDtdDefaultValue = XML_DETECT_IDS | XML_COMPLETE_ATTRS;
  xmlSetStructuredErrorFunc (NULL, host_structured_error);
  host_handler_calls = 0;

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    assert_invalid (hostile[i]);
  for (guint i = 0; i < G_N_ELEMENTS (noisy); i++)
    {
      g_autoptr (LiaItem) item = decode_ok (noisy[i]);
      g_assert_nonnull (item);
    }
  g_assert_cmpuint (host_handler_calls, ==, 0);

  xmlSetStructuredErrorFunc (NULL, NULL);
  xmlLoadExtDtdDefaultValue = old_load_dtd;
  xmlSubstituteEntitiesDefault (old_substitute);
}

static void
test_leaves_globals (void)
{
  g_autoptr (LiaItem) item = NULL;
  int substitute, keep_blanks;

  g_test_summary ("Decoding leaves libxml2's process-wide defaults as the host set them");
  substitute = xmlSubstituteEntitiesDefault (0);
  xmlSubstituteEntitiesDefault (substitute);
  keep_blanks = xmlKeepBlanksDefault (1);
  xmlKeepBlanksDefault (keep_blanks);

  item = decode_ok (OPEN ("contact") "<text field=\"notes\"> </text>" CLOSE);
  assert_invalid (hostile[0]);

  g_assert_cmpint (xmlSubstituteEntitiesDefault (substitute), ==, substitute);
  g_assert_cmpint (xmlKeepBlanksDefault (keep_blanks), ==, keep_blanks);
  g_assert_cmpstr (lia_item_get_text (item, "notes"), ==, " ");
}

/* ------------------------------------------------------------------------
 * Mutations
 * ------------------------------------------------------------------------ */

static void
test_mutations (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + 5);
  static const char *const inserts[] = { "<",     ">",    "&",    "\"",   "'",         "/",
                                         "=",     " ",    "\xff", "&#1;", "<a>",       "</a>",
                                         "field", "-b64", "<!--", "]]>",  "<![CDATA[", "\xef\xbf\xbe" };
  guint accepted = 0;

  g_test_summary ("Thousands of random byte mutations of valid documents either decode to an item that "
                  "round-trips, or are refused cleanly; nothing in between");
  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr (LiaItem) item = random_item (rand, (LiaEntity) g_rand_int_range (rand, 0, LIA_ENTITY_N), 50);
      gsize len = 0;
      g_autofree char *xml = encode_ok (item, &len);
      GString *m = g_string_new_len (xml, (gssize) len);
      g_autoptr (GError) error = NULL;
      g_autoptr (LiaItem) back = NULL;
      guint edits = 1 + g_rand_int_range (rand, 0, 3);

      for (guint e = 0; e < edits && m->len > 0; e++)
        {
          gsize at = (gsize) g_rand_int_range (rand, 0, (gint32) m->len);
          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0:
              m->str[at] = (char) g_rand_int_range (rand, 1, 256);
              break;
            case 1:
              {
                gsize n = (gsize) g_rand_int_range (rand, 1, 8);
                g_string_erase (m, (gssize) at, (gssize) MIN (n, m->len - at));
              }
              break;
            default:
              g_string_insert (m, (gssize) at, inserts[g_rand_int_range (rand, 0, G_N_ELEMENTS (inserts))]);
              break;
            }
        }
      back = lia_original_decode (m->str, m->len, &error);
      if (back == NULL)
        {
          g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
          g_assert_null (strchr (error->message, '\n'));
        }
      else
        {
          g_assert_no_error (error);
          assert_round_trip (back);
          accepted++;
        }
      g_string_free (m, TRUE);
    }
  /* Some mutations land in text and stay valid: both outcomes ran. */
  g_assert_cmpuint (accepted, >, 0);
  g_assert_cmpuint (accepted, <, 3000);
}

int
main (int argc, char **argv)
{
  /* No files are involved, so no G_TEST_OPTION_ISOLATE_DIRS. */
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/original/round-trip/random", test_round_trip_random);
  g_test_add_func ("/original/round-trip/every-field", test_round_trip_every_field);
  g_test_add_func ("/original/round-trip/empty", test_round_trip_empty);
  g_test_add_func ("/original/kind/text", test_text);
  g_test_add_func ("/original/kind/text-base64", test_text_base64);
  g_test_add_func ("/original/kind/datetime", test_datetime);
  g_test_add_func ("/original/kind/date", test_date);
  g_test_add_func ("/original/kind/integer-boolean-enum", test_integer_boolean_enum);
  g_test_add_func ("/original/kind/reference", test_reference);
  g_test_add_func ("/original/kind/parties", test_parties);
  g_test_add_func ("/original/kind/recurrence", test_recurrence);
  g_test_add_func ("/original/canonical/golden", test_canonical_golden);
  g_test_add_func ("/original/canonical/stable", test_canonical_stable);
  g_test_add_func ("/original/canonical/registry-order", test_canonical_registry_order);
  g_test_add_func ("/original/decode/lenient-syntax", test_decode_lenient_syntax);
  g_test_add_func ("/original/decode/unterminated-buffer", test_decode_unterminated_buffer);
  g_test_add_func ("/original/decode/unknown-fields", test_unknown_fields);
  g_test_add_func ("/original/threads", test_threads);
  g_test_add_func ("/original/bad/malformed", test_bad_malformed);
  g_test_add_func ("/original/bad/truncated", test_bad_truncated);
  g_test_add_func ("/original/bad/oversized", test_bad_oversized);
  g_test_add_func ("/original/bad/version", test_bad_version);
  g_test_add_func ("/original/bad/root", test_bad_root);
  g_test_add_func ("/original/bad/value", test_bad_value);
  g_test_add_func ("/original/bad/duplicate", test_bad_duplicate);
  g_test_add_func ("/original/bad/utf8", test_bad_utf8);
  g_test_add_func ("/original/bad/doctype", test_bad_doctype);
  g_test_add_func ("/original/bad/deep", test_bad_deep);
  g_test_add_func ("/original/bad/huge-attribute", test_bad_huge_attribute);
  g_test_add_func ("/original/bad/mutations", test_mutations);
  g_test_add_func ("/original/size-cap/encode", test_size_cap_encode);
  g_test_add_func ("/original/libxml2/quiet-stderr", test_quiet_stderr);
  g_test_add_func ("/original/libxml2/host-defaults", test_host_defaults);
  g_test_add_func ("/original/libxml2/leaves-globals", test_leaves_globals);

  return g_test_run ();
}
