/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "lia-crm-embedded.h"
#include "lia-org-service.h"
#include "lia-org-sync.h"

/* The org service's acceptance figures (docs/performance.md):
 *   1. initial PrepareSync + GetSyncData for a user whose filters match
 *      100,000 contacts (target <= 3 s), through the embedded connector;
 *   2. incremental PrepareSync after 100 changes among them (<= 20 ms);
 *   3. liaison-server throughput of incremental PrepareSync with 64
 *      concurrent clients on loopback (>= 2,000 requests/s). */

#define N_CONTACTS 100000
#define N_CHANGES 100
#define N_CLIENTS 64
#define THROUGHPUT_SECONDS 3

static LiaCrmRecord *
contact (guint i, const char *owner)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_CONTACT);
  LiaItem *item = lia_crm_record_get_item (record);
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *given = g_strdup_printf ("Given%u", i);
  g_autofree char *full = g_strdup_printf ("Given%u Family%u", i, i % 977);
  g_autofree char *email = g_strdup_printf ("person%u@bench.example", i);

  lia_crm_record_set_id (record, id);
  lia_crm_record_set_owner (record, owner);
  lia_item_set_text (item, "given-name", given, NULL);
  lia_item_set_text (item, "family-name", "Family", NULL);
  lia_item_set_text (item, "full-name", full, NULL);
  lia_item_set_text (item, "email-1", email, NULL);
  lia_item_set_text (item, "business-phone", "+33 1 23 45 67 89", NULL);
  lia_item_set_text (item, "job-title", "Buyer", NULL);
  return record;
}

static void
ratio (const char *what, double value, const char *unit, double target, gboolean at_most)
{
  g_print ("org: %s: %.3g %s (target %s %.3g %s, ratio %.2f%s)\n", what, value, unit,
           at_most ? "<=" : ">=", target, unit, value / target,
           (at_most ? value <= target : value >= target) ? "" : ", MISSED");
}

typedef struct
{
  SoupSession *session;
  GPtrArray *urls;
  char *authorization;
  gint64 deadline;
  guint done;
  guint failed;
  guint in_flight;
} Load;

static void send_one (Load *load, guint client);

typedef struct
{
  Load *load;
  guint client;
} Slot;

static void
sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Slot *slot = data;
  Load *load = slot->load;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);

  load->in_flight--;
  if (body == NULL || soup_message_get_status (msg) != 200)
    {
      if (load->failed++ == 0)
        g_print ("org: server: first failure: %s\n",
                 error != NULL ? error->message : soup_message_get_reason_phrase (msg));
    }
  else
    load->done++;
  if (g_get_monotonic_time () < load->deadline)
    send_one (load, slot->client);
  g_free (slot);
}

static void
send_one (Load *load, guint client)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", load->urls->pdata[client]);
  Slot *slot = g_new0 (Slot, 1);

  slot->load = load;
  slot->client = client;
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", load->authorization);
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  load->in_flight++;
  soup_session_send_and_read_async (load->session, msg, G_PRIORITY_DEFAULT, NULL, sent, slot);
}

static void
child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static double
server_throughput (const char *path, LiaOrgService *service)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr (LiaOrgCaller) caller = NULL;
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  Load load = { 0 };
  gint64 start;

  /* A second user with 200 contacts and 64 clients, each synced once, so
   * every request is an incremental PrepareSync. */
  g_assert_true (lia_org_service_add_user (service, "load", "load@bench.example", FALSE, &token, &error));
  caller = lia_org_service_authenticate (service, token, &error);
  for (guint i = 0; i < 200; i++)
    g_ptr_array_add (records, contact (i, caller->user_id));
  g_assert_true (lia_org_service_import_batch (service, records, &error));
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_BENCH_SERVER, "--db", path, "--listen",
                                        "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);

  load.urls = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < N_CLIENTS; c++)
    {
      g_autofree char *client = g_strdup_printf ("client-%u", c);
      g_autoptr (LiaCrmSubscription) sub = lia_org_sync_subscribe (service, caller, client, &error);
      g_autoptr (LiaSyncSummary) first =
          lia_org_sync_prepare (service, caller, sub->id, 1u << LIA_ENTITY_CONTACT, &error);
      g_assert_no_error (error);
      g_ptr_array_add (load.urls, g_strdup_printf ("%sv1/subscriptions/%s/prepare?entities=contact",
                                                   line + strlen ("listening "), sub->id));
    }
  load.session =
      soup_session_new_with_options ("max-conns", N_CLIENTS + 4, "max-conns-per-host", N_CLIENTS + 4, NULL);
  load.authorization = g_strconcat ("Bearer ", token, NULL);
  /* Warm up the connections, then measure. */
  load.deadline = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  for (guint c = 0; c < N_CLIENTS; c++)
    send_one (&load, c);
  while (load.in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  load.done = load.failed = 0;
  start = g_get_monotonic_time ();
  load.deadline = start + THROUGHPUT_SECONDS * G_USEC_PER_SEC;
  for (guint c = 0; c < N_CLIENTS; c++)
    send_one (&load, c);
  while (load.in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  {
    double seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
    g_print ("org: server: %u incremental PrepareSync in %.2f s over %u connections, %u failed\n", load.done,
             seconds, N_CLIENTS, load.failed);
    g_subprocess_send_signal (server, SIGTERM);
    g_subprocess_wait (server, NULL, NULL);
    g_object_unref (load.session);
    g_ptr_array_unref (load.urls);
    g_free (load.authorization);
    return load.done / seconds;
  }
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = g_dir_make_tmp ("bench-org-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "org.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgService) service = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autofree char *token = NULL;
  g_autoptr (LiaOrgCaller) caller = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  guint received = 0;
  double initial, incremental;

  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  service = lia_org_service_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_add_user (service, "bench", "bench@bench.example", FALSE, &token, &error));
  caller = lia_org_service_authenticate (service, token, &error);
  for (guint i = 0; i < N_CONTACTS; i++)
    g_ptr_array_add (records, contact (i, caller->user_id));
  g_timer_start (timer);
  g_assert_true (lia_org_service_import_batch (service, records, &error));
  g_print ("org: loaded %u contacts in %.2f s\n", N_CONTACTS, g_timer_elapsed (timer, NULL));

  crm = lia_crm_embedded_new_for_service (service, token);
  sub = lia_crm_subscribe_sync (crm, "bench-client", NULL, &error);
  g_assert_no_error (error);

  /* 1. Initial sync: PrepareSync, then every page of GetSyncData, each
   * acknowledged by PostSync as a client does. */
  g_timer_start (timer);
  {
    g_autoptr (LiaSyncSummary) summary =
        lia_crm_prepare_sync_sync (crm, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
    g_autofree char *cursor = NULL;
    g_assert_no_error (error);
    g_assert_cmpuint (lia_sync_summary_get (summary, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), ==, N_CONTACTS);
    for (;;)
      {
        g_autoptr (LiaSyncPage) page =
            lia_crm_get_sync_data_sync (crm, sub->id, LIA_ENTITY_CONTACT, cursor, 1000, NULL, &error);
        g_autoptr (GPtrArray) ack = g_ptr_array_new ();
        g_assert_no_error (error);
        for (guint i = 0; i < lia_sync_page_get_n_changes (page); i++)
          g_ptr_array_add (ack, lia_sync_page_get_change (page, i)->id);
        received += ack->len;
        g_ptr_array_add (ack, NULL);
        g_assert_true (lia_crm_post_sync_sync (crm, sub->id, LIA_ENTITY_CONTACT,
                                               (const char *const *) ack->pdata, NULL, &error));
        if (!lia_sync_page_get_more (page))
          break;
        g_free (cursor);
        cursor = g_strdup (lia_sync_page_get_cursor (page));
      }
  }
  initial = g_timer_elapsed (timer, NULL);
  g_assert_cmpuint (received, ==, N_CONTACTS);

  /* 2. 100 changes, then one incremental PrepareSync. */
  for (guint i = 0; i < N_CHANGES; i++)
    {
      LiaCrmRecord *r = records->pdata[i * (N_CONTACTS / N_CHANGES)];
      g_autoptr (LiaCrmRecord) now =
          lia_crm_retrieve_sync (crm, LIA_ENTITY_CONTACT, lia_crm_record_get_id (r), NULL, &error);
      g_autoptr (LiaCrmRecord) updated = NULL;
      lia_item_set_text (lia_crm_record_get_item (now), "nickname", "changed", NULL);
      updated = lia_crm_update_sync (crm, now, NULL, &error);
      g_assert_no_error (error);
    }
  g_timer_start (timer);
  {
    g_autoptr (LiaSyncSummary) summary =
        lia_crm_prepare_sync_sync (crm, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
    incremental = g_timer_elapsed (timer, NULL);
    g_assert_cmpuint (lia_sync_summary_get (summary, LIA_ENTITY_CONTACT, LIA_SYNC_OP_UPDATE), ==, N_CHANGES);
  }
  ratio ("initial PrepareSync+GetSyncData+PostSync, 100,000 contacts", initial, "s", 3.0, TRUE);
  ratio ("incremental PrepareSync after 100 changes", incremental * 1000, "ms", 20.0, TRUE);
#ifdef LIA_BENCH_SERVER
  ratio ("server incremental PrepareSync, 64 concurrent clients", server_throughput (path, service), "req/s",
         2000, FALSE);
#endif
  g_clear_object (&crm);
  g_clear_pointer (&service, lia_org_service_unref);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);
    g_unlink (path);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (dir);
  }
  return 0;
}
