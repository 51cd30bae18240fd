"""A dry run's plan, before anything is written."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from azsyncd.control.client import Records, Run
from tui.screens.forms import MODAL_CSS


class PlanScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        MODAL_CSS
        + """
    PlanScreen > Vertical { width: 100%; height: 100%; }
    PlanScreen DataTable { height: 1fr; }
    """
    )
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, run: Run, plan: Records) -> None:
        super().__init__()
        self.run, self.plan = run, plan

    def compose(self) -> ComposeResult:
        counts = self.run.counts
        with Vertical():
            yield Static(
                f"[b]Dry run {self.run.id}: nothing was written.[/b]  Planned: "
                f"{counts.get('new', 0)} new, "
                f"{counts.get('updated', 0)} updated, {counts.get('unchanged', 0)} unchanged, "
                f"{counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped.  (Esc to "
                "close)"
            )
            yield DataTable(id="plan-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Email", "Plan", "Details")
        order = {"failed": 0, "success": 1, "skipped": 2, "unchanged": 3}
        for record in sorted(self.plan.records, key=lambda r: order.get(r.status, 9)):
            if record.status == "unchanged":
                continue
            action = (
                ("New" if record.type == "New" else "Update")
                if record.status == "success"
                else record.status.title()
            )
            table.add_row(record.email or "-", action, record.result)
