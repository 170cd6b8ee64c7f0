/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The umbrella header of libliaison: include this one, never the others. */

#define LIAISON_INSIDE
#include <liaison/lia-version.h>
#include <liaison/lia-error.h>
#include <liaison/lia-clock.h>
#include <liaison/lia-entity.h>
#include <liaison/lia-value.h>
#include <liaison/lia-field.h>
#include <liaison/lia-item.h>
#include <liaison/lia-recurrence.h>
#include <liaison/lia-field-policy.h>
#include <liaison/lia-merge.h>
#include <liaison/lia-rules.h>
#include <liaison/lia-deletion.h>
#include <liaison/lia-entity-rules.h>
#include <liaison/lia-original.h>
#include <liaison/lia-cache.h>
#include <liaison/lia-crm.h>
#include <liaison/lia-host.h>
#include <liaison/lia-plugin.h>
#undef LIAISON_INSIDE
