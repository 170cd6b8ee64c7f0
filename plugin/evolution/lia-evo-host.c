/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"
#include "lia-evo-host.h"

#define RID_SEP ";RECURRENCE-ID="

typedef enum
{
  KIND_CONTACT,
  KIND_EVENT,
  KIND_TASK,
  KIND_N
} Kind;

static const char *const kind_prefix[] = {
  [KIND_CONTACT] = "contact:",
  [KIND_EVENT] = "event:",
  [KIND_TASK] = "task:",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_prefix) == KIND_N);

/* A folder's contents table, sorted newest first, valid while the
 * backend's "revision" property is unchanged (EVOLUTION.md's scan
 * recipe): the scanner reads it page by page without relisting. */
typedef struct
{
  char *revision;  /* owned */
  GPtrArray *rows; /* owned: LiaHostRow */
} Contents;

struct _LiaEvoHost
{
  EClient *clients[KIND_N]; /* owned */
  char *folders[KIND_N];    /* owned: ESource UIDs */
  GMutex lock;
  Contents contents[KIND_N]; /* guarded by lock */

  /* Main-context state (the context of lia_evo_host_watch_async). */
  GObject *views[KIND_N]; /* owned: EBookClientView / ECalClientView */
  LiaEvoNotifyFunc notify;
  gpointer notify_data;
  /* Our own writes come back from the views: item id -> pending count of
   * echoes to swallow, so the engine hears only other writers. */
  GHashTable *echoes;      /* owned */
  GHashTable *link_states; /* owned: item id -> last known link state */
  /* Contact creates waiting to go to EDS together (create_contacts_flush). */
  GPtrArray *contact_batch; /* owned: GTask, nullable */
  GSource *batch_source;    /* owned, nullable */
  /* The primary mail account (lia-evo-mail.h). */
  LiaEvoMail *mail; /* owned, nullable */
};

static void
contents_clear (Contents *c)
{
  g_clear_pointer (&c->revision, g_free);
  g_clear_pointer (&c->rows, g_ptr_array_unref);
}

char *
lia_evo_item_id_for_contact (const char *uid)
{
  return uid != NULL ? g_strconcat (kind_prefix[KIND_CONTACT], uid, NULL) : NULL;
}

char *
lia_evo_item_id_for_component (ECalClientSourceType kind, const char *uid, const char *rid)
{
  const char *prefix =
      kind == E_CAL_CLIENT_SOURCE_TYPE_TASKS ? kind_prefix[KIND_TASK] : kind_prefix[KIND_EVENT];

  if (uid == NULL)
    return NULL;
  if (rid != NULL && *rid != '\0')
    return g_strconcat (prefix, uid, RID_SEP, rid, NULL);
  return g_strconcat (prefix, uid, NULL);
}

/* Splits an item id; FALSE for ids this adapter never made. */
static gboolean
parse_item_id (const char *item_id, Kind *out_kind, char **out_uid, char **out_rid)
{
  for (guint k = 0; k < KIND_N; k++)
    {
      if (g_str_has_prefix (item_id, kind_prefix[k]))
        {
          const char *uid = item_id + strlen (kind_prefix[k]);
          const char *sep = k != KIND_CONTACT ? g_strrstr (uid, RID_SEP) : NULL;

          if (*uid == '\0')
            return FALSE;
          *out_kind = (Kind) k;
          *out_uid = sep != NULL ? g_strndup (uid, (gsize) (sep - uid)) : g_strdup (uid);
          *out_rid = sep != NULL ? g_strdup (sep + strlen (RID_SEP)) : NULL;
          return TRUE;
        }
    }
  return FALSE;
}

/* Foreign errors become LIA_ERROR once, here. */
static void
translate_error (GError **error)
{
  GError *e = error != NULL ? *error : NULL;

  if (e == NULL || e->domain == LIA_ERROR || g_error_matches (e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (e, E_BOOK_CLIENT_ERROR, E_BOOK_CLIENT_ERROR_CONTACT_NOT_FOUND)
      || g_error_matches (e, E_CAL_CLIENT_ERROR, E_CAL_CLIENT_ERROR_OBJECT_NOT_FOUND))
    e->code = LIA_ERROR_NOT_FOUND;
  else
    e->code = LIA_ERROR_UNAVAILABLE;
  e->domain = LIA_ERROR;
}

/* ---- Opening ---- */

static void
host_free_clients (LiaEvoHost *host)
{
  for (guint k = 0; k < KIND_N; k++)
    {
      g_clear_object (&host->clients[k]);
      g_clear_pointer (&host->folders[k], g_free);
      contents_clear (&host->contents[k]);
    }
}

static LiaEvoHost *
host_alloc (void)
{
  LiaEvoHost *host = g_new0 (LiaEvoHost, 1);

  g_mutex_init (&host->lock);
  host->echoes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  host->link_states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return host;
}

LiaEvoHost *
lia_evo_host_new_for_mail (LiaEvoMail *mail)
{
  LiaEvoHost *host = host_alloc ();

  lia_evo_host_set_mail (host, mail);
  return host;
}

void
lia_evo_host_set_mail (LiaEvoHost *host, LiaEvoMail *mail)
{
  g_clear_pointer (&host->mail, lia_evo_mail_free);
  host->mail = mail;
  if (mail != NULL)
    lia_evo_mail_set_host_store (mail, LIA_EVO_STORE);
}

LiaEvoMail *
lia_evo_host_get_mail (LiaEvoHost *host)
{
  return host->mail;
}

LiaEvoMail *
lia_evo_host_mail_for_account (ESource *account, ESource *identity, CamelSession *session, GError **error)
{
  g_autoptr (CamelService) service = NULL;
  g_autofree char *address = NULL;
  g_autofree char *sent_uri = NULL;
  g_autofree char *drafts_uri = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *drafts = NULL;
  LiaEvoMail *mail;

  g_return_val_if_fail (E_IS_SOURCE (account) && CAMEL_IS_SESSION (session), NULL);
  service = camel_session_ref_service (session, e_source_get_uid (account));
  if (!CAMEL_IS_STORE (service))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "the mail session has no store for account \"%s\"",
                   e_source_get_display_name (account));
      return NULL;
    }
  if (identity != NULL)
    {
      if (e_source_has_extension (identity, E_SOURCE_EXTENSION_MAIL_IDENTITY))
        address = e_source_mail_identity_dup_address (
            e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_IDENTITY));
      if (e_source_has_extension (identity, E_SOURCE_EXTENSION_MAIL_SUBMISSION))
        sent_uri = e_source_mail_submission_dup_sent_folder (
            e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_SUBMISSION));
      if (e_source_has_extension (identity, E_SOURCE_EXTENSION_MAIL_COMPOSITION))
        drafts_uri = e_source_mail_composition_dup_drafts_folder (
            e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_COMPOSITION));
    }
  mail = lia_evo_mail_new (CAMEL_STORE (service), address);
  /* Folders of another account (a local Sent for an IMAP account) are not
   * this store's: they stay unset. */
  sent = lia_evo_mail_folder_name_from_uri (mail, sent_uri);
  drafts = lia_evo_mail_folder_name_from_uri (mail, drafts_uri);
  lia_evo_mail_set_configured_folders (mail, sent, drafts);
  return mail;
}

LiaEvoMail *
lia_evo_host_mail_for_default_account (ESourceRegistry *registry, CamelSession *session, GError **error)
{
  g_autoptr (ESource) account = NULL;
  g_autoptr (ESource) identity = NULL;
  g_autofree char *identity_uid = NULL;

  g_return_val_if_fail (E_IS_SOURCE_REGISTRY (registry), NULL);
  account = e_source_registry_ref_default_mail_account (registry);
  if (account == NULL || !e_source_has_extension (account, E_SOURCE_EXTENSION_MAIL_ACCOUNT))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no default mail account");
      return NULL;
    }
  identity_uid = e_source_mail_account_dup_identity_uid (
      e_source_get_extension (account, E_SOURCE_EXTENSION_MAIL_ACCOUNT));
  if (identity_uid != NULL)
    identity = e_source_registry_ref_source (registry, identity_uid);
  return lia_evo_host_mail_for_account (account, identity, session, error);
}

LiaEvoHost *
lia_evo_host_new_sync (ESourceRegistry *registry, GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaEvoHost) host = host_alloc ();
  g_autoptr (ESource) book = NULL;
  g_autoptr (ESource) cal = NULL;
  g_autoptr (ESource) tasks = NULL;

  g_return_val_if_fail (E_IS_SOURCE_REGISTRY (registry), NULL);
  book = e_source_registry_ref_default_address_book (registry);
  cal = e_source_registry_ref_default_calendar (registry);
  tasks = e_source_registry_ref_default_task_list (registry);
  if (book == NULL || cal == NULL || tasks == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no default address book, calendar or task list");
      return NULL;
    }
  /* 30 s: a backend that is still starting answers within that. */
  host->clients[KIND_CONTACT] = e_book_client_connect_sync (book, 30, cancellable, error);
  if (host->clients[KIND_CONTACT] == NULL)
    goto fail;
  host->clients[KIND_EVENT] =
      e_cal_client_connect_sync (cal, E_CAL_CLIENT_SOURCE_TYPE_EVENTS, 30, cancellable, error);
  if (host->clients[KIND_EVENT] == NULL)
    goto fail;
  host->clients[KIND_TASK] =
      e_cal_client_connect_sync (tasks, E_CAL_CLIENT_SOURCE_TYPE_TASKS, 30, cancellable, error);
  if (host->clients[KIND_TASK] == NULL)
    goto fail;
  host->folders[KIND_CONTACT] = g_strdup (e_source_get_uid (book));
  host->folders[KIND_EVENT] = g_strdup (e_source_get_uid (cal));
  host->folders[KIND_TASK] = g_strdup (e_source_get_uid (tasks));
  return g_steal_pointer (&host);

fail:
  translate_error (error);
  return NULL;
}

LiaEvoHost *
lia_evo_host_new_for_clients (EBookClient *book, ECalClient *events, ECalClient *tasks)
{
  LiaEvoHost *host;

  g_return_val_if_fail (E_IS_BOOK_CLIENT (book) && E_IS_CAL_CLIENT (events) && E_IS_CAL_CLIENT (tasks), NULL);
  host = host_alloc ();
  host->clients[KIND_CONTACT] = g_object_ref (E_CLIENT (book));
  host->clients[KIND_EVENT] = g_object_ref (E_CLIENT (events));
  host->clients[KIND_TASK] = g_object_ref (E_CLIENT (tasks));
  host->folders[KIND_CONTACT] = g_strdup (e_source_get_uid (e_client_get_source (E_CLIENT (book))));
  host->folders[KIND_EVENT] = g_strdup (e_source_get_uid (e_client_get_source (E_CLIENT (events))));
  host->folders[KIND_TASK] = g_strdup (e_source_get_uid (e_client_get_source (E_CLIENT (tasks))));
  return host;
}

static void
new_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  LiaEvoHost *host = lia_evo_host_new_sync (data, cancellable, &error);

  if (host == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, host, (GDestroyNotify) lia_evo_host_free);
}

void
lia_evo_host_new_async (ESourceRegistry *registry, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lia_evo_host_new_async);
  g_task_set_name (task, "[liaison] open EDS clients");
  g_task_set_task_data (task, g_object_ref (registry), g_object_unref);
  g_task_run_in_thread (task, new_thread);
}

LiaEvoHost *
lia_evo_host_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lia_evo_host_free (LiaEvoHost *host)
{
  if (host == NULL)
    return;
  lia_evo_host_unwatch (host);
  if (host->batch_source != NULL)
    {
      g_source_destroy (host->batch_source);
      g_clear_pointer (&host->batch_source, g_source_unref);
    }
  for (guint i = 0; host->contact_batch != NULL && i < host->contact_batch->len; i++)
    g_task_return_new_error (g_ptr_array_index (host->contact_batch, i), G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "the host closed");
  g_clear_pointer (&host->contact_batch, g_ptr_array_unref);
  for (guint k = 0; k < KIND_N; k++)
    {
      if (host->views[k] != NULL)
        {
          g_signal_handlers_disconnect_by_data (host->views[k], host);
          if (k == KIND_CONTACT)
            e_book_client_view_stop (E_BOOK_CLIENT_VIEW (host->views[k]), NULL);
          else
            e_cal_client_view_stop (E_CAL_CLIENT_VIEW (host->views[k]), NULL);
        }
      g_clear_object (&host->views[k]);
    }
  host_free_clients (host);
  g_clear_pointer (&host->mail, lia_evo_mail_free);
  g_clear_pointer (&host->echoes, g_hash_table_unref);
  g_clear_pointer (&host->link_states, g_hash_table_unref);
  g_mutex_clear (&host->lock);
  g_free (host);
}

EBookClient *
lia_evo_host_get_book (LiaEvoHost *host)
{
  return E_BOOK_CLIENT (host->clients[KIND_CONTACT]);
}

ECalClient *
lia_evo_host_get_calendar (LiaEvoHost *host)
{
  return E_CAL_CLIENT (host->clients[KIND_EVENT]);
}

ECalClient *
lia_evo_host_get_tasks (LiaEvoHost *host)
{
  return E_CAL_CLIENT (host->clients[KIND_TASK]);
}

/* ---- Echo suppression (main context) ---- */

static void
echo_expect (LiaEvoHost *host, const char *item_id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (host->echoes, item_id));

  g_hash_table_insert (host->echoes, g_strdup (item_id), GUINT_TO_POINTER (n + 1));
}

static gboolean
echo_take (LiaEvoHost *host, const char *item_id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (host->echoes, item_id));

  if (n == 0)
    return FALSE;
  if (n == 1)
    g_hash_table_remove (host->echoes, item_id);
  else
    g_hash_table_insert (host->echoes, g_strdup (item_id), GUINT_TO_POINTER (n - 1));
  return TRUE;
}

/* ---- The vtable ---- */

typedef struct
{
  LiaEvoHost *host; /* borrowed: outlives its calls */
  Kind kind;
  char *uid;     /* owned */
  char *rid;     /* owned */
  char *item_id; /* owned */
  guint offset;
  guint limit;
  LiaItem *fields; /* owned */
  LiaHostProps props;
  gboolean has_props;
} Call;

static void
call_free (Call *call)
{
  g_free (call->uid);
  g_free (call->rid);
  g_free (call->item_id);
  lia_item_free (call->fields);
  lia_host_props_clear (&call->props);
  g_free (call);
}

static GTask *
call_task (LiaEvoHost *host, gpointer tag, const char *name, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, Call **out_call)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  call->host = host;
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  *out_call = call;
  return task;
}

static char *
vt_dup_primary_store (gpointer h)
{
  return g_strdup (LIA_EVO_STORE);
}

static char *
vt_dup_default_folder (gpointer h, const char *store, LiaEntity entity)
{
  LiaEvoHost *host = h;

  if (g_strcmp0 (store, LIA_EVO_STORE) != 0)
    return NULL;
  switch (entity)
    {
    case LIA_ENTITY_CONTACT:
      return g_strdup (host->folders[KIND_CONTACT]);
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      return g_strdup (host->folders[KIND_EVENT]);
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      return g_strdup (host->folders[KIND_TASK]);
    case LIA_ENTITY_EMAIL:
      return host->mail != NULL ? lia_evo_mail_dup_folder (host->mail, LIA_EVO_MAIL_INBOX) : NULL;
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return NULL;
    }
}

static gint
row_newest_first (gconstpointer a, gconstpointer b)
{
  const LiaHostRow *x = *(const LiaHostRow *const *) a;
  const LiaHostRow *y = *(const LiaHostRow *const *) b;

  if (x->modified_at != y->modified_at)
    return x->modified_at > y->modified_at ? -1 : 1;
  return -strcmp (x->item_id, y->item_id);
}

static GPtrArray *
list_rows (LiaEvoHost *host, Kind kind, GCancellable *cancellable, GError **error)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);

  if (kind == KIND_CONTACT)
    {
      GSList *contacts = NULL;

      if (!e_book_client_get_contacts_sync (E_BOOK_CLIENT (host->clients[kind]),
                                            "(contains \"x-evolution-any-field\" \"\")", &contacts,
                                            cancellable, error))
        {
          g_ptr_array_unref (rows);
          return NULL;
        }
      for (GSList *l = contacts; l != NULL; l = l->next)
        {
          gint64 modified;
          LiaLinkState state;
          g_autofree char *crm_id = NULL;
          g_autofree char *id = lia_evo_item_id_for_contact (e_contact_get_const (l->data, E_CONTACT_UID));

          if (id == NULL)
            continue;
          lia_evo_contact_read_row (l->data, &modified, &state, &crm_id);
          g_ptr_array_add (rows, lia_host_row_new (id, modified, state, crm_id));
        }
      g_slist_free_full (contacts, g_object_unref);
    }
  else
    {
      GSList *comps = NULL;

      if (!e_cal_client_get_object_list_sync (E_CAL_CLIENT (host->clients[kind]), "#t", &comps, cancellable,
                                              error))
        {
          g_ptr_array_unref (rows);
          return NULL;
        }
      for (GSList *l = comps; l != NULL; l = l->next)
        {
          ICalComponent *comp = l->data;
          g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);
          g_autofree char *rid_text =
              rid != NULL && !i_cal_time_is_null_time (rid) ? i_cal_time_as_ical_string (rid) : NULL;
          g_autofree char *id = lia_evo_item_id_for_component (
              kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
              i_cal_component_get_uid (comp), rid_text);
          gint64 modified;
          LiaLinkState state;
          g_autofree char *crm_id = NULL;

          if (id == NULL)
            continue;
          lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
          g_ptr_array_add (rows, lia_host_row_new (id, modified, state, crm_id));
        }
      e_util_free_nullable_object_slist (comps);
    }
  g_ptr_array_sort (rows, row_newest_first);
  return rows;
}

static void
read_contents_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  LiaEvoHost *host = call->host;
  g_autofree char *revision = NULL;
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *page = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  GError *error = NULL;

  /* A failed revision read only costs a relist. */
  e_client_get_backend_property_sync (host->clients[call->kind], "revision", &revision, cancellable, NULL);
  g_mutex_lock (&host->lock);
  /* The client's revision is a cached D-Bus property that a worker thread
   * may read stale: a scan starts (offset 0) from a fresh listing, and only
   * its later pages reuse it while the revision holds. */
  if (call->offset > 0 && revision != NULL && host->contents[call->kind].rows != NULL
      && g_strcmp0 (host->contents[call->kind].revision, revision) == 0)
    all = g_ptr_array_ref (host->contents[call->kind].rows);
  g_mutex_unlock (&host->lock);
  if (all == NULL)
    {
      all = list_rows (host, call->kind, cancellable, &error);
      if (all == NULL)
        {
          g_ptr_array_unref (page);
          translate_error (&error);
          g_task_return_error (task, error);
          return;
        }
      g_mutex_lock (&host->lock);
      contents_clear (&host->contents[call->kind]);
      host->contents[call->kind].revision = g_steal_pointer (&revision);
      host->contents[call->kind].rows = g_ptr_array_ref (all);
      g_mutex_unlock (&host->lock);
    }
  for (guint i = call->offset; i < all->len && i - call->offset < call->limit; i++)
    {
      const LiaHostRow *r = g_ptr_array_index (all, i);

      g_ptr_array_add (page, lia_host_row_new (r->item_id, r->modified_at, r->link_state, r->crm_id));
    }
  g_task_return_pointer (task, page, (GDestroyNotify) g_ptr_array_unref);
}

static gboolean
kind_for_folder (LiaEvoHost *host, const char *store, const char *folder, Kind *out_kind)
{
  if (g_strcmp0 (store, LIA_EVO_STORE) != 0)
    return FALSE;
  for (guint k = 0; k < KIND_N; k++)
    if (host->folders[k] != NULL && g_strcmp0 (host->folders[k], folder) == 0)
      {
        *out_kind = (Kind) k;
        return TRUE;
      }
  return FALSE;
}

static void
vt_read_contents (gpointer h, const char *store, const char *folder, guint offset, guint limit,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, folder))
    {
      lia_evo_mail_read_contents_async (host->mail, folder, offset, limit, cancellable, callback, user_data);
      return;
    }
  task = call_task (h, vt_read_contents, "[liaison] read contents", cancellable, callback, user_data, &call);

  if (!kind_for_folder (h, store, folder, &call->kind))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder);
      return;
    }
  call->offset = offset;
  call->limit = limit;
  g_task_run_in_thread (task, read_contents_thread);
}

static GPtrArray *
vt_read_contents_finish (gpointer h, GAsyncResult *result, GError **error)
{
  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_read_contents_finish (((LiaEvoHost *) h)->mail, result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Reads the component of @uid/@rid: with no rid, the master (a series
 * with detached instances comes back as a VCALENDAR holding all). */
static ICalComponent *
get_component (ECalClient *client, const char *uid, const char *rid, GCancellable *cancellable,
               GError **error)
{
  ICalComponent *comp = NULL;

  if (!e_cal_client_get_object_sync (client, uid, rid, &comp, cancellable, error))
    return NULL;
  if (i_cal_component_isa (comp) == I_CAL_VCALENDAR_COMPONENT)
    {
      ICalComponent *found = NULL;

      for (ICalComponent *sub = i_cal_component_get_first_component (comp, I_CAL_ANY_COMPONENT); sub != NULL;
           sub = i_cal_component_get_next_component (comp, I_CAL_ANY_COMPONENT))
        {
          g_autoptr (ICalTime) r = i_cal_component_get_recurrenceid (sub);
          ICalComponentKind k = i_cal_component_isa (sub);

          if (found == NULL && (k == I_CAL_VEVENT_COMPONENT || k == I_CAL_VTODO_COMPONENT)
              && (r == NULL || i_cal_time_is_null_time (r)))
            found = i_cal_component_clone (sub);
          g_object_unref (sub);
        }
      g_object_unref (comp);
      if (found == NULL)
        g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", uid);
      return found;
    }
  return comp;
}

static LiaHostItem *
read_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  LiaHostItem *hi = NULL;

  if (call->kind == KIND_CONTACT)
    {
      g_autoptr (EContact) contact = NULL;

      if (e_book_client_get_contact_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), call->uid, &contact,
                                          cancellable, error))
        hi = lia_evo_contact_to_host_item (contact, host->folders[KIND_CONTACT], error);
    }
  else
    {
      g_autoptr (ICalComponent) comp =
          get_component (E_CAL_CLIENT (host->clients[call->kind]), call->uid, call->rid, cancellable, error);

      if (comp != NULL)
        hi = lia_evo_comp_to_host_item (comp, E_CAL_CLIENT (host->clients[call->kind]),
                                        host->folders[call->kind], cancellable, error);
    }
  if (hi == NULL)
    translate_error (error);
  return hi;
}

static void
read_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  LiaHostItem *hi = read_item_sync (data, cancellable, &error);

  if (hi == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, hi, (GDestroyNotify) lia_host_item_free);
}

static gboolean
call_parse (Call *call, GTask *task, const char *store, const char *item_id)
{
  if (g_strcmp0 (store, LIA_EVO_STORE) != 0 || !parse_item_id (item_id, &call->kind, &call->uid, &call->rid)
      || call->host->clients[call->kind] == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return FALSE;
    }
  call->item_id = g_strdup (item_id);
  return TRUE;
}

static void
vt_read_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, item_id))
    {
      lia_evo_mail_read_item_async (host->mail, item_id, cancellable, callback, user_data);
      return;
    }
  task = call_task (h, vt_read_item, "[liaison] read item", cancellable, callback, user_data, &call);
  if (call_parse (call, task, store, item_id))
    g_task_run_in_thread (task, read_item_thread);
}

static LiaHostItem *
vt_read_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_read_item_finish (((LiaEvoHost *) h)->mail, result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
add_zones (ECalClient *client, GPtrArray *zones, GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < zones->len; i++)
    if (!e_cal_client_add_timezone_sync (client, g_ptr_array_index (zones, i), cancellable, error))
      return FALSE;
  return TRUE;
}

static gboolean
write_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  const LiaHostProps *props = call->has_props ? &call->props : NULL;
  gboolean ok = FALSE;

  if (call->kind == KIND_CONTACT)
    {
      EBookClient *book = E_BOOK_CLIENT (host->clients[KIND_CONTACT]);
      g_autoptr (EContact) contact = NULL;

      ok = e_book_client_get_contact_sync (book, call->uid, &contact, cancellable, error)
           && lia_evo_contact_apply (contact, call->fields, props, error)
           && e_book_client_modify_contact_sync (book, contact, E_BOOK_OPERATION_FLAG_NONE, cancellable,
                                                 error);
    }
  else
    {
      ECalClient *client = E_CAL_CLIENT (host->clients[call->kind]);
      g_autoptr (ICalComponent) comp = get_component (client, call->uid, call->rid, cancellable, error);
      g_autoptr (GPtrArray) zones = g_ptr_array_new ();
      /* A series is written whole; a detached instance or a single item
       * alone. */
      ECalObjModType mod = call->rid == NULL && comp != NULL && e_cal_util_component_has_rrules (comp)
                               ? E_CAL_OBJ_MOD_ALL
                               : E_CAL_OBJ_MOD_THIS;

      ok = comp != NULL && lia_evo_comp_apply (comp, call->fields, props, zones, error)
           && add_zones (client, zones, cancellable, error)
           && e_cal_client_modify_object_sync (client, comp, mod, E_CAL_OPERATION_FLAG_NONE, cancellable,
                                               error);
    }
  if (!ok)
    translate_error (error);
  return ok;
}

static void
write_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (write_item_sync (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
vt_write_item (gpointer h, const char *store, const char *item_id, const LiaItem *fields,
               const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task = NULL;

  if (g_strcmp0 (store, LIA_EVO_STORE) == 0 && lia_evo_mail_owns_id (host->mail, item_id))
    {
      /* A message's fields never change; the mail part keeps regarding's
       * entity and writes the properties (echoes suppressed there). */
      lia_evo_mail_write_props_async (host->mail, item_id, fields,
                                      props != NULL ? props : &(LiaHostProps){ 0 }, cancellable, callback,
                                      user_data);
      return;
    }
  task = call_task (h, vt_write_item, "[liaison] write item", cancellable, callback, user_data, &call);
  if (!call_parse (call, task, store, item_id))
    return;
  call->fields = fields != NULL ? lia_item_copy (fields) : NULL;
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  if (host->notify != NULL)
    echo_expect (host, item_id);
  g_task_run_in_thread (task, write_item_thread);
}

static gboolean
vt_bool_finish (gpointer h, GAsyncResult *result, GError **error)
{
  LiaEvoHost *host = h;
  Call *call;
  gboolean ok;

  if (lia_evo_mail_is_result (result))
    return lia_evo_mail_write_props_finish (host->mail, result, error);
  call = g_task_get_task_data (G_TASK (result));
  ok = g_task_propagate_boolean (G_TASK (result), error);

  /* A failed write makes no echo. */
  if (!ok && call->item_id != NULL)
    echo_take (host, call->item_id);
  return ok;
}

static char *
create_item_sync (Call *call, GCancellable *cancellable, GError **error)
{
  LiaEvoHost *host = call->host;
  const LiaHostProps *props = call->has_props ? &call->props : NULL;
  g_autofree char *uid = NULL;
  char *id = NULL;

  if (call->kind == KIND_CONTACT)
    {
      g_autoptr (EContact) contact = e_contact_new ();

      e_contact_set (contact, E_CONTACT_UID, call->uid);
      if (lia_evo_contact_apply (contact, call->fields, props, error)
          && e_book_client_add_contact_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), contact,
                                             E_BOOK_OPERATION_FLAG_NONE, &uid, cancellable, error))
        id = lia_evo_item_id_for_contact (uid);
    }
  else
    {
      ECalClient *client = E_CAL_CLIENT (host->clients[call->kind]);
      g_autoptr (ICalComponent) comp =
          i_cal_component_new (call->kind == KIND_TASK ? I_CAL_VTODO_COMPONENT : I_CAL_VEVENT_COMPONENT);
      g_autoptr (GPtrArray) zones = g_ptr_array_new ();

      i_cal_component_set_uid (comp, call->uid);
      if (lia_evo_comp_apply (comp, call->fields, props, zones, error)
          && add_zones (client, zones, cancellable, error)
          && e_cal_client_create_object_sync (client, comp, E_CAL_OPERATION_FLAG_NONE, &uid, cancellable,
                                              error))
        id = lia_evo_item_id_for_component (e_cal_client_get_source_type (client),
                                            uid != NULL ? uid : call->uid, NULL);
    }
  if (id == NULL)
    translate_error (error);
  return id;
}

static void
create_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  char *id = create_item_sync (data, cancellable, &error);

  if (id == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, id, g_free);
}

/* Contact creates in batches. Creates that are waiting together when the
 * main context goes idle (a caller that hands over several at once) go to
 * EDS in one e_book_client_add_contacts_sync: one D-Bus call and one
 * backend transaction instead of one per contact, which is what a contact
 * costs EDS (bench/evolution: ~0.2 ms a contact in batches of 100 against
 * 2.5-5 ms one by one). One create alone goes as before. Each call still
 * completes on its own with its own result: when a batch fails, its
 * contacts are added one by one so that each error belongs to its item. */
#define CONTACT_BATCH_MAX 1000

static void
create_contacts_thread (GTask *batch_task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *tasks = data;
  g_autoptr (GPtrArray) valid = g_ptr_array_new ();
  GSList *contacts = NULL;
  g_autoptr (GError) batch_error = NULL;
  EBookClient *book = NULL;

  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);
      Call *call = g_task_get_task_data (task);
      EContact *contact = e_contact_new ();
      GError *error = NULL;

      book = E_BOOK_CLIENT (call->host->clients[KIND_CONTACT]);
      e_contact_set (contact, E_CONTACT_UID, call->uid);
      if (g_task_return_error_if_cancelled (task))
        g_object_unref (contact);
      else if (!lia_evo_contact_apply (contact, call->fields, call->has_props ? &call->props : NULL, &error))
        {
          g_object_unref (contact);
          g_task_return_error (task, error);
        }
      else
        {
          contacts = g_slist_prepend (contacts, contact);
          g_ptr_array_add (valid, task);
        }
    }
  contacts = g_slist_reverse (contacts);
  if (valid->len > 1
      && e_book_client_add_contacts_sync (book, contacts, E_BOOK_OPERATION_FLAG_NONE, NULL, NULL,
                                          &batch_error))
    for (guint i = 0; i < valid->len; i++)
      {
        Call *call = g_task_get_task_data (g_ptr_array_index (valid, i));

        g_task_return_pointer (g_ptr_array_index (valid, i), lia_evo_item_id_for_contact (call->uid), g_free);
      }
  else
    for (guint i = 0; i < valid->len; i++)
      {
        Call *call = g_task_get_task_data (g_ptr_array_index (valid, i));
        g_autoptr (EContact) added = NULL;
        GError *error = NULL;
        char *id = NULL;

        /* A backend that failed half way may have added some: the UID is
         * ours, so one that is there is this create's. */
        if (batch_error != NULL && e_book_client_get_contact_sync (book, call->uid, &added, NULL, NULL))
          id = lia_evo_item_id_for_contact (call->uid);
        else
          id = create_item_sync (call, NULL, &error);

        if (id == NULL)
          g_task_return_error (g_ptr_array_index (valid, i), error);
        else
          g_task_return_pointer (g_ptr_array_index (valid, i), id, g_free);
      }
  g_slist_free_full (contacts, g_object_unref);
  g_task_return_boolean (batch_task, TRUE);
}

static gboolean
create_contacts_flush (gpointer data)
{
  LiaEvoHost *host = data;

  g_clear_pointer (&host->batch_source, g_source_unref);
  while (host->contact_batch != NULL && host->contact_batch->len > 0)
    {
      guint n = MIN (host->contact_batch->len, CONTACT_BATCH_MAX);
      g_autoptr (GTask) batch = g_task_new (NULL, NULL, NULL, NULL);
      GPtrArray *tasks = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (tasks, g_ptr_array_index (host->contact_batch, i));
      g_ptr_array_remove_range (host->contact_batch, 0, n);
      g_task_set_name (batch, "[liaison] create contacts");
      g_task_set_task_data (batch, tasks, (GDestroyNotify) g_ptr_array_unref);
      g_task_run_in_thread (batch, create_contacts_thread);
    }
  return G_SOURCE_REMOVE;
}

static void
create_contact_queue (LiaEvoHost *host, GTask *task)
{
  if (host->contact_batch == NULL)
    host->contact_batch = g_ptr_array_new ();
  /* The batch owns the reference the caller's g_autoptr gives up. */
  g_ptr_array_add (host->contact_batch, g_object_ref (task));
  if (host->batch_source == NULL)
    {
      /* Below the default priority: the creates posted meanwhile join. */
      host->batch_source = g_idle_source_new ();
      g_source_set_priority (host->batch_source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (host->batch_source, create_contacts_flush, host, NULL);
      g_source_set_static_name (host->batch_source, "[liaison] create contacts");
      g_source_attach (host->batch_source, g_main_context_get_thread_default ());
    }
}

static void
vt_create_item (gpointer h, const char *store, const char *folder, const LiaItem *item,
                const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task =
      call_task (h, vt_create_item, "[liaison] create item", cancellable, callback, user_data, &call);

  if (lia_evo_mail_owns_id (((LiaEvoHost *) h)->mail, folder))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_REFUSED,
                               "messages are never created from CRM (R-MAIL-TRACK)");
      return;
    }
  if (!kind_for_folder (h, store, folder, &call->kind))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder);
      return;
    }
  call->fields = lia_item_copy (item);
  if (props != NULL)
    {
      lia_host_props_copy (&call->props, props);
      call->has_props = TRUE;
    }
  /* The UID is ours, so the view's echo of the new item is expected before
   * the backend can report it. */
  call->uid = e_util_generate_uid ();
  if (call->kind == KIND_CONTACT)
    call->item_id = lia_evo_item_id_for_contact (call->uid);
  else
    call->item_id = lia_evo_item_id_for_component (call->kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS
                                                                           : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
                                                   call->uid, NULL);
  if (((LiaEvoHost *) h)->notify != NULL)
    {
      /* The link state the echo will carry is the one written here, so
       * the echo need not be read (on_contacts): a bulk download gets
       * every contact it creates back from the book view. */
      LiaLinkState state = props != NULL && (props->mask & (1u << LIA_HOST_PROP_LINK_STATE))
                               ? props->link_state
                               : LIA_LINK_STATE_NONE;

      g_hash_table_insert (((LiaEvoHost *) h)->link_states, g_strdup (call->item_id),
                           GUINT_TO_POINTER (state));
      echo_expect (h, call->item_id);
    }
  if (call->kind == KIND_CONTACT)
    create_contact_queue (h, task);
  else
    g_task_run_in_thread (task, create_item_thread);
}

static char *
vt_create_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  LiaEvoHost *host = h;
  Call *call = g_task_get_task_data (G_TASK (result));
  char *id = g_task_propagate_pointer (G_TASK (result), error);

  if (id == NULL && call->item_id != NULL && echo_take (host, call->item_id))
    g_hash_table_remove (host->link_states, call->item_id);
  return id;
}

static void
delete_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  LiaEvoHost *host = call->host;
  GError *error = NULL;
  gboolean ok;

  if (call->kind == KIND_CONTACT)
    ok = e_book_client_remove_contact_by_uid_sync (E_BOOK_CLIENT (host->clients[KIND_CONTACT]), call->uid,
                                                   E_BOOK_OPERATION_FLAG_NONE, cancellable, &error);
  else
    ok = e_cal_client_remove_object_sync (E_CAL_CLIENT (host->clients[call->kind]), call->uid, call->rid,
                                          call->rid != NULL ? E_CAL_OBJ_MOD_THIS : E_CAL_OBJ_MOD_ALL,
                                          E_CAL_OPERATION_FLAG_NONE, cancellable, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    {
      translate_error (&error);
      g_task_return_error (task, error);
    }
}

static void
vt_delete_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoHost *host = h;
  Call *call;
  g_autoptr (GTask) task =
      call_task (h, vt_delete_item, "[liaison] delete item", cancellable, callback, user_data, &call);

  if (lia_evo_mail_owns_id (host->mail, item_id))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_REFUSED,
                               "messages are never deleted from CRM (R-DEL-IN-EMAIL)");
      return;
    }
  if (!call_parse (call, task, store, item_id))
    return;
  if (host->notify != NULL)
    echo_expect (host, item_id);
  g_task_run_in_thread (task, delete_item_thread);
}

/* Any thread (lia-host.h): the mail adapter keeps its folders under its
 * lock. A message marked while no engine ran may lie in Sent as well as
 * in the Inbox (R-DET-SCAN-STARTUP); never Drafts, whose marks wait for
 * the send (R-IMM-DRAFT). */
static char **
vt_dup_scan_folders (gpointer h, const char *store, LiaEntity entity)
{
  LiaEvoHost *host = h;
  char *sent;
  char **folders;

  if (g_strcmp0 (store, LIA_EVO_STORE) != 0 || entity != LIA_ENTITY_EMAIL || host->mail == NULL)
    return NULL;
  sent = lia_evo_mail_dup_folder (host->mail, LIA_EVO_MAIL_SENT);
  if (sent == NULL)
    return NULL;
  folders = g_new0 (char *, 2);
  folders[0] = sent;
  return folders;
}

static const LiaHostVTable evo_vtable = {
  .abi_version = LIA_HOST_ABI_VERSION,
  .dup_primary_store = vt_dup_primary_store,
  .dup_default_folder = vt_dup_default_folder,
  .read_contents = vt_read_contents,
  .read_contents_finish = vt_read_contents_finish,
  .read_item = vt_read_item,
  .read_item_finish = vt_read_item_finish,
  .write_item = vt_write_item,
  .write_item_finish = vt_bool_finish,
  .create_item = vt_create_item,
  .create_item_finish = vt_create_item_finish,
  .delete_item = vt_delete_item,
  .delete_item_finish = vt_bool_finish,
  .dup_scan_folders = vt_dup_scan_folders,
};

const LiaHostVTable *
lia_evo_host_get_vtable (void)
{
  return &evo_vtable;
}

/* ---- Notifications (main context) ---- */

static void
emit (LiaEvoHost *host, Kind kind, LiaHostEvent event, const char *item_id, LiaEntity entity,
      LiaLinkState state)
{
  LiaHostNotification n = {
    LIA_HOST_ABI_VERSION, event, LIA_EVO_STORE, host->folders[kind], item_id, NULL, NULL, entity, state
  };

  if (event == LIA_HOST_EVENT_DELETED)
    {
      gpointer known = NULL;

      if (g_hash_table_lookup_extended (host->link_states, item_id, NULL, &known))
        n.link_state = (LiaLinkState) GPOINTER_TO_UINT (known);
      g_hash_table_remove (host->link_states, item_id);
    }
  else
    g_hash_table_insert (host->link_states, g_strdup (item_id), GUINT_TO_POINTER (state));
  if (echo_take (host, item_id))
    return;
  if (host->notify != NULL)
    host->notify (&n, host->notify_data);
}

static void
on_contacts (LiaEvoHost *host, const GSList *contacts, LiaHostEvent event)
{
  for (const GSList *l = contacts; l != NULL; l = l->next)
    {
      /* The view hands the UID over beside the vCard: reading it does not
       * parse the vCard. */
      g_autofree char *id = lia_evo_item_id_for_contact (e_contact_get_const (l->data, E_CONTACT_UID));
      g_autofree char *crm_id = NULL;
      gint64 modified;
      LiaLinkState state;

      if (id == NULL)
        continue;
      /* The echo of our own create (its UID is new and ours, its link
       * state recorded by vt_create_item): swallowed without parsing the
       * vCard, as emit() would swallow it after parsing. */
      if (event == LIA_HOST_EVENT_CREATED && g_hash_table_contains (host->link_states, id)
          && echo_take (host, id))
        continue;
      lia_evo_contact_read_row (l->data, &modified, &state, &crm_id);
      emit (host, KIND_CONTACT, event, id, LIA_ENTITY_CONTACT, state);
    }
}

static void
on_contacts_added (EBookClientView *view, const GSList *contacts, gpointer data)
{
  on_contacts (data, contacts, LIA_HOST_EVENT_CREATED);
}

static void
on_contacts_modified (EBookClientView *view, const GSList *contacts, gpointer data)
{
  on_contacts (data, contacts, LIA_HOST_EVENT_MODIFIED);
}

static void
on_contacts_removed (EBookClientView *view, const GSList *uids, gpointer data)
{
  for (const GSList *l = uids; l != NULL; l = l->next)
    {
      g_autofree char *id = lia_evo_item_id_for_contact (l->data);

      emit (data, KIND_CONTACT, LIA_HOST_EVENT_DELETED, id, LIA_ENTITY_CONTACT, LIA_LINK_STATE_NONE);
    }
}

static Kind
view_kind (LiaEvoHost *host, ECalClientView *view)
{
  return (GObject *) view == host->views[KIND_TASK] ? KIND_TASK : KIND_EVENT;
}

static void
on_comps (LiaEvoHost *host, ECalClientView *view, const GSList *comps, LiaHostEvent event)
{
  Kind kind = view_kind (host, view);

  for (const GSList *l = comps; l != NULL; l = l->next)
    {
      ICalComponent *comp = l->data;
      g_autoptr (ICalTime) rid = i_cal_component_get_recurrenceid (comp);
      g_autofree char *rid_text =
          rid != NULL && !i_cal_time_is_null_time (rid) ? i_cal_time_as_ical_string (rid) : NULL;
      g_autofree char *id = lia_evo_item_id_for_component (
          kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
          i_cal_component_get_uid (comp), rid_text);
      g_autofree char *crm_id = NULL;
      gint64 modified;
      LiaLinkState state;
      LiaEntity entity = kind == KIND_TASK ? LIA_ENTITY_TASK
                         : rid_text == NULL && e_cal_util_component_has_rrules (comp)
                             ? LIA_ENTITY_RECURRING_APPOINTMENT
                             : LIA_ENTITY_APPOINTMENT;

      if (id == NULL)
        continue;
      lia_evo_comp_read_row (comp, &modified, &state, &crm_id);
      emit (host, kind, event, id, entity, state);
    }
}

static void
on_objects_added (ECalClientView *view, const GSList *comps, gpointer data)
{
  on_comps (data, view, comps, LIA_HOST_EVENT_CREATED);
}

static void
on_objects_modified (ECalClientView *view, const GSList *comps, gpointer data)
{
  on_comps (data, view, comps, LIA_HOST_EVENT_MODIFIED);
}

static void
on_objects_removed (ECalClientView *view, const GSList *ids, gpointer data)
{
  LiaEvoHost *host = data;
  Kind kind = view_kind (host, view);

  for (const GSList *l = ids; l != NULL; l = l->next)
    {
      ECalComponentId *cid = l->data;
      g_autofree char *id = lia_evo_item_id_for_component (
          kind == KIND_TASK ? E_CAL_CLIENT_SOURCE_TYPE_TASKS : E_CAL_CLIENT_SOURCE_TYPE_EVENTS,
          e_cal_component_id_get_uid (cid), e_cal_component_id_get_rid (cid));

      if (id != NULL)
        emit (host, kind, LIA_HOST_EVENT_DELETED, id,
              kind == KIND_TASK ? LIA_ENTITY_TASK : LIA_ENTITY_APPOINTMENT, LIA_LINK_STATE_NONE);
    }
}

typedef struct
{
  LiaEvoHost *host;
  guint pending;
  GError *error; /* owned: the first failure */
} Watch;

static void
watch_free (Watch *w)
{
  g_clear_error (&w->error);
  g_free (w);
}

/* The first failure of a watch is the one reported; later ones are freed. */
static void
watch_keep_error (Watch *w, GError *error)
{
  if (w->error == NULL)
    w->error = error;
  else
    g_error_free (error);
}

static void
watch_step_done (GTask *task)
{
  Watch *w = g_task_get_task_data (task);

  if (--w->pending > 0)
    return;
  if (w->error != NULL)
    g_task_return_error (task, g_steal_pointer (&w->error));
  else
    g_task_return_boolean (task, TRUE);
}

/* A started view may still be running its initial query, and a change
 * made meanwhile can go unreported: the watch completes on "complete". */
static void
on_view_complete (GObject *view, const GError *error, gpointer user_data)
{
  GTask *task = user_data;

  g_signal_handlers_disconnect_by_func (view, on_view_complete, task);
  watch_step_done (task);
  g_object_unref (task);
}

static void
book_view_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  EBookClientView *view = NULL;
  GError *error = NULL;

  if (!e_book_client_get_view_finish (E_BOOK_CLIENT (source), res, &view, &error))
    {
      watch_keep_error (w, error);
    }
  else
    {
      LiaEvoHost *host = w->host;

      if (host->views[KIND_CONTACT] != NULL)
        {
          /* A concurrent watch got there first. */
          e_book_client_view_stop (view, NULL);
          g_object_unref (view);
          watch_step_done (task);
          return;
        }
      /* Existing contacts are the scanner's business, not notifications. */
      e_book_client_view_set_flags (view, E_BOOK_CLIENT_VIEW_FLAGS_NONE, NULL);
      g_signal_connect (view, "objects-added", G_CALLBACK (on_contacts_added), host);
      g_signal_connect (view, "objects-modified", G_CALLBACK (on_contacts_modified), host);
      g_signal_connect (view, "objects-removed", G_CALLBACK (on_contacts_removed), host);
      host->views[KIND_CONTACT] = G_OBJECT (view);
      g_signal_connect (view, "complete", G_CALLBACK (on_view_complete), g_object_ref (task));
      e_book_client_view_start (view, NULL);
      return;
    }
  watch_step_done (task);
}

static void
cal_view_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  ECalClientView *view = NULL;
  GError *error = NULL;

  if (!e_cal_client_get_view_finish (E_CAL_CLIENT (source), res, &view, &error))
    {
      watch_keep_error (w, error);
    }
  else
    {
      LiaEvoHost *host = w->host;
      Kind kind = (GObject *) source == (GObject *) host->clients[KIND_TASK] ? KIND_TASK : KIND_EVENT;

      if (host->views[kind] != NULL)
        {
          e_cal_client_view_stop (view, NULL);
          g_object_unref (view);
          watch_step_done (task);
          return;
        }
      e_cal_client_view_set_flags (view, E_CAL_CLIENT_VIEW_FLAGS_NONE, NULL);
      host->views[kind] = G_OBJECT (view);
      g_signal_connect (view, "objects-added", G_CALLBACK (on_objects_added), host);
      g_signal_connect (view, "objects-modified", G_CALLBACK (on_objects_modified), host);
      g_signal_connect (view, "objects-removed", G_CALLBACK (on_objects_removed), host);
      g_signal_connect (view, "complete", G_CALLBACK (on_view_complete), g_object_ref (task));
      e_cal_client_view_start (view, NULL);
      return;
    }
  watch_step_done (task);
}

static void
on_mail_note (const LiaHostNotification *n, gpointer user_data)
{
  LiaEvoHost *host = user_data;

  if (host->notify != NULL)
    host->notify (n, host->notify_data);
}

static void
mail_watch_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Watch *w = g_task_get_task_data (task);
  GError *error = NULL;

  if (!lia_evo_mail_watch_finish (w->host->mail, res, &error))
    watch_keep_error (w, error);
  watch_step_done (task);
}

void
lia_evo_host_watch_async (LiaEvoHost *host, LiaEvoNotifyFunc func, gpointer func_data,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Watch *w = g_new0 (Watch, 1);

  g_task_set_source_tag (task, lia_evo_host_watch_async);
  g_task_set_name (task, "[liaison] watch EDS");
  w->host = host;
  g_task_set_task_data (task, w, (GDestroyNotify) watch_free);
  host->notify = func;
  host->notify_data = func_data;
  /* Watching again (an engine restarted on the same host) reuses the
   * views: new ones would leave the old ones emitting into this host
   * after it is freed, as only the views it holds are disconnected. A
   * mail-only host has no clients. The mail watch is idempotent. */
  for (guint k = 0; k < KIND_N; k++)
    if (host->clients[k] != NULL && host->views[k] == NULL)
      w->pending++;
  if (host->mail != NULL)
    w->pending++;
  if (w->pending == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* Each callback holds one reference; the last one completes the task. */
  if (host->clients[KIND_CONTACT] != NULL && host->views[KIND_CONTACT] == NULL)
    e_book_client_get_view (E_BOOK_CLIENT (host->clients[KIND_CONTACT]),
                            "(contains \"x-evolution-any-field\" \"\")", cancellable, book_view_ready,
                            g_object_ref (task));
  for (guint k = KIND_EVENT; k <= KIND_TASK; k++)
    if (host->clients[k] != NULL && host->views[k] == NULL)
      e_cal_client_get_view (E_CAL_CLIENT (host->clients[k]), "#t", cancellable, cal_view_ready,
                             g_object_ref (task));
  if (host->mail != NULL)
    lia_evo_mail_watch_async (host->mail, on_mail_note, host, cancellable, mail_watch_ready,
                              g_object_ref (task));
  g_object_unref (task);
}

gboolean
lia_evo_host_watch_finish (LiaEvoHost *host, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    {
      translate_error (error);
      return FALSE;
    }
  return TRUE;
}

void
lia_evo_host_unwatch (LiaEvoHost *host)
{
  host->notify = NULL;
  host->notify_data = NULL;
}
