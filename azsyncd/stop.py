"""The daemon-is-stopping flag, seen by every wait and every outside call of a sync run.

The runner sets the flag for its worker thread (``watching``); threads that work for the
run take it along (``carry``). Waits end early and raise ``Interrupted``, so a stop is
honoured within a fraction of a second wherever the run is: paging, writing, backing off.
Outside a run the flag is never set and these functions behave like plain waits.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from azsyncd.errors import Interrupted

P = ParamSpec("P")
R = TypeVar("R")

_flag: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "azsync_stop", default=None
)


@contextmanager
def watching(event: threading.Event) -> Iterator[None]:
    """Everything run inside (on this thread, and carried to others) honours ``event``."""
    token = _flag.set(event)
    try:
        yield
    finally:
        _flag.reset(token)


def carry(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` bound to the caller's stop flag, to run on another thread."""
    event = _flag.get()

    def bound(*args: P.args, **kwargs: P.kwargs) -> R:
        if event is None:
            return function(*args, **kwargs)
        with watching(event):
            return function(*args, **kwargs)

    return bound


def requested() -> bool:
    event = _flag.get()
    return event is not None and event.is_set()


def check() -> None:
    """A safe point: raise Interrupted if the daemon is stopping."""
    if requested():
        raise Interrupted()


def sleep(seconds: float) -> None:
    """Wait ``seconds``, or raise Interrupted as soon as the daemon is stopping."""
    event = _flag.get()
    if event is None:
        time.sleep(max(0.0, seconds))
        return
    if event.wait(max(0.0, seconds)):
        raise Interrupted()
