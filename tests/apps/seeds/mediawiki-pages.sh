#!/bin/bash
# The suite's two seed pages of MediaWiki, written by its maintenance scripts into the wiki whose run directory is
# $MW_RUN_DIR (LocalSettings.php: data/, cache/...): two pages with non-ASCII titles linking each other, then the
# jobs their edits queued (link tables, cache invalidation) and an empty object cache, so no page is served as
# rendered before its link target existed. Run by install.d/mediawiki.sh into the seed wiki it builds, and by
# tests/images/test_guides.py inside the running guide image (its wiki starts empty), read from standard input.
set -euo pipefail
: "${MW_RUN_DIR:?MW_RUN_DIR: the run directory of the wiki}"
maint=/usr/share/mediawiki/maintenance
printf "Привет, мир! [[Grüße ✓|zurück]]\n\n[[Category:Seed]]\n" | php "$maint/edit.php" -u Admin -s 'seed' 'Привет мир' >/dev/null
printf "Grüße aus '''Lambda''' ✓. Siehe [[Привет мир]].\n" | php "$maint/edit.php" -u Admin -s 'seed' 'Grüße ✓' >/dev/null
php "$maint/runJobs.php" --quiet >/dev/null
php -r '$db = new PDO("sqlite:" . $argv[1]); $db->exec("DELETE FROM objectcache");' "$MW_RUN_DIR/data/wikicache.sqlite"
