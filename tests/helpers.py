"""Helpers shared by tests: writing configs, starting a real daemon process."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

MINIMAL = """
[account]
name = "Test Desk"
timezone = "UTC"
"""


def write_config(directory: Path, text: str = MINIMAL, mode: int = 0o600) -> Path:
    path = directory / "azsyncd.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(mode)
    return path


def short_dir() -> Path:
    """A short directory for sockets: AF_UNIX paths are limited to 107 bytes."""
    return Path(tempfile.mkdtemp(prefix="az", dir="/tmp"))


# A wait is given as it would take on an idle machine; on a busy one (other test workers,
# other builds) everything runs slower, so every deadline of the tests stretches with the
# load: the 1-minute load average per core, at least 1, at most LOAD_CAP.
LOAD_CAP = 8.0


def load_factor() -> float:
    """How many times slower than idle this machine runs now, by its load per core."""
    return min(LOAD_CAP, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))


class Deadline:
    """``seconds`` as an idle machine would take them: while the machine is busier the
    deadline moves out with the load (never in). Every wait of the tests uses one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.factor = load_factor()

    def left(self) -> float:
        """Seconds left; 0 once it has passed."""
        self.factor = max(self.factor, load_factor())
        return max(0.0, self.started + self.seconds * self.factor - time.monotonic())

    def passed(self) -> bool:
        return self.left() <= 0

    def __str__(self) -> str:
        return f"{self.seconds * self.factor:.1f} s ({self.seconds:g} s x{self.factor:.1f} load)"


def within(seconds: float) -> float:
    """The timeout to give a blocking call (``Event.wait``, ``join``, ``communicate``):
    ``seconds`` as an idle machine takes them, stretched with the load as ``Deadline``'s."""
    return Deadline(seconds).left()


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> Any:
    """Poll ``predicate`` until it gives something true (returned), else fail naming
    ``what``; ``timeout`` is for an idle machine and stretches with the load (Deadline)."""
    deadline = Deadline(timeout)
    while True:
        found = predicate()
        if found:
            return found
        if deadline.passed():
            raise AssertionError(f"{what}: not within {deadline}")
        time.sleep(interval)


def wait_until(check: Callable[[], Any], timeout: float = 30) -> None:
    """``wait_for`` by its older name (a check and an idle machine's timeout)."""
    wait_for(check, timeout, "the condition (wait_until)")


async def wait_for_async(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> Any:
    """``wait_for`` inside an event loop (Textual's Pilot): the loop runs while it waits."""
    deadline = Deadline(timeout)
    while True:
        found = predicate()
        if found:
            return found
        if deadline.passed():
            raise AssertionError(f"{what}: not within {deadline}")
        await asyncio.sleep(interval)


def wait_for_socket(
    path: Path, timeout: float = 15.0, proc: subprocess.Popen[str] | None = None
) -> None:
    """Until something listens on ``path``; a daemon that exits first fails at once."""

    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"daemon exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
                return True
        except OSError:
            return False

    wait_for(listening, timeout, f"no daemon listening on {path}")


def socket_client(path: Path, timeout: float = 10) -> httpx.Client:
    """An HTTP client of a daemon's control socket."""
    return httpx.Client(
        transport=httpx.HTTPTransport(uds=str(path)), base_url="http://azsyncd", timeout=timeout
    )


@dataclass
class DaemonProcess:
    proc: subprocess.Popen[str]
    socket: Path
    config: Path
    state_dir: Path
    log: Path | None = None  # where stderr goes, when not to a pipe

    def client(self) -> httpx.Client:
        return socket_client(self.socket)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=Deadline(timeout).left())
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, self.log.read_text() if self.log else err

    def log_text(self) -> str:
        assert self.log is not None, "start the daemon with log= to read its log while it runs"
        return self.log.read_text()


def daemon_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "azsyncd.cli", *args]


@contextmanager
def running_daemon(
    config: Path,
    *,
    env: dict[str, str] | None = None,
    socket_path: Path | None = None,
    wait: bool = True,
    state_dir: Path | None = None,
    log: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[DaemonProcess]:
    """A daemon process; ``log``: its stderr goes to that file (readable while it runs)."""
    base = short_dir()
    sock = socket_path or base / "azsyncd.sock"
    state = state_dir or base / "state"
    stderr = log.open("a") if log else subprocess.PIPE
    proc = subprocess.Popen(
        daemon_command(
            "run", "--config", str(config), "--socket", str(sock), "--state-dir", str(state)
        ),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    if log:
        stderr.close()  # type: ignore[union-attr]
    daemon = DaemonProcess(proc, sock, config, state, log)
    try:
        if wait:
            wait_for_socket(sock, proc=proc)
        yield daemon
    finally:
        if proc.poll() is None:
            daemon.stop()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Served:
    path: Path
    server: Any  # the uvicorn server, to look at its connections


@contextmanager
def served_in_thread(daemon: Any, path: Path | None = None, mode: int = 0o600) -> Iterator[Served]:
    """A Daemon built in this process, serving its control API on a real Unix socket."""
    from azsyncd.service.socket.server import bind_control_socket, control_server

    path = path or short_dir() / "azsyncd.sock"
    sock = bind_control_socket(path, mode)
    server = control_server(daemon)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    daemon.start()
    thread.start()
    wait_for(lambda: server.started, 15, "the control server started", interval=0.01)
    try:
        yield Served(path, server)
    finally:
        server.should_exit = True
        thread.join(within(10))
        daemon.stop(5)
        sock.close()
        path.unlink(missing_ok=True)


class FakeClock:
    """A clock that moves only when a test moves it; for the scheduler and the daemon."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
