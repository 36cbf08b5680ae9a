#!/bin/bash
# Redmine 5.0 (Debian, Rails 6.1 on Ruby 3.1, Puma) for the suite, as a Lambda image would be built: the packages, a
# Redmine instance `lambda` whose config is the kit's and whose tmp/log/files point into /tmp, and a seed SQLite
# database (migrations, Redmine's default data, a project with issues) copied to /tmp at every cold start.
# Run by tests/apps/install.sh with KIT and APP_USER set; idempotent, quick once done.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
KIT=${KIT:-/opt/reweb-apps}
RM=$KIT/redmine
INSTANCE=/var/lib/redmine/lambda
if [ "$(dpkg-query -W -f='${Status}\n' redmine redmine-sqlite puma 2>/dev/null | grep -c 'install ok installed')" != 3 ]; then
  # The package's own database setup (dbconfig) is not used: the instance below has its own database.yml. debconf
  # refuses these answers while it does not know redmine's per-instance questions yet (a first install); then
  # dbconfig, non-interactive, writes the default instance's config and creates no database, which is as good.
  debconf-set-selections <<'SEL' 2>/dev/null || true
redmine redmine/instances/default/dbconfig-install boolean false
redmine redmine/instances/default/database-type select sqlite3
SEL
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redmine redmine-sqlite puma >/dev/null
fi
mkdir -p "$RM/config"
# Rails' secret_key_base, the same on every instance (it signs the session cookie).
[ -s "$RM/config/secret_key.txt" ] || { ruby -rsecurerandom -e 'print SecureRandom.hex(64)' > "$RM/config/secret_key.txt"; }
chmod 644 "$RM/config/secret_key.txt"
# The instance (REDMINE_INSTANCE=lambda): read-only config from the kit, everything written goes to /tmp.
mkdir -p "$INSTANCE"
ln -sfn "$RM/config" "$INSTANCE/config"
ln -sfn /tmp/redmine/tmp "$INSTANCE/tmp"
ln -sfn /tmp/redmine/log "$INSTANCE/log"
ln -sfn /tmp/redmine/files "$INSTANCE/files"
ln -sfn "$RM/additional_environment.rb" /usr/share/redmine/config/additional_environment.rb

if [ ! -s "$RM/seed/redmine.sqlite3" ]; then
  build=$(mktemp -d /tmp/redmine-build.XXXXXX)
  mkdir -p /tmp/redmine/tmp/cache /tmp/redmine/log /tmp/redmine/files
  (
    cd /usr/share/redmine
    export RAILS_ENV=production REDMINE_INSTANCE=lambda REDMINE_DB=$build/redmine.sqlite3 REDMINE_LANG=en
    rake -s db:migrate >/dev/null
    rake -s redmine:load_default_data >/dev/null
    REDMINE_ADMIN_PASSWORD=s3cret-Pass rails runner "$RM/seed.rb"
  )
  mkdir -p "$RM/seed"
  cp "$build/redmine.sqlite3" "$RM/seed/redmine.sqlite3"
  rm -rf "$build" /tmp/redmine
fi
chmod -R go+rX "$RM"
