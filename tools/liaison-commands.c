/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "liaison-commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lia-crm-embedded.h"
#include "lia-doctor.h"
#include "liaison-bus.h"
#include "liaison-session.h"

#ifdef LIA_HAVE_LIBSECRET
#include "lia-evo-token.h"
#endif

/* Every failure is one line on stderr and exit status 1. */
static int
fail (const GError *error)
{
  g_printerr ("liaison: %s\n", error->message);
  return 1;
}

static int
usage_error (const char *text)
{
  g_printerr ("liaison: %s (see \"liaison --help\")\n", text);
  return 2;
}

static char *
time_text (gint64 usec)
{
  g_autoptr (GDateTime) dt = NULL;

  if (usec <= 0)
    return g_strdup ("never");
  dt = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/* ---- setup ---- */

/* The token from the keyring (libsecret), or NULL with @error saying why:
 * not built with libsecret, keyring not reachable, or no token stored. */
static char *
keyring_lookup (const char *org, const char *user, GError **error)
{
#ifdef LIA_HAVE_LIBSECRET
  g_autoptr (GError) local = NULL;
  char *token =
      secret_password_lookup_sync (lia_evo_token_schema (), NULL, &local, "org", org, "user", user, NULL);

  if (token == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "%s",
                 local != NULL ? local->message : "the keyring holds no token for this org and user");
  return token;
#else
  g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "this liaison was built without libsecret");
  return NULL;
#endif
}

static gboolean
keyring_store (const char *org, const char *user, const char *token, GError **error)
{
#ifdef LIA_HAVE_LIBSECRET
  g_autofree char *label = g_strdup_printf ("Liaison CRM token for %s", user);

  return secret_password_store_sync (lia_evo_token_schema (), SECRET_COLLECTION_DEFAULT, label, token, NULL,
                                     error, "org", org, "user", user, NULL);
#else
  g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "this liaison was built without libsecret");
  return FALSE;
#endif
}

static char *
read_token_line (const char *user)
{
  g_autoptr (GIOChannel) in = g_io_channel_unix_new (STDIN_FILENO);
  char *line = NULL;

  if (isatty (STDIN_FILENO))
    g_printerr ("Token for \"%s\": ", user);
  if (g_io_channel_read_line (in, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL || line == NULL
      || *g_strstrip (line) == '\0')
    {
      g_free (line);
      return NULL;
    }
  return line;
}

int
lia_cmd_setup (int argc, char **argv)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *abs = NULL;
  const char *embedded = NULL, *server = NULL, *user = NULL;
  gboolean keyring = FALSE, from_keyring = FALSE;

  for (int i = 0; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--embedded") && i + 1 < argc)
        embedded = argv[++i];
      else if (g_str_equal (argv[i], "--server") && i + 1 < argc)
        server = argv[++i];
      else if (g_str_equal (argv[i], "--user") && i + 1 < argc)
        user = argv[++i];
      else if (g_str_equal (argv[i], "--keyring"))
        keyring = TRUE;
      else if (g_str_has_prefix (argv[i], "--token"))
        return usage_error ("setup: the token is never taken from the command line (other users can read it "
                            "in /proc): pipe it on standard input or use --keyring");
      else
        return usage_error ("setup: unknown argument");
    }
  if ((embedded == NULL) == (server == NULL) || user == NULL)
    return usage_error ("setup needs --embedded ORG.db or --server URL, and --user NAME");
  if (embedded != NULL)
    abs = g_canonicalize_filename (embedded, NULL);
  /* The token comes from the keyring (--keyring) or stdin, never from argv
   * (which every local user can read in /proc). Without a reachable
   * keyring, --keyring says so and falls back to stdin. */
  if (keyring)
    {
      g_autoptr (GError) why = NULL;

      line = keyring_lookup (embedded != NULL ? abs : server, user, &why);
      from_keyring = line != NULL;
      if (line == NULL)
        g_printerr ("liaison: setup: no token from the keyring (%s); reading it from standard input\n",
                    why->message);
    }
  if (line == NULL && (line = read_token_line (user)) == NULL)
    {
      g_printerr ("liaison: setup: no token on standard input (liaison-org user add prints one)\n");
      return 1;
    }
  if (embedded != NULL && !g_file_test (embedded, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr ("liaison: setup: no org file \"%s\" (make one with liaison-org --db FILE init)\n",
                  embedded);
      return 1;
    }
  profile = lia_profile_new (embedded != NULL, embedded != NULL ? abs : server, user, line);
  memset (line, 0, strlen (line));
  /* Check the token now rather than at the first sync. */
  {
    g_autoptr (LiaClock) clock = lia_clock_new_system ();
    g_autoptr (LiaCrm) crm = profile->embedded
                                 ? lia_crm_embedded_new (profile->org, profile->token, clock, &error)
                                 : lia_crm_http_new (profile->org, profile->token, &error);
    g_autoptr (LiaCrmUser) me = crm != NULL ? lia_crm_whoami_sync (crm, NULL, &error) : NULL;

    if (me == NULL)
      return fail (error);
  }
  if (!lia_profile_save (profile, &error))
    return fail (error);
  /* --keyring with a token from stdin: keep it in the keyring too. */
  if (keyring && !from_keyring)
    {
      if (keyring_store (profile->org, profile->user, profile->token, &error))
        g_print ("token: stored in the keyring\n");
      else
        g_printerr ("liaison: setup: the keyring did not take the token (%s); it is in the profile only\n",
                    error->message);
      g_clear_error (&error);
    }
  else if (from_keyring)
    g_print ("token: from the keyring\n");
  g_print ("profile: %s org \"%s\", user \"%s\"; cache %s\n", profile->embedded ? "embedded" : "server",
           profile->org, profile->user, profile->cache_path);
  return 0;
}

/* ---- sync ---- */

/* What the journal says happened since @since: the "what moved where". */
static void
print_moves (LiaEngine *engine, gint64 after_id)
{
  LiaCache *cache = lia_engine_get_cache (engine);
  g_autoptr (GPtrArray) entries = cache != NULL ? lia_cache_list_journal (cache, 200, NULL) : NULL;

  if (entries == NULL)
    return;
  /* The journal comes newest first: print oldest first. */
  for (guint i = entries->len; i > 0; i--)
    {
      LiaCacheJournalEntry *e = g_ptr_array_index (entries, i - 1);

      if (e->id <= after_id)
        continue;
      if (g_str_equal (e->kind, "cycle"))
        g_print ("  %s\n", e->message);
      else
        g_print ("  %-10s %s%s%s <-> CRM %s: %s\n", e->kind, e->item_id != NULL ? "\"" : "",
                 e->item_id != NULL ? e->item_id : "-", e->item_id != NULL ? "\"" : "",
                 e->crm_id != NULL ? e->crm_id : "-", e->message);
    }
}

static gint64
last_journal_id (LiaEngine *engine)
{
  LiaCache *cache = lia_engine_get_cache (engine);
  g_autoptr (GPtrArray) entries = cache != NULL ? lia_cache_list_journal (cache, 200, NULL) : NULL;
  gint64 max = 0;

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    max = MAX (max, ((LiaCacheJournalEntry *) g_ptr_array_index (entries, i))->id);
  return max;
}

int
lia_cmd_sync (int argc, char **argv)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (LiaSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaSyncStatus) status = { 0 };
  gint64 before;

  if (argc != 0)
    return usage_error ("sync takes no arguments");
  profile = lia_profile_load (&error);
  if (profile == NULL)
    return fail (error);
  {
    g_autoptr (GDBusConnection) bus = lia_bus_connect_engine ();

    if (bus != NULL)
      return lia_bus_cmd_sync (bus);
  }
  session = lia_session_open (profile, "sync", TRUE, &error);
  if (session == NULL)
    return fail (error);
  /* The first cycle opens the cache; the journal before it is history. */
  before = -1;
  if (lia_engine_is_ready (lia_session_get_engine (session)))
    before = last_journal_id (lia_session_get_engine (session));
  if (!lia_session_sync (session, &error))
    return fail (error);
  if (before < 0)
    {
      /* A fresh engine ran its start-up cycle: report only that cycle. */
      before = 0;
      {
        LiaCache *cache = lia_engine_get_cache (lia_session_get_engine (session));
        g_autoptr (GPtrArray) entries = cache != NULL ? lia_cache_list_journal (cache, 200, NULL) : NULL;

        for (guint i = 0; entries != NULL && i < entries->len; i++)
          {
            LiaCacheJournalEntry *e = g_ptr_array_index (entries, i);

            /* Newest first: the second "cycle" line ends the previous run. */
            if (g_str_equal (e->kind, "cycle") && i > 0)
              {
                before = e->id;
                break;
              }
          }
      }
    }
  lia_engine_get_status (lia_session_get_engine (session), &status);
  g_print ("sync done: %" G_GUINT64_FORMAT " queued, %" G_GUINT64_FORMAT " failed%s%s\n", status.queued,
           status.failed, status.last_error != NULL ? "; last error: " : "",
           status.last_error != NULL ? status.last_error : "");
  print_moves (lia_session_get_engine (session), before);
  return status.failed > 0 ? 1 : 0;
}

/* ---- status ---- */

static LiaCache *
open_cache (const LiaProfile *profile, GError **error)
{
  if (!g_file_test (profile->cache_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no sync cache yet: run \"liaison sync\" first");
      return NULL;
    }
  return lia_cache_open (profile->cache_path, NULL, NULL, error);
}

int
lia_cmd_status (int argc, char **argv)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) offline = NULL;
  g_autoptr (GError) held = NULL;
  g_autoptr (GPtrArray) mappings = NULL;
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GPtrArray) journal = NULL;
  g_autoptr (LiaClock) clock = lia_clock_new_system ();
  g_autoptr (LiaCrm) crm = NULL;
  g_autoptr (LiaCrmUser) me = NULL;
  g_autofree char *last = NULL;
  LiaCache *cache;
  guint64 pending = 0, nfailed = 0;
  guint tracked = 0;
  gint64 last_at = 0;
  int fd;

  gboolean items = argc == 1 && g_str_equal (argv[0], "--items");
  guint by_entity[LIA_ENTITY_N] = { 0 };
  guint shown = 0;

  if (argc != 0 && !items)
    return usage_error ("usage: liaison status [--items]");
  profile = lia_profile_load (&error);
  if (profile == NULL)
    return fail (error);
  crm = profile->embedded ? lia_crm_embedded_new (profile->org, profile->token, clock, &offline)
                          : lia_crm_http_new (profile->org, profile->token, &offline);
  me = crm != NULL ? lia_crm_whoami_sync (crm, NULL, &offline) : NULL;
  g_print ("org:      %s \"%s\" as \"%s\": %s%s\n", profile->embedded ? "embedded" : "server", profile->org,
           profile->user, me != NULL ? "online" : "offline", me != NULL ? "" : " (");
  if (me == NULL)
    g_print ("          %s)\n", offline->message);
  /* Only reading: a running engine may hold the lock meanwhile. */
  {
    g_autoptr (GDBusConnection) bus = lia_bus_connect_engine ();

    if (bus == NULL || !lia_bus_print_engine (bus))
      {
        fd = lia_profile_lock (profile, "status", &held);
        g_print ("engine:   %s\n", fd >= 0 ? "not running" : held->message);
        lia_profile_unlock (fd);
      }
  }
  cache = open_cache (profile, &error);
  if (cache == NULL)
    return fail (error);
  mappings = lia_cache_list_mappings (cache, LIA_EVO_STORE, NULL, &error);
  failed = mappings != NULL ? lia_cache_list_changes (cache, LIA_CACHE_CHANGES_FAILED, 0, &error) : NULL;
  journal = failed != NULL ? lia_cache_list_journal (cache, 500, &error) : NULL;
  if (journal == NULL || !lia_cache_count_changes (cache, LIA_CACHE_CHANGES_PENDING, &pending, &error)
      || !lia_cache_count_changes (cache, LIA_CACHE_CHANGES_FAILED, &nfailed, &error))
    {
      lia_cache_close (cache);
      return fail (error);
    }
  for (guint i = 0; i < journal->len && last_at == 0; i++)
    {
      LiaCacheJournalEntry *e = g_ptr_array_index (journal, i);

      /* The last successful cycle (R-OFF-STATUS), not an offline one. */
      if (g_str_equal (e->kind, "cycle") && g_str_has_prefix (e->message, "cycle:"))
        last_at = e->at;
    }
  last = time_text (last_at);
  g_print ("sync:     last successful %s\n", last);
  g_print ("queue:    %" G_GUINT64_FORMAT " pending, %" G_GUINT64_FORMAT " failed%s\n", pending, nfailed,
           nfailed > 0 ? " (\"liaison outbox\" lists them; --retry ID, --drop ID)" : "");
  for (guint i = 0; i < mappings->len; i++)
    {
      LiaCacheMapping *m = g_ptr_array_index (mappings, i);

      tracked++;
      if ((guint) m->entity < LIA_ENTITY_N)
        by_entity[m->entity]++;
      if (items)
        g_print ("item:     %-8s %s %s CRM %s\n", lia_link_state_to_string (m->state), m->item_id,
                 lia_entity_to_string (m->entity), m->crm_id != NULL ? m->crm_id : "(not yet)");
    }
  {
    g_autoptr (GString) kinds = g_string_new (NULL);

    for (guint e = 0; e < LIA_ENTITY_N; e++)
      if (by_entity[e] > 0)
        g_string_append_printf (kinds, "%s%u %s", kinds->len > 0 ? ", " : "", by_entity[e],
                                lia_entity_to_string ((LiaEntity) e));
    g_print ("tracked:  %u%s%s%s\n", tracked, kinds->len > 0 ? " (" : "", kinds->str,
             kinds->len > 0 ? ")" : "");
  }
  /* The last errors: failed changes with their reasons, then what the
   * journal recorded (newest first), five at most. */
  for (guint i = 0; i < failed->len && shown < 5; i++, shown++)
    {
      LiaCacheChange *c = g_ptr_array_index (failed, i);

      g_print ("error:    change %" G_GINT64_FORMAT " %s %s: %s\n", c->id, lia_change_op_to_string (c->op),
               c->item_id != NULL ? c->item_id : c->crm_id, c->last_error != NULL ? c->last_error : "?");
    }
  for (guint i = 0; i < journal->len && shown < 5; i++)
    {
      LiaCacheJournalEntry *e = g_ptr_array_index (journal, i);
      g_autofree char *at = NULL;

      if (!g_str_equal (e->kind, "error")
          && !(g_str_equal (e->kind, "cycle") && strstr (e->message, "offline")))
        continue;
      at = time_text (e->at);
      g_print ("error:    %s %s\n", at, e->message);
      shown++;
    }
  if (shown == 0)
    g_print ("errors:   none\n");
  lia_cache_close (cache);
  return 0;
}

/* ---- track, untrack, regarding ---- */

static gboolean
parse_item (const char *kind, const char *uid, LiaEntity *out_entity, char **out_item_id)
{
  if (g_str_equal (kind, "contact"))
    {
      *out_entity = LIA_ENTITY_CONTACT;
      *out_item_id = lia_evo_item_id_for_contact (uid);
    }
  else if (g_str_equal (kind, "event"))
    {
      *out_entity = LIA_ENTITY_APPOINTMENT;
      *out_item_id = lia_evo_item_id_for_component (E_CAL_CLIENT_SOURCE_TYPE_EVENTS, uid, NULL);
    }
  else if (g_str_equal (kind, "task"))
    {
      *out_entity = LIA_ENTITY_TASK;
      *out_item_id = lia_evo_item_id_for_component (E_CAL_CLIENT_SOURCE_TYPE_TASKS, uid, NULL);
    }
  else if (g_str_equal (kind, "mail"))
    {
      g_autofree char *store = NULL;
      g_autofree char *folder = NULL;
      g_autofree char *message = NULL;

      /* A message is named by its whole id (mail:STORE/FOLDER/UID, as
       * Evolution's module gives it), checked here, resolved by the engine. */
      if (!lia_evo_mail_parse_item_id (uid, &store, &folder, &message))
        return FALSE;
      *out_entity = LIA_ENTITY_EMAIL;
      *out_item_id = g_strdup (uid);
    }
  else
    return FALSE;
  return TRUE;
}

/* Acts on @n_uids items of one kind in one engine session: one cycle
 * before (it opens the cache and learns the org's filters), the commands,
 * one cycle after. */
static int
link_command (LiaCommandKind kind, const char *what, const char *item_kind, const char *const *uids,
              guint n_uids, gboolean delete_in_crm, const char *regarding_id, const char *regarding_name)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (LiaSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) item_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) done = g_ptr_array_new (); /* borrowed uids the command reached */
  g_autofree char *folder = NULL;
  LiaEngine *engine;
  LiaEntity entity = LIA_ENTITY_N;
  g_autofree char *why = NULL;
  gboolean offline = FALSE;
  int rc = 0;

  for (guint i = 0; i < n_uids; i++)
    {
      char *item_id = NULL;

      if (!parse_item (item_kind, uids[i], &entity, &item_id))
        return usage_error (g_str_equal (item_kind, "mail")
                                ? "a message is named by its id, mail:STORE/FOLDER/UID"
                                : "the item kind is contact, event, task or mail");
      g_ptr_array_add (item_ids, item_id);
    }
  profile = lia_profile_load (&error);
  if (profile == NULL)
    return fail (error);
  {
    g_autoptr (GDBusConnection) bus = lia_bus_connect_engine ();

    if (bus != NULL)
      {
        for (guint i = 0; i < n_uids; i++)
          {
            /* Not inside MAX(): it evaluates its arguments twice. */
            int one = lia_bus_cmd_link (bus, what, item_kind, uids[i], g_ptr_array_index (item_ids, i),
                                        delete_in_crm, regarding_id, regarding_name);

            rc = MAX (rc, one);
          }
        return rc;
      }
  }
  /* Mail lives in Evolution's mail session: only its engine reaches it. */
  if (entity == LIA_ENTITY_EMAIL)
    {
      g_printerr ("liaison: mail is tracked by the engine in Evolution; start Evolution and try again\n");
      return 1;
    }
  session = lia_session_open (profile, what, FALSE, &error);
  if (session == NULL)
    return fail (error);
  engine = lia_session_get_engine (session);
  /* With the org offline the commands are still queued (R-OFF-QUEUE,
   * R-IMM-FALLBACK): the cache remembers the filters of the last sync. */
  if (!lia_session_sync (session, &error))
    {
      if (!g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE) || lia_engine_get_cache (engine) == NULL)
        return fail (error);
      offline = TRUE;
      why = g_strdup (error->message);
      g_clear_error (&error);
    }
  folder =
      lia_evo_host_get_vtable ()->dup_default_folder (lia_session_get_host (session), LIA_EVO_STORE, entity);
  for (guint i = 0; i < n_uids; i++)
    {
      g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (lia_engine_get_cache (engine), LIA_EVO_STORE,
                                                             g_ptr_array_index (item_ids, i), NULL);
      LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };

      if (kind == LIA_COMMAND_UNTRACK && m == NULL)
        {
          g_printerr ("liaison: %s \"%s\" is not tracked\n", item_kind, uids[i]);
          rc = 1;
          continue;
        }
      cmd.store = LIA_EVO_STORE;
      cmd.folder = folder;
      cmd.item_id = g_ptr_array_index (item_ids, i);
      cmd.entity = entity;
      cmd.link_state = m != NULL ? m->state : LIA_LINK_STATE_NONE;
      cmd.delete_in_crm = delete_in_crm;
      cmd.regarding_id = regarding_id;
      cmd.regarding_name = regarding_name;
      if (!lia_session_command (session, &cmd, &error))
        {
          g_printerr ("liaison: %s \"%s\": %s\n", item_kind, uids[i], error->message);
          g_clear_error (&error);
          rc = 1;
          continue;
        }
      g_ptr_array_add (done, GUINT_TO_POINTER (i));
    }
  if (done->len > 0 && !offline && !lia_session_sync (session, &error))
    {
      if (!g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE))
        return fail (error);
      offline = TRUE;
      why = g_strdup (error->message);
    }
  for (guint j = 0; j < done->len; j++)
    {
      guint i = GPOINTER_TO_UINT (g_ptr_array_index (done, j));
      g_autoptr (LiaCacheMapping) m = NULL;

      if (offline)
        {
          g_print ("%s \"%s\": queued; the org is offline (%s): \"liaison outbox\" shows it, the next sync "
                   "sends it\n",
                   item_kind, uids[i], why);
          continue;
        }
      m = lia_cache_lookup_item (lia_engine_get_cache (engine), LIA_EVO_STORE,
                                 g_ptr_array_index (item_ids, i), NULL);
      if (kind == LIA_COMMAND_UNTRACK)
        g_print ("%s \"%s\": %s\n", item_kind, uids[i], m == NULL ? "untracked" : "untrack queued");
      else if (m != NULL && m->crm_id != NULL)
        g_print ("%s \"%s\": %s, CRM %s %s\n", item_kind, uids[i], lia_link_state_to_string (m->state),
                 lia_entity_to_string (m->entity), m->crm_id);
      else
        g_print ("%s \"%s\": queued for CRM (see \"liaison outbox\")\n", item_kind, uids[i]);
    }
  return rc;
}

/* ---- selection by search ---- */

/* This command blocks its thread in the _sync calls: do not wait for the
 * "connected" notice (see tools/liaison-eds-demo.c); local books and
 * calendars are usable at once. */
#define NO_WAIT ((guint32) -1)

typedef struct
{
  char *uid;
  char *label;
} Match;

static void
match_free (gpointer data)
{
  Match *m = data;

  g_free (m->uid);
  g_free (m->label);
  g_free (m);
}

/* The items of the default address book (full name, nickname or email
 * contains @text) or calendar / task list (summary contains @text), as
 * Evolution's own search does it, case-insensitively. */
static GPtrArray *
search_items (const char *item_kind, const char *text, GError **error)
{
  g_autoptr (ESourceRegistry) registry = e_source_registry_new_sync (NULL, error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (match_free);
  g_autoptr (ESource) source = NULL;
  g_autoptr (EClient) client = NULL;

  if (registry == NULL)
    return NULL;
  if (g_str_equal (item_kind, "contact"))
    {
      EBookQuery *q =
          e_book_query_orv (e_book_query_field_test (E_CONTACT_FULL_NAME, E_BOOK_QUERY_CONTAINS, text),
                            e_book_query_field_test (E_CONTACT_NICKNAME, E_BOOK_QUERY_CONTAINS, text),
                            e_book_query_field_test (E_CONTACT_EMAIL, E_BOOK_QUERY_CONTAINS, text), NULL);
      g_autofree char *sexp = e_book_query_to_string (q);
      GSList *contacts = NULL;

      e_book_query_unref (q);

      source = e_source_registry_ref_default_address_book (registry);
      client = e_book_client_connect_sync (source, NO_WAIT, NULL, error);
      if (client == NULL
          || !e_book_client_get_contacts_sync (E_BOOK_CLIENT (client), sexp, &contacts, NULL, error))
        return NULL;
      for (GSList *l = contacts; l != NULL; l = l->next)
        {
          Match *m = g_new0 (Match, 1);
          const char *email = e_contact_get_const (l->data, E_CONTACT_EMAIL_1);

          m->uid = e_contact_get (l->data, E_CONTACT_UID);
          m->label = g_strdup_printf (
              "%s%s%s%s", (const char *) e_contact_get_const (l->data, E_CONTACT_FULL_NAME),
              email != NULL ? " <" : "", email != NULL ? email : "", email != NULL ? ">" : "");
          g_ptr_array_add (out, m);
        }
      g_slist_free_full (contacts, g_object_unref);
    }
  else
    {
      gboolean event = g_str_equal (item_kind, "event");
      g_autoptr (GString) sexp = g_string_new ("(contains? \"summary\" ");
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      GSList *comps = NULL;

      e_sexp_encode_string (sexp, text);
      g_string_append_c (sexp, ')');
      source = event ? e_source_registry_ref_default_calendar (registry)
                     : e_source_registry_ref_default_task_list (registry);
      client = e_cal_client_connect_sync (
          source, event ? E_CAL_CLIENT_SOURCE_TYPE_EVENTS : E_CAL_CLIENT_SOURCE_TYPE_TASKS, NO_WAIT, NULL,
          error);
      if (client == NULL
          || !e_cal_client_get_object_list_sync (E_CAL_CLIENT (client), sexp->str, &comps, NULL, error))
        return NULL;
      for (GSList *l = comps; l != NULL; l = l->next)
        {
          const char *uid = i_cal_component_get_uid (l->data);
          Match *m;

          /* A series and its detached instances share the UID: one item. */
          if (uid == NULL || g_hash_table_contains (seen, uid))
            continue;
          m = g_new0 (Match, 1);
          m->uid = g_strdup (uid);
          m->label = g_strdup (i_cal_component_get_summary (l->data));
          g_hash_table_add (seen, m->uid);
          g_ptr_array_add (out, m);
        }
      g_slist_free_full (comps, g_object_unref);
    }
  return g_steal_pointer (&out);
}

/* `liaison track|untrack|regarding`: KIND (UID | --search TEXT [--all])
 * [--delete-in-crm (untrack)] [CRM-ID [NAME] (regarding)]. With --search,
 * one match is acted on; several only with --all, else they are listed. */
static int
link_main (LiaCommandKind kind, const char *what, const char *usage, int argc, char **argv)
{
  g_autoptr (GPtrArray) pos = g_ptr_array_new ();
  g_autoptr (GPtrArray) matches = NULL;
  g_autoptr (GError) error = NULL;
  const char *search = NULL, *item_kind, *regarding_id = NULL, *regarding_name = NULL;
  gboolean all = FALSE, delete_in_crm = FALSE;
  guint want_min, want_max, first_extra;
  int rc = 0;

  for (int i = 0; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--search") && i + 1 < argc)
        search = argv[++i];
      else if (g_str_equal (argv[i], "--all"))
        all = TRUE;
      else if (g_str_equal (argv[i], "--delete-in-crm") && kind == LIA_COMMAND_UNTRACK)
        delete_in_crm = TRUE;
      else if (g_str_has_prefix (argv[i], "--"))
        return usage_error (usage);
      else
        g_ptr_array_add (pos, argv[i]);
    }
  /* KIND, then UID unless searching, then CRM-ID [NAME] for regarding. */
  first_extra = search != NULL ? 1 : 2;
  want_min = first_extra + (kind == LIA_COMMAND_SET_REGARDING ? 1 : 0);
  want_max = first_extra + (kind == LIA_COMMAND_SET_REGARDING ? 2 : 0);
  if (pos->len < want_min || pos->len > want_max || (all && search == NULL)
      || (search != NULL && *search == '\0'))
    return usage_error (usage);
  item_kind = g_ptr_array_index (pos, 0);
  if (!g_str_equal (item_kind, "contact") && !g_str_equal (item_kind, "event")
      && !g_str_equal (item_kind, "task") && !g_str_equal (item_kind, "mail"))
    return usage_error ("the item kind is contact, event, task or mail");
  if (g_str_equal (item_kind, "mail") && search != NULL)
    return usage_error ("--search finds contacts, events and tasks; name a message by its id");
  if (kind == LIA_COMMAND_SET_REGARDING)
    {
      regarding_id = g_ptr_array_index (pos, first_extra);
      regarding_name = pos->len > first_extra + 1 ? g_ptr_array_index (pos, first_extra + 1) : NULL;
    }
  if (search == NULL)
    return link_command (kind, what, item_kind, (const char *const *) &pos->pdata[1], 1, delete_in_crm,
                         regarding_id, regarding_name);
  matches = search_items (item_kind, search, &error);
  if (matches == NULL)
    return fail (error);
  if (matches->len == 0)
    {
      g_printerr ("liaison: no %s matches \"%s\"\n", item_kind, search);
      return 1;
    }
  if (matches->len > 1 && !all)
    {
      g_printerr ("liaison: %u %ss match \"%s\"; name one by UID, or add --all:\n", matches->len, item_kind,
                  search);
      for (guint i = 0; i < matches->len; i++)
        {
          Match *m = g_ptr_array_index (matches, i);

          g_printerr ("  %s\t%s\n", m->uid, m->label != NULL ? m->label : "");
        }
      return 1;
    }
  {
    g_autoptr (GPtrArray) uids = g_ptr_array_new ();

    for (guint i = 0; i < matches->len; i++)
      g_ptr_array_add (uids, ((Match *) g_ptr_array_index (matches, i))->uid);
    rc = link_command (kind, what, item_kind, (const char *const *) uids->pdata, uids->len, delete_in_crm,
                       regarding_id, regarding_name);
  }
  return rc;
}

int
lia_cmd_track (int argc, char **argv)
{
  return link_main (
      LIA_COMMAND_TRACK, "track",
      "usage: liaison track contact|event|task UID|--search TEXT [--all]\n       liaison track mail MAIL-ID",
      argc, argv);
}

int
lia_cmd_untrack (int argc, char **argv)
{
  return link_main (LIA_COMMAND_UNTRACK, "untrack",
                    "usage: liaison untrack [--delete-in-crm] contact|event|task UID|--search TEXT [--all]\n "
                    "      liaison untrack [--delete-in-crm] mail MAIL-ID",
                    argc, argv);
}

int
lia_cmd_regarding (int argc, char **argv)
{
  return link_main (LIA_COMMAND_SET_REGARDING, "regarding",
                    "usage: liaison regarding contact|event|task UID|--search TEXT [--all] CRM-ID [NAME]\n   "
                    "    liaison regarding mail MAIL-ID CRM-ID [NAME]",
                    argc, argv);
}

/* ---- outbox ---- */

static gboolean
parse_id (const char *text, gint64 *out_id)
{
  guint64 v = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &v, NULL))
    return FALSE;
  *out_id = (gint64) v;
  return TRUE;
}

int
lia_cmd_outbox (int argc, char **argv)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  LiaCache *cache;
  gint64 id = 0;
  gboolean retry = argc == 2 && g_str_equal (argv[0], "--retry");
  gboolean drop = argc == 2 && g_str_equal (argv[0], "--drop");
  int fd, rc = 0;

  if (argc != 0 && !retry && !drop)
    return usage_error ("usage: liaison outbox [--retry ID | --drop ID]");
  if ((retry || drop) && !parse_id (argv[1], &id))
    return usage_error ("outbox: ID is a number from the list");
  profile = lia_profile_load (&error);
  if (profile == NULL)
    return fail (error);
  {
    g_autoptr (GDBusConnection) bus = lia_bus_connect_engine ();

    if (bus != NULL)
      return lia_bus_cmd_outbox (bus, retry, id);
  }
  /* Under the engine lock: no cycle may claim a change while it moves. */
  fd = lia_profile_lock (profile, "outbox", &error);
  if (fd < 0)
    return fail (error);
  cache = open_cache (profile, &error);
  if (cache == NULL)
    {
      lia_profile_unlock (fd);
      return fail (error);
    }
  if (retry || drop)
    {
      g_autoptr (LiaCacheChange) change = lia_cache_lookup_change (cache, id, &error);
      g_autoptr (LiaCacheBatch) batch = lia_cache_batch_new ();

      if (change != NULL)
        {
          /* Retry: the same change again, due now, with its failures
           * forgotten; completing the old row in the same transaction. */
          lia_cache_batch_complete (batch, id);
          if (retry)
            {
              g_autoptr (LiaCacheChange) again = lia_cache_change_copy (change);

              again->next_attempt_at = 0;
              again->attempts = 0;
              g_clear_pointer (&again->last_error, g_free);
              lia_cache_batch_enqueue (batch, again);
            }
        }
      if (change == NULL || !lia_cache_apply (cache, batch, &error))
        rc = fail (error);
      else
        g_print ("change %" G_GINT64_FORMAT " %s\n", id, retry ? "queued again, due now" : "dropped");
    }
  else if ((changes = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_ALL, 0, &error)) == NULL)
    rc = fail (error);
  else
    {
      for (guint i = 0; i < changes->len; i++)
        {
          LiaCacheChange *c = g_ptr_array_index (changes, i);
          g_autofree char *next = c->attempts > 0 ? time_text (c->next_attempt_at) : NULL;
          g_autofree char *tries = c->attempts > 0 ? g_strdup_printf ("\t%u attempt%s, next %s", c->attempts,
                                                                      c->attempts == 1 ? "" : "s", next)
                                                   : NULL;

          /* id, state, direction, operation, item, reason[, attempts]: one
           * tab-separated line a change (scripts cut the fields). */
          g_print ("%" G_GINT64_FORMAT "\t%s\t%s\t%s %s\t%s\t%s%s\n", c->id,
                   c->attempts > 0 ? "failed" : "pending",
                   c->direction == LIA_DIRECTION_TO_CRM ? "to-crm" : "to-host",
                   lia_change_op_to_string (c->op), lia_entity_to_string (c->entity),
                   c->item_id != NULL ? c->item_id : c->crm_id, c->last_error != NULL ? c->last_error : "",
                   tries != NULL ? tries : "");
        }
      g_print ("%u change%s in the outbox\n", changes->len, changes->len == 1 ? "" : "s");
    }
  lia_cache_close (cache);
  lia_profile_unlock (fd);
  return rc;
}

/* ---- doctor ---- */

typedef struct
{
  LiaEngine *engine;
  guint fix_mask;
  GPtrArray *issues; /* out */
  GError *error;     /* out */
} DoctorRun;

static gpointer
doctor_thread (gpointer data)
{
  DoctorRun *run = data;

  run->issues = lia_doctor_run_sync (run->engine, run->fix_mask, NULL, &run->error);
  return NULL;
}

int
lia_cmd_doctor (int argc, char **argv)
{
  g_autoptr (LiaProfile) profile = NULL;
  g_autoptr (LiaSession) session = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) issues = NULL;
  gboolean fix = argc == 1 && g_str_equal (argv[0], "--fix");
  DoctorRun run = { 0 };

  if (argc != 0 && !fix)
    return usage_error ("usage: liaison doctor [--fix]");
  profile = lia_profile_load (&error);
  if (profile == NULL)
    return fail (error);
  session = lia_session_open (profile, "doctor", FALSE, &error);
  if (session == NULL)
    return fail (error);
  if (!lia_session_sync (session, &error))
    return fail (error);
  run.engine = lia_session_get_engine (session);
  run.fix_mask = fix ? (1u << LIA_DOCTOR_N) - 1 : 0;
  lia_session_run_in_thread (session, doctor_thread, &run);
  issues = run.issues;
  error = run.error;
  if (issues == NULL)
    return fail (error);
  for (guint i = 0; i < issues->len; i++)
    {
      LiaDoctorIssue *is = g_ptr_array_index (issues, i);

      g_print ("%s\t%s\tCRM %s\t%s\n", lia_doctor_kind_to_string (is->kind), is->item_id,
               is->crm_id != NULL ? is->crm_id : "-",
               is->fixed ? "fixed"
               : fix     ? "NOT fixed"
                         : "found");
    }
  g_print ("doctor: %u issue%s%s\n", issues->len, issues->len == 1 ? "" : "s",
           fix               ? ", fixes applied"
           : issues->len > 0 ? "; \"liaison doctor --fix\" repairs them"
                             : "");
  return 0;
}
