#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The two set-up commands of README.md, for a fresh Debian 12 machine.
#
#   sh tools/dev/setup.sh demo   install build packages, build, run the main job
#                                (options --evolution, --user-session: see
#                                tools/dev/demo.sh)
#   sh tools/dev/setup.sh test   install build and test packages, build, run every
#                                test (gcc --werror build, then clang ASan+UBSan
#                                build for the unit tests); the last line printed
#                                is "N passed, N failed, N skipped"
#
# As root it installs what is missing with apt-get; otherwise it prints the
# exact sudo line to run and stops. Exit status: non-zero on any failure or
# when no test ran.
set -eu

mode=${1:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# Debian 12 package names. Keep in step with docs/building.md.
build_pkgs="gcc pkg-config meson ninja-build python3 libglib2.0-dev libsqlite3-dev libxml2-dev libsoup-3.0-dev evolution-data-server-dev libebook1.2-dev libecal2.0-dev libcamel1.2-dev libsecret-1-dev dbus evolution-data-server"
# The CLI test keeps the token in a keyring on its private bus (liaison setup --keyring).
test_pkgs_cli="gnome-keyring"
test_pkgs="$build_pkgs $test_pkgs_cli clang libclang-rt-14-dev clang-format sqlite3 openssl glib-networking"
# The UI test (tests/ui): the real Evolution under Xvfb.
test_pkgs="$test_pkgs evolution evolution-dev libsecret-1-dev xvfb xauth xdotool imagemagick x11-apps"
# The IMAP path of the mail adapter: a dovecot the test starts on loopback.
test_pkgs="$test_pkgs dovecot-imapd"

need_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages. Run:"
    echo "  sudo apt-get update && sudo apt-get install -y$missing"
    exit 1
  fi
  echo "== installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# A build that fails is a failed run: say so in the closing-line format.
build() {
  if ! ninja -C "$1"; then
    echo "build failed in $1"
    echo "0 passed, 1 failed"
    exit 1
  fi
}

configure() {
  dir=$1; shift
  reconf=""
  [ -f "$dir/build.ninja" ] && reconf="--reconfigure"
  if ! meson setup $reconf "$dir" "$@" >"$dir.setup.log" 2>&1; then
    cat "$dir.setup.log"
    echo "meson setup failed for $dir"
    echo "0 passed, 1 failed"
    exit 1
  fi
}

case $mode in
  demo)
    shift
    # --evolution also opens Evolution with the module (needs a display).
    case " $* " in
      *" --evolution "*) need_packages $build_pkgs evolution evolution-dev ;;
      *) need_packages $build_pkgs ;;
    esac
    configure build
    ninja -C build
    echo "== liaison --version"
    build/tools/liaison --version
    echo "== liaison self-check (a fresh sync cache in a temporary directory)"
    build/tools/liaison self-check
    sh tools/dev/demo.sh build "$@"
    ;;
  test)
    need_packages $test_pkgs
    jobs=$(nproc 2>/dev/null || echo 2)
    echo "== gcc build, warnings are errors"
    configure build-ci --werror -Dbuildtype=debugoptimized
    build build-ci
    meson test -C build-ci --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3 || true
    echo "== clang ASan+UBSan build, unit, conformance and fuzz corpus replay"
    CC=clang configure build-asan --werror -Dbuildtype=debug -Db_sanitize=address,undefined \
      -Db_lundef=false -Dfuzzing=true -Dbenchmarks=false
    build build-asan
    meson test -C build-asan --print-errorlogs --num-processes "$jobs" --timeout-multiplier 4 \
      --suite unit --suite conformance --suite fuzz || true
    echo "== summary"
    python3 tools/dev/test-summary.py \
      "gcc=build-ci/meson-logs/testlog.json" \
      "asan=build-asan/meson-logs/testlog.json"
    ;;
  *)
    sed -n '3,13p' "$0"
    exit 2
    ;;
esac
