"""A yes/no question that only a deliberate answer confirms.

No is the default (it has the focus; Enter or Esc answer No), and only y or the Yes button
say yes. A key typed before the question was on screen is never an answer: typed ahead, or
bunched by a slow link behind the key that opened the question, it is dropped. A short
delay after the question is drawn covers the round trip to the admin's terminal: a key
that arrives within it was typed before the admin could have read the question.
"""

from __future__ import annotations

import time

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from tui.screens.modal import Modal

ANSWER_DELAY = 0.2  # seconds after the question is drawn before a key may answer it


class ConfirmScreen(Modal[bool]):
    DEFAULT_CSS = """
    ConfirmScreen #ignored { color: $warning; height: auto; display: none; }
    ConfirmScreen #ignored.shown { display: block; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", priority=True),
        Binding("n,escape", "answer(False)", "No", priority=True),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.drawn_at: float | None = None  # when the question was first on screen
        self.dropped = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            yield Static("", id="ignored")
            with Horizontal(classes="buttons"):
                yield Button("No (n, Esc)", id="no", compact=True)
                yield Button("Yes (y)", id="yes", variant="warning", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        self.drawn_at = time.monotonic()

    @property
    def answerable(self) -> bool:
        """A key pressed now may answer: the question has been on screen long enough."""
        return self.drawn_at is not None and time.monotonic() >= self.drawn_at + ANSWER_DELAY

    def takes(self, event: events.Key | events.Paste) -> bool:
        """Whether a key may answer: it was typed once the question was on screen."""
        return self.drawn_at is not None and event.time >= self.drawn_at + ANSWER_DELAY

    def ignored(self) -> None:
        """A key typed before the question showed was dropped: say so, once."""
        self.dropped += 1
        note = self.query("#ignored")
        if note:
            note.first(Static).update(
                f"{self.dropped} key(s) typed before this question appeared were ignored: "
                "answer with y or n."
            )
            note.first().add_class("shown")

    def first_control(self) -> Widget | None:
        return self.query_one("#no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_close(self) -> None:
        self.dismiss(False)
