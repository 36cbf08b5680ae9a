#!/bin/bash
# Cold start of MediaWiki on Lambda: copy the seed wiki (SQLite files made at build time) and an empty upload tree to
# /tmp, then php-fpm (FastCGI on a unix socket) and nginx in the foreground. Runs as the unprivileged app user and
# writes only under /tmp. SIGTERM stops both servers.
set -eu
KIT=${MW_KIT:-/opt/reweb-apps/mediawiki}
PORT=${MW_PORT:-8032}
rm -rf /tmp/mediawiki
mkdir -p /tmp/mediawiki/run/sessions /tmp/mediawiki/cache /tmp/mediawiki/tmp /tmp/mediawiki/images
cp -r "$KIT/seed/data" /tmp/mediawiki/data
sed "s/@PORT@/$PORT/" "$KIT/nginx.conf" > /tmp/mediawiki/run/nginx.conf
php-fpm8.2 -y "$KIT/php-fpm.conf" -c /etc/php/8.2/fpm/php.ini &
fpm=$!
nginx -e /tmp/mediawiki/run/nginx-error.log -c /tmp/mediawiki/run/nginx.conf &
web=$!
trap 'kill -TERM $web $fpm 2>/dev/null; wait; exit 0' TERM INT
wait -n $fpm $web || true
kill -TERM $web $fpm 2>/dev/null || true
wait
exit 1
