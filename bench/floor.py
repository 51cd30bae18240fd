"""The least time a number of calls can take under a help desk's per-minute budget (HappyFox's
POSTs, Freshservice's calls and listings).

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


def floor_of_budgets(calls: dict[str, int], per_minute: dict[str, int]) -> float:
    """The least time for calls that count toward several budgets at once (Freshservice: every
    call toward the total, a listing also toward its own): the floor of the fullest budget.
    ``calls`` and ``per_minute`` are by budget."""
    return max((floor_seconds(calls[k], per_minute[k]) for k in calls), default=0.0)
