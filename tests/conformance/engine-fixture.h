/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* End-to-end scenarios: the plugin's code (dispatcher, scheduler, engine)
 * driving the test host against the embedded org, in one process, on the
 * real cache file and the real org file under the test's isolated dirs. */

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "lia-crm-embedded.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"
#include "lia-test-host.h"
#include "switch-crm.h"

/* 2026-03-01T09:00:00Z */
#define EF_NOW G_GINT64_CONSTANT (1772355600000000)
#define EF_MINUTE (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)

typedef struct
{
  LiaTestHost *host; /* owned */
  LiaPlugin *plugin; /* owned */
  LiaCrm *crm;       /* owned: this client's user */
  char *cache_path;  /* owned */
  gboolean roaming;  /* set before ef_client_start (R-ROLE-ROAMING) */
  gboolean down;     /* set before ef_client_start: the org unreachable */
  gboolean manual;   /* set before ef_client_start: automatic sync off */
} EfClient;

typedef struct
{
  LiaClock *clock;
  LiaOrgService *org;
  char *alice_token;
  char *bob_token;
  LiaOrgCaller *alice;
  LiaOrgCaller *bob;
  LiaCrm *direct;          /* alice, straight to the org: the "CRM web UI" */
  LiaTestMailbox *mailbox; /* alice's mailbox */
  EfClient a;              /* alice's first (primary) client */
} Ef;

static inline char *
ef_path (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "liaison-test", NULL);

  g_mkdir_with_parents (dir, 0700);
  return g_build_filename (dir, name, NULL);
}

static inline void
ef_on_notify (const LiaHostNotification *n, gpointer user_data)
{
  EfClient *client = user_data;

  if (client->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (client->plugin, n);
}

static inline void
ef_client_start (Ef *ef, EfClient *client, LiaTestMailbox *mailbox, const char *token, const char *name,
                 const char *cache_name, gboolean delegate)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;

  client->host = lia_test_host_new (mailbox);
  {
    g_autoptr (LiaCrm) embedded = lia_crm_embedded_new_for_service (ef->org, token);

    client->crm = switch_crm_new (embedded);
    switch_crm_set_down (client->crm, client->down);
  }
  client->cache_path = ef_path (cache_name);
  config.cache_path = client->cache_path;
  config.crm = client->crm;
  config.org_name = "test-org";
  config.client_name = name;
  config.delegate = delegate;
  config.roaming = client->roaming;
  config.manual_sync = client->manual;
  config.clock = ef->clock;
  client->plugin =
      lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), client->host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (client->plugin);
  lia_test_host_set_notify (client->host, ef_on_notify, client);
}

static inline void
ef_client_stop (EfClient *client)
{
  if (client->plugin == NULL)
    return;
  lia_test_host_set_notify (client->host, NULL, NULL);
  g_clear_pointer (&client->plugin, lia_plugin_internal_funcs ()->unload);
  /* Let the stopped engine's last callbacks run and its worker finish. */
  for (guint i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
  g_clear_pointer (&client->host, lia_test_host_free);
  g_clear_object (&client->crm);
  g_clear_pointer (&client->cache_path, g_free);
}

static inline void
ef_setup (Ef *ef, gconstpointer data)
{
  g_autofree char *path = ef_path ("org.db");
  g_autoptr (GError) error = NULL;

  ef->clock = lia_clock_new_manual (EF_NOW);
  g_unlink (path);
  ef->org = lia_org_service_open (path, ef->clock, &error);
  g_assert_no_error (error);
  g_assert_true (
      lia_org_service_add_user (ef->org, "alice", "alice@example.org", FALSE, &ef->alice_token, &error));
  g_assert_true (lia_org_service_add_user (ef->org, "bob", "bob@example.org", FALSE, &ef->bob_token, &error));
  ef->alice = lia_org_service_authenticate (ef->org, ef->alice_token, &error);
  ef->bob = lia_org_service_authenticate (ef->org, ef->bob_token, &error);
  g_assert_no_error (error);
  ef->direct = lia_crm_embedded_new_for_service (ef->org, ef->alice_token);
  ef->mailbox = lia_test_mailbox_new (ef->clock);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
}

static inline void
ef_teardown (Ef *ef, gconstpointer data)
{
  ef_client_stop (&ef->a);
  lia_test_mailbox_unref (ef->mailbox);
  g_clear_object (&ef->direct);
  lia_org_caller_free (ef->alice);
  lia_org_caller_free (ef->bob);
  g_free (ef->alice_token);
  g_free (ef->bob_token);
  lia_org_service_unref (ef->org);
  lia_clock_unref (ef->clock);
}

static inline void
ef_sync_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

/* One Synchronize Now, run to the end while the main context turns. */
static inline gboolean
ef_try_sync (EfClient *client, GError **error)
{
  LiaEngine *engine = lia_plugin_get_engine (client->plugin);
  g_autoptr (GAsyncResult) res = NULL;

  lia_engine_sync_async (engine, NULL, ef_sync_done, &res);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  return lia_engine_sync_finish (engine, res, error);
}

static inline void
ef_sync (EfClient *client)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ef_try_sync (client, &error));
  g_assert_no_error (error);
}

/* Turns the main context until the queue holds at least @n changes (the
 * dispatcher's writes are asynchronous) or five seconds passed. */
static inline void
ef_wait_queued (EfClient *client, guint64 n)
{
  gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      LiaCache *cache = lia_engine_get_cache (lia_plugin_get_engine (client->plugin));
      guint64 count = 0;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (cache != NULL && lia_cache_count_changes (cache, LIA_CACHE_CHANGES_ALL, &count, NULL) && count >= n)
        return;
      g_usleep (1000);
    }
  g_assert_not_reached ();
}

/* Lets pending host callbacks (link-state writes) run. */
static inline void
ef_iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static inline LiaCrmRecord *
ef_contact (const char *given, const char *family)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_CONTACT);
  LiaItem *item = lia_crm_record_get_item (record);
  g_autofree char *full = g_strdup_printf ("%s %s", given, family);

  g_assert_true (lia_item_set_text (item, "given-name", given, NULL));
  g_assert_true (lia_item_set_text (item, "family-name", family, NULL));
  g_assert_true (lia_item_set_text (item, "full-name", full, NULL));
  return record;
}

/* Creates a contact in CRM owned by @caller; returns its id. */
static inline char *
ef_crm_contact (Ef *ef, const LiaOrgCaller *caller, const char *given, const char *family)
{
  g_autoptr (LiaCrmRecord) contact = ef_contact (given, family);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  made = lia_org_service_create (ef->org, caller, contact, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static inline LiaCrmRecord *
ef_crm_get (Ef *ef, LiaEntity entity, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaCrmRecord *rec = lia_crm_retrieve_sync (ef->direct, entity, id, NULL, &error);

  g_assert_no_error (error);
  return rec;
}

/* Changes one text field of a CRM record as another CRM user would. */
static inline void
ef_crm_edit (Ef *ef, LiaEntity entity, const char *id, const char *field, const char *text)
{
  g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, entity, id);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (rec), field, text, NULL));
  stored = lia_crm_update_sync (ef->direct, rec, NULL, &error);
  g_assert_no_error (error);
}

static inline gboolean
ef_count_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

/* How many records of @entity the org holds (R-DUP-NONE checks). */
static inline guint
ef_crm_count (Ef *ef, LiaEntity entity)
{
  g_autoptr (GError) error = NULL;
  guint n = 0;

  g_assert_true (lia_org_service_foreach_record (ef->org, entity, ef_count_row, &n, &error));
  g_assert_no_error (error);
  return n;
}

/* Turns the main context until @client's engine is in @state (at most ten
 * seconds). */
static inline void
ef_wait_state (EfClient *client, LiaSyncState state)
{
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_auto (LiaSyncStatus) status = { 0 };

      lia_plugin_internal_funcs ()->get_status (client->plugin, &status);
      if (status.state == state)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static inline LiaSyncState
ef_state (EfClient *client)
{
  g_auto (LiaSyncStatus) status = { 0 };

  lia_plugin_internal_funcs ()->get_status (client->plugin, &status);
  return status.state;
}
