#!/bin/sh
# Try reweb without AWS: Datasette on a bundled SQLite file, behind an emulated API Gateway (HTTP API)
# and Lambda. Installs what it needs with pip, then serves http://127.0.0.1:3000 until Ctrl-C.
#   demo/run.sh                      # HTTP API in front
#   demo/run.sh --source alb         # or any other source; extra flags go to `reweb local`
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-python3}

"$python" -m pip install --quiet "datasette>=0.64" aiohttp
# reweb itself (with the aiohttp the emulator needs), from this checkout.
"$python" -m pip install --quiet -e "$root[local]"

# Immutable mode (-i): the database is only read, so concurrent instances never contend for it.
# Port 8080 in every instance: each has a network of its own, as on Lambda.
exec "$python" -m reweb.local --port 3000 --app-port 8080 "$@" -- \
  "$python" -m datasette serve -i "$here/demo.db" -h 127.0.0.1 -p 8080 --setting base_url /
