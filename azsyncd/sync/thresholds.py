"""Held runs: compare a whole plan with ``[sync.thresholds]``, and fingerprint it.

Each step of each tenant counts its changes as it plans them (``steps.StepPlan``); this says
whether the run may write, and gives the plan a digest so that an approval applies exactly
the plan the admin saw.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable

from azsyncd.config.model import Thresholds

# Which threshold each plan action kind counts toward, by the kind's value: a kind added
# later (a leaver's "disable", a contact-group change) counts as soon as it is planned.
THRESHOLD_OF = {
    "create": "create",
    "update": "update",
    "disable": "disable",
    "group_change": "group_changes",
}
KINDS = ("create", "update", "disable", "group_changes")


class PlanDigest:
    """A fingerprint of a set of plan items that does not depend on their order, built one
    item at a time (the sum of their hashes), so that a plan is never held whole to sort it."""

    MODULUS = 1 << 256

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def add(self, item: list[str]) -> None:
        text = repr(item)  # a list of strings, quoted and escaped: one text per item
        value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=32).digest(), "big")
        self.total = (self.total + value) % self.MODULUS
        self.count += 1

    def merge(self, other: PlanDigest) -> None:
        self.total = (self.total + other.total) % self.MODULUS
        self.count += other.count

    def hexdigest(self) -> str:
        text = self.total.to_bytes(32, "big") + self.count.to_bytes(8, "big")
        return hashlib.blake2b(text, digest_size=16).hexdigest()


def passed(
    plans: dict[str, Counter[str]], thresholds: Thresholds, contacts: Callable[[str], int]
) -> list[str]:
    """Every threshold the plan passes, said in words; empty: the run may write. ``plans``:
    tenant -> its changes by threshold kind."""
    reasons = []
    for tenant, counts in plans.items():
        held = contacts(tenant)
        for kind in KINDS:
            count = counts.get(kind, 0)
            limit = thresholds.limit(kind, held)
            if limit is not None and count > limit:
                setting = getattr(thresholds, kind)
                of = f" of {held} contact(s)" if isinstance(setting, str) else ""
                reasons.append(
                    f"tenant {tenant}: {count} {kind.replace('_', ' ')} "
                    f"(threshold {setting}{of}, at most {limit})"
                )
    return reasons


def digest(parts: Iterable[PlanDigest]) -> str:
    """A fingerprint of everything the plan would change: equal digests, equal writes."""
    total = PlanDigest()
    for part in parts:
        total.merge(part)
    return total.hexdigest()
