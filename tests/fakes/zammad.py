"""The fake Zammad of the tests and the benchmark: the simulated Zammad the demo serves
(``azsyncd/targets/zammad/simulator.py``, which follows the Zammad API notes: substring
search, indexing lag, whole-set replacement of roles and organizations, duplicate emails as
422...), plus what tests need of it: a record of every call, faults (statuses to answer
before serving, 429s with Retry-After, slow writes), and the calls in the busiest minute.

In process through ``httpx.WSGITransport``, over real HTTP on loopback (``servers.serve``),
or in a process of its own: ``python -m tests.fakes.zammad TOKEN [SCALE]`` prints its port
first; ``GET /api/v1/__stats__`` answers what it was made to do (for the benchmark).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from azsyncd.targets.zammad.simulator import API, SimulatedZammad
from tests.fakes.servers import serve_forever


class FakeZammad(SimulatedZammad):
    def __init__(self, token: str = "token", **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.calls: list[tuple[str, str, float]] = []  # (method, path and query, clock)
        self.writes: list[tuple[str, str, Any]] = []  # (method, path, the JSON sent)
        self.fail_next: list[int] = []  # statuses to answer with before serving normally
        self.throttle: list[float] = []  # Retry-After seconds of 429s to answer first
        self.delay = 0.0  # seconds each write takes, to make a sync slow enough to watch
        self._calls_lock = threading.Lock()

    def respond(
        self, method: str, path: str, query: dict[str, str], raw: bytes, auth: str
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        with self._calls_lock:
            shown = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            self.calls.append((method, shown, self.clock()))
            if method in ("POST", "PUT", "DELETE"):
                self.writes.append((method, path.removeprefix(API), _json(raw)))
            if path == API + "__stats__":
                return 200, self.stats(), []
            if self.throttle:
                retry = [("Retry-After", f"{self.throttle.pop(0):g}")]
                return 429, {"error": "Too Many Requests"}, retry
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "injected"}, []
        if self.delay and method in ("POST", "PUT"):
            time.sleep(self.delay)
        return super().respond(method, path, query, raw, auth)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "posts": self.count("POST", "users"),
            "puts": self.count("PUT", "users/"),
            "gets": sum(1 for m, _, _ in self.calls if m == "GET"),
            "users": len(self.users),
            "deleted": len(self.deleted),
            "busiest_minute": self.busiest_minute(),
        }

    def count(self, method: str, route: str) -> int:
        """Calls of ``method`` to ``route`` (the path after /api/v1/; ending in "/": every
        path under it)."""
        prefix = API + route
        return sum(
            1
            for m, path, _ in self.calls
            if m == method
            and (path.startswith(prefix) if route.endswith("/") else path.split("?")[0] == prefix)
        )

    def busiest_minute(self) -> int:
        """The most calls the fake received in any 60 s of its clock."""
        times = sorted(at for _, _, at in self.calls)
        busiest, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 60:
                start += 1
            busiest = max(busiest, end - start + 1)
        return busiest

    def customer(self, email: str, **values: Any) -> dict[str, Any]:
        return self.add_user(["Customer"], email=email, **values)

    def agent(self, email: str, **values: Any) -> dict[str, Any]:
        return self.add_user(["Agent"], email=email, **values)

    def role_names(self, user: dict[str, Any]) -> list[str]:
        return [self.roles[r]["name"] for r in user["role_ids"]]


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def main() -> None:
    """``TOKEN [SCALE]``: one minute of the fake's clock lasts 60/SCALE s (the benchmark's
    limiter runs on the same scaled clock); the port is printed first."""
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    serve_forever(FakeZammad(sys.argv[1], clock=lambda: time.monotonic() * scale))


if __name__ == "__main__":
    main()
