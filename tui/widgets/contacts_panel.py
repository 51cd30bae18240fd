"""The Contacts tab: the built-in store's contacts, searchable, marked when synced from Entra ID."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from azsyncd.control.client import Contacts
from tui.widgets.panel import Panel


class ContactsPanel(Panel):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="search by email or name", id="contact-search")
        yield Static("", id="contact-count")
        yield DataTable(id="contact-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("", "Email", "Name", "Phones", "Custom fields")

    @on(Input.Changed, "#contact-search")
    def search_changed(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="contacts")
    def load(self) -> None:
        search = self.query_one("#contact-search", Input).value
        data = self.fetch(lambda c: c.contacts(search, limit=500))
        if data is not None:
            self.app.call_from_thread(self.show, data)

    def show(self, data: Contacts) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for c in data.contacts:
            phones = ", ".join(p.number for p in c.phones)
            custom = ", ".join(
                f"{k}: {v}" for k, v in c.custom_fields.items() if v not in (None, "")
            )
            table.add_row("Ⓔ" if c.synced_from_entra else "", c.email, c.name, phones, custom[:60])
        self.query_one("#contact-count", Static).update(
            f"{len(data.contacts)} of {data.total} contacts · Ⓔ synced from Entra ID"
        )
