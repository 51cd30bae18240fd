"""The Sync tab: daemon and schedule at a glance, the running sync's progress, its counts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from azsyncd.control.client import Client, Status, counts_text
from tui.text import Marks, esc, local_time, state_label
from tui.widgets.panel import Panel

COUNTS = ("new", "updated", "unchanged", "failed", "skipped")


def describe(status: Status, marks: Marks) -> str:
    switch = "[b]On[/b]" if status.sync_enabled else "[b]Off[/b]"
    next_run = local_time(status.next_run, status.timezone) if status.sync_enabled else "-"
    lines = [
        f"[b]{esc(status.account)}[/b]  {marks.dot}  azsyncd {esc(status.version)}  "
        f"{marks.dot}  target: {esc(status.target)}",
        f"Contact sync: {switch}   next run: {esc(next_run)}",
    ]
    if status.interval and status.sync_enabled:
        lines.append(
            f"Incremental: every {esc(status.interval)}   "
            f"next tick: {esc(local_time(status.next_tick, status.timezone))}"
        )
    for tenant in status.tenants:
        checked = tenant.last_checked_at
        lines.append(
            f"Tenant {esc(tenant.name)}: {esc(state_label(tenant, marks))}"
            + (
                f"  {marks.dot} checked {esc(local_time(checked, status.timezone))}"
                if checked
                else ""
            )
        )
    last = status.last_run
    if last:
        lines.append(
            f"Last sync: run {last.id} ({esc(last.trigger)}) {esc(last.status)} at "
            f"{esc(local_time(last.started_at, status.timezone))}\n  {counts_text(last.counts)}"
        )
    else:
        lines.append("No sync has run yet: press s to sync now, d for a dry run.")
    if status.config_error:
        lines.append(
            f"[b]Configuration error (running on the last good one):[/b] {esc(status.config_error)}"
        )
    return "\n".join(lines)


class SyncPanel(Panel):
    DEFAULT_CSS = """
    SyncPanel #status-box { height: 1fr; }
    SyncPanel #progress-label { margin-top: 1; height: auto; }
    SyncPanel #progress { height: auto; margin: 0 0 1 0; }
    SyncPanel #sync-buttons { height: 1; }
    SyncPanel #sync-buttons Button { margin-right: 2; }
    """
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("s", "sync now: asks first, then creates and updates contacts"),
        ("d", "dry run: plans a sync and shows it; writes nothing"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="sync-buttons"):
            yield Button("Sync now (s)", id="sync-now", variant="primary", compact=True)
            yield Button("Dry run (d)", id="dry-run", compact=True)
        with VerticalScroll(id="status-box"):
            yield Static("Connecting to azsyncd…", id="status-text")
            yield Static("", id="progress-label")
            yield Static("", id="progress")  # text, not a bar of colour: exact on any terminal

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sync-now":
            self.azsync.action_sync()
        else:
            self.azsync.action_dry_run()

    def read(self, client: Client) -> Status:
        return client.status()

    def show(self, data: Status) -> None:
        self.azsync.show_status(data)

    def show_status(self, status: Status) -> None:
        self.query_one("#status-text", Static).update(describe(status, self.marks))
        running = status.running
        bar = self.query_one("#progress", Static)
        label = self.query_one("#progress-label", Static)
        if running:
            counts = ", ".join(
                f"{running.counts.get(k, 0)} {k}" for k in COUNTS if running.counts.get(k)
            )
            label.update(
                f"[b]Running:[/b] run {running.run_id} "
                f"({esc(running.trigger)}{', dry run' if running.dry_run else ''}) "
                f"{self.marks.dot} {esc(running.phase)} {esc(running.tenant)} {self.marks.dot} "
                f"{running.done} users" + (f" {self.marks.dot} {counts}" if counts else "")
            )
            bar.update(Content(self.marks.progress(running.done, running.total)))
            bar.display = True
        else:
            label.update("Idle.")
            bar.display = False
