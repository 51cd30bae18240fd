"""The Leavers tab: what happens to leavers, the contact-group rules, and who left."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static, Switch

from azsyncd.control.client import Lifecycle
from tui.api import Failure
from tui.text import when
from tui.widgets.panel import Panel

ACTIONS = [("Keep the contact as it is", "keep"), ("Turn the portal login off", "disable_login")]


class LifecyclePanel(Panel):
    DEFAULT_CSS = """
    LifecyclePanel Horizontal { height: auto; }
    LifecyclePanel Label { width: 28; padding: 1 1 0 0; }
    LifecyclePanel Select { width: 34; }
    LifecyclePanel Input { width: 34; }
    LifecyclePanel #rule-group { width: 24; }
    LifecyclePanel #rule-when { width: 1fr; }
    LifecyclePanel DataTable { height: auto; max-height: 8; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+n", "add_rule", "Add rule"),
        Binding("delete", "remove_rule", "Remove rule"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("User removed / out of scope")
            yield Select(ACTIONS, value="keep", allow_blank=False, id="on-removed")
        with Horizontal():
            yield Label("Account disabled")
            yield Select(ACTIONS, value="keep", allow_blank=False, id="on-disabled")
        with Horizontal():
            yield Label("Grace days (removals)")
            yield Input("3", id="grace-days", type="integer")
        yield Static("Contact-group rules", classes="hint")
        yield DataTable(id="rule-table", cursor_type="row")
        with Horizontal():
            yield Input(placeholder="contact group", id="rule-group")
            yield Input(placeholder='companyName = "Fabrikam" or a group id', id="rule-when")
            yield Switch(False, id="rule-tickets")
        yield Static("", id="lifecycle-errors", classes="error")
        yield Static("Leavers", classes="hint")
        yield DataTable(id="leaver-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            "[dim]Ctrl+S[/dim] save  [dim]Ctrl+N[/dim] add rule (switch: sees its tickets)"
            "  [dim]Del[/dim] remove rule",
            classes="hint",
        )

    def on_mount(self) -> None:
        self.query_one("#rule-table", DataTable).add_columns("Group", "When", "Tickets")
        self.query_one("#leaver-table", DataTable).add_columns(
            "Tenant", "Email", "Gone since", "Disabled", "Login"
        )

    @work(thread=True, exclusive=True, group="lifecycle")
    def load(self) -> None:
        data = self.fetch(lambda c: c.lifecycle())
        if data is not None:
            self.app.call_from_thread(self.show, data)

    def show(self, data: Lifecycle) -> None:
        settings = data.lifecycle
        self.query_one("#on-removed", Select).value = settings.on_removed
        self.query_one("#on-disabled", Select).value = settings.on_disabled
        self.query_one("#grace-days", Input).value = str(settings.grace_days)
        self.rules = [asdict(r) for r in data.contact_groups]
        rules = self.query_one("#rule-table", DataTable)
        rules.clear()
        for rule in data.contact_groups:
            rules.add_row(rule.group, rule.condition, "yes" if rule.access_tickets else "")
        leavers = self.query_one("#leaver-table", DataTable)
        leavers.clear()
        for row in data.leavers:
            leavers.add_row(
                row.tenant,
                row.email,
                when(row.gone_since),
                "yes" if row.disabled else "",
                "off" if row.login_off else "on",
            )

    def action_save(self) -> None:
        grace = self.query_one("#grace-days", Input).value.strip()
        self.save(
            {
                "on_removed": self.query_one("#on-removed", Select).value,
                "on_disabled": self.query_one("#on-disabled", Select).value,
                "grace_days": int(grace) if grace.lstrip("-").isdigit() else grace,
            },
            None,
        )

    def action_add_rule(self) -> None:
        condition = self.query_one("#rule-when", Input).value.strip()
        # A bare id is a group rule; anything else is a condition the daemon checks.
        is_id = len(condition) == 36 and condition.count("-") == 4
        rule = {
            "group": self.query_one("#rule-group", Input).value.strip(),
            "entra_group": condition if is_id else "",
            "when": "" if is_id else condition,
            "access_tickets": self.query_one("#rule-tickets", Switch).value,
        }
        self.save(None, [*self.rules, rule])

    def action_remove_rule(self) -> None:
        table = self.query_one("#rule-table", DataTable)
        if self.rules and 0 <= table.cursor_row < len(self.rules):
            self.save(None, [r for i, r in enumerate(self.rules) if i != table.cursor_row])

    @work(thread=True, exclusive=True, group="lifecycle-save")
    def save(self, settings: dict[str, Any] | None, rules: list[dict[str, Any]] | None) -> None:
        answer = self.attempt(lambda c: c.update_lifecycle(settings, rules))
        problems = answer.problems if isinstance(answer, Failure) else []
        text = "\n".join(f"{p.key}: {p.message}" for p in problems)
        self.app.call_from_thread(self.query_one("#lifecycle-errors", Static).update, text)
        self.say(answer, "Saved")
        if not isinstance(answer, Failure):
            self.app.call_from_thread(self.show, answer)
