"""The Joiners & leavers tab: what happens to leavers (saved with Ctrl+S like every form),
the contact-group rules (a adds one in a dialog, Del removes the chosen one after asking),
the upcoming starts (joiners whose contact waits, login off, for the hire date) and the
leavers azsync knows."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Select, Static

from azsyncd.control.client import Client, Lifecycle
from tui.screens.confirm import ConfirmScreen
from tui.screens.preview import Request
from tui.screens.rule_form import RuleForm
from tui.text import at, cell, esc, zone_note
from tui.widgets.fields import Row, choose
from tui.widgets.form_panel import FormPanel
from tui.widgets.panel import FitTable, fit_columns

ACTIONS = [("Keep the contact as it is", "keep"), ("Turn the portal login off", "disable_login")]
RULE_COLUMNS = [("Contact group", 20), ("When", 0), ("Tickets", 7)]
LEAVER_COLUMNS = [("Tenant", 10), ("Email", 0), ("Gone since", 16), ("Disabled", 8)]
LEAVER_COLUMNS += [("Login", 5)]
JOINER_COLUMNS = [("Tenant", 10), ("Email", 0), ("Hire date", 10), ("Contact", 22)]


def grace(text: str) -> Any:
    """The typed number, or the text as typed so the daemon's error names it."""
    try:
        return int(text.strip())
    except ValueError:
        return text


class LifecyclePanel(FormPanel):
    TAB_TITLE = "Joiners & leavers"
    BINDINGS = [
        *FormPanel.BINDINGS,
        Binding("a", "add_rule", "Add rule"),
        Binding("delete", "remove_rule", "Remove rule", key_display="Del"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        *FormPanel.KEYS_HELP,
        ("a", "add a contact-group rule (a dialog; saved when you add it)"),
        ("Del", "on the rules: remove the chosen rule (asks first)"),
        ("Up/Down", "on a table: choose a rule or a leaver"),
        ("Enter/Space", "on a list: open it and pick"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules: list[dict[str, Any]] = []

    def compose_form(self) -> ComposeResult:
        def action(widget_id: str) -> Select[str]:
            return Select(ACTIONS, allow_blank=False, compact=True, id=widget_id)

        yield Static("Leavers: azsync never deletes a contact", classes="section")
        yield Row(
            "User removed",
            action("on_removed"),
            keys=["lifecycle.on_removed"],
            note="deleted in Entra ID or out of the synced groups",
        )
        yield Row(
            "Account disabled",
            action("on_disabled"),
            keys=["lifecycle.on_disabled"],
            note="acted on at once",
        )
        yield Row(
            "Grace days",
            Input(id="grace_days", placeholder="e.g. 3", compact=True),
            keys=["lifecycle.grace_days"],
            note="before a removal is acted on: a user restored meanwhile is untouched",
        )
        yield Static("", id="group-name", classes="aside")
        yield Static("Contact-group rules (a adds, Del removes)", classes="section")
        yield FitTable(id="rule-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="joiners-title", classes="section")
        yield FitTable(id="joiner-table", cursor_type="row", zebra_stripes=True)
        yield Static("Leavers azsync knows", classes="section", id="leavers-title")
        yield FitTable(id="leaver-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        fit_columns(self.by_id("rule-table", DataTable), RULE_COLUMNS)
        fit_columns(self.by_id("joiner-table", DataTable), JOINER_COLUMNS)
        fit_columns(self.by_id("leaver-table", DataTable), LEAVER_COLUMNS)

    def read(self, client: Client) -> Lifecycle:
        return client.lifecycle()

    def fill(self, data: Lifecycle) -> None:
        settings = data.lifecycle
        choose(self.by_id("on_removed", Select), ACTIONS, settings.on_removed)
        choose(self.by_id("on_disabled", Select), ACTIONS, settings.on_disabled)
        self.by_id("grace_days", Input).value = str(settings.grace_days)
        self.by_id("group-name", Static).update(
            f"A leaver's contact moves to the group {esc(settings.group_name)} (configuration file)"
        )

    def values(self) -> dict[str, Any]:
        return {
            "on_removed": self.by_id("on_removed", Select).value,
            "on_disabled": self.by_id("on_disabled", Select).value,
            "grace_days": grace(self.by_id("grace_days", Input).value),
        }

    def write(self, client: Client, values: dict[str, Any], force: bool = False) -> Lifecycle:
        return client.update_lifecycle(values, None, force=force)

    def preview_request(self, values: dict[str, Any] | None) -> Request:
        return lambda c: c.preview(lifecycle={"lifecycle": values} if values is not None else None)

    async def show(self, data: Lifecycle) -> None:
        await super().show(data)
        self.show_tables(data)

    def show_tables(self, data: Lifecycle) -> None:
        """The rules and leavers as the daemon holds them, whatever the form's edits."""
        self.rules = [r.model_dump(mode="json") for r in data.contact_groups]
        rules = self.by_id("rule-table", DataTable)
        row = rules.cursor_row
        rules.clear()
        for rule in data.contact_groups:
            rules.add_row(
                cell(rule.group),
                cell(rule.condition),
                "yes" if rule.access_tickets else "no",
            )
        if data.contact_groups:
            rules.move_cursor(row=min(max(row, 0), len(data.contact_groups) - 1))
        days = data.lifecycle.create_before_hire_days
        self.by_id("joiners-title", Static).update(
            f"Upcoming starts: contacts created {days} day(s) before the hire date, login off"
            if days
            else "Upcoming starts: off (create_before_hire_days = 0 in the configuration)"
        )
        joiners = self.by_id("joiner-table", DataTable)
        joiners.clear()
        for joiner in data.joiners:
            joiners.add_row(
                cell(joiner.tenant),
                cell(joiner.email),
                cell(joiner.hire_date),
                cell(
                    joiner.reason
                    or ("ready, login off" if joiner.created else f"from {joiner.contact_from}")
                ),
            )
        self.by_id("leavers-title", Static).update(f"Leavers azsync knows ({zone_note(self.zone)})")
        leavers = self.by_id("leaver-table", DataTable)
        leavers.clear()
        for leaver in data.leavers:
            leavers.add_row(
                cell(leaver.tenant),
                cell(leaver.email),
                cell(at(leaver.gone_since, self.zone)),
                "yes" if leaver.disabled else "",
                "off" if leaver.login_off else "on",
            )

    # The rules: each change is saved at once, after the admin says so.

    def action_add_rule(self) -> None:
        self.app.push_screen(RuleForm(self.rules), self.rules_saved)

    def rules_saved(self, data: Lifecycle | None) -> None:
        if data is not None:
            self.show_tables(data)
            self.app.notify("Rule saved; the next sync applies it")

    def action_remove_rule(self) -> None:
        table = self.by_id("rule-table", DataTable)
        if self.app.focused is not table or not self.rules:
            return
        index = table.cursor_row
        if not 0 <= index < len(self.rules):
            return
        rule = self.rules[index]
        what = rule["when"] or f"member of {rule['entra_group']}"

        def answered(yes: bool | None) -> None:
            if yes:
                kept = [r for i, r in enumerate(self.rules) if i != index]
                self.save_rules(kept)

        self.app.push_screen(
            ConfirmScreen(
                f"Remove the rule {esc(what)} -> {esc(rule['group'])}?\nThe contacts it put in "
                "that group leave it at the next sync; the group itself stays."
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="form-save")
    def save_rules(self, rules: list[dict[str, Any]]) -> None:
        saved = self.attempt(lambda c: c.update_lifecycle(None, rules))
        self.say(saved, "Rule removed; the next sync applies it")
        if isinstance(saved, Lifecycle):
            self.on_ui(self.show_tables, saved)
