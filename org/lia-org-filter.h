/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Sync filters: a small XML language, parsed once and evaluated per record.
 *
 *   <filter entity="contact">               children are and-ed
 *     <condition attribute="ownerid" operator="eq-current-user"/>
 *     <or>
 *       <condition attribute="statecode" operator="in">
 *         <value>open</value><value>scheduled</value>
 *       </condition>
 *       <condition attribute="scheduledstart" operator="next-x-days" value="30"/>
 *     </or>
 *   </filter>
 *
 * Attributes are the CRM attribute names of the field registry (SPEC
 * section 10; Liaison field names are accepted too) plus the record columns
 * ownerid, statecode and modifiedon. Operators: eq, ne, in, not-in, null,
 * not-null, like (substring, case-insensitive), begins-with,
 * eq-current-user, ne-current-user (ownerid only), on-or-after,
 * on-or-before (value YYYY-MM-DD or "today"), last-x-days, next-x-days
 * (value 1..3650; dates and times only). Dates are UTC days. */

typedef struct _LiaOrgFilter LiaOrgFilter;

/* What a filter looks at: the record's columns and, when the filter names
 * fields (lia_org_filter_needs_item()), its decoded item. */
typedef struct
{
  const char *owner;
  LiaRecordState state;
  gint64 modified_on;
  const LiaItem *item; /* nullable when no condition reads a field */
} LiaOrgFilterSubject;

#define LIA_ORG_FILTER_MAX_BYTES (64 * 1024)
#define LIA_ORG_FILTER_MAX_NODES 256

/* Parses untrusted filter XML; on failure %LIA_ERROR_INVALID with a
 * message naming the problem (and the line for malformed XML). */
LiaOrgFilter *lia_org_filter_parse (const char *xml, gsize len, GError **error);
void lia_org_filter_free (LiaOrgFilter *filter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaOrgFilter, lia_org_filter_free)

LiaEntity lia_org_filter_get_entity (const LiaOrgFilter *filter);
/* Whether the result can change with time alone (today, x-days): such
 * filters are re-evaluated in full at every PrepareSync. */
gboolean lia_org_filter_is_time_dependent (const LiaOrgFilter *filter);
gboolean lia_org_filter_needs_item (const LiaOrgFilter *filter);
gboolean lia_org_filter_match (const LiaOrgFilter *filter, const LiaOrgFilterSubject *subject,
                               const char *user_id, gint64 now_us);

/* The out-of-box user filters of the anchor product: my contacts, my open
 * activities, my future appointments. Returns (entity, name, xml) triples
 * through the callback. */
typedef void (*LiaOrgFilterDefaultFunc) (LiaEntity entity, const char *name, const char *xml,
                                         gpointer user_data);
void lia_org_filter_foreach_default (LiaOrgFilterDefaultFunc func, gpointer user_data);

G_END_DECLS
