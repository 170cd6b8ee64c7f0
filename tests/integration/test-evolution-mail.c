/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "lia-evo-mail.h"

/* The mail part of the Evolution adapter against real Camel on a real
 * maildir that each test writes into a fresh temporary directory. Camel's
 * local provider runs in-process: no bus, no daemon, nothing left running.
 * Only the file names' timestamps order the messages (Camel's maildir
 * summary takes the received date from them). */

#define STORE_UID "liaison-test-maildir"
#define ME "me@example.org"

typedef struct
{
  char *tmp;     /* owned: removed at teardown */
  char *maildir; /* owned */
  CamelSession *session;
  CamelStore *store;
  LiaEvoMail *mail;
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

static void
write_message (const char *maildir, const char *name, const char *text, gssize len)
{
  g_autofree char *path = g_build_filename (maildir, "cur", name, NULL);
  g_autofree char *with_flags = g_strconcat (path, ":2,S", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (with_flags, text, len, &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);

  if (dir != NULL)
    {
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

/* Opens (or reopens) the store with a fresh session, as a new process
 * would. FALSE when this machine has no Camel maildir provider. */
static gboolean
fx_open (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_build_filename (fx->tmp, "camel-data", NULL);
  g_autofree char *cache = g_build_filename (fx->tmp, "camel-cache", NULL);

  fx->session = lia_evo_mail_session_new (data, cache);
  fx->store = lia_evo_mail_add_maildir_sync (fx->session, STORE_UID, fx->maildir, &error);
  if (fx->store == NULL)
    {
      g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
      g_test_skip ("no Camel maildir provider (package evolution-data-server)");
      return FALSE;
    }
  fx->mail = lia_evo_mail_new (fx->store, ME, "Sent");
  return TRUE;
}

static void
fx_close (Fx *fx)
{
  g_clear_pointer (&fx->mail, lia_evo_mail_free);
  if (fx->store != NULL)
    camel_session_remove_service (fx->session, CAMEL_SERVICE (fx->store));
  g_clear_object (&fx->store);
  g_clear_object (&fx->session);
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *big = big_recipients_message ();
  const char *subdirs[] = { "cur", "new", "tmp" };

  fx->tmp = g_dir_make_tmp ("liaison-mail-XXXXXX", &error);
  g_assert_no_error (error);
  fx->maildir = g_build_filename (fx->tmp, "Maildir", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (fx->maildir, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0700), ==, 0);
    }
  write_message (fx->maildir, newest_first[4], m1, -1);
  write_message (fx->maildir, newest_first[3], m2, -1);
  write_message (fx->maildir, newest_first[2], m3, -1);
  write_message (fx->maildir, newest_first[1], big, -1);
  write_message (fx->maildir, newest_first[0], m5, -1);
  write_message (fx->maildir, newest_first[5], garbage, sizeof garbage - 1);
  fx_open (fx);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  fx_close (fx);
  remove_tree (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->maildir);
}

static GPtrArray *
contents (Fx *fx, guint offset, guint limit)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (fx->mail, "Inbox", offset, limit, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rows);
  return rows;
}

static char *
id_of (const char *file)
{
  return lia_evo_mail_item_id ("Inbox", file);
}

static LiaHostItem *
read_ok (Fx *fx, const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = id_of (file);
  LiaHostItem *hi = lia_evo_mail_read_item_sync (fx->mail, id, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (hi);
  g_assert_cmpstr (hi->item_id, ==, id);
  g_assert_cmpstr (hi->folder, ==, "Inbox");
  g_assert_cmpstr (hi->store, ==, STORE_UID);
  g_assert_cmpint (lia_item_get_entity (hi->item), ==, LIA_ENTITY_EMAIL);
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
  g_autofree char *id = lia_evo_mail_item_id ("Lists/a b", "12:34/5");
  g_autofree char *folder = NULL;
  g_autofree char *uid = NULL;
  char *untouched = (char *) "x";

  g_test_summary ("Item ids round-trip folder names and uids holding the separator; foreign ids are "
                  "refused and leave the outputs untouched");
  g_assert_true (lia_evo_mail_parse_item_id (id, &folder, &uid));
  g_assert_cmpstr (folder, ==, "Lists/a b");
  g_assert_cmpstr (uid, ==, "12:34/5");
  g_assert_false (lia_evo_mail_parse_item_id ("contact:abc", &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_item_id ("mail:Inbox", &untouched, &untouched));
  g_assert_false (lia_evo_mail_parse_item_id ("mail:/uid", &untouched, &untouched));
  g_assert_cmpstr (untouched, ==, "x");
  g_assert_null (lia_evo_mail_item_id (NULL, "u"));
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
  if (fx->mail == NULL)
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

  none = lia_evo_mail_read_contents_sync (fx->mail, "No such folder", 0, 10, NULL, &error);
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
  if (fx->mail == NULL)
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
  if (fx->mail == NULL)
    return;
  hi = lia_evo_mail_read_item_sync (fx->mail, bad, NULL, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);

  hi = lia_evo_mail_read_item_sync (fx->mail, "mail:Inbox/no-such-uid", NULL, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  hi = lia_evo_mail_read_item_sync (fx->mail, "contact:abc", NULL, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);

  /* Deleted behind Camel's back after the summary knew it. */
  m1_path = g_build_filename (fx->maildir, "cur", newest_first[4], NULL);
  {
    g_autofree char *with_flags = g_strconcat (m1_path, ":2,S", NULL);

    g_assert_cmpint (g_unlink (with_flags), ==, 0);
  }
  hi = lia_evo_mail_read_item_sync (fx->mail, m1_id, NULL, &gone_error);
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

  g_assert_true (lia_evo_mail_write_props_sync (fx->mail, item_id, props, NULL, &error));
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

  g_test_summary ("Track, set regarding and untrack a message (R-MARK-TRACK, R-MARK-REGARDING, "
                  "R-MARK-UNTRACK): link state 1, then 2 with CRM id, org, OriginalXML and regarding, "
                  "then 0 with the mapping gone; each state read back after closing and reopening the "
                  "store, in the item and in the contents table");
  if (fx->mail == NULL)
    return;

  lia_host_props_set (&marked, LIA_HOST_PROP_LINK_STATE, "1");
  write_ok (fx, id, &marked);
  {
    g_autoptr (LiaHostItem) hi = read_ok (fx, newest_first[2]);

    g_assert_true (hi->props.mask & (1u << LIA_HOST_PROP_LINK_STATE));
    g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);
    g_assert_null (hi->props.crm_id);
  }

  lia_host_props_set (&tracked, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
  lia_host_props_set (&tracked, LIA_HOST_PROP_CRM_ORG, "demo-org");
  lia_host_props_set (&tracked, LIA_HOST_PROP_ORIGINAL, original);
  lia_host_props_set (&tracked, LIA_HOST_PROP_REGARDING, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  tracked.regarding_name = g_strdup ("Contoso Caf\xc3\xa9 \xe2\x80\x93 deal");
  write_ok (fx, id, &tracked);

  fx_close (fx);
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

  fx_close (fx);
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
  if (fx->mail == NULL)
    return;
  lia_evo_mail_read_contents_async (fx->mail, "Inbox", 0, 3, NULL, got_result, &a);
  wait_for (&a);
  rows = lia_evo_mail_read_contents_finish (fx->mail, a.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (((LiaHostRow *) g_ptr_array_index (rows, 0))->item_id, ==, id);

  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "1");
  lia_evo_mail_write_props_async (fx->mail, id, &props, NULL, got_result, &b);
  wait_for (&b);
  g_assert_true (lia_evo_mail_write_props_finish (fx->mail, b.result, &error));
  g_assert_no_error (error);

  lia_evo_mail_read_item_async (fx->mail, id, NULL, got_result, &c);
  wait_for (&c);
  hi = lia_evo_mail_read_item_finish (fx->mail, c.result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_MARKED);

  lia_evo_mail_read_item_async (fx->mail, "mail:Inbox/nope", NULL, got_result, &d);
  wait_for (&d);
  none = lia_evo_mail_read_item_finish (fx->mail, d.result, &error);
  g_assert_null (none);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);

  g_object_unref (a.result);
  g_object_unref (b.result);
  g_object_unref (c.result);
  g_object_unref (d.result);
}

int
main (int argc, char **argv)
{
  /* G_TEST_OPTION_ISOLATE_DIRS hides the system data dirs; Camel still
   * reads its GSettings schemas (from memory: nothing reaches the user's
   * dconf). */
  const char *data_dirs = g_getenv ("XDG_DATA_DIRS");
  /* Read from the environment: g_get_system_data_dirs() would cache a
   * list that g_test_init() then drops (a leak LeakSanitizer reports). */
  g_auto (GStrv) dirs = g_strsplit (
      data_dirs != NULL && *data_dirs != '\0' ? data_dirs : "/usr/local/share:/usr/share", ":", -1);

  for (const char *const *d = (const char *const *) dirs; *d != NULL; d++)
    {
      g_autofree char *dir = g_build_filename (*d, "glib-2.0", "schemas", NULL);
      g_autofree char *compiled = g_build_filename (dir, "gschemas.compiled", NULL);

      if (g_file_test (compiled, G_FILE_TEST_EXISTS))
        {
          g_setenv ("GSETTINGS_SCHEMA_DIR", dir, TRUE);
          break;
        }
    }
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/evolution-mail/item-ids", test_item_ids);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution-mail/contents/newest-first", test_contents_order);
  ADD ("/evolution-mail/read/R-MAIL-TRACK-fields", test_read_messages);
  ADD ("/evolution-mail/read/malformed", test_malformed);
  ADD ("/evolution-mail/props/R-MARK-TRACK-R-MARK-UNTRACK-reopen", test_track_untrack);
  ADD ("/evolution-mail/async/main-context", test_async);
  return g_test_run ();
}
