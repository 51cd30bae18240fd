"""The engine's side of writing: what it asks of the executor, and the tally it gets back.

The engine plans; whoever applies its plans (``executor.Executor``) offers exactly this.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from azsyncd.sync.planner import COUNTED_AS, Action

COUNTS = (*COUNTED_AS.values(), "removed", "joiners")  # joiners: created with the login off


@dataclass
class Tally:
    """What the writes of a run came to, overall and per tenant."""

    counts: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(COUNTS, 0)))
    tenants: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, action: Action) -> None:
        counted = COUNTED_AS[action.kind]
        self.counts[counted] += 1
        tenant = self.tenants.get(action.tenant)
        if tenant is None:  # not setdefault: it would build a Counter for every action
            tenant = self.tenants[action.tenant] = Counter()
        tenant[counted] += 1

    def add_joiner(self, tenant: str) -> None:
        """A contact created for a joiner (also counted as new): its login waits."""
        self.counts["joiners"] += 1
        self.tenants.setdefault(tenant, Counter())["joiners"] += 1


class Writes(Protocol):
    def begin_tenant(self, name: str, label: str) -> None:
        """The actions that follow are this tenant's; ``label`` is its name on the target."""

    def apply(self, actions: list[Action]) -> None:
        """Start writing a chunk of planned actions (they may still be writing on return)."""

    def drain(self) -> None:
        """Wait until every chunk is written and recorded."""

    def tally(self) -> Tally:
        """The counts so far, of recorded actions only."""

    def send_welcomes(self, tenant: str | None = None) -> int:
        """Send the welcome emails owed to a tenant's new contacts (or all); how many went."""
