"""The account's rate limit shared through a file between processes, and through PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
from tests.helpers import within


class Clock:
    """A clock several limiters share; sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def limiters(
    logs: list[CallLog], clock: Clock, account: str = "https://a.example"
) -> list[SharedRateLimiter]:
    return [
        SharedRateLimiter(log, account, {"GET": 5, "POST": 3}, clock=clock, sleep=clock.sleep)
        for log in logs
    ]


def test_two_processes_files_share_one_budget(tmp_path: Path) -> None:
    clock = Clock()
    # Two logs on one file: two connections, as two daemons have.
    first, second = limiters(
        [CallLog.in_directory(tmp_path), CallLog.in_directory(tmp_path)], clock
    )
    start = clock.now
    for _ in range(3):
        assert first.acquire("POST") == 0
    # The budget is spent by the first: the second waits for the window to move on.
    assert second.acquire("POST") == pytest.approx(60)
    assert clock.now - start == pytest.approx(60)
    # GETs have their own budget.
    assert second.acquire("GET") == 0
    assert (tmp_path / "ratelimit.db").stat().st_mode & 0o077 == 0


def test_a_429_seen_by_one_pauses_the_other(tmp_path: Path) -> None:
    clock = Clock()
    first, second = limiters(
        [CallLog.in_directory(tmp_path), CallLog.in_directory(tmp_path)], clock
    )
    first.lock_for(600)
    first.lock_for(5)  # a shorter lock never shortens the one in force
    assert second.locked_for == pytest.approx(600)  # what incremental ticks wait for
    assert second.acquire("GET") == pytest.approx(600)
    assert second.locked_for == 0
    # Another account on the same file is not held back.
    (other,) = limiters([CallLog.in_directory(tmp_path)], clock, "https://b.example")
    assert other.acquire("GET") == 0


class Recording(CallLog):
    """The call times the log admitted."""

    admitted: list[float]

    def take(
        self, account: str, kind: str, limit: int, window: float, clock: Callable[[], float]
    ) -> float:
        seen: list[float] = []

        def read() -> float:
            seen.append(clock())
            return seen[-1]

        pause = super().take(account, kind, limit, window, read)
        if pause == 0:
            self.admitted.append(seen[-1])
        return pause


def test_hosts_on_postgresql_share_one_budget_and_lock(postgres_db: str) -> None:
    from playhouse.db_url import connect

    scale = 120  # one minute lasts half a second
    logs = [Recording(connect(postgres_db)), Recording(connect(postgres_db))]
    admitted: list[float] = []
    for log in logs:
        log.admitted = admitted
    first, second = (
        SharedRateLimiter(
            log,
            "https://a.example",
            {"GET": 5, "POST": 3},
            clock=lambda: time.time() * scale,
            sleep=lambda seconds: time.sleep(seconds / scale),
        )
        for log in logs
    )

    def burst(limiter: SharedRateLimiter) -> None:
        for _ in range(6):
            limiter.acquire("POST")

    threads = [threading.Thread(target=burst, args=(limiter,)) for limiter in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(within(30))
    assert len(admitted) == 12
    # In any 60 s, at most the 3 POSTs the budget allows, whichever host made them.
    for at in admitted:
        assert sum(1 for t in admitted if at <= t < at + 60) <= 3
    # Taken before the lock is set: a pause between the two under load cannot shorten it.
    before = time.time() * scale
    second.lock_for(120)
    first.acquire("GET")
    assert time.time() * scale - before >= 120 - 1
    for log in logs:
        log.db.close()


def test_the_metrics_see_the_account_s_budget_and_this_process_s_calls(tmp_path: Path) -> None:
    clock = Clock()
    first, second = limiters(
        [CallLog.in_directory(tmp_path), CallLog.in_directory(tmp_path)], clock
    )
    for _ in range(2):
        first.acquire("POST")
    second.acquire("POST")
    # The budget in use is the account's, across processes; the calls are each one's own.
    assert first.used("POST") == second.used("POST") == pytest.approx(3 / 3)
    assert (first.calls["POST"], second.calls["POST"]) == (2, 1)
    assert first.used("GET") == 0
    second.lock_for(30)
    assert (first.locks, second.locks) == (0, 1) and first.locked_for == pytest.approx(30)
    clock.sleep(61)
    assert first.used("POST") == 0  # the window moved on
