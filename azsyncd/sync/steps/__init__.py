"""The steps of a tenant's sync, each behind one small protocol, driven by ``TenantRun``.

A tenant's run reads the directory once and shows every chunk of users it reads to every
step (``see``). Once the read is complete, each step says what it would change (``plan``):
a ``StepPlan``, counted toward the thresholds and fingerprinted. Then, if the run is not
held, each step carries its plan out, in the order of ``STEPS`` (``apply``); a held run (or
a dry run) records what each plan would do instead (``hold``). A step plans from the
directory and the state as they were before the run, never from what another step of the
same run wrote: thresholds decide only whether a plan is applied, never what is planned.

To add a step: write its class, with ``see``, ``plan``, ``hold`` and
``apply``, and add it to ``STEPS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from azsyncd.sync.step import Step, StepPlan
from azsyncd.sync.steps.contacts import Contacts
from azsyncd.sync.steps.group_rules import GroupRules
from azsyncd.sync.steps.joiners import Joiners
from azsyncd.sync.steps.leavers import Leavers
from azsyncd.sync.steps.welcome import Welcome

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun

# The steps of a tenant's run, in the order they apply (each plans before any applies).
STEPS: tuple[type[Step], ...] = (Contacts, Leavers, GroupRules, Joiners, Welcome)

__all__ = ["STEPS", "Step", "StepPlan", "steps"]


def steps(run: TenantRun) -> list[Step]:
    return [cls(run) for cls in STEPS]
