/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A real IMAP server for tests: Debian's dovecot-imapd started by the
 * test in the foreground (dovecot -F -c <conf>) on 127.0.0.1 and a free
 * port, with a configuration written into a temporary directory: plaintext
 * LOGIN allowed, no TLS, one static password for every user, maildir
 * storage in the directory, Sent and Drafts marked with SPECIAL-USE.
 * Non-root: every dovecot service runs as the current user. As root
 * (containers), dovecot refuses root for its login and mail processes, so
 * they run as the package's dovecot/dovenull users and the mail directory
 * is handed to dovecot. */

typedef struct _LiaTestDovecot LiaTestDovecot;

#define LIA_TEST_DOVECOT_PASSWORD "secret"

/* Starts the server under @dir (created). NULL with G_IO_ERROR_NOT_FOUND
 * when dovecot is not installed (the caller skips), another error when it
 * does not start (the message names the log). Waits until it greets. */
LiaTestDovecot *lia_test_dovecot_start (const char *dir, GError **error);
guint16 lia_test_dovecot_get_port (LiaTestDovecot *server);
/* Stops it (SIGTERM, waits for the master) and frees; returns how many of
 * its processes (master, imap, imap-login, auth...) were still alive after
 * the master exited (0 expected). NULL-safe. */
guint lia_test_dovecot_stop (LiaTestDovecot *server);

G_END_DECLS
