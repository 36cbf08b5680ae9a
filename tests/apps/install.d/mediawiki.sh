#!/bin/bash
# MediaWiki 1.39 (Debian) for the suite, installed as a Lambda image would be built: the package, LocalSettings.php
# from the kit, a seed wiki made by MediaWiki's own maintenance installer (SQLite, copied to /tmp at every cold start)
# and the English localisation cache built into the kit (read-only at run time). Run by tests/apps/install.sh with
# KIT and APP_USER set; idempotent, quick once done.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
KIT=${KIT:-/opt/reweb-apps}
MW=$KIT/mediawiki
if ! dpkg-query -W -f='${Status}' mediawiki 2>/dev/null | grep -q 'install ok installed'; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends mediawiki php-fpm php-sqlite3 \
    php-intl php-mbstring php-xml nginx-light >/dev/null
fi
mkdir -p "$MW"
# Keys shared by every instance (LocalSettings.php prefers $MW_SECRET_KEY).
[ -s "$MW/secret-key" ] || { php -r 'echo bin2hex(random_bytes(32));' > "$MW/secret-key"; chmod 644 "$MW/secret-key"; }

# The seed pages' one home (tests/apps/kit, copied into the kit by install.sh); a seed made from other pages is remade.
PAGES=$MW/seed-pages.json
if [ ! -s "$MW/seed/data/my_wiki.sqlite" ] || [ ! -d "$MW/l10n" ] || ! cmp -s "$PAGES" "$MW/seed/pages.json"; then
  build=$(mktemp -d /tmp/mw-build.XXXXXX)
  # The installer refuses to run while a LocalSettings.php exists: it writes its own one aside, which is not used.
  rm -f /etc/mediawiki/LocalSettings.php
  mkdir -p "$build/conf" "$build/cache" "$build/tmp" "$build/images"
  php /usr/share/mediawiki/maintenance/install.php --dbtype sqlite --dbpath "$build/data" --dbname my_wiki \
    --confpath "$build/conf" --server http://localhost --scriptpath "" --lang en --pass 's3cret-Pass-123' \
    'Lambda Wiki' Admin >/dev/null
  ln -sfn "$MW/LocalSettings.php" /etc/mediawiki/LocalSettings.php
  export MW_KIT=$MW MW_RUN_DIR=$build
  rm -rf "$MW/l10n" && mkdir -p "$MW/l10n"
  # English only: the interface language is fixed ($wgLanguageCode); every language would add hundreds of MB.
  php /usr/share/mediawiki/maintenance/rebuildLocalisationCache.php --lang en --force --quiet
  # Real content: the pages of seed-pages.json (two with non-ASCII titles linking each other; test_app_mediawiki.py
  # makes the same ones in the guide's image through the API), in its order, then the jobs their edits queued (link
  # tables, cache invalidation) and an empty parser cache, so no page is served as rendered before its link target
  # existed.
  php -r '
    foreach (json_decode(file_get_contents($argv[1]), true, 8, JSON_THROW_ON_ERROR) as $page) {
      $edit = proc_open(["php", "/usr/share/mediawiki/maintenance/edit.php", "-u", "Admin", "-s", "seed",
                         $page["title"]], [["pipe", "r"], ["file", "/dev/null", "w"], STDERR], $pipes);
      fwrite($pipes[0], $page["text"]);
      fclose($pipes[0]);
      if (proc_close($edit) !== 0) { fwrite(STDERR, "edit.php failed: {$page["title"]}\n"); exit(1); }
    }' "$PAGES"
  php /usr/share/mediawiki/maintenance/runJobs.php --quiet >/dev/null
  php -r '$db = new PDO("sqlite:" . $argv[1]); $db->exec("DELETE FROM objectcache");' "$build/data/wikicache.sqlite"
  rm -rf "$MW/seed" && mkdir -p "$MW/seed/data"
  cp "$build"/data/*.sqlite "$MW/seed/data/"
  rm -f "$MW/seed/data/my_wiki_l10n_cache.sqlite"
  cp "$PAGES" "$MW/seed/pages.json"
  rm -rf "$build"
fi
ln -sfn "$MW/LocalSettings.php" /etc/mediawiki/LocalSettings.php
chmod -R go+rX "$MW"
