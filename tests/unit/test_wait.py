"""The tests' one wait: a deadline for an idle machine, stretched by the load per core."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests import helpers
from tests.helpers import Deadline, wait_for, wait_for_async


def _load(monkeypatch: pytest.MonkeyPatch, per_core: float) -> None:
    monkeypatch.setattr(helpers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(helpers.os, "getloadavg", lambda: (2 * per_core, 0.0, 0.0))


@pytest.mark.parametrize(("per_core", "factor"), [(0.1, 1.0), (1.0, 1.0), (3.0, 3.0), (50, 8.0)])
def test_the_deadline_stretches_with_the_load_per_core_within_bounds(
    monkeypatch: pytest.MonkeyPatch, per_core: float, factor: float
) -> None:
    _load(monkeypatch, per_core)
    assert 10 * factor - 0.5 < Deadline(10).left() <= 10 * factor


def test_a_deadline_moves_out_when_the_load_rises_and_never_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _load(monkeypatch, 1.0)
    deadline = Deadline(10)
    _load(monkeypatch, 4.0)
    assert deadline.left() > 35
    _load(monkeypatch, 0.5)
    assert deadline.left() > 35 and "x4.0 load" in str(deadline)


def test_wait_for_returns_what_it_waited_for_and_names_what_never_came(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _load(monkeypatch, 1.0)
    ready_at = time.monotonic() + 0.1
    assert wait_for(lambda: time.monotonic() > ready_at and "ready", 5, "ready") == "ready"
    with pytest.raises(AssertionError, match=r"the moon: not within 0\.2 s"):
        wait_for(lambda: False, 0.2, "the moon", interval=0.01)


def test_wait_for_async_lets_the_loop_run_while_it_waits() -> None:
    async def scenario() -> bool:
        done: list[bool] = []
        asyncio.get_running_loop().call_later(0.05, done.append, True)
        return bool(await wait_for_async(lambda: done, 5, "the callback ran", interval=0.01))

    assert asyncio.run(scenario())
