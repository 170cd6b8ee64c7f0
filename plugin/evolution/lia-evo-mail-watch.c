/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail adapter: notifications of the watched folders (main
 * context). */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-internal.h"

void
lia_evo_mail_seen_free (LiaEvoMailSeen *s)
{
  g_free (s->item_id);
  g_free (s->sig);
  g_free (s);
}

/* ---- Notifications (main context) ---- */

static void
emit (LiaEvoMail *mail, LiaHostEvent event, const char *folder_id, const char *item_id,
      const char *old_folder_id, LiaLinkState state)
{
  LiaHostNotification n = { LIA_HOST_ABI_VERSION,
                            event,
                            lia_evo_mail_get_store_id (mail),
                            folder_id,
                            item_id,
                            old_folder_id != NULL ? lia_evo_mail_get_store_id (mail) : NULL,
                            old_folder_id,
                            LIA_ENTITY_EMAIL,
                            state };

  if (mail->notify != NULL)
    mail->notify (&n, mail->notify_data);
}

/* Remembers what the watch saw of @info at @place; returns the previous
 * signature (transfer full, nullable). */
static char *
remember (LiaEvoMail *mail, const char *place, const char *item_id, CamelMessageInfo *info)
{
  LiaEvoMailSeen *old = g_hash_table_lookup (mail->seen, place);
  char *prev = old != NULL ? g_strdup (old->sig) : NULL;
  LiaEvoMailSeen *s = g_new0 (LiaEvoMailSeen, 1);

  s->item_id = g_strdup (item_id);
  s->sig = lia_evo_mail_info_sig (info);
  s->state = lia_evo_mail_info_link_state (info);
  g_hash_table_insert (mail->seen, g_strdup (place), s);
  return prev;
}

/* A tracked message left a folder: found again by its id, it moved. */
typedef struct
{
  LiaEvoMail *mail;
  char *item_id;    /* owned */
  char *old_folder; /* owned: folder id */
  LiaLinkState state;
  char *new_folder; /* owned: result */
} Gone;

static void
gone_free (Gone *g)
{
  g_free (g->item_id);
  g_free (g->old_folder);
  g_free (g->new_folder);
  g_free (g);
}

static void
gone_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Gone *g = data;
  g_autofree char *uid = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (CamelFolder) f = lia_evo_mail_locate (g->mail, g->item_id, &uid, &info, cancellable, NULL);

  if (f != NULL)
    g->new_folder =
        lia_evo_mail_folder_id (lia_evo_mail_get_store_uid (g->mail), camel_folder_get_full_name (f));
  g_task_return_boolean (task, TRUE);
  g_atomic_int_dec_and_test (&g->mail->in_flight);
}

static void
gone_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Gone *g = g_task_get_task_data (G_TASK (res));

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))))
    return;
  if (g->new_folder != NULL && g_strcmp0 (g->new_folder, g->old_folder) != 0)
    emit (g->mail, LIA_HOST_EVENT_MOVED, g->new_folder, g->item_id, g->old_folder, g->state);
  else if (g->new_folder == NULL)
    emit (g->mail, LIA_HOST_EVENT_DELETED, g->old_folder, g->item_id, NULL, g->state);
}

static void
on_folder_changed (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer user_data)
{
  LiaEvoMail *mail = user_data;
  const char *store_uid = lia_evo_mail_get_store_uid (mail);
  g_autofree char *folder_id = lia_evo_mail_folder_id (store_uid, camel_folder_get_full_name (folder));
  GPtrArray *added = camel_folder_change_info_get_added_uids (changes);
  GPtrArray *changed = camel_folder_change_info_get_changed_uids (changes);
  GPtrArray *removed = camel_folder_change_info_get_removed_uids (changes);

  if (mail->notify == NULL)
    return;
  for (guint i = 0; added != NULL && i < added->len; i++)
    {
      const char *uid = g_ptr_array_index (added, i);
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (folder, uid);
      g_autofree char *place = lia_evo_mail_item_id (store_uid, camel_folder_get_full_name (folder), uid);
      g_autofree char *id = NULL;
      g_autofree char *prev = NULL;

      if (info == NULL)
        continue;
      id = lia_evo_mail_info_item_id (mail, folder, info);
      prev = remember (mail, place, id, info);
      if (g_hash_table_contains (mail->pending, id))
        continue;
      /* Already there when the watch began: Camel loading the summary. */
      {
        GHashTable *initial = g_hash_table_lookup (mail->initial, folder);

        if (initial != NULL && g_hash_table_remove (initial, uid))
          continue;
      }
      /* A tracked message filed here from elsewhere keeps its id. */
      if (!g_str_equal (id, place))
        {
          g_autofree char *old_store = NULL;
          g_autofree char *old_full = NULL;
          g_autofree char *old_uid = NULL;
          g_autofree char *old_folder = NULL;

          if (lia_evo_mail_parse_item_id (id, &old_store, &old_full, &old_uid))
            old_folder = lia_evo_mail_folder_id (old_store, old_full);
          emit (mail, LIA_HOST_EVENT_MOVED, folder_id, id, old_folder, lia_evo_mail_info_link_state (info));
        }
      else
        emit (mail, LIA_HOST_EVENT_CREATED, folder_id, id, NULL, lia_evo_mail_info_link_state (info));
    }
  for (guint i = 0; changed != NULL && i < changed->len; i++)
    {
      const char *uid = g_ptr_array_index (changed, i);
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (folder, uid);
      g_autofree char *place = lia_evo_mail_item_id (store_uid, camel_folder_get_full_name (folder), uid);
      g_autofree char *id = NULL;
      g_autofree char *prev = NULL;
      g_autofree char *now = NULL;

      if (info == NULL)
        continue;
      id = lia_evo_mail_info_item_id (mail, folder, info);
      now = lia_evo_mail_info_sig (info);
      prev = remember (mail, place, id, info);
      if (g_hash_table_contains (mail->pending, id))
        continue;
      /* Unknown before: an untracked message, which has no properties. */
      if (g_strcmp0 (prev != NULL ? prev : "0\x1f\x1f\x1f\x1f\x1f", now) == 0)
        continue;
      emit (mail, LIA_HOST_EVENT_MODIFIED, folder_id, id, NULL, lia_evo_mail_info_link_state (info));
    }
  for (guint i = 0; removed != NULL && i < removed->len; i++)
    {
      const char *uid = g_ptr_array_index (removed, i);
      g_autofree char *place = lia_evo_mail_item_id (store_uid, camel_folder_get_full_name (folder), uid);
      LiaEvoMailSeen *s = g_hash_table_lookup (mail->seen, place);
      g_autofree char *id = g_strdup (s != NULL ? s->item_id : place);
      LiaLinkState state = s != NULL ? s->state : LIA_LINK_STATE_NONE;

      g_hash_table_remove (mail->seen, place);
      if (state == LIA_LINK_STATE_NONE)
        {
          emit (mail, LIA_HOST_EVENT_DELETED, folder_id, id, NULL, state);
          continue;
        }
      /* Linked: moved or deleted? Searching is I/O: a worker decides. */
      {
        g_autoptr (GTask) task = g_task_new (NULL, mail->watch_cancellable, gone_done, NULL);
        Gone *g = g_new0 (Gone, 1);

        g->mail = mail;
        g->item_id = g_steal_pointer (&id);
        g->old_folder = g_strdup (folder_id);
        g->state = state;
        g_task_set_source_tag (task, on_folder_changed);
        g_task_set_name (task, "[liaison] find a moved message");
        g_task_set_task_data (task, g, (GDestroyNotify) gone_free);
        g_atomic_int_inc (&mail->in_flight);
        g_task_run_in_thread (task, gone_thread);
      }
    }
}

/* Opens the folders to watch and reads what is linked in them (worker). */
typedef struct
{
  LiaEvoMail *mail;
  GPtrArray *names;   /* owned: full names */
  gboolean refresh;   /* refresh a folder not open yet (the defaults) */
  GPtrArray *folders; /* owned: result, CamelFolder */
  GHashTable *seen;   /* owned: result, place -> LiaEvoMailSeen */
  GPtrArray *uids;    /* owned: result, per folder: GHashTable of its uids */
} Open;

static void
open_free (Open *o)
{
  g_ptr_array_unref (o->names);
  g_ptr_array_unref (o->folders);
  g_hash_table_unref (o->seen);
  g_ptr_array_unref (o->uids);
  g_free (o);
}

static void
open_run (GTask *task, Open *o, GCancellable *cancellable)
{
  GError *error = NULL;

  for (guint i = 0; i < o->names->len; i++)
    {
      g_autoptr (CamelFolder) f = lia_evo_mail_open_folder (o->mail, g_ptr_array_index (o->names, i),
                                                            o->refresh, cancellable, &error);
      GPtrArray *uids;

      if (f == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      uids = lia_evo_mail_all_uids (f, cancellable, &error);
      if (uids == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      for (guint k = 0; k < uids->len; k++)
        {
          g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, g_ptr_array_index (uids, k));
          LiaEvoMailSeen *s;

          if (info == NULL || lia_evo_mail_info_link_state (info) == LIA_LINK_STATE_NONE)
            continue;
          s = g_new0 (LiaEvoMailSeen, 1);
          s->item_id = lia_evo_mail_info_item_id (o->mail, f, info);
          s->sig = lia_evo_mail_info_sig (info);
          s->state = lia_evo_mail_info_link_state (info);
          g_hash_table_insert (o->seen,
                               lia_evo_mail_item_id (lia_evo_mail_get_store_uid (o->mail),
                                                     camel_folder_get_full_name (f),
                                                     camel_message_info_get_uid (info)),
                               s);
        }
      {
        GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

        for (guint k = 0; k < uids->len; k++)
          g_hash_table_add (set, g_strdup (g_ptr_array_index (uids, k)));
        g_ptr_array_add (o->uids, set);
      }
      camel_folder_search_free (f, uids);
      g_ptr_array_add (o->folders, g_steal_pointer (&f));
    }
  g_task_return_boolean (task, TRUE);
}

static void
open_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Open *o = data;
  LiaEvoMail *mail = o->mail;

  open_run (task, o, cancellable);
  g_atomic_int_dec_and_test (&mail->in_flight);
}

static void
connect_folders (LiaEvoMail *mail, Open *o)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_hash_table_iter_init (&iter, o->seen);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      /* Stolen: key and value pass to mail->seen as they are. */
      if (!g_hash_table_contains (mail->seen, key))
        {
          g_hash_table_iter_steal (&iter);
          g_hash_table_insert (mail->seen, key, value);
        }
    }
  for (guint i = 0; i < o->folders->len; i++)
    {
      CamelFolder *f = g_ptr_array_index (o->folders, i);

      if (g_hash_table_contains (mail->watched, f))
        continue;
      g_debug ("watching mail folder \"%s\"", camel_folder_get_full_name (f));
      g_hash_table_insert (mail->initial, g_object_ref (f),
                           g_hash_table_ref (g_ptr_array_index (o->uids, i)));
      g_hash_table_insert (
          mail->watched, g_object_ref (f),
          GUINT_TO_POINTER (g_signal_connect (f, "changed", G_CALLBACK (on_folder_changed), mail)));
    }
}

static GTask *
open_task (LiaEvoMail *mail, GPtrArray *names, GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Open *o = g_new0 (Open, 1);

  o->mail = mail;
  o->names = names;
  o->refresh = TRUE;
  o->folders = g_ptr_array_new_with_free_func (g_object_unref);
  o->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lia_evo_mail_seen_free);
  o->uids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_task_set_name (task, "[liaison] open mail folders");
  g_task_set_task_data (task, o, (GDestroyNotify) open_free);
  g_atomic_int_inc (&mail->in_flight);
  return task;
}

void
lia_evo_mail_watch_async (LiaEvoMail *mail, LiaEvoMailNotifyFunc func, gpointer func_data,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && func != NULL);
  g_mutex_lock (&mail->lock);
  for (guint i = 0; i < LIA_EVO_MAIL_N; i++)
    if (mail->resolved[i] != NULL)
      g_ptr_array_add (names, g_strdup (mail->resolved[i]));
  g_mutex_unlock (&mail->lock);
  if (mail->context == NULL)
    mail->context = g_main_context_ref_thread_default ();
  if (g_cancellable_is_cancelled (mail->watch_cancellable))
    {
      g_object_unref (mail->watch_cancellable);
      mail->watch_cancellable = g_cancellable_new ();
    }
  mail->notify = func;
  mail->notify_data = func_data;
  task = open_task (mail, names, cancellable, callback, user_data);
  g_task_set_source_tag (task, lia_evo_mail_watch_async);
  g_task_run_in_thread (task, open_thread);
}

gboolean
lia_evo_mail_watch_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  Open *o;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  o = g_task_get_task_data (G_TASK (result));
  if (mail->notify != NULL)
    connect_folders (mail, o);
  return TRUE;
}

static void
watch_folder_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LiaEvoMail *mail = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("cannot watch a mail folder: %s", error->message);
      return;
    }
  if (mail->notify != NULL)
    connect_folders (mail, g_task_get_task_data (G_TASK (res)));
}

void
lia_evo_mail_watch_folder (LiaEvoMail *mail, CamelStore *store, const char *full_name)
{
  GPtrArray *names;
  g_autoptr (GTask) task = NULL;
  GHashTableIter iter;
  gpointer folder;

  g_return_if_fail (mail != NULL);
  if (mail->notify == NULL || store != mail->store || full_name == NULL)
    return;
  g_hash_table_iter_init (&iter, mail->watched);
  while (g_hash_table_iter_next (&iter, &folder, NULL))
    if (g_strcmp0 (camel_folder_get_full_name (folder), full_name) == 0)
      return;
  names = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (names, g_strdup (full_name));
  task = open_task (mail, names, mail->watch_cancellable, watch_folder_done, mail);
  /* Evolution announces every folder of an account at start: opening
   * them as their summaries have them costs no server round trip, and the
   * folder's next refresh (Evolution's) is what the watch reports. */
  ((Open *) g_task_get_task_data (task))->refresh = FALSE;
  g_task_set_source_tag (task, lia_evo_mail_watch_folder);
  g_task_run_in_thread (task, open_thread);
}

void
lia_evo_mail_unwatch (LiaEvoMail *mail)
{
  GHashTableIter iter;
  gpointer folder;
  gpointer handler;

  if (mail == NULL)
    return;
  mail->notify = NULL;
  mail->notify_data = NULL;
  g_cancellable_cancel (mail->watch_cancellable);
  g_hash_table_iter_init (&iter, mail->watched);
  while (g_hash_table_iter_next (&iter, &folder, &handler))
    g_signal_handler_disconnect (folder, GPOINTER_TO_UINT (handler));
  g_hash_table_remove_all (mail->watched);
  g_hash_table_remove_all (mail->seen);
  g_hash_table_remove_all (mail->pending);
  g_hash_table_remove_all (mail->initial);
  g_clear_pointer (&mail->context, g_main_context_unref);
}
