/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the email replies of the protocol as the http
 * connector reads them (STYLE rule 24, core/crm/lia-crm-xml.c): <tokens>
 * (POST /v1/email/tokens), <email-changes> (GET /v1/email/changes), and the
 * batched create and track (POST /v1/subscriptions/ID/create-tracked, the
 * server's reader of <create-tracked> and the connector's of
 * <create-tracked-results>). The server's side of the endpoints is also
 * covered by fuzz-org-request.
 *
 * Properties checked on every input:
 * - a reader either returns a value or sets an error, never both;
 * - every token read is 1..64 printable ASCII characters (it goes into a
 *   subject header: no CR, LF or other control character);
 * - every record read is an email, and last-version is not negative;
 * - what was read writes back and reads again to the same counts;
 * - every batch result holds a record or an error, never both. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lia-crm-xml-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                \
  G_STMT_START                                                                          \
  {                                                                                     \
    if (!(cond))                                                                        \
      {                                                                                 \
        fprintf (stderr, "fuzz-mail-protocol: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                                       \
      }                                                                                 \
  }                                                                                     \
  G_STMT_END

static void
fuzz_batch (xmlNode *root)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (LiaXmlDoc) again = NULL;

  if (lia_crm_xml_is (root, "create-tracked"))
    {
      g_autoptr (GPtrArray) records = NULL;
      g_autoptr (GPtrArray) ids = NULL;
      g_autoptr (GPtrArray) back = NULL;
      g_autoptr (GPtrArray) back_ids = NULL;
      gboolean ok = lia_crm_xml_read_create_tracked (root, 1000, &records, &ids, &error);
      FUZZ_CHECK (ok == (error == NULL));
      if (!ok)
        return;
      FUZZ_CHECK (records->len == ids->len && records->len <= 1000);
      lia_crm_xml_write_create_tracked (out, (const LiaCrmRecord *const *) records->pdata,
                                        (const char *const *) ids->pdata, records->len);
      again = lia_crm_xml_parse (out->str, out->len, LIA_CRM_XML_MAX_BYTES, "create-tracked", NULL);
      FUZZ_CHECK (again != NULL);
      FUZZ_CHECK (
          lia_crm_xml_read_create_tracked (xmlDocGetRootElement (again), 1000, &back, &back_ids, NULL));
      FUZZ_CHECK (back->len == records->len);
      for (guint i = 0; i < ids->len; i++)
        FUZZ_CHECK (g_strcmp0 (ids->pdata[i], back_ids->pdata[i]) == 0);
    }
  else
    {
      guint n = 0;
      g_autofree LiaCrmRecord **records = NULL;
      g_autofree GError **errors = NULL;
      g_autofree LiaCrmRecord **records2 = NULL;
      g_autofree GError **errors2 = NULL;
      gboolean ok;
      for (xmlNode *child = root->children; child != NULL && n <= 1000; child = child->next)
        n += child->type == XML_ELEMENT_NODE ? 1 : 0;
      records = g_new0 (LiaCrmRecord *, n + 1);
      errors = g_new0 (GError *, n + 1);
      ok = lia_crm_xml_read_create_tracked_results (root, n, records, errors, &error);
      FUZZ_CHECK (ok == (error == NULL));
      for (guint i = 0; i < n; i++)
        FUZZ_CHECK (ok ? (records[i] == NULL) != (errors[i] == NULL)
                       : records[i] == NULL && errors[i] == NULL);
      if (!ok)
        return;
      lia_crm_xml_write_create_tracked_results (out, records, errors, n);
      again = lia_crm_xml_parse (out->str, out->len, LIA_CRM_XML_MAX_BYTES, "create-tracked-results", NULL);
      FUZZ_CHECK (again != NULL);
      records2 = g_new0 (LiaCrmRecord *, n + 1);
      errors2 = g_new0 (GError *, n + 1);
      FUZZ_CHECK (
          lia_crm_xml_read_create_tracked_results (xmlDocGetRootElement (again), n, records2, errors2, NULL));
      for (guint i = 0; i < n; i++)
        {
          FUZZ_CHECK ((records2[i] == NULL) == (records[i] == NULL));
          FUZZ_CHECK (errors[i] == NULL || errors2[i]->code == errors[i]->code);
          g_clear_pointer (&records[i], lia_crm_record_free);
          g_clear_pointer (&records2[i], lia_crm_record_free);
          g_clear_error (&errors[i]);
          g_clear_error (&errors2[i]);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (LiaXmlDoc) doc =
      lia_crm_xml_parse ((const char *) data, size, LIA_CRM_XML_MAX_BYTES, NULL, NULL);
  g_autoptr (GError) error = NULL;
  xmlNode *root;

  if (doc == NULL)
    return 0;
  root = xmlDocGetRootElement (doc);
  if (lia_crm_xml_is (root, "create-tracked") || lia_crm_xml_is (root, "create-tracked-results"))
    {
      fuzz_batch (root);
      return 0;
    }
  if (lia_crm_xml_is (root, "tokens"))
    {
      g_auto (GStrv) tokens = lia_crm_xml_read_tokens (root, &error);
      FUZZ_CHECK ((tokens == NULL) == (error != NULL));
      for (guint i = 0; tokens != NULL && tokens[i] != NULL; i++)
        {
          gsize len = strlen (tokens[i]);
          FUZZ_CHECK (len >= 1 && len <= 64);
          for (const char *p = tokens[i]; *p != '\0'; p++)
            FUZZ_CHECK (*p > ' ' && *p <= '~');
        }
      if (tokens != NULL)
        {
          g_autoptr (GString) out = g_string_new (NULL);
          g_autoptr (LiaXmlDoc) again = NULL;
          g_auto (GStrv) back = NULL;
          lia_crm_xml_write_tokens (out, (const char *const *) tokens);
          again = lia_crm_xml_parse (out->str, out->len, LIA_CRM_XML_MAX_BYTES, "tokens", NULL);
          FUZZ_CHECK (again != NULL);
          back = lia_crm_xml_read_tokens (xmlDocGetRootElement (again), NULL);
          FUZZ_CHECK (back != NULL
                      && g_strv_equal ((const char *const *) back, (const char *const *) tokens));
        }
    }
  else
    {
      gint64 last = -1;
      g_autoptr (GPtrArray) records = lia_crm_xml_read_email_changes (root, &last, &error);
      FUZZ_CHECK ((records == NULL) == (error != NULL));
      if (records != NULL)
        {
          g_autoptr (GString) out = g_string_new (NULL);
          g_autoptr (LiaXmlDoc) again = NULL;
          g_autoptr (GPtrArray) back = NULL;
          gint64 last2 = -1;
          FUZZ_CHECK (last >= 0);
          for (guint i = 0; i < records->len; i++)
            FUZZ_CHECK (lia_crm_record_get_entity (records->pdata[i]) == LIA_ENTITY_EMAIL);
          lia_crm_xml_write_email_changes (out, records, last);
          again = lia_crm_xml_parse (out->str, out->len, LIA_CRM_XML_MAX_BYTES, "email-changes", NULL);
          FUZZ_CHECK (again != NULL);
          back = lia_crm_xml_read_email_changes (xmlDocGetRootElement (again), &last2, NULL);
          FUZZ_CHECK (back != NULL && back->len == records->len && last2 == last);
        }
    }
  return 0;
}
