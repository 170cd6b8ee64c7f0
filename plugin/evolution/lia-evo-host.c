/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Evolution host adapter: item ids, opening the clients, the mail
 * account, echo suppression. The vtable is in lia-evo-host-vtable.c, the
 * views and notifications in lia-evo-host-watch.c. */
#include "config.h"

#include <string.h>

#include "lia-evo-convert-private.h"
#include "lia-evo-host-internal.h"

static const char *const kind_prefix[] = {
  [KIND_CONTACT] = "contact:",
  [KIND_EVENT] = "event:",
  [KIND_TASK] = "task:",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_prefix) == KIND_N);

void
lia_evo_host_contents_clear (LiaEvoContents *c)
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
gboolean
lia_evo_host_parse_item_id (const char *item_id, LiaEvoKind *out_kind, char **out_uid, char **out_rid)
{
  for (guint k = 0; k < KIND_N; k++)
    {
      if (g_str_has_prefix (item_id, kind_prefix[k]))
        {
          const char *uid = item_id + strlen (kind_prefix[k]);
          const char *sep = k != KIND_CONTACT ? g_strrstr (uid, RID_SEP) : NULL;

          if (*uid == '\0')
            return FALSE;
          *out_kind = (LiaEvoKind) k;
          *out_uid = sep != NULL ? g_strndup (uid, (gsize) (sep - uid)) : g_strdup (uid);
          *out_rid = sep != NULL ? g_strdup (sep + strlen (RID_SEP)) : NULL;
          return TRUE;
        }
    }
  return FALSE;
}

/* Foreign errors become LIA_ERROR once, here. */
void
lia_evo_host_translate_error (GError **error)
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
      lia_evo_host_contents_clear (&host->contents[k]);
    }
}

static LiaEvoHost *
host_alloc (void)
{
  LiaEvoHost *host = g_new0 (LiaEvoHost, 1);

  g_mutex_init (&host->lock);
  g_cond_init (&host->workers_done);
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
  lia_evo_host_translate_error (error);
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

/* Vtable calls still running on worker threads use the clients and the
 * contents tables (a caller that stopped waiting, such as the liaison
 * command at exit, may free the host under them): waits for them, bounded.
 * FALSE past the bound: the host is then left allocated, not freed under
 * a running call. */
static gboolean
host_wait_workers (LiaEvoHost *host)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  guint busy;

  g_mutex_lock (&host->lock);
  while (host->workers > 0 && g_cond_wait_until (&host->workers_done, &host->lock, end))
    ;
  busy = host->workers;
  g_mutex_unlock (&host->lock);
  if (busy > 0)
    g_message ("%u calls to Evolution's data server still running after 10 s: the host is left allocated",
               busy);
  return busy == 0;
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
  if (!host_wait_workers (host))
    return;
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
  g_cond_clear (&host->workers_done);
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

void
lia_evo_host_echo_expect (LiaEvoHost *host, const char *item_id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (host->echoes, item_id));

  g_hash_table_insert (host->echoes, g_strdup (item_id), GUINT_TO_POINTER (n + 1));
}

gboolean
lia_evo_host_echo_take (LiaEvoHost *host, const char *item_id)
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
