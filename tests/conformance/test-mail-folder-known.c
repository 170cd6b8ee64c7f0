/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* R-MAIL-FOLDER end to end (the plugin's code, the test host, the embedded
 * org): a tracked folder tracks mail "moved or filtered into it", never the
 * mail it held when it was marked, also when the host announces every
 * message again as new (a rebuilt summary: the same ids; an IMAP
 * UIDVALIDITY change: new ids for the same messages). */

#include "engine-fixture.h"
#include "lia-cache-private.h"
#include "lia-engine-mail.h"

#define FOLDER "project-z"
#define N_OLD 40

static LiaItem *
mail (const char *message_id, const char *subject, const char *from)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_EMAIL);
  LiaParty sender = { .address = from, .entity = LIA_ENTITY_N };
  LiaParty to = { .address = "alice@example.org", .entity = LIA_ENTITY_N };
  g_autoptr (LiaValue) f = lia_value_new_party_list (&sender, 1);
  g_autoptr (LiaValue) t = lia_value_new_party_list (&to, 1);
  g_autoptr (LiaValue) d = lia_value_new_enum ("incoming");

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set_text (item, "message-id", message_id, NULL));
  g_assert_true (lia_item_set (item, "from", f, NULL));
  g_assert_true (lia_item_set (item, "to", t, NULL));
  g_assert_true (lia_item_set (item, "direction", d, NULL));
  return item;
}

static char *
receive (Ef *ef, const char *folder, const char *message_id, const char *subject)
{
  g_autoptr (LiaItem) m = mail (message_id, subject, "friend@example.net");

  lia_clock_advance (ef->clock, EF_MINUTE);
  return lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, folder, m, FALSE);
}

static char *
account (Ef *ef, const char *name)
{
  g_autoptr (LiaCrmRecord) a = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (a), "name", name, NULL));
  made = lia_org_service_create (ef->org, ef->alice, a, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static LiaCache *
cache_of (EfClient *client)
{
  return lia_engine_get_cache (lia_plugin_get_engine (client->plugin));
}

static LiaLinkState
state_of (Ef *ef, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);

  g_assert_nonnull (hi);
  return hi->props.link_state;
}

static LiaLinkState
wait_state (Ef *ef, const char *item_id, LiaLinkState state)
{
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (state_of (ef, item_id) != state && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  return state_of (ef, item_id);
}

static gboolean
arrival_noted (Ef *ef, const char *item_id)
{
  g_autofree char *key = g_strdup_printf ("mail-arrival:%s\t%s", LIA_TEST_STORE, item_id);
  g_autofree char *value = lia_cache_dup_watermark (cache_of (&ef->a), key, NULL);

  return value != NULL;
}

/* Cycles until no arrival of @ids is noted any more: the folder phase
 * decided each (the notes are written asynchronously). */
static void
sync_until_decided (Ef *ef, GPtrArray *ids)
{
  for (guint round = 0; round < 50; round++)
    {
      gboolean left = FALSE;

      g_usleep (10000);
      ef_iterate ();
      ef_sync (&ef->a);
      for (guint i = 0; i < ids->len && !left; i++)
        left = arrival_noted (ef, ids->pdata[i]);
      if (!left)
        return;
    }
  g_assert_not_reached ();
}

static void
assert_folder_tracked (Ef *ef, const char *item_id, const char *acct)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_autofree char *kind = NULL;
  g_autofree char *message = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (hi->props.regarding_id, ==, acct);
  g_assert_true (lia_engine_mail_dup_reason (cache_of (&ef->a), LIA_TEST_STORE, item_id, &kind, NULL, NULL,
                                             &message, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kind, ==, "folder-track");
  g_assert_true (g_str_has_prefix (message, "R-MAIL-FOLDER: arrived in tracked folder \"" FOLDER "\""));
}

/* What a host reports when it announces @item_id again as new: Camel's
 * folder-changed "added" after it rebuilt a folder's summary. */
static void
announce (Ef *ef, const char *item_id)
{
  LiaHostNotification n = { LIA_HOST_ABI_VERSION };

  n.event = LIA_HOST_EVENT_CREATED;
  n.store = LIA_TEST_STORE;
  n.folder = FOLDER;
  n.item_id = item_id;
  n.entity = LIA_ENTITY_EMAIL;
  n.link_state = state_of (ef, item_id);
  lia_plugin_internal_funcs ()->notify (ef->a.plugin, &n);
}

static gint64
known (Ef *ef)
{
  g_autoptr (GError) error = NULL;
  gint64 n = lia_cache_count_known (cache_of (&ef->a), LIA_TEST_STORE "/" FOLDER, &error);

  g_assert_no_error (error);
  return n;
}

static void
command_track (Ef *ef, const char *folder, const char *item_id)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_TEST_STORE;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.link_state = state_of (ef, item_id);
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
}

static void
test_reannounced (Ef *ef, gconstpointer data)
{
  g_autoptr (GPtrArray) olds = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) renamed = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *acct = NULL;
  g_autofree char *future = NULL;
  g_autofree char *linked = NULL;
  g_autofree char *x1 = NULL, *x2 = NULL, *x3 = NULL;
  g_autofree char *moved1 = NULL, *moved2 = NULL, *moved3 = NULL;
  g_autoptr (GError) error = NULL;
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);
  gint64 now;

  g_test_summary ("R-MAIL-FOLDER: the messages a folder held when it was marked are never tracked by the "
                  "folder, also when the host announces every one of them again as new with the same ids "
                  "(a rebuilt summary) or new ids (an IMAP UIDVALIDITY change), before and after a "
                  "restart, nor by the date scan (one dated after the mark); mail moved in after the mark "
                  "(older dates, new Message-IDs) is tracked: before the first cycle, after the "
                  "re-announces, and across a restart; unmarking forgets the folder's messages, marking "
                  "again lists them again");
  ef_sync (&ef->a);
  g_assert_true (lia_cache_set_setting (cache_of (&ef->a), LIA_ENGINE_SETTING_AUTO_TRACK, "none", &error));
  g_assert_no_error (error);
  acct = account (ef, "Project Z");
  /* The folder's private mail, long before it is marked; one dated after
   * the mark (a wrong clock), which the date scan alone would track. */
  for (guint i = 0; i < N_OLD; i++)
    {
      g_autofree char *id = g_strdup_printf ("<private%u@example.net>", i);
      g_autofree char *subject = g_strdup_printf ("Private %u", i);
      g_ptr_array_add (olds, receive (ef, FOLDER, id, subject));
    }
  now = lia_clock_now (ef->clock);
  lia_clock_set (ef->clock, now + 24 * 60 * EF_MINUTE);
  future = receive (ef, FOLDER, "<future@example.net>", "From the future");
  lia_clock_set (ef->clock, now);
  /* One the user tracked by hand. */
  linked = receive (ef, FOLDER, "<linked@example.net>", "Tracked by hand");
  command_track (ef, FOLDER, linked);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, linked), ==, LIA_LINK_STATE_TRACKED);
  /* Older mail elsewhere, moved in later. */
  x1 = receive (ef, "inbox", "<x1@example.com>", "Moved in first");
  x2 = receive (ef, "inbox", "<x2@example.com>", "Moved in second");
  x3 = receive (ef, "inbox", "<x3@example.com>", "Moved in third");
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);

  g_assert_true (
      lia_engine_mail_set_folder (engine, LIA_TEST_STORE, FOLDER, TRUE, acct, "Project Z", &error));
  g_assert_no_error (error);
  lia_clock_advance (ef->clock, EF_MINUTE);
  /* Moved in before the first cycle listed the folder: an arrival. */
  moved1 = lia_test_host_user_move_new_id (ef->a.host, x1, LIA_TEST_STORE, FOLDER, TRUE);
  ef_iterate ();
  ef_sync (&ef->a);
  g_assert_cmpint (wait_state (ef, moved1, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
  ef_sync (&ef->a);
  assert_folder_tracked (ef, moved1, acct);
  /* Listed: the old ones, the future one, the linked one; and moved1 once
   * decided. */
  g_assert_cmpint (known (ef), ==, N_OLD + 3);
  g_assert_cmpint (state_of (ef, future), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 2);

  /* A rebuilt summary: every message announced again, same ids. */
  {
    g_autoptr (GPtrArray) all = g_ptr_array_new ();

    for (guint i = 0; i < olds->len; i++)
      g_ptr_array_add (all, olds->pdata[i]);
    g_ptr_array_add (all, future);
    g_ptr_array_add (all, linked);
    g_ptr_array_add (all, moved1);
    for (guint i = 0; i < all->len; i++)
      announce (ef, all->pdata[i]);
    sync_until_decided (ef, all);
  }
  for (guint i = 0; i < olds->len; i++)
    g_assert_cmpint (state_of (ef, olds->pdata[i]), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, future), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 2);

  /* A UIDVALIDITY change: the same messages under new ids (a delete and a
   * create each). */
  for (guint i = 0; i < olds->len; i++)
    g_ptr_array_add (
        renamed, lia_test_host_user_move_new_id (ef->a.host, olds->pdata[i], LIA_TEST_STORE, FOLDER, FALSE));
  g_ptr_array_add (renamed,
                   lia_test_host_user_move_new_id (ef->a.host, future, LIA_TEST_STORE, FOLDER, FALSE));
  sync_until_decided (ef, renamed);
  for (guint i = 0; i < renamed->len; i++)
    g_assert_cmpint (state_of (ef, renamed->pdata[i]), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 2);
  g_assert_cmpint (known (ef), ==, N_OLD + 3);

  /* Older mail moved in afterwards (a new Message-ID): tracked. */
  moved2 = lia_test_host_user_move_new_id (ef->a.host, x2, LIA_TEST_STORE, FOLDER, TRUE);
  g_assert_cmpint (wait_state (ef, moved2, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
  ef_sync (&ef->a);
  assert_folder_tracked (ef, moved2, acct);

  /* Moved in with the org down, then a restart before the cycle: tracked
   * after it, as before; the folder's old mail announced again after the
   * restart is still left alone. */
  switch_crm_set_down (ef->a.crm, TRUE);
  moved3 = lia_test_host_user_move_new_id (ef->a.host, x3, LIA_TEST_STORE, FOLDER, TRUE);
  {
    gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (!arrival_noted (ef, moved3) && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    g_assert_true (arrival_noted (ef, moved3));
  }
  ef_client_stop (&ef->a);
  ef->a.manual = TRUE;
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  engine = lia_plugin_get_engine (ef->a.plugin);
  for (guint i = 0; i < renamed->len; i++)
    announce (ef, renamed->pdata[i]);
  g_ptr_array_add (renamed, g_strdup (moved3));
  sync_until_decided (ef, renamed);
  ef_sync (&ef->a);
  assert_folder_tracked (ef, moved3, acct);
  for (guint i = 0; i + 1 < renamed->len; i++)
    g_assert_cmpint (state_of (ef, renamed->pdata[i]), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 4);
  g_assert_cmpint (known (ef), ==, N_OLD + 5);

  /* Unmarked: forgotten. Marked again: listed again (every message the
   * folder holds now, the tracked ones too). */
  g_assert_true (lia_engine_mail_set_folder (engine, LIA_TEST_STORE, FOLDER, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (known (ef), ==, 0);
  {
    g_autofree char *listed =
        lia_cache_dup_watermark (cache_of (&ef->a), "mail-folder-known:" LIA_TEST_STORE "/" FOLDER, NULL);
    g_assert_null (listed);
  }
  g_assert_true (
      lia_engine_mail_set_folder (engine, LIA_TEST_STORE, FOLDER, TRUE, acct, "Project Z", &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  g_assert_cmpint (known (ef), ==, lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, FOLDER));
  g_assert_cmpint (known (ef), ==, N_OLD + 5);
  g_assert_true (lia_cache_check (cache_of (&ef->a), &error));
  g_assert_no_error (error);
}

static void
test_marked_offline (Ef *ef, gconstpointer data)
{
  g_autoptr (GPtrArray) olds = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *acct = NULL;
  g_autofree char *x = NULL;
  g_autofree char *moved = NULL;
  g_autoptr (GError) error = NULL;
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);

  g_test_summary ("R-MAIL-FOLDER: a folder marked while the org is unreachable is listed at the next "
                  "cycle all the same, so its mail announced again before the org is back is not tracked "
                  "once it is; a message moved in meanwhile is");
  ef_sync (&ef->a);
  g_assert_true (lia_cache_set_setting (cache_of (&ef->a), LIA_ENGINE_SETTING_AUTO_TRACK, "none", &error));
  g_assert_no_error (error);
  acct = account (ef, "Project Z");
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *id = g_strdup_printf ("<offline%u@example.net>", i);
      g_ptr_array_add (olds, receive (ef, FOLDER, id, "Private"));
    }
  x = receive (ef, "inbox", "<x-offline@example.com>", "Moved in while offline");
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);

  switch_crm_set_down (ef->a.crm, TRUE);
  g_assert_true (
      lia_engine_mail_set_folder (engine, LIA_TEST_STORE, FOLDER, TRUE, acct, "Project Z", &error));
  g_assert_no_error (error);
  (void) ef_try_sync (&ef->a, NULL);
  g_assert_cmpint (known (ef), ==, 10);
  for (guint i = 0; i < olds->len; i++)
    announce (ef, olds->pdata[i]);
  moved = lia_test_host_user_move_new_id (ef->a.host, x, LIA_TEST_STORE, FOLDER, TRUE);
  {
    gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while ((!arrival_noted (ef, moved) || !arrival_noted (ef, olds->pdata[olds->len - 1]))
           && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    g_assert_true (arrival_noted (ef, moved));
  }
  (void) ef_try_sync (&ef->a, NULL);
  g_assert_cmpint (state_of (ef, moved), ==, LIA_LINK_STATE_NONE);

  switch_crm_set_down (ef->a.crm, FALSE);
  g_ptr_array_add (olds, g_strdup (moved));
  sync_until_decided (ef, olds);
  ef_sync (&ef->a);
  assert_folder_tracked (ef, moved, acct);
  for (guint i = 0; i + 1 < olds->len; i++)
    g_assert_cmpint (state_of (ef, olds->pdata[i]), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 1);
}

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/mail/folder-known/R-MAIL-FOLDER/reannounced-not-tracked", Ef, NULL, ef_setup,
              test_reannounced, ef_teardown);
  g_test_add ("/mail/folder-known/R-MAIL-FOLDER/marked-offline", Ef, NULL, ef_setup, test_marked_offline,
              ef_teardown);
  return g_test_run ();
}
