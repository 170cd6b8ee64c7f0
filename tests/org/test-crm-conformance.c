/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "crm-test-backend.h"

/* The connector conformance suite: the same cases run unchanged against
 * the embedded connector and the http connector (a real liaison-server on
 * a free loopback port). Each case goes through LiaCrm only. */

static LiaCrmRecord *
contact (const char *given, const char *family, const char *email)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_CONTACT);
  LiaItem *item = lia_crm_record_get_item (record);
  g_autofree char *full = g_strdup_printf ("%s %s", given, family);

  g_assert_true (lia_item_set_text (item, "given-name", given, NULL));
  g_assert_true (lia_item_set_text (item, "family-name", family, NULL));
  g_assert_true (lia_item_set_text (item, "full-name", full, NULL));
  if (email != NULL)
    g_assert_true (lia_item_set_text (item, "email-1", email, NULL));
  return record;
}

static void
test_whoami_and_auth (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmUser) me = NULL;
  g_autoptr (LiaCrmUser) nobody = NULL;
  g_autoptr (LiaCrm) intruder = crm_backend_connect (f, "lia_0000000000000000000000000000000000");
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "The connector authenticates with the user's token; a wrong token fails with LIA_ERROR_AUTH.");
  me = lia_crm_whoami_sync (f->alice, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (me->name, ==, "alice");
  g_assert_false (me->admin);
  nobody = lia_crm_whoami_sync (intruder, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_AUTH);
}

static void
test_records (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmRecord) jeff = contact ("Jeff", "Smith", "jeff@example.com");
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCrmRecord) again = NULL;
  g_autoptr (LiaCrmRecord) read = NULL;
  g_autoptr (LiaCrmRecord) updated = NULL;
  g_autoptr (LiaCrmRecord) stale = NULL;
  g_autoptr (LiaCrmRecord) gone = NULL;
  g_autoptr (LiaValue) birthday = lia_value_new_date (1980, 5, 17);
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "Create (idempotent by request id), retrieve, update with the read version, a stale update "
      "is LIA_ERROR_CONFLICT, delete, and a deleted record is LIA_ERROR_NOT_FOUND; values round-trip.");
  g_assert_true (lia_item_set (lia_crm_record_get_item (jeff), "birthday", birthday, NULL));
  g_assert_true (
      lia_item_set_text (lia_crm_record_get_item (jeff), "notes", "  two\nlines <&> \"q\"  ", NULL));
  made = lia_crm_create_sync (f->alice, jeff, "create-1", NULL, &error);
  g_assert_no_error (error);
  again = lia_crm_create_sync (f->alice, jeff, "create-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (again), ==, lia_crm_record_get_id (made));
  read = lia_crm_retrieve_sync (f->bob, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lia_item_identical (lia_crm_record_get_item (read), lia_crm_record_get_item (jeff)));
  g_assert_cmpstr (lia_crm_record_get_owner (read), ==, f->alice_id);

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (read), "given-name", "John", NULL));
  updated = lia_crm_update_sync (f->alice, read, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lia_crm_record_get_version (updated), >, lia_crm_record_get_version (made));
  stale = lia_crm_update_sync (f->alice, read, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_CONFLICT);
  g_clear_error (&error);

  g_assert_true (lia_crm_delete_sync (f->alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made),
                                      lia_crm_record_get_version (updated), NULL, &error));
  g_assert_no_error (error);
  gone = lia_crm_retrieve_sync (f->alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made), NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static guint
drain (LiaCrm *crm, const char *sub, guint page_size, GPtrArray *ops)
{
  g_autofree char *cursor = NULL;
  guint pages = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LiaSyncPage) page =
          lia_crm_get_sync_data_sync (crm, sub, LIA_ENTITY_CONTACT, cursor, page_size, NULL, &error);
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      g_assert_no_error (error);
      pages++;
      for (guint i = 0; i < lia_sync_page_get_n_changes (page); i++)
        {
          const LiaSyncChange *c = lia_sync_page_get_change (page, i);
          g_ptr_array_add (ops, g_strdup_printf ("%s:%s", lia_sync_op_to_string (c->op), c->id));
          g_ptr_array_add (ids, c->id);
        }
      g_ptr_array_add (ids, NULL);
      g_assert_true (lia_crm_post_sync_sync (crm, sub, LIA_ENTITY_CONTACT, (const char *const *) ids->pdata,
                                             NULL, &error));
      g_assert_no_error (error);
      if (!lia_sync_page_get_more (page))
        return pages;
      g_free (cursor);
      cursor = g_strdup (lia_sync_page_get_cursor (page));
    }
}

static void
test_sync_cycle (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (LiaSyncSummary) first = NULL;
  g_autoptr (LiaSyncSummary) none = NULL;
  g_autoptr (LiaSyncSummary) later = NULL;
  g_autoptr (GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) ops2 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  char *first_id = NULL;

  g_test_summary (
      "R-DET-SERVER: subscribe (first client primary), PrepareSync counts, GetSyncData in truncated "
      "pages resumed by cursor, PostSync, then an incremental PrepareSync reports only the change.");
  sub = lia_crm_subscribe_sync (f->alice, "alice-laptop", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sub->primary);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr (LiaCrmRecord) c = contact ("Person", "Number", NULL);
      g_autoptr (LiaCrmRecord) made = lia_crm_create_sync (f->alice, c, NULL, NULL, &error);
      g_assert_no_error (error);
      if (i == 0)
        first_id = g_strdup (lia_crm_record_get_id (made));
    }
  first = lia_crm_prepare_sync_sync (f->alice, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lia_sync_summary_get (first, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), ==, 5);
  g_assert_cmpuint (drain (f->alice, sub->id, 2, ops), ==, 3);
  g_assert_cmpuint (ops->len, ==, 5);
  none = lia_crm_prepare_sync_sync (f->alice, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_cmpuint (lia_sync_summary_get_total (none), ==, 0);
  {
    g_autoptr (LiaCrmRecord) r = lia_crm_retrieve_sync (f->alice, LIA_ENTITY_CONTACT, first_id, NULL, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "Changed", NULL));
    u = lia_crm_update_sync (f->alice, r, NULL, &error);
    g_assert_no_error (error);
  }
  later = lia_crm_prepare_sync_sync (f->alice, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_cmpuint (lia_sync_summary_get (later, LIA_ENTITY_CONTACT, LIA_SYNC_OP_UPDATE), ==, 1);
  drain (f->alice, sub->id, 100, ops2);
  g_assert_cmpuint (ops2->len, ==, 1);
  {
    g_autofree char *expect = g_strdup_printf ("update:%s", first_id);
    g_assert_cmpstr (ops2->pdata[0], ==, expect);
  }
  g_free (first_id);
}

static void
test_two_users (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) bob_sub = NULL;
  g_autoptr (LiaSyncSummary) stolen = NULL;
  g_autoptr (LiaSyncSummary) mine = NULL;
  g_autoptr (LiaSyncPage) page = NULL;
  g_autoptr (LiaCrmRecord) secret = contact ("Bob's", "Secret", NULL);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCrmRecord) seen = NULL;
  g_autoptr (LiaCrmRecord) hijack = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "Two users: A cannot read B's subscription or update B's record (LIA_ERROR_FORBIDDEN), and "
      "a field B's role may not read (government-id, set unreadable for role user) never appears in "
      "B's GetSyncData.");
  bob_sub = lia_crm_subscribe_sync (f->bob, "bob-pc", NULL, &error);
  g_assert_no_error (error);
  stolen = lia_crm_prepare_sync_sync (f->alice, bob_sub->id, 0, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (secret), "government-id", "999-99", NULL));
  made = lia_crm_create_sync (f->root, secret, NULL, NULL, &error);
  g_assert_no_error (error);
  seen = lia_crm_retrieve_sync (f->root, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made), NULL, &error);
  lia_crm_record_set_owner (seen, f->bob_id);
  g_clear_pointer (&made, lia_crm_record_free);
  made = lia_crm_update_sync (f->root, seen, NULL, &error);
  g_assert_no_error (error);

  g_clear_pointer (&seen, lia_crm_record_free);
  seen = lia_crm_retrieve_sync (f->alice, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made), NULL, &error);
  g_assert_no_error (error);
  g_assert_null (lia_item_get (lia_crm_record_get_item (seen), "government-id"));
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (seen), "nickname", "Hijacked", NULL));
  hijack = lia_crm_update_sync (f->alice, seen, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);

  mine = lia_crm_prepare_sync_sync (f->bob, bob_sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_no_error (error);
  page = lia_crm_get_sync_data_sync (f->bob, bob_sub->id, LIA_ENTITY_CONTACT, NULL, 100, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lia_sync_page_get_n_changes (page), ==, 1);
  g_assert_nonnull (lia_sync_page_get_change (page, 0)->record);
  g_assert_cmpstr (
      lia_item_get_text (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "full-name"),
      ==, "Bob's Secret");
  g_assert_null (
      lia_item_get (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "government-id"));
}

static void
test_roles_and_tombstones (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) laptop = NULL;
  g_autoptr (LiaCrmSubscription) desktop = NULL;
  g_autoptr (GPtrArray) subs = NULL;
  g_autoptr (LiaCrmRecord) c = contact ("Track", "Me", NULL);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaSyncSummary) s = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-ONE-PRIMARY through the connector: a second client is secondary until designated, "
                  "which demotes the first; R-MARK-NEEDS-FILTER refuses manual tracking without a filter "
                  "(LIA_ERROR_REFUSED); R-DEL-OUT-REMEMBER and manual tracking calls are accepted.");
  laptop = lia_crm_subscribe_sync (f->alice, "laptop", NULL, &error);
  desktop = lia_crm_subscribe_sync (f->alice, "desktop", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (laptop->primary);
  g_assert_false (desktop->primary);
  g_assert_true (lia_crm_set_primary_sync (f->alice, desktop->id, NULL, &error));
  subs = lia_crm_list_subscriptions_sync (f->alice, NULL, &error);
  g_assert_cmpuint (subs->len, ==, 2);
  for (guint i = 0; i < subs->len; i++)
    {
      LiaCrmSubscription *sub = subs->pdata[i];
      g_assert_cmpint (sub->primary, ==, g_str_equal (sub->id, desktop->id));
    }
  g_assert_false (lia_crm_set_primary_sync (f->bob, desktop->id, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Through the primary: a secondary's manual tracking is refused
   * (test_secondary_no_new). */
  made = lia_crm_create_sync (f->bob, c, NULL, NULL, &error);
  g_assert_true (lia_crm_track_sync (f->alice, desktop->id, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made),
                                     TRUE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (lia_crm_forget_sync (f->alice, desktop->id, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made),
                                      NULL, &error));
  g_assert_no_error (error);
  s = lia_crm_prepare_sync_sync (f->alice, desktop->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_cmpuint (lia_sync_summary_get_total (s), ==, 0);
}

/* A create as Liaison clients send it: the request id starts with the
 * subscription id (core/lia-engine-upload.c). */
static LiaCrmRecord *
create_from (LiaCrm *crm, const LiaCrmSubscription *sub, const char *item, LiaCrmRecord *record,
             GError **error)
{
  g_autofree char *request_id = g_strdup_printf ("%s/store/%s", sub->id, item);

  return lia_crm_create_sync (crm, record, request_id, NULL, error);
}

static void
assert_refused_naming (GError *error, const char *primary)
{
  g_autofree char *quoted = g_strdup_printf ("\"%s\"", primary);

  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, quoted));
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_secondary_no_new (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) laptop = NULL;
  g_autoptr (LiaCrmSubscription) desktop = NULL;
  g_autoptr (LiaCrmRecord) anne = contact ("Anne", "Primary", NULL);
  g_autoptr (LiaCrmRecord) dan = contact ("Dan", "Secondary", NULL);
  g_autoptr (LiaCrmRecord) mail = lia_crm_record_new (LIA_ENTITY_EMAIL);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaCrmRecord) again = NULL;
  g_autoptr (LiaCrmRecord) refused = NULL;
  g_autoptr (LiaCrmRecord) mail_made = NULL;
  g_autoptr (LiaCrmRecord) roamed = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (LiaSyncSummary) s = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-ROLE-SECONDARY-NO-NEW, R-ROLE-SECONDARY-DEFER on the server: a create (request id naming "
      "the subscription) or manual track of a contact from a secondary client is refused with "
      "LIA_ERROR_REFUSED, one line naming the primary client, and creates nothing; email is "
      "not refused (R-ROLE-EMAIL-UNIFORM); a retried create of a demoted primary returns its "
      "record (R-DUP-NONE); a secondary that asks PrepareSync acts as primary (R-ROLE-ROAMING).");
  laptop = lia_crm_subscribe_sync (f->alice, "laptop", NULL, &error);
  g_assert_no_error (error);
  desktop = lia_crm_subscribe_sync (f->alice, "desktop", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (laptop->primary);
  g_assert_false (desktop->primary);

  made = create_from (f->alice, laptop, "anne", anne, &error);
  g_assert_no_error (error);
  refused = create_from (f->alice, desktop, "dan", dan, &error);
  g_assert_null (refused);
  assert_refused_naming (error, "laptop");
  g_clear_error (&error);
  found = lia_crm_search_sync (f->alice, "secondary", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 0);
  g_assert_false (lia_crm_track_sync (f->alice, desktop->id, LIA_ENTITY_CONTACT, lia_crm_record_get_id (made),
                                      TRUE, NULL, &error));
  assert_refused_naming (error, "laptop");
  g_clear_error (&error);

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (mail), "subject", "Hello", NULL));
  mail_made = create_from (f->alice, desktop, "mail", mail, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mail_made);

  /* The user designates the desktop: the laptop's retried create still
   * finds its record, a new one is refused naming the desktop. */
  g_assert_true (lia_crm_set_primary_sync (f->alice, desktop->id, NULL, &error));
  g_assert_no_error (error);
  again = create_from (f->alice, laptop, "anne", anne, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (again), ==, lia_crm_record_get_id (made));
  g_clear_pointer (&refused, lia_crm_record_free);
  refused = create_from (f->alice, laptop, "dan", dan, &error);
  g_assert_null (refused);
  assert_refused_naming (error, "desktop");
  g_clear_error (&error);

  /* Roaming: the laptop downloads, so it acts as primary. */
  s = lia_crm_prepare_sync_sync (f->alice, laptop->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_no_error (error);
  roamed = create_from (f->alice, laptop, "dan", dan, &error);
  g_assert_no_error (error);
  g_assert_nonnull (roamed);
  g_assert_true (lia_crm_track_sync (f->alice, laptop->id, LIA_ENTITY_CONTACT, lia_crm_record_get_id (roamed),
                                     TRUE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_filters_settings (CrmFixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) filters = NULL;
  g_autoptr (LiaCrmFilter) added = NULL;
  g_autoptr (LiaCrmFilter) bad = NULL;
  g_autoptr (GHashTable) settings = NULL;
  g_autoptr (GHashTable) after = NULL;
  g_autoptr (GError) error = NULL;
  guint n_contact = 0;

  g_test_summary ("Filters list (defaults present), add, reject invalid XML with a message, disable, remove; "
                  "settings read by all, changed by admins only.");
  filters = lia_crm_list_filters_sync (f->alice, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < filters->len; i++)
    n_contact += ((LiaCrmFilter *) filters->pdata[i])->entity == LIA_ENTITY_CONTACT;
  g_assert_cmpuint (n_contact, ==, 1);
  bad = lia_crm_add_filter_sync (f->alice, LIA_ENTITY_CONTACT, "Bad",
                                 "<filter entity=\"contact\"><condition attribute=\"nope\" operator=\"eq\" "
                                 "value=\"1\"/></filter>",
                                 FALSE, NULL, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  added = lia_crm_add_filter_sync (
      f->alice, LIA_ENTITY_TASK, "Urgent",
      "<filter entity=\"task\"><condition attribute=\"prioritycode\" operator=\"eq\" "
      "value=\"high\"/></filter>",
      FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lia_crm_enable_filter_sync (f->alice, added->id, FALSE, NULL, &error));
  g_assert_true (lia_crm_remove_filter_sync (f->alice, added->id, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (lia_crm_remove_filter_sync (f->alice, added->id, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  settings = lia_crm_get_settings_sync (f->alice, NULL, &error);
  g_assert_cmpstr (g_hash_table_lookup (settings, "sync-interval-min"), ==, "15");
  g_assert_false (lia_crm_set_setting_sync (f->alice, "sync-interval-min", "30", NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_true (lia_crm_set_setting_sync (f->root, "sync-interval-min", "30", NULL, &error));
  g_assert_no_error (error);
  after = lia_crm_get_settings_sync (f->alice, NULL, &error);
  g_assert_cmpstr (g_hash_table_lookup (after, "sync-interval-min"), ==, "30");
}

static void
test_search_resolve (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) person = contact ("Ann", "Contoso-Lee", "ann@contoso.example");
  g_autoptr (LiaCrmRecord) a = NULL;
  g_autoptr (LiaCrmRecord) p = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) resolved = NULL;
  const char *addresses[] = { "ANN@contoso.example", "bob@example.org", NULL };
  g_autoptr (GError) error = NULL;

  g_test_summary ("Set Regarding search (prefix first) and email resolution to contacts and users.");
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", "Contoso Ltd", NULL));
  a = lia_crm_create_sync (f->alice, account, NULL, NULL, &error);
  p = lia_crm_create_sync (f->alice, person, NULL, NULL, &error);
  g_assert_no_error (error);
  found = lia_crm_search_sync (f->bob, "contoso", 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpstr (((LiaCrmMatch *) found->pdata[0])->name, ==, "Contoso Ltd");
  g_assert_cmpint (((LiaCrmMatch *) found->pdata[0])->entity, ==, LIA_ENTITY_ACCOUNT);
  resolved = lia_crm_resolve_sync (f->bob, addresses, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resolved->len, ==, 2);
  g_assert_cmpstr (((LiaCrmMatch *) resolved->pdata[0])->id, ==, lia_crm_record_get_id (p));
  g_assert_cmpstr (((LiaCrmMatch *) resolved->pdata[1])->id, ==, f->bob_id);
}

typedef struct
{
  gboolean done;
  gboolean changed;
  GError *error;
} WaitResult;

static void
wait_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WaitResult *r = user_data;

  r->changed = lia_crm_wait_changes_finish (LIA_CRM (source), result, &r->error);
  r->done = TRUE;
}

static void
test_push (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (LiaSyncSummary) s = NULL;
  g_autoptr (LiaCrmRecord) c = contact ("Push", "Me", NULL);
  g_autoptr (LiaCrmRecord) made = NULL;
  WaitResult r = { 0 };
  gint64 start;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-DET-PUSH: a long poll times out quietly when nothing changes and returns within a second "
      "of a change in the user's subscription.");
  sub = lia_crm_subscribe_sync (f->alice, "push-client", NULL, &error);
  s = lia_crm_prepare_sync_sync (f->alice, sub->id, 1u << LIA_ENTITY_CONTACT, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (lia_crm_wait_changes_sync (f->alice, sub->id, 200, NULL, &error));
  g_assert_no_error (error);

  lia_crm_wait_changes_async (f->alice, sub->id, 10000, NULL, wait_done, &r);
  g_usleep (200 * 1000);
  start = g_get_monotonic_time ();
  made = lia_crm_create_sync (f->alice, c, NULL, NULL, &error);
  g_assert_no_error (error);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (r.error);
  g_assert_true (r.changed);
  /* One second is the target; twice that absorbs a loaded CI machine. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
}

typedef struct
{
  gpointer result;
  gboolean done;
  GError *error;
} AsyncResult;

static void
prepare_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncResult *r = user_data;

  r->result = lia_crm_prepare_sync_finish (LIA_CRM (source), result, &r->error);
  r->done = TRUE;
}

static void
test_async (CrmFixture *f, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (LiaSyncSummary) summary = NULL;
  AsyncResult r = { 0 };
  g_autoptr (GError) error = NULL;

  g_test_summary ("The asynchronous twin of PrepareSync runs off the caller's thread and reports through the "
                  "caller's main context.");
  sub = lia_crm_subscribe_sync (f->alice, "async", NULL, &error);
  lia_crm_prepare_sync_async (f->alice, sub->id, 0, NULL, prepare_done, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (r.error);
  summary = r.result;
  g_assert_nonnull (summary);
}

int
main (int argc, char **argv)
{
  static const char *const cases_backend[] = { "embedded", "http" };

  /* The isolated XDG dirs hide the system's GSettings schemas, which the
   * desktop proxy resolver reads: loopback needs no proxy. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (guint b = 0; b < G_N_ELEMENTS (cases_backend); b++)
    {
      const char *name = cases_backend[b];
      gconstpointer backend = GUINT_TO_POINTER (b);
#define ADD(leaf, fn)                                                                        \
  do                                                                                         \
    {                                                                                        \
      g_autofree char *path = g_strdup_printf ("/crm/%s/%s", name, leaf);                    \
      if (crm_backend_available (b))                                                         \
        g_test_add (path, CrmFixture, backend, crm_fixture_setup, fn, crm_fixture_teardown); \
    }                                                                                        \
  while (0)
      ADD ("whoami-auth", test_whoami_and_auth);
      ADD ("records", test_records);
      ADD ("sync-cycle", test_sync_cycle);
      ADD ("two-users", test_two_users);
      ADD ("roles-tombstones", test_roles_and_tombstones);
      ADD ("R-ROLE-SECONDARY-NO-NEW/secondary-no-new", test_secondary_no_new);
      ADD ("filters-settings", test_filters_settings);
      ADD ("search-resolve", test_search_resolve);
      ADD ("push", test_push);
      ADD ("async", test_async);
#undef ADD
    }
  return g_test_run ();
}
