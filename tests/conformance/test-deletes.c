/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-fixture.h"

/* SPEC section 6 end to end for appointments, tasks, email and filters: the
 * deletion rules decided by core/lia-deletion.c, carried out by a real
 * cycle of the engine on the test host against the embedded org. Each
 * case checks both sides afterwards: what exists in CRM, what exists on
 * the host, and whether the link survived. */

#define EF_HOUR (G_GINT64_CONSTANT (60) * EF_MINUTE)

static void
set_time (LiaItem *item, const char *field, gint64 instant)
{
  g_autoptr (LiaValue) value = lia_value_new_datetime (instant, "UTC");

  g_assert_true (lia_item_set (item, field, value, NULL));
}

/* An activity owned by @caller in CRM, starting @start_offset from now;
 * returns its id. Appointments last an hour; tasks are due a day later. */
static char *
crm_activity (Ef *ef, const LiaOrgCaller *caller, LiaEntity entity, const char *subject, gint64 start_offset,
              LiaRecordState state)
{
  g_autoptr (LiaCrmRecord) rec = lia_crm_record_new (entity);
  g_autoptr (LiaCrmRecord) made = NULL;
  g_autoptr (GError) error = NULL;
  LiaItem *item = lia_crm_record_get_item (rec);
  gint64 start = EF_NOW + start_offset;

  g_assert_true (lia_item_set_text (item, "subject", subject, NULL));
  set_time (item, "start", start);
  if (entity == LIA_ENTITY_TASK)
    set_time (item, "due", start + 24 * EF_HOUR);
  else
    set_time (item, "end", start + EF_HOUR);
  lia_crm_record_set_state (rec, state);
  made = lia_org_service_create (ef->org, caller, rec, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (lia_crm_record_get_id (made));
}

static gboolean
crm_exists (Ef *ef, LiaEntity entity, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaCrmRecord) rec = lia_crm_retrieve_sync (ef->direct, entity, id, NULL, &error);

  if (rec == NULL)
    g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  return rec != NULL;
}

/* Changes a CRM record's state or owner as the CRM web UI would. */
static void
crm_set (Ef *ef, LiaEntity entity, const char *id, LiaRecordState state, const char *owner)
{
  g_autoptr (LiaCrmRecord) rec = ef_crm_get (ef, entity, id);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (GError) error = NULL;

  lia_crm_record_set_state (rec, state);
  if (owner != NULL)
    lia_crm_record_set_owner (rec, owner);
  stored = lia_crm_update_sync (ef->direct, rec, NULL, &error);
  g_assert_no_error (error);
}

static LiaHostItem *
host_find (Ef *ef, LiaEntity entity, const char *field, const char *text)
{
  return lia_test_host_find (ef->a.host, lia_test_folder_for (entity), field, text);
}

static gboolean
is_mapped (Ef *ef, const char *item_id)
{
  g_autoptr (LiaCacheMapping) m = lia_cache_lookup_item (
      lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)), LIA_TEST_STORE, item_id, NULL);

  return m != NULL;
}

/* Creates an item on the host and tracks it by hand in the Explorer, then
 * runs the cycle that creates its CRM record; returns the host item id. */
static char *
track_by_hand (Ef *ef, LiaEntity entity, LiaItem *item)
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

static LiaItem *
host_activity (LiaEntity entity, const char *subject, gint64 start_offset)
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

static void
host_delete (Ef *ef, const char *item_id)
{
  guint64 before = 0;

  g_assert_true (lia_cache_count_changes (lia_engine_get_cache (lia_plugin_get_engine (ef->a.plugin)),
                                          LIA_CACHE_CHANGES_ALL, &before, NULL));
  g_assert_true (lia_test_host_user_delete (ef->a.host, item_id));
  ef_wait_queued (&ef->a, before + 1);
}

static void
test_out_appt (Ef *ef, gconstpointer data)
{
  g_autofree char *future = crm_activity (ef, ef->alice, LIA_ENTITY_APPOINTMENT, "Future review", 2 * EF_HOUR,
                                          LIA_RECORD_STATE_SCHEDULED);
  /* Earlier today: still in "My future appointments" (end on or after
   * today), but its start has passed. */
  g_autofree char *past = crm_activity (ef, ef->alice, LIA_ENTITY_APPOINTMENT, "Morning stand-up",
                                        -2 * EF_HOUR, LIA_RECORD_STATE_SCHEDULED);
  g_autofree char *canceled = crm_activity (ef, ef->alice, LIA_ENTITY_APPOINTMENT, "Called off", 3 * EF_HOUR,
                                            LIA_RECORD_STATE_CANCELED);
  const char *subjects[] = { "Future review", "Morning stand-up", "Called off" };
  char *ids[G_N_ELEMENTS (subjects)] = { future, past, canceled };
  char *item_ids[G_N_ELEMENTS (subjects)] = { NULL };

  g_test_summary ("R-DEL-OUT-APPT: appointments deleted on the host: the user's open future one is "
                  "deleted in CRM; one whose start has passed and a canceled one stay in CRM, and all "
                  "three lose their mapping and are not sent back (R-DEL-OUT-REMEMBER)");
  ef_sync (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "calendar"), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    {
      g_autoptr (LiaHostItem) hi = host_find (ef, LIA_ENTITY_APPOINTMENT, "subject", subjects[i]);

      g_assert_nonnull (hi);
      g_assert_cmpstr (hi->props.crm_id, ==, ids[i]);
      item_ids[i] = g_strdup (hi->item_id);
      host_delete (ef, hi->item_id);
    }
  ef_sync (&ef->a);
  g_assert_false (crm_exists (ef, LIA_ENTITY_APPOINTMENT, future));
  g_assert_true (crm_exists (ef, LIA_ENTITY_APPOINTMENT, past));
  g_assert_true (crm_exists (ef, LIA_ENTITY_APPOINTMENT, canceled));
  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    {
      g_assert_false (is_mapped (ef, item_ids[i]));
      g_free (item_ids[i]);
    }
  /* The kept records change in CRM: this client deleted them, so they do
   * not come back. */
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_APPOINTMENT, past, "location", "Room 1");
  ef_sync (&ef->a);
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "calendar"), ==, 0);
}

static void
test_out_appt_not_owner (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaItem) item = host_activity (LIA_ENTITY_APPOINTMENT, "Bob's pitch", 4 * EF_HOUR);
  g_autofree char *item_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) still = NULL;

  g_test_summary ("R-DEL-OUT-APPT: a future open appointment tracked by hand and then reassigned to another "
                  "CRM user stays linked (R-MARK-MANUAL-KEEPS); deleting it on the host does not delete "
                  "it in CRM, because the user is no longer its owner");
  ef_sync (&ef->a);
  item_id = track_by_hand (ef, LIA_ENTITY_APPOINTMENT, item);
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  crm_set (ef, LIA_ENTITY_APPOINTMENT, hi->props.crm_id, LIA_RECORD_STATE_SCHEDULED, ef->bob->user_id);
  ef_sync (&ef->a);
  still = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_nonnull (still);
  g_assert_cmpint (still->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  host_delete (ef, item_id);
  ef_sync (&ef->a);
  g_assert_true (crm_exists (ef, LIA_ENTITY_APPOINTMENT, hi->props.crm_id));
  g_assert_false (is_mapped (ef, item_id));
}

static void
test_out_task (Ef *ef, gconstpointer data)
{
  g_autofree char *open =
      crm_activity (ef, ef->alice, LIA_ENTITY_TASK, "Send quote", EF_HOUR, LIA_RECORD_STATE_OPEN);
  g_autoptr (LiaItem) item = host_activity (LIA_ENTITY_TASK, "File report", EF_HOUR);
  g_autofree char *done_item = NULL;
  g_autoptr (LiaHostItem) open_hi = NULL;
  g_autoptr (LiaHostItem) done_hi = NULL;

  g_test_summary ("R-DEL-OUT-TASK: a tracked open task deleted on the host is deleted in CRM; a task the "
                  "user completed in CRM (tracked by hand, so it stays linked) is kept in CRM when "
                  "deleted on the host, and its link is removed");
  ef_sync (&ef->a);
  open_hi = host_find (ef, LIA_ENTITY_TASK, "subject", "Send quote");
  g_assert_nonnull (open_hi);
  done_item = track_by_hand (ef, LIA_ENTITY_TASK, item);
  done_hi = lia_test_host_dup_item (ef->a.host, done_item);
  lia_clock_advance (ef->clock, EF_MINUTE);
  crm_set (ef, LIA_ENTITY_TASK, done_hi->props.crm_id, LIA_RECORD_STATE_COMPLETED, NULL);
  ef_sync (&ef->a);
  g_assert_true (is_mapped (ef, done_item));
  host_delete (ef, open_hi->item_id);
  host_delete (ef, done_item);
  ef_sync (&ef->a);
  g_assert_false (crm_exists (ef, LIA_ENTITY_TASK, open));
  g_assert_true (crm_exists (ef, LIA_ENTITY_TASK, done_hi->props.crm_id));
  g_assert_false (is_mapped (ef, open_hi->item_id));
  g_assert_false (is_mapped (ef, done_item));
}

static void
test_in_appt (Ef *ef, gconstpointer data)
{
  g_autofree char *future = crm_activity (ef, ef->alice, LIA_ENTITY_APPOINTMENT, "Board meeting", 5 * EF_HOUR,
                                          LIA_RECORD_STATE_SCHEDULED);
  g_autofree char *past = crm_activity (ef, ef->alice, LIA_ENTITY_APPOINTMENT, "Breakfast", -3 * EF_HOUR,
                                        LIA_RECORD_STATE_SCHEDULED);
  g_autoptr (LiaHostItem) future_hi = NULL;
  g_autoptr (LiaHostItem) past_hi = NULL;
  g_autoptr (LiaHostItem) kept = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-IN-APPT: appointments deleted in CRM: the future one is deleted on the host; the "
                  "one whose start has passed is unlinked (state 0, no CRM id, no mapping) and kept");
  ef_sync (&ef->a);
  future_hi = host_find (ef, LIA_ENTITY_APPOINTMENT, "subject", "Board meeting");
  past_hi = host_find (ef, LIA_ENTITY_APPOINTMENT, "subject", "Breakfast");
  g_assert_nonnull (future_hi);
  g_assert_nonnull (past_hi);
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_APPOINTMENT, future, 0, &error));
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_APPOINTMENT, past, 0, &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  g_assert_null (lia_test_host_dup_item (ef->a.host, future_hi->item_id));
  kept = lia_test_host_dup_item (ef->a.host, past_hi->item_id);
  g_assert_nonnull (kept);
  g_assert_cmpint (kept->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (kept->props.crm_id);
  g_assert_false (is_mapped (ef, past_hi->item_id));
  g_assert_false (is_mapped (ef, future_hi->item_id));
}

static void
test_in_task (Ef *ef, gconstpointer data)
{
  g_autofree char *open =
      crm_activity (ef, ef->alice, LIA_ENTITY_TASK, "Call supplier", EF_HOUR, LIA_RECORD_STATE_OPEN);
  g_autoptr (LiaItem) item = host_activity (LIA_ENTITY_TASK, "Archive contracts", EF_HOUR);
  g_autofree char *done_item = NULL;
  g_autoptr (LiaHostItem) open_hi = NULL;
  g_autoptr (LiaHostItem) done_hi = NULL;
  g_autoptr (LiaHostItem) kept = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-IN-TASK: tasks deleted in CRM: the open one is deleted on the host; the "
                  "completed one is unlinked and kept");
  ef_sync (&ef->a);
  open_hi = host_find (ef, LIA_ENTITY_TASK, "subject", "Call supplier");
  g_assert_nonnull (open_hi);
  done_item = track_by_hand (ef, LIA_ENTITY_TASK, item);
  done_hi = lia_test_host_dup_item (ef->a.host, done_item);
  lia_clock_advance (ef->clock, EF_MINUTE);
  crm_set (ef, LIA_ENTITY_TASK, done_hi->props.crm_id, LIA_RECORD_STATE_COMPLETED, NULL);
  ef_sync (&ef->a);
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_TASK, open, 0, &error));
  g_assert_true (
      lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_TASK, done_hi->props.crm_id, 0, &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  g_assert_null (lia_test_host_dup_item (ef->a.host, open_hi->item_id));
  kept = lia_test_host_dup_item (ef->a.host, done_item);
  g_assert_nonnull (kept);
  g_assert_cmpint (kept->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (kept->props.crm_id);
  g_assert_false (is_mapped (ef, done_item));
}

static void
test_in_filter (Ef *ef, gconstpointer data)
{
  g_autofree char *filtered = ef_crm_contact (ef, ef->alice, "Ida", "Irwin");
  g_autoptr (LiaCrmRecord) draft = ef_contact ("Joe", "Judd");
  g_autofree char *manual_item = NULL;
  g_autoptr (LiaHostItem) filtered_hi = NULL;
  g_autoptr (LiaHostItem) manual_hi = NULL;
  g_autoptr (LiaHostItem) after = NULL;

  g_test_summary ("R-DEL-IN-FILTER, R-MARK-MANUAL-KEEPS: contacts reassigned to another owner leave "
                  "\"My contacts\": the one the filter brought is treated as a CRM delete (deleted on the "
                  "host: the user is no longer the owner, R-DEL-IN-CONTACT) and stays in CRM; the one "
                  "tracked by hand stays linked and keeps receiving CRM changes");
  ef_sync (&ef->a);
  filtered_hi = lia_test_host_find (ef->a.host, "contacts", "family-name", "Irwin");
  g_assert_nonnull (filtered_hi);
  manual_item = track_by_hand (ef, LIA_ENTITY_CONTACT, lia_crm_record_get_item (draft));
  manual_hi = lia_test_host_dup_item (ef->a.host, manual_item);
  lia_clock_advance (ef->clock, EF_MINUTE);
  crm_set (ef, LIA_ENTITY_CONTACT, filtered, LIA_RECORD_STATE_OPEN, ef->bob->user_id);
  crm_set (ef, LIA_ENTITY_CONTACT, manual_hi->props.crm_id, LIA_RECORD_STATE_OPEN, ef->bob->user_id);
  ef_sync (&ef->a);
  g_assert_null (lia_test_host_dup_item (ef->a.host, filtered_hi->item_id));
  g_assert_false (is_mapped (ef, filtered_hi->item_id));
  g_assert_true (crm_exists (ef, LIA_ENTITY_CONTACT, filtered));
  after = lia_test_host_dup_item (ef->a.host, manual_item);
  g_assert_nonnull (after);
  g_assert_cmpint (after->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_true (is_mapped (ef, manual_item));
  g_clear_pointer (&after, lia_host_item_free);
  lia_clock_advance (ef->clock, EF_MINUTE);
  {
    /* Bob, its owner now, edits it. */
    g_autoptr (GError) error = NULL;
    g_autoptr (LiaCrmRecord) rec =
        lia_org_service_retrieve (ef->org, ef->bob, LIA_ENTITY_CONTACT, manual_hi->props.crm_id, &error);
    g_autoptr (LiaCrmRecord) stored = NULL;

    g_assert_no_error (error);
    g_assert_true (lia_item_set_text (lia_crm_record_get_item (rec), "job-title", "Buyer", NULL));
    stored = lia_org_service_update (ef->org, ef->bob, rec, &error);
    g_assert_no_error (error);
  }
  ef_sync (&ef->a);
  after = lia_test_host_dup_item (ef->a.host, manual_item);
  g_assert_cmpstr (lia_item_get_text (after->item, "job-title"), ==, "Buyer");
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "contacts"), ==, 1);
}

static void
test_in_email (Ef *ef, gconstpointer data)
{
  g_autoptr (LiaItem) mail = lia_item_new (LIA_ENTITY_EMAIL);
  g_autofree char *item_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) edited = NULL;
  g_autoptr (LiaHostItem) kept = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("R-DEL-IN-EMAIL, R-MAIL-TRACK: a CRM edit of a tracked email does not rewrite the host "
                  "message; deleting the email in CRM unlinks the message (state 0, no CRM id, no "
                  "mapping) and keeps it on the host");
  ef_sync (&ef->a);
  g_assert_true (lia_item_set_text (mail, "subject", "Quote for 40 chairs", NULL));
  item_id = track_by_hand (ef, LIA_ENTITY_EMAIL, mail);
  hi = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_true (is_mapped (ef, item_id));
  lia_clock_advance (ef->clock, EF_MINUTE);
  ef_crm_edit (ef, LIA_ENTITY_EMAIL, hi->props.crm_id, "subject", "Edited in CRM");
  ef_sync (&ef->a);
  edited = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_cmpstr (lia_item_get_text (edited->item, "subject"), ==, "Quote for 40 chairs");
  g_assert_cmpint (edited->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_true (is_mapped (ef, item_id));
  g_assert_true (lia_org_service_delete (ef->org, ef->alice, LIA_ENTITY_EMAIL, hi->props.crm_id, 0, &error));
  g_assert_no_error (error);
  ef_sync (&ef->a);
  kept = lia_test_host_dup_item (ef->a.host, item_id);
  g_assert_nonnull (kept);
  g_assert_cmpstr (lia_item_get_text (kept->item, "subject"), ==, "Quote for 40 chairs");
  g_assert_cmpint (kept->props.link_state, ==, LIA_LINK_STATE_NONE);
  g_assert_null (kept->props.crm_id);
  g_assert_false (is_mapped (ef, item_id));
  g_assert_cmpuint (lia_test_host_count_items (ef->a.host, LIA_TEST_STORE, "inbox"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, fn) g_test_add (path, Ef, NULL, ef_setup, fn, ef_teardown)
  ADD ("/engine/R-DEL-OUT-APPT/future-owner-deletes-crm", test_out_appt);
  ADD ("/engine/R-DEL-OUT-APPT/not-owner-keeps-crm", test_out_appt_not_owner);
  ADD ("/engine/R-DEL-OUT-TASK/open-deleted-completed-kept", test_out_task);
  ADD ("/engine/R-DEL-IN-APPT/future-deleted-past-unlinked", test_in_appt);
  ADD ("/engine/R-DEL-IN-TASK/open-deleted-completed-unlinked", test_in_task);
  ADD ("/engine/R-DEL-IN-FILTER/reassigned-leaves-manual-stays", test_in_filter);
  ADD ("/engine/R-DEL-IN-EMAIL/crm-delete-unlinks-message", test_in_email);
#undef ADD
  return g_test_run ();
}
