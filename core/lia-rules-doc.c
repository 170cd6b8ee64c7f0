/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

#include "lia-deletion-private.h"
#include "lia-entity-rules-private.h"
#include "lia-rules-doc-private.h"
#include "lia-rules-private.h"

/* Renders the rule tables of core/ as Markdown. Everything variable comes
 * from the tables and the enum name functions; the prose only says how to
 * read them. */

static void
append_row (GString *out, const char *const *cells, guint n_cells)
{
  g_string_append (out, "|");
  for (guint i = 0; i < n_cells; i++)
    g_string_append_printf (out, " %s |", cells[i]);
  g_string_append (out, "\n");
}

static void
append_rule (GString *out, guint n_cells)
{
  g_string_append (out, "|");
  for (guint i = 0; i < n_cells; i++)
    g_string_append (out, "---|");
  g_string_append (out, "\n");
}

static char *
entities_of_mask (guint mask)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint e = 0; e < LIA_ENTITY_N; e++)
    {
      if ((mask & (1u << e)) == 0)
        continue;
      if (out->len > 0)
        g_string_append (out, ", ");
      g_string_append (out, lia_entity_to_string ((LiaEntity) e));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
sync_cell (const LiaSyncRow *row, LiaItemKind kind, LiaClientRole role)
{
  const LiaSyncCell *cell = &row->cells[kind][role];

  if (cell->rule_id != NULL)
    return g_strdup_printf ("%s (%s)", lia_sync_timing_to_string (cell->timing), cell->rule_id);
  return g_strdup (lia_sync_timing_to_string (cell->timing));
}

static void
render_sync_table (GString *out)
{
  const LiaSyncRow *rows;
  guint n_rows = 0;
  const char *header[2 + LIA_ITEM_KIND_N * LIA_CLIENT_N + 1];
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint n = 0;

  g_string_append (
      out, "## Immediate synchronization (SPEC sections 2 and 3)\n\n"
           "`lia_rules_sync_timing()` looks the action up here after applying the client roles: a\n"
           "roaming client acts as primary (R-ROLE-ROAMING), Set Regarding on an untracked item is a\n"
           "Track (R-MARK-REGARDING), updating, untracking or deleting an untracked item is n/a, and a\n"
           "delegate that is not a CRM user configured for synchronization is refused everything\n"
           "(R-ROLE-DELEGATE). A rule in parentheses decided that cell instead of the row's rule.\n"
           "Rows without an ID are pairs SPEC does not list; their note says what they follow.\n\n");

  header[n++] = "ID";
  header[n++] = "action";
  for (guint k = 0; k < LIA_ITEM_KIND_N; k++)
    for (guint r = 0; r < LIA_CLIENT_N; r++)
      {
        char *name = g_strdup_printf ("%s, %s", lia_item_kind_to_string ((LiaItemKind) k),
                                      lia_client_role_to_string ((LiaClientRole) r));
        g_ptr_array_add (names, name);
        header[n++] = name;
      }
  header[n++] = "note";
  append_row (out, header, n);
  append_rule (out, n);

  rows = lia_rules_get_sync_table (&n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      const char *cells[G_N_ELEMENTS (header)];
      g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
      char *action = g_strdup_printf ("%s in %s", lia_action_to_string (rows[i].action),
                                      lia_surface_to_string (rows[i].surface));
      guint c = 0;

      g_ptr_array_add (owned, action);
      cells[c++] = rows[i].rule_id != NULL ? rows[i].rule_id : "(derived)";
      cells[c++] = action;
      for (guint k = 0; k < LIA_ITEM_KIND_N; k++)
        for (guint r = 0; r < LIA_CLIENT_N; r++)
          {
            char *cell = sync_cell (&rows[i], (LiaItemKind) k, (LiaClientRole) r);
            g_ptr_array_add (owned, cell);
            cells[c++] = cell;
          }
      cells[c++] = rows[i].note != NULL ? rows[i].note : "";
      append_row (out, cells, c);
    }

  g_string_append (out, "\nWho sends changes of tracked items itself (`lia_client_sends_changes()`;\n"
                        "R-ROLE-SECONDARY-DEFER, R-ROLE-EMAIL-UNIFORM, R-ROLE-DELEGATE):\n\n");
  {
    const char *cells[1 + LIA_CLIENT_N];
    guint c = 0;
    cells[c++] = "item kind";
    for (guint r = 0; r < LIA_CLIENT_N; r++)
      cells[c++] = lia_client_role_to_string ((LiaClientRole) r);
    append_row (out, cells, c);
    append_rule (out, c);
    for (guint k = 0; k < LIA_ITEM_KIND_N; k++)
      {
        c = 0;
        cells[c++] = lia_item_kind_to_string ((LiaItemKind) k);
        for (guint r = 0; r < LIA_CLIENT_N; r++)
          cells[c++] = lia_rules_get_sends_changes ((LiaItemKind) k, (LiaClientRole) r) ? "yes" : "no";
        append_row (out, cells, c);
      }
  }
  g_string_append (out, "\n");
}

static char *
conditions_of_mask (guint mask)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < LIA_DELETION_IF_N; i++)
    {
      if ((mask & (1u << i)) == 0)
        continue;
      if (out->len > 0)
        g_string_append (out, "; ");
      g_string_append (out, lia_deletion_condition_to_string ((LiaDeletionCondition) (1u << i), FALSE));
    }
  if (out->len == 0)
    g_string_append (out, "(always)");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
classes_of_mask (guint mask)
{
  g_autoptr (GString) out = g_string_new (NULL);

  if (mask == LIA_DELETION_CLASS_ANY)
    return g_strdup (lia_deletion_class_to_string (LIA_DELETION_CLASS_ANY));
  for (guint i = 0; (1u << i) < LIA_DELETION_CLASS_ANY; i++)
    {
      if ((mask & (1u << i)) == 0)
        continue;
      if (out->len > 0)
        g_string_append (out, ", ");
      g_string_append (out, lia_deletion_class_to_string ((LiaDeletionClass) (1u << i)));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
render_deletion_table (GString *out)
{
  static const char *const header[] = { "ID",          "entities",  "event",     "requires (all)",
                                        "if all hold", "otherwise", "tombstone", "note" };
  const LiaDeletionRow *rows;
  guint n_rows = 0;

  g_string_append (
      out, "## Deletion rules (SPEC section 6)\n\n"
           "`lia_deletion_decide()` takes the first row that matches the entity and the event. \"In the\n"
           "future\" is strictly after now. \"tombstone\" is R-DEL-OUT-REMEMBER: the engine records the\n"
           "pair so that the server does not send the record back to this client. \"as deleted in\n"
           "CRM\" goes on with the entity's row for a CRM deletion.\n\n");
  append_row (out, header, G_N_ELEMENTS (header));
  append_rule (out, G_N_ELEMENTS (header));
  rows = lia_deletion_get_table (&n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      g_autofree char *classes = classes_of_mask (rows[i].classes);
      g_autofree char *requires = conditions_of_mask (rows[i].requires);
      const char *cells[] = {
        rows[i].rule_id,
        classes,
        rows[i].event == LIA_DELETION_N ? "any" : lia_deletion_event_to_string (rows[i].event),
        requires,
        lia_deletion_action_to_string (rows[i].when_met),
        rows[i].otherwise == LIA_DELETION_AS_CRM_DELETED ? "as deleted in CRM"
                                                         : lia_deletion_action_to_string (rows[i].otherwise),
        rows[i].remember_tombstone ? "yes" : "no",
        rows[i].note != NULL ? rows[i].note : "",
      };
      G_STATIC_ASSERT (G_N_ELEMENTS (cells) == G_N_ELEMENTS (header));
      append_row (out, cells, G_N_ELEMENTS (cells));
    }
  g_string_append (out, "\n");
}

static void
render_entity_rules (GString *out)
{
  static const char *const header[] = { "ID", "entities", "when", "field", "directions left" };
  const LiaEntityRuleRow *rows;
  guint n_rows = 0;

  g_string_append_printf (
      out,
      "## Entity rules (SPEC section 7)\n\n"
      "`lia_entity_rules_dup_item_policy()` narrows the org's directions for one item: where the\n"
      "condition holds, the field keeps only the directions left (`<->` two-way, `->` host to CRM,\n"
      "`<-` CRM to host, `x` none). The other rules of section 7 are functions:\n"
      "R-APPT-RECUR is `lia_entity_rules_recurring_instances()` (the next "
      "%d months, and modified\n"
      "exceptions), R-TASK-REMINDER also derives the reminder from the CRM due time\n"
      "(`lia_entity_rules_dup_crm_view()`), R-UNSUPPORTED also refuses tracking and custom entities\n"
      "(`lia_entity_rules_check_track()`, `lia_entity_rules_check_crm_entity()`), R-CUSTOM-FIELDS is\n"
      "the registry itself (`lia_entity_rules_field_is_synced()`).\n\n",
      LIA_RECURRENCE_HORIZON_MONTHS);
  append_row (out, header, G_N_ELEMENTS (header));
  append_rule (out, G_N_ELEMENTS (header));
  rows = lia_entity_rules_get_table (&n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      g_autofree char *entities = entities_of_mask (rows[i].entities);
      g_autofree char *direction = g_strdup_printf ("`%s`", lia_direction_to_string (rows[i].allowed));
      const char *cells[] = {
        rows[i].rule_id,
        entities,
        lia_entity_rule_condition_to_string (rows[i].condition),
        rows[i].field != NULL ? rows[i].field : "(every field)",
        direction,
      };
      G_STATIC_ASSERT (G_N_ELEMENTS (cells) == G_N_ELEMENTS (header));
      append_row (out, cells, G_N_ELEMENTS (cells));
    }
  g_string_append (out, "\n");
}

static void
render_merge (GString *out)
{
  static const char *const header[] = { "host counts", "CRM counts", "outcome", "new original" };
  static const char *const rows[][4] = {
    { "no", "no", "nothing", "unchanged" },
    { "yes", "no", "host value to CRM", "host value" },
    { "no", "yes", "CRM value to host", "CRM value" },
    { "yes", "yes", "equal: nothing; else newer wins, ties to CRM", "the winner" },
  };

  g_string_append (
      out, "## Field merge (SPEC section 5)\n\n"
           "`lia_merge_items()` decides per field. A side changed a field when its value differs from\n"
           "the original (without an original, every field changed on both sides, R-MERGE-ORIGINAL).\n"
           "A change counts when the field may travel to the other side: its direction allows it and\n"
           "the user may read it (to host) or update it (to CRM), R-MERGE-DIRECTION and R-MERGE-FLS.\n"
           "A change that does not count is ignored: a one-way field edited on the wrong side keeps\n"
           "its local value until the owning side changes that field, which then overwrites it.\n"
           "Host writes come first, then CRM writes (R-MERGE-ORDER).\n\n");
  append_row (out, header, G_N_ELEMENTS (header));
  append_rule (out, G_N_ELEMENTS (header));
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    append_row (out, rows[i], G_N_ELEMENTS (rows[i]));
  g_string_append (out, "\nWhat the journal says about a field both sides changed "
                        "(`lia_conflict_reason_to_string()`):\n\n");
  for (guint r = 0; r < LIA_CONFLICT_N; r++)
    g_string_append_printf (out, "- %s\n", lia_conflict_reason_to_string ((LiaConflictReason) r));
  g_string_append (out, "\n");
}

char *
lia_rules_render_markdown (void)
{
  g_autoptr (GString) out = g_string_new (NULL);

  g_string_append (
      out, "<!-- SPDX-License-Identifier: LGPL-2.1-or-later -->\n"
           "<!-- Generated from the tables in core/: do not edit. Regenerate with\n"
           "     build/tests/conformance/test-rules-doc --write docs/rules.md -->\n"
           "# Rules as the code has them\n\n"
           "The behaviour tables of `SPEC.md` as `core/` holds them. The test `rules-doc` renders these\n"
           "tables from the code and fails when this file differs.\n\n");
  render_sync_table (out);
  render_merge (out);
  render_deletion_table (out);
  render_entity_rules (out);
  /* One trailing newline, as editors leave it. */
  while (out->len > 1 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
