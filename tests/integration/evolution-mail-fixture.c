/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "evolution-mail-fixture.h"

#include <glib/gstdio.h>
#include <string.h>

/* The set-up the test-evolution-mail*.c files share (evolution-mail-fixture.h). */

const char m1[] = "From: Alice Martin <alice@example.com>\r\n"
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

const char m2[] = "From: news@example.net\r\n"
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

const char m3[] = "From: Alice Martin <alice@example.com>\r\n"
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

const char m5[] = "From: " ME "\r\n"
                  "To: alice@example.com\r\n"
                  "Subject: no id\r\n"
                  "Date: Tue, 14 Nov 2023 22:40:00 +0000\r\n"
                  "\r\n"
                  "No Message-ID header here.\r\n";

/* Not a message at all: binary, no header, no sender. */
const char garbage[] = "\x01\x02\xff\xfe\x00garbage\x00\x80\r\n\r\nmore\x00";

/* Newest first: the order the contents table must give. */
const char *const newest_first[] = {
  "1700001500.m5.test", "1700001400.m4.test", "1700001300.m3.test",
  "1700001200.m2.test", "1700001100.m1.test", "1700001000.bad.test",
};

char *
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

const char sent1[] = "From: Me <" ME ">\r\n"
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
const char sent_other[] = "From: Assistant <assistant@example.org>\r\n"
                          "To: carl@example.com\r\n"
                          "Subject: on behalf\r\n"
                          "Date: Tue, 14 Nov 2023 23:10:00 +0000\r\n"
                          "Message-ID: <s2@example.org>\r\n"
                          "\r\n"
                          "Sent for Me.\r\n";

const char draft1[] = "From: " ME "\r\n"
                      "To: dan@example.com\r\n"
                      "Subject: not yet\r\n"
                      "\r\n"
                      "Draft.\r\n";

/* Opens (or reopens) the store with a fresh session, as a new process
 * would, and the mail-only host adapter over it (as Evolution configures a
 * local account: Sent and Drafts by the identity's folder URIs). FALSE
 * when this machine has no Camel maildir provider. */
gboolean
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

void
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

void
fx_teardown (Fx *fx, gconstpointer data)
{
  lia_test_camel_clear (&fx->c);
  g_free (fx->inbox);
  g_free (fx->sent);
  g_free (fx->drafts);
  g_ptr_array_unref (fx->notes);
}

GPtrArray *
contents (Fx *fx, guint offset, guint limit)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *rows = lia_evo_mail_read_contents_sync (fx->c.mail, fx->inbox, offset, limit, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rows);
  return rows;
}

char *
id_in (const char *full_name, const char *uid)
{
  return lia_evo_mail_item_id (STORE_UID, full_name, uid);
}

char *
id_of (const char *file)
{
  return id_in ("Inbox", file);
}

LiaHostItem *
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

LiaHostItem *
read_ok (Fx *fx, const char *file)
{
  g_autofree char *id = id_of (file);
  LiaHostItem *hi = read_id (fx, id);

  g_assert_cmpstr (hi->folder, ==, fx->inbox);
  return hi;
}

void
write_ok (Fx *fx, const char *item_id, const LiaHostProps *props)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_evo_mail_write_props_sync (fx->c.mail, item_id, NULL, props, NULL, &error));
  g_assert_no_error (error);
}

const LiaHostVTable *
vt (void)
{
  return lia_evo_host_get_vtable ();
}

GPtrArray *
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

LiaHostItem *
host_read (Fx *fx, const char *item_id, GError **error)
{
  g_autoptr (GAsyncResult) res = NULL;

  vt ()->read_item (fx->c.host, LIA_EVO_STORE, item_id, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  return vt ()->read_item_finish (fx->c.host, res, error);
}

void
host_write (Fx *fx, const char *item_id, const LiaHostProps *props)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  vt ()->write_item (fx->c.host, LIA_EVO_STORE, item_id, NULL, props, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  g_assert_true (vt ()->write_item_finish (fx->c.host, res, &error));
  g_assert_no_error (error);
}

void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_assert_cmpstr (n->store, ==, LIA_EVO_STORE);
  g_assert_cmpint (n->entity, ==, LIA_ENTITY_EMAIL);
  g_ptr_array_add (fx->notes, g_strdup_printf ("%s %s %s%s%s", lia_host_event_to_string (n->event),
                                               n->item_id, n->folder, n->old_folder != NULL ? " from " : "",
                                               n->old_folder != NULL ? n->old_folder : ""));
}

gboolean
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

guint
notes_about (Fx *fx, const char *item_id)
{
  guint n = 0;

  for (guint i = 0; i < fx->notes->len; i++)
    if (strstr (g_ptr_array_index (fx->notes, i), item_id) != NULL)
      n++;
  return n;
}

void
watch (Fx *fx, LiaEvoNotifyFunc func)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  lia_evo_host_watch_async (fx->c.host, func, fx, NULL, lia_test_got_res, &res);
  lia_test_wait_res (&res);
  g_assert_true (lia_evo_host_watch_finish (fx->c.host, res, &error));
  g_assert_no_error (error);
}
