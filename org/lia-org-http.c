/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "crm/lia-crm-xml-private.h"
#include "lia-org-http.h"
#include "lia-org-sync.h"

void
lia_org_response_free (LiaOrgResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->body);
  lia_org_caller_free (response->caller);
  g_free (response->subscription);
  g_free (response);
}

static LiaOrgResponse *
respond (guint status, GString *body)
{
  LiaOrgResponse *response = g_new0 (LiaOrgResponse, 1);

  response->status = status;
  if (body != NULL)
    {
      response->body_len = body->len;
      response->body = g_string_free (body, FALSE);
    }
  return response;
}

static GString *
xml_start (void)
{
  return g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

LiaOrgResponse *
lia_org_http_error_response (const GError *error)
{
  guint status = 500;
  const char *code = "failed";
  GString *body = xml_start ();
  g_autofree char *line = g_strdup (error->message);

  if (error->domain == LIA_ERROR)
    switch ((LiaErrorCode) error->code)
      {
      case LIA_ERROR_INVALID:
      case LIA_ERROR_PROTOCOL:
        status = 400, code = "invalid";
        break;
      case LIA_ERROR_AUTH:
        status = 401, code = "auth";
        break;
      case LIA_ERROR_FORBIDDEN:
        status = 403, code = "forbidden";
        break;
      case LIA_ERROR_REFUSED:
        /* A rule refuses (R-MARK-NEEDS-FILTER): 403, with its own code so
         * the client can show the message as it is. */
        status = 403, code = "refused";
        break;
      case LIA_ERROR_NOT_FOUND:
        status = 404, code = "not-found";
        break;
      case LIA_ERROR_CONFLICT:
        status = 409, code = "conflict";
        break;
      case LIA_ERROR_UNAVAILABLE:
      case LIA_ERROR_STORE:
        /* A busy or broken store is the server's trouble: clients retry. */
        status = 503, code = "unavailable";
        break;
      case LIA_ERROR_FAILED:
      case LIA_ERROR_ABI:
      default:
        break;
      }
  /* One line, whatever the message held. */
  g_strdelimit (line, "\r\n", ' ');
  g_string_append_printf (body, "<error code=\"%s\">", code);
  lia_crm_xml_escape (body, line);
  g_string_append (body, "</error>\n");
  return respond (status, body);
}

static LiaOrgResponse *
fail (LiaErrorCode code, const char *message)
{
  g_autoptr (GError) error = g_error_new_literal (LIA_ERROR, code, message);

  return lia_org_http_error_response (error);
}

LiaOrgResponse *
lia_org_http_wait_response (gboolean changed)
{
  GString *body = xml_start ();

  g_string_append_printf (body, "<changes changed=\"%s\"/>\n", changed ? "true" : "false");
  return respond (200, body);
}

/* What one request carries, parsed. */
typedef struct
{
  LiaOrgService *service;
  const char *method;
  char **seg; /* path segments after /v1 */
  guint n_seg;
  GHashTable *query; /* owned */
  const char *body;
  gsize body_len;
  LiaOrgCaller *caller; /* owned */
  LiaXmlDoc *doc;       /* owned: the parsed body, when there is one */
} Request;

static gboolean
is (const Request *r, const char *method, guint n_seg)
{
  return g_str_equal (r->method, method) && r->n_seg == n_seg;
}

/* Parses the body as XML with root @root. */
static xmlNode *
body_root (Request *r, const char *root, GError **error)
{
  if (r->body == NULL || r->body_len == 0)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Request needs an XML body <%s>", root);
      return NULL;
    }
  r->doc = lia_crm_xml_parse (r->body, r->body_len, LIA_CRM_XML_MAX_BYTES, root, error);
  return r->doc != NULL ? xmlDocGetRootElement (r->doc) : NULL;
}

static gboolean
entity_arg (const char *name, LiaEntity *out, GError **error)
{
  if (!lia_entity_from_string (name, out))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "Unknown entity \"%s\"",
                   name != NULL ? name : "(none)");
      return FALSE;
    }
  return TRUE;
}

static const char *
query_get (Request *r, const char *key)
{
  return r->query != NULL ? g_hash_table_lookup (r->query, key) : NULL;
}

static gboolean
query_uint (Request *r, const char *key, guint64 min, guint64 max, guint64 dflt, guint64 *out, GError **error)
{
  const char *text = query_get (r, key);

  if (text == NULL)
    {
      *out = dflt;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, min, max, out, NULL))
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID,
                   "Query parameter \"%s\" must be %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, key, min, max);
      return FALSE;
    }
  return TRUE;
}

static GString *
one (void (*write) (GString *, gconstpointer), gconstpointer object)
{
  GString *body = xml_start ();

  write (body, object);
  g_string_append_c (body, '\n');
  return body;
}

static GString *
list (const char *root, GPtrArray *items, void (*write) (GString *, gconstpointer))
{
  GString *body = xml_start ();

  g_string_append_printf (body, "<%s>", root);
  for (guint i = 0; i < items->len; i++)
    write (body, items->pdata[i]);
  g_string_append_printf (body, "</%s>\n", root);
  return body;
}

#define W(fn) ((void (*) (GString *, gconstpointer)) (fn))

static char **
collect_children (xmlNode *root, const char *name, guint max, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (xmlNode *child = root->children; child != NULL; child = child->next)
    {
      g_autoptr (LiaXmlChar) content = NULL;
      if (!lia_crm_xml_is (child, name))
        continue;
      if (out->len >= max)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "More than %u <%s> elements", max, name);
          return NULL;
        }
      content = xmlNodeGetContent (child);
      g_ptr_array_add (out, g_strdup (content != NULL ? (const char *) content : ""));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* R-MAIL-BULK: a batch of creates, each tracked by the subscription, in
 * one org transaction; every item has its own result. */
static LiaOrgResponse *
create_tracked (Request *r, const char *subscription, GError **error)
{
  xmlNode *root = body_root (r, "create-tracked", error);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) request_ids = NULL;
  g_autofree LiaCrmRecord **made = NULL;
  g_autofree GError **errors = NULL;
  GString *body;

  if (root == NULL
      || !lia_crm_xml_read_create_tracked (root, LIA_ORG_BATCH_MAX, &records, &request_ids, error))
    return NULL;
  made = g_new0 (LiaCrmRecord *, records->len + 1);
  errors = g_new0 (GError *, records->len + 1);
  if (!lia_org_service_create_tracked (
          r->service, r->caller, subscription, (const LiaCrmRecord *const *) records->pdata,
          (const char *const *) request_ids->pdata, records->len, made, errors, error))
    return NULL;
  body = xml_start ();
  lia_crm_xml_write_create_tracked_results (body, made, errors, records->len);
  g_string_append_c (body, '\n');
  for (guint i = 0; i < records->len; i++)
    {
      g_clear_pointer (&made[i], lia_crm_record_free);
      g_clear_error (&errors[i]);
    }
  return respond (200, body);
}

static LiaOrgResponse *
route_subscriptions (Request *r, GError **error)
{
  LiaOrgService *s = r->service;
  const char *id = r->n_seg >= 2 ? r->seg[1] : NULL;
  const char *action = r->n_seg >= 3 ? r->seg[2] : "";

  if (is (r, "GET", 1))
    {
      g_autoptr (GPtrArray) subs = lia_org_sync_list_subscriptions (s, r->caller, error);
      return subs != NULL ? respond (200, list ("subscriptions", subs, W (lia_crm_xml_write_subscription)))
                          : NULL;
    }
  if (is (r, "POST", 1))
    {
      xmlNode *root = body_root (r, "subscribe", error);
      g_autofree char *client = root != NULL ? lia_crm_xml_get (root, "client") : NULL;
      g_autoptr (LiaCrmSubscription) sub = NULL;
      if (root == NULL)
        return NULL;
      sub = lia_org_sync_subscribe (s, r->caller, client, error);
      return sub != NULL ? respond (200, one (W (lia_crm_xml_write_subscription), sub)) : NULL;
    }
  if (is (r, "POST", 3) && g_str_equal (action, "primary"))
    return lia_org_sync_set_primary (s, r->caller, id, error) ? respond (204, NULL) : NULL;
  if (is (r, "POST", 3) && g_str_equal (action, "prepare"))
    {
      const char *names = query_get (r, "entities");
      g_autoptr (LiaSyncSummary) summary = NULL;
      guint mask = 0;
      if (names != NULL)
        {
          g_auto (GStrv) parts = g_strsplit (names, ",", -1);
          for (guint i = 0; parts[i] != NULL; i++)
            {
              LiaEntity e;
              if (*parts[i] == '\0')
                continue;
              if (!entity_arg (parts[i], &e, error))
                return NULL;
              mask |= 1u << e;
            }
        }
      summary = lia_org_sync_prepare (s, r->caller, id, mask, error);
      return summary != NULL ? respond (200, one (W (lia_crm_xml_write_summary), summary)) : NULL;
    }
  if (is (r, "GET", 3) && g_str_equal (action, "data"))
    {
      LiaEntity entity;
      guint64 max = 0;
      g_autoptr (LiaSyncPage) page = NULL;
      if (!entity_arg (query_get (r, "entity"), &entity, error)
          || !query_uint (r, "max", 1, 1000, 100, &max, error))
        return NULL;
      page = lia_org_sync_get_data (s, r->caller, id, entity, query_get (r, "cursor"), (guint) max, error);
      return page != NULL ? respond (200, one (W (lia_crm_xml_write_page), page)) : NULL;
    }
  if (is (r, "POST", 3) && g_str_equal (action, "ack"))
    {
      xmlNode *root = body_root (r, "post-sync", error);
      g_autofree char *entity_name = root != NULL ? lia_crm_xml_get (root, "entity") : NULL;
      g_auto (GStrv) ids = NULL;
      LiaEntity entity;
      if (root == NULL || !entity_arg (entity_name, &entity, error)
          || (ids = collect_children (root, "id", 10000, error)) == NULL)
        return NULL;
      return lia_org_sync_post (s, r->caller, id, entity, (const char *const *) ids, error)
                 ? respond (204, NULL)
                 : NULL;
    }
  if (is (r, "POST", 3) && (g_str_equal (action, "track") || g_str_equal (action, "forget")))
    {
      gboolean track = g_str_equal (action, "track");
      xmlNode *root = body_root (r, action, error);
      g_autofree char *entity_name = root != NULL ? lia_crm_xml_get (root, "entity") : NULL;
      g_autofree char *record = root != NULL ? lia_crm_xml_get (root, "id") : NULL;
      g_autofree char *manual = root != NULL ? lia_crm_xml_get (root, "manual") : NULL;
      LiaEntity entity;
      gboolean ok;
      if (root == NULL || !entity_arg (entity_name, &entity, error))
        return NULL;
      if (record == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<%s> needs an id", action);
          return NULL;
        }
      ok = track ? lia_org_sync_track (s, r->caller, id, entity, record, g_strcmp0 (manual, "false") != 0,
                                       error)
                 : lia_org_sync_forget (s, r->caller, id, entity, record, error);
      return ok ? respond (204, NULL) : NULL;
    }
  if (is (r, "POST", 3) && g_str_equal (action, "create-tracked"))
    return create_tracked (r, id, error);
  if (is (r, "GET", 3) && g_str_equal (action, "wait"))
    {
      guint64 timeout = 0;
      gboolean changed = FALSE;
      LiaOrgResponse *response;
      if (!query_uint (r, "timeout", 0, LIA_ORG_HTTP_MAX_WAIT_MS, 30000, &timeout, error)
          || !lia_org_sync_has_changes (s, r->caller, id, &changed, error))
        return NULL;
      if (changed || timeout == 0)
        return lia_org_http_wait_response (changed);
      response = respond (200, NULL);
      response->wait = TRUE;
      response->caller = g_steal_pointer (&r->caller);
      response->subscription = g_strdup (id);
      response->timeout_ms = (guint) timeout;
      return response;
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
  return NULL;
}

static LiaOrgResponse *
route_records (Request *r, GError **error)
{
  LiaOrgService *s = r->service;
  LiaEntity entity = LIA_ENTITY_N;

  if (is (r, "POST", 1))
    {
      xmlNode *root = body_root (r, "create", error);
      g_autofree char *request_id = root != NULL ? lia_crm_xml_get (root, "request-id") : NULL;
      g_autoptr (LiaCrmRecord) record = NULL;
      g_autoptr (LiaCrmRecord) made = NULL;
      xmlNode *child = NULL;
      if (root == NULL)
        return NULL;
      for (child = root->children; child != NULL && !lia_crm_xml_is (child, "record"); child = child->next)
        ;
      if (child == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<create> needs a <record>");
          return NULL;
        }
      record = lia_crm_xml_read_record (child, error);
      if (record == NULL)
        return NULL;
      made = lia_org_service_create (s, r->caller, record, request_id, error);
      return made != NULL ? respond (201, one (W (lia_crm_xml_write_record), made)) : NULL;
    }
  if (r->n_seg != 3)
    {
      g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
      return NULL;
    }
  if (!entity_arg (r->seg[1], &entity, error))
    return NULL;
  if (is (r, "GET", 3))
    {
      g_autoptr (LiaCrmRecord) record = lia_org_service_retrieve (s, r->caller, entity, r->seg[2], error);
      return record != NULL ? respond (200, one (W (lia_crm_xml_write_record), record)) : NULL;
    }
  if (is (r, "PUT", 3))
    {
      xmlNode *root = body_root (r, "record", error);
      g_autoptr (LiaCrmRecord) record = root != NULL ? lia_crm_xml_read_record (root, error) : NULL;
      g_autoptr (LiaCrmRecord) updated = NULL;
      if (record == NULL)
        return NULL;
      if (lia_crm_record_get_entity (record) != entity
          || g_strcmp0 (lia_crm_record_get_id (record), r->seg[2]) != 0)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "The record does not match the URL");
          return NULL;
        }
      updated = lia_org_service_update (s, r->caller, record, error);
      return updated != NULL ? respond (200, one (W (lia_crm_xml_write_record), updated)) : NULL;
    }
  if (is (r, "DELETE", 3))
    {
      guint64 version = 0;
      if (!query_uint (r, "version", 0, G_MAXINT64, 0, &version, error))
        return NULL;
      return lia_org_service_delete (s, r->caller, entity, r->seg[2], (gint64) version, error)
                 ? respond (204, NULL)
                 : NULL;
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
  return NULL;
}

static LiaOrgResponse *
route_filters (Request *r, GError **error)
{
  LiaOrgService *s = r->service;

  if (is (r, "GET", 1))
    {
      g_autoptr (GPtrArray) filters = lia_org_service_list_filters (s, r->caller, error);
      return filters != NULL ? respond (200, list ("sync-filters", filters, W (lia_crm_xml_write_filter)))
                             : NULL;
    }
  if (is (r, "POST", 1))
    {
      xmlNode *root = body_root (r, "sync-filter", error);
      g_autoptr (LiaCrmFilter) in = root != NULL ? lia_crm_xml_read_filter (root, error) : NULL;
      g_autoptr (LiaCrmFilter) made = NULL;
      if (in == NULL)
        return NULL;
      made = lia_org_service_add_filter (s, r->caller, in->entity, in->name, in->xml, in->system, error);
      return made != NULL ? respond (201, one (W (lia_crm_xml_write_filter), made)) : NULL;
    }
  if (is (r, "POST", 3) && (g_str_equal (r->seg[2], "enable") || g_str_equal (r->seg[2], "disable")))
    return lia_org_service_enable_filter (s, r->caller, r->seg[1], g_str_equal (r->seg[2], "enable"), error)
               ? respond (204, NULL)
               : NULL;
  if (is (r, "DELETE", 2))
    return lia_org_service_remove_filter (s, r->caller, r->seg[1], error) ? respond (204, NULL) : NULL;
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
  return NULL;
}

/* Email: tracking tokens and the tagging poll (docs/protocol.md "Email"). */
static LiaOrgResponse *
route_email (Request *r, GError **error)
{
  LiaOrgService *s = r->service;

  if (is (r, "POST", 2) && g_str_equal (r->seg[1], "tokens"))
    {
      guint64 count = 0;
      g_auto (GStrv) tokens = NULL;
      GString *body;
      if (!query_uint (r, "count", 1, 1000, 1, &count, error))
        return NULL;
      tokens = lia_org_service_allocate_tokens (s, r->caller, (guint) count, error);
      if (tokens == NULL)
        return NULL;
      body = xml_start ();
      lia_crm_xml_write_tokens (body, (const char *const *) tokens);
      g_string_append_c (body, '\n');
      return respond (200, body);
    }
  if (is (r, "GET", 2) && g_str_equal (r->seg[1], "changes"))
    {
      guint64 since = 0, limit = 0;
      gint64 last = 0;
      g_autoptr (GPtrArray) records = NULL;
      GString *body;
      if (!query_uint (r, "since", 0, G_MAXINT64, 0, &since, error)
          || !query_uint (r, "limit", 1, 1000, 200, &limit, error))
        return NULL;
      records = lia_org_service_email_changes (s, r->caller, (gint64) since, (guint) limit, &last, error);
      if (records == NULL)
        return NULL;
      body = xml_start ();
      lia_crm_xml_write_email_changes (body, records, last);
      g_string_append_c (body, '\n');
      return respond (200, body);
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
  return NULL;
}

static void
write_setting (GString *out, const char *key, const char *value)
{
  g_string_append (out, "<setting");
  lia_crm_xml_attr (out, "key", key);
  lia_crm_xml_attr (out, "value", value);
  g_string_append (out, "/>");
}

static LiaOrgResponse *
route (Request *r, GError **error)
{
  LiaOrgService *s = r->service;
  const char *what = r->seg[0];

  if (g_str_equal (what, "whoami") && is (r, "GET", 1))
    {
      g_autoptr (LiaCrmUser) user = lia_org_service_get_user (s, r->caller->user_id, error);
      return user != NULL ? respond (200, one (W (lia_crm_xml_write_user), user)) : NULL;
    }
  if (g_str_equal (what, "subscriptions"))
    return route_subscriptions (r, error);
  if (g_str_equal (what, "records"))
    return route_records (r, error);
  if (g_str_equal (what, "filters"))
    return route_filters (r, error);
  if (g_str_equal (what, "email"))
    return route_email (r, error);
  if (g_str_equal (what, "search") && is (r, "GET", 1))
    {
      guint64 limit = 0;
      const char *text = query_get (r, "q");
      g_autoptr (GPtrArray) matches = NULL;
      if (!query_uint (r, "limit", 1, 100, 20, &limit, error))
        return NULL;
      matches = lia_org_service_search (s, r->caller, text != NULL ? text : "", (guint) limit, error);
      return matches != NULL ? respond (200, list ("matches", matches, W (lia_crm_xml_write_match))) : NULL;
    }
  if (g_str_equal (what, "resolve") && is (r, "POST", 1))
    {
      xmlNode *root = body_root (r, "resolve", error);
      g_auto (GStrv) addresses = root != NULL ? collect_children (root, "address", 1000, error) : NULL;
      g_autoptr (GPtrArray) matches = NULL;
      if (addresses == NULL)
        return NULL;
      matches = lia_org_service_resolve (s, r->caller, (const char *const *) addresses, error);
      return matches != NULL ? respond (200, list ("matches", matches, W (lia_crm_xml_write_match))) : NULL;
    }
  if (g_str_equal (what, "settings") && is (r, "GET", 1))
    {
      g_autoptr (GHashTable) settings = lia_org_service_get_settings_for (s, r->caller, error);
      g_autoptr (GList) keys = NULL;
      GString *body;
      if (settings == NULL)
        return NULL;
      keys = g_list_sort (g_hash_table_get_keys (settings), (GCompareFunc) g_strcmp0);
      body = xml_start ();
      g_string_append (body, "<settings>");
      for (GList *k = keys; k != NULL; k = k->next)
        write_setting (body, k->data, g_hash_table_lookup (settings, k->data));
      g_string_append (body, "</settings>\n");
      return respond (200, body);
    }
  if (g_str_equal (what, "settings") && is (r, "PUT", 2))
    {
      xmlNode *root = body_root (r, "setting", error);
      g_autofree char *value = root != NULL ? lia_crm_xml_get (root, "value") : NULL;
      if (root == NULL)
        return NULL;
      if (value == NULL)
        {
          g_set_error (error, LIA_ERROR, LIA_ERROR_INVALID, "<setting> needs a value");
          return NULL;
        }
      return lia_org_service_set_setting (s, r->caller, r->seg[1], value, error) ? respond (204, NULL) : NULL;
    }
  g_set_error (error, LIA_ERROR, LIA_ERROR_NOT_FOUND, "No such endpoint");
  return NULL;
}

LiaOrgResponse *
lia_org_http_handle (LiaOrgService *service, const char *method, const char *path, const char *query,
                     const char *authorization, const char *body, gsize body_len, gsize max_body)
{
  Request r = { 0 };
  g_auto (GStrv) parts = NULL;
  g_autoptr (GError) error = NULL;
  LiaOrgResponse *response = NULL;

  if (method == NULL || path == NULL || !g_utf8_validate (path, -1, NULL))
    return fail (LIA_ERROR_INVALID, "Malformed request line");
  if (g_str_equal (path, "/health"))
    {
      GString *out = xml_start ();
      g_string_append_printf (out, "<health status=\"ok\" version=\"%s\"/>\n", LIA_VERSION);
      return g_str_equal (method, "GET") ? respond (200, out)
                                         : (g_string_free (out, TRUE), fail (LIA_ERROR_INVALID, "GET only"));
    }
  if (body_len > max_body)
    {
      LiaOrgResponse *big = fail (LIA_ERROR_INVALID, "Request body too large");
      big->status = 413;
      return big;
    }
  if (!g_str_has_prefix (path, "/v1/"))
    return fail (LIA_ERROR_NOT_FOUND, "No such endpoint");
  parts = g_strsplit (path + 4, "/", 8);
  if (g_strv_length (parts) == 0 || g_strv_length (parts) > 6 || *parts[0] == '\0')
    return fail (LIA_ERROR_NOT_FOUND, "No such endpoint");
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] == '\0' || strlen (parts[i]) > 256)
      return fail (LIA_ERROR_NOT_FOUND, "No such endpoint");

  /* Every request but /health is authenticated, before anything else is
   * looked at: an unauthenticated caller learns nothing. */
  if (authorization == NULL || !g_str_has_prefix (authorization, "Bearer "))
    return fail (LIA_ERROR_AUTH, "Missing bearer token");
  r.caller = lia_org_service_authenticate (service, authorization + strlen ("Bearer "), &error);
  if (r.caller == NULL)
    return lia_org_http_error_response (error);

  r.service = service;
  r.method = method;
  r.seg = parts;
  r.n_seg = g_strv_length (parts);
  r.body = body;
  r.body_len = body_len;
  if (query != NULL && *query != '\0')
    {
      r.query = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, &error);
      if (r.query == NULL)
        {
          lia_org_caller_free (r.caller);
          return fail (LIA_ERROR_INVALID, "Malformed query string");
        }
    }
  response = route (&r, &error);
  if (response == NULL)
    {
      g_assert (error != NULL);
      response = lia_org_http_error_response (error);
    }
  lia_org_caller_free (r.caller);
  g_clear_pointer (&r.query, g_hash_table_unref);
  g_clear_pointer (&r.doc, xmlFreeDoc);
  return response;
}
