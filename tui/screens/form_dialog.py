"""The base of a dialog that sends a form: Save and Cancel buttons, the daemon's refusals
next to their fields in full, and Esc that asks before it forgets what was typed."""

from __future__ import annotations

from typing import TypeVar

from textual.widgets import Button, Input, Static, TextArea

from azsyncd.control.client import FieldProblem
from tui.screens.confirm import ConfirmScreen
from tui.screens.modal import Modal
from tui.text import esc
from tui.widgets.fields import FIELD_CSS, Row, owner_of

T = TypeVar("T")

FORM_DIALOG_CSS = (
    FIELD_CSS
    + """
FormDialog #form { height: auto; max-height: 70vh; }
FormDialog #form-error { color: $error; height: auto; max-height: 6; }
"""
)


class FormDialog(Modal[T]):
    """Subclasses compose a ``#form`` of Rows, a ``#form-error`` line and the buttons
    ``#save`` and ``#cancel``, and implement ``action_save``."""

    DEFAULT_CSS = FORM_DIALOG_CSS

    def action_save(self) -> None:
        raise NotImplementedError

    def problem_key(self, key: str) -> str:
        """A daemon problem's key as the form's rows name it."""
        return key

    def typed_anything(self) -> bool:
        inputs = [i.value for i in self.query(Input)]
        return any(inputs) or any(a.text.strip() for a in self.query(TextArea))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_close()

    def show_problems(self, problems: list[FieldProblem], head: str, fix: str = "") -> None:
        """Each problem next to its field, the rest under the form, and the focus on the
        first field that has one."""
        rows = list(self.query(Row))
        for row in rows:
            row.show_error("")
        unplaced = []
        for problem in problems:
            owner = owner_of(rows, self.problem_key(problem.key))
            if owner is None or not owner.display:
                unplaced.append(problem)
            else:
                owner.show_error(f"{self.marks.error} {esc(problem.message)}")
        lines = [esc(head)] if head else []
        lines += [f"{esc(p.key)}: {esc(p.message)}" for p in unplaced]
        if problems and len(unplaced) < len(problems):
            lines.append("Each error is shown next to its field.")
        if fix:
            lines.append(f"fix: {esc(fix)}")
        self.query_one("#form-error", Static).update("\n".join(lines))
        first = next((r for r in rows if r.query_one(".field-error").has_class("shown")), None)
        if first is not None:
            self.set_focus(first.control)

    def action_close(self) -> None:
        if not self.typed_anything():
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Close the form and forget what you typed?"), answered)
