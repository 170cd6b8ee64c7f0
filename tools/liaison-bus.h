/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "liaison-profile.h"

G_BEGIN_DECLS

/* The `liaison` command as a client of a running engine: when the session
 * bus name org.gnome.Liaison has an owner (Evolution's module, or `liaison
 * serve`), the commands ask it over D-Bus instead of starting a second
 * engine (one engine per profile); otherwise they run the engine
 * themselves under the profile's file lock. Each lia_bus_cmd_* prints
 * like its local twin and returns the exit status. */

/* (transfer full) the session bus when the engine's name has an owner;
 * NULL otherwise (no bus, or no engine on it). */
GDBusConnection *lia_bus_connect_engine (void);

int lia_bus_cmd_sync (GDBusConnection *bus);
/* Prints the "engine:" lines of `liaison status` from the running engine. */
gboolean lia_bus_print_engine (GDBusConnection *bus);
/* @kind: "track", "untrack", "regarding". */
int lia_bus_cmd_link (GDBusConnection *bus, const char *kind, const char *item_kind, const char *uid,
                      const char *item_id, gboolean delete_in_crm, const char *regarding_id,
                      const char *regarding_name);
/* @id 0 lists; otherwise retries (@retry) or drops change @id. */
int lia_bus_cmd_outbox (GDBusConnection *bus, gboolean retry, gint64 id);

/* `liaison serve`: runs the engine of @profile under its lock and exports
 * the D-Bus interface until SIGINT or SIGTERM. */
int lia_bus_serve (const LiaProfile *profile);

G_END_DECLS
