/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gmodule.h>
#include <liaison/liaison.h>

/* The host side of the plugin ABI: opens liaison-plugin.so and refuses a
 * plugin of another ABI with a message that names both versions, before
 * any of the plugin's code but its query function has run. */

struct _LiaPluginModule
{
  GModule *module;             /* owned */
  const LiaPluginFuncs *funcs; /* borrowed from the module */
};

static const char *const state_names[] = {
  [LIA_SYNC_STATE_STARTING] = "starting",       [LIA_SYNC_STATE_IDLE] = "idle",
  [LIA_SYNC_STATE_SCANNING] = "scanning",       [LIA_SYNC_STATE_UPLOADING] = "uploading",
  [LIA_SYNC_STATE_DOWNLOADING] = "downloading", [LIA_SYNC_STATE_OFFLINE] = "offline",
  [LIA_SYNC_STATE_STOPPED] = "stopped",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == LIA_SYNC_STATE_N);

const char *
lia_sync_state_to_string (LiaSyncState state)
{
  return (guint) state < LIA_SYNC_STATE_N ? state_names[state] : "invalid";
}

void
lia_sync_status_clear (LiaSyncStatus *status)
{
  if (status == NULL)
    return;
  g_clear_pointer (&status->last_error, g_free);
}

LiaPluginModule *
lia_plugin_module_open (const char *path, GError **error)
{
  g_autofree LiaPluginModule *self = NULL;
  LiaPluginQueryFunc query = NULL;
  GModule *module;

  g_return_val_if_fail (path != NULL, NULL);
  /* Local binding: the plugin's symbols must not satisfy the host's. */
  module = g_module_open (path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
  if (module == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "cannot load plugin \"%s\": %s", path,
                   g_module_error ());
      return NULL;
    }
  if (!g_module_symbol (module, LIA_PLUGIN_QUERY_SYMBOL, (gpointer *) &query) || query == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "\"%s\" is not a Liaison plugin: no %s", path,
                   LIA_PLUGIN_QUERY_SYMBOL);
      g_module_close (module);
      return NULL;
    }
  self = g_new0 (LiaPluginModule, 1);
  self->module = module;
  self->funcs = query ();
  if (self->funcs == NULL || self->funcs->abi_version != LIA_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_ABI, "plugin \"%s\" has ABI %u, this host needs ABI %u", path,
                   self->funcs != NULL ? self->funcs->abi_version : 0, (guint) LIA_PLUGIN_ABI_VERSION);
      g_module_close (module);
      return NULL;
    }
  if (self->funcs->load == NULL || self->funcs->unload == NULL || self->funcs->notify == NULL
      || self->funcs->ui_event == NULL || self->funcs->command == NULL || self->funcs->get_status == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "plugin \"%s\" lacks entry points", path);
      g_module_close (module);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const LiaPluginFuncs *
lia_plugin_module_get_funcs (LiaPluginModule *module)
{
  g_return_val_if_fail (module != NULL, NULL);
  return module->funcs;
}

void
lia_plugin_module_close (LiaPluginModule *module)
{
  if (module == NULL)
    return;
  g_module_close (module->module);
  g_free (module);
}
