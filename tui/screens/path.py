"""Ask where to save a file, showing the full path it will be written to."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from tui.screens.modal import Modal


def full_path(text: str) -> Path:
    return Path(text.strip()).expanduser().resolve()


class PathScreen(Modal[Path | None]):
    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_text, self.default = title, default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Input(self.default, id="path", classes="submit-on-enter", compact=True)
            yield Static("", id="full-path", classes="hint")
            yield Static("Enter saves, Esc cancels", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_full(self.default)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show_full(event.value)

    def show_full(self, text: str) -> None:
        shown = f"writes {full_path(text)}" if text.strip() else "type a file name"
        self.query_one("#full-path", Static).update(shown)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(full_path(event.value) if event.value.strip() else None)
