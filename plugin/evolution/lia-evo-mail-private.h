/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-evo-mail.h"

G_BEGIN_DECLS

/* The pure part of the mail adapter, for the fuzz target (STYLE rule 24)
 * and tests: what lia_evo_mail_read_item_sync() makes of a message, without
 * a store. Headers and body are untrusted input; neither function does I/O
 * beyond memory, and both need only camel_init() to have run once. */

/* (transfer full) @data (@len bytes of RFC 5322 message, any bytes at all)
 * as a LiaItem email, read exactly as the adapter reads a stored message.
 * @account_address (nullable) is the account's own address, @in_sent
 * whether the message lies in the account's sent folder (both decide the
 * direction). LIA_ERROR_INVALID when it has no sender. */
LiaItem *lia_evo_mail_item_from_bytes (const char *data, gsize len, const char *account_address,
                                       gboolean in_sent, GError **error);

/* (transfer full) the text a reader sees in @html (NUL-terminated UTF-8):
 * tags dropped, the content of style, script, head and title dropped, block
 * ends as line breaks, entities decoded, white space runs as one space.
 * Valid UTF-8 in, valid UTF-8 out. */
char *lia_evo_mail_html_to_text (const char *html);

G_END_DECLS
