/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* R-MAIL-BULK end to end with the batched create and track: the plugin's
 * code and the test host against the embedded org (through the network
 * switch of switch-crm.h, always up here). One page is one org batch;
 * each message still has its own result. */
#include <string.h>

#include "engine-fixture.h"
#include "lia-engine-mail.h"
#include "lia-plugin-mail.h"

static LiaItem *
mail (const char *message_id, const char *subject)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_EMAIL);
  LiaParty from = { .address = "shop@example.com", .entity = LIA_ENTITY_N };
  LiaParty to = { .address = "alice@example.org", .entity = LIA_ENTITY_N };
  g_autoptr (LiaValue) f = lia_value_new_party_list (&from, 1);
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
receive (Ef *ef, const char *message_id, const char *subject)
{
  g_autoptr (LiaItem) m = mail (message_id, subject);

  lia_clock_advance (ef->clock, EF_MINUTE);
  return lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "inbox", m, FALSE);
}

static LiaLinkState
state_of (Ef *ef, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);

  return hi->props.link_state;
}

static char *
result_of (Ef *ef, const char *item_id)
{
  g_autoptr (GError) error = NULL;
  char *result =
      lia_plugin_internal_funcs ()->dup_track_result (ef->a.plugin, LIA_TEST_STORE, item_id, &error);

  g_assert_no_error (error);
  return result;
}

static void
test_one_fails_in_page (Ef *ef, gconstpointer data)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmSubscription) sub = NULL;
  const guint n = 5, bad = 2;

  g_test_summary ("R-MAIL-BULK: in a page sent as one org batch, a message whose create returns an email "
                  "deleted in CRM since an earlier attempt (its track fails: not found) fails alone with "
                  "that reason, while the others of the page are tracked on the host and in the cache");
  ef_sync (&ef->a);
  g_assert_true (lia_cache_set_setting (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)),
                                        LIA_ENGINE_SETTING_AUTO_TRACK, "none", &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<page%u@example.com>", i);
      g_ptr_array_add (ids, receive (ef, msgid, "Invoice"));
    }
  /* An earlier attempt of message 2 made its CRM email (the bulk's
   * request id: subscription/store/item), which was deleted since. */
  sub = lia_crm_subscribe_sync (ef->direct, "alice-laptop", NULL, &error);
  g_assert_no_error (error);
  {
    g_autofree char *req = g_strdup_printf ("%s/%s/%s", sub->id, LIA_TEST_STORE, (char *) ids->pdata[bad]);
    g_autoptr (LiaItem) item = mail ("<page2@example.com>", "Invoice");
    g_autoptr (LiaCrmRecord) record = lia_crm_record_new_for_item (item);
    g_autoptr (LiaCrmRecord) made = lia_crm_create_sync (ef->direct, record, req, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (
        lia_crm_delete_sync (ef->direct, LIA_ENTITY_EMAIL, lia_crm_record_get_id (made), 0, NULL, &error));
    g_assert_no_error (error);
  }
  g_ptr_array_add (ids, NULL);
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "inbox";
  cmd.entity = LIA_ENTITY_EMAIL;
  g_assert_true (lia_plugin_internal_funcs ()->track_many (ef->a.plugin, &cmd,
                                                           (const char *const *) ids->pdata, &error));
  g_assert_no_error (error);
  while (lia_engine_mail_bulk_pending (lia_plugin_get_engine (ef->a.plugin)) > 0)
    g_main_context_iteration (NULL, TRUE);
  ef_sync (&ef->a);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *result = result_of (ef, ids->pdata[i]);
      g_autoptr (LiaCacheMapping) mapping = lia_cache_lookup_item (
          lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE, ids->pdata[i], NULL);
      if (i == bad)
        {
          g_assert_true (g_str_has_prefix (result, "failed: "));
          g_assert_nonnull (strstr (result, "No email"));
          g_assert_cmpint (state_of (ef, ids->pdata[i]), !=, LIA_LINK_STATE_TRACKED);
          g_assert_true (mapping == NULL || mapping->state != LIA_LINK_STATE_TRACKED);
          continue;
        }
      g_assert_true (g_str_has_prefix (result, "tracked: "));
      g_assert_cmpint (state_of (ef, ids->pdata[i]), ==, LIA_LINK_STATE_TRACKED);
      g_assert_nonnull (mapping);
      g_assert_cmpint (mapping->state, ==, LIA_LINK_STATE_TRACKED);
      g_assert_cmpstr (result + strlen ("tracked: "), ==, mapping->crm_id);
    }
  /* The four made (the deleted one is not live). */
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, n - 1);
  g_assert_true (lia_cache_check (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/mail/engine/R-MAIL-BULK/batch-one-fails-alone", Ef, NULL, ef_setup, test_one_fails_in_page,
              ef_teardown);
  return g_test_run ();
}
