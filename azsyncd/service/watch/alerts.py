"""Alerts: which conditions hold now, and one message when each starts and when it clears.

The conditions are computed from the state (runs, tenants, quarantine) at each check; the
ones already announced are kept in the state database, so a restart sends nothing twice.
Checks run on their own thread: after each run, after an admin's decision, and every few
minutes (for ``stale_hours``), so a slow webhook never holds up a sync.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from azsyncd.config.model import Config
from azsyncd.service.watch.notify import Alert, Notifier
from azsyncd.state import State
from azsyncd.state.lifecycle import LifecycleState
from azsyncd.sync import quarantine

log = logging.getLogger(__name__)
CHECK_EVERY = 300.0  # seconds between checks when nothing happens


def conditions(state: State, config: Config, now: datetime, since: datetime) -> list[Alert]:
    """Every alert condition that holds now; ``since``: when the daemon started."""
    found: list[Alert] = []
    runs = state.finished_runs(2)
    if runs and runs[0].status == "failed":
        found.append(Alert("run-failed", f"sync run {runs[0].id} failed", runs[0].message))
    elif runs and runs[0].counts.get("failed"):
        new = state.failed_emails(runs[0].id) - (
            state.failed_emails(runs[1].id) if len(runs) > 1 else set()
        )
        if new:
            shown = ", ".join(sorted(new)[:10]) + (" ..." if len(new) > 10 else "")
            found.append(
                Alert(
                    "run-new-failures",
                    f"sync run {runs[0].id} ended with {len(new)} new failure(s)",
                    f"{shown}; see azsyncctl log {runs[0].id} --status failed",
                )
            )
    for run in state.held_runs():
        found.append(
            Alert(
                f"held-{run.id}",
                f"sync run {run.id} is held: nothing was written",
                f"{run.message}. Review it with azsyncctl runs show {run.id}, then approve or "
                "discard it",
            )
        )
    rows, healths = state.tenants(), state.healths()
    for tenant in config.tenants:
        if tenant.enabled:
            row, health = rows.get(tenant.name), healths.get(tenant.name)
            found += _tenant_conditions(tenant.name, row, health)
            found += _stale(config, tenant.name, row, now, since)
    found += _logins_still_on(state, config)
    return found


def _tenant_conditions(name: str, row: Any, health: Any) -> list[Alert]:
    if health and health.quarantined_until:
        reason = quarantine.describe(health.failures, health.reason, health.quarantined_until)
        return [Alert(f"tenant-{name}-quarantined", f"tenant {name} {reason}")]
    if row and row.status == "disabled":
        detail = row.reason + (f" (fix: {row.fix})" if row.fix else "")
        return [Alert(f"tenant-{name}-disabled", f"tenant {name} is disabled", detail)]
    return []


def _stale(config: Config, name: str, row: Any, now: datetime, since: datetime) -> list[Alert]:
    """A tenant no sync has read completely for ``stale_hours``: each tenant by its own last
    success, so one that keeps failing is seen even while the others sync."""
    hours = config.alerts.stale_hours
    last = row.last_checked_at if row is not None else None
    if not hours or now - (last or since) <= timedelta(hours=hours):
        return []
    return [
        Alert(
            f"tenant-{name}-stale",
            f"tenant {name}: no sync has succeeded for {hours} hours",
            f"its last one ended at {last.isoformat(timespec='minutes')}"
            if last
            else "none since the daemon started",
        )
    ]


def _logins_still_on(state: State, config: Config) -> list[Alert]:
    """Leavers whose portal login the help desk would not turn off: a security matter."""
    found = []
    lifecycle = LifecycleState(state.db)
    for tenant in config.tenants:
        rows = lifecycle.logins_still_on(tenant.name) if tenant.enabled else []
        if rows:
            shown = "; ".join(f"{r.email}: {r.reason}" for r in rows[:5])
            more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
            found.append(
                Alert(
                    f"tenant-{tenant.name}-login-on",
                    f"tenant {tenant.name}: {len(rows)} leaver(s) still have their portal login",
                    f"{shown}{more}. Every sync tries again; fix what the help desk refuses, "
                    "or turn the login off by hand",
                )
            )
    return found


class AlertBook:
    """Sends what started and what cleared since the last check, once each."""

    def __init__(
        self,
        state: State,
        config: Callable[[], Config],
        notifier: Callable[[Config], Notifier],
        clock: Callable[[], datetime],
        since: datetime,
    ) -> None:
        self._state, self._config, self._notifier, self._clock = state, config, notifier, clock
        self._since = since
        self._lock = threading.Lock()

    def check(self) -> list[str]:
        """One check; what was sent, one line each."""
        config = self._config()
        if not config.alerts.enabled:
            return []
        with self._lock:
            now = self._clock()
            current = {a.key: a for a in conditions(self._state, config, now, self._since)}
            raised = self._state.raised_alerts()
            notifier = self._notifier(config)
            sent = []
            for key, alert in current.items():
                if key not in raised and self._deliver(notifier, "alert", alert, now):
                    self._state.raise_alert(key, alert.title)
                    sent.append(f"alert: {alert.title}")
            for key, title in raised.items():
                if key not in current:
                    resolved = Alert(key, title, "this condition has cleared")
                    if self._deliver(notifier, "resolved", resolved, now):
                        self._state.clear_alert(key)
                        sent.append(f"resolved: {title}")
            return sent

    def test(self) -> dict[str, str]:
        """A test message on every channel: channel -> "sent" or why not."""
        config = self._config()
        alert = Alert("test", f"test alert from azsyncd for {config.account.name}")
        errors = self._notifier(config).send("test", alert, self._clock())
        channels = (["email"] if config.alerts.email_to else []) + (
            ["webhook"] if config.alerts.webhook_url else []
        )
        return {channel: errors.get(channel, "sent") for channel in channels}

    @staticmethod
    def _deliver(notifier: Notifier, event: str, alert: Alert, now: datetime) -> bool:
        """True if a channel delivered it; if none did, the next check tries again."""
        errors = notifier.send(event, alert, now)
        for channel, error in errors.items():
            log.error("%s %s not sent by %s: %s", event, alert.key, channel, error)
        channels = len(notifier.config.alerts.email_to[:1]) + bool(
            notifier.config.alerts.webhook_url
        )
        return len(errors) < channels


class AlertWatch:
    """The thread the checks run on: woken by ``poke``, else every ``every`` seconds."""

    def __init__(
        self,
        book: AlertBook,
        every: float = CHECK_EVERY,
        active: Callable[[], bool] = lambda: True,
        also: list[Callable[[], object]] | None = None,
    ) -> None:
        self.book, self._every = book, every
        self._active = active  # daemons sharing one state: only the active one sends
        self._also = also or []  # checked with the alerts: the data-quality digest
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0  # done so far, for tests to wait on

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(20)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._every)
            self._wake.clear()
            if self._stop.is_set():
                return
            for check in (self.book.check, *self._also):
                try:
                    if self._active():
                        check()
                except Exception:  # a broken check must not end the watch
                    log.exception("alert check failed")
            self.checks += 1
