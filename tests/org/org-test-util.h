/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gstdio.h>
#include <liaison/liaison.h>

#include "lia-org-service.h"

/* 2024-06-01T12:00:00Z: tests run at a fixed instant. */
#define ORG_TEST_NOW (G_GINT64_CONSTANT (1717243200) * G_USEC_PER_SEC)

/* A fresh org file under the test's isolated XDG cache dir. */
static inline char *
org_test_path (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "org-test", NULL);

  g_mkdir_with_parents (dir, 0700);
  return g_build_filename (dir, name, NULL);
}

static inline LiaOrgService *
org_test_service (const char *name, LiaClock *clock)
{
  g_autofree char *path = org_test_path (name);
  g_autoptr (GError) error = NULL;
  LiaOrgService *service;

  g_unlink (path);
  service = lia_org_service_open (path, clock, &error);
  g_assert_no_error (error);
  g_assert_nonnull (service);
  return service;
}

/* Adds a user and returns its authenticated caller (and token). */
static inline LiaOrgCaller *
org_test_user (LiaOrgService *service, const char *name, gboolean admin, char **out_token)
{
  g_autofree char *email = g_strdup_printf ("%s@example.org", name);
  g_autofree char *token = NULL;
  g_autoptr (GError) error = NULL;
  LiaOrgCaller *caller;

  g_assert_true (lia_org_service_add_user (service, name, email, admin, &token, &error));
  g_assert_no_error (error);
  caller = lia_org_service_authenticate (service, token, &error);
  g_assert_no_error (error);
  if (out_token != NULL)
    *out_token = g_steal_pointer (&token);
  return caller;
}

static inline LiaCrmRecord *
org_test_contact (const char *given, const char *family, const char *email)
{
  LiaCrmRecord *record = lia_crm_record_new (LIA_ENTITY_CONTACT);
  LiaItem *item = lia_crm_record_get_item (record);
  g_autofree char *full = g_strdup_printf ("%s %s", given, family);

  g_assert_true (lia_item_set_text (item, "given-name", given, NULL));
  g_assert_true (lia_item_set_text (item, "family-name", family, NULL));
  g_assert_true (lia_item_set_text (item, "full-name", full, NULL));
  if (email != NULL)
    g_assert_true (lia_item_set_text (item, "email-1", email, NULL));
  return record;
}
