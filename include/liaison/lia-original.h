/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(LIAISON_INSIDE) && !defined(LIAISON_COMPILATION)
#error "Only <liaison/liaison.h> can be included directly."
#endif

#include <liaison/lia-item.h>

G_BEGIN_DECLS

/**
 * SECTION:lia-original
 * @title: OriginalXML
 * @short_description: the last synchronized state of an item, as XML
 *
 * The original of an item (SPEC vocabulary) is the state both sides agreed
 * on at the last successful sync; the merge compares each side against it
 * (R-MERGE-FIELDS). It travels on the host item as a named property and
 * sits in the sync cache, so it is serialized: OriginalXML.
 *
 * A document looks like this (one field a line, fields in registry order,
 * absent fields left out):
 *
 * |[<!-- language="XML" -->
 * <?xml version="1.0" encoding="UTF-8"?>
 * <original xmlns="urn:liaison:original" version="1" entity="contact">
 *   <text field="full-name">Jeff Smith</text>
 *   <reference field="company" entity="account" id="5b6c..." name="Contoso"/>
 *   <date field="birthday">1980-02-29</date>
 * </original>
 * ]|
 *
 * Each field is an element named after its value kind
 * (lia_value_kind_to_string()) with a `field` attribute:
 *
 * - `text`: the text as content; an empty element is "" (absent fields have
 *   no element). Text holding characters XML 1.0 cannot carry (control
 *   characters other than tab, newline and carriage return; U+FFFE, U+FFFF)
 *   is written as base64 of its UTF-8 with `encoding="base64"`.
 * - `datetime`: microseconds since the Unix epoch (UTC) as content; the
 *   zone in a `tz` attribute when there is one.
 * - `date`: `YYYY-MM-DD`.
 * - `integer`: decimal, the whole 64-bit range.
 * - `boolean`: `true` or `false`.
 * - `enum`: the symbol.
 * - `reference`: attributes `entity`, `id` and `name` (either of the last
 *   two may be missing, not both).
 * - `parties`: one `<party>` child per party, with optional attributes
 *   `address`, `name`, `entity`, `id`; an empty element is an empty list.
 * - `recurrence`: attributes `frequency` (daily, weekly, monthly, yearly),
 *   `interval`, and when set `count`, `until` (microseconds), `by-day`
 *   (`MO,TU,...`), `by-month-day`, `by-month`, `by-set-pos`, `week-start`
 *   (`MO` .. `SU`); one `<exdate>` child (microseconds) per removed start.
 *
 * A string in an attribute (ids, names, addresses, zones) that XML cannot
 * carry is written base64 in an attribute of the same name suffixed
 * `-b64`, such as `name-b64`.
 *
 * Decoding is strict about everything it understands and refuses, with
 * %LIA_ERROR_INVALID and no partial result: input over
 * %LIA_ORIGINAL_MAX_SIZE, bytes that are not UTF-8, malformed XML, any
 * document type declaration (so no entity expansion and no external
 * entities), nesting deeper than a few levels, an attribute string over
 * %LIA_ORIGINAL_MAX_ATTRIBUTE, a version newer than
 * %LIA_ORIGINAL_VERSION, an unknown entity, a value that does not fit its
 * field (lia_field_accepts()) and a field given twice. A field the entity
 * does not have (written by a newer client) is skipped with everything
 * inside it. The document's encoding declaration is ignored: OriginalXML is
 * always UTF-8.
 */

/**
 * LIA_ORIGINAL_VERSION:
 *
 * The OriginalXML format version this library writes and the newest it
 * reads. Bumped only for changes an older reader must refuse; new fields
 * and entities need no bump (older readers skip fields they do not know).
 */
#define LIA_ORIGINAL_VERSION 1

/**
 * LIA_ORIGINAL_MAX_SIZE:
 *
 * The largest OriginalXML document, in bytes, that is written or read.
 * Larger input is refused before it is parsed.
 */
#define LIA_ORIGINAL_MAX_SIZE (1024 * 1024)

/**
 * LIA_ORIGINAL_MAX_ATTRIBUTE:
 *
 * The longest string, in bytes of UTF-8, that OriginalXML carries in an
 * attribute: reference ids and names, party addresses, names and ids, time
 * zone names. Text field values are bounded by %LIA_ORIGINAL_MAX_SIZE only.
 */
#define LIA_ORIGINAL_MAX_ATTRIBUTE 4096

/**
 * LIA_ORIGINAL_NAMESPACE:
 *
 * The XML namespace of every OriginalXML element.
 */
#define LIA_ORIGINAL_NAMESPACE "urn:liaison:original"

/**
 * lia_original_encode:
 * @item: an item
 * @out_len: (out) (optional): the length of the document in bytes, without
 *   the terminating NUL
 * @error: return location for a #GError
 *
 * Serializes @item as OriginalXML. The document is canonical: the same item
 * (lia_item_identical()) always gives the same bytes, so originals can be
 * compared byte for byte.
 *
 * Returns: (transfer full) (nullable): the NUL-terminated UTF-8 document,
 *   or %NULL with %LIA_ERROR_INVALID when the document would exceed
 *   %LIA_ORIGINAL_MAX_SIZE or an attribute string would exceed
 *   %LIA_ORIGINAL_MAX_ATTRIBUTE (such a document could not be read back).
 */
LIA_API char *lia_original_encode (const LiaItem *item, gsize *out_len, GError **error);

/**
 * lia_original_decode:
 * @data: (array length=len) (nullable): the document; need not be
 *   NUL-terminated
 * @len: its length in bytes
 * @error: return location for a #GError
 *
 * Parses OriginalXML from outside (a host property, the cache). The result
 * is lia_item_identical() to the item that was encoded, minus fields this
 * library does not know.
 *
 * Returns: (transfer full) (nullable): the item, or %NULL with
 *   %LIA_ERROR_INVALID and a one-line message when @data is not a valid
 *   document (see the section description).
 */
LIA_API LiaItem *lia_original_decode (const char *data, gsize len, GError **error);

G_END_DECLS
