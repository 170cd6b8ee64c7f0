/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* liaison-eds-demo: acts on the default address book, calendar and task
 * list of the session's evolution-data-server as a user in Evolution
 * would, for the demo of `sh tools/dev/setup.sh demo` and the CLI tests.
 * Not installed. One line out per command; exit 0, 1 (failed) or 2. */
#include <stdio.h>
#include <string.h>

/* For its autoptr cleanups of libical-glib and EContact. */
#include "lia-evo-host.h"

static const char usage[] =
    "Usage: liaison-eds-demo COMMAND\n"
    "  add-contact GIVEN FAMILY EMAIL      prints the UID\n"
    "  add-event SUMMARY | add-task SUMMARY  prints the UID\n"
    "  set-contact UID nickname|title|note VALUE\n"
    "  get-contact UID nickname|title|note|full-name\n"
    "  plant-orphan CRM-ID                 a contact claiming a CRM link; prints the UID\n"
    "  remove contact|event|task UID      deletes what the demo added\n"
    "  list contact|event|task            prints every UID, one a line\n";

static EContactField
field_arg (const char *name)
{
  if (g_str_equal (name, "nickname"))
    return E_CONTACT_NICKNAME;
  if (g_str_equal (name, "title"))
    return E_CONTACT_TITLE;
  if (g_str_equal (name, "note"))
    return E_CONTACT_NOTE;
  if (g_str_equal (name, "full-name"))
    return E_CONTACT_FULL_NAME;
  return 0;
}

/* This tool blocks its only thread in the _sync calls, and the "connected"
 * notice an EDS client waits for is delivered on the thread that made the
 * registry: waiting for it here can only time out (30 s a call). Local
 * books and calendars are usable at once, so do not wait. */
#define NO_WAIT ((guint32) -1)

static EClient *
open_default (ESourceRegistry *registry, const char *extension, GError **error)
{
  g_autoptr (ESource) source = NULL;

  if (g_str_equal (extension, E_SOURCE_EXTENSION_ADDRESS_BOOK))
    {
      source = e_source_registry_ref_default_address_book (registry);
      return e_book_client_connect_sync (source, NO_WAIT, NULL, error);
    }
  source = g_str_equal (extension, E_SOURCE_EXTENSION_CALENDAR)
               ? e_source_registry_ref_default_calendar (registry)
               : e_source_registry_ref_default_task_list (registry);
  return e_cal_client_connect_sync (source,
                                    g_str_equal (extension, E_SOURCE_EXTENSION_CALENDAR)
                                        ? E_CAL_CLIENT_SOURCE_TYPE_EVENTS
                                        : E_CAL_CLIENT_SOURCE_TYPE_TASKS,
                                    NO_WAIT, NULL, error);
}

static gboolean
add_component (ESourceRegistry *registry, gboolean event, const char *summary, GError **error)
{
  g_autoptr (EClient) client =
      open_default (registry, event ? E_SOURCE_EXTENSION_CALENDAR : E_SOURCE_EXTENSION_TASK_LIST, error);
  g_autoptr (ICalComponent) comp = NULL;
  g_autoptr (ICalTime) start = NULL;
  g_autofree char *uid = NULL;

  if (client == NULL)
    return FALSE;
  comp = i_cal_component_new (event ? I_CAL_VEVENT_COMPONENT : I_CAL_VTODO_COMPONENT);
  i_cal_component_set_summary (comp, summary);
  /* Tomorrow at 10:00 UTC, an hour long for events. */
  start = i_cal_time_new_from_timet_with_zone (time (NULL) + 24 * 3600, FALSE,
                                               i_cal_timezone_get_utc_timezone ());
  i_cal_time_set_time (start, 10, 0, 0);
  if (event)
    {
      g_autoptr (ICalTime) end = i_cal_time_clone (start);

      i_cal_time_set_time (end, 11, 0, 0);
      i_cal_component_set_dtstart (comp, start);
      i_cal_component_set_dtend (comp, end);
    }
  else
    i_cal_component_set_due (comp, start);
  if (!e_cal_client_create_object_sync (E_CAL_CLIENT (client), comp, E_CAL_OPERATION_FLAG_NONE, &uid, NULL,
                                        error))
    return FALSE;
  g_print ("%s\n", uid);
  return TRUE;
}

static gboolean
remove_item (ESourceRegistry *registry, const char *kind, const char *uid, GError **error)
{
  const char *extension = g_str_equal (kind, "contact") ? E_SOURCE_EXTENSION_ADDRESS_BOOK
                          : g_str_equal (kind, "event") ? E_SOURCE_EXTENSION_CALENDAR
                                                        : E_SOURCE_EXTENSION_TASK_LIST;
  g_autoptr (EClient) client = open_default (registry, extension, error);

  if (client == NULL)
    return FALSE;
  if (E_IS_BOOK_CLIENT (client))
    return e_book_client_remove_contact_by_uid_sync (E_BOOK_CLIENT (client), uid, E_BOOK_OPERATION_FLAG_NONE,
                                                     NULL, error);
  return e_cal_client_remove_object_sync (E_CAL_CLIENT (client), uid, NULL, E_CAL_OBJ_MOD_ALL,
                                          E_CAL_OPERATION_FLAG_NONE, NULL, error);
}

static gboolean
list_items (ESourceRegistry *registry, const char *kind, GError **error)
{
  const char *extension = g_str_equal (kind, "contact") ? E_SOURCE_EXTENSION_ADDRESS_BOOK
                          : g_str_equal (kind, "event") ? E_SOURCE_EXTENSION_CALENDAR
                                                        : E_SOURCE_EXTENSION_TASK_LIST;
  g_autoptr (EClient) client = open_default (registry, extension, error);
  GSList *uids = NULL;
  GSList *objects = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (client == NULL)
    return FALSE;
  if (E_IS_BOOK_CLIENT (client))
    {
      if (!e_book_client_get_contacts_uids_sync (E_BOOK_CLIENT (client), "", &uids, NULL, error))
        return FALSE;
      for (GSList *l = uids; l != NULL; l = l->next)
        g_print ("%s\n", (const char *) l->data);
      g_slist_free_full (uids, g_free);
      return TRUE;
    }
  if (!e_cal_client_get_object_list_sync (E_CAL_CLIENT (client), "#t", &objects, NULL, error))
    return FALSE;
  for (GSList *l = objects; l != NULL; l = l->next)
    {
      const char *uid = i_cal_component_get_uid (l->data);

      /* Detached instances share their series' UID: print it once. */
      if (uid != NULL && g_hash_table_add (seen, (gpointer) uid))
        g_print ("%s\n", uid);
    }
  e_util_free_nullable_object_slist (objects);
  return TRUE;
}

static gboolean
run (ESourceRegistry *registry, int argc, char **argv, GError **error)
{
  g_autoptr (EClient) book = NULL;
  g_autoptr (EContact) contact = NULL;
  g_autofree char *uid = NULL;
  const char *cmd = argv[0];

  if (g_str_equal (cmd, "add-event") || g_str_equal (cmd, "add-task"))
    return add_component (registry, g_str_equal (cmd, "add-event"), argv[1], error);
  if (g_str_equal (cmd, "remove"))
    return remove_item (registry, argv[1], argv[2], error);
  if (g_str_equal (cmd, "list"))
    return list_items (registry, argv[1], error);
  book = open_default (registry, E_SOURCE_EXTENSION_ADDRESS_BOOK, error);
  if (book == NULL)
    return FALSE;
  if (g_str_equal (cmd, "add-contact") || g_str_equal (cmd, "plant-orphan"))
    {
      gboolean orphan = g_str_equal (cmd, "plant-orphan");
      g_autofree char *full = orphan ? g_strdup ("Orphan Link") : g_strdup_printf ("%s %s", argv[1], argv[2]);

      contact = e_contact_new ();
      e_contact_set (contact, E_CONTACT_FULL_NAME, full);
      if (orphan)
        {
          /* What a lost cache leaves behind: the link properties the
           * adapter writes, with no mapping for them. */
          e_vcard_append_attribute_with_value (E_VCARD (contact),
                                               e_vcard_attribute_new (NULL, "X-LIAISON-CRM-ID"), argv[1]);
          e_vcard_append_attribute_with_value (
              E_VCARD (contact), e_vcard_attribute_new (NULL, "X-LIAISON-LINK-STATE"), "tracked");
        }
      else
        {
          e_contact_set (contact, E_CONTACT_GIVEN_NAME, argv[1]);
          e_contact_set (contact, E_CONTACT_FAMILY_NAME, argv[2]);
          e_contact_set (contact, E_CONTACT_EMAIL_1, argv[3]);
        }
      if (!e_book_client_add_contact_sync (E_BOOK_CLIENT (book), contact, E_BOOK_OPERATION_FLAG_NONE, &uid,
                                           NULL, error))
        return FALSE;
      g_print ("%s\n", uid);
      return TRUE;
    }
  if (!e_book_client_get_contact_sync (E_BOOK_CLIENT (book), argv[1], &contact, NULL, error))
    return FALSE;
  if (g_str_equal (cmd, "get-contact"))
    {
      g_autofree char *value = e_contact_get (contact, field_arg (argv[2]));

      g_print ("%s\n", value != NULL ? value : "");
      return TRUE;
    }
  e_contact_set (contact, field_arg (argv[2]), argv[3]);
  return e_book_client_modify_contact_sync (E_BOOK_CLIENT (book), contact, E_BOOK_OPERATION_FLAG_NONE, NULL,
                                            error);
}

int
main (int argc, char **argv)
{
  g_autoptr (ESourceRegistry) registry = NULL;
  g_autoptr (GError) error = NULL;
  const char *cmd = argc > 1 ? argv[1] : "";
  int want = g_str_equal (cmd, "add-contact")                                  ? 4
             : g_str_equal (cmd, "add-event") || g_str_equal (cmd, "add-task") ? 2
             : g_str_equal (cmd, "plant-orphan")                               ? 2
             : g_str_equal (cmd, "get-contact")                                ? 3
             : g_str_equal (cmd, "set-contact")                                ? 4
             : g_str_equal (cmd, "remove")                                     ? 3
             : g_str_equal (cmd, "list")                                       ? 2
                                                                               : -1;

  if (want < 0 || argc - 1 != want
      || ((g_str_equal (cmd, "get-contact") || g_str_equal (cmd, "set-contact")) && field_arg (argv[3]) == 0)
      || ((g_str_equal (cmd, "remove") || g_str_equal (cmd, "list"))
          && !g_strv_contains ((const char *const[]){ "contact", "event", "task", NULL }, argv[2])))
    {
      fputs (usage, stderr);
      return 2;
    }
  registry = e_source_registry_new_sync (NULL, &error);
  if (registry == NULL || !run (registry, argc - 1, argv + 1, &error))
    {
      g_printerr ("liaison-eds-demo: %s\n", error->message);
      return 1;
    }
  return 0;
}
