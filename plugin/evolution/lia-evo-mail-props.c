/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail adapter: writing Liaison's properties into a message's user
 * tags and flags, and the burst saves of the async writes. */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-internal.h"

/* Sets (@value) or removes (NULL) the tag @name in @tags, as
 * camel_message_info_set_user_tag() does on the info. */
static void
put_tag (CamelNameValueArray *tags, const char *name, const char *value)
{
  if (value != NULL)
    camel_name_value_array_set_named (tags, CAMEL_COMPARE_CASE_SENSITIVE, name, value);
  else
    camel_name_value_array_remove_named (tags, CAMEL_COMPARE_CASE_SENSITIVE, name, FALSE);
}

/* Writes; returns (transfer full) the place id and signature after the
 * write for the watch, or NULL with @error. With @out_folder the summary
 * is left unsaved and *out_folder (transfer full) is the folder to save
 * before the write counts as done (a burst saves once); without it the
 * folder is saved here. */
static gboolean
write_props (LiaEvoMail *mail, const char *item_id, const LiaItem *fields, const LiaHostProps *props,
             char **out_place, char **out_sig, CamelFolder **out_folder, GCancellable *cancellable,
             GError **error)
{
  g_autofree char *uid = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  LiaValue *regarding = fields != NULL ? lia_item_get (fields, "regarding") : NULL;
  CamelNameValueArray *tags;

  f = lia_evo_mail_locate (mail, item_id, &uid, &info, cancellable, error);
  if (f == NULL)
    return FALSE;
  /* One batch: the folder reports one change. Camel's thaw saves the
   * summary (and counts the folder's messages in its db): a write of a
   * burst leaves that to the burst's save and relies on Camel merging the
   * changes that are not yet emitted instead. */
  if (out_folder == NULL)
    camel_folder_freeze (f);
  /* Every tag of the write in one array, taken in one call: each
   * camel_message_info_set_user_tag() dirties the info and queues a folder
   * change of its own (6 to 9 per write). The tracked flag joins them: with
   * the info's notifications frozen, the flag and the tags make one
   * summary update and one queued change when thawed. */
  camel_message_info_freeze_notifications (info);
  tags = camel_message_info_dup_user_tags (info);
  if (tags == NULL)
    tags = camel_name_value_array_new ();
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      g_autofree char *owned = NULL;
      const char *value = NULL;

      if (!(props->mask & (1u << p)))
        continue;
      switch ((LiaHostProp) p)
        {
        case LIA_HOST_PROP_LINK_STATE:
          /* State 0 is the absence of the tag: untracked mail carries
           * nothing of ours. The item id is kept while linked, so that the
           * message keeps its id when it moves. */
          if (props->link_state != LIA_LINK_STATE_NONE)
            value = owned = g_strdup_printf ("%u", (guint) props->link_state);
          camel_message_info_set_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED,
                                            props->link_state == LIA_LINK_STATE_TRACKED);
          put_tag (tags, TAG_ITEM_ID, props->link_state != LIA_LINK_STATE_NONE ? item_id : NULL);
          break;
        case LIA_HOST_PROP_CRM_ID:
          value = props->crm_id;
          break;
        case LIA_HOST_PROP_CRM_ORG:
          value = props->crm_org;
          break;
        case LIA_HOST_PROP_ORIGINAL:
          if (props->original != NULL)
            value = owned = g_base64_encode ((const guchar *) props->original, strlen (props->original));
          break;
        case LIA_HOST_PROP_REGARDING:
          value = props->regarding_id;
          put_tag (tags, TAG_REGARDING_NAME, props->regarding_id != NULL ? props->regarding_name : NULL);
          put_tag (tags, TAG_REGARDING_ENTITY,
                   props->regarding_id != NULL && regarding != NULL
                           && lia_value_get_kind (regarding) == LIA_VALUE_REFERENCE
                       ? lia_entity_to_string (lia_value_get_reference_entity (regarding))
                       : NULL);
          break;
        case LIA_HOST_PROP_N:
        default:
          break;
        }
      put_tag (tags, lia_evo_mail_tag_names[p], value);
    }
  {
    g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time ());

    put_tag (tags, TAG_MODIFIED, now);
  }
  camel_message_info_take_user_tags (info, g_steal_pointer (&tags));
  camel_message_info_thaw_notifications (info);
  if (out_folder == NULL)
    camel_folder_thaw (f);
  g_atomic_int_inc (&mail->change_stamp);
  if (out_place != NULL)
    *out_place =
        lia_evo_mail_item_id (lia_evo_mail_get_store_uid (mail), camel_folder_get_full_name (f), uid);
  if (out_sig != NULL)
    *out_sig = lia_evo_mail_info_sig (info);
  if (out_folder != NULL)
    {
      *out_folder = g_steal_pointer (&f);
      return TRUE;
    }
  if (!camel_folder_synchronize_sync (f, FALSE, cancellable, error))
    {
      lia_evo_mail_translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  return TRUE;
}

gboolean
lia_evo_mail_write_props_sync (LiaEvoMail *mail, const char *item_id, const LiaItem *fields,
                               const LiaHostProps *props, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (mail != NULL && item_id != NULL && props != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return write_props (mail, item_id, fields, props, NULL, NULL, NULL, cancellable, error);
}

/* A write runs in a worker (the inner task, its data the caller's task)
 * and leaves the summary unsaved; back in the caller's context it joins
 * the burst of writes done, which one save completes when no write of the
 * burst is still running (the caller posts a page's writes in one go, so
 * they finish in one burst). The caller's task completes after that save:
 * host first, cache second holds for every write. */
#define SAVE_AT_MOST 1024 /* writes waiting for one save, in a long stream */

static void
write_props_thread (GTask *inner, gpointer source, gpointer data, GCancellable *cancellable)
{
  LiaEvoMailCall *call = g_task_get_task_data (G_TASK (data));
  GError *error = NULL;
  CamelFolder *folder = NULL;

  if (write_props (call->mail, call->item_id, call->fields, &call->props, &call->place, &call->sig, &folder,
                   cancellable, &error))
    g_task_return_pointer (inner, folder, g_object_unref);
  else
    g_task_return_error (inner, error);
}

typedef struct
{
  LiaEvoMail *mail;  /* borrowed */
  GPtrArray *tasks;  /* owned: the callers' tasks this save completes */
  GHashTable *dirty; /* owned: CamelFolder (ref) -> NULL */
} Save;

static void
save_free (Save *save)
{
  g_ptr_array_unref (save->tasks);
  g_hash_table_unref (save->dirty);
  g_free (save);
}

static void
save_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Save *save = data;
  GHashTableIter iter;
  gpointer folder;
  GError *error = NULL;
  CamelProvider *provider = camel_service_get_provider (CAMEL_SERVICE (save->mail->store));
  /* A local store keeps tags and user flags in its summary alone: saving
   * the summary is the write (its synchronize would also rescan the whole
   * maildir). A remote store's synchronize takes the flags to the server. */
  gboolean remote = provider == NULL || (provider->flags & CAMEL_PROVIDER_IS_REMOTE) != 0;
  gint64 t0 = g_get_monotonic_time ();

  g_hash_table_iter_init (&iter, save->dirty);
  while (g_hash_table_iter_next (&iter, &folder, NULL))
    {
      GError *local = NULL;
      gboolean ok = remote ? camel_folder_synchronize_sync (folder, FALSE, NULL, &local)
                           : camel_folder_summary_save (camel_folder_get_folder_summary (folder), &local);

      if (!ok)
        {
          g_debug ("saving folder \"%s\": %s", camel_folder_get_full_name (folder), local->message);
          if (error == NULL)
            error = local;
          else
            g_error_free (local);
        }
    }
  g_debug ("mail: %u folder(s) saved for %u write(s) in %.1f ms", g_hash_table_size (save->dirty),
           save->tasks->len, (g_get_monotonic_time () - t0) / 1000.0);
  if (error != NULL)
    {
      lia_evo_mail_translate_error (&error, LIA_ERROR_UNAVAILABLE);
      g_task_return_error (task, error);
    }
  else
    g_task_return_boolean (task, TRUE);
}

static void save_start_locked (LiaEvoMail *mail);

static void
save_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Save *save = g_task_get_task_data (G_TASK (result));
  LiaEvoMail *mail = save->mail;
  g_autoptr (GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  for (guint i = 0; i < save->tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (save->tasks, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
  g_mutex_lock (&mail->lock);
  mail->saving = FALSE;
  /* Writes that finished during this save and are the last of theirs. */
  if (mail->unsaved->len > 0 && (mail->writes_running == 0 || mail->unsaved->len >= SAVE_AT_MOST))
    save_start_locked (mail);
  g_mutex_unlock (&mail->lock);
}

/* Saves the folders of the writes done so far, then completes them. */
static void
save_start_locked (LiaEvoMail *mail)
{
  Save *save = g_new0 (Save, 1);
  g_autoptr (GTask) task = g_task_new (NULL, NULL, save_done, NULL);

  save->mail = mail;
  save->tasks = g_steal_pointer (&mail->unsaved);
  save->dirty = g_steal_pointer (&mail->dirty);
  mail->unsaved = g_ptr_array_new_with_free_func (g_object_unref);
  mail->dirty = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  mail->saving = TRUE;
  g_task_set_source_tag (task, save_start_locked);
  g_task_set_name (task, "[liaison] save mail folders");
  g_task_set_task_data (task, save, (GDestroyNotify) save_free);
  g_task_run_in_thread (task, save_thread);
}

static void
write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LiaEvoMailCall *call = g_task_get_task_data (task);
  LiaEvoMail *mail = call->mail;
  GError *error = NULL;
  CamelFolder *folder = g_task_propagate_pointer (G_TASK (result), &error);

  g_mutex_lock (&mail->lock);
  mail->writes_running--;
  if (folder != NULL)
    {
      g_hash_table_add (mail->dirty, folder);
      g_ptr_array_add (mail->unsaved, g_object_ref (task));
    }
  if (!mail->saving && mail->unsaved->len > 0
      && (mail->writes_running == 0 || mail->unsaved->len >= SAVE_AT_MOST))
    save_start_locked (mail);
  g_mutex_unlock (&mail->lock);
  if (folder == NULL)
    g_task_return_error (task, error);
}

static void
pending_add (LiaEvoMail *mail, const char *item_id, gint delta)
{
  gint n = GPOINTER_TO_INT (g_hash_table_lookup (mail->pending, item_id)) + delta;

  if (n <= 0)
    g_hash_table_remove (mail->pending, item_id);
  else
    g_hash_table_insert (mail->pending, g_strdup (item_id), GINT_TO_POINTER (n));
}

void
lia_evo_mail_write_props_async (LiaEvoMail *mail, const char *item_id, const LiaItem *fields,
                                const LiaHostProps *props, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  LiaEvoMailCall *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL && props != NULL);
  task = lia_evo_mail_call_task (mail, lia_evo_mail_write_props_async, "[liaison] write mail properties",
                                 cancellable, callback, user_data, &call);
  call->item_id = g_strdup (item_id);
  call->fields = fields != NULL ? lia_item_copy (fields) : NULL;
  lia_host_props_copy (&call->props, props);
  /* While it runs, the message's changes are ours (echo suppression). */
  if (mail->notify != NULL)
    {
      call->echo = TRUE;
      pending_add (mail, item_id, 1);
    }
  {
    g_autoptr (GTask) inner = g_task_new (NULL, cancellable, write_done, g_object_ref (task));

    g_task_set_source_tag (inner, write_props_thread);
    g_task_set_name (inner, "[liaison] write mail properties");
    /* A write made is a write to save, cancelled or not. */
    g_task_set_check_cancellable (inner, FALSE);
    g_task_set_task_data (inner, g_object_ref (task), g_object_unref);
    g_mutex_lock (&mail->lock);
    mail->writes_running++;
    g_mutex_unlock (&mail->lock);
    g_task_run_in_thread (inner, write_props_thread);
  }
}

gboolean
lia_evo_mail_write_props_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  LiaEvoMailCall *call;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_write_props_async, FALSE);
  call = g_task_get_task_data (G_TASK (result));
  if (call->echo)
    {
      pending_add (mail, call->item_id, -1);
      call->echo = FALSE;
      /* Camel reports the change at low priority, possibly after this:
       * what we wrote is what the watch knows now, so it is no change. */
      if (call->place != NULL && call->sig != NULL && mail->notify != NULL)
        {
          LiaEvoMailSeen *s = g_new0 (LiaEvoMailSeen, 1);

          s->item_id = g_strdup (call->item_id);
          s->sig = g_strdup (call->sig);
          s->state = call->props.mask & (1u << LIA_HOST_PROP_LINK_STATE) ? call->props.link_state
                                                                         : LIA_LINK_STATE_NONE;
          {
            LiaEvoMailSeen *old = g_hash_table_lookup (mail->seen, call->place);

            if (old != NULL && !(call->props.mask & (1u << LIA_HOST_PROP_LINK_STATE)))
              s->state = old->state;
          }
          g_hash_table_insert (mail->seen, g_strdup (call->place), s);
        }
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}
