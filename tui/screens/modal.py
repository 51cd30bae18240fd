"""The base of every dialog: centred, closed with Esc, and ready for keys typed ahead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widget import Widget

from tui.text import Marks, marks_for
from tui.widgets.fields import first_field

if TYPE_CHECKING:
    from tui.app import AzsyncApp

T = TypeVar("T")

MODAL_CSS = """
Modal { align: center middle; }
Modal > #dialog {
    width: 78; max-width: 100%; height: auto; max-height: 100%;
    border: round $primary; background: $surface; padding: 0 1;
}
Modal #dialog-title { text-style: bold; height: auto; }
Modal .hint { color: $text-muted; height: auto; }
Modal .buttons { height: auto; align-horizontal: right; }
Modal .buttons Button { margin-left: 2; }
"""


class Modal(ModalScreen[T]):
    """A dialog. Esc closes it; its first control has the focus before any key reaches it."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "close", "Close", priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.marks: Marks = marks_for()

    @property
    def azsync(self) -> AzsyncApp:
        return self.app  # type: ignore[return-value]

    def first_control(self) -> Widget | None:
        """The first field or button; a scrolling container only when there is nothing else."""
        return first_field(self.query("*"))

    def on_mount(self) -> None:
        first = self.first_control()
        if first is not None:
            self.set_focus(first)
        release: Any = getattr(self.app, "release_keys", None)
        if release is not None:
            release()  # the keys typed while this was built now reach its first control

    def on_screen_resume(self) -> None:
        self._refresh_hints()

    def on_unmount(self) -> None:
        self._refresh_hints()

    def _refresh_hints(self) -> None:
        for hints in self.app.query("HintBar"):  # the main screen's line blanks under a dialog
            hints.refresh()

    def action_close(self) -> None:
        self.dismiss(None)
