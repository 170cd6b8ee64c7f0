/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "lia-engine-mail.h"
#include "lia-test-camel.h"
#include "lia-test-eds.h"

/* The mail part of the Evolution adapter against real Camel on a real
 * maildir that each test writes into a fresh temporary directory, alone
 * and through the host adapter, the plugin and the embedded org. Camel's
 * local provider runs in-process: no bus, no daemon, nothing left running.
 * Only the file names' timestamps order the Inbox (Camel's maildir summary
 * takes the received date from them). */

#define STORE_UID "liaison-test-maildir"
#define ME "me@example.org"
#define SENT "Sent"
#define DRAFTS "Drafts"

typedef struct
{
  LiaTestCamel c; /* the store, host, org and plugin (lia-test-camel.h) */
  char *inbox;    /* folder ids */
  char *sent;
  char *drafts;
  GPtrArray *notes; /* "event item-id [old-folder]" */
} Fx;

typedef struct
{
  const char *file;
  const char *text;
  gssize len;
} Msg;

static const char m1[] = "From: Alice Martin <alice@example.com>\r\n"
                         "To: Me <" ME ">\r\n"
                         "Cc: =?UTF-8?Q?B=C3=A9atrice?= <bea@example.com>, carl@example.com\r\n"
                         /* "Café résumé – 日本" */
                         "Subject: =?UTF-8?B?Q2Fmw6kgcsOpc3Vtw6kg4oCTIOaXpeacrA==?=\r\n"
                         "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                         "Message-ID: <m1@example.com>\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: 8bit\r\n"
                         "\r\n"
                         "Bonjour, voil\xc3\xa0 le r\xc3\xa9sum\xc3\xa9.\r\n";

static const char m2[] =
    "From: news@example.net\r\n"
    "To: " ME "\r\n"
    "Subject: HTML only\r\n"
    "Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n"
    "Message-ID: <m2@example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=ISO-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<html><head><style>p {color: red}</style></head><body><p>Hello <b>World</b> caf=E9</p>"
    "<p>Tom &amp; Jerry&#8217;s &lt;tag&gt;</p><SCRIPT>alert(1)</SCRIPT></body></html>\r\n";

static const char m3[] = "From: Alice Martin <alice@example.com>\r\n"
                         "To: " ME "\r\n"
                         "Subject: Re: Caf\xc3\xa9\r\n"
                         "Date: Tue, 14 Nov 2023 22:20:00 +0000\r\n"
                         "Message-ID: <m3@example.com>\r\n"
                         "In-Reply-To: <m1@example.com>\r\n"
                         "References: <m0@example.com>\r\n"
                         "\t<m1@example.com>\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
                         "\r\n"
                         "--b1\r\n"
                         "Content-Type: text/plain; charset=us-ascii\r\n"
                         "\r\n"
                         "Plain version\r\n"
                         "--b1\r\n"
                         "Content-Type: text/html; charset=us-ascii\r\n"
                         "\r\n"
                         "<p>HTML version</p>\r\n"
                         "--b1--\r\n";

static const char m5[] = "From: " ME "\r\n"
                         "To: alice@example.com\r\n"
                         "Subject: no id\r\n"
                         "Date: Tue, 14 Nov 2023 22:40:00 +0000\r\n"
                         "\r\n"
                         "No Message-ID header here.\r\n";

/* Not a message at all: binary, no header, no sender. */
static const char garbage[] = "\x01\x02\xff\xfe\x00garbage\x00\x80\r\n\r\nmore\x00";

/* Newest first: the order the contents table must give. */
static const char *const newest_first[] = {
  "1700001500.m5.test", "1700001400.m4.test", "1700001300.m3.test",
  "1700001200.m2.test", "1700001100.m1.test", "1700001000.bad.test",
};

static char *
big_recipients_message (void)
{
  GString *s = g_string_new ("From: " ME "\r\nTo: ");

  for (guint i = 0; i < 5000; i++)
    g_string_append_printf (s, "%sUser %u <user%u@example.com>", i > 0 ? ",\r\n " : "", i, i);
  g_string_append (s, "\r\nSubject: To everyone\r\n"
                      "Date: Tue, 14 Nov 2023 22:30:00 +0000\r\n"
                      "Message-ID: <m4@example.org>\r\n"
                      "\r\n"
                      "Hello all.\r\n");
  return g_string_free (s, FALSE);
}

static const char sent1[] = "From: Me <" ME ">\r\n"
                            "To: Alice Martin <alice@example.com>\r\n"
                            "Cc: bea@example.com\r\n"
                            "Subject: Re: Caf\xc3\xa9\r\n"
                            "Date: Tue, 14 Nov 2023 23:00:00 +0000\r\n"
                            "Message-ID: <s1@example.org>\r\n"
                            "In-Reply-To: <m3@example.com>\r\n"
                            "References: <m1@example.com> <m3@example.com>\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: text/plain; charset=UTF-8\r\n"
                            "\r\n"
                            "Thanks, Alice.\r\n";

/* From someone else but in Sent: still outgoing (sent on behalf). */
static const char sent_other[] = "From: Assistant <assistant@example.org>\r\n"
                                 "To: carl@example.com\r\n"
                                 "Subject: on behalf\r\n"
                                 "Date: Tue, 14 Nov 2023 23:10:00 +0000\r\n"
                                 "Message-ID: <s2@example.org>\r\n"
                                 "\r\n"
                                 "Sent for Me.\r\n";

static const char draft1[] = "From: " ME "\r\n"
                             "To: dan@example.com\r\n"
                             "Subject: not yet\r\n"
                             "\r\n"
                             "Draft.\r\n";

/* Opens (or reopens) the store with a fresh session, as a new process
 * would, and the mail-only host adapter over it (as Evolution configures a
 * local account: Sent and Drafts by the identity's folder URIs). FALSE
 * when this machine has no Camel maildir provider. */
static gboolean
fx_open (Fx *fx)
{
  if (!lia_test_camel_open_or_skip (&fx->c, SENT, DRAFTS))
    return FALSE;
  g_free (fx->inbox);
  g_free (fx->sent);
  g_free (fx->drafts);
  fx->inbox = lia_evo_mail_dup_folder (fx->c.mail, LIA_EVO_MAIL_INBOX);
  fx->sent = lia_evo_mail_dup_folder (fx->c.mail, LIA_EVO_MAIL_SENT);
  fx->drafts = lia_evo_mail_dup_folder (fx->c.mail, LIA_EVO_MAIL_DRAFTS);
  return TRUE;
}

static void on_note (const LiaHostNotification *n, gpointer user_data);

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autofree char *big = big_recipients_message ();

  lia_test_camel_init (&fx->c, "liaison-mail-XXXXXX", STORE_UID, ME);
  fx->notes = g_ptr_array_new_with_free_func (g_free);
  /* The engine's notifications are recorded too (on_note), then go to
   * the plugin. */
  fx->c.on_note = on_note;
  fx->c.on_note_data = fx;
  lia_test_maildir_write (fx->c.maildir, newest_first[4], m1, -1);
  lia_test_maildir_write (fx->c.maildir, newest_first[3], m2, -1);
  lia_test_maildir_write (fx->c.maildir, newest_first[2], m3, -1);
  lia_test_maildir_write (fx->c.maildir, newest_first[1], big, -1);
  lia_test_maildir_write (fx->c.maildir, newest_first[0], m5, -1);
  lia_test_maildir_write (fx->c.maildir, newest_first[5], garbage, sizeof garbage - 1);
  if (!fx_open (fx))
    return;
  /* The account's other folders, made the way Evolution makes them. */
  {
    g_autoptr (CamelFolder) s = lia_test_camel_folder (&fx->c, SENT);
    g_autoptr (CamelFolder) d = lia_test_camel_folder (&fx->c, DRAFTS);
    g_autoptr (CamelFolder) a = lia_test_camel_folder (&fx->c, "Archive");

    g_assert_true (s != NULL && d != NULL && a != NULL);
  }
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  lia_test_camel_clear (&fx->c);
  g_free (fx->inbox);
  g_free (fx->sent);
  g_free (fx->drafts);
  g_ptr_array_unref (fx->notes);
}

static GPtrArray *
contents (Fx *fx, guint offset, guint limit)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (fx->c.mail, fx->inbox, offset, limit, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rows);
  return rows;
}

static char *
id_in (const char *full_name, const char *uid)
{
  return lia_evo_mail_item_id (STORE_UID, full_name, uid);
}

static char *
id_of (const char *file)
{
  return id_in ("Inbox", file);
}

static LiaHostItem *
read_id (Fx *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaHostItem *hi = lia_evo_mail_read_item_sync (fx->c.mail, id, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (hi);
  g_assert_cmpstr (hi->item_id, ==, id);
  g_assert_cmpstr (hi->store, ==, LIA_EVO_STORE);
  g_assert_cmpint (lia_item_get_entity (hi->item), ==, LIA_ENTITY_EMAIL);
  return hi;
}

static LiaHostItem *
read_ok (Fx *fx, const char *file)
{
  g_autofree char *id = id_of (file);
  LiaHostItem *hi = read_id (fx, id);

  g_assert_cmpstr (hi->folder, ==, fx->inbox);
  return hi;
}
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

static void
write_ok (Fx *fx, const char *item_id, const LiaHostProps *props)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_evo_mail_write_props_sync (fx->c.mail, item_id, NULL, props, NULL, &error));
  g_assert_no_error (error);
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
lia_test_got_result (GObject *source, GAsyncResult *res, gpointer user_data)
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
  lia_evo_mail_read_contents_async (fx->c.mail, fx->inbox, 0, 3, NULL, lia_test_got_result, &a);
  wait_for (&a);
  rows = lia_evo_mail_read_contents_finish (fx->c.mail, a.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, id);

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  lia_evo_mail_write_props_async (fx->c.mail, id, NULL, &props, NULL, lia_test_got_result, &b);
  wait_for (&b);
  g_assert_true (lia_evo_mail_write_props_finish (fx->c.mail, b.result, &error));
  g_assert_no_error (error);

  lia_evo_mail_read_item_async (fx->c.mail, id, NULL, lia_test_got_result, &c);
  wait_for (&c);
  hi = lia_evo_mail_read_item_finish (fx->c.mail, c.result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);

  {
    g_autofree char *nope = id_of ("nope");

    lia_evo_mail_read_item_async (fx->c.mail, nope, NULL, lia_test_got_result, &d);
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

/* ---- Through the host vtable ---- */

static const LiaHostVTable *
vt (void)
{
  return lia_evo_host_get_vtable ();
}

static GPtrArray *
host_contents (Fx *fx, const char *folder)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *rows;

  vt ()->read_contents (fx->c.host, LIA_EVO_STORE, folder, 0, 1000, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  rows = vt ()->read_contents_finish (fx->c.host, res, &error);
  g_assert_no_error (error);
  return rows;
}

static LiaHostItem *
host_read (Fx *fx, const char *item_id, GError **error)
{
  g_autoptr (GAsyncResult) res = NULL;

  vt ()->read_item (fx->c.host, LIA_EVO_STORE, item_id, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  return vt ()->read_item_finish (fx->c.host, res, error);
}

static void
host_write (Fx *fx, const char *item_id, const LiaHostProps *props)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  vt ()->write_item (fx->c.host, LIA_EVO_STORE, item_id, NULL, props, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  g_assert_true (vt ()->write_item_finish (fx->c.host, res, &error));
  g_assert_no_error (error);
}

static gboolean
rows_have (GPtrArray *rows, const char *item_id)
{
  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (((LiaHostRow *) g_ptr_array_index (rows, i))->item_id, item_id))
      return TRUE;
  return FALSE;
}

static void
test_host_vtable (Fx *fx, gconstpointer data)
{
  g_autofree char *s_uid = NULL;
  g_autofree char *o_uid = NULL;
  g_autofree char *d_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *o_id = NULL;
  g_autofree char *d_id = NULL;
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autoptr (GPtrArray) inbox = NULL;
  g_autoptr (GPtrArray) sent = NULL;
  g_autoptr (GAsyncResult) cres = NULL;
  g_autoptr (GAsyncResult) dres = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaItem) anything = lia_item_new (LIA_ENTITY_EMAIL);
  g_auto (LiaHostProps) props = { 0 };

  g_test_summary ("The host adapter serves mail through LiaHostVTable on the primary store: contents of the "
                  "Inbox and Sent, messages read with direction by folder and address, drafts flagged, "
                  "properties written; creating or deleting a message is refused (R-MAIL-TRACK, "
                  "R-DEL-IN-EMAIL); a contact id on a mail-only host is not found");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  o_uid = lia_test_camel_append (&fx->c, SENT, sent_other);
  d_uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  s_id = id_in (SENT, s_uid);
  o_id = id_in (SENT, o_uid);
  d_id = id_in (DRAFTS, d_uid);

  inbox = host_contents (fx, fx->inbox);
  g_assert_cmpuint (inbox->len, ==, G_N_ELEMENTS (newest_first));
  g_assert_true (rows_have (inbox, m1_id));
  sent = host_contents (fx, fx->sent);
  g_assert_cmpuint (sent->len, ==, 2);
  g_assert_true (rows_have (sent, s_id));
  {
    g_autoptr (LiaHostItem) hs = host_read (fx, s_id, &error);
    g_autoptr (LiaHostItem) ho = host_read (fx, o_id, &error);
    g_autoptr (LiaHostItem) hd = host_read (fx, d_id, &error);
    g_autoptr (LiaHostItem) hm = host_read (fx, m1_id, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (hs->store, ==, LIA_EVO_STORE);
    g_assert_cmpstr (hs->folder, ==, fx->sent);
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hs->item, "direction")), ==, "outgoing");
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (ho->item, "direction")), ==, "outgoing");
    g_assert_cmpstr (lia_value_get_enum (lia_item_get (hm->item, "direction")), ==, "incoming");
    g_assert_false (hs->is_draft);
    g_assert_true (hd->is_draft);
    g_assert_cmpstr (hd->folder, ==, fx->drafts);
  }
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  host_write (fx, s_id, &props);
  {
    g_autoptr (LiaHostItem) hs = host_read (fx, s_id, &error);

    g_assert_cmpint (hs->props.link_state, ==, LIA_LINK_STATE_MARKED);
  }

  vt ()->create_item (fx->c.host, LIA_EVO_STORE, fx->inbox, anything, NULL, NULL, lia_test_got_res, &cres);
  lia_test_wait_res (&cres);
  g_assert_null (vt ()->create_item_finish (fx->c.host, cres, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  vt ()->delete_item (fx->c.host, LIA_EVO_STORE, m1_id, NULL, lia_test_got_res, &dres);
  lia_test_wait_res (&dres);
  g_assert_false (vt ()->delete_item_finish (fx->c.host, dres, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  {
    g_autoptr (LiaHostItem) still = host_read (fx, m1_id, &error);

    g_assert_no_error (error);
    g_assert_nonnull (still);
  }
  {
    LiaHostItem *none = host_read (fx, "contact:abc", &error);

    g_assert_null (none);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  }
}

/* ---- Notifications ---- */

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_assert_cmpstr (n->store, ==, LIA_EVO_STORE);
  g_assert_cmpint (n->entity, ==, LIA_ENTITY_EMAIL);
  g_ptr_array_add (fx->notes, g_strdup_printf ("%s %s %s%s%s", lia_host_event_to_string (n->event),
                                               n->item_id, n->folder, n->old_folder != NULL ? " from " : "",
                                               n->old_folder != NULL ? n->old_folder : ""));
}

static gboolean
notes_have (Fx *fx, const char *event, const char *item_id, const char *folder, guint wait_ms)
{
  g_autofree char *want = g_strdup_printf ("%s %s %s", event, item_id, folder);
  gint64 until = g_get_monotonic_time () + wait_ms * 1000;

  do
    {
      for (guint i = 0; i < fx->notes->len; i++)
        if (g_str_has_prefix (g_ptr_array_index (fx->notes, i), want))
          return TRUE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  while (g_get_monotonic_time () < until);
  return FALSE;
}

static guint
notes_about (Fx *fx, const char *item_id)
{
  guint n = 0;

  for (guint i = 0; i < fx->notes->len; i++)
    if (strstr (g_ptr_array_index (fx->notes, i), item_id) != NULL)
      n++;
  return n;
}

static void
watch (Fx *fx, LiaEvoNotifyFunc func)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  lia_evo_host_watch_async (fx->c.host, func, fx, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  g_assert_true (lia_evo_host_watch_finish (fx->c.host, res, &error));
  g_assert_no_error (error);
}

/* Delivery by an MDA: a file in new/, then the folder refresh that
 * Evolution runs periodically. */
static void
deliver (Fx *fx, const char *name, const char *text)
{
  g_autofree char *tmp = g_build_filename (fx->c.maildir, "tmp", name, NULL);
  g_autofree char *path = g_build_filename (fx->c.maildir, "new", name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");

  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
  g_assert_true (camel_folder_refresh_info_sync (f, NULL, &error));
  g_assert_no_error (error);
}

static void
test_notifications (Fx *fx, gconstpointer data)
{
  static const char arrived[] = "From: Zed <zed@example.com>\r\n"
                                "To: " ME "\r\n"
                                "Subject: just arrived\r\n"
                                "Date: Tue, 14 Nov 2023 23:30:00 +0000\r\n"
                                "Message-ID: <new1@example.com>\r\n"
                                "\r\n"
                                "Hello.\r\n";
  g_autofree char *m3_id = id_of (newest_first[2]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autofree char *new_id = NULL;
  GPtrArray *uids;

  g_test_summary (
      "R-DET-NOTIFY on Camel: a message arriving in the Inbox is a created notification; a change "
      "of a message's Liaison properties by another writer is a modified one, a flag change (read) "
      "is none; the adapter's own property writes are not echoed; a removed message is a deleted "
      "one carrying the last link state seen");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  /* Camel reports its first load of the Inbox summary as added messages:
   * not new mail. */
  lia_test_iterate_for (1000);
  g_assert_cmpuint (fx->notes->len, ==, 0);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  deliver (fx, "1700002000.new1.test", arrived);
  uids = camel_folder_search_by_expression (inbox, "(match-all (header-contains \"Message-ID\" \"new1@\"))",
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 1);
  new_id = id_of (g_ptr_array_index (uids, 0));
  camel_folder_search_free (inbox, uids);
  g_assert_true (notes_have (fx, "created", new_id, fx->inbox, 10000));

  /* Ours: not echoed, even though Camel reports the change. */
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  host_write (fx, m3_id, &props);
  lia_test_iterate_for (1500);
  for (guint i = 0; i < fx->notes->len; i++)
    g_test_message ("note: %s", (const char *) g_ptr_array_index (fx->notes, i));
  g_assert_cmpuint (notes_about (fx, m3_id), ==, 0);

  /* The user reads it: flags are not an item change. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[2]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED,
                                  CAMEL_MESSAGE_SEEN | CAMEL_MESSAGE_FLAGGED);
  }
  lia_test_iterate_for (1000);
  g_assert_cmpuint (notes_about (fx, m3_id), ==, 0);

  /* Another writer (a second Evolution on the same IMAP account, the
   * user's filter) changes our properties. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[2]);

    camel_message_info_set_user_tag (info, "liaison-regarding-id", "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  }
  g_assert_true (notes_have (fx, "modified", m3_id, fx->inbox, 10000));

  /* Removed (deleted and expunged): the last link state travels. */
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[3]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_DELETED, CAMEL_MESSAGE_DELETED);
    g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_true (notes_have (fx, "deleted", m2_id, fx->inbox, 10000));
  lia_evo_host_unwatch (fx->c.host);
}

static void
test_watch_folder_hook (Fx *fx, gconstpointer data)
{
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autofree char *uid = NULL;
  g_autofree char *id = NULL;
  g_autofree char *data_dir = g_build_filename (fx->c.tmp, "other-data", NULL);
  g_autofree char *cache_dir = g_build_filename (fx->c.tmp, "other-cache", NULL);
  g_autofree char *other_dir = g_build_filename (fx->c.tmp, "OtherMaildir", NULL);
  g_autoptr (CamelSession) other_session = NULL;
  g_autoptr (CamelStore) other = NULL;
  g_autoptr (GError) error = NULL;
  gint64 until;

  g_test_summary ("The MailFolderCache hook: a folder of the primary store handed to "
                  "lia_evo_mail_watch_folder() is watched from then on (a message filed there is a created "
                  "notification); a folder of another account's store is ignored; without the hook a folder "
                  "outside Inbox/Sent/Drafts is not watched");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  /* Not watched yet. */
  uid = lia_test_camel_append (&fx->c, "Archive", m5);
  id = id_in ("Archive", uid);
  lia_test_iterate_for (500);
  g_assert_cmpuint (notes_about (fx, id), ==, 0);

  other_session = lia_evo_mail_session_new (data_dir, cache_dir);
  g_assert_cmpint (g_mkdir_with_parents (other_dir, 0700), ==, 0);
  other = lia_evo_mail_add_maildir_sync (other_session, "other-account", other_dir, &error);
  g_assert_no_error (error);
  lia_evo_mail_watch_folder (fx->c.mail, other, "Archive");
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, "Archive");
  /* Opened in a worker: wait until it is connected (a filed message
   * proves it). */
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      g_autofree char *u = lia_test_camel_append (&fx->c, "Archive", m3);
      g_autofree char *i = id_in ("Archive", u);

      if (notes_have (fx, "created", i, archive, 300))
        break;
    }
  g_assert_cmpuint (g_get_monotonic_time (), <, until);
  /* The other account's Archive: nothing reported. */
  {
    g_autoptr (CamelFolder) f =
        camel_store_get_folder_sync (other, "Archive", CAMEL_STORE_FOLDER_CREATE, NULL, &error);
    g_autoptr (CamelMimeMessage) msg = camel_mime_message_new ();
    g_autoptr (CamelStream) stream = camel_stream_mem_new_with_buffer (m5, strlen (m5));

    g_assert_no_error (error);
    g_assert_true (
        camel_data_wrapper_construct_from_stream_sync (CAMEL_DATA_WRAPPER (msg), stream, NULL, &error));
    g_assert_true (camel_folder_append_message_sync (f, msg, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    lia_test_iterate_for (500);
    g_assert_cmpuint (notes_about (fx, "mail:other-account"), ==, 0);
  }
  camel_session_remove_service (other_session, CAMEL_SERVICE (other));
  lia_evo_host_unwatch (fx->c.host);
}

static void
test_moved (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (CamelFolder) dest = NULL;
  g_autoptr (GPtrArray) uids = g_ptr_array_new ();
  g_autoptr (GPtrArray) moved_uids = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_auto (LiaHostProps) regarding = { 0 };

  g_test_summary ("A tracked message the user files into another folder keeps its item id: a moved "
                  "notification names the new folder, reads and writes of the id reach it there, and the new "
                  "folder's contents list it under that id (the link survives, R-MARK-PROFILE)");
  if (fx->c.mail == NULL)
    return;
  watch (fx, on_note);
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  host_write (fx, m1_id, &props);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  dest = lia_test_camel_folder (&fx->c, "Archive");
  g_ptr_array_add (uids, (gpointer) newest_first[4]);
  g_assert_true (camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, &moved_uids, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_true (camel_folder_synchronize_sync (dest, FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (notes_have (fx, "moved", m1_id, archive, 10000));
  lia_test_iterate_for (500);
  for (guint i = 0; i < fx->notes->len; i++)
    g_assert_false (g_str_has_prefix (g_ptr_array_index (fx->notes, i), "deleted"));

  hi = host_read (fx, m1_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hi->folder, ==, archive);
  g_assert_cmpstr (hi->props.crm_id, ==, "0f8fad5b-d9cb-469f-a165-70867728950e");
  g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<m1@example.com>");
  rows = host_contents (fx, archive);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, m1_id);
  lia_host_props_set (&regarding, LIA_HOST_PROP_REGARDING, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  regarding.regarding_name = g_strdup ("Contoso");
  host_write (fx, m1_id, &regarding);
  {
    g_autoptr (LiaHostItem) again = host_read (fx, m1_id, &error);

    g_assert_cmpstr (again->props.regarding_name, ==, "Contoso");
    g_assert_cmpstr (again->folder, ==, archive);
  }
  lia_evo_host_unwatch (fx->c.host);
}

/* ---- The engine end to end ---- */

static void
command (Fx *fx, LiaCommandKind kind, const char *folder, const char *item_id, LiaLinkState state,
         const char *regarding_id, const char *regarding_name, gboolean delete_in_crm)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_EVO_STORE;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.link_state = state;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = regarding_name;
  cmd.delete_in_crm = delete_in_crm;
  g_assert_true (lia_plugin_internal_funcs ()->command (fx->c.plugin, &cmd, &error));
  g_assert_no_error (error);
  lia_test_iterate_for (300);
}

static LiaCrmRecord *
crm_get (Fx *fx, LiaEntity entity, const char *id, GError **error)
{
  return lia_crm_retrieve_sync (fx->c.crm, entity, id, NULL, error);
}

static LiaCrmRecord *
crm_email (Fx *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaCrmRecord *rec = crm_get (fx, LIA_ENTITY_EMAIL, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  return rec;
}

static void
assert_crm_party (const LiaItem *item, const char *field, gsize index, const char *address)
{
  LiaValue *v = lia_item_get (item, field);

  g_assert_nonnull (v);
  g_assert_cmpuint (index, <, lia_value_get_n_parties (v));
  g_assert_cmpstr (lia_value_get_party (v, index)->address, ==, address);
}

/* Tracks @item_id through the plugin and returns (transfer full) its CRM id. */
static char *
track (Fx *fx, const char *folder, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = NULL;

  command (fx, LIA_COMMAND_TRACK, folder, item_id, LIA_LINK_STATE_NONE, NULL, NULL, FALSE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, item_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.crm_org, ==, "test-org");
  return g_strdup (hi->props.crm_id);
}

static void
test_engine_track (Fx *fx, gconstpointer data)
{
  g_autofree char *m3_id = id_of (newest_first[2]);
  g_autofree char *s_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *in_crm = NULL;
  g_autofree char *out_crm = NULL;
  g_autoptr (LiaCrmRecord) in = NULL;
  g_autoptr (LiaCrmRecord) out = NULL;
  const LiaItem *it;

  g_test_summary ("R-MAIL-TRACK through the plugin and the embedded org: tracking a received and a sent "
                  "message creates CRM email activities with direction, sender, to/cc, subject, plain-text "
                  "body, date, Message-ID, In-Reply-To and References, and links the messages (user tag + "
                  "the liaison-tracked flag)");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  in_crm = track (fx, fx->inbox, m3_id);
  out_crm = track (fx, fx->sent, s_id);

  in = crm_email (fx, in_crm);
  it = lia_crm_record_get_item (in);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (it, "direction")), ==, "incoming");
  assert_crm_party (it, "from", 0, "alice@example.com");
  assert_crm_party (it, "to", 0, ME);
  g_assert_cmpstr (lia_item_get_text (it, "subject"), ==, "Re: Caf\xc3\xa9");
  g_assert_cmpstr (lia_item_get_text (it, "body"), ==, "Plain version");
  g_assert_cmpstr (lia_item_get_text (it, "message-id"), ==, "<m3@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "in-reply-to"), ==, "<m1@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "references"), ==, "<m0@example.com> <m1@example.com>");
  g_assert_cmpint (lia_value_get_instant (lia_item_get (it, "date")), ==,
                   G_GINT64_CONSTANT (1700000400) * G_USEC_PER_SEC);

  out = crm_email (fx, out_crm);
  it = lia_crm_record_get_item (out);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (it, "direction")), ==, "outgoing");
  assert_crm_party (it, "from", 0, ME);
  assert_crm_party (it, "to", 0, "alice@example.com");
  assert_crm_party (it, "cc", 0, "bea@example.com");
  g_assert_cmpstr (lia_item_get_text (it, "body"), ==, "Thanks, Alice.\n");
  g_assert_cmpstr (lia_item_get_text (it, "in-reply-to"), ==, "<m3@example.com>");
  g_assert_cmpstr (lia_item_get_text (it, "references"), ==, "<m1@example.com> <m3@example.com>");

  /* The flag is what an IMAP server keeps. */
  {
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, newest_first[2]);

    g_assert_true (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
  }
  /* Tracked twice is still one activity (R-DUP-NONE). */
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, m3_id);

    g_assert_cmpstr (hi->props.crm_id, ==, in_crm);
  }
}

static void
test_engine_scan_startup (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_auto (LiaHostProps) marked = { 0 };
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) other = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-DET-SCAN-STARTUP on mail: a message marked for tracking while no engine ran (a "
                  "delegate, or Evolution without the plugin) is found by the startup scan of the Inbox by "
                  "its last-modified and tracked, without any notification; a message nobody marked is left "
                  "alone");
  if (fx->c.mail == NULL)
    return;
  /* A first run leaves its watermarks, then stops. */
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_close (&fx->c);
  /* No engine, no watch: the mark is a property write on the message. */
  g_assert_true (fx_open (fx));
  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  write_ok (fx, m1_id, &marked);
  lia_test_camel_close (&fx->c);
  /* A new process: the startup scan finds it. */
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, m1_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  rec = crm_email (fx, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m1@example.com>");
  other = lia_test_camel_host_read_ok (&fx->c, m2_id);
  g_assert_cmpint (other->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (other->props.crm_id);
}

static void
test_engine_scan_startup_folders (Fx *fx, gconstpointer data)
{
  g_autofree char *s_uid = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *a_uid = NULL;
  g_autofree char *a_id = NULL;
  g_autofree char *n_uid = NULL;
  g_autofree char *n_id = NULL;
  g_autofree char *archive = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (LiaHostProps) marked = { 0 };
  g_autoptr (LiaHostItem) sent = NULL;
  g_autoptr (LiaHostItem) filed = NULL;
  g_autoptr (LiaHostItem) other = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("R-DET-SCAN-STARTUP beyond the Inbox: a message marked while no engine ran in Sent (the "
                  "folder the host names for the scan) and one in a folder the user tracks (R-MAIL-FOLDER) "
                  "are found by the startup scan and tracked; an unmarked neighbour in Sent is left "
                  "alone");
  if (fx->c.mail == NULL)
    return;
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  a_uid = lia_test_camel_append (&fx->c, "Archive", m3);
  a_id = id_in ("Archive", a_uid);
  n_uid = lia_test_camel_append (&fx->c, SENT, m5);
  n_id = id_in (SENT, n_uid);
  archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  /* A first run tracks the Archive folder, leaves its watermarks, stops. */
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->c.plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   NULL, NULL, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_close (&fx->c);
  /* No engine, no watch: the marks are property writes on the messages. */
  g_assert_true (fx_open (fx));
  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  write_ok (fx, s_id, &marked);
  write_ok (fx, a_id, &marked);
  lia_test_camel_close (&fx->c);
  /* A new process: the startup scan finds both. */
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  sent = lia_test_camel_host_read_ok (&fx->c, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (sent->props.crm_id);
  rec = crm_email (fx, sent->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<s1@example.org>");
  filed = lia_test_camel_host_read_ok (&fx->c, a_id);
  g_assert_cmpint (filed->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (filed->props.crm_id);
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = crm_email (fx, filed->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m3@example.com>");
  other = lia_test_camel_host_read_ok (&fx->c, n_id);
  g_assert_cmpint (other->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (other->props.crm_id);
}

static void
test_engine_folder_older_moved (Fx *fx, gconstpointer data)
{
  g_autofree char *archive = lia_evo_mail_folder_id (STORE_UID, "Archive");
  g_autofree char *filed_id = NULL;
  g_autofree char *account = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *why = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (CamelFolder) dest = NULL;
  g_autoptr (GPtrArray) uids = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaValue *regarding;
  guint n_notes;

  g_test_summary ("R-MAIL-FOLDER with real Camel: a message dated 2023, older than the mark of the folder "
                  "the user tracks, moved into that maildir folder afterwards (Camel keeps its date) is "
                  "tracked: a CRM email with the folder's regarding, and the reason names the rule");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  /* What Evolution's MailFolderCache hook does for every folder; a message
   * filed there before the folder is tracked proves the watch is
   * connected. */
  lia_evo_mail_watch_folder (fx->c.mail, fx->c.store, "Archive");
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    gboolean seen = FALSE;

    while (!seen && g_get_monotonic_time () < until)
      {
        g_autofree char *u = lia_test_camel_append (&fx->c, "Archive", m5);
        g_autofree char *i = id_in ("Archive", u);

        seen = notes_have (fx, "created", i, archive, 300);
      }
    g_assert_true (seen);
  }
  account = lia_test_camel_crm_account (&fx->c, "Contoso");
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (fx->c.plugin, LIA_EVO_STORE, archive, TRUE,
                                                                   account, "Contoso", &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  dest = lia_test_camel_folder (&fx->c, "Archive");
  g_ptr_array_add (uids, (gpointer) newest_first[3]);
  n_notes = fx->notes->len;
  g_assert_true (camel_folder_transfer_messages_to_sync (inbox, uids, dest, TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_true (camel_folder_synchronize_sync (dest, FALSE, NULL, &error));
  g_assert_no_error (error);
  /* An untracked message moved is a new one to the watch: created in the
   * folder under its new place's id (a maildir transfer does not return
   * the new uid). */
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (filed_id == NULL && g_get_monotonic_time () < until)
      {
        for (guint i = n_notes; i < fx->notes->len && filed_id == NULL; i++)
          {
            g_auto (GStrv) words = g_strsplit (g_ptr_array_index (fx->notes, i), " ", 3);

            if (g_strv_length (words) == 3 && g_str_equal (words[0], "created")
                && g_str_equal (words[2], archive))
              filed_id = g_strdup (words[1]);
          }
        lia_test_iterate_for (50);
      }
    g_assert_nonnull (filed_id);
  }
  /* The notification starts a cycle by itself; a few more at most. */
  for (guint round = 0; round < 10; round++)
    {
      g_clear_pointer (&hi, lia_host_item_free);
      lia_test_iterate_for (300);
      hi = lia_test_camel_host_read_ok (&fx->c, filed_id);
      if (hi->props.link_state == LIA_LINK_STATE_TRACKED)
        break;
      lia_test_camel_engine_sync (&fx->c);
    }
  g_assert_cmpstr (hi->folder, ==, archive);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  rec = crm_email (fx, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==, "<m2@example.net>");
  regarding = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (regarding);
  g_assert_cmpstr (lia_value_get_reference_id (regarding), ==, account);
  g_assert_true (lia_engine_mail_dup_reason (lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin)),
                                             LIA_EVO_STORE, filed_id, &kind, NULL, NULL, &why, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kind, ==, "folder-track");
  g_assert_true (g_str_has_prefix (why, "R-MAIL-FOLDER: arrived in tracked folder"));
}

static void
test_engine_regarding (Fx *fx, gconstpointer data)
{
  g_autofree char *m1_id = id_of (newest_first[4]);
  g_autofree char *m2_id = id_of (newest_first[3]);
  g_autofree char *account = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) h2 = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCrmRecord) rec2 = NULL;
  LiaValue *reg;

  g_test_summary ("R-MARK-REGARDING on a message: Set Regarding on a tracked message links its CRM email to "
                  "the account and shows the account's name on the message; on an untracked one it tracks "
                  "it first; a later sync leaves the regarding as it is (only field synchronized)");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Contoso Caf\xc3\xa9");
  crm_id = track (fx, fx->inbox, m1_id);
  command (fx, LIA_COMMAND_SET_REGARDING, fx->inbox, m1_id, LIA_LINK_STATE_TRACKED, account, "Contoso",
           FALSE);
  lia_test_camel_engine_sync (&fx->c);
  hi = lia_test_camel_host_read_ok (&fx->c, m1_id);
  g_assert_cmpstr (hi->props.regarding_id, ==, account);
  g_assert_cmpstr (hi->props.regarding_name, ==, "Contoso Caf\xc3\xa9");
  reg = lia_item_get (hi->item, "regarding");
  g_assert_nonnull (reg);
  g_assert_cmpint (lia_value_get_reference_entity (reg), ==, LIA_ENTITY_ACCOUNT);
  g_assert_cmpstr (lia_value_get_reference_id (reg), ==, account);
  rec = crm_email (fx, crm_id);
  reg = lia_item_get (lia_crm_record_get_item (rec), "regarding");
  g_assert_nonnull (reg);
  g_assert_cmpstr (lia_value_get_reference_id (reg), ==, account);

  /* Untracked: Set Regarding tracks it with the regarding. */
  command (fx, LIA_COMMAND_SET_REGARDING, fx->inbox, m2_id, LIA_LINK_STATE_NONE, account, "Contoso", FALSE);
  lia_test_camel_engine_sync (&fx->c);
  h2 = lia_test_camel_host_read_ok (&fx->c, m2_id);
  g_assert_cmpint (h2->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (h2->props.regarding_id, ==, account);
  rec2 = crm_email (fx, h2->props.crm_id);
  g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec2), "regarding")),
                   ==, account);
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaCrmRecord) again = crm_email (fx, crm_id);

    g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (again), "regarding")),
                     ==, account);
  }
}

static void
assert_unlinked (Fx *fx, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, item_id);
  g_autofree char *uid = NULL;
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;

  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (hi->props.crm_id);
  g_assert_true (lia_evo_mail_parse_item_id (item_id, &store, &full, &uid));
  f = lia_test_camel_folder (&fx->c, full);
  info = camel_folder_get_message_info (f, uid);
  g_assert_nonnull (info);
  g_assert_false (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
  g_assert_null (camel_message_info_get_user_tag (info, "liaison-item-id"));
}

static void
test_engine_untrack (Fx *fx, gconstpointer data)
{
  g_autofree char *keep_id = id_of (newest_first[4]);
  g_autofree char *drop_id = id_of (newest_first[2]);
  g_autofree char *keep_crm = NULL;
  g_autofree char *drop_crm = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (LiaCrmRecord) gone = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-OUT-EMAIL: untracking a message keeps its CRM email unless the user says to delete "
                  "it; either way the message is kept and carries nothing of ours afterwards");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  keep_crm = track (fx, fx->inbox, keep_id);
  drop_crm = track (fx, fx->inbox, drop_id);
  command (fx, LIA_COMMAND_UNTRACK, fx->inbox, keep_id, LIA_LINK_STATE_TRACKED, NULL, NULL, FALSE);
  command (fx, LIA_COMMAND_UNTRACK, fx->inbox, drop_id, LIA_LINK_STATE_TRACKED, NULL, NULL, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  assert_unlinked (fx, keep_id);
  assert_unlinked (fx, drop_id);
  kept = crm_email (fx, keep_crm);
  g_assert_nonnull (kept);
  gone = crm_get (fx, LIA_ENTITY_EMAIL, drop_crm, &error);
  g_assert_null (gone);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static void
test_engine_host_delete (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[4]);
  g_autofree char *crm_id = NULL;
  g_autoptr (CamelFolder) inbox = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (GError) error = NULL;
  LiaCache *cache;

  g_test_summary ("R-DEL-OUT-EMAIL: deleting a tracked message in the mail client never deletes its CRM "
                  "email; the notification unlinks it in the cache");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, id);
  inbox = lia_test_camel_folder (&fx->c, "Inbox");
  {
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (inbox, newest_first[4]);

    camel_message_info_set_flags (info, CAMEL_MESSAGE_DELETED, CAMEL_MESSAGE_DELETED);
  }
  g_assert_true (camel_folder_expunge_sync (inbox, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (notes_have (fx, "deleted", id, fx->inbox, 10000));
  lia_test_iterate_for (300);
  lia_test_camel_engine_sync (&fx->c);
  kept = crm_email (fx, crm_id);
  g_assert_nonnull (kept);
  cache = lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin));
  g_assert_null (lia_cache_lookup_item (cache, LIA_EVO_STORE, id, NULL));
}

static void
test_engine_crm_delete (Fx *fx, gconstpointer data)
{
  g_autofree char *id = id_of (newest_first[2]);
  g_autofree char *crm_id = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary (
      "R-DEL-IN-EMAIL: a CRM delete of a tracked email unlinks the host message at the next sync; "
      "the message stays");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, id);
  g_assert_true (lia_crm_delete_sync (fx->c.crm, LIA_ENTITY_EMAIL, crm_id, 0, NULL, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  lia_test_camel_engine_sync (&fx->c);
  assert_unlinked (fx, id);
  {
    g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, id);

    g_assert_cmpstr (lia_item_get_text (hi->item, "message-id"), ==, "<m3@example.com>");
  }
}

static void
test_engine_draft_send (Fx *fx, gconstpointer data)
{
  g_autofree char *d_uid = NULL;
  g_autofree char *s_uid = NULL;
  g_autofree char *d_id = NULL;
  g_autofree char *s_id = NULL;
  g_autofree char *account = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) draft = NULL;
  g_autoptr (LiaHostItem) sent = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_SET_REGARDING, LIA_SURFACE_INSPECTOR };
  LiaUiEvent ev = { LIA_PLUGIN_ABI_VERSION, LIA_UI_EVENT_SEND };

  g_test_summary (
      "R-IMM-DRAFT on Camel: Set Regarding on a draft in the Drafts folder (is_draft) never reaches "
      "CRM; when the composer reports the send, the message filed in Sent is tracked with that "
      "regarding (R-IMM-OUTGOING-ASYNC: the send only queues it)");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Northwind");
  d_uid = lia_test_camel_append (&fx->c, DRAFTS, draft1);
  d_id = id_in (DRAFTS, d_uid);
  draft = lia_test_camel_host_read_ok (&fx->c, d_id);
  g_assert_true (draft->is_draft);
  cmd.store = LIA_EVO_STORE;
  cmd.folder = fx->drafts;
  cmd.item_id = d_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.is_draft = TRUE;
  cmd.regarding_id = account;
  cmd.regarding_name = "Northwind";
  g_assert_true (lia_plugin_internal_funcs ()->command (fx->c.plugin, &cmd, &error));
  g_assert_no_error (error);
  lia_test_camel_engine_sync (&fx->c);
  {
    g_autoptr (LiaHostItem) still = lia_test_camel_host_read_ok (&fx->c, d_id);

    g_assert_null (still->props.crm_id);
    g_assert_cmpint (still->props.link_state, <, LIA_LINK_STATE_TRACKED);
  }

  /* Sent: Evolution files the message in Sent and removes the draft. */
  s_uid = lia_test_camel_append (&fx->c, SENT, sent1);
  s_id = id_in (SENT, s_uid);
  ev.store = LIA_EVO_STORE;
  ev.item_id = s_id;
  ev.draft_id = d_id;
  lia_plugin_internal_funcs ()->ui_event (fx->c.plugin, &ev);
  lia_test_iterate_for (300);
  lia_test_camel_engine_sync (&fx->c);
  sent = lia_test_camel_host_read_ok (&fx->c, s_id);
  g_assert_cmpint (sent->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpstr (sent->props.regarding_id, ==, account);
  rec = crm_email (fx, sent->props.crm_id);
  g_assert_cmpstr (lia_value_get_enum (lia_item_get (lia_crm_record_get_item (rec), "direction")), ==,
                   "outgoing");
  g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")), ==,
                   account);
}

/* R-ROLE-EMAIL-UNIFORM: a second client of the same user (its own copy of
 * the mailbox, its own cache) is secondary, and email behaves there as on
 * the primary. */
static void
test_engine_secondary (Fx *fx, gconstpointer data)
{
  g_autofree char *maildir2 = g_build_filename (fx->c.tmp, "Maildir2", NULL);
  g_autofree char *data2 = g_build_filename (fx->c.tmp, "camel-data-2", NULL);
  g_autofree char *cache2 = g_build_filename (fx->c.tmp, "camel-cache-2", NULL);
  g_autofree char *cache_path2 = g_build_filename (fx->c.tmp, "cache-2.db", NULL);
  const char *subdirs[] = { "cur", "new", "tmp" };
  g_autoptr (GError) error = NULL;
  g_autoptr (CamelSession) session2 = NULL;
  g_autoptr (CamelStore) store2 = NULL;
  g_autoptr (LiaEvoHost) host2 = NULL;
  g_autofree char *id2 = lia_evo_mail_item_id ("liaison-test-maildir-2", "Inbox", newest_first[4]);
  g_autofree char *inbox2 = NULL;
  g_autofree char *account = NULL;
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  LiaPlugin *plugin2 = NULL;
  LiaEvoMail *mail2;
  LiaClientRole role = LIA_CLIENT_PRIMARY;
  const LiaCommandKind kinds[] = { LIA_COMMAND_TRACK, LIA_COMMAND_SET_REGARDING, LIA_COMMAND_UNTRACK };

  g_test_summary ("R-ROLE-EMAIL-UNIFORM: on a secondary client of the same user, tracking, Set Regarding and "
                  "untracking (with CRM delete) of a message reach CRM at once, as on the primary");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  account = lia_test_camel_crm_account (&fx->c, "Fabrikam");

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (maildir2, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
  lia_test_maildir_write (maildir2, newest_first[4], m1, -1);
  session2 = lia_evo_mail_session_new (data2, cache2);
  store2 = lia_evo_mail_add_maildir_sync (session2, "liaison-test-maildir-2", maildir2, &error);
  g_assert_no_error (error);
  mail2 = lia_evo_mail_new (store2, ME);
  g_assert_true (lia_evo_mail_resolve_folders_sync (mail2, NULL, &error));
  g_assert_no_error (error);
  host2 = lia_evo_host_new_for_mail (mail2);
  inbox2 = lia_evo_mail_dup_folder (mail2, LIA_EVO_MAIL_INBOX);
  config.cache_path = cache_path2;
  config.crm = fx->c.crm;
  config.org_name = "test-org";
  config.client_name = "me-laptop";
  config.clock = fx->c.clock;
  plugin2 = lia_plugin_internal_funcs ()->load (&config, vt (), host2, &error);
  g_assert_no_error (error);
  for (guint step = 0; step <= G_N_ELEMENTS (kinds); step++)
    {
      LiaEngine *engine = lia_plugin_get_engine (plugin2);
      g_autoptr (GAsyncResult) sres = NULL;

      if (step > 0)
        {
          LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kinds[step - 1], LIA_SURFACE_EXPLORER };

          cmd.store = LIA_EVO_STORE;
          cmd.folder = inbox2;
          cmd.item_id = id2;
          cmd.entity = LIA_ENTITY_EMAIL;
          cmd.link_state = step == 1 ? LIA_LINK_STATE_NONE : LIA_LINK_STATE_TRACKED;
          cmd.regarding_id = account;
          cmd.regarding_name = "Fabrikam";
          cmd.delete_in_crm = kinds[step - 1] == LIA_COMMAND_UNTRACK;
          g_assert_true (lia_plugin_internal_funcs ()->command (plugin2, &cmd, &error));
          g_assert_no_error (error);
          /* The change is queued by the cache's writer thread. */
          lia_test_iterate_for (300);
        }
      lia_engine_sync_async (engine, NULL, lia_test_got_res, &sres);
      lia_test_wait_res (&sres);
      g_assert_true (lia_engine_sync_finish (engine, sres, &error));
      g_assert_no_error (error);
      lia_test_iterate_for (200);
      lia_engine_get_client (engine, &role, NULL);
      g_assert_cmpint (role, ==, LIA_CLIENT_SECONDARY);
      if (step == 1 || step == 2)
        {
          g_autoptr (LiaHostItem) hi = NULL;
          g_autoptr (LiaCrmRecord) rec = NULL;
          g_autoptr (GAsyncResult) rres = NULL;

          vt ()->read_item (host2, LIA_EVO_STORE, id2, NULL, lia_test_got_res, &rres);
          lia_test_wait_res (&rres);
          hi = vt ()->read_item_finish (host2, rres, &error);
          g_assert_no_error (error);
          g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
          rec = crm_email (fx, hi->props.crm_id);
          g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "message-id"), ==,
                           "<m1@example.com>");
          if (step == 2)
            g_assert_cmpstr (
                lia_value_get_reference_id (lia_item_get (lia_crm_record_get_item (rec), "regarding")), ==,
                account);
          g_object_set_data_full (G_OBJECT (store2), "crm-id", g_strdup (hi->props.crm_id), g_free);
        }
    }
  {
    g_autoptr (LiaCrmRecord) gone = lia_crm_retrieve_sync (
        fx->c.crm, LIA_ENTITY_EMAIL, g_object_get_data (G_OBJECT (store2), "crm-id"), NULL, &error);

    g_autoptr (GAsyncResult) rres = NULL;
    g_autoptr (LiaHostItem) hi = NULL;

    g_assert_null (gone);
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
    g_clear_error (&error);
    vt ()->read_item (host2, LIA_EVO_STORE, id2, NULL, lia_test_got_res, &rres);
    lia_test_wait_res (&rres);
    hi = vt ()->read_item_finish (host2, rres, &error);
    g_assert_no_error (error);
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);
    g_assert_null (hi->props.crm_id);
  }
  g_clear_pointer (&plugin2, lia_plugin_internal_funcs ()->unload);
  lia_test_iterate_for (100);
  g_clear_pointer (&host2, lia_evo_host_free);
  camel_session_remove_service (session2, CAMEL_SERVICE (store2));
}

/* Hostile mail, each read by Camel from a real maildir file. */
static char *
huge_message (void)
{
  GString *s = g_string_new ("From: Flood <flood@example.com>\r\nTo: " ME "\r\nSubject: big\r\n"
                             "Message-ID: <big@example.com>\r\n"
                             "Content-Type: text/plain; charset=UTF-8\r\n\r\n");

  /* 10 MB: lines of 76 bytes, a two-byte character straddling the cap. */
  while (s->len < 10 * 1024 * 1024)
    g_string_append (s, "\xc3\xa9"
                        "123456789012345678901234567890123456789012345678901234567890123456789012\r\n");
  return g_string_free (s, FALSE);
}

static void
test_engine_hostile (Fx *fx, gconstpointer data)
{
  static const char injected[] = "From: Eve <eve@example.com>\r\n"
                                 "To: " ME "\r\n"
                                 /* An encoded CR LF that would start a Bcc header. */
                                 "Subject: =?UTF-8?Q?Invoice=0D=0ABcc:_all@example.com?=\r\n"
                                 "Message-ID: <inj@example.com>\r\n"
                                 "\r\n"
                                 "pay\r\n";
  static const char bad_utf8[] = "From: =?UTF-8?B?/w==?= <odd@example.com>\r\n"
                                 "To: " ME "\r\n"
                                 "Subject: caf\xe9 \xff\xfe broken\r\n"
                                 "Message-ID: <utf@example.com>\r\n"
                                 "Content-Type: text/plain; charset=UTF-8\r\n"
                                 "\r\n"
                                 "bytes \xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 end\r\n";
  static const char malformed[] = "From: \"unterminated <bad@example.com\r\n"
                                  "To: ,,, <>, @, a@, \"\" <b@example.com>\r\n"
                                  "Date: yesterday-ish\r\n"
                                  "Message-ID: not-an-id\r\n"
                                  "References: <a@b> garbage <c@d\r\n"
                                  "Content-Type: multipart/mixed; boundary=\r\n"
                                  "\r\n"
                                  "--\r\nbody\r\n";
  static const char no_sender[] = "To: " ME "\r\n"
                                  "Subject: who sent this\r\n"
                                  "\r\n"
                                  "nobody\r\n";
  g_autofree char *huge = huge_message ();
  const char *names[] = { "1700003001.inj.test", "1700003002.utf.test", "1700003003.mal.test",
                          "1700003004.huge.test", "1700003005.nosender.test" };
  const char *texts[] = { injected, bad_utf8, malformed, huge, no_sender };
  g_autoptr (GPtrArray) id_list = g_ptr_array_new_with_free_func (g_free);
  const char *ids[G_N_ELEMENTS (names)] = { NULL };
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GError) error = NULL;
  gboolean reported = FALSE;
  LiaCache *cache;

  g_test_summary ("Hostile mail through the engine (issue 8): a subject smuggling a header line, invalid "
                  "UTF-8, malformed headers and a 10 MB body are tracked with clean single-line text and a "
                  "capped body; a message without a sender is rejected with a clear reason in the outbox; "
                  "nothing crashes and the other messages still track");
  if (fx->c.mail == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      lia_test_maildir_write (fx->c.maildir, names[i], texts[i], -1);
      ids[i] = id_of (names[i]);
      g_ptr_array_add (id_list, (gpointer) ids[i]);
    }
  lia_test_camel_close (&fx->c);
  g_assert_true (fx_open (fx));
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    command (fx, LIA_COMMAND_TRACK, fx->inbox, ids[i], LIA_LINK_STATE_NONE, NULL, NULL, FALSE);
  lia_test_camel_engine_sync (&fx->c);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (LiaHostItem) hi = lia_test_camel_host_read_ok (&fx->c, ids[i]);
      g_autoptr (LiaCrmRecord) rec = NULL;
      const char *subject;
      const char *body;

      g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
      rec = crm_email (fx, hi->props.crm_id);
      subject = lia_item_get_text (lia_crm_record_get_item (rec), "subject");
      body = lia_item_get_text (lia_crm_record_get_item (rec), "body");
      g_assert_true (subject == NULL
                     || (g_utf8_validate (subject, -1, NULL) && strpbrk (subject, "\r\n") == NULL));
      g_assert_true (body == NULL || g_utf8_validate (body, -1, NULL));
      if (i == 0)
        g_assert_cmpstr (subject, ==, "Invoice Bcc: all@example.com");
      if (i == 3)
        {
          g_assert_cmpuint (strlen (body), <=, LIA_EVO_MAIL_BODY_MAX);
          g_assert_cmpuint (strlen (body), >, LIA_EVO_MAIL_BODY_MAX - 100);
        }
    }
  {
    g_autoptr (GError) why = NULL;
    LiaHostItem *none = host_read (fx, ids[4], &why);
    g_autoptr (CamelFolder) f = lia_test_camel_folder (&fx->c, "Inbox");
    g_autoptr (CamelMessageInfo) info = camel_folder_get_message_info (f, names[4]);

    /* Not an email a CRM can hold: read refused with the reason, never
     * linked. */
    g_assert_null (none);
    g_assert_error (why, LIA_ERROR, LIA_ERROR_INVALID);
    g_assert_nonnull (info);
    g_assert_false (camel_message_info_get_user_flag (info, LIA_EVO_MAIL_FLAG_TRACKED));
    g_assert_null (camel_message_info_get_user_tag (info, "liaison-crm-id"));
  }
  cache = lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin));
  /* A slow machine (sanitizers) may queue the last command after the
   * cycle started: give it a few more cycles. */
  for (guint round = 0; round < 5 && !reported; round++)
    {
      g_clear_pointer (&failed, g_ptr_array_unref);
      failed = lia_cache_list_changes (cache, LIA_CACHE_CHANGES_FAILED, 0, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < failed->len; i++)
        {
          const LiaCacheChange *c = g_ptr_array_index (failed, i);

          g_assert_cmpstr (c->item_id, ==, ids[4]);
          g_assert_nonnull (strstr (c->last_error, "no sender"));
          reported = TRUE;
        }
      if (!reported)
        lia_test_camel_engine_sync (&fx->c);
    }
  g_assert_true (reported);
}

static void
test_engine_original_size (Fx *fx, gconstpointer data)
{
  g_autofree char *big_id = id_of (newest_first[1]);
  g_autofree char *crm_id = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *store = NULL;
  g_autofree char *full = NULL;
  g_autofree guchar *xml = NULL;
  gsize xml_len = 0;
  g_autoptr (CamelFolder) f = NULL;
  g_autoptr (CamelMessageInfo) info = NULL;
  g_autoptr (LiaItem) host_original = NULL;
  g_autoptr (LiaItem) cache_original = NULL;
  g_autoptr (LiaCacheOriginal) orig = NULL;
  const char *tag;

  g_test_summary ("R-MAIL-TRACK, R-MAIL-RECIPIENTS, R-MERGE-ORIGINAL in Camel: a tracked message with "
                  "5,000 recipients carries a small original in its folder summary (its user tag holds "
                  "regarding only, under 1 KB) while the cache keeps the full CRM view");
  if (fx->c.mail == NULL)
    return;
  lia_test_camel_engine_start (&fx->c, TRUE);
  lia_test_camel_engine_sync (&fx->c);
  crm_id = track (fx, fx->inbox, big_id);
  g_assert_true (lia_evo_mail_parse_item_id (big_id, &store, &full, &uid));
  f = lia_test_camel_folder (&fx->c, full);
  info = camel_folder_get_message_info (f, uid);
  g_assert_nonnull (info);
  tag = camel_message_info_get_user_tag (info, "liaison-original");
  g_assert_nonnull (tag);
  g_test_message ("liaison-original tag: %" G_GSIZE_FORMAT " bytes", strlen (tag));
  g_assert_cmpuint (strlen (tag), <, 1024);
  xml = g_base64_decode (tag, &xml_len);
  host_original = lia_original_decode ((const char *) xml, xml_len, NULL);
  g_assert_nonnull (host_original);
  g_assert_cmpint (lia_item_get_entity (host_original), ==, LIA_ENTITY_EMAIL);
  g_assert_null (lia_item_get (host_original, "to"));
  g_assert_null (lia_item_get (host_original, "subject"));
  g_assert_null (lia_item_get (host_original, "message-id"));

  orig = lia_cache_load_original (lia_engine_get_cache (lia_plugin_get_engine (fx->c.plugin)), LIA_EVO_STORE,
                                  big_id, NULL);
  g_assert_nonnull (orig);
  g_test_message ("cache original: %" G_GSIZE_FORMAT " bytes", strlen (orig->xml));
  cache_original = lia_original_decode (orig->xml, strlen (orig->xml), NULL);
  g_assert_nonnull (cache_original);
  g_assert_cmpstr (lia_item_get_text (cache_original, "message-id"), ==, "<m4@example.org>");
  g_assert_cmpuint (lia_value_get_n_parties (lia_item_get (cache_original, "to")), ==, 5000);
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
  ADD ("/evolution-mail/host/vtable", test_host_vtable);
  ADD ("/evolution-mail/notify/R-DET-NOTIFY-echo", test_notifications);
  ADD ("/evolution-mail/notify/moved-keeps-id", test_moved);
  ADD ("/evolution-mail/notify/mail-folder-cache-hook", test_watch_folder_hook);
  ADD ("/evolution-mail/engine/R-MAIL-TRACK", test_engine_track);
  ADD ("/evolution-mail/engine/R-MAIL-TRACK-R-MERGE-ORIGINAL-small-host-original", test_engine_original_size);
  ADD ("/evolution-mail/engine/R-DET-SCAN-STARTUP-marked-offline", test_engine_scan_startup);
  ADD ("/evolution-mail/engine/R-DET-SCAN-STARTUP-R-MAIL-FOLDER-marked-offline-sent-and-tracked",
       test_engine_scan_startup_folders);
  ADD ("/evolution-mail/engine/R-MAIL-FOLDER-older-message-moved-in", test_engine_folder_older_moved);
  ADD ("/evolution-mail/engine/R-MARK-REGARDING", test_engine_regarding);
  ADD ("/evolution-mail/engine/R-DEL-OUT-EMAIL-untrack", test_engine_untrack);
  ADD ("/evolution-mail/engine/R-DEL-OUT-EMAIL-host-delete", test_engine_host_delete);
  ADD ("/evolution-mail/engine/R-DEL-IN-EMAIL", test_engine_crm_delete);
  ADD ("/evolution-mail/engine/hostile-mail", test_engine_hostile);
  ADD ("/evolution-mail/engine/R-IMM-DRAFT-send", test_engine_draft_send);
  ADD ("/evolution-mail/engine/R-ROLE-EMAIL-UNIFORM-secondary", test_engine_secondary);
  return g_test_run ();
}
