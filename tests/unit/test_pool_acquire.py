"""Pool.acquire given up (the gateway timed out) at the moment an instance was handed over: the instance goes
back only if it is still busy with nothing (the state table has no release from any other state)."""

from __future__ import annotations

import asyncio
import io

import pytest

from reweb.local.instances import Instance, Pool, State
from reweb.local.options import Options
from reweb.local.report import Logger


async def _handed_over_then_cancelled(dies: bool) -> State:
    pool = Pool(Options(app_command=["app"], concurrency=1), Logger(io.StringIO()))
    pool.queue_when_full = True  # this machine's limit: the request waits in line
    inst = Instance(pool, 1, "request")
    inst.state = "busy"
    pool.instances.append(inst)
    request = asyncio.create_task(pool.acquire())
    for _ in range(10):  # bounded: a few loop turns until it is in line
        if pool.waiters:
            break
        await asyncio.sleep(0)
    assert len(pool.waiters) == 1
    inst.move("done")  # idle: handed to the one in line (assigned: busy again)
    assert inst.state == "busy" and not pool.waiters
    if dies:
        inst.move("die", "killed")  # before the request resumes
    request.cancel()  # the gateway gave up in that instant
    with pytest.raises(asyncio.CancelledError):
        await request
    return inst.state


def test_an_instance_handed_over_to_a_request_given_up_goes_back() -> None:
    assert asyncio.run(_handed_over_then_cancelled(dies=False)) in ("idle", "frozen")


def test_an_instance_that_died_meanwhile_is_not_released() -> None:
    """Before: IllegalMove("'release' in state 'dead'") out of acquire, a 500 from the aiohttp handler."""
    assert asyncio.run(_handed_over_then_cancelled(dies=True)) == "dead"
