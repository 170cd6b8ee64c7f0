/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The profile of the `liaison` command: which org, which user, where the
 * sync cache lives. The configuration is $XDG_CONFIG_HOME/liaison/profile.ini;
 * the token sits beside it in a 0600 file (the libsecret keyring is a later
 * step); the cache and its engine lock live in $XDG_DATA_HOME/liaison/. */
typedef struct
{
  gboolean embedded;
  char *org;        /* owned: the org file (embedded) or the server URL */
  char *user;       /* owned */
  char *token;      /* owned */
  char *cache_path; /* owned */
  char *lock_path;  /* owned */
} LiaProfile;

void lia_profile_free (LiaProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaProfile, lia_profile_free)

/* LIA_ERROR_NOT_FOUND when `liaison setup` was never run. */
LiaProfile *lia_profile_load (GError **error);
gboolean lia_profile_save (const LiaProfile *profile, GError **error);
/* Fills the derived paths of a new profile. */
LiaProfile *lia_profile_new (gboolean embedded, const char *org, const char *user, const char *token);

/* One engine per profile: an exclusive flock() on the lock file beside the
 * cache, held until lia_profile_unlock(). A second holder fails with
 * LIA_ERROR_CONFLICT naming the process that holds it. Returns the fd. */
int lia_profile_lock (const LiaProfile *profile, const char *what, GError **error);
void lia_profile_unlock (int fd);

G_END_DECLS
