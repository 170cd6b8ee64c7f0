#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the real Evolution headless (Xvfb) with module-liaison.so, inside a
# private profile the caller made (HOME and XDG_* dirs in a temp dir, on a
# private D-Bus session: see EVOLUTION.md "Running it headless" and
# tests/ui/test-ui.sh). Shared by the UI test and the module's tests.
#
#   run-evolution.sh MODULE.so PLUGIN.so TIMEOUT-SECONDS [evolution args...]
#
# An uninstalled build: set LIAISON_LIBRARY_PATH to the directory of
# libliaison-1.so.0 (the copied module loses its build-tree rpath).
# Installs MODULE.so in the per-user module dir, points the module at
# PLUGIN.so (LIAISON_PLUGIN_PATH), presets GSettings (keyfile backend: no
# header bar, no first-run nags), and runs `xvfb-run evolution` with the
# rest of the arguments (default: -c mail). Evolution is killed after
# TIMEOUT-SECONDS. Exit status: Evolution's (124 on timeout).
set -u
module=$1 plugin=$2 limit=$3
shift 3
[ $# -gt 0 ] || set -- -c mail

moddir="$XDG_DATA_HOME/evolution/modules/lib/evolution/modules"
mkdir -p "$moddir" "$XDG_CONFIG_HOME/glib-2.0/settings"
cp "$module" "$moddir/"

# GSettings: the keyfile backend reads presets from here.
cat >>"$XDG_CONFIG_HOME/glib-2.0/settings/keyfile" <<'EOF'
[org/gnome/evolution/shell]
use-header-bar=false
express-mode=false
[org/gnome/evolution/mail]
prompt-on-unwanted-html=false
show-startup-wizard=false
[org/gnome/evolution/calendar]
prompt-on-delete=false
EOF

export GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1 GIO_USE_VFS=local
export WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1
export LIAISON_PLUGIN_PATH="$plugin"
if [ -n "${LIAISON_LIBRARY_PATH:-}" ]; then
  export LD_LIBRARY_PATH="$LIAISON_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# xvfb-run keeps its Xauthority in a temp dir it removes itself.
# LIAISON_UI_GDB=1: a backtrace on a crash (debugging the test).
if [ -n "${LIAISON_UI_GDB:-}" ] && command -v gdb >/dev/null; then
  set -- gdb -batch -ex run -ex "thread apply all bt 30" --args evolution "$@"
else
  set -- evolution "$@"
fi
exec timeout -k 10 "$limit" xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$@"
