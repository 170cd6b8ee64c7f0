/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* liaison: the user's command line. The profile commands (setup, sync,
 * status, track, untrack, regarding, outbox, doctor) live in
 * liaison-commands.c; this file dispatches and keeps self-check, which
 * needs no profile. Exit status: 0 done, 1 failed, 2 bad usage. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <liaison/liaison.h>

#ifdef LIA_HAVE_EVOLUTION
#include "liaison-bus.h"
#include "liaison-commands.h"
#endif

typedef struct
{
  guint passed;
  guint failed;
} Tally;

static void
report (Tally *tally, const char *what, gboolean ok, const GError *error)
{
  if (ok)
    tally->passed++;
  else
    tally->failed++;
  g_print ("%-6s %s%s%s\n", ok ? "ok" : "FAILED", what, error != NULL ? ": " : "",
           error != NULL ? error->message : "");
}

static LiaItem *
sample_contact (void)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autoptr (LiaValue) company = lia_value_new_reference (LIA_ENTITY_ACCOUNT, NULL, "Fabrikam, Inc.");
  g_autoptr (LiaValue) birthday = lia_value_new_date (1984, 2, 29);

  if (!lia_item_set_text (item, "full-name", "Zoë Rodman", NULL)
      || !lia_item_set_text (item, "given-name", "Zoë", NULL)
      || !lia_item_set_text (item, "family-name", "Rodman", NULL)
      || !lia_item_set_text (item, "email-1", "zoe.rodman@fabrikam.example", NULL)
      || !lia_item_set_text (item, "notes", "Met at the <expo> & \"liked\" the demo\nsecond line", NULL)
      || !lia_item_set (item, "company", company, NULL) || !lia_item_set (item, "birthday", birthday, NULL))
    return NULL;
  return g_steal_pointer (&item);
}

/* Exercises the pieces a sync needs, on a fresh cache file: OriginalXML round
 * trip, id mapping both ways, a durable enqueue, claim/fail/complete with
 * backoff, originals, watermarks, settings, the journal, and the integrity
 * check. Prints one line per step. */
static int
self_check (const char *cache_path)
{
  Tally tally = { 0, 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_system ();
  g_autoptr (LiaItem) contact = sample_contact ();
  g_autoptr (LiaItem) decoded = NULL;
  g_autofree char *xml = NULL;
  LiaCache *cache = NULL;
  gboolean ok;

  if (cache_path == NULL)
    {
      tmpdir = g_dir_make_tmp ("liaison-self-check-XXXXXX", &error);
      if (tmpdir == NULL)
        {
          g_printerr ("liaison: cannot make a temporary directory: %s\n", error->message);
          return 1;
        }
      path = g_build_filename (tmpdir, "cache.db", NULL);
    }
  else
    path = g_strdup (cache_path);

  g_print ("libliaison %s, cache %s\n", lia_version_string (), path);

  report (&tally, "build a contact item", contact != NULL, NULL);
  if (contact == NULL)
    return 1;
  xml = lia_original_encode (contact, NULL, &error);
  decoded = xml != NULL ? lia_original_decode (xml, strlen (xml), &error) : NULL;
  report (&tally, "OriginalXML round trip", decoded != NULL && lia_item_identical (contact, decoded), error);
  g_clear_error (&error);

  cache = lia_cache_open (path, clock, NULL, &error);
  report (&tally, "open the sync cache", cache != NULL, error);
  g_clear_error (&error);
  if (cache != NULL)
    {
      g_autoptr (LiaCacheMapping) mapping =
          lia_cache_mapping_new ("self-check", "contacts", "item-1", LIA_ENTITY_CONTACT, "crm-1",
                                 LIA_LINK_STATE_TRACKED, LIA_LINK_ORIGIN_MANUAL);
      g_autoptr (LiaCacheMapping) by_item = NULL;
      g_autoptr (LiaCacheMapping) by_crm = NULL;
      g_autoptr (LiaCacheChange) change = lia_cache_change_new (
          LIA_DIRECTION_TO_CRM, LIA_CHANGE_OP_UPDATE, "self-check", "item-1", LIA_ENTITY_CONTACT, "crm-1");
      g_autoptr (LiaCacheOriginal) original = lia_cache_original_new ("self-check", "item-1", xml);
      g_autoptr (LiaCacheOriginal) loaded = NULL;
      g_autoptr (LiaCacheJournalEntry) entry =
          lia_cache_journal_entry_new ("self-check", "liaison self-check");
      g_autoptr (GPtrArray) claimed = NULL;
      g_autofree char *setting = NULL;
      gint64 id = 0, next = 0;

      ok = lia_cache_map (cache, mapping, &error);
      by_item = ok ? lia_cache_lookup_item (cache, "self-check", "item-1", &error) : NULL;
      by_crm = by_item != NULL
                   ? lia_cache_lookup_crm (cache, "self-check", LIA_ENTITY_CONTACT, "crm-1", &error)
                   : NULL;
      report (&tally, "map an item and look it up both ways",
              by_crm != NULL && g_strcmp0 (by_crm->item_id, "item-1") == 0
                  && g_strcmp0 (by_item->crm_id, "crm-1") == 0,
              error);
      g_clear_error (&error);

      ok = lia_cache_enqueue (cache, change, &id, &error);
      report (&tally, "enqueue a change durably", ok && id > 0, error);
      g_clear_error (&error);

      claimed = ok ? lia_cache_claim (cache, LIA_DIRECTION_TO_CRM, 10, 60 * G_USEC_PER_SEC, &error) : NULL;
      ok = claimed != NULL && claimed->len == 1
           && lia_cache_fail (cache, id, "self-check: simulated failure", &next, &error)
           && next > lia_clock_now (clock);
      report (&tally, "claim it, fail it, back off", ok, error);
      g_clear_error (&error);
      ok = lia_cache_complete (cache, &id, 1, &error);
      report (&tally, "complete it", ok, error);
      g_clear_error (&error);

      ok = lia_cache_store_original (cache, original, &error);
      loaded = ok ? lia_cache_load_original (cache, "self-check", "item-1", &error) : NULL;
      report (&tally, "store and load an original", loaded != NULL && g_strcmp0 (loaded->xml, xml) == 0,
              error);
      g_clear_error (&error);

      ok = lia_cache_set_setting (cache, "self-check", "yes", &error)
           && lia_cache_set_watermark (cache, "self-check", "1", &error)
           && lia_cache_append_journal (cache, entry, NULL, &error);
      setting = ok ? lia_cache_dup_setting (cache, "self-check", &error) : NULL;
      report (&tally, "settings, watermarks, journal", g_strcmp0 (setting, "yes") == 0, error);
      g_clear_error (&error);

      ok = lia_cache_check (cache, &error);
      report (&tally, "integrity check", ok, error);
      g_clear_error (&error);
      lia_cache_close (cache);
    }

  if (tmpdir != NULL)
    {
      const char *suffixes[] = { "", "-wal", "-shm" };
      for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
        {
          g_autofree char *f = g_strconcat (path, suffixes[i], NULL);
          if (g_unlink (f) != 0 && errno != ENOENT)
            g_printerr ("liaison: cannot remove %s: %s\n", f, g_strerror (errno));
        }
      g_rmdir (tmpdir);
    }
  g_print ("self-check: %u passed, %u failed\n", tally.passed, tally.failed);
  return tally.failed == 0 ? 0 : 1;
}

static void
usage (FILE *out)
{
  fprintf (out, "Usage: liaison [--version] COMMAND\n"
                "\n"
                "Commands:\n"
#ifdef LIA_HAVE_EVOLUTION
                "  setup --embedded ORG.db --user NAME   use an embedded org (token on stdin)\n"
                "  setup --server URL --user NAME        use a liaison-server (token on stdin)\n"
                "        [--keyring]           the token from the keyring (else stdin, then stored)\n"
                "  sync                        Synchronize Now, then say what moved where\n"
                "  status [--items]            online/offline, queue, last sync, tracked, last errors\n"
                "  track contact|event|task UID|--search TEXT [--all]\n"
                "  untrack [--delete-in-crm] contact|event|task UID|--search TEXT [--all]\n"
                "  regarding contact|event|task UID|--search TEXT [--all] CRM-ID [NAME]\n"
                "  track|untrack|regarding mail MAIL-ID ...   a message (mail:STORE/FOLDER/UID),\n"
                "                              through the engine in Evolution\n"
                "  outbox [--retry ID | --drop ID]   pending and failed changes\n"
                "  doctor [--fix]              orphans, dangling links, duplicates (R-DUP-DOCTOR)\n"
                "  serve                       run the engine and answer the other commands over\n"
                "                              D-Bus (as Evolution's module does) until stopped\n"
                "\n"
                "When Evolution's module (or \"liaison serve\") runs the engine, sync, status,\n"
                "track, untrack, regarding and outbox ask it over the session bus.\n"
#endif
                "  self-check [--cache FILE]   check that the core works here (a fresh cache in a\n"
                "                              temporary directory unless FILE is given)\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("liaison %s\n", lia_version_string ());
      return 0;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      usage (stdout);
      return 0;
    }
  if (g_str_equal (argv[1], "self-check"))
    {
      if (argc == 2)
        return self_check (NULL);
      if (argc == 4 && g_str_equal (argv[2], "--cache"))
        return self_check (argv[3]);
    }
#ifdef LIA_HAVE_EVOLUTION
  if (g_str_equal (argv[1], "serve"))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LiaProfile) profile = argc == 2 ? lia_profile_load (&error) : NULL;

      if (argc != 2)
        {
          g_printerr ("liaison: serve takes no arguments\n");
          return 2;
        }
      if (profile == NULL)
        {
          g_printerr ("liaison: %s\n", error->message);
          return 1;
        }
      return lia_bus_serve (profile);
    }
  {
    static const struct
    {
      const char *name;
      int (*run) (int argc, char **argv);
    } commands[] = {
      { "setup", lia_cmd_setup },   { "sync", lia_cmd_sync },       { "status", lia_cmd_status },
      { "track", lia_cmd_track },   { "untrack", lia_cmd_untrack }, { "regarding", lia_cmd_regarding },
      { "outbox", lia_cmd_outbox }, { "doctor", lia_cmd_doctor },
    };

    for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
      if (g_str_equal (argv[1], commands[i].name))
        return commands[i].run (argc - 2, argv + 2);
  }
#endif
  g_printerr ("liaison: unknown command \"%s\"\n", argv[1]);
  usage (stderr);
  return 2;
}
