#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# STYLE.md 29: every C file of ours matches .clang-format.
# Usage: check-format.sh SOURCE_ROOT [CLANG_FORMAT]
set -eu
root=$1
clang_format=${2:-clang-format}
cd "$root"
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "skip: $clang_format is not installed"
  exit 77
fi
files=$(find include core org plugin ui-hooks tools tests bench -name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || { echo "no C files found under $root"; exit 1; }
# shellcheck disable=SC2086
if "$clang_format" --dry-run -Werror $files; then
  echo "$(echo "$files" | wc -l) files formatted"
else
  echo "run: clang-format -i <files above>"
  exit 1
fi
