#!/bin/bash
# Cold start of DokuWiki on Lambda: seed /tmp, then php-fpm (FastCGI on a unix socket) and nginx in the foreground.
# Runs as the unprivileged app user; writes only under /tmp. SIGTERM stops both servers.
set -eu
KIT=/opt/reweb-apps/dokuwiki
PORT=${DOKUWIKI_PORT:-8005}
rm -rf /tmp/dokuwiki
mkdir -p /tmp/dokuwiki/run/sessions
cp -r "$KIT/seed/data" "$KIT/seed/acl" /tmp/dokuwiki/
# DokuWiki signs and encrypts its login cookie (and makes its form tokens) with the salt in _htcookiesalt2, and makes
# a random one on first use if there is none: each instance would then refuse the others' logins. Every instance
# takes the same one: DOKUWIKI_COOKIE_SALT when set (e.g. from Secrets Manager through reweb's
# REWEB_SECRET_DOKUWIKI_COOKIE_SALT), else the one the image was built with (in the seed). Not passed on to the servers.
if [ -n "${DOKUWIKI_COOKIE_SALT:-}" ]; then
  printf '%s' "$DOKUWIKI_COOKIE_SALT" > /tmp/dokuwiki/data/meta/_htcookiesalt2
fi
unset DOKUWIKI_COOKIE_SALT
sed "s/@PORT@/$PORT/" "$KIT/nginx.conf" > /tmp/dokuwiki/run/nginx.conf
php-fpm8.2 -y "$KIT/php-fpm.conf" -c /etc/php/8.2/fpm/php.ini &
fpm=$!
nginx -e /tmp/dokuwiki/run/nginx-error.log -c /tmp/dokuwiki/run/nginx.conf &
web=$!
trap 'kill -TERM $web $fpm 2>/dev/null; wait; exit 0' TERM INT
wait -n $fpm $web || true
kill -TERM $web $fpm 2>/dev/null || true
wait
exit 1
