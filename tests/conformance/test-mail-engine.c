/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SPEC section 8 end to end: the plugin's code and the test host against
 * the embedded org. Auto-tracking and correlation of received mail
 * (R-MAIL-AUTO, R-SET-AUTOTRACK, R-MAIL-CORRELATE-SMART,
 * R-MAIL-CORRELATE-TOKEN), tagging (R-MAIL-TAGGING, R-SET-TAGGING),
 * folder-level tracking (R-MAIL-FOLDER), bulk tracking (R-MAIL-BULK) and
 * hostile mail. */

#include <signal.h>
#include <sys/prctl.h>

#include "engine-fixture.h"
#include "lia-engine-private.h"
#include "lia-mail-correlate.h"
#include "lia-plugin-mail.h"

static LiaValue *
parties (const char *const *addresses)
{
  LiaParty list[8] = { 0 };
  guint n = 0;

  for (; addresses != NULL && addresses[n] != NULL && n < G_N_ELEMENTS (list); n++)
    {
      list[n].address = addresses[n];
      list[n].entity = LIA_ENTITY_N;
    }
  return lia_value_new_party_list (list, n);
}

static LiaItem *
mail (const char *message_id, const char *in_reply_to, const char *subject, const char *from,
      const char *const *to, gboolean outgoing)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_EMAIL);
  const char *const sender[] = { from, NULL };
  g_autoptr (LiaValue) f = parties (sender);
  g_autoptr (LiaValue) t = parties (to);
  g_autoptr (LiaValue) d = lia_value_new_enum (outgoing ? "outgoing" : "incoming");

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  g_assert_true (lia_item_set_text (item, "message-id", message_id, NULL));
  if (in_reply_to != NULL)
    g_assert_true (lia_item_set_text (item, "in-reply-to", in_reply_to, NULL));
  g_assert_true (lia_item_set (item, "from", f, NULL));
  g_assert_true (lia_item_set (item, "to", t, NULL));
  g_assert_true (lia_item_set (item, "direction", d, NULL));
  return item;
}

static char *
account (Ef *ef, const char *name)
{
  g_autoptr (LiaCrmRecord) a = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (a), "name", name, NULL));
  made = lia_org_service_create (ef->org, ef->alice, a, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static void
command (Ef *ef, LiaCommandKind kind, const char *folder, const char *item_id, const char *regarding_id,
         const char *regarding_name)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;

  cmd.store = LIA_TEST_STORE;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = LIA_ENTITY_EMAIL;
  cmd.regarding_id = regarding_id;
  cmd.regarding_name = regarding_name;
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);
    cmd.link_state = hi->props.link_state;
  }
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
}

/* A sent message tracked by hand with a regarding, synced. */
static char *
sent_tracked (Ef *ef, const char *message_id, const char *subject, const char *const *to, const char *acct)
{
  g_autoptr (LiaItem) m = mail (message_id, NULL, subject, "alice@example.org", to, TRUE);
  char *id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "sent", m, FALSE);
  g_autoptr (LiaHostItem) hi = NULL;

  command (ef, LIA_COMMAND_SET_REGARDING, "sent", id, acct, "Acme");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  return id;
}

static LiaCache *
cache_of (EfClient *client)
{
  return lia_engine_get_cache (lia_plugin_get_engine (client->plugin));
}

static void
set_user (Ef *ef, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_cache_set_setting (cache_of (&ef->a), key, value, &error));
  g_assert_no_error (error);
}

static char *
receive (Ef *ef, const char *folder, const char *message_id, const char *in_reply_to, const char *subject,
         const char *from)
{
  const char *const to[] = { "alice@example.org", NULL };
  g_autoptr (LiaItem) m = mail (message_id, in_reply_to, subject, from, to, FALSE);

  lia_clock_advance (ef->clock, EF_MINUTE);
  return lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, folder, m, FALSE);
}

static LiaLinkState
state_of (Ef *ef, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);

  return hi->props.link_state;
}

static char *
regarding_of (Ef *ef, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);
  LiaValue *r = lia_item_get (hi->item, "regarding");

  g_assert_cmpstr (hi->props.regarding_id, ==, r != NULL ? lia_value_get_reference_id (r) : NULL);
  return g_strdup (hi->props.regarding_id);
}

static char *
reason_of (Ef *ef, const char *item_id)
{
  g_autofree char *kind = NULL;
  char *message = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_engine_mail_dup_reason (cache_of (&ef->a), LIA_TEST_STORE, item_id, &kind, NULL, NULL,
                                             &message, &error));
  g_assert_no_error (error);
  return message;
}

static void
check_cache (Ef *ef)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_cache_check (cache_of (&ef->a), &error));
  g_assert_no_error (error);
}

static void
test_auto_response (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "client@example.com", NULL };
  g_autofree char *acct = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *cold = NULL;
  g_autofree char *in_sent = NULL;
  g_autofree char *smart = NULL;
  g_autofree char *why = NULL;
  g_autofree char *why_smart = NULL;
  g_autofree char *reg = NULL;
  g_autofree char *reg_smart = NULL;

  g_test_summary ("R-MAIL-AUTO, R-SET-AUTOTRACK, R-MAIL-CORRELATE-SMART: with the default option a "
                  "received reply (In-Reply-To, or subject and addresses) to tracked mail is tracked with "
                  "the thread's regarding and records why; unrelated mail and mail outside the Inbox are "
                  "not");
  ef_sync (&ef->a);
  acct = account (ef, "Acme");
  sent = sent_tracked (ef, "<q1@example.org>", "Quote for May", to, acct);
  reply = receive (ef, "inbox", "<r1@example.com>", "<q1@example.org>", "RE: Quote for May",
                   "client@example.com");
  cold = receive (ef, "inbox", "<c1@example.com>", NULL, "Hello there", "stranger@example.net");
  in_sent =
      receive (ef, "sent", "<s2@example.com>", "<q1@example.org>", "RE: Quote for May", "client@example.com");
  smart = receive (ef, "inbox", "<r2@example.com>", NULL, "AW: Fwd: quote for may", "client@example.com");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, reply), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, reply);
  g_assert_cmpstr (reg, ==, acct);
  why = reason_of (ef, reply);
  g_assert_nonnull (why);
  g_assert_nonnull (strstr (why, "q1@example.org"));
  g_assert_true (g_str_has_prefix (why, "R-MAIL-CORRELATE-SMART"));
  /* Stored structured in the cache: rule and earlier message. */
  {
    g_autofree char *kind = NULL, *rule = NULL, *earlier = NULL;
    g_autoptr (GError) error = NULL;
    g_assert_true (lia_engine_mail_dup_reason (cache_of (&ef->a), LIA_TEST_STORE, reply, &kind, &rule,
                                               &earlier, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (kind, ==, "auto-track");
    g_assert_cmpstr (rule, ==, "R-MAIL-CORRELATE-SMART");
    g_assert_cmpstr (earlier, ==, "q1@example.org");
  }
  g_assert_cmpint (state_of (ef, smart), ==, LIA_LINK_STATE_TRACKED);
  reg_smart = regarding_of (ef, smart);
  g_assert_cmpstr (reg_smart, ==, acct);
  why_smart = reason_of (ef, smart);
  g_assert_nonnull (strstr (why_smart, "subject and 2 addresses"));
  g_assert_cmpint (state_of (ef, cold), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, in_sent), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 3);
  check_cache (ef);
}

static void
test_auto_options (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "client@example.com", NULL };
  g_autofree char *acct = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *r_none = NULL;
  g_autofree char *cold_all = NULL;
  g_autofree char *from_contact = NULL;
  g_autofree char *from_stranger = NULL;
  g_autofree char *from_user = NULL;
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-SET-AUTOTRACK, R-MAIL-AUTO: none tracks no reply; all tracks any Inbox mail; "
                  "crm-contacts tracks mail from a CRM contact only; email-enabled also from a CRM user");
  ef_sync (&ef->a);
  acct = account (ef, "Acme");
  sent = sent_tracked (ef, "<q1@example.org>", "Quote for May", to, acct);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  r_none = receive (ef, "inbox", "<r1@example.com>", "<q1@example.org>", "RE: Quote", "client@example.com");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, r_none), ==, LIA_LINK_STATE_NONE);

  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "all");
  cold_all = receive (ef, "inbox", "<c1@example.com>", NULL, "Newsletter", "news@example.net");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, cold_all), ==, LIA_LINK_STATE_TRACKED);
  why = reason_of (ef, cold_all);
  g_assert_true (g_str_has_prefix (why, "R-MAIL-AUTO"));

  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "crm-contacts");
  {
    g_autoptr (LiaCrmRecord) c = ef_contact ("Carl", "Client");
    g_autoptr (LiaCrmRecord) made = NULL;
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (c), "email-1", "carl@client.example", NULL));
    made = lia_org_service_create (ef->org, ef->alice, c, NULL, &error);
    g_assert_no_error (error);
  }
  from_contact = receive (ef, "inbox", "<k1@client.example>", NULL, "Order", "Carl@Client.example");
  from_stranger = receive (ef, "inbox", "<k2@x.example>", NULL, "Order", "nobody@x.example");
  from_user = receive (ef, "inbox", "<k3@example.org>", NULL, "Lunch?", "bob@example.org");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, from_contact), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (state_of (ef, from_stranger), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, from_user), ==, LIA_LINK_STATE_NONE);

  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "email-enabled");
  {
    g_autofree char *from_user2 =
        receive (ef, "inbox", "<k4@example.org>", NULL, "Lunch!", "bob@example.org");
    ef_sync (&ef->a);
    g_assert_cmpint (state_of (ef, from_user2), ==, LIA_LINK_STATE_TRACKED);
  }
  check_cache (ef);
}

static void
test_token (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "client@example.com", NULL };
  g_autofree char *acct = NULL;
  g_autofree char *token = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *why = NULL;
  g_autofree char *reg = NULL;
  guint64 number = 0;

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: the engine keeps org tokens for tracked outgoing subjects; "
                  "a reply under another subject, without In-Reply-To, from another address, carrying "
                  "the token is tracked with the same regarding");
  ef_sync (&ef->a);
  token = lia_engine_mail_take_token (lia_plugin_get_engine (ef->a.plugin));
  g_assert_nonnull (token);
  g_assert_true (lia_mail_token_find (token, "CRM:", 7, &number, NULL, NULL));
  g_assert_cmpuint (number, >=, 1001);
  acct = account (ef, "Acme");
  subject = lia_mail_subject_add_token ("Quote for May", token, "CRM:", 7);
  sent = sent_tracked (ef, "<q1@example.org>", subject, to, acct);
  {
    g_autofree char *re = g_strdup_printf ("Totally new subject %s", token);
    reply = receive (ef, "inbox", "<r9@elsewhere.example>", NULL, re, "someone@elsewhere.example");
  }
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, reply), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, reply);
  g_assert_cmpstr (reg, ==, acct);
  why = reason_of (ef, reply);
  g_assert_true (g_str_has_prefix (why, "R-MAIL-CORRELATE-TOKEN"));
}

static void
test_tagging (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "bob@example.org", NULL };
  g_autofree char *acct_a = NULL;
  g_autofree char *acct_b = NULL;
  g_autofree char *acct_c = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *after = NULL;
  g_autofree char *off = NULL;
  g_autofree char *forced = NULL;
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrm) bob = lia_crm_embedded_new_for_service (ef->org, ef->bob_token);
  g_autoptr (LiaCrm) root = NULL;

  g_test_summary ("R-MAIL-TAGGING, R-SET-TAGGING: another user tracking the same message with another "
                  "regarding changes the regarding shown on the host at the next cycle; with the user's "
                  "switch off it does not, unless the org overrides it on");
  ef_sync (&ef->a);
  acct_a = account (ef, "Record A");
  acct_b = account (ef, "Record B");
  acct_c = account (ef, "Record C");
  sent = sent_tracked (ef, "<t1@example.org>", "Plan", to, acct_a);
  {
    g_autoptr (LiaItem) m = mail ("<t1@example.org>", NULL, "Plan", "alice@example.org", to, FALSE);
    g_autoptr (LiaCrmRecord) rec = lia_crm_record_new_for_item (m);
    g_autoptr (LiaValue) b = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_b, "Record B");
    g_autoptr (LiaCrmRecord) made = NULL;
    g_assert_true (lia_item_set (lia_crm_record_get_item (rec), "regarding", b, NULL));
    made = lia_crm_create_sync (bob, rec, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  ef_sync (&ef->a);
  after = regarding_of (ef, sent);
  g_assert_cmpstr (after, ==, acct_b);
  why = reason_of (ef, sent);
  g_assert_null (why); /* tracked by hand: no auto-track reason */

  set_user (ef, LIA_ENGINE_SETTING_TAGGING, "off");
  {
    g_autoptr (LiaItem) m = mail ("<t1@example.org>", NULL, "Plan", "alice@example.org", to, FALSE);
    g_autoptr (LiaCrmRecord) rec = lia_crm_record_new_for_item (m);
    g_autoptr (LiaValue) cv = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_c, "Record C");
    g_autoptr (LiaCrmRecord) made = NULL;
    g_assert_true (lia_item_set (lia_crm_record_get_item (rec), "regarding", cv, NULL));
    made = lia_crm_create_sync (bob, rec, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  ef_sync (&ef->a);
  off = regarding_of (ef, sent);
  g_assert_cmpstr (off, ==, acct_b);
  /* The org override wins over the user's switch; the poll resumes from
   * where it stopped, so the change made while off arrives too. */
  {
    g_autofree char *root_token = NULL;
    g_assert_true (lia_org_service_add_user (ef->org, "root", "root@example.org", TRUE, &root_token, &error));
    root = lia_crm_embedded_new_for_service (ef->org, root_token);
    g_assert_true (lia_crm_set_setting_sync (root, "tagging-override", "on", NULL, &error));
    g_assert_no_error (error);
  }
  lia_cache_set_watermark (cache_of (&ef->a), LIA_ENGINE_WATERMARK_TAGGING, "0", NULL);
  ef_sync (&ef->a);
  forced = regarding_of (ef, sent);
  g_assert_cmpstr (forced, ==, acct_c);
  /* After a restart the index is rebuilt from the cache's originals (no
   * host reads), and a reply inherits the regarding the thread shows now,
   * not the one it was tracked with. */
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  {
    g_autofree char *reply =
        receive (ef, "inbox", "<t2@example.org>", "<t1@example.org>", "Re: Plan", "bob@example.org");
    g_autofree char *reg = NULL;
    ef_sync (&ef->a);
    g_assert_cmpint (state_of (ef, reply), ==, LIA_LINK_STATE_TRACKED);
    reg = regarding_of (ef, reply);
    g_assert_cmpstr (reg, ==, acct_c);
  }
  check_cache (ef);
}

static void
test_folder (Ef *ef, gconstpointer data)
{
  g_autofree char *acct = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *filtered = NULL;
  g_autofree char *before = NULL;
  g_autofree char *elsewhere = NULL;
  g_autofree char *reg = NULL;
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);

  g_test_summary ("R-MAIL-FOLDER: a folder marked tracked with a regarding tracks mail moved or filtered "
                  "into it afterwards, with that regarding; mail already there and mail of other folders "
                  "stay untracked; another store's folder cannot be tracked");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  acct = account (ef, "Project X");
  before = receive (ef, "project-x", "<b1@example.com>", NULL, "Old", "a@example.com");
  g_assert_false (lia_engine_mail_set_folder (engine, LIA_TEST_STORE_OTHER, "x", TRUE, NULL, NULL, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (
      lia_engine_mail_set_folder (engine, LIA_TEST_STORE, "project-x", TRUE, acct, "Project X", &error));
  g_assert_no_error (error);
  g_assert_true (lia_engine_mail_folder_is_tracked (engine, LIA_TEST_STORE, "project-x"));
  moved = receive (ef, "inbox", "<m1@example.com>", NULL, "Specs", "a@example.com");
  elsewhere = receive (ef, "inbox", "<m2@example.com>", NULL, "Other", "a@example.com");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_move (ef->a.host, moved, LIA_TEST_STORE, "project-x"));
  filtered = receive (ef, "project-x", "<m3@example.com>", NULL, "Filtered", "b@example.com");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, moved), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (state_of (ef, filtered), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, moved);
  g_assert_cmpstr (reg, ==, acct);
  why = reason_of (ef, filtered);
  g_assert_true (g_str_has_prefix (why, "R-MAIL-FOLDER"));
  /* Untracking the message drops its reason with its mapping. */
  command (ef, LIA_COMMAND_UNTRACK, "project-x", filtered, NULL, NULL);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, filtered), ==, LIA_LINK_STATE_NONE);
  {
    g_autofree char *gone = reason_of (ef, filtered);
    g_assert_null (gone);
  }
  /* The untrack's own write makes the message look new to the folder's
   * scan: automatic tracking never undoes a user's untrack. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, filtered), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, before), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, elsewhere), ==, LIA_LINK_STATE_NONE);
  /* Mail filtered into the folder starts a cycle by itself: no Synchronize
   * Now, the notification is enough. */
  {
    g_autofree char *arrived = receive (ef, "project-x", "<m5@example.com>", NULL, "Pushed", "c@example.com");
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (state_of (ef, arrived) != LIA_LINK_STATE_TRACKED && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpint (state_of (ef, arrived), ==, LIA_LINK_STATE_TRACKED);
  }
  /* Untracking the folder stops it; survives a restart otherwise. */
  g_assert_true (lia_engine_mail_set_folder (engine, LIA_TEST_STORE, "project-x", FALSE, NULL, NULL, &error));
  {
    g_autofree char *later = receive (ef, "project-x", "<m4@example.com>", NULL, "Later", "b@example.com");
    ef_sync (&ef->a);
    g_assert_cmpint (state_of (ef, later), ==, LIA_LINK_STATE_NONE);
  }
  check_cache (ef);
}

/* Turns the main context until @item_id's link state is @state or ten
 * seconds passed (the notification's own cycle runs on it). */
static LiaLinkState
wait_state (Ef *ef, const char *item_id, LiaLinkState state)
{
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (state_of (ef, item_id) != state && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  return state_of (ef, item_id);
}

/* Asserts @item_id is tracked regarding @acct, for R-MAIL-FOLDER. */
static void
assert_folder_tracked (Ef *ef, const char *item_id, const char *acct)
{
  g_autofree char *reg = NULL;
  g_autofree char *why = NULL;

  g_assert_cmpint (state_of (ef, item_id), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, item_id);
  g_assert_cmpstr (reg, ==, acct);
  why = reason_of (ef, item_id);
  g_assert_nonnull (why);
  g_assert_true (g_str_has_prefix (why, "R-MAIL-FOLDER: arrived in tracked folder \"project-y\""));
}

/* Whether the arrival of @item_id is still noted for the folder phase. */
static gboolean
arrival_noted (Ef *ef, const char *item_id)
{
  g_autofree char *key = g_strdup_printf ("mail-arrival:%s\t%s", LIA_TEST_STORE, item_id);
  g_autofree char *value = lia_cache_dup_watermark (cache_of (&ef->a), key, NULL);

  return value != NULL;
}

/* Cycles until the folder phase decided the arrival of @item_id (its note
 * is written asynchronously, then dropped by the phase). */
static void
sync_until_decided (Ef *ef, const char *item_id)
{
  for (guint i = 0; i < 50 && arrival_noted (ef, item_id); i++)
    {
      g_usleep (10000);
      ef_iterate ();
      ef_sync (&ef->a);
    }
  g_assert_false (arrival_noted (ef, item_id));
}

static void
test_folder_older (Ef *ef, gconstpointer data)
{
  g_autofree char *acct = NULL;
  g_autofree char *old_a = NULL;
  g_autofree char *old_b = NULL;
  g_autofree char *old_c = NULL;
  g_autofree char *old_d = NULL;
  g_autofree char *old_g = NULL;
  g_autofree char *untracked = NULL;
  g_autofree char *draft = NULL;
  g_autofree char *linked = NULL;
  g_autofree char *moved_a = NULL;
  g_autofree char *moved_b = NULL;
  g_autofree char *moved_c = NULL;
  g_autofree char *moved_d = NULL;
  g_autofree char *moved_draft = NULL;
  g_autoptr (GError) error = NULL;
  LiaEngine *engine = lia_plugin_get_engine (ef->a.plugin);

  g_test_summary ("R-MAIL-FOLDER: mail dated before the folder was marked and moved into it afterwards "
                  "(as IMAP, Maildir and MAPI keep a message's date) is tracked with the folder's "
                  "regarding, whether the client reports a move or a delete and a create; also when the "
                  "org is down at the move (tracked once it is back) and across a restart between the "
                  "move and the cycle, even before the first cycle read the tracked folders; a draft, a "
                  "message the user untracked and a message already linked are left alone");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  acct = account (ef, "Project Y");
  /* Mail received long before the folder is marked. */
  old_a = receive (ef, "inbox", "<o1@example.com>", NULL, "Old A", "a@example.com");
  old_b = receive (ef, "inbox", "<o2@example.com>", NULL, "Old B", "a@example.com");
  old_c = receive (ef, "inbox", "<o3@example.com>", NULL, "Old C", "a@example.com");
  old_d = receive (ef, "inbox", "<o4@example.com>", NULL, "Old D", "a@example.com");
  untracked = receive (ef, "inbox", "<o5@example.com>", NULL, "Old E", "a@example.com");
  old_g = receive (ef, "inbox", "<o7@example.com>", NULL, "Old G", "a@example.com");
  {
    const char *const to[] = { "client@example.com", NULL };
    g_autoptr (LiaItem) m = mail ("<d1@example.org>", NULL, "Draft", "alice@example.org", to, TRUE);
    draft = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "drafts", m, TRUE);
  }
  linked = receive (ef, "inbox", "<o6@example.com>", NULL, "Old F", "a@example.com");
  command (ef, LIA_COMMAND_TRACK, "inbox", linked, NULL, NULL);
  command (ef, LIA_COMMAND_TRACK, "inbox", untracked, NULL, NULL);
  ef_wait_queued (&ef->a, 2);
  ef_sync (&ef->a);
  command (ef, LIA_COMMAND_UNTRACK, "inbox", untracked, NULL, NULL);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, linked), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (state_of (ef, untracked), ==, LIA_LINK_STATE_NONE);
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);
  g_assert_true (
      lia_engine_mail_set_folder (engine, LIA_TEST_STORE, "project-y", TRUE, acct, "Project Y", &error));
  g_assert_no_error (error);
  lia_clock_advance (ef->clock, EF_MINUTE);

  /* A move the client reports, to a place with its own ids: the message
   * keeps its date, older than the folder's mark. */
  moved_a = lia_test_host_user_move_new_id (ef->a.host, old_a, LIA_TEST_STORE, "project-y", TRUE);
  g_assert_cmpint (wait_state (ef, moved_a, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
  /* A client that reports a delete and a create. */
  moved_b = lia_test_host_user_move_new_id (ef->a.host, old_b, LIA_TEST_STORE, "project-y", FALSE);
  g_assert_cmpint (wait_state (ef, moved_b, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
  /* Left alone: the user's untrack, a draft, a linked message (its link
   * and regarding stay as they were). */
  g_assert_true (lia_test_host_user_move (ef->a.host, untracked, LIA_TEST_STORE, "project-y"));
  moved_draft = lia_test_host_user_move_new_id (ef->a.host, draft, LIA_TEST_STORE, "project-y", TRUE);
  g_assert_true (lia_test_host_user_move (ef->a.host, linked, LIA_TEST_STORE, "project-y"));
  ef_iterate ();
  ef_sync (&ef->a);
  sync_until_decided (ef, untracked);
  sync_until_decided (ef, moved_draft);
  assert_folder_tracked (ef, moved_a, acct);
  assert_folder_tracked (ef, moved_b, acct);
  g_assert_cmpint (state_of (ef, untracked), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, moved_draft), ==, LIA_LINK_STATE_NONE);
  g_assert_cmpint (state_of (ef, linked), ==, LIA_LINK_STATE_TRACKED);
  {
    g_autofree char *reg = regarding_of (ef, linked);
    g_autofree char *why = reason_of (ef, linked);
    g_assert_null (reg);
    g_assert_null (why);
  }

  /* The org is down at the move: tracked once it is back. */
  switch_crm_set_down (ef->a.crm, TRUE);
  moved_c = lia_test_host_user_move_new_id (ef->a.host, old_c, LIA_TEST_STORE, "project-y", TRUE);
  (void) ef_try_sync (&ef->a, NULL);
  g_assert_cmpint (state_of (ef, moved_c), ==, LIA_LINK_STATE_NONE);
  {
    gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (!arrival_noted (ef, moved_c) && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    g_assert_true (arrival_noted (ef, moved_c));
  }
  switch_crm_set_down (ef->a.crm, FALSE);
  ef_sync (&ef->a);
  g_assert_cmpint (wait_state (ef, moved_c, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
  assert_folder_tracked (ef, moved_c, acct);

  /* Killed between the move and the cycle that would track it (the org
   * down until then), then a second older message moved in after the
   * restart, before the first cycle read the tracked folders. */
  switch_crm_set_down (ef->a.crm, TRUE);
  moved_d = lia_test_host_user_move_new_id (ef->a.host, old_d, LIA_TEST_STORE, "project-y", TRUE);
  ef_iterate ();
  g_assert_cmpint (state_of (ef, moved_d), ==, LIA_LINK_STATE_NONE);
  /* Killed at once: the note may still be with the cache's writer, which
   * drains it before the cache closes. */
  ef_client_stop (&ef->a);
  ef->a.manual = TRUE;
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  engine = lia_plugin_get_engine (ef->a.plugin);
  g_assert_false (lia_engine_mail_folder_is_tracked (engine, LIA_TEST_STORE, "project-y"));
  {
    g_autofree char *moved_g = NULL;

    moved_g = lia_test_host_user_move_new_id (ef->a.host, old_g, LIA_TEST_STORE, "project-y", TRUE);
    g_assert_cmpint (wait_state (ef, moved_g, LIA_LINK_STATE_TRACKED), ==, LIA_LINK_STATE_TRACKED);
    ef_sync (&ef->a);
    assert_folder_tracked (ef, moved_d, acct);
    assert_folder_tracked (ef, moved_g, acct);
  }
  /* Each arrival made one CRM email; the notes are gone. */
  ef_sync (&ef->a);
  {
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, moved_a);
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, hi->props.crm_id);
    g_autofree char *note = g_strdup_printf ("mail-arrival:%s\t%s", LIA_TEST_STORE, moved_a);
    g_autofree char *left = lia_cache_dup_watermark (cache_of (&ef->a), note, NULL);
    g_assert_nonnull (rec);
    g_assert_null (left);
  }
  check_cache (ef);
}

static void
test_hostile (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "client@example.com", NULL };
  g_autoptr (LiaItem) big = mail ("<big@example.org>", "<not closed", "Hi\r\nBcc: victim@example.org",
                                  "alice@example.org", to, FALSE);
  g_autofree char *body = g_strnfill (10 * 1024 * 1024, 'x');
  g_autofree char *item_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;

  g_test_summary ("Hostile mail: a 10 MB body, a malformed In-Reply-To and a header injection attempt "
                  "in the subject are tracked as data (the subject stays one CRM field), the cache "
                  "stays sound, correlation does not trip");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "all");
  g_assert_true (lia_item_set_text (big, "body", body, NULL));
  item_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "inbox", big, FALSE);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, hi->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "subject"), ==,
                   "Hi\r\nBcc: victim@example.org");
  check_cache (ef);
}

static void
test_bulk (Ef *ef, gconstpointer data)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) results = NULL;
  g_autoptr (GError) error = NULL;
  const guint n = 200;
  guint marked = 0;

  g_test_summary ("R-MAIL-BULK: tracking 200 selected messages marks them all at once, queues the work "
                  "in the background, survives a restart before CRM saw any, ends with one CRM email "
                  "each and a per-message result; bulk untrack is refused");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<bulk%u@example.com>", i);
      g_autofree char *subject = g_strdup_printf ("Order %u", i);
      g_ptr_array_add (ids, receive (ef, "inbox", msgid, NULL, subject, "shop@example.com"));
    }
  g_ptr_array_add (ids, NULL);
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "inbox";
  cmd.entity = LIA_ENTITY_EMAIL;
  /* No bulk untrack. */
  cmd.kind = LIA_COMMAND_UNTRACK;
  g_assert_false (lia_plugin_internal_funcs ()->track_many (ef->a.plugin, &cmd,
                                                            (const char *const *) ids->pdata, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_clear_error (&error);
  cmd.kind = LIA_COMMAND_TRACK;
  g_assert_true (lia_plugin_internal_funcs ()->track_many (ef->a.plugin, &cmd,
                                                           (const char *const *) ids->pdata, &error));
  g_assert_no_error (error);
  /* Marked at once: the host writes are already posted. */
  ef_iterate ();
  for (guint i = 0; i < n; i++)
    marked += state_of (ef, ids->pdata[i]) >= LIA_LINK_STATE_MARKED ? 1 : 0;
  g_assert_cmpuint (marked, ==, n);
  while (lia_engine_mail_bulk_pending (lia_plugin_get_engine (ef->a.plugin)) > 0)
    g_main_context_iteration (NULL, TRUE);
  /* Killed and restarted before the cycle ran: the queue is durable. */
  ef_client_stop (&ef->a);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  results = lia_engine_mail_bulk_results (lia_plugin_get_engine (ef->a.plugin), LIA_TEST_STORE,
                                          (const char *const *) ids->pdata, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      const LiaBulkResult *r = results->pdata[i];
      g_assert_cmpint (r->state, ==, LIA_BULK_TRACKED);
      g_assert_nonnull (r->message);
      g_assert_cmpint (state_of (ef, ids->pdata[i]), ==, LIA_LINK_STATE_TRACKED);
    }
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, n);
  {
    g_autofree char *one =
        lia_plugin_internal_funcs ()->dup_track_result (ef->a.plugin, LIA_TEST_STORE, ids->pdata[0], &error);
    g_autofree char *why =
        lia_plugin_internal_funcs ()->dup_track_reason (ef->a.plugin, LIA_TEST_STORE, ids->pdata[0], &error);
    g_assert_true (g_str_has_prefix (one, "tracked: "));
    g_assert_true (g_str_has_prefix (why, "R-MAIL-BULK"));
  }
  check_cache (ef);
}

static void
test_bulk_pages_lost_org (Ef *ef, gconstpointer data)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const guint n = 700; /* three pages of 256 */
  guint tracked = 0, marked = 0;

  g_test_summary ("R-MAIL-BULK, R-IMM-FALLBACK: a bulk of three pages (the pages overlap: one read while "
                  "the one before is linked) whose org connection is lost in the second page: every "
                  "message CRM linked is linked on the host and in the cache alike, the rest stays marked "
                  "and queued, and once the org is back each message has exactly one CRM email");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<pages%u@example.com>", i);
      g_autofree char *subject = g_strdup_printf ("Invoice %u", i);
      g_ptr_array_add (ids, receive (ef, "inbox", msgid, NULL, subject, "shop@example.com"));
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
  /* Two org calls a message (create, track) and a few before the bulk:
   * the connection drops around the 340th message. */
  switch_crm_set_down_after (ef->a.crm, 680);
  g_assert_false (ef_try_sync (&ef->a, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (LiaCacheMapping) m =
          lia_cache_lookup_item (cache_of (&ef->a), LIA_TEST_STORE, ids->pdata[i], NULL);
      LiaLinkState host = state_of (ef, ids->pdata[i]);
      gboolean in_cache = m != NULL && m->state == LIA_LINK_STATE_TRACKED;

      /* Host first, cache second, page by page: no message is linked on
       * one side only. */
      g_assert_cmpint (in_cache, ==, host == LIA_LINK_STATE_TRACKED);
      tracked += in_cache ? 1 : 0;
      marked += host == LIA_LINK_STATE_MARKED ? 1 : 0;
    }
  g_assert_cmpuint (tracked, >, 256);
  g_assert_cmpuint (tracked, <, 512);
  g_assert_cmpuint (tracked + marked, ==, n);
  check_cache (ef);
  switch_crm_set_down (ef->a.crm, FALSE);
  for (guint i = 0; i < 5 && tracked < n; i++)
    {
      g_autoptr (GPtrArray) results = NULL;
      ef_sync (&ef->a);
      results = lia_engine_mail_bulk_results (lia_plugin_get_engine (ef->a.plugin), LIA_TEST_STORE,
                                              (const char *const *) ids->pdata, &error);
      g_assert_no_error (error);
      tracked = 0;
      for (guint j = 0; j < results->len; j++)
        tracked += ((LiaBulkResult *) results->pdata[j])->state == LIA_BULK_TRACKED ? 1 : 0;
      /* A failed message waits for its backoff: let the clock pass it. */
      if (tracked < n)
        lia_clock_advance (ef->clock, 10 * G_USEC_PER_SEC * 60);
    }
  g_assert_cmpuint (tracked, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (state_of (ef, ids->pdata[i]), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, n);
  check_cache (ef);
}

static void
test_bulk_failure (Ef *ef, gconstpointer data)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_SET_REGARDING, LIA_SURFACE_EXPLORER };
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *ra = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-BULK: each message has its own result: a bulk Set Regarding to a record that "
                  "does not exist reports the reason per message and keeps the change for a retry");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  a = receive (ef, "inbox", "<f1@example.com>", NULL, "One", "shop@example.com");
  b = receive (ef, "inbox", "<f2@example.com>", NULL, "Two", "shop@example.com");
  {
    const char *ids[] = { a, b, NULL };
    cmd.store = LIA_TEST_STORE;
    cmd.folder = "inbox";
    cmd.entity = LIA_ENTITY_EMAIL;
    cmd.regarding_id = "00000000-0000-4000-8000-00000000dead";
    cmd.regarding_name = "Gone";
    g_assert_true (lia_plugin_internal_funcs ()->track_many (ef->a.plugin, &cmd, ids, &error));
    g_assert_no_error (error);
  }
  while (lia_engine_mail_bulk_pending (lia_plugin_get_engine (ef->a.plugin)) > 0)
    g_main_context_iteration (NULL, TRUE);
  ef_sync (&ef->a);
  ra = lia_plugin_internal_funcs ()->dup_track_result (ef->a.plugin, LIA_TEST_STORE, a, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (ra, "failed: "));
  g_assert_nonnull (strstr (ra, "does not exist"));
  {
    const char *other[] = { LIA_TEST_STORE, NULL };
    cmd.kind = LIA_COMMAND_TRACK;
    cmd.store = LIA_TEST_STORE_OTHER;
    g_assert_false (lia_plugin_internal_funcs ()->track_many (ef->a.plugin, &cmd, other, &error));
    g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  }
  check_cache (ef);
}

static void
test_send_subject (Ef *ef, gconstpointer data)
{
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;

  g_test_summary ("R-MAIL-CORRELATE-TOKEN: a tracked outgoing message is sent with a fresh org token in "
                  "its subject; each send gets its own; header injection is removed");
  ef_sync (&ef->a);
  s1 = lia_plugin_internal_funcs ()->dup_send_subject (ef->a.plugin, "Quote\r\nBcc: x@y");
  s2 = lia_plugin_internal_funcs ()->dup_send_subject (ef->a.plugin, "Quote");
  g_assert_null (strpbrk (s1, "\r\n"));
  g_assert_true (g_str_has_prefix (s1, "Quote  Bcc: x@y CRM:"));
  g_assert_true (g_str_has_prefix (s2, "Quote CRM:"));
  g_assert_cmpstr (s1 + strlen ("Quote  Bcc: x@y "), !=, s2 + strlen ("Quote "));
}

/* R-MAIL-TRACK: the host copy of a tracked email's original. */
static LiaItem *
host_original_of (Ef *ef, const char *item_id, gsize *out_len)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);
  LiaItem *item;

  g_assert_nonnull (hi->props.original);
  *out_len = strlen (hi->props.original);
  item = lia_original_decode (hi->props.original, *out_len, NULL);
  g_assert_nonnull (item);
  g_assert_cmpint (lia_item_get_entity (item), ==, LIA_ENTITY_EMAIL);
  return item;
}

/* The cache's copy: the full CRM view. */
static LiaItem *
cache_original_of (Ef *ef, const char *item_id, gsize *out_len)
{
  g_autoptr (LiaCacheOriginal) orig =
      lia_cache_load_original (cache_of (&ef->a), LIA_TEST_STORE, item_id, NULL);
  LiaItem *item;

  g_assert_nonnull (orig);
  g_assert_nonnull (orig->xml);
  *out_len = strlen (orig->xml);
  item = lia_original_decode (orig->xml, *out_len, NULL);
  g_assert_nonnull (item);
  return item;
}

static void
assert_regarding_only (const LiaItem *original)
{
  const LiaFieldInfo *fields;
  guint n = 0;

  fields = lia_field_list (LIA_ENTITY_EMAIL, &n);
  for (guint i = 0; i < n; i++)
    if (!g_str_equal (fields[i].name, "regarding"))
      g_assert_null (lia_item_get_at (original, i));
}

static void
test_track_host_original (Ef *ef, gconstpointer data)
{
  const guint n_to = 5000;
  g_autofree LiaParty *to = g_new0 (LiaParty, n_to);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (LiaItem) big = NULL;
  g_autoptr (LiaItem) huge = NULL;
  g_autofree char *huge_id = NULL;
  g_autoptr (LiaValue) to_list = NULL;
  g_autofree char *body = g_strnfill (1024 * 1024, 'x');
  g_autofree char *acct = NULL;
  g_autofree char *big_id = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-MAIL-TRACK, R-MAIL-RECIPIENTS, R-MERGE-ORIGINAL: a tracked message carries only what "
                  "still synchronizes (regarding) as its original on the host, under 1 KB for a 1 MB body "
                  "and 5,000 recipients, by hand and by bulk tracking; the cache keeps the full CRM view");
  ef_sync (&ef->a);
  set_user (ef, LIA_ENGINE_SETTING_AUTO_TRACK, "none");
  acct = account (ef, "Acme");
  for (guint i = 0; i < n_to; i++)
    {
      char *address = g_strdup_printf ("r%u@example.com", i);
      g_ptr_array_add (addresses, address);
      to[i].address = address;
      to[i].entity = LIA_ENTITY_N;
    }
  to_list = lia_value_new_party_list (to, n_to);
  {
    const char *const one[] = { "alice@example.org", NULL };
    big = mail ("<huge@example.com>", NULL, "Newsletter", "news@example.com", one, FALSE);
    huge = mail ("<huger@example.com>", NULL, "Video", "news@example.com", one, FALSE);
  }
  /* 512 KB and 5,000 recipients: the CRM view fits the OriginalXML limit
   * (1 MB); a 1 MB body does not, and the host copy is there anyway. */
  body[512 * 1024] = '\0';
  g_assert_true (lia_item_set (big, "to", to_list, NULL));
  g_assert_true (lia_item_set_text (big, "body", body, NULL));
  body[512 * 1024] = 'x';
  g_assert_true (lia_item_set (huge, "to", to_list, NULL));
  g_assert_true (lia_item_set_text (huge, "body", body, NULL));
  big_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "inbox", big, FALSE);
  huge_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "inbox", huge, FALSE);
  command (ef, LIA_COMMAND_SET_REGARDING, "inbox", big_id, acct, "Acme");
  command (ef, LIA_COMMAND_SET_REGARDING, "inbox", huge_id, acct, "Acme");
  ef_wait_queued (&ef->a, 2);
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, big_id), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (state_of (ef, huge_id), ==, LIA_LINK_STATE_TRACKED);
  {
    gsize host_len = 0, huge_len = 0, cache_len = 0;
    g_autoptr (LiaItem) host = host_original_of (ef, big_id, &host_len);
    g_autoptr (LiaItem) huge_host = host_original_of (ef, huge_id, &huge_len);
    g_autoptr (LiaItem) full = cache_original_of (ef, big_id, &cache_len);
    LiaValue *cached_to = lia_item_get (full, "to");

    g_test_message ("host original %" G_GSIZE_FORMAT " bytes (1 MB body: %" G_GSIZE_FORMAT
                    "), cache original %" G_GSIZE_FORMAT " bytes",
                    host_len, huge_len, cache_len);
    g_assert_cmpuint (host_len, <, 1024);
    g_assert_cmpuint (huge_len, <, 1024);
    assert_regarding_only (host);
    assert_regarding_only (huge_host);
    g_assert_cmpuint (cache_len, >, 512 * 1024);
    g_assert_cmpstr (lia_item_get_text (full, "message-id"), ==, "<huge@example.com>");
    g_assert_nonnull (cached_to);
    g_assert_cmpuint (lia_value_get_n_parties (cached_to), ==, n_to);
  }

  /* Bulk tracking: the same split. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *msgid = g_strdup_printf ("<orig-bulk%u@example.com>", i);
      g_ptr_array_add (ids, receive (ef, "inbox", msgid, NULL, "Order", "shop@example.com"));
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
  for (guint i = 0; i < 3; i++)
    {
      gsize host_len = 0, cache_len = 0;
      g_autoptr (LiaItem) host = NULL;
      g_autoptr (LiaItem) full = NULL;
      g_autofree char *msgid = g_strdup_printf ("<orig-bulk%u@example.com>", i);

      g_assert_cmpint (state_of (ef, ids->pdata[i]), ==, LIA_LINK_STATE_TRACKED);
      host = host_original_of (ef, ids->pdata[i], &host_len);
      full = cache_original_of (ef, ids->pdata[i], &cache_len);
      assert_regarding_only (host);
      g_assert_cmpstr (lia_item_get_text (full, "message-id"), ==, msgid);
      g_assert_cmpstr (lia_item_get_text (full, "subject"), ==, "Order");
    }
  check_cache (ef);
}

static void
set_regarding_on_host (Ef *ef, const char *item_id, const char *id, const char *name)
{
  g_autoptr (LiaValue) r = lia_value_new_reference (LIA_ENTITY_ACCOUNT, id, name);
  g_auto (LiaHostProps) props = { 0 };

  lia_clock_advance (ef->clock, EF_MINUTE);
  lia_host_props_set (&props, LIA_HOST_PROP_REGARDING, id);
  props.regarding_name = g_strdup (name);
  g_assert_true (lia_test_host_user_set_props (ef->a.host, item_id, &props));
  g_assert_true (lia_test_host_user_set (ef->a.host, item_id, "regarding", r));
}

static const char *
crm_text (Ef *ef, const char *crm_id, const char *field, LiaCrmRecord **keep)
{
  g_clear_pointer (keep, lia_crm_record_free);
  *keep = ef_crm_get (ef, LIA_ENTITY_EMAIL, crm_id);
  return lia_item_get_text (lia_crm_record_get_item (*keep), field);
}

static const char *
crm_regarding (Ef *ef, const char *crm_id, LiaCrmRecord **keep)
{
  LiaValue *r;

  g_clear_pointer (keep, lia_crm_record_free);
  *keep = ef_crm_get (ef, LIA_ENTITY_EMAIL, crm_id);
  r = lia_item_get (lia_crm_record_get_item (*keep), "regarding");
  return r != NULL ? lia_value_get_reference_id (r) : NULL;
}

/* Deletes the client's cache as a lost or rebuilt one (R-DUP-NONE). */
static void
lose_cache (Ef *ef)
{
  g_autofree char *path = ef_path ("alice-laptop.db");
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  ef_client_stop (&ef->a);
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  ef_client_start (ef, &ef->a, ef->mailbox, ef->alice_token, "alice-laptop", "alice-laptop.db", FALSE);
}

/* A message received from client@example.com, tracked with @acct. */
static char *
received_tracked (Ef *ef, const char *acct, char **out_crm_id)
{
  g_autofree char *id = receive (ef, "inbox", "<plan1@example.com>", NULL, "Plan", "client@example.com");
  g_autoptr (LiaHostItem) hi = NULL;

  g_assert_true (lia_test_host_user_edit (ef->a.host, id, "body", "the message's body"));
  command (ef, LIA_COMMAND_SET_REGARDING, "inbox", id, acct, "Record A");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  *out_crm_id = g_strdup (hi->props.crm_id);
  return g_steal_pointer (&id);
}

/* After a lost cache: relinked without a duplicate, its cache original
 * rebuilt so that correlation by In-Reply-To and by subject and addresses
 * still finds the thread (its regarding now @acct). */
static void
check_relinked_correlates (Ef *ef, const char *id, const char *acct)
{
  g_autofree char *reply = NULL;
  g_autofree char *smart = NULL;
  g_autofree char *reg = NULL;
  g_autofree char *reg_smart = NULL;
  gsize len = 0;

  g_assert_cmpint (state_of (ef, id), ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 1);
  {
    g_autoptr (LiaItem) full = cache_original_of (ef, id, &len);
    g_assert_cmpstr (lia_item_get_text (full, "message-id"), ==, "<plan1@example.com>");
    g_assert_cmpstr (lia_item_get_text (full, "subject"), ==, "Plan");
  }
  reply =
      receive (ef, "inbox", "<plan2@example.com>", "<plan1@example.com>", "Re: Plan", "client@example.com");
  smart = receive (ef, "inbox", "<plan3@example.com>", NULL, "AW: plan", "client@example.com");
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, reply), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, reply);
  g_assert_cmpstr (reg, ==, acct);
  g_assert_cmpint (state_of (ef, smart), ==, LIA_LINK_STATE_TRACKED);
  reg_smart = regarding_of (ef, smart);
  g_assert_cmpstr (reg_smart, ==, acct);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_EMAIL), ==, 3);
}

static void
test_linked_regarding_only (Ef *ef, gconstpointer data)
{
  g_autofree char *acct_a = NULL;
  g_autofree char *acct_b = NULL;
  g_autofree char *acct_c = NULL;
  g_autofree char *crm_id = NULL;
  g_autofree char *id = NULL;
  g_autofree char *shown = NULL;
  g_autoptr (LiaCrmRecord) keep = NULL;
  g_autoptr (LiaHostItem) hi = NULL;

  g_test_summary ("R-MAIL-TRACK, R-MAIL-TAGGING, R-MERGE-ORIGINAL, R-DUP-NONE, R-MAIL-CORRELATE-SMART: on a "
                  "tracked email only regarding synchronizes: a host regarding change reaches CRM while a "
                  "host subject change and CRM's body edit stay where they were made; CRM's regarding "
                  "change reaches the host; after the cache is lost the message relinks (no duplicate), "
                  "correlation by Message-ID and smart matching still finds it and the merge writes no "
                  "other field");
  ef_sync (&ef->a);
  acct_a = account (ef, "Record A");
  acct_b = account (ef, "Record B");
  acct_c = account (ef, "Record C");
  id = received_tracked (ef, acct_a, &crm_id);

  /* CRM edits the body; the host changes the subject (no mail client
   * does, a test host can) and regarding. */
  ef_crm_edit (ef, LIA_ENTITY_EMAIL, crm_id, "body", "CRM's body");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, id, "subject", "Plan (edited on the host)"));
  set_regarding_on_host (ef, id, acct_b, "Record B");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_b);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan");
  g_assert_cmpstr (crm_text (ef, crm_id, "body", &keep), ==, "CRM's body");
  hi = lia_test_host_dup_item (ef->a.host, id);
  g_assert_cmpstr (lia_item_get_text (hi->item, "subject"), ==, "Plan (edited on the host)");
  g_assert_cmpstr (lia_item_get_text (hi->item, "body"), ==, "the message's body");
  {
    gsize len = 0;
    g_autoptr (LiaItem) host = host_original_of (ef, id, &len);
    assert_regarding_only (host);
  }
  /* Back as it was received: correlation after the lost cache reads the
   * message's own subject. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, id, "subject", "Plan"));
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);

  /* CRM's regarding change reaches the host (R-MAIL-TAGGING). */
  {
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_EMAIL, crm_id);
    g_autoptr (LiaCrmRecord) stored = NULL;
    g_autoptr (LiaValue) c = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_c, "Record C");
    g_autoptr (GError) error = NULL;

    lia_clock_advance (ef->clock, EF_MINUTE);
    g_assert_true (lia_item_set (lia_crm_record_get_item (rec), "regarding", c, NULL));
    stored = lia_crm_update_sync (ef->direct, rec, NULL, &error);
    g_assert_no_error (error);
  }
  ef_sync (&ef->a);
  shown = regarding_of (ef, id);
  g_assert_cmpstr (shown, ==, acct_c);

  /* The cache is lost: the message relinks from its own properties. */
  lose_cache (ef);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_c);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan");
  g_assert_cmpstr (crm_text (ef, crm_id, "body", &keep), ==, "CRM's body");
  check_relinked_correlates (ef, id, acct_c);
  /* And a host regarding change still goes, alone. */
  set_regarding_on_host (ef, id, acct_a, "Record A");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_a);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan");
  g_assert_cmpstr (crm_text (ef, crm_id, "body", &keep), ==, "CRM's body");
  check_cache (ef);
}

static void
test_old_full_original (Ef *ef, gconstpointer data)
{
  g_autofree char *acct_a = NULL;
  g_autofree char *acct_b = NULL;
  g_autofree char *crm_id = NULL;
  g_autofree char *id = NULL;
  g_autoptr (LiaCrmRecord) keep = NULL;

  g_test_summary ("R-MERGE-ORIGINAL, R-MAIL-TRACK, R-DUP-NONE: a message that carries a full original (as "
                  "an older client wrote it) relinks after a lost cache, still correlates, and merges "
                  "regarding only");
  ef_sync (&ef->a);
  acct_a = account (ef, "Record A");
  acct_b = account (ef, "Record B");
  id = received_tracked (ef, acct_a, &crm_id);
  {
    g_autoptr (LiaCacheOriginal) orig = lia_cache_load_original (cache_of (&ef->a), LIA_TEST_STORE, id, NULL);
    g_auto (LiaHostProps) props = { 0 };

    g_assert_nonnull (orig);
    lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, orig->xml);
    g_assert_true (lia_test_host_user_set_props (ef->a.host, id, &props));
    {
      g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, id);
      g_assert_cmpstr (hi->props.original, ==, orig->xml);
    }
  }
  ef_crm_edit (ef, LIA_ENTITY_EMAIL, crm_id, "subject", "Plan (edited in CRM)");
  lose_cache (ef);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan (edited in CRM)");
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_a);
  check_relinked_correlates (ef, id, acct_a);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, id, "body", "edited on the host"));
  set_regarding_on_host (ef, id, acct_b, "Record B");
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_b);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan (edited in CRM)");
  g_assert_cmpstr (crm_text (ef, crm_id, "body", &keep), ==, "the message's body");
  check_cache (ef);
}

static void
test_missing_host_original (Ef *ef, gconstpointer data)
{
  g_autofree char *acct_a = NULL;
  g_autofree char *crm_id = NULL;
  g_autofree char *id = NULL;
  g_autoptr (LiaCrmRecord) keep = NULL;

  g_test_summary ("R-MERGE-ORIGINAL, R-MAIL-TRACK, R-DUP-NONE: a tracked message whose original is gone from "
                  "both the cache and the message relinks, merges without writing anything but regarding, "
                  "gets its original back (regarding only on the message) and still correlates");
  ef_sync (&ef->a);
  acct_a = account (ef, "Record A");
  id = received_tracked (ef, acct_a, &crm_id);
  {
    g_auto (LiaHostProps) props = { 0 };
    g_autoptr (LiaHostItem) hi = NULL;

    lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, NULL);
    g_assert_true (lia_test_host_user_set_props (ef->a.host, id, &props));
    hi = lia_test_host_dup_item (ef->a.host, id);
    g_assert_null (hi->props.original);
  }
  ef_crm_edit (ef, LIA_ENTITY_EMAIL, crm_id, "body", "CRM's body");
  lose_cache (ef);
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  g_assert_cmpstr (crm_regarding (ef, crm_id, &keep), ==, acct_a);
  g_assert_cmpstr (crm_text (ef, crm_id, "subject", &keep), ==, "Plan");
  g_assert_cmpstr (crm_text (ef, crm_id, "body", &keep), ==, "CRM's body");
  {
    gsize len = 0;
    g_autoptr (LiaItem) host = host_original_of (ef, id, &len);

    assert_regarding_only (host);
    g_assert_cmpstr (lia_value_get_reference_id (lia_item_get (host, "regarding")), ==, acct_a);
  }
  check_relinked_correlates (ef, id, acct_a);
  check_cache (ef);
}

#ifdef LIA_TEST_SERVER
static void
server_child_setup (gpointer data)
{
  /* The server must not outlive a test that crashes. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* The same engine over the http connector: liaison-server on a free
 * loopback port serves the fixture's org file; the in-process org stays
 * the "CRM web UI" (accounts, Bob's track), writing the same file. */
static void
test_http (Ef *ef, gconstpointer data)
{
  const char *const to[] = { "bob@example.org", NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *org_path = ef_path ("org.db");
  g_autofree char *line = NULL;
  g_autofree char *acct_a = NULL;
  g_autofree char *acct_b = NULL;
  g_autofree char *token = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *reg = NULL;
  g_autofree char *tagged = NULL;
  g_autoptr (LiaCrm) bob = lia_crm_embedded_new_for_service (ef->org, ef->bob_token);

  g_test_summary ("R-MAIL-CORRELATE-TOKEN, R-MAIL-AUTO, R-MAIL-TAGGING, R-MAIL-DEDUPE over http: against a "
                  "real liaison-server the engine gets org tokens, auto-tracks a reply carrying one with "
                  "the thread's regarding, and applies another user's regarding change to the host");
  g_subprocess_launcher_set_child_setup (launcher, server_child_setup, NULL, NULL);
  server = g_subprocess_launcher_spawn (launcher, &error, LIA_TEST_SERVER, "--db", org_path, "--listen",
                                        "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (line != NULL && g_str_has_prefix (line, "listening "));
  /* Alice's client, now over http (a cache of its own). */
  ef_client_stop (&ef->a);
  {
    LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
    ef->a.host = lia_test_host_new (ef->mailbox);
    ef->a.cache_path = ef_path ("alice-http.db");
    config.cache_path = ef->a.cache_path;
    config.org_url = line + strlen ("listening ");
    config.token = ef->alice_token;
    config.org_name = "test-org";
    /* The same client name is the same subscription: this client stays
     * the primary one, whether or not the stopped client had subscribed. */
    config.client_name = "alice-laptop";
    config.clock = ef->clock;
    ef->a.plugin =
        lia_plugin_internal_funcs ()->load (&config, lia_test_host_get_vtable (), ef->a.host, &error);
    g_assert_no_error (error);
    lia_test_host_set_notify (ef->a.host, ef_on_notify, &ef->a);
  }
  ef_sync (&ef->a);
  acct_a = account (ef, "Record A");
  acct_b = account (ef, "Record B");
  token = lia_plugin_internal_funcs ()->dup_send_subject (ef->a.plugin, "Plan");
  g_assert_true (g_str_has_prefix (token, "Plan CRM:"));
  subject = g_strdup (token);
  sent = sent_tracked (ef, "<h1@example.org>", subject, to, acct_a);
  {
    g_autofree char *re = g_strdup_printf ("Other subject %s", subject + strlen ("Plan "));
    reply = receive (ef, "inbox", "<h2@example.net>", NULL, re, "someone@example.net");
  }
  ef_sync (&ef->a);
  g_assert_cmpint (state_of (ef, reply), ==, LIA_LINK_STATE_TRACKED);
  reg = regarding_of (ef, reply);
  g_assert_cmpstr (reg, ==, acct_a);
  /* Bob tracks the sent message too, with Record B: one CRM email, and
   * Alice's host shows Record B after her next cycle. */
  {
    g_autoptr (LiaItem) m = mail ("<h1@example.org>", NULL, subject, "alice@example.org", to, FALSE);
    g_autoptr (LiaCrmRecord) rec = lia_crm_record_new_for_item (m);
    g_autoptr (LiaValue) b = lia_value_new_reference (LIA_ENTITY_ACCOUNT, acct_b, "Record B");
    g_autoptr (LiaCrmRecord) made = NULL;
    g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, sent);
    g_assert_true (lia_item_set (lia_crm_record_get_item (rec), "regarding", b, NULL));
    made = lia_crm_create_sync (bob, rec, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (lia_crm_record_get_id (made), ==, hi->props.crm_id);
  }
  ef_sync (&ef->a);
  tagged = regarding_of (ef, sent);
  g_assert_cmpstr (tagged, ==, acct_b);
  check_cache (ef);
  ef_client_stop (&ef->a);
  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, &error));
}
#endif

int
main (int argc, char **argv)
{
  /* The isolated XDG dirs hide the system's GSettings schemas, which the
   * desktop proxy resolver reads: loopback needs no proxy. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/mail/engine/R-MAIL-AUTO/response-default", test_auto_response);
  ADD ("/mail/engine/R-SET-AUTOTRACK/options", test_auto_options);
  ADD ("/mail/engine/R-MAIL-CORRELATE-TOKEN/reply-with-token", test_token);
  ADD ("/mail/engine/R-MAIL-TAGGING/regarding-rolls-down", test_tagging);
  ADD ("/mail/engine/R-MAIL-FOLDER/moved-and-filtered", test_folder);
  ADD ("/mail/engine/R-MAIL-FOLDER/older-moved-in-offline-restart", test_folder_older);
  ADD ("/mail/engine/hostile/big-and-injected", test_hostile);
  ADD ("/mail/engine/R-MAIL-BULK/track-many-restart", test_bulk);
  ADD ("/mail/engine/R-MAIL-BULK/per-message-result", test_bulk_failure);
  ADD ("/mail/engine/R-MAIL-BULK/pages-org-lost", test_bulk_pages_lost_org);
  ADD ("/mail/engine/R-MAIL-CORRELATE-TOKEN/send-subject", test_send_subject);
  ADD ("/mail/engine/R-MAIL-TRACK/host-original-regarding-only", test_track_host_original);
  ADD ("/mail/engine/R-MAIL-TRACK/linked-regarding-only-cache-lost", test_linked_regarding_only);
  ADD ("/mail/engine/R-MERGE-ORIGINAL/email-old-full-original", test_old_full_original);
  ADD ("/mail/engine/R-MERGE-ORIGINAL/email-missing-host-original", test_missing_host_original);
#ifdef LIA_TEST_SERVER
  ADD ("/mail/engine/http/token-auto-tagging", test_http);
#endif
#undef ADD
  return g_test_run ();
}
