/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the integration tests and bench/bench-evolution.c share to run
 * against a private evolution-data-server and Camel: each had its own
 * copy. */

/* Removes @path and everything under it; symbolic links are removed, never
 * followed. */
gboolean lia_test_remove_tree (const char *path);

/* GSETTINGS_BACKEND=memory (nothing reaches the user's dconf) and
 * GSETTINGS_SCHEMA_DIR at the first system data dir that has compiled
 * schemas: G_TEST_OPTION_ISOLATE_DIRS hides those dirs, and EDS's client
 * side and Camel still read their schemas. The dirs are read from
 * XDG_DATA_DIRS, not g_get_system_data_dirs(), whose cached list
 * g_test_init() would drop (a leak LeakSanitizer reports). @overwrite:
 * replace a GSETTINGS_SCHEMA_DIR already set. */
void lia_test_use_memory_settings (gboolean overwrite);

/* Whether dbus-run-session and evolution-data-server are installed. */
gboolean lia_test_eds_available (void);

/* Runs @argv again under dbus-run-session with HOME and every XDG dir in a
 * fresh temporary directory (@tmp_template, as for g_dir_make_tmp()),
 * @inner_env set to "1" so that main() knows it is the inner run, no
 * DISPLAY and no outer session bus; memory settings as above. The
 * directory is removed afterwards, once the factories the bus activated
 * had a moment to notice it is gone. Returns the inner run's exit code (0
 * or 1), or -1 with @error when it could not be started. */
int lia_test_eds_rerun (int argc, char **argv, const char *inner_env, const char *tmp_template,
                        GError **error);

G_END_DECLS
