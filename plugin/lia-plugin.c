/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dlfcn.h>

#include <string.h>

#include "lia-plugin-admin.h"
#include "lia-plugin-mail.h"
#include "lia-plugin-private.h"

#include "lia-crm-embedded.h"
#include "lia-engine-mail.h"
#include "lia-mail-correlate.h"

/* liaison-plugin.so: the entry points of lia-plugin.h over the engine, the
 * dispatcher and the scheduler. Loading returns at once; the engine opens
 * the cache and the org on its worker and then runs the start-up scan
 * (R-DET-SCAN-STARTUP), so a slow disk or an org that does not answer
 * never delays the host's start-up. */

struct _LiaPlugin
{
  LiaEngine *engine;         /* owned */
  LiaDispatcher *dispatcher; /* owned */
  LiaScheduler *scheduler;   /* owned */
  LiaSyncStatusFunc status_func;
  gpointer status_data;
  GMainContext *context; /* owned: the host's main context, where it loaded */
  GThread *thread;       /* the thread that loaded (and unloads) */
};

/* The loaded instances, for the entry points a host may call from any
 * thread (lia-plugin.h, "Threads"): such a call takes an engine reference
 * under the reader lock while its instance is in the set; unload takes it
 * out under the writer lock before it frees anything. Writers are the
 * loading thread only. */
static GRWLock live_lock;
static GHashTable *live; /* LiaPlugin * -> itself */

static gboolean
is_live_locked (LiaPlugin *plugin)
{
  return plugin != NULL && live != NULL && g_hash_table_contains (live, plugin);
}

LiaEngine *
lia_plugin_ref_engine (LiaPlugin *plugin, GError **error)
{
  LiaEngine *engine = NULL;

  g_rw_lock_reader_lock (&live_lock);
  if (is_live_locked (plugin))
    engine = lia_engine_ref (plugin->engine);
  g_rw_lock_reader_unlock (&live_lock);
  if (engine == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Liaison has stopped");
  return engine;
}

typedef struct
{
  LiaPlugin *plugin;
  LiaPluginHomeFunc func;
  gpointer data;
  GDestroyNotify free_data;
} HomeCall;

static void
home_call_free (gpointer data)
{
  HomeCall *call = data;

  if (call->free_data != NULL)
    call->free_data (call->data);
  g_free (call);
}

/* On the loading thread, which alone unloads: the check holds. */
static gboolean
home_call_idle (gpointer data)
{
  HomeCall *call = data;
  gboolean alive;

  g_rw_lock_reader_lock (&live_lock);
  alive = is_live_locked (call->plugin);
  g_rw_lock_reader_unlock (&live_lock);
  if (alive)
    call->func (call->plugin, call->data);
  return G_SOURCE_REMOVE;
}

void
lia_plugin_run_home (LiaPlugin *plugin, LiaPluginHomeFunc func, gpointer data, GDestroyNotify free_data)
{
  HomeCall *call = g_new0 (HomeCall, 1);
  g_autoptr (GMainContext) context = NULL;
  gboolean home = FALSE;

  call->plugin = plugin;
  call->func = func;
  call->data = data;
  call->free_data = free_data;
  g_rw_lock_reader_lock (&live_lock);
  if (is_live_locked (plugin))
    {
      home = plugin->thread == g_thread_self ();
      context = g_main_context_ref (plugin->context);
    }
  g_rw_lock_reader_unlock (&live_lock);
  if (context == NULL)
    home_call_free (call);
  else if (home)
    {
      func (plugin, data);
      home_call_free (call);
    }
  else
    {
      g_autoptr (GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, home_call_idle, call, home_call_free);
      g_source_set_static_name (source, "[liaison] plugin call on the main context");
      g_source_attach (source, context);
    }
}

static void
request_sync_home (LiaPlugin *plugin, gpointer data)
{
  lia_engine_request_sync (plugin->engine);
}

void
lia_plugin_request_sync (LiaPlugin *plugin)
{
  lia_plugin_run_home (plugin, request_sync_home, NULL, NULL);
}

static void
on_status (const LiaSyncStatus *status, gpointer user_data)
{
  LiaPlugin *self = user_data;

  /* Status posts are dropped once the engine is stopped, so self is
   * alive here. */
  if (self->scheduler != NULL)
    lia_scheduler_status_changed (self->scheduler, status);
  if (self->status_func != NULL)
    self->status_func (status, self->status_data);
}

/* The connector the configuration names, in order of precedence: one the
 * host passes (tests, several users in one process), a liaison-server URL
 * with the user's token, or an embedded org file. Opening does no network
 * I/O (the http connector connects on first call) and opening an embedded
 * org file is one SQLite open, so loading still returns at once. */
static LiaCrm *
open_crm (const LiaPluginConfig *config, GError **error)
{
  if (config->crm != NULL)
    return g_object_ref (config->crm);
  if (config->org_url != NULL)
    {
      if (config->token == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "no token configured for the server \"%s\"",
                       config->org_url);
          return NULL;
        }
      return lia_crm_http_new (config->org_url, config->token, error);
    }
  if (config->org_path != NULL)
    {
      /* Both builds of the plugin carry the org store: the in-process one
       * through liaison-org-internal, liaison-plugin.so compiled against the
       * shared libliaison (plugin/meson.build). */
      if (config->token == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "no token configured for the org file \"%s\"",
                       config->org_path);
          return NULL;
        }
      return lia_crm_embedded_new (config->org_path, config->token, config->clock, error);
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "no CRM connector configured");
  return NULL;
}

static LiaPlugin *
plugin_load (const LiaPluginConfig *config, const LiaHostVTable *vtable, gpointer host, GError **error)
{
  g_autofree LiaPlugin *self = NULL;
  g_autoptr (LiaCrm) crm = NULL;
  LiaEngineConfig ec = { 0 };

  g_return_val_if_fail (config != NULL && vtable != NULL, NULL);
  if (config->abi_version != LIA_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_ABI, "configuration of ABI %u, plugin has ABI %u",
                   config->abi_version, (guint) LIA_PLUGIN_ABI_VERSION);
      return NULL;
    }
  if (config->cache_path == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "no sync cache path configured");
      return NULL;
    }
  crm = open_crm (config, error);
  if (crm == NULL)
    return NULL;
  self = g_new0 (LiaPlugin, 1);
  self->status_func = config->status_func;
  self->status_data = config->status_data;
  self->context = g_main_context_ref_thread_default ();
  self->thread = g_thread_self ();
  ec.vtable = vtable;
  ec.host = host;
  ec.cache_path = config->cache_path;
  ec.crm = crm;
  ec.clock = config->clock;
  ec.client_name = config->client_name;
  ec.org_name = config->org_name;
  ec.delegate = config->delegate;
  ec.roaming = config->roaming;
  ec.status_func = on_status;
  ec.status_data = self;
  self->engine = lia_engine_new (&ec, error);
  if (self->engine == NULL)
    {
      g_main_context_unref (self->context);
      return NULL;
    }
  self->dispatcher = lia_dispatcher_new (self->engine, vtable, host);
  self->scheduler =
      lia_scheduler_new_full (self->engine, config->interval_s, !config->manual_sync, NULL, NULL);
  g_rw_lock_writer_lock (&live_lock);
  if (live == NULL)
    live = g_hash_table_new (NULL, NULL);
  g_hash_table_add (live, self);
  g_rw_lock_writer_unlock (&live_lock);
  /* The first cycle starts the engine on its worker: returns at once. */
  lia_engine_request_sync (self->engine);
  g_debug ("plugin loaded for \"%s\"", config->client_name != NULL ? config->client_name : "");
  return g_steal_pointer (&self);
}

static void
plugin_unload (LiaPlugin *plugin)
{
  if (plugin == NULL)
    return;
  /* Calls from other threads that got in keep their engine reference;
   * later ones find the instance gone. */
  g_rw_lock_writer_lock (&live_lock);
  if (live != NULL)
    g_hash_table_remove (live, plugin);
  g_rw_lock_writer_unlock (&live_lock);
  lia_engine_stop (plugin->engine);
  g_clear_pointer (&plugin->scheduler, lia_scheduler_free);
  g_clear_pointer (&plugin->dispatcher, lia_dispatcher_free);
  g_clear_pointer (&plugin->engine, lia_engine_unref);
  g_main_context_unref (plugin->context);
  g_free (plugin);
}

static void
plugin_notify (LiaPlugin *plugin, const LiaHostNotification *notification)
{
  g_return_if_fail (plugin != NULL);
  lia_dispatcher_notify (plugin->dispatcher, notification);
}

static void
plugin_ui_event (LiaPlugin *plugin, const LiaUiEvent *event)
{
  g_return_if_fail (plugin != NULL);
  lia_dispatcher_ui_event (plugin->dispatcher, event);
}

static gboolean
plugin_command (LiaPlugin *plugin, const LiaCommand *command, GError **error)
{
  g_return_val_if_fail (plugin != NULL, FALSE);
  return lia_dispatcher_command (plugin->dispatcher, command, error);
}

static void
plugin_get_status (LiaPlugin *plugin, LiaSyncStatus *out_status)
{
  g_return_if_fail (plugin != NULL);
  lia_engine_get_status (plugin->engine, out_status);
}

static gboolean
setting_key_valid (const char *key, GError **error)
{
  gsize n = key != NULL ? strlen (key) : 0;

  for (gsize i = 0; i < n; i++)
    if (!g_ascii_islower (key[i]) && !g_ascii_isdigit (key[i]) && key[i] != '-' && key[i] != '.')
      n = 0;
  if (n == 0 || n > 64)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "\"%s\" is not a setting name (lower-case letters, digits, '-' and '.')",
                   key != NULL ? key : "");
      return FALSE;
    }
  return TRUE;
}

static char *
plugin_dup_setting (LiaPlugin *plugin, const char *key, GError **error)
{
  LiaCache *cache;
  g_autoptr (GError) local = NULL;
  g_autoptr (LiaEngine) engine = NULL;
  char *value;

  g_return_val_if_fail (plugin != NULL, NULL);
  if (!setting_key_valid (key, error))
    return NULL;
  engine = lia_plugin_ref_engine (plugin, error);
  if (engine == NULL)
    return NULL;
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the sync cache is not open yet");
      return NULL;
    }
  value = lia_cache_dup_setting (cache, key, &local);
  if (value == NULL && local != NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  /* R-SET-PRIMARY is the org's to say: a designation still waiting for the
   * next cycle reads "on", else the role the last cycle read. */
  if (value == NULL && g_str_equal (key, LIA_SETTING_PRIMARY_CLIENT))
    {
      LiaClientRole role;

      lia_engine_get_client (engine, &role, NULL);
      value = g_strdup (role == LIA_CLIENT_PRIMARY ? "on" : "off");
    }
  return value;
}

/* R-SET-PRIMARY: "on" is kept in the cache until the next cycle, started
 * now, tells the org; "off" (or the default) withdraws a designation not
 * yet told. There is always exactly one primary client, so the primary
 * cannot turn itself off: another client is designated instead. */
static gboolean
set_primary_client (LiaPlugin *plugin, LiaEngine *engine, LiaCache *cache, const char *value, GError **error)
{
  LiaClientRole role;

  lia_engine_get_client (engine, &role, NULL);
  if (role == LIA_CLIENT_DELEGATE)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "A delegate never synchronizes the mailbox it works on; its owner's client does");
      return FALSE;
    }
  if (g_strcmp0 (value, "off") == 0 && role == LIA_CLIENT_PRIMARY)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED,
                   "This client is your synchronizing client, and one client always is: make another "
                   "client the synchronizing client instead");
      return FALSE;
    }
  if (!lia_cache_set_setting (cache, LIA_SETTING_PRIMARY_CLIENT, g_strcmp0 (value, "on") == 0 ? "on" : NULL,
                              error))
    return FALSE;
  if (g_strcmp0 (value, "on") == 0 && role != LIA_CLIENT_PRIMARY)
    lia_plugin_request_sync (plugin);
  return TRUE;
}

/* R-SET-INTERVAL on the scheduler, whose timers live on the main context. */
typedef struct
{
  gint automatic; /* -1: unchanged */
  gboolean set_interval;
  guint interval_s;
} Schedule;

static void
apply_schedule_home (LiaPlugin *plugin, gpointer data)
{
  const Schedule *schedule = data;

  if (schedule->automatic >= 0)
    lia_scheduler_set_automatic (plugin->scheduler, schedule->automatic != 0);
  if (schedule->set_interval)
    lia_scheduler_set_interval_s (plugin->scheduler, schedule->interval_s);
}

/* The settings a user changes (SPEC section 9). The cache holds the
 * engine's own state under other keys (tracked folders, tracking tokens,
 * the role last read, watermarks): those are written by the engine alone,
 * never through set_setting. */
static gboolean
user_setting_check (const char *key, const char *value, GError **error)
{
  static const char *const keys[] = {
    LIA_SETTING_SYNC_AUTOMATIC, LIA_SETTING_SYNC_INTERVAL,  LIA_SETTING_UPDATE_COMPANY,
    LIA_SETTING_ITEM_TYPES,     LIA_SETTING_PRIMARY_CLIENT, LIA_ENGINE_SETTING_AUTO_TRACK,
    LIA_ENGINE_SETTING_TAGGING,
  };
  gboolean known = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (keys) && !known; i++)
    known = g_str_equal (key, keys[i]);
  if (!known)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "\"%s\" is not a setting you can change", key);
      return FALSE;
    }
  if (value == NULL)
    return TRUE;
  /* R-SET-AUTOTRACK */
  if (g_str_equal (key, LIA_ENGINE_SETTING_AUTO_TRACK)
      && !lia_mail_auto_track_from_string (value, NULL, error))
    return FALSE;
  /* R-SET-TAGGING */
  if (g_str_equal (key, LIA_ENGINE_SETTING_TAGGING) && !g_str_equal (value, "on")
      && !g_str_equal (value, "off"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "email tagging is \"on\" or \"off\", not \"%s\"",
                   value);
      return FALSE;
    }
  return TRUE;
}

static gboolean
plugin_set_setting (LiaPlugin *plugin, const char *key, const char *value, GError **error)
{
  LiaCache *cache;
  g_autoptr (LiaEngine) engine = NULL;
  gint automatic = -1;
  guint interval_s = 0;
  guint types = 0;

  g_return_val_if_fail (plugin != NULL, FALSE);
  if (!setting_key_valid (key, error) || !user_setting_check (key, value, error))
    return FALSE;
  if (value != NULL && !lia_engine_parse_schedule (key, value, &automatic, &interval_s, error))
    return FALSE;
  if (value != NULL && g_str_equal (key, LIA_SETTING_UPDATE_COMPANY) && !g_str_equal (value, "on")
      && !g_str_equal (value, "off"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "updating the Company field is \"on\" or \"off\", not \"%s\"", value);
      return FALSE;
    }
  /* R-SET-ITEMTYPES: stored as given once it parses; the next cycle's
   * download reads it. */
  if (value != NULL && g_str_equal (key, LIA_SETTING_ITEM_TYPES)
      && !lia_engine_parse_item_types (value, &types, error))
    return FALSE;
  if (value != NULL && g_str_equal (key, LIA_SETTING_PRIMARY_CLIENT) && !g_str_equal (value, "on")
      && !g_str_equal (value, "off"))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "the synchronizing client setting is \"on\" or \"off\", not \"%s\"", value);
      return FALSE;
    }
  engine = lia_plugin_ref_engine (plugin, error);
  if (engine == NULL)
    return FALSE;
  cache = lia_engine_get_cache (engine);
  if (cache == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "the sync cache is not open yet");
      return FALSE;
    }
  if (g_str_equal (key, LIA_SETTING_PRIMARY_CLIENT))
    return set_primary_client (plugin, engine, cache, value, error);
  if (!lia_cache_set_setting (cache, key, value, error))
    return FALSE;
  /* R-SET-INTERVAL applies at once: the timer is armed or removed now
   * (from the main context when called from another thread). */
  if (g_str_equal (key, LIA_SETTING_SYNC_AUTOMATIC) || g_str_equal (key, LIA_SETTING_SYNC_INTERVAL))
    {
      Schedule *schedule = g_new0 (Schedule, 1);

      schedule->automatic = -1;
      if (g_str_equal (key, LIA_SETTING_SYNC_AUTOMATIC))
        schedule->automatic = value == NULL ? 1 : automatic;
      else
        {
          schedule->set_interval = TRUE;
          schedule->interval_s = interval_s;
        }
      lia_engine_set_schedule (engine, schedule->automatic, schedule->interval_s);
      lia_plugin_run_home (plugin, apply_schedule_home, schedule, g_free);
    }
  return TRUE;
}

static LiaClientRole
plugin_get_client_role (LiaPlugin *plugin, char **out_primary_name)
{
  g_autoptr (LiaEngine) engine = lia_plugin_ref_engine (plugin, NULL);
  LiaClientRole role = LIA_CLIENT_N;

  if (out_primary_name != NULL)
    *out_primary_name = NULL;
  if (engine != NULL)
    lia_engine_get_client (engine, &role, out_primary_name);
  return role;
}

static const LiaPluginFuncs funcs = {
  .abi_version = LIA_PLUGIN_ABI_VERSION,
  .load = plugin_load,
  .unload = plugin_unload,
  .notify = plugin_notify,
  .ui_event = plugin_ui_event,
  .command = plugin_command,
  .get_status = plugin_get_status,
  LIA_PLUGIN_ADMIN_FUNCS,
  LIA_PLUGIN_MAIL_FUNCS,
  .dup_setting = plugin_dup_setting,
  .set_setting = plugin_set_setting,
  .get_client_role = plugin_get_client_role,
};

const LiaPluginFuncs *
lia_plugin_internal_funcs (void)
{
  return &funcs;
}

LiaEngine *
lia_plugin_get_engine (LiaPlugin *plugin)
{
  return plugin->engine;
}

LiaScheduler *
lia_plugin_get_scheduler (LiaPlugin *plugin)
{
  return plugin->scheduler;
}

/* The one exported symbol (LIA_PLUGIN_QUERY_SYMBOL). */
G_MODULE_EXPORT const LiaPluginFuncs *lia_plugin_query (void);

/* The module registers a static GType (the embedded connector's
 * LiaCrmEmbedded), which cannot be unregistered: once queried, the module
 * stays loaded for the life of the process, so that a host that closes
 * and opens it again finds the type's code where the type system left it. */
static void
make_resident (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_autofree char *path = NULL;
      GModule *self = NULL;
      Dl_info info;

      if (dladdr ((const void *) lia_plugin_query, &info) != 0 && info.dli_fname != NULL)
        path = g_strdup (info.dli_fname);
      if (path != NULL)
        self = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
      if (self != NULL)
        g_module_make_resident (self);
      else
        g_warning ("liaison-plugin: cannot keep the module loaded: %s", g_module_error ());
      g_once_init_leave (&done, 1);
    }
}

G_MODULE_EXPORT const LiaPluginFuncs *
lia_plugin_query (void)
{
  make_resident ();
  return &funcs;
}
