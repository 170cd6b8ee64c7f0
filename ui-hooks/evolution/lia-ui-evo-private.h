/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gi18n-lib.h>
#include <gtk/gtk.h>
#include <liaison/liaison.h>

#include <e-util/e-util.h>
#include <shell/e-shell-view.h>
#include <libecal/libecal.h>

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
/* R-MAIL-FOLDER, in the mail folder tree's popup (lia-ui-folder.c). */
#define LIA_UI_ACTION_FOLDER_TRACK "liaison-folder-track"
#define LIA_UI_ACTION_FOLDER_UNTRACK "liaison-folder-untrack"

/* Mail settings of the engine (core/lia-engine-mail.h, not a public
 * header): R-SET-AUTOTRACK none|all|response|crm-contacts|email-enabled,
 * R-SET-TAGGING on|off. */
#define LIA_UI_SETTING_AUTO_TRACK "mail-auto-track"
#define LIA_UI_SETTING_TAGGING "mail-tagging"
/* The Camel user tag the host adapter writes with the regarding record's
 * name (plugin/evolution/lia-evo-mail.c, TAG_REGARDING_NAME). */
#define LIA_UI_TAG_REGARDING_NAME "liaison-regarding-name"
/* The tracked mail folders (R-MAIL-FOLDER) as the engine keeps them in the
 * sync cache (core/lia-engine-mail.c): lines "store/folder-id\tregarding-id
 * \tregarding-name", read through the plugin's dup_setting. */
#define LIA_UI_SETTING_MAIL_FOLDERS "mail-folders"

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

/* The link state for a command on @item_id: the last one a lookup or an
 * engine event saw (lia_ui_link_states_async()), else @carried, the state
 * the item itself carries in memory (its X-LIAISON property or Camel tag:
 * lia_evo_contact_link_state() and friends). Never the sync cache on the
 * main loop. */
LiaLinkState lia_ui_link_state (const char *item_id, LiaLinkState carried);

/* ---- plugin calls off the main loop (DESIGN.md: the main context does
 * no disk I/O; lia-plugin.h "Threads"). ----
 *
 * lia_ui_plugin_call() runs @func(plugin, funcs, @data, error) on a worker
 * thread and then @done(owner, result, error, @user_data) on the main
 * context, with @result (transfer full, may be NULL). @done is not called,
 * and @result is freed with @result_free, when @owner (a GObject, weakly
 * referenced; NULL for none) went away or @cancellable (nullable) was
 * cancelled meanwhile: cancel it when what the call was for (a selection,
 * a page) changed, and late results are dropped. Without a running engine
 * @done gets LIA_ERROR_UNAVAILABLE (from an idle, never re-entrantly). */
typedef gpointer (*LiaUiPluginFunc) (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data,
                                     GError **error);
typedef void (*LiaUiPluginDone) (gpointer owner, gpointer result, const GError *error, gpointer user_data);
void lia_ui_plugin_call (gpointer owner, GCancellable *cancellable, LiaUiPluginFunc func, gpointer data,
                         GDestroyNotify data_free, GDestroyNotify result_free, LiaUiPluginDone done,
                         gpointer user_data);
/* Cancels *@slot (when set) and puts a new cancellable there; (transfer
 * none): the new one. */
GCancellable *lia_ui_cancellable_renew (GCancellable **slot);
/* Calls started and not yet delivered or dropped (self-test). */
guint lia_ui_plugin_calls_pending (void);
/* Self-test only: runs the main context until no call is pending, at most
 * @timeout_ms; whether none is. */
gboolean lia_ui_plugin_calls_wait (guint timeout_ms);

/* The link states of @item_ids (NULL-terminated) read on a worker; @done
 * gets a GHashTable (item id -> GINT_TO_POINTER (LiaLinkState), only the
 * tracked or marked ones) as result. Each answer also updates what
 * lia_ui_link_state() and lia_ui_link_state_known() return. @user_data_free
 * runs when the call ends, delivered or dropped. */
void lia_ui_link_states_async (gpointer owner, GCancellable *cancellable, const char *const *item_ids,
                               LiaUiPluginDone done, gpointer user_data, GDestroyNotify user_data_free);
/* The last state a lookup saw for @item_id, without I/O; FALSE when none
 * did (or a command changed it since). */
gboolean lia_ui_link_state_known (const char *item_id, LiaLinkState *out_state);
/* Records what a lookup of one's own saw (main context). */
void lia_ui_link_state_remember (const char *item_id, LiaLinkState state);

/* R-ROLE-SECONDARY-NO-NEW: whether this client may track new contacts,
 * appointments and tasks (in memory, no I/O). When not, *@out_tooltip
 * (transfer full) says to track on the synchronizing client, by name. */
gboolean lia_ui_can_track_new_pim (char **out_tooltip);

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
void lia_ui_composer_register (GTypeModule *module);
void lia_ui_shell_register (GTypeModule *module);
void lia_ui_folder_register (GTypeModule *module);
void lia_ui_contact_editor_register (GTypeModule *module);
void lia_ui_view_state_register (GTypeModule *module);

/* R-MAIL-FOLDER: whether the mail folder (@store, host folder id @folder)
 * is tracked, as the last read of the engine's folders said (no I/O); its
 * regarding name in @out_regarding (NULL for none). */
gboolean lia_ui_folder_is_tracked (const char *store, const char *folder, char **out_regarding);
/* The tracking-state line for an item (translated); NULL when untracked. */
char *lia_ui_view_state_line (LiaLinkState state, const char *regarding);
/* The contact editor in @window: FALSE when it has no CRM button; else
 * the link state its last read found (self-test). */
gboolean lia_ui_contact_editor_state (GtkWindow *window, LiaLinkState *out_state);
guint lia_ui_contact_editor_selftest_hide_symbols (gint hide);

/* The sent copy of a message (lia-ui-sent.c): once the folder
 * @folder_uri (an Evolution folder URI) holds the message with
 * @message_id (without angle brackets), @func gets its item and folder
 * ids on the main context; after @timeout_s, or when the folder cannot be
 * opened, it gets NULL and @error. Camel's reads run in a worker; nothing
 * here blocks the main loop. @destroy frees @user_data after @func. */
typedef void (*LiaUiSentFunc) (const char *item_id, const char *folder_id, const GError *error,
                               gpointer user_data);
struct _EMailSession;
void lia_ui_sent_watch (struct _EMailSession *session, const char *folder_uri, const char *message_id,
                        guint timeout_s, LiaUiSentFunc func, gpointer user_data, GDestroyNotify destroy);

/* Adds the Liaison actions to @group once, named @prefix + LIA_UI_ACTION_*
 * (@prefix NULL for none). GtkUIManager binds a UI path to the first
 * action of that name among all its groups, so groups that share a UI
 * manager need distinct prefixes. The callbacks get @user_data; a NULL
 * callback leaves its action out. */
void lia_ui_add_actions (GtkActionGroup *group, const char *prefix, gpointer user_data, GCallback on_track,
                         GCallback on_untrack, GCallback on_regarding, GCallback on_sync);

/* lia-ui-views.c: what the contacts, calendar and tasks views show. */
/* The first mapped widget of @type in @widget's tree (depth first). */
GtkWidget *lia_ui_find_mapped (GtkWidget *widget, GType type);
/* An event selected in a view: a detached instance carries its
 * RECURRENCE-ID; anything else is the single event or the series. */
char *lia_ui_event_item_id (ICalComponent *icalcomp);
/* The contacts selected in the contacts view under @content (transfer
 * full: free with lia_ui_contacts_free()); *@out_supported FALSE when this
 * Evolution lacks the private function that lists them. */
GSList *lia_ui_selected_contacts (GtkWidget *content, gboolean *out_supported);
void lia_ui_contacts_free (GSList *contacts);

/* An Inspector or Explorer event for an item of the primary store
 * (@draft_id: for LIA_UI_EVENT_SEND, the draft it came from); FALSE when
 * no engine runs or @item_id is NULL. */
gboolean lia_ui_send_event (LiaUiEventKind kind, const char *item_id, const char *draft_id);

/* Merges @ui_definition into @view's window while @view is active and
 * removes it when not (the merge id kept on @view under @key); call after
 * EShellView::toggled is over. TRUE when merged. */
gboolean lia_ui_follow_view_ui (EShellView *view, const char *key, const char *ui_definition,
                                const char *what);

G_END_DECLS
