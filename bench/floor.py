"""The least time a number of POSTs can take under HappyFox's per-minute budget.

HappyFox counts calls in a sliding minute and a fresh account's window starts full: the
whole budget B may go out at t=0, the next B at t=60 s, and so on. P POSTs therefore end no
sooner than (ceil(P/B) - 1) x 60 s after the first, not P/B minutes. The benchmark times a
run from a fresh account, so run and floor both start with that burst.
"""

from __future__ import annotations

import math

MINUTE = 60.0


def floor_seconds(posts: int, per_minute: int) -> float:
    """Seconds from the first POST to the last at best, for ``posts`` POSTs."""
    if per_minute < 1:
        raise ValueError(f"a budget of {per_minute} calls a minute allows no call; give >= 1")
    if posts <= 0:
        return 0.0
    return (math.ceil(posts / per_minute) - 1) * MINUTE
