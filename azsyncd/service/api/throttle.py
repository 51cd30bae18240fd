"""Calls a socket user may make at most so often: each group search asks Microsoft Graph.

A token bucket per caller (by uid from the socket): ``burst`` calls at once, then one every
``every`` seconds. A few lines rather than pyrate-limiter: one counter per local user, in
memory, and the answer is "how long to wait", never a wait in the request's thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class PerCaller:
    def __init__(
        self, burst: int = 10, every: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.every, self._clock = burst, every, clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # caller -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, caller: Hashable) -> float:
        """0 if ``caller`` may call now (and the call is counted), else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) / self.every)
            if tokens < 1:
                self._buckets[caller] = (tokens, now)
                return (1 - tokens) * self.every
            self._buckets[caller] = (tokens - 1, now)
            if len(self._buckets) > 4096:  # full buckets carry no state: forget them
                full = [k for k, (t, w) in self._buckets.items() if t + (now - w) >= self.burst]
                for key in full:
                    del self._buckets[key]
            return 0.0
