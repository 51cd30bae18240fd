"""Freshservice's published per-minute API limits, by plan (account-wide): every call counts
toward the total, and listing requesters also toward its own lower sub-limit."""

from __future__ import annotations

# plan -> (calls a minute in all, of which "List All Requesters" calls)
PLANS: dict[str, tuple[int, int]] = {
    "starter": (100, 40),
    "growth": (200, 70),
    "msp_core": (200, 70),  # MSP Core follows Growth's limits
    "pro": (400, 120),
    "enterprise": (500, 140),
}
TOTAL, LIST = "total", "list"  # the limiter's kinds of call
