"""The daemon's moving parts, wired together: config, state, runner, scheduler.

The control API and the process shell (socket, signals) sit on top of this class; tests can
drive it directly without a socket.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from peewee import PeeweeException

from azsyncd import __version__, paths
from azsyncd.config import file as config_file
from azsyncd.config.changes import FileOnlyChange, describe, file_only_changes
from azsyncd.config.model import Config
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import ConfigError, UserError
from azsyncd.service import instance_lock, metrics, sdnotify, shared_settings
from azsyncd.service.alerts import AlertBook, AlertWatch
from azsyncd.service.job import make_job
from azsyncd.service.leadership import Leadership
from azsyncd.service.notify import Notifier
from azsyncd.service.retry import QuarantineRetry
from azsyncd.service.run_metrics import RunMetrics
from azsyncd.service.schedule import Clock, Scheduler, utc_clock
from azsyncd.service.sync_process import make_process_job
from azsyncd.service.ticks import Ticks
from azsyncd.state import State, open_database
from azsyncd.state.fields import utcnow
from azsyncd.state.models import SyncRun, TenantHealth, TenantState
from azsyncd.state.repository import TICK
from azsyncd.sync import quarantine
from azsyncd.sync.runner import (
    AlreadyRunning,
    Interrupted,
    Outcome,
    Progress,
    SyncJob,
    SyncRunner,
)
from azsyncd.targets.factory import limiters

log = logging.getLogger(__name__)

JobFactory = Callable[["Daemon"], SyncJob]
# How long a manual sync waits for a running tick (usually a second) before it is refused.
TICK_GRACE = 20.0


class ConfigConflict(UserError):
    """The file on disk is not the one the daemon loaded: an edit would overwrite it."""


class OnStandby(UserError):
    """This daemon shares its state with an active one: only that one syncs and changes."""


class Daemon:
    def __init__(
        self,
        loaded: config_file.LoadedConfig,
        *,
        job_factory: JobFactory | None = None,
        clock: Clock = utc_clock,
        state_dir: Path | None = None,
        graph_transport: httpx.BaseTransport | None = None,
        sync_process: bool = False,
        graph_socket: Path | None = None,
    ) -> None:
        """``sync_process``: each run in a child process (``azsyncd run``), so that it never
        holds the interpreter lock the control API needs; the run then reads Graph over the
        network, or from ``graph_socket`` (the demo's simulated directory), never through
        ``graph_transport``. Off, runs go on a thread of this process (daemons that tests
        build with injected fakes)."""
        if sync_process and graph_transport is not None and graph_socket is None:
            raise ValueError(
                "a run in its own process cannot use an in-process graph_transport:"
                " serve it on graph_socket"
            )
        self.graph_socket = graph_socket
        self.loaded = loaded
        self.config_error: str | None = None
        self.clock = clock
        self.started_at = clock()
        self._started_monotonic = time.monotonic()
        self._config_lock = threading.RLock()
        self.state_dir = state_dir or paths.state_dir()
        self._lock_fd = instance_lock.lock_state_dir(self.state_dir)
        try:
            self.state = State(open_database(loaded.config.state.database_url, self.state_dir))
        except BaseException:
            instance_lock.release(self._lock_fd)
            raise
        self.tenants = TenantService(self.state, self.state_dir, loaded.directory, graph_transport)
        self._job_factory = job_factory or (
            make_process_job if sync_process else default_job_factory
        )
        self.metrics = RunMetrics(self.state, limiters)
        self._wire_runs()
        self.scheduler = Scheduler(self._fire_scheduled, clock, tick=self._tick)
        # Routers added to the control API, e.g. by the demo (its simulated directory).
        self.api_routers: list[Any] = []
        self.retry = QuarantineRetry(self._retry_tenant, clock)
        self.alert_backoff = 1.0  # seconds before a webhook's second try; doubles after
        self.alerts = AlertBook(
            self.state,
            lambda: self.config,
            lambda config: Notifier(config, self.config_dir, backoff=self.alert_backoff),
            clock,
            self.started_at,
        )
        self.alert_watch = AlertWatch(self.alerts, active=lambda: self.active)
        # Latency and ticks, read from status at each scrape, next to the runs' metrics; the
        # ticks are those of the runner wired now (a lost lead wires new ones).
        self.metrics.registry.register(
            metrics.StatusCollector(self.status, lambda: self.ticks.book.counts())
        )
        self._published: Published | None = None  # what status shows, as the sync read it
        self._started = False
        self._to_resume: list[int] = []
        # On SQLite this daemon is the only one on its state and is active at once; on
        # PostgreSQL it is active if no other daemon holds the lead, else standby.
        self.leadership = Leadership(self.state.db, self._promoted, self._demoted)
        self.leadership.start()

    def _wire_runs(self) -> None:
        """A runner, and the ticks that start runs on it."""
        self.runner = SyncRunner(
            self.state,
            self._job_factory(self),
            history=lambda: self.config.state.history_runs,
            on_progress=self._progress_changed,
            on_finish=self._run_finished,
            clock=self.clock,
        )
        self.ticks = Ticks(self.runner, self.state, lambda: self.config, self.clock)

    @property
    def active(self) -> bool:
        return self.leadership.role == "active"

    def standby_refusal(self) -> OnStandby:
        where = self.leadership.active_host
        active = (
            f"the active daemon is on {where} (pid {self.leadership.active_pid})"
            if where
            else "no daemon is active at the moment"
        )
        return OnStandby(
            f"this azsyncd (on {self.leadership.host}) is on standby: {active}; only the"
            " active daemon syncs and takes changes",
            f"send the change to azsyncd on {where}" if where else "try again in a few seconds",
        )

    # --- active / standby --------------------------------------------------------------

    def _promoted(self) -> None:
        """This daemon just became the active one: take over what the previous one left."""
        interrupted = self.state.mark_interrupted(
            "the daemon stopped during this run (killed or crashed, or cut off from the database)"
        )
        if interrupted:
            log.warning(
                "runs %s were left running by a previous daemon; recorded as interrupted",
                interrupted,
            )
        if self.leadership.shared:
            # Taking over from another host: finish what it was doing, with its settings.
            self._to_resume = interrupted
            self._adopt_shared_settings()
        if self._started:
            self._take_over()

    def _take_over(self) -> None:
        self._apply_schedule(previous=None)
        for run_id in self._to_resume:
            run = self.state.run(run_id)
            if run is not None and not run.dry_run:
                # The mirror and the look-up by email make a resumed run write no contact twice.
                log.info("resuming run %d, interrupted when its daemon stopped", run_id)
                self.start_sync("resume", options=dict(run.options or {}))
        self._to_resume = []

    def _demoted(self) -> None:
        """The lead is lost: stop syncing at the next safe point; another daemon takes over."""
        stopping = self.runner
        self._wire_runs()
        threading.Thread(target=stopping.hand_over, args=(20.0,), daemon=True).start()

    def _adopt_shared_settings(self) -> None:
        found = shared_settings.stored(self.state.db)
        if found is None or self._file_changed_since(found.at):
            self._publish_settings(self.config)  # this host's file is the newest word
            return
        before = self.config.model_dump(mode="json")
        wanted = shared_settings.for_this_host(before, found.document)
        if wanted == before:
            return

        def replace(document: dict[str, Any]) -> None:
            document.clear()
            document.update(wanted)

        try:
            changes = self.update_config(
                replace, allowed=frozenset(file_only_changes(before, wanted))
            )
        except UserError as exc:
            log.error(
                "could not take over the settings the daemon on %s stored (%s); running on"
                " this host's file",
                found.host,
                exc,
            )
            return
        log.info(
            "took over the settings stored by the daemon on %s: %s", found.host, "; ".join(changes)
        )

    def _file_changed_since(self, at: float) -> bool:
        try:
            return self.loaded.path.stat().st_mtime > at
        except OSError:
            return False

    def _publish_settings(self, config: Config) -> None:
        if self.leadership.shared and self.active:
            shared_settings.publish(
                self.state.db, config.model_dump(mode="json"), self.leadership.host
            )

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def config_dir(self) -> Path:
        return self.loaded.directory

    @property
    def config_path(self) -> Path:
        return self.loaded.path

    def start(self) -> None:
        self._started = True
        if self.active:
            self._take_over()
        else:
            self._apply_schedule(previous=None)
        self.scheduler.start()
        self._plan_retry()
        self.alert_watch.start()
        self.alert_watch.poke()

    def stop(self, deadline: float) -> bool:
        """Stop the scheduler and let a running sync stop at a safe point within ``deadline`` s."""
        self.scheduler.stop()
        self.retry.stop()
        stopped = self.runner.shutdown(deadline)
        self.alert_watch.stop()
        self.leadership.stop()
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
        instance_lock.release(self._lock_fd)
        return stopped

    # --- configuration -----------------------------------------------------------------

    def reload(self) -> list[str] | None:
        """Re-read the config file, with the checks ``azsyncd run`` makes.

        Returns what changed; on error keeps the last good configuration, reports the problem
        in status and returns None.
        """
        try:
            fresh = config_file.load(self.loaded.path, check_files=True, missing_ok=True)
        except ConfigError as exc:
            self.config_error = str(exc)
            log.error("reload failed, still running on the last good configuration: %s", exc)
            return None
        with self._config_lock:
            previous = self.loaded.config
            self.loaded = fresh
            self.config_error = None
            self._publish_settings(fresh.config)
        changes = describe(previous.model_dump(mode="json"), fresh.config.model_dump(mode="json"))
        log.info("configuration reloaded from %s%s", fresh.path, "; ".join(["", *changes]))
        self._apply_schedule(previous)
        self._lift_changed(previous)
        return changes

    def candidate_config(
        self, change: Callable[[dict[str, Any]], None], *, allowed: frozenset[str] = frozenset()
    ) -> Config:
        """The configuration ``change`` would make, checked as a save checks it, not saved."""
        before = self.loaded.config.model_dump(mode="json")
        document = copy.deepcopy(before)
        change(document)
        refused = file_only_changes(before, document, allowed)
        if refused:
            raise FileOnlyChange(refused, str(self.loaded.path))
        return config_file.validate(document, str(self.loaded.path))

    def update_config(
        self,
        change: Callable[[dict[str, Any]], None],
        *,
        allowed: frozenset[str] = frozenset(),
        before_write: Callable[[], None] | None = None,
        check: Callable[[Config], None] | None = None,
    ) -> list[str]:
        """Apply ``change`` to the config document, check it, write it atomically, then use it.

        Refused, with file and daemon left as they were: a file changed or broken on disk since
        it was loaded (ConfigConflict), keys that name files or endpoints other than
        ``allowed`` (FileOnlyChange), an invalid result or loose file permissions (ConfigError).
        ``before_write`` runs in the state database's transaction: both are kept, or neither.
        ``check`` sees the checked result before it is written and may refuse it (the preview
        of a change that would fail too many contacts). Returns what changed, one line each.
        """
        with self._config_lock:
            path = self.loaded.path
            current = self._file_as_loaded()
            before = self.loaded.config.model_dump(mode="json")
            document = copy.deepcopy(before)
            change(document)
            refused = file_only_changes(before, document, allowed)
            if refused:
                raise FileOnlyChange(refused, str(path))
            fresh = config_file.validate(document, str(path))
            if check is not None:
                check(fresh)
            problems = list(
                config_file.secret_file_problems(
                    config_file.LoadedConfig(fresh, path), missing_ok=True
                )
            )
            if problems:
                raise ConfigError(problems)
            text = config_file.render(fresh, current).encode("utf-8")

            def in_transaction() -> None:
                if before_write is not None:
                    before_write()
                self._publish_settings(fresh)

            self._write(text, current.encode("utf-8"), in_transaction)
            previous = self.loaded.config
            self.loaded = config_file.LoadedConfig(fresh, path, config_file.digest(text))
            self.config_error = None
        self._apply_schedule(previous)
        self._lift_changed(previous)
        return describe(before, fresh.model_dump(mode="json"))

    def _file_as_loaded(self) -> str:
        """The file's text, if it is still what was loaded; else ConfigConflict."""
        path = self.loaded.path
        try:
            data, st = config_file.read_bytes(path)
        except ConfigError as exc:
            raise ConfigConflict(
                f"{path} cannot be read any more ({exc.problems[0].message})",
                "restore the file, then reload (azsyncctl reload)",
            ) from None
        if config_file.digest(data) != self.loaded.digest:
            try:
                config_file.validate(config_file.parse(data, path), str(path))
            except ConfigError:
                raise ConfigConflict(
                    f"{path} is broken on disk; an edit through the API would overwrite it",
                    "fix the file (azsyncd check-config lists the problems) and reload first",
                ) from None
            raise ConfigConflict(
                f"{path} was changed on disk since azsyncd loaded it; an edit through the API"
                " would overwrite that change",
                "reload first (azsyncctl reload or systemctl reload azsyncd), then repeat the edit",
            )
        problems = config_file.config_file_problems(path, st)
        if problems:
            raise ConfigError(problems)
        return data.decode("utf-8")

    def _write(self, text: bytes, old: bytes, before_write: Callable[[], None] | None) -> None:
        """The file and the state change together: a failure on either side undoes both."""
        written = False
        try:
            with self.state.db.atomic():
                if before_write is not None:
                    before_write()
                config_file.write_atomically(self.loaded.path, text)
                written = True
        except BaseException:
            if written:  # the database refused to commit: put the old file back
                try:
                    config_file.write_atomically(self.loaded.path, old, backup=False)
                except OSError as exc:
                    log.error("could not restore %s after a failed edit: %s", self.loaded.path, exc)
            raise

    def _apply_schedule(self, previous: Config | None) -> None:
        schedule = self.config.schedule
        last = self.state.last_finished_scheduled()
        self.scheduler.configure(
            enabled=schedule.enabled,
            at=schedule.time,
            zone=self.config.account.timezone,
            since=last.started_at if last else None,
        )
        self.scheduler.configure_ticks(
            schedule.every, [t.name for t in self.config.tenants if t.enabled]
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
        if not self.active:
            if trigger == "manual":
                raise self.standby_refusal()
            log.info("%s sync skipped: this daemon is on standby", trigger)
            return None
        try:
            return self._start_after_tick(trigger, dry_run, options or {})
        except AlreadyRunning as exc:
            if trigger == "manual":
                raise
            log.info("%s sync skipped: run %d is still running", trigger, exc.run_id)
        except Interrupted:
            log.info("%s sync not started: the daemon is stopping", trigger)
        return None

    def _start_after_tick(self, trigger: str, dry_run: bool, options: dict[str, Any]) -> int:
        """Start a run; a tick in the way is waited for, never the reverse: the daily run is
        not lost to a tick, and a manual sync waits a little before it is refused."""
        for _ in range(3):
            try:
                return self.runner.start(trigger, dry_run=dry_run, options=options)
            except AlreadyRunning:
                running = self.runner.current
                if running is not None and running.trigger != TICK:
                    raise
                timeout = TICK_GRACE if trigger == "manual" else None
                if running is not None and not self.runner.wait(timeout):
                    raise
        return self.runner.start(trigger, dry_run=dry_run, options=options)

    def _tick(self, name: str) -> None:
        if self.active:  # a standby's ticks are the active daemon's to run
            self.ticks.tick(name)

    def _fire_scheduled(self, trigger: str) -> None:
        self.start_sync(trigger)

    # --- quarantine --------------------------------------------------------------------

    def _note_health(self, progress: Progress, outcome: Outcome) -> None:
        """Count each tenant's failures in a row; quarantine or lift after a real run."""
        # A tick that cannot read a tenant backs off on its own (service/ticks.py).
        if (
            progress.dry_run
            or progress.trigger == TICK
            or outcome.status in ("held", "interrupted")
        ):
            return
        now = self.clock()
        tenants: dict[str, dict[str, Any]] = outcome.counts.get("tenants") or {}
        for name, result in tenants.items():
            if result.get("quarantined"):
                continue  # skipped, not tried
            health = self.state.health(name)
            if result.get("ok"):
                if health.failures:
                    self.state.set_health(name, 0, "", None)
                continue
            failures, reason = health.failures + 1, str(result.get("reason", ""))
            until = quarantine.next_try(failures, now)
            self.state.set_health(name, failures, reason, until)
            if until:
                log.warning("tenant %s: %s", name, quarantine.describe(failures, reason, until))

    def lift_quarantine(self, name: str, why: str) -> None:
        if self.state.health(name).failures:
            self.state.set_health(name, 0, "", None)
            log.info("tenant %s: quarantine lifted (%s)", name, why)
            self._plan_retry()

    def _lift_changed(self, previous: Config) -> None:
        for tenant in self.config.tenants:
            before = previous.tenant(tenant.name)
            if before is None or before != tenant:
                self.lift_quarantine(tenant.name, "its settings changed")

    def _plan_retry(self) -> None:
        enabled = {t.name for t in self.config.tenants if t.enabled}
        self.retry.plan(
            {
                name: row.quarantined_until
                for name, row in self.state.healths().items()
                if row.quarantined_until is not None and name in enabled
            }
        )

    def _retry_tenant(self, name: str) -> None:
        # Refused while another run holds the runner: that run's end plans the retry again.
        self.start_sync("retry", options={"tenant": name})

    def _run_finished(self, progress: Progress, outcome: Outcome, recorded: bool) -> None:
        self.ticks.finished(progress, outcome, recorded)
        if recorded and not progress.dry_run and outcome.status != "held":
            # "The last sync" of a tenant is the last run that did something for it.
            tenants = outcome.counts.get("tenants") or {}
            for name, result in tenants.items():
                if result.get("ok") and not result.get("quarantined"):
                    self.state.set_tenant(name, last_sync_at=utcnow())
        self._note_health(progress, outcome)
        self._plan_retry()
        self.alert_watch.poke()
        self.metrics.observe(progress, outcome, recorded)
        textfile = self.config.metrics.textfile
        if textfile:
            try:
                self.metrics.write_textfile(textfile)
            except OSError as exc:
                log.error(
                    "could not write the metrics textfile %s: %s; fix its directory's"
                    " permissions or [metrics] textfile",
                    textfile,
                    exc.strerror or exc,
                )

    def _progress_changed(self, progress: Progress) -> None:
        self._publish_status()
        running = self.runner.current
        if running is None:
            sdnotify.notify("STATUS=idle")
        else:
            total = f"/{running.total}" if running.total is not None else ""
            sdnotify.notify(
                f"STATUS=sync run {running.run_id}: {running.phase} {running.done}{total}"
            )

    # --- status ------------------------------------------------------------------------

    def _publish_status(self) -> None:
        """Read what status shows of the database, on the sync thread at each step it
        reports: a status request during a sync then asks the database nothing. (On the
        control socket's thread, every query would wait for the interpreter lock the sync
        holds, up to sys.getswitchinterval() each time.)"""
        generation = self.state.generation
        published = self._published
        if published is not None and published.generation == generation:
            return  # nothing status shows was written since the last copy
        try:
            self._published = Published(
                generation, self.state.tenants(), self.state.latest_run(), self.state.healths()
            )
        except PeeweeException:  # the sync meets the problem itself; status reads the database
            self._published = None

    def _overview(
        self,
    ) -> tuple[dict[str, TenantState], SyncRun | None, dict[str, TenantHealth]]:
        """The tenants' rows and the latest run: as the sync last published them while this
        daemon syncs and nothing changed them since, else from the database. (When idle, the
        database is the truth: another daemon sharing it may have written.)"""
        published = self._published
        if self.status_in_memory and published is not None:
            return published.tenants, published.latest, published.healths
        return self.state.tenants(), self.state.latest_run(), self.state.healths()

    @property
    def status_in_memory(self) -> bool:
        """Whether ``status()`` is answered without a database query."""
        published = self._published
        return (
            self.runner.current is not None
            and published is not None
            and published.generation == self.state.generation
        )

    def status(self) -> dict[str, Any]:
        config = self.config
        states, latest, healths = self._overview()
        running = self.runner.current
        next_run = self.scheduler.next_run
        next_ticks = self.scheduler.next_ticks() if config.schedule.enabled else {}
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
            "interval": config.schedule.interval if config.schedule.every else "",
            "next_tick": _iso(min(next_ticks.values(), default=None)),
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
            **self.leadership.as_dict(),
            "tenants": [
                {
                    **tenant_status(t.name, t.enabled, states.get(t.name), healths.get(t.name)),
                    **self.ticks.view(t.name, next_ticks.get(t.name), running),
                }
                for t in config.tenants
            ],
        }


@dataclass(frozen=True)
class Published:
    """What status shows of the database, as the sync thread last read it."""

    generation: int  # State.generation when it was read
    tenants: dict[str, TenantState]
    latest: SyncRun | None
    healths: dict[str, TenantHealth]


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
        "status": status,
        "reason": reason,
        "fix": fix,
        "last_sync_at": _iso(row.last_sync_at) if row else None,
        "failures": getattr(health, "failures", 0),
        "next_try_at": _iso(until),
        "last_checked_at": _iso(row.last_checked_at) if row else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def default_job_factory(daemon: Daemon) -> SyncJob:
    return make_job(daemon)
