"""A dry run's plan, before anything is written."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from azsyncd.control.client import Records, Run
from tui.screens.modal import Modal
from tui.text import cell, esc
from tui.widgets.panel import FitTable, fit_columns

ORDER = {"failed": 0, "success": 1, "skipped": 2, "unchanged": 3}


class PlanScreen(Modal[None]):
    DEFAULT_CSS = """
    PlanScreen > #dialog { width: 100%; height: 100%; }
    PlanScreen DataTable { height: 1fr; }
    PlanScreen #plan-detail { height: auto; max-height: 5; border-top: solid $panel; }
    """

    def __init__(self, run: Run, plan: Records) -> None:
        super().__init__()
        self.run, self.plan = run, plan

    def compose(self) -> ComposeResult:
        counts = self.run.counts
        with Vertical(id="dialog"):
            yield Static(
                f"[b]Dry run {self.run.id}: nothing was written.[/b]  Planned: "
                f"{counts.get('new', 0)} new, {counts.get('updated', 0)} updated, "
                f"{counts.get('unchanged', 0)} unchanged, {counts.get('failed', 0)} failed, "
                f"{counts.get('skipped', 0)} skipped.",
                id="dialog-title",
            )
            yield FitTable(id="plan-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="plan-detail")
            yield Static("Esc closes; press s on the main screen to sync for real", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        fit_columns(table, [("Email", 30), ("Plan", 8), ("Details", 0)])
        self.shown = [
            r
            for r in sorted(self.plan.records, key=lambda r: ORDER.get(r.status, 9))
            if r.status != "unchanged"
        ]
        for record in self.shown:
            action = (
                ("New" if record.type == "New" else "Update")
                if record.status == "success"
                else record.status.title()
            )
            table.add_row(cell(record.email), cell(action), cell(record.result))
        super().on_mount()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = event.cursor_row
        if 0 <= row < len(self.shown):
            record = self.shown[row]
            self.query_one("#plan-detail", Static).update(
                f"[b]{esc(record.email or '-')}[/b]: {esc(record.result)}"
            )
