/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lia-crm-embedded.h"
#include "lia-evo-host.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"
#include "lia-test-eds.h"

/* bench/evolution (issue 6): the engine and the Evolution host adapter on
 * a real evolution-data-server, against EDS itself and against
 * SyncEvolution doing the same import.
 *
 *   1. initial sync of N CRM contacts (embedded org) into the default EDS
 *      local address book through the engine and lia-evo-host.c;
 *   2. baseline: EDS adding the same N vCards (as our sync stored them,
 *      new UIDs) to a fresh local book with e_book_client_add_contacts_sync
 *      in batches;
 *   3. peer: `syncevolution --import DIR` of the same vCards into another
 *      fresh local book;
 *   4. immediate sync: a contact modified with e_book_client_modify_contact
 *      (another client connection, as Evolution's editor would) and saved
 *      (R-IMM-TRACK-INSP / R-IMM-UPDATE-INSP: the module reports the
 *      editor's save), until the CRM record carries the new value.
 *
 * main() re-runs this program under dbus-run-session with HOME and every
 * XDG dir in a fresh temporary directory (as tests/integration does), so
 * the bus activates a private EDS that dies with the bus.
 *
 *   bench-evolution [--smoke] [--initial-only] [N]
 *     default N = 10000; --smoke: 200 contacts, 20 edits; --initial-only:
 *     steps 1 and 2 alone (the ratio within one run; to profile step 1:
 *     perf record -g -- bench-evolution ...)
 */

#define INNER_ENV "LIA_BENCH_EVO_INNER"
#define BATCH 100
#define N_LATENCY 200
#define NO_WAIT ((guint32) -1)

static guint n_contacts = 10000;
static guint n_latency = N_LATENCY;
static gboolean initial_only; /* --initial-only: phase 1 alone, for perf */

static void
die (const char *what, const GError *error)
{
  g_printerr ("bench-evolution: %s: %s\n", what, error != NULL ? error->message : "failed");
  /* Benchmarks are not in core/: a failed setup ends the run. */
  _exit (1);
}

static gint
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static double
percentile_ms (GArray *samples, guint pct)
{
  g_array_sort (samples, cmp_i64);
  return g_array_index (samples, gint64, MIN (samples->len - 1, samples->len * pct / 100)) / 1000.0;
}

static void
got_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

static void
wait_for (GAsyncResult **res)
{
  while (*res == NULL)
    g_main_context_iteration (NULL, TRUE);
}

typedef struct
{
  ESourceRegistry *registry;
  LiaEvoHost *host;
  LiaClock *clock;
  LiaOrgService *org;
  LiaOrgCaller *alice;
  char *token;
  LiaCrm *crm;
  LiaPlugin *plugin;
  char *dir;
} Bench;

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Bench *b = user_data;

  if (b->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (b->plugin, n);
}

static LiaCrmRecord *
make_contact (guint i)
{
  static const char *const given[] = {
    "Anna", "Bernd", "Chiara", "Dmitri", "Emma", "Farid", "Greta", "Hugo"
  };
  static const char *const family[] = { "Schmidt", "Rossi", "Dubois", "Novak", "Smith", "Garcia", "Berg" };
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_CONTACT);
  LiaItem *item = lia_crm_record_get_item (record);
  g_autofree char *g = g_strdup_printf ("%s%05u", given[i % G_N_ELEMENTS (given)], i);
  const char *f = family[i % G_N_ELEMENTS (family)];
  g_autofree char *full = g_strdup_printf ("%s %s", g, f);
  g_autofree char *email = g_strdup_printf ("%s.%s@example.org", g, f);
  g_autofree char *phone = g_strdup_printf ("+49 30 %07u", i);
  g_autofree char *mobile = g_strdup_printf ("+49 170 %07u", i * 7);
  g_autofree char *addr = g_strdup_printf ("Hauptstrasse %u\n10115 Berlin\nGermany", i % 300 + 1);

  lia_item_set_text (item, "given-name", g, NULL);
  lia_item_set_text (item, "family-name", f, NULL);
  lia_item_set_text (item, "full-name", full, NULL);
  lia_item_set_text (item, "job-title", i % 3 == 0 ? "Buyer" : "Engineer", NULL);
  lia_item_set_text (item, "department", "Purchasing", NULL);
  lia_item_set_text (item, "email-1", email, NULL);
  lia_item_set_text (item, "business-phone", phone, NULL);
  lia_item_set_text (item, "mobile-phone", mobile, NULL);
  lia_item_set_text (item, "business-address", addr, NULL);
  lia_item_set_text (item, "notes", "Met at the trade fair; prefers email. Follow up on the spring order.",
                     NULL);
  return record;
}

static void
setup (Bench *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GAsyncResult) watched = NULL;
  g_autofree char *org_path = NULL;
  gint64 t0;

  b->dir = g_build_filename (g_get_user_data_dir (), "bench-evolution", NULL);
  g_mkdir_with_parents (b->dir, 0700);
  b->registry = e_source_registry_new_sync (NULL, &error);
  if (b->registry == NULL)
    die ("registry", error);
  lia_evo_host_new_async (b->registry, NULL, got_result, &res);
  wait_for (&res);
  b->host = lia_evo_host_new_finish (res, &error);
  if (b->host == NULL)
    die ("host", error);
  lia_evo_host_watch_async (b->host, on_note, b, NULL, got_result, &watched);
  wait_for (&watched);
  if (!lia_evo_host_watch_finish (b->host, watched, &error))
    die ("watch", error);
  b->clock = lia_clock_new_system ();
  org_path = g_build_filename (b->dir, "org.db", NULL);
  b->org = lia_org_service_open (org_path, b->clock, &error);
  if (b->org == NULL
      || !lia_org_service_add_user (b->org, "alice", "alice@example.org", FALSE, &b->token, &error))
    die ("org", error);
  b->alice = lia_org_service_authenticate (b->org, b->token, &error);
  if (b->alice == NULL)
    die ("authenticate", error);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n_contacts; i++)
    {
      g_autoptr (LiaCrmRecord) c = make_contact (i);
      g_autoptr (LiaCrmRecord) made = lia_org_service_create (b->org, b->alice, c, NULL, &error);

      if (made == NULL)
        die ("CRM contact", error);
    }
  printf ("setup: %u CRM contacts owned by alice in the embedded org (%.1f s, not timed below)\n", n_contacts,
          (g_get_monotonic_time () - t0) / 1e6);
  b->crm = lia_crm_embedded_new_for_service (b->org, b->token);
}

static guint
count_uids (EBookClient *book)
{
  g_autoptr (GError) error = NULL;
  GSList *uids = NULL;
  guint n;

  if (!e_book_client_get_contacts_uids_sync (book, "", &uids, NULL, &error))
    die ("list UIDs", error);
  n = g_slist_length (uids);
  g_slist_free_full (uids, g_free);
  return n;
}

/* 1. The engine's initial sync, from loading the plugin (the cache opens in
 * the background) to the end of its first cycle. */
static double
bench_ours (Bench *b)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autofree char *cache_path = g_build_filename (b->dir, "cache.db", NULL);
  LiaEngine *engine;
  gint64 t0;
  double ms;
  guint n;

  config.cache_path = cache_path;
  config.crm = b->crm;
  config.org_name = "bench-org";
  config.client_name = "alice-evolution";
  config.clock = b->clock;
  t0 = g_get_monotonic_time ();
  b->plugin = lia_plugin_internal_funcs ()->load (&config, lia_evo_host_get_vtable (), b->host, &error);
  if (b->plugin == NULL)
    die ("plugin", error);
  engine = lia_plugin_get_engine (b->plugin);
  lia_engine_sync_async (engine, NULL, got_result, &res);
  wait_for (&res);
  if (!lia_engine_sync_finish (engine, res, &error))
    die ("initial sync", error);
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  n = count_uids (lia_evo_host_get_book (b->host));
  if (n != n_contacts)
    {
      g_printerr ("bench-evolution: the address book holds %u contacts, not %u\n", n, n_contacts);
      _exit (1);
    }
  printf ("1. ours: initial sync of %u CRM contacts into the EDS local address book in %.0f ms "
          "(%.0f contacts/s)\n",
          n_contacts, ms, n_contacts / (ms / 1000.0));
  /* What every later cycle costs with nothing to do (the scan of the book
   * and the org's PrepareSync): a floor under the immediate sync below. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GAsyncResult) again = NULL;
      gint64 t1 = g_get_monotonic_time ();

      lia_engine_sync_async (engine, NULL, got_result, &again);
      wait_for (&again);
      if (!lia_engine_sync_finish (engine, again, &error))
        die ("idle cycle", error);
      printf ("   then a cycle with nothing to do: %.0f ms\n", (g_get_monotonic_time () - t1) / 1000.0);
    }
  return ms;
}

/* A fresh local address book, as Evolution's "New Address Book" makes. */
static EClient *
new_book (Bench *b, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ESource) source = e_source_new (NULL, NULL, &error);
  g_autoptr (ESource) known = NULL;
  ESourceBackend *ext;
  EClient *client;
  gint64 until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  if (source == NULL)
    die ("new source", error);
  e_source_set_parent (source, "local-stub");
  e_source_set_display_name (source, name);
  ext = e_source_get_extension (source, E_SOURCE_EXTENSION_ADDRESS_BOOK);
  e_source_backend_set_backend_name (ext, "local");
  if (!e_source_registry_commit_source_sync (b->registry, source, NULL, &error))
    die ("commit source", error);
  while ((known = e_source_registry_ref_source (b->registry, e_source_get_uid (source))) == NULL
         && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  if (known == NULL)
    die ("the new address book never appeared", NULL);
  client = e_book_client_connect_sync (known, NO_WAIT, NULL, &error);
  if (client == NULL)
    die ("connect new book", error);
  return client;
}

/* The vCards our sync stored, without UID and REV: the same content for
 * EDS and SyncEvolution to add. */
static GPtrArray *
stored_vcards (Bench *b)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GSList *contacts = NULL;

  if (!e_book_client_get_contacts_sync (lia_evo_host_get_book (b->host), "", &contacts, NULL, &error))
    die ("read contacts", error);
  for (GSList *l = contacts; l != NULL; l = l->next)
    {
      EVCard *card = E_VCARD (l->data);
      EVCardAttribute *a;

      while ((a = e_vcard_get_attribute (card, EVC_UID)) != NULL)
        e_vcard_remove_attribute (card, a);
      while ((a = e_vcard_get_attribute (card, EVC_REV)) != NULL)
        e_vcard_remove_attribute (card, a);
      g_ptr_array_add (out, e_vcard_to_string (card, EVC_FORMAT_VCARD_30));
    }
  g_slist_free_full (contacts, g_object_unref);
  return out;
}

/* 2. EDS itself: add_contacts in batches into a fresh book. */
static double
bench_baseline (Bench *b, GPtrArray *vcards, guint batch)
{
  g_autofree char *name = g_strdup_printf ("Baseline %u", batch);
  g_autoptr (EClient) book = new_book (b, name);
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double ms;

  for (guint i = 0; i < vcards->len; i += batch)
    {
      GSList *list = NULL;

      for (guint j = MIN (vcards->len, i + batch); j > i; j--)
        list = g_slist_prepend (list, e_contact_new_from_vcard (g_ptr_array_index (vcards, j - 1)));
      if (!e_book_client_add_contacts_sync (E_BOOK_CLIENT (book), list, E_BOOK_OPERATION_FLAG_NONE, NULL,
                                            NULL, &error))
        die ("add_contacts", error);
      g_slist_free_full (list, g_object_unref);
    }
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  if (count_uids (E_BOOK_CLIENT (book)) != vcards->len)
    die ("the baseline book is short", NULL);
  return ms;
}

/* Where our time goes, item by item: the adapter's create_item alone, one
 * call in flight at a time as the engine's worker issues them (same
 * contents and link properties as the engine writes), into the default
 * book after the engine's contacts. */
static double
bench_adapter_alone (Bench *b, guint n)
{
  g_autofree char *folder =
      lia_evo_host_get_vtable ()->dup_default_folder (b->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaCrmRecord) c = make_contact (n_contacts + i);
      g_autoptr (GAsyncResult) res = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *id = NULL;
      g_autofree char *crm_id = g_strdup_printf ("bench-%u", i);
      g_autofree char *original = NULL;
      g_auto (LiaHostProps) props = { 0 };

      original = lia_original_encode (lia_crm_record_get_item (c), NULL, NULL);
      lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, crm_id);
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ORG, "bench-org");
      lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, original);
      lia_evo_host_get_vtable ()->create_item (b->host, LIA_EVO_STORE, folder, lia_crm_record_get_item (c),
                                               &props, NULL, got_result, &res);
      wait_for (&res);
      id = lia_evo_host_get_vtable ()->create_item_finish (b->host, res, &error);
      if (id == NULL)
        die ("create_item", error);
    }
  return (g_get_monotonic_time () - t0) / 1000.0;
}

/* The adapter's batch path: @inflight creates handed over at once (as an
 * engine that posts a page's creates together would), waiting for all. */
typedef struct
{
  LiaEvoHost *host;
  guint left;
  GError *error;
} Inflight;

static void
inflight_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Inflight *st = user_data;
  GError *error = NULL;
  g_autofree char *id = lia_evo_host_get_vtable ()->create_item_finish (st->host, res, &error);

  if (id == NULL && st->error == NULL)
    st->error = error;
  else
    g_clear_error (&error);
  st->left--;
}

static double
bench_adapter_inflight (Bench *b, guint n, guint inflight)
{
  g_autofree char *folder =
      lia_evo_host_get_vtable ()->dup_default_folder (b->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  Inflight st = { b->host, 0, NULL };
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < n; i += inflight)
    {
      for (guint j = i; j < MIN (n, i + inflight); j++)
        {
          g_autoptr (LiaCrmRecord) c = make_contact (2 * n_contacts + j);
          g_autofree char *crm_id = g_strdup_printf ("bench-inflight-%u", j);
          g_autofree char *original = lia_original_encode (lia_crm_record_get_item (c), NULL, NULL);
          g_auto (LiaHostProps) props = { 0 };

          lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
          lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, crm_id);
          lia_host_props_set (&props, LIA_HOST_PROP_CRM_ORG, "bench-org");
          lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, original);
          st.left++;
          lia_evo_host_get_vtable ()->create_item (
              b->host, LIA_EVO_STORE, folder, lia_crm_record_get_item (c), &props, NULL, inflight_done, &st);
        }
      while (st.left > 0)
        g_main_context_iteration (NULL, TRUE);
      if (st.error != NULL)
        die ("create_item in flight", st.error);
    }
  return (g_get_monotonic_time () - t0) / 1000.0;
}

/* 3. SyncEvolution: `--import DIR` (one item per file) into a fresh book
 * through its evolution-contacts backend, on the same private bus. */
static double
bench_syncevolution (Bench *b, GPtrArray *vcards, char **out_why)
{
  g_autofree char *se = g_find_program_in_path ("syncevolution");
  g_autofree char *dir = g_build_filename (b->dir, "vcards", NULL);
  g_autofree char *db = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (EClient) book = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  gint64 t0;
  double ms;
  guint n;

  if (se == NULL)
    {
      *out_why = g_strdup ("syncevolution is not installed (apt-get install syncevolution)");
      return -1;
    }
  book = new_book (b, "SyncEvolution");
  db = g_strdup_printf ("database=%s", e_source_get_uid (e_client_get_source (book)));
  g_mkdir_with_parents (dir, 0700);
  for (guint i = 0; i < vcards->len; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%05u.vcf", dir, i);

      if (!g_file_set_contents (path, g_ptr_array_index (vcards, i), -1, &error))
        die ("write vCard", error);
    }
  {
    const char *argv[] = { se, "--daemon=no", "--import",    dir, "backend=evolution-contacts",
                           db, "@default",    "addressbook", NULL };

    t0 = g_get_monotonic_time ();
    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error))
      {
        *out_why = g_strdup (error->message);
        return -1;
      }
    ms = (g_get_monotonic_time () - t0) / 1000.0;
  }
  n = count_uids (E_BOOK_CLIENT (book));
  if (!g_spawn_check_wait_status (status, NULL) || n != vcards->len)
    {
      g_autofree char *tail = g_strndup (err != NULL ? err : "", 400);

      *out_why = g_strdup_printf ("syncevolution --import added %u of %u (exit status %d): %s", n,
                                  vcards->len, status, tail);
      return -1;
    }
  return ms;
}

/* 4. Immediate sync: modify (editor saves through EDS), report the save
 * to the plugin as the module does, wait for the CRM record. */
static void
bench_latency (Bench *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EClient) user = NULL;
  g_autoptr (GArray) samples = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *folder =
      lia_evo_host_get_vtable ()->dup_default_folder (b->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  LiaEngine *engine = lia_plugin_get_engine (b->plugin);
  LiaCache *cache = lia_engine_get_cache (engine);
  GSList *uids = NULL;
  guint done = 0;

  {
    g_autoptr (ESource) source = e_source_registry_ref_default_address_book (b->registry);

    user = e_book_client_connect_sync (source, NO_WAIT, NULL, &error);
    if (user == NULL)
      die ("user book", error);
  }
  if (!e_book_client_get_contacts_uids_sync (E_BOOK_CLIENT (user), "", &uids, NULL, &error))
    die ("list UIDs", error);
  for (GSList *l = uids; l != NULL && done < n_latency; l = l->next)
    {
      g_autofree char *item_id = lia_evo_item_id_for_contact (l->data);
      g_autofree char *title = g_strdup_printf ("Latency %u", done);
      g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (cache, LIA_EVO_STORE, item_id, NULL);
      g_autoptr (EContact) contact = NULL;
      LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_INSPECTOR };
      LiaUiEvent save = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SAVE };
      gint64 t0, until, dt;

      /* The adapter-alone contacts have no CRM record. */
      if (m == NULL || m->crm_id == NULL)
        continue;
      done++;
      /* The editor opens on a tracked contact (untimed). */
      if (!e_book_client_get_contact_sync (E_BOOK_CLIENT (user), l->data, &contact, NULL, &error))
        die ("get contact", error);
      cmd.store = LIA_EVO_STORE;
      cmd.folder = folder;
      cmd.item_id = item_id;
      cmd.entity = LIA_ENTITY_CONTACT;
      cmd.link_state = LIA_LINK_STATE_TRACKED;
      if (!lia_plugin_internal_funcs ()->command (b->plugin, &cmd, &error))
        die ("inspector command", error);
      /* Timed: the save, its report, the CRM record. */
      e_contact_set (contact, E_CONTACT_TITLE, title);
      t0 = g_get_monotonic_time ();
      if (!e_book_client_modify_contact_sync (E_BOOK_CLIENT (user), contact, E_BOOK_OPERATION_FLAG_NONE, NULL,
                                              &error))
        die ("modify", error);
      save.store = LIA_EVO_STORE;
      save.item_id = item_id;
      lia_plugin_internal_funcs ()->ui_event (b->plugin, &save);
      until = t0 + 60 * G_USEC_PER_SEC;
      for (;;)
        {
          g_autoptr (LiaCrmRecord) rec = NULL;
          g_autofree char *got = NULL;

          while (g_main_context_iteration (NULL, FALSE))
            ;
          rec = lia_org_service_retrieve (b->org, b->alice, LIA_ENTITY_CONTACT, m->crm_id, NULL);
          got =
              rec != NULL ? g_strdup (lia_item_get_text (lia_crm_record_get_item (rec), "job-title")) : NULL;
          if (g_strcmp0 (got, title) == 0)
            break;
          if (g_get_monotonic_time () > until)
            die ("the CRM record did not change within 60 s", NULL);
          g_usleep (200);
        }
      dt = g_get_monotonic_time () - t0;
      g_array_append_val (samples, dt);
    }
  g_slist_free_full (uids, g_free);
  printf ("4. immediate sync on EDS: modify_contact + editor save -> CRM record updated, %u modifications: "
          "p50 %.1f ms, p99 %.1f ms (target p99 <= 100 ms, ratio %.2f)\n",
          samples->len, percentile_ms (samples, 50), percentile_ms (samples, 99),
          percentile_ms (samples, 99) / 100.0);
}

static void
machine (void)
{
  g_autofree char *cpuinfo = NULL;
  g_autofree char *model = NULL;
  g_autofree char *os = NULL;
  const char *p;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL)
      && (p = strstr (cpuinfo, "model name")) != NULL && (p = strchr (p, ':')) != NULL)
    model = g_strndup (p + 2, strcspn (p + 2, "\n"));
  if (g_file_get_contents ("/etc/debian_version", &os, NULL, NULL))
    g_strstrip (os);
  printf ("machine: %u CPUs (%s), Debian %s, evolution-data-server %d.%d.%d\n", g_get_num_processors (),
          model != NULL ? model : "?", os != NULL ? os : "?", EDS_MAJOR_VERSION, EDS_MINOR_VERSION,
          EDS_MICRO_VERSION);
}

static int
run_inner (void)
{
  Bench b = { 0 };
  g_autoptr (GPtrArray) vcards = NULL;
  g_autofree char *why = NULL;
  double ours, base, base1 = -1, base1000 = -1, se;

  machine ();
  setup (&b);
  ours = bench_ours (&b);
  vcards = stored_vcards (&b);
  base = bench_baseline (&b, vcards, BATCH);
  printf ("2. baseline: EDS e_book_client_add_contacts_sync of the same %u vCards in batches of %u into a "
          "fresh local book in %.0f ms (%.0f contacts/s); ours / baseline = %.2f (target <= 1.5)\n",
          vcards->len, BATCH, base, vcards->len / (base / 1000.0), ours / base);
  if (initial_only)
    _exit (0);
  if (vcards->len >= 1000)
    {
      base1000 = bench_baseline (&b, vcards, 1000);
      printf ("   baseline, batches of 1000: %.0f ms; ours / baseline = %.2f\n", base1000, ours / base1000);
    }
  /* Where the time goes: EDS one contact per call, and the adapter alone. */
  base1 = bench_baseline (&b, vcards, 1);
  printf ("   where the time goes, per contact: ours %.3f ms; EDS one contact per add call %.3f ms "
          "(ours / that = %.2f); EDS batched by %u %.3f ms\n",
          ours / n_contacts, base1 / vcards->len, ours / base1, BATCH, base / vcards->len);
  se = bench_syncevolution (&b, vcards, &why);
  if (se < 0)
    printf ("3. peer: SyncEvolution could not run: %s\n", why);
  else
    printf ("3. peer: syncevolution --import of the same %u vCards into a fresh local book in %.0f ms "
            "(%.0f contacts/s); ours / SyncEvolution = %.2f\n",
            vcards->len, se, vcards->len / (se / 1000.0), ours / se);
  bench_latency (&b);
  /* Last, with the engine gone: its contacts carry CRM ids the org does
   * not know. */
  g_clear_pointer (&b.plugin, lia_plugin_internal_funcs ()->unload);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  {
    guint n = MIN (n_contacts, 2000);
    double alone = bench_adapter_alone (&b, n);

    printf ("5. the adapter's create_item alone, one in flight, %u contacts: %.3f ms per contact\n", n,
            alone / n);

    {
      double batched = bench_adapter_inflight (&b, n, BATCH);

      /* The engine hands a page's creates over together: what it adds
       * on top of the adapter is ours minus this. */
      printf ("6. the adapter's batch path, %u creates handed over together (as the engine's download "
              "does): %.3f ms per contact; that / baseline = %.2f; engine + cache on top: %.3f ms per "
              "contact\n",
              BATCH, batched / n, (batched / n) / (base / vcards->len), ours / n_contacts - batched / n);
    }
  }
  lia_evo_host_unwatch (b.host);
  g_clear_object (&b.crm);
  g_clear_pointer (&b.host, lia_evo_host_free);
  g_clear_object (&b.registry);
  g_clear_pointer (&b.alice, lia_org_caller_free);
  g_clear_pointer (&b.org, lia_org_service_unref);
  g_clear_pointer (&b.clock, lia_clock_unref);
  g_free (b.token);
  g_free (b.dir);
  return 0;
}

static int
run_outer (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  if (!lia_test_eds_available ())
    {
      printf ("bench-evolution: skipped: needs dbus-run-session and evolution-data-server\n");
      return 77;
    }
  rc = lia_test_eds_rerun (argc, argv, INNER_ENV, "liaison-bench-evo-XXXXXX", &error);
  if (rc < 0)
    die ("dbus-run-session", error);
  return rc;
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      guint64 v;

      if (g_str_equal (argv[i], "--initial-only"))
        initial_only = TRUE;
      else if (g_str_equal (argv[i], "--smoke"))
        n_contacts = 200, n_latency = 20;
      else if (g_ascii_string_to_unsigned (argv[i], 10, 1, 1000000, &v, NULL))
        n_contacts = (guint) v, n_latency = MIN (N_LATENCY, (guint) v);
      else
        {
          g_printerr ("usage: bench-evolution [--smoke] [--initial-only] [N]\n");
          return 2;
        }
    }
  if (g_getenv (INNER_ENV) == NULL)
    return run_outer (argc, argv);
  setvbuf (stdout, NULL, _IOLBF, 0);
  return run_inner ();
}
