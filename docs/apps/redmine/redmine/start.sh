#!/bin/sh
# Cold start of Redmine on Lambda: the seed database (made at build time) and empty tmp/log/files directories in
# /tmp, then Puma in the foreground (exec, so reweb's SIGTERM reaches it). Runs as the unprivileged app user and
# writes only under /tmp.
set -eu
KIT=${REDMINE_KIT:-/opt/reweb-apps/redmine}
PORT=${REDMINE_PORT:-8033}
rm -rf /tmp/redmine
mkdir -p /tmp/redmine/db /tmp/redmine/tmp/cache /tmp/redmine/log /tmp/redmine/files
cp "$KIT/seed/redmine.sqlite3" /tmp/redmine/db/
cd /usr/share/redmine
export RAILS_ENV=production REDMINE_INSTANCE=lambda
exec puma --environment production --bind "tcp://127.0.0.1:$PORT" --threads 1:4 --workers 0 config.ru
