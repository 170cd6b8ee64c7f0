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

G_END_DECLS
