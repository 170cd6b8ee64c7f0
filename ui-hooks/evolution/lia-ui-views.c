/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <calendar/gui/e-cal-model.h>

#include "lia-ui-evo-private.h"

/* What the contacts, calendar and tasks views show: their widgets and
 * selected items, for the actions (lia-ui-shell-view.c), the status line
 * (lia-ui-view-state.c) and the self-test. */

GtkWidget *
lia_ui_find_mapped (GtkWidget *widget, GType type)
{
  GtkWidget *found = NULL;
  g_autoptr (GList) children = NULL;

  if (widget == NULL || type == G_TYPE_INVALID || !gtk_widget_get_mapped (widget))
    return NULL;
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && found == NULL; l = l->next)
    found = lia_ui_find_mapped (l->data, type);
  return found;
}

char *
lia_ui_event_item_id (ICalComponent *icalcomp)
{
  const char *uid = i_cal_component_get_uid (icalcomp);
  g_autofree char *rid = NULL;

  if (e_cal_util_component_has_property (icalcomp, I_CAL_RECURRENCEID_PROPERTY)
      && !e_cal_util_component_has_rrules (icalcomp))
    {
      ICalTime *tt = i_cal_component_get_recurrenceid (icalcomp);

      if (tt != NULL && i_cal_time_is_valid_time (tt) && !i_cal_time_is_null_time (tt))
        rid = i_cal_time_as_ical_string (tt);
      g_clear_object (&tt);
    }
  return lia_evo_engine_item_id_for_event (uid, rid);
}

/* Evolution 3.46's EAddressbookView has no installed header: its
 * e_addressbook_view_get_selected() (libeabwidgets, a GSList of EContact,
 * each referenced) is resolved from the process once. */
typedef GSList *(*GetSelectedFunc) (GtkWidget *view);

GSList *
lia_ui_selected_contacts (GtkWidget *content, gboolean *out_supported)
{
  static GetSelectedFunc get_selected;
  static gboolean looked_up;
  GtkWidget *view;

  if (!looked_up)
    {
      /* The process itself: kept open, the symbol stays valid. */
      GModule *process = g_module_open (NULL, 0);

      looked_up = TRUE;
      if (process == NULL
          || !g_module_symbol (process, "e_addressbook_view_get_selected", (gpointer *) &get_selected))
        {
          get_selected = NULL;
          g_message ("this Evolution has no e_addressbook_view_get_selected: the contacts view offers no "
                     "CRM actions");
        }
    }
  if (out_supported != NULL)
    *out_supported = get_selected != NULL;
  view = lia_ui_find_mapped (content, g_type_from_name ("EAddressbookView"));
  return get_selected != NULL && view != NULL ? get_selected (view) : NULL;
}

void
lia_ui_contacts_free (GSList *contacts)
{
  for (GSList *l = contacts; l != NULL; l = l->next)
    g_clear_object (&l->data);
  g_slist_free (contacts);
}
