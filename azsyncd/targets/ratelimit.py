"""A client-side limiter that keeps every caller under a help desk's published rate limits.

A sliding log per kind of call (GET, POST): at most ``limit`` calls in any ``window``
seconds, which also satisfies a server that counts per calendar minute. A 429 locks every
kind until the lock ends. Thread-safe, so all workers share one limiter per account;
``shared_limits.py`` keeps the same log in a database, for every process of the account.
Waits end at once when the daemon stops.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from azsyncd import stop


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, int],
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = stop.sleep,
    ) -> None:
        self.limits = dict(limits)
        self.window = window
        self._clock = clock
        self.sleep = sleep
        self._calls: dict[str, deque[float]] = {kind: deque() for kind in limits}
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, kind: str) -> float:
        """Wait until a call of ``kind`` may go out; returns the seconds waited."""
        waited = 0.0
        while True:
            pause = self._take(kind)
            if pause <= 0:
                return waited
            self.sleep(pause)
            waited += pause

    def _take(self, kind: str) -> float:
        """Count a call of ``kind`` now and return 0, or return how long to wait."""
        with self._lock:
            now = self._clock()
            if now < self._locked_until:
                return self._locked_until - now
            calls = self._calls[kind]
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) < self.limits[kind]:
                calls.append(now)
                return 0.0
            return calls[0] + self.window - now

    def lock_for(self, seconds: float) -> None:
        """Hold every call back for ``seconds`` (the server's 429 lock)."""
        with self._lock:
            self._locked_until = max(self._locked_until, self._clock() + seconds)

    @property
    def locked_for(self) -> float:
        """Seconds left in the lock (0: none); incremental ticks wait for it to end."""
        with self._lock:
            return max(0.0, self._locked_until - self._clock())
