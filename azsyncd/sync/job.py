"""The job the daemon's runner calls for each sync run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from azsyncd.runner import Outcome, RunContext, SyncJob

if TYPE_CHECKING:
    from azsyncd.daemon import Daemon


def make_job(daemon: Daemon) -> SyncJob:
    def job(ctx: RunContext) -> Outcome:
        config = daemon.config  # a snapshot: settings changed during the run apply next time
        wanted = ctx.options.get("tenant")
        tenants = [t for t in config.tenants if t.enabled and (wanted is None or t.name == wanted)]
        counts = {"new": 0, "updated": 0, "unchanged": 0, "failed": 0, "skipped": 0}
        if not tenants:
            ctx.log("no enabled tenants; nothing to sync (add one with POST /v1/tenants)")
            return Outcome("succeeded", "no enabled tenants", counts)
        failed = []
        for tenant in tenants:
            ctx.checkpoint()
            ctx.report(phase="reading directory", tenant=tenant.name)
            reason = "reading Entra ID is not available in this version of azsyncd"
            ctx.log(f"tenant {tenant.name}: {reason}", "error")
            failed.append(tenant.name)
        return Outcome("failed", f"{len(failed)} tenant(s) could not be read: {', '.join(failed)}", counts)

    return job
