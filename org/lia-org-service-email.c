/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-mail-correlate.h"
#include "lia-org-auth.h"
#include "lia-org-service-private.h"

/* The org's email (SPEC section 8): R-MAIL-DEDUPE (one CRM email per
 * Message-ID, or one activity per CRM user with "two activities"),
 * trackers, tracking tokens (R-MAIL-CORRELATE-TOKEN) and the tagging poll
 * (R-MAIL-TAGGING). lia_org_service_create() calls the dedupe helpers. */

/* Email (R-MAIL-DEDUPE, R-MAIL-TAGGING) --------------------------------- */

static gboolean
setting_true_locked (LiaOrgService *service, const char *key, gboolean *out_on, GError **error)
{
  GError *local = NULL;
  g_autofree char *value = lia_org_store_setting_get (service->store, key, &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  *out_on = g_strcmp0 (value, "true") == 0;
  return TRUE;
}

static char *
email_message_id (const LiaCrmRecord *record)
{
  return lia_mail_canonical_message_id (lia_item_get_text (lia_crm_record_get_item (record), "message-id"));
}

/* Calls @func for each address of the email's from, to and cc. */
static gboolean
email_foreach_party (const LiaCrmRecord *record,
                     gboolean (*func) (const char *folded, gboolean sender, gpointer data, GError **error),
                     gpointer data, GError **error)
{
  static const char *const fields[] = { "from", "to", "cc" };

  for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
    {
      LiaValue *list = lia_item_get (lia_crm_record_get_item (record), fields[f]);
      gsize n = list != NULL && lia_value_get_kind (list) == LIA_VALUE_PARTY_LIST
                    ? lia_value_get_n_parties (list)
                    : 0;
      for (gsize i = 0; i < n; i++)
        {
          const LiaParty *party = lia_value_get_party (list, i);
          g_autofree char *folded = lia_mail_canonical_address (party->address);
          if (folded != NULL && !func (folded, f == 0, data, error))
            return FALSE;
        }
    }
  return TRUE;
}

typedef struct
{
  LiaOrgService *service;
  const LiaCrmRecord *stored;
  const char *message_id;
  GHashTable *done; /* user ids that have their activity */
} TwoActivities;

/* R-MAIL-DEDUPE with "two activities": the sender and each recipient who
 * is a CRM user get an activity of their own, owned by them, with their
 * direction. A distribution list address is not expanded (R-MAIL-DL): only
 * users named by their own address count. */
static gboolean
two_activities_party (const char *folded, gboolean sender, gpointer data, GError **error)
{
  TwoActivities *two = data;
  LiaOrgStore *store = two->service->store;
  GError *local = NULL;
  g_autoptr (LiaCrmUser) user = lia_org_store_user_by_email (store, folded, &local);
  g_autoptr (LiaCrmRecord) copy = NULL;
  g_autofree char *existing = NULL;
  g_autofree char *id = NULL;
  gint64 version = 0;

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (user == NULL || g_hash_table_contains (two->done, user->id))
    return TRUE;
  g_hash_table_add (two->done, g_strdup (user->id));
  if (!lia_org_store_email_message_get (store, two->message_id, user->id, &existing, error))
    return FALSE;
  if (existing != NULL)
    {
      LiaCrmRecord *live = NULL;
      gboolean deleted = FALSE;
      if (!lia_org_store_record_get (store, existing, &live, &deleted, error))
        return FALSE;
      lia_crm_record_free (live);
      if (live != NULL && !deleted)
        return TRUE;
    }
  copy = lia_crm_record_copy (two->stored);
  id = lia_org_auth_new_uuid ();
  if (!lia_org_store_counter_next (store, "version", &version, error))
    return FALSE;
  lia_crm_record_set_id (copy, id);
  lia_crm_record_set_owner (copy, user->id);
  lia_crm_record_set_version (copy, version);
  {
    g_autoptr (LiaValue) direction = lia_value_new_enum (sender ? "outgoing" : "incoming");
    if (!lia_item_set (lia_crm_record_get_item (copy), "direction", direction, error))
      return FALSE;
  }
  return lia_org_store_record_put (store, copy, FALSE, error)
         && lia_org_store_email_message_put (store, two->message_id, user->id, id, error);
}

/* After a new email is stored: remember it under its Message-ID and its
 * tracker, and make the other users' activities when the org wants two. */
gboolean
lia_org_service_email_register_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                       const LiaCrmRecord *stored, GError **error)
{
  g_autofree char *message_id = email_message_id (stored);
  gboolean two = FALSE;

  if (!lia_org_store_email_tracker_put (service->store, caller->user_id, lia_crm_record_get_id (stored),
                                        lia_crm_record_get_version (stored), error))
    return FALSE;
  if (message_id == NULL)
    return TRUE;
  if (!lia_org_store_email_message_put (service->store, message_id, lia_crm_record_get_owner (stored),
                                        lia_crm_record_get_id (stored), error)
      || !setting_true_locked (service, "two-activities", &two, error))
    return FALSE;
  if (two)
    {
      g_autoptr (GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      TwoActivities data = { service, stored, message_id, done };
      g_hash_table_add (done, g_strdup (lia_crm_record_get_owner (stored)));
      return email_foreach_party (stored, two_activities_party, &data, error);
    }
  return TRUE;
}

/* R-MAIL-DEDUPE: the live CRM email a new email of @caller duplicates, or
 * NULL. With "two activities" only the caller's own one counts. */
gboolean
lia_org_service_email_find_same_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                        const LiaCrmRecord *record, LiaCrmRecord **out_same, GError **error)
{
  g_autofree char *message_id = email_message_id (record);
  g_autofree char *existing = NULL;
  LiaCrmRecord *same = NULL;
  gboolean deleted = FALSE;
  gboolean two = FALSE;

  *out_same = NULL;
  if (message_id == NULL)
    return TRUE;
  if (!setting_true_locked (service, "two-activities", &two, error)
      || !lia_org_store_email_message_get (service->store, message_id, two ? caller->user_id : NULL,
                                           &existing, error))
    return FALSE;
  if (existing == NULL)
    return TRUE;
  if (!lia_org_store_record_get (service->store, existing, &same, &deleted, error))
    return FALSE;
  if (same != NULL && (deleted || lia_crm_record_get_entity (same) != LIA_ENTITY_EMAIL))
    g_clear_pointer (&same, lia_crm_record_free);
  *out_same = same;
  return TRUE;
}

/* A second tracker of the same message: it becomes a tracker too, and a
 * regarding it sets replaces the email's (the white paper's User2 setting
 * Record B); the first tracker's client learns it by tagging. */
gboolean
lia_org_service_email_track_same_locked (LiaOrgService *service, const LiaOrgCaller *caller,
                                         LiaCrmRecord *same, const LiaCrmRecord *record,
                                         gboolean *out_changed, GError **error)
{
  LiaValue *regarding = lia_item_get (lia_crm_record_get_item (record), "regarding");
  gint64 version = 0;

  *out_changed = FALSE;
  /* The caller gets the email back as it is after this call: its tracker
   * has seen that version (the other trackers have not). */
  if (regarding == NULL
      || lia_value_equal (regarding, lia_item_get (lia_crm_record_get_item (same), "regarding")))
    return lia_org_store_email_tracker_put (service->store, caller->user_id, lia_crm_record_get_id (same),
                                            lia_crm_record_get_version (same), error);
  if (!lia_item_set (lia_crm_record_get_item (same), "regarding", regarding, error)
      || !lia_org_store_counter_next (service->store, "version", &version, error))
    return FALSE;
  lia_crm_record_set_version (same, version);
  lia_crm_record_set_modified_on (same, lia_clock_now (service->clock));
  *out_changed = TRUE;
  return lia_org_store_record_put (service->store, same, FALSE, error)
         && lia_org_store_email_tracker_put (service->store, caller->user_id, lia_crm_record_get_id (same),
                                             version, error);
}

/* Email: tokens and tagging ----------------------------------------------- */

GStrv
lia_org_service_allocate_tokens (LiaOrgService *service, const LiaOrgCaller *caller, guint count,
                                 GError **error)
{
  g_autoptr (GHashTable) settings = NULL;
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  const char *prefix;
  guint64 digits = 0;
  guint64 modulo = 1;
  gboolean ok = TRUE;
  LOCK (service);

  if (count < 1 || count > 1000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Ask for 1..1000 tracking tokens");
      return NULL;
    }
  if (!lia_org_store_begin (service->store, error))
    return NULL;
  settings = lia_org_service_settings_locked (service, error);
  if (settings == NULL || !lia_org_service_check_approved_locked (service, caller, LIA_ENTITY_EMAIL, error))
    goto fail;
  prefix = g_hash_table_lookup (settings, "tracking-token-prefix");
  if (!g_ascii_string_to_unsigned (g_hash_table_lookup (settings, "tracking-token-digits"), 10, 1,
                                   LIA_MAIL_MAX_TOKEN_DIGITS, &digits, NULL))
    digits = 7;
  for (guint i = 0; i < digits; i++)
    modulo *= 10;
  while (ok && tokens->len < count)
    {
      gint64 next = 0;
      guint64 number;
      ok = lia_org_store_counter_next (service->store, "tracking-token", &next, error);
      /* The number wraps within its digits; 0 is never handed out. */
      number = ok ? (guint64) next % modulo : 0;
      if (ok && number != 0)
        {
          char *token = lia_mail_token_format (prefix, (guint) digits, number, error);
          ok = token != NULL;
          if (ok)
            g_ptr_array_add (tokens, token);
        }
    }
  if (!lia_org_service_finish_locked (service, ok, error))
    return NULL;
  g_ptr_array_add (tokens, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&tokens), FALSE);

fail:
  lia_org_store_rollback (service->store);
  return NULL;
}

typedef struct
{
  const char *address;
  gboolean party;
} PartyCheck;

static gboolean
party_is (const char *folded, gboolean sender, gpointer data, GError **error)
{
  PartyCheck *check = data;

  check->party = check->party || g_str_equal (folded, check->address);
  return TRUE;
}

GPtrArray *
lia_org_service_email_changes (LiaOrgService *service, const LiaOrgCaller *caller, gint64 since_version,
                               guint limit, gint64 *out_last_version, GError **error)
{
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autoptr (LiaCrmUser) user = NULL;
  g_autofree char *address = NULL;
  gint64 last = since_version;
  LOCK (service);

  if (since_version < 0 || limit < 1 || limit > 1000)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Email changes: since >= 0, limit 1..1000");
      return NULL;
    }
  user = lia_org_store_user_get (service->store, caller->user_id, error);
  if (user == NULL)
    return NULL;
  address = lia_mail_canonical_address (user->email);
  ids =
      lia_org_store_email_tracked_since (service->store, caller->user_id, since_version, limit, &last, error);
  if (ids == NULL)
    return NULL;
  for (guint i = 0; i < ids->len; i++)
    {
      LiaCrmRecord *record = NULL;
      gboolean deleted = FALSE;
      PartyCheck check = { address, FALSE };
      if (!lia_org_store_record_get (service->store, ids->pdata[i], &record, &deleted, error))
        return NULL;
      if (record == NULL)
        continue;
      /* R-MAIL-TAGGING: only emails the user is a party to; a
       * distribution list the user is on does not make them one
       * (R-MAIL-DL). */
      if (!deleted && address != NULL)
        email_foreach_party (record, party_is, &check, NULL);
      if (!deleted && check.party)
        {
          LiaCrmRecord *copy = lia_org_service_readable_copy_locked (service, caller, record, error);
          lia_crm_record_free (record);
          if (copy == NULL)
            return NULL;
          g_ptr_array_add (out, copy);
        }
      else
        lia_crm_record_free (record);
    }
  if (out_last_version != NULL)
    *out_last_version = last;
  return g_steal_pointer (&out);
}
