"""A help desk account's limiter on the benchmark's time-scaled clock (one minute lasts
60/scale s), for the daemon's process and, through ``bench/child/sitecustomize.py``, for each
run's own process. It imports only the limiter and the factory that holds it, so a measured
run's process loads nothing a real one would not (no demo, no daemon, no web stack).

Every target's points share it: a point sets ``AZSYNC_BENCH_LIMITER`` (``environment``) to
JSON naming the account, its calls a minute by kind and the scale.
"""

from __future__ import annotations

import json
import time
from typing import Any

from azsyncd.targets import factory
from azsyncd.targets.ratelimit import RateLimiter

VARIABLE = "AZSYNC_BENCH_LIMITER"


def scaled_limiter(account: str, limits: dict[str, int], scale: float) -> RateLimiter:
    """This process's limiter of ``account`` on the scaled clock, shared by every client."""
    limiter = RateLimiter(
        dict(limits),
        clock=lambda: time.monotonic() * scale,
        sleep=lambda seconds: time.sleep(seconds / scale),
    )
    factory.use_limiter(account, limiter)
    return limiter


def environment(account: str, limits: dict[str, int], scale: float) -> dict[str, str]:
    """What a run's process needs in its environment to take the same limiter."""
    return {VARIABLE: json.dumps({"account": account, "limits": limits, "scale": scale})}


def from_environment(value: str) -> RateLimiter:
    given: dict[str, Any] = json.loads(value)
    return scaled_limiter(str(given["account"]), dict(given["limits"]), float(given["scale"]))
