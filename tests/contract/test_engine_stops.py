"""A run stopped while it writes records the counts and records of what it finished, and
nothing it did not: the engine against the fake HappyFox (slow on purpose) on loopback."""

from __future__ import annotations

import time
from pathlib import Path

from azsyncd.state.models import SyncRecord
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.helpers import wait_for


def test_an_interrupted_run_records_the_counts_of_what_it_finished(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=1500)
    # The writes of the second chunk of 1,000 users wait until the stop: the first chunk is
    # written and recorded, and the run cannot finish first however busy the machine is.
    later = list(directory.users.values())[1000:]
    fake.gate_on = {
        str(u[key]).lower().encode()
        for u in later
        for key in ("mail", "userPrincipalName")
        if u.get(key)
    }
    daemon = happyfox_daemon(tmp_path, url, directory)
    run_id = daemon.start_sync("manual")
    assert run_id is not None
    # Stop once 300 creates are recorded: counting the fake's contacts instead raced with a
    # batch still being answered, a write cut short that is rightly left unrecorded.
    recorded = SyncRecord.select().where(SyncRecord.run == run_id, SyncRecord.status == "success")
    wait_for(lambda: recorded.count() >= 300, 60, "the writes got going", interval=0.02)
    asked = time.monotonic()
    try:
        assert daemon.runner.shutdown(10)
    finally:
        fake.gate.set()
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
