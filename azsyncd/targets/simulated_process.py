"""A help desk's simulated account in a process of its own, for ``azsyncd demo --target``.

The demo starts it with ``start``; the account's module serves with ``serve``. The secret
goes on the account's stdin, never on its command line (which every user of the machine can
read); the port it serves on comes back first on its stdout; and it ends when its stdin
closes: when the demo stops it, or when the demo dies however it dies (kill -9 included).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


def start(
    module: str, name: str, secret: str, workdir: Path, *args: str
) -> tuple[str, Callable[[], None]]:
    """Run ``python -m module *args`` in ``workdir`` with ``secret`` on its stdin: the URL it
    serves on, and how to stop it. ``name`` (\"Zendesk\") is for the error if it fails."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=workdir,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(secret + "\n")
    proc.stdin.flush()
    port = proc.stdout.readline().strip()

    def stop() -> None:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    if not port.isdigit():
        stop()
        raise RuntimeError(f"the simulated {name} did not start (it said {port!r})")
    return f"http://127.0.0.1:{port}", stop


def secret(default: str) -> str:
    """In the account's process: the secret, the first line of stdin (``default`` if empty)."""
    return sys.stdin.readline().strip() or default


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(app: Callable[..., Iterable[bytes]]) -> None:
    """In the account's process: serve ``app`` on a free loopback port, its number first on
    stdout, until stdin closes. A Ctrl-C in the demo's terminal is the demo's to handle: the
    demo closes stdin when it is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the demo closes it, however it ends
    server.shutdown()
