"""A plan kept whole before anything is written, so thresholds see the entire run.

``PlanBuffer`` stands in for the executor while the engine plans (it implements
``writes.Writes``); then the plan is either replayed on the real writes or recorded as
a held run's plan. The planned actions wait in a temporary file (``spill``), not in memory.
"""

from __future__ import annotations

from azsyncd.state.repository import RecordRow
from azsyncd.sync.planner import Action
from azsyncd.sync.thresholds import TenantPlan
from azsyncd.sync.writes import Tally, Writes


class PlanBuffer:
    def __init__(self) -> None:
        self.plans: dict[str, TenantPlan] = {}
        self._current: TenantPlan | None = None
        self._tally = Tally()

    def begin_tenant(self, name: str, label: str) -> None:
        self._current = self.plans.setdefault(name, TenantPlan(name, label))

    def apply(self, actions: list[Action]) -> None:
        assert self._current is not None, "begin_tenant first"
        self._current.add(actions)
        for action in actions:
            self._tally.add(action)

    def drain(self) -> None:
        """Nothing is written while planning."""

    def tally(self) -> Tally:
        return self._tally

    def left(self, tenant: str, user_ids: set[str]) -> None:
        self.plans.setdefault(tenant, TenantPlan(tenant)).leavers |= user_ids

    def planned(self, tenant: str, kind: str, keys: set[str]) -> None:
        """Changes made outside the actions (a leaver's login, a group), counted toward ``kind``.

        Whoever plans them applies them only once the run is not held (``TenantResult.finish``).
        """
        plan = self.plans.setdefault(tenant, TenantPlan(tenant))
        plan.other.setdefault(kind, set()).update(keys)

    def note(self, tenant: str, records: list[RecordRow]) -> None:
        """What those changes would do, contact by contact: the records a held run shows."""
        self.plans.setdefault(tenant, TenantPlan(tenant)).notes.extend(records)

    def replay(self, writes: Writes) -> None:
        for plan in self.plans.values():
            writes.begin_tenant(plan.name, plan.label or plan.name)
            for chunk in plan.actions.chunks():
                for start in range(0, len(chunk), 1000):  # the chunks the executor takes
                    writes.apply(chunk[start : start + 1000])
        writes.drain()

    def close(self) -> None:
        """The plan's temporary files go (they would with the buffer, but not as promptly)."""
        for plan in self.plans.values():
            plan.actions.close()
