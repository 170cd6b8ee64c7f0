/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* module-liaison.so: Liaison inside Evolution. An EShell extension owns the
 * one engine per profile (LiaEvoEngine, lia-evo-engine.c); the UI hooks of
 * ui-hooks/evolution/ register their own extensions when they are built
 * in. Evolution calls e_module_load, e_module_unload and e_module_load
 * again before its main loop: registering dynamic types is idempotent
 * across those calls, and unload leaves the engine alone (it belongs to
 * the shell, which outlives the module's unload). */
#include "config.h"

#include <libebackend/libebackend.h>
#include <shell/e-shell.h>

#include "lia-evo-engine-private.h"
#ifdef LIA_HAVE_UI_HOOKS
#include "lia-ui-evo.h"
#endif

#define LIA_EVO_TYPE_SHELL_EXTENSION (lia_evo_shell_extension_get_type ())

typedef struct
{
  EExtension parent;
} LiaEvoShellExtension;

typedef struct
{
  EExtensionClass parent_class;
} LiaEvoShellExtensionClass;

GType lia_evo_shell_extension_get_type (void);
G_DEFINE_DYNAMIC_TYPE (LiaEvoShellExtension, lia_evo_shell_extension, E_TYPE_EXTENSION)

static void
on_prepare_for_quit (EShell *shell, EActivity *activity, gpointer user_data)
{
  LiaEvoEngine *engine = lia_evo_engine_get_default ();

  /* Evolution may exit without finalizing the shell: stop now, so the
   * queue, the bus name and the lock are released in order. */
  if (engine != NULL)
    lia_evo_engine_stop (engine);
}

static void
lia_evo_shell_extension_constructed (GObject *object)
{
  EShell *shell = E_SHELL (e_extension_get_extensible (E_EXTENSION (object)));

  G_OBJECT_CLASS (lia_evo_shell_extension_parent_class)->constructed (object);
  lia_evo_engine_start (shell);
  g_signal_connect (shell, "prepare-for-quit", G_CALLBACK (on_prepare_for_quit), NULL);
}

static void
lia_evo_shell_extension_class_init (LiaEvoShellExtensionClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = lia_evo_shell_extension_constructed;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL;
}

static void
lia_evo_shell_extension_class_finalize (LiaEvoShellExtensionClass *klass)
{
}

static void
lia_evo_shell_extension_init (LiaEvoShellExtension *self)
{
}

G_MODULE_EXPORT void e_module_load (GTypeModule *type_module);
G_MODULE_EXPORT void e_module_unload (GTypeModule *type_module);

G_MODULE_EXPORT void
e_module_load (GTypeModule *type_module)
{
  g_debug ("e_module_load");
  lia_evo_engine_type_register (type_module);
  lia_evo_shell_extension_register_type (type_module);
#ifdef LIA_HAVE_UI_HOOKS
  lia_ui_evo_register_types (type_module);
#endif
}

G_MODULE_EXPORT void
e_module_unload (GTypeModule *type_module)
{
  /* The engine belongs to the shell, not to this load of the module. */
  g_debug ("e_module_unload");
}
