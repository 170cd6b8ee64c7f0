/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "lia-org-sync.h"
#include "org-test-util.h"

#define CONTACTS (1u << LIA_ENTITY_CONTACT)

static LiaClock *test_clock;

typedef struct
{
  LiaOrgService *service;
  LiaOrgCaller *alice;
  LiaOrgCaller *bob;
  LiaOrgCaller *root;
  char *sub; /* alice's subscription */
} Org;

static void
org_setup (Org *org, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) sub = NULL;
  g_autoptr (GError) error = NULL;

  org->service = org_test_service ("sync.db", test_clock);
  org->alice = org_test_user (org->service, "alice", FALSE, NULL);
  org->bob = org_test_user (org->service, "bob", FALSE, NULL);
  org->root = org_test_user (org->service, "root", TRUE, NULL);
  sub = lia_org_sync_subscribe (org->service, org->alice, "alice-laptop", &error);
  g_assert_no_error (error);
  org->sub = g_strdup (sub->id);
}

static void
org_teardown (Org *org, gconstpointer data)
{
  g_free (org->sub);
  lia_org_caller_free (org->alice);
  lia_org_caller_free (org->bob);
  lia_org_caller_free (org->root);
  lia_org_service_unref (org->service);
}

static char *
add_contact (Org *org, const LiaOrgCaller *owner, const char *given, const char *family)
{
  g_autoptr (LiaCrmRecord) contact = org_test_contact (given, family, NULL);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  made = lia_org_service_create (org->service, owner, contact, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static LiaSyncSummary *
prepare (Org *org, const LiaOrgCaller *caller, const char *sub)
{
  g_autoptr (GError) error = NULL;
  LiaSyncSummary *summary = lia_org_sync_prepare (org->service, caller, sub, CONTACTS, &error);

  g_assert_no_error (error);
  return summary;
}

/* Fetches every page, acknowledges it, and returns "op:id" strings. */
static GPtrArray *
drain (Org *org, const LiaOrgCaller *caller, const char *sub, guint page_size, guint *out_pages)
{
  GPtrArray *seen = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cursor = NULL;
  guint pages = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LiaSyncPage) page =
          lia_org_sync_get_data (org->service, caller, sub, LIA_ENTITY_CONTACT, cursor, page_size, &error);
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      g_assert_no_error (error);
      pages++;
      for (guint i = 0; i < lia_sync_page_get_n_changes (page); i++)
        {
          const LiaSyncChange *c = lia_sync_page_get_change (page, i);
          g_ptr_array_add (seen, g_strdup_printf ("%s:%s", lia_sync_op_to_string (c->op), c->id));
          g_ptr_array_add (ids, c->id);
          g_assert_true ((c->record != NULL) == (c->op != LIA_SYNC_OP_DELETE));
        }
      g_ptr_array_add (ids, NULL);
      g_assert_true (lia_org_sync_post (org->service, caller, sub, LIA_ENTITY_CONTACT,
                                        (const char *const *) ids->pdata, &error));
      g_assert_no_error (error);
      if (!lia_sync_page_get_more (page))
        break;
      g_free (cursor);
      cursor = g_strdup (lia_sync_page_get_cursor (page));
    }
  if (out_pages != NULL)
    *out_pages = pages;
  return seen;
}

static gboolean
has (GPtrArray *seen, const char *op, const char *id)
{
  g_autofree char *key = g_strdup_printf ("%s:%s", op, id);

  for (guint i = 0; i < seen->len; i++)
    if (g_str_equal (seen->pdata[i], key))
      return TRUE;
  return FALSE;
}

static void
test_initial_and_incremental (Org *org, gconstpointer data)
{
  g_autoptr (GPtrArray) mine = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *theirs = NULL;
  g_autoptr (LiaSyncSummary) first = NULL;
  g_autoptr (LiaSyncSummary) again = NULL;
  g_autoptr (LiaSyncSummary) after = NULL;
  g_autoptr (GPtrArray) seen = NULL;
  g_autoptr (GPtrArray) seen2 = NULL;
  g_autoptr (GError) error = NULL;
  guint pages = 0;

  g_test_summary (
      "R-DET-SERVER, R-MARK-FILTER: the first PrepareSync counts the records matching the user's "
      "filters (my contacts) as creates; GetSyncData pages them (truncated pages resume at the cursor); "
      "after PostSync nothing is pending; a later change comes back as one update.");
  for (guint i = 0; i < 7; i++)
    g_ptr_array_add (mine, add_contact (org, org->alice, "Mine", "Contact"));
  theirs = add_contact (org, org->bob, "Bob's", "Contact");
  first = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (first, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), ==, 7);
  g_assert_cmpuint (lia_sync_summary_get_total (first), ==, 7);

  seen = drain (org, org->alice, org->sub, 3, &pages);
  g_assert_cmpuint (pages, ==, 3);
  g_assert_cmpuint (seen->len, ==, 7);
  for (guint i = 0; i < mine->len; i++)
    g_assert_true (has (seen, "create", mine->pdata[i]));
  g_assert_false (has (seen, "create", theirs));

  again = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get_total (again), ==, 0);

  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, mine->pdata[2], &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "Changed", NULL));
    u = lia_org_service_update (org->service, org->alice, r, &error);
    g_assert_no_error (error);
  }
  after = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (after, LIA_ENTITY_CONTACT, LIA_SYNC_OP_UPDATE), ==, 1);
  g_assert_cmpuint (lia_sync_summary_get_total (after), ==, 1);
  seen2 = drain (org, org->alice, org->sub, 100, NULL);
  g_assert_cmpuint (seen2->len, ==, 1);
  g_assert_true (has (seen2, "update", mine->pdata[2]));
}

static void
test_unacknowledged_stays (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Lost", "Reply");
  g_autoptr (LiaSyncSummary) first = NULL;
  g_autoptr (LiaSyncSummary) second = NULL;
  g_autoptr (LiaSyncPage) page = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "A change fetched but not acknowledged (the client crashed before PostSync) is pending again "
      "at the next PrepareSync: nothing is lost.");
  first = prepare (org, org->alice, org->sub);
  page = lia_org_sync_get_data (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, NULL, 10, &error);
  g_assert_cmpuint (lia_sync_page_get_n_changes (page), ==, 1);
  g_assert_cmpstr (lia_sync_page_get_change (page, 0)->id, ==, id);
  second = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (second, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), ==, 1);
}

static void
test_leaving_filter_is_delete (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Jeff", "Smith");
  g_autofree char *gone = add_contact (org, org->alice, "Gone", "Soon");
  g_autoptr (GPtrArray) seen = NULL;
  g_autoptr (GPtrArray) seen2 = NULL;
  g_autoptr (LiaSyncSummary) s1 = NULL;
  g_autoptr (LiaSyncSummary) s2 = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-IN-FILTER: a contact assigned to another owner leaves 'my contacts' and comes back "
                  "as a delete; a record deleted in CRM comes back as a delete too.");
  s1 = prepare (org, org->alice, org->sub);
  seen = drain (org, org->alice, org->sub, 100, NULL);
  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, id, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    lia_crm_record_set_owner (r, org->bob->user_id);
    u = lia_org_service_update (org->service, org->alice, r, &error);
    g_assert_no_error (error);
  }
  g_assert_true (lia_org_service_delete (org->service, org->alice, LIA_ENTITY_CONTACT, gone, 0, &error));
  s2 = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (s2, LIA_ENTITY_CONTACT, LIA_SYNC_OP_DELETE), ==, 2);
  seen2 = drain (org, org->alice, org->sub, 100, NULL);
  g_assert_true (has (seen2, "delete", id));
  g_assert_true (has (seen2, "delete", gone));
}

static void
test_track_needs_live (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Liv", "Live");
  g_autofree char *gone = add_contact (org, org->alice, "Del", "Deleted");
  g_autoptr (GError) error = NULL;

  g_test_summary ("A track names a live record of the entity given: an unknown id, a deleted record and "
                  "the wrong entity are refused with NOT_FOUND and change nothing; a live one is tracked");
  g_assert_true (lia_org_service_delete (org->service, org->alice, LIA_ENTITY_CONTACT, gone, 0, &error));
  g_assert_no_error (error);
  g_assert_false (lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT,
                                      "00000000-0000-4000-8000-000000000000", FALSE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, gone, FALSE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_TASK, id, FALSE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, id, FALSE, &error));
  g_assert_no_error (error);
}

static void
test_manual_keeps (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Hand", "Tracked");
  g_autofree char *bobs = add_contact (org, org->bob, "Bob", "Tracked");
  g_autoptr (GPtrArray) seen = NULL;
  g_autoptr (GPtrArray) seen2 = NULL;
  g_autoptr (LiaSyncSummary) s1 = NULL;
  g_autoptr (LiaSyncSummary) s2 = NULL;
  g_autoptr (LiaSyncSummary) s3 = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-MARK-MANUAL-KEEPS: a record the user tracked by hand stays in the subscription when it "
      "leaves the filters, and its changes keep coming; one outside the filters tracked by hand too.");
  s1 = prepare (org, org->alice, org->sub);
  seen = drain (org, org->alice, org->sub, 100, NULL);
  g_assert_true (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, id, TRUE, &error));
  g_assert_true (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, bobs, TRUE, &error));
  g_assert_no_error (error);
  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, id, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    lia_crm_record_set_owner (r, org->bob->user_id);
    u = lia_org_service_update (org->service, org->alice, r, &error);
    g_assert_no_error (error);
  }
  s2 = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (s2, LIA_ENTITY_CONTACT, LIA_SYNC_OP_DELETE), ==, 0);
  g_assert_cmpuint (lia_sync_summary_get (s2, LIA_ENTITY_CONTACT, LIA_SYNC_OP_UPDATE), ==, 1);
  seen2 = drain (org, org->alice, org->sub, 100, NULL);
  g_assert_true (has (seen2, "update", id));
  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->bob, LIA_ENTITY_CONTACT, bobs, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "B", NULL));
    u = lia_org_service_update (org->service, org->bob, r, &error);
    g_assert_no_error (error);
  }
  s3 = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (s3, LIA_ENTITY_CONTACT, LIA_SYNC_OP_UPDATE), ==, 1);
}

static void
test_remembers_client_deletes (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Deleted", "Locally");
  g_autoptr (GPtrArray) seen = NULL;
  g_autoptr (LiaSyncSummary) s1 = NULL;
  g_autoptr (LiaSyncSummary) s2 = NULL;
  g_autoptr (LiaSyncSummary) fresh = NULL;
  g_autoptr (LiaCrmSubscription) other = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-OUT-REMEMBER: after the client says it deleted its copy, changes to the record are "
                  "not sent back to it; a new subscription (reconfigured client) gets the record again.");
  s1 = prepare (org, org->alice, org->sub);
  seen = drain (org, org->alice, org->sub, 100, NULL);
  g_assert_true (lia_org_sync_forget (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, id, &error));
  g_assert_no_error (error);
  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, id, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "Again", NULL));
    u = lia_org_service_update (org->service, org->alice, r, &error);
  }
  s2 = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get_total (s2), ==, 0);
  other = lia_org_sync_subscribe (org->service, org->alice, "alice-new-laptop", &error);
  fresh = prepare (org, org->alice, other->id);
  g_assert_cmpuint (lia_sync_summary_get (fresh, LIA_ENTITY_CONTACT, LIA_SYNC_OP_CREATE), ==, 1);
}

static void
test_one_primary (Org *org, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) second = NULL;
  g_autoptr (LiaCrmSubscription) same = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-ONE-PRIMARY: the first client is primary, a second is not; designating the second "
                  "demotes the first; subscribing again returns the same subscription.");
  second = lia_org_sync_subscribe (org->service, org->alice, "alice-desktop", &error);
  g_assert_no_error (error);
  g_assert_false (second->primary);
  same = lia_org_sync_subscribe (org->service, org->alice, "alice-laptop", &error);
  g_assert_cmpstr (same->id, ==, org->sub);
  g_assert_true (same->primary);
  g_assert_true (lia_org_sync_set_primary (org->service, org->alice, second->id, &error));
  list = lia_org_sync_list_subscriptions (org->service, org->alice, &error);
  g_assert_cmpuint (list->len, ==, 2);
  for (guint i = 0; i < list->len; i++)
    {
      LiaCrmSubscription *s = list->pdata[i];
      g_assert_cmpint (s->primary, ==, g_str_equal (s->id, second->id));
    }
}

static void
test_who_is_primary (Org *org, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) second = NULL;
  g_autoptr (LiaCrmRecord) contact = org_test_contact ("Dan", "Desk", NULL);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autofree char *none = NULL;
  g_autofree char *first = NULL;
  g_autofree char *designated = NULL;
  g_autofree char *request_id = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-ROLE-ONE-PRIMARY, R-ROLE-SECONDARY-NO-NEW: lia_org_sync_dup_primary_client() names the "
                  "user's synchronizing client (NULL without one) and follows a designation; the service "
                  "refuses a secondary's create by request id with LIA_ERROR_REFUSED naming it.");
  none = lia_org_sync_dup_primary_client (org->service, org->bob, &error);
  g_assert_no_error (error);
  g_assert_null (none);
  first = lia_org_sync_dup_primary_client (org->service, org->alice, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "alice-laptop");
  second = lia_org_sync_subscribe (org->service, org->alice, "alice-desktop", &error);
  g_assert_no_error (error);
  request_id = g_strdup_printf ("%s/store/dan", second->id);
  made = lia_org_service_create (org->service, org->alice, contact, request_id, &error);
  g_assert_null (made);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "\"alice-laptop\""));
  g_clear_error (&error);
  g_assert_true (lia_org_sync_set_primary (org->service, org->alice, second->id, &error));
  designated = lia_org_sync_dup_primary_client (org->service, org->alice, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (designated, ==, "alice-desktop");
  made = lia_org_service_create (org->service, org->alice, contact, request_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (made);
}

static void
test_two_users (Org *org, gconstpointer data)
{
  g_autoptr (LiaCrmSubscription) bob_sub = NULL;
  g_autoptr (LiaSyncSummary) stolen = NULL;
  g_autoptr (LiaSyncPage) peek = NULL;
  g_autoptr (GPtrArray) bob_list = NULL;
  g_autoptr (LiaSyncSummary) s = NULL;
  g_autoptr (LiaSyncPage) page = NULL;
  g_autofree char *bobs = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Two users: A cannot read B's subscription (PrepareSync, GetSyncData, PostSync, list) or "
                  "update B's record, and a field B's role may not read never appears in B's GetSyncData.");
  bob_sub = lia_org_sync_subscribe (org->service, org->bob, "bob-pc", &error);
  g_assert_no_error (error);
  stolen = lia_org_sync_prepare (org->service, org->alice, bob_sub->id, CONTACTS, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  peek = lia_org_sync_get_data (org->service, org->alice, bob_sub->id, LIA_ENTITY_CONTACT, NULL, 10, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  {
    const char *ids[] = { "x", NULL };
    g_assert_false (
        lia_org_sync_post (org->service, org->alice, bob_sub->id, LIA_ENTITY_CONTACT, ids, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
    g_clear_error (&error);
  }
  bob_list = lia_org_sync_list_subscriptions (org->service, org->alice, &error);
  g_assert_cmpuint (bob_list->len, ==, 1);
  g_assert_cmpstr (((LiaCrmSubscription *) bob_list->pdata[0])->id, ==, org->sub);

  {
    g_autoptr (LiaCrmRecord) contact = org_test_contact ("Bob's", "Secret", NULL);
    g_autoptr (LiaCrmRecord) made = NULL;
    g_autoptr (LiaCrmRecord) r = NULL;
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (contact), "government-id", "999", NULL));
    made = lia_org_service_create (org->service, org->bob, contact, NULL, &error);
    g_assert_no_error (error);
    bobs = g_strdup (lia_crm_record_get_id (made));
    r = lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, bobs, &error);
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "Stolen", NULL));
    u = lia_org_service_update (org->service, org->alice, r, &error);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
    g_assert_null (u);
    g_clear_error (&error);
  }
  g_assert_true (lia_org_service_set_field_security (org->service, "user", LIA_ENTITY_CONTACT,
                                                     "government-id", FALSE, FALSE, &error));
  s = lia_org_sync_prepare (org->service, org->bob, bob_sub->id, CONTACTS, &error);
  g_assert_no_error (error);
  page = lia_org_sync_get_data (org->service, org->bob, bob_sub->id, LIA_ENTITY_CONTACT, NULL, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lia_sync_page_get_n_changes (page), ==, 1);
  g_assert_cmpstr (lia_sync_page_get_change (page, 0)->id, ==, bobs);
  g_assert_cmpstr (
      lia_item_get_text (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "given-name"),
      ==, "Bob's");
  g_assert_null (
      lia_item_get (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "government-id"));
}

static void
test_direction_and_filters (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Dir", "Ection");
  g_autoptr (LiaSyncSummary) s1 = NULL;
  g_autoptr (LiaSyncSummary) s2 = NULL;
  g_autoptr (LiaSyncPage) page = NULL;
  g_autoptr (GPtrArray) filters = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-MERGE-DIRECTION on the server: a field the admin set to 'x' is not sent; disabling every "
      "contact filter empties the subscription (deletes), enabling one fills it again.");
  {
    g_autoptr (LiaCrmRecord) r =
        lia_org_service_retrieve (org->service, org->alice, LIA_ENTITY_CONTACT, id, &error);
    g_autoptr (LiaCrmRecord) u = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (r), "nickname", "Nick", NULL));
    u = lia_org_service_update (org->service, org->alice, r, &error);
  }
  g_assert_true (
      lia_org_service_set_setting (org->service, org->root, "direction.contact.nickname", "x", &error));
  s1 = prepare (org, org->alice, org->sub);
  page = lia_org_sync_get_data (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, NULL, 10, &error);
  g_assert_cmpuint (lia_sync_page_get_n_changes (page), ==, 1);
  g_assert_null (
      lia_item_get (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "nickname"));
  g_assert_nonnull (
      lia_item_get (lia_crm_record_get_item (lia_sync_page_get_change (page, 0)->record), "given-name"));
  {
    const char *ids[] = { id, NULL };
    g_assert_true (lia_org_sync_post (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, ids, &error));
  }
  filters = lia_org_service_list_filters (org->service, org->alice, &error);
  for (guint i = 0; i < filters->len; i++)
    {
      LiaCrmFilter *f = filters->pdata[i];
      if (f->entity == LIA_ENTITY_CONTACT)
        g_assert_true (lia_org_service_enable_filter (org->service, org->alice, f->id, FALSE, &error));
    }
  g_assert_no_error (error);
  s2 = prepare (org, org->alice, org->sub);
  g_assert_cmpuint (lia_sync_summary_get (s2, LIA_ENTITY_CONTACT, LIA_SYNC_OP_DELETE), ==, 1);
  {
    g_autoptr (LiaCrmFilter) f = NULL;
    g_autoptr (LiaSyncSummary) s3 = NULL;
    f = lia_org_service_add_filter (
        org->service, org->alice, LIA_ENTITY_CONTACT, "Named Dir",
        "<filter entity=\"contact\"><condition attribute=\"firstname\" operator=\"eq\" "
        "value=\"dir\"/></filter>",
        FALSE, &error);
    g_assert_no_error (error);
    s3 = prepare (org, org->alice, org->sub);
    /* It was pending delete, never acknowledged: back in, nothing to send. */
    g_assert_cmpuint (lia_sync_summary_get_total (s3), ==, 0);
  }
}

static void
test_filter_admin (Org *org, gconstpointer data)
{
  g_autoptr (LiaCrmFilter) sys = NULL;
  g_autoptr (LiaCrmFilter) bad = NULL;
  g_autoptr (LiaCrmFilter) mine = NULL;
  g_autoptr (GPtrArray) bobs = NULL;
  g_autoptr (GError) error = NULL;
  const char *xml = "<filter entity=\"contact\"><condition attribute=\"statecode\" operator=\"eq\" "
                    "value=\"open\"/></filter>";

  g_test_summary ("System filters are for admins; users list system filters and their own only; another "
                  "user's filter cannot be changed; invalid XML is refused with a message.");
  sys = lia_org_service_add_filter (org->service, org->alice, LIA_ENTITY_CONTACT, "All", xml, TRUE, &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  sys = lia_org_service_add_filter (org->service, org->root, LIA_ENTITY_CONTACT, "All", xml, TRUE, &error);
  g_assert_no_error (error);
  bad = lia_org_service_add_filter (org->service, org->alice, LIA_ENTITY_CONTACT, "Bad", "<filter", FALSE,
                                    &error);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  mine =
      lia_org_service_add_filter (org->service, org->alice, LIA_ENTITY_CONTACT, "Mine", xml, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (lia_org_service_remove_filter (org->service, org->bob, mine->id, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (lia_org_service_enable_filter (org->service, org->bob, sys->id, FALSE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  bobs = lia_org_service_list_filters (org->service, org->bob, &error);
  for (guint i = 0; i < bobs->len; i++)
    g_assert_cmpstr (((LiaCrmFilter *) bobs->pdata[i])->id, !=, mine->id);
  g_assert_true (lia_org_service_remove_filter (org->service, org->alice, mine->id, &error));
  g_assert_no_error (error);
}

static void
test_push_wakes (Org *org, gconstpointer data)
{
  g_autoptr (LiaSyncSummary) s = NULL;
  g_autofree char *other = NULL;
  g_autofree char *mine = NULL;
  gboolean changed = TRUE;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-DET-PUSH: after a PrepareSync, a change to another user's record does not count as a "
      "change for this subscription; a change to one of the user's records does; waiting times out "
      "without error when nothing relevant happens.");
  s = prepare (org, org->alice, org->sub);
  other = add_contact (org, org->bob, "Not", "Mine");
  g_assert_true (lia_org_sync_has_changes (org->service, org->alice, org->sub, &changed, &error));
  g_assert_false (changed);
  g_assert_false (lia_org_sync_wait (org->service, org->alice, org->sub, 50, NULL, &error));
  g_assert_no_error (error);
  mine = add_contact (org, org->alice, "Is", "Mine");
  g_assert_true (lia_org_sync_has_changes (org->service, org->alice, org->sub, &changed, &error));
  g_assert_true (changed);
  g_assert_true (lia_org_sync_wait (org->service, org->alice, org->sub, 1000, NULL, &error));
}

static void
test_needs_filter (Org *org, gconstpointer data)
{
  g_autofree char *id = add_contact (org, org->alice, "Needs", "Filter");
  g_autoptr (GPtrArray) filters = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MARK-NEEDS-FILTER: with every contact filter disabled, tracking a contact by hand is "
                  "refused with a message; with one enabled it is accepted.");
  filters = lia_org_service_list_filters (org->service, org->alice, &error);
  for (guint i = 0; i < filters->len; i++)
    {
      LiaCrmFilter *f = filters->pdata[i];
      if (f->entity == LIA_ENTITY_CONTACT)
        g_assert_true (lia_org_service_enable_filter (org->service, org->alice, f->id, FALSE, &error));
    }
  g_assert_false (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, id, TRUE, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "filter"));
  g_clear_error (&error);
  for (guint i = 0; i < filters->len; i++)
    {
      LiaCrmFilter *f = filters->pdata[i];
      if (f->entity == LIA_ENTITY_CONTACT)
        g_assert_true (lia_org_service_enable_filter (org->service, org->alice, f->id, TRUE, &error));
    }
  g_assert_true (
      lia_org_sync_track (org->service, org->alice, org->sub, LIA_ENTITY_CONTACT, id, TRUE, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_clock = lia_clock_new_manual (ORG_TEST_NOW);
#define ADD(path, fn) g_test_add (path, Org, NULL, org_setup, fn, org_teardown)
  ADD ("/org/sync/initial-and-incremental", test_initial_and_incremental);
  ADD ("/org/sync/unacknowledged-stays", test_unacknowledged_stays);
  ADD ("/org/sync/R-DEL-IN-FILTER", test_leaving_filter_is_delete);
  ADD ("/org/sync/R-MARK-MANUAL-KEEPS", test_manual_keeps);
  ADD ("/org/sync/track-needs-live", test_track_needs_live);
  ADD ("/org/sync/R-DEL-OUT-REMEMBER", test_remembers_client_deletes);
  ADD ("/org/sync/R-ROLE-ONE-PRIMARY", test_one_primary);
  ADD ("/org/sync/R-ROLE-SECONDARY-NO-NEW/who-is-primary", test_who_is_primary);
  ADD ("/org/sync/two-users", test_two_users);
  ADD ("/org/sync/direction-and-filters", test_direction_and_filters);
  ADD ("/org/sync/filter-admin", test_filter_admin);
  ADD ("/org/sync/R-DET-PUSH", test_push_wakes);
  ADD ("/org/sync/R-MARK-NEEDS-FILTER", test_needs_filter);
  rc = g_test_run ();
  lia_clock_unref (test_clock);
  return rc;
}
