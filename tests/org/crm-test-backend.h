/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <liaison/liaison.h>

#include "lia-crm-embedded.h"
#include "lia-org-service.h"

/* Connector backends for the conformance suite: 0 embedded, 1 http (a
 * liaison-server started on a free loopback port). */
typedef struct
{
  guint backend;
  char *path;
  char *alice_id;
  char *bob_id;
  char *alice_token;
  char *bob_token;
  char *root_token;
  GSubprocess *server; /* http only */
  char *url;           /* http only */
  LiaCrm *alice;
  LiaCrm *bob;
  LiaCrm *root;
} CrmFixture;

static inline gboolean
crm_backend_available (guint backend)
{
#ifdef LIA_TEST_SERVER
  return backend <= 1;
#else
  return backend == 0;
#endif
}

static inline LiaCrm *
crm_backend_connect (CrmFixture *f, const char *token)
{
  g_autoptr (GError) error = NULL;
  LiaCrm *crm;

  if (f->backend == 0)
    crm = lia_crm_embedded_new (f->path, token, NULL, &error);
  else
#ifdef LIA_TEST_SERVER
    crm = lia_crm_http_new (f->url, token, &error);
#else
    g_assert_not_reached ();
#endif
  g_assert_no_error (error);
  return crm;
}

#ifdef LIA_TEST_SERVER
static void
crm_server_child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts liaison-server on port 0 and reads the bound address it prints. */
static inline void
crm_server_start (CrmFixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);

  /* The server dies with the test, even when an assertion aborts it. */
  g_subprocess_launcher_set_child_setup (launcher, crm_server_child_setup, NULL, NULL);
  f->server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", f->path, "--listen",
                                           "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening "));
  f->url = g_strdup (line + strlen ("listening "));
}

static inline void
crm_server_stop (CrmFixture *f)
{
  g_autoptr (GError) error = NULL;

  if (f->server == NULL)
    return;
  g_subprocess_send_signal (f->server, SIGTERM);
  g_assert_true (g_subprocess_wait (f->server, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (f->server));
  g_assert_cmpint (g_subprocess_get_exit_status (f->server), ==, 0);
  g_clear_object (&f->server);
}
#endif

static inline void
crm_fixture_setup (CrmFixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "crm", NULL);
  g_autoptr (GError) error = NULL;

  f->backend = GPOINTER_TO_UINT (data);
  g_mkdir_with_parents (dir, 0700);
  f->path = g_build_filename (dir, "org.db", NULL);
  g_unlink (f->path);
  {
    g_autoptr (LiaOrgService) admin = lia_org_service_open (f->path, NULL, &error);
    g_autoptr (LiaCrmUser) alice = NULL;
    g_autoptr (LiaCrmUser) bob = NULL;
    g_assert_no_error (error);
    g_assert_true (
        lia_org_service_add_user (admin, "alice", "alice@example.org", FALSE, &f->alice_token, &error));
    g_assert_true (lia_org_service_add_user (admin, "bob", "bob@example.org", FALSE, &f->bob_token, &error));
    g_assert_true (
        lia_org_service_add_user (admin, "root", "root@example.org", TRUE, &f->root_token, &error));
    g_assert_true (lia_org_service_set_field_security (admin, "user", LIA_ENTITY_CONTACT, "government-id",
                                                       FALSE, FALSE, &error));
    g_assert_no_error (error);
    alice = lia_org_service_get_user (admin, "alice", &error);
    bob = lia_org_service_get_user (admin, "bob", &error);
    f->alice_id = g_strdup (alice->id);
    f->bob_id = g_strdup (bob->id);
  }
#ifdef LIA_TEST_SERVER
  if (f->backend == 1)
    crm_server_start (f);
#endif
  f->alice = crm_backend_connect (f, f->alice_token);
  f->bob = crm_backend_connect (f, f->bob_token);
  f->root = crm_backend_connect (f, f->root_token);
}

static inline void
crm_fixture_teardown (CrmFixture *f, gconstpointer data)
{
  g_clear_object (&f->alice);
  g_clear_object (&f->bob);
  g_clear_object (&f->root);
#ifdef LIA_TEST_SERVER
  crm_server_stop (f);
#endif
  g_free (f->url);
  g_free (f->path);
  g_free (f->alice_id);
  g_free (f->bob_id);
  g_free (f->alice_token);
  g_free (f->bob_token);
  g_free (f->root_token);
}
