"""Adding a contact-group rule: the help desk's group, and an attribute condition or an Entra
ID group whose members (nested groups included) belong in it.

The daemon checks the rule with the others (the whole list is saved at once); a refusal is
shown next to the field it is about, and what was typed stays.
"""

from __future__ import annotations

import re
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from azsyncd.control.client import FieldProblem, Lifecycle
from tui.api import Failure, attempt, on_ui
from tui.screens.form_dialog import FormDialog
from tui.screens.preview import PreviewScreen
from tui.widgets.fields import OnOff, Row

RULE_KEY = re.compile(r"^(body\.)?contact_groups[.\[](\d+)\]?\.?")


class RuleForm(FormDialog[Lifecycle | None]):
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("p", "preview", "Preview")]

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rules = rules  # the rules the daemon holds; the new one is added after them

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Add a contact-group rule[/b]", id="dialog-title")
            with VerticalScroll(id="form", can_focus=False):
                yield Row(
                    "Contact group",
                    Input(id="group", placeholder="e.g. Sales desk", compact=True),
                    keys=["group"],
                    note="created in the help desk when first needed",
                )
                yield Row(
                    "When (attribute)",
                    Input(
                        id="when", placeholder='e.g. department starts with "Sales"', compact=True
                    ),
                    keys=["when"],
                    note='attribute = "value" or attribute starts with "value"',
                )
                yield Row(
                    "or Entra ID group",
                    Input(id="entra_group", placeholder="(the group's object id)", compact=True),
                    keys=["entra_group"],
                    note="its members, nested groups included; give one of the two",
                )
                yield Row(
                    "Sees its tickets",
                    OnOff(id="access_tickets"),
                    keys=["access_tickets"],
                    note="members see the group's tickets in the portal",
                )
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (Esc)", id="cancel", compact=True)
                yield Button("Preview (p)", id="preview", compact=True)
                yield Button("Add (Ctrl+S)", id="save", compact=True)

    def rule(self) -> dict[str, Any]:
        return {
            "group": self.query_one("#group", Input).value.strip(),
            "when": self.query_one("#when", Input).value.strip(),
            "entra_group": self.query_one("#entra_group", Input).value.strip(),
            "access_tickets": self.query_one("#access_tickets", OnOff).value,
        }

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "preview":
            self.action_preview()
        else:
            super().on_button_pressed(event)

    def action_preview(self) -> None:
        """What the next full run would do with the rules and this one added."""
        rules = [*self.rules, self.rule()]
        self.app.push_screen(
            PreviewScreen(
                "the rules with this one added",
                lambda c: c.preview(lifecycle={"contact_groups": rules}),
            )
        )

    def action_save(self) -> None:
        self.show_problems([], "Saving…")
        self.send([*self.rules, self.rule()])

    @work(thread=True, exclusive=True, group="rule-form")
    def send(self, rules: list[dict[str, Any]]) -> None:
        done = attempt(self.azsync.client, lambda c: c.update_lifecycle(None, rules))
        if isinstance(done, Failure):
            on_ui(self, self.refused, done)
        else:
            on_ui(self, self.dismiss, done)

    def refused(self, failure: Failure) -> None:
        if failure.unreachable:
            self.azsync.show_unreachable(failure)
            self.show_problems(
                [], "Not sent: the daemon cannot be reached; what you typed is kept."
            )
            return
        mine = str(len(self.rules))
        # The new rule's field problems go next to its fields; any other names its rule.
        placed, others = [], []
        for problem in failure.problems:
            match = RULE_KEY.match(problem.key)
            if match and match.group(2) == mine and problem.key[match.end() :]:
                placed.append(FieldProblem(problem.key[match.end() :], problem.message))
            else:
                others.append(problem)
        head = "Not added." if failure.problems else f"Not added. {failure.message}"
        self.show_problems(placed + others, head, "" if failure.problems else failure.fix)

    def typed_anything(self) -> bool:
        return any(self.rule()[k] for k in ("group", "when", "entra_group"))
