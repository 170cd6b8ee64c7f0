/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-private.h"

/* User tags, indexed by LiaHostProp; regarding takes three (id, name,
 * entity). The original is base64 so that no byte of OriginalXML depends
 * on how a summary backend stores tag values. */
static const char *const tag_names[] = {
  [LIA_HOST_PROP_LINK_STATE] = "liaison-link-state",  [LIA_HOST_PROP_CRM_ID] = "liaison-crm-id",
  [LIA_HOST_PROP_CRM_ORG] = "liaison-crm-org",        [LIA_HOST_PROP_ORIGINAL] = "liaison-original",
  [LIA_HOST_PROP_REGARDING] = "liaison-regarding-id",
};
G_STATIC_ASSERT (G_N_ELEMENTS (tag_names) == LIA_HOST_PROP_N);
#define TAG_REGARDING_NAME "liaison-regarding-name"
#define TAG_REGARDING_ENTITY "liaison-regarding-entity"
/* The item id the message was tracked under (see lia-evo-mail.h). */
#define TAG_ITEM_ID "liaison-item-id"
/* When Liaison last wrote the message's properties (microseconds): Camel
 * keeps no modification time, and a message marked long after it arrived
 * must sort as changed now (R-DET-SCAN). */
#define TAG_MODIFIED "liaison-modified"

static void translate_error (GError **error, LiaErrorCode code);

/* ---- A session for processes that are not Evolution ---- */

/* CamelSession does everything a local store needs; the subclass answers
 * password requests of remote stores with the password set on the service
 * (camel_service_set_password()), or fails: a standalone process never
 * prompts. */
#define LIA_TYPE_EVO_MAIL_SESSION (lia_evo_mail_session_get_type ())
G_DECLARE_FINAL_TYPE (LiaEvoMailSession, lia_evo_mail_session, LIA, EVO_MAIL_SESSION, CamelSession)

struct _LiaEvoMailSession
{
  CamelSession parent_instance;
};

G_DEFINE_TYPE (LiaEvoMailSession, lia_evo_mail_session, CAMEL_TYPE_SESSION)

static char *
session_get_password (CamelSession *session, CamelService *service, const char *prompt, const char *item,
                      guint32 flags, GError **error)
{
  char *password = camel_service_dup_password (service);

  if (password == NULL || (flags & CAMEL_SESSION_PASSWORD_REPROMPT) != 0)
    {
      g_free (password);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "no password for \"%s\"",
                   camel_service_get_display_name (service));
      return NULL;
    }
  return password;
}

/* One attempt with the password set on the service: a standalone process
 * never prompts (Evolution's session asks the keyring and the user). */
static gboolean
session_authenticate_sync (CamelSession *session, CamelService *service, const char *mechanism,
                           GCancellable *cancellable, GError **error)
{
  switch (camel_service_authenticate_sync (service, mechanism, cancellable, error))
    {
    case CAMEL_AUTHENTICATION_ACCEPTED:
      return TRUE;
    case CAMEL_AUTHENTICATION_REJECTED:
      g_set_error (error, CAMEL_SERVICE_ERROR, CAMEL_SERVICE_ERROR_CANT_AUTHENTICATE,
                   "\"%s\" rejected the password", camel_service_get_display_name (service));
      return FALSE;
    case CAMEL_AUTHENTICATION_ERROR:
    default:
      return FALSE;
    }
}

/* New mail in an Inbox goes through the session's filters; a standalone
 * session has none (Evolution's own session runs the user's). */
static CamelFilterDriver *
session_get_filter_driver (CamelSession *session, const char *type, CamelFolder *for_folder, GError **error)
{
  return camel_filter_driver_new (session);
}

static void
lia_evo_mail_session_class_init (LiaEvoMailSessionClass *klass)
{
  CAMEL_SESSION_CLASS (klass)->get_password = session_get_password;
  CAMEL_SESSION_CLASS (klass)->authenticate_sync = session_authenticate_sync;
  CAMEL_SESSION_CLASS (klass)->get_filter_driver = session_get_filter_driver;
}

static void
lia_evo_mail_session_init (LiaEvoMailSession *self)
{
}

CamelSession *
lia_evo_mail_session_new (const char *data_dir, const char *cache_dir)
{
  static gsize inited = 0;

  g_return_val_if_fail (data_dir != NULL && cache_dir != NULL, NULL);
  if (g_once_init_enter (&inited))
    {
      /* No NSS: local stores need no certificates, and a local test
       * server runs without TLS. */
      camel_init (data_dir, FALSE);
      /* Evolution loads the provider modules at start-up; a standalone
       * process must, or no store protocol is known. */
      camel_provider_init ();
      g_once_init_leave (&inited, 1);
    }
  /* Online: a remote store of a standalone process connects when asked
   * (Evolution's session follows the network monitor). */
  return g_object_new (LIA_TYPE_EVO_MAIL_SESSION, "user-data-dir", data_dir, "user-cache-dir", cache_dir,
                       "online", TRUE, NULL);
}

CamelStore *
lia_evo_mail_add_maildir_sync (CamelSession *session, const char *uid, const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (CamelService) service = NULL;
  g_autoptr (CamelSettings) settings = NULL;

  g_return_val_if_fail (CAMEL_IS_SESSION (session), NULL);
  g_return_val_if_fail (uid != NULL && path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  service = camel_session_add_service (session, uid, "maildir", CAMEL_PROVIDER_STORE, &local);
  if (service == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "cannot open maildir \"%s\": %s", path,
                   local != NULL ? local->message : "no maildir provider");
      return NULL;
    }
  if (!CAMEL_IS_STORE (service))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "service \"%s\" is not a store", uid);
      return NULL;
    }
  settings = camel_service_ref_settings (service);
  camel_local_settings_set_path (CAMEL_LOCAL_SETTINGS (settings), path);
  return CAMEL_STORE (g_steal_pointer (&service));
}

/* ---- The adapter ---- */

typedef struct
{
  gint stamp;
  GPtrArray *rows; /* owned: LiaHostRow */
} Listing;

static void
listing_free (Listing *l)
{
  g_ptr_array_unref (l->rows);
  g_free (l);
}

/* What the watch remembers of a message it saw (main context). */
typedef struct
{
  char *item_id; /* owned: the id it is known by (its tag, or its place) */
  char *sig;     /* owned: its Liaison properties, for change detection */
  LiaLinkState state;
} Seen;

static void
seen_free (Seen *s)
{
  g_free (s->item_id);
  g_free (s->sig);
  g_free (s);
}

struct _LiaEvoMail
{
  CamelStore *store;     /* owned */
  char *account_address; /* owned, nullable */
  char *host_store;      /* owned, nullable */
  GMutex lock;
  char *configured[LIA_EVO_MAIL_N]; /* owned, nullable: full names; guarded by lock */
  char *resolved[LIA_EVO_MAIL_N];   /* owned, nullable: full names; guarded by lock */
  /* Folders once opened stay open so that their summaries (and the
   * properties written into them) live until lia_evo_mail_free(). */
  GHashTable *folders; /* owned: full name -> CamelFolder; guarded by lock */
  /* A folder's contents table, sorted, for the pages after the first
   * while no folder reported a change (EVOLUTION.md's scan recipe: a scan
   * starts from a fresh listing and reads on without relisting). */
  GHashTable *listings; /* owned: full name -> Listing; guarded by lock */
  gint change_stamp;    /* atomic: bumped by every change of an open folder */

  /* Watching (main context). */
  GMainContext *context; /* owned, nullable: the watching context */
  LiaEvoMailNotifyFunc notify;
  gpointer notify_data;
  GHashTable *watched; /* owned: CamelFolder (ref) -> handler id */
  GHashTable *seen;    /* owned: place id -> Seen */
  GHashTable *pending; /* owned: item id -> count of own writes in flight */
  /* The uids each watched folder held when the watch began: Camel reports
   * its first load of a summary as added messages, after the handler is
   * connected; those are not new mail. */
  GHashTable *initial;             /* owned: CamelFolder (ref) -> GHashTable of uids */
  GCancellable *watch_cancellable; /* owned */
  /* Watch workers still running (they borrow the adapter): free waits. */
  gint in_flight;

  /* Property writes save their folders' summaries once per burst: a
   * write completes after the save that covers it (guarded by lock). */
  guint writes_running; /* async writes posted, not yet written */
  GPtrArray *unsaved;   /* owned: GTask (ref) of writes done, not saved */
  GHashTable *dirty;    /* owned: CamelFolder (ref) the unsaved wrote to */
  gboolean saving;      /* a save is running */
};

LiaEvoMail *
lia_evo_mail_new (CamelStore *store, const char *account_address)
{
  LiaEvoMail *mail;

  g_return_val_if_fail (CAMEL_IS_STORE (store), NULL);
  mail = g_new0 (LiaEvoMail, 1);
  mail->store = g_object_ref (store);
  mail->account_address = g_strdup (account_address);
  g_mutex_init (&mail->lock);
  mail->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  mail->listings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) listing_free);
  mail->watched = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  mail->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) seen_free);
  mail->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  mail->initial = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                         (GDestroyNotify) g_hash_table_unref);
  mail->watch_cancellable = g_cancellable_new ();
  mail->unsaved = g_ptr_array_new_with_free_func (g_object_unref);
  mail->dirty = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  return mail;
}

void
lia_evo_mail_free (LiaEvoMail *mail)
{
  GHashTableIter iter;
  gpointer folder;

  if (mail == NULL)
    return;
  lia_evo_mail_unwatch (mail);
  while (g_atomic_int_get (&mail->in_flight) > 0)
    g_usleep (1000);
  g_hash_table_iter_init (&iter, mail->folders);
  while (g_hash_table_iter_next (&iter, NULL, &folder))
    {
      g_autoptr (GError) error = NULL;

      /* Writes were saved when made; this only catches what Camel itself
       * changed meanwhile (a refresh), so a failure is worth a line. */
      g_signal_handlers_disconnect_by_data (folder, &mail->change_stamp);
      if (!camel_folder_synchronize_sync (folder, FALSE, NULL, &error))
        g_debug ("saving folder \"%s\": %s", camel_folder_get_full_name (folder), error->message);
    }
  g_hash_table_unref (mail->folders);
  g_hash_table_unref (mail->listings);
  g_hash_table_unref (mail->watched);
  g_hash_table_unref (mail->seen);
  g_hash_table_unref (mail->pending);
  g_hash_table_unref (mail->initial);
  g_ptr_array_unref (mail->unsaved);
  g_hash_table_unref (mail->dirty);
  g_object_unref (mail->watch_cancellable);
  g_mutex_clear (&mail->lock);
  g_object_unref (mail->store);
  for (guint i = 0; i < LIA_EVO_MAIL_N; i++)
    {
      g_free (mail->configured[i]);
      g_free (mail->resolved[i]);
    }
  g_free (mail->account_address);
  g_free (mail->host_store);
  g_free (mail);
}

const char *
lia_evo_mail_get_store_uid (LiaEvoMail *mail)
{
  return camel_service_get_uid (CAMEL_SERVICE (mail->store));
}

void
lia_evo_mail_set_host_store (LiaEvoMail *mail, const char *store_id)
{
  g_free (mail->host_store);
  mail->host_store = g_strdup (store_id);
}

const char *
lia_evo_mail_get_store_id (LiaEvoMail *mail)
{
  return mail->host_store != NULL ? mail->host_store : lia_evo_mail_get_store_uid (mail);
}

/* ---- Ids ---- */

char *
lia_evo_mail_folder_id (const char *store_uid, const char *full_name)
{
  g_autofree char *s = NULL;
  g_autofree char *f = NULL;

  if (store_uid == NULL || full_name == NULL)
    return NULL;
  s = g_uri_escape_string (store_uid, NULL, TRUE);
  f = g_uri_escape_string (full_name, NULL, TRUE);
  return g_strconcat (LIA_EVO_MAIL_PREFIX, s, "/", f, NULL);
}

char *
lia_evo_mail_item_id (const char *store_uid, const char *full_name, const char *uid)
{
  g_autofree char *folder = lia_evo_mail_folder_id (store_uid, full_name);
  g_autofree char *u = NULL;

  if (folder == NULL || uid == NULL)
    return NULL;
  u = g_uri_escape_string (uid, NULL, TRUE);
  return g_strconcat (folder, "/", u, NULL);
}

/* Splits @id after the prefix into exactly @n unescaped, non-empty parts. */
static char **
split_id (const char *id, guint n)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  if (id == NULL || !g_str_has_prefix (id, LIA_EVO_MAIL_PREFIX))
    return NULL;
  parts = g_strsplit (id + strlen (LIA_EVO_MAIL_PREFIX), "/", -1);
  if (g_strv_length (parts) != n)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *part = g_uri_unescape_string (parts[i], NULL);

      if (part == NULL || *part == '\0')
        return NULL;
      g_strv_builder_add (b, part);
    }
  return g_strv_builder_end (b);
}

gboolean
lia_evo_mail_parse_folder_id (const char *folder_id, char **out_store_uid, char **out_full_name)
{
  g_auto (GStrv) parts = split_id (folder_id, 2);

  if (parts == NULL)
    return FALSE;
  *out_store_uid = g_strdup (parts[0]);
  *out_full_name = g_strdup (parts[1]);
  return TRUE;
}

gboolean
lia_evo_mail_parse_item_id (const char *item_id, char **out_store_uid, char **out_full_name, char **out_uid)
{
  g_auto (GStrv) parts = split_id (item_id, 3);

  if (parts == NULL)
    return FALSE;
  *out_store_uid = g_strdup (parts[0]);
  *out_full_name = g_strdup (parts[1]);
  *out_uid = g_strdup (parts[2]);
  return TRUE;
}

gboolean
lia_evo_mail_owns_id (LiaEvoMail *mail, const char *id)
{
  g_autofree char *prefix = NULL;
  g_autofree char *s = NULL;

  if (mail == NULL || id == NULL)
    return FALSE;
  s = g_uri_escape_string (lia_evo_mail_get_store_uid (mail), NULL, TRUE);
  prefix = g_strconcat (LIA_EVO_MAIL_PREFIX, s, "/", NULL);
  return g_str_has_prefix (id, prefix);
}

/* The full name in @id (folder or item id) when it is one of ours. */
static char *
own_full_name (LiaEvoMail *mail, const char *id, gboolean is_item, char **out_uid)
{
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autofree char *uid = NULL;
  gboolean ok = is_item ? lia_evo_mail_parse_item_id (id, &store, &full, &uid)
                        : lia_evo_mail_parse_folder_id (id, &store, &full);

  if (!ok || g_strcmp0 (store, lia_evo_mail_get_store_uid (mail)) != 0)
    return NULL;
  if (out_uid != NULL)
    *out_uid = g_steal_pointer (&uid);
  return g_steal_pointer (&full);
}

/* Camel's errors become LIA_ERROR once, here. */
static void
translate_error (GError **error, LiaErrorCode code)
{
  GError *e = error != NULL ? *error : NULL;

  if (e == NULL || e->domain == LIA_ERROR || g_error_matches (e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (e, CAMEL_FOLDER_ERROR, CAMEL_FOLDER_ERROR_INVALID_UID)
      || g_error_matches (e, CAMEL_STORE_ERROR, CAMEL_STORE_ERROR_NO_FOLDER)
      || g_error_matches (e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    code = LIA_ERROR_NOT_FOUND;
  e->domain = LIA_ERROR;
  e->code = code;
}

/* ---- Default folders ---- */

void
lia_evo_mail_set_configured_folders (LiaEvoMail *mail, const char *sent, const char *drafts)
{
  g_mutex_lock (&mail->lock);
  g_free (mail->configured[LIA_EVO_MAIL_SENT]);
  g_free (mail->configured[LIA_EVO_MAIL_DRAFTS]);
  mail->configured[LIA_EVO_MAIL_SENT] = sent != NULL && *sent != '\0' ? g_strdup (sent) : NULL;
  mail->configured[LIA_EVO_MAIL_DRAFTS] = drafts != NULL && *drafts != '\0' ? g_strdup (drafts) : NULL;
  g_mutex_unlock (&mail->lock);
}

char *
lia_evo_mail_folder_name_from_uri (LiaEvoMail *mail, const char *uri)
{
  g_autofree char *uid = NULL;
  g_autofree char *prefix = NULL;
  char *name;

  if (mail == NULL || uri == NULL)
    return NULL;
  /* Evolution writes the uid unescaped (e_mail_folder_uri_build()). */
  uid = g_strdup (lia_evo_mail_get_store_uid (mail));
  prefix = g_strconcat ("folder://", uid, "/", NULL);
  if (!g_str_has_prefix (uri, prefix))
    return NULL;
  name = g_uri_unescape_string (uri + strlen (prefix), NULL);
  if (name != NULL && *name == '\0')
    g_clear_pointer (&name, g_free);
  return name;
}

static void
find_types (CamelFolderInfo *fi, char **found)
{
  for (; fi != NULL; fi = fi->next)
    {
      guint32 type = fi->flags & CAMEL_FOLDER_TYPE_MASK;
      LiaEvoMailFolder which = type == CAMEL_FOLDER_TYPE_INBOX    ? LIA_EVO_MAIL_INBOX
                               : type == CAMEL_FOLDER_TYPE_SENT   ? LIA_EVO_MAIL_SENT
                               : type == CAMEL_FOLDER_TYPE_DRAFTS ? LIA_EVO_MAIL_DRAFTS
                                                                  : LIA_EVO_MAIL_N;

      if (which != LIA_EVO_MAIL_N && found[which] == NULL && !(fi->flags & CAMEL_FOLDER_NOSELECT))
        found[which] = g_strdup (fi->full_name);
      find_types (fi->child, found);
    }
}

gboolean
lia_evo_mail_resolve_folders_sync (LiaEvoMail *mail, GCancellable *cancellable, GError **error)
{
  char *found[LIA_EVO_MAIL_N] = { NULL };
  CamelFolderInfo *fi;

  g_return_val_if_fail (mail != NULL, FALSE);
  /* A remote store of a standalone session starts offline (Evolution's
   * session brings its stores online itself). */
  if (CAMEL_IS_OFFLINE_STORE (mail->store))
    {
      g_autoptr (CamelSession) session = camel_service_ref_session (CAMEL_SERVICE (mail->store));

      if (!camel_offline_store_get_online (CAMEL_OFFLINE_STORE (mail->store)) && session != NULL
          && camel_session_get_online (session)
          && !camel_offline_store_set_online_sync (CAMEL_OFFLINE_STORE (mail->store), TRUE, cancellable,
                                                   error))
        {
          translate_error (error, LIA_ERROR_UNAVAILABLE);
          return FALSE;
        }
    }
  if (CAMEL_IS_NETWORK_SERVICE (mail->store)
      && !camel_service_connect_sync (CAMEL_SERVICE (mail->store), cancellable, error))
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  /* REFRESH: an IMAP store answers from its summary otherwise, which
   * lacks the SPECIAL-USE types until its first background LIST. */
  fi = camel_store_get_folder_info_sync (mail->store, NULL,
                                         CAMEL_STORE_FOLDER_INFO_RECURSIVE | CAMEL_STORE_FOLDER_INFO_REFRESH,
                                         cancellable, error);
  if (fi == NULL && error != NULL && *error != NULL)
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return FALSE;
    }
  find_types (fi, found);
  camel_folder_info_free (fi);
  if (found[LIA_EVO_MAIL_INBOX] == NULL)
    {
      g_autoptr (CamelFolder) inbox = camel_store_get_inbox_folder_sync (mail->store, cancellable, NULL);

      if (inbox != NULL)
        found[LIA_EVO_MAIL_INBOX] = g_strdup (camel_folder_get_full_name (inbox));
    }
  g_mutex_lock (&mail->lock);
  for (guint i = 0; i < LIA_EVO_MAIL_N; i++)
    {
      g_free (mail->resolved[i]);
      mail->resolved[i] = mail->configured[i] != NULL ? g_strdup (mail->configured[i]) : found[i];
      if (mail->configured[i] != NULL)
        g_free (found[i]);
    }
  g_mutex_unlock (&mail->lock);
  return TRUE;
}

char *
lia_evo_mail_dup_folder (LiaEvoMail *mail, LiaEvoMailFolder which)
{
  char *id;

  g_return_val_if_fail (mail != NULL && which < LIA_EVO_MAIL_N, NULL);
  g_mutex_lock (&mail->lock);
  id = lia_evo_mail_folder_id (lia_evo_mail_get_store_uid (mail), mail->resolved[which]);
  g_mutex_unlock (&mail->lock);
  return id;
}

static gboolean
is_folder (LiaEvoMail *mail, const char *full_name, LiaEvoMailFolder which)
{
  gboolean is;

  g_mutex_lock (&mail->lock);
  is = mail->resolved[which] != NULL && g_strcmp0 (mail->resolved[which], full_name) == 0;
  g_mutex_unlock (&mail->lock);
  return is;
}

/* ---- Folders and messages ---- */

static void
on_any_change (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer stamp)
{
  g_atomic_int_inc ((gint *) stamp);
}

/* (transfer full) the open folder @name. The first open refreshes the
 * summary from disk, so messages delivered while no engine ran are seen. */
static CamelFolder *
ref_folder (LiaEvoMail *mail, const char *name, GCancellable *cancellable, GError **error)
{
  CamelFolder *folder;
  g_autoptr (CamelFolder) opened = NULL;

  g_mutex_lock (&mail->lock);
  folder = g_hash_table_lookup (mail->folders, name);
  if (folder != NULL)
    g_object_ref (folder);
  g_mutex_unlock (&mail->lock);
  if (folder != NULL)
    return folder;

  opened = camel_store_get_folder_sync (mail->store, name, 0, cancellable, error);
  if (opened == NULL)
    {
      translate_error (error, LIA_ERROR_NOT_FOUND);
      return NULL;
    }
  if (!camel_folder_refresh_info_sync (opened, cancellable, error))
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
      return NULL;
    }
  g_mutex_lock (&mail->lock);
  /* Another worker may have opened it meanwhile: keep the first. */
  folder = g_hash_table_lookup (mail->folders, name);
  if (folder == NULL)
    {
      folder = opened;
      g_hash_table_insert (mail->folders, g_strdup (name), g_object_ref (opened));
      g_signal_connect (opened, "changed", G_CALLBACK (on_any_change), &mail->change_stamp);
    }
  g_object_ref (folder);
  g_mutex_unlock (&mail->lock);
  return folder;
}

static LiaLinkState
info_link_state (CamelMessageInfo *info)
{
  const char *tag = camel_message_info_get_user_tag (info, tag_names[LIA_HOST_PROP_LINK_STATE]);
  guint64 n = 0;

  if (tag != NULL && g_ascii_string_to_unsigned (tag, 10, 0, LIA_LINK_STATE_N - 1, &n, NULL))
    return (LiaLinkState) n;
  /* The flag alone survives where tags are not kept (another client of
   * the same IMAP account). */
  if (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED))
    return LIA_LINK_STATE_TRACKED;
  return LIA_LINK_STATE_NONE;
}

/* Last-modified: when it arrived, or when Liaison last wrote its
 * properties if that is later. */
static gint64
info_modified_at (CamelMessageInfo *info)
{
  gint64 t = camel_message_info_get_date_received (info);
  const char *tag = camel_message_info_get_user_tag (info, TAG_MODIFIED);
  gint64 written = 0;

  if (t <= 0)
    t = camel_message_info_get_date_sent (info);
  t = t > 0 ? t * G_USEC_PER_SEC : 0;
  if (tag != NULL && g_ascii_string_to_signed (tag, 10, 0, G_MAXINT64, &written, NULL) && written > t)
    t = written;
  return t;
}

/* (transfer full) the id the message is known by: the id it was tracked
 * under, else its place. */
static char *
info_item_id (LiaEvoMail *mail, CamelFolder *folder, CamelMessageInfo *info)
{
  const char *tagged = camel_message_info_get_user_tag (info, TAG_ITEM_ID);

  if (tagged != NULL && lia_evo_mail_owns_id (mail, tagged))
    return g_strdup (tagged);
  return lia_evo_mail_item_id (lia_evo_mail_get_store_uid (mail), camel_folder_get_full_name (folder),
                               camel_message_info_get_uid (info));
}

/* The Liaison properties of a message as one string: a change of it is a
 * change of the item (an email's fields never change). */
static char *
info_sig (CamelMessageInfo *info)
{
  const char *const tags[] = { tag_names[LIA_HOST_PROP_CRM_ID], tag_names[LIA_HOST_PROP_CRM_ORG],
                               tag_names[LIA_HOST_PROP_REGARDING], TAG_REGARDING_NAME, TAG_ITEM_ID };
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%u", (guint) info_link_state (info));
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      const char *v = camel_message_info_get_user_tag (info, tags[i]);

      g_string_append_printf (s, "\x1f%s", v != NULL ? v : "");
    }
  return g_string_free (s, FALSE);
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

/* Every uid of @f from its summary (no message is opened). */
static GPtrArray *
all_uids (CamelFolder *f, GCancellable *cancellable, GError **error)
{
  GPtrArray *uids = camel_folder_search_by_expression (f, "(match-all #t)", cancellable, error);

  if (uids == NULL)
    translate_error (error, LIA_ERROR_UNAVAILABLE);
  return uids;
}

GPtrArray *
lia_evo_mail_read_contents_sync (LiaEvoMail *mail, const char *folder_id, guint offset, guint limit,
                                 GCancellable *cancellable, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *uids;
  GPtrArray *page;
  gint stamp = g_atomic_int_get (&mail->change_stamp);

  g_return_val_if_fail (mail != NULL && folder_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = own_full_name (mail, folder_id, FALSE, NULL);
  if (name == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no folder \"%s\"", folder_id);
      return NULL;
    }
  f = ref_folder (mail, name, cancellable, error);
  if (f == NULL)
    return NULL;
  if (offset > 0)
    {
      Listing *l;

      g_mutex_lock (&mail->lock);
      l = g_hash_table_lookup (mail->listings, name);
      if (l != NULL && l->stamp == stamp)
        all = g_ptr_array_ref (l->rows);
      g_mutex_unlock (&mail->lock);
      if (all != NULL)
        goto page;
    }
  /* The whole folder: sorting needs every date, and the summary answers
   * from memory or its db. */
  uids = all_uids (f, cancellable, error);
  if (uids == NULL)
    return NULL;
  all = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = 0; i < uids->len; i++)
    {
      g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, g_ptr_array_index (uids, i));
      g_autofree char *id = NULL;

      if (info == NULL)
        continue;
      id = info_item_id (mail, f, info);
      g_ptr_array_add (
          all, lia_host_row_new (id, info_modified_at (info), info_link_state (info),
                                 camel_message_info_get_user_tag (info, tag_names[LIA_HOST_PROP_CRM_ID])));
    }
  camel_folder_search_free (f, uids);
  g_ptr_array_sort (all, row_newest_first);
  {
    Listing *l = g_new0 (Listing, 1);

    l->stamp = stamp;
    l->rows = g_ptr_array_ref (all);
    g_mutex_lock (&mail->lock);
    g_hash_table_replace (mail->listings, g_strdup (name), l);
    g_mutex_unlock (&mail->lock);
  }
page:
  page = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_host_row_free);
  for (guint i = offset; i < all->len && i - offset < limit; i++)
    {
      const LiaHostRow *r = g_ptr_array_index (all, i);

      g_ptr_array_add (page, lia_host_row_new (r->item_id, r->modified_at, r->link_state, r->crm_id));
    }
  return page;
}

/* The search for a message by the id it was tracked under. Tested in
 * test-evolution-mail (/evolution-mail/search/expressions). */
static char *
tag_expression (const char *item_id)
{
  GString *s = g_string_new ("(match-all (= (user-tag \"" TAG_ITEM_ID "\") ");

  camel_sexp_encode_string (s, item_id);
  g_string_append (s, "))");
  return g_string_free (s, FALSE);
}

/* The first uid of @f whose tag names @item_id, or NULL. */
static char *
search_tag (CamelFolder *f, const char *item_id, GCancellable *cancellable)
{
  g_autofree char *expr = tag_expression (item_id);
  g_autoptr (GError) error = NULL;
  GPtrArray *uids = camel_folder_search_by_expression (f, expr, cancellable, &error);
  char *uid = NULL;

  if (uids == NULL)
    {
      g_debug ("searching \"%s\": %s", camel_folder_get_full_name (f), error->message);
      return NULL;
    }
  if (uids->len > 0)
    uid = g_strdup (g_ptr_array_index (uids, 0));
  camel_folder_search_free (f, uids);
  return uid;
}

static void
collect_names (CamelFolderInfo *fi, GPtrArray *names)
{
  for (; fi != NULL; fi = fi->next)
    {
      if (!(fi->flags & (CAMEL_FOLDER_NOSELECT | CAMEL_FOLDER_VIRTUAL)))
        g_ptr_array_add (names, g_strdup (fi->full_name));
      collect_names (fi->child, names);
    }
}

/* Whether @mail's store keeps its mail on this machine (maildir, mbox). */
static gboolean
is_local_store (LiaEvoMail *mail)
{
  CamelProvider *provider = camel_service_get_provider (CAMEL_SERVICE (mail->store));

  return provider != NULL && (provider->flags & CAMEL_PROVIDER_IS_REMOTE) == 0;
}

/* Finds the message @item_id names: at its place when the uid there is
 * that message, else wherever a message carries it in its tag (it moved).
 * Returns (transfer full) the folder with *out_uid, or NULL with
 * LIA_ERROR_NOT_FOUND. */
static CamelFolder *
locate (LiaEvoMail *mail, const char *item_id, char **out_uid, CamelMessageInfo **out_info,
        GCancellable *cancellable, GError **error)
{
  g_autofree char *uid = NULL;
  g_autofree char *name = own_full_name (mail, item_id, TRUE, &uid);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  CamelFolderInfo *fi;

  if (name == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
      return NULL;
    }
  {
    g_autoptr (CamelFolder) f = ref_folder (mail, name, cancellable, &local);
    g_autoptr (CamelMessageInfo) info = f != NULL ? camel_folder_get_message_info (f, uid) : NULL;

    if (f == NULL && !g_error_matches (local, LIA_ERROR, LIA_ERROR_NOT_FOUND))
      {
        g_propagate_error (error, g_steal_pointer (&local));
        return NULL;
      }
    /* A local folder learns of a file delivered into it (an MDA, another
     * program) only when refreshed, which Evolution does when the user
     * opens it: an id naming a message not in the summary refreshes it
     * once (a directory scan) before looking further. */
    if (f != NULL && info == NULL && is_local_store (mail)
        && camel_folder_refresh_info_sync (f, cancellable, NULL))
      info = camel_folder_get_message_info (f, uid);
    if (info != NULL)
      {
        const char *tagged = camel_message_info_get_user_tag (info, TAG_ITEM_ID);

        /* A uid reused by another message (a rebuilt IMAP folder) is not
         * this message: its tag says so. */
        if (tagged == NULL || g_str_equal (tagged, item_id))
          {
            *out_uid = g_steal_pointer (&uid);
            *out_info = g_steal_pointer (&info);
            return g_steal_pointer (&f);
          }
      }
    if (f != NULL)
      g_ptr_array_add (names, g_strdup (name));
  }
  /* Moved: the open folders first (the default ones), then the rest. */
  g_mutex_lock (&mail->lock);
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, mail->folders);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_str_equal (key, name))
        g_ptr_array_add (names, g_strdup (key));
  }
  g_mutex_unlock (&mail->lock);
  fi = camel_store_get_folder_info_sync (mail->store, NULL, CAMEL_STORE_FOLDER_INFO_RECURSIVE, cancellable,
                                         NULL);
  collect_names (fi, names);
  camel_folder_info_free (fi);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      g_autoptr (CamelFolder) f = NULL;
      g_autofree char *found = NULL;

      /* Listed twice (open and in the tree): the second search is cheap. */
      f = ref_folder (mail, n, cancellable, NULL);
      if (f == NULL)
        continue;
      found = search_tag (f, item_id, cancellable);
      if (found != NULL)
        {
          CamelMessageInfo *info = camel_folder_get_message_info (f, found);

          if (info == NULL)
            continue;
          *out_uid = g_steal_pointer (&found);
          *out_info = info;
          return g_steal_pointer (&f);
        }
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no item \"%s\"", item_id);
  return NULL;
}

/* ---- Messages to LiaItem ---- */

/* Valid UTF-8 without NUL and without CR, cut at @max bytes on a
 * character boundary: what a LiaValue text accepts. */
static char *
clean_text (const char *text, gssize len, gsize max)
{
  g_autofree char *valid = g_utf8_make_valid (text, len);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p++)
    if (*p != '\r')
      g_string_append_c (out, *p);
  if (out->len > max)
    {
      const char *cut = g_utf8_find_prev_char (out->str, out->str + max + 1);

      g_string_truncate (out, cut != NULL ? (gsize) (cut - out->str) : 0);
    }
  return g_string_free (out, FALSE);
}

/* clean_text() on one line: every control character (a CR or LF that an
 * encoded word smuggled into a header, a tab) becomes a space, so that a
 * subject or an address can never carry a second header line into the CRM
 * or into anything that prints it. */
static char *
one_line (const char *text)
{
  char *t = clean_text (text, -1, G_MAXSIZE);

  for (char *p = t; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return t;
}

/* Finds the body to show a CRM user: in multipart/alternative the plain
 * text, else the first text part that is not an attachment. */
static CamelDataWrapper *
find_text (CamelDataWrapper *dw, gboolean *out_html)
{
  CamelContentType *ct = camel_data_wrapper_get_mime_type_field (dw);

  if (CAMEL_IS_MULTIPART (dw))
    {
      CamelMultipart *mp = CAMEL_MULTIPART (dw);
      guint n = camel_multipart_get_number (mp);

      if (ct != NULL && camel_content_type_is (ct, "multipart", "alternative"))
        for (guint i = 0; i < n; i++)
          {
            CamelDataWrapper *child =
                camel_medium_get_content (CAMEL_MEDIUM (camel_multipart_get_part (mp, i)));
            CamelContentType *cct = child != NULL ? camel_data_wrapper_get_mime_type_field (child) : NULL;

            if (cct != NULL && camel_content_type_is (cct, "text", "plain"))
              {
                *out_html = FALSE;
                return child;
              }
          }
      for (guint i = 0; i < n; i++)
        {
          CamelMimePart *part = camel_multipart_get_part (mp, i);
          const char *disposition = camel_mime_part_get_disposition (part);
          CamelDataWrapper *child = camel_medium_get_content (CAMEL_MEDIUM (part));
          CamelDataWrapper *found;

          if (child == NULL || g_strcmp0 (disposition, "attachment") == 0)
            continue;
          found = find_text (child, out_html);
          if (found != NULL)
            return found;
        }
      return NULL;
    }
  if (ct != NULL && camel_content_type_is (ct, "text", "plain"))
    {
      *out_html = FALSE;
      return dw;
    }
  if (ct != NULL && camel_content_type_is (ct, "text", "html"))
    {
      *out_html = TRUE;
      return dw;
    }
  return NULL;
}

/* Appends the character an HTML entity at @p (after the '&') names and
 * returns how many bytes it took, or 0 when it is not one we know (the
 * '&' is then kept as text). */
static gsize
html_entity (const char *p, GString *out)
{
  static const struct
  {
    const char *name;
    const char *text;
  } named[] = {
    { "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
  };

  if (*p == '#')
    {
      const char *digits = p[1] == 'x' || p[1] == 'X' ? p + 2 : p + 1;
      guint base = digits == p + 2 ? 16 : 10;
      const char *semi;
      g_autofree char *num = NULL;
      guint64 cp = 0;
      gsize n = 0;

      /* Only up to nine digit bytes are looked at, never the rest of the
       * text: searching for the ';' from every "&#" made a body of "&#1"
       * runs quadratic (a 3 MB message stalled the sync for half a
       * minute). Any non-digit before the ';' fails the parse below, so
       * the digits the loop accepts loosely change no result. */
      while (n <= 8 && g_ascii_isxdigit (digits[n]))
        n++;
      if (n == 0 || n > 8 || digits[n] != ';')
        return 0;
      semi = digits + n;
      num = g_strndup (digits, (gsize) (semi - digits));
      if (!g_ascii_string_to_unsigned (num, base, 1, 0x10FFFF, &cp, NULL)
          || !g_unichar_validate ((gunichar) cp))
        return 0;
      g_string_append_unichar (out, (gunichar) cp);
      return (gsize) (semi - p) + 1;
    }
  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    if (g_ascii_strncasecmp (p, named[i].name, strlen (named[i].name)) == 0)
      {
        g_string_append (out, named[i].text);
        return strlen (named[i].name);
      }
  return 0;
}

/* HTML as the text a reader sees: tags dropped, the content of style,
 * script and head dropped, block ends as line breaks, entities decoded,
 * runs of white space as one space. Works on UTF-8 bytes: every byte it
 * looks for is ASCII, so multibyte characters pass through whole. */
char *
lia_evo_mail_html_to_text (const char *html)
{
  static const char *const hidden[] = { "style", "script", "head", "title" };
  static const char *const breaks[] = { "br", "p",  "/p", "div", "/div", "li",  "tr", "/tr",
                                        "h1", "h2", "h3", "/h1", "/h2",  "/h3", "hr" };
  GString *out = g_string_new (NULL);
  const char *p = html;
  gboolean space = FALSE;

  while (*p != '\0')
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');
          gsize name_len = strcspn (p + 1, " \t\r\n/>");
          gboolean skipped = FALSE;

          if (p[1] == '/')
            name_len = 1 + strcspn (p + 2, " \t\r\n>");
          if (end == NULL)
            break;
          for (guint i = 0; i < G_N_ELEMENTS (hidden); i++)
            if (name_len == strlen (hidden[i]) && g_ascii_strncasecmp (p + 1, hidden[i], name_len) == 0)
              {
                g_autofree char *close = g_strconcat ("</", hidden[i], NULL);
                const char *q = end;

                /* The closing tag, matched without case. */
                while (*q != '\0' && g_ascii_strncasecmp (q, close, strlen (close)) != 0)
                  q++;
                end = *q != '\0' ? strchr (q, '>') : NULL;
                skipped = TRUE;
                break;
              }
          if (end == NULL)
            break;
          if (!skipped)
            for (guint i = 0; i < G_N_ELEMENTS (breaks); i++)
              if (name_len == strlen (breaks[i]) && g_ascii_strncasecmp (p + 1, breaks[i], name_len) == 0)
                {
                  while (out->len > 0 && out->str[out->len - 1] == ' ')
                    g_string_truncate (out, out->len - 1);
                  if (out->len > 0
                      && !(out->len > 1 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n'))
                    g_string_append_c (out, '\n');
                  space = FALSE;
                  break;
                }
          p = end + 1;
          continue;
        }
      if (g_ascii_isspace (*p))
        {
          space = TRUE;
          p++;
          continue;
        }
      if (space && out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c (out, ' ');
      space = FALSE;
      if (*p == '&')
        {
          gsize used = html_entity (p + 1, out);

          if (used > 0)
            {
              p += used + 1;
              continue;
            }
        }
      g_string_append_c (out, *p);
      p++;
    }
  while (out->len > 0 && (out->str[out->len - 1] == '\n' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

/* (transfer full) the plain-text body, or NULL when the message has no
 * text part. Transfer encoding, charset and HTML are undone here. */
static char *
body_text (CamelMimeMessage *msg, GCancellable *cancellable)
{
  gboolean html = FALSE;
  CamelDataWrapper *content = camel_medium_get_content (CAMEL_MEDIUM (msg));
  CamelDataWrapper *text = content != NULL ? find_text (content, &html) : NULL;
  CamelContentType *ct;
  const char *charset;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *utf8 = NULL;
  gsize len;
  const char *data;

  if (text == NULL)
    return NULL;
  out = g_memory_output_stream_new_resizable ();
  if (camel_data_wrapper_decode_to_output_stream_sync (text, out, cancellable, &error) < 0
      || !g_output_stream_close (out, cancellable, &error))
    {
      g_debug ("cannot decode a message body: %s", error->message);
      return NULL;
    }
  data = g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out));
  len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  ct = camel_data_wrapper_get_mime_type_field (text);
  charset = ct != NULL ? camel_content_type_param (ct, "charset") : NULL;
  if (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0
      && g_ascii_strcasecmp (charset, "us-ascii") != 0)
    utf8 = g_convert (data != NULL ? data : "", (gssize) len, "UTF-8", camel_iconv_charset_name (charset),
                      NULL, NULL, NULL);
  /* No charset, or a wrong one: UTF-8 if it is, else the Latin-1 that
   * most unlabelled mail is. */
  if (utf8 == NULL && data != NULL && !g_utf8_validate (data, (gssize) len, NULL))
    utf8 = g_convert (data, (gssize) len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
  if (utf8 == NULL)
    utf8 = g_strndup (data != NULL ? data : "", len);
  if (html)
    {
      g_autofree char *plain = lia_evo_mail_html_to_text (utf8);

      return clean_text (plain, -1, LIA_EVO_MAIL_BODY_MAX);
    }
  return clean_text (utf8, -1, LIA_EVO_MAIL_BODY_MAX);
}

/* (transfer full) a party list of @addr, or NULL when it is empty. */
static LiaValue *
parties_value (CamelInternetAddress *addr)
{
  gint n = addr != NULL ? camel_address_length (CAMEL_ADDRESS (addr)) : 0;
  g_autofree LiaParty *parties = NULL;
  g_autoptr (GPtrArray) strings = NULL;
  gsize count = 0;

  if (n <= 0)
    return NULL;
  parties = g_new0 (LiaParty, n);
  strings = g_ptr_array_new_with_free_func (g_free);
  for (gint i = 0; i < n; i++)
    {
      const char *name = NULL;
      const char *address = NULL;
      char *a;
      char *nm;

      if (!camel_internet_address_get (addr, i, &name, &address))
        continue;
      a = address != NULL && *address != '\0' ? one_line (address) : NULL;
      nm = name != NULL && *name != '\0' ? one_line (name) : NULL;
      if (a == NULL && nm == NULL)
        continue;
      if (a != NULL)
        g_ptr_array_add (strings, a);
      if (nm != NULL)
        g_ptr_array_add (strings, nm);
      parties[count].address = a;
      parties[count].name = nm;
      parties[count].entity = LIA_ENTITY_N;
      count++;
    }
  return count > 0 ? lia_value_new_party_list (parties, count) : NULL;
}

/* A header as one line: folded whitespace collapsed, NULL when absent. */
static char *
header_line (CamelMimeMessage *msg, const char *name)
{
  const char *raw = camel_medium_get_header (CAMEL_MEDIUM (msg), name);
  g_autofree char *valid = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) kept = NULL;

  if (raw == NULL)
    return NULL;
  valid = one_line (raw);
  words = g_strsplit_set (valid, " \t\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_strv_builder_add (b, words[i]);
  kept = g_strv_builder_end (b);
  return kept[0] != NULL ? g_strjoinv (" ", kept) : NULL;
}

static gboolean
set_value (LiaItem *item, const char *field, LiaValue *value, GError **error)
{
  g_autoptr (LiaValue) v = value;

  return v == NULL || lia_item_set (item, field, v, error);
}

static gboolean
set_text (LiaItem *item, const char *field, char *text, GError **error)
{
  g_autofree char *t = text;

  return t == NULL || lia_item_set_text (item, field, t, error);
}

/* The one reading of a message, whether it comes from a folder or from
 * bytes (lia_evo_mail_item_from_bytes()). */
static LiaItem *
message_to_item (CamelMimeMessage *msg, const char *account_address, gboolean in_sent,
                 GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaItem) item = lia_item_new (LIA_ENTITY_EMAIL);
  CamelInternetAddress *from = camel_mime_message_get_from (msg);
  const char *from_address = NULL;
  gboolean outgoing;
  const char *subject = camel_mime_message_get_subject (msg);
  const char *message_id = camel_mime_message_get_message_id (msg);
  gint offset = 0;
  time_t date = camel_mime_message_get_date (msg, &offset);

  if (from == NULL || !camel_internet_address_get (from, 0, NULL, &from_address) || from_address == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "the message has no sender");
      return NULL;
    }
  outgoing = in_sent || (account_address != NULL && g_ascii_strcasecmp (from_address, account_address) == 0);
  if (date == CAMEL_MESSAGE_DATE_CURRENT || date <= 0)
    date = camel_mime_message_get_date_received (msg, &offset);
  if (!set_value (item, "direction", lia_value_new_enum (outgoing ? "outgoing" : "incoming"), error)
      || !set_value (item, "from", parties_value (from), error)
      || !set_value (item, "to",
                     parties_value (camel_mime_message_get_recipients (msg, CAMEL_RECIPIENT_TYPE_TO)), error)
      || !set_value (item, "cc",
                     parties_value (camel_mime_message_get_recipients (msg, CAMEL_RECIPIENT_TYPE_CC)), error)
      || !set_text (item, "subject", subject != NULL ? one_line (subject) : NULL, error)
      || !set_text (item, "body", body_text (msg, cancellable), error)
      /* The header's form, angle brackets included, as In-Reply-To and
       * References name it: R-MAIL-CORRELATE-SMART compares them. */
      || !set_text (item, "message-id", message_id != NULL ? g_strdup_printf ("<%s>", message_id) : NULL,
                    error)
      || !set_text (item, "in-reply-to", header_line (msg, "In-Reply-To"), error)
      || !set_text (item, "references", header_line (msg, "References"), error)
      || !set_value (item, "date",
                     date != CAMEL_MESSAGE_DATE_CURRENT && date > 0
                         ? lia_value_new_datetime ((gint64) date * G_USEC_PER_SEC, NULL)
                         : NULL,
                     error))
    return NULL;
  return g_steal_pointer (&item);
}

LiaItem *
lia_evo_mail_item_from_bytes (const char *data, gsize len, const char *account_address, gboolean in_sent,
                              GError **error)
{
  g_autoptr (CamelMimeMessage) msg = NULL;
  g_autoptr (CamelStream) stream = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg = camel_mime_message_new ();
  stream = camel_stream_mem_new_with_buffer (data != NULL ? data : "", len);
  if (!camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, error))
    {
      translate_error (error, LIA_ERROR_INVALID);
      return NULL;
    }
  return message_to_item (msg, account_address, in_sent, NULL, error);
}

LiaHostItem *
lia_evo_mail_read_item_sync (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable, GError **error)
{
  g_autofree char *uid = NULL;
  g_autofree char *folder_id = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (CamelMimeMessage) msg = NULL;
  g_autoptr (LiaItem) item = NULL;
  g_autoptr (GError) local = NULL;
  const char *full;
  const char *regarding;
  LiaHostItem *hi;

  g_return_val_if_fail (mail != NULL && item_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  f = locate (mail, item_id, &uid, &info, cancellable, error);
  if (f == NULL)
    return NULL;
  full = camel_folder_get_full_name (f);
  msg = camel_folder_get_message_sync (f, uid, cancellable, &local);
  if (msg == NULL)
    {
      translate_error (&local, LIA_ERROR_INVALID);
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  item = message_to_item (msg, mail->account_address, is_folder (mail, full, LIA_EVO_MAIL_SENT), cancellable,
                          &local);
  if (item == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "message \"%s\": ", item_id);
      return NULL;
    }
  /* Regarding lives in the properties; the field is what the engine
   * merges (R-MARK-REGARDING). */
  regarding = camel_message_info_get_user_tag (info, tag_names[LIA_HOST_PROP_REGARDING]);
  if (regarding != NULL)
    {
      LiaEntity entity = LIA_ENTITY_ACCOUNT;
      const char *e = camel_message_info_get_user_tag (info, TAG_REGARDING_ENTITY);
      g_autoptr (LiaValue) ref = NULL;

      if (e != NULL)
        lia_entity_from_string (e, &entity);
      ref = lia_value_new_reference (entity, regarding,
                                     camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
      if (ref != NULL)
        lia_item_set (item, "regarding", ref, NULL);
    }
  folder_id = lia_evo_mail_folder_id (lia_evo_mail_get_store_uid (mail), full);
  hi = lia_host_item_new (lia_evo_mail_get_store_id (mail), folder_id, item_id, item);
  hi->modified_at = info_modified_at (info);
  hi->is_draft = is_folder (mail, full, LIA_EVO_MAIL_DRAFTS);
  for (guint p = 0; p < LIA_HOST_PROP_N; p++)
    {
      const char *v = camel_message_info_get_user_tag (info, tag_names[p]);

      if (p == LIA_HOST_PROP_ORIGINAL && v != NULL)
        {
          gsize len = 0;
          g_autofree guchar *raw = g_base64_decode (v, &len);
          g_autofree char *text = g_strndup ((const char *) raw, len);

          lia_host_props_set (&hi->props, LIA_HOST_PROP_ORIGINAL, text);
        }
      else if (v != NULL)
        lia_host_props_set (&hi->props, (LiaHostProp) p, v);
    }
  if (!(hi->props.mask & (1u << LIA_HOST_PROP_LINK_STATE)) && info_link_state (info) != LIA_LINK_STATE_NONE)
    {
      hi->props.mask |= 1u << LIA_HOST_PROP_LINK_STATE;
      hi->props.link_state = info_link_state (info);
    }
  if (hi->props.mask & (1u << LIA_HOST_PROP_REGARDING))
    hi->props.regarding_name = g_strdup (camel_message_info_get_user_tag (info, TAG_REGARDING_NAME));
  return hi;
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

  f = locate (mail, item_id, &uid, &info, cancellable, error);
  if (f == NULL)
    return FALSE;
  /* One batch: the folder reports one change. Camel's thaw saves the
   * summary (and counts the folder's messages in its db): a write of a
   * burst leaves that to the burst's save and relies on Camel merging the
   * changes that are not yet emitted instead. */
  if (out_folder == NULL)
    camel_folder_freeze (f);
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
          camel_message_info_set_user_tag (info, TAG_ITEM_ID,
                                           props->link_state != LIA_LINK_STATE_NONE ? item_id : NULL);
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
          camel_message_info_set_user_tag (info, TAG_REGARDING_NAME,
                                           props->regarding_id != NULL ? props->regarding_name : NULL);
          camel_message_info_set_user_tag (
              info, TAG_REGARDING_ENTITY,
              props->regarding_id != NULL && regarding != NULL
                      && lia_value_get_kind (regarding) == LIA_VALUE_REFERENCE
                  ? lia_entity_to_string (lia_value_get_reference_entity (regarding))
                  : NULL);
          break;
        case LIA_HOST_PROP_N:
        default:
          break;
        }
      camel_message_info_set_user_tag (info, tag_names[p], value);
    }
  {
    g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time ());

    camel_message_info_set_user_tag (info, TAG_MODIFIED, now);
  }
  if (out_folder == NULL)
    camel_folder_thaw (f);
  g_atomic_int_inc (&mail->change_stamp);
  if (out_place != NULL)
    *out_place =
        lia_evo_mail_item_id (lia_evo_mail_get_store_uid (mail), camel_folder_get_full_name (f), uid);
  if (out_sig != NULL)
    *out_sig = info_sig (info);
  if (out_folder != NULL)
    {
      *out_folder = g_steal_pointer (&f);
      return TRUE;
    }
  if (!camel_folder_synchronize_sync (f, FALSE, cancellable, error))
    {
      translate_error (error, LIA_ERROR_UNAVAILABLE);
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

/* ---- Async twins: the sync bodies in a GTask thread ---- */

typedef struct
{
  LiaEvoMail *mail; /* borrowed: outlives its calls */
  char *folder;     /* owned */
  char *item_id;    /* owned */
  guint offset;
  guint limit;
  LiaItem *fields; /* owned, nullable */
  LiaHostProps props;
  gboolean echo; /* a pending echo was counted for item_id */
  char *place;   /* owned: result of a write */
  char *sig;     /* owned: result of a write */
} Call;

static void
call_free (Call *call)
{
  g_free (call->folder);
  g_free (call->item_id);
  lia_item_free (call->fields);
  lia_host_props_clear (&call->props);
  g_free (call->place);
  g_free (call->sig);
  g_free (call);
}

static GTask *
call_task (LiaEvoMail *mail, gpointer tag, const char *name, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, Call **out_call)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  call->mail = mail;
  g_task_set_source_tag (task, tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  *out_call = call;
  return task;
}

static void
read_contents_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  GError *error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (call->mail, call->folder, call->offset, call->limit,
                                                     cancellable, &error);

  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
lia_evo_mail_read_contents_async (LiaEvoMail *mail, const char *folder_id, guint offset, guint limit,
                                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && folder_id != NULL);
  task = call_task (mail, lia_evo_mail_read_contents_async, "[liaison] read mail contents", cancellable,
                    callback, user_data, &call);
  call->folder = g_strdup (folder_id);
  call->offset = offset;
  call->limit = limit;
  g_task_run_in_thread (task, read_contents_thread);
}

GPtrArray *
lia_evo_mail_read_contents_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_read_contents_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
read_item_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  GError *error = NULL;
  LiaHostItem *hi = lia_evo_mail_read_item_sync (call->mail, call->item_id, cancellable, &error);

  if (hi == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, hi, (GDestroyNotify) lia_host_item_free);
}

void
lia_evo_mail_read_item_async (LiaEvoMail *mail, const char *item_id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL);
  task = call_task (mail, lia_evo_mail_read_item_async, "[liaison] read mail", cancellable, callback,
                    user_data, &call);
  call->item_id = g_strdup (item_id);
  g_task_run_in_thread (task, read_item_thread);
}

LiaHostItem *
lia_evo_mail_read_item_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lia_evo_mail_read_item_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
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
  Call *call = g_task_get_task_data (G_TASK (data));
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
      translate_error (&error, LIA_ERROR_UNAVAILABLE);
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
  Call *call = g_task_get_task_data (task);
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
  Call *call;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (mail != NULL && item_id != NULL && props != NULL);
  task = call_task (mail, lia_evo_mail_write_props_async, "[liaison] write mail properties", cancellable,
                    callback, user_data, &call);
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
  Call *call;

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
          Seen *s = g_new0 (Seen, 1);

          s->item_id = g_strdup (call->item_id);
          s->sig = g_strdup (call->sig);
          s->state = call->props.mask & (1u << LIA_HOST_PROP_LINK_STATE) ? call->props.link_state
                                                                         : LIA_LINK_STATE_NONE;
          {
            Seen *old = g_hash_table_lookup (mail->seen, call->place);

            if (old != NULL && !(call->props.mask & (1u << LIA_HOST_PROP_LINK_STATE)))
              s->state = old->state;
          }
          g_hash_table_insert (mail->seen, g_strdup (call->place), s);
        }
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
lia_evo_mail_is_result (GAsyncResult *result)
{
  gpointer tag;

  if (!G_IS_TASK (result))
    return FALSE;
  tag = g_task_get_source_tag (G_TASK (result));
  return tag == lia_evo_mail_read_contents_async || tag == lia_evo_mail_read_item_async
         || tag == lia_evo_mail_write_props_async;
}

typedef struct
{
  LiaEvoMail *mail;
} Resolve;

static void
resolve_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (lia_evo_mail_resolve_folders_sync (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
lia_evo_mail_resolve_folders_async (LiaEvoMail *mail, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lia_evo_mail_resolve_folders_async);
  g_task_set_name (task, "[liaison] find mail folders");
  g_task_set_task_data (task, mail, NULL);
  g_task_run_in_thread (task, resolve_thread);
}

gboolean
lia_evo_mail_resolve_folders_finish (LiaEvoMail *mail, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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
  Seen *old = g_hash_table_lookup (mail->seen, place);
  char *prev = old != NULL ? g_strdup (old->sig) : NULL;
  Seen *s = g_new0 (Seen, 1);

  s->item_id = g_strdup (item_id);
  s->sig = info_sig (info);
  s->state = info_link_state (info);
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
  g_autoptr (CamelFolder) f = locate (g->mail, g->item_id, &uid, &info, cancellable, NULL);

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
      id = info_item_id (mail, folder, info);
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
          emit (mail, LIA_HOST_EVENT_MOVED, folder_id, id, old_folder, info_link_state (info));
        }
      else
        emit (mail, LIA_HOST_EVENT_CREATED, folder_id, id, NULL, info_link_state (info));
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
      id = info_item_id (mail, folder, info);
      now = info_sig (info);
      prev = remember (mail, place, id, info);
      if (g_hash_table_contains (mail->pending, id))
        continue;
      /* Unknown before: an untracked message, which has no properties. */
      if (g_strcmp0 (prev != NULL ? prev : "0\x1f\x1f\x1f\x1f\x1f", now) == 0)
        continue;
      emit (mail, LIA_HOST_EVENT_MODIFIED, folder_id, id, NULL, info_link_state (info));
    }
  for (guint i = 0; removed != NULL && i < removed->len; i++)
    {
      const char *uid = g_ptr_array_index (removed, i);
      g_autofree char *place = lia_evo_mail_item_id (store_uid, camel_folder_get_full_name (folder), uid);
      Seen *s = g_hash_table_lookup (mail->seen, place);
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
  GPtrArray *folders; /* owned: result, CamelFolder */
  GHashTable *seen;   /* owned: result, place -> Seen */
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
      g_autoptr (CamelFolder) f = ref_folder (o->mail, g_ptr_array_index (o->names, i), cancellable, &error);
      GPtrArray *uids;

      if (f == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      uids = all_uids (f, cancellable, &error);
      if (uids == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      for (guint k = 0; k < uids->len; k++)
        {
          g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, g_ptr_array_index (uids, k));
          Seen *s;

          if (info == NULL || info_link_state (info) == LIA_LINK_STATE_NONE)
            continue;
          s = g_new0 (Seen, 1);
          s->item_id = info_item_id (o->mail, f, info);
          s->sig = info_sig (info);
          s->state = info_link_state (info);
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
      if (!g_hash_table_contains (mail->seen, key))
        {
          g_hash_table_insert (mail->seen, g_strdup (key), value);
          g_hash_table_iter_steal (&iter);
        }
    }
  for (guint i = 0; i < o->folders->len; i++)
    {
      CamelFolder *f = g_ptr_array_index (o->folders, i);

      if (g_hash_table_contains (mail->watched, f))
        continue;
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
  o->folders = g_ptr_array_new_with_free_func (g_object_unref);
  o->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) seen_free);
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
