/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "lia-mail-correlate.h"

/* Names ---------------------------------------------------------------- */

static const char *const rule_names[] = {
  [LIA_MAIL_RULE_NONE] = "none",
  [LIA_MAIL_RULE_MANUAL] = "manual",
  [LIA_MAIL_RULE_REPLY_HEADER] = "reply-header",
  [LIA_MAIL_RULE_TOKEN] = "token",
  [LIA_MAIL_RULE_SMART] = "smart",
  [LIA_MAIL_RULE_AUTO_ALL] = "auto-all",
  [LIA_MAIL_RULE_AUTO_CRM_SENDER] = "auto-crm-sender",
  [LIA_MAIL_RULE_AUTO_EMAIL_ENABLED] = "auto-email-enabled",
  [LIA_MAIL_RULE_FOLDER] = "folder",
  [LIA_MAIL_RULE_BULK] = "bulk",
};
G_STATIC_ASSERT (G_N_ELEMENTS (rule_names) == LIA_MAIL_RULE_N);

static const char *const rule_spec_ids[] = {
  [LIA_MAIL_RULE_NONE] = "",
  [LIA_MAIL_RULE_MANUAL] = "R-MAIL-TRACK",
  [LIA_MAIL_RULE_REPLY_HEADER] = "R-MAIL-CORRELATE-SMART",
  [LIA_MAIL_RULE_TOKEN] = "R-MAIL-CORRELATE-TOKEN",
  [LIA_MAIL_RULE_SMART] = "R-MAIL-CORRELATE-SMART",
  [LIA_MAIL_RULE_AUTO_ALL] = "R-MAIL-AUTO",
  [LIA_MAIL_RULE_AUTO_CRM_SENDER] = "R-MAIL-AUTO",
  [LIA_MAIL_RULE_AUTO_EMAIL_ENABLED] = "R-MAIL-AUTO",
  [LIA_MAIL_RULE_FOLDER] = "R-MAIL-FOLDER",
  [LIA_MAIL_RULE_BULK] = "R-MAIL-BULK",
};
G_STATIC_ASSERT (G_N_ELEMENTS (rule_spec_ids) == LIA_MAIL_RULE_N);

const char *
lia_mail_rule_to_string (LiaMailRule rule)
{
  g_return_val_if_fail (rule < LIA_MAIL_RULE_N, NULL);
  return rule_names[rule];
}

gboolean
lia_mail_rule_from_string (const char *name, LiaMailRule *out_rule)
{
  for (guint i = 0; name != NULL && i < LIA_MAIL_RULE_N; i++)
    if (g_str_equal (name, rule_names[i]))
      {
        if (out_rule != NULL)
          *out_rule = (LiaMailRule) i;
        return TRUE;
      }
  return FALSE;
}

const char *
lia_mail_rule_spec_id (LiaMailRule rule)
{
  g_return_val_if_fail (rule < LIA_MAIL_RULE_N, NULL);
  return rule_spec_ids[rule];
}

static const char *const auto_names[] = {
  [LIA_MAIL_AUTO_NONE] = "none",
  [LIA_MAIL_AUTO_ALL] = "all",
  [LIA_MAIL_AUTO_RESPONSE] = "response",
  [LIA_MAIL_AUTO_CRM_CONTACTS] = "crm-contacts",
  [LIA_MAIL_AUTO_EMAIL_ENABLED] = "email-enabled",
};
G_STATIC_ASSERT (G_N_ELEMENTS (auto_names) == LIA_MAIL_AUTO_N);

const char *
lia_mail_auto_track_to_string (LiaMailAutoTrack option)
{
  g_return_val_if_fail (option < LIA_MAIL_AUTO_N, NULL);
  return auto_names[option];
}

gboolean
lia_mail_auto_track_from_string (const char *name, LiaMailAutoTrack *out_option, GError **error)
{
  for (guint i = 0; name != NULL && i < LIA_MAIL_AUTO_N; i++)
    if (g_str_equal (name, auto_names[i]))
      {
        if (out_option != NULL)
          *out_option = (LiaMailAutoTrack) i;
        return TRUE;
      }
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
               "Auto-track is none, all, response, crm-contacts or email-enabled, not \"%s\"",
               name != NULL ? name : "(none)");
  return FALSE;
}

/* Subjects --------------------------------------------------------------- */

/* Reply and forward prefixes, case folded. A prefix counts only when a
 * colon (or a full-width one) follows it, possibly after a counter such
 * as "[2]", "(2)" or "^2". Single letters ("R", "I": Italian) need the
 * colon right after them. */
static const char *const subject_prefixes[] = {
  "re",     "fw",   "fwd",   "aw",   "wg",   "sv",   "vs",   "antw",       "antwort", "doorst",
  "rif",    "r",    "i",     "tr",   "réf",  "ref",  "rv",   "enc",        "res",     "odp",
  "pd",     "vl",   "vb",    "ynt",  "ilt",  "atb",  "vá",   "továbbítás", "ответ",   "отв",
  "пересл", "回复", "回覆",  "答复", "转发", "轉寄", "轉發", "返信",       "転送",    "답장",
  "전달",   "השב",  "הועבר", "رد",   "απ",   "σχετ", "πρθ",  "προώθ",
};

static gboolean
is_subject_prefix (const char *word, gsize len)
{
  g_autofree char *folded = g_utf8_casefold (word, (gssize) len);

  for (guint i = 0; i < G_N_ELEMENTS (subject_prefixes); i++)
    if (g_str_equal (folded, subject_prefixes[i]))
      return TRUE;
  return FALSE;
}

static gboolean
is_space (gunichar c)
{
  return c == ' ' || c == '\t' || c == 0xA0 || c == 0x3000 || g_unichar_isspace (c);
}

/* Skips one reply/forward prefix at @p; returns where the rest starts, or
 * NULL when @p does not start with one. */
static const char *
skip_prefix (const char *p)
{
  const char *word = p;
  const char *q = p;
  gunichar c;

  while (*q != '\0' && g_unichar_isalpha (g_utf8_get_char (q)))
    q = g_utf8_next_char (q);
  if (q == word || q - word > 40 || !is_subject_prefix (word, (gsize) (q - word)))
    return NULL;
  /* "R" and "I" are too common as words to allow "R :" or "I [2]:". */
  if (g_utf8_strlen (word, q - word) == 1 && *q != ':')
    return NULL;
  while (*q == ' ')
    q++;
  if (*q == '[' || *q == '(')
    {
      char close = *q == '[' ? ']' : ')';
      const char *d = q + 1;
      while (g_ascii_isdigit (*d) && d - q < 8)
        d++;
      if (d == q + 1 || *d != close)
        return NULL;
      q = d + 1;
    }
  else if (*q == '^')
    {
      const char *d = q + 1;
      while (g_ascii_isdigit (*d) && d - q < 8)
        d++;
      if (d == q + 1)
        return NULL;
      q = d;
    }
  while (*q == ' ')
    q++;
  c = g_utf8_get_char (q);
  if (c == ':' || c == 0xFF1A)
    return g_utf8_next_char (q);
  return NULL;
}

char *
lia_mail_sanitize_subject (const char *subject)
{
  g_autofree char *valid = NULL;
  GString *out;
  gsize len;

  if (subject == NULL)
    return g_strdup ("");
  len = strnlen (subject, LIA_MAIL_MAX_SUBJECT_BYTES);
  valid = g_utf8_make_valid (subject, (gssize) len);
  /* Cutting at a byte limit may split a character: the repair above made
   * it U+FFFD, which is valid. */
  out = g_string_sized_new (len + 1);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

char *
lia_mail_normalize_subject (const char *subject, const char *token_prefix)
{
  g_autofree char *clean = lia_mail_sanitize_subject (subject);
  g_autofree char *folded = NULL;
  GString *collapsed;
  const char *p;
  gboolean space = FALSE;

  /* Tokens go first: "Re: CRM:0001001 Quote" must lose both. */
  if (token_prefix != NULL && *token_prefix != '\0')
    {
      for (guint digits = 1; digits <= LIA_MAIL_MAX_TOKEN_DIGITS; digits++)
        {
          guint64 number = 0;
          gsize off = 0, len = 0;
          guint guard = 0;
          while (guard++ < 16 && lia_mail_token_find (clean, token_prefix, digits, &number, &off, &len))
            memmove (clean + off, clean + off + len, strlen (clean + off + len) + 1);
        }
    }
  p = clean;
  for (;;)
    {
      const char *next;
      while (*p != '\0' && is_space (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      next = skip_prefix (p);
      if (next == NULL)
        break;
      p = next;
    }
  collapsed = g_string_new (NULL);
  for (; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (is_space (c))
        {
          space = TRUE;
          continue;
        }
      if (space && collapsed->len > 0)
        g_string_append_c (collapsed, ' ');
      space = FALSE;
      g_string_append_unichar (collapsed, c);
    }
  folded = g_utf8_casefold (collapsed->str, (gssize) collapsed->len);
  g_string_free (collapsed, TRUE);
  return g_utf8_normalize (folded, -1, G_NORMALIZE_NFKC);
}

/* Tokens ------------------------------------------------------------------ */

gboolean
lia_mail_token_check_format (const char *prefix, guint digits, GError **error)
{
  gsize len = prefix != NULL ? strlen (prefix) : 0;
  gboolean ok = len >= 1 && len <= 16;

  for (const char *p = prefix; ok && *p != '\0'; p++)
    ok = g_ascii_isalnum (*p) || *p == ':' || *p == '-' || *p == '_' || *p == '#';
  if (!ok)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "A tracking token prefix is 1..16 letters, digits or : - _ #");
      return FALSE;
    }
  if (digits < 1 || digits > LIA_MAIL_MAX_TOKEN_DIGITS)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "A tracking token has 1..%u digits",
                   LIA_MAIL_MAX_TOKEN_DIGITS);
      return FALSE;
    }
  return TRUE;
}

static guint64
pow10_u64 (guint digits)
{
  guint64 v = 1;

  for (guint i = 0; i < digits; i++)
    v *= 10;
  return v;
}

char *
lia_mail_token_format (const char *prefix, guint digits, guint64 number, GError **error)
{
  if (!lia_mail_token_check_format (prefix, digits, error))
    return NULL;
  if (number >= pow10_u64 (digits))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Tracking token number %" G_GUINT64_FORMAT " does not fit in %u digits", number, digits);
      return NULL;
    }
  return g_strdup_printf ("%s%0*" G_GUINT64_FORMAT, prefix, (int) digits, number);
}

gboolean
lia_mail_token_find (const char *subject, const char *prefix, guint digits, guint64 *out_number,
                     gsize *out_offset, gsize *out_length)
{
  gsize plen;

  if (subject == NULL || prefix == NULL || *prefix == '\0' || digits < 1
      || digits > LIA_MAIL_MAX_TOKEN_DIGITS)
    return FALSE;
  plen = strlen (prefix);
  for (const char *p = subject; *p != '\0'; p++)
    {
      guint64 number = 0;
      guint n = 0;
      const char *d;

      if (g_ascii_strncasecmp (p, prefix, plen) != 0)
        continue;
      /* Not inside a word: "XCRM:0001001" is not a token. */
      if (p > subject && g_ascii_isalnum (p[-1]) && g_ascii_isalnum (prefix[0]))
        continue;
      for (d = p + plen; n < digits && g_ascii_isdigit (*d); d++, n++)
        number = number * 10 + (guint64) (*d - '0');
      if (n != digits || g_ascii_isdigit (*d))
        continue;
      if (out_number != NULL)
        *out_number = number;
      if (out_offset != NULL)
        *out_offset = (gsize) (p - subject);
      if (out_length != NULL)
        *out_length = (gsize) (d - p);
      return TRUE;
    }
  return FALSE;
}

char *
lia_mail_subject_add_token (const char *subject, const char *token, const char *prefix, guint digits)
{
  g_autofree char *clean = lia_mail_sanitize_subject (subject);
  g_autofree char *safe_token = lia_mail_sanitize_subject (token);

  if (token == NULL || *safe_token == '\0' || lia_mail_token_find (clean, prefix, digits, NULL, NULL, NULL))
    return g_steal_pointer (&clean);
  g_strstrip (clean);
  if (*clean == '\0')
    return g_steal_pointer (&safe_token);
  return g_strconcat (clean, " ", safe_token, NULL);
}

/* Headers -------------------------------------------------------------- */

char *
lia_mail_canonical_message_id (const char *message_id)
{
  const char *start;
  const char *end;

  if (message_id == NULL)
    return NULL;
  start = message_id;
  while (*start == '<' || g_ascii_isspace (*start))
    start++;
  end = start + strlen (start);
  while (end > start && (end[-1] == '>' || g_ascii_isspace (end[-1])))
    end--;
  if (end == start || end - start > 998)
    return NULL;
  for (const char *p = start; p < end; p++)
    if ((guchar) *p <= ' ' || *p == '<' || *p == '>' || (guchar) *p == 0x7F)
      return NULL;
  return g_strndup (start, (gsize) (end - start));
}

GStrv
lia_mail_parse_message_ids (const char *header)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const char *p = header;

  while (p != NULL && *p != '\0')
    {
      const char *open = strchr (p, '<');
      const char *close;
      char *id;
      if (open == NULL)
        break;
      close = strchr (open + 1, '>');
      if (close == NULL)
        break;
      {
        g_autofree char *inner = g_strndup (open + 1, (gsize) (close - open - 1));
        id = lia_mail_canonical_message_id (inner);
      }
      p = close + 1;
      if (id == NULL)
        continue;
      g_ptr_array_add (ids, id);
    }
  /* Some mailers drop the brackets: one bare id is still an id. */
  if (ids->len == 0 && header != NULL && strchr (header, '@') != NULL && strchr (header, '<') == NULL)
    {
      g_auto (GStrv) words = g_strsplit_set (header, " \t\r\n,", -1);
      for (guint i = 0; words[i] != NULL; i++)
        {
          char *id = strchr (words[i], '@') != NULL ? lia_mail_canonical_message_id (words[i]) : NULL;
          if (id != NULL)
            g_ptr_array_add (ids, id);
        }
    }
  /* Only the nearest ancestors matter: keep the last ones. */
  if (ids->len > LIA_MAIL_MAX_REFERENCES)
    g_ptr_array_remove_range (ids, 0, ids->len - LIA_MAIL_MAX_REFERENCES);
  g_ptr_array_add (ids, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
}

char *
lia_mail_canonical_address (const char *address)
{
  const char *start;
  const char *end;
  const char *at = NULL;
  g_autofree char *raw = NULL;

  if (address == NULL)
    return NULL;
  start = address;
  while (g_ascii_isspace (*start))
    start++;
  end = start + strlen (start);
  while (end > start && g_ascii_isspace (end[-1]))
    end--;
  if (end - start < 3 || end - start > 320)
    return NULL;
  for (const char *p = start; p < end; p++)
    {
      guchar c = (guchar) *p;
      if (c <= ' ' || c == 0x7F || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '('
          || c == ')')
        return NULL;
      if (c == '@')
        at = p;
    }
  /* The last '@' splits local part and domain; both must be there. */
  if (at == NULL || at == start || at == end - 1)
    return NULL;
  raw = g_strndup (start, (gsize) (end - start));
  if (!g_utf8_validate (raw, -1, NULL))
    return NULL;
  return g_utf8_casefold (raw, -1);
}

/* Ends one entry of an address list: the angle address when there was
 * one, else the bare text outside comments. */
static void
flush_address (GString *bare, GString *angle, gboolean had_angle, GPtrArray *out, guint *n_invalid,
               gboolean *any)
{
  const char *text = had_angle ? angle->str : bare->str;
  char *canonical;

  /* "@route1,@route2:user@x" (obsolete route): the part after the colon. */
  if (had_angle && text[0] == '@' && strchr (text, ':') != NULL)
    text = strchr (text, ':') + 1;
  canonical = lia_mail_canonical_address (text);
  if (canonical != NULL)
    g_ptr_array_add (out, canonical);
  else if (had_angle || *g_strstrip (bare->str) != '\0')
    (*n_invalid)++;
  *any = had_angle || bare->len > 0;
  g_string_truncate (bare, 0);
  g_string_truncate (angle, 0);
}

GPtrArray *
lia_mail_parse_address_list (const char *header, guint *out_n_invalid, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) bare = g_string_new (NULL);
  g_autoptr (GString) angle = g_string_new (NULL);
  gboolean in_quote = FALSE, in_angle = FALSE, had_angle = FALSE, any = FALSE;
  guint comment = 0;
  guint n_invalid = 0;
  guint n_entries = 0;

  for (const char *p = header != NULL ? header : ""; *p != '\0'; p++)
    {
      char c = *p;

      if (in_quote)
        {
          if (c == '\\' && p[1] != '\0')
            p++;
          else if (c == '"')
            in_quote = FALSE;
          continue;
        }
      if (comment > 0)
        {
          if (c == '\\' && p[1] != '\0')
            p++;
          else if (c == '(')
            comment = MIN (comment + 1, 64);
          else if (c == ')')
            comment--;
          continue;
        }
      if (in_angle)
        {
          if (c == '>')
            in_angle = FALSE;
          else if (angle->len < 1024)
            g_string_append_c (angle, c);
          continue;
        }
      switch (c)
        {
        case '"':
          in_quote = TRUE;
          /* A display name is not an address. */
          g_string_truncate (bare, 0);
          g_string_append_c (bare, ' ');
          break;
        case '(':
          comment = 1;
          break;
        case '<':
          in_angle = TRUE;
          had_angle = TRUE;
          g_string_truncate (angle, 0);
          break;
        case ':':
          /* "Group name:" starts a group: the name is not an address. */
          g_string_truncate (bare, 0);
          break;
        case ',':
        case ';':
        case '\r':
        case '\n':
          if (c == '\r' || c == '\n')
            {
              /* Folded header lines continue with white space. */
              g_string_append_c (bare, ' ');
              break;
            }
          flush_address (bare, angle, had_angle, out, &n_invalid, &any);
          had_angle = FALSE;
          if (any && ++n_entries > LIA_MAIL_MAX_ADDRESSES)
            goto too_many;
          break;
        default:
          if (had_angle)
            break; /* text after "<addr>" is junk */
          if (bare->len < 1024)
            g_string_append_c (bare, c);
          break;
        }
    }
  flush_address (bare, angle, had_angle, out, &n_invalid, &any);
  if (any && ++n_entries > LIA_MAIL_MAX_ADDRESSES)
    goto too_many;
  if (out_n_invalid != NULL)
    *out_n_invalid = n_invalid;
  return g_steal_pointer (&out);

too_many:
  g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "The address list has more than %u entries",
               LIA_MAIL_MAX_ADDRESSES);
  return NULL;
}

/* The index ------------------------------------------------------------- */

/* Invariants:
 *  - every Entry is owned by @entries (keyed by itself) and reachable from
 *    by_item when it has an item id;
 *  - by_message_id and by_token point at the newest entry of that id or
 *    token; removing an entry removes those pointers only when they are
 *    its own;
 *  - by_subject maps a normalized subject to the entries with it, oldest
 *    first; an entry with an empty normalized subject is in none;
 *  - addr ids are indexes into address_names + 1, sorted, unique. */

typedef struct
{
  char *message_id;  /* owned, nullable */
  char *item_id;     /* owned, nullable */
  char *crm_id;      /* owned, nullable */
  char *subject_key; /* borrowed: the key in by_subject, nullable */
  guint64 token;
  gboolean has_token;
  LiaValue *regarding; /* owned, nullable */
  guint32 *addr;       /* owned, sorted */
  guint n_addr;
} Entry;

struct _LiaMailIndex
{
  char *token_prefix; /* owned, nullable */
  guint token_digits;
  guint smart_min_overlap;
  gboolean smart_enabled;
  gboolean token_enabled;
  GHashTable *entries;       /* owned: Entry * set, owns entries */
  GHashTable *by_item;       /* owned: item id (borrowed) -> Entry * */
  GHashTable *by_message_id; /* owned: message id (borrowed) -> Entry * */
  GHashTable *by_token;      /* owned: guint64 * (borrowed) -> Entry * */
  GHashTable *by_subject;    /* owned: subject (owned) -> GPtrArray of Entry * */
  GHashTable *address_ids;   /* owned: address (owned) -> GUINT_TO_POINTER (id) */
  guint next_address_id;
};

static void
entry_free (Entry *entry)
{
  g_free (entry->message_id);
  g_free (entry->item_id);
  g_free (entry->crm_id);
  g_clear_pointer (&entry->regarding, lia_value_unref);
  g_free (entry->addr);
  g_free (entry);
}

LiaMailIndex *
lia_mail_index_new (const LiaMailCorrelateConfig *config)
{
  LiaMailIndex *index;

  g_return_val_if_fail (config != NULL, NULL);
  index = g_new0 (LiaMailIndex, 1);
  if (config->token_prefix != NULL
      && lia_mail_token_check_format (config->token_prefix, config->token_digits, NULL))
    {
      index->token_prefix = g_strdup (config->token_prefix);
      index->token_digits = config->token_digits;
    }
  index->smart_min_overlap = config->smart_min_overlap > 0 ? config->smart_min_overlap : 2;
  index->smart_enabled = config->smart_enabled;
  index->token_enabled = config->token_enabled && index->token_prefix != NULL;
  index->entries = g_hash_table_new_full (g_direct_hash, g_direct_equal, (GDestroyNotify) entry_free, NULL);
  index->by_item = g_hash_table_new (g_str_hash, g_str_equal);
  index->by_message_id = g_hash_table_new (g_str_hash, g_str_equal);
  index->by_token = g_hash_table_new (g_int64_hash, g_int64_equal);
  index->by_subject =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  index->address_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return index;
}

void
lia_mail_index_free (LiaMailIndex *index)
{
  if (index == NULL)
    return;
  g_hash_table_destroy (index->by_item);
  g_hash_table_destroy (index->by_message_id);
  g_hash_table_destroy (index->by_token);
  g_hash_table_destroy (index->by_subject);
  g_hash_table_destroy (index->address_ids);
  g_hash_table_destroy (index->entries);
  g_free (index->token_prefix);
  g_free (index);
}

guint
lia_mail_index_get_size (LiaMailIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return g_hash_table_size (index->entries);
}

static int
cmp_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/* The id of @canonical, made when @create; 0 for an unknown address. */
static guint32
address_id (LiaMailIndex *index, const char *canonical, gboolean create)
{
  gpointer value = g_hash_table_lookup (index->address_ids, canonical);

  if (value != NULL || !create)
    return GPOINTER_TO_UINT (value);
  g_hash_table_insert (index->address_ids, g_strdup (canonical), GUINT_TO_POINTER (++index->next_address_id));
  return index->next_address_id;
}

/* Canonical form of a host-supplied address: the cheap path for plain
 * ASCII, which is nearly every address. */
static char *
fold_address (const char *address)
{
  for (const char *p = address; *p != '\0'; p++)
    if ((guchar) *p >= 0x80 || g_ascii_isspace (*p) || *p == '<')
      {
        /* "Name <a@x>" from a careless host: parse it. */
        g_autoptr (GPtrArray) list = lia_mail_parse_address_list (address, NULL, NULL);
        if (list != NULL && list->len > 0)
          return g_strdup (list->pdata[0]);
        return lia_mail_canonical_address (address);
      }
  return strchr (address, '@') != NULL ? g_ascii_strdown (address, -1) : NULL;
}

static void
unlink_entry (LiaMailIndex *index, Entry *entry)
{
  if (entry->item_id != NULL && g_hash_table_lookup (index->by_item, entry->item_id) == entry)
    g_hash_table_remove (index->by_item, entry->item_id);
  if (entry->message_id != NULL && g_hash_table_lookup (index->by_message_id, entry->message_id) == entry)
    g_hash_table_remove (index->by_message_id, entry->message_id);
  if (entry->has_token && g_hash_table_lookup (index->by_token, &entry->token) == entry)
    g_hash_table_remove (index->by_token, &entry->token);
  if (entry->subject_key != NULL)
    {
      GPtrArray *list = g_hash_table_lookup (index->by_subject, entry->subject_key);
      if (list != NULL)
        {
          g_ptr_array_remove (list, entry);
          if (list->len == 0)
            g_hash_table_remove (index->by_subject, entry->subject_key);
        }
    }
  g_hash_table_remove (index->entries, entry);
}

void
lia_mail_index_add (LiaMailIndex *index, const LiaMailTracked *message)
{
  Entry *entry;
  g_autofree char *subject = NULL;
  g_autoptr (GArray) ids = NULL;

  g_return_if_fail (index != NULL && message != NULL);
  if (message->item_id != NULL)
    {
      Entry *old = g_hash_table_lookup (index->by_item, message->item_id);
      if (old != NULL)
        unlink_entry (index, old);
    }
  entry = g_new0 (Entry, 1);
  entry->message_id = lia_mail_canonical_message_id (message->message_id);
  entry->item_id = g_strdup (message->item_id);
  entry->crm_id = g_strdup (message->crm_id);
  entry->regarding = message->regarding != NULL ? lia_value_ref (message->regarding) : NULL;
  g_hash_table_add (index->entries, entry);
  if (entry->item_id != NULL)
    g_hash_table_insert (index->by_item, entry->item_id, entry);
  if (entry->message_id != NULL)
    g_hash_table_insert (index->by_message_id, entry->message_id, entry);
  if (index->token_prefix != NULL
      && (lia_mail_token_find (message->token, index->token_prefix, index->token_digits, &entry->token, NULL,
                               NULL)
          || lia_mail_token_find (message->subject, index->token_prefix, index->token_digits, &entry->token,
                                  NULL, NULL)))
    {
      entry->has_token = TRUE;
      g_hash_table_insert (index->by_token, &entry->token, entry);
    }
  ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; message->addresses != NULL && message->addresses[i] != NULL; i++)
    {
      g_autofree char *canonical = fold_address (message->addresses[i]);
      guint32 id = canonical != NULL ? address_id (index, canonical, TRUE) : 0;
      if (id != 0)
        g_array_append_val (ids, id);
    }
  g_array_sort (ids, cmp_u32);
  for (guint i = 0; i < ids->len; i++)
    if (entry->n_addr == 0
        || g_array_index (ids, guint32, i) != g_array_index (ids, guint32, entry->n_addr - 1))
      g_array_index (ids, guint32, entry->n_addr++) = g_array_index (ids, guint32, i);
  entry->addr = g_memdup2 (ids->data, entry->n_addr * sizeof (guint32));
  subject = lia_mail_normalize_subject (message->subject, index->token_prefix);
  if (*subject != '\0')
    {
      char *key = NULL;
      GPtrArray *list = NULL;
      if (!g_hash_table_lookup_extended (index->by_subject, subject, (gpointer *) &key, (gpointer *) &list))
        {
          key = g_steal_pointer (&subject);
          list = g_ptr_array_new ();
          g_hash_table_insert (index->by_subject, key, list);
        }
      g_ptr_array_add (list, entry);
      entry->subject_key = key;
    }
}

gboolean
lia_mail_index_remove_item (LiaMailIndex *index, const char *item_id)
{
  Entry *entry;

  g_return_val_if_fail (index != NULL, FALSE);
  entry = item_id != NULL ? g_hash_table_lookup (index->by_item, item_id) : NULL;
  if (entry == NULL)
    return FALSE;
  unlink_entry (index, entry);
  return TRUE;
}

gboolean
lia_mail_index_set_regarding (LiaMailIndex *index, const char *item_id, LiaValue *regarding)
{
  Entry *entry;

  g_return_val_if_fail (index != NULL, FALSE);
  entry = item_id != NULL ? g_hash_table_lookup (index->by_item, item_id) : NULL;
  if (entry == NULL)
    return FALSE;
  g_clear_pointer (&entry->regarding, lia_value_unref);
  entry->regarding = regarding != NULL ? lia_value_ref (regarding) : NULL;
  return TRUE;
}

void
lia_mail_match_clear (LiaMailMatch *match)
{
  if (match == NULL)
    return;
  g_clear_pointer (&match->earlier_message_id, g_free);
  g_clear_pointer (&match->earlier_item_id, g_free);
  g_clear_pointer (&match->earlier_crm_id, g_free);
  g_clear_pointer (&match->regarding, lia_value_unref);
  match->rule = LIA_MAIL_RULE_NONE;
  match->overlap = 0;
}

static void
fill_match (LiaMailMatch *out, LiaMailRule rule, const Entry *entry, guint overlap)
{
  out->rule = rule;
  out->earlier_message_id = g_strdup (entry->message_id);
  out->earlier_item_id = g_strdup (entry->item_id);
  out->earlier_crm_id = g_strdup (entry->crm_id);
  out->regarding = entry->regarding != NULL ? lia_value_ref (entry->regarding) : NULL;
  out->overlap = overlap;
}

char *
lia_mail_match_describe (const LiaMailMatch *match)
{
  const char *earlier = match->earlier_message_id != NULL ? match->earlier_message_id : "(no Message-ID)";

  switch (match->rule)
    {
    case LIA_MAIL_RULE_REPLY_HEADER:
      return g_strdup_printf ("%s: In-Reply-To/References name tracked message <%s>",
                              lia_mail_rule_spec_id (match->rule), earlier);
    case LIA_MAIL_RULE_TOKEN:
      return g_strdup_printf ("%s: the subject carries the tracking token of <%s>",
                              lia_mail_rule_spec_id (match->rule), earlier);
    case LIA_MAIL_RULE_SMART:
      return g_strdup_printf ("%s: subject and %u addresses match tracked message <%s>",
                              lia_mail_rule_spec_id (match->rule), match->overlap, earlier);
    case LIA_MAIL_RULE_AUTO_ALL:
      return g_strdup_printf ("%s: auto-track all received email", lia_mail_rule_spec_id (match->rule));
    case LIA_MAIL_RULE_AUTO_CRM_SENDER:
      return g_strdup_printf ("%s: the sender is a CRM contact, lead or account",
                              lia_mail_rule_spec_id (match->rule));
    case LIA_MAIL_RULE_AUTO_EMAIL_ENABLED:
      return g_strdup_printf ("%s: the sender is an email-enabled CRM record",
                              lia_mail_rule_spec_id (match->rule));
    case LIA_MAIL_RULE_NONE:
    case LIA_MAIL_RULE_MANUAL:
    case LIA_MAIL_RULE_FOLDER:
    case LIA_MAIL_RULE_BULK:
    case LIA_MAIL_RULE_N:
    default:
      return g_strdup_printf ("%s: %s", lia_mail_rule_spec_id (match->rule),
                              lia_mail_rule_to_string (match->rule));
    }
}

static gboolean
has_id (const Entry *entry, guint32 id)
{
  guint lo = 0, hi = entry->n_addr;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (entry->addr[mid] == id)
        return TRUE;
      if (entry->addr[mid] < id)
        lo = mid + 1;
      else
        hi = mid;
    }
  return FALSE;
}

/* How many of the newest entries of one subject a smart match looks at:
 * bounds the cost of a subject every thread shares ("Hello"). */
#define SMART_MAX_CANDIDATES 64

gboolean
lia_mail_index_correlate (LiaMailIndex *index, const LiaMailIncoming *incoming, LiaMailMatch *out_match)
{
  g_return_val_if_fail (index != NULL && incoming != NULL && out_match != NULL, FALSE);

  /* Correlation applies to received mail in the Inbox only (white paper:
   * not to Sent or other folders). */
  if (!incoming->inbox)
    return FALSE;

  /* 1. In-Reply-To, then References, nearest ancestor first. */
  {
    const char *headers[] = { incoming->in_reply_to, incoming->references };
    for (guint h = 0; h < G_N_ELEMENTS (headers); h++)
      {
        g_auto (GStrv) ids = NULL;
        if (headers[h] == NULL)
          continue;
        ids = lia_mail_parse_message_ids (headers[h]);
        for (guint i = g_strv_length (ids); i > 0; i--)
          {
            Entry *entry = g_hash_table_lookup (index->by_message_id, ids[i - 1]);
            if (entry != NULL)
              {
                fill_match (out_match, LIA_MAIL_RULE_REPLY_HEADER, entry, 0);
                return TRUE;
              }
          }
      }
  }

  /* 2. A tracking token in the subject. */
  if (index->token_enabled)
    {
      guint64 number = 0;
      if (lia_mail_token_find (incoming->subject, index->token_prefix, index->token_digits, &number, NULL,
                               NULL))
        {
          Entry *entry = g_hash_table_lookup (index->by_token, &number);
          if (entry != NULL)
            {
              fill_match (out_match, LIA_MAIL_RULE_TOKEN, entry, 0);
              return TRUE;
            }
        }
    }

  /* 3. Smart matching: same normalized subject, enough shared addresses. */
  if (index->smart_enabled && incoming->subject != NULL && incoming->addresses != NULL)
    {
      g_autofree char *subject = lia_mail_normalize_subject (incoming->subject, index->token_prefix);
      GPtrArray *list = *subject != '\0' ? g_hash_table_lookup (index->by_subject, subject) : NULL;
      guint32 ids[64];
      guint n_ids = 0;

      if (list == NULL)
        return FALSE;
      for (guint i = 0; incoming->addresses[i] != NULL && n_ids < G_N_ELEMENTS (ids); i++)
        {
          g_autofree char *canonical = fold_address (incoming->addresses[i]);
          guint32 id = canonical != NULL ? address_id (index, canonical, FALSE) : 0;
          gboolean seen = FALSE;
          for (guint j = 0; j < n_ids && !seen; j++)
            seen = ids[j] == id;
          if (id != 0 && !seen)
            ids[n_ids++] = id;
        }
      if (n_ids < index->smart_min_overlap)
        return FALSE;
      for (guint k = 0; k < list->len && k < SMART_MAX_CANDIDATES; k++)
        {
          const Entry *entry = list->pdata[list->len - 1 - k];
          guint overlap = 0;
          for (guint j = 0; j < n_ids; j++)
            overlap += has_id (entry, ids[j]) ? 1 : 0;
          if (overlap >= index->smart_min_overlap)
            {
              fill_match (out_match, LIA_MAIL_RULE_SMART, entry, overlap);
              return TRUE;
            }
        }
    }
  return FALSE;
}

gboolean
lia_mail_auto_decide (LiaMailIndex *index, LiaMailAutoTrack option, const LiaMailIncoming *incoming,
                      LiaMailSenderKind sender, LiaMailMatch *out_match)
{
  LiaMailRule rule = LIA_MAIL_RULE_NONE;

  g_return_val_if_fail (index != NULL && incoming != NULL && out_match != NULL, FALSE);
  /* R-MAIL-AUTO: auto-tracking applies to the Inbox only. */
  if (option == LIA_MAIL_AUTO_NONE || option >= LIA_MAIL_AUTO_N || !incoming->inbox)
    return FALSE;
  /* A correlated message is tracked under every option but none, and
   * inherits the thread's regarding. */
  if (lia_mail_index_correlate (index, incoming, out_match))
    return TRUE;
  switch (option)
    {
    case LIA_MAIL_AUTO_ALL:
      rule = LIA_MAIL_RULE_AUTO_ALL;
      break;
    case LIA_MAIL_AUTO_CRM_CONTACTS:
      if (sender == LIA_MAIL_SENDER_CONTACT)
        rule = LIA_MAIL_RULE_AUTO_CRM_SENDER;
      break;
    case LIA_MAIL_AUTO_EMAIL_ENABLED:
      if (sender == LIA_MAIL_SENDER_CONTACT || sender == LIA_MAIL_SENDER_OTHER)
        rule = LIA_MAIL_RULE_AUTO_EMAIL_ENABLED;
      break;
    case LIA_MAIL_AUTO_NONE:
    case LIA_MAIL_AUTO_RESPONSE:
    case LIA_MAIL_AUTO_N:
    default:
      break;
    }
  if (rule == LIA_MAIL_RULE_NONE)
    return FALSE;
  memset (out_match, 0, sizeof *out_match);
  out_match->rule = rule;
  return TRUE;
}

gboolean
lia_mail_tagging_enabled (const char *org_override, gboolean user_on)
{
  if (g_strcmp0 (org_override, "on") == 0)
    return TRUE;
  if (g_strcmp0 (org_override, "off") == 0)
    return FALSE;
  return user_on;
}
