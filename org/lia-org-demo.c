/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lia-org-auth.h"
#include "lia-org-demo.h"

static const char *const given[] = { "Ann",  "Bob",   "Carla", "Dmitri", "Eva",  "Farid", "Grace",
                                     "Hiro", "Ines",  "Jeff",  "Kofi",   "Lena", "Mateo", "Nora",
                                     "Omar", "Priya", "Quinn", "Rosa",   "Sven", "Tara" };
static const char *const family[] = { "Smith",   "Okafor", "Novak",  "Garcia", "Lee",
                                      "Müller",  "Rossi",  "Kim",    "Dubois", "Silva",
                                      "Ivanova", "Haddad", "Tanaka", "Olsen",  "Martin" };
static const char *const company_a[] = { "Contoso", "Fabrikam",  "Northwind", "Adventure",     "Tailspin",
                                         "Litware", "Proseware", "Wingtip",   "Fourth Coffee", "Alpine" };
static const char *const company_b[] = { "Ltd", "Traders", "Works", "Pharma", "Systems" };
static const char *const titles[] = { "Buyer", "CEO", "CTO", "Head of Sales", "Office Manager", "Engineer" };
static const char *const subjects[] = {
  "Follow up", "Quarterly review", "Pricing question", "Contract renewal",
  "Demo",      "Support call",     "Onboarding"
};

#define DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

#define PICK(rand, array) ((array)[g_rand_int_range ((rand), 0, G_N_ELEMENTS (array))])

static LiaCrmRecord *
new_record (LiaEntity entity, const char *owner)
{
  LiaCrmRecord *record = lia_crm_record_new (entity);
  g_autofree char *id = lia_org_auth_new_uuid ();

  lia_crm_record_set_id (record, id);
  lia_crm_record_set_owner (record, owner);
  return record;
}

static void
set_text (LiaCrmRecord *record, const char *field, const char *text)
{
  gboolean ok = lia_item_set_text (lia_crm_record_get_item (record), field, text, NULL);

  g_assert (ok);
}

static void
set_value (LiaCrmRecord *record, const char *field, LiaValue *value)
{
  g_autoptr (LiaValue) owned = value;
  gboolean ok = lia_item_set (lia_crm_record_get_item (record), field, owned, NULL);

  g_assert (ok);
}

static void
add_activity (GPtrArray *records, GRand *rand, LiaEntity entity, const char *owner, gint64 now,
              LiaCrmRecord *regarding)
{
  LiaCrmRecord *r = new_record (entity, owner);
  g_autofree char *name = lia_crm_record_dup_name (regarding);
  g_autofree char *subject = g_strdup_printf ("%s: %s", PICK (rand, subjects), name);
  gint64 start = now + (g_rand_int_range (rand, -30, 60)) * DAY
                 + (gint64) g_rand_int_range (rand, 8, 17) * 3600 * G_USEC_PER_SEC;
  gboolean past = start < now;

  set_text (r, "subject", subject);
  set_value (r, "regarding",
             lia_value_new_reference (lia_crm_record_get_entity (regarding),
                                      lia_crm_record_get_id (regarding), name));
  set_value (r, "start", lia_value_new_datetime (start, "Europe/Paris"));
  if (entity == LIA_ENTITY_APPOINTMENT)
    {
      set_value (r, "end",
                 lia_value_new_datetime (start + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, "Europe/Paris"));
      set_text (r, "location", "Meeting room 2");
      lia_crm_record_set_state (r, past ? LIA_RECORD_STATE_COMPLETED : LIA_RECORD_STATE_SCHEDULED);
    }
  else
    {
      set_value (r, "due", lia_value_new_datetime (start + DAY, "Europe/Paris"));
      set_value (r, "priority", lia_value_new_enum (g_rand_boolean (rand) ? "normal" : "high"));
      lia_crm_record_set_state (r, past ? LIA_RECORD_STATE_COMPLETED : LIA_RECORD_STATE_OPEN);
    }
  g_ptr_array_add (records, r);
}

gboolean
lia_org_demo_load (LiaOrgService *service, guint32 seed, GHashTable *out_tokens, GError **error)
{
  static const char *const users[] = { "admin", "alice", "bob", "carol" };
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) lia_crm_record_free);
  g_autoptr (GPtrArray) owners = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) accounts = g_ptr_array_new ();
  g_autoptr (GPtrArray) targets = g_ptr_array_new ();
  gint64 now = lia_clock_now (lia_org_service_get_clock (service));

  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      g_autofree char *email = g_strdup_printf ("%s@demo.example", users[i]);
      g_autofree char *token = NULL;
      g_autoptr (LiaCrmUser) user = NULL;
      if (!lia_org_service_add_user (service, users[i], email, i == 0, &token, error)
          || !lia_org_service_set_approved (service, users[i], TRUE, error))
        return FALSE;
      user = lia_org_service_get_user (service, users[i], error);
      if (user == NULL)
        return FALSE;
      if (i > 0)
        g_ptr_array_add (owners, g_strdup (user->id));
      if (out_tokens != NULL)
        g_hash_table_insert (out_tokens, g_strdup (users[i]), g_steal_pointer (&token));
    }
  for (guint i = 0; i < 50; i++)
    {
      LiaCrmRecord *a = new_record (LIA_ENTITY_ACCOUNT, owners->pdata[i % owners->len]);
      g_autofree char *name =
          g_strdup_printf ("%s %s %u", PICK (rand, company_a), PICK (rand, company_b), i + 1);
      g_autofree char *email = g_strdup_printf ("info@account%u.demo.example", i + 1);
      set_text (a, "name", name);
      lia_crm_record_set_email (a, email);
      g_ptr_array_add (records, a);
      g_ptr_array_add (accounts, a);
      g_ptr_array_add (targets, a);
    }
  for (guint i = 0; i < 500; i++)
    {
      LiaCrmRecord *c =
          new_record (LIA_ENTITY_CONTACT, owners->pdata[g_rand_int_range (rand, 0, owners->len)]);
      LiaCrmRecord *account = accounts->pdata[g_rand_int_range (rand, 0, accounts->len)];
      const char *g = PICK (rand, given), *f = PICK (rand, family);
      g_autofree char *full = g_strdup_printf ("%s %s", g, f);
      g_autofree char *email = g_strdup_printf ("%s.%s.%u@customer.demo.example", g, f, i + 1);
      g_autofree char *account_name = lia_crm_record_dup_name (account);
      g_autofree char *phone = g_strdup_printf (
          "+33 1 %02d %02d %02d %02d", g_rand_int_range (rand, 10, 99), g_rand_int_range (rand, 10, 99),
          g_rand_int_range (rand, 10, 99), g_rand_int_range (rand, 10, 99));
      set_text (c, "given-name", g);
      set_text (c, "family-name", f);
      set_text (c, "full-name", full);
      set_text (c, "email-1", email);
      set_text (c, "business-phone", phone);
      set_text (c, "job-title", PICK (rand, titles));
      set_value (c, "company",
                 lia_value_new_reference (LIA_ENTITY_ACCOUNT, lia_crm_record_get_id (account), account_name));
      g_ptr_array_add (records, c);
      g_ptr_array_add (targets, c);
    }
  for (guint i = 0; i < 20; i++)
    {
      LiaCrmRecord *l = new_record (LIA_ENTITY_LEAD, owners->pdata[i % owners->len]);
      g_autofree char *name = g_strdup_printf ("%s %s (lead)", PICK (rand, given), PICK (rand, family));
      g_autofree char *email = g_strdup_printf ("lead%u@prospect.demo.example", i + 1);
      set_text (l, "name", name);
      lia_crm_record_set_email (l, email);
      g_ptr_array_add (records, l);
      g_ptr_array_add (targets, l);
    }
  for (guint i = 0; i < 40; i++)
    {
      LiaCrmRecord *o = new_record (LIA_ENTITY_OPPORTUNITY, owners->pdata[i % owners->len]);
      g_autofree char *account = lia_crm_record_dup_name (accounts->pdata[i % accounts->len]);
      g_autofree char *name =
          g_strdup_printf ("%s: %u licences", account, 10 * g_rand_int_range (rand, 1, 50));
      set_text (o, "name", name);
      g_ptr_array_add (records, o);
      g_ptr_array_add (targets, o);
    }
  for (guint i = 0; i < 30; i++)
    {
      LiaCrmRecord *k = new_record (LIA_ENTITY_INCIDENT, owners->pdata[i % owners->len]);
      g_autofree char *name = g_strdup_printf ("Case %04u: %s", 1000 + i, PICK (rand, subjects));
      set_text (k, "name", name);
      g_ptr_array_add (records, k);
      g_ptr_array_add (targets, k);
    }
  {
    static const LiaEntity kinds[] = { LIA_ENTITY_APPOINTMENT, LIA_ENTITY_TASK, LIA_ENTITY_PHONE_CALL,
                                       LIA_ENTITY_LETTER, LIA_ENTITY_FAX };
    for (guint i = 0; i < 300; i++)
      add_activity (records, rand, kinds[i % G_N_ELEMENTS (kinds)], owners->pdata[i % owners->len], now,
                    targets->pdata[g_rand_int_range (rand, 0, targets->len)]);
  }
  return lia_org_service_import_batch (service, records, error);
}
