"""One sync run in a process of its own: ``python -m azsyncd.service.runs.worker PARENT_PID``.

The daemon starts it for each run (``process.py``) so that the run's work never holds
the interpreter lock the control API needs. It opens its own state, tenants and target and
runs the same job as the daemon's thread mode (``job.make_job``). It dies with the daemon
(PR_SET_PDEATHSIG), and stops at its next safe point when told to, on SIGTERM or SIGINT
(systemd and Ctrl-C signal the daemon's whole group), or when its pipe to the daemon closes.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import azsyncd.targets.registry  # noqa: F401  (declares the [target.<kind>] tables to the config)
from azsyncd import logs, stop
from azsyncd.config import file as config_file
from azsyncd.config.model import Config
from azsyncd.directory.tenants import TenantService
from azsyncd.directory.transport import UnixSocketTransport
from azsyncd.errors import ConfigError, Interrupted, StateError
from azsyncd.service.heap import freeze_startup_heap
from azsyncd.service.runs.job import make_job
from azsyncd.service.runs.pipe import PROGRESS, STOP, Sender, without_password
from azsyncd.service.runs.schedule import Clock, utc_clock
from azsyncd.state import State, open_database
from azsyncd.sync.runner import Progress, RunContext
from azsyncd.targets import factory

log = logging.getLogger("azsyncd.worker")
PR_SET_PDEATHSIG = 1


@dataclass
class WorkerHost:
    """What ``make_job`` reads of the daemon, opened afresh in this process."""

    config: Config
    config_dir: Path
    state: State
    tenants: TenantService
    state_dir: Path
    clock: Clock


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when the daemon dies (kill -9 included)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent:  # the daemon died before the line above
        os._exit(1)


def watch_parent(pipe: IO[str], flag: threading.Event) -> None:
    """Set the stop flag on the daemon's word, or when its end of the pipe closes."""
    for line in pipe:
        if line.strip() == STOP:
            break
    flag.set()


def database_url(spec: dict[str, Any], config: Config, path: Path) -> str:
    """The state database's URL; a password in it is read from the file, never the pipe."""
    url = config.state.database_url
    if not spec.get("database_password"):
        return url
    on_disk = config_file.load(path).config.state.database_url
    if without_password(on_disk) != url:
        raise StateError(
            f"database_url in {path} changed since azsyncd loaded it; restart azsyncd"
            " (systemctl restart azsyncd) to use the new database"
        )
    return on_disk


def daemon_clock(spec: dict[str, Any]) -> Clock:
    """The daemon's clock (a test may have moved it): this process's, at the same offset."""
    if not spec.get("now"):
        return utc_clock
    offset = datetime.fromisoformat(spec["now"]) - utc_clock()
    return lambda: utc_clock() + offset


def peak_rss_kb() -> int:
    """This process's own high-water mark (VmHWM, KiB): the run's peak memory, apart from
    the daemon's (a spawned child's ru_maxrss starts at its parent's size)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(spec: dict[str, Any], sender: Sender, flag: threading.Event) -> None:
    path = Path(spec["config_path"])
    config = config_file.validate(spec["config"], str(path))
    state_dir, config_dir = Path(spec["state_dir"]), Path(spec["config_dir"])
    state = State(open_database(database_url(spec, config, path), state_dir))
    # Status shows the tenants' rows and the runs: the daemon reads them again on this word.
    state.on_change = lambda generation: sender.send("changed", generation=generation)
    socket = spec.get("graph_socket")
    transport = UnixSocketTransport(socket) if socket else None
    tenants = TenantService(state, state_dir, config_dir, transport)
    host = WorkerHost(config, config_dir, state, tenants, state_dir, daemon_clock(spec))
    progress = Progress(
        spec["run_id"],
        spec["trigger"],
        spec["dry_run"],
        datetime.fromisoformat(spec["started_at"]),
        counts=dict(spec["counts"]),
        options=dict(spec["options"]),
    )

    def report(current: Progress) -> None:
        sender.send("progress", **{key: getattr(current, key) for key in PROGRESS})

    ctx = RunContext(state, progress, progress.options, flag, report, host.clock)
    try:
        with stop.watching(flag):
            outcome = make_job(host)(ctx)
    except Interrupted:
        sender.send(
            "interrupted", counts=progress.counts, usage=factory.usage(), peak_kb=peak_rss_kb()
        )
    except Exception as exc:
        log.exception("run %d failed", progress.run_id)
        error = f"{type(exc).__name__}: {exc}"
        sender.send(
            "failed",
            error=error,
            counts=progress.counts,
            usage=factory.usage(),
            peak_kb=peak_rss_kb(),
        )
    else:
        sender.send(
            "outcome",
            status=outcome.status,
            message=outcome.message,
            counts=outcome.counts,
            usage=factory.usage(),  # the daemon's metrics count this run's calls
            peak_kb=peak_rss_kb(),  # the run's own peak memory, read at its end
        )
    finally:
        state.close()


def main() -> int:
    die_with_parent(int(sys.argv[1]))
    # Only messages go to the daemon: anything else printed lands on stderr (the journal).
    sender = Sender(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    flag = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: flag.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload is the daemon's; runs keep theirs
    spec: dict[str, Any] = json.loads(sys.stdin.readline() or "null") or {}
    logs.setup(spec.get("log_level", "info"))
    if not spec:
        log.error("no run was given on stdin; azsyncd starts this process itself")
        return 2
    threading.Thread(target=watch_parent, args=(sys.stdin, flag), daemon=True).start()
    freeze_startup_heap()  # as the daemon does before serving (server.settle_process)
    try:
        run(spec, sender, flag)
    except (ConfigError, StateError) as exc:
        sender.send("failed", error=str(exc), counts=spec.get("counts", {}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
