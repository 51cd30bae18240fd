"""The Audit tab: who changed what through the socket, newest first, and what each change was."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from azsyncd.control.client import AuditEntry, Client, audit_changed, audit_what
from tui.text import at, cell, esc, zone_note
from tui.widgets.panel import FitTable, Panel, fit_columns

COLUMNS = [("When", 16), ("Who", 12), ("What", 0), ("Changed", 0)]
SHOWN = 200  # the newest entries; azsyncctl audit --limit reads further back


class AuditPanel(Panel):
    DEFAULT_CSS = """
    AuditPanel #audit-filter { height: 1; }
    AuditPanel #audit-filter Label { width: 8; }
    AuditPanel #audit-user { width: 24; }
    AuditPanel #audit-zone { width: 1fr; padding-left: 2; }
    AuditPanel #audit-table { height: 1fr; min-height: 3; }
    AuditPanel #audit-detail { height: 6; border-top: solid $panel; }
    """
    SEARCH = "audit-user"
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("Up/Down", "choose a change; what it changed is in the pane below"),
        ("/", "only one user's changes"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entries: list[AuditEntry] = []
        self.shown_zone = "UTC"

    def compose(self) -> ComposeResult:
        with Horizontal(id="audit-filter"):
            yield Label("User")
            yield Input(placeholder="(everyone: /)", id="audit-user", compact=True)
            yield Static("", id="audit-zone", classes="hint")
        yield FitTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="audit-detail"):
            yield Static("", id="audit-text")

    def on_mount(self) -> None:
        fit_columns(self.query_one(DataTable), COLUMNS)

    def first_control(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    @on(Input.Changed, "#audit-user")
    def user_typed(self) -> None:
        self._settled = False
        self.after_typing(self.reload)

    def read(self, client: Client) -> tuple[list[AuditEntry], str]:
        user = self.query_one("#audit-user", Input).value.strip()
        return client.audit(limit=SHOWN, user=user or None), self.zone_from(client)

    def show(self, data: tuple[list[AuditEntry], str]) -> None:
        self.entries, self.shown_zone = data
        self.query_one("#audit-zone", Static).update(zone_note(self.shown_zone))
        table = self.query_one(DataTable)
        table.clear()
        for entry in self.entries:
            table.add_row(
                cell(at(entry.at, self.shown_zone)),
                cell(entry.user or f"uid {entry.uid}"),
                cell(audit_what(entry)),
                cell(audit_changed(entry)),
            )
        self.show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        row = self.query_one(DataTable).cursor_row
        text = "No change has been made through the socket yet."
        if 0 <= row < len(self.entries):
            entry = self.entries[row]
            lines = [
                f"[b]{esc(entry.user or 'uid ' + str(entry.uid))}[/b] {esc(audit_what(entry))} at "
                f"{esc(at(entry.at, self.shown_zone, 19))} ({esc(entry.action)}, answer "
                f"{entry.status}, uid {entry.uid})",
                *(esc(change) for change in entry.changes),
            ]
            text = "\n".join(lines)
        self.query_one("#audit-text", Static).update(text)
