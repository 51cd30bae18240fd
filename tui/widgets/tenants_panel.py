"""The Tenants tab: status of each tenant; add, authorize, enable/disable, delete."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from azsyncd.control.client import Tenant, TenantState
from tui.api import Failure
from tui.screens.forms import AddTenantScreen, ConfirmScreen
from tui.screens.sign_in import SignInScreen
from tui.text import when
from tui.widgets.panel import Panel


def status_label(state: TenantState) -> str:
    return "Active ✅" if state.status == "active" else f"{state.status.title()}: {state.reason}"


class TenantsPanel(Panel):
    BINDINGS = [
        Binding("a", "add", "Add tenant"),
        Binding("z", "authorize", "Authorize"),
        Binding("e", "toggle_enabled", "Enable/disable"),
        Binding("delete", "delete", "Delete"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants: list[Tenant] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="tenant-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="tenant-detail")
        yield Static(
            "[dim]a[/dim] add  [dim]z[/dim] authorize / re-authorize  [dim]e[/dim] enable/disable  "
            "[dim]Del[/dim] delete",
            classes="hint",
        )

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "Name", "Status", "Tenant ID", "Cloud", "Auth", "Last sync"
        )

    @work(thread=True, exclusive=True, group="tenants")
    def load(self) -> None:
        tenants = self.fetch(lambda c: c.tenants())
        if tenants is not None:
            self.app.call_from_thread(self.show, tenants)

    def show(self, tenants: list[Tenant]) -> None:
        self.tenants = tenants
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for t in tenants:
            table.add_row(
                t.name,
                status_label(t.state),
                t.tenant_id,
                t.cloud,
                t.auth,
                when(t.state.last_sync_at),
                key=t.name,
            )
        if tenants:
            table.move_cursor(row=min(row, len(tenants) - 1))
        self.show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        tenant = self.selected()
        detail = self.query_one("#tenant-detail", Static)
        if tenant is None:
            detail.update("No tenant yet: press a to add one.")
            return
        text = f"{tenant.label}: {status_label(tenant.state)}"
        if tenant.state.fix:
            text += f"\nfix: {tenant.state.fix}"
        detail.update(text)

    def selected(self) -> Tenant | None:
        table = self.query_one(DataTable)
        if not self.tenants or table.cursor_row < 0 or table.cursor_row >= len(self.tenants):
            return None
        return self.tenants[table.cursor_row]

    def action_add(self) -> None:
        def added(tenant: Tenant | None) -> None:
            if tenant:
                self.app.notify(f"Added {tenant.name}; press z to authorize it")
                self.reload()

        self.app.push_screen(
            AddTenantScreen(lambda body: self.attempt(lambda c: c.add_tenant(**body))), added
        )

    def action_authorize(self) -> None:
        tenant = self.selected()
        if tenant:
            self.authorize(tenant.name)

    @work(thread=True, exclusive=True, group="authorize")
    def authorize(self, name: str) -> None:
        answer = self.attempt(lambda c: c.authorize(name))
        if isinstance(answer, Failure):
            self.say(answer)
            return
        if answer.device_code:
            screen = SignInScreen(
                name, answer.device_code, lambda: self.attempt(lambda c: c.sign_in_status(name))
            )
            self.app.call_from_thread(self.app.push_screen, screen, lambda _: self.reload())
            return
        state = answer.tenant.state
        if state.status == "active":
            self.app.call_from_thread(self.app.notify, f"{name} is authorized: Active ✅")
        else:
            self.app.call_from_thread(
                self.app.notify, f"{state.reason}\nfix: {state.fix}", severity="error", timeout=20
            )
        self.app.call_from_thread(self.reload)

    def action_toggle_enabled(self) -> None:
        tenant = self.selected()
        if tenant:
            self.toggle(tenant.name, not tenant.enabled)

    @work(thread=True, group="tenant-change")
    def toggle(self, name: str, enabled: bool) -> None:
        result = self.attempt(lambda c: c.set_tenant_enabled(name, enabled))
        self.say(result, f"{name}: {'enabled' if enabled else 'disabled'}")
        self.app.call_from_thread(self.reload)

    def action_delete(self) -> None:
        tenant = self.selected()
        if tenant is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete(tenant.name)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete tenant [b]{tenant.name}[/b]? Its settings and token cache go;"
                " the contacts it synced stay in the help desk."
            ),
            confirmed,
        )

    @work(thread=True, group="tenant-change")
    def delete(self, name: str) -> None:
        self.say(self.attempt(lambda c: c.delete_tenant(name)), f"Deleted {name}")
        self.app.call_from_thread(self.reload)
