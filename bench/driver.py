"""A fast fake Lambda Runtime API: serves /next from a pre-built list of events and notes when each
/response arrives. One thread per connection (one per adapter worker), blocking sockets, no parsing beyond
the request line and the two headers it needs, so the driver adds as little as possible to the numbers."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

from common import HOST
from wire import ChunkedStream, Closed, Reader, header, send_parts

_ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n'
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"


@dataclass
class Batch:
    """One run of invocations and what the driver saw of each."""

    number: int
    payloads: list[bytes]
    keep: frozenset[int]
    sent: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    first_byte: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    bodies: dict[int, bytes] = field(default_factory=dict)
    errors: dict[int, bytes] = field(default_factory=dict)
    remaining: int = 0
    finished: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        n = len(self.payloads)
        self.sent, self.done, self.first_byte, self.sizes = [0.0] * n, [0.0] * n, [0.0] * n, [0] * n
        self.remaining = n

    def latencies(self) -> list[float]:
        return [d - s for s, d in zip(self.sent, self.done, strict=True) if d]

    def ttfb(self) -> list[float]:
        return [f - s for s, f in zip(self.sent, self.first_byte, strict=True) if f]


class RuntimeDriver:
    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind((HOST, 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.queue: queue.SimpleQueue[tuple[Batch, int]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.batches: dict[int, Batch] = {}
        self.next_calls = 0
        self.waiting = 0
        self.first_next_at = 0.0  # time.monotonic() of the first /next (comparable across processes)
        self.init_errors: list[bytes] = []
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="driver-accept").start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    # -- the benchmark's side ---------------------------------------------------------------------------

    def run(self, payloads: list[bytes], keep: frozenset[int] = frozenset({0}), timeout: float = 120.0,
            workers: int = 1) -> Batch:
        """Queue the invocations, wait until every response came back (or timeout), then until `workers`
        adapter workers are blocked in /next again, so CPU read afterwards covers the whole batch."""
        with self.lock:
            batch = Batch(len(self.batches), payloads, keep)
            self.batches[batch.number] = batch
        for index in range(len(payloads)):
            self.queue.put((batch, index))
        batch.finished.wait(timeout)
        if not batch.finished.is_set():  # drain what was not taken so the next batch starts clean
            with contextlib.suppress(queue.Empty):
                while True:
                    self.queue.get_nowait()
        self.wait_idle(workers, 2.0)
        return batch

    def wait_idle(self, workers: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.waiting >= workers:
                return True
            time.sleep(0.0005)
        return False

    def wait_first_next(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.first_next_at:
            time.sleep(0.0005)
        return bool(self.first_next_at)

    def close(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()

    # -- the adapter's side -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="driver-conn").start()

    def _serve(self, sock: socket.socket) -> None:
        reader = Reader(sock)
        with contextlib.suppress(Closed, OSError):
            while not self.stopping.is_set():
                head = reader.head()
                line_end = head.find(b"\r\n")
                method, path, _ = head[:line_end if line_end > 0 else len(head)].split(b" ", 2)
                if method == b"GET" and path.endswith(b"/invocation/next"):
                    self._next(sock)
                    continue
                lower = head.lower()
                if path.endswith(b"/response"):
                    self._response(sock, reader, lower, path)
                elif path.endswith(b"/error"):
                    body, _ = reader.body(lower, keep=True)
                    self._error(path, body)
                    sock.sendall(_ACCEPTED)
                else:
                    reader.body(lower, keep=False)
                    sock.sendall(_NOT_FOUND)

    def _next(self, sock: socket.socket) -> None:
        with self.lock:
            self.next_calls += 1
            if not self.first_next_at:
                self.first_next_at = time.monotonic()
            self.waiting += 1
        try:
            while True:
                try:
                    batch, index = self.queue.get(timeout=0.25)
                    break
                except queue.Empty:
                    if self.stopping.is_set():
                        raise Closed("driver stopping") from None
        finally:
            with self.lock:
                self.waiting -= 1
        payload = batch.payloads[index]
        deadline = int(time.time() * 1000) + 300_000
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Lambda-Runtime-Aws-Request-Id: b{batch.number}-{index}\r\n"
                f"Lambda-Runtime-Deadline-Ms: {deadline}\r\n"
                f"Lambda-Runtime-Invoked-Function-Arn: {_ARN}\r\n"
                f"Lambda-Runtime-Trace-Id: Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Sampled=0\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        batch.sent[index] = time.perf_counter()
        send_parts(sock, [head, payload])

    def _locate(self, path: bytes) -> tuple[Batch, int] | None:
        parts = path.split(b"/")
        try:
            request_id = parts[parts.index(b"invocation") + 1].decode()
            number, index = request_id[1:].split("-")
            return self.batches[int(number)], int(index)
        except (ValueError, KeyError, IndexError):
            return None

    def _response(self, sock: socket.socket, reader: Reader, lower: bytes, path: bytes) -> None:
        found = self._locate(path)
        keep = found is not None and found[1] in found[0].keep
        first = 0.0
        if header(lower, b"lambda-runtime-function-response-mode") == b"streaming":
            stream = ChunkedStream(reader, keep_prefix=1 << 16 if keep else 0, prelude=True)
            stream.read_all()
            body, size, first = stream.prelude_json, stream.size, stream.first_byte_at
            if stream.trailers:
                body = body + b"\n--trailers--\n" + b"\n".join(stream.trailers)
        else:
            body, size = reader.body(lower, keep)
        done = time.perf_counter()
        sock.sendall(_ACCEPTED)
        if found is None:
            return
        batch, index = found
        batch.done[index], batch.sizes[index], batch.first_byte[index] = done, size, first
        if keep:
            batch.bodies[index] = body
        self._finish(batch)

    def _error(self, path: bytes, body: bytes) -> None:
        if path.endswith(b"/init/error"):
            self.init_errors.append(body)
            return
        found = self._locate(path)
        if found is not None:
            batch, index = found
            batch.done[index] = time.perf_counter()
            batch.errors[index] = body
            self._finish(batch)

    def _finish(self, batch: Batch) -> None:
        with self.lock:
            batch.remaining -= 1
            if batch.remaining == 0:
                batch.finished.set()
