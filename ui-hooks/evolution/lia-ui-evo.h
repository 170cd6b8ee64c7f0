/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The UI hooks of Evolution 3.46 (GtkUIManager era): Track in CRM,
 * Untrack, Set Regarding, Synchronize Now on the mail reader, the
 * contacts, calendar and tasks views and the event and task editors; the
 * sync activity, the status window and the preferences page.
 *
 * module-liaison.so calls this once from e_module_load(); it registers
 * the EExtension types with @type_module (idempotent: Evolution loads,
 * unloads and loads the module again). The UI reaches the engine only
 * through lia-evo-module.h. */
void lia_ui_evo_register_types (GTypeModule *type_module);

G_END_DECLS
