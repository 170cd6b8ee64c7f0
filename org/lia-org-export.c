/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "crm/lia-crm-xml-private.h"
#include "lia-org-export.h"

typedef struct
{
  GString *buffer;
  GOutputStream *out;
} Export;

/* Flushes the buffer every megabyte, so an export of a large org streams. */
static gboolean
flush (Export *e, gboolean force, GError **error)
{
  if (!force && e->buffer->len < 1024 * 1024)
    return TRUE;
  if (!g_output_stream_write_all (e->out, e->buffer->str, e->buffer->len, NULL, NULL, error))
    return FALSE;
  g_string_truncate (e->buffer, 0);
  return TRUE;
}

static gboolean
export_row (const LiaOrgRow *row, gpointer user_data, GError **error)
{
  Export *e = user_data;
  g_autoptr (LiaCrmRecord) record = lia_org_row_to_record (row, error);

  if (record == NULL)
    return FALSE;
  lia_crm_xml_write_record (e->buffer, record);
  g_string_append_c (e->buffer, '\n');
  return flush (e, FALSE, error);
}

gboolean
lia_org_export (LiaOrgService *service, GOutputStream *out, GError **error)
{
  g_autoptr (GPtrArray) users = lia_org_service_list_users (service, error);
  g_autoptr (GPtrArray) filters = NULL;
  g_autoptr (GHashTable) settings = NULL;
  g_autoptr (GString) buffer =
      g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<org-export version=\"1\">\n");
  Export e = { buffer, out };

  if (users == NULL || (filters = lia_org_service_list_filters (service, NULL, error)) == NULL
      || (settings = lia_org_service_get_settings (service, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < users->len; i++)
    {
      lia_crm_xml_write_user (buffer, users->pdata[i]);
      g_string_append_c (buffer, '\n');
    }
  {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, settings);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        g_string_append (buffer, "<setting");
        lia_crm_xml_attr (buffer, "key", key);
        lia_crm_xml_attr (buffer, "value", value);
        g_string_append (buffer, "/>\n");
      }
  }
  for (guint e_ = 0; e_ < LIA_ENTITY_N; e_++)
    if (!lia_org_service_foreach_record (service, (LiaEntity) e_, export_row, &e, error))
      return FALSE;
  /* Filters last: a user filter names its owner, imported before it. */
  for (guint i = 0; i < filters->len; i++)
    {
      LiaCrmFilter *filter = filters->pdata[i];
      g_autofree char *owner = NULL;
      GString *one = g_string_new (NULL);
      if (!lia_org_service_get_filter_owner (service, filter->id, &owner, error))
        {
          g_string_free (one, TRUE);
          return FALSE;
        }
      lia_crm_xml_write_filter (one, filter);
      if (owner != NULL)
        {
          /* Insert owner="..." into the opening tag. */
          GString *attr = g_string_new (NULL);
          lia_crm_xml_attr (attr, "owner", owner);
          g_string_insert (one, strlen ("<sync-filter"), attr->str);
          g_string_free (attr, TRUE);
        }
      g_string_append_len (buffer, one->str, (gssize) one->len);
      g_string_append_c (buffer, '\n');
      g_string_free (one, TRUE);
    }
  g_string_append (buffer, "</org-export>\n");
  return flush (&e, TRUE, error);
}

gboolean
lia_org_import (LiaOrgService *service, const char *data, gsize len, GError **error)
{
  g_autoptr (LiaXmlDoc) doc = lia_crm_xml_parse (data, len, G_MAXINT, "org-export", error);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  xmlNode *root;

  if (doc == NULL)
    return FALSE;
  root = xmlDocGetRootElement (doc);
  for (xmlNode *child = root->children; child != NULL; child = child->next)
    {
      if (lia_crm_xml_is (child, "user"))
        {
          g_autoptr (LiaCrmUser) user = lia_crm_xml_read_user (child, error);
          if (user == NULL || !lia_org_service_import_user (service, user, error))
            return FALSE;
        }
      else if (lia_crm_xml_is (child, "setting"))
        {
          g_autofree char *key = lia_crm_xml_get (child, "key");
          g_autofree char *value = lia_crm_xml_get (child, "value");
          if (key == NULL || value == NULL || !lia_org_service_set_setting (service, NULL, key, value, error))
            {
              if (error != NULL && *error == NULL)
                g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<setting> needs key and value");
              return FALSE;
            }
        }
      else if (lia_crm_xml_is (child, "record"))
        {
          LiaCrmRecord *record = lia_crm_xml_read_record (child, error);
          if (record == NULL)
            return FALSE;
          g_ptr_array_add (records, record);
        }
    }
  /* All records in one transaction: an import is whole or absent. */
  if (!lia_org_service_import_batch (service, records, error))
    return FALSE;
  for (xmlNode *child = root->children; child != NULL; child = child->next)
    {
      g_autoptr (LiaCrmFilter) filter = NULL;
      g_autofree char *owner = NULL;
      if (!lia_crm_xml_is (child, "sync-filter"))
        continue;
      filter = lia_crm_xml_read_filter (child, error);
      owner = lia_crm_xml_get (child, "owner");
      if (filter == NULL
          || !lia_org_service_import_filter (service, filter->system ? NULL : owner, filter, error))
        return FALSE;
    }
  return TRUE;
}
