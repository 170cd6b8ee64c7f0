/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* The stored form of a record's fields: a GVariant "a(qv)" of (registry
 * index, value). The field registry is append-only, so an index names the
 * same field for the life of a store. GVariant rather than XML because
 * PrepareSync and GetSyncData decode every record of an initial sync: it
 * is an order of magnitude faster to read than a parsed document, and any
 * store (SQLite BLOB, PostgreSQL bytea) can hold the bytes. */

GBytes *lia_org_codec_encode (const LiaItem *item);
LiaItem *lia_org_codec_decode (LiaEntity entity, const void *data, gsize len, GError **error);

G_END_DECLS
