"""The fake Freshservice of the tests: the simulated account of the package
(``azsyncd/targets/freshservice/simulated.py``, written from the API notes, traps included),
plus what tests need: faults, a slow answer, counters, and its own process for the
benchmark (``python -m tests.fakes.freshservice PLAN SCALE``, serving ``GET /__stats__``).
One fake, whichever way a test reaches it: an httpx transport, or real HTTP on loopback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from azsyncd.targets.freshservice.simulated import (
    Request,
    SimulatedFreshservice,
    custom_field,
    dropdown,
)
from tests.fakes.servers import serve_forever

__all__ = ["FakeFreshservice", "custom_field", "dropdown"]


class FakeFreshservice(SimulatedFreshservice):
    def __init__(self, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        # Answers to give before serving normally, after the call is counted: a status, or
        # (status, raw body) for an answer of another shape.
        self.fail_next: list[int | tuple[int, bytes]] = []
        self.delay = 0.0  # seconds each write takes, to make a sync slow enough to interrupt
        self.created: dict[str, int] = {}  # address -> requesters created for it

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/__stats__":
            return self._stats(start_response)
        if self.delay and environ["REQUEST_METHOD"] != "GET":
            time.sleep(self.delay)
        with self._lock:
            fault = self.fail_next.pop(0) if self.fail_next else None
        if isinstance(fault, tuple):
            status, raw = fault
            with self._lock:
                self._window.append(self.clock())
                self.calls.append(
                    (environ["REQUEST_METHOD"], environ["PATH_INFO"], self.clock(), status)
                )
            start_response(f"{status} X", [("Content-Length", str(len(raw)))])
            return [raw]
        if fault is not None:
            with self._lock:
                self._window.append(self.clock())
                self.calls.append(
                    (environ["REQUEST_METHOD"], environ["PATH_INFO"], self.clock(), fault)
                )
            body = b'{"description": "injected", "errors": []}'
            start_response(
                f"{fault} X",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return super().__call__(environ, start_response)

    def handle(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        status, body, headers = super().handle(request)
        creating = request.method == "POST" and request.path.rstrip("/").endswith("/requesters")
        if creating and status < 300 and isinstance(body, dict):
            email = str(body["requester"].get("primary_email") or "").lower()
            self.created[email] = self.created.get(email, 0) + 1
        return status, body, headers

    def _stats(self, start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            stats = {
                "calls": len(self.calls),
                "writes": sum(1 for m, _, _, _ in self.calls if m != "GET"),
                "creates": sum(self.created.values()),
                "gets": sum(1 for m, _, _, _ in self.calls if m == "GET"),
                "lists": self.list_calls(),
                "throttled": self.throttled,
                "requesters": len(self.requesters),
                "busiest_minute": self.busiest_minute(),
                "busiest_list_minute": self.busiest_minute(listing=True),
            }
        data = json.dumps(stats).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    # --- what tests look at ---------------------------------------------------------------

    def requester(self, email: str) -> dict[str, Any]:
        """The stored requester of an address (KeyError if none)."""
        return self.requesters[self.by_email[email.lower()]]

    def forget(self, requester_id: int) -> None:
        """An agent deletes the requester for good (as ``/forget`` does), in the screens."""
        with self._lock:
            requester = self.requesters.pop(requester_id)
            self._unindex(requester)
            self._index.pop(requester_id, None)
            for group in self.groups.values():
                group["members"].discard(requester_id)

    def group(self, name: str) -> set[int]:
        """The members of the requester group ``name`` (empty if there is none)."""
        found = [g["members"] for g in self.groups.values() if g["name"] == name]
        return set(found[0]) if found else set()

    def list_calls(self) -> int:
        return sum(
            1
            for m, p, _, s in self.calls
            if m == "GET" and p.rstrip("/").endswith("/requesters") and s != 429
        )

    def busiest_minute(self, *, listing: bool = False) -> int:
        """The most calls (or listings of requesters) the account counted in any 60 s."""
        times = sorted(
            at
            for method, path, at, status in self.calls
            if status != 429
            and (not listing or (method == "GET" and path.rstrip("/").endswith("/requesters")))
        )
        busiest, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 60:
                start += 1
            busiest = max(busiest, end - start + 1)
        return busiest


def main() -> None:
    """One Freshservice minute lasts 60/SCALE seconds; the port is printed first."""
    plan, scale = sys.argv[1], float(sys.argv[2])
    serve_forever(FakeFreshservice(lambda: time.monotonic() * scale, plan=plan))


if __name__ == "__main__":
    main()
