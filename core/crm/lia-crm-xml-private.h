/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The protocol's XML, shared by the http connector (client) and the org
 * service (server): one parser with limits, and writers/readers for every
 * protocol type. docs/protocol.md is the reference of the format.
 *
 * Named types of our own for libxml2 cleanups, so this header can meet
 * another module's private header in one file without redefinitions. */
typedef xmlDoc LiaXmlDoc;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaXmlDoc, xmlFreeDoc)
typedef xmlChar LiaXmlChar;
static inline void
lia_xml_char_free (LiaXmlChar *text)
{
  xmlFree (text);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaXmlChar, lia_xml_char_free)

/* Largest protocol document accepted (a request body or a response). */
#define LIA_CRM_XML_MAX_BYTES (16 * 1024 * 1024)
/* Deepest element nesting accepted. */
#define LIA_CRM_XML_MAX_DEPTH 32

/* Parses untrusted bytes: no network, no DTD, no entity expansion, at most
 * @max_bytes, at most LIA_CRM_XML_MAX_DEPTH deep; the root must be named
 * @root (unless NULL). Fails with %LIA_ERROR_INVALID and a one-line reason
 * naming the line. */
LiaXmlDoc *lia_crm_xml_parse (const char *data, gsize len, gsize max_bytes, const char *root, GError **error);

/* Attribute access that keeps libxml2's xmlChar out of callers. */
char *lia_crm_xml_get (xmlNode *node, const char *name);
gboolean lia_crm_xml_is (xmlNode *node, const char *name);
void lia_crm_xml_escape (GString *out, const char *text);
void lia_crm_xml_attr (GString *out, const char *name, const char *value);

/* Records and protocol types. */
void lia_crm_xml_write_record (GString *out, const LiaCrmRecord *record);
LiaCrmRecord *lia_crm_xml_read_record (xmlNode *node, GError **error);
void lia_crm_xml_write_summary (GString *out, const LiaSyncSummary *summary);
LiaSyncSummary *lia_crm_xml_read_summary (xmlNode *node, GError **error);
void lia_crm_xml_write_page (GString *out, const LiaSyncPage *page);
LiaSyncPage *lia_crm_xml_read_page (xmlNode *node, GError **error);
void lia_crm_xml_write_user (GString *out, const LiaCrmUser *user);
LiaCrmUser *lia_crm_xml_read_user (xmlNode *node, GError **error);
void lia_crm_xml_write_subscription (GString *out, const LiaCrmSubscription *subscription);
LiaCrmSubscription *lia_crm_xml_read_subscription (xmlNode *node, GError **error);
void lia_crm_xml_write_filter (GString *out, const LiaCrmFilter *filter);
LiaCrmFilter *lia_crm_xml_read_filter (xmlNode *node, GError **error);
void lia_crm_xml_write_match (GString *out, const LiaCrmMatch *match);
LiaCrmMatch *lia_crm_xml_read_match (xmlNode *node, GError **error);

/* Email (docs/protocol.md "Email"): <tokens><token>CRM:0001001</token>...
 * and <email-changes last-version="N"><record .../>...</email-changes>. */
void lia_crm_xml_write_tokens (GString *out, const char *const *tokens);
GStrv lia_crm_xml_read_tokens (xmlNode *node, GError **error);
void lia_crm_xml_write_email_changes (GString *out, GPtrArray *records, gint64 last_version);
GPtrArray *lia_crm_xml_read_email_changes (xmlNode *node, gint64 *out_last_version, GError **error);

/* R-MAIL-BULK, POST /v1/subscriptions/ID/create-tracked: the request
 * <create-tracked><item request-id="..."><record/></item>...</create-tracked>
 * (at most @max items; the request ids are NULL where absent) and its
 * answer, an <item> per request item in order, holding the <record> made
 * or the item's <error code="...">. The results reader fills the caller's
 * zeroed arrays of @n and needs exactly @n items; on failure it leaves
 * them empty. */
void lia_crm_xml_write_create_tracked (GString *out, const LiaCrmRecord *const *records,
                                       const char *const *request_ids, guint n);
gboolean lia_crm_xml_read_create_tracked (xmlNode *node, guint max, GPtrArray **out_records,
                                          GPtrArray **out_request_ids, GError **error);
void lia_crm_xml_write_create_tracked_results (GString *out, LiaCrmRecord *const *records,
                                               GError *const *errors, guint n);
gboolean lia_crm_xml_read_create_tracked_results (xmlNode *node, guint n, LiaCrmRecord **out_records,
                                                  GError **out_errors, GError **error);

G_END_DECLS
