#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job of README.md on the embedded default, run by
# `sh tools/dev/setup.sh demo` after the build:
#   sh tools/dev/demo.sh BUILD-DIR
# An embedded demo org (liaison-org init + demo), a throwaway
# evolution-data-server in a temporary profile (its own D-Bus session and
# XDG dirs, all removed at the end), a few contacts, events and tasks in it,
# `liaison setup`, `track` on some, `sync`, changes on both sides, `sync`
# again, and a summary of what moved where.
set -eu

build=$1
if [ -z "${LIA_DEMO_INNER:-}" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/liaison-demo-XXXXXX")
  mkdir -m 700 "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/runtime"
  rc=0
  env -u DISPLAY -u DBUS_SESSION_BUS_ADDRESS HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" \
    XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" \
    GSETTINGS_BACKEND=memory GIO_USE_VFS=local LIA_DEMO_INNER="$tmp" \
    dbus-run-session -- sh "$0" "$build" 2>"$tmp/bus.log" || rc=$?
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

echo "== a throwaway evolution-data-server, filled as a user would"
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
