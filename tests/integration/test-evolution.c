/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "lia-crm-embedded.h"
#include "lia-evo-host.h"
#include "lia-org-service.h"
#include "lia-plugin-private.h"
#include "lia-test-eds.h"

/* The Evolution host adapter against a real evolution-data-server. main()
 * re-runs this program under dbus-run-session with HOME and every XDG dir
 * in a fresh temporary directory, so the bus activates a private
 * evolution-source-registry and address-book/calendar factories that die
 * with the bus; the temporary directory is removed afterwards. */

#define INNER_ENV "LIA_EVO_TEST_INNER"

typedef struct
{
  ESourceRegistry *registry;
  LiaEvoHost *host;
  GPtrArray *notes; /* "event item-id" strings */
  /* The engine end to end. */
  LiaClock *clock;
  LiaOrgService *org;
  char *token;
  LiaCrm *crm;
  LiaPlugin *plugin;
  char *cache_path;
} Fx;

static void
wait_for (GAsyncResult **res)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*res == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*res);
}

static void
got_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (res);
}

static void
iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

/* lia_item_identical() with the first differing field named, so a failed
 * round trip says what was lost. */
static void
assert_identical (const LiaItem *got, const LiaItem *want)
{
  guint n = 0;
  const LiaFieldInfo *list = lia_field_list (lia_item_get_entity (want), &n);

  g_assert_cmpstr (lia_entity_to_string (lia_item_get_entity (got)), ==,
                   lia_entity_to_string (lia_item_get_entity (want)));
  for (guint i = 0; i < n; i++)
    {
      LiaValue *a = lia_item_get_at (got, i);
      LiaValue *b = lia_item_get_at (want, i);

      if (!lia_value_identical (a, b))
        {
          g_autofree char *da = lia_value_to_display (a);
          g_autofree char *db = lia_value_to_display (b);
          g_autofree char *ta = g_strdup_printf (
              "%s: %s [%s]", list[i].name, da,
              a != NULL && lia_value_get_kind (a) == LIA_VALUE_DATETIME ? lia_value_get_tzid (a) : "");
          g_autofree char *tb = g_strdup_printf (
              "%s: %s [%s]", list[i].name, db,
              b != NULL && lia_value_get_kind (b) == LIA_VALUE_DATETIME ? lia_value_get_tzid (b) : "");

          g_assert_cmpstr (ta, ==, tb);
        }
    }
  g_assert_true (lia_item_identical (got, want));
}

/* Synchronous wrappers over the vtable, as the engine would call it. */
static const LiaHostVTable *
vt (void)
{
  return lia_evo_host_get_vtable ();
}

static GPtrArray *
host_contents (Fx *fx, LiaEntity entity)
{
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, entity);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *rows;

  vt ()->read_contents (fx->host, LIA_EVO_STORE, folder, 0, 1000, NULL, got_result, &res);
  wait_for (&res);
  rows = vt ()->read_contents_finish (fx->host, res, &error);
  g_assert_no_error (error);
  return rows;
}

static LiaHostItem *
host_read (Fx *fx, const char *item_id, GError **error)
{
  g_autoptr (GAsyncResult) res = NULL;

  vt ()->read_item (fx->host, LIA_EVO_STORE, item_id, NULL, got_result, &res);
  wait_for (&res);
  return vt ()->read_item_finish (fx->host, res, error);
}

static char *
host_create (Fx *fx, const LiaItem *item, const LiaHostProps *props)
{
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, lia_item_get_entity (item));
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;
  char *id;

  vt ()->create_item (fx->host, LIA_EVO_STORE, folder, item, props, NULL, got_result, &res);
  wait_for (&res);
  id = vt ()->create_item_finish (fx->host, res, &error);
  g_assert_no_error (error);
  return id;
}

static void
host_write (Fx *fx, const char *item_id, const LiaItem *fields, const LiaHostProps *props)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  vt ()->write_item (fx->host, LIA_EVO_STORE, item_id, fields, props, NULL, got_result, &res);
  wait_for (&res);
  g_assert_true (vt ()->write_item_finish (fx->host, res, &error));
  g_assert_no_error (error);
}

static gboolean
host_delete (Fx *fx, const char *item_id, GError **error)
{
  g_autoptr (GAsyncResult) res = NULL;

  vt ()->delete_item (fx->host, LIA_EVO_STORE, item_id, NULL, got_result, &res);
  wait_for (&res);
  return vt ()->delete_item_finish (fx->host, res, error);
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
empty_all (Fx *fx)
{
  const LiaEntity kinds[] = { LIA_ENTITY_CONTACT, LIA_ENTITY_APPOINTMENT, LIA_ENTITY_TASK };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr (GPtrArray) rows = host_contents (fx, kinds[k]);

      for (guint i = 0; i < rows->len; i++)
        {
          g_autoptr (GError) error = NULL;

          /* Detached instances go with their series: NOT_FOUND is fine. */
          if (!host_delete (fx, ((LiaHostRow *) g_ptr_array_index (rows, i))->item_id, &error))
            g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
        }
    }
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  fx->registry = e_source_registry_new_sync (NULL, &error);
  g_assert_no_error (error);
  /* Not lia_evo_host_new_sync() here: connecting waits for the source's
   * connection-status to turn CONNECTED, and ESource delivers that change
   * on the registry's main context, which is this thread's. Blocking it
   * made every connect run into its 30 s timeout (91 s per run). */
  lia_evo_host_new_async (fx->registry, NULL, got_result, &res);
  wait_for (&res);
  fx->host = lia_evo_host_new_finish (res, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->host);
  fx->notes = g_ptr_array_new_with_free_func (g_free);
  empty_all (fx);
}

static void
engine_stop (Fx *fx)
{
  if (fx->host != NULL)
    lia_evo_host_unwatch (fx->host);
  g_clear_pointer (&fx->plugin, lia_plugin_internal_funcs ()->unload);
  iterate_for (100);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
  engine_stop (fx);
  g_clear_object (&fx->crm);
  g_clear_pointer (&fx->org, lia_org_service_unref);
  g_clear_pointer (&fx->clock, lia_clock_unref);
  g_clear_pointer (&fx->token, g_free);
  g_clear_pointer (&fx->cache_path, g_free);
  g_clear_pointer (&fx->host, lia_evo_host_free);
  g_clear_pointer (&fx->notes, g_ptr_array_unref);
  g_clear_object (&fx->registry);
}

static LiaItem *
contact_item (const char *given, const char *family)
{
  LiaItem *item = lia_item_new (LIA_ENTITY_CONTACT);
  g_autofree char *full = g_strdup_printf ("%s %s", given, family);

  g_assert_true (lia_item_set_text (item, "given-name", given, NULL));
  g_assert_true (lia_item_set_text (item, "family-name", family, NULL));
  g_assert_true (lia_item_set_text (item, "full-name", full, NULL));
  return item;
}

static void
test_contacts_crud (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) item = contact_item ("Ada", "Lovelace");
  g_autoptr (LiaItem) changed = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) again = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  g_autoptr (LiaValue) birthday = lia_value_new_date (1815, 12, 10);
  g_autoptr (LiaValue) company = lia_value_new_reference (LIA_ENTITY_ACCOUNT, "acc-1", "Analytical Engines");

  g_test_summary ("A contact created through the adapter is in the address book's contents table, reads "
                  "back with the same fields (native vCard ones and the rest), is rewritten whole, and is "
                  "gone after a delete (NOT_FOUND)");
  g_assert_true (lia_item_set_text (item, "email-1", "ada@example.org", NULL));
  g_assert_true (lia_item_set_text (item, "children", "Byron, Annabella", NULL));
  g_assert_true (lia_item_set (item, "birthday", birthday, NULL));
  g_assert_true (lia_item_set (item, "company", company, NULL));
  id = host_create (fx, item, NULL);
  g_assert_true (g_str_has_prefix (id, "contact:"));
  rows = host_contents (fx, LIA_ENTITY_CONTACT);
  g_assert_true (rows_have (rows, id));
  hi = host_read (fx, id, &error);
  g_assert_no_error (error);
  g_assert_true (lia_item_equal (hi->item, item));
  g_assert_cmpint (hi->modified_at, >, 0);

  changed = lia_item_copy (item);
  g_assert_true (lia_item_set_text (changed, "job-title", "Analyst", NULL));
  g_assert_true (lia_item_set (changed, "birthday", NULL, NULL));
  host_write (fx, id, changed, NULL);
  again = host_read (fx, id, &error);
  g_assert_no_error (error);
  g_assert_true (lia_item_equal (again->item, changed));
  g_assert_true (host_delete (fx, id, &error));
  g_assert_no_error (error);
  g_clear_pointer (&hi, lia_host_item_free);
  hi = host_read (fx, id, &error);
  g_assert_null (hi);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
}

static LiaValue *
at (gint64 unix_s, const char *tzid)
{
  return lia_value_new_datetime (unix_s * G_USEC_PER_SEC, tzid);
}

static void
test_events_tasks (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) meet = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) day = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaValue) start = at (1772355600, "Europe/Berlin");
  g_autoptr (LiaValue) end = at (1772359200, "Europe/Berlin");
  g_autoptr (LiaValue) d0 = at (1772323200, NULL);
  g_autoptr (LiaValue) d1 = at (1772409600, NULL);
  g_autoptr (LiaValue) yes = lia_value_new_boolean (TRUE);
  g_autoptr (LiaValue) no = lia_value_new_boolean (FALSE);
  g_autoptr (LiaValue) busy = lia_value_new_enum ("tentative");
  g_autoptr (LiaValue) waiting = lia_value_new_enum ("waiting");
  g_autoptr (LiaValue) high = lia_value_new_enum ("high");
  g_autoptr (LiaValue) pct = lia_value_new_integer (40);
  g_autoptr (LiaValue) due = at (1772442000, "America/New_York");
  const char *ids_kinds[] = { "event:", "event:", "task:" };
  LiaItem *items[] = { meet, day, task };

  g_test_summary ("An appointment in a time zone, an all-day appointment (DATE values) and a task with a "
                  "status iCalendar lacks read back equal through VEVENT/VTODO, with the IANA zone kept");
  g_assert_true (lia_item_set_text (meet, "subject", "Planning \xc3\xa9t\xc3\xa9", NULL));
  g_assert_true (lia_item_set_text (meet, "location", "Room 1; Floor 2, \\ East", NULL));
  g_assert_true (lia_item_set (meet, "start", start, NULL));
  g_assert_true (lia_item_set (meet, "end", end, NULL));
  g_assert_true (lia_item_set (meet, "all-day", no, NULL));
  g_assert_true (lia_item_set (meet, "show-time-as", busy, NULL));
  g_assert_true (lia_item_set_text (day, "subject", "Holiday", NULL));
  g_assert_true (lia_item_set (day, "start", d0, NULL));
  g_assert_true (lia_item_set (day, "end", d1, NULL));
  g_assert_true (lia_item_set (day, "all-day", yes, NULL));
  g_assert_true (lia_item_set_text (task, "subject", "Send offer", NULL));
  g_assert_true (lia_item_set_text (task, "description", "line one\nline two", NULL));
  g_assert_true (lia_item_set (task, "status", waiting, NULL));
  g_assert_true (lia_item_set (task, "priority", high, NULL));
  g_assert_true (lia_item_set (task, "percent-complete", pct, NULL));
  g_assert_true (lia_item_set (task, "due", due, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autofree char *id = host_create (fx, items[i], NULL);
      g_autoptr (LiaHostItem) hi = NULL;
      g_autoptr (GPtrArray) rows = host_contents (fx, lia_item_get_entity (items[i]));
      g_autoptr (GError) error = NULL;

      g_assert_true (g_str_has_prefix (id, ids_kinds[i]));
      g_assert_true (rows_have (rows, id));
      hi = host_read (fx, id, &error);
      g_assert_no_error (error);
      assert_identical (hi->item, items[i]);
    }
}

static LiaHostItem *read_ok (Fx *fx, const char *id);

static ICalComponent *
eds_component (Fx *fx, const char *uid, const char *rid)
{
  ICalComponent *comp = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (
      e_cal_client_get_object_sync (lia_evo_host_get_calendar (fx->host), uid, rid, &comp, NULL, &error));
  g_assert_no_error (error);
  return comp;
}

static char *
prop_text (ICalComponent *comp, ICalPropertyKind kind)
{
  g_autoptr (GString) all = g_string_new ("");

  for (ICalProperty *p = i_cal_component_get_first_property (comp, kind); p != NULL;
       p = i_cal_component_get_next_property (comp, kind))
    {
      g_autofree char *text = i_cal_property_as_ical_string (p);
      g_auto (GStrv) folds = g_strsplit (text, "\r\n ", -1);
      g_autofree char *unfolded = g_strjoinv ("", folds);

      g_string_append (all, unfolded);
      g_object_unref (p);
    }
  return g_string_free (g_steal_pointer (&all), FALSE);
}

/* The user edits the series' RRULE in Evolution. */
static void
user_set_rrule (Fx *fx, const char *uid, const char *rrule)
{
  g_autoptr (ICalComponent) master = eds_component (fx, uid, NULL);
  g_autoptr (ICalRecurrence) r = i_cal_recurrence_new_from_string (rrule);
  g_autoptr (GError) error = NULL;
  ICalProperty *old;

  g_assert_nonnull (r);
  while ((old = i_cal_component_get_first_property (master, I_CAL_RRULE_PROPERTY)) != NULL)
    {
      i_cal_component_remove_property (master, old);
      g_object_unref (old);
    }
  i_cal_component_take_property (master, i_cal_property_new_rrule (r));
  g_assert_true (e_cal_client_modify_object_sync (lia_evo_host_get_calendar (fx->host), master,
                                                  E_CAL_OBJ_MOD_ALL, E_CAL_OPERATION_FLAG_NONE, NULL,
                                                  &error));
  g_assert_no_error (error);
}

static void
test_recurring (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) series = lia_item_new (LIA_ENTITY_RECURRING_APPOINTMENT);
  g_autoptr (LiaValue) start = at (1772438400, "Europe/Berlin"); /* Mon 2 March 2026, 09:00 Berlin */
  g_autoptr (LiaValue) end = at (1772442000, "Europe/Berlin");
  g_autoptr (LiaValue) no = lia_value_new_boolean (FALSE);
  const gint64 exdates[] = { G_GINT64_CONSTANT (1772611200) * G_USEC_PER_SEC }; /* Wed 4 March */
  LiaRecurrence rec = { LIA_RECUR_WEEKLY, 1, 6, 0, (1u << 0) | (1u << 2), 0, 0, 0, 0, exdates, 1 };
  g_autoptr (LiaValue) pattern = lia_value_new_recurrence (&rec);
  const LiaParty org[] = { { "boss@example.org", "The Boss", LIA_ENTITY_N, NULL } };
  const LiaParty req[] = { { "ada@example.org", "Ada L\xc3\xb6vel", LIA_ENTITY_CONTACT,
                             "6f1c0a52-1111-4222-8333-944455556666" },
                           { "bob@example.org", NULL, LIA_ENTITY_N, NULL } };
  const LiaParty opt[] = { { NULL, "Someone Without Mail", LIA_ENTITY_N, NULL } };
  g_autoptr (LiaValue) organizer = lia_value_new_party_list (org, 1);
  g_autoptr (LiaValue) required = lia_value_new_party_list (req, 2);
  g_autoptr (LiaValue) optional = lia_value_new_party_list (opt, 1);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaHostItem) user_edited = NULL;
  g_autoptr (LiaHostItem) rich = NULL;
  g_autoptr (LiaHostItem) inst = NULL;
  g_autoptr (LiaHostItem) master_after = NULL;
  g_autoptr (ICalComponent) master = NULL;
  g_autoptr (ICalComponent) detached = NULL;
  g_autoptr (ICalTime) rid = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *rrule = NULL;
  g_autofree char *exdate = NULL;
  g_autofree char *attendees = NULL;
  g_autofree char *organizer_text = NULL;
  g_autofree char *inst_id = NULL;
  g_autoptr (LiaItem) renamed = NULL;

  g_test_summary (
      "A weekly series in Europe/Berlin with an EXDATE, an organizer and required/optional attendees "
      "is written as native RRULE/EXDATE/ORGANIZER/ATTENDEE (ROLE, CN), reads back identical "
      "(CRM resolution of attendees included), follows a user's RRULE edit, keeps the last written "
      "pattern when the user's RRULE is richer than LiaRecurrence; a detached instance made in "
      "Evolution is its own row and item, written and deleted alone");
  g_assert_nonnull (pattern);
  g_assert_true (lia_item_set_text (series, "subject", "Standup", NULL));
  g_assert_true (lia_item_set (series, "start", start, NULL));
  g_assert_true (lia_item_set (series, "end", end, NULL));
  g_assert_true (lia_item_set (series, "all-day", no, NULL));
  g_assert_true (lia_item_set (series, "recurrence", pattern, NULL));
  g_assert_true (lia_item_set (series, "organizer", organizer, NULL));
  g_assert_true (lia_item_set (series, "required-attendees", required, NULL));
  g_assert_true (lia_item_set (series, "optional-attendees", optional, NULL));
  id = host_create (fx, series, NULL);
  uid = g_strdup (id + strlen ("event:"));
  hi = read_ok (fx, id);
  assert_identical (hi->item, series);

  /* Native, so Evolution shows and expands the series and its people. */
  master = eds_component (fx, uid, NULL);
  rrule = prop_text (master, I_CAL_RRULE_PROPERTY);
  exdate = prop_text (master, I_CAL_EXDATE_PROPERTY);
  attendees = prop_text (master, I_CAL_ATTENDEE_PROPERTY);
  organizer_text = prop_text (master, I_CAL_ORGANIZER_PROPERTY);
  g_assert_nonnull (strstr (rrule, "FREQ=WEEKLY"));
  g_assert_nonnull (strstr (rrule, "COUNT=6"));
  g_assert_nonnull (strstr (rrule, "BYDAY=MO,WE"));
  g_assert_nonnull (strstr (exdate, "TZID=/freeassociation.sourceforge.net/Europe/Berlin:20260304T090000"));
  g_assert_nonnull (strstr (attendees, "ROLE=REQ-PARTICIPANT:mailto:bob@example.org"));
  g_assert_nonnull (strstr (attendees, "ROLE=OPT-PARTICIPANT"));
  g_assert_nonnull (strstr (attendees, "CN=Someone Without Mail"));
  g_assert_nonnull (strstr (organizer_text, "CN=The Boss:mailto:boss@example.org"));

  /* The user shortens the series in Evolution: the native RRULE wins. */
  user_set_rrule (fx, uid, "FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE");
  user_edited = read_ok (fx, id);
  g_assert_cmpuint (lia_value_get_recurrence (lia_item_get (user_edited->item, "recurrence"))->count, ==, 4);
  g_assert_cmpuint (lia_value_get_recurrence (lia_item_get (user_edited->item, "recurrence"))->n_exdates, ==,
                    1);
  /* An RRULE LiaRecurrence cannot hold (two BYHOURs) is not dropped to
   * "no pattern": the item keeps the pattern the adapter last wrote. */
  user_set_rrule (fx, uid, "FREQ=DAILY;BYHOUR=9,15");
  rich = read_ok (fx, id);
  g_assert_true (lia_value_identical (lia_item_get (rich->item, "recurrence"), pattern));
  host_write (fx, id, series, NULL);

  /* Evolution detaches Mon 9 March: moved one hour later, renamed. */
  g_clear_object (&master);
  master = eds_component (fx, uid, NULL);
  detached = i_cal_component_clone (master);
  for (ICalPropertyKind k = I_CAL_RRULE_PROPERTY; k != I_CAL_NO_PROPERTY;
       k = k == I_CAL_RRULE_PROPERTY ? I_CAL_EXDATE_PROPERTY : I_CAL_NO_PROPERTY)
    {
      ICalProperty *p;

      while ((p = i_cal_component_get_first_property (detached, k)) != NULL)
        {
          i_cal_component_remove_property (detached, p);
          g_object_unref (p);
        }
    }
  rid = i_cal_time_new_from_timet_with_zone (1773043200, FALSE,
                                             i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));
  i_cal_time_set_timezone (rid, i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));
  {
    ICalProperty *p = i_cal_property_new_recurrenceid (rid);
    g_autoptr (ICalTime) s2 = i_cal_time_new_from_timet_with_zone (
        1773046800, FALSE, i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));
    g_autoptr (ICalTime) e2 = i_cal_time_new_from_timet_with_zone (
        1773050400, FALSE, i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));

    i_cal_property_take_parameter (
        p, i_cal_parameter_new_tzid ("/freeassociation.sourceforge.net/Europe/Berlin"));
    i_cal_component_take_property (detached, p);
    i_cal_time_set_timezone (s2, i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));
    i_cal_time_set_timezone (e2, i_cal_timezone_get_builtin_timezone ("Europe/Berlin"));
    i_cal_component_set_dtstart (detached, s2);
    i_cal_component_set_dtend (detached, e2);
  }
  i_cal_component_set_summary (detached, "Standup (moved)");
  g_assert_true (e_cal_client_modify_object_sync (lia_evo_host_get_calendar (fx->host), detached,
                                                  E_CAL_OBJ_MOD_THIS, E_CAL_OPERATION_FLAG_NONE, NULL,
                                                  &error));
  g_assert_no_error (error);

  rows = host_contents (fx, LIA_ENTITY_APPOINTMENT);
  g_assert_true (rows_have (rows, id));
  for (guint i = 0; i < rows->len; i++)
    {
      const char *rid_id = ((LiaHostRow *) g_ptr_array_index (rows, i))->item_id;

      if (g_str_has_prefix (rid_id, id) && strstr (rid_id, ";RECURRENCE-ID=") != NULL)
        inst_id = g_strdup (rid_id);
    }
  g_assert_nonnull (inst_id);
  g_assert_nonnull (strstr (inst_id, "20260309T090000"));
  inst = read_ok (fx, inst_id);
  g_assert_cmpint (lia_item_get_entity (inst->item), ==, LIA_ENTITY_APPOINTMENT);
  g_assert_cmpstr (lia_item_get_text (inst->item, "subject"), ==, "Standup (moved)");
  g_assert_cmpint (lia_value_get_instant (lia_item_get (inst->item, "start")), ==,
                   G_GINT64_CONSTANT (1773046800) * G_USEC_PER_SEC);
  g_assert_cmpstr (lia_value_get_tzid (lia_item_get (inst->item, "start")), ==, "Europe/Berlin");

  /* Written alone: the series keeps its subject and its pattern. */
  renamed = lia_item_copy (inst->item);
  g_assert_true (lia_item_set_text (renamed, "subject", "Standup (renamed)", NULL));
  host_write (fx, inst_id, renamed, NULL);
  g_clear_pointer (&inst, lia_host_item_free);
  inst = read_ok (fx, inst_id);
  g_assert_cmpstr (lia_item_get_text (inst->item, "subject"), ==, "Standup (renamed)");
  master_after = read_ok (fx, id);
  assert_identical (master_after->item, series);

  /* Deleted alone: the series stays. */
  g_assert_true (host_delete (fx, inst_id, &error));
  g_assert_no_error (error);
  g_clear_pointer (&inst, lia_host_item_free);
  inst = host_read (fx, inst_id, &error);
  g_assert_null (inst);
  g_assert_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&master_after, lia_host_item_free);
  master_after = read_ok (fx, id);
  g_assert_cmpstr (lia_item_get_text (master_after->item, "subject"), ==, "Standup");
}

static void
test_all_day_series (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) series = lia_item_new (LIA_ENTITY_RECURRING_APPOINTMENT);
  g_autoptr (LiaValue) d0 = at (1777593600, NULL); /* 1 May 2026 */
  g_autoptr (LiaValue) d1 = at (1777680000, NULL);
  g_autoptr (LiaValue) yes = lia_value_new_boolean (TRUE);
  const gint64 exdates[] = { G_GINT64_CONSTANT (1777680000) * G_USEC_PER_SEC };
  LiaRecurrence rec = { LIA_RECUR_DAILY, 2, 0, G_GINT64_CONSTANT (1778371200) * G_USEC_PER_SEC, 0, 0, 0, 0, 6,
                        exdates,         1 };
  g_autoptr (LiaValue) pattern = lia_value_new_recurrence (&rec);
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (ICalComponent) master = NULL;
  g_autofree char *id = NULL;
  g_autofree char *rrule = NULL;
  g_autofree char *exdate = NULL;

  g_test_summary ("An all-day series (DATE start/end) ending on a date, with a week start and an EXDATE, is "
                  "written as RRULE with a DATE UNTIL and a DATE EXDATE and reads back identical");
  g_assert_true (lia_item_set_text (series, "subject", "Conference", NULL));
  g_assert_true (lia_item_set (series, "start", d0, NULL));
  g_assert_true (lia_item_set (series, "end", d1, NULL));
  g_assert_true (lia_item_set (series, "all-day", yes, NULL));
  g_assert_true (lia_item_set (series, "recurrence", pattern, NULL));
  id = host_create (fx, series, NULL);
  hi = read_ok (fx, id);
  assert_identical (hi->item, series);
  master = eds_component (fx, id + strlen ("event:"), NULL);
  rrule = prop_text (master, I_CAL_RRULE_PROPERTY);
  exdate = prop_text (master, I_CAL_EXDATE_PROPERTY);
  g_assert_nonnull (strstr (rrule, "FREQ=DAILY"));
  g_assert_nonnull (strstr (rrule, "UNTIL=20260510;"));
  g_assert_nonnull (strstr (rrule, "INTERVAL=2"));
  g_assert_nonnull (strstr (rrule, "WKST=SU"));
  g_assert_nonnull (strstr (exdate, "VALUE=DATE:20260502"));
}

static void
test_named_props (Fx *fx, gconstpointer data)
{
  const char *tricky = "<original a=\"1\">\n  x; y, z \\ \xe2\x82\xac\n</original>";
  const LiaEntity kinds[] = { LIA_ENTITY_CONTACT, LIA_ENTITY_TASK, LIA_ENTITY_APPOINTMENT };

  g_test_summary ("Named properties (link-state, crm-id, crm-org, original, regarding) survive a round trip "
                  "through vCard and iCalendar, newlines, backslashes and non-ASCII included; the contents "
                  "table shows link-state and crm-id");
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr (LiaItem) item = lia_item_new (kinds[k]);
      g_auto (LiaHostProps) props = { 0 };
      g_auto (LiaHostProps) clear = { 0 };
      g_autoptr (LiaHostItem) hi = NULL;
      g_autoptr (LiaHostItem) after = NULL;
      g_autoptr (GPtrArray) rows = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *id = NULL;

      g_assert_true (
          lia_item_set_text (item, kinds[k] == LIA_ENTITY_CONTACT ? "full-name" : "subject", "Props", NULL));
      id = host_create (fx, item, NULL);
      lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "6f1c0a52-1111-4222-8333-944455556666");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ORG, "Org, \"quoted\"");
      lia_host_props_set (&props, LIA_HOST_PROP_ORIGINAL, tricky);
      lia_host_props_set (&props, LIA_HOST_PROP_REGARDING, "acc-9");
      props.regarding_name = g_strdup ("M\xc3\xbcller & Co;\nGmbH");
      host_write (fx, id, NULL, &props);
      hi = host_read (fx, id, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hi->props.mask, ==, props.mask);
      g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
      g_assert_cmpstr (hi->props.crm_id, ==, props.crm_id);
      g_assert_cmpstr (hi->props.crm_org, ==, props.crm_org);
      g_assert_cmpstr (hi->props.original, ==, tricky);
      g_assert_cmpstr (hi->props.regarding_id, ==, "acc-9");
      g_assert_cmpstr (hi->props.regarding_name, ==, props.regarding_name);
      assert_identical (hi->item, item);
      rows = host_contents (fx, kinds[k]);
      for (guint i = 0; i < rows->len; i++)
        {
          LiaHostRow *r = g_ptr_array_index (rows, i);

          if (g_str_equal (r->item_id, id))
            {
              g_assert_cmpint (r->link_state, ==, LIA_LINK_STATE_TRACKED);
              g_assert_cmpstr (r->crm_id, ==, props.crm_id);
            }
        }
      /* NULL with the bit set clears. */
      lia_host_props_set (&clear, LIA_HOST_PROP_ORIGINAL, NULL);
      host_write (fx, id, NULL, &clear);
      after = host_read (fx, id, &error);
      g_assert_no_error (error);
      g_assert_false (after->props.mask & (1u << LIA_HOST_PROP_ORIGINAL));
      g_assert_cmpstr (after->props.crm_id, ==, props.crm_id);
    }
}

static void
on_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_ptr_array_add (fx->notes, g_strdup_printf ("%s %s", lia_host_event_to_string (n->event), n->item_id));
}

static gboolean
notes_have (Fx *fx, const char *event, const char *item_id)
{
  g_autofree char *want = g_strdup_printf ("%s %s", event, item_id);
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      for (guint i = 0; i < fx->notes->len; i++)
        if (g_str_equal (g_ptr_array_index (fx->notes, i), want))
          return TRUE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return FALSE;
}

static void
watch (Fx *fx, LiaEvoNotifyFunc func, gpointer data)
{
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  lia_evo_host_watch_async (fx->host, func, data, NULL, got_result, &res);
  wait_for (&res);
  g_assert_true (lia_evo_host_watch_finish (fx->host, res, &error));
  g_assert_no_error (error);
}

static void
test_notifications (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) item = contact_item ("Nia", "Notify");
  g_autoptr (EContact) contact = e_contact_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *id = NULL;
  g_autofree char *mine = NULL;
  ICalComponent *todo = i_cal_component_new (I_CAL_VTODO_COMPONENT);
  g_autofree char *task_uid = NULL;
  g_autofree char *task_id = NULL;

  g_test_summary ("Changes made by another EDS client arrive as created/modified/deleted notifications "
                  "from the client views; the adapter's own writes do not echo back");
  watch (fx, on_note, fx);
  e_contact_set (contact, E_CONTACT_FULL_NAME, "Other Writer");
  g_assert_true (e_book_client_add_contact_sync (lia_evo_host_get_book (fx->host), contact,
                                                 E_BOOK_OPERATION_FLAG_NONE, &uid, NULL, &error));
  g_assert_no_error (error);
  id = lia_evo_item_id_for_contact (uid);
  g_assert_true (notes_have (fx, "created", id));
  e_contact_set (contact, E_CONTACT_UID, uid);
  e_contact_set (contact, E_CONTACT_NICKNAME, "Otto");
  g_assert_true (e_book_client_modify_contact_sync (lia_evo_host_get_book (fx->host), contact,
                                                    E_BOOK_OPERATION_FLAG_NONE, NULL, &error));
  g_assert_true (notes_have (fx, "modified", id));
  i_cal_component_set_summary (todo, "Someone's task");
  i_cal_component_set_uid (todo, "task-notify-1");
  g_assert_true (e_cal_client_create_object_sync (lia_evo_host_get_tasks (fx->host), todo,
                                                  E_CAL_OPERATION_FLAG_NONE, &task_uid, NULL, &error));
  g_object_unref (todo);
  g_assert_no_error (error);
  task_id = lia_evo_item_id_for_component (E_CAL_CLIENT_SOURCE_TYPE_TASKS, task_uid, NULL);
  g_assert_true (notes_have (fx, "created", task_id));
  g_assert_true (e_cal_client_remove_object_sync (lia_evo_host_get_tasks (fx->host), task_uid, NULL,
                                                  E_CAL_OBJ_MOD_ALL, E_CAL_OPERATION_FLAG_NONE, NULL,
                                                  &error));
  g_assert_true (notes_have (fx, "deleted", task_id));

  /* Ours: created, written and deleted through the vtable. */
  mine = host_create (fx, item, NULL);
  host_write (fx, mine, item, NULL);
  g_assert_true (host_delete (fx, mine, &error));
  iterate_for (1500);
  for (guint i = 0; i < fx->notes->len; i++)
    g_assert_null (strstr (g_ptr_array_index (fx->notes, i), mine));
  lia_evo_host_unwatch (fx->host);
}

static LiaHostItem *
read_ok_plain (Fx *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaHostItem *hi = host_read (fx, id, &error);

  g_assert_no_error (error);
  return hi;
}

/* Creates handed over together go to EDS in one add_contacts call
 * (lia-evo-host.c, "Contact creates in batches"); each still completes
 * with its own id, its fields and link properties, and no echo. */
typedef struct
{
  Fx *fx;
  GPtrArray *ids;
  guint left;
} Together;

static void
together_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Together *t = user_data;
  g_autoptr (GError) error = NULL;
  char *id = vt ()->create_item_finish (t->fx->host, res, &error);

  g_assert_no_error (error);
  g_ptr_array_add (t->ids, id);
  t->left--;
}

static void
test_batched_creates (Fx *fx, gconstpointer data)
{
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  Together t = { fx, g_ptr_array_new_with_free_func (g_free), 0 };
  g_autoptr (GHashTable) distinct = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) rows = NULL;
  const guint n = 60;

  g_test_summary ("60 contact creates handed over at once (one EDS add_contacts call) each complete with "
                  "their own id; every contact reads back with its fields and CRM id, and none echoes "
                  "back as a notification");
  watch (fx, on_note, fx);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *given = g_strdup_printf ("Batch%02u", i);
      g_autofree char *crm_id = g_strdup_printf ("crm-batch-%02u", i);
      g_autoptr (LiaItem) item = contact_item (given, "Together");
      g_auto (LiaHostProps) props = { 0 };

      lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, crm_id);
      t.left++;
      vt ()->create_item (fx->host, LIA_EVO_STORE, folder, item, &props, NULL, together_done, &t);
    }
  while (t.left > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (t.ids->len, ==, n);
  rows = host_contents (fx, LIA_ENTITY_CONTACT);
  for (guint i = 0; i < n; i++)
    {
      const char *id = g_ptr_array_index (t.ids, i);
      g_autoptr (LiaHostItem) hi = read_ok_plain (fx, id);
      const char *given = lia_item_get_text (hi->item, "given-name");
      g_autofree char *want_crm = g_strdup_printf ("crm-batch-%s", given + strlen ("Batch"));

      g_assert_true (g_hash_table_add (distinct, (gpointer) id));
      g_assert_true (rows_have (rows, id));
      g_assert_true (g_str_has_prefix (given, "Batch"));
      g_assert_cmpstr (lia_item_get_text (hi->item, "family-name"), ==, "Together");
      g_assert_cmpstr (hi->props.crm_id, ==, want_crm);
      g_assert_cmpint (hi->props.link_state, ==, LIA_LINK_STATE_TRACKED);
    }
  iterate_for (1000);
  for (guint i = 0; i < fx->notes->len; i++)
    g_assert_null (strstr (g_ptr_array_index (fx->notes, i), "contact:"));
  lia_evo_host_unwatch (fx->host);
  g_ptr_array_unref (t.ids);
}

/* R-DET-NOTIFY while the adapter creates in bulk: the echoes of its own
 * creates are swallowed without reading them (lia-evo-host.c, on_contacts),
 * and what another writer does meanwhile still arrives, including a
 * delete of one of those new contacts with the link state it was created
 * with. */
static void
on_note_state (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  g_ptr_array_add (fx->notes, g_strdup_printf ("%s %s %d", lia_host_event_to_string (n->event), n->item_id,
                                               (int) n->link_state));
}

static void user_edit_contact (Fx *fx, const char *item_id, EContactField field, const char *text);

/* Waits for a note "EVENT ITEM-ID STATE" (on_note_state) as notes_have does. */
static gboolean
notes_have_state (Fx *fx, const char *event, const char *item_id)
{
  g_autofree char *want = g_strdup_printf ("%s %s ", event, item_id);
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      for (guint i = 0; i < fx->notes->len; i++)
        if (g_str_has_prefix (g_ptr_array_index (fx->notes, i), want))
          return TRUE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return FALSE;
}

static guint
notes_about (Fx *fx, const char *item_id)
{
  g_autofree char *needle = g_strdup_printf (" %s ", item_id);
  guint count = 0;

  for (guint i = 0; i < fx->notes->len; i++)
    if (strstr (g_ptr_array_index (fx->notes, i), needle) != NULL)
      count++;
  return count;
}

static void
test_notify_during_bulk_create (Fx *fx, gconstpointer data)
{
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  EBookClient *book = lia_evo_host_get_book (fx->host);
  Together t = { fx, g_ptr_array_new_with_free_func (g_free), 0 };
  g_autoptr (LiaItem) first_item = contact_item ("Early", "Bulk");
  g_auto (LiaHostProps) props = { 0 };
  g_autoptr (EContact) other = e_contact_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *other_uid = NULL;
  g_autofree char *other_id = NULL;
  g_autofree char *want = NULL;
  const char *edited;
  const char *deleted;
  const guint n = 250;

  g_test_summary ("R-DET-NOTIFY: while 250 contact creates are handed over at once, another writer's add "
                  "and modify arrive as notifications; right after, its modify and delete of two of the new "
                  "contacts arrive too (the delete with the link state they were created with), and none "
                  "of the adapter's own creates echoes back");
  watch (fx, on_note_state, fx);
  lia_host_props_set (&props, LIA_HOST_PROP_LINK_STATE, "2");
  lia_host_props_set (&props, LIA_HOST_PROP_CRM_ID, "crm-bulk-early");
  first = host_create (fx, first_item, &props);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *given = g_strdup_printf ("Bulk%03u", i);
      g_autofree char *crm_id = g_strdup_printf ("crm-bulk-%03u", i);
      g_autoptr (LiaItem) item = contact_item (given, "Bulk");
      g_auto (LiaHostProps) bulk = { 0 };

      lia_host_props_set (&bulk, LIA_HOST_PROP_LINK_STATE, "2");
      lia_host_props_set (&bulk, LIA_HOST_PROP_CRM_ID, crm_id);
      t.left++;
      vt ()->create_item (fx->host, LIA_EVO_STORE, folder, item, &bulk, NULL, together_done, &t);
    }
  /* The batch goes to EDS when the main context goes idle: the other
   * writer's add and modify go while it is in flight. */
  g_main_context_iteration (NULL, FALSE);
  e_contact_set (other, E_CONTACT_FULL_NAME, "Other Writer");
  g_assert_true (
      e_book_client_add_contact_sync (book, other, E_BOOK_OPERATION_FLAG_NONE, &other_uid, NULL, &error));
  g_assert_no_error (error);
  other_id = lia_evo_item_id_for_contact (other_uid);
  user_edit_contact (fx, first, E_CONTACT_NICKNAME, "During");
  while (t.left > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (t.ids->len, ==, n);

  /* At once, before the batch's echoes need have arrived. */
  edited = g_ptr_array_index (t.ids, 5);
  deleted = g_ptr_array_index (t.ids, 7);
  user_edit_contact (fx, edited, E_CONTACT_NICKNAME, "Right-after");
  g_assert_true (e_book_client_remove_contact_by_uid_sync (book, deleted + strlen ("contact:"),
                                                           E_BOOK_OPERATION_FLAG_NONE, NULL, &error));
  g_assert_no_error (error);

  want = g_strdup_printf ("created %s 0", other_id);
  g_assert_true (notes_have_state (fx, "created", other_id));
  g_assert_true (notes_have_state (fx, "modified", first));
  g_assert_true (notes_have_state (fx, "modified", edited));
  g_assert_true (notes_have_state (fx, "deleted", deleted));
  iterate_for (1000);
  g_assert_cmpuint (notes_about (fx, first), ==, 1);
  g_assert_cmpuint (notes_about (fx, edited), ==, 1);
  g_assert_cmpuint (notes_about (fx, deleted), ==, 1);
  for (guint i = 0; i < fx->notes->len; i++)
    {
      const char *note = g_ptr_array_index (fx->notes, i);

      if (g_str_has_prefix (note, "deleted "))
        {
          g_autofree char *tracked = g_strdup_printf ("deleted %s %d", deleted, (int) LIA_LINK_STATE_TRACKED);

          g_assert_cmpstr (note, ==, tracked);
        }
      else if (g_str_has_prefix (note, "created "))
        g_assert_cmpstr (note, ==, want);
    }
  for (guint i = 0; i < n; i++)
    if (i != 5 && i != 7)
      g_assert_cmpuint (notes_about (fx, g_ptr_array_index (t.ids, i)), ==, 0);
  lia_evo_host_unwatch (fx->host);
  g_ptr_array_unref (t.ids);
}

/* ---- The engine end to end ---- */

static void
on_engine_note (const LiaHostNotification *n, gpointer user_data)
{
  Fx *fx = user_data;

  if (fx->plugin != NULL)
    lia_plugin_internal_funcs ()->notify (fx->plugin, n);
}

static void
engine_start (Fx *fx)
{
  LiaPluginConfig config = { LIA_PLUGIN_ABI_VERSION };
  g_autoptr (GError) error = NULL;

  if (fx->org == NULL)
    {
      g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "liaison-evo", NULL);
      g_autofree char *org_path = g_build_filename (dir, "org.db", NULL);

      g_mkdir_with_parents (dir, 0700);
      fx->clock = lia_clock_new_system ();
      fx->org = lia_org_service_open (org_path, fx->clock, &error);
      g_assert_no_error (error);
      g_assert_true (
          lia_org_service_add_user (fx->org, "alice", "alice@example.org", FALSE, &fx->token, &error));
      fx->crm = lia_crm_embedded_new_for_service (fx->org, fx->token);
      fx->cache_path = g_build_filename (dir, "cache.db", NULL);
    }
  config.cache_path = fx->cache_path;
  config.crm = fx->crm;
  config.org_name = "test-org";
  config.client_name = "alice-evolution";
  config.clock = fx->clock;
  watch (fx, on_engine_note, fx);
  fx->plugin = lia_plugin_internal_funcs ()->load (&config, vt (), fx->host, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->plugin);
}

static void
engine_sync (Fx *fx)
{
  LiaEngine *engine = lia_plugin_get_engine (fx->plugin);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GError) error = NULL;

  lia_engine_sync_async (engine, NULL, got_result, &res);
  wait_for (&res);
  g_assert_true (lia_engine_sync_finish (engine, res, &error));
  g_assert_no_error (error);
  iterate_for (200);
}

static void
track (Fx *fx, const char *item_id, LiaEntity entity)
{
  LiaCommand cmd = { LIA_PLUGIN_ABI_VERSION, LIA_COMMAND_TRACK, LIA_SURFACE_EXPLORER };
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, entity);

  cmd.store = LIA_EVO_STORE;
  cmd.folder = folder;
  cmd.item_id = item_id;
  cmd.entity = entity;
  cmd.link_state = LIA_LINK_STATE_NONE;
  g_assert_true (lia_plugin_internal_funcs ()->command (fx->plugin, &cmd, &error));
  g_assert_no_error (error);
  iterate_for (300);
}

static LiaCrmRecord *
crm_get (Fx *fx, LiaEntity entity, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaCrmRecord *rec = lia_crm_retrieve_sync (fx->crm, entity, id, NULL, &error);

  g_assert_no_error (error);
  return rec;
}

static void
crm_edit (Fx *fx, LiaEntity entity, const char *id, const char *field, const char *text)
{
  g_autoptr (LiaCrmRecord) rec = crm_get (fx, entity, id);
  g_autoptr (LiaCrmRecord) stored = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lia_item_set_text (lia_crm_record_get_item (rec), field, text, NULL));
  stored = lia_crm_update_sync (fx->crm, rec, NULL, &error);
  g_assert_no_error (error);
}

/* What a user does in Evolution: edit one field of a contact. */
static void
user_edit_contact (Fx *fx, const char *item_id, EContactField field, const char *text)
{
  EBookClient *book = lia_evo_host_get_book (fx->host);
  g_autoptr (EContact) contact = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (
      e_book_client_get_contact_sync (book, item_id + strlen ("contact:"), &contact, NULL, &error));
  e_contact_set (contact, field, text);
  g_assert_true (e_book_client_modify_contact_sync (book, contact, E_BOOK_OPERATION_FLAG_NONE, NULL, &error));
  g_assert_no_error (error);
}

static LiaHostItem *
read_ok (Fx *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  LiaHostItem *hi = host_read (fx, id, &error);

  g_assert_no_error (error);
  return hi;
}

static void
test_engine_two_way (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) contact = contact_item ("Tom", "Track");
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autofree char *cid = NULL;
  g_autofree char *tid = NULL;
  g_autoptr (LiaHostItem) hc = NULL;
  g_autoptr (LiaHostItem) ht = NULL;
  g_autoptr (LiaHostItem) hc2 = NULL;
  g_autoptr (LiaCrmRecord) rc = NULL;
  g_autoptr (LiaCrmRecord) rt = NULL;
  g_autoptr (LiaCrmRecord) rc2 = NULL;

  g_test_summary ("The engine through the adapter: a tracked contact and task reach CRM, a CRM change "
                  "reaches EDS and an EDS change reaches CRM");
  engine_start (fx);
  engine_sync (fx);
  g_assert_true (lia_item_set_text (task, "subject", "Prepare offer", NULL));
  cid = host_create (fx, contact, NULL);
  tid = host_create (fx, task, NULL);
  track (fx, cid, LIA_ENTITY_CONTACT);
  track (fx, tid, LIA_ENTITY_TASK);
  engine_sync (fx);
  hc = read_ok (fx, cid);
  ht = read_ok (fx, tid);
  g_assert_cmpint (hc->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_cmpint (ht->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  g_assert_nonnull (hc->props.crm_id);
  rc = crm_get (fx, LIA_ENTITY_CONTACT, hc->props.crm_id);
  rt = crm_get (fx, LIA_ENTITY_TASK, ht->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rc), "family-name"), ==, "Track");
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rt), "subject"), ==, "Prepare offer");

  /* REV and LAST-MODIFIED have one-second resolution. */
  g_usleep (1100 * 1000);
  crm_edit (fx, LIA_ENTITY_CONTACT, hc->props.crm_id, "job-title", "Buyer");
  user_edit_contact (fx, cid, E_CONTACT_NICKNAME, "Tommy");
  iterate_for (500);
  engine_sync (fx);
  engine_sync (fx);
  hc2 = read_ok (fx, cid);
  g_assert_cmpstr (lia_item_get_text (hc2->item, "job-title"), ==, "Buyer");
  g_assert_cmpstr (lia_item_get_text (hc2->item, "nickname"), ==, "Tommy");
  rc2 = crm_get (fx, LIA_ENTITY_CONTACT, hc->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rc2), "nickname"), ==, "Tommy");
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rc2), "job-title"), ==, "Buyer");
}

static void
test_engine_offline (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) contact = contact_item ("Otto", "Offline");
  g_autofree char *cid = NULL;
  g_autofree char *gone = NULL;
  g_autoptr (LiaHostItem) hc = NULL;
  g_autoptr (LiaHostItem) hg = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (LiaCrmRecord) kept = NULL;
  g_autoptr (LiaItem) other = contact_item ("Dora", "Deleted");
  g_autoptr (GError) error = NULL;
  LiaCache *cache;
  gint64 until;

  g_test_summary ("R-DET-SCAN-STARTUP, R-DET-DELETES: an EDS change made while no engine ran is found by the "
                  "scan at start; a tracked contact deleted meanwhile is reconciled (mapping dropped, CRM "
                  "record kept)");
  engine_start (fx);
  engine_sync (fx);
  cid = host_create (fx, contact, NULL);
  gone = host_create (fx, other, NULL);
  track (fx, cid, LIA_ENTITY_CONTACT);
  track (fx, gone, LIA_ENTITY_CONTACT);
  engine_sync (fx);
  hc = read_ok (fx, cid);
  hg = read_ok (fx, gone);
  g_assert_cmpint (hg->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  engine_stop (fx);

  g_usleep (1100 * 1000);
  user_edit_contact (fx, cid, E_CONTACT_TITLE, "While away");
  g_assert_true (e_book_client_remove_contact_by_uid_sync (lia_evo_host_get_book (fx->host),
                                                           gone + strlen ("contact:"),
                                                           E_BOOK_OPERATION_FLAG_NONE, NULL, &error));
  g_assert_no_error (error);

  engine_start (fx);
  until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  for (;;)
    {
      g_auto (LiaSyncStatus) status = { 0 };

      lia_plugin_internal_funcs ()->get_status (fx->plugin, &status);
      if (status.cycles >= 1 || g_get_monotonic_time () > until)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  rec = crm_get (fx, LIA_ENTITY_CONTACT, hc->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "job-title"), ==, "While away");
  engine_sync (fx);
  cache = lia_engine_get_cache (lia_plugin_get_engine (fx->plugin));
  g_assert_null (lia_cache_lookup_crm (cache, LIA_EVO_STORE, LIA_ENTITY_CONTACT, hg->props.crm_id, NULL));
  kept = crm_get (fx, LIA_ENTITY_CONTACT, hg->props.crm_id);
  g_assert_nonnull (kept);
}

static guint
rows_with_crm_id (Fx *fx, const char *crm_id)
{
  g_autoptr (GPtrArray) rows = host_contents (fx, LIA_ENTITY_CONTACT);
  guint n = 0;

  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (((LiaHostRow *) g_ptr_array_index (rows, i))->crm_id, crm_id) == 0)
      n++;
  return n;
}

static void
test_engine_no_duplicates (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) contact = contact_item ("Dana", "Single");
  g_autofree char *cid = NULL;
  g_autoptr (LiaHostItem) hc = NULL;
  g_autoptr (LiaCacheMapping) mapping = NULL;
  g_autoptr (GError) error = NULL;
  const char *suffixes[] = { "", "-wal", "-shm" };

  g_test_summary ("R-DUP-NONE on real EDS: a tracked contact stays one EDS contact over repeated syncs and "
                  "after the sync cache is lost, because the host item carries its CRM id and the rebuilt "
                  "cache relinks it instead of creating a second one");
  engine_start (fx);
  engine_sync (fx);
  cid = host_create (fx, contact, NULL);
  track (fx, cid, LIA_ENTITY_CONTACT);
  engine_sync (fx);
  hc = read_ok (fx, cid);
  g_assert_nonnull (hc->props.crm_id);
  engine_sync (fx);
  engine_sync (fx);
  g_assert_cmpuint (rows_with_crm_id (fx, hc->props.crm_id), ==, 1);

  /* The cache is gone (a new machine, a deleted profile file). */
  engine_stop (fx);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (fx->cache_path, suffixes[i], NULL);

      g_unlink (path);
    }
  engine_start (fx);
  engine_sync (fx);
  engine_sync (fx);
  g_assert_cmpuint (rows_with_crm_id (fx, hc->props.crm_id), ==, 1);
  mapping = lia_cache_lookup_crm (lia_engine_get_cache (lia_plugin_get_engine (fx->plugin)), LIA_EVO_STORE,
                                  LIA_ENTITY_CONTACT, hc->props.crm_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mapping);
  g_assert_cmpstr (mapping->item_id, ==, cid);
}

/* The sent count of the newest "cycle" line of the engine's journal. */
static guint
last_cycle_sent (Fx *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries =
      lia_cache_list_journal (lia_engine_get_cache (lia_plugin_get_engine (fx->plugin)), 50, &error);
  guint sent = 0;
  guint received = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    {
      const LiaCacheJournalEntry *e = g_ptr_array_index (entries, i);

      if (g_strcmp0 (e->kind, "cycle") == 0
          && sscanf (e->message, "cycle: %u sent, %u received", &sent, &received) == 2)
        return sent;
    }
  g_assert_not_reached ();
  return 0;
}

static LiaCrmRecord *
crm_create (Fx *fx, const LiaItem *item)
{
  g_autoptr (LiaCrmRecord) rec = lia_crm_record_new_for_item (item);
  g_autoptr (GError) error = NULL;
  LiaCrmRecord *made = lia_crm_create_sync (fx->crm, rec, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (made);
  return made;
}

/* The host item (id) carrying @crm_id in the folder of @entity. */
static char *
host_id_for_crm (Fx *fx, LiaEntity entity, const char *crm_id)
{
  g_autoptr (GPtrArray) rows = host_contents (fx, entity);

  for (guint i = 0; i < rows->len; i++)
    {
      const LiaHostRow *row = g_ptr_array_index (rows, i);

      if (g_strcmp0 (row->crm_id, crm_id) == 0)
        return g_strdup (row->item_id);
    }
  return NULL;
}

/* What a user does in Evolution: move an event by @seconds. */
static void
user_move_event (Fx *fx, const char *item_id, int seconds)
{
  g_autoptr (ICalComponent) comp = eds_component (fx, item_id + strlen ("event:"), NULL);
  const ICalPropertyKind kinds[] = { I_CAL_DTSTART_PROPERTY, I_CAL_DTEND_PROPERTY };
  g_autoptr (GError) error = NULL;

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr (ICalProperty) prop = i_cal_component_get_first_property (comp, kinds[k]);
      g_autoptr (ICalTime) t = NULL;

      g_assert_nonnull (prop);
      t = kinds[k] == I_CAL_DTSTART_PROPERTY ? i_cal_property_get_dtstart (prop)
                                             : i_cal_property_get_dtend (prop);
      i_cal_time_adjust (t, 0, 0, 0, seconds);
      if (kinds[k] == I_CAL_DTSTART_PROPERTY)
        i_cal_property_set_dtstart (prop, t);
      else
        i_cal_property_set_dtend (prop, t);
    }
  g_assert_true (e_cal_client_modify_object_sync (lia_evo_host_get_calendar (fx->host), comp,
                                                  E_CAL_OBJ_MOD_THIS, E_CAL_OPERATION_FLAG_NONE, NULL,
                                                  &error));
  g_assert_no_error (error);
}

/* What a user does in Evolution: make an event all-day (on the day of
 * @unix_s, UTC) or timed again (at @unix_s, for an hour, UTC). */
static void
user_set_all_day (Fx *fx, const char *item_id, gboolean all_day, gint64 unix_s)
{
  g_autoptr (ICalComponent) comp = eds_component (fx, item_id + strlen ("event:"), NULL);
  g_autoptr (GError) error = NULL;

  for (guint k = 0; k < 2; k++)
    {
      ICalPropertyKind kind = k == 0 ? I_CAL_DTSTART_PROPERTY : I_CAL_DTEND_PROPERTY;
      g_autoptr (ICalProperty) prop = i_cal_component_get_first_property (comp, kind);
      gint64 at_s = all_day ? unix_s + k * 86400 : unix_s + k * 3600;
      g_autoptr (ICalTime) t =
          i_cal_time_new_from_timet_with_zone ((time_t) at_s, all_day, i_cal_timezone_get_utc_timezone ());

      g_assert_nonnull (prop);
      i_cal_property_remove_parameter_by_kind (prop, I_CAL_TZID_PARAMETER);
      if (k == 0)
        i_cal_property_set_dtstart (prop, t);
      else
        i_cal_property_set_dtend (prop, t);
    }
  g_assert_true (e_cal_client_modify_object_sync (lia_evo_host_get_calendar (fx->host), comp,
                                                  E_CAL_OBJ_MOD_THIS, E_CAL_OPERATION_FLAG_NONE, NULL,
                                                  &error));
  g_assert_no_error (error);
}

static void
test_engine_initial_sync_quiet (Fx *fx, gconstpointer data)
{
  /* CRM keeps microseconds; iCalendar whole seconds. */
  const gint64 t0 = (gint64) 1798155401 * G_USEC_PER_SEC;
  g_autoptr (LiaItem) timed = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) whole = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) day = lia_item_new (LIA_ENTITY_APPOINTMENT);
  g_autoptr (LiaItem) task = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaItem) done = lia_item_new (LIA_ENTITY_TASK);
  g_autoptr (LiaValue) s1 = lia_value_new_datetime (t0 + 557330, "Europe/Paris");
  g_autoptr (LiaValue) e1 =
      lia_value_new_datetime (t0 + (gint64) 3600 * G_USEC_PER_SEC + 120001, "Europe/Paris");
  g_autoptr (LiaValue) s2 = lia_value_new_datetime (t0 + (gint64) 86400 * G_USEC_PER_SEC, NULL);
  g_autoptr (LiaValue) e2 = lia_value_new_datetime (t0 + (gint64) 90000 * G_USEC_PER_SEC, NULL);
  g_autoptr (LiaValue) d0 = at (1798156800, NULL);
  g_autoptr (LiaValue) d1 = at (1798243200, NULL);
  g_autoptr (LiaValue) yes = lia_value_new_boolean (TRUE);
  g_autoptr (LiaValue) no = lia_value_new_boolean (FALSE);
  g_autoptr (LiaValue) ts = lia_value_new_datetime (t0 - 999999, "America/New_York");
  g_autoptr (LiaValue) td =
      lia_value_new_datetime (t0 + (gint64) 7 * 86400 * G_USEC_PER_SEC + 1, "America/New_York");
  g_autoptr (LiaValue) tc = lia_value_new_datetime (t0 + (gint64) 2 * 86400 * G_USEC_PER_SEC + 500000, NULL);
  g_autoptr (LiaValue) completed = lia_value_new_enum ("completed");
  LiaItem *items[] = { timed, whole, day, task, done };
  LiaCrmRecord *made[G_N_ELEMENTS (items)] = { NULL };
  g_autofree char *timed_id = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) moved = NULL;

  g_test_summary ("R-MERGE-FIELDS, R-MERGE-ORIGINAL on real EDS: appointments and tasks downloaded from CRM "
                  "with sub-second times (iCalendar holds whole seconds) and without an all-day value read "
                  "back as written, so the cycle after the initial sync sends nothing to CRM and no record "
                  "gets a new version; an appointment the user then moves in EDS still reaches CRM");
  g_assert_true (lia_item_set_text (timed, "subject", "Sub-second, no all-day", NULL));
  g_assert_true (lia_item_set (timed, "start", s1, NULL));
  g_assert_true (lia_item_set (timed, "end", e1, NULL));
  g_assert_true (lia_item_set_text (whole, "subject", "Whole seconds, all-day false", NULL));
  g_assert_true (lia_item_set (whole, "start", s2, NULL));
  g_assert_true (lia_item_set (whole, "end", e2, NULL));
  g_assert_true (lia_item_set (whole, "all-day", no, NULL));
  g_assert_true (lia_item_set_text (day, "subject", "All day", NULL));
  g_assert_true (lia_item_set (day, "start", d0, NULL));
  g_assert_true (lia_item_set (day, "end", d1, NULL));
  g_assert_true (lia_item_set (day, "all-day", yes, NULL));
  g_assert_true (lia_item_set_text (task, "subject", "Sub-second start and due", NULL));
  g_assert_true (lia_item_set (task, "start", ts, NULL));
  g_assert_true (lia_item_set (task, "due", td, NULL));
  g_assert_true (lia_item_set_text (done, "subject", "Completed at a sub-second time", NULL));
  g_assert_true (lia_item_set (done, "completed", tc, NULL));
  g_assert_true (lia_item_set (done, "status", completed, NULL));

  engine_start (fx);
  engine_sync (fx);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    made[i] = crm_create (fx, items[i]);
  engine_sync (fx);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autofree char *id =
          host_id_for_crm (fx, lia_item_get_entity (items[i]), lia_crm_record_get_id (made[i]));

      g_assert_nonnull (id);
    }
  /* The next cycles: nothing to send, no record rewritten. */
  engine_sync (fx);
  g_assert_cmpuint (last_cycle_sent (fx), ==, 0);
  engine_sync (fx);
  g_assert_cmpuint (last_cycle_sent (fx), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    {
      g_autoptr (LiaCrmRecord) now =
          crm_get (fx, lia_crm_record_get_entity (made[i]), lia_crm_record_get_id (made[i]));

      g_assert_cmpint (lia_crm_record_get_version (now), ==, lia_crm_record_get_version (made[i]));
      if (i == 0)
        g_assert_null (lia_item_get (lia_crm_record_get_item (now), "all-day"));
    }
  /* The adapter reads back what it was given. */
  timed_id = host_id_for_crm (fx, LIA_ENTITY_APPOINTMENT, lia_crm_record_get_id (made[0]));
  hi = read_ok (fx, timed_id);
  g_assert_cmpint (lia_value_get_instant (lia_item_get (hi->item, "start")), ==, t0 + 557330);
  g_assert_null (lia_item_get (hi->item, "all-day"));

  /* A real edit is not hidden: the user moves it by an hour. */
  g_usleep (1100 * 1000);
  user_move_event (fx, timed_id, 3600);
  iterate_for (500);
  engine_sync (fx);
  g_assert_cmpuint (last_cycle_sent (fx), ==, 1);
  moved = crm_get (fx, LIA_ENTITY_APPOINTMENT, lia_crm_record_get_id (made[0]));
  g_assert_cmpint (lia_value_get_instant (lia_item_get (lia_crm_record_get_item (moved), "start")), ==,
                   t0 + (gint64) 3600 * G_USEC_PER_SEC);
  g_assert_cmpint (lia_value_get_instant (lia_item_get (lia_crm_record_get_item (moved), "end")), ==,
                   t0 + (gint64) 7200 * G_USEC_PER_SEC);

  /* Made all-day, then timed again: CRM hears true, then false (not an
   * absent value, though CRM had none at first). */
  for (guint step = 0; step < 2; step++)
    {
      g_autoptr (LiaCrmRecord) now = NULL;
      LiaValue *v;

      g_usleep (1100 * 1000);
      user_set_all_day (fx, timed_id, step == 0, 1798156800 + (step == 0 ? 0 : 36000));
      iterate_for (500);
      engine_sync (fx);
      now = crm_get (fx, LIA_ENTITY_APPOINTMENT, lia_crm_record_get_id (made[0]));
      v = lia_item_get (lia_crm_record_get_item (now), "all-day");
      g_assert_nonnull (v);
      g_assert_cmpint (lia_value_get_boolean (v), ==, step == 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (items); i++)
    lia_crm_record_free (made[i]);
}

/* The newest "scan" line of the engine's journal: rows newer than the
 * watermark, items read back from EDS, items not read (unchanged since the
 * engine wrote them), changes queued. FALSE when the newest cycle had none
 * (nothing newer than the watermark). */
static gboolean
last_scan (Fx *fx, guint *rows, guint *read, guint *unchanged, guint *queued)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries =
      lia_cache_list_journal (lia_engine_get_cache (lia_plugin_get_engine (fx->plugin)), 50, &error);
  gboolean cycle_seen = FALSE;

  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    {
      const LiaCacheJournalEntry *e = g_ptr_array_index (entries, i);

      /* Newest first: stop at the cycle before the newest. */
      if (g_strcmp0 (e->kind, "cycle") == 0)
        {
          if (cycle_seen)
            return FALSE;
          cycle_seen = TRUE;
        }
      if (g_strcmp0 (e->kind, "scan") == 0)
        {
          g_assert_cmpint (sscanf (e->message,
                                   "scan: %u rows, %u items read, %u unchanged since written, %u queued",
                                   rows, read, unchanged, queued),
                           ==, 4);
          return TRUE;
        }
    }
  return FALSE;
}

static void
test_engine_scan_after_initial_sync (Fx *fx, gconstpointer data)
{
  const guint n = 40;
  g_autoptr (GPtrArray) crm_ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr (LiaCrmRecord) r1 = NULL;
  g_autoptr (LiaCrmRecord) r2 = NULL;
  guint rows = 0, read = 0, unchanged = 0, queued = 0;

  g_test_summary ("R-DET-SCAN, R-DET-NOTIFY on real EDS: after an initial sync the next cycle's scan reads "
                  "none of the items the engine just created (their originals were stored after their last "
                  "change); an edit the user makes right after still reaches CRM, and so does one made "
                  "while the engine was not running, found by the start-up scan (R-DET-SCAN-STARTUP)");
  engine_start (fx);
  engine_sync (fx);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *given = g_strdup_printf ("Scan%02u", i);
      g_autoptr (LiaItem) item = contact_item (given, "Initial");
      g_autoptr (LiaCrmRecord) made = crm_create (fx, item);

      g_ptr_array_add (crm_ids, g_strdup (lia_crm_record_get_id (made)));
    }
  engine_sync (fx);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = host_id_for_crm (fx, LIA_ENTITY_CONTACT, g_ptr_array_index (crm_ids, i));

      g_assert_nonnull (id);
    }
  /* The first cycle after it passes the new items without reading them. */
  engine_sync (fx);
  g_assert_true (last_scan (fx, &rows, &read, &unchanged, &queued));
  g_assert_cmpuint (rows, >=, n);
  g_assert_cmpuint (read, ==, 0);
  g_assert_cmpuint (unchanged, ==, n);
  g_assert_cmpuint (queued, ==, 0);
  g_assert_cmpuint (last_cycle_sent (fx), ==, 0);

  /* The user edits one right away: its notification brings it. */
  first = host_id_for_crm (fx, LIA_ENTITY_CONTACT, g_ptr_array_index (crm_ids, 0));
  user_edit_contact (fx, first, E_CONTACT_NICKNAME, "Right-after");
  iterate_for (500);
  engine_sync (fx);
  r1 = crm_get (fx, LIA_ENTITY_CONTACT, g_ptr_array_index (crm_ids, 0));
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (r1), "nickname"), ==, "Right-after");

  /* And one made while nothing listened: the start-up scan reads it. */
  engine_stop (fx);
  g_usleep (1100 * 1000);
  second = host_id_for_crm (fx, LIA_ENTITY_CONTACT, g_ptr_array_index (crm_ids, 1));
  user_edit_contact (fx, second, E_CONTACT_NICKNAME, "While-closed");
  engine_start (fx);
  engine_sync (fx);
  g_assert_true (last_scan (fx, &rows, &read, &unchanged, &queued));
  g_assert_cmpuint (read, >=, 1);
  g_assert_cmpuint (queued, >=, 1);
  r2 = crm_get (fx, LIA_ENTITY_CONTACT, g_ptr_array_index (crm_ids, 1));
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (r2), "nickname"), ==, "While-closed");
}

static void
test_unusual (Fx *fx, gconstpointer data)
{
  GString *vcard = g_string_new ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:unusual-1\r\n");
  g_autoptr (EContact) contact = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LiaHostItem) hi = NULL;
  g_autoptr (LiaCrmRecord) rec = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (LiaHostItem) after = NULL;
  g_autofree char *uid = NULL;

  g_test_summary ("A vCard with non-ASCII, folded lines, a 200 KB note, unknown X- properties and a broken "
                  "REV reads, tracks and syncs; the unknown properties survive the adapter's writes");
  g_string_append (
      vcard, "FN:J\xc3\xbcrgen \xe6\x9d\xb1\xe4\xba\xac\r\nN:\xe6\x9d\xb1\xe4\xba\xac;J\xc3\xbcrgen;;;\r\n");
  g_string_append (vcard, "TITLE:A very long title that is folded over\r\n  two lines\r\n");
  g_string_append (vcard, "X-UNKNOWN-THING;TYPE=odd:keep me\\, please\r\nREV:not-a-date\r\nNOTE:");
  for (guint i = 0; i < 200 * 1024 / 64; i++)
    g_string_append (vcard, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ");
  g_string_append (vcard, "\r\nEND:VCARD\r\n");
  contact = e_contact_new_from_vcard (vcard->str);
  g_string_free (vcard, TRUE);
  g_assert_true (e_book_client_add_contact_sync (lia_evo_host_get_book (fx->host), contact,
                                                 E_BOOK_OPERATION_FLAG_NONE, &uid, NULL, &error));
  g_assert_no_error (error);
  hi = read_ok (fx, "contact:unusual-1");
  g_assert_cmpstr (lia_item_get_text (hi->item, "full-name"), ==, "J\xc3\xbcrgen \xe6\x9d\xb1\xe4\xba\xac");
  g_assert_cmpstr (lia_item_get_text (hi->item, "job-title"), ==,
                   "A very long title that is folded over two lines");
  g_assert_cmpuint (strlen (lia_item_get_text (hi->item, "notes")), >=, 200 * 1024 - 64);
  rows = host_contents (fx, LIA_ENTITY_CONTACT);
  g_assert_true (rows_have (rows, "contact:unusual-1"));

  engine_start (fx);
  engine_sync (fx);
  track (fx, "contact:unusual-1", LIA_ENTITY_CONTACT);
  engine_sync (fx);
  after = read_ok (fx, "contact:unusual-1");
  g_assert_cmpint (after->props.link_state, ==, LIA_LINK_STATE_TRACKED);
  rec = crm_get (fx, LIA_ENTITY_CONTACT, after->props.crm_id);
  g_assert_cmpstr (lia_item_get_text (lia_crm_record_get_item (rec), "full-name"), ==,
                   "J\xc3\xbcrgen \xe6\x9d\xb1\xe4\xba\xac");
  {
    g_autoptr (EContact) stored = NULL;
    EVCardAttribute *x;

    g_assert_true (e_book_client_get_contact_sync (lia_evo_host_get_book (fx->host), "unusual-1", &stored,
                                                   NULL, &error));
    x = e_vcard_get_attribute (E_VCARD (stored), "X-UNKNOWN-THING");
    g_assert_nonnull (x);
  }
}

/* ---- Running under a private bus ---- */

static int
run_outer (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  if (!lia_test_eds_available ())
    {
      /* TAP: a skipped plan, with the reason. */
      g_print ("1..0 # SKIP needs dbus-run-session and evolution-data-server (packages dbus, "
               "evolution-data-server)\n");
      return 0;
    }
  rc = lia_test_eds_rerun (argc, argv, INNER_ENV, "liaison-evo-XXXXXX", &error);
  if (rc < 0)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  return rc;
}

static void
count_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_free_with_calls_running (Fx *fx, gconstpointer data)
{
  g_autoptr (LiaItem) item = contact_item ("Grace", "Hopper");
  g_autoptr (LiaItem) changed = lia_item_copy (item);
  g_autofree char *id = host_create (fx, item, NULL);
  g_autofree char *folder = vt ()->dup_default_folder (fx->host, LIA_EVO_STORE, LIA_ENTITY_CONTACT);
  guint done = 0;

  g_test_summary ("A host freed while its calls still run on worker threads (the liaison command exits "
                  "while an offline track writes the contact) waits for them: their clients and tables "
                  "are not freed under them");
  g_assert_true (lia_item_set_text (changed, "job-title", "Rear Admiral", NULL));
  for (guint i = 0; i < 8; i++)
    {
      vt ()->write_item (fx->host, LIA_EVO_STORE, id, changed, NULL, NULL, count_done, &done);
      vt ()->read_item (fx->host, LIA_EVO_STORE, id, NULL, count_done, &done);
      vt ()->read_contents (fx->host, LIA_EVO_STORE, folder, 0, 100, NULL, count_done, &done);
    }
  /* No main-loop turn: the workers are still in EDS calls. */
  g_clear_pointer (&fx->host, lia_evo_host_free);
  /* Their results still arrive on the main context, and say nothing of
   * the freed host. */
  for (guint i = 0; i < 500 && done < 24; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
  g_assert_cmpuint (done, ==, 24);
}

int
main (int argc, char **argv)
{
  if (g_getenv (INNER_ENV) == NULL)
    return run_outer (argc, argv);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add (path, Fx, NULL, fx_setup, fn, fx_teardown)
  ADD ("/evolution/contacts/crud", test_contacts_crud);
  ADD ("/evolution/host/free-with-calls-running", test_free_with_calls_running);
  ADD ("/evolution/calendar/events-and-tasks", test_events_tasks);
  ADD ("/evolution/calendar/recurring-detached-attendees", test_recurring);
  ADD ("/evolution/calendar/all-day-series", test_all_day_series);
  ADD ("/evolution/properties/round-trip", test_named_props);
  ADD ("/evolution/notifications/views", test_notifications);
  ADD ("/evolution/contacts/batched-creates", test_batched_creates);
  ADD ("/evolution/notifications/R-DET-NOTIFY-during-bulk-create", test_notify_during_bulk_create);
  ADD ("/evolution/engine/two-way", test_engine_two_way);
  ADD ("/evolution/engine/R-DET-SCAN-STARTUP-R-DET-DELETES", test_engine_offline);
  ADD ("/evolution/contacts/unusual-vcard", test_unusual);
  ADD ("/evolution/engine/R-DUP-NONE", test_engine_no_duplicates);
  ADD ("/evolution/engine/R-MERGE-ORIGINAL-initial-sync-quiet", test_engine_initial_sync_quiet);
  ADD ("/evolution/engine/R-DET-SCAN-after-initial-sync", test_engine_scan_after_initial_sync);
  return g_test_run ();
}
