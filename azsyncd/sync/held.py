"""A tenant's planned contact actions kept whole before anything is written, so that the
thresholds judge the entire plan.

``PlanBuffer`` stands in for the executor while a guarded run's contacts step plans (it
implements ``writes.Writes``); then the plan is either replayed on the real writes or
recorded as a held run's plan. The planned actions wait in a temporary file (``spill``),
not in memory.
"""

from __future__ import annotations

from azsyncd.sync.planner import Action
from azsyncd.sync.spill import SpilledActions
from azsyncd.sync.writes import Tally, Writes

CHUNK = 1000  # actions the executor takes at once


class PlanBuffer:
    def __init__(self) -> None:
        self.actions = SpilledActions()
        self.name = self.label = ""
        self._tally = Tally()

    def begin_tenant(self, name: str, label: str) -> None:
        self.name, self.label = name, label

    def apply(self, actions: list[Action]) -> None:
        self.actions.extend(actions)
        for action in actions:
            self._tally.add(action)

    def drain(self) -> None:
        """Nothing is written while planning."""

    def tally(self) -> Tally:
        return self._tally

    def send_welcomes(self, tenant: str | None = None) -> int:
        return 0  # nothing was created

    def replay(self, writes: Writes) -> None:
        writes.begin_tenant(self.name, self.label or self.name)
        for chunk in self.actions.chunks():
            for start in range(0, len(chunk), CHUNK):
                writes.apply(chunk[start : start + CHUNK])
        writes.drain()

    def close(self) -> None:
        """The plan's temporary file goes (it would with the buffer, but not as promptly)."""
        self.actions.close()
