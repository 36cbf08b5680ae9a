"""The `answered` state in process: an instance whose runtime has answered but not yet asked for the next event
(its Invoke phase goes on until its /next). Every transition into and out of it, and what the pool does with a
request that arrives meanwhile, driven by the events themselves (the Runtime API's and the front door's calls), no
process started, no clock read by an assertion. The same rule through a real reweb local: test_answered_window.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from reweb.local import instances, procs
from reweb.local.instances import Instance, Pool, Throttled
from reweb.local.options import Options
from reweb.local.report import Logger
from reweb.local.runtime_api import Buffered, Errored, Invocation, Streamed

STREAM = "application/vnd.awslambda.http-integration-response"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "local.md"


def a_pool(concurrency: int) -> tuple[Pool, list[tuple[int, str, str]]]:
    """Lambda's rule (each instance on a network of its own): throttle past the limit, never queue."""
    pool = Pool(Options(app_command=["app"], concurrency=concurrency, freeze=False), Logger(io.StringIO()))
    pool.concurrency, pool.queue_when_full = concurrency, False
    told: list[tuple[int, str, str]] = []
    pool.watchers.append(lambda inst, was, event: told.append((inst.number, was, event)))
    return pool, told


async def turns(done: Callable[[], bool]) -> None:
    """Let the loop run until `done` (bounded: a hundred turns)."""
    for _ in range(100):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


def idle_instance(pool: Pool, number: int) -> Instance:
    inst = Instance(pool, number, "request")
    inst.state = "idle"
    pool.instances.append(inst)
    return inst


def answered_instance(pool: Pool) -> Instance:
    inst = Instance(pool, 1, "request")
    inst.state = "answered"
    pool.instances.append(inst)
    return inst


async def invoked(pool: Pool, number: int = 1) -> tuple[Instance, Invocation, asyncio.Future[Invocation]]:
    """An idle instance given an invocation its runtime has received (busy); the future is the runtime's
    outstanding call for more, made once the test calls next_invocation."""
    inst = idle_instance(pool, number)
    asking = asyncio.ensure_future(inst.next_invocation())
    await asyncio.sleep(0)  # the runtime waits for work
    assert await pool.acquire() is inst and inst.state == "busy"
    inv = Invocation(f"r{number}", b"{}", 0, "Root=1-0-0", "arn")
    inst.give(inv)
    assert await asking is inv
    return inst, inv, asking


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 10))  # bounded


# How an invocation gets its answer: (a stream begun first, the call that makes the answer whole).
ANSWERS: dict[str, tuple[bool, Callable[[Invocation], None]]] = {
    "buffered response": (False, lambda inv: inv.settle(Buffered(b"{}"))),  # POST /response
    "error": (False, lambda inv: inv.settle(Errored("Bad", "bad"))),  # POST /error, a crash, a timeout
    "end of a stream": (True, Invocation.finish),  # the runtime's terminating chunk
    "client has a streamed answer": (True, Invocation.deliver),  # the front door sent the last byte owed
}


@pytest.mark.parametrize("how", sorted(ANSWERS))
def test_an_answer_moves_busy_to_answered_once(how: str) -> None:
    async def go() -> None:
        pool, told = a_pool(1)
        inst, inv, _ = await invoked(pool)
        streamed, answer = ANSWERS[how]
        if streamed:
            inv.settle(Streamed(STREAM))
            assert inst.state == "busy"  # a stream begun is no answer yet
        answer(inv)
        assert inst.state == "answered" and told[-1] == (1, "busy", "answer")
        assert not inst.phase_over.is_set()
        inv.finish()  # the end of the stream after the client had it all, say: no second move
        inv.deliver()
        assert inst.state == "answered" and [e for _, _, e in told].count("answer") == 1

    run(go)


def test_the_runtimes_next_ends_the_window() -> None:
    async def go() -> None:
        pool, told = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        asking = asyncio.ensure_future(inst.next_invocation())  # its /next
        await turns(lambda: inst.state == "idle")
        assert told[-1] == (1, "answered", "done") and inst.phase_over.is_set()
        asking.cancel()

    run(go)


def test_next_without_an_answer_is_no_response_through_answered() -> None:
    async def go() -> None:
        pool, told = a_pool(1)
        inst, inv, _ = await invoked(pool)
        asking = asyncio.ensure_future(inst.next_invocation())  # /next, the invocation unanswered
        await turns(lambda: inst.state == "idle")
        outcome = inv.outcome.result()
        assert isinstance(outcome, Errored) and outcome.error_type == "Runtime.NoResponse"
        assert [e for _, _, e in told][-2:] == ["answer", "done"]
        asking.cancel()

    run(go)


def test_an_answered_instance_can_die() -> None:
    pool, told = a_pool(1)
    inst = answered_instance(pool)
    assert inst.die("runtime exited: exit status 1", "Runtime.ExitError")
    assert inst.state == "dead" and inst.phase_over.is_set() and pool.live == 0
    assert told == [(1, "answered", "die")]
    assert inst.death is not None and inst.death.was == "answered"


def test_at_the_limit_a_request_waits_for_the_answered_instances_next() -> None:
    """--concurrency 1: throttled while the one instance is busy; once it has answered, one request waits for its
    /next (a second one has nothing to wait for: throttled) and gets it, warm."""

    async def go() -> None:
        pool, _ = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Streamed(STREAM))
        with pytest.raises(Throttled):
            await pool.acquire()  # busy: Lambda's throttle
        inv.deliver()  # the client has the whole answer; the stream's end and the /next are still to come
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0)
        assert not waiting.done() and pool.live == 1  # in line for this instance: no throttle, no new instance
        with pytest.raises(Throttled):
            await pool.acquire()  # one request per answered instance
        inv.finish()
        assert not waiting.done()  # the end of the stream is not the end of the Invoke phase
        asking = asyncio.ensure_future(inst.next_invocation())  # its /next: idle, and given to the one in line
        assert await waiting is inst and inst.state == "busy" and pool.throttles == 2
        asking.cancel()

    run(go)


def test_with_room_a_request_in_the_window_starts_a_new_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the limit a request does not wait for an answered instance: Lambda has no environment available for
    it (the answered one is in its Invoke phase) and scales, so it gets a cold start of its own."""

    async def nothing(self: Instance) -> None:
        return None

    monkeypatch.setattr(Instance, "start", nothing)  # no process: the test moves the new instance itself

    async def go() -> None:
        pool, _ = a_pool(2)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        assert inst.state == "answered"
        waiting = asyncio.ensure_future(pool.acquire())
        await turns(lambda: pool.live == 2)
        new = pool.instances[1]
        assert new.state == "init" and not waiting.done() and not pool.waiters
        new.move("ready")  # its init done: served by the instance started for it
        assert await waiting is new and pool.instances[1].state == "busy" and inst.state == "answered"

    run(go)


def test_the_wait_is_bounded_by_the_answered_invocations_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance still answered at its invocation's deadline (and past the grace for its /next) is reset (Lambda's
    function timeout bounds the whole Invoke phase); the request waiting for it gets the room it frees: a cold
    start."""

    async def nothing(self: Instance) -> None:
        return None

    monkeypatch.setattr(Instance, "start", nothing)
    monkeypatch.setattr(instances, "NEXT_GRACE", 0.0)

    async def go() -> None:
        pool, _ = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()
        await pool._await_next(inst, inv, time.monotonic())  # the deadline has come: no /next
        assert inst.state == "dead" and inst.death is not None
        assert (inst.death.was, inst.death.error_type) == ("answered", "Sandbox.Timedout")
        assert inst.death.reason == "killed: no /next within the function timeout (30 s) after its answer"
        await turns(lambda: pool.live == 1)
        new = pool.instances[0]
        new.move("ready")
        assert await waiting is new and pool.throttles == 0

    run(go)


def test_a_next_just_past_the_deadline_within_the_grace_keeps_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer came in time and its /next after the deadline, within NEXT_GRACE of the answer (the emulator's own
    round trips): the Invoke phase ends there, nothing is killed. The grace is made an hour here, so that nothing
    depends on how quickly this test runs."""
    monkeypatch.setattr(instances, "NEXT_GRACE", 3600.0)

    async def go() -> None:
        pool, told = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        watch = asyncio.ensure_future(pool._await_next(inst, inv, time.monotonic() - 1))  # the deadline is past
        for _ in range(10):
            await asyncio.sleep(0)
        assert (watch.done(), inst.state) == (False, "answered")  # held within the grace: not reset
        asking = asyncio.ensure_future(inst.next_invocation())  # its /next, released now
        await asyncio.wait_for(watch, 5)
        assert inst.state == "idle" and inst.death is None and told[-1] == (1, "answered", "done")
        asking.cancel()

    run(go)


def test_a_next_held_beyond_the_grace_is_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, with the /next held past the grace: reset, as at the deadline."""
    monkeypatch.setattr(instances, "NEXT_GRACE", 0.01)

    async def go() -> None:
        pool, told = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        await asyncio.wait_for(pool._await_next(inst, inv, time.monotonic() - 1), 5)  # no /next comes
        assert inst.state == "dead" and inst.death is not None and told[-1] == (1, "answered", "die")
        assert (inst.death.was, inst.death.error_type) == ("answered", "Sandbox.Timedout")
        assert inst.death.reason == "killed: no /next within the function timeout (30 s) after its answer"

    run(go)


def test_the_grace_is_the_one_docs_local_states() -> None:
    section = DOCS.read_text().split("**Answered, not yet asking for more.**")[1].split("\n\n")[0]
    assert f"up to {instances.NEXT_GRACE:g} s after its answer" in " ".join(section.split())
    assert "NEXT_GRACE" in section


class Ended:
    """A runtime process that has exited (status 1) or, for _supervise, one that runs until it is killed."""

    pid = 1 << 30  # no process has it: nothing is signalled, nothing read (procs is replaced below)

    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode

    async def wait(self) -> int:
        return self.returncode or 0


def no_processes(monkeypatch: pytest.MonkeyPatch, rss_mib: int) -> list[int]:
    """What _supervise and _watch_exit do to processes, replaced: kills counted, memory as given."""
    kills: list[int] = []
    monkeypatch.setattr(Instance, "kill_now", lambda self: kills.append(self.number))
    monkeypatch.setattr(procs, "kill", lambda pid, pgid: None)
    monkeypatch.setattr(procs, "tree_rss_mib", lambda pid: rss_mib)
    monkeypatch.setattr(procs, "tree_peak_mib", lambda pid: rss_mib)
    return kills


@pytest.mark.parametrize("kill", ["function timeout", "over its memory"])
def test_a_killed_invocation_goes_busy_to_dead_never_through_answered(kill: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool ends an invocation it kills (the function timeout, the memory size) with an error for the client:
    that is no answer of the instance's, so watchers see no `answer` and the death says it was busy."""

    async def go() -> None:
        pool, told = a_pool(1)
        timed_out = kill == "function timeout"
        kills = no_processes(monkeypatch, 1 if timed_out else pool.opts.memory + 1)
        if timed_out:
            pool.opts = dataclasses.replace(pool.opts, timeout=0.05)
        inst, inv, _ = await invoked(pool)
        inst.proc = Ended(None)  # type: ignore[assignment]
        await asyncio.wait_for(pool._supervise(inst, inv), 10)  # nobody answers: killed
        outcome = inv.outcome.result()
        assert isinstance(outcome, Errored) and kills == [1]
        assert "answer" not in [e for _, _, e in told] and told[-1] == (1, "busy", "die")
        assert inst.death is not None
        if timed_out:
            assert outcome.error_type == "Sandbox.Timedout"
            assert (inst.death.was, inst.death.reason) == ("busy", "killed: function timeout")
        else:
            assert outcome.error_type == "Runtime.OutOfMemory"
            assert (inst.death.was, inst.death.reason) == ("busy", f"killed: over {pool.opts.memory} MB")

    run(go)


def test_a_runtime_that_exits_mid_invocation_dies_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> None:
        pool, told = a_pool(1)
        no_processes(monkeypatch, 1)
        inst, inv, _ = await invoked(pool)
        inst.proc = Ended(1)  # type: ignore[assignment]
        await asyncio.wait_for(inst._watch_exit(), 10)
        outcome = inv.outcome.result()
        assert isinstance(outcome, Errored) and outcome.error_type == "Runtime.ExitError"
        assert "answer" not in [e for _, _, e in told] and told[-1] == (1, "busy", "die")
        assert inst.death is not None and (inst.death.was, inst.death.reason) == ("busy",
                                                                                 "runtime exited: exit status 1")

    run(go)


def test_a_next_before_the_deadline_ends_the_watch() -> None:
    async def go() -> None:
        pool, _ = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        watch = asyncio.ensure_future(pool._await_next(inst, inv, time.monotonic() + 3600))
        await asyncio.sleep(0)
        assert not watch.done()
        asking = asyncio.ensure_future(inst.next_invocation())
        await watch  # its /next: the Invoke phase is over, nothing killed
        assert inst.state == "idle" and inst.death is None
        asking.cancel()

    run(go)


def test_a_request_whose_answered_instance_dies_without_room_is_throttled() -> None:
    """The instance it waited for died while no new one may start (the pool backs off after an init failure): the
    request gets the throttle it was spared, not an endless wait."""

    async def go() -> None:
        pool, _ = a_pool(1)
        inst, inv, _ = await invoked(pool)
        inv.settle(Buffered(b"{}"))
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()
        pool._init_failed(Instance(pool, 9, "request"), "Runtime.ExitError")  # backing off from now on
        inst.die("runtime exited: exit status 1", "Runtime.ExitError")
        with pytest.raises(Throttled, match="the answered instance this request waited for died"):
            await waiting
        assert pool.throttles == 1

    run(go)
