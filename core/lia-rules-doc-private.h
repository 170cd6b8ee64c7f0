/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <liaison/liaison.h>

G_BEGIN_DECLS

/* docs/rules.md as the code's tables render it. tests/conformance/
 * test-rules-doc compares the file with this text, so the document cannot
 * drift from the code; its --write option regenerates the file. */
char *lia_rules_render_markdown (void);

G_END_DECLS
