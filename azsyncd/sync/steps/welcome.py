"""The welcome step: the account-information email each contact the run created is owed.

The contacts step marks each new contact's email as owed in the same transaction as its
record (a crash loses none); this step sends what the tenant's new contacts are owed, one
recipient at a time, claimed just before and confirmed just after (``sync/welcome.py``).
It plans nothing of its own: its emails follow the contacts step's creates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azsyncd.sync.step import StepPlan

if TYPE_CHECKING:
    from azsyncd.sync.tenant_run import TenantRun


class Welcome:
    name = "welcome"

    def __init__(self, run: TenantRun) -> None:
        self.run, self.services = run, run.services

    def see(self, users: list[dict[str, Any]]) -> None:
        """Nothing to note: the creates are the contacts step's."""

    def plan(self) -> StepPlan:
        return StepPlan(self.name)

    def hold(self, plan: StepPlan) -> None:
        """A held run creates no contact, so owes no email."""

    def apply(self, plan: StepPlan) -> None:
        sent = self.services.writes.send_welcomes(self.run.tenant.name)
        if sent:
            self.run.log(f"sent {sent} welcome email(s)")
