/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>
#include <mail/e-mail-reader.h>
#include <shell/e-shell-window.h>

G_BEGIN_DECLS

/* The self-test walk's tools, for the phases that walk one surface each
 * from their own file (lia-ui-selftest-<surface>.c) and are listed in
 * phases[] in lia-ui-selftest.c. Only the self-test mode calls these. */

typedef enum
{
  LIA_UI_PHASE_WAIT, /* call again in 100 ms, same step, waited + 1 */
  LIA_UI_PHASE_NEXT, /* this step is done: the next one, waited = 1 */
  LIA_UI_PHASE_DONE, /* the phase is over */
} LiaUiPhaseResult;

/* step counts from 0; waited from 1 (the number of calls for this step). */
typedef LiaUiPhaseResult (*LiaUiSelftestPhase) (guint step, guint waited);

void lia_ui_selftest_check (gboolean ok, const char *what);
void lia_ui_selftest_screenshot (const char *name);
EShellWindow *lia_ui_selftest_window (void);
EMailReader *lia_ui_selftest_mail_reader (void);
/* Activates the named action of the mail window (the path of a click). */
gboolean lia_ui_selftest_fire (const char *name);
gboolean lia_ui_selftest_action_sensitive (const char *name);
GtkWidget *lia_ui_selftest_find_toplevel (const char *name);
GtkWidget *lia_ui_selftest_find_named (GtkWidget *widget, const char *name);
/* The engine is scanning, uploading, downloading or starting. */
gboolean lia_ui_selftest_engine_busy (void);

/* Phase (lia-ui-selftest-prefs.c): the CRM page's read-only org view and a
 * secondary client's Track (R-ROLE-SECONDARY-NO-NEW). */
LiaUiPhaseResult lia_ui_selftest_phase_prefs (guint step, guint waited);

/* Phases (lia-ui-selftest-edit.c): the contact editor and the contacts
 * view's status line; folder tracking (R-MAIL-FOLDER). */
LiaUiPhaseResult lia_ui_selftest_phase_contact_editor (guint step, guint waited);
LiaUiPhaseResult lia_ui_selftest_phase_folder (guint step, guint waited);
LiaUiPhaseResult lia_ui_selftest_phase_tasks_state (guint step, guint waited);
LiaUiPhaseResult lia_ui_selftest_phase_calendar_state (guint step, guint waited);

/* Phase (lia-ui-selftest-composer.c): the mail composer's Track in CRM
 * When Sent (R-IMM-DRAFT, R-MAIL-CORRELATE-TOKEN, R-IMM-OUTGOING-ASYNC). */
LiaUiPhaseResult lia_ui_selftest_phase_composer (guint step, guint waited);

G_END_DECLS
