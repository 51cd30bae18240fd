"""The pieces of every form: a labelled row with its error line, an On/Off toggle, and a
read-only row for settings that only the configuration file may change."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from textual.app import ComposeResult, RenderResult
from textual.binding import Binding
from textual.containers import (
    Horizontal,
    HorizontalScroll,
    ScrollableContainer,
    Vertical,
    VerticalScroll,
)
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Select, Static

from tui.text import Marks, marks_for

FIELD_CSS = """
Row { height: auto; }
Row > Horizontal { height: auto; }
Row .field-label { width: 24; height: auto; padding-right: 1; color: $text-muted; }
Row:focus-within .field-label { color: $text; text-style: bold; }
Row .field-note { padding-left: 24; color: $text-muted; height: auto; }
Row .field-error { padding-left: 24; color: $error; height: auto; display: none; }
Row .field-error.shown { display: block; }
Row Input, Row Select, Row OnOff, Row .file-only { width: 1fr; }
Row .file-only { color: $text-muted; height: auto; }
Row TextArea { width: 1fr; height: 7; }  /* five lines of PEM text in view */
.section { text-style: bold; margin-top: 1; height: auto; }
.aside { padding-left: 24; color: $text-muted; height: auto; }
"""


class OnOff(Widget, can_focus=True):
    """A switch that says what it is: "[x] On" or "[ ] Off", in any terminal."""

    DEFAULT_CSS = """
    OnOff { height: 1; width: auto; min-width: 8; padding: 0 1; }
    OnOff:focus { background: $accent 30%; text-style: bold; }
    OnOff.-on { color: $success; }
    """
    BINDINGS = [Binding("space,enter", "flip", "Switch", show=False)]

    value: reactive[bool] = reactive(False)

    class Changed(Message):
        def __init__(self, on_off: OnOff, value: bool) -> None:
            super().__init__()
            self.on_off = on_off
            self.value = value

        @property
        def control(self) -> OnOff:
            return self.on_off

    def __init__(self, value: bool = False, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marks: Marks = marks_for()
        self.set_reactive(OnOff.value, value)

    def render(self) -> RenderResult:
        return Content(self.marks.on_off(self.value))

    def watch_value(self, value: bool) -> None:
        self.set_class(value, "-on")
        self.post_message(self.Changed(self, value))

    def action_flip(self) -> None:
        self.value = not self.value

    def on_click(self) -> None:
        self.action_flip()


SCROLLERS = (ScrollableContainer, VerticalScroll, HorizontalScroll)


def first_field(nodes: Iterable[Widget]) -> Widget | None:
    """The first control that takes the focus; a scrolling box only when there is nothing else."""
    focusable = [w for w in nodes if w.focusable]
    fields = [w for w in focusable if type(w) not in SCROLLERS]
    found = fields or focusable
    return found[0] if found else None


def choose(select: Select[Any], options: list[tuple[str, Any]], value: Any) -> None:
    """Set a list to the daemon's value; a value it does not list (a newer daemon's) is added."""
    if value not in [v for _, v in options]:
        select.set_options([*options, (str(value), value)])
    select.value = value


def key_id(key: str) -> str:
    """A configuration key as a widget id: "mapping.custom_fields.Employee ID" -> safe."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)


class Row(Vertical):
    """A label, its control, a note, and the daemon's error about it shown in full."""

    def __init__(
        self,
        label: str,
        control: Widget,
        *,
        keys: Sequence[str] = (),
        note: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id or (f"row-{control.id}" if control.id else None))
        self.label, self.control, self.note = label, control, note
        self.keys = tuple(keys)  # configuration keys whose errors belong here

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="field-label")
            yield self.control
        if self.note:
            yield Static(self.note, classes="field-note")
        yield Static("", classes="field-error")

    def show_error(self, message: str) -> None:
        error = self.query_one(".field-error", Static)
        error.update(message)
        error.set_class(bool(message), "shown")

    def owns(self, key: str) -> bool:
        return any(
            key == k or key.startswith(k + ".") or key.startswith(k + "[") for k in self.keys
        )


def file_only_row(label: str, value: str, key: str) -> Row:
    """A setting only the configuration file may change: its value, and where to change it."""
    shown = value if value not in ("", None) else "(not set)"
    text = Static(f"{shown}  [i](config file)[/i]", classes="file-only", id=f"file-{key_id(key)}")
    return Row(label, text, keys=[key])


def owner_of(rows: Iterable[Row], key: str) -> Row | None:
    """The row a daemon problem is about; the most specific one wins."""
    owners = [row for row in rows if row.owns(key)]
    return max(owners, key=lambda row: max(len(k) for k in row.keys), default=None)
