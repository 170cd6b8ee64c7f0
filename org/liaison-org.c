/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gunixoutputstream.h>
#include <stdio.h>
#include <string.h>

#include "lia-org-demo.h"
#include "lia-org-export.h"
#include "lia-org-service.h"

/* liaison-org: administration of an org store by whoever owns the file.
 * Commands print what they made on stdout (tokens, ids) and errors as one
 * line on stderr; the exit status is 0, 1 (failed) or 2 (usage). */

static const char usage[] =
    "Usage: liaison-org --db FILE COMMAND ...\n"
    "  init\n"
    "  user add NAME --email ADDRESS [--admin]   (prints the token)\n"
    "  user token NAME                           (new token; revokes the old)\n"
    "  user list | user approve NAME | user delegate OWNER DELEGATE\n"
    "  filter list\n"
    "  filter add ENTITY NAME XML|@FILE [--user NAME]  (system filter without --user)\n"
    "  filter enable|disable|rm ID\n"
    "  setting get [KEY] | setting set KEY VALUE\n"
    "  fls set ROLE ENTITY FIELD read|none update|none\n"
    "  demo\n"
    "  export FILE|- | import FILE\n";

static int
fail (GError *error)
{
  g_printerr ("liaison-org: %s\n", error->message);
  return 1;
}

static int
bad_usage (void)
{
  g_printerr ("%s", usage);
  return 2;
}

static gboolean
entity_arg (const char *name, LiaEntity *out)
{
  if (lia_entity_from_string (name, out))
    return TRUE;
  g_printerr ("liaison-org: unknown entity \"%s\"\n", name);
  return FALSE;
}

static int
cmd_user (LiaOrgService *service, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc >= 2 && g_str_equal (argv[0], "add"))
    {
      const char *email = NULL;
      gboolean admin = FALSE;
      g_autofree char *token = NULL;
      for (int i = 2; i < argc; i++)
        {
          if (g_str_equal (argv[i], "--admin"))
            admin = TRUE;
          else if (g_str_equal (argv[i], "--email") && i + 1 < argc)
            email = argv[++i];
          else
            return bad_usage ();
        }
      if (!lia_org_service_add_user (service, argv[1], email, admin, &token, &error))
        return fail (error);
      printf ("%s\n", token);
      return 0;
    }
  if (argc == 2 && g_str_equal (argv[0], "token"))
    {
      g_autofree char *token = NULL;
      if (!lia_org_service_new_token (service, argv[1], &token, &error))
        return fail (error);
      printf ("%s\n", token);
      return 0;
    }
  if (argc == 2 && g_str_equal (argv[0], "approve"))
    return lia_org_service_set_approved (service, argv[1], TRUE, &error) ? 0 : fail (error);
  if (argc == 3 && g_str_equal (argv[0], "delegate"))
    return lia_org_service_set_delegate (service, argv[1], argv[2], TRUE, &error) ? 0 : fail (error);
  if (argc == 1 && g_str_equal (argv[0], "list"))
    {
      g_autoptr (GPtrArray) users = lia_org_service_list_users (service, &error);
      if (users == NULL)
        return fail (error);
      for (guint i = 0; i < users->len; i++)
        {
          LiaCrmUser *u = users->pdata[i];
          printf ("%s\t%s\t%s\t%s%s\n", u->id, u->name, u->email != NULL ? u->email : "",
                  u->admin ? "admin" : "user", u->approved ? ",approved" : "");
        }
      return 0;
    }
  return bad_usage ();
}

static int
cmd_filter (LiaOrgService *service, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc == 1 && g_str_equal (argv[0], "list"))
    {
      g_autoptr (GPtrArray) filters = lia_org_service_list_filters (service, NULL, &error);
      if (filters == NULL)
        return fail (error);
      for (guint i = 0; i < filters->len; i++)
        {
          LiaCrmFilter *f = filters->pdata[i];
          g_autofree char *owner = NULL;
          g_autoptr (LiaCrmUser) user = NULL;
          if (!lia_org_service_get_filter_owner (service, f->id, &owner, &error))
            return fail (error);
          if (owner != NULL)
            user = lia_org_service_get_user (service, owner, NULL);
          printf ("%s\t%s\t%s\t%s\t%s\n", f->id, lia_entity_to_string (f->entity),
                  f->system      ? "(system)"
                  : user != NULL ? user->name
                                 : owner,
                  f->enabled ? "enabled" : "disabled", f->name);
        }
      return 0;
    }
  if (argc >= 4 && g_str_equal (argv[0], "add"))
    {
      LiaEntity entity;
      g_autofree char *xml = NULL;
      g_autoptr (LiaCrmFilter) filter = NULL;
      g_autoptr (LiaOrgCaller) caller = NULL;
      if (!entity_arg (argv[1], &entity))
        return 2;
      if (argv[3][0] == '@')
        {
          if (!g_file_get_contents (argv[3] + 1, &xml, NULL, &error))
            return fail (error);
        }
      else
        xml = g_strdup (argv[3]);
      if (argc == 6 && g_str_equal (argv[4], "--user"))
        {
          g_autoptr (LiaCrmUser) user = lia_org_service_get_user (service, argv[5], &error);
          if (user == NULL)
            return fail (error);
          caller = g_new0 (LiaOrgCaller, 1);
          caller->user_id = g_strdup (user->id);
          caller->name = g_strdup (user->name);
          caller->role = g_strdup (user->admin ? "admin" : "user");
          caller->admin = user->admin;
        }
      else if (argc != 4)
        return bad_usage ();
      filter = lia_org_service_add_filter (service, caller, entity, argv[2], xml, caller == NULL, &error);
      if (filter == NULL)
        return fail (error);
      printf ("%s\n", filter->id);
      return 0;
    }
  if (argc == 2 && (g_str_equal (argv[0], "enable") || g_str_equal (argv[0], "disable")))
    return lia_org_service_enable_filter (service, NULL, argv[1], g_str_equal (argv[0], "enable"), &error)
               ? 0
               : fail (error);
  if (argc == 2 && g_str_equal (argv[0], "rm"))
    return lia_org_service_remove_filter (service, NULL, argv[1], &error) ? 0 : fail (error);
  return bad_usage ();
}

static int
cmd_setting (LiaOrgService *service, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc >= 1 && argc <= 2 && g_str_equal (argv[0], "get"))
    {
      g_autoptr (GHashTable) settings = lia_org_service_get_settings (service, &error);
      g_autoptr (GList) keys = NULL;
      if (settings == NULL)
        return fail (error);
      if (argc == 2)
        {
          const char *value = g_hash_table_lookup (settings, argv[1]);
          if (value == NULL)
            {
              g_printerr ("liaison-org: no setting \"%s\"\n", argv[1]);
              return 1;
            }
          printf ("%s\n", value);
          return 0;
        }
      keys = g_list_sort (g_hash_table_get_keys (settings), (GCompareFunc) g_strcmp0);
      for (GList *k = keys; k != NULL; k = k->next)
        printf ("%s\t%s\n", (const char *) k->data, (const char *) g_hash_table_lookup (settings, k->data));
      return 0;
    }
  if (argc == 3 && g_str_equal (argv[0], "set"))
    return lia_org_service_set_setting (service, NULL, argv[1], argv[2], &error) ? 0 : fail (error);
  return bad_usage ();
}

int
main (int argc, char **argv)
{
  g_autofree char *db = NULL;
  GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The org store (SQLite file)", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND ... - administer a Liaison org");
  g_autoptr (LiaOrgService) service = NULL;
  g_autoptr (GError) error = NULL;
  const char *command;

  g_option_context_add_main_entries (context, entries, NULL);
  /* Options after the command (--email, --admin, --user) belong to it. */
  g_option_context_set_ignore_unknown_options (context, TRUE);
  g_option_context_set_description (context, usage);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (error);
  if (db == NULL || argc < 2)
    return bad_usage ();
  service = lia_org_service_open (db, NULL, &error);
  if (service == NULL)
    return fail (error);
  command = argv[1];
  if (g_str_equal (command, "init") && argc == 2)
    return 0;
  if (g_str_equal (command, "user"))
    return cmd_user (service, argc - 2, argv + 2);
  if (g_str_equal (command, "filter"))
    return cmd_filter (service, argc - 2, argv + 2);
  if (g_str_equal (command, "setting"))
    return cmd_setting (service, argc - 2, argv + 2);
  if (g_str_equal (command, "fls") && argc == 8 && g_str_equal (argv[2], "set"))
    {
      LiaEntity entity;
      if (!entity_arg (argv[4], &entity))
        return 2;
      return lia_org_service_set_field_security (service, argv[3], entity, argv[5],
                                                 g_str_equal (argv[6], "read"),
                                                 g_str_equal (argv[7], "update"), &error)
                 ? 0
                 : fail (error);
    }
  if (g_str_equal (command, "demo") && argc == 2)
    {
      g_autoptr (GHashTable) tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autoptr (GList) names = NULL;
      if (!lia_org_demo_load (service, 20150901, tokens, &error))
        return fail (error);
      names = g_list_sort (g_hash_table_get_keys (tokens), (GCompareFunc) g_strcmp0);
      for (GList *n = names; n != NULL; n = n->next)
        printf ("%s\t%s\n", (const char *) n->data, (const char *) g_hash_table_lookup (tokens, n->data));
      return 0;
    }
  if (g_str_equal (command, "export") && argc == 3)
    {
      g_autoptr (GOutputStream) out = NULL;
      if (g_str_equal (argv[2], "-"))
        out = g_unix_output_stream_new (1, FALSE);
      else
        {
          g_autoptr (GFile) file = g_file_new_for_path (argv[2]);
          out = G_OUTPUT_STREAM (g_file_replace (file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &error));
          if (out == NULL)
            return fail (error);
        }
      if (!lia_org_export (service, out, &error) || !g_output_stream_close (out, NULL, &error))
        return fail (error);
      return 0;
    }
  if (g_str_equal (command, "import") && argc == 3)
    {
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (argv[2], &data, &len, &error) || !lia_org_import (service, data, len, &error))
        return fail (error);
      return 0;
    }
  return bad_usage ();
}
