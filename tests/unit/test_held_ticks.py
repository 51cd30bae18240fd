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


def test_a_run_that_writes_within_the_thresholds_supersedes_the_held_one(tmp_path: Path) -> None:
    """The admin undoes the change that held a run (here: the scope narrowed by mistake); the
    next run plans again, passes and writes. The held plan is then stale: it is superseded,
    its alert resolves and the tenant's ticks go on (it stayed "held" for ever)."""
    directory = contoso(users=12)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        extra='\n[sync.thresholds]\ndisable = 1\n[lifecycle]\non_removed = "disable_login"\n',
    )
    assert sync(daemon).status in ("succeeded", "partial")
    narrowed = daemon.config_path.read_text() + "\n[scope]\ninclude = ['department = \"Sales\"']\n"
    before = daemon.config_path.read_text()
    daemon.config_path.write_text(narrowed)
    assert daemon.config_store.reload() is not None
    held = sync(daemon)
    assert held.status == "held" and "disable" in held.message
    daemon.config_path.write_text(before)  # undone
    assert daemon.config_store.reload() is not None
    again = sync(daemon)
    assert again.status in ("succeeded", "partial"), again.message
    older = daemon.state.run(held.id)
    assert older is not None and older.status == "superseded"
    assert f"run {again.id}" in older.message
    assert daemon.ticks.blocker("contoso") is None
    now = utcnow()
    alerts = [a.key for a in conditions(daemon.state, daemon.config, now, now)]
    assert not [k for k in alerts if k.startswith("held-")]
