"""Incremental ticks: why one must wait, and what the last ones did, per tenant.

A tick reads one tenant's delta and writes only what changed. It is skipped, and says why
in ``status``, when a run is already going, when the help desk is in its rate-limit lock,
when the tenant is disabled, while a held run waits for approval with the tenant's plan, or
while a tenant whose last tick could not read it waits
(the interval, doubling each time, up to an hour).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azsyncd.config.model import Config
from azsyncd.service.runs.schedule import Clock
from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.state.models import SyncRun, TenantHealth, TenantState
from azsyncd.state.repository import TICK
from azsyncd.sync import quarantine
from azsyncd.sync.runner import AlreadyRunning, Interrupted, Outcome, Progress, SyncRunner
from azsyncd.targets.factory import rate_lock_seconds

log = logging.getLogger(__name__)

RESULTS = ("recorded", "idle", "skipped")


def tenant_blocker(row: TenantState, health: TenantHealth | None = None) -> str | None:
    """Why this tenant's state keeps its ticks waiting, or None.

    The one place that says which tenant states stop ticks: a quarantine joins here. The
    daily run still tries a disabled tenant, so that a fixed one becomes Active again.
    """
    if health is not None and health.quarantined_until is not None:
        # Its next try is the quarantine's retry run, not a tick.
        return quarantine.describe(health.failures, health.reason, health.quarantined_until)
    if row.status == "disabled":
        return "the tenant is disabled" + (f": {row.reason}" if row.reason else "")
    return None


def lock_blocker(locked_seconds: float) -> str | None:
    if locked_seconds <= 0:
        return None
    return (
        f"the help desk is in its rate-limit lock for {locked_seconds / 60:.1f} more min; "
        "ticks resume after it"
    )


def held_blocker(held: list[SyncRun], tenant: str) -> str | None:
    """A run that holds a plan for this tenant keeps its ticks waiting: nothing could be
    written meanwhile (the held change is planned again at every read), and each tick would
    hold a new run, supersede the one under review and alert again."""
    for run in reversed(held):
        if tenant in ((run.counts or {}).get("plan") or {}):
            return (
                f"run {run.id} is held for approval; ticks resume once it is approved or"
                f" discarded (azsyncctl runs show {run.id})"
            )
    return None


def running_blocker(running: Progress | None) -> str | None:
    if running is None:
        return None
    return f"run {running.run_id} ({running.trigger}) was running"


def in_flight_since(tenant: str, running: Progress | None) -> datetime | None:
    """When the running sync started, if it has read changes of ``tenant`` not yet written."""
    if (
        running is None
        or running.dry_run
        or running.tenant != tenant
        or running.phase != "writing contacts"
    ):
        return None
    return running.started_at


@dataclass
class TenantTicks:
    last_at: datetime | None = None
    skipped: str | None = None  # why the last tick did not run, or None if it did
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any] | None:
        if self.last_at is None:
            return None
        return {
            "at": self.last_at.isoformat(),
            "skipped": self.skipped,
            "counts": {result: self.counts[result] for result in RESULTS},
        }


class TickBook:
    """What each tenant's ticks did since the daemon started (for status and the metrics)."""

    def __init__(self) -> None:
        self._tenants: dict[str, TenantTicks] = {}
        self._lock = threading.Lock()

    def _of(self, tenant: str) -> TenantTicks:
        return self._tenants.setdefault(tenant, TenantTicks())

    def started(self, tenant: str, at: datetime) -> None:
        with self._lock:
            entry = self._of(tenant)
            entry.last_at, entry.skipped = at, None

    def skipped(self, tenant: str, at: datetime, reason: str) -> None:
        with self._lock:
            entry = self._of(tenant)
            entry.last_at, entry.skipped = at, reason
            entry.counts["skipped"] += 1

    def finished(self, tenant: str, recorded: bool) -> None:
        with self._lock:
            self._of(tenant).counts["recorded" if recorded else "idle"] += 1

    def view(self, tenant: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._tenants.get(tenant)
            return entry.as_dict() if entry else None

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                name: {result: entry.counts[result] for result in RESULTS}
                for name, entry in self._tenants.items()
            }


BACKOFF_MAX = timedelta(hours=1)


@dataclass(frozen=True)
class Backoff:
    """Ticks of a tenant whose last tick could not read it wait until ``until``."""

    until: datetime
    step: timedelta
    reason: str

    @classmethod
    def after(
        cls, previous: Backoff | None, now: datetime, every: timedelta, reason: str
    ) -> Backoff:
        step = min(BACKOFF_MAX, previous.step * 2 if previous else every)
        return cls(now + step, step, reason)

    def blocker(self, now: datetime) -> str | None:
        if now >= self.until:
            return None
        return (
            f"the last tick failed ({self.reason}); next try after "
            f"{self.until.isoformat()[11:19]} UTC"
        )


class Ticks:
    """A daemon's incremental ticks: one run per tenant tick, or the reason it was skipped."""

    def __init__(
        self, runner: SyncRunner, state: State, config: Callable[[], Config], clock: Clock
    ) -> None:
        self._runner = runner
        self._state = state
        self._config = config
        self._clock = clock
        self.book = TickBook()
        self._backoff: dict[str, Backoff] = {}

    def tick(self, name: str) -> None:
        """Read the tenant's delta and write what changed, or say why not."""
        now = self._clock()
        reason = self.blocker(name)
        if reason is None:
            try:
                self._runner.start(TICK, options={"tenant": name})
            except AlreadyRunning as exc:
                reason = f"run {exc.run_id} was running"
            except Interrupted:
                reason = "the daemon is stopping"
        if reason is None:
            self.book.started(name, now)
            return
        last = self.book.view(name)
        self.book.skipped(name, now, reason)
        # Said once in the journal, not every few minutes while it lasts.
        repeated = last is not None and last["skipped"] == reason
        log.log(logging.DEBUG if repeated else logging.INFO, "tick of %s skipped: %s", name, reason)

    def blocker(self, name: str) -> str | None:
        config = self._config()
        tenant = config.tenant(name)
        if tenant is None or not tenant.enabled:
            return "the tenant is disabled in the configuration"
        backoff = self._backoff.get(name)
        return (
            tenant_blocker(self._state.tenant(name), self._state.health(name))
            or (backoff.blocker(self._clock()) if backoff else None)
            or held_blocker(self._state.held_runs(), name)
            or running_blocker(self._runner.current)
            or lock_blocker(rate_lock_seconds(config))
        )

    def finished(self, progress: Progress, outcome: Outcome, recorded: bool) -> None:
        """A run ended. A tick that could not read its tenant makes the next ones wait longer
        each time (up to an hour), so an outage fills neither the history nor the journal."""
        if progress.trigger == TICK:
            name = str(progress.options.get("tenant", ""))
            self.book.finished(name, recorded)
            if outcome.status == "failed":
                every = self._config().schedule.every or BACKOFF_MAX
                self._backoff[name] = Backoff.after(
                    self._backoff.get(name), self._clock(), every, outcome.message
                )
                return
        for name, result in (outcome.counts.get("tenants") or {}).items():
            if result.get("ok"):
                self._backoff.pop(name, None)

    def view(
        self, name: str, next_tick: datetime | None, running: Progress | None
    ) -> dict[str, Any]:
        """What status says of a tenant's ticks and how far behind the help desk is."""
        since = in_flight_since(name, running)
        return {
            "next_tick_at": next_tick.isoformat() if next_tick else None,
            "last_tick": self.book.view(name),
            "oldest_unwritten_at": since.isoformat() if since else None,
            "oldest_unwritten_age_seconds": round((utcnow() - since).total_seconds(), 1)
            if since
            else None,
        }
