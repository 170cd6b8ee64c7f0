/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lia-dbus-service.h"

#include <unistd.h>

#include "lia-dbus-resources.h"

/* org.gnome.Liaison.Engine1 over the plugin's entry points. Long calls
 * (SyncNow, and Track/Untrack/SetRegarding which end with a cycle) keep
 * their invocation in a Call until the engine answers; the service fails
 * those still waiting when it goes. */

struct _LiaDBusService
{
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin; /* borrowed, nullable */
  char *start_error; /* why the engine is not running, nullable */
  LiaDBusResolveFunc resolve;
  gpointer resolve_data;
  char *org;
  char *user;
  GDBusConnection *connection;
  guint registration_id;
  guint owner_id;
  gboolean owns_name;
  gboolean lost_name;
  GList *calls;       /* of Call, waiting for the engine */
  GPtrArray *waiting; /* of GDBusMethodInvocation, waiting for the start */
  LiaSyncState last_state;
  guint last_progress;
};

typedef enum
{
  CALL_SYNC,
  CALL_LINK,
} CallKind;

typedef struct
{
  LiaDBusService *self; /* NULL once the service is gone */
  GDBusMethodInvocation *invocation;
  CallKind kind;
  char *item_id;
  gint64 journal_before;
  guint64 queued_before;
  gint64 deadline;
  guint timeout_id;
  gboolean track;  /* a Track */
  gboolean queued; /* its change was seen in the queue */
} Call;

static const struct
{
  LiaErrorCode code;
  const char *name;
} error_names[] = {
  { LIA_ERROR_FAILED, "org.gnome.Liaison.Error.Failed" },
  { LIA_ERROR_INVALID, "org.gnome.Liaison.Error.Invalid" },
  { LIA_ERROR_STORE, "org.gnome.Liaison.Error.Store" },
  { LIA_ERROR_PROTOCOL, "org.gnome.Liaison.Error.Protocol" },
  { LIA_ERROR_NOT_FOUND, "org.gnome.Liaison.Error.NotFound" },
  { LIA_ERROR_CONFLICT, "org.gnome.Liaison.Error.Conflict" },
  { LIA_ERROR_AUTH, "org.gnome.Liaison.Error.Auth" },
  { LIA_ERROR_FORBIDDEN, "org.gnome.Liaison.Error.Forbidden" },
  { LIA_ERROR_UNAVAILABLE, "org.gnome.Liaison.Error.Unavailable" },
  { LIA_ERROR_REFUSED, "org.gnome.Liaison.Error.Refused" },
  { LIA_ERROR_ABI, "org.gnome.Liaison.Error.Abi" },
};

void
lia_dbus_register_errors (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (guint i = 0; i < G_N_ELEMENTS (error_names); i++)
        g_dbus_error_register_error (LIA_ERROR, error_names[i].code, error_names[i].name);
      g_once_init_leave (&done, 1);
    }
}

GDBusInterfaceInfo *
lia_dbus_interface_info (void)
{
  static GDBusInterfaceInfo *info = NULL;

  if (g_once_init_enter (&info))
    {
      g_autoptr (GBytes) xml = g_resource_lookup_data (lia_dbus_get_resource (),
                                                       "/org/gnome/Liaison/org.gnome.Liaison.Engine1.xml",
                                                       G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_autoptr (GDBusNodeInfo) node = NULL;
      GDBusInterfaceInfo *iface = NULL;

      /* The XML is built in: it parses, or the build is broken. */
      if (xml != NULL)
        node = g_dbus_node_info_new_for_xml (g_bytes_get_data (xml, NULL), NULL);
      if (node != NULL)
        iface = g_dbus_node_info_lookup_interface (node, LIA_DBUS_IFACE);
      g_once_init_leave (&info, g_dbus_interface_info_ref (iface));
    }
  return info;
}

GVariant *
lia_dbus_status_to_variant (const LiaSyncStatus *status, const char *org, const char *user)
{
  g_auto (GVariantDict) d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "state", "s", lia_sync_state_to_string (status->state));
  g_variant_dict_insert (&d, "online", "b", status->online);
  g_variant_dict_insert (&d, "queued", "t", status->queued);
  g_variant_dict_insert (&d, "failed", "t", status->failed);
  g_variant_dict_insert (&d, "cycles", "u", status->cycles);
  g_variant_dict_insert (&d, "last-sync", "x", status->last_sync_at);
  g_variant_dict_insert (&d, "progress", "u", status->progress_done);
  if (status->last_error != NULL)
    g_variant_dict_insert (&d, "last-error", "s", status->last_error);
  if (org != NULL)
    g_variant_dict_insert (&d, "org", "s", org);
  if (user != NULL)
    g_variant_dict_insert (&d, "user", "s", user);
  g_variant_dict_insert (&d, "pid", "i", (gint32) getpid ());
  return g_variant_dict_end (&d);
}

static void
current_status (LiaDBusService *self, LiaSyncStatus *out)
{
  if (self->plugin != NULL && self->funcs != NULL)
    {
      self->funcs->get_status (self->plugin, out);
      return;
    }
  memset (out, 0, sizeof *out);
  out->abi_version = LIA_PLUGIN_ABI_VERSION;
  out->state = self->start_error != NULL ? LIA_SYNC_STATE_STOPPED : LIA_SYNC_STATE_STARTING;
  out->last_error = g_strdup (self->start_error);
}

static GVariant *
status_variant (LiaDBusService *self)
{
  g_auto (LiaSyncStatus) status = { 0 };

  current_status (self, &status);
  return lia_dbus_status_to_variant (&status, self->org, self->user);
}

static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  lia_dbus_register_errors ();
  g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
return_new_error (GDBusMethodInvocation *invocation, LiaErrorCode code, const char *message)
{
  g_autoptr (GError) error = g_error_new_literal (LIA_ERROR, code, message);

  return_error (invocation, error);
}

static gboolean
need_plugin (LiaDBusService *self, GDBusMethodInvocation *invocation)
{
  g_autofree char *message = NULL;

  if (self->plugin != NULL && self->funcs != NULL)
    return TRUE;
  message = self->start_error != NULL
                ? g_strdup_printf ("the sync engine did not start: %s", self->start_error)
                : g_strdup ("the sync engine is still starting; try again in a moment");
  return_new_error (invocation, LIA_ERROR_UNAVAILABLE, message);
  return FALSE;
}

static void
call_free (Call *call)
{
  if (call->timeout_id != 0)
    g_source_remove (call->timeout_id);
  g_clear_object (&call->invocation);
  g_free (call->item_id);
  g_free (call);
}

/* Removes @call from its service; FALSE when the service is gone (the
 * invocation was answered then). */
static gboolean
call_detach (Call *call)
{
  if (call->self == NULL)
    return FALSE;
  call->self->calls = g_list_remove (call->self->calls, call);
  return TRUE;
}

static Call *
call_new (LiaDBusService *self, GDBusMethodInvocation *invocation, CallKind kind, const char *item_id)
{
  Call *call = g_new0 (Call, 1);

  call->self = self;
  call->invocation = g_object_ref (invocation);
  call->kind = kind;
  call->item_id = g_strdup (item_id);
  self->calls = g_list_prepend (self->calls, call);
  return call;
}

/* ---- journal: what moved where ---- */

static gint64
journal_last_id (LiaDBusService *self)
{
  g_autoptr (GPtrArray) entries = self->funcs->list_journal (self->plugin, 1, NULL);

  if (entries == NULL)
    return -1;
  return entries->len > 0 ? ((LiaCacheJournalEntry *) g_ptr_array_index (entries, 0))->id : 0;
}

static GVariant *
moves_since (LiaDBusService *self, gint64 after_id)
{
  g_autoptr (GPtrArray) entries = self->funcs->list_journal (self->plugin, 200, NULL);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("as"));
  if (entries != NULL && after_id < 0)
    {
      /* The cache opened during this cycle: report only that cycle, which
       * ends at the newest "cycle" entry; the one before ends the
       * previous run. */
      after_id = 0;
      for (guint i = 1; i < entries->len; i++)
        {
          LiaCacheJournalEntry *e = g_ptr_array_index (entries, i);

          if (g_str_equal (e->kind, "cycle"))
            {
              after_id = e->id;
              break;
            }
        }
    }
  /* Newest first in the journal: oldest first in the answer. */
  for (guint i = entries != NULL ? entries->len : 0; i > 0; i--)
    {
      LiaCacheJournalEntry *e = g_ptr_array_index (entries, i - 1);
      g_autofree char *line = NULL;

      if (e->id <= after_id)
        continue;
      if (g_str_equal (e->kind, "cycle"))
        line = g_strdup (e->message);
      else
        line = g_strdup_printf ("%-10s %s%s%s <-> CRM %s: %s", e->kind, e->item_id != NULL ? "\"" : "",
                                e->item_id != NULL ? e->item_id : "-", e->item_id != NULL ? "\"" : "",
                                e->crm_id != NULL ? e->crm_id : "-", e->message);
      g_variant_builder_add (&b, "s", line);
    }
  return g_variant_builder_end (&b);
}

/* ---- items ---- */

static GVariant *
item_variant (LiaDBusService *self, const char *item_id, GError **error)
{
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (GVariantDict) d;
  LiaEntity entity;

  if (!self->resolve (self->resolve_data, item_id, &store, &folder, &entity, error))
    return NULL;
  m = self->funcs->lookup_item (self->plugin, store, item_id, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "item-id", "s", item_id);
  g_variant_dict_insert (&d, "state", "s",
                         lia_link_state_to_string (m != NULL ? m->state : LIA_LINK_STATE_NONE));
  g_variant_dict_insert (&d, "entity", "s", lia_entity_to_string (m != NULL ? m->entity : entity));
  if (m != NULL && m->crm_id != NULL)
    g_variant_dict_insert (&d, "crm-id", "s", m->crm_id);
  return g_variant_dict_end (&d);
}

static guint64
queue_length (LiaDBusService *self)
{
  g_autoptr (GPtrArray) changes = self->funcs->list_changes (self->plugin, NULL);

  return changes != NULL ? changes->len : 0;
}

/* A Track whose change was queued and taken by the cycle, and that left
 * the item unlinked: the engine drops the change of an item the host
 * cannot find, so without this the caller heard "state none" and nothing
 * else. A change still in the outbox (offline, retrying) is no failure. */
static gboolean
track_dropped (LiaDBusService *self, Call *call, GVariant *item)
{
  const char *state = NULL;
  g_autoptr (GPtrArray) changes = NULL;

  if (!call->track || !call->queued || !g_variant_lookup (item, "state", "&s", &state)
      || g_strcmp0 (state, lia_link_state_to_string (LIA_LINK_STATE_NONE)) != 0)
    return FALSE;
  changes = self->funcs->list_changes (self->plugin, NULL);
  if (changes == NULL)
    return FALSE;
  for (guint i = 0; i < changes->len; i++)
    if (g_strcmp0 (((LiaCacheChange *) g_ptr_array_index (changes, i))->item_id, call->item_id) == 0)
      return FALSE;
  return TRUE;
}

/* ---- SyncNow ---- */

static void
sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  LiaDBusService *self = call->self;
  g_autoptr (GError) error = NULL;

  if (!call_detach (call))
    {
      call_free (call);
      return;
    }
  if (self->plugin == NULL)
    return_new_error (call->invocation, LIA_ERROR_UNAVAILABLE, "the sync engine stopped");
  else if (!self->funcs->sync_finish (self->plugin, result, &error))
    return_error (call->invocation, error);
  else if (call->kind == CALL_SYNC)
    {
      GVariant *status = status_variant (self);
      GVariant *moves = moves_since (self, call->journal_before);

      g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv}@as)", status, moves));
    }
  else
    {
      GVariant *item = item_variant (self, call->item_id, &error);

      if (item == NULL)
        return_error (call->invocation, error);
      else if (track_dropped (self, call, item))
        {
          g_autofree char *message = g_strdup_printf (
              "\"%s\" was not tracked: the engine found no such item (deleted, or not yet known to the host)",
              call->item_id);

          g_variant_unref (g_variant_ref_sink (item));
          return_new_error (call->invocation, LIA_ERROR_NOT_FOUND, message);
        }
      else
        g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv})", item));
    }
  call_free (call);
}

static void
start_cycle (Call *call)
{
  LiaDBusService *self = call->self;

  call->self->calls = g_list_prepend (self->calls, call);
  self->funcs->sync_async (self->plugin, NULL, sync_done, call);
}

static void
handle_sync_now (LiaDBusService *self, GDBusMethodInvocation *invocation)
{
  Call *call;

  if (!need_plugin (self, invocation))
    return;
  call = call_new (self, invocation, CALL_SYNC, NULL);
  call->journal_before = journal_last_id (self);
  self->calls = g_list_remove (self->calls, call);
  start_cycle (call);
}

/* ---- Track, Untrack, SetRegarding ---- */

/* The dispatcher queues a change through the cache writer: wait until it
 * shows (or a cycle the command started took it), then run the cycle
 * that sends it. */
static gboolean
queued_or_late (gpointer user_data)
{
  Call *call = user_data;
  LiaDBusService *self = call->self;

  if (queue_length (self) <= call->queued_before && g_get_monotonic_time () < call->deadline)
    return G_SOURCE_CONTINUE;
  call->timeout_id = 0;
  call->queued = queue_length (self) > call->queued_before;
  self->calls = g_list_remove (self->calls, call);
  start_cycle (call);
  return G_SOURCE_REMOVE;
}

static gboolean
give_command (LiaDBusService *self, LiaCommandKind kind, const char *item_id, gboolean delete_in_crm,
              const char *regarding_id, const char *regarding_name, GError **error)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;
  g_autoptr (GError) local = NULL;
  LiaEntity entity;

  if (!self->resolve (self->resolve_data, item_id, &store, &folder, &entity, error))
    return FALSE;
  m = self->funcs->lookup_item (self->plugin, store, item_id, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (kind == LIA_COMMAND_UNTRACK && m == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "\"%s\" is not tracked", item_id);
      return FALSE;
    }
  cmd.store = store;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = m != NULL ? m->entity : entity;
  cmd.link_state = m != NULL ? m->state : LIA_LINK_STATE_NONE;
  cmd.delete_in_crm = delete_in_crm;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = regarding_name;
  return self->funcs->command (self->plugin, &cmd, error);
}

typedef struct
{
  Call *call;
  LiaCommandKind kind;
  gboolean delete_in_crm;
  char *regarding_id;
  char *regarding_name;
} LinkCall;

static void link_after_first_cycle (GObject *source, GAsyncResult *result, gpointer user_data);

static void
link_go (LinkCall *lc)
{
  Call *call = lc->call;
  LiaDBusService *self = call->self;
  g_autoptr (GError) error = NULL;

  call->queued_before = queue_length (self);
  if (!give_command (self, lc->kind, call->item_id, lc->delete_in_crm, lc->regarding_id, lc->regarding_name,
                     &error))
    {
      return_error (call->invocation, error);
      call_free (call);
      return;
    }
  call->deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  call->track = lc->kind == LIA_COMMAND_TRACK;
  self->calls = g_list_prepend (self->calls, call);
  call->timeout_id = g_timeout_add (10, queued_or_late, call);
}

static void
link_call_free (LinkCall *lc)
{
  g_free (lc->regarding_id);
  g_free (lc->regarding_name);
  g_free (lc);
}

static void
link_after_first_cycle (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LinkCall *lc = user_data;
  Call *call = lc->call;
  g_autoptr (GError) error = NULL;

  if (!call_detach (call))
    call_free (call);
  else if (call->self->plugin == NULL)
    {
      return_new_error (call->invocation, LIA_ERROR_UNAVAILABLE, "the sync engine stopped");
      call_free (call);
    }
  else if (!call->self->funcs->sync_finish (call->self->plugin, result, &error))
    {
      return_error (call->invocation, error);
      call_free (call);
    }
  else
    link_go (lc);
  link_call_free (lc);
}

static void
handle_link (LiaDBusService *self, GDBusMethodInvocation *invocation, LiaCommandKind kind,
             const char *item_id, gboolean delete_in_crm, const char *regarding_id,
             const char *regarding_name)
{
  LinkCall *lc;
  g_autoptr (GError) probe = NULL;
  g_autoptr (LiaCacheMapping) m = NULL;

  if (!need_plugin (self, invocation))
    return;
  lc = g_new0 (LinkCall, 1);
  lc->call = call_new (self, invocation, CALL_LINK, item_id);
  self->calls = g_list_remove (self->calls, lc->call);
  lc->kind = kind;
  lc->delete_in_crm = delete_in_crm;
  lc->regarding_id = g_strdup (regarding_id);
  lc->regarding_name = g_strdup (regarding_name);
  /* The dispatcher queues into the cache, which the first cycle opens and
   * where it learns the org's filters. */
  m = self->funcs->lookup_item (self->plugin, LIA_DBUS_NAME, "-", &probe);
  if (g_error_matches (probe, LIA_ERROR, LIA_ERROR_UNAVAILABLE))
    {
      self->calls = g_list_prepend (self->calls, lc->call);
      self->funcs->sync_async (self->plugin, NULL, link_after_first_cycle, lc);
      return;
    }
  link_go (lc);
  link_call_free (lc);
}

/* ---- Search ---- */

static void
search_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  LiaDBusService *self = call->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) matches = NULL;
  GVariantBuilder b;

  if (!call_detach (call))
    {
      call_free (call);
      return;
    }
  matches = self->plugin != NULL ? self->funcs->search_finish (self->plugin, result, &error) : NULL;
  if (matches == NULL)
    {
      if (error == NULL)
        return_new_error (call->invocation, LIA_ERROR_UNAVAILABLE, "the sync engine stopped");
      else
        return_error (call->invocation, error);
      call_free (call);
      return;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < matches->len; i++)
    {
      LiaCrmMatch *m = g_ptr_array_index (matches, i);

      g_variant_builder_add (&b, "(sss)",
                             m->entity < LIA_ENTITY_N ? lia_entity_to_string (m->entity) : "user", m->id,
                             m->name != NULL ? m->name : "");
    }
  g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(a(sss))", &b));
  call_free (call);
}

/* ---- the method table ---- */

static void
handle_outbox (LiaDBusService *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) changes = self->funcs->list_changes (self->plugin, &error);
  GVariantBuilder b;

  if (changes == NULL)
    {
      return_error (invocation, error);
      return;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(xsssssus)"));
  for (guint i = 0; i < changes->len; i++)
    {
      LiaCacheChange *c = g_ptr_array_index (changes, i);
      const char *id = c->item_id != NULL ? c->item_id : c->crm_id != NULL ? c->crm_id : "";

      g_variant_builder_add (&b, "(xsssssus)", c->id, c->attempts > 0 ? "failed" : "pending",
                             c->direction == LIA_DIRECTION_TO_CRM ? "to-crm" : "to-host",
                             lia_change_op_to_string (c->op), lia_entity_to_string (c->entity), id,
                             c->attempts, c->last_error != NULL ? c->last_error : "");
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(xsssssus))", &b));
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *path, const char *iface,
             const char *method, GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
  LiaDBusService *self = user_data;
  g_autoptr (GError) error = NULL;

  if (g_str_equal (method, "Status"))
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", status_variant (self)));
      return;
    }
  if (self->plugin == NULL && self->start_error == NULL)
    {
      /* Still starting (Evolution just started): answer once the engine
       * runs, or failed to. */
      g_ptr_array_add (self->waiting, invocation);
      return;
    }
  if (g_str_equal (method, "SyncNow"))
    {
      handle_sync_now (self, invocation);
      return;
    }
  if (!need_plugin (self, invocation))
    return;
  if (g_str_equal (method, "Track"))
    {
      const char *item_id;

      g_variant_get (params, "(&s)", &item_id);
      handle_link (self, invocation, LIA_COMMAND_TRACK, item_id, FALSE, NULL, NULL);
    }
  else if (g_str_equal (method, "Untrack"))
    {
      const char *item_id;
      gboolean delete_in_crm;

      g_variant_get (params, "(&sb)", &item_id, &delete_in_crm);
      handle_link (self, invocation, LIA_COMMAND_UNTRACK, item_id, delete_in_crm, NULL, NULL);
    }
  else if (g_str_equal (method, "SetRegarding"))
    {
      const char *item_id, *crm_id, *name;

      g_variant_get (params, "(&s&s&s)", &item_id, &crm_id, &name);
      if (*crm_id == '\0')
        return_new_error (invocation, LIA_ERROR_INVALID, "no CRM record id given");
      else
        handle_link (self, invocation, LIA_COMMAND_SET_REGARDING, item_id, FALSE, crm_id,
                     *name != '\0' ? name : NULL);
    }
  else if (g_str_equal (method, "Item"))
    {
      const char *item_id;
      GVariant *item;

      g_variant_get (params, "(&s)", &item_id);
      item = item_variant (self, item_id, &error);
      if (item == NULL)
        return_error (invocation, error);
      else
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", item));
    }
  else if (g_str_equal (method, "Outbox"))
    handle_outbox (self, invocation);
  else if (g_str_equal (method, "Search"))
    {
      const char *text;
      guint limit;

      g_variant_get (params, "(&su)", &text, &limit);
      if (self->funcs->search_async == NULL)
        return_new_error (invocation, LIA_ERROR_UNAVAILABLE, "this plugin cannot search the org");
      else
        self->funcs->search_async (self->plugin, text, limit, NULL, search_done,
                                   call_new (self, invocation, CALL_LINK, NULL));
    }
  else if (g_str_equal (method, "Retry") || g_str_equal (method, "Drop"))
    {
      gint64 id;
      gboolean ok;

      g_variant_get (params, "(x)", &id);
      ok = g_str_equal (method, "Retry") ? self->funcs->retry_change (self->plugin, id, &error)
                                         : self->funcs->drop_change (self->plugin, id, &error);
      if (ok)
        g_dbus_method_invocation_return_value (invocation, NULL);
      else
        return_error (invocation, error);
    }
  else
    return_new_error (invocation, LIA_ERROR_INVALID, "unknown method");
}

static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL, { 0 } };

/* ---- life ---- */

LiaDBusService *
lia_dbus_service_new (const LiaPluginFuncs *funcs, LiaDBusResolveFunc resolve, gpointer resolve_data,
                      const char *org, const char *user)
{
  LiaDBusService *self = g_new0 (LiaDBusService, 1);

  self->funcs = funcs;
  self->resolve = resolve;
  self->resolve_data = resolve_data;
  self->org = g_strdup (org);
  self->user = g_strdup (user);
  self->last_state = LIA_SYNC_STATE_N;
  self->waiting = g_ptr_array_new ();
  lia_dbus_register_errors ();
  return self;
}

void
lia_dbus_service_set_funcs (LiaDBusService *self, const LiaPluginFuncs *funcs)
{
  self->funcs = funcs;
}

void
lia_dbus_service_set_plugin (LiaDBusService *self, LiaPlugin *plugin, const char *error_message)
{
  g_autoptr (GPtrArray) waiting = NULL;

  self->plugin = plugin;
  g_free (self->start_error);
  self->start_error = g_strdup (error_message);
  if (plugin == NULL && error_message == NULL)
    return;
  /* The calls that came while starting, in their order. */
  waiting = g_steal_pointer (&self->waiting);
  self->waiting = g_ptr_array_new ();
  for (guint i = 0; i < waiting->len; i++)
    {
      GDBusMethodInvocation *invocation = g_ptr_array_index (waiting, i);

      method_call (self->connection, g_dbus_method_invocation_get_sender (invocation), LIA_DBUS_PATH,
                   LIA_DBUS_IFACE, g_dbus_method_invocation_get_method_name (invocation),
                   g_dbus_method_invocation_get_parameters (invocation), invocation, self);
    }
}

static void
name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  LiaDBusService *self = user_data;

  self->owns_name = TRUE;
  g_debug ("owns %s", name);
}

static void
name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  LiaDBusService *self = user_data;

  self->owns_name = FALSE;
  self->lost_name = TRUE;
  g_warning ("the session bus name %s is taken by another process; the liaison command will not reach "
             "this engine",
             name);
}

gboolean
lia_dbus_service_export (LiaDBusService *self, GDBusConnection *connection, GError **error)
{
  GDBusInterfaceInfo *info = lia_dbus_interface_info ();

  g_return_val_if_fail (self->connection == NULL, FALSE);
  if (info == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_FAILED, "the D-Bus interface description is missing");
      return FALSE;
    }
  self->registration_id =
      g_dbus_connection_register_object (connection, LIA_DBUS_PATH, info, &vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  self->owner_id = g_bus_own_name_on_connection (
      connection, LIA_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, name_acquired, name_lost, self, NULL);
  return TRUE;
}

gboolean
lia_dbus_service_owns_name (LiaDBusService *self)
{
  return self->owns_name;
}

gboolean
lia_dbus_service_lost_name (LiaDBusService *self)
{
  return self->lost_name;
}

void
lia_dbus_service_status_changed (LiaDBusService *self, const LiaSyncStatus *status)
{
  if (self == NULL || self->connection == NULL)
    return;
  if (status->state != self->last_state || status->progress_done != self->last_progress)
    g_dbus_connection_emit_signal (
        self->connection, NULL, LIA_DBUS_PATH, LIA_DBUS_IFACE, "Progress",
        g_variant_new ("(su)", lia_sync_state_to_string (status->state), status->progress_done), NULL);
  self->last_state = status->state;
  self->last_progress = status->progress_done;
  g_dbus_connection_emit_signal (
      self->connection, NULL, LIA_DBUS_PATH, LIA_DBUS_IFACE, "StatusChanged",
      g_variant_new ("(@a{sv})", lia_dbus_status_to_variant (status, self->org, self->user)), NULL);
}

void
lia_dbus_service_free (LiaDBusService *self)
{
  if (self == NULL)
    return;
  /* Calls still waiting get an answer; their callbacks see self == NULL. */
  for (GList *l = self->calls; l != NULL; l = l->next)
    {
      Call *call = l->data;

      return_new_error (call->invocation, LIA_ERROR_UNAVAILABLE, "the sync engine stopped");
      call->self = NULL;
      if (call->timeout_id != 0)
        {
          /* Not waiting for the engine: nothing else will free it. */
          call_free (call);
        }
    }
  g_list_free (self->calls);
  for (guint i = 0; i < self->waiting->len; i++)
    return_new_error (g_ptr_array_index (self->waiting, i), LIA_ERROR_UNAVAILABLE, "the sync engine stopped");
  g_ptr_array_unref (self->waiting);
  if (self->owner_id != 0)
    g_bus_unown_name (self->owner_id);
  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  if (self->connection != NULL)
    g_dbus_connection_flush_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_free (self->start_error);
  g_free (self->org);
  g_free (self->user);
  g_free (self);
}
