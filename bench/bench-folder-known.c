/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "engine-fixture.h"
#include "lia-cache-private.h"
#include "lia-engine-mail.h"

#ifdef LIA_BENCH_MAILDIR
/* The Camel maildir set-up is the integration tests' (lia-test-camel.h). */
#include "lia-test-camel.h"
#include "lia-test-eds.h"
#endif

/* R-MAIL-FOLDER: what marking a 10,000-message folder as tracked costs.
 * The first cycle after the mark lists what the folder holds (the host's
 * listing, then every message read in pages of 256, one round trip each,
 * and one cache transaction of their keys): timed against the next cycle
 * (baseline: the same cycle once the folder is listed). On the test host
 * (in-memory reads) and, with the Evolution adapter built, on a real Camel
 * maildir folder (every message parsed by Camel from its file). */

static guint n_messages = 10000;

static char *
body_of (guint i)
{
  GString *s = g_string_new (NULL);

  /* About 2 KB, as bench-email's messages. */
  while (s->len < 2000)
    g_string_append_printf (s, "Line %u of message %u: the quarterly figures, as discussed.\r\n",
                            (guint) s->len, i);
  return g_string_free (s, FALSE);
}

static gint64
cycle_us (EfClient *client)
{
  gint64 t0 = g_get_monotonic_time ();

  ef_sync (client);
  return g_get_monotonic_time () - t0;
}

static void
bench_test_host (void)
{
  Ef ef = { 0 };
  const char *const from[] = { "friend@example.net", NULL };
  LiaParty sender = { .address = from[0], .entity = LIA_ENTITY_N };
  g_autoptr (LiaValue) f = lia_value_new_party_list (&sender, 1);
  g_autoptr (GError) error = NULL;
  LiaEngine *engine;
  gint64 before, first, second;

  ef_setup (&ef, NULL);
  engine = lia_plugin_get_engine (ef.a.plugin);
  ef_sync (&ef.a);
  g_assert_true (
      lia_cache_set_setting (lia_engine_get_cache (engine), LIA_ENGINE_SETTING_AUTO_TRACK, "none", NULL));
  for (guint i = 0; i < n_messages; i++)
    {
      g_autoptr (LiaItem) m = lia_item_new (LIA_ENTITY_EMAIL);
      g_autofree char *msgid = g_strdup_printf ("<private-%u@example.net>", i);
      g_autofree char *subject = g_strdup_printf ("Private %u", i);
      g_autofree char *body = body_of (i);
      g_autoptr (LiaValue) d = lia_value_new_enum ("incoming");

      lia_item_set_text (m, "subject", subject, NULL);
      lia_item_set_text (m, "message-id", msgid, NULL);
      lia_item_set_text (m, "body", body, NULL);
      lia_item_set (m, "from", f, NULL);
      lia_item_set (m, "direction", d, NULL);
      g_free (lia_test_host_user_create (ef.a.host, LIA_TEST_STORE, "archive", m, FALSE));
    }
  ef_iterate ();
  /* The mail is older than the mark. */
  lia_clock_advance (ef.clock, 60 * EF_MINUTE);
  before = cycle_us (&ef.a);
  g_assert_true (lia_engine_mail_set_folder (engine, LIA_TEST_STORE, "archive", TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  first = cycle_us (&ef.a);
  second = cycle_us (&ef.a);
  g_assert_cmpint (lia_cache_count_known (lia_engine_get_cache (engine), LIA_TEST_STORE "/archive", NULL), ==,
                   n_messages);
  printf ("folder known, test host: marking a %u-message folder: the first cycle %.0f ms, the next %.0f ms "
          "(a cycle before the mark %.0f ms); listing %.0f ms, %.1f us a message; ratio to the next cycle "
          "%.1f\n",
          n_messages, first / 1e3, second / 1e3, before / 1e3, (first - second) / 1e3,
          (double) (first - second) / n_messages, (double) first / (double) MAX (second, 1));
  ef_teardown (&ef, NULL);
}

#ifdef LIA_BENCH_MAILDIR
static gint64
plugin_cycle_us (LiaPlugin *plugin)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();

  lia_plugin_internal_funcs ()->sync_async (plugin, NULL, lia_test_got_res, &res);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (lia_plugin_internal_funcs ()->sync_finish (plugin, res, &error));
  g_assert_no_error (error);
  return g_get_monotonic_time () - t0;
}

static void
bench_maildir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *archive_dir = NULL;
  g_autofree char *archive = NULL;
  LiaTestCamel tc = { 0 };
  LiaEvoMail *mail;
  LiaPlugin *plugin;
  gint64 t_open, before, first, second;

  lia_test_camel_init (&tc, "liaison-bench-folder-XXXXXX", "bench-maildir", "alice@example.org");
  lia_test_maildir_make (tc.maildir, "Archive");
  archive_dir = g_build_filename (tc.maildir, ".Archive", NULL);
  for (guint i = 0; i < n_messages; i++)
    {
      g_autofree char *name = g_strdup_printf ("%u.k%u.bench", 1700000000 + i, i);
      g_autofree char *body = body_of (i);
      g_autofree char *text = g_strdup_printf ("From: Friend <friend@example.net>\r\n"
                                               "To: Alice <alice@example.org>\r\n"
                                               "Subject: Private %u\r\n"
                                               "Date: Tue, 14 Nov 2023 22:%02u:%02u +0000\r\n"
                                               "Message-ID: <private-%u@example.net>\r\n"
                                               "MIME-Version: 1.0\r\n"
                                               "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
                                               i, (i / 60) % 60, i % 60, i, body);
      lia_test_maildir_write (archive_dir, name, text, -1);
    }
  if (!lia_test_camel_open (&tc, NULL, NULL, &error))
    {
      printf ("folder known, maildir: skipped (%s)\n", error->message);
      lia_test_camel_clear (&tc);
      return;
    }
  mail = tc.mail;
  archive = lia_evo_mail_folder_id ("bench-maildir", "Archive");
  /* Camel builds the folder's summary once: not the mark's cost. */
  t_open = g_get_monotonic_time ();
  {
    g_autoptr (GPtrArray) rows = lia_evo_mail_read_contents_sync (mail, archive, 0, 10, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, MIN (10, n_messages));
  }
  printf ("folder known, maildir: %u messages, Camel opens and lists the folder in %.2f s\n", n_messages,
          (g_get_monotonic_time () - t_open) / 1e6);

  /* The embedded org and a plugin instance over the host, not watching it. */
  tc.user = "alice";
  tc.org_name = "bench-org";
  tc.client_name = "bench-maildir";
  tc.manual_sync = TRUE;
  lia_test_camel_engine_start (&tc, FALSE);
  plugin = tc.plugin;
  plugin_cycle_us (plugin);
  g_assert_true (lia_cache_set_setting (lia_engine_get_cache (lia_plugin_get_engine (plugin)),
                                        LIA_ENGINE_SETTING_AUTO_TRACK, "none", NULL));
  before = plugin_cycle_us (plugin);
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (plugin, LIA_EVO_STORE, archive, TRUE, NULL,
                                                                   NULL, &error));
  g_assert_no_error (error);
  first = plugin_cycle_us (plugin);
  second = plugin_cycle_us (plugin);
  {
    g_autofree char *key = g_strdup_printf ("%s/%s", LIA_EVO_STORE, archive);
    g_assert_cmpint (lia_cache_count_known (lia_engine_get_cache (lia_plugin_get_engine (plugin)), key, NULL),
                     ==, n_messages);
  }
  printf ("folder known, maildir: marking a %u-message folder: the first cycle %.2f s, the next %.0f ms (a "
          "cycle before the mark %.0f ms); listing %.2f s, %.0f us a message; ratio to the next cycle %.1f\n",
          n_messages, first / 1e6, second / 1e3, before / 1e3, (first - second) / 1e6,
          (double) (first - second) / n_messages, (double) first / (double) MAX (second, 1));
  /* The plugin unloaded, the store closed, the temporary tree removed. */
  lia_test_camel_clear (&tc);
}
#endif

static void
bench_all (void)
{
  bench_test_host ();
#ifdef LIA_BENCH_MAILDIR
  bench_maildir ();
#endif
}

int
main (int argc, char **argv)
{
  for (int i = 1; i + 1 < argc; i++)
    if (g_str_equal (argv[i], "--messages"))
      n_messages = (guint) g_ascii_strtoull (argv[i + 1], NULL, 10);
#ifdef LIA_BENCH_MAILDIR
  /* As bench-email: Camel reads its GSettings schemas, from memory. */
  lia_test_use_memory_settings (TRUE);
#endif
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/bench/folder-known", bench_all);
  return g_test_run ();
}
