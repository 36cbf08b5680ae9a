"""reweb as an internal Lambda extension, for one reason: Lambda sends SIGTERM at shutdown (and waits up to
500 ms) only to functions with a registered extension; without one the sandbox is simply killed, and the app
never hears of it. Registered with no events: its only other duty is to block on event/next, which tells
Lambda that init may finish (a registered extension that never calls it holds init until its timeout)."""

from __future__ import annotations

from .http1 import Connection, request_head
from .log import Log
from .threads import start_daemon

API = "/2020-01-01/extension"
NAME = "reweb"


def register(address: str, log: Log) -> bool:
    """Register and start the thread that blocks on event/next. False (logged) if the API refused."""
    return Registration(address, log).finish()


class Registration:
    """The registration in two halves, so that init does other work while Lambda answers: the request is sent
    when this is made (connect and send: no wait), the answer read by finish()."""

    def __init__(self, address: str, log: Log) -> None:
        self.address, self.log = address, log
        host, _, port = address.rpartition(":")
        self.conn = Connection(host.strip("[]") or "127.0.0.1", int(port))
        self.failure: Exception | None = None
        body = b'{"events":[]}'
        try:
            self.conn.connect()
            self.conn.send(request_head("POST", f"{API}/register", [("Host", address), ("Lambda-Extension-Name", NAME),
                                                                   ("Content-Type", "application/json")],
                                        len(body)), body)
        except Exception as exc:  # reported by finish(), where a failed answer would be
            self.failure = exc

    def finish(self) -> bool:
        """Read the answer; start the thread that blocks on event/next. False (logged) if the API refused."""
        conn, log = self.conn, self.log
        try:
            if self.failure is not None:
                raise self.failure
            head = conn.read_head()
            conn.read_body(head, 1 << 20)
        except OSError as exc:  # includes the http1 errors' ConnectionError family
            conn.close()
            log.warn("could not register as a Lambda extension: the app will get no SIGTERM at shutdown",
                     reason=str(exc))
            return False
        except Exception as exc:
            conn.close()
            log.warn("could not register as a Lambda extension: the app will get no SIGTERM at shutdown",
                     reason=f"{type(exc).__name__}: {exc}")
            return False
        identifier = head.get("lambda-extension-identifier")
        if head.status != 200 or not identifier:
            conn.close()
            log.warn("the Extensions API refused reweb's registration: the app will get no SIGTERM at shutdown",
                     status=head.status)
            return False
        request = request_head("GET", f"{API}/event/next", [("Host", self.address),
                                                            ("Lambda-Extension-Identifier", identifier)])
        start_daemon(_wait_for_events, conn, request, name="reweb-extension")
        return True


def _wait_for_events(conn: Connection, request: bytes) -> None:
    """Blocks on event/next for the life of the sandbox (no events were asked for; SHUTDOWN comes as SIGTERM)."""
    try:
        while True:
            conn.send(request)
            head = conn.read_head()
            conn.read_body(head, 1 << 20)
            if head.status != 200:
                break
    except Exception:  # the sandbox is going away; nothing to report to anyone
        pass
    conn.close()
