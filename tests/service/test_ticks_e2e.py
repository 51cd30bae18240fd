"""Incremental ticks end to end: a daemon with a fake clock, its control API on a real Unix
socket, Microsoft identity + Graph over HTTPS on loopback (throwaway CA), and the fake
HappyFox over HTTP on loopback. The clock is the only thing faked: the interval is the
configured "2m", and the test moves the clock from one tick to the next."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config import file as config_file
from azsyncd.demo.api import person
from azsyncd.demo.run import tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.targets import factory
from azsyncd.targets.happyfox.client import limiter_for
from azsyncd.targets.ratelimit import RateLimiter
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.helpers import FakeClock, served_in_thread, short_dir, socket_client, wait_for
from tests.service.e2e_world import write_config

pytestmark = pytest.mark.slow


class CountingLimiter(RateLimiter):
    """The account's real limiter, counting what it let through."""

    def __init__(self) -> None:
        super().__init__(limiter_for(0.9).limits)
        self.taken: Counter[str] = Counter()

    def acquire(self, kind: str) -> float:
        self.taken[kind] += 1
        return super().acquire(kind)


@dataclass
class Ticking:
    daemon: Daemon
    socket: Path
    directory: FakeTenant
    happyfox: FakeHappyFox
    clock: FakeClock
    limiter: CountingLimiter

    def http(self) -> httpx.Client:
        return socket_client(self.socket, timeout=30)

    def status(self) -> dict[str, Any]:
        with self.http() as http:
            return dict(http.get("/v1/status").json())

    def tenant(self, name: str) -> dict[str, Any]:
        return next(t for t in self.status()["tenants"] if t["name"] == name)

    def ticks_of(self, name: str) -> int:
        view = self.daemon.ticks.book.view(name)
        return sum(view["counts"].values()) if view else 0

    def step(self, finish: bool = True) -> str:
        """Move the clock to the next tick and wait until it was handled; the tenant ticked."""
        tenant, due = min(self.daemon.scheduler.next_ticks().items(), key=lambda item: item[1])
        before = self.ticks_of(tenant)
        self.clock.now = due
        self.daemon.scheduler.wake()
        if finish:
            wait_for(lambda: self.ticks_of(tenant) > before and self.daemon.runner.current is None)
        return tenant

    def tick(self, name: str) -> None:
        """Step through other tenants' ticks until ``name`` ticked once."""
        while self.step() != name:
            pass

    def runs(self) -> list[int]:
        return [run.id for run in self.daemon.state.runs(limit=1000)]


@pytest.fixture
def ticking(tmp_path: Path) -> Iterator[Ticking]:
    tls, ca = tls_for_localhost(tmp_path)
    happyfox = FakeHappyFox(time.monotonic)
    directory = contoso(users=60)
    # Far from the daily time, so that only ticks run while the clock moves.
    start = datetime.now(UTC).replace(microsecond=0)
    daily = (start + timedelta(hours=12)).strftime("%H:%M")
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(happyfox) as hf_port,
    ):
        directory.login = f"https://localhost:{login_port}"
        directory.graph = f"https://localhost:{graph_port}"
        base_url = f"http://127.0.0.1:{hf_port}"
        config = tmp_path / "azsyncd.toml"
        (tmp_path / "wrong-secret").write_text("not the client secret")
        fabrikam = tenant_toml(
            "fabrikam",
            login=directory.login,
            graph=directory.graph,
            secret_file="wrong-secret",
            extra=f'ca_bundle = "{ca}"',
        )
        write_config(
            config,
            directory.login,
            directory.graph,
            base_url,
            ca,
            extra=f'\n[schedule]\nenabled = true\ntime = "{daily}"\ninterval = "2m"\n' + fabrikam,
        )
        limiter = CountingLimiter()
        factory.use_limiter(base_url, limiter)
        clock = FakeClock(start)
        daemon = Daemon(config_file.load(config), clock=clock, state_dir=short_dir() / "state")
        with served_in_thread(daemon) as served:
            world = Ticking(daemon, served.path, directory, happyfox, clock, limiter)
            # Turned on for the first time: the first sync runs at once.
            wait_for(lambda: bool(world.runs()) and daemon.runner.current is None, 60)
            yield world


def test_a_new_user_arrives_within_two_ticks_then_idle_ticks_cost_one_delta_call_each(
    ticking: Ticking,
) -> None:
    first = ticking.daemon.state.latest_run()
    assert first is not None and first.trigger == "first"
    assert ticking.tenant("fabrikam")["status"] == "disabled"  # its secret is wrong

    hire = ticking.directory.add_user(person(ticking.directory, "Nina Newhire", "Support"))
    for _ in range(2):
        ticking.tick("contoso")
        if hire["mail"] in ticking.happyfox.by_email:
            break
    assert hire["mail"] in ticking.happyfox.by_email
    assert ticking.happyfox.created[hire["mail"]] == 1
    kept = ticking.daemon.state.latest_run()
    assert kept is not None and kept.trigger == "tick" and kept.counts["new"] == 1
    assert kept.options == {"tenant": "contoso"}

    runs = ticking.runs()
    graph_before = len(ticking.directory.requests)
    happyfox_before = len(ticking.happyfox.calls)
    taken_before = sum(ticking.limiter.taken.values())
    checked_before = ticking.tenant("contoso")["last_checked_at"]
    idle_before = ticking.daemon.ticks.book.counts()["contoso"]["idle"]
    for _ in range(20):  # 40 minutes: the hourly retry of the failing contacts is not due
        ticking.tick("contoso")
    calls = ticking.directory.requests[graph_before:]
    assert len(calls) == 20 and all("/v1.0/users/delta?" in call for call in calls), calls
    assert len(ticking.happyfox.calls) == happyfox_before  # no help-desk call at all
    assert sum(ticking.limiter.taken.values()) == taken_before
    assert ticking.runs() == runs  # nothing recorded
    assert ticking.daemon.state.latest_run() == kept  # "the last sync" is still the one above

    counts = ticking.daemon.ticks.book.counts()
    assert counts["contoso"]["idle"] == idle_before + 20
    assert counts["fabrikam"]["skipped"] >= 20 and counts["fabrikam"]["idle"] == 0
    contoso_now = ticking.tenant("contoso")
    assert contoso_now["last_checked_at"] > checked_before
    assert contoso_now["oldest_unwritten_age_seconds"] is None
    assert contoso_now["last_tick"]["skipped"] is None
    fabrikam_now = ticking.tenant("fabrikam")
    assert fabrikam_now["last_tick"]["skipped"].startswith("the tenant is disabled: ")
    assert "AADSTS7000215" in fabrikam_now["last_tick"]["skipped"]
    with ticking.http() as http:
        metrics = http.get("/v1/metrics").text
    assert f'azsync_ticks_total{{result="idle",tenant="contoso"}} {idle_before + 20}.0' in metrics
    assert 'azsync_tenant_oldest_unwritten_change_age_seconds{tenant="contoso"} 0.0' in metrics


def test_ticks_write_only_what_changed_through_the_shared_rate_budget(ticking: Ticking) -> None:
    user_id = "00000000-0000-4000-a000-000000000000"
    mail = ticking.directory.users[user_id]["mail"]
    ticking.directory.update_user(user_id, department="Legal")
    posts_before = ticking.happyfox.post_calls("users/")
    taken_before = Counter(ticking.limiter.calls)
    calls_before = len(ticking.happyfox.calls)
    ticking.tick("contoso")
    assert ticking.happyfox.by_email[mail]["custom"][1] == "Legal"
    assert ticking.happyfox.post_calls("users/") == posts_before + 1
    run = ticking.daemon.state.latest_run()
    assert run is not None and (run.counts["new"], run.counts["updated"]) == (0, 1)
    # Every help-desk call of the tick went through the account's one limiter: the run's
    # process reports the calls its limiter let out, counted with the daemon's.
    new_calls = ticking.happyfox.calls[calls_before:]
    taken = Counter(ticking.limiter.calls) - taken_before
    assert sum(taken.values()) == len(new_calls) > 0
    assert taken["POST"] == sum(1 for method, _, _ in new_calls if method == "POST")


def test_a_tick_is_skipped_while_a_run_goes_and_in_the_rate_lock(ticking: Ticking) -> None:
    ticking.directory.delay = 0.5  # a slow directory: the manual run lasts a while
    with ticking.http() as http:
        run_id = http.post("/v1/sync", json={"tenant": "contoso"}).json()["run_id"]
    wait_for(lambda: ticking.daemon.runner.current is not None)
    graph_before = len(ticking.directory.requests)
    ticking.tick("contoso")  # returns once the manual run has ended too
    contoso_now = ticking.tenant("contoso")
    assert contoso_now["last_tick"]["skipped"] == f"run {run_id} (manual) was running"
    ticking.directory.delay = 0

    ticking.limiter.lock_for(600)  # HappyFox answered 429: the whole account waits
    graph_before = len(ticking.directory.requests)
    happyfox_before = len(ticking.happyfox.calls)
    ticking.tick("contoso")
    skipped = ticking.tenant("contoso")["last_tick"]["skipped"]
    assert skipped.startswith("the help desk is in its rate-limit lock for 10.0 more min")
    assert len(ticking.directory.requests) == graph_before  # not even the directory is read
    assert len(ticking.happyfox.calls) == happyfox_before


def test_status_shows_a_change_in_flight_and_azsyncctl_carries_the_fields(
    ticking: Ticking,
) -> None:
    ticking.directory.update_user("00000000-0000-4000-a000-000000000001", department="Legal")
    ticking.happyfox.delay = 1.0  # each write takes a second: watch it in flight
    while True:
        if ticking.step(finish=False) == "contoso":
            break
        wait_for(lambda: ticking.daemon.runner.current is None)
    wait_for(lambda: ticking.tenant("contoso")["oldest_unwritten_at"] is not None)
    in_flight = ticking.tenant("contoso")
    assert in_flight["oldest_unwritten_age_seconds"] >= 0
    wait_for(lambda: ticking.daemon.runner.current is None)
    assert ticking.tenant("contoso")["oldest_unwritten_at"] is None
    ticking.tick("fabrikam")

    ctl = [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(ticking.socket)]
    answer = subprocess.run(
        [*ctl, "status", "--json"], capture_output=True, text=True, timeout=30, check=True
    )
    status = json.loads(answer.stdout)
    assert status["interval"] == "2m" and status["next_tick"] is not None
    tenant = status["tenants"][0]
    for key in ("last_checked_at", "next_tick_at", "oldest_unwritten_age_seconds", "last_tick"):
        assert key in tenant, key
    human = subprocess.run(
        [*ctl, "status"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "incremental: every 2m; next tick: " in human
    assert "oldest change not yet written: none" in human
    assert "last tick skipped: the tenant is disabled: " in human


def test_a_contact_that_keeps_failing_is_retried_once_an_hour_not_on_every_tick(
    ticking: Ticking,
) -> None:
    failing = ticking.daemon.state.failing("contoso")
    assert failing, "the simulated directory has users whose contacts fail"
    first = ticking.daemon.state.tenant("contoso").failures_retried_at
    assert first is not None
    runs, calls = ticking.runs(), len(ticking.happyfox.calls)
    quiet_ticks = 0
    while len(ticking.happyfox.calls) == calls and quiet_ticks < 40:
        ticking.tick("contoso")
        if len(ticking.happyfox.calls) > calls:
            break
        quiet_ticks += 1
        # Within the hour a tick neither asks the help desk again nor records a run.
        assert ticking.runs() == runs
    assert quiet_ticks >= 25  # every 2 minutes for most of an hour
    # Past the hour (at the first tick after it: the run's clock is the daemon's, moving on
    # from the moment the run started): one tick plans them again, and its run lists every
    # one still failing.
    waited = ticking.clock.now - first
    assert timedelta(hours=1) <= waited <= timedelta(hours=1, minutes=2, seconds=30), waited
    retry = ticking.daemon.state.latest_run()
    assert retry is not None and retry.trigger == "tick" and retry.id not in runs
    assert retry.counts["failed"] == len(failing)
    retried = ticking.daemon.state.tenant("contoso").failures_retried_at
    assert retried is not None and abs(retried - ticking.clock.now) < timedelta(minutes=1)
    calls = len(ticking.happyfox.calls)
    ticking.tick("contoso")
    assert len(ticking.happyfox.calls) == calls  # and then not again for an hour
