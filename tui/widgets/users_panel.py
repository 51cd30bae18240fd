"""The Select users tab: per tenant, all users or the members of chosen groups."""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select, SelectionList, Static

from azsyncd.control.client import Group, Tenant
from tui.api import Failure
from tui.widgets.panel import Panel


class UsersPanel(Panel):
    DEFAULT_CSS = """
    UsersPanel Horizontal { height: auto; }
    UsersPanel RadioSet { width: auto; }
    UsersPanel SelectionList { height: 1fr; min-height: 4; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save selection")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants: dict[str, Tenant] = {}
        self.chosen: dict[str, str] = {}  # group id -> name

    def compose(self) -> ComposeResult:
        yield Select([], prompt="Tenant", id="tenant", allow_blank=True)
        with Horizontal():
            with RadioSet(id="scope"):
                yield RadioButton("All users", id="all", value=True)
                yield RadioButton("Specific groups", id="groups")
            yield Checkbox("Leave out disabled accounts", id="exclude")
        yield Input(placeholder="search groups by name (live)", id="search")
        yield SelectionList[str](id="results")
        yield Static("", id="chosen")
        yield Static("[dim]space[/dim] pick a group  [dim]Ctrl+S[/dim] save", classes="hint")

    @work(thread=True, exclusive=True, group="users")
    def load(self) -> None:
        tenants = self.fetch(lambda c: c.tenants())
        if tenants is not None:
            self.app.call_from_thread(self.show_tenants, tenants)

    def show_tenants(self, tenants: list[Tenant]) -> None:
        self.tenants = {t.name: t for t in tenants}
        select = self.query_one("#tenant", Select)
        current = select.value
        select.set_options([(t.label, t.name) for t in tenants])
        if current in self.tenants:
            select.value = current
        elif tenants:
            select.value = tenants[0].name

    @on(Select.Changed, "#tenant")
    def tenant_changed(self, event: Select.Changed) -> None:
        tenant = self.tenants.get(str(event.value))
        if tenant is None:
            return
        self.query_one("#groups" if tenant.users == "groups" else "#all", RadioButton).value = True
        self.query_one("#exclude", Checkbox).value = tenant.exclude_disabled
        self.chosen = {g: f"group {g[:8]}…" for g in tenant.groups}
        self.show_chosen()

    def show_chosen(self) -> None:
        names = ", ".join(sorted(self.chosen.values())) or "none"
        self.query_one("#chosen", Static).update(f"Chosen groups: {names}")

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        tenant = self.query_one("#tenant", Select).value
        if tenant is not Select.NULL:
            self.search(str(tenant), event.value)

    @work(thread=True, exclusive=True, group="group-search")
    def search(self, tenant: str, text: str) -> None:
        time.sleep(0.25)  # typing: let the last keystroke win (exclusive cancels older searches)
        groups = self.fetch(lambda c: c.groups(tenant, text))
        if groups is not None:
            self.app.call_from_thread(self.show_results, groups)

    def show_results(self, groups: list[Group]) -> None:
        results = self.query_one("#results", SelectionList)
        results.clear_options()
        results.add_options([(g.name, g.id, g.id in self.chosen) for g in groups])
        if groups:
            results.highlighted = 0

    @on(SelectionList.SelectionToggled, "#results")
    def toggled(self, event: SelectionList.SelectionToggled) -> None:
        group_id = str(event.selection.value)
        if group_id in self.chosen:
            self.chosen.pop(group_id)
        else:
            self.chosen[group_id] = str(event.selection.prompt)
        if self.chosen:
            self.query_one("#groups", RadioButton).value = True
        self.show_chosen()

    def action_save(self) -> None:
        tenant = self.query_one("#tenant", Select).value
        if tenant is Select.NULL:
            self.app.notify("Pick a tenant first", severity="warning")
            return
        groups_mode = self.query_one("#groups", RadioButton).value
        body = {
            "users": "groups" if groups_mode else "all",
            "groups": sorted(self.chosen) if groups_mode else [],
            "exclude_disabled": self.query_one("#exclude", Checkbox).value,
        }
        self.save(str(tenant), body)

    @work(thread=True, group="users-save")
    def save(self, tenant: str, body: dict[str, Any]) -> None:
        answer = self.attempt(lambda c: c.update_tenant(tenant, **body))
        if isinstance(answer, Failure) and answer.problems:
            answer.message = "; ".join(p.message for p in answer.problems)
        self.say(answer, f"Selection saved for {tenant}; it applies from the next sync")
        self.app.call_from_thread(self.reload)
