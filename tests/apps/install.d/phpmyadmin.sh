#!/bin/bash
# phpMyAdmin 5.2 (Debian) for the suite: the package, without dbconfig (the suite's MariaDB is not running at install
# time and phpMyAdmin's own configuration storage is not needed), and a config file from the kit that keeps its
# temporary files and sessions in /tmp. Run by tests/apps/install.sh with KIT and APP_USER set; idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
KIT=${KIT:-/opt/reweb-apps}
if ! dpkg-query -W -f='${Status}' phpmyadmin 2>/dev/null | grep -q 'install ok installed'; then
  # No database setup and no web server reconfiguration by the package: the app is run by the suite's own command.
  debconf-set-selections <<'SEL'
phpmyadmin phpmyadmin/dbconfig-install boolean false
phpmyadmin phpmyadmin/reconfigure-webserver multiselect
SEL
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends phpmyadmin php-zip php-gd >/dev/null
fi
# Debian's config.inc.php reads every file in conf.d: this one includes the kit's settings (read-only for the app).
printf '<?php\nrequire \x27%s/phpmyadmin/config.php\x27;\n' "$KIT" > /etc/phpmyadmin/conf.d/reweb.php
chmod 644 /etc/phpmyadmin/conf.d/reweb.php
# A cookie-encryption key of exactly 32 bytes, made once per kit (config.php prefers $PMA_BLOWFISH_SECRET).
if [ ! -s "$KIT/phpmyadmin/secret.php" ]; then
  mkdir -p "$KIT/phpmyadmin"
  php -r 'echo "<?php\nreturn sodium_hex2bin(\x27" . bin2hex(random_bytes(32)) . "\x27);\n";' > "$KIT/phpmyadmin/secret.php"
  chmod 644 "$KIT/phpmyadmin/secret.php"
fi
# Debian's config.inc.php tries to read these two root:www-data files on every request and logs a failure when it
# cannot (the app user is not www-data). Neither holds a secret here: no dbconfig, and conf.d sets the key.
chmod 644 /etc/phpmyadmin/config-db.php /var/lib/phpmyadmin/blowfish_secret.inc.php
