/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The session D-Bus interface of a running engine (org.gnome.Liaison.Engine1,
 * plugin/org.gnome.Liaison.Engine1.xml): exported by module-liaison.so
 * inside Evolution and by `liaison serve`; the `liaison` command is its
 * client. Host-neutral: it drives the plugin only through its entry points
 * (LiaPluginFuncs) and asks the host to resolve item ids. Runs on the
 * thread-default main context of its creator. */

#define LIA_DBUS_NAME "org.gnome.Liaison"
#define LIA_DBUS_PATH "/org/gnome/Liaison/Engine"
#define LIA_DBUS_IFACE "org.gnome.Liaison.Engine1"

/* Fills what a command needs from an item id: its store, folder and
 * entity. FALSE with LIA_ERROR_INVALID for ids the host never made. */
typedef gboolean (*LiaDBusResolveFunc) (gpointer data, const char *item_id, char **out_store,
                                        char **out_folder, LiaEntity *out_entity, GError **error);

typedef struct _LiaDBusService LiaDBusService;

/* Maps LIA_ERROR codes to org.gnome.Liaison.Error.* both ways; the service
 * and its clients call it (idempotent). */
void lia_dbus_register_errors (void);

/* The introspection data of the interface (transfer none). */
GDBusInterfaceInfo *lia_dbus_interface_info (void);

LiaDBusService *lia_dbus_service_new (const LiaPluginFuncs *funcs, LiaDBusResolveFunc resolve,
                                      gpointer resolve_data, const char *org, const char *user);
/* The plugin's entry points, when the service was made before the plugin
 * was loaded (@funcs NULL at creation). */
void lia_dbus_service_set_funcs (LiaDBusService *self, const LiaPluginFuncs *funcs);
/* The plugin instance (borrowed); NULL while starting or after stopping.
 * A failure to start is reported through @error_message. */
void lia_dbus_service_set_plugin (LiaDBusService *self, LiaPlugin *plugin, const char *error_message);
/* Registers the object on @connection and owns LIA_DBUS_NAME (does not
 * queue: a second engine's service gives up the name). */
gboolean lia_dbus_service_export (LiaDBusService *self, GDBusConnection *connection, GError **error);
/* Whether the bus granted the name (FALSE until it answered). */
gboolean lia_dbus_service_owns_name (LiaDBusService *self);
/* Whether the bus gave the name to another process (or never to us). */
gboolean lia_dbus_service_lost_name (LiaDBusService *self);
/* Call from the plugin's status function: emits Progress and
 * StatusChanged. */
void lia_dbus_service_status_changed (LiaDBusService *self, const LiaSyncStatus *status);
/* Unexports, releases the name and fails calls still waiting. */
void lia_dbus_service_free (LiaDBusService *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaDBusService, lia_dbus_service_free)

/* Status dictionary (a{sv}) of @status, for the service and tests. */
GVariant *lia_dbus_status_to_variant (const LiaSyncStatus *status, const char *org, const char *user);

G_END_DECLS
