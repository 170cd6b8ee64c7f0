/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The commands of `liaison`; each takes the arguments after its name and
 * returns the exit status: 0 done, 1 failed, 2 bad usage. */
int lia_cmd_setup (int argc, char **argv);
int lia_cmd_sync (int argc, char **argv);
int lia_cmd_status (int argc, char **argv);
int lia_cmd_track (int argc, char **argv);
int lia_cmd_untrack (int argc, char **argv);
int lia_cmd_regarding (int argc, char **argv);
int lia_cmd_outbox (int argc, char **argv);
int lia_cmd_doctor (int argc, char **argv);

G_END_DECLS
