/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mail adapter: a CamelSession for processes that are not Evolution
 * (the `liaison` command, liaison serve, tests, benches). */
#include "config.h"

#include <string.h>

#include "lia-evo-mail-internal.h"

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
