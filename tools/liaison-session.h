/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"
#include "lia-evo-host.h"
#include "liaison-profile.h"

G_BEGIN_DECLS

/* The engine of one profile run by the `liaison` command itself, over the
 * Evolution host adapter in the user's session bus. Holds the profile's
 * engine lock from open to free. Everything runs on the thread-default
 * main context of the caller, which the session iterates while it waits.
 *
 * When Evolution's module (or `liaison serve`) runs the engine, the
 * commands ask it over D-Bus instead (liaison-bus.h). */
typedef struct _LiaSession LiaSession;

LiaSession *lia_session_open (const LiaProfile *profile, const char *what, gboolean progress, GError **error);
void lia_session_free (LiaSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaSession, lia_session_free)

LiaEngine *lia_session_get_engine (LiaSession *session);
/* The plugin instance (of lia_plugin_internal_funcs()). */
LiaPlugin *lia_session_get_plugin (LiaSession *session);
/* Also tells @func of every status change (NULL to stop). */
void lia_session_set_status_func (LiaSession *session, LiaSyncStatusFunc func, gpointer data);
LiaEvoHost *lia_session_get_host (LiaSession *session);
/* One cycle (Synchronize Now), waiting for it. */
gboolean lia_session_sync (LiaSession *session, GError **error);
/* A track/untrack/regarding command; waits until the change is queued. */
gboolean lia_session_command (LiaSession *session, const LiaCommand *command, GError **error);
/* Runs @func (@data) on a worker while the main context turns. */
gpointer lia_session_run_in_thread (LiaSession *session, GThreadFunc func, gpointer data);

G_END_DECLS
