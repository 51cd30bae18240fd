"""The daemon's parts, wired together, and the runs they start.

Each part has one job: ``config_store`` (the file, reloads, edits), ``health`` (quarantine
and retries), ``standby`` (the active/standby pair), ``board`` (what status shows), and
under ``runs/`` the scheduler and ticks, under ``watch/`` alerts and metrics. The control API
and the process shell (socket, signals) sit on top of this class; tests can drive it
directly without a socket.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from azsyncd import paths
from azsyncd.config import file as config_file
from azsyncd.config.model import Config
from azsyncd.directory.tenants import TenantService
from azsyncd.service.config_store import ConfigStore
from azsyncd.service.health import Health
from azsyncd.service.runs.job import make_job
from azsyncd.service.runs.process import make_process_job
from azsyncd.service.runs.relay import serve_transport
from azsyncd.service.runs.schedule import Clock, Scheduler, utc_clock
from azsyncd.service.runs.ticks import Ticks
from azsyncd.service.socket import instance_lock, sdnotify
from azsyncd.service.standby.takeover import Takeover
from azsyncd.service.status import StatusBoard
from azsyncd.service.watch import latency
from azsyncd.service.watch.alerts import AlertBook, AlertWatch
from azsyncd.service.watch.digest import DigestBook
from azsyncd.service.watch.metrics import RunMetrics
from azsyncd.service.watch.notify import Notifier
from azsyncd.state import State, open_database
from azsyncd.state.fields import utcnow
from azsyncd.state.repository import TICK
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


class Daemon:
    def __init__(
        self,
        loaded: config_file.LoadedConfig,
        *,
        job_factory: JobFactory | None = None,
        clock: Clock = utc_clock,
        state_dir: Path | None = None,
        graph_transport: httpx.BaseTransport | None = None,
        sync_process: bool = True,
        graph_socket: Path | None = None,
    ) -> None:
        """Each run goes to a process of its own (``sync_process``, as ``azsyncd run`` and
        ``azsyncd demo`` run it), so that it never holds the interpreter lock the control API
        needs and its memory is returned when it ends; a tick with nothing to do starts
        none. A run's process reads Graph over the network, or from ``graph_socket``; a
        ``graph_transport`` (the demo's directory, tests' fakes) the daemon uses itself and,
        unless ``graph_socket`` is served already, serves to its runs on a socket of its own.
        ``clock``: the runs use it too (their own clock keeps its offset).

        ``sync_process=False`` runs the engine on the runner's thread instead: only for tests
        of the engine through a daemon; azsyncd never does."""
        self.graph_relay: Any = None
        # Served to the runs' processes at the first run (``serve_graph``).
        self._graph_transport = graph_transport if graph_socket is None else None
        self.graph_socket = graph_socket
        self.clock = clock
        self.started_at = clock()
        self.started = False
        self._stopped: bool | None = None  # what the first stop() answered
        self._stop_lock = threading.Lock()
        self.state_dir = state_dir or paths.state_dir()
        self._lock_fd = instance_lock.lock_state_dir(self.state_dir)
        try:
            self.state = State(open_database(loaded.config.state.database_url, self.state_dir))
        except BaseException:
            instance_lock.release(self._lock_fd)
            raise
        self.standby = Takeover(self)
        self.config_store = ConfigStore(
            loaded, self.state, publish=self.standby.publish, changed=self._config_changed
        )
        self.tenants = TenantService(self.state, self.state_dir, loaded.directory, graph_transport)
        self._job_factory = job_factory or (make_process_job if sync_process else in_process_job)
        self.metrics = RunMetrics(self.state, limiters)
        self.wire_runs()
        self.scheduler = Scheduler(self._fire_scheduled, clock, tick=self._tick)
        # Routers added to the control API, e.g. by the demo (its simulated directory).
        self.api_routers: list[Any] = []
        self.health = Health(
            self.state,
            lambda: self.config,
            self._retry,
            clock,
        )
        self._wire_watch()
        # On SQLite this daemon is the only one on its state and is active at once; on
        # PostgreSQL it is active if no other daemon holds the lead, else standby.
        self.standby.leadership.start()

    def _wire_watch(self) -> None:
        """Alerts, the weekly digest, the status board and the metrics read from it."""
        self.alert_backoff = 1.0  # seconds before a webhook's second try; doubles after
        self.alerts = AlertBook(
            self.state,
            lambda: self.config,
            lambda config: Notifier(config, self.config_dir, backoff=self.alert_backoff),
            self.clock,
            self.started_at,
        )
        self.digest = DigestBook(
            self.state,
            lambda: self.config,
            lambda config: Notifier(config, self.config_dir, backoff=self.alert_backoff),
            self.clock,
        )
        self.alert_watch = AlertWatch(
            self.alerts, active=lambda: self.active, also=[self.digest.check]
        )
        self.board = StatusBoard(self)
        # Latency and ticks, read from status at each scrape, next to the runs' metrics; the
        # ticks are those of the runner wired now (a lost lead wires new ones).
        self.metrics.registry.register(
            latency.StatusCollector(self.board.status, lambda: self.ticks.book.counts())
        )

    def wire_runs(self) -> None:
        """A runner, and the ticks that start runs on it."""
        self.job = self._job_factory(self)
        self.runner = SyncRunner(
            self.state,
            self.job,
            history=lambda: self.config.state.history_runs,
            on_progress=self._progress_changed,
            on_finish=self._run_finished,
            clock=self.clock,
        )
        self.ticks = Ticks(self.runner, self.state, lambda: self.config, self.clock)

    def last_run_peak_kb(self) -> int:
        """The last run's own peak memory (VmHWM, KiB) when runs have processes; else 0."""
        peaks = getattr(self.job, "peaks", None)
        return int(peaks[-1]) if peaks else 0

    @property
    def active(self) -> bool:
        return self.standby.active

    @property
    def loaded(self) -> config_file.LoadedConfig:
        return self.config_store.loaded

    @property
    def config(self) -> Config:
        return self.config_store.config

    @property
    def config_dir(self) -> Path:
        return self.config_store.directory

    @property
    def config_path(self) -> Path:
        return self.config_store.path

    def start(self) -> None:
        self.started = True
        if self.active:
            self.standby.take_over()
        else:
            self.apply_schedule(previous=None)
        self.scheduler.start()
        self.health.plan_retry()
        self.alert_watch.start()
        self.alert_watch.poke()

    def stop(self, deadline: float) -> bool:
        """Stop the scheduler and let a running sync stop at a safe point within ``deadline`` s.
        Safe to call again (a signal handler and a ``finally`` may both call it): the second
        call answers as the first did and releases nothing twice, so a descriptor number the
        process has reused since is never closed."""
        with self._stop_lock:
            if self._stopped is None:
                self._stopped = self._stop(deadline)
            return self._stopped

    def serve_graph(self) -> None:
        """Serve the injected transport to the runs' processes, once, before the first run
        (a short path: a Unix socket's is at most 107 bytes)."""
        if self.graph_relay is None and self._graph_transport is not None:
            folder = tempfile.mkdtemp(prefix="azgraph", dir="/tmp")
            atexit.register(shutil.rmtree, folder, True)  # also when the daemon is not stopped
            self.graph_socket = Path(folder) / "g.sock"
            self.graph_relay = serve_transport(self._graph_transport, self.graph_socket)

    def _stop(self, deadline: float) -> bool:
        self.scheduler.stop()
        self.health.stop()
        stopped = self.runner.shutdown(deadline)
        self.alert_watch.stop()
        self.standby.leadership.stop()
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
        self._lock_fd = -1
        if self.graph_relay is not None:
            self.graph_relay.should_exit = True
            shutil.rmtree(self.graph_socket.parent, ignore_errors=True)  # type: ignore[union-attr]
        return stopped

    def _config_changed(self, previous: Config) -> None:
        self.apply_schedule(previous)
        self.health.lift_changed(previous)

    def apply_schedule(self, previous: Config | None) -> None:
        """Give the scheduler the configuration; sync at once when sync was just turned on."""
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

    # --- runs ----------------------------------------------------------------------------

    def start_sync(
        self, trigger: str, *, dry_run: bool = False, options: dict[str, Any] | None = None
    ) -> int | None:
        if not self.active:
            if trigger == "manual":
                raise self.standby.refusal()
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

    def _retry(self, name: str) -> None:
        # Refused while another run holds the runner: that run's end plans the retry again.
        self.start_sync("retry", options={"tenant": name})

    def _tick(self, name: str) -> None:
        if self.active:  # a standby's ticks are the active daemon's to run
            self.ticks.tick(name)

    def _fire_scheduled(self, trigger: str) -> None:
        self.start_sync(trigger)

    def _run_finished(self, progress: Progress, outcome: Outcome, recorded: bool) -> None:
        self.ticks.finished(progress, outcome, recorded)
        if recorded and not progress.dry_run and outcome.status != "held":
            # "The last sync" of a tenant is the last run that did something for it.
            tenants = outcome.counts.get("tenants") or {}
            for name, result in tenants.items():
                if result.get("ok") and not result.get("quarantined"):
                    self.state.set_tenant(name, last_sync_at=utcnow())
        self.health.note(progress, outcome)
        self.health.plan_retry()
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
        self.board.publish()
        running = self.runner.current
        if running is None:
            sdnotify.notify("STATUS=idle")
        else:
            total = f"/{running.total}" if running.total is not None else ""
            sdnotify.notify(
                f"STATUS=sync run {running.run_id}: {running.phase} {running.done}{total}"
            )


def in_process_job(daemon: Daemon) -> SyncJob:
    """The engine on the runner's thread: tests of the engine through a daemon use it."""
    return make_job(daemon)
