"""An instance's state machine and the pool's views of its instances, in process: no process is started, each
instance is moved through Instance.move as the pool and the Runtime API move it."""

from __future__ import annotations

import io
import itertools
from typing import get_args

import pytest

from reweb.local.instances import (
    BURST_CAPACITY,
    TRANSITIONS,
    Event,
    IllegalMove,
    Instance,
    Pool,
    ScalingRate,
    State,
)
from reweb.local.options import Options
from reweb.local.report import Logger

STATES: tuple[State, ...] = get_args(State)
EVENTS: tuple[Event, ...] = get_args(Event)
LIVE = [s for s in STATES if s != "dead"]

# The table as Lambda's lifecycle reads (init, SnapStart's snapshot and restore, invoke, freeze), written out.
EXPECTED: dict[tuple[State, Event], State] = {
    ("init", "ready"): "idle",
    ("init", "checkpoint"): "snapshot",
    ("snapshot", "restore"): "restoring",
    ("restoring", "ready"): "idle",
    ("idle", "freeze"): "frozen",
    ("idle", "assign"): "busy",
    ("frozen", "assign"): "busy",
    ("busy", "release"): "idle",
    ("busy", "answer"): "answered",
    ("answered", "done"): "idle",
    ("busy", "done"): "idle",
    **{(s, "die"): "dead" for s in LIVE},
}


def a_pool(**opts: object) -> tuple[Pool, list[tuple[int, str, str]]]:
    """A pool whose only watcher records the moves (no bookkeeping of its own: the table alone is tested)."""
    pool = Pool(Options(app_command=["app"], **opts), Logger(io.StringIO()))  # type: ignore[arg-type]
    told: list[tuple[int, str, str]] = []
    pool.watchers = [lambda inst, was, event: told.append((inst.number, was, event))]
    return pool, told


def in_state(pool: Pool, state: State, number: int = 1) -> Instance:
    inst = Instance(pool, number, "request")
    inst.state = state
    pool.instances.append(inst)
    return inst


def test_the_table_is_lambdas_lifecycle() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "event"), sorted(EXPECTED))
def test_every_legal_move_goes_where_the_table_says_and_is_told(state: State, event: Event) -> None:
    pool, told = a_pool()
    inst = in_state(pool, state)
    assert inst.move(event, "why", "Some.Error") == EXPECTED[(state, event)] == inst.state
    assert told == [(1, state, event)]
    if event == "die":
        assert inst.death is not None and (inst.death.was, inst.death.reason, inst.death.error_type) == (
            state, "why", "Some.Error")
    else:
        assert inst.death is None


@pytest.mark.parametrize(("state", "event"),
                         [m for m in itertools.product(STATES, EVENTS) if m not in EXPECTED])
def test_every_other_move_raises_and_changes_nothing(state: State, event: Event) -> None:
    pool, told = a_pool()
    inst = in_state(pool, state)
    with pytest.raises(IllegalMove, match=f"instance 1: '{event}' in state '{state}'"):
        inst.move(event)
    assert inst.state == state and inst.death is None and told == []


def test_a_death_keeps_its_first_reason_and_a_default_one() -> None:
    pool, told = a_pool()
    inst = in_state(pool, "idle")
    assert inst.die("") and inst.death is not None and inst.death.reason == "shut down"
    assert inst.death.error_type is None
    assert not inst.die("later", "Runtime.ExitError")
    assert inst.death.reason == "shut down" and told == [(1, "idle", "die")]


def test_moves_made_while_telling_are_told_after_in_order() -> None:
    pool, told = a_pool()
    inst = in_state(pool, "init")

    def freeze_when_ready(i: Instance, was: State, event: Event) -> None:
        if event == "ready":
            i.move("freeze")  # a watcher's own move: told once "ready" has reached every watcher

    pool.watchers.insert(0, freeze_when_ready)
    inst.move("ready")
    assert told == [(1, "init", "ready"), (1, "idle", "freeze")] and inst.state == "frozen"


def test_the_pools_views_are_derived_from_the_states() -> None:
    pool, _ = a_pool(snapstart=True)
    assert (pool.live, pool.snapshot, pool.preparing, pool.backing_off) == (0, None, None, False)
    preparing = in_state(pool, "init", 1)
    preparing.cause = "snapshot"
    cold = in_state(pool, "init", 2)  # started for a request: not the snapshot being prepared
    assert pool.live == 2 and pool.preparing is preparing and pool.snapshot is None
    preparing.move("checkpoint")
    assert pool.snapshot is preparing and pool.preparing is None
    preparing.move("restore")
    assert pool.snapshot is None
    cold.move("die", "init failed", "Runtime.ExitError")
    assert cold.state == "dead" and pool._in("dead") == [cold]  # the pool's own watcher, not set here, removes it


def test_the_pools_own_bookkeeping_follows_the_moves() -> None:
    """With the pool's watcher: a ready instance nobody waits for is frozen; a dead one leaves the pool, and a
    failed init makes the pool back off."""
    pool = Pool(Options(app_command=["app"]), Logger(io.StringIO()))
    first, second = Instance(pool, 1, "request"), Instance(pool, 2, "request")
    pool.instances += [first, second]
    first.move("ready")
    assert first.state == "frozen" and pool.live == 2 and not pool.backing_off
    second.move("die", "init failed (Runtime.ExitError)", "Runtime.ExitError")
    assert pool.instances == [first] and pool.live == 1
    assert pool.backing_off and pool.init_failure is not None and pool.init_failure.error_type == "Runtime.ExitError"
    first.take()
    assert first.state == "busy"
    first.move("done")
    assert first.state == "frozen"
    first.move("die")
    assert pool.instances == [] and pool.live == 0


def test_the_scaling_rate_bucket() -> None:
    rate = ScalingRate(now=10.0)
    assert rate.tokens == BURST_CAPACITY
    assert rate.take(10.0) and rate.tokens == BURST_CAPACITY - 1
    assert rate.take(20.0) and rate.tokens == BURST_CAPACITY - 1  # refilled to the brim, never over it
    for _ in range(BURST_CAPACITY - 1):
        assert rate.take(20.0)
    assert not rate.take(20.0) and not rate.take(20.005)  # half a token is no instance
    assert rate.take(20.01) and not rate.take(20.01)  # 100 a second: one per hundredth
    assert not rate.take(20.015)
