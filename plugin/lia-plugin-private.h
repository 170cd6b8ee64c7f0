/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-dispatcher.h"
#include "lia-scheduler.h"

G_BEGIN_DECLS

/* The plugin instance behind the entry points, for tests that link the
 * plugin's code directly instead of loading the module. */
const LiaPluginFuncs *lia_plugin_internal_funcs (void);
LiaEngine *lia_plugin_get_engine (LiaPlugin *plugin);
LiaScheduler *lia_plugin_get_scheduler (LiaPlugin *plugin);

/* For the entry points a host may call from any thread (lia-plugin.h,
 * "Threads"): a reference to the engine of @plugin while it is loaded;
 * %NULL with %LIA_ERROR_UNAVAILABLE once unload began. The reference keeps
 * the engine and its cache alive past an unload that runs meanwhile. */
LiaEngine *lia_plugin_ref_engine (LiaPlugin *plugin, GError **error);
/* Runs @func on the thread that loaded @plugin (its main context): at once
 * when called there, else from an idle of that context, and only while
 * @plugin is still loaded. @free_data runs in either case. */
typedef void (*LiaPluginHomeFunc) (LiaPlugin *plugin, gpointer data);
void lia_plugin_run_home (LiaPlugin *plugin, LiaPluginHomeFunc func, gpointer data, GDestroyNotify free_data);
/* lia_engine_request_sync() from any thread (a cycle starts on the main
 * context). */
void lia_plugin_request_sync (LiaPlugin *plugin);

G_END_DECLS
