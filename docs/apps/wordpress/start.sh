#!/bin/sh
# Cold start of WordPress on Lambda: a writable wp-content under /tmp (themes, uploads), then Apache + mod_php in the
# foreground (prefork, no User directive: it runs as Lambda's unprivileged user). SIGTERM stops Apache and its children.
set -eu
export WP_PORT="${WP_PORT:-8003}"
rm -rf /tmp/apache-wp /tmp/wp-content
mkdir -p /tmp/apache-wp
cp -r /var/lib/wordpress/wp-content /tmp/wp-content
exec apache2 -f "${WP_HTTPD_CONF:-/etc/apache2/lambda.conf}" -DFOREGROUND
