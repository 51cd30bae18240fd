"""A tick never costs another run its turn: the daily run and a manual sync wait for it."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.config.model import Tenant
from azsyncd.service import daemon as daemon_module
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import AlreadyRunning, Outcome, RunContext
from tests.helpers import FakeClock, wait_for, within, write_config

CLIENT = "11111111-2222-3333-4444-555555555555"


class Gate:
    """A job that holds each run of the given trigger until released."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.release = threading.Event()
        self.started: list[str] = []

    def __call__(self, ctx: RunContext) -> Outcome:
        self.started.append(ctx.progress.trigger)
        while ctx.progress.trigger == self.held and not self.release.wait(0.01):
            ctx.checkpoint()
        return Outcome("succeeded", "", {"new": 1})


@pytest.fixture
def gated(tmp_path: Path) -> tuple[Daemon, Gate]:
    gate = Gate("tick")
    daemon = Daemon(
        config_file.load(write_config(tmp_path)),
        job_factory=lambda _: gate,
        state_dir=tmp_path / "state",
    )
    return daemon, gate


def in_background(action: object) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(action())  # type: ignore[operator]
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize("trigger", ["scheduled", "catch-up", "first", "manual"])
def test_a_run_asked_for_during_a_tick_starts_when_the_tick_ends(
    gated: tuple[Daemon, Gate], trigger: str
) -> None:
    daemon, gate = gated
    tick = daemon.runner.start("tick", options={"tenant": "contoso"})
    wait_for(lambda: gate.started == ["tick"])
    thread, result = in_background(lambda: daemon.start_sync(trigger))
    wait_for(lambda: daemon.runner.current is not None)
    assert not result  # still waiting for the tick
    gate.release.set()
    thread.join(within(10))
    (run_id,) = result
    assert isinstance(run_id, int) and run_id != tick
    assert daemon.runner.wait(within(10))
    run = daemon.state.run(run_id)
    assert run is not None and run.trigger == trigger and run.status == "succeeded"
    assert gate.started == ["tick", trigger]
    daemon.stop(5)


def test_a_manual_sync_is_refused_if_the_tick_outlasts_the_grace(
    gated: tuple[Daemon, Gate], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, gate = gated
    monkeypatch.setattr(daemon_module, "TICK_GRACE", 0.2)
    tick = daemon.runner.start("tick", options={"tenant": "contoso"})
    wait_for(lambda: gate.started == ["tick"])
    with pytest.raises(AlreadyRunning) as refused:
        daemon.start_sync("manual")
    assert refused.value.run_id == tick
    gate.release.set()
    daemon.stop(5)


def test_a_run_that_is_no_tick_is_not_waited_for(tmp_path: Path) -> None:
    gate = Gate("manual")
    daemon = Daemon(
        config_file.load(write_config(tmp_path)),
        job_factory=lambda _: gate,
        state_dir=tmp_path / "state",
    )
    first = daemon.start_sync("manual")
    wait_for(lambda: gate.started == ["manual"])
    with pytest.raises(AlreadyRunning) as refused:
        daemon.start_sync("manual")
    assert refused.value.run_id == first
    assert daemon.start_sync("scheduled") is None  # skipped, as before: one run at a time
    gate.release.set()
    daemon.stop(5)


def test_a_skip_that_lasts_is_said_once_in_the_journal(
    gated: tuple[Daemon, Gate], caplog: pytest.LogCaptureFixture
) -> None:
    daemon, gate = gated
    caplog.set_level(logging.INFO, logger="azsyncd")
    daemon.state.set_tenant("contoso", status="disabled", reason="consent revoked")
    daemon.config.tenants.append(  # a tenant as the configuration would give it
        Tenant(
            name="contoso", tenant_id="contoso.example", client_id=CLIENT, client_secret_file="s"
        )
    )
    for _ in range(5):
        daemon.ticks.tick("contoso")
    said = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert said == ["tick of contoso skipped: the tenant is disabled: consent revoked"]
    assert daemon.ticks.book.counts()["contoso"]["skipped"] == 5
    assert gate.started == []  # nothing ran
    daemon.state.set_tenant("contoso", status="active", reason="")
    daemon.ticks.tick("contoso")
    wait_for(lambda: gate.started == ["tick"])
    gate.release.set()
    assert daemon.runner.wait(within(10))
    daemon.stop(5)


def ticking_daemon(tmp_path: Path, job: object, clock: FakeClock) -> Daemon:
    """A daemon ticking tenant contoso every 5 minutes on ``clock``, running ``job``."""
    config = write_config(
        tmp_path,
        f"""
        [schedule]
        enabled = true
        interval = "5m"
        [[tenants]]
        name = "contoso"
        tenant_id = "contoso.example"
        client_id = "{CLIENT}"
        client_secret_file = "secret"
        """,
    )
    return Daemon(
        config_file.load(config),
        job_factory=lambda _: job,  # type: ignore[arg-type,return-value]
        clock=clock,
        state_dir=tmp_path / "s",
    )


def test_a_tenant_that_cannot_be_read_is_ticked_less_and_less_often(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    statuses = iter(["failed"] * 6 + ["succeeded"] * 3)

    def job(ctx: RunContext) -> Outcome:
        status = next(statuses)
        ok = status == "succeeded"
        message = "" if ok else "contoso: reading the directory failed: HTTP 503"
        return Outcome(status, message, {"new": int(ok), "tenants": {"contoso": {"ok": ok}}})

    daemon = ticking_daemon(tmp_path, job, clock)
    ran: list[str] = []
    for minute in range(0, 210, 5):  # the grid of a 5-minute interval, 3.5 hours
        clock.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minute)
        runs_before = len(daemon.state.runs())
        daemon.ticks.tick("contoso")
        assert daemon.runner.wait(within(10))
        if len(daemon.state.runs()) > runs_before:
            ran.append(clock.now.strftime("%H:%M"))
    # 5, 10, 20, 40, 60, 60 minutes apart; then it worked and ticks are back to every 5 min.
    assert ran == ["09:00", "09:05", "09:15", "09:35", "10:15", "11:15", "12:15", "12:20", "12:25"]
    assert daemon.ticks.book.counts()["contoso"] == {"recorded": 9, "idle": 0, "skipped": 33}
    daemon.stop(5)


def test_the_wait_after_a_failed_tick_is_shown(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    failing = lambda ctx: Outcome("failed", "contoso: no token: AADSTS50020", {})  # noqa: E731
    daemon = ticking_daemon(tmp_path, failing, clock)
    daemon.ticks.tick("contoso")
    assert daemon.runner.wait(within(10))
    clock.now += timedelta(minutes=1)
    daemon.ticks.tick("contoso")
    view = daemon.board.status().model_dump(mode="json")["tenants"][0]["last_tick"]
    assert view["skipped"] == (
        "the last tick failed (contoso: no token: AADSTS50020); next try after 09:05:00 UTC"
    )
    daemon.stop(5)
