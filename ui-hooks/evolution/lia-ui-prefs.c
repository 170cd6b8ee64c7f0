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

/* ---- settings through the plugin, off the main loop ----
 *
 * The page is built with the defaults, insensitive; one worker call reads
 * every setting (dup_setting), then the controls show the stored values
 * and become live. A change is written by set_setting on a worker, one
 * write after the other in the order the user made them; a refusal shows
 * in the page's alert bar and the control goes back to its value before
 * the change. There is one CRM page per process. */

static const char *const setting_keys[] = {
  LIA_SETTING_PRIMARY_CLIENT, LIA_SETTING_SYNC_AUTOMATIC, LIA_SETTING_SYNC_INTERVAL, LIA_SETTING_ITEM_TYPES,
  LIA_SETTING_UPDATE_COMPANY, LIA_UI_SETTING_AUTO_TRACK,  LIA_UI_SETTING_TAGGING,
};

typedef struct
{
  GHashTable *controls;      /* key -> GtkWidget (borrowed, alive with the page) */
  GCancellable *cancellable; /* owned: cancelled when the page goes */
  gboolean loaded;           /* the stored values are shown */
  gboolean quiet;            /* the page sets its controls: no writes */
  gboolean tagging_overridden;
  guint retries; /* reads while Liaison was still starting */
  GtkWidget *tagging_note;
  GtkListStore *filters; /* owned */
  GtkListStore *fields;  /* owned */
  GtkWidget *org_note;
} Settings;

static Settings *settings; /* the page's, NULL while it does not exist */

static gboolean
settings_live (void)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;

  return funcs != NULL && funcs->dup_setting != NULL && funcs->set_setting != NULL;
}

/* The page's alert bar: a refusal by the plugin shows there (non-modal,
 * with the plugin's reason). */
static GtkWidget *alert_bar;

static void
show_refusal (GtkWidget *widget, const GError *error)
{
  EAlert *alert = lia_ui_alert_for_error (error);

  if (alert_bar != NULL)
    {
      e_alert_bar_submit_alert (E_ALERT_BAR (alert_bar), alert);
      gtk_widget_show (alert_bar);
    }
  else if (widget != NULL)
    lia_ui_alert (NULL, GTK_WINDOW (gtk_widget_get_toplevel (widget)), "failed", error->message);
  g_object_unref (alert);
}

typedef struct
{
  char *key;
  char *value;
  GWeakRef widget;
  gint restore_active; /* a toggle's state before the change, -1 for none */
  char *restore_id;    /* a combo's id before the change */
} Write;

static void
write_free (gpointer data)
{
  Write *w = data;

  g_free (w->key);
  g_free (w->value);
  g_weak_ref_clear (&w->widget);
  g_free (w->restore_id);
  g_free (w);
}

static GQueue writes = G_QUEUE_INIT;
static gboolean writing;

static gpointer
write_setting (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  const Write *w = data;

  return funcs->set_setting (plugin, w->key, w->value, error) ? GINT_TO_POINTER (TRUE) : NULL;
}

static void write_next (void);

static void
write_done (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  Write *w = user_data; /* freed with the call */
  g_autoptr (GtkWidget) widget = g_weak_ref_get (&w->widget);

  lia_ui_selftest_log ("setting %s = %s: %s", w->key, w->value != NULL ? w->value : "(default)",
                       error == NULL ? "ok" : error->message);
  if (error != NULL && widget != NULL)
    {
      show_refusal (widget, error);
      if (settings != NULL)
        settings->quiet = TRUE;
      if (w->restore_active >= 0 && GTK_IS_TOGGLE_BUTTON (widget))
        gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (widget), w->restore_active);
      else if (w->restore_id != NULL && GTK_IS_COMBO_BOX (widget))
        gtk_combo_box_set_active_id (GTK_COMBO_BOX (widget), w->restore_id);
      if (settings != NULL)
        settings->quiet = FALSE;
    }
  else if (error == NULL && widget != NULL && GTK_IS_COMBO_BOX (widget))
    g_object_set_data_full (G_OBJECT (widget), "liaison-stored", g_strdup (w->value), g_free);
  writing = FALSE;
  write_next ();
}

static void
write_next (void)
{
  Write *w;

  if (writing || (w = g_queue_pop_head (&writes)) == NULL)
    return;
  writing = TRUE;
  /* No owner, no cancellable: a write the user made completes even when
   * the page goes away meanwhile. */
  lia_ui_plugin_call (NULL, NULL, write_setting, w, write_free, NULL, write_done, w);
}

/* Queues the write of @key = @value from @widget (the user's change). */
static void
setting_set (GtkWidget *widget, const char *key, const char *value, gint restore_active,
             const char *restore_id)
{
  Write *w = g_new0 (Write, 1);

  w->key = g_strdup (key);
  w->value = g_strdup (value);
  g_weak_ref_init (&w->widget, widget);
  w->restore_active = restore_active;
  w->restore_id = g_strdup (restore_id);
  g_queue_push_tail (&writes, w);
  write_next ();
}

/* Whether a handler should write: the user changed a live control. */
static gboolean
user_change (void)
{
  return settings != NULL && settings->loaded && !settings->quiet;
}

static void
on_check_toggled (GtkToggleButton *button, gpointer key)
{
  gboolean active = gtk_toggle_button_get_active (button);

  if (user_change ())
    setting_set (GTK_WIDGET (button), key, active ? "on" : "off", !active, NULL);
}

static void
on_interval_changed (GtkSpinButton *spin, gpointer key)
{
  g_autofree char *value = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (spin));

  if (user_change ())
    setting_set (GTK_WIDGET (spin), key, value, -1, NULL);
}

/* An on/off setting of the plugin; @fallback is the value an unset key
 * means, shown until the stored value is read. */
static GtkWidget *
plugin_check (const char *label, const char *tip, const char *key, const char *fallback)
{
  GtkWidget *check = gtk_check_button_new_with_mnemonic (label);
  g_autofree char *name = g_strconcat ("liaison-setting-", key, NULL);

  gtk_widget_set_name (check, name);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), g_strcmp0 (fallback, "on") == 0);
  g_object_set_data (G_OBJECT (check), "liaison-fallback", (gpointer) fallback);
  gtk_widget_set_tooltip_text (check, tip);
  gtk_widget_set_sensitive (check, FALSE);
  g_hash_table_insert (settings->controls, (gpointer) key, check);
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

static GtkWidget *
item_type_check (GtkWidget *box, const char *type)
{
  g_autofree char *name = g_strconcat ("liaison-item-type-", type, NULL);
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (box));

  for (GList *l = children; l != NULL; l = l->next)
    {
      GtkWidget *check = GTK_IS_BIN (l->data) ? gtk_bin_get_child (l->data) : l->data;

      if (GTK_IS_TOGGLE_BUTTON (check) && g_str_equal (gtk_widget_get_name (check), name))
        return check;
    }
  return NULL;
}

static void
on_item_type_toggled (GtkToggleButton *button, gpointer box)
{
  g_autoptr (GString) list = g_string_new ("");

  if (!user_change ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
    {
      GtkWidget *check = item_type_check (box, item_types[i].name);

      if (check != NULL && gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (check)))
        g_string_append_printf (list, "%s%s", list->len > 0 ? "," : "", item_types[i].name);
    }
  setting_set (GTK_WIDGET (button), LIA_SETTING_ITEM_TYPES, list->str, !gtk_toggle_button_get_active (button),
               NULL);
}

static GtkWidget *
item_types_box (void)
{
  GtkWidget *box = gtk_flow_box_new ();

  gtk_widget_set_name (box, "liaison-item-types");
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (box), GTK_SELECTION_NONE);
  for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
    {
      GtkWidget *check = gtk_check_button_new_with_mnemonic (_ (item_types[i].label));
      g_autofree char *name = g_strconcat ("liaison-item-type-", item_types[i].name, NULL);

      gtk_widget_set_name (check, name);
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), TRUE);
      gtk_widget_set_tooltip_text (check, _ ("R-SET-ITEMTYPES: changes of unchecked types stay in the CRM "
                                             "until the type is checked again"));
      gtk_widget_set_sensitive (check, FALSE);
      g_signal_connect (check, "toggled", G_CALLBACK (on_item_type_toggled), box);
      gtk_container_add (GTK_CONTAINER (box), check);
    }
  g_hash_table_insert (settings->controls, (gpointer) LIA_SETTING_ITEM_TYPES, box);
  return box;
}

/* R-SET-AUTOTRACK: the five options of the engine's mail-auto-track. */
static void
on_auto_track_changed (GtkComboBox *combo, gpointer user_data)
{
  const char *id = gtk_combo_box_get_active_id (combo);

  if (id != NULL && user_change ())
    setting_set (GTK_WIDGET (combo), LIA_UI_SETTING_AUTO_TRACK, id, -1,
                 g_object_get_data (G_OBJECT (combo), "liaison-stored"));
}

static GtkWidget *
auto_track_combo (void)
{
  GtkWidget *combo = gtk_combo_box_text_new ();

  gtk_widget_set_name (combo, "liaison-setting-" LIA_UI_SETTING_AUTO_TRACK);
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "none", _ ("no email"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "response", _ ("replies to tracked email"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "crm-contacts",
                             _ ("email from CRM contacts, accounts and leads"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "email-enabled",
                             _ ("email from records with an email address in the CRM"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "all", _ ("all incoming email"));
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (combo), "response");
  gtk_widget_set_tooltip_text (combo, _ ("R-SET-AUTOTRACK: which incoming email in the Inbox is tracked "
                                         "automatically at the next synchronization"));
  gtk_widget_set_sensitive (combo, FALSE);
  g_hash_table_insert (settings->controls, (gpointer) LIA_UI_SETTING_AUTO_TRACK, combo);
  g_signal_connect (combo, "changed", G_CALLBACK (on_auto_track_changed), NULL);
  return combo;
}

static gpointer
read_settings (LiaPlugin *plugin, const LiaPluginFuncs *funcs, gpointer data, GError **error)
{
  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint i = 0; i < G_N_ELEMENTS (setting_keys); i++)
    {
      g_autoptr (GError) local = NULL;
      char *value = funcs->dup_setting (plugin, setting_keys[i], &local);

      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      if (value != NULL)
        g_hash_table_insert (values, (gpointer) setting_keys[i], value);
    }
  return g_steal_pointer (&values);
}

/* R-SET-TAGGING: the org's override wins; the switch shows it, fixed. */
static void
apply_tagging_override (const char *override)
{
  GtkWidget *check = g_hash_table_lookup (settings->controls, LIA_UI_SETTING_TAGGING);

  settings->tagging_overridden = override != NULL;
  if (override == NULL || check == NULL)
    return;
  settings->quiet = TRUE;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check), g_str_equal (override, "on"));
  settings->quiet = FALSE;
  gtk_widget_set_sensitive (check, FALSE);
  gtk_label_set_text (
      GTK_LABEL (settings->tagging_note),
      g_str_equal (override, "on")
          ? _ ("Your organization tags tracked email for everyone; this cannot be changed here.")
          : _ ("Your organization has turned email tagging off for everyone; this cannot be "
               "changed here."));
  gtk_widget_show (settings->tagging_note);
}

static void start_settings_read (GtkWidget *grid);

static gboolean
retry_read_timeout (gpointer data)
{
  g_autoptr (GObject) grid = g_weak_ref_get (data);

  if (grid != NULL && settings != NULL)
    start_settings_read (GTK_WIDGET (grid));
  return G_SOURCE_REMOVE;
}

/* From an idle (not inside the call's callback): wait a second. */
static gboolean
retry_read_later (gpointer data)
{
  g_autoptr (GObject) grid = g_weak_ref_get (data);
  GWeakRef *weak;

  if (grid == NULL)
    return G_SOURCE_REMOVE;
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, grid);
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, 1, retry_read_timeout, weak, lia_ui_weak_ref_free);
  return G_SOURCE_REMOVE;
}

static void
settings_read (gpointer owner, gpointer result, const GError *error, gpointer user_data)
{
  g_autoptr (GHashTable) values = result;
  GHashTableIter iter;
  gpointer key, widget;

  if (settings == NULL)
    return;
  /* Evolution is still starting Liaison (the cache opens in the
   * background): read again in a second, for a minute. */
  if (values == NULL && g_error_matches (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE) && settings->retries++ < 60)
    {
      lia_ui_idle_with_weak_ref (owner, retry_read_later);
      return;
    }
  if (values == NULL)
    {
      lia_ui_selftest_log ("preferences: settings not read: %s", error != NULL ? error->message : "");
      if (error != NULL)
        show_refusal (NULL, error);
      return;
    }
  settings->quiet = TRUE;
  g_hash_table_iter_init (&iter, settings->controls);
  while (g_hash_table_iter_next (&iter, &key, &widget))
    {
      const char *value = g_hash_table_lookup (values, key);

      if (g_str_equal (key, LIA_SETTING_ITEM_TYPES))
        for (guint i = 0; i < G_N_ELEMENTS (item_types); i++)
          {
            GtkWidget *check = item_type_check (widget, item_types[i].name);

            if (check != NULL)
              {
                gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (check),
                                              item_types_has (value, item_types[i].name));
                gtk_widget_set_sensitive (check, TRUE);
              }
          }
      else if (GTK_IS_SPIN_BUTTON (widget))
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (widget),
                                   g_ascii_strtod (value != NULL ? value : "15", NULL));
      else if (GTK_IS_COMBO_BOX (widget))
        {
          if (value == NULL || !gtk_combo_box_set_active_id (GTK_COMBO_BOX (widget), value))
            gtk_combo_box_set_active_id (GTK_COMBO_BOX (widget), "response");
          g_object_set_data_full (G_OBJECT (widget), "liaison-stored",
                                  g_strdup (gtk_combo_box_get_active_id (GTK_COMBO_BOX (widget))), g_free);
        }
      else if (GTK_IS_TOGGLE_BUTTON (widget)
               && !(g_str_equal (key, LIA_UI_SETTING_TAGGING) && settings->tagging_overridden))
        gtk_toggle_button_set_active (
            GTK_TOGGLE_BUTTON (widget),
            g_strcmp0 (value != NULL ? value : g_object_get_data (widget, "liaison-fallback"), "on") == 0);
      if (!GTK_IS_FLOW_BOX (widget))
        gtk_widget_set_sensitive (
            widget, !(g_str_equal (key, LIA_UI_SETTING_TAGGING) && settings->tagging_overridden));
    }
  settings->quiet = FALSE;
  settings->loaded = TRUE;
  lia_ui_selftest_log ("preferences: %u settings read", g_hash_table_size (values));
}

/* ---- what the org decides, read-only ---- */

enum
{
  FILTER_ENTITY,
  FILTER_NAME,
  FILTER_BY,
  FILTER_ENABLED,
  FILTER_XML,
  FILTER_N
};

enum
{
  FIELD_ENTITY,
  FIELD_LABEL,
  FIELD_CRM,
  FIELD_DIRECTION,
  FIELD_ACCESS,
  FIELD_N
};

static const char *
entity_label_of (const char *name)
{
  LiaEntity entity;

  return lia_entity_from_string (name, &entity) ? lia_ui_entity_label (entity) : name;
}

static const char *
direction_label (LiaDirection direction)
{
  switch (direction)
    {
    case LIA_DIRECTION_BOTH:
      return _ ("both ways");
    case LIA_DIRECTION_TO_CRM:
      return _ ("to CRM only");
    case LIA_DIRECTION_TO_HOST:
      return _ ("from CRM only");
    default:
      return _ ("not synchronized");
    }
}

static void
org_info_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  const LiaPluginFuncs *funcs = user_data;
  LiaEvoEngine *engine = lia_ui_engine ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) info = NULL;
  g_autoptr (GVariant) filters = NULL;
  g_autoptr (GVariant) fields = NULL;
  const char *tagging = NULL;
  GVariantIter iter;
  const char *entity, *name, *xml, *label, *crm;
  gboolean system, enabled, can_read, can_update;
  guint32 direction;

  info = funcs->org_info_finish (engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL, result, &error);
  /* The page went away meanwhile. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || settings == NULL)
    return;
  if (info == NULL)
    {
      g_autofree char *text =
          g_strdup_printf (_ ("What the org decides cannot be read now: %s"), error->message);

      gtk_label_set_text (GTK_LABEL (settings->org_note), text);
      gtk_widget_show (settings->org_note);
      lia_ui_selftest_log ("preferences: org information not read: %s", error->message);
      return;
    }
  g_variant_lookup (info, "tagging-override", "&s", &tagging);
  apply_tagging_override (tagging);
  filters = g_variant_lookup_value (info, "filters", G_VARIANT_TYPE ("a(sssbb)"));
  if (filters != NULL)
    {
      g_variant_iter_init (&iter, filters);
      while (g_variant_iter_next (&iter, "(&s&s&sbb)", &entity, &name, &xml, &system, &enabled))
        gtk_list_store_insert_with_values (settings->filters, NULL, -1, FILTER_ENTITY,
                                           entity_label_of (entity), FILTER_NAME, name, FILTER_BY,
                                           system ? _ ("your organization") : _ ("you"), FILTER_ENABLED,
                                           enabled ? _ ("yes") : _ ("no"), FILTER_XML, xml, -1);
    }
  fields = g_variant_lookup_value (info, "fields", G_VARIANT_TYPE ("a(ssssubb)"));
  if (fields != NULL)
    {
      g_variant_iter_init (&iter, fields);
      while (g_variant_iter_next (&iter, "(&s&s&s&subb)", &entity, &name, &label, &crm, &direction, &can_read,
                                  &can_update))
        gtk_list_store_insert_with_values (settings->fields, NULL, -1, FIELD_ENTITY, entity_label_of (entity),
                                           FIELD_LABEL, label, FIELD_CRM,
                                           *crm != '\0' ? crm : _ ("(computed here)"), FIELD_DIRECTION,
                                           direction_label ((LiaDirection) direction), FIELD_ACCESS,
                                           !can_read     ? _ ("hidden from you")
                                           : !can_update ? _ ("read-only for you")
                                                         : "",
                                           -1);
    }
  lia_ui_selftest_log ("preferences: org information: %d filters, %d fields, tagging override %s",
                       gtk_tree_model_iter_n_children (GTK_TREE_MODEL (settings->filters), NULL),
                       gtk_tree_model_iter_n_children (GTK_TREE_MODEL (settings->fields), NULL),
                       tagging != NULL ? tagging : "none");
}

static GtkWidget *
list_view (GtkListStore *store, const char *name, const char *const *titles, guint n, gint tooltip_column)
{
  GtkWidget *view = gtk_tree_view_new_with_model (GTK_TREE_MODEL (store));
  GtkWidget *scrolled = gtk_scrolled_window_new (NULL, NULL);

  gtk_widget_set_name (view, name);
  for (guint i = 0; i < n; i++)
    {
      GtkTreeViewColumn *column = gtk_tree_view_column_new_with_attributes (
          _ (titles[i]), gtk_cell_renderer_text_new (), "text", i, NULL);

      gtk_tree_view_column_set_resizable (column, TRUE);
      gtk_tree_view_append_column (GTK_TREE_VIEW (view), column);
    }
  if (tooltip_column >= 0)
    gtk_tree_view_set_tooltip_column (GTK_TREE_VIEW (view), tooltip_column);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_AUTOMATIC, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled), 120);
  gtk_widget_set_hexpand (scrolled, TRUE);
  gtk_container_add (GTK_CONTAINER (scrolled), view);
  return scrolled;
}

static void
on_page_destroy (GtkWidget *grid, gpointer user_data)
{
  Settings *s = user_data;

  g_cancellable_cancel (s->cancellable);
  g_clear_object (&s->cancellable);
  g_clear_object (&s->filters);
  g_clear_object (&s->fields);
  g_hash_table_unref (s->controls);
  if (settings == s)
    settings = NULL;
  g_free (s);
}

static void
start_settings_read (GtkWidget *grid)
{
  lia_ui_plugin_call (grid, settings->cancellable, read_settings, NULL, NULL,
                      (GDestroyNotify) g_hash_table_unref, settings_read, NULL);
}

static gboolean
start_org_info (void)
{
  LiaEvoEngine *engine = lia_ui_engine ();
  const LiaPluginFuncs *funcs = engine != NULL ? lia_evo_engine_get_funcs (engine) : NULL;
  LiaPlugin *plugin = engine != NULL ? lia_evo_engine_get_plugin (engine) : NULL;

  if (plugin == NULL || funcs->org_info_async == NULL || funcs->org_info_finish == NULL)
    return FALSE;
  gtk_widget_hide (settings->org_note);
  funcs->org_info_async (plugin, settings->cancellable, org_info_read, (gpointer) funcs);
  return TRUE;
}

/* The engine was still starting when the page was built. */
static void
on_engine_ready (LiaEvoEngine *engine, gpointer grid)
{
  g_signal_handlers_disconnect_by_func (engine, on_engine_ready, grid);
  if (settings != NULL)
    start_org_info ();
}

/* Starts reading the settings and what the org decides (both off the main
 * loop). */
static void
settings_start (GtkWidget *grid)
{
  LiaEvoEngine *engine = lia_ui_engine ();

  if (settings_live ())
    start_settings_read (grid);
  if (start_org_info ())
    return;
  gtk_label_set_text (GTK_LABEL (settings->org_note),
                      _ ("The sync filters and fields show once Liaison runs in this Evolution."));
  gtk_widget_show (settings->org_note);
  if (engine != NULL)
    g_signal_connect_object (engine, "ready", G_CALLBACK (on_engine_ready), grid, 0);
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
  if (settings != NULL)
    g_warning ("a second Liaison preferences page: only the last one is live");
  settings = g_new0 (Settings, 1);
  settings->controls = g_hash_table_new (g_str_hash, g_str_equal);
  settings->cancellable = g_cancellable_new ();
  grid = gtk_grid_new ();
  g_signal_connect (grid, "destroy", G_CALLBACK (on_page_destroy), settings);
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
  gtk_widget_set_name (interval, "liaison-setting-" LIA_SETTING_SYNC_INTERVAL);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (interval), 15);
  gtk_widget_set_tooltip_text (interval, _ ("R-SET-INTERVAL: the org's minimum interval still applies"));
  gtk_widget_set_sensitive (interval, FALSE);
  g_hash_table_insert (settings->controls, (gpointer) LIA_SETTING_SYNC_INTERVAL, interval);
  g_signal_connect (interval, "value-changed", G_CALLBACK (on_interval_changed),
                    (gpointer) LIA_SETTING_SYNC_INTERVAL);
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
  settings->tagging_note = wrapped_label ("");
  gtk_widget_set_name (settings->tagging_note, "liaison-tagging-note");
  gtk_widget_set_no_show_all (settings->tagging_note, TRUE);
  gtk_widget_set_margin_start (settings->tagging_note, 24);
  gtk_grid_attach (GTK_GRID (grid), settings->tagging_note, 0, row++, 3, 1);

  /* Read-only: what the org decides for this user. */
  gtk_grid_attach (GTK_GRID (grid), heading (_ ("Sync filters")), 0, row++, 3, 1);
  gtk_grid_attach (GTK_GRID (grid),
                   wrapped_label (_ ("The CRM records these filters select come to Evolution. Your "
                                     "organization's filters apply to everyone; yours are changed with "
                                     "“liaison-org filter”. Hover a filter for its conditions.")),
                   0, row++, 3, 1);
  {
    static const char *const titles[] = { N_ ("Type"), N_ ("Filter"), N_ ("Set by"), N_ ("Enabled") };

    settings->filters = gtk_list_store_new (FILTER_N, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                            G_TYPE_STRING, G_TYPE_STRING);
    gtk_grid_attach (
        GTK_GRID (grid),
        list_view (settings->filters, "liaison-filters", titles, G_N_ELEMENTS (titles), FILTER_XML), 0, row++,
        3, 1);
  }
  gtk_grid_attach (GTK_GRID (grid), heading (_ ("Synchronized fields")), 0, row++, 3, 1);
  {
    static const char *const titles[] = { N_ ("Type"), N_ ("Field"), N_ ("CRM field"), N_ ("Direction"),
                                          N_ ("Access") };

    settings->fields = gtk_list_store_new (FIELD_N, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                                           G_TYPE_STRING, G_TYPE_STRING);
    gtk_grid_attach (GTK_GRID (grid),
                     list_view (settings->fields, "liaison-fields", titles, G_N_ELEMENTS (titles), -1), 0,
                     row++, 3, 1);
  }
  settings->org_note = wrapped_label ("");
  gtk_widget_set_name (settings->org_note, "liaison-org-note");
  gtk_widget_set_no_show_all (settings->org_note, TRUE);
  gtk_grid_attach (GTK_GRID (grid), settings->org_note, 0, row++, 3, 1);
  gtk_widget_show_all (grid);
  settings_start (grid);
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
