"""Runs one sync at a time on a worker thread, with progress and a safe way to stop it.

An incremental tick is kept in the history only if it did something (a change written, a
contact failed, a tenant not read); an idle one is discarded with its log, so that "the
last sync" and the history mean runs that did something.
"""

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
from azsyncd.state.repository import TICK

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
    options: dict[str, Any] = field(default_factory=dict)  # what was asked: tenant, user

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


# A tenant's leaver and contact-group counts, next to the contacts' own.
SIDE_COUNTS = (
    "left",
    "returned",
    "grouped",
    "ungrouped",
    "failed_left",
    "failed_returned",
    "failed_grouped",
    "failed_ungrouped",
    "started",
    "failed_started",
)


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | partial | failed | interrupted | held | skipped
    message: str = ""
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def did_something(self) -> bool:
        """A change written (leavers and group memberships too), a contact that failed, or
        anything short of success (a run that read nothing did nothing)."""
        return self.status not in ("succeeded", "skipped") or any(
            self.counts.get(kind, 0) for kind in ("new", "updated", "failed", *SIDE_COUNTS)
        )


# Runs recorded only when they did something; quiet in the journal until then.
QUIET_TRIGGERS = frozenset({TICK})
Finished = Callable[[Progress, Outcome, bool], None]


class RunContext:
    """What a sync job gets: its run, a log, progress reporting and the stop flag."""

    def __init__(
        self,
        state: State,
        progress: Progress,
        options: dict[str, Any],
        stop: threading.Event,
        on_progress: Callable[[Progress], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.state = state
        self.now = clock  # the daemon's clock: tests move it, the sync's own timings do not
        self.progress = progress
        self.options = options
        self._stop = stop
        self._on_progress = on_progress
        self._quiet = progress.trigger in QUIET_TRIGGERS

    @property
    def run_id(self) -> int:
        return self.progress.run_id

    def log(self, message: str, level: str = "info") -> None:
        self.state.log(self.run_id, message, level)
        if level != "info":
            severity = logging.WARNING
        else:  # a tick every few minutes must not fill the journal with "nothing to do"
            severity = logging.DEBUG if self._quiet else logging.INFO
        log.log(severity, "run %d: %s", self.run_id, message)

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
        on_finish: Finished = lambda progress, outcome, recorded: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._state = state
        self._job = job
        self._clock = clock
        self._history = history
        self._on_progress = on_progress
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handed_over = False
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
            self._progress = Progress(run_id, trigger, dry_run, utcnow(), options=options)
            self._thread = threading.Thread(
                target=self._work,
                args=(self._progress, options),
                name=f"sync-{run_id}",
                daemon=True,
            )
            self._thread.start()
            return run_id

    def _work(self, progress: Progress, options: dict[str, Any]) -> None:
        ctx = RunContext(self._state, progress, options, self._stop, self._on_progress, self._clock)
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
        recorded = progress.trigger not in QUIET_TRIGGERS or outcome.did_something
        try:
            if self._handed_over:
                recorded = False
                ctx.log("this daemon lost the lead: the active daemon resumes this run", "warning")
            elif recorded:
                self._record(ctx, outcome)
            else:
                self._state.discard_run(progress.run_id)
                log.debug("run %d (%s) found nothing to do; not kept", progress.run_id, TICK)
            try:
                self._on_finish(progress, outcome, recorded)
            except Exception:  # bookkeeping after the run must not lose the run
                log.exception("after run %d", progress.run_id)
        finally:
            with self._finished:
                self._progress = None
                self._finished.notify_all()
            self._on_progress(progress)

    def _record(self, ctx: RunContext, outcome: Outcome) -> None:
        run_id = ctx.run_id
        message = f"sync {outcome.status}" + (f": {outcome.message}" if outcome.message else "")
        level = {"succeeded": "info", "held": "warning", "skipped": "warning"}
        ctx.log(message, level.get(outcome.status, "error"))
        if ctx.progress.trigger in QUIET_TRIGGERS and outcome.status == "succeeded":
            counts = ", ".join(f"{outcome.counts.get(k, 0)} {k}" for k in ("new", "updated"))
            log.info("run %d (%s): %s", run_id, ctx.progress.trigger, counts)
        self._state.finish_run(run_id, outcome.status, outcome.message, outcome.counts)
        self._state.prune_history(self._history())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running sync, if any, to end; False on timeout."""
        with self._finished:
            return self._finished.wait_for(lambda: self._progress is None, timeout)

    def shutdown(self, deadline: float) -> bool:
        """Ask a running sync to stop at its next safe point; True if it did in time."""
        self._stop.set()
        return self.wait(deadline)

    def hand_over(self, deadline: float) -> bool:
        """Stop as ``shutdown`` does, but leave the run as running, unrecorded: the daemon that
        took the lead records it interrupted and resumes it, whether it looks before this run
        has stopped or after."""
        self._handed_over = True
        return self.shutdown(deadline)
