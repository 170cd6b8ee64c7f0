/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lia-test-dovecot.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct _LiaTestDovecot
{
  GPid pid;
  guint16 port;
  char *dir;  /* owned */
  char *conf; /* owned */
};

static guint16
free_port (GError **error)
{
  g_autoptr (GSocket) sock =
      g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  if (sock == NULL || !g_socket_bind (sock, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (sock, error);
  if (bound == NULL)
    return 0;
  /* Closed again at once: dovecot binds it a moment later (a small race
   * with other processes, acceptable on a test machine). */
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Whether the server greets within @ms. */
static gboolean
greets (guint16 port, guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_autoptr (GSocketClient) client = g_socket_client_new ();
      g_autoptr (GSocketConnection) conn = NULL;

      g_socket_client_set_timeout (client, 2);
      conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
      if (conn != NULL)
        {
          char buf[64] = { 0 };
          GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));

          if (g_input_stream_read (in, buf, sizeof buf - 1, NULL, NULL) > 4 && g_str_has_prefix (buf, "* OK"))
            return TRUE;
        }
      g_usleep (100 * 1000);
    }
  return FALSE;
}

/* The server must not outlive a test that aborts: the master gets SIGTERM
 * when the test process dies, and takes its children down. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

LiaTestDovecot *
lia_test_dovecot_start (const char *dir, GError **error)
{
  g_autofree char *dovecot = g_find_program_in_path ("dovecot");
  g_autoptr (GString) conf = g_string_new (NULL);
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *mail = g_build_filename (dir, "mail", NULL);
  g_autofree char *home = g_build_filename (dir, "home", NULL);
  g_autofree char *log = g_build_filename (dir, "dovecot.log", NULL);
  LiaTestDovecot *server;
  const char *internal_user;
  const char *internal_group;
  const char *login_user;
  uid_t mail_uid = getuid ();
  gid_t mail_gid = getgid ();
  guint16 port;
  const char *argv[5];

  if (dovecot == NULL && g_file_test ("/usr/sbin/dovecot", G_FILE_TEST_IS_EXECUTABLE))
    dovecot = g_strdup ("/usr/sbin/dovecot");
  if (dovecot == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no dovecot (package dovecot-imapd)");
      return NULL;
    }
  port = free_port (error);
  if (port == 0)
    return NULL;
  g_mkdir_with_parents (run, 0755);
  g_mkdir_with_parents (state, 0755);
  g_mkdir_with_parents (mail, 0700);
  g_mkdir_with_parents (home, 0700);
  if (getuid () == 0)
    {
      struct passwd *pw = getpwnam ("dovecot");

      /* getpwnam() returns a static buffer: keep the ids first. */
      if (pw != NULL)
        {
          mail_uid = pw->pw_uid;
          mail_gid = pw->pw_gid;
        }
      if (pw == NULL || getpwnam ("dovenull") == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "running as root needs the users dovecot and dovenull (package dovecot-core)");
          return NULL;
        }
      internal_user = "dovecot";
      internal_group = "dovecot";
      login_user = "dovenull";
      /* The login (dovenull) and mail (dovecot) processes reach run/ and
       * mail/ through @dir and its parent, the test's temporary
       * directory. */
      g_chmod (dir, 0755);
      {
        g_autofree char *parent = g_path_get_dirname (dir);

        g_chmod (parent, 0755);
      }
      if (chown (mail, mail_uid, mail_gid) != 0 || chown (home, mail_uid, mail_gid) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "chown %s: %s", mail,
                       g_strerror (errno));
          return NULL;
        }
    }
  else
    {
      struct passwd *pw = getpwuid (getuid ());
      struct group *gr = getgrgid (getgid ());

      internal_user = pw != NULL ? pw->pw_name : g_get_user_name ();
      internal_group = gr != NULL ? gr->gr_name : internal_user;
      login_user = internal_user;
    }
  g_string_append_printf (conf,
                          "base_dir = %s\n"
                          "state_dir = %s\n"
                          "log_path = %s\n"
                          "protocols = imap\n"
                          "listen = 127.0.0.1\n"
                          "ssl = no\n"
                          "disable_plaintext_auth = no\n"
                          "auth_mechanisms = plain login\n"
                          "mail_location = maildir:%s/%%u\n"
                          "first_valid_uid = 0\n"
                          "default_internal_user = %s\n"
                          "default_internal_group = %s\n"
                          "default_login_user = %s\n"
                          "passdb {\n  driver = static\n  args = password=" LIA_TEST_DOVECOT_PASSWORD "\n}\n"
                          "userdb {\n  driver = static\n  args = uid=%u gid=%u home=%s/%%u\n}\n"
                          "service imap-login {\n"
                          "  inet_listener imap {\n    address = 127.0.0.1\n    port = %u\n  }\n"
                          "  inet_listener imaps {\n    port = 0\n  }\n"
                          "  chroot =\n"
                          "}\n"
                          "service anvil {\n  chroot =\n}\n"
                          "service stats {\n  chroot =\n}\n"
                          "namespace inbox {\n"
                          "  inbox = yes\n"
                          "  separator = /\n"
                          "  mailbox Sent {\n    special_use = \\Sent\n    auto = create\n  }\n"
                          "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = create\n  }\n"
                          "}\n",
                          run, state, log, mail, internal_user, internal_group, login_user, (guint) mail_uid,
                          (guint) mail_gid, home, (guint) port);
  server = g_new0 (LiaTestDovecot, 1);
  server->dir = g_strdup (dir);
  server->port = port;
  server->conf = g_build_filename (dir, "dovecot.conf", NULL);
  if (!g_file_set_contents (server->conf, conf->str, -1, error))
    {
      lia_test_dovecot_stop (server);
      return NULL;
    }
  argv[0] = dovecot;
  argv[1] = "-F";
  argv[2] = "-c";
  argv[3] = server->conf;
  argv[4] = NULL;
  if (!g_spawn_async (dir, (char **) argv, NULL,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                      die_with_parent, NULL, &server->pid, error))
    {
      lia_test_dovecot_stop (server);
      return NULL;
    }
  if (!greets (port, 15000))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "dovecot did not answer on port %u; see %s", port,
                   log);
      lia_test_dovecot_stop (server);
      return NULL;
    }
  return server;
}

guint16
lia_test_dovecot_get_port (LiaTestDovecot *server)
{
  return server->port;
}

/* The processes the master started (imap-login, imap, auth, anvil...). */
static GArray *
children_of (GPid master)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  const char *name;

  if (proc == NULL)
    return pids;
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *stat = NULL;
      const char *close_paren;
      int ppid = 0;
      int pid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      pid = (int) g_ascii_strtoll (name, NULL, 10);
      path = g_build_filename ("/proc", name, "stat", NULL);
      if (!g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      /* pid (comm) state ppid ... */
      close_paren = strrchr (stat, ')');
      if (close_paren != NULL && sscanf (close_paren + 2, "%*c %d", &ppid) == 1 && ppid == master)
        g_array_append_val (pids, pid);
    }
  return pids;
}

/* Whether @pid still runs (a zombie does not count). */
static gboolean
alive (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *close_paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  close_paren = strrchr (stat, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

guint
lia_test_dovecot_stop (LiaTestDovecot *server)
{
  guint left = 0;

  if (server == NULL)
    return 0;
  if (server->pid > 0)
    {
      g_autoptr (GArray) children = children_of (server->pid);
      int status = 0;
      gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      gboolean reaped = FALSE;

      kill (server->pid, SIGTERM);
      while (!(reaped = waitpid (server->pid, &status, WNOHANG) == server->pid)
             && g_get_monotonic_time () < until)
        g_usleep (20 * 1000);
      if (!reaped)
        {
          kill (server->pid, SIGKILL);
          waitpid (server->pid, &status, 0);
          left++;
        }
      /* The master waits for its children before it exits; give stragglers
       * up to 10 s, then count (and end) what is left. */
      until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      for (guint i = 0; i < children->len; i++)
        {
          int pid = g_array_index (children, int, i);
          gint64 grace = until;

          while (alive (pid) && g_get_monotonic_time () < grace)
            g_usleep (20 * 1000);
          if (alive (pid))
            {
              g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", pid);
              g_autofree char *cmd = NULL;

              g_file_get_contents (path, &cmd, NULL, NULL);
              g_printerr ("# dovecot: process %d (%s) outlived the master\n", pid, cmd != NULL ? cmd : "?");
              left++;
              kill (pid, SIGKILL);
            }
        }
      g_spawn_close_pid (server->pid);
    }
  g_free (server->dir);
  g_free (server->conf);
  g_free (server);
  return left;
}
