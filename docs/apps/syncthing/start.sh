#!/bin/sh
# Cold start of Syncthing on Lambda: its home (config, keys, index database) and the synced folder live under
# /tmp, made from the image's read-only template on the first start of an instance; then Syncthing runs in the
# foreground (no monitor process, no restarts, no upgrades).
set -e
KIT_DIR=$(dirname "$0")
HOME_DIR=${SYNCTHING_HOME:-/tmp/syncthing}
if [ ! -f "$HOME_DIR/config.xml" ]; then
  mkdir -p "$HOME_DIR"
  cp "$KIT_DIR/config.xml" "$HOME_DIR/config.xml"
  cp -R "$KIT_DIR/seed/Dokumente" "$HOME_DIR/Dokumente"
  touch "$HOME_DIR/Dokumente/.stfolder"
fi
export STNODEFAULTFOLDER=1 STNOUPGRADE=1 STNORESTART=1 HOME="$HOME_DIR"
exec syncthing serve --home="$HOME_DIR" --no-browser --no-restart --no-upgrade --logflags=0
