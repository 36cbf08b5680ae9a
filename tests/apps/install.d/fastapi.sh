#!/bin/bash
# FastAPI (Python, ASGI on uvicorn): a venv in the kit from PyPI; the app's code is its guide's, docs/apps/fastapi.
# Idempotent: the venv is rebuilt only when uvicorn is missing from it. Run as root (install.sh sets KIT).
set -euo pipefail
KIT=${KIT:-/opt/reweb-apps}
HERE=$(cd "$(dirname "$0")/.." && pwd)
VENV=$KIT/py/fastapi
install -d -m 755 "$KIT/py"
install -d -m 755 "$KIT/fastapi" && cp -a "$HERE/../../docs/apps/fastapi/." "$KIT/fastapi/"
if [ ! -x "$VENV/bin/uvicorn" ]; then
  rm -rf "$VENV"
  # Debian's python, not the machine's pyenv one under /root: the app user must be able to run it.
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'fastapi>=0.115,<1' 'uvicorn>=0.30,<1' \
    'python-multipart>=0.0.9' 2> >(grep -v 'is ignored' >&2)
fi
chmod -R go+rX-w "$KIT/fastapi" "$VENV"
