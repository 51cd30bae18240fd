"""A client-side limiter that keeps every caller under a help desk's published rate limits.

A sliding log per kind of call (GET, POST): at most ``limit`` calls in any ``window``
seconds, which also satisfies a server that counts per calendar minute. A call may count
toward several kinds at once (a listing that has its own sub-limit inside the account's
total): it goes out only when every one of them has room. A 429 locks every kind until the
lock ends. A server that says how many calls it counted (a ``X-RateLimit-Remaining`` header)
can tell the limiter of calls others made on the account (``note_used``), which then count
too. Thread-safe, so all workers share one limiter per account; ``shared_limits.py`` keeps the
same log in a database, for every process of the account. Waits end at once when the daemon
stops.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
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
        self.calls: Counter[str] = Counter()  # calls let out, by kind, for the metrics
        self.locks = 0  # 429 locks taken
        self._notes: dict[str, str] = {}

    def acquire(self, kind: str, *also: str) -> float:
        """Wait until a call of ``kind`` (and of each of ``also``, which it counts toward as
        well) may go out; returns the seconds waited."""
        kinds = (kind, *also)
        waited = 0.0
        while True:
            pause = self._take(kinds)
            if pause <= 0:
                with self._lock:
                    self.calls.update(kinds)
                return waited
            self.sleep(pause)
            waited += pause

    def _take(self, kinds: tuple[str, ...]) -> float:
        """Count a call of every one of ``kinds`` now and return 0, or return how long to wait
        (none is counted then)."""
        with self._lock:
            now = self._clock()
            if now < self._locked_until:
                return self._locked_until - now
            pause = 0.0
            for kind in kinds:
                calls = self._calls[kind]
                while calls and calls[0] <= now - self.window:
                    calls.popleft()
                if len(calls) >= self.limits[kind]:
                    pause = max(pause, calls[len(calls) - self.limits[kind]] + self.window - now)
            if pause > 0:
                return pause
            for kind in kinds:
                self._calls[kind].append(now)
            return 0.0

    def note_used(self, kind: str, used: int) -> int:
        """The server counted ``used`` calls of ``kind`` in its current window: the calls
        beyond those this log holds were made by others on the account (another app, a
        person's script). They count from now on, so the log's limit covers theirs too.
        Returns how many were added."""
        with self._lock:
            now = self._clock()
            calls = self._calls[kind]
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            others = min(used, self.limits[kind]) - len(calls)
            calls.extend([now] * max(0, others))
            return max(0, others)

    def lock_for(self, seconds: float) -> None:
        """Hold every call back for ``seconds`` (the server's 429 lock)."""
        self.locks += 1
        self._hold(seconds)

    def now(self) -> float:
        """The limiter's clock: its minute is the account's minute."""
        return self._clock()

    def pause(self, seconds: float) -> None:
        """Hold every call back for ``seconds`` without a 429: the help desk's own count says
        the account's budget is spent (another integration shares it)."""
        self._hold(seconds)

    def _hold(self, seconds: float) -> None:
        with self._lock:
            self._locked_until = max(self._locked_until, self._clock() + seconds)

    def used(self, kind: str) -> float:
        """The share of the window's budget of ``kind`` spent now (0 to 1)."""
        limit = self.limits[kind]
        return self._recent(kind) / limit if limit else 0.0

    def _recent(self, kind: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for at in self._calls[kind] if at > now - self.window)

    def note(self, key: str, text: str | None) -> None:
        """Say something about the account that status shows (``text`` None: no more), e.g.
        that the help desk refused bulk calls and writes go one at a time."""
        with self._lock:
            if text is None:
                self._notes.pop(key, None)
            else:
                self._notes[key] = text

    def notes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._notes)

    @property
    def locked_for(self) -> float:
        """Seconds left in the lock (0: none); incremental ticks wait for it to end."""
        with self._lock:
            return max(0.0, self._locked_until - self._clock())
