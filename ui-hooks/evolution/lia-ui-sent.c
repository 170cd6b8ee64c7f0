/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libemail-engine/libemail-engine.h>

#include "lia-evo-mail.h"
#include "lia-ui-evo-private.h"

/* Finding the sent copy of a message the composer sent: Evolution appends
 * it to the identity's Sent folder after the transport took it, seconds or
 * (from the Outbox, offline) hours later. The composer knows its
 * Message-ID; this opens the folder, looks for the message once (it may be
 * there already) and again for every message the folder reports added,
 * and gives the item id to the caller.
 *
 * Every Camel call that may read disk or network runs in a GTask worker:
 * opening the folder (e_mail_session_uri_to_folder) and reading message
 * infos. The folder's "changed" signal comes on the main context (Camel
 * emits it on its session's context), where only the uids are taken. The
 * match is on the summary's 64-bit Message-ID hash, which Camel computes
 * the same way for the header (camel_folder_search_util_hash_message_id),
 * so no message is downloaded. */

typedef struct
{
  gint refs;
  EMailSession *session;
  char *folder_uri;
  char *message_id;
  guint64 hash;
  CamelFolder *folder;
  gulong changed_id;
  guint timeout_id;
  GCancellable *cancellable;
  GPtrArray *queued;  /* uids added while a worker ran, (element-type utf8) */
  gboolean scanning;  /* a worker runs */
  gboolean full_scan; /* the next worker reads every uid */
  gboolean done;
  LiaUiSentFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} LiaUiSentWatch;

static LiaUiSentWatch *
watch_ref (LiaUiSentWatch *w)
{
  g_atomic_int_inc (&w->refs);
  return w;
}

static void
watch_unref (LiaUiSentWatch *w)
{
  if (!g_atomic_int_dec_and_test (&w->refs))
    return;
  g_clear_object (&w->session);
  g_clear_object (&w->folder);
  g_clear_object (&w->cancellable);
  g_clear_pointer (&w->queued, g_ptr_array_unref);
  g_free (w->folder_uri);
  g_free (w->message_id);
  g_free (w);
}

/* Called once: with the item and folder ids, or with @error. */
static void
watch_finish (LiaUiSentWatch *w, const char *item_id, const char *folder_id, const GError *error)
{
  if (w->done)
    return;
  w->done = TRUE;
  if (w->folder != NULL && w->changed_id != 0)
    g_signal_handler_disconnect (w->folder, w->changed_id);
  w->changed_id = 0;
  if (w->timeout_id != 0)
    g_source_remove (w->timeout_id);
  w->timeout_id = 0;
  g_cancellable_cancel (w->cancellable);
  w->func (item_id, folder_id, error, w->user_data);
  if (w->destroy != NULL)
    w->destroy (w->user_data);
  w->destroy = NULL;
  /* The reference the watch holds on itself while it runs. */
  watch_unref (w);
}

typedef struct
{
  CamelFolder *folder;
  GPtrArray *uids; /* NULL: every uid of the folder */
  guint64 hash;
} Scan;

static void
scan_free (gpointer data)
{
  Scan *s = data;

  g_clear_object (&s->folder);
  g_clear_pointer (&s->uids, g_ptr_array_unref);
  g_free (s);
}

/* Worker thread: the uid whose summary carries the Message-ID hash. */
static char *
scan_uids (CamelFolder *folder, GPtrArray *uids, guint64 hash, GCancellable *cancellable)
{
  /* Newest last in Camel's order: look from the end. */
  for (guint i = uids->len; i > 0 && !g_cancellable_is_cancelled (cancellable); i--)
    {
      const char *uid = g_ptr_array_index (uids, i - 1);
      CamelMessageInfo *info = camel_folder_get_message_info (folder, uid);
      gboolean match = info != NULL && camel_message_info_get_message_id (info) == hash;

      g_clear_object (&info);
      if (match)
        return g_strdup (uid);
    }
  return NULL;
}

static void
scan_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Scan *s = task_data;
  char *found;

  if (s->uids != NULL)
    found = scan_uids (s->folder, s->uids, s->hash, cancellable);
  else
    {
      GPtrArray *all = camel_folder_get_uids (s->folder);

      found = all != NULL ? scan_uids (s->folder, all, s->hash, cancellable) : NULL;
      if (all != NULL)
        camel_folder_free_uids (s->folder, all);
    }
  g_task_return_pointer (task, found, g_free);
}

static void scan_next (LiaUiSentWatch *w);

static void
on_scan_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LiaUiSentWatch *w = user_data;
  g_autofree char *uid = g_task_propagate_pointer (G_TASK (result), NULL);

  w->scanning = FALSE;
  if (!w->done && uid != NULL)
    {
      CamelStore *store = camel_folder_get_parent_store (w->folder);
      const char *store_uid = camel_service_get_uid (CAMEL_SERVICE (store));
      const char *full_name = camel_folder_get_full_name (w->folder);
      g_autofree char *item_id = lia_evo_engine_item_id_for_message (store_uid, full_name, uid);
      g_autofree char *folder_id = lia_evo_mail_folder_id (store_uid, full_name);

      lia_ui_selftest_log ("sent copy of <%s> found: %s", w->message_id, item_id);
      watch_finish (w, item_id, folder_id, NULL);
    }
  else if (!w->done)
    scan_next (w);
  watch_unref (w);
}

/* Starts a worker for what waits, unless one runs. */
static void
scan_next (LiaUiSentWatch *w)
{
  g_autoptr (GTask) task = NULL;
  Scan *s;

  if (w->done || w->scanning || w->folder == NULL || (!w->full_scan && w->queued->len == 0))
    return;
  s = g_new0 (Scan, 1);
  s->folder = g_object_ref (w->folder);
  s->hash = w->hash;
  if (w->full_scan)
    g_ptr_array_set_size (w->queued, 0);
  else
    {
      s->uids = g_steal_pointer (&w->queued);
      w->queued = g_ptr_array_new_with_free_func (g_free);
    }
  w->full_scan = FALSE;
  w->scanning = TRUE;
  task = g_task_new (NULL, w->cancellable, on_scan_done, watch_ref (w));
  g_task_set_source_tag (task, scan_next);
  g_task_set_task_data (task, s, scan_free);
  g_task_run_in_thread (task, scan_thread);
}

/* CamelFolder::changed, on the main context: only the added uids are
 * taken here. */
static void
on_folder_changed (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer user_data)
{
  LiaUiSentWatch *w = user_data;
  GPtrArray *added = changes != NULL ? camel_folder_change_info_get_added_uids (changes) : NULL;

  if (w->done || added == NULL || added->len == 0)
    return;
  for (guint i = 0; i < added->len; i++)
    g_ptr_array_add (w->queued, g_strdup (g_ptr_array_index (added, i)));
  scan_next (w);
}

static void
on_folder (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LiaUiSentWatch *w = user_data;
  g_autoptr (GError) error = NULL;
  CamelFolder *folder = e_mail_session_uri_to_folder_finish (E_MAIL_SESSION (source), result, &error);

  if (w->done)
    {
      g_clear_object (&folder);
      watch_unref (w);
      return;
    }
  if (folder == NULL)
    {
      watch_finish (w, NULL, NULL, error);
      watch_unref (w);
      return;
    }
  w->folder = folder;
  w->changed_id = g_signal_connect (folder, "changed", G_CALLBACK (on_folder_changed), w);
  /* The copy may be there already (a fast transport): read the folder
   * once, then what it adds. */
  w->full_scan = TRUE;
  scan_next (w);
  watch_unref (w);
}

static gboolean
on_timeout (gpointer user_data)
{
  LiaUiSentWatch *w = user_data;
  g_autoptr (GError) error = g_error_new (
      LIA_ERROR, LIA_ERROR_NOT_FOUND,
      _ ("the sent message did not appear in its Sent folder (%s), so it is not tracked"), w->folder_uri);

  w->timeout_id = 0;
  watch_finish (w, NULL, NULL, error);
  return G_SOURCE_REMOVE;
}

void
lia_ui_sent_watch (EMailSession *session, const char *folder_uri, const char *message_id, guint timeout_s,
                   LiaUiSentFunc func, gpointer user_data, GDestroyNotify destroy)
{
  LiaUiSentWatch *w;
  g_autofree char *header = NULL;

  g_return_if_fail (E_IS_MAIL_SESSION (session) && folder_uri != NULL && message_id != NULL);
  w = g_new0 (LiaUiSentWatch, 1);
  w->refs = 1; /* held while it runs, dropped by watch_finish() */
  w->session = g_object_ref (session);
  w->folder_uri = g_strdup (folder_uri);
  w->message_id = g_strdup (message_id);
  /* The summary hashes the header's value, angle brackets and all. */
  header = g_strdup_printf ("<%s>", message_id);
  w->hash = camel_folder_search_util_hash_message_id (header, TRUE);
  w->cancellable = g_cancellable_new ();
  w->queued = g_ptr_array_new_with_free_func (g_free);
  w->func = func;
  w->user_data = user_data;
  w->destroy = destroy;
  w->timeout_id = g_timeout_add_seconds (timeout_s, on_timeout, w);
  e_mail_session_uri_to_folder (session, folder_uri, 0, G_PRIORITY_DEFAULT, w->cancellable, on_folder,
                                watch_ref (w));
}
