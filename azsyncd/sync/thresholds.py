"""Held runs: count a whole plan per tenant, compare with ``[sync.thresholds]``, fingerprint it.

Pure: the engine gives it the buffered plan; it says whether the run may write, and gives
the plan a digest so that an approval applies exactly the plan the admin saw.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from azsyncd.config.model import Thresholds
from azsyncd.state.repository import RecordRow
from azsyncd.sync.planner import Action

# Which threshold each plan action kind counts toward, by the kind's value: a kind added
# later (a leaver's "disable", a contact-group change) counts as soon as it is planned.
THRESHOLD_OF = {
    "create": "create",
    "update": "update",
    "disable": "disable",
    "group_change": "group_changes",
}
KINDS = ("create", "update", "disable", "group_changes")


@dataclass
class TenantPlan:
    """One tenant's share of a buffered run: its actions and the users who left it."""

    name: str
    label: str = ""
    actions: list[Action] = field(default_factory=list)
    leavers: set[str] = field(default_factory=set)
    # Changes planned outside the actions, by threshold: "disable" -> user ids, "group_changes"
    # -> "user id:group:+ or -" keys. Counted once each, together with the actions of that
    # kind; a kind no threshold has ("enable": logins given back) is in the digest only.
    other: dict[str, set[str]] = field(default_factory=dict)
    notes: list[RecordRow] = field(default_factory=list)  # what those changes would do

    def counts(self) -> Counter[str]:
        found: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
        keys = {kind: set(self.other.get(kind, ())) for kind in KINDS}
        keys["disable"] |= self.leavers
        for action in self.actions:
            kind = THRESHOLD_OF.get(str(action.kind))
            if kind == "disable":
                keys[kind].add(action.user_id)
            elif kind:
                found[kind] += 1
        for kind in ("disable", "group_changes"):
            found[kind] += len(keys[kind])
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
    items = []
    for plan in plans:
        for action in plan.actions:
            if str(action.kind) in THRESHOLD_OF:
                values = action.mapped.mirror if action.mapped else ""
                items.append(
                    [
                        plan.name,
                        action.user_id,
                        str(action.kind),
                        action.email,
                        values,
                        *sorted(action.changes),
                    ]
                )
        items.extend([plan.name, user, "left"] for user in sorted(plan.leavers))
        for kind, keys in sorted(plan.other.items()):
            items.extend([plan.name, key, kind] for key in sorted(keys))
    text = json.dumps(sorted(items), separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
