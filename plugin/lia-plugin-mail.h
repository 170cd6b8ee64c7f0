/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The email entry points of liaison-plugin.so (lia-plugin.h, from
 * track_many on; SPEC section 8): bulk tracking (R-MAIL-BULK) and its
 * per-message result, tracked folders (R-MAIL-FOLDER), the subject of a
 * tracked outgoing message with its token (R-MAIL-CORRELATE-TOKEN), and
 * why a message was tracked. lia-plugin.c lists them in its table with
 * LIA_PLUGIN_MAIL_FUNCS. */

gboolean lia_plugin_mail_track_many (LiaPlugin *plugin, const LiaCommand *command,
                                     const char *const *item_ids, GError **error);
char *lia_plugin_mail_dup_track_result (LiaPlugin *plugin, const char *store, const char *item_id,
                                        GError **error);
gboolean lia_plugin_mail_set_folder_tracked (LiaPlugin *plugin, const char *store, const char *folder,
                                             gboolean tracked, const char *regarding_id,
                                             const char *regarding_name, GError **error);
char *lia_plugin_mail_dup_send_subject (LiaPlugin *plugin, const char *subject);
char *lia_plugin_mail_dup_track_reason (LiaPlugin *plugin, const char *store, const char *item_id,
                                        GError **error);

#define LIA_PLUGIN_MAIL_FUNCS                                                                     \
  .track_many = lia_plugin_mail_track_many, .dup_track_result = lia_plugin_mail_dup_track_result, \
  .set_folder_tracked = lia_plugin_mail_set_folder_tracked,                                       \
  .dup_send_subject = lia_plugin_mail_dup_send_subject, .dup_track_reason = lia_plugin_mail_dup_track_reason

G_END_DECLS
