/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-rules-private.h"

/* Client roles (SPEC section 2) and immediate synchronization (section 3).
 *
 * The table below is SPEC section 3 as data: one row per SPEC row, one cell
 * per item kind and client role. SPEC's "secondary or delegate" column is
 * split in two because the two differ for Track: a secondary client is
 * refused (R-ROLE-SECONDARY-NO-NEW), a delegate marks the item for the
 * primary to promote (R-ROLE-DELEGATE). A cell that names a rule overrides
 * the row's rule as "the rule that decided". Rows whose rule is NULL cover
 * the action/surface pairs SPEC does not list, so that every pair has an
 * answer; their note says which SPEC row they follow.
 *
 * lia_rules_sync_timing() only normalizes its input (roaming, Set Regarding
 * on an untracked item, actions on untracked items) and looks the cell up;
 * it has no rule of its own besides the unconfigured delegate. */

#define NOW            \
  {                    \
    LIA_SYNC_NOW, NULL \
  }
#define CLOSE               \
  {                         \
    LIA_SYNC_ON_CLOSE, NULL \
  }
#define SAVE               \
  {                        \
    LIA_SYNC_ON_SAVE, NULL \
  }
#define SEND                        \
  {                                 \
    LIA_SYNC_ON_SEND, "R-IMM-DRAFT" \
  }
#define CYCLE                 \
  {                           \
    LIA_SYNC_NEXT_CYCLE, NULL \
  }
#define NA                        \
  {                               \
    LIA_SYNC_NOT_APPLICABLE, NULL \
  }
#define DEFER                                        \
  {                                                  \
    LIA_SYNC_PRIMARY_CYCLE, "R-ROLE-SECONDARY-DEFER" \
  }
#define NO_NEW                                  \
  {                                             \
    LIA_SYNC_REFUSED, "R-ROLE-SECONDARY-NO-NEW" \
  }
#define DELEGATE                              \
  {                                           \
    LIA_SYNC_PRIMARY_CYCLE, "R-ROLE-DELEGATE" \
  }

/* Cells: { mail: primary, secondary, delegate }, { draft: ... }, { pim: ... } */
static const LiaSyncRow sync_table[] = {
  { "R-IMM-TRACK-INSP",
    LIA_ACTION_TRACK,
    LIA_SURFACE_INSPECTOR,
    { { NOW, NOW, DELEGATE }, { SEND, SEND, DELEGATE }, { SAVE, NO_NEW, DELEGATE } },
    NULL },
  { "R-IMM-UPDATE-INSP",
    LIA_ACTION_UPDATE,
    LIA_SURFACE_INSPECTOR,
    { { NOW, NOW, DELEGATE }, { SEND, SEND, DELEGATE }, { CLOSE, DEFER, DELEGATE } },
    NULL },
  { "R-IMM-UNTRACK-INSP",
    LIA_ACTION_UNTRACK,
    LIA_SURFACE_INSPECTOR,
    { { NOW, NOW, DELEGATE }, { NA, NA, NA }, { CLOSE, DEFER, DELEGATE } },
    NULL },
  { "R-IMM-DELETE-INSP",
    LIA_ACTION_DELETE,
    LIA_SURFACE_INSPECTOR,
    { { CYCLE, CYCLE, DELEGATE }, { NA, NA, NA }, { CYCLE, DEFER, DELEGATE } },
    NULL },
  { "R-IMM-TRACK-EXPL",
    LIA_ACTION_TRACK,
    LIA_SURFACE_EXPLORER,
    { { NOW, NOW, DELEGATE }, { NA, NA, NA }, { NOW, NO_NEW, DELEGATE } },
    NULL },
  { "R-IMM-REGARDING-EXPL",
    LIA_ACTION_SET_REGARDING,
    LIA_SURFACE_EXPLORER,
    { { NOW, NOW, DELEGATE }, { NA, NA, NA }, { NOW, DEFER, DELEGATE } },
    NULL },
  { "R-IMM-DELETE-EXPL",
    LIA_ACTION_DELETE,
    LIA_SURFACE_EXPLORER,
    { { CYCLE, CYCLE, DELEGATE }, { NA, NA, NA }, { CYCLE, DEFER, DELEGATE } },
    NULL },
  /* Derived: not in SPEC. */
  { NULL,
    LIA_ACTION_SET_REGARDING,
    LIA_SURFACE_INSPECTOR,
    { { NOW, NOW, DELEGATE }, { SEND, SEND, DELEGATE }, { CLOSE, DEFER, DELEGATE } },
    "follows R-IMM-UPDATE-INSP: for email, regarding is the one synced field; for the others, an Inspector "
    "edit" },
  { NULL,
    LIA_ACTION_UPDATE,
    LIA_SURFACE_EXPLORER,
    { { NA, NA, NA }, { NA, NA, NA }, { NOW, DEFER, DELEGATE } },
    "follows R-IMM-UPDATE-INSP: an edit in the list is complete at once, like a closed Inspector; "
    "email changes only through Set Regarding" },
  { NULL,
    LIA_ACTION_UNTRACK,
    LIA_SURFACE_EXPLORER,
    { { NOW, NOW, DELEGATE }, { NA, NA, NA }, { NOW, DEFER, DELEGATE } },
    "follows R-IMM-TRACK-EXPL" },
};

#undef NOW
#undef CLOSE
#undef SAVE
#undef SEND
#undef CYCLE
#undef NA
#undef DEFER
#undef NO_NEW
#undef DELEGATE

/* Who uploads changes of tracked items (R-ROLE-SECONDARY-DEFER,
 * R-ROLE-EMAIL-UNIFORM, R-ROLE-DELEGATE): [kind][role]. */
static const gboolean sends_changes[LIA_ITEM_KIND_N][LIA_CLIENT_N] = {
  [LIA_ITEM_KIND_MAIL] = { [LIA_CLIENT_PRIMARY] = TRUE, [LIA_CLIENT_SECONDARY] = TRUE },
  [LIA_ITEM_KIND_DRAFT] = { [LIA_CLIENT_PRIMARY] = TRUE, [LIA_CLIENT_SECONDARY] = TRUE },
  [LIA_ITEM_KIND_PIM] = { [LIA_CLIENT_PRIMARY] = TRUE },
};

static const char *const role_names[] = {
  [LIA_CLIENT_PRIMARY] = "primary",
  [LIA_CLIENT_SECONDARY] = "secondary",
  [LIA_CLIENT_DELEGATE] = "delegate",
};
G_STATIC_ASSERT (G_N_ELEMENTS (role_names) == LIA_CLIENT_N);

static const char *const kind_names[] = {
  [LIA_ITEM_KIND_MAIL] = "email",
  [LIA_ITEM_KIND_DRAFT] = "draft",
  [LIA_ITEM_KIND_PIM] = "contact/appointment/task",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == LIA_ITEM_KIND_N);

static const char *const surface_names[] = {
  [LIA_SURFACE_INSPECTOR] = "Inspector",
  [LIA_SURFACE_EXPLORER] = "Explorer",
};
G_STATIC_ASSERT (G_N_ELEMENTS (surface_names) == LIA_SURFACE_N);

static const char *const action_names[] = {
  [LIA_ACTION_TRACK] = "Track",
  [LIA_ACTION_UPDATE] = "Update",
  [LIA_ACTION_UNTRACK] = "Untrack",
  [LIA_ACTION_DELETE] = "Delete",
  [LIA_ACTION_SET_REGARDING] = "Set Regarding",
};
G_STATIC_ASSERT (G_N_ELEMENTS (action_names) == LIA_ACTION_N);

static const char *const timing_names[] = {
  [LIA_SYNC_NOW] = "now",          [LIA_SYNC_ON_CLOSE] = "close",
  [LIA_SYNC_ON_SAVE] = "save",     [LIA_SYNC_ON_SEND] = "send",
  [LIA_SYNC_NEXT_CYCLE] = "cycle", [LIA_SYNC_PRIMARY_CYCLE] = "cycle of primary",
  [LIA_SYNC_REFUSED] = "refused",  [LIA_SYNC_NOT_APPLICABLE] = "n/a",
};
G_STATIC_ASSERT (G_N_ELEMENTS (timing_names) == LIA_SYNC_N);

#define NAME_OF(table, value) ((guint) (value) < G_N_ELEMENTS (table) ? table[value] : "?")

const char *
lia_client_role_to_string (LiaClientRole role)
{
  return NAME_OF (role_names, role);
}

const char *
lia_item_kind_to_string (LiaItemKind kind)
{
  return NAME_OF (kind_names, kind);
}

const char *
lia_surface_to_string (LiaSurface surface)
{
  return NAME_OF (surface_names, surface);
}

const char *
lia_action_to_string (LiaAction action)
{
  return NAME_OF (action_names, action);
}

const char *
lia_sync_timing_to_string (LiaSyncTiming timing)
{
  return NAME_OF (timing_names, timing);
}

const LiaSyncRow *
lia_rules_get_sync_table (guint *out_n_rows)
{
  if (out_n_rows != NULL)
    *out_n_rows = G_N_ELEMENTS (sync_table);
  return sync_table;
}

gboolean
lia_rules_get_sends_changes (LiaItemKind kind, LiaClientRole role)
{
  g_return_val_if_fail ((guint) kind < LIA_ITEM_KIND_N, FALSE);
  g_return_val_if_fail ((guint) role < LIA_CLIENT_N, FALSE);
  return sends_changes[kind][role];
}

LiaClientRole
lia_client_role_resolve (const char *client_id, const char *primary_client_id, gboolean is_delegate)
{
  g_return_val_if_fail (client_id != NULL, LIA_CLIENT_SECONDARY);

  if (is_delegate)
    return LIA_CLIENT_DELEGATE;
  /* The first client configured finds no primary recorded and becomes it;
   * the server records it, so the next client resolves to secondary. */
  if (primary_client_id == NULL || g_strcmp0 (client_id, primary_client_id) == 0)
    return LIA_CLIENT_PRIMARY;
  return LIA_CLIENT_SECONDARY;
}

LiaClientRole
lia_client_role_effective (const LiaClientInfo *client)
{
  g_return_val_if_fail (client != NULL, LIA_CLIENT_SECONDARY);
  g_return_val_if_fail ((guint) client->role < LIA_CLIENT_N, LIA_CLIENT_SECONDARY);

  if (client->roaming && client->role == LIA_CLIENT_SECONDARY)
    return LIA_CLIENT_PRIMARY;
  return client->role;
}

gboolean
lia_item_kind_for_entity (LiaEntity entity, gboolean is_draft, LiaItemKind *out_kind)
{
  LiaItemKind kind;

  if (!lia_entity_is_host_mapped (entity))
    return FALSE;
  if (entity == LIA_ENTITY_EMAIL)
    kind = is_draft ? LIA_ITEM_KIND_DRAFT : LIA_ITEM_KIND_MAIL;
  else
    kind = LIA_ITEM_KIND_PIM;
  if (out_kind != NULL)
    *out_kind = kind;
  return TRUE;
}

gboolean
lia_client_sends_changes (const LiaClientInfo *client, LiaItemKind kind)
{
  g_return_val_if_fail (client != NULL, FALSE);
  g_return_val_if_fail ((guint) kind < LIA_ITEM_KIND_N, FALSE);

  if (client->role == LIA_CLIENT_DELEGATE && !client->delegate_configured)
    return FALSE;
  return sends_changes[kind][lia_client_role_effective (client)];
}

static const LiaSyncRow *
find_row (LiaAction action, LiaSurface surface)
{
  for (guint i = 0; i < G_N_ELEMENTS (sync_table); i++)
    {
      if (sync_table[i].action == action && sync_table[i].surface == surface)
        return &sync_table[i];
    }
  return NULL;
}

static void
set_refusal (const char *rule_id, const LiaClientInfo *client, LiaItemKind kind, GError **error)
{
  g_autofree char *primary = NULL;

  if (g_strcmp0 (rule_id, "R-ROLE-SECONDARY-NO-NEW") == 0)
    {
      primary = client->primary_name != NULL ? g_strdup_printf ("\"%s\"", client->primary_name)
                                             : g_strdup ("(not known here)");
      g_set_error (
          error, LIA_ERROR, LIA_ERROR_REFUSED,
          "New contacts, appointments and tasks can be tracked only on your synchronizing client %s. "
          "Track this item there; changes to items already tracked reach CRM through it.",
          primary);
      return;
    }
  if (g_strcmp0 (rule_id, "R-ROLE-DELEGATE") == 0)
    {
      g_set_error_literal (
          error, LIA_ERROR, LIA_ERROR_REFUSED,
          "You can track items in a mailbox delegated to you only as a CRM user configured for "
          "synchronization. Ask your CRM administrator to set you up.");
      return;
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_REFUSED, "This %s cannot be synchronized from here (%s)",
               lia_item_kind_to_string (kind), rule_id != NULL ? rule_id : "derived rule");
}

gboolean
lia_rules_sync_timing (LiaAction action, LiaSurface surface, LiaItemKind kind, gboolean item_tracked,
                       const LiaClientInfo *client, LiaSyncTiming *out_timing, const char **out_rule_id,
                       GError **error)
{
  const LiaSyncRow *row;
  const LiaSyncCell *cell;
  const char *rule_id;
  LiaClientRole role;

  g_return_val_if_fail ((guint) action < LIA_ACTION_N, FALSE);
  g_return_val_if_fail ((guint) surface < LIA_SURFACE_N, FALSE);
  g_return_val_if_fail ((guint) kind < LIA_ITEM_KIND_N, FALSE);
  g_return_val_if_fail (client != NULL && (guint) client->role < LIA_CLIENT_N, FALSE);
  g_return_val_if_fail (out_timing != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  role = lia_client_role_effective (client);

  /* R-MARK-REGARDING: Set Regarding on an untracked item tracks it, and is
   * refused or deferred exactly as tracking would be. */
  if (action == LIA_ACTION_SET_REGARDING && !item_tracked)
    action = LIA_ACTION_TRACK;

  /* Nothing of an untracked item is in CRM to update, untrack or delete. */
  if (!item_tracked && action != LIA_ACTION_TRACK)
    {
      if (out_rule_id != NULL)
        *out_rule_id = "";
      *out_timing = LIA_SYNC_NOT_APPLICABLE;
      return TRUE;
    }

  if (role == LIA_CLIENT_DELEGATE && !client->delegate_configured)
    {
      set_refusal ("R-ROLE-DELEGATE", client, kind, error);
      return FALSE;
    }

  row = find_row (action, surface);
  g_assert (row != NULL);
  cell = &row->cells[kind][role];
  rule_id = cell->rule_id != NULL ? cell->rule_id : (row->rule_id != NULL ? row->rule_id : "");
  if (cell->timing == LIA_SYNC_REFUSED)
    {
      set_refusal (rule_id, client, kind, error);
      return FALSE;
    }
  if (out_rule_id != NULL)
    *out_rule_id = rule_id;
  *out_timing = cell->timing;
  return TRUE;
}
