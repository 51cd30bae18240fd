"""Tenants' health: failures in a row, quarantine and its lifting, and the next try.

A tenant whose real runs fail again and again is quarantined (``sync/quarantine.py`` says
when, and for how long); one timer starts a run for the earliest one due. A change of its
settings or an authorization lifts it. Dry runs, held runs and ticks never count: a tick
that cannot read a tenant backs off on its own (``runs/ticks.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azsyncd.config.model import Config
from azsyncd.service.runs.schedule import Clock
from azsyncd.state import State
from azsyncd.state.repository import TICK
from azsyncd.sync import quarantine
from azsyncd.sync.runner import Outcome, Progress

log = logging.getLogger(__name__)


class QuarantineRetry:
    """The next try of a quarantined tenant: one timer, for the earliest one due."""

    def __init__(self, fire: Callable[[str], None], clock: Clock) -> None:
        self._fire, self._clock = fire, clock
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.due: tuple[datetime, str] | None = None
        self._stopped = False

    def plan(self, tries: dict[str, datetime]) -> None:
        """Wait for the earliest of ``tries`` (tenant -> next try), replacing any earlier plan."""
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            if self._stopped:
                tries = {}
            self.due = min(((at, name) for name, at in tries.items()), default=None)
            if self.due is None:
                return
            delay = max(0.0, (self.due[0] - self._clock()).total_seconds())
            self._timer = threading.Timer(delay, self._fire, args=(self.due[1],))
            self._timer.daemon = True
            self._timer.name = f"retry-{self.due[1]}"
            self._timer.start()

    def stop(self) -> None:
        self._stopped = True
        self.plan({})


class Health:
    """``retry`` starts the run that tries a quarantined tenant again."""

    def __init__(
        self,
        state: State,
        config: Callable[[], Config],
        retry: Callable[[str], None],
        clock: Clock,
    ) -> None:
        self._state, self._config, self._clock = state, config, clock
        self.retry = QuarantineRetry(retry, clock)

    def note(self, progress: Progress, outcome: Outcome) -> None:
        """Count each tenant's failures in a row; quarantine or lift after a real run."""
        if (
            progress.dry_run
            or progress.trigger == TICK
            or outcome.status in ("held", "interrupted")
        ):
            return
        now = self._clock()
        tenants: dict[str, dict[str, Any]] = outcome.counts.get("tenants") or {}
        for name, result in tenants.items():
            if result.get("quarantined"):
                continue  # skipped, not tried
            health = self._state.health(name)
            if result.get("ok"):
                if health.failures:
                    self._state.set_health(name, 0, "", None)
                continue
            failures, reason = health.failures + 1, str(result.get("reason", ""))
            until = quarantine.next_try(failures, now)
            self._state.set_health(name, failures, reason, until)
            if until:
                log.warning("tenant %s: %s", name, quarantine.describe(failures, reason, until))

    def lift(self, name: str, why: str) -> None:
        if self._state.health(name).failures:
            self._state.set_health(name, 0, "", None)
            log.info("tenant %s: quarantine lifted (%s)", name, why)
            self.plan_retry()

    def lift_changed(self, previous: Config) -> None:
        """Lift the quarantine of every tenant whose settings changed since ``previous``."""
        for tenant in self._config().tenants:
            before = previous.tenant(tenant.name)
            if before is None or before != tenant:
                self.lift(tenant.name, "its settings changed")

    def plan_retry(self) -> None:
        enabled = {t.name for t in self._config().tenants if t.enabled}
        self.retry.plan(
            {
                name: row.quarantined_until
                for name, row in self._state.healths().items()
                if row.quarantined_until is not None and name in enabled
            }
        )

    def stop(self) -> None:
        self.retry.stop()
