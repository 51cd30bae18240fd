"""The Freshservice benchmark's floor (two budgets, the same formula as HappyFox's) and its
rows in the README, kept fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from azsyncd.targets.freshservice.plans import PLANS
from azsyncd.targets.freshservice.simulated import Request
from azsyncd.targets.ratelimit import RateLimiter
from bench import report
from bench.floor import floor_of_budgets, floor_seconds
from tests.fakes.freshservice import FakeFreshservice
from tests.freshservice_setup import Clock

ENTERPRISE = {"total": PLANS["enterprise"][0], "list": PLANS["enterprise"][1]}


@pytest.mark.parametrize(
    ("calls", "seconds"),
    [
        ({"total": 0, "list": 0}, 0),
        ({"total": 500, "list": 1}, 0),
        ({"total": 10_006, "list": 1}, 20 * 60),  # the total is the fuller budget
        ({"total": 1_001, "list": 1_000}, 7 * 60),  # 1,000 listings at 140 a minute
    ],
)
def test_the_floor_is_the_fullest_budget_s(calls: dict[str, int], seconds: float) -> None:
    assert floor_of_budgets(calls, ENTERPRISE) == seconds
    assert floor_of_budgets(calls, ENTERPRISE) == max(
        floor_seconds(calls[k], ENTERPRISE[k]) for k in calls
    )


@pytest.mark.parametrize(
    ("writes", "listings", "exact"),
    [(1, 1, True), (900, 0, True), (901, 5, True), (2000, 300, False)],
)
def test_the_floor_is_what_the_limiter_achieves_and_the_fake_accepts(
    writes: int, listings: int, exact: bool
) -> None:
    """The limiter sending as fast as it may ends on the floor of its budgets when the
    listings fit a window (a first sync lists once), never before it; the fake, whose
    minute starts full, answers every call without a 429."""
    budget = {"total": 450, "list": 126}
    clock = Clock()
    limiter = RateLimiter(budget, clock=clock, sleep=clock.sleep)
    fake = FakeFreshservice(clock)
    times = []
    kinds = [("list", "total")] * listings + [("total",)] * writes
    for kind in kinds:
        limiter.acquire(*kind)
        times.append(clock.now)
        listing = kind[0] == "list"
        request = Request(
            method="GET" if listing else "POST",
            path="/api/v2/requesters" if listing else "/api/v2/departments",
            query={},
            raw=b"" if listing else f'{{"name": "d{len(times)}"}}'.encode(),
            auth="Basic a2V5Olg=",  # key:X
            content_type="application/json",
            base="https://acme.freshservice.com",
        )
        status, _, _ = fake.handle(request)
        assert status in (200, 201)
    calls = {"total": len(kinds), "list": listings}
    took, floor = times[-1] - times[0], floor_of_budgets(calls, budget)
    assert took == floor if exact else took >= floor  # a floor is a lower bound
    assert floor_of_budgets(calls, ENTERPRISE) <= floor_of_budgets(calls, budget)
    assert fake.throttled == 0


def test_the_readme_shows_the_freshservice_rows(tmp_path: Path) -> None:
    point = {
        "kind": "freshservice",
        "users": 10_000,
        "scale": 30.0,
        "plan": "enterprise",
        "headroom": 0.9,
        "per_minute": 500,
        "list_per_minute": 140,
        "budget_per_minute": 450,
        "calls": 10_011,
        "creates": 10_000,
        "lists": 1,
        "floor_s": 40.0,
        "floor_budget_s": 44.0,
        "ratio": 1.1,
        "ratio_budget": 1.0,
        "wall_s": 44.0,
        "busiest_minute": 451,
        "busiest_list_minute": 1,
        "throttled": 0,
        "peak_rss_mb": 90.0,
        "run_peak_rss_mb": 110.0,
        "status_p50_ms": 3.0,
        "status_p99_ms": 12.0,
        "delta_resync_calls": 0,
        "delta_resync_wall_s": 3.2,
    }
    results = {
        "machine": {"cores": 2, "arch": "x86_64", "python": "3.11"},
        "mapping_users_per_s": 40_000.0,
        "local": [],
        "happyfox": [],
        "freshservice": [point],
    }
    text = report.render(results, tmp_path)
    assert "enterprise plan: 500 calls a minute, of which 140 listing requesters" in text
    assert (
        "| 10,000 | 10,011 (10,000, 1) | 40.0 | 44.0 | 44.0 | 1.100x / 1.000x | 451 (1) | 0 "
        "| 90 / 110 | 3.0 / 12.0 | 0, 3.2 |"
    ) in text
