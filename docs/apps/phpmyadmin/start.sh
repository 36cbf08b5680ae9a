#!/bin/sh
# Cold start of phpMyAdmin on Lambda: its /tmp directories, then PHP's built-in server in the foreground (exec, so
# reweb's SIGTERM reaches PHP directly). Runs as the unprivileged app user; writes only under /tmp.
set -eu
PORT=${PMA_PORT:-8031}
mkdir -p /tmp/phpmyadmin/tmp /tmp/phpmyadmin/sessions
exec php -S "127.0.0.1:$PORT" -t /usr/share/phpmyadmin \
  -d session.save_path=/tmp/phpmyadmin/sessions -d upload_tmp_dir=/tmp/phpmyadmin/tmp \
  -d sys_temp_dir=/tmp/phpmyadmin/tmp -d upload_max_filesize=10M -d post_max_size=12M -d memory_limit=256M
