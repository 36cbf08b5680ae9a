#!/bin/sh
# Try reweb without AWS: Datasette on a bundled SQLite file, behind an emulated API Gateway (HTTP API)
# and Lambda. Installs what it needs into its own venv (.venv at the repository root, or $REWEB_DEMO_VENV;
# never the system Python), then serves http://127.0.0.1:3000 until Ctrl-C.
#   demo/run.sh                      # HTTP API in front
#   demo/run.sh --source alb         # or any other source; extra flags go to `reweb local`
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-python3}
venv=${REWEB_DEMO_VENV:-$root/.venv}
port=${REWEB_DEMO_PORT:-3000}

if [ ! -x "$venv/bin/python" ]; then
  echo "demo: creating a virtual environment in $venv (the system Python is left alone)"
  if ! "$python" -m venv "$venv"; then
    echo "demo: '$python -m venv' failed; on Debian or Ubuntu: sudo apt install python3-venv" >&2
    rm -rf "$venv"
    exit 1
  fi
fi
echo "demo: installing Datasette and reweb (this checkout, with the emulator) into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "datasette>=0.64" -e "$root[local]"

# Immutable mode (-i): the database is only read, so concurrent instances never contend for it.
# Port 8080 in every instance: each has a network of its own, as on Lambda.
echo "demo: serving http://127.0.0.1:$port (Ctrl-C stops; remove $venv to undo the install)"
exec "$venv/bin/python" -m reweb.local --port "$port" --app-port 8080 "$@" -- \
  "$venv/bin/python" -m datasette serve -i "$here/demo.db" -h 127.0.0.1 -p 8080 --setting base_url /
