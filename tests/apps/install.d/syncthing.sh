#!/bin/bash
# Syncthing (Go) from Debian: only the package; its home (config.xml, keys, database) is made under /tmp at each
# cold start from its guide's docs/apps/syncthing/config.xml. Idempotent. Run as root (install.sh sets KIT).
set -euo pipefail
KIT=${KIT:-/opt/reweb-apps}
HERE=$(cd "$(dirname "$0")/.." && pwd)
if ! dpkg-query -W -f='${Status}' syncthing 2>/dev/null | grep -q 'install ok installed'; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # The package starts no service: it ships only systemd units (syncthing@.service, a user unit), nothing in init.d.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends syncthing >/dev/null
fi
install -d -m 755 "$KIT/syncthing" && cp -a "$HERE/../../docs/apps/syncthing/." "$KIT/syncthing/"
chmod -R go+rX-w "$KIT/syncthing"
