/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-ui-evo-private.h"

void
lia_ui_comp_editor_register (GTypeModule *module)
{
}
