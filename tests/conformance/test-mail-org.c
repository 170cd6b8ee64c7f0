/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "crm-test-backend.h"
#include "lia-mail-correlate.h"

/* SPEC section 8, the org side of email, through LiaCrm only, against the
 * embedded org and (with liaison-server built) a real server on loopback:
 * R-MAIL-DEDUPE, R-MAIL-APPROVED, R-MAIL-CORRELATE-TOKEN (token
 * allocation), R-MAIL-TAGGING, R-MAIL-DL, R-SET-TAGGING. */

static LiaValue *
parties (const char *const *addresses)
{
  LiaParty list[8] = { 0 };
  guint n = 0;

  for (; addresses[n] != NULL && n < G_N_ELEMENTS (list); n++)
    {
      list[n].address = addresses[n];
      list[n].entity = LIA_ENTITY_N;
    }
  return lia_value_new_party_list (list, n);
}

static LiaCrmRecord *
email (const char *message_id, const char *from, const char *const *to, const char *direction,
       LiaEntity regarding_entity, const char *regarding_id)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_EMAIL);
  LiaItem *item = lia_crm_record_get_item (record);
  const char *const sender[] = { from, NULL };
  g_autoptr (LiaValue) from_v = parties (sender);
  g_autoptr (LiaValue) to_v = parties (to);
  g_autoptr (LiaValue) dir = lia_value_new_enum (direction);

  g_assert_true (lia_item_set_text (item, "subject", "Quote for May", NULL));
  g_assert_true (lia_item_set_text (item, "message-id", message_id, NULL));
  g_assert_true (lia_item_set (item, "from", from_v, NULL));
  g_assert_true (lia_item_set (item, "to", to_v, NULL));
  g_assert_true (lia_item_set (item, "direction", dir, NULL));
  if (regarding_id != NULL)
    {
      g_autoptr (LiaValue) regarding = lia_value_new_reference (regarding_entity, regarding_id, regarding_id);
      g_assert_true (lia_item_set (item, "regarding", regarding, NULL));
    }
  return record;
}

static char *
make_account (LiaCrm *crm, const char *name)
{
  g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", name, NULL));
  made = lia_crm_create_sync (crm, account, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static const char *
regarding_id (const LiaCrmRecord *record)
{
  LiaValue *regarding = lia_item_get (lia_crm_record_get_item (record), "regarding");

  return regarding != NULL ? lia_value_get_reference_id (regarding) : NULL;
}

static void
set (CrmFixture *f, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_crm_set_setting_sync (f->root, key, value, NULL, &error));
  g_assert_no_error (error);
}

static void
test_dedupe_one_email (CrmFixture *f, gconstpointer data)
{
  const char *const to_bob[] = { "Bob@Example.org", NULL };
  g_autofree char *acct_a = make_account (f->root, "Record A");
  g_autofree char *acct_b = make_account (f->root, "Record B");
  g_autoptr (LiaCrmRecord) a_mail =
      email ("<m1@example.org>", "alice@example.org", to_bob, "outgoing", LIA_ENTITY_ACCOUNT, acct_a);
  g_autoptr (LiaCrmRecord) b_mail =
      email ("m1@example.org", "alice@example.org", to_bob, "incoming", LIA_ENTITY_ACCOUNT, acct_b);
  g_autoptr (LiaCrmRecord) a_again =
      email ("<m1@example.org>", "alice@example.org", to_bob, "outgoing", LIA_ENTITY_ACCOUNT, NULL);
  g_autoptr (LiaCrmRecord) first = NULL;
  g_autoptr (LiaCrmRecord) second = NULL;
  g_autoptr (LiaCrmRecord) third = NULL;
  g_autoptr (LiaCrmRecord) other = NULL;
  g_autoptr (LiaCrmRecord) different =
      email ("<m2@example.org>", "alice@example.org", to_bob, "outgoing", LIA_ENTITY_ACCOUNT, acct_a);
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-DEDUPE: the same Message-ID tracked by two CRM users is one CRM email; the "
                  "second tracker's regarding replaces the first's (white paper, User2 sets Record B); "
                  "tracking again without regarding keeps it");
  first = lia_crm_create_sync (f->alice, a_mail, NULL, NULL, &error);
  g_assert_no_error (error);
  second = lia_crm_create_sync (f->bob, b_mail, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (second), ==, lia_crm_record_get_id (first));
  g_assert_cmpstr (regarding_id (second), ==, acct_b);
  g_assert_cmpint (lia_crm_record_get_version (second), >, lia_crm_record_get_version (first));
  /* The stored email keeps its first direction and owner. */
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (second), "direction"), ==, NULL);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (lia_crm_record_get_item (second), "direction")), ==,
                   "outgoing");
  g_assert_cmpstr (lia_crm_record_get_owner (second), ==, f->alice_id);
  third = lia_crm_create_sync (f->alice, a_again, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (third), ==, lia_crm_record_get_id (first));
  g_assert_cmpstr (regarding_id (third), ==, acct_b);
  other = lia_crm_create_sync (f->alice, different, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (other), !=, lia_crm_record_get_id (first));
}

static void
test_dedupe_two_activities (CrmFixture *f, gconstpointer data)
{
  const char *const to[] = { "bob@example.org", "stranger@elsewhere.org", NULL };
  g_autoptr (LiaCrmRecord) a_mail =
      email ("<m3@example.org>", "alice@example.org", to, "outgoing", LIA_ENTITY_N, NULL);
  g_autoptr (LiaCrmRecord) b_mail =
      email ("<m3@example.org>", "alice@example.org", to, "outgoing", LIA_ENTITY_N, NULL);
  g_autoptr (LiaCrmRecord) a_again =
      email ("<m3@example.org>", "alice@example.org", to, "outgoing", LIA_ENTITY_N, NULL);
  g_autoptr (LiaCrmRecord) alices = NULL;
  g_autoptr (LiaCrmRecord) bobs = NULL;
  g_autoptr (LiaCrmRecord) again = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-DEDUPE: with \"track email between CRM users as two activities\" the sender "
                  "and each recipient user get an activity of their own, with their own direction; each "
                  "user's tracking finds their own");
  set (f, "two-activities", "true");
  alices = lia_crm_create_sync (f->alice, a_mail, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_owner (alices), ==, f->alice_id);
  bobs = lia_crm_create_sync (f->bob, b_mail, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (bobs), !=, lia_crm_record_get_id (alices));
  g_assert_cmpstr (lia_crm_record_get_owner (bobs), ==, f->bob_id);
  /* Bob's activity was made when Alice tracked: it is incoming for him. */
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (lia_crm_record_get_item (bobs), "direction")), ==,
                   "incoming");
  again = lia_crm_create_sync (f->alice, a_again, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (again), ==, lia_crm_record_get_id (alices));
}

static void
test_approved (CrmFixture *f, gconstpointer data)
{
  const char *const to[] = { "bob@example.org", NULL };
  g_autoptr (LiaCrmRecord) mail =
      email ("<m4@example.org>", "alice@example.org", to, "outgoing", LIA_ENTITY_N, NULL);
  g_autoptr (LiaCrmRecord) refused = NULL;
  g_autoptr (LiaCrmRecord) made = NULL;
  g_auto (GStrv) no_tokens = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-APPROVED: with \"process email only for approved users\", an unapproved "
                  "user's track and token request are refused with a clear message; once approved, "
                  "tracking works");
  set (f, "approved-users-only", "true");
  refused = lia_crm_create_sync (f->alice, mail, NULL, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "approved"));
  g_assert_nonnull (strstr (error->message, "alice"));
  g_clear_error (&error);
  no_tokens = lia_crm_allocate_tokens_sync (f->alice, 1, NULL, &error);
  g_assert_null (no_tokens);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
  g_clear_error (&error);
  {
    g_autoptr (LiaOrgService) admin = lia_org_service_open (f->path, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (lia_org_service_set_approved (admin, "alice", TRUE, &error));
    g_assert_no_error (error);
  }
  made = lia_crm_create_sync (f->alice, mail, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (made);
}

static void
test_tokens (CrmFixture *f, gconstpointer data)
{
  g_auto (GStrv) first = NULL;
  g_auto (GStrv) more = NULL;
  g_auto (GStrv) other = NULL;
  g_auto (GStrv) none = NULL;
  g_autoptr (GError) error = NULL;
  guint64 number = 0;

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: the org hands out unique tokens in its configured format "
                  "(prefix and digits); bad counts and settings are refused");
  first = lia_crm_allocate_tokens_sync (f->alice, 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (first), ==, 3);
  g_assert_cmpstr (first[0], ==, "CRM:0001001");
  g_assert_cmpstr (first[2], ==, "CRM:0001003");
  more = lia_crm_allocate_tokens_sync (f->bob, 1, NULL, &error);
  g_assert_cmpstr (more[0], ==, "CRM:0001004");
  set (f, "tracking-token-prefix", "TKT#");
  set (f, "tracking-token-digits", "5");
  other = lia_crm_allocate_tokens_sync (f->alice, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (other[0], ==, "TKT#01005");
  g_assert_true (lia_mail_token_find (other[0], "TKT#", 5, &number, NULL, NULL));
  g_assert_cmpuint (number, ==, 1005);
  none = lia_crm_allocate_tokens_sync (f->alice, 1001, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_crm_set_setting_sync (f->root, "tracking-token-digits", "19", NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_crm_set_setting_sync (f->root, "smart-matching-min-addresses", "0", NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_crm_set_setting_sync (f->alice, "tracking-token-digits", "4", NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_FORBIDDEN);
}

static gboolean
has_record (GPtrArray *records, const char *id)
{
  for (guint i = 0; i < records->len; i++)
    if (g_str_equal (lia_crm_record_get_id (records->pdata[i]), id))
      return TRUE;
  return FALSE;
}

static void
test_tagging (CrmFixture *f, gconstpointer data)
{
  const char *const to_alice[] = { "alice@example.org", NULL };
  const char *const to_dl[] = { "team@example.org", NULL };
  g_autofree char *acct_a = make_account (f->root, "Record A");
  g_autofree char *acct_b = make_account (f->root, "Record B");
  g_autoptr (LiaCrmRecord) direct =
      email ("<t1@example.org>", "bob@example.org", to_alice, "outgoing", LIA_ENTITY_ACCOUNT, acct_a);
  g_autoptr (LiaCrmRecord) via_dl =
      email ("<t2@example.org>", "bob@example.org", to_dl, "outgoing", LIA_ENTITY_ACCOUNT, acct_a);
  g_autoptr (LiaCrmRecord) bob_direct = NULL;
  g_autoptr (LiaCrmRecord) bob_dl = NULL;
  g_autoptr (LiaCrmRecord) alice_direct = NULL;
  g_autoptr (LiaCrmRecord) alice_dl = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (GPtrArray) resolved = NULL;
  g_autoptr (GError) error = NULL;
  const char *const dl[] = { "team@example.org", NULL };
  gint64 last = 0, last2 = 0;

  g_test_summary ("R-MAIL-TAGGING, R-MAIL-DL: the tagging poll returns the emails the user tracked and "
                  "is a party to, with a regarding another user changed; an email the user only got "
                  "through a distribution list is not returned, and the list is not expanded");
  bob_direct = lia_crm_create_sync (f->bob, direct, NULL, NULL, &error);
  g_assert_no_error (error);
  bob_dl = lia_crm_create_sync (f->bob, via_dl, NULL, NULL, &error);
  g_assert_no_error (error);
  /* Alice tracks both as received mail, without regarding. */
  lia_item_set (lia_crm_record_get_item (direct), "regarding", NULL, NULL);
  lia_item_set (lia_crm_record_get_item (via_dl), "regarding", NULL, NULL);
  alice_direct = lia_crm_create_sync (f->alice, direct, NULL, NULL, &error);
  g_assert_no_error (error);
  alice_dl = lia_crm_create_sync (f->alice, via_dl, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (alice_dl), ==, lia_crm_record_get_id (bob_dl));

  /* Bob sets regarding to Record B on both (tracking again, as User2). */
  {
    g_autoptr (LiaValue) b = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_b, "Record B");
    g_autoptr (LiaCrmRecord) r1 = NULL;
    g_autoptr (LiaCrmRecord) r2 = NULL;
    lia_item_set (lia_crm_record_get_item (direct), "regarding", b, NULL);
    lia_item_set (lia_crm_record_get_item (via_dl), "regarding", b, NULL);
    r1 = lia_crm_create_sync (f->bob, direct, NULL, NULL, &error);
    g_assert_no_error (error);
    r2 = lia_crm_create_sync (f->bob, via_dl, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  changes = lia_crm_email_changes_sync (f->alice, 0, 100, &last, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (has_record (changes, lia_crm_record_get_id (bob_direct)));
  g_assert_false (has_record (changes, lia_crm_record_get_id (bob_dl)));
  g_assert_cmpuint (changes->len, ==, 1);
  g_assert_cmpstr (regarding_id (changes->pdata[0]), ==, acct_b);
  g_assert_cmpint (last, >, 0);
  /* Up to date: nothing changed since. */
  after = lia_crm_email_changes_sync (f->alice, last, 100, &last2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, 0);
  g_assert_cmpint (last2, ==, last);
  /* R-MAIL-DL: the list address resolves to nothing; it is not expanded. */
  resolved = lia_crm_resolve_sync (f->alice, dl, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resolved->len, ==, 0);
  {
    g_autoptr (GPtrArray) bad = lia_crm_email_changes_sync (f->alice, -1, 100, NULL, NULL, &error);
    g_assert_null (bad);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  }
}

static void
test_tagging_own_tracks (CrmFixture *f, gconstpointer data)
{
  const char *const to_bob[] = { "bob@example.org", NULL };
  g_autofree char *acct_b = make_account (f->root, "Record B");
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) second = NULL;
  g_autoptr (GPtrArray) third = NULL;
  g_autoptr (GError) error = NULL;
  gint64 newest = 0, last = 0, last2 = 0, last3 = 0;
  guint n = 250;

  g_test_summary ("R-MAIL-TAGGING, R-MAIL-BULK: the first tagging poll after a user tracked many emails "
                  "sends none of them back (the user has them as its creates returned them) and moves "
                  "its watermark past all of them in one call; a regarding another user sets on one "
                  "of them afterwards still comes back");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<own-%u@example.org>", i);
      g_autoptr (LiaCrmRecord) mail =
          email (msgid, "alice@example.org", to_bob, "outgoing", LIA_ENTITY_N, NULL);
      LiaCrmRecord *r = lia_crm_create_sync (f->alice, mail, NULL, NULL, &error);
      g_assert_no_error (error);
      newest = MAX (newest, lia_crm_record_get_version (r));
      g_ptr_array_add (made, r);
    }
  /* A limit below the count: without the seen version the poll returned a
   * full page of alice's own emails. */
  first = lia_crm_email_changes_sync (f->alice, 0, 200, &last, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->len, ==, 0);
  g_assert_cmpint (last, ==, newest);
  /* Bob tracks one of them too and sets its regarding (the white paper's
   * User2): alice's next poll has it, with Record B. */
  {
    g_autoptr (LiaValue) b = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_b, "Record B");
    g_autoptr (LiaCrmRecord) again =
        email ("<own-7@example.org>", "alice@example.org", to_bob, "incoming", LIA_ENTITY_N, NULL);
    g_autoptr (LiaCrmRecord) r = NULL;
    lia_item_set (lia_crm_record_get_item (again), "regarding", b, NULL);
    r = lia_crm_create_sync (f->bob, again, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lia_crm_record_get_id (r), ==, lia_crm_record_get_id (made->pdata[7]));
  }
  second = lia_crm_email_changes_sync (f->alice, last, 200, &last2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (second->len, ==, 1);
  g_assert_cmpstr (lia_crm_record_get_id (second->pdata[0]), ==, lia_crm_record_get_id (made->pdata[7]));
  g_assert_cmpstr (regarding_id (second->pdata[0]), ==, acct_b);
  g_assert_cmpint (last2, >, last);
  /* Bob made that change: his own poll does not send it back to him. */
  third = lia_crm_email_changes_sync (f->bob, 0, 200, &last3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (third->len, ==, 0);
  g_assert_cmpint (last3, ==, last2);
}

static void
test_tagging_override (CrmFixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) settings = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-SET-TAGGING, R-MAIL-TAGGING: tagging is on by default per user; the org's "
                  "tagging-override wins over every user's choice");
  settings = lia_crm_get_settings_sync (f->alice, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (settings, "tagging-override"), ==, "none");
  g_assert_true (lia_mail_tagging_enabled (g_hash_table_lookup (settings, "tagging-override"), TRUE));
  g_assert_false (lia_mail_tagging_enabled (g_hash_table_lookup (settings, "tagging-override"), FALSE));
  g_clear_pointer (&settings, g_hash_table_unref);
  set (f, "tagging-override", "off");
  settings = lia_crm_get_settings_sync (f->alice, NULL, &error);
  g_assert_false (lia_mail_tagging_enabled (g_hash_table_lookup (settings, "tagging-override"), TRUE));
  g_clear_pointer (&settings, g_hash_table_unref);
  set (f, "tagging-override", "on");
  settings = lia_crm_get_settings_sync (f->alice, NULL, &error);
  g_assert_true (lia_mail_tagging_enabled (g_hash_table_lookup (settings, "tagging-override"), FALSE));
  /* The correlation settings travel to clients too. */
  g_assert_cmpstr (g_hash_table_lookup (settings, "tracking-token-digits"), ==, "7");
  g_assert_cmpstr (g_hash_table_lookup (settings, "smart-matching-min-addresses"), ==, "2");
}

static void
test_hostile_email (CrmFixture *f, gconstpointer data)
{
  const char *const to[] = { "bob@example.org", NULL };
  g_autoptr (LiaCrmRecord) junk_id =
      email ("<not an id> \r\nBcc: x@y", "alice@example.org", to, "outgoing", LIA_ENTITY_N, NULL);
  g_autoptr (LiaCrmRecord) made1 = NULL;
  g_autoptr (LiaCrmRecord) made2 = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("A Message-ID that is not one is stored as sent but never deduplicates: two tracks "
                  "are two emails");
  made1 = lia_crm_create_sync (f->alice, junk_id, NULL, NULL, &error);
  g_assert_no_error (error);
  made2 = lia_crm_create_sync (f->bob, junk_id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lia_crm_record_get_id (made1), !=, lia_crm_record_get_id (made2));
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
      g_autofree char *path = g_strdup_printf ("/mail/%s/%s", name, leaf);                   \
      if (crm_backend_available (b))                                                         \
        g_test_add (path, CrmFixture, backend, crm_fixture_setup, fn, crm_fixture_teardown); \
    }                                                                                        \
  while (0)
      ADD ("R-MAIL-DEDUPE/one-email", test_dedupe_one_email);
      ADD ("R-MAIL-DEDUPE/two-activities", test_dedupe_two_activities);
      ADD ("R-MAIL-APPROVED/refused", test_approved);
      ADD ("R-MAIL-CORRELATE-TOKEN/allocate", test_tokens);
      ADD ("R-MAIL-TAGGING/party-and-dl", test_tagging);
      ADD ("R-MAIL-TAGGING/own-tracks-not-returned", test_tagging_own_tracks);
      ADD ("R-SET-TAGGING/org-override", test_tagging_override);
      ADD ("hostile/message-id", test_hostile_email);
#undef ADD
    }
  return g_test_run ();
}
