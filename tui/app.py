"""The TUI application: status, tenants and the last sync log, refreshed from the daemon."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from azsyncd.client import ApiFailure, Client
from azsyncd.errors import DaemonUnreachable

REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class Snapshot:
    status: dict[str, Any]
    tenants: list[dict[str, Any]]
    records: list[dict[str, Any]]


def status_lines(status: dict[str, Any]) -> str:
    lines = [f"azsyncd {status['version']}  ·  {status['account']}  ·  target: {status['target']}",
             f"Contact sync: {'ON' if status['sync_enabled'] else 'off'}   next run: {status['next_run'] or '-'}"
             f" ({status['timezone']})"]
    running = status.get("running")
    if running:
        total = f"/{running['total']}" if running["total"] is not None else ""
        lines.append(f"Running: run {running['run_id']} ({running['trigger']}) {running['phase']} {running['done']}{total}")
    last = status.get("last_run")
    if last:
        counts = last["counts"]
        lines.append(f"Last sync: run {last['id']} {last['status']} at {last['started_at'][:19]}  ·  "
                     + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("new", "updated", "unchanged", "failed", "skipped")))
    if status.get("config_error"):
        lines.append(f"Configuration error (running on the last good one): {status['config_error']}")
    return "\n".join(lines)


class AzsyncApp(App[None]):
    TITLE = "azsync"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("s", "sync", "Sync now"),
        Binding("d", "dry_run", "Dry run"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, socket: str | None = None) -> None:
        super().__init__()
        self.client = Client(socket, timeout=10)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        with TabbedContent(id="tabs"):
            with TabPane("Status", id="status"):
                yield Static("Connecting to azsyncd…", id="status-text")
            with TabPane("Tenants", id="tenants"):
                yield DataTable(id="tenant-table", cursor_type="row")
            with TabPane("Sync log", id="log"):
                yield DataTable(id="record-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tenant-table", DataTable).add_columns("Name", "Status", "Tenant ID", "Cloud", "Auth", "Last sync")
        self.query_one("#record-table", DataTable).add_columns("Email", "Type", "Sync Status", "Result")
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.action_refresh)

    def on_unmount(self) -> None:
        self.client.close()

    @work(thread=True, exclusive=True, group="refresh")
    def action_refresh(self) -> None:
        try:
            status = self.client.get("/v1/status")
            tenants = self.client.get("/v1/tenants")["tenants"]
            try:
                records = self.client.get("/v1/runs/latest/records", limit=500)["records"]
            except ApiFailure as exc:
                if exc.status != 404:
                    raise
                records = []
        except DaemonUnreachable as exc:
            self.call_from_thread(self.show_problem, f"{exc.message}\nfix: {exc.fix}")
            return
        except ApiFailure as exc:
            self.call_from_thread(self.show_problem, f"the daemon refused: {exc.message}")
            return
        self.call_from_thread(self.show_snapshot, Snapshot(status, tenants, records))

    def show_problem(self, text: str) -> None:
        banner = self.query_one("#banner", Static)
        banner.update(text + f"\n(retrying every {REFRESH_SECONDS:.0f} s)")
        banner.add_class("shown")

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.query_one("#banner", Static).remove_class("shown")
        self.query_one("#status-text", Static).update(status_lines(snapshot.status))
        tenants = self.query_one("#tenant-table", DataTable)
        tenants.clear()
        for t in snapshot.tenants:
            state = t["state"]
            label = "Active ✅" if state["status"] == "active" else f"{state['status'].title()}: {state['reason']}"
            tenants.add_row(t["name"], label, t["tenant_id"], t["cloud"], t["auth"], (state["last_sync_at"] or "-")[:19])
        records = self.query_one("#record-table", DataTable)
        records.clear()
        for r in snapshot.records:
            records.add_row(r["email"], r["type"], "Failed" if r["status"] == "failed" else "Success", r["result"])

    def action_sync(self) -> None:
        self._start_sync(dry_run=False)

    def action_dry_run(self) -> None:
        self._start_sync(dry_run=True)

    @work(thread=True, group="sync")
    def _start_sync(self, dry_run: bool) -> None:
        try:
            run = self.client.post("/v1/sync", {"dry_run": dry_run})
            message = f"{'dry run' if dry_run else 'sync'} started: run {run['run_id']}"
        except ApiFailure as exc:
            message = exc.message
        except DaemonUnreachable as exc:
            message = exc.message
        self.call_from_thread(self.notify, message)
        self.call_from_thread(self.action_refresh)
