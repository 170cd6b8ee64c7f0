/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Three-way merge throughput on contacts (SPEC section 5). Prints merges/s
 * and the ratio to a baseline: comparing every field of the same (original,
 * host, CRM) triple three ways with lia_value_equal(), original against
 * host, original against CRM and host against CRM, which is the least any
 * three-way merge has to look at. The ratio says what deciding, writing and
 * building the new originals cost on top of comparing. Three
 * lia_item_equal() calls over the triple, which stop at the first
 * difference, are printed too.
 *
 * Usage: bench-merge [SECONDS]   (time per measurement, default 1)
 *
 * Each figure is the best of three runs: the machine is shared, and the
 * best run is the one least disturbed by other work. */

#include <stdio.h>
#include <stdlib.h>

#include <liaison/liaison.h>

#include "random-items.h"

#define N_TRIPLES 4096
#define ROUNDS 3

typedef struct
{
  LiaItem *original; /* owned */
  LiaItem *host;     /* owned */
  LiaItem *crm;      /* owned */
} Triple;

typedef void (*Workload) (const LiaFieldPolicy *policy, const Triple *triples, guint n);

/* Results flow here so the compiler cannot drop the work. */
static guint64 sink;

static void
workload_merge (const LiaFieldPolicy *policy, const Triple *triples, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaMergeResult) result =
          lia_merge_items (policy, triples[i].original, triples[i].host, triples[i].crm, 2, 1, NULL);
      guint writes = 0;

      lia_merge_result_get_crm_writes (result, &writes);
      sink += writes;
    }
}

static void
workload_field_equal (const LiaFieldPolicy *policy, const Triple *triples, guint n)
{
  guint n_fields = 0;

  lia_field_list (LIA_ENTITY_CONTACT, &n_fields);
  for (guint i = 0; i < n; i++)
    for (guint f = 0; f < n_fields; f++)
      {
        LiaValue *o = lia_item_get_at (triples[i].original, f);
        LiaValue *h = lia_item_get_at (triples[i].host, f);
        LiaValue *c = lia_item_get_at (triples[i].crm, f);
        sink += lia_value_equal (o, h) + lia_value_equal (o, c) + lia_value_equal (h, c);
      }
}

static void
workload_item_equal (const LiaFieldPolicy *policy, const Triple *triples, guint n)
{
  for (guint i = 0; i < n; i++)
    sink += lia_item_equal (triples[i].original, triples[i].host)
            + lia_item_equal (triples[i].original, triples[i].crm)
            + lia_item_equal (triples[i].host, triples[i].crm);
}

/* Triples per second, the best of ROUNDS runs of at least @seconds each. */
static gdouble
measure (Workload workload, const LiaFieldPolicy *policy, const Triple *triples, guint n, gdouble seconds)
{
  gdouble best = 0;

  for (guint round = 0; round < ROUNDS; round++)
    {
      gint64 start = g_get_monotonic_time ();
      gint64 elapsed;
      guint64 done = 0;

      do
        {
          workload (policy, triples, n);
          done += n;
          elapsed = g_get_monotonic_time () - start;
        }
      while (elapsed < seconds * G_USEC_PER_SEC);
      best = MAX (best, done / (elapsed / (gdouble) G_USEC_PER_SEC));
    }
  return best;
}

int
main (int argc, char **argv)
{
  gdouble seconds = argc > 1 ? g_ascii_strtod (argv[1], NULL) : 1.0;
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260301);
  g_autoptr (LiaFieldPolicy) policy = lia_field_policy_new (LIA_ENTITY_CONTACT);
  Triple *triples = g_new0 (Triple, N_TRIPLES);
  guint n_fields = 0;
  gdouble merges, baseline, item_equal;

  if (seconds <= 0)
    seconds = 1.0;
  lia_field_list (LIA_ENTITY_CONTACT, &n_fields);
  /* A sync cycle merges items that changed: about a third of the fields
   * differ from the original on each side. */
  for (guint i = 0; i < N_TRIPLES; i++)
    {
      triples[i].original = random_item (rand, LIA_ENTITY_CONTACT);
      triples[i].host = random_variant (rand, triples[i].original, 0.3);
      triples[i].crm = random_variant (rand, triples[i].original, 0.3);
    }

  merges = measure (workload_merge, policy, triples, N_TRIPLES, seconds);
  baseline = measure (workload_field_equal, policy, triples, N_TRIPLES, seconds);
  item_equal = measure (workload_item_equal, policy, triples, N_TRIPLES, seconds);
  printf ("contacts: %u fields, %u distinct triples, best of %u runs of %.1f s\n", n_fields, N_TRIPLES,
          ROUNDS, seconds);
  printf ("merge (lia_merge_items):                  %12.0f merges/s\n", merges);
  printf ("baseline (3 x lia_value_equal per field): %12.0f triples/s\n", baseline);
  printf ("ratio merge time / baseline time:         %12.2f\n", baseline / merges);
  printf ("3 x lia_item_equal (stops at first diff): %12.0f triples/s, ratio %.2f\n", item_equal,
          item_equal / merges);
  printf ("(checksum %" G_GUINT64_FORMAT ")\n", sink);

  for (guint i = 0; i < N_TRIPLES; i++)
    {
      lia_item_free (triples[i].original);
      lia_item_free (triples[i].host);
      lia_item_free (triples[i].crm);
    }
  g_free (triples);
  return EXIT_SUCCESS;
}
