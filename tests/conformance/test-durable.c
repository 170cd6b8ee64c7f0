/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-fixture.h"

/* R-DET-QUEUE-DURABLE end to end. The test re-executes its own binary as a
 * child ("--child DIR") that runs the plugin's engine over a test mailbox
 * saved to DIR after every change, against the embedded org file DIR/org.db,
 * with its cache at DIR/cache.db: one process holding all three, as a mail
 * client with the plugin and an embedded org does. The child reports the
 * engine's state and progress on stdout; the parent kills it with SIGKILL
 * in the middle of the upload, then a new child in the middle of the
 * download, then lets a third run to the end. The final host items, org
 * records and cache mappings must equal those of a run never killed, in a
 * second directory: nothing lost, nothing twice. */

/* GLib 2.74's G_TEST_OPTION_ISOLATE_DIRS leaks the previous XDG paths on
 * purpose; see tests/unit/test-cache-crash.c. */
const char *__lsan_default_suppressions (void);
const char *__asan_default_options (void);

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions (void)
{
  return "leak:g_set_user_dirs\n";
}

/* Host contacts marked for tracking (to upload) and CRM contacts of the
 * user's filter (to download) waiting for the first cycle. */
#define N_UP 120
#define N_DOWN 600

/* ---- the child ------------------------------------------------------- */

typedef struct
{
  LiaPlugin *plugin; /* borrowed */
  LiaSyncState state;
  guint done;
} ChildReport;

/* Writes the engine's state and progress whenever they change. One short
 * write() per line: a line is whole or absent when the parent kills. */
static gboolean
child_report (gpointer user_data)
{
  ChildReport *r = user_data;
  g_auto (LiaSyncStatus) status = { 0 };
  char line[64];
  int len;

  lia_plugin_internal_funcs ()->get_status (r->plugin, &status);
  if (status.state == r->state && status.progress_done == r->done)
    return G_SOURCE_CONTINUE;
  r->state = status.state;
  r->done = status.progress_done;
  len = g_snprintf (line, sizeof (line), "%d %u\n", (int) r->state, r->done);
  if (write (STDOUT_FILENO, line, (size_t) len) != len)
    _exit (3);
  return G_SOURCE_CONTINUE;
}

static int
child_main (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *org_path = g_build_filename (dir, "org.db", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autofree char *token = NULL;
  g_autofree char *cache_path = g_build_filename (dir, "cache.db", NULL);
  g_autoptr (LiaClock) clock = lia_clock_new_manual (EF_NOW);
  g_autoptr (LiaOrgService) org = NULL;
  g_autoptr (LiaTestMailbox) mailbox = NULL;
  g_autoptr (LiaTestHost) host = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  EfClient client = { 0 };
  ChildReport report = { NULL, LIA_SYNC_STATE_N, G_MAXUINT };
  guint timer;

  if (!g_file_get_contents (token_path, &token, NULL, &error)
      || (org = lia_org_service_open (org_path, clock, &error)) == NULL
      || (mailbox = lia_test_mailbox_load (dir, clock, &error)) == NULL
      || !lia_test_mailbox_set_autosave (mailbox, dir, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  host = lia_test_host_new (mailbox);
  crm = lia_crm_embedded_new_for_service (org, token);
  config.cache_path = cache_path;
  config.crm = crm;
  config.org_name = "test-org";
  config.client_name = "alice-laptop";
  config.clock = clock;
  client.plugin = lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), host, &error);
  if (client.plugin == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  report.plugin = client.plugin;
  timer = g_timeout_add (1, child_report, &report);
  /* Two cycles: the second must find nothing left to do twice. */
  for (guint i = 0; i < 2; i++)
    if (!ef_try_sync (&client, &error))
      {
        g_printerr ("child: cycle %u: %s\n", i, error->message);
        return 2;
      }
  g_source_remove (timer);
  lia_plugin_internal_funcs ()->unload (client.plugin);
  for (guint i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
  if (write (STDOUT_FILENO, "done\n", 5) != 5)
    return 3;
  return 0;
}

/* ---- the parent ------------------------------------------------------ */

/* What killing the child waits for: @state reached and then @progress more
 * items done in it; LIA_SYNC_STATE_N runs the child to its end. */
typedef struct
{
  LiaSyncState state;
  guint progress;
} KillPoint;

/* Runs a child on @dir; kills it at @kill, or requires it to finish. */
static void
run_child (const char *self, const char *dir, KillPoint kill_at)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) pending = g_string_new (NULL);
  const char *argv[] = { self, "--child", dir, NULL };
  GPid pid = 0;
  int out_fd = -1;
  int status = 0;
  gboolean killed = FALSE;
  gboolean done = FALSE;
  gboolean in_state = FALSE;
  guint first = 0;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  for (;;)
    {
      GPollFD pfd = { .fd = out_fd, .events = G_IO_IN | G_IO_HUP | G_IO_ERR };
      char buf[4096];
      gssize n;
      char *end;

      /* A child silent for 60 s is stuck: fail rather than hang. */
      if (g_poll (&pfd, 1, 60000) == 0)
        {
          kill (pid, SIGKILL);
          g_assert_not_reached ();
        }
      n = read (out_fd, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        break;
      g_string_append_len (pending, buf, n);
      while ((end = strchr (pending->str, '\n')) != NULL)
        {
          int state = -1;
          guint progress = 0;

          *end = '\0';
          if (g_str_equal (pending->str, "done"))
            done = TRUE;
          else if (sscanf (pending->str, "%d %u", &state, &progress) == 2 && state == (int) kill_at.state)
            {
              if (!in_state)
                first = progress;
              in_state = TRUE;
              if (!killed && progress >= first + kill_at.progress)
                {
                  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
                  killed = TRUE;
                }
            }
          g_string_erase (pending, 0, end - pending->str + 1);
        }
    }
  close (out_fd);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  if (kill_at.state == LIA_SYNC_STATE_N)
    {
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
      g_assert_true (done);
      return;
    }
  /* Dying of our SIGKILL before reporting the end proves the kill landed
   * inside the cycle, in the phase asked for. */
  g_assert_true (killed);
  g_assert_false (done);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
}

/* The org with alice and her N_DOWN contacts, and a mailbox with N_UP
 * contacts a delegate marked for tracking, all in @dir. */
static void
prepare_dir (const char *dir)
{
  g_autofree char *org_path = g_build_filename (dir, "org.db", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autofree char *token = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_manual (EF_NOW);
  g_autoptr (LiaOrgService) org = NULL;
  g_autoptr (LiaOrgCaller) alice = NULL;
  g_autoptr (LiaTestMailbox) mailbox = lia_test_mailbox_new (clock);
  g_autoptr (LiaTestHost) host = lia_test_host_new (mailbox);
  g_autoptr (GError) error = NULL;
  Ef ef = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  org = lia_org_service_open (org_path, clock, &error);
  g_assert_no_error (error);
  g_assert_true (lia_org_service_add_user (org, "alice", "alice@example.org", FALSE, &token, &error));
  g_assert_true (g_file_set_contents (token_path, token, -1, &error));
  alice = lia_org_service_authenticate (org, token, &error);
  g_assert_no_error (error);
  ef.org = org;
  for (guint i = 0; i < N_DOWN; i++)
    {
      g_autofree char *family = g_strdup_printf ("Down%04u", i);
      g_autofree char *id = ef_crm_contact (&ef, alice, "Crm", family);

      g_assert_nonnull (id);
    }
  for (guint i = 0; i < N_UP; i++)
    {
      g_autofree char *family = g_strdup_printf ("Up%04u", i);
      g_autoptr (LiaCrmRecord) contact = ef_contact ("Host", family);
      g_autofree char *item_id = lia_test_host_user_create (host, LIA_TEST_STORE, "contacts",
                                                            lia_crm_record_get_item (contact), FALSE);
      LiaHostProps marked = { .mask = 1u << LIA_HOST_PROP_LINK_STATE, .link_state = LIA_LINK_STATE_MARKED };

      g_assert_true (lia_test_host_user_set_props (host, item_id, &marked));
    }
  g_assert_true (lia_test_mailbox_save (mailbox, dir, &error));
  g_assert_no_error (error);
}

static char *
crm_name (LiaOrgService *org, const LiaOrgCaller *alice, const char *crm_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  if (crm_id == NULL)
    return g_strdup ("-");
  rec = lia_org_service_retrieve (org, alice, LIA_ENTITY_CONTACT, crm_id, &error);
  if (rec == NULL)
    return g_strdup ("(missing)");
  return g_strdup (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"));
}

static gboolean
collect_id (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  g_ptr_array_add (user_data, g_strdup (row->id));
  return TRUE;
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Sorted lines; fails on any duplicate line (R-DUP-NONE). */
static char *
join_sorted (GPtrArray *lines)
{
  g_ptr_array_sort (lines, cmp_str);
  for (guint i = 1; i < lines->len; i++)
    g_assert_cmpstr (lines->pdata[i - 1], !=, lines->pdata[i]);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

/* The final state of @dir written with names, not ids (ids differ between
 * two runs): host contacts with their link and linked record, org contacts,
 * cache mappings. Each part must hold N_UP + N_DOWN distinct lines. */
static char *
dump_dir (const char *dir)
{
  g_autofree char *org_path = g_build_filename (dir, "org.db", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autofree char *cache_path = g_build_filename (dir, "cache.db", NULL);
  g_autofree char *token = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_manual (EF_NOW);
  g_autoptr (LiaOrgService) org = NULL;
  g_autoptr (LiaOrgCaller) alice = NULL;
  g_autoptr (LiaTestMailbox) mailbox = NULL;
  g_autoptr (LiaTestHost) host = NULL;
  g_autoptr (LiaCache) cache = NULL;
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) mappings = NULL;
  g_autoptr (GPtrArray) host_lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) org_lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) map_lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  LiaCacheOptions options = LIA_CACHE_OPTIONS_INIT;
  g_autofree char *h = NULL;
  g_autofree char *o = NULL;
  g_autofree char *m = NULL;

  g_assert_true (g_file_get_contents (token_path, &token, NULL, &error));
  org = lia_org_service_open (org_path, clock, &error);
  g_assert_no_error (error);
  alice = lia_org_service_authenticate (org, token, &error);
  g_assert_no_error (error);
  mailbox = lia_test_mailbox_load (dir, clock, &error);
  g_assert_no_error (error);
  host = lia_test_host_new (mailbox);
  cache = lia_cache_open (cache_path, clock, &options, &error);
  g_assert_no_error (error);

  items = lia_test_host_list_items (host, LIA_TEST_STORE, "contacts");
  for (guint i = 0; i < items->len; i++)
    {
      const LiaHostItem *hi = items->pdata[i];
      g_autofree char *linked = crm_name (org, alice, hi->props.crm_id);

      g_ptr_array_add (host_lines, g_strdup_printf ("%s %s state=%d org=%s crm=%s",
                                                    lia_item_get_text (hi->item, "given-name"),
                                                    lia_item_get_text (hi->item, "family-name"),
                                                    (int) hi->props.link_state, hi->props.crm_org, linked));
    }
  g_assert_true (lia_org_service_foreach_record (org, LIA_ENTITY_CONTACT, collect_id, ids, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (LiaCrmRecord) rec =
          lia_org_service_retrieve (org, alice, LIA_ENTITY_CONTACT, ids->pdata[i], &error);

      g_assert_no_error (error);
      g_ptr_array_add (org_lines,
                       g_strdup_printf ("%s %s",
                                        lia_item_get_text (lia_crm_record_get_item (rec), "given-name"),
                                        lia_item_get_text (lia_crm_record_get_item (rec), "family-name")));
    }
  mappings = lia_cache_list_mappings (cache, LIA_TEST_STORE, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < mappings->len; i++)
    {
      const LiaCacheMapping *map = mappings->pdata[i];
      g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (host, map->item_id);
      g_autofree char *linked = crm_name (org, alice, map->crm_id);

      g_ptr_array_add (
          map_lines, g_strdup_printf ("%s -> %s state=%d",
                                      hi != NULL ? lia_item_get_text (hi->item, "family-name") : "(no item)",
                                      linked, (int) map->state));
    }
  g_assert_cmpuint (host_lines->len, ==, N_UP + N_DOWN);
  g_assert_cmpuint (org_lines->len, ==, N_UP + N_DOWN);
  g_assert_cmpuint (map_lines->len, ==, N_UP + N_DOWN);
  h = join_sorted (host_lines);
  o = join_sorted (org_lines);
  m = join_sorted (map_lines);
  return g_strdup_printf ("[host]\n%s\n[org]\n%s\n[mappings]\n%s\n", h, o, m);
}

static const char *self_path;

static void
test_kill_mid_cycle (void)
{
  g_autofree char *base = g_build_filename (g_get_user_data_dir (), "durable", NULL);
  g_autofree char *ref_dir = g_build_filename (base, "uninterrupted", NULL);
  g_autofree char *dir = g_build_filename (base, "killed", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  const KillPoint to_end = { LIA_SYNC_STATE_N, 0 };
  const KillPoint mid_upload = { LIA_SYNC_STATE_UPLOADING, N_UP / 3 };
  const KillPoint mid_download = { LIA_SYNC_STATE_DOWNLOADING, N_DOWN / 3 };

  g_test_summary ("R-DET-QUEUE-DURABLE, R-DUP-NONE: the engine process (host, cache and embedded org in "
                  "one child) is killed with SIGKILL in the middle of uploading marked contacts, then "
                  "again in the middle of downloading the filter's contacts; a restart on the same "
                  "directory finishes, and host items, org records and cache mappings equal those of "
                  "an uninterrupted run, each distinct");
  prepare_dir (ref_dir);
  run_child (self_path, ref_dir, to_end);
  expected = dump_dir (ref_dir);

  prepare_dir (dir);
  run_child (self_path, dir, mid_upload);
  run_child (self_path, dir, mid_download);
  run_child (self_path, dir, to_end);
  actual = dump_dir (dir);
  g_assert_cmpstr (actual, ==, expected);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--child"))
    return child_main (argv[2]);
  self_path = argv[0];
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/engine/R-DET-QUEUE-DURABLE/sigkill-mid-cycle", test_kill_mid_cycle);
  return g_test_run ();
}
