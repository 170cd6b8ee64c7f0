/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "evolution-mail-fixture.h"
#include "lia-engine-mail.h"
#include "lia-test-eds.h"

/* The mail part of the Evolution adapter against real Camel on a real
 * maildir that each test writes into a fresh temporary directory
 * (evolution-mail-fixture.h): item ids, folders and searches, the contents
 * table, reading messages, writing the link properties and the async
 * calls. The notifications are in test-evolution-mail-notify.c, the engine
 * end to end in test-evolution-mail-engine.c. */

static void
assert_party (const LiaItem *item, const char *field, gsize index, const char *address, const char *name)
{
  LiaValue *v = lia_item_get (item, field);
  const LiaParty *p;

  g_assert_nonnull (v);
  g_assert_cmpuint (index, <, lia_value_get_n_parties (v));
  p = lia_value_get_party (v, index);
  g_assert_cmpstr (p->address, ==, address);
  g_assert_cmpstr (p->name, ==, name);
  g_assert_cmpint (p->entity, ==, LIA_ENTITY_N);
}

static void
test_item_ids (void)
{
  g_autofree char *id = lia_evo_mail_item_id ("acc/1", "Lists/a b", "12:34/5");
  g_autofree char *fid = lia_evo_mail_folder_id ("acc/1", "Lists/a b");
  g_autofree char *store = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *store2 = NULL;
  g_autofree char *folder2 = NULL;
  char *untouched = (char *) "x";

  g_test_summary ("Item ids (mail:<store uid>/<folder full name>/<uid>) and folder ids round-trip parts "
                  "holding the separator; foreign and truncated ids are refused, outputs untouched");
  g_assert_true (lia_evo_mail_parse_item_id (id, &store, &folder, &uid));
  g_assert_cmpstr (store, ==, "acc/1");
  g_assert_cmpstr (folder, ==, "Lists/a b");
  g_assert_cmpstr (uid, ==, "12:34/5");
  g_assert_true (g_str_has_prefix (id, fid));
  g_assert_true (lia_evo_mail_parse_folder_id (fid, &store2, &folder2));
  g_assert_cmpstr (store2, ==, "acc/1");
  g_assert_cmpstr (folder2, ==, "Lists/a b");
  g_assert_false (lia_evo_mail_parse_item_id ("contact:abc", &untouched, &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_item_id (fid, &untouched, &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_item_id ("mail:s/Inbox/", &untouched, &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_item_id ("mail:s//uid", &untouched, &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_folder_id (id, &untouched, &untouched));
  g_assert_cmpstr (untouched, ==, "x");
  g_assert_null (lia_evo_mail_item_id (NULL, "f", "u"));
  g_assert_null (lia_evo_mail_item_id ("s", "f", NULL));
}

static void
test_contents_order (Fx *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) tail = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *none;

  g_test_summary ("The contents table of a maildir folder lists every message newest first by date "
                  "received, untracked, and pages by offset and limit (R-DET-SCAN)");
  if (fx->c.mail == NULL)
    return;
  all = contents (fx, 0, 100);
  g_assert_cmpuint (all->len, ==, G_N_ELEMENTS (newest_first));
  for (guint i = 0; i < all->len; i++)
    {
      const LiaHostRow *r = g_ptr_array_index (all, i);
      g_autofree char *id = id_of (newest_first[i]);

      g_assert_cmpstr (r->item_id, ==, id);
      g_assert_cmpint (r->link_state, ==, LIA_LINK_STATE_NONE);
      g_assert_null (r->crm_id);
      if (i > 0)
        g_assert_cmpint (r->modified_at, <, ((LiaHostRow *) g_ptr_array_index (all, i - 1))->modified_at);
    }
  g_assert_cmpint (((LiaHostRow *) g_ptr_array_index (all, 0))->modified_at, ==,
                   G_GINT64_CONSTANT (1700001500) * G_USEC_PER_SEC);

  page = contents (fx, 2, 2);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (page, 0))->item_id, ==,
                   ((LiaHostRow *) g_ptr_array_index (all, 2))->item_id);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (page, 1))->item_id, ==,
                   ((LiaHostRow *) g_ptr_array_index (all, 3))->item_id);
  tail = contents (fx, 5, 10);
  g_assert_cmpuint (tail->len, ==, 1);

  /* Later pages reuse the sorted listing until a folder reports a change:
   * a message filed now is newest and shifts every row by one. */
  {
    g_autofree char *uid = lia_test_camel_append (&fx->c, "Inbox", sent1);
    g_autoptr (GPtrArray) shifted = NULL;
    gint64 until = g_get_monotonic_time () + 500 * 1000;

    g_assert_nonnull (uid);

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    shifted = contents (fx, 1, 1);
    g_assert_cmpuint (shifted->len, ==, 1);
    g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (shifted, 0))->item_id, ==,
                     ((LiaHostRow *) g_ptr_array_index (all, 0))->item_id);
  }

  {
    g_autofree char *nowhere = lia_evo_mail_folder_id (STORE_UID, "No such folder");

    none = lia_evo_mail_read_contents_sync (fx->c.mail, nowhere, 0, 10, NULL, &error);
  }
  g_assert_null (none);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_read_messages (Fx *fx, gconstpointer data)
{
  g_test_summary ("Each message reads as a LiaItem email (R-MAIL-TRACK): direction, parties, decoded "
                  "non-ASCII subject, plain body from plain, HTML-only and multipart/alternative mail, "
                  "Message-ID, In-Reply-To, References, date; 5,000 recipients all kept "
                  "(R-MAIL-RECIPIENTS); a missing Message-ID stays absent");
  if (fx->c.mail == NULL)
    return;

  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[4]);
    const LiaItem *it = hi->item;

    g_assert_cmpstr (lia_value_get_enum (lia_item_get (it, "direction")), ==, "incoming");
    assert_party (it, "from", 0, "alice@example.com", "Alice Martin");
    assert_party (it, "to", 0, ME, "Me");
    g_assert_cmpuint (lia_value_get_n_parties (lia_item_get (it, "cc")), ==, 2);
    assert_party (it, "cc", 0, "bea@example.com",
                  "B\xc3\xa9"
                  "atrice");
    assert_party (it, "cc", 1, "carl@example.com", NULL);
    g_assert_cmpstr (lia_item_get_text (it, "subject"), ==,
                     "Caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9 \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac");
    g_assert_cmpstr (lia_item_get_text (it, "body"), ==, "Bonjour, voil\xc3\xa0 le r\xc3\xa9sum\xc3\xa9.\n");
    g_assert_cmpstr (lia_item_get_text (it, "message-id"), ==, "<m1@example.com>");
    g_assert_null (lia_item_get (it, "in-reply-to"));
    g_assert_null (lia_item_get (it, "references"));
    /* 2023-11-14 22:13:20 UTC */
    g_assert_cmpint (lia_value_get_instant (lia_item_get (it, "date")), ==,
                     G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
    g_assert_null (lia_item_get (it, "regarding"));
    g_assert_cmpuint (hi->props.mask, ==, 0);
    g_assert_cmpint (hi->modified_at, ==, G_GINT64_CONSTANT (1700001100) * G_USEC_PER_SEC);
  }
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[3]);
    const char *body = lia_item_get_text (hi->item, "body");

    g_assert_cmpstr (body, ==, "Hello World caf\xc3\xa9\n\nTom & Jerry\xe2\x80\x99s <tag>");
    assert_party (hi->item, "from", 0, "news@example.net", NULL);
  }
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[2]);

    g_assert_cmpstr (lia_item_get_text (hi->item, "body"), ==, "Plain version");
    g_assert_cmpstr (lia_item_get_text (hi->item, "subject"), ==, "Re: Caf\xc3\xa9");
    g_assert_cmpstr (lia_item_get_text (hi->item, "in-reply-to"), ==, "<m1@example.com>");
    g_assert_cmpstr (lia_item_get_text (hi->item, "references"), ==, "<m0@example.com> <m1@example.com>");
  }
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[1]);
    LiaValue *to = lia_item_get (hi->item, "to");

    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hi->item, "direction")), ==, "outgoing");
    g_assert_cmpuint (lia_value_get_n_parties (to), ==, 5000);
    assert_party (hi->item, "to", 0, "user0@example.com", "User 0");
    assert_party (hi->item, "to", 4999, "user4999@example.com", "User 4999");
    g_assert_null (lia_item_get (hi->item, "cc"));
  }
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[0]);

    g_assert_null (lia_item_get (hi->item, "message-id"));
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hi->item, "direction")), ==, "outgoing");
    g_assert_cmpstr (lia_item_get_text (hi->item, "body"), ==, "No Message-ID header here.\n");
  }
}

static void
test_malformed (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) gone_error = NULL;
  g_autofree char *bad = id_of (newest_first[5]);
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *m1_path = NULL;
  LiaHostItem *hi;

  g_test_summary ("A message that is not mail is reported with LIA_ERROR_INVALID, a message file gone "
                  "from disk and an unknown id with an error; nothing crashes and the folder stays usable");
  if (fx->c.mail == NULL)
    return;
  hi = lia_evo_mail_read_item_sync (fx->c.mail, bad, NULL, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);

  {
    g_autofree char *nouid = id_of ("no-such-uid");

    hi = lia_evo_mail_read_item_sync (fx->c.mail, nouid, NULL, &error);
  }
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  hi = lia_evo_mail_read_item_sync (fx->c.mail, "contact:abc", NULL, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);

  /* Deleted behind Camel's back after the summary knew it. */
  m1_path = g_build_filename (fx->c.maildir, "cur", newest_first[4], NULL);
  {
    g_autofree char *with_flags = g_strconcat (m1_path, ":2,S", NULL);

    g_assert_cmpint (g_unlink (with_flags), ==, 0);
  }
  hi = lia_evo_mail_read_item_sync (fx->c.mail, m1_id, NULL, &gone_error);
  g_assert_null (hi);
  g_assert_nonnull (gone_error);
  g_assert_true (gone_error->domain == LIA_ERROR);

  /* Still usable. */
  {
    g_autoptr (LiaHostItem) ok = read_ok (fx, newest_first[2]);

    g_assert_nonnull (lia_item_get (ok->item, "body"));
  }
}

static const LiaHostRow *
row_for (GPtrArray *rows, const char *item_id)
{
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (((LiaHostRow *) g_ptr_array_index (rows, i))->item_id, item_id) == 0)
      return g_ptr_array_index (rows, i);
  g_assert_not_reached ();
  return NULL;
}

static void
test_track_untrack (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[2]);
  g_autofree char *other = id_of (newest_first[3]);
  const char *original = "<email>\n  <subject>a \\ \"b\" &amp; c</subject>\n</email>\n";
  g_auto (LiaHostProps) marked = { 0 };
  g_auto (LiaHostProps) tracked = { 0 };
  g_auto (LiaHostProps) untracked = { 0 };
  gint64 before;

  g_test_summary ("Track, set regarding and untrack a message (R-MARK-TRACK, R-MARK-REGARDING, "
                  "R-MARK-UNTRACK): link state 1 (the message then sorts as just modified), then 2 with CRM "
                  "id, org, OriginalXML and regarding, "
                  "then 0 with the mapping gone; each state read back after closing and reopening the "
                  "store, in the item and in the contents table");
  if (fx->c.mail == NULL)
    return;

  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  before = g_get_real_time ();
  write_ok (fx, id, &marked);
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[2]);
    g_autoptr (GPtrArray) rows = contents (fx, 0, 100);

    g_assert_true (hi->props.mask & (1u << LIA_HOST_PROP_LINK_STATE));
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);
    g_assert_null (hi->props.crm_id);
    /* Marked now, it is the most recently modified message (R-DET-SCAN:
     * a scan from the last sync's watermark finds it). */
    g_assert_cmpint (hi->modified_at, >=, before);
    g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, id);
    g_assert_cmpint (((LiaHostRow *) g_ptr_array_index (rows, 0))->modified_at, ==, hi->modified_at);
  }

  lia_host_props_set (&tracked, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ORG, "demo-org");
  lia_host_props_set (&tracked, LIA_HOST_PROP_ORIGINAL, original);
  lia_host_props_set (&tracked, LIA_HOST_PROP_REGARDING, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  tracked.regarding_name = g_strdup ("Contoso Caf\xc3\xa9 \xe2\x80\x93 deal");
  write_ok (fx, id, &tracked);

  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[2]);
    g_autoptr (GPtrArray) rows = contents (fx, 0, 100);
    const LiaHostRow *r = row_for (rows, id);

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_cmpstr (hi->props.crm_id, ==, "0f8fad5b-d9cb-469f-a165-70867728950e");
    g_assert_cmpstr (hi->props.crm_org, ==, "demo-org");
    g_assert_cmpstr (hi->props.original, ==, original);
    g_assert_cmpstr (hi->props.regarding_id, ==, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
    g_assert_cmpstr (hi->props.regarding_name, ==, "Contoso Caf\xc3\xa9 \xe2\x80\x93 deal");
    g_assert_cmpint (r->link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_cmpstr (r->crm_id, ==, "0f8fad5b-d9cb-469f-a165-70867728950e");
    /* Writing properties leaves the message and its neighbours alone. */
    g_assert_cmpstr (lia_item_get_text (hi->item, "body"), ==, "Plain version");
    g_assert_cmpint (row_for (rows, other)->link_state, ==, LIA_LINK_STATE_NONE);
  }

  lia_host_props_set (&untracked, LIA_HOST_PROP_LINK_STATE, "0");
  lia_host_props_set (&untracked, LIA_HOST_PROP_CRM_ID, NULL);
  lia_host_props_set (&untracked, LIA_HOST_PROP_CRM_ORG, NULL);
  lia_host_props_set (&untracked, LIA_HOST_PROP_ORIGINAL, NULL);
  lia_host_props_set (&untracked, LIA_HOST_PROP_REGARDING, NULL);
  write_ok (fx, id, &untracked);

  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[2]);
    g_autoptr (GPtrArray) rows = contents (fx, 0, 100);
    const LiaHostRow *r = row_for (rows, id);

    g_assert_cmpuint (hi->props.mask, ==, 0);
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (hi->props.crm_id);
    g_assert_null (hi->props.regarding_id);
    g_assert_null (hi->props.regarding_name);
    g_assert_cmpint (r->link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (r->crm_id);
  }
}

static void
test_delivered_by_id (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of ("1700002000.late.test");
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (LiaHostItem) hi = NULL;

  g_test_summary ("A message a program delivers into the local Inbox after the adapter opened it is "
                  "unknown to Camel until the folder is refreshed: reading it by its id refreshes the "
                  "folder and finds it (how a message just delivered is tracked while Evolution runs)");
  if (fx->c.mail == NULL)
    return;
  rows = contents (fx, 0, 100);
  for (guint i = 0; i < rows->len; i++)
    g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, i))->item_id, !=, id);
  /* Evolution's own local store ("On This Computer") has need-summary-check
   * off (e-mail-session.c): a plain refresh does not scan its maildir, which
   * is why a Track over D-Bus inside Evolution found nothing. */
  if (data != NULL)
    g_object_set (fx->c.store, "need-summary-check", FALSE, NULL);
  lia_test_maildir_write (fx->c.maildir, "1700002000.late.test", m1, -1);
  hi = read_id (fx, id);
  g_assert_cmpstr (hi->folder, ==, fx->inbox);
  g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<m1@example.com>");
  if (data != NULL)
    {
      gboolean check = TRUE;

      /* Left as Evolution set it. */
      g_object_get (fx->c.store, "need-summary-check", &check, NULL);
      g_assert_false (check);
    }
}

/* ---- Async twins ---- */

typedef struct
{
  GAsyncResult *result;
  GThread *thread;
} Done;

static void
got_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Done *done = user_data;

  done->result = g_object_ref (res);
  done->thread = g_thread_self ();
}

static void
wait_for (Done *done)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (done->result == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (done->result);
  g_assert_true (done->thread == g_thread_self ());
}

static void
test_async (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[0]);
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (GError) error = NULL;
  Done a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) none = NULL;

  g_test_summary ("The async calls run Camel in a worker and complete on the caller's main context, "
                  "errors included");
  if (fx->c.mail == NULL)
    return;
  lia_evo_mail_read_contents_async (fx->c.mail, fx->inbox, 0, 3, NULL, got_result, &a);
  wait_for (&a);
  rows = lia_evo_mail_read_contents_finish (fx->c.mail, a.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, id);

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  lia_evo_mail_write_props_async (fx->c.mail, id, NULL, &props, NULL, got_result, &b);
  wait_for (&b);
  g_assert_true (lia_evo_mail_write_props_finish (fx->c.mail, b.result, &error));
  g_assert_no_error (error);

  lia_evo_mail_read_item_async (fx->c.mail, id, NULL, got_result, &c);
  wait_for (&c);
  hi = lia_evo_mail_read_item_finish (fx->c.mail, c.result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);

  {
    g_autofree char *nope = id_of ("nope");

    lia_evo_mail_read_item_async (fx->c.mail, nope, NULL, got_result, &d);
  }
  wait_for (&d);
  none = lia_evo_mail_read_item_finish (fx->c.mail, d.result, &error);
  g_assert_null (none);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);

  g_object_unref (a.result);
  g_object_unref (b.result);
  g_object_unref (c.result);
  g_object_unref (d.result);
}

/* The user tags of @uid in @folder as the summary db on disk holds them
 * (a connection of its own: what a crash would leave), or NULL. */
static char *
saved_tags (Fx *fx, const char *folder, const char *uid)
{
  CamelDB *cdb = camel_store_get_db (fx->c.store);
  char *sql = sqlite3_mprintf ("SELECT usertags FROM %Q WHERE uid = %Q", folder, uid);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *tags = NULL;

  g_assert_cmpint (sqlite3_open_v2 (camel_db_get_filename (cdb), &db, SQLITE_OPEN_READONLY, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_free (sql);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    tags = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return tags;
}

typedef struct
{
  Fx *fx;
  const char *uid; /* NULL: the missing message */
  char *crm_id;    /* owned */
  gboolean done;
} Burst;

static void
burst_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Burst *b = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = lia_evo_mail_write_props_finish (b->fx->c.mail, res, &error);

  b->done = TRUE;
  if (b->uid == NULL)
    {
      g_assert_false (ok);
      g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (ok);
  /* Done means saved: host first, cache second. */
  {
    g_autofree char *tags = saved_tags (b->fx, "Inbox", b->uid);

    g_assert_nonnull (tags);
    g_assert_nonnull (strstr (tags, b->crm_id));
  }
}

static void
test_async_burst (Fx *fx, gconstpointer data)
{
  Burst b[5] = { 0 };
  Burst missing = { fx, NULL, NULL, FALSE };
  /* Opened (its table made) once, before: opening a folder again saves
   * its summary, which would hide a write completed before its save. */
  g_autoptr (CamelFolder) inbox = NULL;

  g_test_summary ("Writes posted together complete after the folder summary holding them is saved "
                  "(one save for the burst, R-MAIL-BULK; the engine commits its cache after the host): "
                  "each completion finds its tags in the summary db on disk; a missing message fails "
                  "with NOT_FOUND");
  if (fx->c.mail == NULL)
    return;
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  for (guint i = 0; i < G_N_ELEMENTS (b); i++)
    {
      g_auto (LiaHostProps) props = { 0 };
      g_autofree char *id = NULL;

      b[i].fx = fx;
      b[i].uid = newest_first[i];
      b[i].crm_id = g_strdup_printf ("burst-crm-%u", i);
      id = id_of (b[i].uid);
      {
        g_autofree char *tags = saved_tags (fx, "Inbox", b[i].uid);

        g_assert_true (tags == NULL || strstr (tags, b[i].crm_id) == NULL);
      }
      lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, b[i].crm_id);
      lia_evo_mail_write_props_async (fx->c.mail, id, NULL, &props, NULL, burst_done, &b[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (b); i++)
    {
      gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

      while (!b[i].done && g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, TRUE);
      g_assert_true (b[i].done);
      g_free (b[i].crm_id);
    }
  /* Alone: looking for a missing message searches every folder, and a
   * Camel search saves the summary first (which would hide the above). */
  {
    g_auto (LiaHostProps) props = { 0 };
    g_autofree char *id = id_of ("missing");
    gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
    lia_evo_mail_write_props_async (fx->c.mail, id, NULL, &props, NULL, burst_done, &missing);
    while (!missing.done && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (missing.done);
  }
}

/* What the user and other programs keep on a message (a tag, a label, its
 * flags) as read back from a reopened store. */
static void
assert_foreign_kept (Fx *fx, const char *uid)
{
  g_autoptr (CamelFolder) inbox = lia_test_camel_folder (&fx->c, "Inbox");
  g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, uid);

  g_assert_nonnull (info);
  g_assert_cmpstr (camel_message_info_get_user_tag (info, "label-note"), ==, "kept: not ours");
  g_assert_true (camel_message_info_get_user_flag (info, "$Label1"));
  g_assert_cmpuint (camel_message_info_get_flags (info) & (CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED), ==,
                    CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED);
}

static gboolean
tracked_flag (Fx *fx, const char *uid)
{
  g_autoptr (CamelFolder) inbox = lia_test_camel_folder (&fx->c, "Inbox");
  g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, uid);

  g_assert_nonnull (info);
  return camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED);
}

static void
test_write_keeps_foreign (Fx *fx, gconstpointer data)
{
  const char *uid = newest_first[1];
  g_autofree char *id = id_of (uid);
  g_auto (LiaHostProps) tracked = { 0 };
  g_auto (LiaHostProps) untracked = { 0 };

  g_test_summary ("A property write takes all of Liaison's tags and the tracked flag in one go "
                  "(R-MARK-TRACK, R-MARK-UNTRACK): the message's other user tags, user flags (labels) "
                  "and flags stay as they were; the tracked flag follows link state 2, set by the "
                  "burst path and cleared by the single write; read back after reopening the store");
  if (fx->c.mail == NULL)
    return;
  {
    g_autoptr (CamelFolder) inbox = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, uid);
    g_autoptr (GError) error = NULL;

    g_assert_nonnull (info);
    camel_message_info_set_user_tag (info, "label-note", "kept: not ours");
    camel_message_info_set_user_flag (info, "$Label1", TRUE);
    camel_message_info_set_flags (info, CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED,
                                  CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED);
    g_assert_true (camel_folder_summary_save (camel_folder_get_folder_summary (inbox), &error));
    g_assert_no_error (error);
  }

  /* The bulk's path: an async write, done once its burst is saved. */
  lia_host_props_set (&tracked, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ID, "foreign-crm-1");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ORG, "demo-org");
  lia_host_props_set (&tracked, LIA_HOST_PROP_REGARDING, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  tracked.regarding_name = g_strdup ("Contoso");
  {
    Burst b = { fx, uid, g_strdup ("foreign-crm-1"), FALSE };
    gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    lia_evo_mail_write_props_async (fx->c.mail, id, NULL, &tracked, NULL, burst_done, &b);
    while (!b.done && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (b.done);
    g_free (b.crm_id);
  }
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  assert_foreign_kept (fx, uid);
  g_assert_true (tracked_flag (fx, uid));
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, uid);

    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
    g_assert_cmpstr (hi->props.crm_id, ==, "foreign-crm-1");
    g_assert_cmpstr (hi->props.crm_org, ==, "demo-org");
    g_assert_cmpstr (hi->props.regarding_name, ==, "Contoso");
  }

  lia_host_props_set (&untracked, LIA_HOST_PROP_LINK_STATE, "0");
  lia_host_props_set (&untracked, LIA_HOST_PROP_CRM_ID, NULL);
  lia_host_props_set (&untracked, LIA_HOST_PROP_CRM_ORG, NULL);
  lia_host_props_set (&untracked, LIA_HOST_PROP_REGARDING, NULL);
  write_ok (fx, id, &untracked);
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  assert_foreign_kept (fx, uid);
  g_assert_false (tracked_flag (fx, uid));
  {
    g_autoptr (CamelFolder) inbox = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, uid);
    const CamelNameValueArray *tags = camel_message_info_get_user_tags (info);

    /* Of ours only the time of the write is left on untracked mail. */
    g_assert_nonnull (tags);
    for (guint i = 0; i < camel_name_value_array_get_length (tags); i++)
      {
        const char *name = NULL;

        g_assert_true (camel_name_value_array_get (tags, i, &name, NULL));
        g_assert_true (!g_str_has_prefix (name, "liaison-") || g_str_equal (name, "liaison-modified"));
      }
    g_assert_cmpstr (camel_message_info_get_user_tag (info, "label-note"), ==, "kept: not ours");
  }
}

/* ---- Folders and searches ---- */

static void
test_folders (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelFolder) junk = NULL;
  g_autofree char *expected_sent = lia_evo_mail_folder_id (STORE_UID, SENT);
  g_autofree char *expected_inbox = lia_evo_mail_folder_id (STORE_UID, "Inbox");
  g_autofree char *foreign = lia_evo_mail_folder_name_from_uri (fx->c.mail, "folder://other-account/Sent");
  g_autofree char *escaped =
      lia_evo_mail_folder_name_from_uri (fx->c.mail, "folder://" STORE_UID "/a%20b%2Fc");
  LiaEvoMail *plain;
  g_autoptr (LiaEvoHost) plain_host = NULL;

  g_test_summary (
      "The Inbox comes from the store, Sent and Drafts from the account's configured folder URIs; "
      "a folder merely named Sent is not taken for the Sent folder (not by name); the host's "
      "default email folder is the Inbox");
  if (fx->c.mail == NULL)
    return;
  g_assert_cmpstr (fx->inbox, ==, expected_inbox);
  g_assert_cmpstr (fx->sent, ==, expected_sent);
  g_assert_nonnull (fx->drafts);
  g_assert_null (foreign);
  g_assert_cmpstr (escaped, ==, "a b/c");
  {
    g_autofree char *email =
        lia_evo_host_get_vtable ()->dup_default_folder (fx->c.host, LIA_EVO_STORE, LIA_ENTITY_EMAIL);
    g_autofree char *contacts =
        lia_evo_host_get_vtable ()->dup_default_folder (fx->c.host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);

    g_assert_cmpstr (email, ==, fx->inbox);
    g_assert_null (contacts);
  }

  /* Nothing configured: folders named Sent and Drafts exist, but a local
   * maildir reports no folder types, so neither is taken. */
  plain = lia_evo_mail_new (fx->c.store, ME);
  g_assert_true (lia_evo_mail_resolve_folders_sync (plain, NULL, &error));
  g_assert_no_error (error);
  plain_host = lia_evo_host_new_for_mail (plain);
  {
    g_autofree char *inbox = lia_evo_mail_dup_folder (plain, LIA_EVO_MAIL_INBOX);
    g_autofree char *sent = lia_evo_mail_dup_folder (plain, LIA_EVO_MAIL_SENT);
    g_autofree char *drafts = lia_evo_mail_dup_folder (plain, LIA_EVO_MAIL_DRAFTS);

    g_assert_cmpstr (inbox, ==, expected_inbox);
    g_assert_null (sent);
    g_assert_null (drafts);
  }
  junk = lia_test_camel_folder (&fx->c, "Junk");
}

static void
test_account_sources (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ESource) account = e_source_new_with_uid (STORE_UID, NULL, &error);
  g_autoptr (ESource) identity = e_source_new_with_uid ("identity-1", NULL, &error);
  g_autoptr (ESource) stranger = e_source_new_with_uid ("no-such-account", NULL, &error);
  g_autoptr (LiaEvoMail) mail = NULL;
  g_autoptr (LiaEvoMail) none = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *drafts = NULL;
  g_autofree char *want_sent = lia_evo_mail_folder_id (STORE_UID, SENT);

  g_test_summary ("The adapter for an Evolution mail account takes the store of the account's uid from the "
                  "session, the identity's address (outgoing mail) and its configured Sent folder; a Drafts "
                  "folder of another account is not this store's and stays unset; an account without a store "
                  "is not found");
  if (fx->c.mail == NULL)
    return;
  g_assert_no_error (error);
  e_source_mail_account_set_identity_uid (e_source_get_extension (account, E_SOURCE_EXTENSION_MAIL_ACCOUNT),
                                          "identity-1");
  e_source_mail_identity_set_address (e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_IDENTITY),
                                      ME);
  e_source_mail_submission_set_sent_folder (
      e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_SUBMISSION), "folder://" STORE_UID "/" SENT);
  e_source_mail_composition_set_drafts_folder (
      e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_COMPOSITION), "folder://local/Drafts");
  mail = lia_evo_host_mail_for_account (account, identity, fx->c.session, &error);
  g_assert_no_error (error);
  g_assert_true (lia_evo_mail_resolve_folders_sync (mail, NULL, &error));
  g_assert_no_error (error);
  sent = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_SENT);
  drafts = lia_evo_mail_dup_folder (mail, LIA_EVO_MAIL_DRAFTS);
  g_assert_cmpstr (sent, ==, want_sent);
  g_assert_null (drafts);
  {
    g_autoptr (LiaHostItem) hi = NULL;
    g_autofree char *id = id_of (newest_first[0]);

    /* m5 is from ME: outgoing by the identity's address. */
    hi = lia_evo_mail_read_item_sync (mail, id, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hi->item, "direction")), ==, "outgoing");
  }
  none = lia_evo_host_mail_for_account (stranger, identity, fx->c.session, &error);
  g_assert_null (none);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_search_expressions (Fx *fx, gconstpointer data)
{
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = id_of (newest_first[2]);
  g_auto (LiaHostProps) props = { 0 };
  /* The exact expressions the adapter builds (lia-evo-mail.c). */
  const char *odd_id = "mail:x/\"quoted\" \\ (paren)/1";
  GPtrArray *uids;
  GString *expr;

  g_test_summary ("Every Camel search expression the adapter relies on matches what it should on a real "
                  "maildir summary: (match-all #t) lists every message; (= (user-tag \"liaison-item-id\") v) "
                  "finds exactly the tagged message, values with quotes, backslashes and parentheses "
                  "included");
  if (fx->c.mail == NULL)
    return;
  f = lia_test_camel_folder (&fx->c, "Inbox");
  g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
  uids = camel_folder_search_by_expression (f, "(match-all #t)", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, G_N_ELEMENTS (newest_first));
  camel_folder_search_free (f, uids);

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  g_assert_true (lia_evo_mail_write_props_sync (fx->c.mail, id, NULL, &props, NULL, &error));
  g_assert_no_error (error);
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, newest_first[1]);

    /* Set as the adapter would for an id holding sexp metacharacters. */
    camel_message_info_set_user_tag (info, "liaison-item-id", odd_id);
  }
  expr = g_string_new ("(match-all (= (user-tag \"liaison-item-id\") ");
  camel_sexp_encode_string (expr, id);
  g_string_append (expr, "))");
  uids = camel_folder_search_by_expression (f, expr->str, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (uids, 0), ==, newest_first[2]);
  camel_folder_search_free (f, uids);
  g_string_free (expr, TRUE);

  expr = g_string_new ("(match-all (= (user-tag \"liaison-item-id\") ");
  camel_sexp_encode_string (expr, odd_id);
  g_string_append (expr, "))");
  uids = camel_folder_search_by_expression (f, expr->str, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (uids, 0), ==, newest_first[1]);
  camel_folder_search_free (f, uids);
  g_string_free (expr, TRUE);

  /* No message carries this one. */
  uids = camel_folder_search_by_expression (f, "(match-all (= (user-tag \"liaison-item-id\") \"mail:none\"))",
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 0);
  camel_folder_search_free (f, uids);
}

int
main (int argc, char **argv)
{
  /* Camel reads its GSettings schemas, from memory (lia-test-eds.h). */
  lia_test_use_memory_settings (TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/evolution-mail/item-ids", test_item_ids);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution-mail/folders/by-type-and-configuration", test_folders);
  ADD ("/evolution-mail/folders/evolution-account", test_account_sources);
  ADD ("/evolution-mail/search/expressions", test_search_expressions);
  ADD ("/evolution-mail/contents/newest-first", test_contents_order);
  ADD ("/evolution-mail/read/R-MAIL-TRACK-fields", test_read_messages);
  ADD ("/evolution-mail/read/malformed", test_malformed);
  ADD ("/evolution-mail/props/R-MARK-TRACK-R-MARK-UNTRACK-reopen", test_track_untrack);
  ADD ("/evolution-mail/props/R-MARK-TRACK-R-MARK-UNTRACK-foreign-tags-and-flags-kept",
       test_write_keeps_foreign);
  ADD ("/evolution-mail/read/delivered-later-by-id", test_delivered_by_id);
  g_test_add ("/evolution-mail/read/R-MAIL-TRACK-delivered-later-evolution-local-store", Fx,
              "no summary check", fx_setup, test_delivered_by_id, fx_teardown);
  ADD ("/evolution-mail/async/main-context", test_async);
  ADD ("/evolution-mail/async/R-MAIL-BULK-burst-saved-before-done", test_async_burst);
#undef ADD
  return g_test_run ();
}
