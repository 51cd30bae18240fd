"""One daemon per state directory: a lock held for the process's life.

Two daemons on one state directory would sync at once and make the run history lie. The
lock is a POSIX record lock on ``azsyncd.lock``: the kernel drops it when the process dies
however it dies, and tells a second daemon which process holds it.
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

from azsyncd.errors import UserError

LOCK_NAME = "azsyncd.lock"
_FLOCK = "hhqqi"  # struct flock: l_type, l_whence, l_start, l_len, l_pid


def _holder(fd: int) -> int:
    """The pid of the process holding the lock, as the kernel reports it (0 if unknown)."""
    query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    return int(struct.unpack(_FLOCK, answer)[4])


def lock_state_dir(state_dir: Path) -> int:
    """Take the lock and return its descriptor (keep it open); UserError naming the holder."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pid = _holder(fd)
        os.close(fd)
        who = f"pid {pid}" if pid else "another process"
        raise UserError(
            f"another azsyncd ({who}) is using the state directory {state_dir}",
            "stop it first (systemctl stop azsyncd), or give this daemon its own --state-dir",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release(fd: int) -> None:
    """Drop the lock by closing its descriptor; -1 (released already) does nothing."""
    if fd >= 0:
        os.close(fd)
