/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "lia-crm-embedded.h"
#include "lia-evo-host.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"

G_BEGIN_DECLS

/* What the Camel mail tests (test-evolution-mail*.c) and the maildir parts
 * of bench/bench-email.c and bench/bench-folder-known.c share: a real Camel
 * maildir store in a fresh temporary directory, the Evolution host adapter
 * over it, and the embedded org, the sync cache and a plugin instance over
 * the host. Camel's local provider runs in-process: no bus, no daemon.
 * Each had its own copy. Callers read and set the fields directly. */

typedef struct
{
  char *tmp;             /* owned: removed by lia_test_camel_clear() */
  char *maildir;         /* owned: tmp/Maildir */
  const char *store_uid; /* not owned (a literal) */
  const char *me;        /* the identity's address; not owned */
  CamelSession *session;
  CamelStore *store;
  LiaEvoHost *host; /* owns the LiaEvoMail */
  LiaEvoMail *mail; /* borrowed from host */
  /* The engine end to end (lia_test_camel_engine_start()). */
  LiaClock *clock;
  LiaOrgService *org;
  char *token;
  LiaCrm *crm;
  LiaPlugin *plugin;
  char *cache_path;
  const char *user;        /* the org's user; NULL: "me" */
  const char *org_name;    /* the plugin's; NULL: "test-org" */
  const char *client_name; /* the plugin's; NULL: "me-evolution" */
  gboolean manual_sync;    /* the plugin's config.manual_sync */
  /* Called with each host notification before the plugin gets it. */
  LiaEvoNotifyFunc on_note;
  gpointer on_note_data;
} LiaTestCamel;

/* A GAsyncReadyCallback storing a reference to the result in the
 * GAsyncResult * that @user_data points to. */
void lia_test_got_res (GObject *source, GAsyncResult *res, gpointer user_data);
/* Iterates the default main context until *@res is set (at most 60 s;
 * asserts it was). */
void lia_test_wait_res (GAsyncResult **res);
/* Runs what is pending on the default main context for @ms ms. */
void lia_test_iterate_for (guint ms);

/* Creates @maildir's cur, new and tmp directories, or with @folder those
 * of its maildir++ sub-folder (@maildir/.@folder). */
void lia_test_maildir_make (const char *maildir, const char *folder);
/* Writes @text (@len bytes, -1: up to its NUL) as @maildir/cur/@name:2,S
 * (seen), as a mail client left it. */
void lia_test_maildir_write (const char *maildir, const char *name, const char *text, gssize len);

/* A fresh temporary directory (@tmp_template, as for g_dir_make_tmp())
 * with an empty maildir (its Inbox) in it. */
void lia_test_camel_init (LiaTestCamel *tc, const char *tmp_template, const char *store_uid, const char *me);
/* Opens (or reopens, after lia_test_camel_close()) the maildir store with
 * a fresh session, as a new process would, and the mail-only host adapter
 * over it, its folders resolved. With @sent_name, the identity's Sent
 * folder is configured by its URI folder://<store-uid>/<sent-name> and
 * Drafts by @drafts_name, as Evolution configures a local account. FALSE
 * with LIA_ERROR_UNAVAILABLE when this machine has no Camel maildir
 * provider. */
gboolean lia_test_camel_open (LiaTestCamel *tc, const char *sent_name, const char *drafts_name,
                              GError **error);
/* lia_test_camel_open() in a test: the test is skipped (FALSE) when there
 * is no maildir provider; any other error fails it. */
gboolean lia_test_camel_open_or_skip (LiaTestCamel *tc, const char *sent_name, const char *drafts_name);
/* Stops the engine and closes the host, the store and the session; the
 * maildir, org and cache stay. */
void lia_test_camel_close (LiaTestCamel *tc);
/* lia_test_camel_close(), then the org, and the temporary directory
 * removed. */
void lia_test_camel_clear (LiaTestCamel *tc);

/* (transfer full) @full_name of the store, created if needed. */
CamelFolder *lia_test_camel_folder (LiaTestCamel *tc, const char *full_name);
/* Appends @text to @full_name as a mail client files a message; returns
 * (transfer full) its uid. */
char *lia_test_camel_append (LiaTestCamel *tc, const char *full_name, const char *text);

/* A plugin instance over the host (nothing of an earlier one's memory)
 * with the embedded org (opened in tmp/org.db at the first start, user
 * tc->user with the identity's address, system clock) and the sync cache
 * in tmp/cache.db. With @watch, the host's notifications go to
 * tc->on_note, then to the plugin. */
void lia_test_camel_engine_start (LiaTestCamel *tc, gboolean watch);
/* Stops watching the host and unloads the plugin (NULL-safe). */
void lia_test_camel_engine_stop (LiaTestCamel *tc);
/* Runs sync cycles until nothing that never failed is left queued (5 at
 * most). */
void lia_test_camel_engine_sync (LiaTestCamel *tc);
/* Runs @cmd through the plugin with its store and entity set to the
 * Evolution store and email, asserts it is accepted, then runs the main
 * context for @settle_ms ms (the host write is async). */
void lia_test_camel_command (LiaTestCamel *tc, LiaCommand *cmd, guint settle_ms);
/* The host vtable's read of @item_id; asserts it succeeds. */
LiaHostItem *lia_test_camel_host_read_ok (LiaTestCamel *tc, const char *item_id);
/* Creates an account named @name in the org; returns (transfer full) its
 * id. */
char *lia_test_camel_crm_account (LiaTestCamel *tc, const char *name);

G_END_DECLS
