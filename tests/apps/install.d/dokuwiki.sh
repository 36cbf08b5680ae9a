#!/bin/bash
# DokuWiki for the suite, as the guide's image has it (docs/apps/dokuwiki.md): Debian's package with savedir and the
# ACL under /tmp, the guide's start script and configs in the kit, and a seed (copied to /tmp at each cold start) with
# one ACL, one admin user and one login cookie salt, made here once per kit as the guide's Dockerfile makes it at
# build time: every instance of the app then reads the same salt, so a login made on one holds on the others
# (DokuWiki would make a salt per instance at first use otherwise). DOKUWIKI_COOKIE_SALT in the app's environment
# replaces it at start (the guide's start.sh).
# Run by tests/apps/install.sh with KIT set (idempotent); it also installs this one app alone, as root:
# `bash tests/apps/install.d/dokuwiki.sh`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
KIT=${KIT:-/opt/reweb-apps}
HERE=$(cd "$(dirname "$0")/.." && pwd)
if ! dpkg-query -W -f='${Status}' dokuwiki 2>/dev/null | grep -q 'install ok installed'; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends dokuwiki nginx-light php-fpm php-cli \
    php-gd php-xml php-mbstring >/dev/null
fi
install -d -m 755 "$KIT/dokuwiki" && cp -a "$HERE/../../docs/apps/dokuwiki/." "$KIT/dokuwiki/"
if ! grep -q "savedir'\] = '/tmp/dokuwiki/data'" /etc/dokuwiki/local.php; then
  cat >> /etc/dokuwiki/local.php <<'PHP'
$conf['savedir'] = '/tmp/dokuwiki/data';
$conf['title'] = 'Lambda DokuWiki';
$conf['userewrite'] = 0;
$conf['fnencode'] = 'url';
PHP
fi
ln -sfn /tmp/dokuwiki/acl/acl.auth.php /etc/dokuwiki/acl.auth.php
ln -sfn /tmp/dokuwiki/acl/users.auth.php /etc/dokuwiki/users.auth.php
seed=$KIT/dokuwiki/seed
if [ ! -d "$seed/data" ]; then
  mkdir -p "$seed/acl" && cp -a /var/lib/dokuwiki/data "$seed/data"
  printf '*\t@ALL\t1\n*\t@user\t8\n' > "$seed/acl/acl.auth.php"
  printf 'admin:%s:Wiki Admin:admin@example.com:admin,user\n' \
    "$(php -r 'echo password_hash("s3cret-Pass", PASSWORD_BCRYPT);')" > "$seed/acl/users.auth.php"
fi
# The salt: kept once made (a new one would log out every session of a running test), added to an older seed.
salt=$seed/data/meta/_htcookiesalt2
[ -s "$salt" ] || php -r 'echo bin2hex(random_bytes(64));' > "$salt"
chown -R root:root "$KIT/dokuwiki"
chmod -R u+rwX,go+rX-w "$KIT/dokuwiki"
