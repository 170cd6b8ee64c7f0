/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lia-engine.h"
#include "lia-host-call-private.h"

G_BEGIN_DECLS

/* For core modules that call the host from a worker as the engine does
 * (the doctor): the engine's link to its host. */
const LiaHostLink *lia_engine_get_host_link (LiaEngine *engine);

/* Keeps cycles out while another worker job (the doctor) uses the cache
 * and the host: %FALSE with %LIA_ERROR_CONFLICT while a cycle runs. A sync
 * requested meanwhile starts on release. Any thread. */
gboolean lia_engine_hold (LiaEngine *engine, GError **error);
void lia_engine_release (LiaEngine *engine);

G_END_DECLS
