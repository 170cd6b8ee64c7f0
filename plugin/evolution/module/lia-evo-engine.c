/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LiaEvoEngine: the one engine of the profile inside Evolution. Start-up,
 * all from the main loop so the shell's start-up never waits:
 *
 *   idle: read the profile ($XDG_CONFIG_HOME/liaison/profile.ini, the same
 *         as the `liaison` command's), take its engine lock (a running
 *         `liaison sync` makes us retry every 30 s), open
 *         liaison-plugin.so through the plugin ABI, export the D-Bus
 *         interface (state "starting");
 *   async: Evolution's own clients of the default address book, calendar
 *         and task list from its EClientCache, the default mail account's
 *         store from its mail session (EMailSession), the EDS host adapter
 *         over them and its views; then the plugin's load, which returns at
 *         once and opens the cache and the org on the engine's worker
 *         ("ready").
 *
 * The type is registered with the module's GTypeModule (dynamic), so the
 * load/unload/load sequence leaves no dangling static type. */
#include "config.h"

#include <mail/e-mail-backend.h>

#include "lia-dbus-service.h"
#include "lia-evo-engine-private.h"
#include "lia-evo-host.h"
#include "lia-evo-mail.h"
#include "liaison-profile.h"

#define LOCK_RETRY_S 30

/* Evolution 3.46 declares no autoptr cleanup for EShell. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EShell, g_object_unref)

struct _LiaEvoEngine
{
  GObject parent;
  GWeakRef shell;
  LiaProfile *profile; /* owned */
  int lock_fd;
  guint retry_id;
  LiaPluginModule *module; /* owned */
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin;   /* owned through funcs->unload */
  LiaEvoHost *host;    /* owned */
  EClient *clients[3]; /* book, events, tasks while opening */
  guint clients_pending;
  LiaEvoMail *mail; /* owned until the host takes it */
  MailFolderCache *folder_cache;
  EMailSession *mail_session;
  gulong store_added_id;
  guint store_wait_id;
  gulong folder_available_id;
  gulong folder_changed_id;
  GCancellable *cancellable;
  LiaDBusService *service; /* owned */
  char *client_name;
  char *error; /* why it does not run, nullable */
  gboolean ready;
  gboolean stopped;
};

enum
{
  SIGNAL_READY,
  SIGNAL_STATUS_CHANGED,
  SIGNAL_STOPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];
static LiaEvoEngine *default_engine;

G_DEFINE_DYNAMIC_TYPE (LiaEvoEngine, lia_evo_engine, G_TYPE_OBJECT)

void
lia_evo_engine_type_register (GTypeModule *type_module)
{
  lia_evo_engine_register_type (type_module);
}

LiaEvoEngine *
lia_evo_engine_get_default (void)
{
  return default_engine;
}

const LiaPluginFuncs *
lia_evo_engine_get_funcs (LiaEvoEngine *self)
{
  g_return_val_if_fail (LIA_EVO_IS_ENGINE (self), NULL);
  return self->funcs;
}

LiaPlugin *
lia_evo_engine_get_plugin (LiaEvoEngine *self)
{
  g_return_val_if_fail (LIA_EVO_IS_ENGINE (self), NULL);
  return self->plugin;
}

gboolean
lia_evo_engine_is_ready (LiaEvoEngine *self)
{
  g_return_val_if_fail (LIA_EVO_IS_ENGINE (self), FALSE);
  return self->ready && self->plugin != NULL;
}

void
lia_evo_engine_get_status (LiaEvoEngine *self, LiaSyncStatus *out_status)
{
  g_return_if_fail (LIA_EVO_IS_ENGINE (self) && out_status != NULL);
  if (self->plugin != NULL)
    {
      self->funcs->get_status (self->plugin, out_status);
      return;
    }
  memset (out_status, 0, sizeof *out_status);
  out_status->abi_version = LIA_PLUGIN_ABI_VERSION;
  out_status->state = self->error != NULL || self->stopped ? LIA_SYNC_STATE_STOPPED : LIA_SYNC_STATE_STARTING;
  out_status->last_error = g_strdup (self->error);
}

/* Item ids of the host adapter. */
char *
lia_evo_engine_item_id_for_contact (const char *uid)
{
  return uid != NULL ? lia_evo_item_id_for_contact (uid) : NULL;
}

char *
lia_evo_engine_item_id_for_event (const char *uid, const char *rid)
{
  return uid != NULL ? lia_evo_item_id_for_component (E_CAL_CLIENT_SOURCE_TYPE_EVENTS, uid, rid) : NULL;
}

char *
lia_evo_engine_item_id_for_task (const char *uid)
{
  return uid != NULL ? lia_evo_item_id_for_component (E_CAL_CLIENT_SOURCE_TYPE_TASKS, uid, NULL) : NULL;
}

char *
lia_evo_engine_item_id_for_message (const char *store_uid, const char *folder_full_name,
                                    const char *message_uid)
{
  if (store_uid == NULL || folder_full_name == NULL || message_uid == NULL)
    return NULL;
  return lia_evo_mail_item_id (store_uid, folder_full_name, message_uid);
}

/* contact:, event:, task: ids: the primary store and its default folder
 * (R-MARK-PROFILE). */
static gboolean
resolve_item (gpointer data, const char *item_id, char **out_store, char **out_folder, LiaEntity *out_entity,
              GError **error)
{
  LiaEvoEngine *self = data;
  LiaEntity entity;
  g_autofree char *store_uid = NULL;
  g_autofree char *full_name = NULL;
  g_autofree char *message_uid = NULL;

  if (self->host == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE,
                   "the address book and calendars are not open yet");
      return FALSE;
    }
  if (g_str_has_prefix (item_id, "contact:"))
    entity = LIA_ENTITY_CONTACT;
  else if (g_str_has_prefix (item_id, "event:"))
    entity = LIA_ENTITY_APPOINTMENT;
  else if (g_str_has_prefix (item_id, "task:"))
    entity = LIA_ENTITY_TASK;
  else if (lia_evo_mail_parse_item_id (item_id, &store_uid, &full_name, &message_uid))
    {
      LiaEvoMail *mail = lia_evo_host_get_mail (self->host);

      /* A message: its folder is where the id says it was tracked; the
       * default mail account's messages belong to the primary store, any
       * other account's to a store of its own, which the rules refuse to
       * track (R-MARK-PROFILE). */
      *out_entity = LIA_ENTITY_EMAIL;
      if (mail != NULL && g_strcmp0 (store_uid, lia_evo_mail_get_store_uid (mail)) == 0)
        *out_store = g_strdup (LIA_EVO_STORE);
      else
        *out_store = g_strdup (store_uid);
      *out_folder = lia_evo_mail_folder_id (store_uid, full_name);
      return TRUE;
    }
  else
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "\"%s\" is not an item id of Evolution (contact:UID, event:UID, task:UID, "
                   "mail:STORE/FOLDER/UID)",
                   item_id);
      return FALSE;
    }
  *out_entity = entity;
  *out_store = g_strdup (LIA_EVO_STORE);
  *out_folder = lia_evo_host_get_vtable ()->dup_default_folder (self->host, LIA_EVO_STORE, entity);
  return TRUE;
}

gboolean
lia_evo_engine_command (LiaEvoEngine *self, const LiaCommand *command, GError **error)
{
  LiaCommand cmd;
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;
  LiaEntity entity;

  g_return_val_if_fail (LIA_EVO_IS_ENGINE (self) && command != NULL, FALSE);
  if (self->plugin == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the sync engine is not running%s%s",
                   self->error != NULL ? ": " : "", self->error != NULL ? self->error : "");
      return FALSE;
    }
  cmd = *command;
  /* Messages: the UI passes the CamelService uid and the full name it
   * has; the host knows them as the primary store and a mail folder id. */
  if (cmd.kind != LIA_COMMAND_SYNC_NOW && cmd.item_id != NULL
      && (cmd.store == NULL || cmd.folder == NULL || g_str_has_prefix (cmd.item_id, "mail:"))
      && resolve_item (self, cmd.item_id, &store, &folder, &entity, NULL))
    {
      if (cmd.store == NULL || g_str_has_prefix (cmd.item_id, "mail:"))
        cmd.store = store;
      if (cmd.folder == NULL || g_str_has_prefix (cmd.item_id, "mail:"))
        cmd.folder = folder;
    }
  return self->funcs->command (self->plugin, &cmd, error);
}

LiaLinkState
lia_evo_engine_dup_link_state (LiaEvoEngine *self, const char *item_id, char **out_crm_id)
{
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;
  LiaEntity entity;

  g_return_val_if_fail (LIA_EVO_IS_ENGINE (self) && item_id != NULL, LIA_LINK_STATE_NONE);
  if (out_crm_id != NULL)
    *out_crm_id = NULL;
  if (self->plugin == NULL)
    return LIA_LINK_STATE_NONE;
  if (!resolve_item (self, item_id, &store, &folder, &entity, NULL))
    return LIA_LINK_STATE_NONE;
  m = self->funcs->lookup_item (self->plugin, store, item_id, NULL);
  if (m == NULL)
    return LIA_LINK_STATE_NONE;
  if (out_crm_id != NULL)
    *out_crm_id = g_strdup (m->crm_id);
  return m->state;
}

/* ---- start ---- */

static void
fail_start (LiaEvoEngine *self, const char *what, const GError *error)
{
  g_free (self->error);
  self->error = g_strdup_printf ("%s: %s", what, error->message);
  g_warning ("Liaison: %s", self->error);
  if (self->service != NULL)
    lia_dbus_service_set_plugin (self->service, NULL, self->error);
}

static void
on_status (const LiaSyncStatus *status, gpointer user_data)
{
  LiaEvoEngine *self = user_data;

  lia_dbus_service_status_changed (self->service, status);
  g_signal_emit (self, signals[SIGNAL_STATUS_CHANGED], 0, status);
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  LiaEvoEngine *self = user_data;

  if (self->plugin != NULL)
    self->funcs->notify (self->plugin, n);
}

static void
load_plugin (LiaEvoEngine *self)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;

  config.cache_path = self->profile->cache_path;
  if (self->profile->embedded)
    config.org_path = self->profile->org;
  else
    config.org_url = self->profile->org;
  config.token = self->profile->token;
  config.org_name = self->profile->org;
  config.client_name = self->client_name;
  config.status_func = on_status;
  config.status_data = self;
  /* Returns at once: the cache and the org open on the engine's worker,
   * then the start-up scan runs (R-DET-SCAN-STARTUP). */
  self->plugin = self->funcs->load (&config, lia_evo_host_get_vtable (), self->host, &error);
  if (self->plugin == NULL)
    {
      fail_start (self, "cannot start the sync engine", error);
      return;
    }
  lia_dbus_service_set_plugin (self->service, self->plugin, NULL);
  self->ready = TRUE;
  g_debug ("engine ready for \"%s\"", self->client_name);
  g_signal_emit (self, signals[SIGNAL_READY], 0);
}

static void on_folder_available (MailFolderCache *cache, CamelStore *store, const char *folder_name,
                                 gpointer user_data);
static void on_folder_changed (MailFolderCache *cache, CamelStore *store, const char *folder_name,
                               int new_messages, const char *msg_uid, const char *msg_sender,
                               const char *msg_subject, gpointer user_data);

/* The folders Evolution announced (folder-available) before the handlers
 * above were connected: the cache lists them by URI. Without this, a
 * folder outside Inbox/Sent/Drafts that Evolution knew at start was
 * watched only after its first change, whose notifications were lost.
 * Each opens in a worker (lia_evo_mail_watch_folder()), as one announced
 * later does; other accounts' folders are ignored there. */
static void
watch_known_folders (LiaEvoEngine *self, LiaEvoMail *mail)
{
  GQueue uris = G_QUEUE_INIT;
  guint n = 0;

  mail_folder_cache_get_local_folder_uris (self->folder_cache, &uris);
  mail_folder_cache_get_remote_folder_uris (self->folder_cache, &uris);
  while (!g_queue_is_empty (&uris))
    {
      g_autofree char *uri = g_queue_pop_head (&uris);
      g_autoptr (CamelStore) store = NULL;
      g_autofree char *name = NULL;

      if (!e_mail_folder_uri_parse (CAMEL_SESSION (self->mail_session), uri, &store, &name, NULL))
        continue;
      if (g_strcmp0 (camel_service_get_uid (CAMEL_SERVICE (store)), lia_evo_mail_get_store_uid (mail)) != 0)
        continue;
      lia_evo_mail_watch_folder (mail, store, name);
      n++;
    }
  g_debug ("%u mail folder(s) Evolution announced before the engine watched", n);
}

static void
host_watched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LiaEvoEngine *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!lia_evo_host_watch_finish ((LiaEvoHost *) source, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail_start (self, "cannot watch the address book and calendars", error);
      g_object_unref (self);
      return;
    }
  if (!self->stopped && self->folder_cache != NULL && lia_evo_host_get_mail (self->host) != NULL)
    {
      self->folder_available_id =
          g_signal_connect (self->folder_cache, "folder-available", G_CALLBACK (on_folder_available), self);
      self->folder_changed_id =
          g_signal_connect (self->folder_cache, "folder-changed", G_CALLBACK (on_folder_changed), self);
      watch_known_folders (self, lia_evo_host_get_mail (self->host));
    }
  if (!self->stopped)
    load_plugin (self);
  g_object_unref (self);
}

/* All of Evolution's clients are there (and the mail store resolved, or
 * given up): make the host and watch it. Holds a reference on self. */
static void
make_host (LiaEvoEngine *self)
{
  if (self->stopped)
    {
      g_object_unref (self);
      return;
    }
  self->host = lia_evo_host_new_for_clients (
      E_BOOK_CLIENT (self->clients[0]), E_CAL_CLIENT (self->clients[1]), E_CAL_CLIENT (self->clients[2]));
  for (guint i = 0; i < G_N_ELEMENTS (self->clients); i++)
    g_clear_object (&self->clients[i]);
  if (self->mail != NULL)
    {
      g_debug ("host: Evolution's clients and the mail store \"%s\"",
               lia_evo_mail_get_store_uid (self->mail));
      lia_evo_host_set_mail (self->host, g_steal_pointer (&self->mail));
    }
  else
    g_debug ("host: Evolution's clients, no default mail account");
  lia_evo_host_watch_async (self->host, on_note, self, self->cancellable, host_watched, self);
}

static void
one_part_done (LiaEvoEngine *self)
{
  g_return_if_fail (self->clients_pending > 0);
  if (--self->clients_pending > 0)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->clients); i++)
    if (self->clients[i] == NULL)
      {
        g_object_unref (self);
        return;
      }
  make_host (self);
}

static void
client_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LiaEvoEngine *self = user_data;
  g_autoptr (GError) error = NULL;
  EClient *client = e_client_cache_get_client_finish (E_CLIENT_CACHE (source), result, &error);
  guint i;

  if (client == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail_start (self, "cannot open the address book and calendars", error);
    }
  else
    {
      if (E_IS_BOOK_CLIENT (client))
        i = 0;
      else if (e_cal_client_get_source_type (E_CAL_CLIENT (client)) == E_CAL_CLIENT_SOURCE_TYPE_EVENTS)
        i = 1;
      else
        i = 2;
      g_clear_object (&self->clients[i]);
      self->clients[i] = client;
    }
  one_part_done (self);
}

static void
mail_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LiaEvoEngine *self = user_data;
  g_autoptr (GError) error = NULL;

  if (self->mail != NULL && !lia_evo_mail_resolve_folders_finish (self->mail, result, &error))
    {
      /* Contacts, events and tasks still sync; mail waits for a restart. */
      g_warning ("Liaison: mail is not synchronized: %s", error->message);
      g_clear_pointer (&self->mail, lia_evo_mail_free);
    }
  one_part_done (self);
}

#define MAIL_WAIT_S 10

/* The default mail account's store of Evolution's mail session
 * (R-MARK-PROFILE), with its address and configured Sent and Drafts; NULL
 * when there is none or the session does not have its store yet. */
static LiaEvoMail *
try_mail (LiaEvoEngine *self, GError **error)
{
  g_autoptr (EShell) shell = g_weak_ref_get (&self->shell);

  if (shell == NULL || self->mail_session == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no mail session");
      return NULL;
    }
  return lia_evo_host_mail_for_default_account (e_shell_get_registry (shell),
                                                CAMEL_SESSION (self->mail_session), error);
}

static void
stop_waiting_for_store (LiaEvoEngine *self)
{
  if (self->store_added_id != 0)
    g_signal_handler_disconnect (self->mail_session, self->store_added_id);
  self->store_added_id = 0;
  if (self->store_wait_id != 0)
    g_source_remove (self->store_wait_id);
  self->store_wait_id = 0;
}

/* The mail backend adds the accounts' stores to its session after start:
 * the default account's store may come a moment after us. */
static void
on_store_added (EMailSession *session, CamelStore *store, gpointer user_data)
{
  LiaEvoEngine *self = user_data;
  g_autoptr (GError) error = NULL;

  self->mail = try_mail (self, &error);
  if (self->mail == NULL)
    return;
  g_debug ("the default mail account's store came: \"%s\"", lia_evo_mail_get_store_uid (self->mail));
  stop_waiting_for_store (self);
  lia_evo_mail_resolve_folders_async (self->mail, self->cancellable, mail_resolved, self);
}

static gboolean
store_wait_over (gpointer user_data)
{
  LiaEvoEngine *self = user_data;

  self->store_wait_id = 0;
  stop_waiting_for_store (self);
  g_message ("Liaison: the default mail account's store did not appear in %d s; mail is not synchronized",
             MAIL_WAIT_S);
  one_part_done (self);
  return G_SOURCE_REMOVE;
}

/* Takes one part of the opening when there is mail to wait for. */
static gboolean
open_mail (LiaEvoEngine *self, EShell *shell)
{
  EShellBackend *backend = e_shell_get_backend_by_name (shell, "mail");
  g_autoptr (ESource) account = e_source_registry_ref_default_mail_account (e_shell_get_registry (shell));
  g_autoptr (GError) error = NULL;

  if (backend == NULL || account == NULL)
    return FALSE;
  self->mail_session = g_object_ref (e_mail_backend_get_session (E_MAIL_BACKEND (backend)));
  /* Folders Evolution makes available later (every account: the adapter
   * keeps only its own store's). */
  self->folder_cache = g_object_ref (e_mail_session_get_folder_cache (self->mail_session));
  self->mail = try_mail (self, &error);
  if (self->mail != NULL)
    {
      lia_evo_mail_resolve_folders_async (self->mail, self->cancellable, mail_resolved, self);
      return TRUE;
    }
  if (!g_error_matches (error, LIA_ERROR, LIA_ERROR_NOT_FOUND))
    {
      g_message ("Liaison: mail is not synchronized: %s", error->message);
      return FALSE;
    }
  g_debug ("waiting for the default mail account's store (%s)", error->message);
  self->store_added_id =
      g_signal_connect (self->mail_session, "store-added", G_CALLBACK (on_store_added), self);
  self->store_wait_id = g_timeout_add_seconds (MAIL_WAIT_S, store_wait_over, self);
  return TRUE;
}

static void
on_folder_available (MailFolderCache *cache, CamelStore *store, const char *folder_name, gpointer user_data)
{
  LiaEvoEngine *self = user_data;
  LiaEvoMail *mail = self->host != NULL ? lia_evo_host_get_mail (self->host) : NULL;

  if (mail != NULL && !self->stopped)
    lia_evo_mail_watch_folder (mail, store, folder_name);
}

/* A folder of any account received mail (a filter or another client put
 * it there). The signal carries the folder name although 3.46's class
 * struct omits it. The first change of a folder not yet watched starts
 * its watch; the message that caused it is already there then and, in a
 * tracked folder, comes with the engine's next folder scan (R-MAIL-FOLDER),
 * the following ones as notifications. Watching is a no-op for a watched
 * folder or another store. */
static void
on_folder_changed (MailFolderCache *cache, CamelStore *store, const char *folder_name, int new_messages,
                   const char *msg_uid, const char *msg_sender, const char *msg_subject, gpointer user_data)
{
  on_folder_available (cache, store, folder_name, user_data);
}

/* Reuses Evolution's registry, client cache and mail session. */
static void
open_host (LiaEvoEngine *self, EShell *shell)
{
  ESourceRegistry *registry = e_shell_get_registry (shell);
  EClientCache *cache = e_shell_get_client_cache (shell);
  g_autoptr (ESource) book = e_source_registry_ref_default_address_book (registry);
  g_autoptr (ESource) cal = e_source_registry_ref_default_calendar (registry);
  g_autoptr (ESource) tasks = e_source_registry_ref_default_task_list (registry);

  if (book == NULL || cal == NULL || tasks == NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (LIA_ERROR, LIA_ERROR_NOT_FOUND,
                                                      "no default address book, calendar or task list");

      fail_start (self, "cannot start", error);
      return;
    }
  /* One reference on self for the whole opening, dropped at its end. */
  g_object_ref (self);
  self->clients_pending = 4;
  if (!open_mail (self, shell))
    self->clients_pending--;
  /* 30 s: a backend that is still starting answers within that. */
  e_client_cache_get_client (cache, book, E_SOURCE_EXTENSION_ADDRESS_BOOK, 30, self->cancellable,
                             client_opened, self);
  e_client_cache_get_client (cache, cal, E_SOURCE_EXTENSION_CALENDAR, 30, self->cancellable, client_opened,
                             self);
  e_client_cache_get_client (cache, tasks, E_SOURCE_EXTENSION_TASK_LIST, 30, self->cancellable, client_opened,
                             self);
}

static char *
plugin_path (void)
{
  const char *env = g_getenv ("LIAISON_PLUGIN_PATH");

  return g_strdup (env != NULL && *env != '\0' ? env : LIA_PLUGIN_INSTALLED_PATH);
}

static gboolean start_idle (gpointer user_data);

static gboolean
retry_lock (gpointer user_data)
{
  LiaEvoEngine *self = user_data;

  self->retry_id = 0;
  start_idle (self);
  return G_SOURCE_REMOVE;
}

static void start_step (LiaEvoEngine *self);

/* Everything the main loop runs for the start is this step (the rest is
 * asynchronous); its duration is logged (G_MESSAGES_DEBUG=liaison-module). */
static gboolean
start_idle (gpointer user_data)
{
  gint64 t0 = g_get_monotonic_time ();

  start_step (user_data);
  g_debug ("start-up step on the main loop: %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  return G_SOURCE_REMOVE;
}

static void
start_step (LiaEvoEngine *self)
{
  g_autoptr (EShell) shell = g_weak_ref_get (&self->shell);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree char *path = NULL;

  if (shell == NULL || self->stopped)
    return;
  if (self->profile == NULL)
    {
      self->profile = lia_profile_load (&error);
      if (self->profile == NULL)
        {
          /* No profile: Liaison is installed but not set up. */
          g_clear_pointer (&self->error, g_free);
          self->error = g_strdup (error->message);
          g_message ("Liaison: %s", error->message);
          return;
        }
      self->client_name = g_strdup_printf ("%s-evolution", self->profile->user);
    }
  /* One engine per profile: a `liaison` command holding the lock runs its
   * engine now; ours starts when it is done. */
  self->lock_fd = lia_profile_lock (self->profile, "evolution", &error);
  if (self->lock_fd < 0)
    {
      const char *env = g_getenv ("LIAISON_LOCK_RETRY_S"); /* tests */
      guint64 retry_s = LOCK_RETRY_S;

      if (env != NULL && !g_ascii_string_to_unsigned (env, 10, 1, 3600, &retry_s, NULL))
        retry_s = LOCK_RETRY_S;
      g_message ("Liaison: %s; retrying in %u s", error->message, (guint) retry_s);
      self->retry_id = g_timeout_add_seconds ((guint) retry_s, retry_lock, self);
      return;
    }
  g_clear_error (&error);
  /* The interface first: when the plugin cannot start, `liaison status`
   * still hears why from this engine. */
  self->service = lia_dbus_service_new (NULL, resolve_item, self, self->profile->org, self->profile->user);
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL || !lia_dbus_service_export (self->service, bus, &error))
    {
      /* The engine runs without the interface; the command cannot reach it
       * and says the profile is locked. */
      g_warning ("Liaison: no session D-Bus interface: %s", error->message);
      g_clear_error (&error);
    }
  path = plugin_path ();
  self->module = lia_plugin_module_open (path, &error);
  if (self->module == NULL)
    {
      fail_start (self, "cannot load the Liaison plugin", error);
      return;
    }
  self->funcs = lia_plugin_module_get_funcs (self->module);
  lia_dbus_service_set_funcs (self->service, self->funcs);
  open_host (self, shell);
}

LiaEvoEngine *
lia_evo_engine_start (EShell *shell)
{
  if (default_engine != NULL)
    return default_engine;
  default_engine = g_object_new (LIA_EVO_TYPE_ENGINE, NULL);
  g_weak_ref_set (&default_engine->shell, shell);
  /* After the shell's construction and its backends (EVOLUTION.md). */
  g_idle_add_full (G_PRIORITY_LOW, start_idle, g_object_ref (default_engine), g_object_unref);
  return default_engine;
}

void
lia_evo_engine_stop (LiaEvoEngine *self)
{
  g_return_if_fail (LIA_EVO_IS_ENGINE (self));
  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  if (self->retry_id != 0)
    g_source_remove (self->retry_id);
  self->retry_id = 0;
  if (self->store_wait_id != 0)
    {
      /* The opening still holds a reference: let it go. */
      stop_waiting_for_store (self);
      one_part_done (self);
    }
  if (self->folder_available_id != 0)
    g_signal_handler_disconnect (self->folder_cache, self->folder_available_id);
  self->folder_available_id = 0;
  if (self->folder_changed_id != 0)
    g_signal_handler_disconnect (self->folder_cache, self->folder_changed_id);
  self->folder_changed_id = 0;
  g_clear_object (&self->folder_cache);
  g_clear_object (&self->mail_session);
  if (self->host != NULL)
    lia_evo_host_unwatch (self->host);
  if (self->service != NULL)
    lia_dbus_service_set_plugin (self->service, NULL, "Evolution is quitting");
  g_clear_pointer (&self->service, lia_dbus_service_free);
  if (self->plugin != NULL)
    {
      LiaPlugin *plugin = g_steal_pointer (&self->plugin);

      self->funcs->unload (plugin);
      /* Let the callbacks the unload scheduled run before the host goes. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      /* The plugin drops status posts once stopped, so listeners would
       * keep the last state they saw. The UI's status-bar activities
       * (offline while the org is down) must end now: Evolution's shell
       * backend holds the quit until its activities are gone. */
      {
        g_auto (LiaSyncStatus) status = { 0 };

        lia_evo_engine_get_status (self, &status);
        g_signal_emit (self, signals[SIGNAL_STATUS_CHANGED], 0, &status);
      }
      g_signal_emit (self, signals[SIGNAL_STOPPED], 0);
    }
  g_clear_pointer (&self->host, lia_evo_host_free);
  g_clear_pointer (&self->mail, lia_evo_mail_free);
  for (guint i = 0; i < G_N_ELEMENTS (self->clients); i++)
    g_clear_object (&self->clients[i]);
  lia_profile_unlock (self->lock_fd);
  self->lock_fd = -1;
  /* The module stays open: its code may still be on the stack of an idle
   * callback the engine scheduled. The process exits soon after. */
  g_debug ("engine stopped");
}

static void
lia_evo_engine_finalize (GObject *object)
{
  LiaEvoEngine *self = LIA_EVO_ENGINE (object);

  lia_evo_engine_stop (self);
  if (default_engine == self)
    default_engine = NULL;
  g_weak_ref_clear (&self->shell);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->profile, lia_profile_free);
  g_free (self->client_name);
  g_free (self->error);
  G_OBJECT_CLASS (lia_evo_engine_parent_class)->finalize (object);
}

static void
lia_evo_engine_class_init (LiaEvoEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lia_evo_engine_finalize;
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                        NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_STATUS_CHANGED] =
      g_signal_new ("status-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 0);
}

static void
lia_evo_engine_class_finalize (LiaEvoEngineClass *klass)
{
}

static void
lia_evo_engine_init (LiaEvoEngine *self)
{
  self->lock_fd = -1;
  self->cancellable = g_cancellable_new ();
  g_weak_ref_init (&self->shell, NULL);
}
