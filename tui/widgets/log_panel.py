"""The Log tab: a run's records filtered by status and searched by email, the full Result of
the chosen record, and the CSV report of what the filter shows. A held run's records are its
plan: ``a`` approves it, ``D`` discards it, each after a yes.

Run, status filter and search share one line; the Result of the highlighted record is in a
pane below that scrolls, so the table stays one line a record at 80x24.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Select, Static

from azsyncd.control.client import Client, Record, Records, RecordStatus, Run
from tui.api import Failure
from tui.screens.confirm import ConfirmScreen
from tui.screens.path import PathScreen
from tui.text import at, cell, esc, zone_note
from tui.widgets.panel import FitTable, Panel, fit_columns

STATUSES: list[tuple[str, str]] = [
    ("All", "all"),
    ("Failed", "failed"),
    ("Success", "success"),
    ("Unchanged", "unchanged"),
    ("Skipped", "skipped"),
]
COLUMNS = [("Email", 26), ("Status", 9), ("Tenant", 10), ("Type", 8), ("Result", 0)]
# Setting keys a Result's fix may name, and where the admin sets them.
SETTING = re.compile(r"\b(mapping|sync|schedule|welcome_email|account)\.([a-z_]+)")


@dataclass(frozen=True)
class RunView:
    run: Run
    records: Records


def setting_in(text: str) -> str | None:
    """The first setting a fix names ("set mapping.skip_empty_phones = true"), if any."""
    found = SETTING.search(text)
    if found:
        return found.group(0)
    return "mapping.custom_fields" if "[mapping.custom_fields]" in text else None


class LogPanel(Panel):
    DEFAULT_CSS = """
    LogPanel #filters { height: 1; }
    LogPanel #run { width: 1fr; min-width: 20; }
    LogPanel #status { width: 13; margin: 0 1; }
    LogPanel #search { width: 22; }
    LogPanel #summary { height: auto; max-height: 3; }
    LogPanel #record-table { height: 1fr; min-height: 3; }
    LogPanel #detail { height: 6; border-top: solid $panel; }
    """
    BINDINGS = [
        Binding("x", "export", "Export CSV", priority=True),
        Binding("g", "go_to_setting", "Go to setting", priority=True),
        # Not priority: typed in the search field they are letters.
        Binding("a", "approve", "Approve held run"),
        Binding("D", "discard", "Discard held run"),
    ]
    SEARCH = "search"
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("Up/Down", "choose a record; its full Result is in the pane below"),
        ("Shift+Tab", "to the run, status and search above the records"),
        ("Tab to the pane", "scroll a long Result with Up/Down"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records: list[Record] = []
        self.run_id: int | None = None
        self.held = False  # the run shown is held: it may be approved or discarded
        self.runs: list[Run] = []
        self.shown_zone = "UTC"  # the account's zone when the runs were read
        self._records_due = False
        self._export_when_shown = False

    def pending(self) -> bool:
        return self._records_due

    def compose(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Select([], prompt="(run)", compact=True, id="run")
            yield Select(STATUSES, value="all", allow_blank=False, compact=True, id="status")
            yield Input(placeholder="(search email: /)", compact=True, id="search")
        yield Static("", id="summary")
        yield FitTable(id="record-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="detail"):
            yield Static("", id="result")

    def on_mount(self) -> None:
        fit_columns(self.query_one(DataTable), COLUMNS)

    def first_control(self) -> DataTable[Any]:
        return self.query_one("#record-table", DataTable)  # the filters are a Shift+Tab away

    # Runs, then the chosen run's records.

    def read(self, client: Client) -> tuple[list[Run], str]:
        return client.runs(limit=30), self.zone_from(client)

    def show(self, data: tuple[list[Run], str]) -> None:
        runs, self.shown_zone = data
        self.runs = runs
        select = self.query_one("#run", Select)
        current = select.value
        select.set_options(
            [
                (
                    f"{r.id}: {at(r.started_at, self.shown_zone)[5:]} {r.trigger}"
                    f"{' (dry)' if r.dry_run else ''} {r.status}",
                    r.id,
                )
                for r in runs
            ]
        )
        ids = [r.id for r in runs]
        self._records_due = bool(ids)
        if current in ids:
            select.value = current
            self.filters_changed()
        elif ids:
            select.value = next((r.id for r in runs if not r.dry_run), ids[0])
        else:
            self.query_one("#summary", Static).update("No sync has run yet.")

    @on(Select.Changed, "#run")
    @on(Select.Changed, "#status")
    def filters_changed(self) -> None:
        run = self.query_one("#run", Select).value
        self._records_due = isinstance(run, int)
        if isinstance(run, int):
            self.load_records(run, self.status_filter(), self.query_one("#search", Input).value)

    @on(Input.Changed, "#search")
    def search_typed(self) -> None:
        self._records_due = True
        self.after_typing(self.filters_changed)

    def status_filter(self) -> RecordStatus | None:
        value = self.query_one("#status", Select).value
        return None if value == "all" else value  # type: ignore[return-value]

    def asked(self) -> tuple[object, RecordStatus | None, str]:
        """The run, status and search the filters ask for now."""
        search = self.query_one("#search", Input).value
        return self.query_one("#run", Select).value, self.status_filter(), search

    @work(thread=True, exclusive=True, group="records")
    def load_records(self, run_id: int, status: RecordStatus | None, search: str) -> None:
        view = self.attempt(
            lambda c: RunView(
                c.run(run_id), c.records(run_id, status=status, search=search, limit=2000)
            )
        )
        if isinstance(view, RunView):
            self.on_ui(self._arrived, (run_id, status, search), view)
        else:
            self.on_ui(self.failed, view)

    def _arrived(self, asked: tuple[object, RecordStatus | None, str], view: RunView) -> None:
        # A thread that was asked before the admin picked another run (or a reload chose one)
        # may answer last: only the answer to what the filters ask now is shown.
        if asked == self.asked():
            self.show_records(view)

    def failed(self, failure: Failure) -> None:
        super().failed(failure)
        self._records_due = False

    def show_records(self, view: RunView) -> None:
        run, records = view.run, view.records
        self.run_id = run.id
        counts = run.counts
        ok = sum(counts.get(k, 0) for k in ("new", "updated", "unchanged"))
        dot = self.marks.dot
        summary = (
            f"Run {run.id} {dot} {esc(run.trigger)} {dot} "
            f"{esc(at(run.started_at, self.shown_zone, 19))} ({zone_note(self.shown_zone)}) {dot} "
            f"[b]{esc(run.status)}[/b]: {ok} succeeded ({counts.get('new', 0)} new, "
            f"{counts.get('updated', 0)} updated), {counts.get('failed', 0)} failed, "
            f"{counts.get('skipped', 0)} skipped {dot} showing {len(records.records)} "
            f"of {records.total}"
        )
        if run.message:
            summary += f"\n{esc(run.message)}"
        self.held = run.status == "held"
        if self.held:
            summary += "\nHeld, nothing written: press a to apply this plan, D to discard it."
        self.refresh_bindings()
        self.query_one("#summary", Static).update(summary)
        self.records = records.records
        table = self.query_one(DataTable)
        table.clear()
        for r in self.records:
            table.add_row(
                cell(r.email),
                cell("Failed" if r.status == "failed" else r.status.title()),
                cell(r.tenant),
                cell(r.type),
                cell(r.result),
            )
        self.show_result()
        self._records_due = False
        if self._export_when_shown:
            self._export_when_shown = False
            self.action_export()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_result()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go_to_setting":
            record = self.selected()
            return bool(record and setting_in(record.result))
        if action in ("approve", "discard"):
            return self.held  # offered for a held run only
        return True

    def selected(self) -> Record | None:
        row = self.query_one(DataTable).cursor_row
        return self.records[row] if 0 <= row < len(self.records) else None

    def show_result(self) -> None:
        record = self.selected()
        text = ""
        if record is not None:
            text = (
                f"[b]{esc(record.email or '-')}[/b] {self.marks.dot} {esc(record.tenant)} "
                f"{self.marks.dot} {esc(record.user_id)}\n{esc(record.result)}"
            )
            setting = setting_in(record.result)
            if setting:
                text += f"\n[b]g[/b] goes to {esc(setting)}"
        self.query_one("#result", Static).update(text)

    def action_go_to_setting(self) -> None:
        record = self.selected()
        setting = setting_in(record.result) if record else None
        if setting is None:
            self.app.notify("This record's Result names no setting", timeout=3)
            return
        self.azsync.go_to_setting(setting)

    # A held run: approve (apply exactly its plan) or discard.

    def action_approve(self) -> None:
        self._decide(approve=True)

    def action_discard(self) -> None:
        self._decide(approve=False)

    def _decide(self, *, approve: bool) -> None:
        run_id = self.run_id
        if run_id is None or not self.held:
            return
        question = (
            f"Apply the plan of run {run_id} now, exactly as listed?"
            if approve
            else f"Discard the plan of run {run_id}? Nothing of it is written."
        )

        def answered(yes: bool | None) -> None:
            if yes and self.held and self.run_id == run_id:
                self.held = False
                self.refresh_bindings()
                if approve:
                    self.app.notify(f"Applying run {run_id}'s plan...")
                self.decide(run_id, approve=approve)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, group="held")
    def decide(self, run_id: int, *, approve: bool) -> None:
        if approve:
            self.say(self.attempt(lambda c: c.approve_run(run_id)), f"Run {run_id} approved")
        else:
            self.say(self.attempt(lambda c: c.discard_run(run_id)), f"Run {run_id} discarded")
        self.on_ui(self.reload)

    # Export: the rows the filter shows, to a path shown in full.

    def action_export(self) -> None:
        if self.run_id is None:
            if self.settled:
                self.app.notify("No sync has run yet: nothing to export", severity="warning")
            else:
                self._export_when_shown = True  # x typed ahead of the log: ask once it is there
            return
        run_id, status = self.run_id, self.status_filter()
        search = self.query_one("#search", Input).value
        suffix = "".join(f"-{part}" for part in (status, search) if part)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"azsync-run-{run_id}{suffix}.csv")

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.export(run_id, status, search, path)

        what = "the records shown" if status or search else "every record"
        self.app.push_screen(
            PathScreen(f"Save the CSV report of run {run_id} ({what}) to", str(Path.cwd() / name)),
            chosen,
        )

    @work(thread=True, group="export")
    def export(self, run_id: int, status: RecordStatus | None, search: str, path: Path) -> None:
        report = self.attempt(lambda c: c.report_csv(run_id, status=status, search=search))
        if not isinstance(report, Failure):
            try:
                path.write_bytes(report)
            except OSError as exc:
                report = Failure(f"cannot write {path}: {exc.strerror}", "choose a writable path")
        self.say(report, f"Saved the CSV report of run {run_id} to {path}")
