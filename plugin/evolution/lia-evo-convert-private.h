/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-evo-host.h"

G_BEGIN_DECLS

/* vCard / iCalendar <-> LiaItem. Fields with a natural vCard or iCalendar
 * property are stored there, so Evolution shows and edits them; every
 * other registry field (and the exact value of lossy ones: a company's CRM
 * id, "waiting" as a task status) travels in one X-LIAISON-FIELDS property
 * holding base64 OriginalXML, so nothing the engine writes is lost. Named
 * properties are X-LIAISON-* properties (base64 on iCalendar, whose
 * x-property helpers do not round-trip newlines and backslashes). These
 * functions do no I/O except @tz_client time zone lookups (blocking: call
 * them from a worker thread). */

LiaHostItem *lia_evo_contact_to_host_item (EContact *contact, const char *folder, GError **error);
gboolean lia_evo_contact_apply (EContact *contact, const LiaItem *fields, const LiaHostProps *props,
                                GError **error);
void lia_evo_contact_read_row (EContact *contact, gint64 *out_modified_at, LiaLinkState *out_link_state,
                               char **out_crm_id);

/* @comp: a VEVENT or VTODO. */
LiaHostItem *lia_evo_comp_to_host_item (ICalComponent *comp, ECalClient *tz_client, const char *folder,
                                        GCancellable *cancellable, GError **error);
/* Writes @fields and @props into @comp; zones the times need are appended
 * to @out_zones (element-type ICalTimezone, borrowed builtin zones) so the
 * caller can add them to the calendar. */
gboolean lia_evo_comp_apply (ICalComponent *comp, const LiaItem *fields, const LiaHostProps *props,
                             GPtrArray *out_zones, GError **error);
void lia_evo_comp_read_row (ICalComponent *comp, gint64 *out_modified_at, LiaLinkState *out_link_state,
                            char **out_crm_id);

/* A vCard REV or iCalendar UTC time as microseconds; 0 when unreadable. */
gint64 lia_evo_parse_timestamp (const char *text);

/* Shared by the contact (lia-evo-contact-convert.c) and component
 * (lia-evo-comp-convert.c) conversions; defined in lia-evo-convert.c. */
#define LIA_EVO_X_FIELDS "X-LIAISON-FIELDS"
#define LIA_EVO_X_ENTITY "X-LIAISON-ENTITY"
#define LIA_EVO_X_REGARDING_NAME "X-LIAISON-REGARDING-NAME"

/* The X- property holding @prop (regarding's name has its own,
 * LIA_EVO_X_REGARDING_NAME). */
const char *lia_evo_x_prop_name (LiaHostProp prop);
/* The remainder: fields without a native property, as base64
 * OriginalXML. Decoding a damaged value gives NULL (only what it carried
 * is lost); encoding keeps the fields of @fields for which @keep says so,
 * "" when none, NULL on error. */
LiaItem *lia_evo_remainder_decode (const char *b64);
char *lia_evo_remainder_encode (const LiaItem *fields,
                                gboolean (*keep) (const char *field, const LiaValue *value), GError **error);
/* Sets a text field; empty text leaves it absent, text that is not UTF-8
 * too (FALSE) rather than failing the whole item. */
gboolean lia_evo_set_text (LiaItem *item, const char *field, const char *text);

G_END_DECLS
