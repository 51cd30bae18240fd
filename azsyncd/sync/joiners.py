"""Joiners: users whose ``employeeHireDate`` is still ahead, and the day they start.

With ``[lifecycle] create_before_hire_days = N`` (0: off), a user whose hire date is more
than N days away is not synced yet; from N days before, the contact exists with its portal
login off and no welcome email; on the hire date (its day in the account's time zone, at
the daily run or the first tick after midnight) the login goes on and the welcome email is
owed. A hire date moved later or earlier is followed; one removed means "now".

The hire date is the day Entra ID holds (``2026-03-02T00:00:00Z`` is 2 March, whatever the
account's zone: HR systems write the day at midnight UTC), and "today" is the account's.
The rules here are pure; the contacts step asks ``Window`` whether a user is too early or a
joiner, the joiners' step (``steps/joiners.py``) starts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from azsyncd.state.joiners import Joiner
from azsyncd.state.repository import RecordRow

HIRE = "employeeHireDate"
JOINER, STARTED = "Joiner", "Started"
STILL_OFF = "login still OFF"  # a start the help desk refused: tried again every sync


def hire_day(user: dict[str, Any]) -> date | None:
    """The user's hire date, or None when it has none (or none that reads as a date)."""
    value = user.get(HIRE)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def attributes(days: int) -> list[str]:
    """What the read selects for joiners, beside the mapping's attributes."""
    return [HIRE] if days > 0 else []


def today(now: datetime, zone: str) -> date:
    """The account's day at ``now``."""
    return now.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Window:
    """How far ahead contacts are created (``days``), as of the account's ``today``."""

    days: int
    today: date

    def too_early(self, day: date | None) -> bool:
        """Not synced yet: the hire date is more than ``days`` away."""
        return day is not None and (day - self.today).days > self.days

    def ahead(self, day: date | None) -> bool:
        """A joiner: the contact exists, the login waits for the day."""
        return day is not None and day > self.today

    def first_day(self, day: date) -> date:
        """When the contact of a user starting on ``day`` is created."""
        return day - timedelta(days=self.days)


def window(days: int, now: datetime, zone: str) -> Window | None:
    return Window(days, today(now, zone)) if days > 0 else None


@dataclass
class Start:
    row: Joiner
    reason: str


def plan(
    rows: dict[str, Joiner],
    seen: dict[str, date | None],
    removed: Iterable[str],
    now: date,
    days: int,
) -> tuple[list[Start], list[Joiner], list[str]]:
    """The joiners to start, the rows whose date moved, and the joiners who left.

    ``rows``: the tenant's joiners not started; ``seen``: object id -> hire date of those
    the read brought (None: the date was removed); ``removed``: users the read says left.
    A joiner the read did not bring keeps its date (a delta brings only what changed).
    ``days`` 0: joiners are off, and those waiting start now."""
    gone = [oid for oid in removed if oid in rows and oid not in seen]
    starts: list[Start] = []
    moved: list[Joiner] = []
    for object_id, row in rows.items():
        if object_id in gone or not row.created:
            continue  # an ahead joiner's plan is the contacts step's
        if days == 0:
            starts.append(Start(row, "create_before_hire_days is 0 (joiners off): starts now"))
            continue
        if object_id in seen:
            day = seen[object_id]
            if day is None:
                starts.append(Start(row, "the hire date was removed in Entra ID: starts now"))
                continue
            if day.isoformat() != row.hire_date:
                row.hire_date = day.isoformat()
                moved.append(row)
        if row.day <= now:
            starts.append(Start(row, f"hire date {row.hire_date}: starts today"))
    return starts, moved, gone


def planned(starts: list[Start]) -> list[RecordRow]:
    """What a held or dry run would do, contact by contact."""
    return [
        record(s, "success", f"Would turn the login on and send the welcome email: {s.reason}")
        for s in starts
    ]


def record(start: Start, status: str, result: str) -> RecordRow:
    row = start.row
    return RecordRow(row.tenant, row.object_id, row.email, STARTED, status, result, "login")
