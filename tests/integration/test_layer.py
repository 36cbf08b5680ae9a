"""The Lambda layer (dist/reweb-layer-x86_64.zip, written by scripts/build) in a managed runtime's layout, under
the real RIE: the layer unpacked as /opt, the function's code as LAMBDA_TASK_ROOT, AWS_LAMBDA_EXEC_WRAPPER set to
/opt/bootstrap, and the handler naming the script that starts the web app, as with AWS Lambda Web Adapter's
layer. (On Lambda the wrapper is given the managed runtime's own command, which it ignores.)"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration
LAYER = Path(__file__).resolve().parents[2] / "dist" / "reweb-layer-x86_64.zip"
EVENT = {"version": "2.0", "rawPath": "/hello.txt", "rawQueryString": "", "headers": {"host": "x"},
         "requestContext": {"http": {"method": "GET", "path": "/hello.txt"}, "stage": "$default"}}


@pytest.fixture(scope="module")
def layer() -> Path:
    if not LAYER.exists():
        if os.environ.get("REWEB_REQUIRE_APPS"):
            pytest.fail(f"{LAYER} is missing: CI runs `bash scripts/build` first")
        pytest.skip(f"{LAYER} is missing: run `bash scripts/build`")
    return LAYER


def managed_runtime(tmp_path: Path, layer: Path, handler: str, script: str | None, mode: int = 0o755) -> RieFunction:
    opt, task = tmp_path / "opt", tmp_path / "task"
    with zipfile.ZipFile(layer) as zf:
        for info in zf.infolist():  # extract keeping the mode, as Lambda does
            target = opt / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod(info.external_attr >> 16 & 0o777)
    task.mkdir()
    (task / "hello.txt").write_text("hello from the function's code\n")
    if script is not None:
        (task / "run.sh").write_text(script)
        (task / "run.sh").chmod(mode)
    return RieFunction({"AWS_LAMBDA_EXEC_WRAPPER": str(opt / "bootstrap"), "LAMBDA_TASK_ROOT": str(task),
                        "_HANDLER": handler, "REWEB_APPLICATION_PORT": str(free_port())},
                       # The RIE passes its last argument on as _HANDLER, as Lambda sets it from the handler.
                       command=[str(opt / "bootstrap"), *([handler] if handler else [])])


def test_a_layer_whose_executable_is_unusable_says_so(tmp_path: Path, layer: Path) -> None:
    function = managed_runtime(tmp_path, layer, "run.sh", "#!/bin/sh\nexit 0\n")
    (tmp_path / "opt" / "reweb").chmod(0o644)
    try:
        function.invoke_raw(json.dumps(EVENT).encode(), timeout=20)
        expected = "reweb layer: " + str(tmp_path / "opt" / "reweb") + " is missing or not executable"
        assert expected in function.logs_with(expected), function.logs()
    finally:
        function.close()


def test_the_handler_script_is_the_app(tmp_path: Path, layer: Path) -> None:
    script = f'#!/bin/sh\ncd "$LAMBDA_TASK_ROOT" && exec {sys.executable} -m http.server "$PORT" --bind 127.0.0.1\n'
    function = managed_runtime(tmp_path, layer, "run.sh", script)
    try:
        result = function.invoke(EVENT)
        assert result["statusCode"] == 200, function.logs()
        assert result["body"] == "hello from the function's code\n"
        assert "Runtime.ExitError" not in function.logs()
    finally:
        function.close()


@pytest.mark.parametrize(("handler", "script", "mode", "expected"), [
    ("run.sh", "#!/bin/sh\nexit 0\n", 0o644, "run.sh is not executable"),
    ("missing.sh", None, 0o755, "no such command"),
    ("", None, 0o755, "reweb layer: no handler"),
])
def test_a_bad_handler_is_one_clear_line(tmp_path: Path, layer: Path, handler: str, script: str | None, mode: int,
                                         expected: str) -> None:
    function = managed_runtime(tmp_path, layer, handler, script, mode)
    try:
        function.invoke_raw(json.dumps(EVENT).encode(), timeout=20)
        assert expected in function.logs_with(expected), function.logs()
    finally:
        function.close()
