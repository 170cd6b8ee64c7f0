/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"

G_BEGIN_DECLS

/* The dispatcher: notifications, UI events and commands go through the
 * rules (SPEC sections 1 to 3) to one of: write now, remember until the
 * Inspector closes / the item is saved / the mail is sent, queue for the
 * next cycle, or refuse with the rules' message. Runs on the host's main
 * context and does no I/O there: queue writes go to the cache's writer
 * (lia_cache_enqueue_async()) and link-state writes to the host are async
 * host calls. */

typedef struct _LiaDispatcher LiaDispatcher;

LiaDispatcher *lia_dispatcher_new (LiaEngine *engine, const LiaHostVTable *vtable, gpointer host);
void lia_dispatcher_free (LiaDispatcher *dispatcher);
void lia_dispatcher_notify (LiaDispatcher *dispatcher, const LiaHostNotification *notification);
void lia_dispatcher_ui_event (LiaDispatcher *dispatcher, const LiaUiEvent *event);
gboolean lia_dispatcher_command (LiaDispatcher *dispatcher, const LiaCommand *command, GError **error);
/* Changes handed to the cache whose durability is not yet acknowledged. */
guint lia_dispatcher_get_n_pending (LiaDispatcher *dispatcher);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaDispatcher, lia_dispatcher_free)

G_END_DECLS
