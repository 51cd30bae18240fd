"""What ``GET /v1/status`` shows: the daemon, the schedule, the running sync, the runs held
for approval, the tenants.

While this daemon syncs, status is answered from a copy of the database rows it shows,
which the sync's thread refreshes at each step it reports (``publish``): a status request
then asks the database nothing. (On the control socket's thread, every query would wait for
the interpreter lock the sync holds, up to sys.getswitchinterval() each time.) When idle,
the database is the truth: another daemon sharing it may have written.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from peewee import PeeweeException

from azsyncd import __version__, paths
from azsyncd.answers import Status, read
from azsyncd.state.models import SyncRun, TenantHealth, TenantState
from azsyncd.sync import quarantine
from azsyncd.sync.runner import Progress
from azsyncd.targets.factory import account_notes

if TYPE_CHECKING:
    from azsyncd.service.daemon import Daemon


@dataclass(frozen=True)
class Published:
    """What status shows of the database, as the sync thread last read it."""

    generation: int  # State.generation when it was read
    tenants: dict[str, TenantState]
    latest: SyncRun | None
    healths: dict[str, TenantHealth]
    held: list[SyncRun]  # runs waiting for an admin's approval


class StatusBoard:
    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._started_monotonic = time.monotonic()
        self._published: Published | None = None

    def publish(self) -> None:
        """Copy what status shows of the database; on the sync's thread, at each report."""
        state = self._daemon.state
        generation = state.generation
        published = self._published
        if published is not None and published.generation == generation:
            return  # nothing status shows was written since the last copy
        try:
            self._published = Published(
                generation, state.tenants(), state.latest_run(), state.healths(), state.held_runs()
            )
        except PeeweeException:  # the sync meets the problem itself; status reads the database
            self._published = None

    @property
    def in_memory(self) -> bool:
        """Whether ``status()`` is answered without a database query."""
        published = self._published
        return (
            self._daemon.runner.current is not None
            and published is not None
            and published.generation == self._daemon.state.generation
        )

    def _overview(self) -> Published:
        """The tenants' rows, the latest run and the held ones: the published copy while it is
        current, else from the database."""
        published = self._published
        if self.in_memory and published is not None:
            return published
        state = self._daemon.state
        return Published(
            state.generation,
            state.tenants(),
            state.latest_run(),
            state.healths(),
            state.held_runs(),
        )

    def status(self) -> Status:
        daemon = self._daemon
        config = daemon.config
        overview = self._overview()
        states, latest, healths = overview.tenants, overview.latest, overview.healths
        running = daemon.runner.current
        return read(
            Status,
            {
                "version": __version__,
                "pid": os.getpid(),
                "uptime_seconds": round(time.monotonic() - self._started_monotonic, 1),
                "config_path": str(daemon.loaded.path),
                "config_error": daemon.config_store.error,
                "account": config.account.name,
                "timezone": config.account.timezone,
                "sync_enabled": config.schedule.enabled,
                "next_run": iso(daemon.scheduler.next_run),
                "interval": config.schedule.interval if config.schedule.every else "",
                "next_tick": iso(min(self._next_ticks().values(), default=None)),
                "running": running.as_dict() if running else None,
                "last_run": {
                    "id": latest.id,
                    "status": latest.status,
                    "trigger": latest.trigger,
                    "started_at": iso(latest.started_at),
                    "finished_at": iso(latest.finished_at),
                    "counts": latest.counts,
                }
                if latest
                else None,
                "held_runs": [
                    {
                        "id": run.id,
                        "trigger": run.trigger,
                        "message": run.message,
                        "started_at": iso(run.started_at),
                    }
                    for run in overview.held
                ],
                "target": config.target.kind,
                "target_notes": self._target_notes(),
                **daemon.standby.leadership.as_dict(),
                "tenants": list(self._tenant_states(states, healths, running).values()),
            },
        )

    def tenant_states(self) -> dict[str, dict[str, Any]]:
        """Each configured tenant's state by name, from the database (``/v1/tenants``)."""
        state = self._daemon.state
        return self._tenant_states(state.tenants(), state.healths(), self._daemon.runner.current)

    def _next_ticks(self) -> dict[str, datetime]:
        daemon = self._daemon
        return daemon.scheduler.next_ticks() if daemon.config.schedule.enabled else {}

    def _tenant_states(
        self,
        states: dict[str, TenantState],
        healths: dict[str, TenantHealth],
        running: Progress | None,
    ) -> dict[str, dict[str, Any]]:
        next_ticks = self._next_ticks()
        ticks = self._daemon.ticks
        return {
            t.name: {
                **tenant_status(t.name, t.enabled, states.get(t.name), healths.get(t.name)),
                **ticks.view(t.name, next_ticks.get(t.name), running),
            }
            for t in self._daemon.config.tenants
        }

    def _target_notes(self) -> list[str]:
        """What the target said of its account (e.g. bulk calls refused), kept with the
        account's shared rate limit so the runs' processes and other hosts see it too; read
        at most every few seconds."""
        daemon = self._daemon
        config = daemon.config
        shared = paths.shared_state_dir(config.state.shared_dir, daemon.state_dir)
        try:
            return account_notes(config, daemon.state.db, shared)
        except (OSError, PeeweeException):
            return []  # status answers whatever the shared directory's state


def tenant_status(name: str, enabled: bool, row: Any, health: Any = None) -> dict[str, Any]:
    # The fix always answers the reason shown: a stored fix only goes with the stored reason.
    until = getattr(health, "quarantined_until", None)
    if not enabled:
        status, reason = "disabled", "disabled in the configuration"
        fix = f"enable it: azsyncctl tenants enable {name}"
    elif until is not None:
        status, reason = "quarantined", quarantine.describe(health.failures, health.reason, until)
        fix = "fix the cause, then authorize the tenant or change its settings to try at once"
    elif row is None or row.status == "new":
        status, reason = "new", "not authorized yet"
        fix = f"authorize it: azsyncctl tenants authorize {name}"
    else:
        status, reason, fix = row.status, row.reason, row.fix
    return {
        "name": name,
        "enabled": enabled,
        "status": status,
        "reason": reason,
        "fix": fix,
        "last_sync_at": iso(row.last_sync_at) if row else None,
        "failures": getattr(health, "failures", 0),
        "next_try_at": iso(until),
        "last_checked_at": iso(row.last_checked_at) if row else None,
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
