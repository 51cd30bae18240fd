"""The job of a daemon whose runs each go to a process of their own (``worker.py``).

In one process, the run's threads (the engine and the help desk's parallel writers) and the
control API's thread take turns at the interpreter lock, and a status request waits behind
them. In a child process the run has its own. The runner's thread stays the owner of the
run: it starts the child (spawned: a fresh interpreter, never a fork of a daemon holding
database sessions), relays its progress to the run's context, passes the stop flag on, and
turns the child's last word, or the way it ended, into the run's outcome.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from azsyncd import paths, stop
from azsyncd.errors import Interrupted
from azsyncd.service.runs.job import JobHost
from azsyncd.service.runs.pipe import PROGRESS, STOP, Garbage, parse, without_password
from azsyncd.state.repository import TICK
from azsyncd.sync import quiet_tick
from azsyncd.sync.runner import Outcome, RunContext
from azsyncd.targets import factory

log = logging.getLogger(__name__)
# Within the daemon's own stop deadline (server.SYNC_STOP_DEADLINE, 20 s): the run is
# recorded before the daemon gives up waiting.
STOP_GRACE = 15.0
SEE_MORE = "its own lines in the journal (journalctl -u azsyncd) say more"
_EOF = object()


class ProcessHost(JobHost, Protocol):
    @property
    def config_path(self) -> Path: ...

    graph_socket: Path | None

    def serve_graph(self) -> None:
        """Serve the runs' directory on ``graph_socket`` if the daemon has to."""


WORKER = (sys.executable, "-m", "azsyncd.service.runs.worker")


def make_process_job(
    daemon: ProcessHost, *, stop_grace: float = STOP_GRACE, command: Sequence[str] = WORKER
) -> ProcessJob:
    """``command``: the worker's, given the daemon's pid as its last argument."""
    return ProcessJob(daemon, stop_grace, command)


class ProcessJob:
    """The daemon's job when each run goes to a process of its own."""

    def __init__(self, daemon: ProcessHost, stop_grace: float, command: Sequence[str]) -> None:
        self.daemon, self.stop_grace, self.command = daemon, stop_grace, command
        # Each ended run's own peak memory (KiB, its VmHWM), newest last.
        self.peaks = RecentPeaks()

    def __call__(self, ctx: RunContext) -> Outcome:
        daemon = self.daemon
        config = daemon.config
        if idle_tick(daemon, ctx):
            name = str(ctx.options.get("tenant", ""))
            return Outcome("succeeded", "", {"tenants": {name: {"ok": True, "read": "delta"}}})
        daemon.serve_graph()
        # The account's 429 lock, shared with the run's process, is then seen here too.
        factory.account_limiter(
            config,
            daemon.state.db,
            paths.shared_state_dir(config.state.shared_dir, daemon.state_dir),
        )
        return Worker(ctx, daemon, self.stop_grace, self.peaks).run(
            [*self.command, str(os.getpid())], run_spec(daemon, ctx)
        )


class RecentPeaks(list[int]):
    """The peaks of the last runs (a daemon lives long: it keeps no more than 100)."""

    def append(self, peak: int) -> None:
        super().append(peak)
        del self[:-100]


def idle_tick(daemon: JobHost, ctx: RunContext) -> bool:
    """A tick that read an empty delta in this process and has nothing else to do: no run
    process is started for it (``sync.quiet_tick``)."""
    progress = ctx.progress
    if progress.trigger != TICK or progress.dry_run or set(ctx.options) != {"tenant"}:
        return False
    name = str(ctx.options["tenant"])
    return quiet_tick.quiet(daemon.config, daemon.state, daemon.tenants, name, daemon.clock())


def run_spec(daemon: ProcessHost, ctx: RunContext) -> dict[str, Any]:
    """What the worker is told of its run. A password in the database URL stays out: the
    worker reads it from the configuration file, as it reads every secret file itself."""
    config = daemon.config  # the snapshot this run uses, as in the thread mode
    url = config.state.database_url
    document = config.model_dump(mode="json")
    document["state"]["database_url"] = without_password(url)
    progress = ctx.progress
    return {
        "config": document,
        "database_password": without_password(url) != url,
        "config_path": str(daemon.config_path),
        "config_dir": str(daemon.config_dir),
        "state_dir": str(daemon.state_dir),
        "graph_socket": str(daemon.graph_socket) if daemon.graph_socket else None,
        "run_id": ctx.run_id,
        "trigger": progress.trigger,
        "dry_run": progress.dry_run,
        "started_at": progress.started_at.isoformat(),
        "now": daemon.clock().isoformat(),  # the daemon's clock: the run keeps its offset
        "counts": progress.counts,
        "options": ctx.options,
        "log_level": logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
    }


class Worker:
    """One run's child process, seen from the daemon."""

    def __init__(
        self, ctx: RunContext, daemon: JobHost, stop_grace: float, peaks: list[int]
    ) -> None:
        self.ctx = ctx
        self.daemon = daemon
        self.stop_grace = stop_grace
        self.messages: queue.Queue[Any] = queue.Queue()
        self.peaks = peaks

    def run(self, command: list[str], spec: dict[str, Any]) -> Outcome:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            close_fds=True,  # the daemon's database sockets stay its own
        )
        assert proc.stdin is not None and proc.stdout is not None
        log.debug("run %d: in process %d", self.ctx.run_id, proc.pid)
        try:
            self._tell(proc, json.dumps(spec))  # one that died at once: its exit says why
            threading.Thread(
                target=self._read, args=(proc.stdout,), name=f"worker-{proc.pid}", daemon=True
            ).start()
            return self._follow(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                pipe.close()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self.messages.put(line)
        self.messages.put(_EOF)

    def _follow(self, proc: subprocess.Popen[str]) -> Outcome:
        last: dict[str, Any] | None = None
        asked_at: float | None = None
        while True:
            if asked_at is None and stop.requested():
                asked_at = time.monotonic()
                self._tell(proc, STOP)
            if asked_at is not None and time.monotonic() - asked_at > self.stop_grace:
                proc.kill()
                proc.wait()
                return Outcome(
                    "interrupted",
                    f"the sync did not reach a safe point within {self.stop_grace:.0f} s of"
                    " the daemon's stop; its process was killed",
                    dict(self.ctx.progress.counts),
                )
            try:
                line = self.messages.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is _EOF:
                break
            try:
                message = parse(line)
            except Garbage:
                proc.kill()
                proc.wait()
                return self._failed(f"its process wrote {line[:80]!r}, not a message; {SEE_MORE}")
            last = self._take(message) or last
        proc.wait()
        return self._ending(last, proc.returncode)

    def _take(self, message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message["kind"]
        if kind == "progress":
            fields = {key: message[key] for key in PROGRESS}
            self.ctx.report(**fields)
        elif kind == "changed":
            self.daemon.state.changed_elsewhere()
            self.ctx.report()  # status copies what the child wrote
        else:
            return message
        return None

    def _ending(self, last: dict[str, Any] | None, code: int) -> Outcome:
        if last is None:
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
            return self._failed(f"its process {how} before the run ended; {SEE_MORE}")
        factory.count_elsewhere(last.get("usage") or {})
        peak = last.get("peak_kb")
        self.peaks.append(peak if isinstance(peak, int) else 0)
        counts = dict(last.get("counts") or {})
        if last["kind"] == "interrupted":
            self.ctx.report(counts=counts)
            raise Interrupted()
        if last["kind"] == "failed":
            return Outcome("failed", f"the sync failed: {last['error']}", counts)
        return Outcome(str(last["status"]), str(last.get("message", "")), counts)

    def _failed(self, what: str) -> Outcome:
        log.error("run %d: %s", self.ctx.run_id, what)
        return Outcome("failed", f"the sync failed: {what}", dict(self.ctx.progress.counts))

    @staticmethod
    def _tell(proc: subprocess.Popen[str], word: str) -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(word + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it has ended already: its end of the run follows on the pipe
