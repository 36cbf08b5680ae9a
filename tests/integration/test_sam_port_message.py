"""Under `sam local start-api` the emulator itself listens on 8080 in the container: reweb's init error then says
what to do (AWS_SAM_LOCAL=true is what SAM CLI sets in the function's environment)."""

from __future__ import annotations

import socket
import sys

from tests.support.init_error import ECHO, InitErrorApi
from tests.support.rie import free_port


def _held(init_api: InitErrorApi, env: dict[str, str]) -> str:
    port = free_port()
    holder = socket.create_server(("127.0.0.1", port))
    try:
        code, error_type, message = init_api.init_error({"REWEB_APPLICATION_PORT": str(port),
                                                         "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}",
                                                         **env})
    finally:
        holder.close()
    assert code == 1 and error_type == "Runtime.AppStartError"
    assert f"port {port} is already in use by pid " in message
    return message


def test_port_taken_under_sam_local_says_what_to_do(init_api: InitErrorApi) -> None:
    message = _held(init_api, {"AWS_SAM_LOCAL": "true"})
    assert "sam local" in message
    assert "REWEB_APPLICATION_PORT" in message and "8080" in message


def test_port_taken_elsewhere_says_nothing_of_sam(init_api: InitErrorApi) -> None:
    assert "sam local" not in _held(init_api, {})
