"""Held runs: count a whole plan per tenant, compare with ``[sync.thresholds]``, fingerprint it.

The engine gives it the buffered plan, counted as it was planned; it says whether the run may
write, and gives the plan a digest so that an approval applies exactly the plan the admin saw.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from azsyncd.config.model import Thresholds
from azsyncd.state.repository import RecordRow
from azsyncd.sync.planner import Action
from azsyncd.sync.spill import SpilledActions

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


@dataclass
class TenantPlan:
    """One tenant's share of a buffered run: its actions and the users who left it.

    The actions go to a temporary file as they come (``add``); what the thresholds and the
    digest need of them is counted on the way."""

    name: str
    label: str = ""
    actions: SpilledActions = field(default_factory=SpilledActions)
    leavers: set[str] = field(default_factory=set)
    # Changes planned outside the actions, by threshold: "disable" -> user ids, "group_changes"
    # -> "user id:group:+ or -" keys. Counted once each, together with the actions of that
    # kind; a kind no threshold has ("enable": logins given back) is in the digest only.
    other: dict[str, set[str]] = field(default_factory=dict)
    notes: list[RecordRow] = field(default_factory=list)  # what those changes would do
    _counted: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _disabled: set[str] = field(default_factory=set, init=False, repr=False)  # turned off
    _digest: PlanDigest = field(default_factory=PlanDigest, init=False, repr=False)

    def add(self, actions: list[Action]) -> None:
        self.actions.extend(actions)
        for action in actions:
            kind = THRESHOLD_OF.get(str(action.kind))
            if not kind:
                continue
            if kind == "disable":
                self._disabled.add(action.user_id)
            else:
                self._counted[kind] += 1
            values = action.mapped.mirror if action.mapped else ""
            item = [self.name, action.user_id, str(action.kind), action.email, values]
            self._digest.add(item + sorted(action.changes))

    def counts(self) -> Counter[str]:
        found: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        found.update(self._counted)
        keys = {kind: set(self.other.get(kind, ())) for kind in ("disable", "group_changes")}
        keys["disable"] |= self.leavers | self._disabled
        for kind, users in keys.items():
            found[kind] += len(users)
        return found


def passed(
    plans: Iterable[TenantPlan], thresholds: Thresholds, contacts: Callable[[str], int]
) -> list[str]:
    """Every threshold the plan passes, said in words; empty: the run may write."""
    reasons = []
    for plan in plans:
        held = contacts(plan.name)
        for kind, count in plan.counts().items():
            limit = thresholds.limit(kind, held)
            if limit is not None and count > limit:
                setting = getattr(thresholds, kind)
                of = f" of {held} contact(s)" if isinstance(setting, str) else ""
                reasons.append(
                    f"tenant {plan.name}: {count} {kind.replace('_', ' ')} "
                    f"(threshold {setting}{of}, at most {limit})"
                )
    return reasons


def digest(plans: Iterable[TenantPlan]) -> str:
    """A fingerprint of everything the plan would change: equal digests, equal writes."""
    total = PlanDigest()
    for plan in plans:
        total.merge(plan._digest)
        for user in plan.leavers:
            total.add([plan.name, user, "left"])
        for kind, keys in plan.other.items():
            for key in keys:
                total.add([plan.name, key, kind])
    return total.hexdigest()
