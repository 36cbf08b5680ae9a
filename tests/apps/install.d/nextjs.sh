#!/bin/bash
# Next.js 16 (App Router) from npm: `npm ci` and `next build` into the kit at install time, as an image build does;
# at run time `next start` only reads the build. The sources are its guide's, docs/apps/nextjs (package-lock.json pins the
# tree). Idempotent: npm ci runs when the lock file changed, next build when any source changed. Run as root.
set -euo pipefail
KIT=${KIT:-/opt/reweb-apps}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=$(cd "$HERE/../../docs/apps/nextjs" && pwd)
APP=$KIT/nextjs
export NEXT_TELEMETRY_DISABLED=1
install -d -m 755 "$APP" "$APP/public"
cp -a "$SRC/." "$APP/"
[ -f "$KIT/testdata/random.bin" ] || /usr/bin/python3 "$HERE/kit/testdata/mkseed.py" "$KIT"
# Binaries served from public/ (Range, HEAD, ETag by next start); generated, so not in git.
cp "$KIT/testdata/random.bin" "$APP/public/archive.bin"
cp "$KIT/testdata/test.png" "$APP/public/cover.png"
cd "$APP"
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.reweb-lock 2>/dev/null)" != "$lock" ]; then
  npm ci --no-fund --no-audit --no-update-notifier --loglevel=error >/dev/null
  echo "$lock" > node_modules/.reweb-lock
fi
src=$(cd "$SRC" && find . -type f -not -name next-env.d.ts -not -name tsconfig.json -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat .next/.reweb-src 2>/dev/null)" != "$src" ]; then
  rm -rf .next
  npx --no-install next build >/dev/null
  rm -rf .next/cache  # the build's own cache: not needed to serve, and the app could not write it anyway
  echo "$src" > .next/.reweb-src
fi
chmod -R go+rX-w "$APP"
