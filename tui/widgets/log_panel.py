"""The Sync log tab: a run's summary, its records filtered and searched, the Result, CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static

from azsyncd.control.client import Record, Records, RecordStatus, Run
from tui.api import Failure
from tui.screens.forms import PathScreen
from tui.text import when
from tui.widgets.panel import Panel

STATUSES = [
    ("All", "all"),
    ("Failed", "failed"),
    ("Success", "success"),
    ("Unchanged", "unchanged"),
    ("Skipped", "skipped"),
]


class LogPanel(Panel):
    DEFAULT_CSS = """
    LogPanel Horizontal { height: auto; }
    LogPanel #run { width: 2fr; }
    LogPanel #status { width: 1fr; }
    LogPanel #record-table { height: 1fr; }
    LogPanel #result { height: auto; max-height: 5; }
    """
    BINDINGS = [Binding("x", "export", "Export CSV")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records: list[Record] = []
        self.run_id: int | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Select([], prompt="Run", id="run")
            yield Select(STATUSES, value="all", allow_blank=False, id="status")
        yield Input(placeholder="search by email", id="search")
        yield Static("", id="summary")
        yield DataTable(id="record-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="result")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Email", "Type", "Sync Status", "Result")

    @work(thread=True, exclusive=True, group="log")
    def load(self) -> None:
        runs = self.fetch(lambda c: c.runs(limit=30))
        if runs is not None:
            self.app.call_from_thread(self.show_runs, runs)

    def show_runs(self, runs: list[Run]) -> None:
        select = self.query_one("#run", Select)
        options = [
            (
                f"run {r.id} · {when(r.started_at)} · {r.trigger}"
                f"{' · dry run' if r.dry_run else ''} · {r.status}",
                r.id,
            )
            for r in runs
        ]
        current = select.value
        select.set_options(options)
        ids = [r.id for r in runs]
        if current in ids:
            select.value = current
        elif ids:
            latest = next((r.id for r in runs if not r.dry_run), ids[0])
            select.value = latest
        if not runs:
            self.query_one("#summary", Static).update("No sync has run yet.")

    @on(Select.Changed)
    @on(Input.Changed, "#search")
    def filters_changed(self) -> None:
        run = self.query_one("#run", Select).value
        if isinstance(run, int):
            status = self.query_one("#status", Select).value
            self.load_records(
                run,
                None if status == "all" else status,  # type: ignore[arg-type]
                self.query_one("#search", Input).value,
            )

    @work(thread=True, exclusive=True, group="records")
    def load_records(self, run_id: int, status: RecordStatus | None, search: str) -> None:
        run = self.fetch(lambda c: c.run(run_id))
        records = self.fetch(lambda c: c.records(run_id, status=status, search=search, limit=2000))
        if run is not None and records is not None:
            self.app.call_from_thread(self.show_records, run, records)

    def show_records(self, run: Run, records: Records) -> None:
        self.run_id = run.id
        counts = run.counts
        ok = sum(counts.get(k, 0) for k in ("new", "updated", "unchanged"))
        summary = (
            f"Run {run.id} · {run.trigger} · started {when(run.started_at, 19)} · {run.status}"
            f"\n{ok} succeeded ({counts.get('new', 0)} new, {counts.get('updated', 0)} updated) · "
            f"{counts.get('failed', 0)} failed · {counts.get('skipped', 0)} skipped"
            f" · showing {len(records.records)} of {records.total}"
        )
        if run.message:
            summary += f"\n{run.message}"
        self.query_one("#summary", Static).update(summary)
        self.records = records.records
        table = self.query_one(DataTable)
        table.clear()
        for r in self.records:
            table.add_row(
                r.email or "-",
                r.type,
                "Failed" if r.status == "failed" else r.status.title(),
                r.result[:60],
            )
        self.show_result()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_result()

    def show_result(self) -> None:
        row = self.query_one(DataTable).cursor_row
        text = ""
        if 0 <= row < len(self.records):
            record = self.records[row]
            text = (
                f"[b]{record.email or '-'}[/b] ({record.tenant}, {record.user_id}): {record.result}"
            )
        self.query_one("#result", Static).update(text)

    def action_export(self) -> None:
        if self.run_id is None:
            self.app.notify("No run to export yet", severity="warning")
            return
        run_id = self.run_id

        def chosen(path: str | None) -> None:
            if path:
                self.export(run_id, path)

        self.app.push_screen(
            PathScreen("Save the CSV report to", f"azsync-run-{run_id}.csv"), chosen
        )

    @work(thread=True, group="export")
    def export(self, run_id: int, path: str) -> None:
        report = self.attempt(lambda c: c.report_csv(run_id))
        if not isinstance(report, Failure):
            try:
                Path(path).expanduser().write_bytes(report)
            except OSError as exc:
                report = Failure(f"cannot write {path}: {exc.strerror}", "choose a writable path")
        self.say(report, f"Saved the CSV report of run {run_id} to {path}")
