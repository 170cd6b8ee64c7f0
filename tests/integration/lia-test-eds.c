/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lia-test-eds.h"

#include <glib/gstdio.h>

gboolean
lia_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          lia_test_remove_tree (child);
        else
          g_unlink (child);
      }
  return g_rmdir (path) == 0;
}

void
lia_test_use_memory_settings (gboolean overwrite)
{
  const char *data_dirs = g_getenv ("XDG_DATA_DIRS");
  g_auto (GStrv) dirs = g_strsplit (
      data_dirs != NULL && *data_dirs != '\0' ? data_dirs : "/usr/local/share:/usr/share", ":", -1);

  for (const char *const *d = (const char *const *) dirs; *d != NULL; d++)
    {
      g_autofree char *dir = g_build_filename (*d, "glib-2.0", "schemas", NULL);
      g_autofree char *compiled = g_build_filename (dir, "gschemas.compiled", NULL);

      if (g_file_test (compiled, G_FILE_TEST_EXISTS))
        {
          g_setenv ("GSETTINGS_SCHEMA_DIR", dir, overwrite);
          break;
        }
    }
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
}

gboolean
lia_test_eds_available (void)
{
  g_autofree char *dbus = g_find_program_in_path ("dbus-run-session");

  return dbus != NULL && g_file_test ("/usr/libexec/evolution-source-registry", G_FILE_TEST_IS_EXECUTABLE);
}

int
lia_test_eds_rerun (int argc, char **argv, const char *inner_env, const char *tmp_template, GError **error)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dbus = g_find_program_in_path ("dbus-run-session");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) args = NULL;
  const char *subdirs[] = { "config", "data", "cache", "runtime" };
  const char *vars[] = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR" };
  int status = 0;

  if (dbus == NULL)
    {
      g_set_error_literal (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT, "dbus-run-session is not installed");
      return -1;
    }
  tmp = g_dir_make_tmp (tmp_template, error);
  if (tmp == NULL)
    return -1;
  g_setenv ("HOME", tmp, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (tmp, subdirs[i], NULL);

      g_mkdir (d, 0700);
      g_setenv (vars[i], d, TRUE);
    }
  lia_test_use_memory_settings (FALSE);
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  g_setenv (inner_env, "1", TRUE);
  g_unsetenv ("DISPLAY");
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_strv_builder_add_many (b, dbus, "--", NULL);
  for (int i = 0; i < argc; i++)
    g_strv_builder_add (b, argv[i]);
  args = g_strv_builder_end (b);
  if (!g_spawn_sync (NULL, args, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL, &status, error))
    {
      lia_test_remove_tree (tmp);
      return -1;
    }
  /* The bus is gone; give the factories it activated a moment to notice
   * before their files go. */
  g_usleep (500 * 1000);
  lia_test_remove_tree (tmp);
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}
