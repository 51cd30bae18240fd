"""What needs the admin's action, from the daemon's status and its open alerts.

Held runs (the reason, and the keys: 6, then a approves or D discards), enabled tenants that
cannot sync (quarantined, disabled by a failed sign-in, never authorized: 2, then z), and
open alerts. The flash line under the tabs shows it on every tab; the Sync tab shows it with
the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from azsyncd.control.client import Alerts, Status, TenantState

NEEDS_SIGN_IN = {"new", "disabled", "failed", "quarantined"}


@dataclass(frozen=True)
class Attention:
    what: str  # "Run 12 is held"
    keys: str  # "6, then a approves, D discards"
    reason: str  # why, as the daemon said
    fix: str = ""  # the daemon's fix, for the Sync tab

    def line(self) -> str:
        """One line: the keys come before the reason, so a narrow screen still shows them."""
        return f"{self.what} [{self.keys}]: {self.reason}" if self.reason else self.what


def tenant_attention(tenant: TenantState) -> Attention | None:
    if not tenant.enabled or tenant.status not in NEEDS_SIGN_IN:
        return None
    word = "not authorized yet" if tenant.status == "new" else tenant.status
    return Attention(
        f"Tenant {tenant.name} {word}", "2, then z authorizes", tenant.reason, tenant.fix
    )


def needs_action(status: Status | None, alerts: Alerts | None = None) -> list[Attention]:
    if status is None:
        return []
    found = [
        Attention(
            f"Run {held.id} is held",
            "6, then a approves, D discards",
            held.message or "a threshold was passed",
            "review its plan on the Log tab; nothing is written until it is approved",
        )
        for held in status.held_runs
    ]
    found += [a for a in map(tenant_attention, status.tenants) if a is not None]
    shown = {f"held-{h.id}" for h in status.held_runs}
    shown |= {f"tenant-{t.name}-{t.status}" for t in status.tenants}
    others = [a for a in (alerts.alerts if alerts else []) if a.key not in shown]
    if others:
        titles = "; ".join(a.title for a in others)
        found.append(Attention(f"{len(others)} alert(s) open", "0 lists them", titles))
    return found
