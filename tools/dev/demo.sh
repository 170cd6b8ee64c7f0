#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job of README.md on the embedded default, run by
# `sh tools/dev/setup.sh demo` after the build:
#   sh tools/dev/demo.sh BUILD-DIR [--evolution] [--user-session]
# An embedded demo org (liaison-org init + demo), a throwaway
# evolution-data-server in a temporary profile (its own D-Bus session and
# XDG dirs, all removed at the end), a few contacts, events and tasks in it,
# `liaison setup`, `track` on some, `sync`, changes on both sides, `sync`
# again, and a summary of what moved where.
#
#   --evolution     then open Evolution (needs a display) with module-liaison.so
#                   against the same demo org and profile; the demo ends when
#                   Evolution is closed
#   --user-session  use the session's own evolution-data-server (your default
#                   address book, calendar and task list) instead of a
#                   throwaway one; Liaison's profile, cache and demo org stay
#                   in a temporary directory and the demo's items are removed
#                   at the end
set -eu

build=$1
shift
evolution=0
user_session=0
for arg in "$@"; do
  case $arg in
    --evolution) evolution=1 ;;
    --user-session) user_session=1 ;;
    *) echo "demo.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ $evolution -eq 1 ] && [ -z "${LIA_DEMO_INNER:-}" ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "demo.sh: --evolution needs a display (DISPLAY or WAYLAND_DISPLAY)" >&2
  exit 2
fi
if [ $evolution -eq 1 ] && [ $user_session -eq 1 ]; then
  echo "demo.sh: --evolution opens a throwaway Evolution; it cannot be combined with --user-session" >&2
  exit 2
fi
if [ $evolution -eq 1 ] && [ ! -f "$build/plugin/evolution/module/module-liaison.so" ]; then
  echo "demo.sh: $build has no module-liaison.so (install evolution-dev and rebuild)" >&2
  exit 2
fi

if [ $user_session -eq 1 ] && [ -z "${LIA_DEMO_INNER:-}" ]; then
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    echo "demo.sh: --user-session needs your D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)" >&2
    exit 2
  fi
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.gnome.Liaison 2>/dev/null | grep -q "boolean true"; then
    echo "demo.sh: Evolution is running with Liaison's module for your own profile; quit it first" >&2
    exit 2
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/liaison-demo-XXXXXX")
  mkdir -m 700 "$tmp/config" "$tmp/data" "$tmp/cache"
  rc=0
  # Only Liaison's own files move to the temporary directory: the address
  # book, calendar and task list are the session's, reached over D-Bus.
  XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" \
    LIA_DEMO_INNER="$tmp" LIA_DEMO_USER_SESSION=1 sh "$0" "$build" "$@" || rc=$?
  rm -rf "$tmp"
  exit $rc
fi

if [ -z "${LIA_DEMO_INNER:-}" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/liaison-demo-XXXXXX")
  mkdir -m 700 "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/runtime"
  rc=0
  env -u DISPLAY -u DBUS_SESSION_BUS_ADDRESS HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" \
    XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" \
    GSETTINGS_BACKEND=memory GIO_USE_VFS=local LIA_DEMO_INNER="$tmp" \
    LIA_DEMO_DISPLAY="${DISPLAY:-}" LIA_DEMO_WAYLAND="${WAYLAND_DISPLAY:-}" \
    dbus-run-session -- sh "$0" "$build" "$@" 2>"$tmp/bus.log" || rc=$?
  if [ $rc -ne 0 ]; then
    echo "demo failed; the session's messages:"
    grep -v "dbus-daemon\[" "$tmp/bus.log" | tail -20
  fi
  sleep 0.5
  rm -rf "$tmp"
  exit $rc
fi

liaison="$build/tools/liaison"
org="$build/org/liaison-org"
eds="$build/tools/liaison-eds-demo"
db="$LIA_DEMO_INNER/demo-org.db"

echo "== an embedded demo org: $db"
"$org" --db "$db" init
"$org" --db "$db" demo >/dev/null
"$org" --db "$db" user token alice | "$liaison" setup --embedded "$db" --user alice

if [ -n "${LIA_DEMO_USER_SESSION:-}" ]; then
  echo "== your own evolution-data-server (default address book, calendar, task list)"
  # Everything the demo adds, and every demo-org record a sync brings
  # down, is removed again at the end, whatever happens: what was there
  # before is listed first and kept.
  for kind in contact event task; do
    "$eds" list $kind >"$LIA_DEMO_INNER/before-$kind"
  done
  cleanup() {
    for kind in contact event task; do
      "$eds" list $kind 2>/dev/null | grep -vxF -f "$LIA_DEMO_INNER/before-$kind" | while read -r uid; do
        "$eds" remove $kind "$uid" >/dev/null 2>&1 || true
      done
    done
    echo "   (your address book, calendar and task list are as they were)"
  }
  trap cleanup EXIT
else
  echo "== a throwaway evolution-data-server, filled as a user would"
fi
c1=$("$eds" add-contact Grace Hopper grace@example.org)
c2=$("$eds" add-contact Alan Turing alan@example.org)
c3=$("$eds" add-contact Edsger Dijkstra edsger@example.org)
e1=$("$eds" add-event "Quarterly review with Fabrikam")
e2=$("$eds" add-event "Dentist (private)")
t1=$("$eds" add-task "Send the offer to Fabrikam")
t2=$("$eds" add-task "Water the plants (private)")
echo "   3 contacts, 2 events, 2 tasks; the private ones stay untracked"

echo "== liaison track (contacts Grace and Alan, the review, the offer task)"
"$liaison" track contact "$c1"
"$liaison" track contact "$c2"
"$liaison" track event "$e1"
"$liaison" track task "$t1"

echo "== liaison sync"
"$liaison" sync

echo "== changes on both sides"
"$eds" set-contact "$c1" title "Rear Admiral" >/dev/null
echo "   Evolution: Grace's job title is now \"Rear Admiral\""
"$org" --db "$db" export - >"$LIA_DEMO_INNER/export"
grep -q "Alan Turing" "$LIA_DEMO_INNER/export"
sed 's/<nickname>[^<]*<\/nickname>//; s/Alan Turing/Alan M. Turing/g' "$LIA_DEMO_INNER/export" >"$LIA_DEMO_INNER/import"
"$org" --db "$db" import "$LIA_DEMO_INNER/import"
echo "   CRM: Alan's full name is now \"Alan M. Turing\""

echo "== liaison sync"
"$liaison" sync

echo "== liaison status"
"$liaison" status | grep -v "^item:"

to_crm=$("$org" --db "$db" export - | grep -c "Rear Admiral" || true)
to_eds=$("$eds" get-contact "$c2" full-name)
echo "== summary: what moved where"
echo "   to CRM:       Grace Hopper, Alan Turing, the review and the offer task (tracked)"
echo "   Evolution -> CRM:  Grace's job title \"Rear Admiral\": $([ "$to_crm" -gt 0 ] && echo in CRM || echo MISSING)"
echo "   CRM -> Evolution:  Alan's full name: \"$to_eds\""
echo "   untouched:    Edsger Dijkstra, the dentist, the plants (not tracked)"
if [ "$to_crm" -gt 0 ] && [ "$to_eds" = "Alan M. Turing" ]; then
  echo "demo: items synced both ways"
else
  echo "demo: FAILED, a change did not arrive"
  exit 1
fi

if [ $evolution -eq 1 ]; then
  # The per-user module directory Evolution scans (EVOLUTION.md, Loading).
  moddir="$XDG_DATA_HOME/evolution/modules/lib/evolution/modules"
  mkdir -p "$moddir"
  cp "$build/plugin/evolution/module/module-liaison.so" "$moddir/"
  echo "== Evolution with module-liaison.so on the same demo org (close it to end the demo)"
  DISPLAY="$LIA_DEMO_DISPLAY" WAYLAND_DISPLAY="$LIA_DEMO_WAYLAND" \
    LIAISON_PLUGIN_PATH="$(cd "$build" && pwd)/plugin/liaison-plugin.so" evolution -c contacts || true
fi
