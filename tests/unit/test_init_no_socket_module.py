"""The adapter's Init path leaves out socket.py (its enums, selectors, math, array) and urllib.parse (ipaddress
and more): http1 uses the _socket C module and events/url.py quotes query components itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ON_THE_PATH = ("reweb.cli", "reweb.config", "reweb.log", "reweb.runtime", "reweb.adapter", "reweb.app",
               "reweb.extension", "reweb.events", "reweb.http1", "reweb.upstream", "reweb.responders")
KEPT_OUT = ("socket", "selectors", "urllib.parse", "ipaddress")


def test_init_path_imports_neither_socket_nor_urllib_parse() -> None:
    # -I -S: no site hooks (an editable install's finder imports pathlib, hence urllib.parse), as in the executable.
    code = ("import sys; sys.path.insert(0, sys.argv[1]); " + "; ".join(f"import {name}" for name in ON_THE_PATH)
            + "; print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-I", "-S", "-c", code, str(SRC)], check=True, capture_output=True,
                                text=True).stdout.split())
    assert "reweb.http1" in loaded and "_socket" in loaded  # the probe imported what it says
    assert sorted(name for name in KEPT_OUT if name in loaded) == []


def test_a_host_name_still_resolves_through_socket() -> None:
    # open_socket imports socket only for a name (getaddrinfo); a numeric address never needs it.
    import socket as real_socket

    from reweb import http1

    with real_socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        sock = http1.open_socket("localhost", port, 5.0)
        try:
            assert sock.getpeername()[1] == port
        finally:
            sock.close()
        numeric = http1.open_socket("127.0.0.1", port, 5.0)
        numeric.close()
