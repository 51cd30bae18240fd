"""Incremental ticks while a run is held: a held plan waits for an admin, and the ticks of
the tenants it holds wait with it. Before, every tick planned the whole tenant again (its
read key not stored, a held run's read is a full one), held a new run, superseded the one
under review and raised a new alert and a "resolved" for the old one: with interval = "5m",
24 messages an hour and a full read every five minutes, while nothing could be written."""

from __future__ import annotations

from pathlib import Path

from azsyncd.service.watch.alerts import conditions
from azsyncd.state.fields import utcnow
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import contoso
from tests.helpers import wait_until


def test_a_held_tenant_s_ticks_wait_for_the_approval(tmp_path: Path) -> None:
    directory = contoso(users=12)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        extra='\n[sync.thresholds]\ndisable = 1\n[lifecycle]\non_removed = "disable_login"\n',
    )
    first = sync(daemon)
    assert first.status in ("succeeded", "partial"), first.message
    for user in list(directory.users)[:4]:
        directory.remove_user(user)  # four leave contoso: over the disable threshold
    held = sync(daemon)
    assert held.status == "held" and "tenant contoso" in held.message

    reason = daemon.ticks.blocker("contoso")
    assert reason is not None and f"run {held.id} is held" in reason
    assert f"azsyncctl runs show {held.id}" in reason
    daemon.ticks.tick("contoso")
    wait_until(lambda: daemon.runner.current is None)
    runs = daemon.state.runs(100)
    assert runs[0].id == held.id and runs[0].status == "held"  # no new held run
    now = utcnow()
    alerts = [a.key for a in conditions(daemon.state, daemon.config, now, now)]
    assert [k for k in alerts if k.startswith("held-")] == [f"held-{held.id}"]  # one alert

    daemon.state.set_run_status(held.id, "discarded", "discarded by test")
    assert daemon.ticks.blocker("contoso") is None
