/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "lia-crm-xml-private.h"

/* The http connector: LiaCrm over XML/HTTP/1.1 to liaison-server
 * (docs/protocol.md). Calls are blocking and may run on any thread (libsoup
 * >= 3.2 sends from any thread); LiaCrm's _async() twins run them on a
 * worker. Idempotent calls (reads, PrepareSync, PostSync, creates with a
 * request id) are retried with exponential backoff when the server cannot
 * be reached or answers 502/503/504; everything else fails at once with an
 * error a user can read: offline, 401, 403, 404, 409, 5xx. */

#define LIA_TYPE_CRM_HTTP (lia_crm_http_get_type ())
G_DECLARE_FINAL_TYPE (LiaCrmHttp, lia_crm_http, LIA, CRM_HTTP, GObject)

/* Seconds before a request without answer counts as the server being
 * unreachable; long polls get their own session with room for the wait. */
#define HTTP_TIMEOUT_S 30
#define HTTP_WAIT_SLACK_S 15
#define HTTP_ATTEMPTS 3
#define HTTP_BACKOFF_US (100 * 1000)

struct _LiaCrmHttp
{
  GObject parent_instance;
  char *base;                /* owned: ends with '/' */
  char *authorization;       /* owned: "Bearer <token>" */
  SoupSession *session;      /* owned */
  SoupSession *wait_session; /* owned: long polls */
};

static void lia_crm_http_iface_init (LiaCrmInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LiaCrmHttp, lia_crm_http, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LIA_TYPE_CRM, lia_crm_http_iface_init))

static void
lia_crm_http_finalize (GObject *object)
{
  LiaCrmHttp *self = LIA_CRM_HTTP (object);

  g_clear_object (&self->session);
  g_clear_object (&self->wait_session);
  g_free (self->base);
  if (self->authorization != NULL)
    memset (self->authorization, 0, strlen (self->authorization));
  g_free (self->authorization);
  G_OBJECT_CLASS (lia_crm_http_parent_class)->finalize (object);
}

static void
lia_crm_http_class_init (LiaCrmHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lia_crm_http_finalize;
}

static void
lia_crm_http_init (LiaCrmHttp *self)
{
}

static LiaErrorCode
code_for_status (guint status)
{
  switch (status)
    {
    case 400:
    case 413:
      return LIA_ERROR_INVALID;
    case 401:
      return LIA_ERROR_AUTH;
    case 403:
      return LIA_ERROR_FORBIDDEN;
    case 404:
      return LIA_ERROR_NOT_FOUND;
    case 409:
      return LIA_ERROR_CONFLICT;
    default:
      return status >= 500 ? LIA_ERROR_UNAVAILABLE : LIA_ERROR_PROTOCOL;
    }
}

/* The server's one-line reason from its <error> body, or the status; a
 * 403 whose code is "refused" is a rule's refusal, not a permission. */
static char *
reason_of (guint status, GBytes *body, LiaErrorCode *inout_code)
{
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  g_autoptr (LiaXmlDoc) doc = data != NULL ? lia_crm_xml_parse (data, len, 64 * 1024, "error", NULL) : NULL;

  if (doc != NULL)
    {
      g_autoptr (LiaXmlChar) text = xmlNodeGetContent (xmlDocGetRootElement (doc));
      g_autofree char *code = lia_crm_xml_get (xmlDocGetRootElement (doc), "code");
      if (status == 403 && g_strcmp0 (code, "refused") == 0)
        *inout_code = LIA_ERROR_REFUSED;
      if (text != NULL && *text != '\0')
        return g_strdup ((const char *) text);
    }
  return g_strdup_printf ("HTTP %u %s", status, soup_status_get_phrase (status));
}

static gboolean
retryable (guint status)
{
  return status == 502 || status == 503 || status == 504;
}

/* One call: @path below /v1/, an optional body, the root element expected
 * in the answer (NULL for 204). On success *out_doc is the parsed answer
 * (or NULL). */
static gboolean
call (LiaCrmHttp *self, const char *method, const char *path, const char *query, GString *body,
      const char *root, gboolean idempotent, gboolean wait, LiaXmlDoc **out_doc, GCancellable *cancellable,
      GError **error)
{
  g_autofree char *url =
      g_strdup_printf ("%sv1/%s%s%s", self->base, path, query != NULL ? "?" : "", query != NULL ? query : "");
  guint attempts = idempotent ? HTTP_ATTEMPTS : 1;

  for (guint attempt = 1;; attempt++)
    {
      g_autoptr (SoupMessage) msg = soup_message_new (method, url);
      g_autoptr (GBytes) reply = NULL;
      g_autoptr (GError) local = NULL;
      guint status;

      if (msg == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Cannot make a request for \"%s\"", url);
          return FALSE;
        }
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    self->authorization);
      /* libsoup 3.2 re-sends a message whose kept-alive connection turned
       * out closed, but without its body: a request with a body gets a
       * connection of its own. Body-less calls that are safe to repeat
       * reuse connections (POST would not by default). */
      if (body != NULL)
        soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
      else if (idempotent)
        soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
      if (body != NULL)
        {
          g_autoptr (GBytes) bytes = g_bytes_new (body->str, body->len);
          soup_message_set_request_body_from_bytes (msg, "application/xml; charset=utf-8", bytes);
        }
      reply =
          soup_session_send_and_read (wait ? self->wait_session : self->session, msg, cancellable, &local);
      if (reply == NULL)
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if (attempt < attempts)
            {
              g_debug ("%s %s: %s; retrying", method, url, local->message);
              g_usleep (HTTP_BACKOFF_US << (attempt - 1));
              continue;
            }
          g_set_error (error, LIA_ERROR, LIA_ERROR_UNAVAILABLE, "Cannot reach the CRM at %s (offline?): %s",
                       self->base, local->message);
          return FALSE;
        }
      status = soup_message_get_status (msg);
      if (retryable (status) && attempt < attempts)
        {
          g_debug ("%s %s: HTTP %u; retrying", method, url, status);
          g_usleep (HTTP_BACKOFF_US << (attempt - 1));
          continue;
        }
      if (status < 200 || status >= 300)
        {
          LiaErrorCode code = code_for_status (status);
          g_autofree char *reason = reason_of (status, reply, &code);
          g_set_error (error, LIA_ERROR, code, "%s", reason);
          return FALSE;
        }
      if (root == NULL)
        {
          *out_doc = NULL;
          return TRUE;
        }
      {
        gsize len = 0;
        const char *data = g_bytes_get_data (reply, &len);
        LiaXmlDoc *doc =
            lia_crm_xml_parse (data != NULL ? data : "", len, LIA_CRM_XML_MAX_BYTES, root, &local);
        if (doc == NULL)
          {
            g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "The server's answer is not valid: %s",
                         local->message);
            return FALSE;
          }
        *out_doc = doc;
        return TRUE;
      }
    }
}

static char *
esc (const char *segment)
{
  return g_uri_escape_string (segment, NULL, FALSE);
}

static GString *
xml_body (void)
{
  return g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

static xmlNode *
root_of (LiaXmlDoc *doc)
{
  return xmlDocGetRootElement (doc);
}

/* Reads every child of @root with @read into a new array. */
static GPtrArray *
read_list (LiaXmlDoc *doc, gpointer (*read) (xmlNode *, GError **), GDestroyNotify free_func, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (free_func);

  for (xmlNode *child = root_of (doc)->children; child != NULL; child = child->next)
    {
      gpointer item;
      if (child->type != XML_ELEMENT_NODE)
        continue;
      item = read (child, error);
      if (item == NULL)
        return NULL;
      g_ptr_array_add (out, item);
    }
  return g_steal_pointer (&out);
}

#define SELF LiaCrmHttp *self = LIA_CRM_HTTP (crm)

static LiaCrmUser *
http_whoami (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", "whoami", NULL, NULL, "user", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return lia_crm_xml_read_user (root_of (doc), error);
}

static LiaCrmSubscription *
http_subscribe (LiaCrm *crm, const char *client, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append (body, "<subscribe");
  lia_crm_xml_attr (body, "client", client);
  g_string_append (body, "/>");
  /* Subscribing twice with one client name returns the same subscription. */
  if (!call (self, "POST", "subscriptions", NULL, body, "subscription", TRUE, FALSE, &doc, cancellable,
             error))
    return NULL;
  return lia_crm_xml_read_subscription (root_of (doc), error);
}

static GPtrArray *
http_list_subscriptions (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", "subscriptions", NULL, NULL, "subscriptions", TRUE, FALSE, &doc, cancellable,
             error))
    return NULL;
  return read_list (doc, (gpointer (*) (xmlNode *, GError **)) lia_crm_xml_read_subscription,
                    (GDestroyNotify) lia_crm_subscription_free, error);
}

static gboolean
http_set_primary (LiaCrm *crm, const char *subscription, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/primary", s);
  g_autoptr (LiaXmlDoc) doc = NULL;

  return call (self, "POST", path, NULL, NULL, NULL, TRUE, FALSE, &doc, cancellable, error);
}

static LiaSyncSummary *
http_prepare_sync (LiaCrm *crm, const char *subscription, guint entity_mask, GCancellable *cancellable,
                   GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/prepare", s);
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) query = g_string_new ("entities=");

  /* No body: the busiest call of all reuses its connection (see call()). */
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    if (entity_mask & (1u << e))
      g_string_append_printf (query, "%s%s", query->len > 9 ? "," : "", lia_entity_to_string ((LiaEntity) e));
  if (!call (self, "POST", path, query->str, NULL, "sync-summary", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return lia_crm_xml_read_summary (root_of (doc), error);
}

static LiaSyncPage *
http_get_sync_data (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *cursor,
                    guint max_changes, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/data", s);
  g_autofree char *c = cursor != NULL ? esc (cursor) : NULL;
  g_autofree char *query = g_strdup_printf ("entity=%s&max=%u%s%s", lia_entity_to_string (entity),
                                            max_changes, c != NULL ? "&cursor=" : "", c != NULL ? c : "");
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", path, query, NULL, "sync-page", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return lia_crm_xml_read_page (root_of (doc), error);
}

static gboolean
http_post_sync (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *const *ids,
                GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/ack", s);
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append (body, "<post-sync");
  lia_crm_xml_attr (body, "entity", lia_entity_to_string (entity));
  g_string_append_c (body, '>');
  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_string_append (body, "<id>");
      lia_crm_xml_escape (body, ids[i]);
      g_string_append (body, "</id>");
    }
  g_string_append (body, "</post-sync>");
  /* Acknowledging twice is harmless, so a lost reply is retried. */
  return call (self, "POST", path, NULL, body, NULL, TRUE, FALSE, &doc, cancellable, error);
}

static gboolean
track_or_forget (LiaCrm *crm, const char *action, const char *subscription, LiaEntity entity, const char *id,
                 const char *manual, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/%s", s, action);
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append_printf (body, "<%s", action);
  lia_crm_xml_attr (body, "entity", lia_entity_to_string (entity));
  lia_crm_xml_attr (body, "id", id);
  lia_crm_xml_attr (body, "manual", manual);
  g_string_append (body, "/>");
  return call (self, "POST", path, NULL, body, NULL, TRUE, FALSE, &doc, cancellable, error);
}

static gboolean
http_track (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id, gboolean manual,
            GCancellable *cancellable, GError **error)
{
  return track_or_forget (crm, "track", subscription, entity, id, manual ? "true" : "false", cancellable,
                          error);
}

static gboolean
http_forget (LiaCrm *crm, const char *subscription, LiaEntity entity, const char *id,
             GCancellable *cancellable, GError **error)
{
  return track_or_forget (crm, "forget", subscription, entity, id, NULL, cancellable, error);
}

static gboolean
http_wait_changes (LiaCrm *crm, const char *subscription, guint timeout_ms, GCancellable *cancellable,
                   GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/wait", s);
  g_autofree char *query = g_strdup_printf ("timeout=%u", MIN (timeout_ms, 55000));
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autofree char *changed = NULL;

  if (!call (self, "GET", path, query, NULL, "changes", FALSE, TRUE, &doc, cancellable, error))
    return FALSE;
  changed = lia_crm_xml_get (root_of (doc), "changed");
  return g_strcmp0 (changed, "true") == 0;
}

static LiaCrmRecord *
read_record_doc (LiaXmlDoc *doc, GError **error)
{
  LiaCrmRecord *record = lia_crm_xml_read_record (root_of (doc), error);

  if (record == NULL && error != NULL && *error != NULL)
    (*error)->code = LIA_ERROR_PROTOCOL;
  return record;
}

static LiaCrmRecord *
http_create (LiaCrm *crm, const LiaCrmRecord *record, const char *request_id, GCancellable *cancellable,
             GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append (body, "<create");
  lia_crm_xml_attr (body, "request-id", request_id);
  g_string_append_c (body, '>');
  lia_crm_xml_write_record (body, record);
  g_string_append (body, "</create>");
  /* Only a create with a request id may be retried: the server returns
   * the first result instead of a duplicate. */
  if (!call (self, "POST", "records", NULL, body, "record", request_id != NULL, FALSE, &doc, cancellable,
             error))
    return NULL;
  return read_record_doc (doc, error);
}

static char *
record_path (LiaEntity entity, const char *id)
{
  g_autofree char *i = esc (id);

  return g_strdup_printf ("records/%s/%s", lia_entity_to_string (entity), i);
}

static LiaCrmRecord *
http_retrieve (LiaCrm *crm, LiaEntity entity, const char *id, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *path = record_path (entity, id);
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", path, NULL, NULL, "record", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return read_record_doc (doc, error);
}

static LiaCrmRecord *
http_update (LiaCrm *crm, const LiaCrmRecord *record, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *path = NULL;
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  if (lia_crm_record_get_id (record) == NULL)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "An update names the record id");
      return NULL;
    }
  path = record_path (lia_crm_record_get_entity (record), lia_crm_record_get_id (record));
  lia_crm_xml_write_record (body, record);
  /* A retried update after a lost reply would meet its own new version
   * and report a conflict; the caller resolves that, so no retry here. */
  if (!call (self, "PUT", path, NULL, body, "record", FALSE, FALSE, &doc, cancellable, error))
    return NULL;
  return read_record_doc (doc, error);
}

static gboolean
http_remove (LiaCrm *crm, LiaEntity entity, const char *id, gint64 version, GCancellable *cancellable,
             GError **error)
{
  SELF;
  g_autofree char *path = record_path (entity, id);
  g_autofree char *query = g_strdup_printf ("version=%" G_GINT64_FORMAT, version);
  g_autoptr (LiaXmlDoc) doc = NULL;

  return call (self, "DELETE", path, query, NULL, NULL, FALSE, FALSE, &doc, cancellable, error);
}

static GPtrArray *
http_search (LiaCrm *crm, const char *text, guint limit, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *q = esc (text);
  g_autofree char *query = g_strdup_printf ("q=%s&limit=%u", q, CLAMP (limit, 1, 100));
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", "search", query, NULL, "matches", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return read_list (doc, (gpointer (*) (xmlNode *, GError **)) lia_crm_xml_read_match,
                    (GDestroyNotify) lia_crm_match_free, error);
}

static GPtrArray *
http_resolve (LiaCrm *crm, const char *const *addresses, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append (body, "<resolve>");
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_string_append (body, "<address>");
      lia_crm_xml_escape (body, addresses[i]);
      g_string_append (body, "</address>");
    }
  g_string_append (body, "</resolve>");
  if (!call (self, "POST", "resolve", NULL, body, "matches", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return read_list (doc, (gpointer (*) (xmlNode *, GError **)) lia_crm_xml_read_match,
                    (GDestroyNotify) lia_crm_match_free, error);
}

static GPtrArray *
http_list_filters (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;

  if (!call (self, "GET", "filters", NULL, NULL, "sync-filters", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  return read_list (doc, (gpointer (*) (xmlNode *, GError **)) lia_crm_xml_read_filter,
                    (GDestroyNotify) lia_crm_filter_free, error);
}

static LiaCrmFilter *
http_add_filter (LiaCrm *crm, LiaEntity entity, const char *name, const char *xml, gboolean system,
                 GCancellable *cancellable, GError **error)
{
  SELF;
  LiaCrmFilter filter = { NULL, entity, (char *) name, (char *) xml, system, TRUE };
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  lia_crm_xml_write_filter (body, &filter);
  if (!call (self, "POST", "filters", NULL, body, "sync-filter", FALSE, FALSE, &doc, cancellable, error))
    return NULL;
  return lia_crm_xml_read_filter (root_of (doc), error);
}

static gboolean
http_enable_filter (LiaCrm *crm, const char *id, gboolean enabled, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *i = esc (id);
  g_autofree char *path = g_strdup_printf ("filters/%s/%s", i, enabled ? "enable" : "disable");
  g_autoptr (LiaXmlDoc) doc = NULL;

  return call (self, "POST", path, NULL, NULL, NULL, TRUE, FALSE, &doc, cancellable, error);
}

static gboolean
http_remove_filter (LiaCrm *crm, const char *id, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *i = esc (id);
  g_autofree char *path = g_strdup_printf ("filters/%s", i);
  g_autoptr (LiaXmlDoc) doc = NULL;

  return call (self, "DELETE", path, NULL, NULL, NULL, FALSE, FALSE, &doc, cancellable, error);
}

static GHashTable *
http_get_settings (LiaCrm *crm, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GHashTable) settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!call (self, "GET", "settings", NULL, NULL, "settings", TRUE, FALSE, &doc, cancellable, error))
    return NULL;
  for (xmlNode *child = root_of (doc)->children; child != NULL; child = child->next)
    {
      char *key, *value;
      if (!lia_crm_xml_is (child, "setting"))
        continue;
      key = lia_crm_xml_get (child, "key");
      value = lia_crm_xml_get (child, "value");
      if (key == NULL || value == NULL)
        {
          g_free (key);
          g_free (value);
          g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "Setting without key or value");
          return NULL;
        }
      g_hash_table_insert (settings, key, value);
    }
  return g_steal_pointer (&settings);
}

static gboolean
http_set_setting (LiaCrm *crm, const char *key, const char *value, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *k = esc (key);
  g_autofree char *path = g_strdup_printf ("settings/%s", k);
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();

  g_string_append (body, "<setting");
  lia_crm_xml_attr (body, "value", value);
  g_string_append (body, "/>");
  return call (self, "PUT", path, NULL, body, NULL, TRUE, FALSE, &doc, cancellable, error);
}

static GStrv
http_allocate_tokens (LiaCrm *crm, guint count, GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *query = g_strdup_printf ("count=%u", count);
  g_autoptr (LiaXmlDoc) doc = NULL;

  /* Not idempotent: a retry would burn tokens, never reuse one. */
  if (!call (self, "POST", "email/tokens", query, NULL, "tokens", FALSE, FALSE, &doc, cancellable, error))
    return NULL;
  return lia_crm_xml_read_tokens (root_of (doc), error);
}

static GPtrArray *
http_email_changes (LiaCrm *crm, gint64 since_version, guint limit, gint64 *out_last_version,
                    GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *query = g_strdup_printf ("since=%" G_GINT64_FORMAT "&limit=%u", since_version, limit);
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GError) local = NULL;
  GPtrArray *records;

  if (!call (self, "GET", "email/changes", query, NULL, "email-changes", TRUE, FALSE, &doc, cancellable,
             error))
    return NULL;
  records = lia_crm_xml_read_email_changes (root_of (doc), out_last_version, &local);
  if (records == NULL)
    g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "The server's answer is not valid: %s",
                 local->message);
  return records;
}

/* A batch's request is cut into parts of about this size: the server
 * refuses bodies over its --max-request (16 MiB by default), and a page of
 * 256 emails with large bodies could pass it. */
#define HTTP_BATCH_PART_BYTES (4 * 1024 * 1024)

/* One part of a batch: one request, one org transaction. It may be
 * retried only when every item has a request id: the server then returns
 * the first results instead of duplicates. */
static gboolean
create_tracked_part (LiaCrmHttp *self, const char *path, const LiaCrmRecord *const *records,
                     const char *const *request_ids, guint n, LiaCrmRecord **out_records, GError **out_errors,
                     GCancellable *cancellable, GError **error)
{
  g_autoptr (LiaXmlDoc) doc = NULL;
  g_autoptr (GString) body = xml_body ();
  g_autoptr (GError) local = NULL;
  gboolean idempotent = request_ids != NULL;

  for (guint i = 0; idempotent && i < n; i++)
    idempotent = request_ids[i] != NULL;
  lia_crm_xml_write_create_tracked (body, records, request_ids, n);
  if (!call (self, "POST", path, NULL, body, "create-tracked-results", idempotent, FALSE, &doc, cancellable,
             error))
    return FALSE;
  if (!lia_crm_xml_read_create_tracked_results (root_of (doc), n, out_records, out_errors, &local))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_PROTOCOL, "The server's answer is not valid: %s",
                   local->message);
      return FALSE;
    }
  return TRUE;
}

/* R-MAIL-BULK: the batch in parts of HTTP_BATCH_PART_BYTES (one part for
 * a page of ordinary mail). A part that fails ends the batch; the parts
 * before it keep their results. */
static gboolean
http_create_tracked (LiaCrm *crm, const char *subscription, const LiaCrmRecord *const *records,
                     const char *const *request_ids, guint n, LiaCrmRecord **out_records, GError **out_errors,
                     GCancellable *cancellable, GError **error)
{
  SELF;
  g_autofree char *s = esc (subscription);
  g_autofree char *path = g_strdup_printf ("subscriptions/%s/create-tracked", s);
  g_autoptr (GString) scratch = g_string_new (NULL);
  guint start = 0;
  gsize size = 0;

  for (guint i = 0; i <= n; i++)
    {
      gsize item = 0;
      if (i < n)
        {
          g_string_truncate (scratch, 0);
          lia_crm_xml_write_record (scratch, records[i]);
          item = scratch->len + (request_ids != NULL && request_ids[i] != NULL ? strlen (request_ids[i]) : 0);
        }
      /* Send the part so far when this item would take it past the size
       * (an item over it alone goes alone), and at the end. */
      if (i > start && (i == n || size + item > HTTP_BATCH_PART_BYTES))
        {
          if (!create_tracked_part (self, path, records + start,
                                    request_ids != NULL ? request_ids + start : NULL, i - start,
                                    out_records + start, out_errors + start, cancellable, error))
            return FALSE;
          start = i;
          size = 0;
        }
      size += item;
    }
  return TRUE;
}

static void
lia_crm_http_iface_init (LiaCrmInterface *iface)
{
  iface->whoami = http_whoami;
  iface->subscribe = http_subscribe;
  iface->list_subscriptions = http_list_subscriptions;
  iface->set_primary = http_set_primary;
  iface->prepare_sync = http_prepare_sync;
  iface->get_sync_data = http_get_sync_data;
  iface->post_sync = http_post_sync;
  iface->track = http_track;
  iface->forget = http_forget;
  iface->wait_changes = http_wait_changes;
  iface->create = http_create;
  iface->retrieve = http_retrieve;
  iface->update = http_update;
  iface->remove = http_remove;
  iface->search = http_search;
  iface->resolve = http_resolve;
  iface->list_filters = http_list_filters;
  iface->add_filter = http_add_filter;
  iface->enable_filter = http_enable_filter;
  iface->remove_filter = http_remove_filter;
  iface->get_settings = http_get_settings;
  iface->set_setting = http_set_setting;
  iface->allocate_tokens = http_allocate_tokens;
  iface->email_changes = http_email_changes;
  iface->create_tracked = http_create_tracked;
}

LiaCrm *
lia_crm_http_new (const char *base_url, const char *token, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  LiaCrmHttp *self;
  const char *scheme;

  g_return_val_if_fail (base_url != NULL, NULL);
  g_return_val_if_fail (token != NULL, NULL);
  uri = g_uri_parse (base_url, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL
      || (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "\"%s\" is not an http or https URL", base_url);
      return NULL;
    }
  self = g_object_new (LIA_TYPE_CRM_HTTP, NULL);
  self->base = g_str_has_suffix (base_url, "/") ? g_strdup (base_url) : g_strconcat (base_url, "/", NULL);
  self->authorization = g_strconcat ("Bearer ", token, NULL);
  self->session =
      soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S, "user-agent", "liaison/" LIA_VERSION, NULL);
  self->wait_session = soup_session_new_with_options ("timeout", 55 + HTTP_WAIT_SLACK_S, "user-agent",
                                                      "liaison/" LIA_VERSION, NULL);
  return LIA_CRM (self);
}
