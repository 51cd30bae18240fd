"""The daemon's moving parts, wired together: config, state, runner, scheduler.

The control API and the process shell (socket, signals) sit on top of this class; tests can
drive it directly without a socket.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from azsyncd import __version__, paths
from azsyncd.config import file as config_file
from azsyncd.config.model import Config
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import ConfigError
from azsyncd.service import sdnotify
from azsyncd.service.job import make_job
from azsyncd.service.schedule import Clock, DailyScheduler, utc_clock
from azsyncd.state import State, open_database
from azsyncd.sync.runner import AlreadyRunning, Interrupted, Progress, SyncJob, SyncRunner

log = logging.getLogger(__name__)

JobFactory = Callable[["Daemon"], SyncJob]


class Daemon:
    def __init__(
        self,
        loaded: config_file.LoadedConfig,
        *,
        job_factory: JobFactory | None = None,
        clock: Clock = utc_clock,
        state_dir: Path | None = None,
        graph_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.loaded = loaded
        self.config_error: str | None = None
        self.clock = clock
        self.started_at = clock()
        self._started_monotonic = time.monotonic()
        self._config_lock = threading.RLock()
        self.state_dir = state_dir or paths.state_dir()
        self.state = State(open_database(loaded.config.state.database_url, self.state_dir))
        interrupted = self.state.mark_interrupted(
            "the daemon stopped during this run (killed or crashed)"
        )
        if interrupted:
            log.warning(
                "runs %s were left running by a previous daemon; recorded as interrupted",
                interrupted,
            )
        self.tenants = TenantService(self.state, self.state_dir, loaded.directory, graph_transport)
        factory = job_factory or default_job_factory
        self.runner = SyncRunner(
            self.state,
            factory(self),
            history=lambda: self.config.state.history_runs,
            on_progress=self._progress_changed,
        )
        self.scheduler = DailyScheduler(self._fire_scheduled, clock)

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def config_dir(self) -> Path:
        return self.loaded.directory

    def start(self) -> None:
        self._apply_schedule(previous=None)
        self.scheduler.start()

    def stop(self, deadline: float) -> bool:
        """Stop the scheduler and let a running sync stop at a safe point within ``deadline`` s."""
        self.scheduler.stop()
        stopped = self.runner.shutdown(deadline)
        if not stopped:
            log.error(
                (
                    "the running sync did not reach a safe point within %.0f s; recording it as "
                    "interrupted"
                ),
                deadline,
            )
            self.state.mark_interrupted(
                "the daemon was stopped before the sync reached a safe point"
            )
        self.state.close()
        return stopped

    # --- configuration -----------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the config file; on error keep the last good one and report it in status."""
        try:
            fresh = config_file.load(self.loaded.path)
        except ConfigError as exc:
            self.config_error = str(exc)
            log.error("reload failed, still running on the last good configuration: %s", exc)
            return False
        with self._config_lock:
            previous = self.loaded.config
            self.loaded = fresh
            self.config_error = None
        log.info("configuration reloaded from %s", fresh.path)
        self._apply_schedule(previous)
        return True

    def update_config(self, change: Callable[[dict[str, Any]], None]) -> Config:
        """Apply ``change`` to the config document, validate, write atomically, then use it.

        A change that does not validate raises ConfigError and leaves file and daemon as they were.
        """
        with self._config_lock:
            document = self.loaded.config.model_dump(mode="json")
            change(document)
            fresh = config_file.validate(document, str(self.loaded.path))
            config_file.save(self.loaded.path, fresh)
            previous = self.loaded.config
            self.loaded = config_file.LoadedConfig(fresh, self.loaded.path)
            self.config_error = None
        self._apply_schedule(previous)
        return fresh

    def _apply_schedule(self, previous: Config | None) -> None:
        schedule = self.config.schedule
        last = self.state.last_finished_scheduled()
        self.scheduler.configure(
            enabled=schedule.enabled,
            at=schedule.time,
            zone=self.config.account.timezone,
            since=last.started_at if last else None,
        )
        newly_enabled = schedule.enabled and (
            (previous is None and last is None)
            or (previous is not None and not previous.schedule.enabled)
        )
        if newly_enabled:
            self.start_sync("first")

    # --- syncs -------------------------------------------------------------------------

    def start_sync(
        self, trigger: str, *, dry_run: bool = False, options: dict[str, Any] | None = None
    ) -> int | None:
        try:
            return self.runner.start(trigger, dry_run=dry_run, options=options)
        except AlreadyRunning as exc:
            if trigger == "manual":
                raise
            log.info("%s sync skipped: run %d is still running", trigger, exc.run_id)
        except Interrupted:
            log.info("%s sync not started: the daemon is stopping", trigger)
        return None

    def _fire_scheduled(self, trigger: str) -> None:
        self.start_sync(trigger)

    def _progress_changed(self, progress: Progress) -> None:
        running = self.runner.current
        if running is None:
            sdnotify.notify("STATUS=idle")
        else:
            total = f"/{running.total}" if running.total is not None else ""
            sdnotify.notify(
                f"STATUS=sync run {running.run_id}: {running.phase} {running.done}{total}"
            )

    # --- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        config = self.config
        states = self.state.tenants()
        running = self.runner.current
        next_run = self.scheduler.next_run
        latest = self.state.latest_run()
        return {
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": round(time.monotonic() - self._started_monotonic, 1),
            "config_path": str(self.loaded.path),
            "config_error": self.config_error,
            "account": config.account.name,
            "timezone": config.account.timezone,
            "sync_enabled": config.schedule.enabled,
            "next_run": _iso(next_run),
            "running": running.as_dict() if running else None,
            "last_run": {
                "id": latest.id,
                "status": latest.status,
                "trigger": latest.trigger,
                "started_at": _iso(latest.started_at),
                "finished_at": _iso(latest.finished_at),
                "counts": latest.counts,
            }
            if latest
            else None,
            "target": config.target.kind,
            "tenants": [
                tenant_status(t.name, t.enabled, states.get(t.name)) for t in config.tenants
            ],
        }


def tenant_status(name: str, enabled: bool, row: Any) -> dict[str, Any]:
    # The fix always answers the reason shown: a stored fix only goes with the stored reason.
    if not enabled:
        status, reason = "disabled", "disabled in the configuration"
        fix = f"enable it: azsyncctl tenants enable {name}"
    elif row is None or row.status == "new":
        status, reason = "new", "not authorized yet"
        fix = f"authorize it: azsyncctl tenants authorize {name}"
    else:
        status, reason, fix = row.status, row.reason, row.fix
    return {
        "name": name,
        "status": status,
        "reason": reason,
        "fix": fix,
        "last_sync_at": _iso(row.last_sync_at) if row else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def default_job_factory(daemon: Daemon) -> SyncJob:
    return make_job(daemon)
