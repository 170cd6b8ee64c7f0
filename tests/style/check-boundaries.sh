#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# DESIGN.md boundaries and STYLE.md 12 and 30, checked on every test run:
#  - core/ includes no host or UI header (EDS, Camel, Evolution, GTK);
#  - no banned string calls anywhere in our code;
#  - no g_error/abort/exit in code that runs inside the host process.
# Usage: check-boundaries.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
status=0

hosty=$(grep -rnE '#include *[<"](libedataserver|libebook|libecal|libebackend|camel|evolution|e-util|shell|mail|gtk|gdk)/' core include 2>/dev/null)
if [ -n "$hosty" ]; then
  echo "core/ and include/ must stay host-free:"; echo "$hosty"; status=1
fi

banned=$(grep -rnE '(^|[^_[:alnum:]])(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\(' \
  include core org plugin ui-hooks tools 2>/dev/null | grep -vE ':[[:space:]]*(/\*|\*)')
if [ -n "$banned" ]; then
  echo "banned calls (STYLE.md 30):"; echo "$banned"; status=1
fi

fatal=$(grep -rnE '(^|[^_[:alnum:]])(g_error|abort|exit)[[:space:]]*\(' core plugin ui-hooks 2>/dev/null \
  | grep -vE ':[[:space:]]*(/\*|\*)')
if [ -n "$fatal" ]; then
  echo "calls that would take the host down (STYLE.md 12):"; echo "$fatal"; status=1
fi

spdx=$(find include core org plugin ui-hooks tools tests bench -name '*.[ch]' 2>/dev/null \
  | while read -r f; do head -n 1 "$f" | grep -q 'SPDX-License-Identifier' || echo "$f"; done)
if [ -n "$spdx" ]; then
  echo "files without an SPDX line (STYLE.md 28):"; echo "$spdx"; status=1
fi

[ $status -eq 0 ] && echo "boundaries ok"
exit $status
