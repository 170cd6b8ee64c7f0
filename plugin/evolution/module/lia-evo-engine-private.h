/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <shell/e-shell.h>

#include "lia-evo-module.h"

G_BEGIN_DECLS

/* module-liaison.so's side of LiaEvoEngine (lia-evo-module.h). */

void lia_evo_engine_type_register (GTypeModule *type_module);
/* The engine of @shell's process: creates the default engine and starts
 * it from an idle callback (nothing blocks the shell's start-up). A second
 * call returns the same engine. */
LiaEvoEngine *lia_evo_engine_start (EShell *shell);
/* Unloads the plugin, releases the bus name and the profile's lock. */
void lia_evo_engine_stop (LiaEvoEngine *self);

G_END_DECLS
