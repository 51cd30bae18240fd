"""The next try of a quarantined tenant: one timer, for the earliest one due."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from azsyncd.service.schedule import Clock


class QuarantineRetry:
    def __init__(self, fire: Callable[[str], None], clock: Clock) -> None:
        self._fire, self._clock = fire, clock
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.due: tuple[datetime, str] | None = None
        self._stopped = False

    def plan(self, tries: dict[str, datetime]) -> None:
        """Wait for the earliest of ``tries`` (tenant -> next try), replacing any earlier plan."""
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            if self._stopped:
                tries = {}
            self.due = min(((at, name) for name, at in tries.items()), default=None)
            if self.due is None:
                return
            delay = max(0.0, (self.due[0] - self._clock()).total_seconds())
            self._timer = threading.Timer(delay, self._fire, args=(self.due[1],))
            self._timer.daemon = True
            self._timer.name = f"retry-{self.due[1]}"
            self._timer.start()

    def stop(self) -> None:
        self._stopped = True
        self.plan({})
