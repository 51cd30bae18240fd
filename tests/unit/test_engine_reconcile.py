"""Drift: edits agents make in the help desk are seen by a full reconciliation, every
[sync] full_every days or on request; a dry run can be one and previews the whole plan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from azsyncd.config.model import Sync
from azsyncd.service.daemon import Daemon
from azsyncd.state.fields import utcnow
from azsyncd.state.models import SyncRun
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import FakeTenant, contoso
from tests.helpers import FakeClock

ANN = "anna.andersson0@contoso.example"


def log_of(daemon: Daemon, run: SyncRun) -> str:
    return "\n".join(line.message for line in daemon.state.log_lines(run.id))


def drifted(
    tmp_path: Path, extra: str = "", clock: FakeClock | None = None
) -> tuple[FakeTenant, Daemon]:
    """A synced directory, then an agent's edit of a mapped field in the help desk."""
    directory = contoso(users=20)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=extra, clock=clock)
    first = sync(daemon)
    assert first.counts["new"] > 15
    Contact.update(
        custom={**Contact.get(Contact.email == ANN).custom, "Department": "Agent"}
    ).where(Contact.email == ANN).execute()
    return directory, daemon


def department() -> str:
    return str(Contact.get(Contact.email == ANN).custom["Department"])


def age_last_reconciliation(daemon: Daemon, days: int) -> None:
    daemon.state.set_tenant("contoso", last_full_at=utcnow() - timedelta(days=days))


def test_a_delta_run_does_not_see_an_edit_in_the_help_desk(tmp_path: Path) -> None:
    _, daemon = drifted(tmp_path)
    run = sync(daemon)
    assert department() == "Agent" and "reading changes since the last sync" in log_of(daemon, run)


def test_full_every_reconciles_after_so_many_days(tmp_path: Path) -> None:
    directory, daemon = drifted(tmp_path)
    first = daemon.state.runs()[-1]
    assert "full reconciliation (the first for this tenant)" in log_of(daemon, first)
    age_last_reconciliation(daemon, 6)
    sync(daemon)
    assert department() == "Agent"  # 6 days: not due yet
    age_last_reconciliation(daemon, 8)
    requests = len(directory.requests)
    run = sync(daemon)
    assert department() == "Sales"  # the directory's value is back
    log = log_of(daemon, run)
    assert (
        "tenant contoso: full reconciliation (the last one was 8 day(s) ago; "
        "[sync] full_every = 7): reading all users, each compared with the help desk" in log
    )
    assert any("/v1.0/users?" in r for r in directory.requests[requests:])  # a full read
    record = daemon.state.records(run.id, search=ANN)[0]
    assert record.result == 'Updated: Department: "Agent" -> "Sales"' and record.type == "Existing"
    assert run.counts["tenants"]["contoso"]["read"] == "reconciliation"
    assert run.counts["updated"] == 1 and run.counts["unchanged"] > 10
    again = sync(daemon)  # just done: the next is a delta again
    assert again.counts["tenants"]["contoso"]["read"] == "delta"


def test_full_every_counts_days_on_the_daemons_clock(tmp_path: Path) -> None:
    """The days since the last reconciliation are the daemon's (the clock the scheduler and
    the runs use, which tests move), not the machine's: both its ends are read from it."""
    clock = FakeClock(utcnow() - timedelta(days=30))  # the machine's clock is far ahead
    _, daemon = drifted(tmp_path, clock=clock)
    clock.now += timedelta(days=6)
    assert sync(daemon).counts["tenants"]["contoso"]["read"] == "delta"
    assert department() == "Agent"  # 6 days on the daemon's clock: not due yet
    clock.now += timedelta(days=2)
    run = sync(daemon)
    assert run.counts["tenants"]["contoso"]["read"] == "reconciliation"
    assert "(the last one was 8 day(s) ago; [sync] full_every = 7)" in log_of(daemon, run)
    assert department() == "Sales"
    again = sync(daemon)  # just done, by the same clock: the next is a delta again
    assert again.counts["tenants"]["contoso"]["read"] == "delta"


def test_sync_full_is_a_reconciliation_on_request_even_with_full_every_0(tmp_path: Path) -> None:
    _, daemon = drifted(tmp_path, extra="[sync]\nfull_every = 0\n")
    age_last_reconciliation(daemon, 400)
    sync(daemon)
    assert department() == "Agent"  # never by itself
    run = sync(daemon, full=True)
    assert department() == "Sales"
    assert "full reconciliation (asked for (sync --full))" in log_of(daemon, run)
    assert "sync started (manual, full reconciliation)" in log_of(daemon, run)


def test_a_full_dry_run_previews_the_whole_plan_and_changes_nothing(tmp_path: Path) -> None:
    directory, daemon = drifted(tmp_path)
    directory.update_user("00000000-0000-4000-a000-000000000001", department="Legal")
    before = daemon.state.tenant("contoso").last_full_at
    preview = sync(daemon, full=True, dry_run=True)
    records = {r.email: r for r in daemon.state.records(preview.id)}
    assert records[ANN].result == 'Would update: Department: "Agent" -> "Sales"'
    assert records["bjorn.hernandez1@contoso.example"].result.startswith("Would update")
    assert len(records) == 20 and preview.counts["unchanged"] > 10  # every user, in full
    assert department() == "Agent" and daemon.state.tenant("contoso").last_full_at == before
    # The preview consumed nothing: the next real run still sees the directory's change.
    run = sync(daemon)
    assert run.counts["tenants"]["contoso"]["read"] == "delta" and run.counts["updated"] == 1


@pytest.mark.parametrize("days", [-1, 3651])
def test_full_every_is_checked(days: int) -> None:
    with pytest.raises(ValueError, match="full_every"):
        Sync(full_every=days)
