#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The `liaison` command on a real evolution-data-server and a real embedded
# org, as TAP. Re-runs itself under dbus-run-session with HOME and every XDG
# dir in a fresh temporary directory, so the bus activates a private EDS that
# dies with the bus; the directory is removed afterwards.
#   test-liaison-cli.sh LIAISON LIAISON-ORG LIAISON-EDS-DEMO
set -u

if [ -z "${LIA_CLI_TEST_INNER:-}" ]; then
  if ! command -v dbus-run-session >/dev/null || [ ! -x /usr/libexec/evolution-source-registry ]; then
    echo "1..0 # SKIP needs dbus-run-session and evolution-data-server (packages dbus, evolution-data-server)"
    exit 0
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/liaison-cli-XXXXXX")
  mkdir -m 700 "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/runtime"
  env -u DISPLAY -u DBUS_SESSION_BUS_ADDRESS HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" \
    XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" \
    GSETTINGS_BACKEND=memory GIO_USE_VFS=local LIA_CLI_TEST_INNER="$tmp" \
    dbus-run-session -- sh "$0" "$@"
  rc=$?
  # The bus is gone; give the factories it activated a moment to notice.
  sleep 0.5
  rm -rf "$tmp"
  exit $rc
fi

liaison=$1 org=$2 eds=$3
db="$LIA_CLI_TEST_INNER/org.db"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$LIA_CLI_TEST_INNER/out"; }
# check DESCRIPTION COMMAND...: passes when COMMAND exits 0; its output is in $out.
check() { d=$1; shift; if "$@" >"$LIA_CLI_TEST_INNER/out" 2>&1; then ok "$d"; else not_ok "$d"; fi; }
has() { grep -q -- "$1" "$LIA_CLI_TEST_INNER/out"; }
out() { cat "$LIA_CLI_TEST_INNER/out"; }

echo "1..18"
"$org" --db "$db" init && "$org" --db "$db" demo >/dev/null && \
  token=$("$org" --db "$db" user token alice)
check "setup --embedded reads the token from stdin and checks it" sh -c "echo '$token' | '$liaison' setup --embedded '$db' --user alice"
check "setup refuses a wrong token (exit 1)" sh -c "! echo wrong | '$liaison' setup --embedded '$db' --user alice"

uid=$("$eds" add-contact Tina Tracked tina@example.org)
check "track contact by UID reaches CRM (R-MARK-TRACK)" "$liaison" track contact "$uid"
crm_id=$(sed -n 's/.*CRM contact \([^ ]*\)$/\1/p' "$LIA_CLI_TEST_INNER/out")
check "sync completes" "$liaison" sync
check "status: tracked, nothing queued" "$liaison" status
if has "tracked  contact:$uid contact CRM $crm_id" && has "queue:    0 pending, 0 failed" && [ -n "$crm_id" ]; then
  ok "status lists the contact tracked with its CRM id"; else not_ok "status lists the contact tracked with its CRM id"; fi

"$eds" set-contact "$uid" title "Buyer 4711" >/dev/null
check "sync after an EDS change" "$liaison" sync
# The org file, read through liaison-org export, carries the new title.
"$org" --db "$db" export - >"$LIA_CLI_TEST_INNER/export" 2>&1
if grep -q "Buyer 4711" "$LIA_CLI_TEST_INNER/export"; then ok "a change in EDS reaches the org"; else not_ok "a change in EDS reaches the org"; fi

# A change in the org (an export edited and imported back, keeping ids).
sed 's/Buyer 4711/Director 4711/' "$LIA_CLI_TEST_INNER/export" >"$LIA_CLI_TEST_INNER/import"
"$org" --db "$db" import "$LIA_CLI_TEST_INNER/import" >"$LIA_CLI_TEST_INNER/out" 2>&1 || out
check "sync after an org change" "$liaison" sync
if [ "$("$eds" get-contact "$uid" title)" = "Director 4711" ]; then ok "a change in the org reaches EDS"; else not_ok "a change in the org reaches EDS"; fi

# A second engine for the same profile is refused while one holds the lock.
( exec 9>"$XDG_DATA_HOME/liaison/cache.db.lock"; flock 9; echo "pid $$, \"liaison sync\"" >&9; sleep 3 ) &
holder=$!
sleep 0.5
check "the file lock refuses a second engine and names the holder" sh -c "'$liaison' sync; test \$? -eq 1"
if has "already running" && has "pid"; then ok "the refusal says who holds the lock"; else not_ok "the refusal says who holds the lock"; fi
wait $holder

# The org file unavailable (not a chmod: the tests may run as root).
mv "$db" "$db.away"
echo "not an org" >"$db"
check "sync with the org unavailable fails (exit 1)" sh -c "'$liaison' sync; test \$? -eq 1"
if [ "$(wc -l <"$LIA_CLI_TEST_INNER/out")" -eq 1 ] && has "^liaison: Org store"; then ok "and says why in one line"; else not_ok "and says why in one line"; fi
mv "$db.away" "$db"
check "outbox after clean syncs" "$liaison" outbox
if has "^0 changes in the outbox"; then ok "the outbox is empty"; else not_ok "the outbox is empty"; fi

orphan=$("$eds" plant-orphan "00000000-dead-beef-0000-000000000000")
check "doctor --fix repairs a planted orphan (R-DUP-DOCTOR)" "$liaison" doctor --fix
if has "contact:$orphan" && has "fixed"; then ok "doctor names the orphan and fixes it"; else not_ok "doctor names the orphan and fixes it"; fi

exit $((failed > 0))
