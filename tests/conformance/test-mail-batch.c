/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sqlite3.h>

#include "crm-test-backend.h"
#include "lia-org-store.h"

/* The batched create and track of the bulk track (R-MAIL-BULK,
 * lia_crm_create_tracked_sync()) through LiaCrm, against the embedded org
 * on a real SQLite file and liaison-server on loopback: each item behaves
 * as lia_crm_create_sync() with its request id then lia_crm_track_sync()
 * with manual (R-MAIL-TRACK), with R-MAIL-DEDUPE and R-MAIL-APPROVED; a
 * failing item fails alone; a failing commit changes nothing. */

static LiaCrmRecord *
email (const char *message_id, const char *subject)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_EMAIL);
  LiaItem *item = lia_crm_record_get_item (record);
  LiaParty from = { .address = "shop@example.com", .entity = LIA_ENTITY_N };
  LiaParty to = { .address = "alice@example.org", .entity = LIA_ENTITY_N };
  g_autoptr (LiaValue) from_v = lia_value_new_party_list (&from, 1);
  g_autoptr (LiaValue) to_v = lia_value_new_party_list (&to, 1);
  g_autoptr (LiaValue) dir = lia_value_new_enum ("incoming");

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set_text (item, "message-id", message_id, NULL));
  g_assert_true (lia_item_set (item, "from", from_v, NULL));
  g_assert_true (lia_item_set (item, "to", to_v, NULL));
  g_assert_true (lia_item_set (item, "direction", dir, NULL));
  return record;
}

/* A batch's input and output. */
typedef struct
{
  GPtrArray *records; /* LiaCrmRecord */
  GPtrArray *ids;     /* request ids, nullable entries */
  LiaCrmRecord **made;
  GError **errors;
} Batch;

static Batch *
batch_new (void)
{
  Batch *b = g_new0 (Batch, 1);

  b->records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  b->ids = g_ptr_array_new_with_free_func (g_free);
  return b;
}

static void
batch_clear_results (Batch *b)
{
  for (guint i = 0; b->made != NULL && i < b->records->len; i++)
    {
      g_clear_pointer (&b->made[i], lia_crm_record_free);
      g_clear_error (&b->errors[i]);
    }
  g_clear_pointer (&b->made, g_free);
  g_clear_pointer (&b->errors, g_free);
}

static void
batch_free (Batch *b)
{
  batch_clear_results (b);
  g_ptr_array_unref (b->records);
  g_ptr_array_unref (b->ids);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Batch, batch_free)

static void
batch_add (Batch *b, LiaCrmRecord *record, const char *request_id)
{
  g_ptr_array_add (b->records, record);
  g_ptr_array_add (b->ids, g_strdup (request_id));
}

static gboolean
batch_run (Batch *b, LiaCrm *crm, const char *sub, GError **error)
{
  batch_clear_results (b);
  b->made = g_new0 (LiaCrmRecord *, b->records->len + 1);
  b->errors = g_new0 (GError *, b->records->len + 1);
  return lia_crm_create_tracked_sync (crm, sub, (const LiaCrmRecord *const *) b->records->pdata,
                                      (const char *const *) b->ids->pdata, b->records->len, b->made,
                                      b->errors, NULL, error);
}

static char *
subscribe (LiaCrm *crm, const char *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmSubscription) sub = lia_crm_subscribe_sync (crm, client, NULL, &error);

  g_assert_no_error (error);
  return g_strdup (sub->id);
}

/* What the org keeps of @record_id for @sub, read from its store file. */
static LiaOrgEntry *
entry_of (CrmFixture *f, const char *sub, const char *record_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgStore) store = lia_org_store_open (f->path, &error);
  LiaOrgEntry *entry = NULL;

  g_assert_no_error (error);
  g_assert_true (lia_org_store_entry_get (store, sub, record_id, &entry, &error));
  g_assert_no_error (error);
  return entry;
}

static gboolean
count_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

static guint
count_live (CrmFixture *f, LiaEntity entity)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaOrgStore) store = lia_org_store_open (f->path, &error);
  guint n = 0;

  g_assert_no_error (error);
  g_assert_true (lia_org_store_record_foreach (store, entity, -1, count_row, &n, &error));
  g_assert_no_error (error);
  return n;
}

static void
set (CrmFixture *f, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_crm_set_setting_sync (f->root, key, value, NULL, &error));
  g_assert_no_error (error);
}

/* Every email made is tracked by hand by @sub at the version returned, as
 * lia_crm_track_sync() with manual leaves it. */
static void
assert_tracked (CrmFixture *f, const char *sub, const LiaCrmRecord *made)
{
  g_autoptr (LiaOrgEntry) entry = entry_of (f, sub, lia_crm_record_get_id (made));

  g_assert_nonnull (entry);
  g_assert_true (entry->manual);
  g_assert_cmpint (entry->entity, ==, LIA_ENTITY_EMAIL);
  g_assert_cmpint (entry->sent_version, ==, lia_crm_record_get_version (made));
}

static void
test_same_as_per_item (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "batch host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (LiaCrmRecord) one = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  const guint n = 40;

  g_test_summary ("R-MAIL-BULK, R-MAIL-TRACK: a batch of creates with request ids, each tracked by hand "
                  "by the subscription, returns what the calls one by one return: a new record per "
                  "message (id, version, owner, the fields), tracked at its version; a retry of the whole "
                  "batch returns the same records and makes none");
  /* The reference: one message the old way. */
  {
    g_autoptr (LiaCrmRecord) rec = email ("<single@example.com>", "Single");
    g_autofree char *req = g_strdup_printf ("%s/inbox/single", sub);
    one = lia_crm_create_sync (f->alice, rec, req, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (lia_crm_track_sync (f->alice, sub, LIA_ENTITY_EMAIL, lia_crm_record_get_id (one), TRUE,
                                       NULL, &error));
    g_assert_no_error (error);
    assert_tracked (f, sub, one);
  }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<batch%u@example.com>", i);
      g_autofree char *subject = g_strdup_printf ("Invoice %u", i);
      g_autofree char *req = g_strdup_printf ("%s/inbox/%u", sub, i);
      batch_add (b, email (msgid, subject), req);
    }
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Invoice %u", i);
      g_assert_no_error (b->errors[i]);
      g_assert_nonnull (b->made[i]);
      g_assert_true (g_uuid_string_is_valid (lia_crm_record_get_id (b->made[i])));
      g_assert_cmpstr (lia_crm_record_get_owner (b->made[i]), ==, lia_crm_record_get_owner (one));
      g_assert_cmpstr (lia_crm_record_get_owner (b->made[i]), ==, f->alice_id);
      g_assert_cmpint (lia_crm_record_get_version (b->made[i]), >, lia_crm_record_get_version (one));
      if (i > 0)
        g_assert_cmpint (lia_crm_record_get_version (b->made[i]), >,
                         lia_crm_record_get_version (b->made[i - 1]));
      g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (b->made[i]), "subject"), ==, subject);
      g_assert_true (g_hash_table_add (ids, (gpointer) lia_crm_record_get_id (b->made[i])));
      assert_tracked (f, sub, b->made[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, n + 1);
  /* The retry (the reply was lost): the same records, nothing new. */
  {
    g_autoptr (GPtrArray) first = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
    for (guint i = 0; i < n; i++)
      g_ptr_array_add (first, lia_crm_record_copy (b->made[i]));
    g_assert_true (batch_run (b, f->alice, sub, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < n; i++)
      {
        g_assert_no_error (b->errors[i]);
        g_assert_cmpstr (lia_crm_record_get_id (b->made[i]), ==, lia_crm_record_get_id (first->pdata[i]));
        g_assert_cmpint (lia_crm_record_get_version (b->made[i]), ==,
                         lia_crm_record_get_version (first->pdata[i]));
        assert_tracked (f, sub, b->made[i]);
      }
  }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, n + 1);
}

static void
test_dedupe (CrmFixture *f, gconstpointer data)
{
  g_autofree char *alice_sub = subscribe (f->alice, "alice host");
  g_autofree char *bob_sub = subscribe (f->bob, "bob host");
  g_autoptr (Batch) a = batch_new ();
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (Batch) two = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-DEDUPE, R-MAIL-BULK: one Message-ID is one CRM email inside one batch (the same "
                  "message in two folders) and across the batches of two users, each of whom tracks it; "
                  "with two activities, the second user gets an activity of its own");
  batch_add (a, email ("<dup1@example.com>", "Dup"), "a/inbox/1");
  batch_add (a, email ("<other@example.com>", "Other"), "a/inbox/2");
  batch_add (a, email ("dup1@example.com", "Dup"), "a/archive/1");
  g_assert_true (batch_run (a, f->alice, alice_sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    g_assert_no_error (a->errors[i]);
  g_assert_cmpstr (lia_crm_record_get_id (a->made[0]), ==, lia_crm_record_get_id (a->made[2]));
  g_assert_cmpstr (lia_crm_record_get_id (a->made[0]), !=, lia_crm_record_get_id (a->made[1]));
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 2);
  assert_tracked (f, alice_sub, a->made[2]);

  batch_add (b, email ("<dup1@example.com>", "Dup"), "b/inbox/1");
  g_assert_true (batch_run (b, f->bob, bob_sub, &error));
  g_assert_no_error (error);
  g_assert_no_error (b->errors[0]);
  g_assert_cmpstr (lia_crm_record_get_id (b->made[0]), ==, lia_crm_record_get_id (a->made[0]));
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 2);
  assert_tracked (f, bob_sub, b->made[0]);
  {
    g_autoptr (LiaOrgEntry) alices = entry_of (f, alice_sub, lia_crm_record_get_id (a->made[0]));
    g_assert_nonnull (alices);
    g_assert_true (alices->manual);
  }

  /* Two activities: Alice's mail to Bob, tracked by both. */
  set (f, "two-activities", "true");
  {
    g_autoptr (Batch) bobs = batch_new ();
    LiaCrmRecord *mail = email ("<dup2@example.com>", "Two");
    LiaParty from = { .address = "alice@example.org", .entity = LIA_ENTITY_N };
    LiaParty to = { .address = "bob@example.org", .entity = LIA_ENTITY_N };
    g_autoptr (LiaValue) from_v = lia_value_new_party_list (&from, 1);
    g_autoptr (LiaValue) to_v = lia_value_new_party_list (&to, 1);
    g_assert_true (lia_item_set (lia_crm_record_get_item (mail), "from", from_v, NULL));
    g_assert_true (lia_item_set (lia_crm_record_get_item (mail), "to", to_v, NULL));
    batch_add (bobs, lia_crm_record_copy (mail), "b/inbox/2");
    batch_add (two, email ("<two-other@example.com>", "Other"), "a/inbox/3");
    batch_add (two, mail, "a/sent/1");
    g_assert_true (batch_run (two, f->alice, alice_sub, &error));
    g_assert_no_error (error);
    g_assert_no_error (two->errors[0]);
    g_assert_no_error (two->errors[1]);
    g_assert_cmpstr (lia_crm_record_get_owner (two->made[1]), ==, f->alice_id);
    assert_tracked (f, alice_sub, two->made[1]);
    g_assert_true (batch_run (bobs, f->bob, bob_sub, &error));
    g_assert_no_error (error);
    g_assert_no_error (bobs->errors[0]);
    g_assert_cmpstr (lia_crm_record_get_id (bobs->made[0]), !=, lia_crm_record_get_id (two->made[1]));
    g_assert_cmpstr (lia_crm_record_get_owner (bobs->made[0]), ==, f->bob_id);
    assert_tracked (f, bob_sub, bobs->made[0]);
    /* Alice's own, Bob's made with it, and the other mail. */
    g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 2 + 3);
  }
}

static void
test_approved (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-APPROVED, R-MAIL-BULK: with \"process email only for approved users\", every "
                  "item of an unapproved user's batch is refused with the clear message and nothing is "
                  "made; once approved, the same batch is made");
  set (f, "approved-users-only", "true");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<appr%u@example.com>", i);
      g_autofree char *req = g_strdup_printf ("%s/inbox/%u", sub, i);
      batch_add (b, email (msgid, "Approved?"), req);
    }
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (b->made[i]);
      g_assert_error (b->errors[i], LIA_ERROR, LIA_ERROR_FORBIDDEN);
      g_assert_nonnull (strstr (b->errors[i]->message, "approved"));
      g_assert_nonnull (strstr (b->errors[i]->message, "alice"));
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 0);
  {
    g_autoptr (LiaOrgService) admin = lia_org_service_open (f->path, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (lia_org_service_set_approved (admin, "alice", TRUE, &error));
    g_assert_no_error (error);
  }
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_no_error (b->errors[i]);
      assert_tracked (f, sub, b->made[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 3);
}

static void
test_item_fails_alone (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *long_id = g_strnfill (129, 'r');
  g_autoptr (LiaCrmRecord) contact = lia_crm_record_new (LIA_ENTITY_CONTACT);

  g_test_summary ("R-MAIL-BULK: an item that fails (a bad request id, a record id that is not a UUID, a "
                  "track that is refused after its create) gets its own error and leaves nothing behind, "
                  "while the items around it are made and tracked");
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (contact), "full-name", "No Filter", NULL));
  /* No contact filter for Alice: her own ones off, the system ones too. */
  {
    g_autoptr (GPtrArray) filters = lia_crm_list_filters_sync (f->alice, NULL, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < filters->len; i++)
      {
        const LiaCrmFilter *filter = filters->pdata[i];
        if (filter->entity == LIA_ENTITY_CONTACT && filter->enabled)
          g_assert_true (lia_crm_enable_filter_sync (filter->system ? f->root : f->alice, filter->id, FALSE,
                                                     NULL, &error));
        g_assert_no_error (error);
      }
  }
  batch_add (b, email ("<ok1@example.com>", "Ok 1"), "r/1");
  batch_add (b, email ("<bad1@example.com>", "Bad request id"), "");
  batch_add (b, email ("<ok2@example.com>", "Ok 2"), "r/2");
  batch_add (b, email ("<bad2@example.com>", "Too long"), long_id);
  {
    LiaCrmRecord *bad_id = email ("<bad3@example.com>", "Bad id");
    lia_crm_record_set_id (bad_id, "not-a-uuid");
    batch_add (b, bad_id, "r/3");
  }
  /* R-MARK-NEEDS-FILTER: no contact filter, so its track is refused: the
   * contact's create is undone with it. */
  batch_add (b, g_steal_pointer (&contact), "r/4");
  batch_add (b, email ("<ok3@example.com>", "Ok 3"), NULL);
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  g_assert_error (b->errors[1], LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (b->errors[1]->message, "request id"));
  g_assert_error (b->errors[3], LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_error (b->errors[4], LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (b->errors[4]->message, "not-a-uuid"));
  g_assert_error (b->errors[5], LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_null (b->made[1]);
  g_assert_null (b->made[3]);
  g_assert_null (b->made[4]);
  g_assert_null (b->made[5]);
  for (guint k = 0; k < 3; k++)
    {
      static const guint made[] = { 0, 2, 6 };
      g_assert_no_error (b->errors[made[k]]);
      assert_tracked (f, sub, b->made[made[k]]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 3);
  g_assert_cmpuint (count_live (f, LIA_ENTITY_CONTACT), ==, 0);
}

static void
test_too_many (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK: a batch of more than 1000 items is refused as a whole with a clear "
                  "message, and nothing is made");
  for (guint i = 0; i < LIA_CRM_BATCH_MAX + 1; i++)
    batch_add (b, email ("<many@example.com>", "Many"), NULL);
  g_assert_false (batch_run (b, f->alice, sub, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1000"));
  g_assert_null (b->made[0]);
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 0);
}

static void
test_large_bodies (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *body = g_strnfill (3 * 1024 * 1024, 'x');
  const guint n = 6;

  g_test_summary ("R-MAIL-BULK: a batch of emails whose bodies add up to more than a request may carry "
                  "(18 MiB against the server's 16 MiB) is made whole: the http connector sends it in parts");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<large%u@example.com>", i);
      g_autofree char *req = g_strdup_printf ("%s/inbox/large%u", sub, i);
      LiaCrmRecord *mail = email (msgid, "Large");
      g_assert_true (lia_item_set_text (lia_crm_record_get_item (mail), "body", body, NULL));
      batch_add (b, mail, req);
    }
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_assert_no_error (b->errors[i]);
      g_assert_cmpuint (strlen (lia_item_get_text (lia_crm_record_get_item (b->made[i]), "body")), ==,
                        strlen (body));
      assert_tracked (f, sub, b->made[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, n);
}

static void
exec_sql (CrmFixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

static void
test_commit_fails (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (Batch) later = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK: when the batch's commit fails, the whole batch fails with the store's "
                  "error and changes nothing: no email, no tracker, no request id (the retry makes them)");
  /* A real commit failure: a deferred foreign key that the email of
   * <poison@...> breaks, which SQLite checks only at COMMIT, after every
   * item's savepoint was released. */
  exec_sql (f, "CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);"
               "CREATE TABLE poison_child (pid INTEGER REFERENCES poison_parent (id) DEFERRABLE INITIALLY "
               "DEFERRED);"
               "CREATE TRIGGER poison AFTER INSERT ON email_message WHEN NEW.message_id LIKE '%poison%' "
               "BEGIN INSERT INTO poison_child VALUES (42); END;");
  batch_add (b, email ("<fine1@example.com>", "Fine"), "p/1");
  batch_add (b, email ("<poison@example.com>", "Poison"), "p/2");
  batch_add (b, email ("<fine2@example.com>", "Fine"), "p/3");
  g_assert_false (batch_run (b, f->alice, sub, &error));
  g_assert_nonnull (error);
  /* The store's failure; over http, the server's 503 for it. */
  if (f->backend == 0)
    g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
  else
    g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (b->made[i]);
      g_assert_null (b->errors[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 0);
  /* The org works on: the next batch commits, and the retry without the
   * poison makes new records (no request id was kept). */
  exec_sql (f, "DROP TRIGGER poison;");
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_no_error (b->errors[i]);
      assert_tracked (f, sub, b->made[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 3);
  batch_add (later, email ("<fine3@example.com>", "Fine"), "p/4");
  g_assert_true (batch_run (later, f->alice, sub, &error));
  g_assert_no_error (error);
  g_assert_no_error (later->errors[0]);
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 4);
}

static void
test_store_fails (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK: when the store fails in the middle of a batch, the whole batch fails with "
                  "the store's error and changes nothing, the items before the failure included");
  /* A real store failure at the third item's insert. */
  exec_sql (f, "CREATE TRIGGER broken BEFORE INSERT ON email_message WHEN NEW.message_id LIKE '%broken%' "
               "BEGIN SELECT RAISE (ABORT, 'the disk is broken'); END;");
  batch_add (b, email ("<before1@example.com>", "Before"), "s/1");
  batch_add (b, email ("<before2@example.com>", "Before"), "s/2");
  batch_add (b, email ("<broken@example.com>", "Broken"), "s/3");
  batch_add (b, email ("<after@example.com>", "After"), "s/4");
  g_assert_false (batch_run (b, f->alice, sub, &error));
  if (f->backend == 0)
    g_assert_error (error, LIA_ERROR, LIA_ERROR_STORE);
  else
    g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "broken"));
  g_clear_error (&error);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_null (b->made[i]);
      g_assert_null (b->errors[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 0);
  exec_sql (f, "DROP TRIGGER broken;");
  g_assert_true (batch_run (b, f->alice, sub, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    assert_tracked (f, sub, b->made[i]);
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 4);
}

#ifdef LIA_TEST_SERVER
static void
test_network_lost (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK, R-IMM-FALLBACK: with the server gone, the batch fails as a whole with "
                  "LIA_ERROR_UNAVAILABLE and no item has a result");
  batch_add (b, email ("<net1@example.com>", "Net"), "n/1");
  batch_add (b, email ("<net2@example.com>", "Net"), "n/2");
  crm_server_stop (f);
  g_assert_false (batch_run (b, f->alice, sub, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_null (b->made[i]);
      g_assert_null (b->errors[i]);
    }
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 0);
}
#endif

/* A connector without create_tracked, as one written before it (a
 * forwarder to the real connector for create, track and subscribe only;
 * calls after @up_calls fail as a lost connection). It takes the
 * per-item fallback of lia_crm_create_tracked_sync(). */
#define NO_BATCH_TYPE_CRM (no_batch_crm_get_type ())
G_DECLARE_FINAL_TYPE (NoBatchCrm, no_batch_crm, NO_BATCH, CRM, GObject)

struct _NoBatchCrm
{
  GObject parent;
  LiaCrm *inner;
  guint up_calls;
};

static gboolean
no_batch_pass (LiaCrm *crm, GError **error)
{
  NoBatchCrm *self = NO_BATCH_CRM (crm);

  if (self->up_calls == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "org unreachable");
      return FALSE;
    }
  self->up_calls--;
  return TRUE;
}

static LiaCrmRecord *
nb_create (LiaCrm *crm, const LiaCrmRecord *r, const char *req, GCancellable *c, GError **error)
{
  return no_batch_pass (crm, error) ? lia_crm_create_sync (NO_BATCH_CRM (crm)->inner, r, req, c, error)
                                    : NULL;
}

static gboolean
nb_track (LiaCrm *crm, const char *s, LiaEntity e, const char *id, gboolean m, GCancellable *c,
          GError **error)
{
  return no_batch_pass (crm, error) && lia_crm_track_sync (NO_BATCH_CRM (crm)->inner, s, e, id, m, c, error);
}

static void
no_batch_crm_iface_init (LiaCrmInterface *iface)
{
  iface->create = nb_create;
  iface->track = nb_track;
}

G_DEFINE_TYPE_WITH_CODE (NoBatchCrm, no_batch_crm, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (LIA_TYPE_CRM, no_batch_crm_iface_init))

static void
no_batch_crm_finalize (GObject *object)
{
  g_clear_object (&NO_BATCH_CRM (object)->inner);
  G_OBJECT_CLASS (no_batch_crm_parent_class)->finalize (object);
}

static void
no_batch_crm_class_init (NoBatchCrmClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = no_batch_crm_finalize;
}

static void
no_batch_crm_init (NoBatchCrm *self)
{
}

static void
test_fallback (CrmFixture *f, gconstpointer data)
{
  g_autofree char *sub = subscribe (f->alice, "alice host");
  g_autoptr (NoBatchCrm) nb = g_object_new (NO_BATCH_TYPE_CRM, NULL);
  g_autoptr (Batch) b = batch_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK: a connector without the batch call gets the same per-item results from "
                  "lia_crm_create_tracked_sync() (create and track one at a time); a lost connection "
                  "ends the batch with the items made before it kept");
  nb->inner = g_object_ref (f->alice);
  nb->up_calls = G_MAXUINT;
  batch_add (b, email ("<fb1@example.com>", "Fallback"), "f/1");
  batch_add (b, email ("<fb2@example.com>", "Bad request id"), "");
  batch_add (b, email ("<fb3@example.com>", "Fallback"), "f/3");
  g_assert_true (batch_run (b, LIA_CRM (nb), sub, &error));
  g_assert_no_error (error);
  g_assert_error (b->errors[1], LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_null (b->made[1]);
  assert_tracked (f, sub, b->made[0]);
  assert_tracked (f, sub, b->made[2]);
  g_assert_cmpuint (count_live (f, LIA_ENTITY_EMAIL), ==, 2);
  /* The same batch through the org's own batch call: the same records. */
  {
    g_autoptr (Batch) again = batch_new ();
    for (guint i = 0; i < 3; i++)
      batch_add (again, lia_crm_record_copy (b->records->pdata[i]), b->ids->pdata[i]);
    g_assert_true (batch_run (again, f->alice, sub, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (lia_crm_record_get_id (again->made[0]), ==, lia_crm_record_get_id (b->made[0]));
    g_assert_cmpstr (lia_crm_record_get_id (again->made[2]), ==, lia_crm_record_get_id (b->made[2]));
    g_assert_error (again->errors[1], LIA_ERROR, LIA_ERROR_INVALID);
  }
  /* Lost after the first item's create and track, in the second's. */
  batch_add (b, email ("<fb4@example.com>", "Fallback"), "f/4");
  batch_add (b, email ("<fb5@example.com>", "Fallback"), "f/5");
  g_ptr_array_remove_index (b->records, 1);
  g_ptr_array_remove_index (b->ids, 1);
  nb->up_calls = 2 + 2 + 1;
  g_assert_false (batch_run (b, LIA_CRM (nb), sub, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  /* f/1 again (its first record), f/3 again, f/4 created but not tracked. */
  g_assert_nonnull (b->made[0]);
  g_assert_nonnull (b->made[1]);
  g_assert_null (b->made[2]);
  g_assert_null (b->made[3]);
  for (guint i = 0; i < 4; i++)
    g_assert_null (b->errors[i]);
}

int
main (int argc, char **argv)
{
  static const char *const cases_backend[] = { "embedded", "http" };

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
      g_autofree char *path = g_strdup_printf ("/mail-batch/%s/%s", name, leaf);             \
      if (crm_backend_available (b))                                                         \
        g_test_add (path, CrmFixture, backend, crm_fixture_setup, fn, crm_fixture_teardown); \
    }                                                                                        \
  while (0)
      ADD ("R-MAIL-BULK/R-MAIL-TRACK/same-as-per-item", test_same_as_per_item);
      ADD ("R-MAIL-BULK/R-MAIL-DEDUPE/in-and-across-batches", test_dedupe);
      ADD ("R-MAIL-BULK/R-MAIL-APPROVED/refused-per-item", test_approved);
      ADD ("R-MAIL-BULK/item-fails-alone", test_item_fails_alone);
      ADD ("R-MAIL-BULK/too-many", test_too_many);
      ADD ("R-MAIL-BULK/fallback-per-item", test_fallback);
      ADD ("R-MAIL-BULK/large-bodies", test_large_bodies);
      ADD ("R-MAIL-BULK/commit-fails-changes-nothing", test_commit_fails);
      ADD ("R-MAIL-BULK/store-fails-changes-nothing", test_store_fails);
#ifdef LIA_TEST_SERVER
      if (b == 1)
        ADD ("R-MAIL-BULK/network-lost", test_network_lost);
#endif
#undef ADD
    }
  return g_test_run ();
}
