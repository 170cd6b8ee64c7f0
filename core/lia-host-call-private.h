/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Host calls from the engine's worker. DESIGN.md: the engine never calls a
 * host from a worker thread. Each function here posts the call to the
 * host's main context, where it is started and completed by the adapter,
 * and blocks the worker (never the host) until the result is back or
 * @cancellable fires. */

/* The door to the host. Closed when the plugin unloads: from then on no
 * host function is entered through any link holding it, even by a call
 * already posted, and closing waits for a host function running on
 * another thread (a worker that acquired an idle host context). A host may
 * free itself as soon as unload returns. */
typedef struct _LiaHostGate LiaHostGate;

LiaHostGate *lia_host_gate_new (void);
LiaHostGate *lia_host_gate_ref (LiaHostGate *gate);
void lia_host_gate_unref (LiaHostGate *gate);
void lia_host_gate_close (LiaHostGate *gate);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaHostGate, lia_host_gate_unref)

typedef struct
{
  const LiaHostVTable *vtable; /* borrowed: outlives the engine */
  gpointer host;               /* borrowed */
  GMainContext *context;       /* owned: the host's main context */
  LiaHostGate *gate;           /* owned by the link's owner; copies take a reference */
} LiaHostLink;

/* Enters the host through @link: %FALSE when the gate is closed, else the
 * caller may call the host's functions until lia_host_link_leave(). May
 * nest. */
gboolean lia_host_link_enter (const LiaHostLink *link);
void lia_host_link_leave (const LiaHostLink *link);

GPtrArray *lia_host_call_read_contents (const LiaHostLink *link, const char *store, const char *folder,
                                        guint offset, guint limit, GCancellable *cancellable, GError **error);
LiaHostItem *lia_host_call_read_item (const LiaHostLink *link, const char *store, const char *item_id,
                                      GCancellable *cancellable, GError **error);
gboolean lia_host_call_write_item (const LiaHostLink *link, const char *store, const char *item_id,
                                   const LiaItem *fields, const LiaHostProps *props,
                                   GCancellable *cancellable, GError **error);
char *lia_host_call_create_item (const LiaHostLink *link, const char *store, const char *folder,
                                 const LiaItem *item, const LiaHostProps *props, GCancellable *cancellable,
                                 GError **error);
/* @n creates posted in one main-context turn (a host may send them to its
 * store together), then waited for. Returns @n ids, NULL where that create
 * failed with its error in @errors[i] (an array of @n NULL-initialised
 * GError pointers). */
char **lia_host_call_create_items (const LiaHostLink *link, const char *store, const char *folder, guint n,
                                   LiaItem *const *items, LiaHostProps *const *props,
                                   GCancellable *cancellable, GError **errors);

/* The same in two steps, so a worker can do other work while the host
 * creates: _start() posts them; _finish() waits for all (as above) and
 * frees @creates; lia_host_creates_free() gives up waiting (the host still
 * completes them). */
typedef struct _LiaHostCreates LiaHostCreates;
LiaHostCreates *lia_host_call_create_items_start (const LiaHostLink *link, const char *store,
                                                  const char *folder, guint n, LiaItem *const *items,
                                                  LiaHostProps *const *props, GCancellable *cancellable);
char **lia_host_call_create_items_finish (LiaHostCreates *creates, GError **errors);
void lia_host_creates_free (LiaHostCreates *creates);
gboolean lia_host_call_delete_item (const LiaHostLink *link, const char *store, const char *item_id,
                                    GCancellable *cancellable, GError **error);

G_END_DECLS
