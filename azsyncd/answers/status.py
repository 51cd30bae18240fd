"""``GET /v1/status``: the daemon, its schedule, the running sync, and each tenant."""

from __future__ import annotations

from typing import Any, Literal

from azsyncd.answers.base import Answer, Instant


class LastTick(Answer):
    """A tenant's last incremental tick: when, and why it was skipped (None: it ran)."""

    at: Instant | None = None
    skipped: str | None = None
    counts: dict[str, int] = {}  # recorded | idle | skipped


class TenantState(Answer):
    name: str = ""
    enabled: bool = True  # turned on in the configuration
    status: str = "new"  # new | active | disabled | quarantined | failed ...
    reason: str = ""
    fix: str = ""
    failures: int = 0  # failed syncs in a row
    next_try_at: Instant | None = None  # a quarantined tenant's next try
    last_sync_at: Instant | None = None  # the last run that did something for it
    last_checked_at: Instant | None = None  # the last complete read, idle ticks included
    # The incremental schedule, and how far behind the help desk is.
    next_tick_at: Instant | None = None
    last_tick: LastTick | None = None
    oldest_unwritten_at: Instant | None = None
    oldest_unwritten_age_seconds: float | None = None


class RunningSync(Answer):
    run_id: int = 0
    trigger: str = ""
    dry_run: bool = False
    started_at: Instant | None = None
    phase: str = ""
    tenant: str = ""
    done: int = 0
    total: int | None = None
    counts: dict[str, Any] = {}


class RunSummary(Answer):
    id: int = 0
    status: str = ""
    trigger: str = ""
    started_at: Instant | None = None
    finished_at: Instant | None = None
    counts: dict[str, Any] = {}


class HeldRun(Answer):
    """A run that planned more changes than a threshold allows: it waits for an admin."""

    id: int = 0
    trigger: str = ""
    message: str = ""
    started_at: Instant | None = None


class Status(Answer):
    version: str = ""
    pid: int = 0
    uptime_seconds: float = 0.0
    config_path: str = ""
    config_error: str | None = None
    account: str = ""
    timezone: str = "UTC"
    sync_enabled: bool = False
    next_run: Instant | None = None
    interval: str = ""  # the incremental schedule, "" when off
    next_tick: Instant | None = None
    running: RunningSync | None = None
    last_run: RunSummary | None = None
    held_runs: list[HeldRun] = []
    target: str = ""
    target_notes: list[str] = []  # what the target says of its account
    role: Literal["active", "standby"] = "active"  # standby: another daemon on the state syncs
    active_host: str | None = None
    active_pid: int | None = None
    tenants: list[TenantState] = []
