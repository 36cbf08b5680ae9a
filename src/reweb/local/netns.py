"""A network of its own for each emulated instance, as on Lambda: a new network namespace with only loopback,
so every instance's app can listen on the same fixed port (8080, or whatever its own config says).

The namespace is made by a short-lived thread (namespaces belong to threads: the emulator's own stays on the
host's network), which also opens the instance's Runtime API socket inside it; the instance's process tree is
then started inside with setns(2). Needs CAP_SYS_ADMIN (root); elsewhere `available()` says why not.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable

from .nsthread import Probe, in_own_thread

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


class Unavailable(Exception):
    """This host cannot give instances a network of their own; the message says why."""


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise Unavailable(f"{what}: {os.strerror(errno)}")


class Namespace:
    """One instance's network: the namespace (held open by a file descriptor) and its Runtime API socket."""

    def __init__(self, fd: int, runtime_api: socket.socket) -> None:
        self.fd = fd
        self.runtime_api = runtime_api

    def enter(self) -> Callable[[], None]:
        """A preexec function for the instance's process: join this namespace before exec."""
        fd = self.fd
        setns = _libc.setns

        def join() -> None:
            if setns(fd, CLONE_NEWNET) != 0:
                os._exit(126)

        return join

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.runtime_api.close()


def create() -> Namespace:
    """A new namespace with loopback up and a listening socket on 127.0.0.1 inside it. Raises Unavailable."""

    def inside() -> Namespace:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
            request = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(control, _SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(control, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))
        server = socket.create_server(("127.0.0.1", 0))
        fd = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        return Namespace(fd, server)

    return in_own_thread("reweb-local-netns", inside, Unavailable)


#: "" when instances can have networks of their own here, else why not (checked once).
available = Probe(lambda: create().close(), Unavailable)
