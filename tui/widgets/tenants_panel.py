"""The Tenants tab: each tenant's state; add, authorize, credential, enable/disable, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from azsyncd.control.client import Client, Tenant
from tui.api import Failure
from tui.screens.confirm import ConfirmScreen
from tui.screens.sign_in import SignInScreen
from tui.screens.tenant_form import TenantForm
from tui.text import at, cell, esc, state_label, zone_note
from tui.widgets.panel import FitTable, Panel, fit_columns

# Status and Tenant ID take the room the others leave; the cloud is in the pane below.
COLUMNS = [("Name", 12), ("Status", 0), ("Last sync", 16), ("Auth", 11), ("Tenant ID", 0)]


class TenantsPanel(Panel):
    DEFAULT_CSS = """
    TenantsPanel #tenant-table { height: 1fr; min-height: 4; }
    TenantsPanel #tenant-detail { height: auto; max-height: 9; border-top: solid $panel; }
    """
    BINDINGS = [
        Binding("a", "add", "Add", priority=True),
        Binding("z", "authorize", "Authorize", priority=True),
        Binding("c", "credential", "Credential", priority=True),
        Binding("e", "toggle_enabled", "On/off", priority=True),
        Binding("delete,backspace", "delete", "Delete", key_display="Del", priority=True),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("Up/Down", "choose a tenant; its details and the fix for its state are below"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants: list[Tenant] = []
        self.select_next: str | None = None  # a tenant just added becomes the selected one
        self.shown_zone = "UTC"  # the account's zone when the table was read

    def compose(self) -> ComposeResult:
        yield FitTable(id="tenant-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="tenant-detail"):
            yield Static("", id="tenant-text")

    def on_mount(self) -> None:
        fit_columns(self.query_one(DataTable), COLUMNS)

    def read(self, client: Client) -> tuple[list[Tenant], str]:
        return client.tenants(), self.zone_from(client)

    def show(self, data: tuple[list[Tenant], str]) -> None:
        tenants, self.shown_zone = data
        table = self.query_one(DataTable)
        current = self.selected()
        selected = self.select_next or (current.name if current else None)
        self.select_next = None
        self.tenants = tenants
        table.clear()
        for t in tenants:
            table.add_row(
                cell(t.name),
                cell(state_label(t.state, self.marks)),
                cell(at(t.state.last_sync_at, self.shown_zone)),
                cell(t.auth),
                cell(t.tenant_id),
                key=t.name,
            )
        names = [t.name for t in tenants]
        if tenants:
            table.move_cursor(row=names.index(selected) if selected in names else 0)
        self.show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        tenant = self.selected()
        text = self.query_one("#tenant-text", Static)
        if tenant is None:
            text.update("No tenant yet: press a to add one.")
            return
        state = tenant.state
        lines = [
            f"[b]{esc(tenant.label)}[/b] ({esc(tenant.name)}): "
            f"{esc(state_label(state, self.marks))}",
            f"tenant {esc(tenant.tenant_id)} {self.marks.dot} app {esc(tenant.client_id)} "
            f"{self.marks.dot} {esc(tenant.cloud)} {self.marks.dot} "
            f"{'enabled' if tenant.enabled else 'disabled'}",
        ]
        if state.fix:
            lines.append(f"fix: {esc(state.fix)}")
        lines.append(
            f"last sync {at(state.last_sync_at, self.shown_zone)} {self.marks.dot} "
            f"{zone_note(self.shown_zone)}"
        )
        if tenant.auth == "device_code":
            lines.append("z signs in with a device code as an admin of the tenant")
        else:
            lines.append("c stores a new client secret or certificate; z checks it works")
        files = [
            f"{key}: {getattr(tenant, key)}"
            for key in ("client_secret_file", "certificate_file", "pfx_file", "ca_bundle")
            if getattr(tenant, key)
        ]
        if files:
            lines.append(f"[dim]{esc(', '.join(files))} (configuration file)[/dim]")
        text.update("\n".join(lines))

    def selected(self) -> Tenant | None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        return self.tenants[row] if self.tenants and 0 <= row < len(self.tenants) else None

    def first_control(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    # Actions: each write asks first.

    def confirm(self, question: str, then: Callable[[], object]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_add(self) -> None:
        self.app.push_screen(TenantForm(), self.added)

    def added(self, tenant: Tenant | None) -> None:
        if tenant is None:
            return
        self.select_next = tenant.name
        what = "z signs in" if tenant.auth == "device_code" else "z checks it works"
        self.app.notify(f"Added {tenant.name}; {what}", markup=False)
        self.reload()

    def action_credential(self) -> None:
        tenant = self.selected()
        if tenant is None:
            return
        if tenant.auth == "device_code":
            self.app.notify(f"{tenant.name} signs in with a device code: press z", markup=False)
            return
        self.app.push_screen(TenantForm(tenant), self.stored)

    def stored(self, tenant: Tenant | None) -> None:
        if tenant is None:
            return
        self.select_next = tenant.name
        self.app.notify(
            f"Stored a new credential for {tenant.name}; z checks it works", markup=False
        )
        self.reload()

    def action_authorize(self) -> None:
        tenant = self.selected()
        if tenant is not None:
            self.confirm(
                f"Authorize {esc(tenant.name)} now?\nThe daemon gets a fresh token"
                + (" (you sign in with a code)." if tenant.auth == "device_code" else "."),
                lambda: self.authorize(tenant.name),
            )

    @work(thread=True, exclusive=True, group="authorize")
    def authorize(self, name: str) -> None:
        answer = self.attempt(lambda c: c.authorize(name))
        if isinstance(answer, Failure):
            self.say(answer)
        elif answer.device_code:
            screen = SignInScreen(
                name, answer.device_code, lambda: self.attempt(lambda c: c.sign_in_status(name))
            )
            self.on_ui(self.app.push_screen, screen, lambda _: self.reload())
            return
        elif answer.tenant.state.status == "active":
            self.on_ui(
                self.app.notify, f"{name} is authorized: Active{self.marks.active}", markup=False
            )
        else:
            state = answer.tenant.state
            self.on_ui(
                self.app.notify,
                f"{state.reason}\nfix: {state.fix}",
                severity="error",
                timeout=20,
                markup=False,
            )
        self.on_ui(self.reload)

    def action_toggle_enabled(self) -> None:
        tenant = self.selected()
        if tenant is None:
            return
        if tenant.enabled:
            question = f"Disable {esc(tenant.name)}?\nIt is left out of syncs until enabled again."
        else:
            question = f"Enable {esc(tenant.name)}?\nThe next sync includes it again."
        self.confirm(question, lambda: self.toggle(tenant.name, not tenant.enabled))

    @work(thread=True, group="tenant-change")
    def toggle(self, name: str, enabled: bool, force: bool = False) -> None:
        result = self.attempt(lambda c: c.set_tenant_enabled(name, enabled, force=force))
        if isinstance(result, Failure) and result.code == "preview_fails":
            # Enabling is previewed: one that fails many contacts is saved only if asked.
            message = result.message[:1].upper() + result.message[1:]
            question = f"Enable {esc(name)} anyway?\n{esc(message)}.\nNo leaves it disabled."
            self.on_ui(self.confirm, question, lambda: self.toggle(name, enabled, force=True))
            return
        self.say(result, f"{name}: {'enabled' if enabled else 'disabled'}")
        self.on_ui(self.reload)

    def action_delete(self) -> None:
        tenant = self.selected()
        if tenant is not None:
            self.confirm(
                f"Delete tenant [b]{esc(tenant.name)}[/b]?\nIts settings and token cache go; "
                "the contacts it synced stay in the help desk.",
                lambda: self.delete(tenant.name),
            )

    @work(thread=True, group="tenant-change")
    def delete(self, name: str) -> None:
        self.say(self.attempt(lambda c: c.delete_tenant(name)), f"Deleted {name}")
        self.on_ui(self.reload)
