#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One engine per profile, reached over the session D-Bus interface
# org.gnome.Liaison.Engine1, as TAP, on a private evolution-data-server:
#   serve      the engine run by `liaison serve` (no Evolution) against a
#              real liaison-server on loopback (stopped and restarted to
#              test the offline outbox);
#   evolution  the REAL Evolution 3.46 under Xvfb with module-liaison.so in
#              the per-user module dir, loading liaison-plugin.so, on the
#              embedded org file (the product default).
# Re-runs itself under dbus-run-session with HOME and every XDG dir in a
# fresh temporary directory, removed afterwards.
#   test-evolution-module.sh MODE LIAISON LIAISON-ORG LIAISON-EDS-DEMO LIAISON-SERVER MODULE PLUGIN LIBDIR
# Rules: R-OFF-STATUS (status from the running engine), R-MARK-TRACK (track
# over D-Bus reaches CRM), one engine per profile (the lock refuses a second
# one and names the holder), R-MARK-PROFILE (primary store default folders).
set -u

mode=$1
if [ -z "${LIA_MOD_TEST_INNER:-}" ]; then
  if ! command -v dbus-run-session >/dev/null || [ ! -x /usr/libexec/evolution-source-registry ]; then
    echo "1..0 # SKIP needs dbus-run-session and evolution-data-server (packages dbus, evolution-data-server)"
    exit 0
  fi
  if [ "$mode" = evolution ] && ! { command -v evolution >/dev/null && command -v xvfb-run >/dev/null; }; then
    echo "1..0 # SKIP needs evolution, xvfb-run and xauth (packages evolution xvfb xauth)"
    exit 0
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/liaison-module-XXXXXX")
  mkdir -m 700 "$tmp/config" "$tmp/data" "$tmp/cache" "$tmp/runtime"
  env -u DISPLAY -u DBUS_SESSION_BUS_ADDRESS -u WAYLAND_DISPLAY HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" \
    XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" \
    GSETTINGS_BACKEND=memory GIO_USE_VFS=local LIA_MOD_TEST_INNER="$tmp" \
    dbus-run-session -- sh "$0" "$@" 3>&1 1>"$tmp/bus.log"
  rc=$?
  # What the bus and the services it activated printed (not TAP).
  sed 's/^/# bus: /' "$tmp/bus.log"
  sleep 0.5
  [ -n "${LIA_KEEP:-}" ] || rm -rf "$tmp"
  exit $rc
fi

# TAP goes to fd 3; the bus daemon and what it activates write to bus.log.
exec 1>&3 3>&-
liaison=$2 org=$3 eds=$4 server=$5 module=$6 plugin=$7 libdir=$8
T=$LIA_MOD_TEST_INNER
db="$T/org.db"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$T/out"; }
check() { d=$1; shift; if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; fi; }
has() { grep -q -- "$1" "$T/out"; }
expect() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
bus_owner() {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.gnome.Liaison 2>/dev/null | grep -q true
}
engine_state() {
  gdbus call --session --dest org.gnome.Liaison --object-path /org/gnome/Liaison/Engine \
    --method org.gnome.Liaison.Engine1.Status 2>/dev/null | sed -n "s/.*'state': <'\([a-z]*\)'>.*/\1/p"
}
# The processes this test started (their environment names its directory).
ours() {
  for p in $(ps -eo pid=,comm= | awk '$2 ~ /^(evolution|Xvfb|xvfb-run|liaison|liaison-server)$/ {print $1}'); do
    grep -qs "$T" "/proc/$p/environ" && [ "$p" != $$ ] && echo "$p"
  done
}
cleanup() {
  for p in $(ours); do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
# A timeout (SIGTERM) or a closed pipe must not leave Evolution or a server behind.
trap 'cleanup; exit 1' INT TERM HUP PIPE

if [ "$mode" = evolution ]; then echo "1..34"; else echo "1..36"; fi

# The org: a demo org behind a real liaison-server on a free loopback port.
"$org" --db "$db" init >/dev/null && "$org" --db "$db" demo >/dev/null && token=$("$org" --db "$db" user token alice)
if [ "$mode" = evolution ]; then
  # The product default: the embedded org file, opened by the installed
  # liaison-plugin.so inside Evolution.
  check "setup --embedded" sh -c "echo '$token' | '$liaison' setup --embedded '$db' --user alice"
else
  "$server" --db "$db" --listen 127.0.0.1:0 >"$T/server.out" 2>"$T/server.err" &
  srv_pid=$!
  for _ in $(seq 100); do grep -q '^listening ' "$T/server.out" && break; sleep 0.1; done
  url=$(sed -n 's/^listening //p' "$T/server.out")
  check "setup --server against liaison-server on loopback" sh -c "echo '$token' | '$liaison' setup --server '$url' --user alice"
fi

if [ "$mode" = evolution ]; then
  # The module in the per-user module dir (EVOLUTION.md "Loading"); its
  # libliaison from the build tree (the copy loses the build rpath).
  # Evolution's user data dir is $XDG_DATA_HOME/evolution (~/.local/share
  # by default).
  moddir="$XDG_DATA_HOME/evolution/modules/lib/evolution/modules"
  mkdir -p "$moddir" "$XDG_CONFIG_HOME/glib-2.0/settings" "$XDG_DATA_HOME/liaison"
  cp "$module" "$moddir/"
  printf '[org/gnome/evolution/shell]\nuse-header-bar=false\n' >"$XDG_CONFIG_HOME/glib-2.0/settings/keyfile"
  # A `liaison` command holds the profile's lock as Evolution starts: the
  # module waits for it and starts its engine after (retry every second).
  ( exec 9>"$XDG_DATA_HOME/liaison/cache.db.lock"; flock 9; echo "pid $$, \"liaison sync\"" >&9; sleep 6 ) &
  holder=$!
  env GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1 LIAISON_LOCK_RETRY_S=1 WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1 \
    WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1 LD_LIBRARY_PATH="$libdir" \
    LIAISON_PLUGIN_PATH="$plugin" G_MESSAGES_DEBUG="${LIA_MOD_DEBUG:-liaison-module}" \
    xvfb-run -a -s "-screen 0 1280x800x24" evolution -c contacts >"$T/evolution.log" 2>&1 &
  engine_pid=$!
  what="Evolution"
else
  "$liaison" serve >"$T/engine.log" 2>&1 &
  engine_pid=$!
  what="liaison serve"
fi

if true; then
  # As soon as the engine's process owns the name, a command waits for the
  # engine that is still starting instead of failing.
  for _ in $(seq 900); do bus_owner && break; kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.05; done
  seen=$(engine_state)
  check "sync over D-Bus right after $what took the name (state then: ${seen:-?})" "$liaison" sync
  if has "sync done (engine in Evolution"; then ok "and it went over D-Bus"; else not_ok "and it went over D-Bus"; fi
fi
# The engine answers once its bus name is owned and its first cycle ran.
for _ in $(seq 900); do
  [ "$(engine_state)" = idle ] && break
  kill -0 "$engine_pid" 2>/dev/null || break
  sleep 0.1
done
cp "$T/${mode}.log" "$T/out" 2>/dev/null || cp "$T/engine.log" "$T/out" 2>/dev/null
expect "$what runs the engine and owns org.gnome.Liaison" bus_owner
if [ "$mode" = evolution ]; then
  wait "$holder"
  grep "liaison" "$T/evolution.log" | grep -v DEBUG >"$T/out"
  if has "already running" && has "retrying in 1 s"; then ok "the module waited for the command holding the lock, then started"; else not_ok "the module waited for the command holding the lock, then started"; fi
fi
check "status over D-Bus (R-OFF-STATUS)" "$liaison" status
if has "engine:   running in pid" && has "idle, online"; then ok "status names the running engine, idle and online"; else not_ok "status names the running engine, idle and online"; fi
engine_proc=$(sed -n 's/^engine:   running in pid \([0-9]*\) .*/\1/p' "$T/out")
if [ "$mode" = evolution ]; then
  expect "the engine runs inside the evolution process" sh -c "grep -q '^evolution' /proc/$engine_proc/comm"
else
  expect "the engine runs in the liaison serve process" test "$engine_proc" = "$engine_pid"
fi

uid=$("$eds" add-contact Mona Module mona@example.org)
check "track over D-Bus reaches CRM (R-MARK-TRACK)" "$liaison" track contact "$uid"
if has "tracked, CRM contact"; then ok "the contact is tracked with a CRM id"; else not_ok "the contact is tracked with a CRM id"; fi
crm_id=$(sed -n 's/.*CRM contact \([^ ]*\)$/\1/p' "$T/out")
"$eds" set-contact "$uid" title "Module Buyer 17" >/dev/null
check "sync over D-Bus" "$liaison" sync
"$org" --db "$db" export - >"$T/export" 2>&1
if grep -q "Module Buyer 17" "$T/export"; then ok "the EDS change reached the org through the engine"; else not_ok "the EDS change reached the org through the engine"; cat "$T/export" | tail -3 | sed 's/^/# /'; fi

# A change in the org (an export edited and imported back, keeping ids)
# reaches EDS through the running engine.
sed 's/Module Buyer 17/Module Director 17/' "$T/export" >"$T/import"
"$org" --db "$db" import "$T/import" >"$T/out" 2>&1
check "sync over D-Bus after an org change" "$liaison" sync
if [ "$("$eds" get-contact "$uid" title)" = "Module Director 17" ]; then ok "the org change reached EDS through the engine"; else not_ok "the org change reached EDS through the engine"; fi

if [ "$mode" = evolution ]; then
  if grep -q 'host: Evolution.s clients and the mail store "local"' "$T/evolution.log"; then
    ok "the engine uses Evolution's client cache and its mail session's default store"
  else grep liaison-module "$T/evolution.log" >"$T/out"; not_ok "the engine uses Evolution's client cache and its mail session's default store"; fi
  # R-MARK-TRACK, R-MAIL-TRACK: a message a program delivers into
  # Evolution's local Inbox (the maildir root of the "local" store) while
  # Evolution runs, tracked over D-Bus, reaches CRM. Camel learns of the
  # file only when the folder is refreshed: the adapter refreshes it when
  # an id names a message it does not know yet.
  inbox="$XDG_DATA_HOME/evolution/mail/local"
  mail_name=1700003000.module.test
  mkdir -p "$inbox/tmp" "$inbox/new" "$inbox/cur"
  printf 'From: Mia Mail <mia@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: Module mail 42\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <module42@example.org>\r\n\r\nHello from the module test.\r\n' >"$inbox/tmp/$mail_name"
  mv "$inbox/tmp/$mail_name" "$inbox/new/$mail_name"
  check "liaison track mail (over D-Bus) of a message delivered into Evolution's local Inbox" \
    "$liaison" track mail "mail:local/Inbox/$mail_name"
  if has "tracked, CRM email "; then
    ok "the message is tracked with a CRM id (R-MAIL-TRACK)"
  else not_ok "the message is tracked with a CRM id (R-MAIL-TRACK)"; fi
  "$org" --db "$db" export - >"$T/export" 2>&1
  if grep -q "Module mail 42" "$T/export"; then ok "the message reached the org as a CRM email"
  else not_ok "the message reached the org as a CRM email"; tail -3 "$T/export" | sed 's/^/# /'; fi
  # A Track of a message that is not there says so (it was "state none"
  # and no error: the engine drops the change of an item it cannot find).
  gdbus call --session --dest org.gnome.Liaison --object-path /org/gnome/Liaison/Engine \
    --method org.gnome.Liaison.Engine1.Track "mail:local/Inbox/1700003001.no-such.test" >"$T/out" 2>&1
  if has "org.gnome.Liaison.Error.NotFound" && has "was not tracked"; then
    ok "Track over D-Bus of a message that does not exist fails with NotFound"
  else not_ok "Track over D-Bus of a message that does not exist fails with NotFound"; fi
  # Evolution announced its local folders (folder-available) while the
  # command above held the lock: the module watches them once its engine
  # runs, not only those announced later (R-DET-NOTIFY, R-MAIL-FOLDER).
  grep 'watching mail folder' "$T/evolution.log" >"$T/out"
  if has '"Templates"' && has '"Outbox"'; then
    ok "the mail folders Evolution announced before the engine was ready are watched (R-DET-NOTIFY)"
  else not_ok "the mail folders Evolution announced before the engine was ready are watched (R-DET-NOTIFY)"; fi
fi

check "sync without the session bus is refused by the engine lock (exit 1)" \
  sh -c "DBUS_SESSION_BUS_ADDRESS=unix:path=$T/no-bus '$liaison' sync; test \$? -eq 1"
if has "already running"; then ok "and says the engine of the profile is already running"; else not_ok "and says the engine of the profile is already running"; fi
check "doctor (not offered over D-Bus) is refused by the engine lock" sh -c "'$liaison' doctor; test \$? -eq 1"
if has "already running" && has "liaison $( [ "$mode" = evolution ] && echo evolution || echo serve)"; then
  ok "the refusal names the engine holding the lock"; else not_ok "the refusal names the engine holding the lock"; fi

if [ "$mode" = serve ]; then
  gdbus call --session --dest org.gnome.Liaison --object-path /org/gnome/Liaison/Engine \
    --method org.gnome.Liaison.Engine1.Search "Mona" 10 >"$T/out" 2>&1
  if has "'contact', '$crm_id', 'Mona Module'"; then ok "Search over D-Bus finds the tracked contact in the org (Set Regarding picker)"; else not_ok "Search over D-Bus finds the tracked contact in the org (Set Regarding picker)"; fi
  gdbus call --session --dest org.gnome.Liaison --object-path /org/gnome/Liaison/Engine \
    --method org.gnome.Liaison.Engine1.Search "Mona" 0 >"$T/out" 2>&1
  if has "org.gnome.Liaison.Error.Invalid"; then ok "a search limit of 0 is refused as Invalid"; else not_ok "a search limit of 0 is refused as Invalid"; fi
  check "untrack over D-Bus" "$liaison" untrack contact "$uid"
  if has "untracked"; then ok "the contact is untracked"; else not_ok "the contact is untracked"; fi
  check "an unknown item kind of id is refused in one line (exit 1)" sh -c "'$liaison' untrack contact no-such-uid; test \$? -eq 1"
  # The org goes away: the change waits in the outbox, which the engine
  # lists, retries and drops over D-Bus (R-OFF-STATUS, R-OFF-QUEUE).
  uid2=$("$eds" add-contact Otto Offline otto@example.org)
  "$liaison" track contact "$uid2" >"$T/out" 2>&1
  port=${url##*:}; port=${port%%/*}
  kill "$srv_pid"; wait "$srv_pid" 2>/dev/null; srv_pid=
  "$eds" set-contact "$uid2" title "Offline 99" >/dev/null
  "$liaison" sync >"$T/out" 2>&1
  check "status over D-Bus with the org away" "$liaison" status
  if has "offline"; then ok "the engine says it is offline"; else not_ok "the engine says it is offline"; fi
  check "outbox over D-Bus" "$liaison" outbox
  change=$(awk -F'\t' '$0 ~ /contact/ {print $1; exit}' "$T/out")
  if [ -n "$change" ] && has "1 change in the outbox"; then ok "the offline change waits in the outbox"; else not_ok "the offline change waits in the outbox"; fi
  check "retry over D-Bus" "$liaison" outbox --retry "${change:-0}"
  "$liaison" outbox >"$T/out" 2>&1
  change=$(awk -F'\t' '$0 ~ /contact/ {print $1; exit}' "$T/out")
  # The retry started a cycle; a change moves only between cycles.
  for _ in $(seq 100); do case $(engine_state) in idle | offline) break ;; esac; sleep 0.1; done
  check "drop over D-Bus" "$liaison" outbox --drop "${change:-0}"
  "$liaison" outbox >"$T/out" 2>&1
  if has "^0 changes in the outbox"; then ok "the dropped change is gone"; else not_ok "the dropped change is gone"; fi
  # The restarted server writes to files of its own: a background
  # command's redirection is opened (and truncated) by the child, later,
  # so a reused server.out could show the first server's "listening" line
  # and the sync below would run before this one listens. An attempt that
  # exits (the port taken meanwhile) is followed by another, 25 at most.
  for a in $(seq 25); do
    "$server" --db "$db" --listen "127.0.0.1:$port" >"$T/server.$a.out" 2>"$T/server.$a.err" &
    srv_pid=$!
    for _ in $(seq 100); do
      grep -qs '^listening ' "$T/server.$a.out" && break
      kill -0 "$srv_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$srv_pid" 2>/dev/null && break
    sleep 0.2
  done
  grep -qs '^listening ' "$T/server.$a.out" || sed 's/^/# server: /' "$T/server.$a.out" "$T/server.$a.err"
  check "sync over D-Bus once the org is back" "$liaison" sync
  check "a bad outbox id is one clear line over D-Bus (exit 1)" sh -c "'$liaison' outbox --drop 999999; test \$? -eq 1"
  if [ "$(wc -l <"$T/out")" -eq 1 ] && has "^liaison: " && ! has "GDBus.Error"; then ok "and the message is the engine's, not D-Bus's"; else not_ok "and the message is the engine's, not D-Bus's"; fi
  kill -TERM "$engine_pid"
  wait "$engine_pid"; rc=$?
  engine_pid=
  expect "liaison serve stops cleanly on SIGTERM" test "$rc" -eq 0
else
  # Evolution quits through its GApplication; the module stops the engine
  # on prepare-for-quit and the lock is released with the process.
  # Evolution quits on SIGTERM (its main.c); xvfb-run then stops Xvfb.
  evo=$(for p in $(ours); do grep -qs '^evolution' "/proc/$p/comm" && echo "$p"; done)
  kill -TERM $evo 2>/dev/null
  for _ in $(seq 300); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$engine_pid" 2>/dev/null && { echo "# Evolution did not quit on SIGTERM"; kill -KILL $evo; }
  wait "$engine_pid" 2>/dev/null
  engine_pid=
  grep liaison-module "$T/evolution.log" >"$T/out"
  loads=$(grep -c 'e_module_load$' "$T/out") unloads=$(grep -c 'e_module_unload$' "$T/out")
  if [ "$loads" -ge 2 ] && [ "$unloads" -ge 1 ] && [ "$(grep -c 'engine ready' "$T/out")" -eq 1 ]; then
    ok "Evolution loaded the module $loads times and unloaded it $unloads times; one engine started"
  else not_ok "Evolution loaded, unloaded and loaded the module; one engine started"; fi
  if has "engine stopped"; then ok "the engine stopped cleanly when Evolution quit"; else not_ok "the engine stopped cleanly when Evolution quit"; fi
  # Not asserted (timings are for benchmarks): what the start cost Evolution's main loop.
  sed -n 's/.*\(start-up step on the main loop: .*\)/# \1/p' "$T/out"
  grep -E 'liaison[a-z-]*-(WARNING|CRITICAL)|CRITICAL.*lia_' "$T/evolution.log" >"$T/out"
  expect "Evolution logged no Liaison warning or critical (module load/unload/load, start, quit)" test ! -s "$T/out"

  # Evolution again with the plugin missing: Evolution runs, the module
  # holds the profile and tells the command why its engine is not running.
  env GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1 WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1 \
    WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1 LD_LIBRARY_PATH="$libdir" \
    LIAISON_PLUGIN_PATH="$T/no-such-plugin.so" \
    xvfb-run -a -s "-screen 0 1280x800x24" evolution -c contacts >"$T/evolution2.log" 2>&1 &
  engine_pid=$!
  for _ in $(seq 900); do
    [ "$(engine_state)" = stopped ] && break
    kill -0 "$engine_pid" 2>/dev/null || break
    sleep 0.1
  done
  check "status over D-Bus when the plugin cannot be loaded" "$liaison" status
  if has "stopped, offline" && has "last error: cannot load the Liaison plugin"; then ok "status says the engine stopped and why"; else not_ok "status says the engine stopped and why"; fi
  check "sync fails in one line naming the reason (exit 1)" sh -c "'$liaison' sync; test \$? -eq 1"
  if [ "$(wc -l <"$T/out")" -eq 1 ] && has "^liaison: the sync engine did not start: cannot load the Liaison plugin"; then
    ok "and the line is the engine's own"; else not_ok "and the line is the engine's own"; fi
  evo=$(for p in $(ours); do grep -qs '^evolution' "/proc/$p/comm" && echo "$p"; done)
  kill -TERM $evo 2>/dev/null
  for _ in $(seq 300); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$engine_pid" 2>/dev/null && { echo "# Evolution did not quit on SIGTERM"; kill -KILL $evo; }
  wait "$engine_pid" 2>/dev/null
  engine_pid=
fi
check "without an engine on the bus, sync runs its own engine under the lock" "$liaison" sync
if ! has "engine in Evolution"; then ok "and it did not go over D-Bus"; else not_ok "and it did not go over D-Bus"; fi

[ -n "${srv_pid:-}" ] && { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=; }
sleep 0.5
for _ in $(seq 50); do [ -z "$(ours)" ] && break; sleep 0.1; done
ps -o pid,comm,args -p "$(ours | tr '\n' ',' | sed 's/,$//')" >"$T/out" 2>/dev/null
expect "no process of this test is left behind (evolution, Xvfb, liaison, liaison-server)" test -z "$(ours)"

exit $((failed > 0))
