"""The Sync tab: daemon and schedule at a glance, the running sync's progress, its counts."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.widgets import ProgressBar, Static

from azsyncd.control.client import Status, counts_text
from tui.text import when
from tui.widgets.panel import Panel

COUNTS = ("new", "updated", "unchanged", "failed", "skipped")


def describe(status: Status) -> str:
    lines = [
        f"[b]{status.account}[/b]  ·  azsyncd {status.version}  ·  target: {status.target}",
        f"Contact sync: {'[green]on[/green]' if status.sync_enabled else 'off'}"
        f"   next run: {when(status.next_run)} UTC ({status.timezone})",
    ]
    if status.interval and status.sync_enabled:
        lines.append(
            f"Incremental: every {status.interval}   next tick: {_clock(status.next_tick)} UTC"
        )
    for tenant in status.tenants:
        mark = (
            "Active ✅"
            if tenant.status == "active"
            else f"{tenant.status.title()}: {tenant.reason}"
        )
        checked = tenant.last_checked_at
        lines.append(
            f"Tenant {tenant.name}: {mark}" + (f"  ·  checked {_clock(checked)}" if checked else "")
        )
    last = status.last_run
    if last:
        lines.append(
            f"Last sync: run {last.id} ({last.trigger}) {last.status} at "
            f"{when(last.started_at, 19)}  ·  {counts_text(last.counts)}"
        )
    else:
        lines.append("No sync has run yet: press s to sync now, d for a dry run.")
    if status.config_error:
        lines.append(
            f"[red]Configuration error (running on the last good one):[/red] {status.config_error}"
        )
    return "\n".join(lines)


def _clock(value: datetime | None) -> str:
    return when(value, 19)[11:] if value else "-"


class SyncPanel(Panel):
    DEFAULT_CSS = """
    SyncPanel #progress-label { margin-top: 1; }
    SyncPanel ProgressBar { margin: 0 0 1 0; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Connecting to azsyncd…", id="status-text")
        yield Static("", id="progress-label")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static(
            "[dim]s[/dim] sync now   [dim]d[/dim] dry run (shows the plan, writes nothing)",
            classes="hint",
        )

    def show_status(self, status: Status) -> None:
        self.query_one("#status-text", Static).update(describe(status))
        running = status.running
        bar = self.query_one("#progress", ProgressBar)
        label = self.query_one("#progress-label", Static)
        if running:
            counts = ", ".join(
                f"{running.counts.get(k, 0)} {k}" for k in COUNTS if running.counts.get(k)
            )
            label.update(
                f"Running: run {running.run_id} "
                f"({running.trigger}{', dry run' if running.dry_run else ''})"
                f" · {running.phase} {running.tenant} · {running.done} users"
                + (f" · {counts}" if counts else "")
            )
            bar.display = True
            if bar.size.width:
                bar.update(total=running.total, progress=running.done)
            else:  # not laid out yet: the bar fits its percentage to its width when set
                self.call_after_refresh(bar.update, total=running.total, progress=running.done)
        else:
            label.update("Idle.")
            bar.display = False
