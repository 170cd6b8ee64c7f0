/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <liaison/liaison.h>

static const char *const op_names[] = {
  [LIA_SYNC_OP_CREATE] = "create",
  [LIA_SYNC_OP_UPDATE] = "update",
  [LIA_SYNC_OP_DELETE] = "delete",
};
G_STATIC_ASSERT (G_N_ELEMENTS (op_names) == LIA_SYNC_OP_N);

const char *
lia_sync_op_to_string (LiaSyncOp op)
{
  if ((guint) op >= LIA_SYNC_OP_N)
    return "none";
  return op_names[op];
}

gboolean
lia_sync_op_from_string (const char *name, LiaSyncOp *out_op)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < LIA_SYNC_OP_N; i++)
    {
      if (g_str_equal (name, op_names[i]))
        {
          if (out_op != NULL)
            *out_op = (LiaSyncOp) i;
          return TRUE;
        }
    }
  return FALSE;
}

/* A fixed matrix: entities and operations are small closed enums. */
struct _LiaSyncSummary
{
  guint counts[LIA_ENTITY_N][LIA_SYNC_OP_N];
};

LiaSyncSummary *
lia_sync_summary_new (void)
{
  return g_new0 (LiaSyncSummary, 1);
}

void
lia_sync_summary_free (LiaSyncSummary *summary)
{
  g_free (summary);
}

void
lia_sync_summary_add (LiaSyncSummary *summary, LiaEntity entity, LiaSyncOp op, guint count)
{
  g_return_if_fail (summary != NULL);
  g_return_if_fail ((guint) entity < LIA_ENTITY_N);
  g_return_if_fail ((guint) op < LIA_SYNC_OP_N);
  summary->counts[entity][op] += count;
}

guint
lia_sync_summary_get (const LiaSyncSummary *summary, LiaEntity entity, LiaSyncOp op)
{
  g_return_val_if_fail (summary != NULL, 0);
  if ((guint) entity >= LIA_ENTITY_N || (guint) op >= LIA_SYNC_OP_N)
    return 0;
  return summary->counts[entity][op];
}

guint
lia_sync_summary_get_total (const LiaSyncSummary *summary)
{
  guint total = 0;

  g_return_val_if_fail (summary != NULL, 0);
  for (guint e = 0; e < LIA_ENTITY_N; e++)
    for (guint o = 0; o < LIA_SYNC_OP_N; o++)
      total += summary->counts[e][o];
  return total;
}

struct _LiaSyncPage
{
  LiaEntity entity;
  GArray *changes; /* owned, of LiaSyncChange, each owning its id and record */
  gboolean more;
};

static void
change_clear (gpointer data)
{
  LiaSyncChange *change = data;

  g_free (change->id);
  lia_crm_record_free (change->record);
}

LiaSyncPage *
lia_sync_page_new (LiaEntity entity)
{
  LiaSyncPage *page;

  g_return_val_if_fail ((guint) entity < LIA_ENTITY_N, NULL);
  page = g_new0 (LiaSyncPage, 1);
  page->entity = entity;
  page->changes = g_array_new (FALSE, TRUE, sizeof (LiaSyncChange));
  g_array_set_clear_func (page->changes, change_clear);
  return page;
}

void
lia_sync_page_free (LiaSyncPage *page)
{
  if (page == NULL)
    return;
  g_array_unref (page->changes);
  g_free (page);
}

LiaEntity
lia_sync_page_get_entity (const LiaSyncPage *page)
{
  g_return_val_if_fail (page != NULL, LIA_ENTITY_N);
  return page->entity;
}

guint
lia_sync_page_get_n_changes (const LiaSyncPage *page)
{
  g_return_val_if_fail (page != NULL, 0);
  return page->changes->len;
}

const LiaSyncChange *
lia_sync_page_get_change (const LiaSyncPage *page, guint index)
{
  g_return_val_if_fail (page != NULL, NULL);
  g_return_val_if_fail (index < page->changes->len, NULL);
  return &g_array_index (page->changes, LiaSyncChange, index);
}

void
lia_sync_page_add (LiaSyncPage *page, LiaSyncOp op, const char *id, gint64 version, LiaCrmRecord *record)
{
  LiaSyncChange change = { 0 };

  g_return_if_fail (page != NULL);
  g_return_if_fail (id != NULL);
  change.op = op;
  change.entity = page->entity;
  change.id = g_strdup (id);
  change.version = version;
  change.record = record;
  g_array_append_val (page->changes, change);
}

gboolean
lia_sync_page_get_more (const LiaSyncPage *page)
{
  g_return_val_if_fail (page != NULL, FALSE);
  return page->more;
}

void
lia_sync_page_set_more (LiaSyncPage *page, gboolean more)
{
  g_return_if_fail (page != NULL);
  page->more = more;
}

const char *
lia_sync_page_get_cursor (const LiaSyncPage *page)
{
  g_return_val_if_fail (page != NULL, NULL);
  if (page->changes->len == 0)
    return NULL;
  /* Pages are in id order, so the last id is where the next page starts. */
  return g_array_index (page->changes, LiaSyncChange, page->changes->len - 1).id;
}

void
lia_crm_user_free (LiaCrmUser *user)
{
  if (user == NULL)
    return;
  g_free (user->id);
  g_free (user->name);
  g_free (user->email);
  g_free (user);
}

void
lia_crm_subscription_free (LiaCrmSubscription *subscription)
{
  if (subscription == NULL)
    return;
  g_free (subscription->id);
  g_free (subscription->client);
  g_free (subscription);
}

void
lia_crm_filter_free (LiaCrmFilter *filter)
{
  if (filter == NULL)
    return;
  g_free (filter->id);
  g_free (filter->name);
  g_free (filter->xml);
  g_free (filter);
}

void
lia_crm_match_free (LiaCrmMatch *match)
{
  if (match == NULL)
    return;
  g_free (match->id);
  g_free (match->name);
  g_free (match->address);
  g_free (match);
}
