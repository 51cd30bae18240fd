"""The Contacts tab: the built-in store's contacts, searchable, marked when synced from Entra ID."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from azsyncd.control.client import Client, Contacts
from tui.text import cell
from tui.widgets.panel import FitTable, Panel, fit_columns

COLUMNS = [("", 1), ("Email", 0), ("Name", 20), ("Phones", 18), ("Custom fields", 0)]


class ContactsPanel(Panel):
    DEFAULT_CSS = """
    ContactsPanel #contact-search { margin-bottom: 0; }
    ContactsPanel #contact-table { height: 1fr; }
    """
    SEARCH = "contact-search"
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [("/", "search contacts by email or name")]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="(search by email or name: /)", id="contact-search", compact=True)
        yield Static("", id="contact-count")
        yield FitTable(id="contact-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        fit_columns(self.query_one(DataTable), COLUMNS)

    @on(Input.Changed, "#contact-search")
    def search_typed(self) -> None:
        self._settled = False
        self.after_typing(self.reload)

    def read(self, client: Client) -> Contacts:
        return client.contacts(self.query_one("#contact-search", Input).value, limit=500)

    def show(self, data: Contacts) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for c in data.contacts:
            phones = ", ".join(p.number for p in c.phones)
            custom = ", ".join(
                f"{k}: {v}" for k, v in c.custom_fields.items() if v not in (None, "")
            )
            mark = self.marks.entra if c.synced_from_entra else ""
            table.add_row(cell(mark), cell(c.email), cell(c.name), cell(phones), cell(custom))
        self.query_one("#contact-count", Static).update(
            f"{len(data.contacts)} of {data.total} contacts {self.marks.dot} "
            f"{self.marks.entra} synced from Entra ID"
        )
