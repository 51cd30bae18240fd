"""A full reconciliation falls due by the daemon's clock, the one its scheduler and its runs
use, run the way `azsyncd run` runs it: the tick is decided in the daemon's process, the run
in a process of its own, and both read that clock, not the machine's."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from azsyncd.state.fields import utcnow
from azsyncd.sync import quiet_tick
from azsyncd.targets.local.table import Contact
from tests.engine_setup import service_daemon, sync, tick
from tests.fakes.directory import contoso
from tests.helpers import FakeClock

pytestmark = pytest.mark.slow

FULL_EVERY = "[sync]\nfull_every = 7\n"


def department(email: str) -> str:
    return str(Contact.get(Contact.email == email).custom["Department"])


def test_a_reconciliation_falls_due_on_the_daemons_clock(tmp_path: Path) -> None:
    directory = contoso(users=8)
    for n, user in enumerate(directory.users.values()):  # none fails: no retry makes a tick run
        user.update(officeLocation="Berlin", employeeId=str(n))
    anna = next(iter(directory.users.values()))["mail"]
    start = utcnow() - timedelta(days=30)  # the daemon's clock is a month behind the machine's
    clock = FakeClock(start)
    daemon = service_daemon(tmp_path, directory, skip_empty=True, extra=FULL_EVERY, clock=clock)
    Contact.bind(daemon.state.db)  # the built-in store's table, written by the runs' processes
    config, state = daemon.config, daemon.state
    try:
        first = sync(daemon)
        assert first.status == "succeeded", first.message
        assert first.counts["tenants"]["contoso"]["read"] == "reconciliation"
        wanted = department(anna)
        Contact.update(
            custom={**Contact.get(Contact.email == anna).custom, "Department": "Agent"}
        ).where(Contact.email == anna).execute()

        clock.now = start + timedelta(days=6)  # not due yet: the tick is idle
        assert quiet_tick.work_besides_delta(config, state, config.tenants[0], clock()) is None
        assert quiet_tick.quiet(config, state, daemon.tenants, "contoso", clock())

        clock.now = start + timedelta(days=8)  # due, though the machine's clock says 0 days
        why = quiet_tick.work_besides_delta(config, state, config.tenants[0], clock())
        assert why == "a full reconciliation is due"
        run = tick(daemon)
        assert run.counts["tenants"]["contoso"]["read"] == "reconciliation", run.counts
        log = "\n".join(line.message for line in state.log_lines(run.id))
        # The run's process keeps the daemon's clock running from its offset: the first run
        # stamped its reconciliation a moment after ``start``.
        assert re.search(r"full reconciliation \(the last one was [78] day\(s\) ago; \[sync\]", log)
        assert department(anna) == wanted  # the agent's edit is put back

        # Stamped by the same clock: the next tick that day is idle again.
        clock.now = start + timedelta(days=8, hours=1)
        assert quiet_tick.quiet(config, state, daemon.tenants, "contoso", clock())
    finally:
        daemon.stop(20)
