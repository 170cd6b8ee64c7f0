/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The administration entry points of liaison-plugin.so (lia-plugin.h,
 * from sync_async on): Synchronize Now with completion, the outbox, an
 * item's mapping, the journal. lia-plugin.c lists them in its table with
 * LIA_PLUGIN_ADMIN_FUNCS. */

void lia_plugin_admin_sync_async (LiaPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean lia_plugin_admin_sync_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error);
GPtrArray *lia_plugin_admin_list_changes (LiaPlugin *plugin, GError **error);
gboolean lia_plugin_admin_retry_change (LiaPlugin *plugin, gint64 id, GError **error);
gboolean lia_plugin_admin_drop_change (LiaPlugin *plugin, gint64 id, GError **error);
LiaCacheMapping *lia_plugin_admin_lookup_item (LiaPlugin *plugin, const char *store, const char *item_id,
                                               GError **error);
GPtrArray *lia_plugin_admin_list_journal (LiaPlugin *plugin, guint limit, GError **error);
void lia_plugin_admin_search_async (LiaPlugin *plugin, const char *text, guint limit,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
GPtrArray *lia_plugin_admin_search_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error);
void lia_plugin_admin_org_info_async (LiaPlugin *plugin, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
GVariant *lia_plugin_admin_org_info_finish (LiaPlugin *plugin, GAsyncResult *result, GError **error);

#define LIA_PLUGIN_ADMIN_FUNCS                                                                        \
  .sync_async = lia_plugin_admin_sync_async, .sync_finish = lia_plugin_admin_sync_finish,             \
  .list_changes = lia_plugin_admin_list_changes, .retry_change = lia_plugin_admin_retry_change,       \
  .drop_change = lia_plugin_admin_drop_change, .lookup_item = lia_plugin_admin_lookup_item,           \
  .list_journal = lia_plugin_admin_list_journal, .search_async = lia_plugin_admin_search_async,       \
  .search_finish = lia_plugin_admin_search_finish, .org_info_async = lia_plugin_admin_org_info_async, \
  .org_info_finish = lia_plugin_admin_org_info_finish

G_END_DECLS
