"""The limiter's calls that count toward two budgets at once (a listing inside an account's
total), and the calls a server says it counted beyond ours (``note_used``), in one process
and shared through a file by two."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def local(clock: Clock, limits: dict[str, int]) -> RateLimiter:
    return RateLimiter(limits, clock=clock, sleep=clock.sleep)


def shared(clock: Clock, limits: dict[str, int], directory: Path) -> SharedRateLimiter:
    log = CallLog.in_directory(directory)
    return SharedRateLimiter(log, "https://acme.example", limits, clock=clock, sleep=clock.sleep)


@pytest.fixture(params=["local", "shared"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    def build(clock: Clock, limits: dict[str, int]) -> RateLimiter:
        return local(clock, limits) if request.param == "local" else shared(clock, limits, tmp_path)

    return build


def test_a_call_of_two_kinds_waits_for_the_fuller_one(make: object) -> None:
    clock = Clock()
    limiter = make(clock, {"total": 5, "list": 2})  # type: ignore[operator]
    start = clock.now
    assert limiter.acquire("list", "total") == 0
    clock.now += 10
    assert limiter.acquire("list", "total") == 0
    # The listing budget is spent: the third listing waits for the first to leave the window,
    assert limiter.acquire("list", "total") == pytest.approx(50)
    # and was counted toward the total only once it went out (the first left the window).
    assert limiter.used("total") == pytest.approx(2 / 5)
    for _ in range(3):
        assert limiter.acquire("total") == 0
    assert clock.now - start == pytest.approx(60)
    # Both budgets are full now; the listing waits until the call of t=10 leaves both.
    assert limiter.acquire("list", "total") == pytest.approx(10)
    assert limiter.calls == {"list": 4, "total": 7}


def test_calls_others_made_count_until_they_leave_the_window(make: object) -> None:
    clock = Clock()
    limiter = make(clock, {"total": 10})  # type: ignore[operator]
    for _ in range(3):
        limiter.acquire("total")
    # The server counted 8: five were someone else's.
    assert limiter.note_used("total", 8) == 5
    assert limiter.note_used("total", 8) == 0  # told twice, counted once
    assert limiter.note_used("total", 2) == 0  # fewer than ours (in flight): nothing to add
    limiter.acquire("total")
    limiter.acquire("total")
    assert limiter.acquire("total") == pytest.approx(60)  # the window is ours again
    assert limiter.note_used("total", 500) == 10 - 1  # never beyond the limit


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["list", "total", "both"]), st.floats(0, 30)),
        min_size=1,
        max_size=40,
    )
)
def test_no_window_ever_holds_more_than_a_budget(calls: list[tuple[str, float]]) -> None:
    clock = Clock()
    limiter = local(clock, {"total": 6, "list": 3})
    sent: list[tuple[str, float]] = []
    for kind, gap in calls:
        clock.now += gap
        kinds = ("list", "total") if kind == "both" else (kind,)
        limiter.acquire(*kinds)
        sent += [(k, clock.now) for k in kinds]
    for kind, limit in (("total", 6), ("list", 3)):
        times = sorted(at for k, at in sent if k == kind)
        for at in times:
            assert sum(1 for t in times if at <= t < at + 60) <= limit


def test_two_processes_see_the_other_s_listings_and_the_others_calls(tmp_path: Path) -> None:
    clock = Clock()
    first = shared(clock, {"total": 4, "list": 2}, tmp_path)
    second = shared(clock, {"total": 4, "list": 2}, tmp_path)
    first.acquire("list", "total")
    first.acquire("list", "total")
    # The server counted one more than the two calls logged: someone else's.
    assert second.note_used("total", 3) == 1
    assert second.acquire("total") == 0
    assert first.acquire("total") == pytest.approx(60)  # 2 + 1 + 1: the total is spent
    assert second.acquire("list", "total") == 0  # the window moved on
