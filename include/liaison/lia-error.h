/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-version.h>

G_BEGIN_DECLS

/**
 * LIA_ERROR:
 *
 * The one error domain of Liaison. Foreign codes (SQLite, libxml2, HTTP) are
 * translated to it once, at the boundary where they arise.
 */
#define LIA_ERROR (lia_error_quark ())

/**
 * LiaErrorCode:
 * @LIA_ERROR_FAILED: anything not covered below
 * @LIA_ERROR_INVALID: input that does not parse or breaks a limit; nothing
 *   was changed
 * @LIA_ERROR_STORE: the sync cache or an org store cannot be used (corrupt,
 *   read-only, locked, newer schema, I/O error); the message names the file
 * @LIA_ERROR_PROTOCOL: the peer sent something outside the protocol
 * @LIA_ERROR_NOT_FOUND: the item, record or mapping does not exist
 * @LIA_ERROR_CONFLICT: the record changed since it was read
 * @LIA_ERROR_AUTH: missing or wrong credentials
 * @LIA_ERROR_FORBIDDEN: authenticated, but not allowed
 * @LIA_ERROR_UNAVAILABLE: the CRM cannot be reached now; try again later
 * @LIA_ERROR_REFUSED: a rule refuses the action; the message is for the user
 * @LIA_ERROR_ABI: a plugin or host speaks another ABI version
 *
 * Append only: the values cross process and ABI boundaries.
 */
typedef enum
{
  LIA_ERROR_FAILED,
  LIA_ERROR_INVALID,
  LIA_ERROR_STORE,
  LIA_ERROR_PROTOCOL,
  LIA_ERROR_NOT_FOUND,
  LIA_ERROR_CONFLICT,
  LIA_ERROR_AUTH,
  LIA_ERROR_FORBIDDEN,
  LIA_ERROR_UNAVAILABLE,
  LIA_ERROR_REFUSED,
  LIA_ERROR_ABI,
} LiaErrorCode;

LIA_API GQuark lia_error_quark (void);

G_END_DECLS
