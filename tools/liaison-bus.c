/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "liaison-bus.h"

#include <stdio.h>
#include <unistd.h>

#include <glib-unix.h>

#include "lia-dbus-service.h"
#include "lia-plugin-private.h"
#include "liaison-session.h"

/* ---- client ---- */

static int
fail_remote (GError *error)
{
  /* "GDBus.Error:org.gnome.Liaison.Error.Refused: ..." -> the message. */
  g_dbus_error_strip_remote_error (error);
  g_printerr ("liaison: %s\n", error->message);
  return 1;
}

GDBusConnection *
lia_bus_connect_engine (void)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *address = NULL;
  gboolean owned = FALSE;

  /* No session bus address: no bus to ask (and no autolaunch). */
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "bus", NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return NULL;
    }
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (address == NULL)
    return NULL;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (
      bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
      g_variant_new ("(s)", LIA_DBUS_NAME), G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  lia_dbus_register_errors ();
  return owned ? g_steal_pointer (&bus) : NULL;
}

/* Calls @method on the engine; long calls (a whole cycle) get no timeout. */
static GVariant *
call (GDBusConnection *bus, const char *method, GVariant *params, const char *reply_type, GError **error)
{
  return g_dbus_connection_call_sync (bus, LIA_DBUS_NAME, LIA_DBUS_PATH, LIA_DBUS_IFACE, method, params,
                                      G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NO_AUTO_START, G_MAXINT,
                                      NULL, error);
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

typedef struct
{
  gboolean tty;
  gboolean drew;
  char *last_state;
} Progress;

static void
on_progress (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
             const char *signal, GVariant *params, gpointer user_data)
{
  Progress *p = user_data;
  const char *state;
  guint done;

  g_variant_get (params, "(&su)", &state, &done);
  if (p->tty)
    {
      char bar[21];
      guint n = done % 21;

      for (guint i = 0; i < 20; i++)
        bar[i] = i < n ? '#' : '.';
      bar[20] = '\0';
      g_print ("\r[%s] %-11s %u items", bar, state, done);
      p->drew = TRUE;
    }
  else if (g_strcmp0 (state, p->last_state) != 0)
    g_print ("sync: %s (%u items)\n", state, done);
  g_free (p->last_state);
  p->last_state = g_strdup (state);
}

typedef struct
{
  GVariant *reply;
  GError *error;
  gboolean done;
} Pending;

static void
got_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;

  p->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &p->error);
  p->done = TRUE;
}

int
lia_bus_cmd_sync (GDBusConnection *bus)
{
  Progress progress = { isatty (STDOUT_FILENO), FALSE, NULL };
  Pending p = { 0 };
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GVariant) moves = NULL;
  g_autoptr (GVariantDict) d = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  const char *line, *last_error = NULL;
  guint64 queued = 0, failed = 0;
  guint sub;

  sub = g_dbus_connection_signal_subscribe (bus, LIA_DBUS_NAME, LIA_DBUS_IFACE, "Progress", LIA_DBUS_PATH,
                                            NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_progress, &progress, NULL);
  g_dbus_connection_call (bus, LIA_DBUS_NAME, LIA_DBUS_PATH, LIA_DBUS_IFACE, "SyncNow", NULL,
                          G_VARIANT_TYPE ("(a{sv}as)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, G_MAXINT, NULL,
                          got_reply, &p);
  while (!p.done)
    g_main_context_iteration (NULL, TRUE);
  g_dbus_connection_signal_unsubscribe (bus, sub);
  g_free (progress.last_state);
  if (progress.drew)
    g_print ("\n");
  if (p.reply == NULL)
    return fail_remote (p.error);
  g_variant_get (p.reply, "(@a{sv}@as)", &status, &moves);
  g_variant_unref (p.reply);
  d = g_variant_dict_new (status);
  g_variant_dict_lookup (d, "queued", "t", &queued);
  g_variant_dict_lookup (d, "failed", "t", &failed);
  g_variant_dict_lookup (d, "last-error", "&s", &last_error);
  g_print ("sync done (engine in Evolution or \"liaison serve\"): %" G_GUINT64_FORMAT
           " queued, %" G_GUINT64_FORMAT " failed%s%s\n",
           queued, failed, last_error != NULL ? "; last error: " : "", last_error != NULL ? last_error : "");
  iter = g_variant_iter_new (moves);
  while (g_variant_iter_next (iter, "&s", &line))
    g_print ("  %s\n", line);
  return failed > 0 ? 1 : 0;
}

gboolean
lia_bus_print_engine (GDBusConnection *bus)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = call (bus, "Status", NULL, "(a{sv})", &error);
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GVariantDict) d = NULL;
  g_autofree char *last = NULL;
  const char *state = "?", *last_error = NULL;
  gboolean online = FALSE;
  guint64 queued = 0, failed = 0;
  gint64 last_sync = 0;
  gint32 pid = 0;

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_print ("engine:   not reachable over D-Bus (%s)\n", error->message);
      return FALSE;
    }
  g_variant_get (reply, "(@a{sv})", &status);
  d = g_variant_dict_new (status);
  g_variant_dict_lookup (d, "state", "&s", &state);
  g_variant_dict_lookup (d, "online", "b", &online);
  g_variant_dict_lookup (d, "queued", "t", &queued);
  g_variant_dict_lookup (d, "failed", "t", &failed);
  g_variant_dict_lookup (d, "last-sync", "x", &last_sync);
  g_variant_dict_lookup (d, "last-error", "&s", &last_error);
  g_variant_dict_lookup (d, "pid", "i", &pid);
  last = time_text (last_sync);
  /* R-OFF-STATUS: what the running engine says of itself. */
  g_print ("engine:   running in pid %d (D-Bus %s): %s, %s\n", pid, LIA_DBUS_NAME, state,
           online ? "online" : "offline");
  g_print ("engine:   %" G_GUINT64_FORMAT " queued, %" G_GUINT64_FORMAT " failed, last sync %s\n", queued,
           failed, last);
  if (last_error != NULL)
    g_print ("engine:   last error: %s\n", last_error);
  return TRUE;
}

int
lia_bus_cmd_link (GDBusConnection *bus, const char *kind, const char *item_kind, const char *uid,
                  const char *item_id, gboolean delete_in_crm, const char *regarding_id,
                  const char *regarding_name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) item = NULL;
  g_autoptr (GVariantDict) d = NULL;
  const char *state = "none", *entity = "", *crm_id = NULL;

  if (g_str_equal (kind, "track"))
    reply = call (bus, "Track", g_variant_new ("(s)", item_id), "(a{sv})", &error);
  else if (g_str_equal (kind, "untrack"))
    reply = call (bus, "Untrack", g_variant_new ("(sb)", item_id, delete_in_crm), "(a{sv})", &error);
  else
    reply =
        call (bus, "SetRegarding",
              g_variant_new ("(sss)", item_id, regarding_id, regarding_name != NULL ? regarding_name : ""),
              "(a{sv})", &error);
  if (reply == NULL)
    return fail_remote (error);
  g_variant_get (reply, "(@a{sv})", &item);
  d = g_variant_dict_new (item);
  g_variant_dict_lookup (d, "state", "&s", &state);
  g_variant_dict_lookup (d, "entity", "&s", &entity);
  g_variant_dict_lookup (d, "crm-id", "&s", &crm_id);
  if (g_str_equal (kind, "untrack"))
    g_print ("%s \"%s\": %s\n", item_kind, uid, g_str_equal (state, "none") ? "untracked" : "untrack queued");
  else if (crm_id != NULL)
    g_print ("%s \"%s\": %s, CRM %s %s\n", item_kind, uid, state, entity, crm_id);
  else
    g_print ("%s \"%s\": queued for CRM (see \"liaison outbox\")\n", item_kind, uid);
  return 0;
}

int
lia_bus_cmd_outbox (GDBusConnection *bus, gboolean retry, gint64 id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  const char *state, *direction, *op, *entity, *what, *last_error;
  gint64 cid;
  guint attempts, n = 0;

  if (id > 0)
    {
      reply = call (bus, retry ? "Retry" : "Drop", g_variant_new ("(x)", id), "()", &error);
      if (reply == NULL)
        return fail_remote (error);
      g_print ("change %" G_GINT64_FORMAT " %s\n", id, retry ? "queued again, due now" : "dropped");
      return 0;
    }
  reply = call (bus, "Outbox", NULL, "(a(xsssssus))", &error);
  if (reply == NULL)
    return fail_remote (error);
  g_variant_get (reply, "(a(xsssssus))", &iter);
  while (g_variant_iter_next (iter, "(x&s&s&s&s&su&s)", &cid, &state, &direction, &op, &entity, &what,
                              &attempts, &last_error))
    {
      g_print ("%" G_GINT64_FORMAT "\t%s\t%s\t%s %s\t%s\t%s\n", cid, state, direction, op, entity, what,
               last_error);
      n++;
    }
  g_print ("%u change%s in the outbox\n", n, n == 1 ? "" : "s");
  return 0;
}

/* ---- liaison serve ---- */

typedef struct
{
  LiaSession *session;
  LiaDBusService *service;
  gboolean quit;
} Serve;

static gboolean
serve_resolve (gpointer data, const char *item_id, char **out_store, char **out_folder, LiaEntity *out_entity,
               GError **error)
{
  Serve *s = data;
  LiaEntity entity;

  if (g_str_has_prefix (item_id, "contact:"))
    entity = LIA_ENTITY_CONTACT;
  else if (g_str_has_prefix (item_id, "event:"))
    entity = LIA_ENTITY_APPOINTMENT;
  else if (g_str_has_prefix (item_id, "task:"))
    entity = LIA_ENTITY_TASK;
  else
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "\"%s\" is not an item id of contacts, events or tasks (contact:UID, event:UID, task:UID)",
                   item_id);
      return FALSE;
    }
  *out_entity = entity;
  *out_store = g_strdup (LIA_EVO_STORE);
  *out_folder = lia_evo_host_get_vtable ()->dup_default_folder (lia_session_get_host (s->session),
                                                                LIA_EVO_STORE, entity);
  return TRUE;
}

static void
serve_status (const LiaSyncStatus *status, gpointer user_data)
{
  Serve *s = user_data;

  if (s->service != NULL)
    lia_dbus_service_status_changed (s->service, status);
}

static gboolean
serve_quit (gpointer user_data)
{
  Serve *s = user_data;

  s->quit = TRUE;
  g_main_context_wakeup (NULL);
  return G_SOURCE_CONTINUE;
}

int
lia_bus_serve (const LiaProfile *profile)
{
  Serve s = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  guint sigint, sigterm;
  int rc = 0;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("liaison: serve: no session bus: %s\n", error->message);
      return 1;
    }
  /* The name first, as the module does: commands that come while the
   * engine opens (EDS may take a second to activate) wait for it. */
  s.service =
      lia_dbus_service_new (lia_plugin_internal_funcs (), serve_resolve, &s, profile->org, profile->user);
  if (!lia_dbus_service_export (s.service, bus, &error))
    {
      g_printerr ("liaison: serve: %s\n", error->message);
      lia_dbus_service_free (s.service);
      return 1;
    }
  while (!lia_dbus_service_owns_name (s.service) && !lia_dbus_service_lost_name (s.service))
    g_main_context_iteration (NULL, TRUE);
  if (lia_dbus_service_lost_name (s.service))
    {
      g_printerr ("liaison: serve: another process owns %s on this session bus\n", LIA_DBUS_NAME);
      lia_dbus_service_free (s.service);
      return 1;
    }
  s.session = lia_session_open (profile, "serve", FALSE, &error);
  if (s.session == NULL)
    {
      lia_dbus_service_set_plugin (s.service, NULL, error->message);
      g_printerr ("liaison: %s\n", error->message);
      lia_dbus_service_free (s.service);
      return 1;
    }
  lia_session_set_status_func (s.session, serve_status, &s);
  lia_dbus_service_set_plugin (s.service, lia_session_get_plugin (s.session), NULL);
  sigint = g_unix_signal_add (SIGINT, serve_quit, &s);
  sigterm = g_unix_signal_add (SIGTERM, serve_quit, &s);
  g_print ("serving the engine of \"%s\" on D-Bus %s (pid %d)\n", profile->org, LIA_DBUS_NAME,
           (int) getpid ());
  fflush (stdout);
  while (!s.quit)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  lia_session_set_status_func (s.session, NULL, NULL);
  lia_dbus_service_set_plugin (s.service, NULL, "liaison serve stopped");
  g_clear_pointer (&s.service, lia_dbus_service_free);
  lia_session_free (s.session);
  return rc;
}
