"""The daemon process: the control socket, uvicorn serving the API on it, and signals.

- A socket file left by a crashed daemon is replaced; a live one makes us exit with a message.
- The socket's directory must be this user's (or root's) and writable by nobody else, and so
  must every directory above it (unless sticky), the credentials directory's too, or we refuse
  to start: whoever may write one could swap the socket, or the credentials, for their own.
- SIGTERM/SIGINT: stop accepting, let a running sync stop at a safe point within a
  deadline, remove the socket, exit 0. A second SIGINT forces the exit.
- SIGHUP: reload the configuration, keeping the last good one on error.
- A signal that arrives before the server runs (the socket already accepts connections while
  the daemon starts) is held and acted on once it does: an early SIGHUP must not kill us.
- systemd: READY=1 once the socket listens, STATUS= while syncing, STOPPING=1 on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import logging
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from azsyncd import paths
from azsyncd.config import credentials
from azsyncd.errors import UserError
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.service.heap import freeze_startup_heap
from azsyncd.service.socket import sdnotify
from azsyncd.service.socket.connections import GuardedH11, connection_cap, quiet_accept_errors

log = logging.getLogger(__name__)
SYNC_STOP_DEADLINE = 20.0
BACKLOG = 128
SWITCH_INTERVAL = 0.001  # seconds


def _socket_is_live(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def bind_control_socket(path: Path, mode: int = 0o660, group: str = "") -> socket.socket:
    """Bind and listen on ``path`` with ``mode`` from the first instant (no window of 0666)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o750 if group else 0o700)
    problem = paths.directory_problem(path.parent) or paths.ancestor_problem(path.parent)
    if problem:
        raise UserError(
            f"refusing to put the control socket in {path.parent}: {problem}",
            "use a directory only azsyncd's user can write, such as /run/azsyncd (--socket PATH)",
        )
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise UserError(
                f"{path} exists and is not a socket; refusing to replace it",
                "remove the file or choose another path with --socket",
            )
        if _socket_is_live(path):
            raise UserError(
                f"another azsyncd is already listening on {path}",
                "stop it first (systemctl stop azsyncd), or give this one another --socket",
            )
        log.warning("removing stale socket %s left by a daemon that did not stop cleanly", path)
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o777 & ~mode)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"another azsyncd is already listening on {path}", "stop it first"
            ) from None
        raise UserError(
            f"cannot listen on {path}: {exc.strerror}", "check the directory's permissions"
        ) from None
    finally:
        os.umask(old_umask)
    # The umask gave the socket its mode at bind; check it is our socket, never following a
    # link that could have been put in its place.
    st = path.lstat()
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
        sock.close()
        raise UserError(f"{path} was replaced while binding; refusing to use it", "try again")
    if group:
        try:
            os.chown(path, -1, grp.getgrnam(group).gr_gid, follow_symlinks=False)
        except (KeyError, PermissionError) as exc:
            log.warning(
                "socket group %r not applied (%s); only the daemon's user can connect", group, exc
            )
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


class HeldSignals:
    """SIGHUP, SIGTERM and SIGINT noted, not acted on, from before the socket listens until
    the server takes them over (SIGHUP's default action would end the process)."""

    SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: list[signal.Signals] = []

    def hold(self, signals: tuple[signal.Signals, ...] = SIGNALS) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in signals:
                signal.signal(sig, self._note)

    def _note(self, signum: int, _frame: object) -> None:
        self.received.append(signal.Signals(signum))

    def take(self) -> list[signal.Signals]:
        received, self.received = self.received, []
        return received


class _Server(uvicorn.Server):
    """uvicorn, with our own signals (it re-raises SIGTERM after shutdown, which exits 143)."""

    def __init__(
        self, config: uvicorn.Config, daemon: Daemon, held: HeldSignals | None = None
    ) -> None:
        super().__init__(config)
        self.daemon = daemon
        self.held = held or HeldSignals()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            # Signals reach the main thread only; an embedded server is stopped by should_exit.
            yield
            return
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._exit, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self._exit, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        for sig in self.held.take():  # those that came while the daemon was starting
            if sig == signal.SIGHUP:
                self._reload()
            else:
                self._exit(sig.name)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.held.hold((signal.SIGHUP,))  # nor may a SIGHUP while the sync stops

    def _exit(self, name: str) -> None:
        if self.should_exit:
            self.force_exit = True
        log.info("%s received: shutting down", name)
        self.should_exit = True

    def _reload(self) -> None:
        log.info("SIGHUP received: reloading the configuration")
        asyncio.get_running_loop().run_in_executor(None, self.daemon.config_store.reload)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        quiet_accept_errors(asyncio.get_running_loop())
        await super().startup(sockets)
        if self.started:
            sdnotify.notify("READY=1\nSTATUS=idle")


def control_server(daemon: Daemon, held: HeldSignals | None = None) -> _Server:
    """The control API's server; ``run(sockets=[...])`` it on a bound socket."""
    GuardedH11.cap = connection_cap()
    config = uvicorn.Config(
        create_app(daemon),
        http=GuardedH11,  # peer credentials, request deadline, connection cap
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        limit_concurrency=GuardedH11.cap + 1,  # GuardedH11 keeps connections at the cap
        backlog=BACKLOG,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
    )
    return _Server(config, daemon, held)


def settle_process() -> None:
    """Make the daemon's process answer its socket promptly while a sync computes:

    - the objects startup built (modules, the app, the configuration) leave the garbage
      collector's sight (``gc.freeze``): a full collection during a sync then scans only what
      the sync made, where scanning ~100k startup objects too took 60-170 ms each time, and
      every request waited for it;
    - the interpreter hands its lock over every 1 ms instead of 5 (``SWITCH_INTERVAL``): each
      time the API's thread wakes (a request, a reply written) it waits for the sync thread
      to let go of the lock, up to one interval.
    """
    freeze_startup_heap()
    sys.setswitchinterval(SWITCH_INTERVAL)


def check_credentials_dir(daemon: Daemon) -> None:
    """UserError if the credentials directory (or any above it) could be swapped."""
    directory = credentials.credentials_dir(
        daemon.config.control.credentials_dir, daemon.config_dir
    )
    problem = paths.ancestor_problem(directory)
    if problem is None and directory.exists():
        problem = paths.directory_problem(directory)
    if problem:
        raise UserError(
            f"refusing to keep credentials in {directory}: {problem}",
            "fix the directory's owner or mode, or set [control] credentials_dir to a directory"
            " only azsyncd's user can write",
        )


def serve(daemon: Daemon, socket_path: Path) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    control = daemon.config.control
    check_credentials_dir(daemon)
    held = HeldSignals()
    held.hold()  # before the socket listens: a client may signal us as soon as it connects
    sock = bind_control_socket(socket_path, int(control.mode, 8), control.group)
    server = control_server(daemon, held)
    log.info("azsyncd listening on %s (config %s)", socket_path, daemon.loaded.path)
    try:
        daemon.start()
        settle_process()
        server.run(sockets=[sock])
    finally:
        sdnotify.notify("STOPPING=1")
        daemon.stop(SYNC_STOP_DEADLINE)
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        log.info("azsyncd stopped")
    return 0
