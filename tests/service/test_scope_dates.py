"""A [scope] that says `today` (the docs' recipes "joiners from their start date" and
"leavers announced in HR"), run the way `azsyncd run` runs it: each run in its own process,
the daemon's clock injected. `today` is the run's day in the account's time zone, and who is
in scope follows the days as they pass, though no delta brings those users again: the
first read of a day is a full one, and a tick after midnight is not taken for an idle one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from azsyncd.demo.api import person
from azsyncd.state.models import SyncRecord
from azsyncd.sync import quiet_tick
from azsyncd.targets.local.table import Contact
from tests.engine_setup import service_daemon, sync, tick
from tests.fakes.directory import contoso
from tests.helpers import FakeClock

pytestmark = pytest.mark.slow

# 12:00 UTC on 2 March 2026 is 01:00 on 3 March in Auckland (UTC+13): the account's day is
# the 3rd, UTC's the 2nd, and the machine's own date is neither.
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SCOPE = """
[account]
timezone = "Pacific/Auckland"

[sync]
full_every = 0

[scope]
include = ["employeeHireDate is empty or employeeHireDate <= today"]
exclude = ["employeeLeaveDateTime < today"]

[lifecycle]
on_removed = "disable_login"
grace_days = 0
"""


def login(email: str) -> bool | None:
    contact = Contact.get_or_none(Contact.email == email)
    return None if contact is None else bool(contact.login_enabled)


def test_a_dated_scope_follows_the_account_day_as_days_pass(tmp_path: Path) -> None:
    directory = contoso(users=12)
    for n, user in enumerate(directory.users.values()):  # none fails: no retry makes a tick run
        user.update(officeLocation="Berlin", employeeId=str(n))
    today = person(directory, "Tia Today", "Support")
    today["employeeHireDate"] = "2026-03-03T00:00:00Z"  # the account's today: in scope
    directory.add_user(today)
    tomorrow = person(directory, "Tom Tomorrow", "Support")
    tomorrow["employeeHireDate"] = "2026-03-04T00:00:00Z"  # not yet
    directory.add_user(tomorrow)
    leaving = person(directory, "Lea Leaving", "Support")
    leaving["employeeLeaveDateTime"] = "2026-03-04T17:00:00Z"  # her last day is the 4th
    directory.add_user(leaving)
    clock = FakeClock(START)
    daemon = service_daemon(tmp_path, directory, skip_empty=True, extra=SCOPE, clock=clock)
    assert daemon.config.account.timezone == "Pacific/Auckland"
    Contact.bind(daemon.state.db)  # the built-in store's table, written by the runs' processes
    try:
        first = sync(daemon)
        assert first.status == "succeeded", first.message
        assert login(today["mail"]) is True
        assert login(tomorrow["mail"]) is None
        skipped = SyncRecord.get(
            (SyncRecord.run == first.id) & (SyncRecord.email == tomorrow["mail"])
        )
        assert skipped.status == "skipped" and "out of scope" in skipped.result
        assert login(leaving["mail"]) is True

        # The same day, an hour on: nothing changed, the tick is idle.
        clock.now = START + timedelta(hours=1)
        assert quiet_tick.quiet(daemon.config, daemon.state, daemon.tenants, "contoso", clock())

        # A day on (the 4th in Auckland): Tom's start date came, no delta brings him. The
        # tick is not idle, and its run reads everyone.
        clock.now = START + timedelta(days=1)
        assert not quiet_tick.quiet(daemon.config, daemon.state, daemon.tenants, "contoso", clock())
        run = tick(daemon)
        assert run.trigger == "tick" and run.counts["new"] == 1, run.counts
        assert login(tomorrow["mail"]) is True
        assert login(leaving["mail"]) is True  # the 4th is not after her leave date

        # The 5th: Lea's leave date has passed; she leaves the scope, a leaver.
        clock.now = START + timedelta(days=2)
        run = tick(daemon)
        assert run.counts["removed"] == 1 and run.counts["left"] == 1, run.counts
        assert login(leaving["mail"]) is False
        # And the day's later ticks are idle again.
        clock.now = START + timedelta(days=2, hours=1)
        assert quiet_tick.quiet(daemon.config, daemon.state, daemon.tenants, "contoso", clock())
    finally:
        daemon.stop(20)
