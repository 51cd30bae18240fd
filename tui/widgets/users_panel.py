"""The Users tab: per tenant, all users or the members of chosen groups.

The chosen groups are listed by name before any search; each line says [x] or [ ], so the
choice reads the same in any terminal, with or without colour.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from azsyncd.control.client import Client, Group, Tenant, inert
from tui.screens.confirm import ConfirmScreen
from tui.screens.preview import Request
from tui.text import esc
from tui.widgets.fields import OnOff, Row, choose
from tui.widgets.form_panel import FormPanel

SCOPES = [("All users", "all"), ("Members of the chosen groups", "groups")]


class GroupList(OptionList):
    BINDINGS = [Binding("space", "select", "Pick", show=False)]


class UsersPanel(FormPanel):
    DEFAULT_CSS = """
    UsersPanel #group-list { height: 1fr; min-height: 4; }
    UsersPanel #form { height: auto; max-height: 10; }
    UsersPanel #chosen { height: auto; max-height: 3; }
    """
    SEARCH = "search"
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        *FormPanel.KEYS_HELP,
        ("Enter/Space", "in the list: pick or drop the group"),
        ("/", "search the tenant's groups by name"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants: dict[str, Tenant] = {}
        self.tenant = ""  # the tenant the form shows
        self.chosen: list[str] = []  # group ids, in the order picked
        self.known: dict[str, Group] = {}  # every group seen, by id
        self.found: list[Group] = []  # the last search's groups
        self._switching = False
        self._search_due = False

    def pending(self) -> bool:
        return self._search_due

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="chosen")
        yield GroupList(id="group-list")

    def compose_form(self) -> ComposeResult:
        yield Row(
            "Tenant", Select([], allow_blank=True, prompt="(none)", compact=True, id="tenant")
        )
        yield Row(
            "Users",
            Select(SCOPES, allow_blank=False, compact=True, id="users"),
            keys=["users"],
        )
        yield Row("Skip disabled accounts", OnOff(id="exclude_disabled"), keys=["exclude_disabled"])
        yield Row(
            "Search groups",
            Input(placeholder="(name starts with…; / jumps here)", id="search", compact=True),
            keys=["groups"],
        )

    def problem_key(self, key: str) -> str:
        return re.sub(r"^(body\.|tenants\[\d+\]\.)", "", key)

    # Reading and filling.

    def read(self, client: Client) -> list[Tenant]:
        return client.tenants()

    def fill(self, data: list[Tenant]) -> None:
        self.tenants = {t.name: t for t in data}
        select = self.by_id("tenant", Select)
        if self.tenant not in self.tenants:
            self.tenant = data[0].name if data else ""
        self._switching = True
        select.set_options([(t.label, t.name) for t in data])
        select.value = self.tenant or Select.NULL
        self._switching = False
        tenant = self.tenants.get(self.tenant)
        choose(self.by_id("users", Select), SCOPES, tenant.users if tenant else "all")
        self.by_id("exclude_disabled", OnOff).value = bool(tenant and tenant.exclude_disabled)
        self.chosen = list(tenant.groups) if tenant else []
        self.show_groups()
        if tenant is not None:
            self._search_due = True
            self.search_groups(tenant.name, self.by_id("search", Input).value)

    def values(self) -> dict[str, Any]:
        if not self.is_mounted:
            return {}
        return {
            "users": str(self.by_id("users", Select).value),
            "groups": sorted(self.chosen),  # kept when "all" is chosen, so nothing is lost
            "exclude_disabled": self.by_id("exclude_disabled", OnOff).value,
        }

    def write(self, client: Client, values: dict[str, Any], force: bool = False) -> list[Tenant]:
        client.update_tenant(self.tenant, **values, force=force)
        return client.tenants()

    def preview_request(self, values: dict[str, Any] | None) -> Request | None:
        tenant = self.tenant
        if not tenant:
            self.app.notify("No tenant to preview: add one on the Tenants tab (2)", timeout=5)
            return None
        change = (tenant, values) if values is not None else None
        return lambda c: c.preview(tenant_change=change, tenant=tenant)

    # Switching tenant: edits of the one shown are not dropped silently.

    @on(Select.Changed, "#tenant")
    def tenant_changed(self, event: Select.Changed) -> None:
        wanted = str(event.value)
        if self._switching or wanted == self.tenant or event.value is Select.NULL:
            return
        if not self.dirty:
            self.switch_to(wanted)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.switch_to(wanted)
            else:
                self._switching = True
                self.by_id("tenant", Select).value = self.tenant
                self._switching = False

        self.app.push_screen(
            ConfirmScreen(f"Forget the unsaved group choices for {esc(self.tenant)}?"), answered
        )

    def switch_to(self, name: str) -> None:
        self.tenant = name
        if self.data is not None:
            self._fill(self.data)

    # Groups: the chosen ones by name, then what the search found.

    def label(self, group_id: str) -> str:
        group = self.known.get(group_id)
        picked = self.marks.picked(group_id in self.chosen)
        if group is None:
            return f"{picked} group {group_id[:8]}… (name not known: search for it)"
        return f"{picked} {inert(group.name, keep='')}"

    def show_groups(self) -> None:
        """The chosen groups, then the ones the search found; each line says [x] or [ ]."""
        listing = self.by_id("group-list", GroupList)
        highlighted = listing.highlighted_option.id if listing.highlighted_option else None
        ids = list(dict.fromkeys([*self.chosen, *(g.id for g in self.found)]))
        listing.set_options([Option(Content(self.label(i)), id=i) for i in ids])
        if ids:
            listing.highlighted = ids.index(highlighted) if highlighted in ids else 0
        self.show_chosen()

    def show_chosen(self) -> None:
        names = [self.known[i].name if i in self.known else i[:8] + "…" for i in self.chosen]
        self.by_id("chosen", Static).update(
            f"Chosen groups ({len(self.chosen)}): {esc(', '.join(names)) or 'none'}"
        )

    @on(Input.Changed, "#search")
    def search_typed(self, event: Input.Changed) -> None:
        event.stop()  # a search is no edit of the settings
        tenant, text = self.tenant, event.value
        self._search_due = bool(tenant)
        self.after_typing(lambda: self.search_groups(tenant, text) if tenant else None)

    @work(thread=True, exclusive=True, group="group-search")
    def search_groups(self, tenant: str, text: str) -> None:
        groups = self.attempt(lambda c: c.groups(tenant, text))
        if isinstance(groups, list):
            self.on_ui(self.found_groups, tenant, groups)
        else:
            self.say(groups)
            self.on_ui(setattr, self, "_search_due", False)

    def found_groups(self, tenant: str, groups: list[Group]) -> None:
        if tenant != self.tenant:
            return
        self._search_due = False
        self.known.update({g.id: g for g in groups})
        self.found = groups
        self.show_groups()

    @on(OptionList.OptionSelected, "#group-list")
    def toggled(self, event: OptionList.OptionSelected) -> None:
        group_id = str(event.option.id)
        if group_id in self.chosen:
            self.chosen.remove(group_id)
        else:
            self.chosen.append(group_id)
            if len(self.chosen) == 1:
                self.by_id("users", Select).value = "groups"
        # The line changes in place: a group just dropped stays listed, to be picked again.
        event.option_list.replace_option_prompt(group_id, Content(self.label(group_id)))
        self.show_chosen()
        self.refresh_marker()
