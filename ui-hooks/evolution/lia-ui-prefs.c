/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <shell/e-shell.h>

#include "lia-evo-token.h"
#include "lia-ui-evo-private.h"

/* The Liaison page of Evolution's preferences (Edit → Preferences →
 * CRM): the connection (org, user, token in the keyring), this client's
 * role and the synchronization settings (R-SET-PRIMARY, R-SET-INTERVAL,
 * R-SET-ITEMTYPES, R-SET-COMPANY, R-SET-AUTOTRACK, R-SET-TAGGING) and a
 * read-only view of the sync filters and synchronized fields.
 *
 * The connection comes from the profile `liaison setup` wrote
 * ($XDG_CONFIG_HOME/liaison/profile.ini). Settings go through the
 * plugin's dup_setting / set_setting entry points when the plugin has
 * them; without them the controls show their defaults, insensitive, and
 * say why. */

#define PAGE_NAME "liaison"

typedef struct
{
  char *org;
  char *user;
  gboolean embedded;
} Profile;

static void
profile_clear (Profile *p)
{
  g_clear_pointer (&p->org, g_free);
  g_clear_pointer (&p->user, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Profile, profile_clear)

static gboolean
profile_read (Profile *p)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "liaison", "profile.ini", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *kind = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
    return FALSE;
  kind = g_key_file_get_string (kf, "profile", "kind", NULL);
  p->embedded = g_strcmp0 (kind, "embedded") == 0;
  p->org = g_key_file_get_string (kf, "profile", "org", NULL);
  p->user = g_key_file_get_string (kf, "profile", "user", NULL);
  return p->org != NULL;
}

typedef struct
{
  GtkWidget *token;
  GtkWidget *token_note;
  char *org;
  char *user;
} Page;

static void
page_free (gpointer data)
{
  Page *page = data;

  g_free (page->org);
  g_free (page->user);
  g_free (page);
}

static void
on_token_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GtkWidget *note = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = secret_password_store_finish (result, &error);

  lia_ui_selftest_log ("token to keyring: %s", ok ? "ok" : error->message);
  gtk_label_set_text (GTK_LABEL (note), ok ? _ ("The token is in your keyring.")
                                           : _ ("The keyring refused the token; it stays where it was."));
  g_object_unref (note);
}

static void
on_save_token (GtkButton *button, gpointer user_data)
{
  Page *page = user_data;
  const char *token = gtk_entry_get_text (GTK_ENTRY (page->token));
  g_autofree char *label = NULL;

  if (*token == '\0' || page->org == NULL)
    return;
  label = g_strdup_printf (_ ("Liaison CRM token for %s"), page->user);
  /* Asynchronous: the keyring may prompt or be slow (R-IMM-BACKGROUND). */
  secret_password_store (lia_evo_token_schema (), SECRET_COLLECTION_DEFAULT, label, token, NULL,
                         on_token_stored, g_object_ref (page->token_note), "org", page->org, "user",
                         page->user, NULL);
  gtk_entry_set_text (GTK_ENTRY (page->token), "");
}

static GtkWidget *
heading (const char *text)
{
  GtkWidget *label = gtk_label_new (NULL);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_margin_top (label, 6);
  return label;
}

static GtkWidget *
wrapped_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 70);
  return label;
}

static GtkWidget *
value_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  return label;
}

/* Settings through the plugin (dup_setting / set_setting), read when the
 * page is built and written when the user changes them. */
static LiaPlugin *
settings_plugin (const LiaPluginFuncs **out_funcs)
{
  LiaEvoEngine *engine = lia_ui_engine ();

  *out_funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  if (*out_funcs != NULL && (*out_funcs)->dup_setting != NULL && (*out_funcs)->set_setting != NULL)
    return lia_evo_engine_get_plugin (engine);
  *out_funcs = NULL;
  return NULL;
}

static char *
setting_get (const char *key, const char *fallback)
{
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin = settings_plugin (&funcs);
  char *value = plugin != NULL ? funcs->dup_setting (plugin, key, NULL) : NULL;

  return value != NULL ? value : g_strdup (fallback);
}

/* The page's alert bar: a refusal by the plugin shows there (non-modal,
 * with the plugin's reason) and the control goes back to the stored
 * value. */
static GtkWidget *alert_bar;

static gboolean
setting_set (GtkWidget *widget, const char *key, const char *value)
{
  const LiaPluginFuncs *funcs;
  LiaPlugin *plugin = settings_plugin (&funcs);
  g_autoptr (GError) error = NULL;

  if (plugin == NULL)
    return FALSE;
  if (!funcs->set_setting (plugin, key, value, &error))
    {
      EAlert *alert = lia_ui_alert_for_error (error);

      if (alert_bar != NULL)
        {
          e_alert_bar_submit_alert (E_ALERT_BAR (alert_bar), alert);
          gtk_widget_show (alert_bar);
        }
      else
        lia_ui_alert (NULL, GTK_WINDOW (gtk_widget_get_toplevel (widget)), "failed", error->message);
      g_object_unref (alert);
    }
  lia_ui_selftest_log ("setting %s = %s: %s", key, value != NULL ? value : "(default)",
                       error == NULL ? "ok" : error->message);
  return error == NULL;
}

/* Puts @button back without calling the handler again. */
static void
check_restore (GtkToggleButton *button, GCallback handler, gpointer data, gboolean active)
{
  g_signal_handlers_block_by_func (button, handler, data);
  gtk_toggle_button_set_active (button, active);
  g_signal_handlers_unblock_by_func (button, handler, data);
}

static void
on_check_toggled (GtkToggleButton *button, gpointer key)
{
  gboolean active = gtk_toggle_button_get_active (button);

  if (!setting_set (GTK_WIDGET (button), key, active ? "on" : "off"))
    check_restore (button, G_CALLBACK (on_check_toggled), key, !active);
}

static void
on_interval_changed (GtkSpinButton *spin, gpointer key)
{
  g_autofree char *value = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (spin));

  setting_set (GTK_WIDGET (spin), key, value);
}

/* An on/off setting of the plugin, live when the plugin has settings;
 * @fallback is the value an unset key means. */
static GtkWidget *
plugin_check (const char *label, const char *tip, const char *key, const char *fallback)
{
  const LiaPluginFuncs *funcs;
  g_autofree char *value = setting_get (key, fallback);
  GtkWidget *check = gtk_check_button_new_with_mnemonic (label);
  g_autofree char *name = g_strconcat ("liaison-setting-", key, NULL);

  gtk_widget_set_name (check, name);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), g_strcmp0 (value, "on") == 0);
  gtk_widget_set_tooltip_text (check, tip);
  if (settings_plugin (&funcs) == NULL)
    gtk_widget_set_sensitive (check, FALSE);
  else
    g_signal_connect (check, "toggled", G_CALLBACK (on_check_toggled), (gpointer) key);
  return check;
}

/* R-SET-ITEMTYPES: one check box per type; the setting is the comma list
 * of the checked ones ("" = none, unset = all). */
static const struct
{
  const char *name;
  const char *label;
} item_types[] = { { "contact", N_ ("_Contacts") }, { "appointment", N_ ("_Appointments") },
                   { "task", N_ ("_Tasks") },       { "phonecall", N_ ("_Phone calls") },
                   { "letter", N_ ("_Letters") },   { "fax", N_ ("_Faxes") } };

static gboolean
item_types_has (const char *list, const char *name)
{
  g_auto (GStrv) parts = NULL;

  if (list == NULL)
    return TRUE;
  parts = g_strsplit (list, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (g_strstrip (parts[i]), name))
      return TRUE;
  return FALSE;
}

static void
on_item_type_toggled (GtkToggleButton *button, gpointer box)
{
  g_autoptr (GString) list = g_string_new ("");
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (box));

  for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
    {
      g_autofree char *name = g_strconcat ("liaison-item-type-", item_types[i].name, NULL);

      for (GList *l = children; l != NULL; l = l->next)
        {
          GtkWidget *check = GTK_IS_BIN (l->data) ? gtk_bin_get_child (l->data) : l->data;

          if (GTK_IS_TOGGLE_BUTTON (check) && g_str_equal (gtk_widget_get_name (check), name)
              && gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (check)))
            g_string_append_printf (list, "%s%s", list->len > 0 ? "," : "", item_types[i].name);
        }
    }
  if (!setting_set (GTK_WIDGET (button), LIA_SETTING_ITEM_TYPES, list->str))
    check_restore (button, G_CALLBACK (on_item_type_toggled), box, !gtk_toggle_button_get_active (button));
}

static GtkWidget *
item_types_box (void)
{
  const LiaPluginFuncs *funcs;
  gboolean live = settings_plugin (&funcs) != NULL;
  g_autofree char *value = live ? setting_get (LIA_SETTING_ITEM_TYPES, NULL) : NULL;
  GtkWidget *box = gtk_flow_box_new ();

  gtk_widget_set_name (box, "liaison-item-types");
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (box), GTK_SELECTION_NONE);
  for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
    {
      GtkWidget *check = gtk_check_button_new_with_mnemonic (_ (item_types[i].label));
      g_autofree char *name = g_strconcat ("liaison-item-type-", item_types[i].name, NULL);

      gtk_widget_set_name (check, name);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), item_types_has (value, item_types[i].name));
      gtk_widget_set_tooltip_text (check, _ ("R-SET-ITEMTYPES: changes of unchecked types stay in the CRM "
                                             "until the type is checked again"));
      gtk_widget_set_sensitive (check, live);
      if (live)
        g_signal_connect (check, "toggled", G_CALLBACK (on_item_type_toggled), box);
      gtk_container_add (GTK_CONTAINER (box), check);
    }
  return box;
}

/* R-SET-AUTOTRACK: the five options of the engine's mail-auto-track. */
static void
on_auto_track_changed (GtkComboBox *combo, gpointer user_data)
{
  const char *id = gtk_combo_box_get_active_id (combo);
  g_autofree char *stored = NULL;

  if (id == NULL || setting_set (GTK_WIDGET (combo), LIA_UI_SETTING_AUTO_TRACK, id))
    return;
  stored = setting_get (LIA_UI_SETTING_AUTO_TRACK, "response");
  g_signal_handlers_block_by_func (combo, on_auto_track_changed, user_data);
  gtk_combo_box_set_active_id (combo, stored);
  g_signal_handlers_unblock_by_func (combo, on_auto_track_changed, user_data);
}

static GtkWidget *
auto_track_combo (void)
{
  const LiaPluginFuncs *funcs;
  GtkWidget *combo = gtk_combo_box_text_new ();
  g_autofree char *value = setting_get (LIA_UI_SETTING_AUTO_TRACK, "response");

  gtk_widget_set_name (combo, "liaison-setting-" LIA_UI_SETTING_AUTO_TRACK);
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "none", _ ("no email"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "response", _ ("replies to tracked email"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "crm-contacts",
                             _ ("email from CRM contacts, accounts and leads"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "email-enabled",
                             _ ("email from records with an email address in the CRM"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "all", _ ("all incoming email"));
  if (!gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), value))
    gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), "response");
  gtk_widget_set_tooltip_text (combo, _ ("R-SET-AUTOTRACK: which incoming email in the Inbox is tracked "
                                         "automatically at the next synchronization"));
  if (settings_plugin (&funcs) == NULL)
    gtk_widget_set_sensitive (combo, FALSE);
  else
    g_signal_connect (combo, "changed", G_CALLBACK (on_auto_track_changed), NULL);
  return combo;
}

GtkWidget *
lia_ui_prefs_page_new (void)
{
  g_auto (Profile) profile = { 0 };
  Page *page = g_new0 (Page, 1);
  GtkWidget *grid, *save, *label, *interval, *box, *types;
  LiaEvoEngine *engine = lia_ui_engine ();
  g_auto (LiaSyncStatus) status = { 0 };
  guint row = 0;
  gboolean have_profile = profile_read (&profile);

  page->org = g_strdup (profile.org);
  page->user = g_strdup (profile.user);
  grid = gtk_grid_new ();
  gtk_widget_set_name (grid, "liaison-preferences");
  gtk_container_set_border_width (GTK_CONTAINER (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  g_object_set_data_full (G_OBJECT (grid), "liaison-page", page, page_free);
  alert_bar = e_alert_bar_new ();
  gtk_widget_set_name (alert_bar, "liaison-preferences-alerts");
  gtk_widget_set_no_show_all (alert_bar, TRUE);
  g_object_add_weak_pointer (G_OBJECT (alert_bar), (gpointer *) &alert_bar);
  gtk_grid_attach (GTK_GRID (grid), alert_bar, 0, row++, 3, 1);

  gtk_grid_attach (GTK_GRID (grid), heading (_ ("Connection")), 0, row++, 3, 1);
  gtk_grid_attach (GTK_GRID (grid), value_label (profile.embedded ? _ ("Org file:") : _ ("Server:")), 0, row,
                   1, 1);
  gtk_grid_attach (GTK_GRID (grid),
                   value_label (have_profile ? profile.org : _ ("not set up: run “liaison setup”")), 1, row++,
                   2, 1);
  gtk_grid_attach (GTK_GRID (grid), value_label (_ ("User:")), 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), value_label (profile.user != NULL ? profile.user : "—"), 1, row++, 2, 1);
  label = gtk_label_new_with_mnemonic (_ ("New _token:"));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  page->token = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (page->token), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (page->token), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_widget_set_hexpand (page->token, TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), page->token);
  save = gtk_button_new_with_mnemonic (_ ("Save in _Keyring"));
  gtk_widget_set_sensitive (page->token, have_profile);
  gtk_widget_set_sensitive (save, have_profile);
  g_signal_connect (save, "clicked", G_CALLBACK (on_save_token), page);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), page->token, 1, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), save, 2, row++, 1, 1);
  page->token_note = value_label ("");
  gtk_grid_attach (GTK_GRID (grid), page->token_note, 1, row++, 2, 1);

  gtk_grid_attach (GTK_GRID (grid), heading (_ ("Synchronization")), 0, row++, 3, 1);
  if (engine != NULL)
    {
      g_autofree char *text = NULL;

      lia_evo_engine_get_status (engine, &status);
      text = lia_ui_status_describe (&status);
      gtk_grid_attach (GTK_GRID (grid), value_label (_ ("Status:")), 0, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), value_label (text), 1, row++, 2, 1);
    }
  gtk_grid_attach (GTK_GRID (grid),
                   plugin_check (_ ("This computer is the _synchronizing client"),
                                 _ ("R-SET-PRIMARY: the synchronizing client takes over at the next "
                                    "synchronization; another client is made the synchronizing client "
                                    "from that client"),
                                 LIA_SETTING_PRIMARY_CLIENT, "off"),
                   0, row++, 3, 1);
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_pack_start (GTK_BOX (box),
                      plugin_check (_ ("Synchronize _automatically every"), "R-SET-INTERVAL",
                                    LIA_SETTING_SYNC_AUTOMATIC, "on"),
                      FALSE, FALSE, 0);
  interval = gtk_spin_button_new_with_range (1, 24 * 60, 1);
  {
    const LiaPluginFuncs *funcs;
    g_autofree char *minutes = setting_get (LIA_SETTING_SYNC_INTERVAL, "15");

    gtk_spin_button_set_value (GTK_SPIN_BUTTON (interval), g_ascii_strtod (minutes, NULL));
    gtk_widget_set_tooltip_text (interval, _ ("R-SET-INTERVAL: the org's minimum interval still applies"));
    if (settings_plugin (&funcs) == NULL)
      gtk_widget_set_sensitive (interval, FALSE);
    else
      g_signal_connect (interval, "value-changed", G_CALLBACK (on_interval_changed),
                        (gpointer) LIA_SETTING_SYNC_INTERVAL);
  }
  gtk_box_pack_start (GTK_BOX (box), interval, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), gtk_label_new (_ ("minutes")), FALSE, FALSE, 0);
  gtk_grid_attach (GTK_GRID (grid), box, 0, row++, 3, 1);

  gtk_grid_attach (GTK_GRID (grid), value_label (_ ("Item types from CRM:")), 0, row, 1, 1);
  types = item_types_box ();
  gtk_grid_attach (GTK_GRID (grid), types, 1, row++, 2, 1);
  gtk_grid_attach (GTK_GRID (grid),
                   plugin_check (_ ("Update the _Company field of contacts"), "R-SET-COMPANY",
                                 LIA_SETTING_UPDATE_COMPANY, "on"),
                   0, row++, 3, 1);
  label = gtk_label_new_with_mnemonic (_ ("Track _incoming email automatically:"));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  box = auto_track_combo ();
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), box);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), box, 1, row++, 2, 1);
  gtk_grid_attach (GTK_GRID (grid),
                   plugin_check (_ ("_Tag tracked email"),
                                 _ ("R-SET-TAGGING: tracked email shows its regarding record; the org's "
                                    "setting wins when it has one"),
                                 LIA_UI_SETTING_TAGGING, "on"),
                   0, row++, 3, 1);

  gtk_grid_attach (GTK_GRID (grid), heading (_ ("Filters and fields")), 0, row++, 3, 1);
  gtk_grid_attach (
      GTK_GRID (grid),
      wrapped_label (_ ("The org's sync filters and the synchronized fields with their directions are "
                        "listed by “liaison status” and “liaison-org filter list”.")),
      0, row++, 3, 1);
  gtk_widget_show_all (grid);
  lia_ui_selftest_log ("preferences page built (profile %s)", have_profile ? "found" : "missing");
  return grid;
}

static GtkWidget *
create_page (EPreferencesWindow *window)
{
  GtkWidget *scrolled = gtk_scrolled_window_new (NULL, NULL);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_container_add (GTK_CONTAINER (scrolled), lia_ui_prefs_page_new ());
  gtk_widget_show (scrolled);
  return scrolled;
}

void
lia_ui_prefs_register (GtkApplication *shell)
{
  GtkWidget *window = e_shell_get_preferences_window (E_SHELL (shell));

  /* The page is built when the user first opens it. */
  e_preferences_window_add_page (E_PREFERENCES_WINDOW (window), PAGE_NAME, "emblem-shared", _ ("CRM"), NULL,
                                 create_page, 900);
}
