/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SPEC section 8, the host-neutral part of correlation: subject
 * normalization, tracking tokens, header and address parsing, the index
 * of tracked messages and the auto-track decision (core/lia-mail-correlate.c).
 * R-MAIL-CORRELATE-TOKEN, R-MAIL-CORRELATE-SMART, R-MAIL-AUTO,
 * R-SET-AUTOTRACK, R-MAIL-DL. */

#include <liaison/liaison.h>

#include "lia-mail-correlate.h"

static void
test_normalize_prefixes (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "Quote for May", "quote for may" },
    { "Re: Quote for May", "quote for may" },
    { "RE: RE: re:Quote   for\tMay ", "quote for may" },
    { "Re[2]: Quote for May", "quote for may" },
    { "Re(3): Quote for May", "quote for may" },
    { "Re^4: Quote for May", "quote for may" },
    { "Fwd: Fw: FW: Quote for May", "quote for may" },
    { "AW: WG: Quote for May", "quote for may" },
    { "SV: VS: Antw: Doorst: Quote for May", "quote for may" },
    { "RIF: R: I: TR: Réf: Quote for May", "quote for may" },
    { "Ответ: Quote for May", "quote for may" },
    { "ответ: Quote for May", "quote for may" },
    { "回复：Quote for May", "quote for may" },
    { "转发: 回复: Quote for May", "quote for may" },
    { "RV: ENC: RES: Quote for May", "quote for may" },
    { "Re : Quote for May", "quote for may" },
    /* Not prefixes: words that merely start the subject. */
    { "Reply needed", "reply needed" },
    { "I need the quote", "i need the quote" },
    { "R : D budget", "r : d budget" },
    { "Re", "re" },
    { "Return: of the quote", "return: of the quote" },
    { "", "" },
    { "Re: ", "" },
  };

  g_test_summary ("Reply and forward prefixes of common languages, with counters and repeats, are "
                  "stripped; white space collapses; case folds; words that only look like prefixes stay "
                  "(R-MAIL-CORRELATE-SMART)");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = lia_mail_normalize_subject (cases[i].in, "CRM:");
      g_assert_cmpstr (got, ==, cases[i].out);
    }
}

static void
test_normalize_hostile (void)
{
  g_autofree char *big = g_strnfill (1 << 20, 'x');
  g_autofree char *n1 = lia_mail_normalize_subject ("Re: Bad \xff\xfe bytes", NULL);
  g_autofree char *n2 = lia_mail_normalize_subject (big, "CRM:");
  g_autofree char *n3 = lia_mail_normalize_subject (NULL, NULL);
  g_autofree char *s1 = lia_mail_sanitize_subject ("Hi\r\nBcc: victim@example.org\r\n\r\nbody");
  g_autofree char *s2 = lia_mail_sanitize_subject ("tab\there\x7f\xc2\x85nel");

  g_test_summary ("Invalid UTF-8, a 1 MB subject and header injection never crash and come out "
                  "valid, bounded and on one line");
  g_assert_true (g_utf8_validate (n1, -1, NULL));
  g_assert_true (g_str_has_prefix (n1, "bad "));
  g_assert_cmpuint (strlen (n2), <=, LIA_MAIL_MAX_SUBJECT_BYTES);
  g_assert_cmpstr (n3, ==, "");
  g_assert_null (strchr (s1, '\r'));
  g_assert_null (strchr (s1, '\n'));
  g_assert_cmpstr (s1, ==, "Hi  Bcc: victim@example.org    body");
  g_assert_cmpstr (s2, ==, "tab here  nel");
}

static void
test_token_format (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t1 = lia_mail_token_format ("CRM:", 7, 1001, &error);
  g_autofree char *t2 = NULL;
  g_autofree char *t3 = NULL;

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: the token is the org's prefix and a zero-padded number of "
                  "the org's digits; bad formats and overflow are refused with a reason");
  g_assert_no_error (error);
  g_assert_cmpstr (t1, ==, "CRM:0001001");
  t2 = lia_mail_token_format ("TKT#", 3, 999, &error);
  g_assert_cmpstr (t2, ==, "TKT#999");
  t3 = lia_mail_token_format ("TKT#", 3, 1000, &error);
  g_assert_null (t3);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "3 digits"));
  g_clear_error (&error);
  g_assert_false (lia_mail_token_check_format ("CRM: ", 7, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lia_mail_token_check_format ("CRM:", 0, &error));
  g_clear_error (&error);
  g_assert_false (lia_mail_token_check_format ("", 7, &error));
  g_clear_error (&error);
  g_assert_false (lia_mail_token_check_format ("CRM\r\nBcc:", 7, &error));
}

static void
test_token_find (void)
{
  guint64 number = 0;
  gsize off = 0, len = 0;
  g_autofree char *with = NULL;
  g_autofree char *again = NULL;
  g_autofree char *injected = NULL;

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: a token is found with its exact digit count, not inside "
                  "a word or a longer number; adding one to a subject is idempotent and injection-safe");
  g_assert_true (lia_mail_token_find ("RE: Quote CRM:0001001", "CRM:", 7, &number, &off, &len));
  g_assert_cmpuint (number, ==, 1001);
  g_assert_cmpuint (off, ==, 10);
  g_assert_cmpuint (len, ==, 11);
  g_assert_true (lia_mail_token_find ("crm:0001001 first", "CRM:", 7, &number, NULL, NULL));
  g_assert_false (lia_mail_token_find ("Quote CRM:00010011", "CRM:", 7, NULL, NULL, NULL));
  g_assert_false (lia_mail_token_find ("Quote CRM:000100", "CRM:", 7, NULL, NULL, NULL));
  g_assert_false (lia_mail_token_find ("Quote XCRM:0001001", "CRM:", 7, NULL, NULL, NULL));
  g_assert_false (lia_mail_token_find (NULL, "CRM:", 7, NULL, NULL, NULL));
  g_assert_true (lia_mail_token_find ("[CRM:0001002]", "CRM:", 7, &number, NULL, NULL));
  g_assert_cmpuint (number, ==, 1002);

  with = lia_mail_subject_add_token ("Quote for May", "CRM:0001001", "CRM:", 7);
  g_assert_cmpstr (with, ==, "Quote for May CRM:0001001");
  again = lia_mail_subject_add_token (with, "CRM:0001005", "CRM:", 7);
  g_assert_cmpstr (again, ==, with);
  injected = lia_mail_subject_add_token ("Hi\r\nBcc: x@y", "CRM:0000001", "CRM:", 7);
  g_assert_null (strpbrk (injected, "\r\n"));
}

static void
test_message_ids (void)
{
  g_auto (GStrv) refs = lia_mail_parse_message_ids ("<a@x>  <b@y>\r\n\t<c@z> <bad id@x> <>");
  g_auto (GStrv) bare = lia_mail_parse_message_ids ("d@x");
  g_auto (GStrv) none = lia_mail_parse_message_ids ("no ids here");
  g_autoptr (GString) many = g_string_new (NULL);
  g_auto (GStrv) capped = NULL;
  g_autofree char *one = lia_mail_canonical_message_id ("  <m@x> ");

  g_test_summary ("In-Reply-To and References parse to canonical ids in order, keeping the last 200");
  g_assert_cmpuint (g_strv_length (refs), ==, 3);
  g_assert_cmpstr (refs[0], ==, "a@x");
  g_assert_cmpstr (refs[2], ==, "c@z");
  g_assert_cmpuint (g_strv_length (bare), ==, 1);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_cmpstr (one, ==, "m@x");
  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (many, "<%u@x> ", i);
  capped = lia_mail_parse_message_ids (many->str);
  g_assert_cmpuint (g_strv_length (capped), ==, LIA_MAIL_MAX_REFERENCES);
  g_assert_cmpstr (capped[LIA_MAIL_MAX_REFERENCES - 1], ==, "999@x");
}

static void
test_address_list (void)
{
  g_autoptr (GError) error = NULL;
  guint invalid = 0;
  g_autoptr (GPtrArray) list = lia_mail_parse_address_list (
      "\"Doe, John\" <John.Doe@Example.ORG>, sales@example.org (Sales DL),\r\n "
      "Team: a@x.org, B@X.org; undisclosed-recipients:;, not an address, <@r1,@r2:route@x.org>",
      &invalid, &error);

  g_test_summary ("R-MAIL-DL: an address list parses into plain addresses; a distribution list "
                  "address is kept as one address, groups are flattened, junk is counted");
  g_assert_no_error (error);
  g_assert_nonnull (list);
  g_assert_cmpuint (list->len, ==, 5);
  g_assert_cmpstr (list->pdata[0], ==, "john.doe@example.org");
  g_assert_cmpstr (list->pdata[1], ==, "sales@example.org");
  g_assert_cmpstr (list->pdata[2], ==, "a@x.org");
  g_assert_cmpstr (list->pdata[3], ==, "b@x.org");
  g_assert_cmpstr (list->pdata[4], ==, "route@x.org");
  g_assert_cmpuint (invalid, ==, 1);
}

static void
test_address_list_huge (void)
{
  g_autoptr (GString) ok = g_string_new (NULL);
  g_autoptr (GString) too_many = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) refused = NULL;

  g_test_summary ("5,000 recipients parse; more than the cap is refused with a reason");
  for (guint i = 0; i < 5000; i++)
    g_string_append_printf (ok, "User %u <u%u@example.org>, ", i, i);
  list = lia_mail_parse_address_list (ok->str, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 5000);
  for (guint i = 0; i <= LIA_MAIL_MAX_ADDRESSES; i++)
    g_string_append (too_many, "a@b,");
  refused = lia_mail_parse_address_list (too_many->str, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
}

static const LiaMailCorrelateConfig config = { "CRM:", 7, 2, TRUE, TRUE };

static void
add (LiaMailIndex *index, const char *item, const char *msgid, const char *subject, const char *account,
     const char *const *addresses)
{
  g_autoptr (LiaValue) regarding = lia_value_new_reference (LIA_ENTITY_ACCOUNT, account, account);
  LiaMailTracked t = { msgid, item, NULL, subject, NULL, addresses, regarding };

  lia_mail_index_add (index, &t);
}

static void
test_correlate_reply_header (void)
{
  g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
  const char *const addrs[] = { "me@example.org", "client@example.com", NULL };
  const char *const stranger[] = { "x@y.org", NULL };
  LiaMailIncoming in = { "<r1@client>",       NULL,     "<other@x> <sent-1@example.org>",
                         "Totally different", stranger, TRUE };
  g_auto (LiaMailMatch) m = { 0 };
  g_autofree char *why = NULL;

  g_test_summary ("R-MAIL-CORRELATE-SMART: References naming a tracked Message-ID match first, and "
                  "the match says which rule and which earlier message");
  add (index, "sent-1", "<sent-1@example.org>", "Quote CRM:0001001", "acme", addrs);
  g_assert_true (lia_mail_index_correlate (index, &in, &m));
  g_assert_cmpint (m.rule, ==, LIA_MAIL_RULE_REPLY_HEADER);
  g_assert_cmpstr (m.earlier_message_id, ==, "sent-1@example.org");
  g_assert_cmpstr (m.earlier_item_id, ==, "sent-1");
  g_assert_cmpstr (lia_value_get_reference_id (m.regarding), ==, "acme");
  why = lia_mail_match_describe (&m);
  g_assert_nonnull (strstr (why, "sent-1@example.org"));
  g_assert_true (g_str_has_prefix (why, "R-MAIL-CORRELATE-SMART"));
}

static void
test_correlate_token (void)
{
  g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
  const char *const addrs[] = { "me@example.org", "client@example.com", NULL };
  const char *const stranger[] = { "x@y.org", NULL };
  LiaMailIncoming in = { "<r2@client>", NULL, NULL, "AW: something else CRM:0001001", stranger, TRUE };
  LiaMailIncoming unknown = { "<r3@client>", NULL, NULL, "AW: CRM:0009999", stranger, TRUE };
  g_auto (LiaMailMatch) m = { 0 };
  g_auto (LiaMailMatch) none = { 0 };

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: a received reply carrying a known token correlates with "
                  "the same regarding; an unknown token does not");
  add (index, "sent-1", "<sent-1@example.org>", "Quote CRM:0001001", "acme", addrs);
  g_assert_true (lia_mail_index_correlate (index, &in, &m));
  g_assert_cmpint (m.rule, ==, LIA_MAIL_RULE_TOKEN);
  g_assert_cmpstr (lia_value_get_reference_id (m.regarding), ==, "acme");
  g_assert_false (lia_mail_index_correlate (index, &unknown, &none));
  g_assert_null (none.earlier_item_id);
}

static void
test_correlate_smart (void)
{
  g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
  const char *const addrs[] = { "me@example.org", "Client@Example.com", "boss@example.com", NULL };
  const char *const reply[] = { "client@example.com", "me@example.org", NULL };
  const char *const one_shared[] = { "client@example.com", "other@elsewhere.org", NULL };
  LiaMailIncoming in = { "<r4@client>", NULL, NULL, "RE: Fwd: quote  FOR may", reply, TRUE };
  LiaMailIncoming weak = { "<r5@client>", NULL, NULL, "Re: Quote for May", one_shared, TRUE };
  LiaMailIncoming other_subject = { "<r6@client>", NULL, NULL, "Re: Invoice", reply, TRUE };
  LiaMailIncoming sent = { "<r7@client>", NULL, NULL, "RE: Quote for May", reply, FALSE };
  g_auto (LiaMailMatch) m = { 0 };
  g_auto (LiaMailMatch) none = { 0 };

  g_test_summary ("R-MAIL-CORRELATE-SMART: same normalized subject plus at least the configured "
                  "number of shared addresses correlates; fewer shared addresses, another subject or "
                  "a message outside the Inbox does not");
  add (index, "sent-2", "<sent-2@example.org>", "Quote for May", "acme", addrs);
  g_assert_true (lia_mail_index_correlate (index, &in, &m));
  g_assert_cmpint (m.rule, ==, LIA_MAIL_RULE_SMART);
  g_assert_cmpuint (m.overlap, ==, 2);
  g_assert_false (lia_mail_index_correlate (index, &weak, &none));
  g_assert_false (lia_mail_index_correlate (index, &other_subject, &none));
  g_assert_false (lia_mail_index_correlate (index, &sent, &none));
}

static void
test_correlate_smart_min_configurable (void)
{
  LiaMailCorrelateConfig one = config;
  g_autoptr (LiaMailIndex) index = NULL;
  const char *const addrs[] = { "me@example.org", "client@example.com", NULL };
  const char *const one_shared[] = { "client@example.com", "other@elsewhere.org", NULL };
  LiaMailIncoming weak = { "<r5@client>", NULL, NULL, "Re: Quote for May", one_shared, TRUE };
  g_auto (LiaMailMatch) m = { 0 };

  g_test_summary ("R-MAIL-CORRELATE-SMART: the minimum address overlap is configurable");
  one.smart_min_overlap = 1;
  index = lia_mail_index_new (&one);
  add (index, "sent-2", "<sent-2@example.org>", "Quote for May", "acme", addrs);
  g_assert_true (lia_mail_index_correlate (index, &weak, &m));
  g_assert_cmpuint (m.overlap, ==, 1);
}

static void
test_correlate_order_and_removal (void)
{
  g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
  const char *const addrs[] = { "me@example.org", "client@example.com", NULL };
  LiaMailIncoming in = { "<r8@client>", "<a@example.org>", NULL, "Re: Plan CRM:0000002", addrs, TRUE };
  g_auto (LiaMailMatch) m1 = { 0 };
  g_auto (LiaMailMatch) m2 = { 0 };
  g_auto (LiaMailMatch) m3 = { 0 };
  g_autoptr (LiaValue) moved = lia_value_new_reference (LIA_ENTITY_OPPORTUNITY, "deal", "Deal");

  g_test_summary ("R-MAIL-CORRELATE-SMART, R-MAIL-CORRELATE-TOKEN: headers win over token, token "
                  "over smart match; an untracked message stops correlating; regarding changes are "
                  "inherited");
  add (index, "a", "<a@example.org>", "Plan", "acct-a", addrs);
  add (index, "b", "<b@example.org>", "Other CRM:0000002", "acct-b", addrs);
  add (index, "c", "<c@example.org>", "Plan", "acct-c", addrs);
  g_assert_true (lia_mail_index_correlate (index, &in, &m1));
  g_assert_cmpstr (m1.earlier_item_id, ==, "a");
  g_assert_true (lia_mail_index_remove_item (index, "a"));
  g_assert_false (lia_mail_index_remove_item (index, "a"));
  g_assert_true (lia_mail_index_correlate (index, &in, &m2));
  g_assert_cmpint (m2.rule, ==, LIA_MAIL_RULE_TOKEN);
  g_assert_cmpstr (m2.earlier_item_id, ==, "b");
  g_assert_true (lia_mail_index_remove_item (index, "b"));
  g_assert_true (lia_mail_index_set_regarding (index, "c", moved));
  g_assert_true (lia_mail_index_correlate (index, &in, &m3));
  g_assert_cmpint (m3.rule, ==, LIA_MAIL_RULE_SMART);
  g_assert_cmpstr (lia_value_get_reference_id (m3.regarding), ==, "deal");
  g_assert_cmpuint (lia_mail_index_get_size (index), ==, 1);
}

static void
test_auto_decide (void)
{
  g_autoptr (LiaMailIndex) index = lia_mail_index_new (&config);
  const char *const addrs[] = { "me@example.org", "client@example.com", NULL };
  const char *const stranger[] = { "x@y.org", "me@example.org", NULL };
  LiaMailIncoming reply = { "<r@c>", "<t@example.org>", NULL, "Re: Plan", addrs, TRUE };
  LiaMailIncoming cold = { "<n@c>", NULL, NULL, "Hello", stranger, TRUE };
  LiaMailIncoming cold_sent = { "<n@c>", NULL, NULL, "Hello", stranger, FALSE };
  LiaMailAutoTrack option = LIA_MAIL_AUTO_N;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-AUTO, R-SET-AUTOTRACK: none tracks nothing; response (the default) only "
                  "correlated mail; all everything; crm-contacts mail from contacts, leads and "
                  "accounts; email-enabled from any CRM record; Inbox only");
  add (index, "t", "<t@example.org>", "Plan", "acme", addrs);
  g_assert_cmpint (LIA_MAIL_AUTO_DEFAULT, ==, LIA_MAIL_AUTO_RESPONSE);
  g_assert_true (lia_mail_auto_track_from_string ("crm-contacts", &option, &error));
  g_assert_cmpint (option, ==, LIA_MAIL_AUTO_CRM_CONTACTS);
  g_assert_false (lia_mail_auto_track_from_string ("sometimes", &option, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
  for (guint o = 0; o < LIA_MAIL_AUTO_N; o++)
    {
      g_autoptr (GError) e = NULL;
      LiaMailAutoTrack back = LIA_MAIL_AUTO_N;
      g_assert_true (lia_mail_auto_track_from_string (lia_mail_auto_track_to_string (o), &back, &e));
      g_assert_cmpint (back, ==, o);
    }

  {
    const struct
    {
      LiaMailAutoTrack option;
      const LiaMailIncoming *in;
      LiaMailSenderKind sender;
      gboolean tracked;
      LiaMailRule rule;
    } cases[] = {
      { LIA_MAIL_AUTO_NONE, &reply, LIA_MAIL_SENDER_CONTACT, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_RESPONSE, &reply, LIA_MAIL_SENDER_UNKNOWN, TRUE, LIA_MAIL_RULE_REPLY_HEADER },
      { LIA_MAIL_AUTO_RESPONSE, &cold, LIA_MAIL_SENDER_CONTACT, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_ALL, &cold, LIA_MAIL_SENDER_UNKNOWN, TRUE, LIA_MAIL_RULE_AUTO_ALL },
      { LIA_MAIL_AUTO_ALL, &reply, LIA_MAIL_SENDER_UNKNOWN, TRUE, LIA_MAIL_RULE_REPLY_HEADER },
      { LIA_MAIL_AUTO_ALL, &cold_sent, LIA_MAIL_SENDER_UNKNOWN, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_CRM_CONTACTS, &cold, LIA_MAIL_SENDER_CONTACT, TRUE, LIA_MAIL_RULE_AUTO_CRM_SENDER },
      { LIA_MAIL_AUTO_CRM_CONTACTS, &cold, LIA_MAIL_SENDER_OTHER, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_CRM_CONTACTS, &cold, LIA_MAIL_SENDER_UNKNOWN, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_EMAIL_ENABLED, &cold, LIA_MAIL_SENDER_OTHER, TRUE, LIA_MAIL_RULE_AUTO_EMAIL_ENABLED },
      { LIA_MAIL_AUTO_EMAIL_ENABLED, &cold, LIA_MAIL_SENDER_CONTACT, TRUE, LIA_MAIL_RULE_AUTO_EMAIL_ENABLED },
      { LIA_MAIL_AUTO_EMAIL_ENABLED, &cold, LIA_MAIL_SENDER_UNKNOWN, FALSE, LIA_MAIL_RULE_NONE },
      { LIA_MAIL_AUTO_EMAIL_ENABLED, &cold_sent, LIA_MAIL_SENDER_OTHER, FALSE, LIA_MAIL_RULE_NONE },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_auto (LiaMailMatch) m = { 0 };
        gboolean got = lia_mail_auto_decide (index, cases[i].option, cases[i].in, cases[i].sender, &m);
        g_test_message ("case %u", i);
        g_assert_cmpint (got, ==, cases[i].tracked);
        if (got)
          g_assert_cmpint (m.rule, ==, cases[i].rule);
      }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-SMART/normalize-prefixes", test_normalize_prefixes);
  g_test_add_func ("/mail/hostile/normalize", test_normalize_hostile);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-TOKEN/format", test_token_format);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-TOKEN/find", test_token_find);
  g_test_add_func ("/mail/headers/message-ids", test_message_ids);
  g_test_add_func ("/mail/R-MAIL-DL/address-list", test_address_list);
  g_test_add_func ("/mail/R-MAIL-RECIPIENTS/address-list-huge", test_address_list_huge);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-SMART/reply-header", test_correlate_reply_header);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-TOKEN/correlate", test_correlate_token);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-SMART/smart", test_correlate_smart);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-SMART/min-overlap", test_correlate_smart_min_configurable);
  g_test_add_func ("/mail/R-MAIL-CORRELATE-SMART/order-and-removal", test_correlate_order_and_removal);
  g_test_add_func ("/mail/R-MAIL-AUTO/decide", test_auto_decide);
  return g_test_run ();
}
