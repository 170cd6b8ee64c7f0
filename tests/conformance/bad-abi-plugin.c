/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gmodule.h>
#include <liaison/liaison.h>

/* A plugin built against another ABI: the loader must refuse it before
 * calling any of its entry points. */

G_MODULE_EXPORT const LiaPluginFuncs *lia_plugin_query (void);

static const LiaPluginFuncs funcs = { .abi_version = 999 };

G_MODULE_EXPORT const LiaPluginFuncs *
lia_plugin_query (void)
{
  return &funcs;
}
