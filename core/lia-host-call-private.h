/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Host calls from the engine's worker. DESIGN.md: the engine never calls a
 * host from a worker thread. Each function here posts the call to the
 * host's main context, where it is started and completed by the adapter,
 * and blocks the worker (never the host) until the result is back or
 * @cancellable fires. */

typedef struct
{
  const LiaHostVTable *vtable; /* borrowed: outlives the engine */
  gpointer host;               /* borrowed */
  GMainContext *context;       /* owned: the host's main context */
} LiaHostLink;

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
