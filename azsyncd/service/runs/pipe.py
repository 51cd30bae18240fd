"""The messages between the daemon and a sync run's process: one JSON object a line.

Daemon to worker (its stdin): the run's spec first, then ``stop`` when the run must end at
its next safe point. Worker to daemon (a copy of its stdout): ``progress`` (what the run
reports), ``changed`` (it wrote something status shows), then one last message: ``outcome``,
``interrupted`` or ``failed``, with the calls it made (``usage``) and its own peak memory
(``peak_kb``, its VmHWM at the end). Secrets never travel here: the worker reads secret
files itself.
"""

from __future__ import annotations

import json
import threading
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

STOP = "stop"
LAST = frozenset({"outcome", "interrupted", "failed"})
KINDS = LAST | {"progress", "changed"}
PROGRESS = ("phase", "tenant", "done", "total", "counts")  # what a progress message carries


class Garbage(ValueError):
    """A line that is not one of the worker's messages."""


class Sender:
    """Writes messages on a pipe, whole lines only, from any thread."""

    def __init__(self, pipe: IO[str]) -> None:
        self._pipe = pipe
        self._lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"kind": kind, **fields}) + "\n"
        with self._lock:
            self._pipe.write(line)
            self._pipe.flush()


def parse(line: str) -> dict[str, Any]:
    """One message from the worker; Garbage if the line is not one."""
    try:
        message = json.loads(line)
    except ValueError:
        raise Garbage(line) from None
    if not isinstance(message, dict) or message.get("kind") not in KINDS:
        raise Garbage(line)
    return message


def without_password(url: str) -> str:
    """A database URL with any password in it taken out: what may go through the pipe."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    netloc = user + (f"[{host}]" if ":" in host else host)
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=netloc))
