"""The keys of the current tab and of the whole app; Esc, ? or F1 close it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from tui.screens.modal import Modal
from tui.text import esc

if TYPE_CHECKING:
    from tui.widgets.panel import Panel

EVERYWHERE = [
    ("1-9", "switch tabs (after Esc when a text field has the focus)"),
    ("Tab / Shift+Tab", "next / previous field"),
    ("Enter", "in a text field: the next field"),
    ("Esc", "leave a text field; close a dialog or list"),
    ("/", "the tab's search"),
    ("s", "sync now (asks first)"),
    ("d", "dry run: show the plan, write nothing"),
    ("r", "reload the tab and the status"),
    ("Ctrl+P", "command palette"),
    ("? or F1", "this help"),
    ("q", "quit (asks first when there are unsaved edits)"),
]


def panel_keys(panel: Panel, app: App[Any]) -> list[tuple[str, str]]:
    """The tab's own bindings, then what it documents beyond them."""
    keys: list[tuple[str, str]] = []
    for binding in panel.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            keys.append((app.get_key_display(binding), binding.description))
    return keys + [k for k in panel.KEYS_HELP if k[0] not in {key for key, _ in keys}]


class HelpScreen(Modal[None]):
    DEFAULT_CSS = """
    HelpScreen #keys { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "Close", priority=True)]

    def __init__(self, panel: Panel, app: App[Any]) -> None:
        super().__init__()
        # The tab's own title when its id says less (the leavers' tab lists joiners too).
        self.tab = getattr(panel, "TAB_TITLE", "") or str(panel.id).removesuffix("-panel").title()
        self.keys = panel_keys(panel, app)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Keys of the {self.tab} tab", id="dialog-title")
            with VerticalScroll(id="keys"):
                yield Static(self.table(self.keys) or "(none beyond the ones below)")
                yield Static("\n[b]Everywhere[/b]")
                yield Static(self.table(EVERYWHERE))
            yield Static("Esc, ? or F1 closes this", classes="hint")

    @staticmethod
    def table(keys: list[tuple[str, str]]) -> str:
        return "\n".join(f"[b]{esc(key):>15}[/b]  {esc(what)}" for key, what in keys)
