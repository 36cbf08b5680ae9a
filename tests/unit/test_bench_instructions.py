"""bench/instructions.py against a model of what it counts: an adapter whose first start of a source compiles
that source (the bytecode cache is empty), as a new reweb@REV checkout's first start does. The per-invocation
figure must be the per-invocation cost, whatever the first start cost."""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


class Model:
    """Instruction costs of a model adapter; `compiled`: the sources whose bytecode is cached."""

    def __init__(self, start: int, compile_cost: int, per_invocation: int) -> None:
        self.start, self.compile_cost, self.per_invocation = start, compile_cost, per_invocation
        self.compiled: set[str] = set()

    def adapter(self) -> type:
        model = self

        class Batch:
            def __init__(self) -> None:
                self.errors: dict[int, str] = {}

        class FakeAdapter:
            def __init__(self, command: str, env: dict[str, str] | None = None, **_: Any) -> None:
                wrapper = Path(command)
                argv = shlex.split(wrapper.read_text().splitlines()[1]) if wrapper.is_file() else [command]
                out = next((a.split("=", 1)[1] for a in argv if a.startswith("--callgrind-out-file=")), None)
                self.out, self.source = out, argv[-1]
                self.count = model.start
                if self.source not in model.compiled:  # the first start of this source compiles it
                    self.count += model.compile_cost
                    model.compiled.add(self.source)

            def __enter__(self) -> FakeAdapter:
                return self

            def __exit__(self, *exc: object) -> None:
                if self.out is not None:  # under callgrind: its dump at exit
                    Path(self.out.replace("%p", "4242")).write_text(f"events: Ir\nsummary: {self.count}\n")

            def invoke(self, payloads: list[bytes], timeout: float = 0) -> tuple[Batch, float]:
                self.count += model.per_invocation * len(payloads)
                return Batch(), 0.0

        return FakeAdapter


@pytest.fixture
def instructions(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.delitem(sys.modules, "instructions", raising=False)
    return importlib.import_module("instructions")  # bench/ joins sys.path only here, at run time: mypy cannot see it


@pytest.mark.parametrize("adapter", ["reweb@abc1234", "reweb"])
def test_a_first_start_that_compiles_is_not_counted_as_invocations(
        instructions: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        adapter: str) -> None:
    model = Model(start=150_000_000, compile_cost=236_000_000, per_invocation=500_000)
    monkeypatch.setattr(instructions, "Adapter", model.adapter())
    monkeypatch.setattr(instructions, "adapter_argv", lambda name: ["model-adapter", name])
    monkeypatch.setattr(instructions.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(instructions, "source_state", lambda: (), raising=False)  # others may edit the tree
    monkeypatch.setattr(sys, "argv", ["instructions.py", "--adapter", adapter, "--n", "100"])
    assert instructions.main() == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(adapter + " "))
    counted = int(re.sub(r"[^\d-]", "", line.split()[-1]))
    assert counted == model.per_invocation, line
