"""The extension's registration in two halves (extension.Registration): the request goes out when init makes the
adapter, before the adapter's modules load; its answer is read after, so Lambda answers while they load."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from reweb import cli
from reweb.extension import Registration
from reweb.log import Log


class ExtensionsApi:
    """A loopback Extensions API: answers register, then holds event/next open."""

    def __init__(self, status: int = 200) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.status = status
        self.registered = threading.Event()
        self.requests: list[bytes] = []
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # closed by the test
            self._exchange()

    def _exchange(self) -> None:
        conn, _ = self.server.accept()
        self.conns.append(conn)
        conn.settimeout(10)
        data = b""
        while True:
            while b"\r\n\r\n" not in data or (data.startswith(b"POST") and not data.endswith(b"}")):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data)
            if data.startswith(b"POST /2020-01-01/extension/register "):
                self.registered.set()
                answer = b"{}"
                conn.sendall(b"HTTP/1.1 %d X\r\nLambda-Extension-Identifier: id-1\r\nContent-Length: %d\r\n\r\n%s"
                             % (self.status, len(answer), answer))
                data = b""
            else:
                return  # event/next: held open until the test ends

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.server.close()


@pytest.fixture
def api() -> Iterator[ExtensionsApi]:
    server = ExtensionsApi()
    yield server
    server.close()


def test_the_request_goes_out_before_finish_reads_the_answer(api: ExtensionsApi) -> None:
    registration = Registration(api.address, Log())
    assert api.registered.wait(5.0)  # sent by the constructor, nothing read yet
    assert registration.finish() is True
    assert api.requests[0].endswith(b'\r\n\r\n{"events":[]}')
    assert b"Lambda-Extension-Name: reweb\r\n" in api.requests[0]


def test_a_refusal_is_reported_by_finish(capsys: pytest.CaptureFixture[str]) -> None:
    server = ExtensionsApi(status=403)
    try:
        assert Registration(server.address, Log()).finish() is False
    finally:
        server.close()
    assert "the Extensions API refused reweb's registration" in capsys.readouterr().err


def test_nobody_listening_is_reported_by_finish(capsys: pytest.CaptureFixture[str]) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    registration = Registration(address, Log())
    assert capsys.readouterr().err == ""  # not yet: where the answer would be read
    assert registration.finish() is False
    assert "could not register as a Lambda extension" in capsys.readouterr().err


def test_init_sends_the_registration_before_it_makes_the_adapter(api: ExtensionsApi,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import reweb.adapter

    seen: dict[str, bool] = {}

    class Adapter:
        def __init__(self, *args: object) -> None:
            seen["registration sent"] = api.registered.wait(5.0)

    monkeypatch.setattr(reweb.adapter, "Adapter", Adapter)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    init = cli._Init([])
    init.lambda_address = init.address = api.address
    monkeypatch.setattr(init, "settings", object(), raising=False)
    monkeypatch.setattr(init, "app", object(), raising=False)
    init.make_adapter()
    assert seen == {"registration sent": True}
