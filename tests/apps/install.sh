#!/bin/bash
# Installs the real applications of the compatibility suite (tests/apps) and their build-time configuration:
#
# Idempotent and quick on a second run: apt-get runs only when a package is missing, the Python venvs and npm trees
# are kept in the kit folder (/opt/reweb-apps) and rebuilt only when missing. Run as root (CI runs it as root).
#
# What the apps get, as on Lambda:
#   * the kit folder /opt/reweb-apps holds code, configs and seed data, owned by root, read-only for the apps
#     (the Lambda image's /var/task);
#   * each app runs as an unprivileged system user and writes only under /tmp. That user is not made here: each
#     test run makes its own (`reweb-app-<pid>`, tests/apps/appkit.py) and removes it at the end, so another
#     program's processes or files under a shared name never count as the run's.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
HERE=$(cd "$(dirname "$0")" && pwd)
KIT=/opt/reweb-apps
T0=$(date +%s)
log() { printf '[install %3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

# ---------------------------------------------------------------- system packages
PKGS=(postgresql mariadb-server mariadb-client
  apache2 libapache2-mod-php php-cli php-fpm php-pgsql php-mysql php-sqlite3 php-gd php-xml php-mbstring php-curl
  php-intl php-zip nginx-light wordpress wordpress-theme-twentytwentythree dokuwiki adminer
  prometheus hledger-web caddy curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  # Keep package scripts from starting system services (ports 80, 3306, 9090...) during the install.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
else
  log "system packages already installed"
fi
command -v node >/dev/null && command -v npm >/dev/null || { log "apt-get install nodejs npm"; apt-get update -qq; apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }

# ---------------------------------------------------------------- the kit (code, configs, seeds): root-owned, read-only
install -d -m 755 "$KIT" "$KIT/py" "$KIT/node" "$KIT/testdata"
# Project-owned configs are copied on every run so that a change in the repository reaches the kit. The apps' own
# code and configs have one home, their guide's folder (docs/apps/<guide>/, the build context of the guide's
# Dockerfile), copied in under the suite's names; then tests/apps/kit on top: what is test-only, and the suite's own
# version of a file where it has to differ (the reason at the file's head). install.d/dokuwiki, fastapi, nextjs, syncthing
# and tomcat copy their own guide's folder.
DOCS=$(cd "$HERE/../../docs/apps" && pwd)
from_guide() { # from_guide GUIDE_DIR KIT_DIR: the folder's contents, over what the kit already has there
  install -d -m 755 "$KIT/$2" && cp -a "$DOCS/$1/." "$KIT/$2/"
}
from_guide caddy caddy
from_guide django django_site
from_guide hledger-web hledger
from_guide mediawiki mediawiki
from_guide node-red node-red
from_guide phpmyadmin phpmyadmin
from_guide prometheus prometheus
from_guide redmine/redmine redmine
from_guide wordpress wordpress
cp -a "$HERE/kit/." "$KIT/"
chmod -R u+rwX,go+rX-w "$KIT"

# ---------------------------------------------------------------- generated seed files (no large binaries in git)
log "generated seed files"
/usr/bin/python3 "$KIT/testdata/mkseed.py" "$KIT"

# ---------------------------------------------------------------- Python apps (Debian's python so the app user can run them)
venv() { # venv NAME CHECK_BIN PKG...
  local name=$1 check=$2; shift 2
  if [ ! -x "$KIT/py/$name/bin/$check" ]; then
    log "pip install $*"
    rm -rf "$KIT/py/$name"
    /usr/bin/python3 -m venv "$KIT/py/$name"
    "$KIT/py/$name/bin/pip" install -q --disable-pip-version-check "$@" 2> >(grep -v 'is ignored' >&2)
  fi
}
venv django gunicorn 'django>=5.2,<5.3' gunicorn whitenoise 'psycopg[binary]'
venv datasette datasette 'datasette>=0.65,<0.66'

# ---------------------------------------------------------------- Node apps
npm_app() { # npm_app DIR PKG
  local dir=$KIT/node/$1 pkg=$2
  if [ ! -d "$dir/node_modules/${pkg%@*}" ]; then
    log "npm install $pkg"
    mkdir -p "$dir" && (cd "$dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
      && npm install -s --no-fund --no-audit --no-update-notifier "$pkg" >/dev/null)
  fi
}
npm_app json-server json-server@0.17.4
npm_app node-red node-red@4

# ---------------------------------------------------------------- build-time steps of each app
# Django: collect the admin's static files (WhiteNoise compressed manifest: .gz files made at build time).
(cd "$KIT/django_site" && "$KIT/py/django/bin/python" manage.py collectstatic --noinput -v0)

# WordPress: Debian's per-host config mechanism; content dir and uploads are copied to /tmp at cold start.
install -m 644 "$KIT/wordpress/config-default.php" /etc/wordpress/config-default.php

# More apps: each has its own installer in install.d/ (same rules: idempotent, root, kit under $KIT, writes in /tmp).
for extra in "$HERE"/install.d/*.sh; do
  [ -e "$extra" ] || continue
  log "install.d/$(basename "$extra")"
  KIT="$KIT" bash "$extra"
done

date -u +%FT%TZ > "$KIT/.installed"
chown -R root:root "$KIT"
chmod -R go+rX-w "$KIT"
log "done (kit in $KIT)"
