/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "engine-fixture.h"
#include "lia-org-sync.h"

/* SPEC section 9 through the plugin's dup_setting / set_setting entry
 * points, on the test host and the embedded org: R-SET-ITEMTYPES (which
 * entities the org prepares for this client) and R-SET-PRIMARY (this client
 * is the synchronizing one). */

#define EF_HOUR (60 * EF_MINUTE)

/* A Synchronize Now that joins a cycle already in flight (a push wait's,
 * R-DET-PUSH) may have read the role or the settings before the test
 * changed them: the second one is a cycle that started after the call. */
static void
sync_fresh (EfClient *client)
{
  ef_sync (client);
  ef_sync (client);
}

static char *
get_setting (EfClient *client, const char *key)
{
  g_autoptr (GError) error = NULL;
  char *value = lia_plugin_internal_funcs ()->dup_setting (client->plugin, key, &error);

  g_assert_no_error (error);
  return value;
}

static gboolean
set_setting (EfClient *client, const char *key, const char *value, GError **error)
{
  return lia_plugin_internal_funcs ()->set_setting (client->plugin, key, value, error);
}

static void
set_ok (EfClient *client, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (set_setting (client, key, value, &error));
  g_assert_no_error (error);
}

/* @value is refused with @code and the stored value stays @before. */
static void
set_refused (EfClient *client, const char *key, const char *value, gint code, const char *before)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *after = NULL;

  g_assert_false (set_setting (client, key, value, &error));
  g_assert_error (error, LIA_ERROR, code);
  g_assert_cmpuint (strlen (error->message), >, 0);
  after = get_setting (client, key);
  g_assert_cmpstr (after, ==, before);
}

static LiaClientRole
role_of (EfClient *client)
{
  LiaClientRole role = LIA_CLIENT_N;

  lia_engine_get_client (lia_plugin_get_engine (client->plugin), &role, NULL);
  return role;
}

static char *
subscription_of (EfClient *client)
{
  return lia_engine_dup_subscription (lia_plugin_get_engine (client->plugin));
}

/* Which subscription the org records as the user's primary one. */
static char *
org_primary (Ef *ef)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) subs = lia_crm_list_subscriptions_sync (ef->direct, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < subs->len; i++)
    {
      const LiaCrmSubscription *s = g_ptr_array_index (subs, i);

      if (s->primary)
        return g_strdup (s->id);
    }
  return NULL;
}

static gboolean
command (EfClient *client, LiaCommandKind kind, const char *item_id, LiaEntity entity, GError **error)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, kind, LIA_SURFACE_EXPLORER };

  cmd.store = LIA_TEST_STORE;
  cmd.folder = lia_test_folder_for (entity);
  cmd.item_id = item_id;
  cmd.entity = entity;
  cmd.link_state = LIA_LINK_STATE_NONE;
  return lia_plugin_internal_funcs ()->command (client->plugin, &cmd, error);
}

static char *
host_contact (EfClient *client, const char *given, const char *family)
{
  g_autoptr (LiaCrmRecord) c = ef_contact (given, family);

  return lia_test_host_user_create (client->host, LIA_TEST_STORE, "contacts", lia_crm_record_get_item (c),
                                    FALSE);
}

/* Tracks a new host contact by hand and syncs; returns its CRM id, or NULL
 * when the command was refused (@error set). */
static char *
track_new_contact (EfClient *client, const char *given, const char *family, GError **error)
{
  g_autofree char *item = host_contact (client, given, family);
  g_autoptr (LiaHostItem) hi = NULL;

  if (!command (client, LIA_COMMAND_TRACK, item, LIA_ENTITY_CONTACT, error))
    return NULL;
  ef_wait_queued (client, 1);
  sync_fresh (client);
  hi = lia_test_host_dup_item (client->host, item);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  return g_strdup (hi->props.crm_id);
}

static void
set_time (LiaItem *item, const char *field, gint64 instant)
{
  g_autoptr (LiaValue) value = lia_value_new_datetime (instant, "UTC");

  g_assert_true (lia_item_set (item, field, value, NULL));
}

/* An open activity owned by alice in CRM, a day ahead; returns its id. */
static char *
crm_activity (Ef *ef, LiaEntity entity, const char *subject)
{
  g_autoptr (LiaCrmRecord) rec = lia_crm_record_new (entity);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;
  LiaItem *item = lia_crm_record_get_item (rec);
  gint64 start = EF_NOW + 24 * EF_HOUR;

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  set_time (item, "start", start);
  if (entity == LIA_ENTITY_APPOINTMENT)
    set_time (item, "end", start + EF_HOUR);
  else
    set_time (item, "due", start + EF_HOUR);
  lia_crm_record_set_state (rec, LIA_RECORD_STATE_OPEN);
  made = lia_org_service_create (ef->org, ef->alice, rec, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static gboolean
on_host (EfClient *client, LiaEntity entity, const char *field, const char *text)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_find (client->host, lia_test_folder_for (entity), field, text);

  return hi != NULL;
}

/* ---- R-SET-ITEMTYPES ---- */

static void
test_itemtypes_validate (Ef *ef, gconstpointer data)
{
  g_autofree char *value = NULL;
  g_autofree char *too_long = g_strnfill (300, 'a');
  guint mask = 0;

  g_test_summary ("R-SET-ITEMTYPES: the item types are a comma list of contact, appointment, task, "
                  "phonecall, letter and fax; anything else is refused with a clear error and changes "
                  "nothing; unset means all; appointment brings recurring and service appointments");
  g_assert_true (lia_engine_parse_item_types (NULL, &mask, NULL));
  g_assert_cmphex (mask, ==, LIA_ENGINE_ITEM_TYPES_ALL);
  g_assert_true (lia_engine_parse_item_types ("appointment", &mask, NULL));
  g_assert_cmphex (mask, ==,
                   (1u << LIA_ENTITY_APPOINTMENT) | (1u << LIA_ENTITY_RECURRING_APPOINTMENT)
                       | (1u << LIA_ENTITY_SERVICE_APPOINTMENT));
  g_assert_true (lia_engine_parse_item_types (" contact , fax ", &mask, NULL));
  g_assert_cmphex (mask, ==, (1u << LIA_ENTITY_CONTACT) | (1u << LIA_ENTITY_FAX));
  g_assert_true (lia_engine_parse_item_types ("", &mask, NULL));
  g_assert_cmphex (mask, ==, 0);
  g_assert_true (lia_engine_parse_item_types ("contact,appointment,task,phonecall,letter,fax", &mask, NULL));
  g_assert_cmphex (mask, ==, LIA_ENGINE_ITEM_TYPES_ALL);

  sync_fresh (&ef->a);
  value = get_setting (&ef->a, LIA_SETTING_ITEM_TYPES);
  g_assert_null (value);
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "contact,bogus", LIA_ERROR_INVALID, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "contact,,task", LIA_ERROR_INVALID, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "Contact", LIA_ERROR_INVALID, "contact,task");
  /* Email always travels host to CRM (R-MAIL-TRACK); it is not a type. */
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "email", LIA_ERROR_INVALID, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "account", LIA_ERROR_INVALID, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, too_long, LIA_ERROR_INVALID, "contact,task");
  set_refused (&ef->a, LIA_SETTING_ITEM_TYPES, "contact,\xff", LIA_ERROR_INVALID, "contact,task");
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "");
  g_clear_pointer (&value, g_free);
  value = get_setting (&ef->a, LIA_SETTING_ITEM_TYPES);
  g_assert_cmpstr (value, ==, "");
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, NULL);
  g_clear_pointer (&value, g_free);
  value = get_setting (&ef->a, LIA_SETTING_ITEM_TYPES);
  g_assert_null (value);
}

/* The names a reference model accepts, and the bits each brings. */
static guint
model_bits (const char *name)
{
  static const char *const names[] = { "contact", "appointment", "task", "phonecall", "letter", "fax" };
  static const guint bits[] = { 1u << LIA_ENTITY_CONTACT,
                                (1u << LIA_ENTITY_APPOINTMENT) | (1u << LIA_ENTITY_RECURRING_APPOINTMENT)
                                    | (1u << LIA_ENTITY_SERVICE_APPOINTMENT),
                                1u << LIA_ENTITY_TASK,
                                1u << LIA_ENTITY_PHONE_CALL,
                                1u << LIA_ENTITY_LETTER,
                                1u << LIA_ENTITY_FAX };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i]))
      return bits[i];
  return 0;
}

static void
test_itemtypes_parse_random (void)
{
  static const char *const pieces[] = { "contact", "appointment", "task", "phonecall", "letter", "fax",
                                        "email",   "Contact",     "",     " ",         ",",      ",",
                                        "x",       "\xff",        "\t",   "account" };

  g_test_summary ("R-SET-ITEMTYPES: 20000 random values from names, separators and junk: the parser "
                  "accepts exactly what a reference model accepts, with the same types, and otherwise "
                  "fails with LIA_ERROR_INVALID");
  for (guint round = 0; round < 20000; round++)
    {
      g_autoptr (GString) value = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) parts = NULL;
      guint n = (guint) g_test_rand_int_range (0, 8);
      guint mask = 0;
      guint want = 0;
      gboolean valid = TRUE;
      gboolean ok;

      for (guint i = 0; i < n; i++)
        g_string_append (value, pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
      /* The model: "" or blanks alone is none; else every comma-separated
       * entry, blanks stripped, is a known name. */
      parts = g_strsplit (value->str, ",", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          const char *name = g_strstrip (parts[i]);

          if (*name == '\0' && g_strv_length (parts) == 1)
            break;
          if (!g_utf8_validate (name, -1, NULL) || model_bits (name) == 0)
            valid = FALSE;
          want |= model_bits (name);
        }
      ok = lia_engine_parse_item_types (value->str, &mask, &error);
      g_assert_cmpint (ok, ==, valid);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmphex (mask, ==, want);
        }
      else
        g_assert_error (error, LIA_ERROR, LIA_ERROR_INVALID);
    }
}

static void
test_itemtypes_default_all (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = ef_crm_contact (ef, ef->alice, "Ada", "Allon");
  g_autofree char *appt = crm_activity (ef, LIA_ENTITY_APPOINTMENT, "All on: meeting");
  g_autofree char *task = crm_activity (ef, LIA_ENTITY_TASK, "All on: task");
  g_autofree char *call = crm_activity (ef, LIA_ENTITY_PHONE_CALL, "All on: call");
  g_autofree char *letter = crm_activity (ef, LIA_ENTITY_LETTER, "All on: letter");

  g_test_summary ("R-SET-ITEMTYPES: by default every type is on: a CRM contact, appointment, task, phone "
                  "call and letter all reach the host");
  sync_fresh (&ef->a);
  g_assert_true (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Allon"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_APPOINTMENT, "subject", "All on: meeting"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_TASK, "subject", "All on: task"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_PHONE_CALL, "subject", "All on: call"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_LETTER, "subject", "All on: letter"));
  /* Every CRM record above was made (its id is freed with the test). */
  g_assert_true (contact != NULL && appt != NULL && task != NULL && call != NULL && letter != NULL);
}

static void
test_itemtypes_unchecked (Ef *ef, gconstpointer data)
{
  g_autofree char *crm_only = NULL;
  g_autofree char *call = NULL;
  g_autofree char *task = NULL;
  g_autofree char *tracked = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaHostItem) hal = NULL;

  g_test_summary ("R-SET-ITEMTYPES: with contacts and phone calls unchecked, a new CRM contact and phone "
                  "call do not reach the host and a CRM edit of a tracked contact is not applied, while a "
                  "contact tracked on the host and its host edits still reach CRM and a checked type (task) "
                  "still comes down; checking them again brings everything, without duplicates");
  sync_fresh (&ef->a);
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "appointment,task,letter,fax");
  crm_only = ef_crm_contact (ef, ef->alice, "Una", "Unchecked");
  call = crm_activity (ef, LIA_ENTITY_PHONE_CALL, "Unchecked call");
  task = crm_activity (ef, LIA_ENTITY_TASK, "Checked task");

  /* Host to CRM still works for an unchecked type. */
  tracked = track_new_contact (&ef->a, "Hal", "Host", &error);
  g_assert_no_error (error);
  g_assert_nonnull (tracked);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, tracked);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "family-name"), ==, "Host");
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Unchecked"));
  g_assert_false (on_host (&ef->a, LIA_ENTITY_PHONE_CALL, "subject", "Unchecked call"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_TASK, "subject", "Checked task"));
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);

  /* A host edit of the tracked contact goes up. */
  hal = lia_test_host_find (ef->a.host, "contacts", "family-name", "Host");
  g_assert_nonnull (hal);
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, hal->item_id, "job-title", "Edited on the host"));
  ef_wait_queued (&ef->a, 1);
  sync_fresh (&ef->a);
  g_clear_pointer (&rec, lia_crm_record_free);
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, tracked);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Edited on the host");

  /* A CRM edit of it does not come down while contacts are unchecked. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, tracked, "department", "Edited in CRM");
  sync_fresh (&ef->a);
  g_clear_pointer (&hal, lia_host_item_free);
  hal = lia_test_host_find (ef->a.host, "contacts", "family-name", "Host");
  g_assert_null (lia_item_get_text (hal->item, "department"));
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Unchecked"));

  /* Checked again (back to the default): what waited comes down once. */
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, NULL);
  sync_fresh (&ef->a);
  g_assert_true (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Unchecked"));
  g_assert_true (on_host (&ef->a, LIA_ENTITY_PHONE_CALL, "subject", "Unchecked call"));
  g_clear_pointer (&hal, lia_host_item_free);
  hal = lia_test_host_find (ef->a.host, "contacts", "family-name", "Host");
  g_assert_cmpstr (lia_item_get_text (hal->item, "department"), ==, "Edited in CRM");
  g_assert_cmpstr (lia_item_get_text (hal->item, "job-title"), ==, "Edited on the host");
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 2);
  g_assert_cmpuint (ef_crm_count (ef, LIA_ENTITY_CONTACT), ==, 2);
  sync_fresh (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 2);
}

static void
test_itemtypes_none (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = NULL;
  g_autofree char *task = NULL;
  g_autofree char *appt = NULL;

  g_test_summary ("R-SET-ITEMTYPES: with every type unchecked (\"\") nothing comes from CRM to the host");
  sync_fresh (&ef->a);
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "");
  contact = ef_crm_contact (ef, ef->alice, "Nia", "None");
  task = crm_activity (ef, LIA_ENTITY_TASK, "None: task");
  appt = crm_activity (ef, LIA_ENTITY_APPOINTMENT, "None: meeting");
  sync_fresh (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 0);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "tasks"), ==, 0);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "calendar"), ==, 0);
}

static gboolean
org_has_changes (Ef *ef, EfClient *client)
{
  g_autofree char *sub = subscription_of (client);
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;

  g_assert_true (lia_org_sync_has_changes (ef->org, ef->alice, sub, &changed, &error));
  g_assert_no_error (error);
  return changed;
}

static void
test_itemtypes_not_prepared (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = NULL;
  g_autofree char *task = NULL;

  g_test_summary ("R-SET-ITEMTYPES, R-DET-PUSH: an unchecked type is neither prepared nor downloaded: "
                  "the org stops watching it for this client (a CRM contact change does not count as a "
                  "change for its push), a checked type's change still does, and the contact comes down "
                  "once contacts are checked again");
  sync_fresh (&ef->a);
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "appointment,task");
  sync_fresh (&ef->a);
  g_assert_false (org_has_changes (ef, &ef->a));
  contact = ef_crm_contact (ef, ef->alice, "Noa", "Notwatched");
  /* Before, the engine prepared every type and the org watched contacts
   * for this client: this was TRUE. */
  g_assert_false (org_has_changes (ef, &ef->a));
  sync_fresh (&ef->a);
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Notwatched"));
  task = crm_activity (ef, LIA_ENTITY_TASK, "Watched task");
  g_assert_true (org_has_changes (ef, &ef->a));
  sync_fresh (&ef->a);
  g_assert_true (on_host (&ef->a, LIA_ENTITY_TASK, "subject", "Watched task"));
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, NULL);
  sync_fresh (&ef->a);
  g_assert_true (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Notwatched"));
  g_assert_true (contact != NULL && task != NULL);
}

static guint
cycles_of (EfClient *client)
{
  g_auto (LiaSyncStatus) status = { 0 };

  lia_plugin_internal_funcs ()->get_status (client->plugin, &status);
  return status.cycles;
}

static void
test_itemtypes_no_spin (Ef *ef, gconstpointer data)
{
  g_autofree char *contact = NULL;
  gint64 until;
  guint before;

  g_test_summary ("R-SET-ITEMTYPES, R-DET-PUSH: a CRM change of an unchecked type does not wake the client "
                  "again and again (the org's push wait would answer \"changed\" after every cycle, since "
                  "that type's changes are never prepared)");
  sync_fresh (&ef->a);
  set_ok (&ef->a, LIA_SETTING_ITEM_TYPES, "appointment,task");
  contact = ef_crm_contact (ef, ef->alice, "Pia", "Push");
  sync_fresh (&ef->a);
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Push"));
  before = cycles_of (&ef->a);
  /* One more CRM change of it while the client waits: at most one cycle. */
  ef_crm_edit (ef, LIA_ENTITY_CONTACT, contact, "job-title", "Edited while unchecked");
  until = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      ef_iterate ();
      g_usleep (1000);
    }
  g_test_message ("cycles in one idle second: %u", cycles_of (&ef->a) - before);
  g_assert_cmpuint (cycles_of (&ef->a) - before, <=, 2);
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Push"));
}

/* ---- R-SET-PRIMARY ---- */

static void
test_primary_first_client (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *laptop_value = NULL;
  g_autofree char *desk_value = NULL;
  g_autofree char *laptop_sub = NULL;
  g_autofree char *primary = NULL;

  g_test_summary ("R-SET-PRIMARY: the first client is the synchronizing client by default (the setting "
                  "reads on), a second client of the same user reads off; the setting is the org's view");
  sync_fresh (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  sync_fresh (&desk);
  laptop_value = get_setting (&ef->a, LIA_SETTING_PRIMARY_CLIENT);
  desk_value = get_setting (&desk, LIA_SETTING_PRIMARY_CLIENT);
  g_assert_cmpstr (laptop_value, ==, "on");
  g_assert_cmpstr (desk_value, ==, "off");
  laptop_sub = subscription_of (&ef->a);
  primary = org_primary (ef);
  g_assert_cmpstr (primary, ==, laptop_sub);
  ef_client_stop (&desk);
}

static void
test_primary_switch (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *value = NULL;
  g_autofree char *desk_sub = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *crm_id = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-SET-PRIMARY, R-ROLE-ONE-PRIMARY: turning the setting on on the second client makes it "
                  "the synchronizing client at the org and demotes the first: from then on CRM changes "
                  "reach the mailbox when the second syncs, not the first, the first refuses new tracking "
                  "and reads off");
  sync_fresh (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  sync_fresh (&desk);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_SECONDARY);

  /* Before the switch: the laptop brings CRM changes, the desktop does not. */
  first = ef_crm_contact (ef, ef->alice, "Fay", "First");
  /* The other client is cut off while one is checked, or its push wait
   * (R-DET-PUSH) could bring the change in the background meanwhile. */
  switch_crm_set_down (ef->a.crm, TRUE);
  sync_fresh (&desk);
  g_assert_false (on_host (&desk, LIA_ENTITY_CONTACT, "family-name", "First"));
  switch_crm_set_down (ef->a.crm, FALSE);
  sync_fresh (&ef->a);
  g_assert_true (on_host (&desk, LIA_ENTITY_CONTACT, "family-name", "First"));

  set_ok (&desk, LIA_SETTING_PRIMARY_CLIENT, "on");
  value = get_setting (&desk, LIA_SETTING_PRIMARY_CLIENT);
  g_assert_cmpstr (value, ==, "on");
  sync_fresh (&desk);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_PRIMARY);
  desk_sub = subscription_of (&desk);
  primary = org_primary (ef);
  g_assert_cmpstr (primary, ==, desk_sub);
  sync_fresh (&ef->a);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_SECONDARY);
  g_clear_pointer (&value, g_free);
  value = get_setting (&ef->a, LIA_SETTING_PRIMARY_CLIENT);
  g_assert_cmpstr (value, ==, "off");

  /* After the switch: the desktop brings CRM changes, the laptop does not. */
  second = ef_crm_contact (ef, ef->alice, "Sid", "Second");
  switch_crm_set_down (desk.crm, TRUE);
  sync_fresh (&ef->a);
  g_assert_false (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Second"));
  switch_crm_set_down (desk.crm, FALSE);
  sync_fresh (&desk);
  g_assert_true (on_host (&ef->a, LIA_ENTITY_CONTACT, "family-name", "Second"));
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 2);

  g_assert_null (track_new_contact (&ef->a, "Kim", "Kane", &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "alice-desktop"));
  g_clear_error (&error);
  crm_id = track_new_contact (&desk, "Lou", "Lake", &error);
  g_assert_no_error (error);
  g_assert_nonnull (crm_id);

  /* The designation was told once: the laptop taking it back works too. */
  set_ok (&ef->a, LIA_SETTING_PRIMARY_CLIENT, "on");
  sync_fresh (&ef->a);
  sync_fresh (&desk);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_SECONDARY);
  g_clear_pointer (&value, g_free);
  value = get_setting (&desk, LIA_SETTING_PRIMARY_CLIENT);
  g_assert_cmpstr (value, ==, "off");
  ef_client_stop (&desk);
}

static void
test_primary_refused (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  EfClient bob = { 0 };
  g_autofree char *laptop_sub = NULL;
  g_autofree char *primary = NULL;

  g_test_summary ("R-SET-PRIMARY: a value other than on/off is refused; the primary cannot turn itself off "
                  "(exactly one client synchronizes) and stays primary; off on a secondary changes "
                  "nothing; a delegate cannot become the synchronizing client");
  sync_fresh (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  sync_fresh (&desk);
  set_refused (&desk, LIA_SETTING_PRIMARY_CLIENT, "yes", LIA_ERROR_INVALID, "off");
  set_refused (&ef->a, LIA_SETTING_PRIMARY_CLIENT, "", LIA_ERROR_INVALID, "on");
  set_refused (&ef->a, LIA_SETTING_PRIMARY_CLIENT, "off", LIA_ERROR_REFUSED, "on");
  set_ok (&desk, LIA_SETTING_PRIMARY_CLIENT, "off");
  sync_fresh (&desk);
  sync_fresh (&ef->a);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_PRIMARY);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_SECONDARY);
  laptop_sub = subscription_of (&ef->a);
  primary = org_primary (ef);
  g_assert_cmpstr (primary, ==, laptop_sub);
  ef_client_stop (&desk);

  ef_client_start (ef, &bob, ef->mailbox, ef->bob_token, "bob-on-alice", "bob.db", TRUE);
  sync_fresh (&bob);
  set_refused (&bob, LIA_SETTING_PRIMARY_CLIENT, "on", LIA_ERROR_REFUSED, "off");
  sync_fresh (&bob);
  g_assert_cmpint (role_of (&bob), ==, LIA_CLIENT_DELEGATE);
  ef_client_stop (&bob);
}

static void
test_primary_offline (Ef *ef, gconstpointer data)
{
  EfClient desk = { 0 };
  g_autofree char *value = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *laptop_sub = NULL;
  g_autofree char *desk_sub = NULL;
  g_autofree char *primary = NULL;

  g_test_summary ("R-SET-PRIMARY, R-ROLE-PRIMARY-OFFLINE: a designation made while the org is unreachable "
                  "waits (the setting reads on, the org still names the first client) and is told at the "
                  "first cycle that reaches the org, once");
  sync_fresh (&ef->a);
  ef_client_start (ef, &desk, ef->mailbox, ef->alice_token, "alice-desktop", "desk.db", FALSE);
  sync_fresh (&desk);
  switch_crm_set_down (desk.crm, TRUE);
  set_ok (&desk, LIA_SETTING_PRIMARY_CLIENT, "on");
  /* A started secondary goes on with its last known role when the org
   * cannot be reached (nothing of it needs the org here). */
  ef_try_sync (&desk, NULL);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_SECONDARY);
  value = get_setting (&desk, LIA_SETTING_PRIMARY_CLIENT);
  g_assert_cmpstr (value, ==, "on");
  laptop_sub = subscription_of (&ef->a);
  primary = org_primary (ef);
  g_assert_cmpstr (primary, ==, laptop_sub);
  sync_fresh (&ef->a);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_PRIMARY);

  switch_crm_set_down (desk.crm, FALSE);
  lia_clock_advance (ef->clock, 60 * EF_MINUTE);
  sync_fresh (&desk);
  g_assert_cmpint (role_of (&desk), ==, LIA_CLIENT_PRIMARY);
  desk_sub = subscription_of (&desk);
  g_clear_pointer (&primary, g_free);
  primary = org_primary (ef);
  g_assert_cmpstr (primary, ==, desk_sub);
  /* Told once: the pending designation left the cache. */
  stored = lia_cache_dup_setting (lia_engine_get_cache (lia_plugin_get_engine (desk.plugin)),
                                  LIA_SETTING_PRIMARY_CLIENT, NULL);
  g_assert_null (stored);
  sync_fresh (&ef->a);
  g_assert_cmpint (role_of (&ef->a), ==, LIA_CLIENT_SECONDARY);
  ef_client_stop (&desk);
}

static void
test_mail_settings_validated (Ef *ef, gconstpointer data)
{
  g_autofree char *folders = NULL;
  g_autofree char *tokens = NULL;
  g_autofree char *role = NULL;

  g_test_summary ("R-SET-AUTOTRACK, R-SET-TAGGING: the user's email settings take only their values; the "
                  "engine's own cache keys (tracked folders, tokens, role) cannot be written as settings");
  ef_sync (&ef->a);
  set_ok (&ef->a, "mail-auto-track", "crm-contacts");
  set_refused (&ef->a, "mail-auto-track", "everything", LIA_ERROR_INVALID, "crm-contacts");
  set_refused (&ef->a, "mail-auto-track", "", LIA_ERROR_INVALID, "crm-contacts");
  set_ok (&ef->a, "mail-tagging", "off");
  set_refused (&ef->a, "mail-tagging", "yes", LIA_ERROR_INVALID, "off");
  set_ok (&ef->a, "mail-tagging", NULL);
  /* The tracked folders are the engine's (set_folder_tracked), readable. */
  g_assert_true (lia_plugin_internal_funcs ()->set_folder_tracked (ef->a.plugin, LIA_TEST_STORE, "Archive",
                                                                   TRUE, NULL, NULL, NULL));
  folders = get_setting (&ef->a, "mail-folders");
  g_assert_nonnull (folders);
  g_assert_nonnull (strstr (folders, "Archive"));
  set_refused (&ef->a, "mail-folders", "", LIA_ERROR_INVALID, folders);
  tokens = get_setting (&ef->a, "mail-tokens");
  set_refused (&ef->a, "mail-tokens", "CRM:1", LIA_ERROR_INVALID, tokens);
  role = get_setting (&ef->a, "client-role");
  set_refused (&ef->a, "client-role", "secondary", LIA_ERROR_INVALID, role);
  set_refused (&ef->a, "no-such-setting", "1", LIA_ERROR_INVALID, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/settings/R-SET-AUTOTRACK/R-SET-TAGGING/validated-engine-keys-refused", test_mail_settings_validated);
  ADD ("/settings/R-SET-ITEMTYPES/validate", test_itemtypes_validate);
  g_test_add_func ("/settings/R-SET-ITEMTYPES/parse-random", test_itemtypes_parse_random);
  ADD ("/settings/R-SET-ITEMTYPES/default-all", test_itemtypes_default_all);
  ADD ("/settings/R-SET-ITEMTYPES/unchecked-ignored-crm-to-host", test_itemtypes_unchecked);
  ADD ("/settings/R-SET-ITEMTYPES/unchecked-not-prepared", test_itemtypes_not_prepared);
  ADD ("/settings/R-SET-ITEMTYPES/none", test_itemtypes_none);
  ADD ("/settings/R-SET-ITEMTYPES/unchecked-change-no-spin", test_itemtypes_no_spin);
  ADD ("/settings/R-SET-PRIMARY/first-client-default", test_primary_first_client);
  ADD ("/settings/R-SET-PRIMARY/switch-moves-sync", test_primary_switch);
  ADD ("/settings/R-SET-PRIMARY/refused", test_primary_refused);
  ADD ("/settings/R-SET-PRIMARY/offline-designation-waits", test_primary_offline);
#undef ADD
  return g_test_run ();
}
