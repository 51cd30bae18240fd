"""A run stopped while it writes records the counts and records of what it finished, and
nothing it did not: the engine against the fake HappyFox (slow on purpose) on loopback."""

from __future__ import annotations

import time
from pathlib import Path

from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.helpers import wait_for


def test_an_interrupted_run_records_the_counts_of_what_it_finished(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    fake.delay = 0.3  # each POST: the writes of 1,500 users take a while
    # ... and the writes stop at 700 contacts, so the run cannot end before it is stopped
    # (about 955 of the 1,500 users map to a contact).
    fake.hold_after = 700
    daemon = happyfox_daemon(tmp_path, url, contoso(users=1500))
    run_id = daemon.start_sync("manual")
    assert run_id is not None
    wait_for(lambda: len(fake.by_email) >= 700, 60, "700 contacts written", interval=0.02)
    asked = time.monotonic()
    try:
        assert daemon.runner.shutdown(10)
    finally:
        fake.released.set()
    stopped_in = time.monotonic() - asked
    run = daemon.state.run(run_id)
    assert run is not None and run.status == "interrupted"
    records = daemon.state.records(run_id)
    created = [r for r in records if r.status == "success"]
    assert run.counts["new"] == len(created) >= 300  # what it finished, counted and recorded
    assert run.counts["failed"] == sum(r.status == "failed" for r in records)
    assert {r.email for r in created} <= set(fake.by_email)
    assert len(created) < 1400  # and not what it did not get to
    assert stopped_in < 5
