"""When the daily sync and the incremental ticks are due, DST included, and the thread
that starts them.

The due time is computed here with zoneinfo rather than by the ``schedule`` package:
``schedule`` reads the machine's naive local clock and needs pytz for zones, while a
daemon that serves any account's zone needs an injectable clock and exact rules for days
on which the wall-clock time is skipped or repeated.

- A time that does not exist that day (the clocks jump over it) runs at the first instant
  after the jump: 00:00 on a spring-forward day in America/Santiago runs at 01:00.
- A time that happens twice (the clocks fall back over it) runs once, at the first.

Incremental ticks (``[schedule] interval``) come per tenant, each tenant at its own phase
of the interval, so that several tenants never tick in the same second. A tick keeps its
phase: one that comes late (a busy machine, a clock step) is followed by the next on the
grid, not a whole interval after the late one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    return datetime.now(UTC)


def parse_clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _instant_for(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day``, or the end of the gap it falls in."""
    wall = datetime.combine(day, at, tzinfo=zone)  # fold=0: the first of two, if repeated
    utc = wall.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return utc
    # ``at`` falls in a gap. fold=1 reads it with the offset after the jump, which lands
    # before the transition; walk forward to the first minute that exists.
    probe = wall.replace(fold=1).astimezone(UTC)
    offset_after = wall.replace(fold=1).utcoffset()
    while probe.astimezone(zone).utcoffset() != offset_after:
        probe += timedelta(minutes=1)
    return probe.replace(second=0, microsecond=0)


def next_run_after(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first due instant strictly after ``after`` (an aware datetime), in UTC."""
    local_day = after.astimezone(zone).date()
    for offset in range(-1, 3):
        candidate = _instant_for(local_day + timedelta(days=offset), at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("a daily time always recurs within two days")


class Scheduler:
    """Calls ``fire(trigger)`` at each daily due time while enabled, and ``tick(tenant)`` at
    each tenant's incremental tick; one thread, woken by events or the next due time."""

    # A long wait is cut into pieces so that a clock step (NTP, suspend) is noticed.
    MAX_WAIT = 60.0

    def __init__(
        self,
        fire: Callable[[str], None],
        clock: Clock = utc_clock,
        tick: Callable[[str], None] = lambda tenant: None,
    ) -> None:
        self._fire = fire
        self._tick = tick
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._enabled = False
        self._at = time(0, 0)
        self._zone = ZoneInfo("UTC")
        self._next: datetime | None = None
        self._every: timedelta | None = None
        self._ticks: dict[str, datetime] = {}  # tenant -> its next tick
        self._thread: threading.Thread | None = None

    @property
    def next_run(self) -> datetime | None:
        return self._next

    @property
    def every(self) -> timedelta | None:
        return self._every

    def next_ticks(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self._ticks)

    def configure(
        self, *, enabled: bool, at: str, zone: str, since: datetime | None = None
    ) -> None:
        """Apply schedule settings. ``since`` is the last scheduled run, for catch-up."""
        with self._lock:
            self._enabled = enabled
            self._at = parse_clock_time(at)
            self._zone = ZoneInfo(zone)
            now = self._clock()
            if not enabled:
                self._next = None
            elif since is not None:
                missed = next_run_after(since, self._at, self._zone)
                self._next = missed if missed <= now else next_run_after(now, self._at, self._zone)
            else:
                self._next = next_run_after(now, self._at, self._zone)
        self._wake.set()

    def configure_ticks(self, every: timedelta | None, tenants: Sequence[str]) -> None:
        """Tick each tenant every ``every`` (None: no ticks), spread evenly over the interval.

        Unchanged settings keep the current grid, so a reload does not delay the ticks.
        """
        with self._lock:
            if every is None or not tenants:
                self._every, self._ticks = None, {}
            elif every != self._every or list(tenants) != list(self._ticks):
                now = self._clock()
                count = len(tenants)
                self._every = every
                self._ticks = {
                    name: now + every * (index + 1) / count for index, name in enumerate(tenants)
                }
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def wake(self) -> None:
        """Look at the clock now (after a settings change, or a test moving its clock)."""
        self._wake.set()

    def due(self) -> str | None:
        """If a run is due now, advance to the next due time and say which trigger it is."""
        with self._lock:
            now = self._clock()
            if not self._enabled or self._next is None or now < self._next:
                return None
            # A due time more than a minute old was missed while the daemon was down.
            trigger = "catch-up" if now - self._next > timedelta(minutes=1) else "scheduled"
            self._next = next_run_after(now, self._at, self._zone)
            return trigger

    def due_ticks(self) -> list[str]:
        """The tenants whose tick is due now, each moved on to its next tick on the grid."""
        with self._lock:
            if not self._enabled or self._every is None:
                return []
            now, every = self._clock(), self._every
            due = [name for name, at in self._ticks.items() if at <= now]
            for name in due:
                late = now - self._ticks[name]
                self._ticks[name] += every * (late // every + 1)
            return due

    def seconds_until_due(self) -> float:
        with self._lock:
            upcoming = [self._next] if self._next is not None else []
            if self._enabled:
                upcoming += self._ticks.values()
            if not upcoming:
                return self.MAX_WAIT
            wait = (min(upcoming) - self._clock()).total_seconds()
            return max(0.0, min(self.MAX_WAIT, wait))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            trigger = self.due()
            if trigger:
                log.info("scheduled sync due (%s); next at %s", trigger, self._next)
                self._call(self._fire, trigger)
            for tenant in self.due_ticks():
                self._call(self._tick, tenant)
            self._wake.wait(self.seconds_until_due())

    @staticmethod
    def _call(action: Callable[[str], None], argument: str) -> None:
        try:
            action(argument)
        except Exception:  # the schedule must survive one bad start
            log.exception("could not start the scheduled sync (%s)", argument)
