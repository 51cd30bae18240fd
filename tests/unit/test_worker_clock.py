"""A run's process keeps the daemon's clock: a test that moved it (grace days, the next tick)
sees the same time in the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azsyncd.service.runs.worker import daemon_clock


def test_the_run_keeps_the_daemons_offset() -> None:
    ahead = datetime.now(UTC) + timedelta(days=3, hours=2)
    clock = daemon_clock({"now": ahead.isoformat()})
    assert abs((clock() - ahead).total_seconds()) < 5
    assert abs((daemon_clock({})() - datetime.now(UTC)).total_seconds()) < 5
