"""Opening a PFX in a process of its own, under a time limit.

``pfx_limits`` refuses the iteration counts it can read; the key bags inside an encrypted part
it cannot: their counts are only seen after decrypting. Opening the file (OpenSSL's key
derivations, which hold the interpreter lock) therefore runs here, in a child process: the
daemon's threads keep answering, SIGTERM still stops the daemon, and a child that has not
finished within ``OPEN_SECONDS`` is killed and the PFX refused. At most ``SLOTS`` children run
at once; the child's CPU time is capped too, and it dies with the daemon.

Protocol: the child reads one JSON object from stdin ({"pfx": base64, "passphrase": base64})
and writes one word: ``ok``, ``passphrase`` (cannot be opened with it) or ``incomplete`` (no key
or no certificate). Nothing it prints holds the PFX or its passphrase.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

OPEN_SECONDS = 10.0
SLOTS = 2
PR_SET_PDEATHSIG = 1
_slots = threading.BoundedSemaphore(SLOTS)


class TooSlow(Exception):
    """The PFX was not opened within the time limit (or no slot came free in it)."""


@contextlib.contextmanager
def _slot(deadline: float) -> Iterator[None]:
    if not _slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise TooSlow("other PFX files are being opened")
    try:
        yield
    finally:
        _slots.release()


def open_pfx(data: bytes, passphrase: bytes, seconds: float = OPEN_SECONDS) -> str:
    """The child's verdict on the PFX: "ok", "passphrase" or "incomplete"; TooSlow if it did
    not come within ``seconds``."""
    deadline = time.monotonic() + seconds
    request = json.dumps(
        {
            "pfx": base64.b64encode(data).decode("ascii"),
            "passphrase": base64.b64encode(passphrase).decode("ascii"),
        }
    ).encode("ascii")
    with _slot(deadline):
        remaining = max(0.1, deadline - time.monotonic())
        try:
            done = subprocess.run(
                [sys.executable, "-m", "azsyncd.config.pfx_child", str(os.getpid())],
                input=request,
                capture_output=True,
                timeout=remaining,
                close_fds=True,
            )
        except subprocess.TimeoutExpired:
            raise TooSlow(f"not opened within {seconds:g} s") from None
    verdict = done.stdout.decode("ascii", errors="replace").strip()
    if verdict not in ("ok", "passphrase", "incomplete"):
        # Killed for its CPU time (SIGXCPU), or crashed: too much work either way.
        raise TooSlow(f"the check ended with exit code {done.returncode}")
    return verdict


def _limit_this_process(parent: int) -> None:
    with contextlib.suppress(OSError, ValueError):
        seconds = int(OPEN_SECONDS) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the daemon died before the line above
        os._exit(1)


def main() -> int:
    _limit_this_process(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    from cryptography.hazmat.primitives.serialization import pkcs12

    request = json.loads(sys.stdin.buffer.read(1024 * 1024))
    data = base64.b64decode(request["pfx"])
    passphrase = base64.b64decode(request["passphrase"])
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, passphrase or None)
    except (ValueError, TypeError):
        print("passphrase")
        return 0
    print("ok" if key is not None and cert is not None else "incomplete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
