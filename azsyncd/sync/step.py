"""What every step of a tenant's sync is (``Step``) and what it plans (``StepPlan``); see
``sync/steps/__init__.py`` for the steps and how a tenant's run drives them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from azsyncd.state.repository import RecordRow
from azsyncd.sync.thresholds import PlanDigest

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


@dataclass
class StepPlan:
    """What one step of one tenant's run would change.

    ``counts``: changes by threshold kind (create, update, disable, group_changes);
    ``digest``: every change, order-free, so an approval applies exactly what was shown;
    ``notes``: what a held run shows of it, contact by contact; ``work``: what ``apply``
    needs, the step's own business."""

    step: str
    counts: Counter[str] = field(default_factory=Counter)
    digest: PlanDigest = field(default_factory=PlanDigest)
    notes: list[RecordRow] = field(default_factory=list)
    work: Any = None

    def change(self, kind: str, item: list[str]) -> None:
        """One planned change counted toward ``kind`` (if a threshold has it) and digested."""
        if kind:
            self.counts[kind] += 1
        self.digest.add([self.step, *item])


class Step(Protocol):
    name: str

    def __init__(self, run: TenantRun) -> None: ...

    def see(self, users: list[dict[str, Any]]) -> None:
        """A chunk of the users read (all of them, in order, before ``plan``)."""

    def plan(self) -> StepPlan:
        """What this step would change, after a complete read."""

    def hold(self, plan: StepPlan) -> None:
        """Record what the plan would do, writing nothing (a held run, a dry run)."""

    def apply(self, plan: StepPlan) -> None:
        """Carry the plan out and record what was done."""
