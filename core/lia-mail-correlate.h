/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* Email correlation (SPEC R-MAIL-AUTO, R-MAIL-CORRELATE-TOKEN,
 * R-MAIL-CORRELATE-SMART): the header and subject parsing Liaison does
 * itself, the tracking token, and an in-memory index of tracked messages
 * that answers "is this received message part of a tracked thread, and
 * why?". Host-neutral and free of I/O; private to libliaison and the
 * plugin (not installed), exported for the plugin like lia-engine.h.
 *
 * Everything here accepts hostile input: invalid UTF-8, control
 * characters, megabytes of header. Nothing here aborts; parsers that can
 * refuse input say why through GError (LIA_ERROR_INVALID). */

/* The most a subject, a References header or an address list is read:
 * longer input is cut there (subjects, references) or refused. */
#define LIA_MAIL_MAX_SUBJECT_BYTES 4096
#define LIA_MAIL_MAX_REFERENCES 200
#define LIA_MAIL_MAX_ADDRESSES 100000
#define LIA_MAIL_MAX_TOKEN_DIGITS 18

/**
 * LiaMailRule:
 *
 * Why a message is tracked. Stored by name (lia_mail_rule_to_string()):
 * append only.
 */
typedef enum
{
  LIA_MAIL_RULE_NONE,
  LIA_MAIL_RULE_MANUAL,             /* the user tracked it (R-MAIL-TRACK) */
  LIA_MAIL_RULE_REPLY_HEADER,       /* In-Reply-To/References name a tracked message */
  LIA_MAIL_RULE_TOKEN,              /* the subject carries a known tracking token */
  LIA_MAIL_RULE_SMART,              /* normalized subject and address overlap */
  LIA_MAIL_RULE_AUTO_ALL,           /* auto-track option "all email" */
  LIA_MAIL_RULE_AUTO_CRM_SENDER,    /* sender is a CRM contact, lead or account */
  LIA_MAIL_RULE_AUTO_EMAIL_ENABLED, /* sender is any email-enabled CRM record */
  LIA_MAIL_RULE_FOLDER,             /* moved or filtered into a tracked folder */
  LIA_MAIL_RULE_BULK,               /* part of a bulk track */
  LIA_MAIL_RULE_N
} LiaMailRule;

LIA_API const char *lia_mail_rule_to_string (LiaMailRule rule);
LIA_API gboolean lia_mail_rule_from_string (const char *name, LiaMailRule *out_rule);
/* The SPEC rule ID a rule implements ("R-MAIL-CORRELATE-SMART", ...). */
LIA_API const char *lia_mail_rule_spec_id (LiaMailRule rule);

/**
 * LiaMailAutoTrack:
 *
 * The user's auto-track option (R-SET-AUTOTRACK, R-MAIL-AUTO); the
 * default is %LIA_MAIL_AUTO_RESPONSE. Stored by name: append only.
 */
typedef enum
{
  LIA_MAIL_AUTO_NONE,
  LIA_MAIL_AUTO_ALL,
  LIA_MAIL_AUTO_RESPONSE,
  LIA_MAIL_AUTO_CRM_CONTACTS,
  LIA_MAIL_AUTO_EMAIL_ENABLED,
  LIA_MAIL_AUTO_N
} LiaMailAutoTrack;

#define LIA_MAIL_AUTO_DEFAULT LIA_MAIL_AUTO_RESPONSE

LIA_API const char *lia_mail_auto_track_to_string (LiaMailAutoTrack option);
LIA_API gboolean lia_mail_auto_track_from_string (const char *name, LiaMailAutoTrack *out_option,
                                                  GError **error);

/* Subjects ------------------------------------------------------------ */

/* The thread key of a subject: reply and forward prefixes of common
 * languages stripped ("Re:", "RE[2]:", "AW:", "SV:", "Antw:", "回复:",
 * "Ответ:" ... repeated), tracking tokens of @token_prefix (nullable)
 * removed, white space collapsed, case folded (NFKC). Never NULL; "" for
 * a subject with nothing left. Invalid UTF-8 is repaired first. */
LIA_API char *lia_mail_normalize_subject (const char *subject, const char *token_prefix);

/* A subject safe to put back into a header: valid UTF-8, CR, LF and other
 * control characters replaced by spaces (no header injection), at most
 * LIA_MAIL_MAX_SUBJECT_BYTES. */
LIA_API char *lia_mail_sanitize_subject (const char *subject);

/* Tracking tokens ---------------------------------------------------- */

/* Checks an org's token settings: a prefix of 1..16 ASCII letters, digits
 * or ": - _ #", and 1..LIA_MAIL_MAX_TOKEN_DIGITS digits. */
LIA_API gboolean lia_mail_token_check_format (const char *prefix, guint digits, GError **error);

/* "CRM:" + @number zero-padded to @digits. %LIA_ERROR_INVALID when the
 * format is bad or @number does not fit in @digits digits. */
LIA_API char *lia_mail_token_format (const char *prefix, guint digits, guint64 number, GError **error);

/* Finds the first token of the format in @subject: the prefix (ASCII case
 * ignored) not preceded by a letter or digit, then exactly @digits digits
 * not followed by another digit. Returns FALSE when there is none; the
 * outs are written only on TRUE. */
LIA_API gboolean lia_mail_token_find (const char *subject, const char *prefix, guint digits,
                                      guint64 *out_number, gsize *out_offset, gsize *out_length);

/* @subject (sanitized) with @token appended unless it already carries a
 * token of that prefix: "Quote for May [CRM:0001001]" style, as
 * "Quote for May CRM:0001001". */
LIA_API char *lia_mail_subject_add_token (const char *subject, const char *token, const char *prefix,
                                          guint digits);

/* Headers ------------------------------------------------------------- */

/* The message ids of an In-Reply-To or References header, without angle
 * brackets, in header order, at most the last LIA_MAIL_MAX_REFERENCES;
 * an empty array for nothing usable. Never fails. */
LIA_API GStrv lia_mail_parse_message_ids (const char *header);

/* One canonical Message-ID: brackets and white space stripped; NULL when
 * nothing is left. */
LIA_API char *lia_mail_canonical_message_id (const char *message_id);

/* The addresses of an RFC 5322 address list ("A <a@x>, b@y, Group: c@z;"),
 * case folded, without display names or comments, in order, duplicates
 * kept. Entries that are not an address are skipped and counted in
 * @out_n_invalid (nullable). %LIA_ERROR_INVALID for more than
 * LIA_MAIL_MAX_ADDRESSES entries. A distribution list address is an
 * address like any other (R-MAIL-DL). */
LIA_API GPtrArray *lia_mail_parse_address_list (const char *header, guint *out_n_invalid, GError **error);

/* A single address in canonical form (case folded, trimmed), or NULL when
 * @address is not one. */
LIA_API char *lia_mail_canonical_address (const char *address);

/* The index -------------------------------------------------------------- */

typedef struct
{
  const char *token_prefix; /* nullable: no tokens */
  guint token_digits;
  guint smart_min_overlap; /* addresses a smart match shares at least; 0 = default (2) */
  gboolean smart_enabled;
  gboolean token_enabled;
} LiaMailCorrelateConfig;

/* A tracked message as the index keeps it. Strings are copied. */
typedef struct
{
  const char *message_id;       /* nullable */
  const char *item_id;          /* nullable: the host item */
  const char *crm_id;           /* nullable: the CRM email */
  const char *subject;          /* nullable */
  const char *token;            /* nullable: the token put in its subject */
  const char *const *addresses; /* nullable, NULL-terminated: from, to, cc */
  LiaValue *regarding;          /* nullable, referenced */
} LiaMailTracked;

/* A received message to correlate. */
typedef struct
{
  const char *message_id;       /* nullable */
  const char *in_reply_to;      /* nullable: raw header */
  const char *references;       /* nullable: raw header */
  const char *subject;          /* nullable */
  const char *const *addresses; /* nullable, NULL-terminated: from, to, cc */
  gboolean inbox;               /* correlation applies to the Inbox only */
} LiaMailIncoming;

/* Why a message matched: the rule and the earlier tracked message. */
typedef struct
{
  LiaMailRule rule;
  char *earlier_message_id; /* owned, nullable */
  char *earlier_item_id;    /* owned, nullable */
  char *earlier_crm_id;     /* owned, nullable */
  LiaValue *regarding;      /* owned, nullable */
  guint overlap;            /* SMART: addresses shared */
} LiaMailMatch;

LIA_API void lia_mail_match_clear (LiaMailMatch *match);
/* One line for the user: "R-MAIL-CORRELATE-TOKEN: token CRM:0001001 of
 * <id@x>" style. */
LIA_API char *lia_mail_match_describe (const LiaMailMatch *match);

typedef struct _LiaMailIndex LiaMailIndex;

LIA_API LiaMailIndex *lia_mail_index_new (const LiaMailCorrelateConfig *config);
LIA_API void lia_mail_index_free (LiaMailIndex *index);
LIA_API guint lia_mail_index_get_size (LiaMailIndex *index);
/* Adds (or replaces, by item id) a tracked message. */
LIA_API void lia_mail_index_add (LiaMailIndex *index, const LiaMailTracked *message);
/* Forgets the message of @item_id; FALSE when it was not indexed. */
LIA_API gboolean lia_mail_index_remove_item (LiaMailIndex *index, const char *item_id);
/* Sets the regarding of the message of @item_id (tagging, Set Regarding). */
LIA_API gboolean lia_mail_index_set_regarding (LiaMailIndex *index, const char *item_id, LiaValue *regarding);

/* Correlates @incoming in the order In-Reply-To/References naming a
 * tracked Message-ID, then token, then smart match; Inbox only. On TRUE
 * @out_match is filled (clear it); on FALSE it is untouched. */
LIA_API gboolean lia_mail_index_correlate (LiaMailIndex *index, const LiaMailIncoming *incoming,
                                           LiaMailMatch *out_match);

/* What the sender of a received message resolved to in CRM. */
typedef enum
{
  LIA_MAIL_SENDER_UNKNOWN, /* not resolved (or not asked) */
  LIA_MAIL_SENDER_CONTACT, /* a contact, lead or account */
  LIA_MAIL_SENDER_OTHER,   /* another email-enabled record or a CRM user */
} LiaMailSenderKind;

/* The auto-track decision (R-MAIL-AUTO): Inbox only; NONE tracks nothing;
 * RESPONSE tracks what correlates; ALL, CRM_CONTACTS and EMAIL_ENABLED
 * track what correlates (with its regarding) and otherwise what their
 * sender rule admits (without regarding). */
LIA_API gboolean lia_mail_auto_decide (LiaMailIndex *index, LiaMailAutoTrack option,
                                       const LiaMailIncoming *incoming, LiaMailSenderKind sender,
                                       LiaMailMatch *out_match);

/* R-SET-TAGGING, R-MAIL-TAGGING: whether the tagging poll runs. The org's
 * "tagging-override" ("on", "off"; "none" or NULL leaves it to the user)
 * wins over the user's switch (on by default). */
LIA_API gboolean lia_mail_tagging_enabled (const char *org_override, gboolean user_on);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiaMailIndex, lia_mail_index_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LiaMailMatch, lia_mail_match_clear)

G_END_DECLS
