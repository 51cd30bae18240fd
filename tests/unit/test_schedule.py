from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from azsyncd.service.runs.schedule import Scheduler, next_run_after
from tests.helpers import FakeClock, wait_for, within

MIDNIGHT = time(0, 0)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


def runs(zone: str, start: datetime, count: int, at: time = MIDNIGHT) -> list[datetime]:
    out, current = [], start
    for _ in range(count):
        current = next_run_after(current, at, ZoneInfo(zone))
        out.append(current)
    return out


def test_ordinary_days_run_at_local_midnight() -> None:
    got = runs("Europe/Berlin", datetime(2026, 6, 1, 12, tzinfo=UTC), 3)
    assert [r.astimezone(ZoneInfo("Europe/Berlin")).strftime("%m-%d %H:%M %z") for r in got] == [
        "06-02 00:00 +0200",
        "06-03 00:00 +0200",
        "06-04 00:00 +0200",
    ]


@pytest.mark.parametrize(
    "zone, day_before, skipped_day, runs_at",
    [
        # Clocks jump from 00:00 to 01:00: midnight does not exist that day; run as the day starts.
        ("America/Santiago", (2026, 9, 5), (2026, 9, 6), "01:00"),
        ("America/Havana", (2026, 3, 7), (2026, 3, 8), "01:00"),
        ("Asia/Beirut", (2026, 3, 28), (2026, 3, 29), "01:00"),
    ],
)
def test_a_skipped_midnight_runs_once_at_the_first_instant_of_the_day(
    zone: str, day_before: tuple[int, int, int], skipped_day: tuple[int, int, int], runs_at: str
) -> None:
    tz = ZoneInfo(zone)
    start = datetime(*day_before, 12, tzinfo=tz)
    first, second, third = runs(zone, start, 3)
    assert first.astimezone(tz).date() == datetime(*skipped_day).date()
    assert first.astimezone(tz).strftime("%H:%M") == runs_at
    # The gap is exactly at the transition, not inside the missing hour.
    assert (first - timedelta(seconds=1)).astimezone(tz).utcoffset() != first.astimezone(
        tz
    ).utcoffset()
    assert second.astimezone(tz).strftime("%H:%M") == "00:00" and (second - first) == timedelta(
        hours=23
    )
    assert third - second == timedelta(hours=24)


def test_a_repeated_midnight_runs_once() -> None:
    # Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01: 00:00-00:59 happens twice.
    tz = ZoneInfo("America/Havana")
    got = runs("America/Havana", datetime(2026, 10, 31, 12, tzinfo=tz), 3)
    on_change_day = [r for r in got if r.astimezone(tz).date() == datetime(2026, 11, 1).date()]
    assert len(on_change_day) == 1
    assert on_change_day[0] == local("America/Havana", 2026, 11, 1, 0, 0, fold=0).astimezone(UTC)
    assert got[1] - got[0] == timedelta(hours=25)
    # Asking from inside the repeated hour (after the first 00:00) goes to the next day.
    second_midnight = local("America/Havana", 2026, 11, 1, 0, 30, fold=1)
    assert (
        next_run_after(second_midnight, MIDNIGHT, tz).astimezone(tz).date()
        == datetime(2026, 11, 2).date()
    )


def test_a_time_inside_a_spring_gap_runs_at_the_end_of_the_gap() -> None:
    tz = ZoneInfo("Europe/Berlin")  # 2026-03-29 02:00 -> 03:00
    got = next_run_after(datetime(2026, 3, 28, 12, tzinfo=UTC), time(2, 30), tz)
    assert got.astimezone(tz).strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:00"


def test_scheduler_fires_at_the_due_time_and_never_twice() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 21, 0, tzinfo=UTC))
    scheduler = Scheduler(lambda trigger: None, clock)
    scheduler.configure(enabled=True, at="00:00", zone="Europe/Berlin")
    assert scheduler.next_run == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    assert scheduler.due() is None
    clock.now = datetime(2026, 6, 1, 22, 0, 5, tzinfo=UTC)
    assert scheduler.due() == "scheduled"
    assert scheduler.due() is None
    assert scheduler.next_run == datetime(2026, 6, 2, 22, 0, tzinfo=UTC)


def test_scheduler_catches_up_once_after_downtime() -> None:
    clock = FakeClock(datetime(2026, 6, 3, 9, 0, tzinfo=UTC))
    scheduler = Scheduler(lambda trigger: None, clock)
    last = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)  # then the daemon was down for two midnights
    scheduler.configure(enabled=True, at="00:00", zone="Europe/Berlin", since=last)
    assert scheduler.due() == "catch-up"
    assert scheduler.due() is None
    assert scheduler.next_run == datetime(2026, 6, 3, 22, 0, tzinfo=UTC)


def test_disabled_scheduler_never_fires() -> None:
    clock = FakeClock(datetime(2026, 6, 3, 9, 0, tzinfo=UTC))
    scheduler = Scheduler(lambda trigger: None, clock)
    scheduler.configure(
        enabled=False, at="00:00", zone="UTC", since=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert scheduler.next_run is None and scheduler.due() is None


def test_scheduler_thread_fires_when_woken() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 23, 59, tzinfo=UTC))
    fired = threading.Event()
    scheduler = Scheduler(lambda trigger: fired.set(), clock)
    scheduler.configure(enabled=True, at="00:00", zone="UTC")
    scheduler.start()
    try:
        assert not fired.wait(0.2)
        clock.now = datetime(2026, 6, 2, 0, 0, tzinfo=UTC)
        scheduler.configure(
            enabled=True, at="00:00", zone="UTC", since=datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
        )
        assert fired.wait(within(5))
    finally:
        scheduler.stop()


def ticking(
    clock: FakeClock, every: timedelta | None, tenants: list[str], enabled: bool = True
) -> Scheduler:
    scheduler = Scheduler(lambda trigger: None, clock)
    scheduler.configure(enabled=enabled, at="00:00", zone="UTC")
    scheduler.configure_ticks(every, tenants)
    return scheduler


def test_ticks_of_several_tenants_are_spread_over_the_interval() -> None:
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    clock = FakeClock(start)
    scheduler = ticking(clock, timedelta(minutes=6), ["a", "b", "c"])
    assert scheduler.next_ticks() == {
        "a": start + timedelta(minutes=2),
        "b": start + timedelta(minutes=4),
        "c": start + timedelta(minutes=6),
    }
    fired: list[tuple[str, str]] = []
    for second in range(0, 19 * 60, 5):  # 19 minutes, looked at every 5 s
        clock.now = start + timedelta(seconds=second)
        fired += [(clock.now.strftime("%M:%S"), name) for name in scheduler.due_ticks()]
    assert fired == [
        ("02:00", "a"),
        ("04:00", "b"),
        ("06:00", "c"),
        ("08:00", "a"),
        ("10:00", "b"),
        ("12:00", "c"),
        ("14:00", "a"),
        ("16:00", "b"),
        ("18:00", "c"),
    ]
    assert len({at for at, _ in fired}) == len(fired)  # never two in the same second


def test_a_late_tick_keeps_its_grid_and_fires_once() -> None:
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    clock = FakeClock(start)
    scheduler = ticking(clock, timedelta(minutes=5), ["a"])
    clock.now = start + timedelta(minutes=17, seconds=30)  # a busy machine, a clock step
    assert scheduler.due_ticks() == ["a"]
    assert scheduler.due_ticks() == []
    assert scheduler.next_ticks() == {"a": start + timedelta(minutes=20)}


def test_no_ticks_when_off_or_when_contact_sync_is_off() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    off = ticking(clock, None, ["a"])
    sync_off = ticking(clock, timedelta(minutes=1), ["a"], enabled=False)
    clock.now += timedelta(hours=3)
    assert off.next_ticks() == {} and off.due_ticks() == []
    assert sync_off.due_ticks() == []


def test_reconfiguring_with_the_same_settings_does_not_delay_the_ticks() -> None:
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    clock = FakeClock(start)
    scheduler = ticking(clock, timedelta(minutes=5), ["a", "b"])
    before = scheduler.next_ticks()
    clock.now = start + timedelta(minutes=2)
    scheduler.configure_ticks(timedelta(minutes=5), ["a", "b"])  # a reload, nothing changed
    assert scheduler.next_ticks() == before
    scheduler.configure_ticks(timedelta(minutes=10), ["a", "b"])  # a new interval: a new grid
    assert scheduler.next_ticks() == {
        "a": clock.now + timedelta(minutes=5),
        "b": clock.now + timedelta(minutes=10),
    }
    scheduler.configure_ticks(timedelta(minutes=10), ["a"])  # a tenant gone
    assert list(scheduler.next_ticks()) == ["a"]


def test_the_daily_run_comes_before_a_tick_due_at_the_same_time() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 23, 55, tzinfo=UTC))
    calls: list[str] = []
    scheduler = Scheduler(calls.append, clock, tick=lambda tenant: calls.append(f"tick {tenant}"))
    scheduler.configure(enabled=True, at="00:00", zone="UTC")
    scheduler.configure_ticks(timedelta(minutes=5), ["a"])
    scheduler.start()
    try:
        clock.now = datetime(2026, 6, 2, 0, 0, tzinfo=UTC)
        scheduler.wake()
        wait_for(lambda: len(calls) >= 2, 5, f"both runs started ({calls})", interval=0.01)
    finally:
        scheduler.stop()
    assert calls == ["scheduled", "tick a"]


def test_one_failing_tick_does_not_stop_the_others() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    calls: list[str] = []

    def tick(tenant: str) -> None:
        calls.append(tenant)
        if tenant == "a":
            raise RuntimeError("boom")

    scheduler = Scheduler(lambda trigger: None, clock, tick=tick)
    scheduler.configure(enabled=True, at="00:00", zone="UTC")
    scheduler.configure_ticks(timedelta(minutes=2), ["a", "b"])
    scheduler.start()
    try:
        clock.now += timedelta(minutes=2)
        scheduler.wake()
        wait_for(lambda: calls == ["a", "b"], 5, f"both ticks ran ({calls})", interval=0.01)
    finally:
        scheduler.stop()
