"""The benchmark's floor formula and its fake HappyFox's group membership, kept fast."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from azsyncd.targets.happyfox.client import limits_for
from azsyncd.targets.ratelimit import RateLimiter
from bench import report
from bench.floor import floor_seconds
from tests.fakes.happyfox import FakeHappyFox


class Clock:
    """A clock that moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    ("posts", "budget", "seconds"),
    [(0, 300, 0), (1, 300, 0), (300, 300, 0), (301, 300, 60), (600, 300, 60), (2001, 270, 420)],
)
def test_floor_counts_the_full_first_window(posts: int, budget: int, seconds: float) -> None:
    assert floor_seconds(posts, budget) == seconds


def test_floor_refuses_an_empty_budget() -> None:
    with pytest.raises(ValueError, match="give >= 1"):
        floor_seconds(10, 0)


@pytest.mark.parametrize("posts", [1, 270, 271, 999, 2001])
def test_floor_is_what_the_limiter_achieves_and_the_fake_accepts(posts: int) -> None:
    """The limiter, sending as fast as it may, ends exactly on the floor; the fake's window
    (which starts full) takes every one of those POSTs without a 429."""
    budget = limits_for(0.9)["POST"]
    clock = Clock()
    limiter = RateLimiter({"POST": budget}, clock=clock, sleep=clock.sleep)
    fake = FakeHappyFox(clock)
    times = []
    for _ in range(posts):
        limiter.acquire("POST")
        times.append(clock.now)
        status, _ = fake._handle(
            "POST", "/api/1.1/json/contact_groups/", {}, b'{"name": "g"}', fake.auth
        )
        assert status == 200
    assert times[-1] - times[0] == floor_seconds(posts, budget)
    # And the true limit's floor is no higher than the headroom's.
    assert floor_seconds(posts, 300) <= floor_seconds(posts, budget)


def test_fake_group_membership_is_constant_time_per_contact() -> None:
    fake = FakeHappyFox(time.monotonic, post_limit=10**9)
    group = fake._handle("POST", "/api/1.1/json/contact_groups/", {}, b'{"name": "g"}', fake.auth)
    group_id = group[1]["id"]
    big = list(range(200_000))

    def add(contacts: list[int]) -> float:
        start = time.process_time()
        for i in range(0, len(contacts), 100):
            fake.add_to_group(group_id, contacts[i : i + 100])
        return time.process_time() - start

    add(big)  # the group now holds 200,000 contacts
    # 2,000 more contacts, half of them already members: a list scan would take seconds.
    assert add(list(range(199_000, 201_000))) < 0.05
    assert len(fake.groups[group_id]["contacts"]) == 201_000
    assert list(fake.groups[group_id]["contacts"])[-1] == 200_999  # each contact once


def results_of(
    local: list[dict[str, Any]] | None = None, happyfox: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """bench.run's JSON around these points."""
    return {
        "machine": {"cores": 2, "arch": "x86_64", "python": "3.11"},
        "mapping_users_per_s": 40_000.0,
        "local": local or [],
        "happyfox": happyfox or [],
    }


def test_the_performance_figures_come_from_the_json(tmp_path: Path) -> None:
    local = {
        "kind": "local",
        "wall_s": 10.0,
        "users_per_s": 10_000.0,
        "status_p50_ms": 1.0,
        "status_p99_ms": 2.0,
    }
    results = results_of(
        local=[
            {**local, "users": 100_000, "peak_rss_mb": 100.0},
            {**local, "users": 1_000_000, "peak_rss_mb": 110.0},
        ]
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.BEGIN}\nold figure 1.107x\n{report.END}\n\n## Next\n")
    report.update_page(readme, results, tmp_path)
    text = readme.read_text()
    assert "old figure" not in text and text.endswith(f"{report.END}\n\n## Next\n")
    assert "| 1,000,000 | 10.0 | 10,000 | 110 / - |" in text and "+10.0%" in text
    assert "ORM" not in text.split("| 100,000 |")[1].split("\n")[0]  # no profile: no share
    (tmp_path / "profile-local-100000.txt").write_text(
        "_work (azsyncd/sync/runner.py:1);plan (azsyncd/sync/engine.py:2) 6\n"
        "_work (azsyncd/sync/runner.py:1);Insert.sql (peewee.py:9) 3\n"
        "_work (azsyncd/sync/runner.py:1);x (peewee.py:9);"
        "Database._execute_cursor (peewee.py:3) 1\n"
        "api (uvicorn/server.py:1);Insert.sql (peewee.py:9) 50\n"
    )
    report.update_page(readme, results, tmp_path)
    assert "30% ORM, 40% with SQL (10 samples)" in readme.read_text()

    # Runs in their own processes: both peaks are shown, the growth is the run's process's.
    for point, run_peak in zip(results["local"], (80.0, 84.0), strict=True):
        point.update(run_peak_rss_mb=run_peak, sync_process=True)
    report.update_page(readme, results, tmp_path)
    text = readme.read_text()
    assert "| 1,000,000 | 10.0 | 10,000 | 110 / 84 |" in text
    assert "growth of the run's process from 100,000 to 1,000,000 users: +5.0%" in text
    assert "each run in its own process" in text
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="bench:begin"):
        report.update_page(readme, results, tmp_path)


def test_the_full_resync_profile_is_split_into_its_parts(tmp_path: Path) -> None:
    sync = "Thread.run (threading.py:1);SyncRunner._work (azsyncd/sync/runner.py:1);"
    raw = "\n".join(
        [
            sync + "chunked (e.py:1);DirectorySource._users (s.py:1);loads (json.py:1) 4",
            sync + "Planning.plan (p.py:1);Planning._mapped (p.py:2);fingerprint (m.py:1) 3",
            sync + "Planning.plan (p.py:1);State.mirror (r.py:1);execute (peewee.py:1) 2",
            sync + "Engine._apply (e.py:2);Executor.drain (x.py:1);State.add_records (r.py:2) 1",
            sync + "Engine.run (e.py:3) 10",
            "Server.run (uvicorn/server.py:1);State.mirror (r.py:1) 99",  # not the sync thread
        ]
    )
    assert report.resync_parts(raw) == {
        "reading Graph": 0.2,
        "mapping": 0.15,
        "state lookups": 0.1,
        "recording": 0.05,
        "other": 0.5,
    }
    assert report.resync_parts("") == {}

    point = {
        "kind": "happyfox",
        "users": 1000,
        "scale": 3.0,
        "headroom": 0.9,
        "budget_per_minute": 270,
        "posts": 21,
        "post_users": 10,
        "post_other": 11,
        "gets": 4,
        "floor_s": 0.0,
        "floor_budget_s": 0.0,
        "wall_s": 1.0,
        "locked": False,
        "peak_rss_mb": 90.0,
        "status_p50_ms": 1.0,
        "status_p99_ms": 3.0,
        "idle_p50_ms": 1.0,
        "idle_p99_ms": 2.0,
        "load_1m": 1.25,
        "delta_resync_users": 0,
        "delta_resync_calls": 1,
        "delta_resync_wall_s": 0.1,
        "full_resync_unchanged": 1000,
        "full_resync_posts": 0,
        "full_resync_calls": 2,
        "full_resync_wall_s": 0.5,
        "full_resync_cpu_s": 0.4,
    }
    results = results_of(happyfox=[point])
    (tmp_path / "profile-happyfox-1000-full-resync.txt").write_text(raw)
    text = report.render(results, tmp_path)
    assert "| 1,000 | 0, 1, 0.1 | 1,000, 0, 2, 0.5 (0.4 s CPU) |" in text
    assert "(idle: 1.0 / 2.0; load 1.2)" in text
    assert "resync of 1,000 users (py-spy): reading Graph 20%, mapping 15%" in text
