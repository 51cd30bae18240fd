"""Runs one sync at a time on a worker thread, with progress and a safe way to stop it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from azsyncd import stop
from azsyncd.errors import Interrupted
from azsyncd.state import State
from azsyncd.state.fields import utcnow

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"sync run {run_id} is already running")
        self.run_id = run_id


@dataclass
class Progress:
    """What a running sync has done so far; read by GET /v1/status while it runs."""

    run_id: int
    trigger: str
    dry_run: bool
    started_at: datetime
    phase: str = "starting"
    tenant: str = ""
    done: int = 0
    total: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "phase": self.phase,
            "tenant": self.tenant,
            "done": self.done,
            "total": self.total,
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | partial | failed
    message: str = ""
    counts: dict[str, Any] = field(default_factory=dict)


class RunContext:
    """What a sync job gets: its run, a log, progress reporting and the stop flag."""

    def __init__(
        self,
        state: State,
        progress: Progress,
        options: dict[str, Any],
        stop: threading.Event,
        on_progress: Callable[[Progress], None],
    ) -> None:
        self.state = state
        self.progress = progress
        self.options = options
        self._stop = stop
        self._on_progress = on_progress

    @property
    def run_id(self) -> int:
        return self.progress.run_id

    def log(self, message: str, level: str = "info") -> None:
        self.state.log(self.run_id, message, level)
        log.log(
            logging.WARNING if level != "info" else logging.INFO, "run %d: %s", self.run_id, message
        )

    def report(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.progress, key, value)
        self._on_progress(self.progress)

    def checkpoint(self) -> None:
        """A safe point: raise Interrupted if the daemon is stopping."""
        if self._stop.is_set():
            raise Interrupted()


class SyncJob(Protocol):
    def __call__(self, ctx: RunContext) -> Outcome: ...


class SyncRunner:
    def __init__(
        self,
        state: State,
        job: SyncJob,
        *,
        history: Callable[[], int] = lambda: 30,
        on_progress: Callable[[Progress], None] = lambda p: None,
    ) -> None:
        self._state = state
        self._job = job
        self._history = history
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: Progress | None = None
        self._finished = threading.Condition()

    @property
    def current(self) -> Progress | None:
        return self._progress

    def start(
        self, trigger: str, *, dry_run: bool = False, options: dict[str, Any] | None = None
    ) -> int:
        """Start a run on the worker; AlreadyRunning if one runs (never two at once)."""
        with self._lock:
            if self._progress is not None:
                raise AlreadyRunning(self._progress.run_id)
            if self._stop.is_set():
                raise Interrupted()
            options = options or {}
            run_id = self._state.start_run(trigger, dry_run=dry_run, options=options)
            self._progress = Progress(run_id, trigger, dry_run, utcnow())
            self._thread = threading.Thread(
                target=self._work,
                args=(self._progress, options),
                name=f"sync-{run_id}",
                daemon=True,
            )
            self._thread.start()
            return run_id

    def _work(self, progress: Progress, options: dict[str, Any]) -> None:
        ctx = RunContext(self._state, progress, options, self._stop, self._on_progress)
        kind = [progress.trigger]
        kind += ["full reconciliation"] if options.get("full") else []
        kind += ["dry run"] if progress.dry_run else []
        ctx.log(f"sync started ({', '.join(kind)})")
        try:
            with stop.watching(self._stop):
                outcome = self._job(ctx)
        except Interrupted:
            outcome = Outcome(
                "interrupted",
                "stopped at a safe point because the daemon is shutting down",
                dict(progress.counts),
            )
        except Exception as exc:  # a failed run is recorded, never lost
            log.exception("run %d failed", progress.run_id)
            outcome = Outcome(
                "failed", f"the sync failed: {type(exc).__name__}: {exc}", dict(progress.counts)
            )
        try:
            ctx.log(
                f"sync {outcome.status}" + (f": {outcome.message}" if outcome.message else ""),
                "info" if outcome.status == "succeeded" else "error",
            )
            self._state.finish_run(progress.run_id, outcome.status, outcome.message, outcome.counts)
            self._state.prune_history(self._history())
        finally:
            with self._finished:
                self._progress = None
                self._finished.notify_all()
            self._on_progress(progress)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running sync, if any, to end; False on timeout."""
        with self._finished:
            return self._finished.wait_for(lambda: self._progress is None, timeout)

    def shutdown(self, deadline: float) -> bool:
        """Ask a running sync to stop at its next safe point; True if it did in time."""
        self._stop.set()
        return self.wait(deadline)
