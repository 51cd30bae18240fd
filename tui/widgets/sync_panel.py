"""The Sync tab: daemon and schedule at a glance, what needs the admin's action with its fix,
the running sync's progress and its counts; sync, dry run, full sync and check a user."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from azsyncd.control.client import Alerts, Client, Status, counts_text
from tui.attention import needs_action
from tui.text import Marks, at, esc, state_label, zone_note
from tui.widgets.panel import Panel

COUNTS = ("new", "updated", "unchanged", "failed", "skipped")


def describe(status: Status, marks: Marks, alerts: Alerts | None = None) -> str:
    zone = status.timezone
    switch = "[b]On[/b]" if status.sync_enabled else "[b]Off[/b]"
    next_run = at(status.next_run, zone) if status.sync_enabled else "-"
    lines = [
        f"[b]{esc(status.account)}[/b]  {marks.dot}  azsyncd {esc(status.version)}  "
        f"{marks.dot}  target: {esc(status.target)}  {marks.dot}  {esc(zone_note(zone))}",
        f"Contact sync: {switch}   next run: {esc(next_run)}",
    ]
    if status.interval and status.sync_enabled:
        lines.append(
            f"Incremental: every {esc(status.interval)}   "
            f"next tick: {esc(at(status.next_tick, zone))}"
        )
    attention = needs_action(status, alerts)
    if attention:
        lines.append(f"[b]Needs your action ({len(attention)}):[/b]")
        for item in attention:
            lines.append(f"{marks.error} {esc(item.what)}: {esc(item.reason)}")
            lines.append(
                f"    keys: {esc(item.keys)}" + (f"; fix: {esc(item.fix)}" if item.fix else "")
            )
    for tenant in status.tenants:
        checked = tenant.last_checked_at
        lines.append(
            f"Tenant {esc(tenant.name)}: {esc(state_label(tenant, marks))}"
            + (f"  {marks.dot} checked {esc(at(checked, zone))}" if checked else "")
        )
    last = status.last_run
    if last:
        lines.append(
            f"Last sync: run {last.id} ({esc(last.trigger)}) {esc(last.status)} at "
            f"{esc(at(last.started_at, zone))}\n  {counts_text(last.counts)}"
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
    BINDINGS = [
        Binding("f", "full_sync", "Full sync"),
        Binding("u", "check_user", "Check a user"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("s", "sync now: asks first, then creates and updates contacts"),
        ("d", "dry run: asks first, then plans a sync and shows it; writes nothing"),
        ("f", "full sync: asks first; every user read, every contact compared"),
        ("u", "check a user: whether they are in scope, what would be written, why they fail"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="sync-buttons"):
            yield Button("Sync now (s)", id="sync-now", variant="primary", compact=True)
            yield Button("Dry run (d)", id="dry-run", compact=True)
            yield Button("Full sync (f)", id="full-sync", compact=True)
            yield Button("Check a user (u)", id="check-user", compact=True)
        with VerticalScroll(id="status-box"):
            yield Static("Connecting to azsyncd…", id="status-text")
            yield Static("", id="progress-label")
            yield Static("", id="progress")  # text, not a bar of colour: exact on any terminal

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "sync-now": self.azsync.action_sync,
            "dry-run": self.azsync.action_dry_run,
            "full-sync": self.azsync.action_full_sync,
            "check-user": self.azsync.action_check_user,
        }
        actions[str(event.button.id)]()

    def action_full_sync(self) -> None:
        self.azsync.action_full_sync()

    def action_check_user(self) -> None:
        self.azsync.action_check_user()

    def read(self, client: Client) -> Status:
        return client.status()

    def show(self, data: Status) -> None:
        self.azsync.show_status(data)

    def show_status(self, status: Status) -> None:
        self.query_one("#status-text", Static).update(
            describe(status, self.marks, self.azsync.open_alerts)
        )
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
