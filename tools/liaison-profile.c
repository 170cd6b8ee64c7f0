/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "liaison-profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

void
lia_profile_free (LiaProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->org);
  g_free (profile->user);
  if (profile->token != NULL)
    memset (profile->token, 0, strlen (profile->token));
  g_free (profile->token);
  g_free (profile->cache_path);
  g_free (profile->lock_path);
  g_free (profile);
}

static char *
config_dir (void)
{
  return g_build_filename (g_get_user_config_dir (), "liaison", NULL);
}

LiaProfile *
lia_profile_new (gboolean embedded, const char *org, const char *user, const char *token)
{
  LiaProfile *p = g_new0 (LiaProfile, 1);

  p->embedded = embedded;
  p->org = g_strdup (org);
  p->user = g_strdup (user);
  p->token = g_strdup (token);
  p->cache_path = g_build_filename (g_get_user_data_dir (), "liaison", "cache.db", NULL);
  p->lock_path = g_strconcat (p->cache_path, ".lock", NULL);
  return p;
}

LiaProfile *
lia_profile_load (GError **error)
{
  g_autofree char *dir = config_dir ();
  g_autofree char *ini = g_build_filename (dir, "profile.ini", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *org = NULL;
  g_autofree char *user = NULL;
  g_autofree char *token = NULL;

  if (!g_file_test (ini, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "no profile in \"%s\": run \"liaison setup\" first",
                   dir);
      return NULL;
    }
  if (!g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, &local)
      || (kind = g_key_file_get_string (kf, "profile", "kind", &local)) == NULL
      || (org = g_key_file_get_string (kf, "profile", "org", &local)) == NULL
      || (user = g_key_file_get_string (kf, "profile", "user", &local)) == NULL
      || !g_file_get_contents (token_path, &token, NULL, &local))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "broken profile \"%s\": %s", ini, local->message);
      return NULL;
    }
  g_strstrip (token);
  return lia_profile_new (g_str_equal (kind, "embedded"), org, user, token);
}

gboolean
lia_profile_save (const LiaProfile *profile, GError **error)
{
  g_autofree char *dir = config_dir ();
  g_autofree char *ini = g_build_filename (dir, "profile.ini", NULL);
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot create \"%s\": %s", dir, g_strerror (errno));
      return FALSE;
    }
  g_key_file_set_string (kf, "profile", "kind", profile->embedded ? "embedded" : "server");
  g_key_file_set_string (kf, "profile", "org", profile->org);
  g_key_file_set_string (kf, "profile", "user", profile->user);
  /* The token file is created 0600 before anything is written to it, so
   * the secret is never readable by others, not even for a moment. */
  fd = g_open (token_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod (fd, 0600) != 0 || write (fd, profile->token, strlen (profile->token)) < 0
      || close (fd) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot write \"%s\": %s", token_path,
                   g_strerror (saved));
      return FALSE;
    }
  if (!g_key_file_save_to_file (kf, ini, &local))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot write \"%s\": %s", ini, local->message);
      return FALSE;
    }
  return TRUE;
}

int
lia_profile_lock (const LiaProfile *profile, const char *what, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (profile->lock_path);
  g_autofree char *holder = NULL;
  g_autofree char *me = NULL;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot create \"%s\": %s", dir, g_strerror (errno));
      return -1;
    }
  fd = g_open (profile->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot open \"%s\": %s", profile->lock_path,
                   g_strerror (errno));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;

      close (fd);
      if (saved != EWOULDBLOCK)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_STORE, "cannot lock \"%s\": %s", profile->lock_path,
                       g_strerror (saved));
          return -1;
        }
      /* The holder wrote who it is after taking the lock. */
      if (g_file_get_contents (profile->lock_path, &holder, NULL, NULL))
        g_strstrip (holder);
      g_set_error (error, LIA_ERROR, LIA_ERROR_CONFLICT,
                   "the sync engine of this profile is already running (%s); try again when it is done",
                   holder != NULL && *holder != '\0' ? holder : "another process");
      return -1;
    }
  me = g_strdup_printf ("pid %d, \"liaison %s\"\n", (int) getpid (), what);
  if (ftruncate (fd, 0) != 0 || pwrite (fd, me, strlen (me), 0) < 0)
    g_debug ("cannot record the lock holder in %s: %s", profile->lock_path, g_strerror (errno));
  return fd;
}

void
lia_profile_unlock (int fd)
{
  if (fd < 0)
    return;
  if (ftruncate (fd, 0) != 0)
    g_debug ("cannot clear the lock holder: %s", g_strerror (errno));
  close (fd);
}
