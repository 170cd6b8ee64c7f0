/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"

G_BEGIN_DECLS

/* The doctor (R-DUP-DOCTOR): finds what breaks the one-to-one link between
 * host items and CRM records, and repairs it on request. Private to
 * libliaison and its tools; `liaison doctor` is its command line. */

/*
 * LIA_DOCTOR_UNMAPPED_LINK: a host item carries link properties (state or
 *   CRM id) but the cache has no mapping for it. Fix: clear its properties.
 * LIA_DOCTOR_GONE_IN_CRM: a mapped item whose CRM record no longer exists
 *   (or can no longer be read). Fix: unlink it (mapping and properties);
 *   the item itself is kept.
 * LIA_DOCTOR_DUPLICATE: a second host item carrying the CRM id of a record
 *   another item of the store is linked to. Fix: delete the copy; the
 *   mapped item (or the first one found) stays.
 */
typedef enum
{
  LIA_DOCTOR_UNMAPPED_LINK,
  LIA_DOCTOR_GONE_IN_CRM,
  LIA_DOCTOR_DUPLICATE,
  LIA_DOCTOR_N
} LiaDoctorKind;

typedef struct
{
  LiaDoctorKind kind;
  char *folder;  /* owned */
  char *item_id; /* owned */
  char *crm_id;  /* owned, nullable */
  gboolean fixed;
} LiaDoctorIssue;

const char *lia_doctor_kind_to_string (LiaDoctorKind kind);
void lia_doctor_issue_free (LiaDoctorIssue *issue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaDoctorIssue, lia_doctor_issue_free)

/* Examines every synchronized folder of @engine's primary store and fixes
 * the kinds whose bit (1 << kind) is in @fix_mask (0: report only).
 * Runs on a worker thread, never on the host's main context (it calls the
 * host as the engine does); cycles wait while it runs, and it fails with
 * LIA_ERROR_CONFLICT when one is running.
 * Returns: (element-type LiaDoctorIssue) (transfer full): what was found,
 * with `fixed` set for what was repaired; NULL with @error when the cache,
 * the host or the org failed. */
GPtrArray *lia_doctor_run_sync (LiaEngine *engine, guint fix_mask, GCancellable *cancellable, GError **error);

/* The same for a caller that holds the engine (lia_engine_hold() in
 * lia-engine-private.h): a listing and the fix of what it listed, with no
 * cycle in between. */
GPtrArray *lia_doctor_run_held_sync (LiaEngine *engine, guint fix_mask, GCancellable *cancellable,
                                     GError **error);

G_END_DECLS
