/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "lia-test-host.h"

typedef struct
{
  char *id;
  char *store;
  char *folder;
  LiaItem *item;
  gint64 modified_at;
  gboolean is_draft;
  LiaHostProps props;
} TestItem;

struct _LiaTestMailbox
{
  gatomicrefcount ref;
  LiaClock *clock;   /* owned */
  GHashTable *items; /* owned: id -> TestItem */
  guint next_id;
  /* The contents table of the last folder read, newest first, valid while
   * the generation is unchanged: a scanner reads page after page. */
  guint64 generation;
  guint64 sorted_generation;
  char *sorted_key;  /* owned: "store/folder" */
  GPtrArray *sorted; /* owned array of borrowed TestItem */
  /* When set, every change is written to this directory before the call
   * that made it returns, as a real client's store is durable: a process
   * killed at any instant leaves the items it had written. */
  char *autosave_dir; /* owned, nullable */
};

struct _LiaTestHost
{
  LiaTestMailbox *mailbox; /* owned */
  LiaTestNotifyFunc notify;
  gpointer notify_data;
  gboolean drop;
  guint n_calls;
};

static void
test_item_free (TestItem *ti)
{
  g_free (ti->id);
  g_free (ti->store);
  g_free (ti->folder);
  lia_item_free (ti->item);
  lia_host_props_clear (&ti->props);
  g_free (ti);
}

const char *
lia_test_folder_for (LiaEntity entity)
{
  switch (entity)
    {
    case LIA_ENTITY_CONTACT:
      return "contacts";
    case LIA_ENTITY_APPOINTMENT:
    case LIA_ENTITY_RECURRING_APPOINTMENT:
    case LIA_ENTITY_SERVICE_APPOINTMENT:
      return "calendar";
    case LIA_ENTITY_TASK:
    case LIA_ENTITY_PHONE_CALL:
    case LIA_ENTITY_LETTER:
    case LIA_ENTITY_FAX:
      return "tasks";
    case LIA_ENTITY_EMAIL:
      return "inbox";
    case LIA_ENTITY_ACCOUNT:
    case LIA_ENTITY_LEAD:
    case LIA_ENTITY_OPPORTUNITY:
    case LIA_ENTITY_INCIDENT:
    case LIA_ENTITY_N:
    default:
      return NULL;
    }
}

LiaTestMailbox *
lia_test_mailbox_new (LiaClock *clock)
{
  LiaTestMailbox *mb = g_new0 (LiaTestMailbox, 1);

  g_atomic_ref_count_init (&mb->ref);
  mb->clock = clock != NULL ? lia_clock_ref (clock) : lia_clock_new_system ();
  mb->items = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) test_item_free);
  mb->next_id = 1;
  mb->generation = 1;
  return mb;
}

LiaTestMailbox *
lia_test_mailbox_ref (LiaTestMailbox *mailbox)
{
  g_atomic_ref_count_inc (&mailbox->ref);
  return mailbox;
}

void
lia_test_mailbox_unref (LiaTestMailbox *mailbox)
{
  if (mailbox == NULL || !g_atomic_ref_count_dec (&mailbox->ref))
    return;
  g_clear_pointer (&mailbox->sorted, g_ptr_array_unref);
  g_free (mailbox->sorted_key);
  g_free (mailbox->autosave_dir);
  g_hash_table_unref (mailbox->items);
  lia_clock_unref (mailbox->clock);
  g_free (mailbox);
}

static void mailbox_persist (LiaTestMailbox *mb, const char *item_id);

static void
mailbox_changed (LiaTestMailbox *mb, const char *item_id)
{
  mb->generation++;
  if (mb->autosave_dir != NULL)
    mailbox_persist (mb, item_id);
}

static TestItem *
mailbox_add (LiaTestMailbox *mb, const char *store, const char *folder, const LiaItem *item,
             gboolean is_draft, const LiaHostProps *props)
{
  TestItem *ti = g_new0 (TestItem, 1);

  ti->id = g_strdup_printf ("item-%08u", mb->next_id++);
  ti->store = g_strdup (store);
  ti->folder = g_strdup (folder);
  ti->item = lia_item_copy (item);
  ti->modified_at = lia_clock_now (mb->clock);
  ti->is_draft = is_draft;
  if (props != NULL)
    lia_host_props_copy (&ti->props, props);
  g_hash_table_insert (mb->items, ti->id, ti);
  mailbox_changed (mb, ti->id);
  return ti;
}

static void
props_merge (LiaHostProps *dest, const LiaHostProps *src)
{
  if (src->mask & (1u << LIA_HOST_PROP_LINK_STATE))
    dest->link_state = src->link_state;
  if (src->mask & (1u << LIA_HOST_PROP_CRM_ID))
    g_free (dest->crm_id), dest->crm_id = g_strdup (src->crm_id);
  if (src->mask & (1u << LIA_HOST_PROP_CRM_ORG))
    g_free (dest->crm_org), dest->crm_org = g_strdup (src->crm_org);
  if (src->mask & (1u << LIA_HOST_PROP_ORIGINAL))
    g_free (dest->original), dest->original = g_strdup (src->original);
  if (src->mask & (1u << LIA_HOST_PROP_REGARDING))
    {
      g_free (dest->regarding_id);
      g_free (dest->regarding_name);
      dest->regarding_id = g_strdup (src->regarding_id);
      dest->regarding_name = g_strdup (src->regarding_name);
    }
  dest->mask |= src->mask;
}

static LiaHostItem *
test_item_dup (const TestItem *ti)
{
  LiaHostItem *hi = lia_host_item_new (ti->store, ti->folder, ti->id, ti->item);

  hi->modified_at = ti->modified_at;
  hi->is_draft = ti->is_draft;
  lia_host_props_copy (&hi->props, &ti->props);
  return hi;
}

/* Persistence: a directory holding mailbox.ini (the next id) and one key
 * file per item under items/, each replaced atomically, so that saving one
 * changed item costs one small file whatever the mailbox's size. */

static char *
item_path (const char *dir, const char *item_id)
{
  g_autofree char *name = g_strconcat (item_id, ".ini", NULL);

  return g_build_filename (dir, "items", name, NULL);
}

static gboolean
save_next_id (LiaTestMailbox *mailbox, const char *dir, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = g_build_filename (dir, "mailbox.ini", NULL);

  g_key_file_set_uint64 (kf, "mailbox", "next-id", mailbox->next_id);
  return g_key_file_save_to_file (kf, path, error);
}

static gboolean
save_item (const TestItem *ti, const char *dir, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = item_path (dir, ti->id);
  g_autofree char *xml = lia_original_encode (ti->item, NULL, error);
  const char *g = "item";

  if (xml == NULL)
    return FALSE;
  g_key_file_set_string (kf, g, "store", ti->store);
  g_key_file_set_string (kf, g, "folder", ti->folder);
  g_key_file_set_string (kf, g, "fields", xml);
  g_key_file_set_int64 (kf, g, "modified", ti->modified_at);
  g_key_file_set_boolean (kf, g, "draft", ti->is_draft);
  g_key_file_set_uint64 (kf, g, "mask", ti->props.mask);
  g_key_file_set_uint64 (kf, g, "link-state", ti->props.link_state);
  g_key_file_set_string (kf, g, "crm-id", ti->props.crm_id ? ti->props.crm_id : "");
  g_key_file_set_string (kf, g, "crm-org", ti->props.crm_org ? ti->props.crm_org : "");
  g_key_file_set_string (kf, g, "original", ti->props.original ? ti->props.original : "");
  g_key_file_set_string (kf, g, "regarding-id", ti->props.regarding_id ? ti->props.regarding_id : "");
  g_key_file_set_string (kf, g, "regarding-name", ti->props.regarding_name ? ti->props.regarding_name : "");
  return g_key_file_save_to_file (kf, path, error);
}

static gboolean
make_dirs (const char *dir, GError **error)
{
  g_autofree char *items = g_build_filename (dir, "items", NULL);

  if (g_mkdir_with_parents (items, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create \"%s\"", items);
      return FALSE;
    }
  return TRUE;
}

/* The test host has no caller to report to: a write that cannot be saved
 * makes the test that asked for durability fail loudly. */
static void
mailbox_persist (LiaTestMailbox *mb, const char *item_id)
{
  g_autoptr (GError) error = NULL;
  const TestItem *ti = g_hash_table_lookup (mb->items, item_id);

  if (ti != NULL)
    {
      if (!save_item (ti, mb->autosave_dir, &error) || !save_next_id (mb, mb->autosave_dir, &error))
        g_critical ("test mailbox: cannot save \"%s\": %s", item_id, error->message);
    }
  else
    {
      g_autofree char *path = item_path (mb->autosave_dir, item_id);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_critical ("test mailbox: cannot remove \"%s\": %s", path, g_strerror (errno));
    }
}

gboolean
lia_test_mailbox_save (LiaTestMailbox *mailbox, const char *dir, GError **error)
{
  g_autofree char *items = g_build_filename (dir, "items", NULL);
  g_autoptr (GDir) d = NULL;
  GHashTableIter iter;
  gpointer value;
  const char *name;

  if (!make_dirs (dir, error))
    return FALSE;
  /* Files of items deleted since an earlier save go first. */
  d = g_dir_open (items, 0, error);
  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *id = g_str_has_suffix (name, ".ini") ? g_strndup (name, strlen (name) - 4) : NULL;

      if (id != NULL && !g_hash_table_contains (mailbox->items, id))
        {
          g_autofree char *path = g_build_filename (items, name, NULL);

          g_unlink (path);
        }
    }
  g_hash_table_iter_init (&iter, mailbox->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!save_item (value, dir, error))
      return FALSE;
  return save_next_id (mailbox, dir, error);
}

gboolean
lia_test_mailbox_set_autosave (LiaTestMailbox *mailbox, const char *dir, GError **error)
{
  if (!lia_test_mailbox_save (mailbox, dir, error))
    return FALSE;
  g_free (mailbox->autosave_dir);
  mailbox->autosave_dir = g_strdup (dir);
  return TRUE;
}

static char *
kf_dup_nonempty (GKeyFile *kf, const char *group, const char *key)
{
  g_autofree char *s = g_key_file_get_string (kf, group, key, NULL);

  return s != NULL && *s != '\0' ? g_steal_pointer (&s) : NULL;
}

static TestItem *
load_item (const char *path, const char *id, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *xml = NULL;
  const char *g = "item";
  TestItem *ti;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return NULL;
  xml = g_key_file_get_string (kf, g, "fields", error);
  if (xml == NULL)
    return NULL;
  ti = g_new0 (TestItem, 1);
  ti->id = g_strdup (id);
  ti->store = g_key_file_get_string (kf, g, "store", NULL);
  ti->folder = g_key_file_get_string (kf, g, "folder", NULL);
  ti->item = lia_original_decode (xml, strlen (xml), error);
  if (ti->item == NULL)
    {
      test_item_free (ti);
      return NULL;
    }
  ti->modified_at = g_key_file_get_int64 (kf, g, "modified", NULL);
  ti->is_draft = g_key_file_get_boolean (kf, g, "draft", NULL);
  ti->props.mask = (guint) g_key_file_get_uint64 (kf, g, "mask", NULL);
  ti->props.link_state = (LiaLinkState) g_key_file_get_uint64 (kf, g, "link-state", NULL);
  ti->props.crm_id = kf_dup_nonempty (kf, g, "crm-id");
  ti->props.crm_org = kf_dup_nonempty (kf, g, "crm-org");
  ti->props.original = kf_dup_nonempty (kf, g, "original");
  ti->props.regarding_id = kf_dup_nonempty (kf, g, "regarding-id");
  ti->props.regarding_name = kf_dup_nonempty (kf, g, "regarding-name");
  return ti;
}

LiaTestMailbox *
lia_test_mailbox_load (const char *dir, LiaClock *clock, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = g_build_filename (dir, "mailbox.ini", NULL);
  g_autofree char *items = g_build_filename (dir, "items", NULL);
  g_autoptr (LiaTestMailbox) mb = NULL;
  g_autoptr (GDir) d = NULL;
  const char *name;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return NULL;
  d = g_dir_open (items, 0, error);
  if (d == NULL)
    return NULL;
  mb = lia_test_mailbox_new (clock);
  mb->next_id = (guint) g_key_file_get_uint64 (kf, "mailbox", "next-id", NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *item_file = g_build_filename (items, name, NULL);
      g_autofree char *id = NULL;
      TestItem *ti;

      /* g_file_set_contents() leaves "NAME.XXXXXX" temporaries behind
       * only when killed between write and rename: not items. */
      if (!g_str_has_suffix (name, ".ini"))
        continue;
      id = g_strndup (name, strlen (name) - 4);
      ti = load_item (item_file, id, error);
      if (ti == NULL)
        return NULL;
      /* An item is saved before the next id: a kill between the two
       * leaves next-id naming a saved item, which must not be reused. */
      if (g_str_has_prefix (id, "item-"))
        {
          guint64 n = g_ascii_strtoull (id + 5, NULL, 10);

          if (n < G_MAXUINT && n >= mb->next_id)
            mb->next_id = (guint) n + 1;
        }
      g_hash_table_insert (mb->items, ti->id, ti);
    }
  return g_steal_pointer (&mb);
}

/* Hosts */

LiaTestHost *
lia_test_host_new (LiaTestMailbox *mailbox)
{
  LiaTestHost *host = g_new0 (LiaTestHost, 1);

  host->mailbox = lia_test_mailbox_ref (mailbox);
  return host;
}

void
lia_test_host_free (LiaTestHost *host)
{
  if (host == NULL)
    return;
  lia_test_mailbox_unref (host->mailbox);
  g_free (host);
}

LiaTestMailbox *
lia_test_host_get_mailbox (LiaTestHost *host)
{
  return host->mailbox;
}

void
lia_test_host_set_notify (LiaTestHost *host, LiaTestNotifyFunc func, gpointer user_data)
{
  host->notify = func;
  host->notify_data = user_data;
}

void
lia_test_host_set_drop_notifications (LiaTestHost *host, gboolean drop)
{
  host->drop = drop;
}

guint
lia_test_host_get_n_calls (LiaTestHost *host)
{
  return host->n_calls;
}

static void
host_notify (LiaTestHost *host, LiaHostEvent event, const TestItem *ti, const char *old_store,
             const char *old_folder)
{
  LiaHostNotification n = { LIA_HOST_ABI_VERSION,
                            event,
                            ti->store,
                            ti->folder,
                            ti->id,
                            old_store,
                            old_folder,
                            lia_item_get_entity (ti->item),
                            ti->props.link_state };

  if (host->notify != NULL && !host->drop)
    host->notify (&n, host->notify_data);
}

char *
lia_test_host_user_create (LiaTestHost *host, const char *store, const char *folder, const LiaItem *item,
                           gboolean is_draft)
{
  TestItem *ti = mailbox_add (host->mailbox, store, folder, item, is_draft, NULL);

  host_notify (host, LIA_HOST_EVENT_CREATED, ti, NULL, NULL);
  return g_strdup (ti->id);
}

gboolean
lia_test_host_user_edit (LiaTestHost *host, const char *item_id, const char *field, const char *text)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  if (ti == NULL || !lia_item_set_text (ti->item, field, text, NULL))
    return FALSE;
  ti->modified_at = lia_clock_now (host->mailbox->clock);
  mailbox_changed (host->mailbox, ti->id);
  host_notify (host, LIA_HOST_EVENT_MODIFIED, ti, NULL, NULL);
  return TRUE;
}

gboolean
lia_test_host_user_set (LiaTestHost *host, const char *item_id, const char *field, const LiaValue *value)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  if (ti == NULL || !lia_item_set (ti->item, field, (LiaValue *) value, NULL))
    return FALSE;
  ti->modified_at = lia_clock_now (host->mailbox->clock);
  mailbox_changed (host->mailbox, ti->id);
  host_notify (host, LIA_HOST_EVENT_MODIFIED, ti, NULL, NULL);
  return TRUE;
}

gboolean
lia_test_host_user_set_props (LiaTestHost *host, const char *item_id, const LiaHostProps *props)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  if (ti == NULL)
    return FALSE;
  props_merge (&ti->props, props);
  ti->modified_at = lia_clock_now (host->mailbox->clock);
  mailbox_changed (host->mailbox, ti->id);
  host_notify (host, LIA_HOST_EVENT_MODIFIED, ti, NULL, NULL);
  return TRUE;
}

gboolean
lia_test_host_user_delete (LiaTestHost *host, const char *item_id)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);
  LiaHostNotification n = { LIA_HOST_ABI_VERSION, LIA_HOST_EVENT_DELETED, NULL, NULL, item_id, NULL, NULL };
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;

  if (ti == NULL)
    return FALSE;
  store = g_strdup (ti->store);
  folder = g_strdup (ti->folder);
  n.store = store;
  n.folder = folder;
  n.entity = lia_item_get_entity (ti->item);
  n.link_state = ti->props.link_state;
  g_hash_table_remove (host->mailbox->items, item_id);
  mailbox_changed (host->mailbox, item_id);
  if (host->notify != NULL && !host->drop)
    host->notify (&n, host->notify_data);
  return TRUE;
}

gboolean
lia_test_host_user_move (LiaTestHost *host, const char *item_id, const char *store, const char *folder)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);
  g_autofree char *old_store = NULL;
  g_autofree char *old_folder = NULL;

  if (ti == NULL)
    return FALSE;
  old_store = g_steal_pointer (&ti->store);
  old_folder = g_steal_pointer (&ti->folder);
  ti->store = g_strdup (store);
  ti->folder = g_strdup (folder);
  ti->modified_at = lia_clock_now (host->mailbox->clock);
  mailbox_changed (host->mailbox, ti->id);
  host_notify (host, LIA_HOST_EVENT_MOVED, ti, old_store, old_folder);
  return TRUE;
}

char *
lia_test_host_user_move_new_id (LiaTestHost *host, const char *item_id, const char *store, const char *folder,
                                gboolean report_move)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);
  g_autofree char *old_id = NULL;
  g_autofree char *old_store = NULL;
  g_autofree char *old_folder = NULL;
  LiaHostNotification n = { LIA_HOST_ABI_VERSION };

  if (ti == NULL)
    return NULL;
  g_hash_table_steal (host->mailbox->items, item_id);
  old_id = g_steal_pointer (&ti->id);
  old_store = g_steal_pointer (&ti->store);
  old_folder = g_steal_pointer (&ti->folder);
  /* Like a MAPI store or an IMAP folder: the item gets the id of its new
   * place; its fields and named properties travel with it. */
  ti->id = g_strdup_printf ("item-%08u", host->mailbox->next_id++);
  ti->store = g_strdup (store);
  ti->folder = g_strdup (folder);
  /* The modification time stays, as IMAP, Maildir and vCard REV keep it:
   * a scan that stops at the watermark does not see the moved item. */
  g_hash_table_insert (host->mailbox->items, ti->id, ti);
  mailbox_changed (host->mailbox, old_id);
  mailbox_changed (host->mailbox, ti->id);
  n.entity = lia_item_get_entity (ti->item);
  n.link_state = ti->props.link_state;
  if (host->notify != NULL && !host->drop)
    {
      if (report_move)
        {
          n.event = LIA_HOST_EVENT_MOVED;
          n.store = ti->store;
          n.folder = ti->folder;
          n.item_id = ti->id;
          n.old_store = old_store;
          n.old_folder = old_folder;
          n.old_item_id = old_id;
          host->notify (&n, host->notify_data);
        }
      else
        {
          /* A client that cannot report moves: a delete, then a create. */
          n.event = LIA_HOST_EVENT_DELETED;
          n.store = old_store;
          n.folder = old_folder;
          n.item_id = old_id;
          host->notify (&n, host->notify_data);
          host_notify (host, LIA_HOST_EVENT_CREATED, ti, NULL, NULL);
        }
    }
  return g_strdup (ti->id);
}

LiaHostItem *
lia_test_host_dup_item (LiaTestHost *host, const char *item_id)
{
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  return ti != NULL ? test_item_dup (ti) : NULL;
}

GPtrArray *
lia_test_host_list_items (LiaTestHost *host, const char *store, const char *folder)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_item_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, host->mailbox->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const TestItem *ti = value;

      if (g_str_equal (ti->store, store) && (folder == NULL || g_str_equal (ti->folder, folder)))
        g_ptr_array_add (out, test_item_dup (ti));
    }
  return out;
}

guint
lia_test_host_count_items (LiaTestHost *host, const char *store, const char *folder)
{
  g_autoptr (GPtrArray) items = lia_test_host_list_items (host, store, folder);

  return items->len;
}

LiaHostItem *
lia_test_host_find (LiaTestHost *host, const char *folder, const char *field, const char *text)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, host->mailbox->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const TestItem *ti = value;
      const char *have = lia_item_get_text (ti->item, field);

      if (g_str_equal (ti->folder, folder) && have != NULL && g_str_equal (have, text))
        return test_item_dup (ti);
    }
  return NULL;
}

/* The vtable. Each start call does its work and completes through a GTask,
 * which runs the callback from the caller's main context later, never
 * inside the start call: what the engine must cope with in real hosts. */

static char *
vt_dup_primary_store (gpointer h)
{
  return g_strdup (LIA_TEST_STORE);
}

static char *
vt_dup_default_folder (gpointer h, const char *store, LiaEntity entity)
{
  if (!g_str_equal (store, LIA_TEST_STORE))
    return NULL;
  return g_strdup (lia_test_folder_for (entity));
}

static gint
row_newest_first (gconstpointer a, gconstpointer b)
{
  const TestItem *x = *(const TestItem *const *) a;
  const TestItem *y = *(const TestItem *const *) b;

  if (x->modified_at != y->modified_at)
    return x->modified_at > y->modified_at ? -1 : 1;
  return -strcmp (x->id, y->id);
}

static void
vt_read_contents (gpointer h, const char *store, const char *folder, guint offset, guint limit,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  LiaTestHost *host = h;
  LiaTestMailbox *mb = host->mailbox;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *key = g_strdup_printf ("%s/%s", store, folder);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);

  host->n_calls++;
  /* A real client keeps its contents table indexed by modification time.
   * The first pages after a change (what the scanner reads) are selected
   * without sorting the whole folder; deeper reads sort once and reuse. */
  if ((mb->sorted == NULL || mb->sorted_generation != mb->generation || g_strcmp0 (mb->sorted_key, key) != 0)
      && offset + limit <= 1000)
    {
      g_autoptr (GPtrArray) top = g_ptr_array_new ();
      guint want = offset + limit;
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, mb->items);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          const TestItem *ti = value;
          guint at;

          if (!g_str_equal (ti->store, store) || !g_str_equal (ti->folder, folder))
            continue;
          if (top->len == want && row_newest_first (&value, &top->pdata[want - 1]) >= 0)
            continue;
          /* Insertion into the sorted top: want is small. */
          at = top->len;
          while (at > 0 && row_newest_first (&value, &top->pdata[at - 1]) < 0)
            at--;
          g_ptr_array_insert (top, (gint) at, value);
          if (top->len > want)
            g_ptr_array_remove_index (top, top->len - 1);
        }
      for (guint i = offset; i < top->len; i++)
        {
          const TestItem *ti = g_ptr_array_index (top, i);

          g_ptr_array_add (
              rows, lia_host_row_new (ti->id, ti->modified_at, ti->props.link_state, ti->props.crm_id));
        }
      g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  if (mb->sorted == NULL || mb->sorted_generation != mb->generation || g_strcmp0 (mb->sorted_key, key) != 0)
    {
      GHashTableIter iter;
      gpointer value;

      g_clear_pointer (&mb->sorted, g_ptr_array_unref);
      mb->sorted = g_ptr_array_new ();
      g_hash_table_iter_init (&iter, mb->items);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          const TestItem *ti = value;

          if (g_str_equal (ti->store, store) && g_str_equal (ti->folder, folder))
            g_ptr_array_add (mb->sorted, value);
        }
      g_ptr_array_sort (mb->sorted, row_newest_first);
      g_free (mb->sorted_key);
      mb->sorted_key = g_steal_pointer (&key);
      mb->sorted_generation = mb->generation;
    }
  for (guint i = offset; i < mb->sorted->len && i - offset < limit; i++)
    {
      const TestItem *ti = g_ptr_array_index (mb->sorted, i);

      g_ptr_array_add (rows,
                       lia_host_row_new (ti->id, ti->modified_at, ti->props.link_state, ti->props.crm_id));
    }
  g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

static GPtrArray *
vt_read_contents_finish (gpointer h, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
vt_read_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
              GAsyncReadyCallback callback, gpointer user_data)
{
  LiaTestHost *host = h;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  host->n_calls++;
  if (ti == NULL)
    g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
  else
    g_task_return_pointer (task, test_item_dup (ti), (GDestroyNotify) lia_host_item_free);
}

static LiaHostItem *
vt_read_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
vt_write_item (gpointer h, const char *store, const char *item_id, const LiaItem *fields,
               const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data)
{
  LiaTestHost *host = h;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  TestItem *ti = g_hash_table_lookup (host->mailbox->items, item_id);

  host->n_calls++;
  if (ti == NULL)
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return;
    }
  if (fields != NULL && lia_item_get_entity (fields) != lia_item_get_entity (ti->item))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_INVALID, "item \"%s\" is of another entity",
                               item_id);
      return;
    }
  if (fields != NULL)
    {
      lia_item_free (ti->item);
      ti->item = lia_item_copy (fields);
    }
  if (props != NULL)
    props_merge (&ti->props, props);
  /* A write by the plugin is a modification like any other. */
  ti->modified_at = lia_clock_now (host->mailbox->clock);
  mailbox_changed (host->mailbox, ti->id);
  g_task_return_boolean (task, TRUE);
}

static gboolean
vt_bool_finish (gpointer h, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
vt_create_item (gpointer h, const char *store, const char *folder, const LiaItem *item,
                const LiaHostProps *props, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data)
{
  LiaTestHost *host = h;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  TestItem *ti = mailbox_add (host->mailbox, store, folder, item, FALSE, props);

  host->n_calls++;
  g_task_return_pointer (task, g_strdup (ti->id), g_free);
}

static char *
vt_create_item_finish (gpointer h, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
vt_delete_item (gpointer h, const char *store, const char *item_id, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
  LiaTestHost *host = h;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  host->n_calls++;
  if (!g_hash_table_remove (host->mailbox->items, item_id))
    {
      g_task_return_new_error (task, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return;
    }
  mailbox_changed (host->mailbox, item_id);
  g_task_return_boolean (task, TRUE);
}

static const LiaHostVTable test_vtable = {
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
};

const LiaHostVTable *
lia_test_host_get_vtable (void)
{
  return &test_vtable;
}
