"""When the daily sync is due, DST included, and the thread that starts it.

The due time is computed here with zoneinfo rather than by the ``schedule`` package:
``schedule`` reads the machine's naive local clock and needs pytz for zones, while a
daemon that serves any account's zone needs an injectable clock and exact rules for days
on which the wall-clock time is skipped or repeated.

- A time that does not exist that day (the clocks jump over it) runs at the first instant
  after the jump: 00:00 on a spring-forward day in America/Santiago runs at 01:00.
- A time that happens twice (the clocks fall back over it) runs once, at the first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


class DailyScheduler:
    """Calls ``fire(trigger)`` at each due time while enabled; one thread, woken by events."""

    # A long wait is cut into pieces so that a clock step (NTP, suspend) is noticed.
    MAX_WAIT = 60.0

    def __init__(self, fire: Callable[[str], None], clock: Clock = utc_clock) -> None:
        self._fire = fire
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._enabled = False
        self._at = time(0, 0)
        self._zone = ZoneInfo("UTC")
        self._next: datetime | None = None
        self._thread: threading.Thread | None = None

    @property
    def next_run(self) -> datetime | None:
        return self._next

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

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

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

    def seconds_until_due(self) -> float:
        with self._lock:
            if self._next is None:
                return self.MAX_WAIT
            return max(0.0, min(self.MAX_WAIT, (self._next - self._clock()).total_seconds()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            trigger = self.due()
            if trigger:
                log.info("scheduled sync due (%s); next at %s", trigger, self._next)
                try:
                    self._fire(trigger)
                except Exception:  # the schedule must survive one bad start
                    log.exception("could not start the scheduled sync")
            self._wake.wait(self.seconds_until_due())
            self._wake.clear()
