/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "engine-fixture.h"

/* SPEC section 7 end to end: the entity rules narrow each item's merge in
 * the engine (core/lia-engine.c, item_policy()). test-entity-specific.c
 * proves the rules as data; these cases prove a real cycle obeys them, by
 * looking at both sides afterwards. */

#define EF_HOUR (G_GINT64_CONSTANT (60) * EF_MINUTE)

static void
set_time (LiaItem *item, const char *field, gint64 instant)
{
  g_autoptr (LiaValue) value = lia_value_new_datetime (instant, "UTC");

  g_assert_true (lia_item_set (item, field, value, NULL));
}

static LiaItem *
activity (LiaEntity entity, const char *subject, gint64 start_offset)
{
  LiaItem *item = lia_item_new (entity);
  gint64 start = EF_NOW + start_offset;

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  set_time (item, "start", start);
  if (entity == LIA_ENTITY_TASK)
    set_time (item, "due", start + 24 * EF_HOUR);
  else
    set_time (item, "end", start + EF_HOUR);
  return item;
}

/* Creates @item on the host, tracks it by hand and runs the cycle that
 * creates its CRM record; returns the host item id. */
static char *
track_by_hand (Ef *ef, LiaEntity entity, const LiaItem *item)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  char *item_id =
      lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, lia_test_folder_for (entity), item, FALSE);

  cmd.store = LIA_TEST_STORE;
  cmd.folder = lia_test_folder_for (entity);
  cmd.item_id = item_id;
  cmd.entity = entity;
  g_assert_true (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_no_error (error);
  ef_wait_queued (&ef->a, 1);
  ef_sync (&ef->a);
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hi->props.crm_id);
  return item_id;
}

/* A host edit the user makes a minute later, run through the dispatcher
 * (notification) and a full cycle. */
static void
host_edit_and_sync (Ef *ef, const char *item_id, const char *field, const char *text)
{
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_edit (ef->a.host, item_id, field, text));
  ef_iterate ();
  ef_sync (&ef->a);
}

/* Asserts a host item's text field ("" for absent). */
#define host_text_is(ef, item_id, field, expected)                                   \
  G_STMT_START                                                                       \
  {                                                                                  \
    g_autoptr (LiaHostItem) hti_ = lia_test_host_dup_item ((ef)->a.host, (item_id)); \
    const char *text_ = lia_item_get_text (hti_->item, (field));                     \
                                                                                     \
    g_assert_cmpstr (text_ != NULL ? text_ : "", ==, (expected));                    \
  }                                                                                  \
  G_STMT_END

static char *
crm_text (Ef *ef, LiaEntity entity, const char *id, const char *field)
{
  g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, entity, id);

  return g_strdup (lia_item_get_text (lia_crm_record_get_item (rec), field));
}

static char *
crm_id_of (Ef *ef, const char *item_id)
{
  g_autoptr (LiaHostItem) hi = lia_test_host_dup_item (ef->a.host, item_id);

  return g_strdup (hi->props.crm_id);
}

static void
test_appt_past (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaItem) item = activity (LIA_ENTITY_APPOINTMENT, "Yesterday's lunch", -26 * EF_HOUR);
  g_autofree char *item_id = NULL;
  g_autofree char *crm_id = NULL;
  g_autofree char *subject = NULL;

  g_test_summary ("R-APPT-PAST: a past appointment tracked on the host gets its CRM activity; afterwards "
                  "neither a host edit nor a CRM edit crosses over");
  ef_sync (&ef->a);
  item_id = track_by_hand (ef, LIA_ENTITY_APPOINTMENT, item);
  crm_id = crm_id_of (ef, item_id);
  subject = crm_text (ef, LIA_ENTITY_APPOINTMENT, crm_id, "subject");
  g_assert_cmpstr (subject, ==, "Yesterday's lunch");

  host_edit_and_sync (ef, item_id, "subject", "Lunch (host edit)");
  g_clear_pointer (&subject, g_free);
  subject = crm_text (ef, LIA_ENTITY_APPOINTMENT, crm_id, "subject");
  g_assert_cmpstr (subject, ==, "Yesterday's lunch");

  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_APPOINTMENT, crm_id, "location", "Canteen");
  ef_sync (&ef->a);
  host_text_is (ef, item_id, "location", "");
  host_text_is (ef, item_id, "subject", "Lunch (host edit)");
}

static guint
count_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

static guint
crm_count (Ef *ef, LiaEntity entity)
{
  guint n = 0;

  g_assert_true (lia_org_service_foreach_record (ef->org, entity, (LiaOrgRowFunc) count_row, &n, NULL));
  return n;
}

static void
test_appt_service (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaCrmRecord) rec = lia_crm_record_new (LIA_ENTITY_SERVICE_APPOINTMENT);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaItem) local = activity (LIA_ENTITY_SERVICE_APPOINTMENT, "Pump check", 3 * EF_HOUR);
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *item_id = NULL;
  g_autofree char *local_id = NULL;
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_auto (LiaHostProps) mark = { 0 };

  g_test_summary ("R-APPT-SERVICE: a service appointment comes from CRM to the host; a host edit is not "
                  "sent back and the next CRM change, even of another field, overwrites it; one made on "
                  "the host cannot be tracked (refused with the rule's message) and a mark set on it by "
                  "another client never creates a CRM record");
  g_assert_true (lia_item_set_text (lia_crm_record_get_item (rec), "subject", "Boiler service", NULL));
  set_time (lia_crm_record_get_item (rec), "start", EF_NOW + 5 * EF_HOUR);
  set_time (lia_crm_record_get_item (rec), "end", EF_NOW + 6 * EF_HOUR);
  made = lia_org_service_create (ef->org, ef->alice, rec, NULL, &error);
  g_assert_no_error (error);
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "calendar", "subject", "Boiler service");
  g_assert_nonnull (hi);
  g_assert_cmpstr (hi->props.crm_id, ==, lia_crm_record_get_id (made));
  item_id = g_strdup (hi->item_id);

  host_edit_and_sync (ef, item_id, "subject", "Boiler (host edit)");
  subject = crm_text (ef, LIA_ENTITY_SERVICE_APPOINTMENT, lia_crm_record_get_id (made), "subject");
  g_assert_cmpstr (subject, ==, "Boiler service");

  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_SERVICE_APPOINTMENT, lia_crm_record_get_id (made), "location", "Basement");
  ef_sync (&ef->a);
  host_text_is (ef, item_id, "location", "Basement");
  host_text_is (ef, item_id, "subject", "Boiler service");

  /* Made on the host: Track is refused, nothing is queued. */
  local_id = lia_test_host_user_create (ef->a.host, LIA_TEST_STORE, "calendar", local, FALSE);
  ef_iterate ();
  cmd.store = LIA_TEST_STORE;
  cmd.folder = "calendar";
  cmd.item_id = local_id;
  cmd.entity = LIA_ENTITY_SERVICE_APPOINTMENT;
  g_assert_false (lia_plugin_internal_funcs ()->command (ef->a.plugin, &cmd, &error));
  g_assert_error (error, LIA_ERROR, LIA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "Service appointments"));
  g_clear_error (&error);
  g_clear_pointer (&hi, lia_host_item_free);
  hi = lia_test_host_dup_item (ef->a.host, local_id);
  g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_NONE);

  /* Marked by another client: the primary's scan finds the mark, and the
   * upload refuses to create it. */
  lia_host_props_set (&mark, LIA_HOST_PROP_LINK_STATE, "1");
  lia_clock_advance (ef->clock, EF_MINUTE);
  g_assert_true (lia_test_host_user_set_props (ef->a.host, local_id, &mark));
  ef_iterate ();
  ef_sync (&ef->a);
  ef_sync (&ef->a);
  g_assert_cmpuint (crm_count (ef, LIA_ENTITY_SERVICE_APPOINTMENT), ==, 1);
  g_clear_pointer (&hi, lia_host_item_free);
  hi = lia_test_host_dup_item (ef->a.host, local_id);
  g_assert_cmpint (hi->props.link_state, !=, LIA_LINK_STATE_TRACKED);
  g_assert_null (hi->props.crm_id);
}

static void
test_task_closed (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaItem) item = activity (LIA_ENTITY_TASK, "Send the quote", 2 * EF_HOUR);
  g_autofree char *item_id = NULL;
  g_autofree char *crm_id = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *notes = NULL;

  g_test_summary ("R-TASK-CLOSED: once a tracked task is completed in CRM, its host edits are not sent; "
                  "while it was open they were");
  ef_sync (&ef->a);
  item_id = track_by_hand (ef, LIA_ENTITY_TASK, item);
  crm_id = crm_id_of (ef, item_id);

  /* Open: a host edit reaches CRM (the control for the case below). */
  host_edit_and_sync (ef, item_id, "description", "Ten pages");
  notes = crm_text (ef, LIA_ENTITY_TASK, crm_id, "description");
  g_assert_cmpstr (notes, ==, "Ten pages");

  {
    g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, LIA_ENTITY_TASK, crm_id);
    g_autoptr (LiaValue) done = lia_value_new_enum ("completed");
    g_autoptr (LiaCrmRecord) stored = NULL;
    g_autoptr (GError) error = NULL;

    lia_clock_advance (ef->clock, EF_MINUTE);
    g_assert_true (lia_item_set (lia_crm_record_get_item (rec), "status", done, NULL));
    lia_crm_record_set_state (rec, LIA_RECORD_STATE_COMPLETED);
    stored = lia_crm_update_sync (ef->direct, rec, NULL, &error);
    g_assert_no_error (error);
  }
  ef_sync (&ef->a);
  host_edit_and_sync (ef, item_id, "subject", "Send the quote (edited after completion)");
  subject = crm_text (ef, LIA_ENTITY_TASK, crm_id, "subject");
  g_assert_cmpstr (subject, ==, "Send the quote");
  host_text_is (ef, item_id, "subject", "Send the quote (edited after completion)");
}

/* A CRM account and a contact of @caller whose parent account it is. */
static char *
crm_contact_with_company (Ef *ef, const char *account_name, const char *family)
{
  g_autoptr (LiaCrmRecord) account = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
  g_autoptr (LiaCrmRecord) acc = NULL;
  g_autoptr (LiaCrmRecord) contact = ef_contact ("Lea", family);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (LiaValue) ref = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (account), "name", account_name, NULL));
  acc = lia_org_service_create (ef->org, ef->alice, account, NULL, &error);
  g_assert_no_error (error);
  ref = lia_value_new_reference (LIA_ENTITY_ACCOUNT, lia_crm_record_get_id (acc), account_name);
  g_assert_true (lia_item_set (lia_crm_record_get_item (contact), "company", ref, NULL));
  made = lia_org_service_create (ef->org, ef->alice, contact, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static const char *
host_company (LiaHostItem *hi)
{
  LiaValue *v = lia_item_get (hi->item, "company");

  return v != NULL ? lia_value_get_reference_name (v) : NULL;
}

static void
test_contact_company (Ef *ef, gconstpointer data)
{
  gboolean on = GPOINTER_TO_INT (data);
  g_autofree char *id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  LiaCache *cache;

  g_test_summary ("R-CONTACT-COMPANY, R-SET-COMPANY: with the setting on (the default) the CRM contact's "
                  "parent account name is written to the host's company field and a company typed on the "
                  "host is overwritten by CRM's at the next CRM change; with it off it is not written and "
                  "the host keeps its own; either way a host edit never sends the company to CRM");
  ef_sync (&ef->a);
  cache = lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin));
  g_assert_nonnull (cache);
  if (!on)
    g_assert_true (lia_cache_set_setting (cache, LIA_ENGINE_SETTING_UPDATE_COMPANY, "off", NULL));
  id = crm_contact_with_company (ef, "Contoso", "Lindqvist");
  ef_sync (&ef->a);
  hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Lindqvist");
  g_assert_nonnull (hi);
  if (on)
    g_assert_cmpstr (host_company (hi), ==, "Contoso");
  else
    g_assert_null (host_company (hi));

  /* A host edit of another field still travels, without the company. */
  host_edit_and_sync (ef, hi->item_id, "job-title", "Buyer");
  rec = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "Buyer");
  g_assert_cmpstr (lia_value_get_reference_name (lia_item_get (lia_crm_record_get_item (rec), "company")), ==,
                   "Contoso");
  after = lia_test_host_dup_item (ef->a.host, hi->item_id);
  if (on)
    g_assert_cmpstr (host_company (after), ==, "Contoso");
  else
    g_assert_null (host_company (after));

  /* The user types another company on the host: never sent to CRM. With
   * the setting on, CRM owns the field: its next change (of any field)
   * puts CRM's company back; with it off the host keeps its own. */
  {
    g_autoptr (LiaCrmRecord) other = lia_crm_record_new (LIA_ENTITY_ACCOUNT);
    g_autoptr (LiaCrmRecord) other_made = NULL;
    g_autoptr (LiaValue) ref = NULL;
    g_autoptr (LiaHostItem) last = NULL;
    g_autoptr (LiaCrmRecord) crm_after = NULL;
    g_autoptr (GError) error = NULL;

    g_assert_true (lia_item_set_text (lia_crm_record_get_item (other), "name", "Fabrikam", NULL));
    other_made = lia_org_service_create (ef->org, ef->alice, other, NULL, &error);
    g_assert_no_error (error);
    ref = lia_value_new_reference (LIA_ENTITY_ACCOUNT, lia_crm_record_get_id (other_made), "Fabrikam");
    lia_clock_advance (ef->clock, EF_MINUTE);
    g_assert_true (lia_test_host_user_set (ef->a.host, hi->item_id, "company", ref));
    ef_iterate ();
    ef_sync (&ef->a);
    crm_after = ef_crm_get (ef, LIA_ENTITY_CONTACT, id);
    g_assert_cmpstr (
        lia_value_get_reference_name (lia_item_get (lia_crm_record_get_item (crm_after), "company")), ==,
        "Contoso");
    lia_clock_advance (ef->clock, EF_MINUTE);
    ef_crm_edit (ef, LIA_ENTITY_CONTACT, id, "job-title", "Head buyer");
    ef_sync (&ef->a);
    last = lia_test_host_dup_item (ef->a.host, hi->item_id);
    g_assert_cmpstr (lia_item_get_text (last->item, "job-title"), ==, "Head buyer");
    g_assert_cmpstr (host_company (last), ==, on ? "Contoso" : "Fabrikam");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, fn, data) g_test_add (path, Ef, data, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-APPT-PAST/tracked-then-not-synchronized", test_appt_past, NULL);
  ADD ("/engine/R-APPT-SERVICE/crm-to-host-only", test_appt_service, NULL);
  ADD ("/engine/R-TASK-CLOSED/completed-edits-not-sent", test_task_closed, NULL);
  ADD ("/engine/R-CONTACT-COMPANY/R-SET-COMPANY-on", test_contact_company, GINT_TO_POINTER (TRUE));
  ADD ("/engine/R-CONTACT-COMPANY/R-SET-COMPANY-off", test_contact_company, GINT_TO_POINTER (FALSE));
#undef ADD
  return g_test_run ();
}
