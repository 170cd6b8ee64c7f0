/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <liaison/liaison.h>

/* The plain structs of the host interface: rows, properties and items
 * cross the plugin ABI, so their helpers live in libliaison where host
 * adapters and the plugin both reach them. */

static const char *const prop_names[] = {
  [LIA_HOST_PROP_LINK_STATE] = "link-state", [LIA_HOST_PROP_CRM_ID] = "crm-id",
  [LIA_HOST_PROP_CRM_ORG] = "crm-org",       [LIA_HOST_PROP_ORIGINAL] = "original",
  [LIA_HOST_PROP_REGARDING] = "regarding",
};
G_STATIC_ASSERT (G_N_ELEMENTS (prop_names) == LIA_HOST_PROP_N);

static const char *const event_names[] = {
  [LIA_HOST_EVENT_CREATED] = "created",
  [LIA_HOST_EVENT_MODIFIED] = "modified",
  [LIA_HOST_EVENT_DELETED] = "deleted",
  [LIA_HOST_EVENT_MOVED] = "moved",
};
G_STATIC_ASSERT (G_N_ELEMENTS (event_names) == LIA_HOST_EVENT_N);

const char *
lia_host_prop_to_string (LiaHostProp prop)
{
  return (guint) prop < LIA_HOST_PROP_N ? prop_names[prop] : "invalid";
}

const char *
lia_host_event_to_string (LiaHostEvent event)
{
  return (guint) event < LIA_HOST_EVENT_N ? event_names[event] : "invalid";
}

LiaHostRow *
lia_host_row_new (const char *item_id, gint64 modified_at, LiaLinkState link_state, const char *crm_id)
{
  LiaHostRow *row = g_new0 (LiaHostRow, 1);

  g_return_val_if_fail (item_id != NULL, NULL);
  row->item_id = g_strdup (item_id);
  row->modified_at = modified_at;
  row->link_state = link_state;
  row->crm_id = g_strdup (crm_id);
  return row;
}

void
lia_host_row_free (LiaHostRow *row)
{
  if (row == NULL)
    return;
  g_free (row->item_id);
  g_free (row->crm_id);
  g_free (row);
}

void
lia_host_props_copy (LiaHostProps *dest, const LiaHostProps *src)
{
  g_return_if_fail (dest != NULL && src != NULL);
  dest->mask = src->mask;
  dest->link_state = src->link_state;
  dest->crm_id = g_strdup (src->crm_id);
  dest->crm_org = g_strdup (src->crm_org);
  dest->original = g_strdup (src->original);
  dest->regarding_id = g_strdup (src->regarding_id);
  dest->regarding_name = g_strdup (src->regarding_name);
}

void
lia_host_props_clear (LiaHostProps *props)
{
  if (props == NULL)
    return;
  g_free (props->crm_id);
  g_free (props->crm_org);
  g_free (props->original);
  g_free (props->regarding_id);
  g_free (props->regarding_name);
  memset (props, 0, sizeof *props);
}

void
lia_host_props_set (LiaHostProps *props, LiaHostProp prop, const char *text)
{
  char **slot = NULL;

  g_return_if_fail (props != NULL && (guint) prop < LIA_HOST_PROP_N);
  props->mask |= 1u << prop;
  switch (prop)
    {
    case LIA_HOST_PROP_LINK_STATE:
      {
        guint64 state = 0;

        /* A property a remote backend mangled reads as "not tracked": the
         * cache is authoritative, the property only a hint. */
        if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, LIA_LINK_STATE_N - 1, &state, NULL))
          state = LIA_LINK_STATE_NONE;
        props->link_state = (LiaLinkState) state;
        return;
      }
    case LIA_HOST_PROP_CRM_ID:
      slot = &props->crm_id;
      break;
    case LIA_HOST_PROP_CRM_ORG:
      slot = &props->crm_org;
      break;
    case LIA_HOST_PROP_ORIGINAL:
      slot = &props->original;
      break;
    case LIA_HOST_PROP_REGARDING:
      slot = &props->regarding_id;
      break;
    case LIA_HOST_PROP_N:
    default:
      g_assert_not_reached ();
    }
  g_free (*slot);
  *slot = g_strdup (text);
}

LiaHostItem *
lia_host_item_new (const char *store, const char *folder, const char *item_id, const LiaItem *item)
{
  LiaHostItem *hi;

  g_return_val_if_fail (store != NULL && item_id != NULL && item != NULL, NULL);
  hi = g_new0 (LiaHostItem, 1);
  hi->store = g_strdup (store);
  hi->folder = g_strdup (folder);
  hi->item_id = g_strdup (item_id);
  hi->item = lia_item_copy (item);
  return hi;
}

LiaHostItem *
lia_host_item_copy (const LiaHostItem *item)
{
  LiaHostItem *copy;

  g_return_val_if_fail (item != NULL, NULL);
  copy = lia_host_item_new (item->store, item->folder, item->item_id, item->item);
  copy->modified_at = item->modified_at;
  copy->is_draft = item->is_draft;
  lia_host_props_copy (&copy->props, &item->props);
  return copy;
}

void
lia_host_item_free (LiaHostItem *item)
{
  if (item == NULL)
    return;
  g_free (item->store);
  g_free (item->folder);
  g_free (item->item_id);
  lia_item_free (item->item);
  lia_host_props_clear (&item->props);
  g_free (item);
}

gboolean
lia_host_vtable_check (const LiaHostVTable *vtable, GError **error)
{
  const struct
  {
    const char *name;
    gconstpointer func;
  } funcs[] = {
    { "dup_primary_store", (gconstpointer) vtable->dup_primary_store },
    { "dup_default_folder", (gconstpointer) vtable->dup_default_folder },
    { "read_contents", (gconstpointer) vtable->read_contents },
    { "read_contents_finish", (gconstpointer) vtable->read_contents_finish },
    { "read_item", (gconstpointer) vtable->read_item },
    { "read_item_finish", (gconstpointer) vtable->read_item_finish },
    { "write_item", (gconstpointer) vtable->write_item },
    { "write_item_finish", (gconstpointer) vtable->write_item_finish },
    { "create_item", (gconstpointer) vtable->create_item },
    { "create_item_finish", (gconstpointer) vtable->create_item_finish },
    { "delete_item", (gconstpointer) vtable->delete_item },
    { "delete_item_finish", (gconstpointer) vtable->delete_item_finish },
  };

  g_return_val_if_fail (vtable != NULL, FALSE);
  /* The version is read before any other member: a host of another ABI may
   * have a vtable of another size. */
  if (vtable->abi_version != LIA_HOST_ABI_VERSION)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_ABI, "host interface ABI %u, plugin expects %u",
                   vtable->abi_version, (guint) LIA_HOST_ABI_VERSION);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (funcs); i++)
    if (funcs[i].func == NULL)
      {
        g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "host interface lacks '%s'", funcs[i].name);
        return FALSE;
      }
  return TRUE;
}
