/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gi18n-lib.h>
#include <gtk/gtk.h>
#include <liaison/liaison.h>

#include <e-util/e-util.h>

#include "lia-evo-module.h"
#include "lia-ui-evo.h"

G_BEGIN_DECLS

/* Shared by the parts of ui-hooks/evolution/. Everything runs on
 * Evolution's main thread. */

/* Action names (unique in Evolution's UI managers). */
#define LIA_UI_ACTION_TRACK "liaison-track"
#define LIA_UI_ACTION_UNTRACK "liaison-untrack"
#define LIA_UI_ACTION_REGARDING "liaison-set-regarding"
#define LIA_UI_ACTION_SYNC "liaison-sync-now"
#define LIA_UI_ACTION_STATUS "liaison-status"

/* Mail settings of the engine (core/lia-engine-mail.h, not a public
 * header): R-SET-AUTOTRACK none|all|response|crm-contacts|email-enabled,
 * R-SET-TAGGING on|off. */
#define LIA_UI_SETTING_AUTO_TRACK "mail-auto-track"
#define LIA_UI_SETTING_TAGGING "mail-tagging"
/* The Camel user tag the host adapter writes with the regarding record's
 * name (plugin/evolution/lia-evo-mail.c, TAG_REGARDING_NAME). */
#define LIA_UI_TAG_REGARDING_NAME "liaison-regarding-name"

/* The engine or NULL (no profile, not loaded). */
LiaEvoEngine *lia_ui_engine (void);

/* Gives @command to the engine. On refusal shows the reason as an EAlert
 * in @sink (or a dialog over @parent when @sink is NULL) and returns
 * FALSE. Every result goes to the self-test log. */
gboolean lia_ui_command (const LiaCommand *command, EAlertSink *sink, GtkWindow *parent);

/* Runs @func from an idle of default-idle priority with a GWeakRef to
 * @object as its data, freed with the source: the extensions set up
 * after Evolution has built the UI they attach to, and never keep what
 * they extend alive. */
void lia_ui_idle_with_weak_ref (gpointer object, GSourceFunc func);
/* Clears and frees a GWeakRef allocated with g_new0(). */
void lia_ui_weak_ref_free (gpointer weak);

/* Shows an alert "liaison:<tag>" with @primary_arg (one line). */
void lia_ui_alert (EAlertSink *sink, GtkWindow *parent, const char *tag, const char *arg);
/* The same alert as an EAlert for an EAlertBar (non-modal), its tag
 * chosen from @error as lia_ui_command does. */
EAlert *lia_ui_alert_for_error (const GError *error);

/* Asks "Untrack: also delete in CRM?" Returns FALSE when the user
 * cancelled; else TRUE with *out_delete set. */
gboolean lia_ui_ask_untrack (GtkWindow *parent, guint n_items, gboolean *out_delete);

/* The link state the UI shows for @item_id (from the engine). */
LiaLinkState lia_ui_link_state (const char *item_id);

/* Self-test (LIAISON_UI_SELFTEST=1): a log line "liaison-ui-selftest: ..."
 * on stderr and in $LIAISON_UI_SELFTEST_LOG when set. */
gboolean lia_ui_selftest_enabled (void);
void lia_ui_selftest_log (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Started once by the shell extension when the first shell window shows. */
void lia_ui_selftest_start (GtkApplication *shell);

/* Set Regarding dialog: runs modally (its own loop keeps Evolution's
 * main loop alive). On OK returns TRUE with the chosen record. */
typedef struct
{
  LiaEntity entity;
  char *id;
  char *name;
} LiaUiRegarding;
void lia_ui_regarding_clear (LiaUiRegarding *regarding);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LiaUiRegarding, lia_ui_regarding_clear)
GtkWidget *lia_ui_regarding_dialog_new (GtkWindow *parent);
gboolean lia_ui_regarding_dialog_get (GtkWidget *dialog, LiaUiRegarding *out);
gboolean lia_ui_regarding_run (GtkWindow *parent, LiaUiRegarding *out);
/* Recent choices (display-only, $XDG_CONFIG_HOME/liaison/ui-recent.ini). */
void lia_ui_recent_add (const LiaUiRegarding *regarding);
GPtrArray *lia_ui_recent_list (void); /* of LiaUiRegarding* */
/* Entity names as the user reads them (translated). */
const char *lia_ui_entity_label (LiaEntity entity);

/* Status: the activity in the status bar follows the engine's status. */
void lia_ui_status_attach (GtkApplication *shell);
GtkWidget *lia_ui_status_window_show (GtkWindow *parent);
char *lia_ui_status_describe (const LiaSyncStatus *status);
/* Whether the offline activity is in the status bar (self-test). */
gboolean lia_ui_status_offline_shown (void);

/* Preferences page (added once to Evolution's preferences window). */
void lia_ui_prefs_register (GtkApplication *shell);
GtkWidget *lia_ui_prefs_page_new (void);

/* Type registration of each part. */
void lia_ui_mail_reader_register (GTypeModule *module);
void lia_ui_shell_view_register (GTypeModule *module);
void lia_ui_comp_editor_register (GTypeModule *module);
void lia_ui_shell_register (GTypeModule *module);

/* Adds the Liaison actions to @group once, named @prefix + LIA_UI_ACTION_*
 * (@prefix NULL for none). GtkUIManager binds a UI path to the first
 * action of that name among all its groups, so groups that share a UI
 * manager need distinct prefixes. The callbacks get @user_data; a NULL
 * callback leaves its action out. */
void lia_ui_add_actions (GtkActionGroup *group, const char *prefix, gpointer user_data, GCallback on_track,
                         GCallback on_untrack, GCallback on_regarding, GCallback on_sync);

G_END_DECLS
