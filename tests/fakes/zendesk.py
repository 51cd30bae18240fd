"""The fake Zendesk of the tests: the demo's simulated account (``targets/zendesk/simulated.py``,
which follows Zendesk's documented behaviour and its traps), plus the faults tests inject.

Used in-process through httpx.WSGITransport, over real HTTP on loopback (servers.serve), or
in a process of its own on a time-scaled clock (``python -m tests.fakes.zendesk SCALE
[no-bulk] [per-minute=N]``), as the benchmarks run it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from azsyncd.targets.zendesk.simulated import USER_FIELDS, SimulatedZendesk
from tests.fakes.servers import serve_forever

__all__ = ["USER_FIELDS", "FakeZendesk"]


class FakeZendesk(SimulatedZendesk):
    def __init__(self, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.fail_next: list[int] = []  # statuses to answer with before serving normally
        self.throttle_next: list[int] = []  # Retry-After seconds of 429s to answer first
        self.fail_rows: dict[str, str] = {}  # email or external id -> why its job row fails
        self.fail_next_job = ""  # the next job fails as a whole with this message
        self.reserved = 0  # calls each minute made by someone else on the account
        self.delay = 0.0  # seconds each POST/PUT takes in real time (to interrupt a sync)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.delay and environ["REQUEST_METHOD"] in ("POST", "PUT"):
            time.sleep(self.delay)
        return super().__call__(environ, start_response)

    def _before_limit(self) -> tuple[int, Any, list[tuple[str, str]]] | None:
        if self.throttle_next:  # the account's limit tripped by someone else
            self.throttled += 1
            return (
                429,
                {"error": "TooManyRequests"},
                [("Retry-After", str(self.throttle_next.pop(0)))],
            )
        return None

    def _used_elsewhere(self) -> int:
        return self.reserved

    def _after_limit(
        self, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]] | None:
        return (self.fail_next.pop(0), {"error": "Injected"}, headers) if self.fail_next else None

    def _job_failure(self) -> str:
        failure, self.fail_next_job = self.fail_next_job, ""
        return failure

    def _row_failure(self, keys: list[str]) -> str:
        return next((self.fail_rows[k] for k in keys if k in self.fail_rows), "")


def main() -> None:
    """One Zendesk minute lasts 60/SCALE seconds (jobs take their time on the same clock);
    the port is printed first."""
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    options = sys.argv[2:]
    per_minute = next((int(o.split("=")[1]) for o in options if o.startswith("per-minute=")), 400)
    fake = FakeZendesk(
        lambda: time.monotonic() * scale,
        bulk_enabled="no-bulk" not in options,
        per_minute=per_minute,
    )
    serve_forever(fake)


if __name__ == "__main__":
    main()
