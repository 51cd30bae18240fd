"""The bottom line: the keys that work now, the most important first, as many as fit.

The tab's own keys come first (they are why the admin is there), then sync, help and quit;
"? Keys" always stays, so every other key can be found from it.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual.binding import Binding
from textual.content import Content
from textual.widget import Widget

from tui.widgets.panel import Panel

APP_ORDER = ["leave_field", "sync", "help", "quit", "dry_run", "refresh", "search"]
HELP_ACTION = "help"


def declared_actions(kind: type) -> list[str]:
    """The actions a panel class binds, its own first, then its bases'."""
    actions: list[str] = []
    for klass in kind.__mro__:
        for binding in vars(klass).get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.action not in actions:
                actions.append(binding.action)
    return actions


class HintBar(Widget):
    DEFAULT_CSS = """
    HintBar { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.watch(self.screen, "focused", self.update_hints, init=False)
        self.screen.bindings_updated_signal.subscribe(self, self.update_hints)

    def update_hints(self, _: object = None) -> None:
        self.refresh()

    def hints(self) -> list[tuple[str, str, str]]:
        """(key, description, action) of the shown, enabled bindings, most important first."""
        found: list[tuple[int, str, str, str]] = []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding: Binding = active.binding
            if not binding.show or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            if isinstance(active.node, Panel):
                order = declared_actions(type(active.node))
                rank = order.index(binding.action) if binding.action in order else 0
            elif binding.action in APP_ORDER:
                rank = 100 + APP_ORDER.index(binding.action)
            else:
                rank = 50
            found.append((rank, key, binding.description, binding.action))
        return [(key, text, action) for _, key, text, action in sorted(found)]

    def render(self) -> RenderResult:
        if self.app.screen is not self.screen:
            return ""  # a dialog is open: its own line says what its keys do
        width = self.size.width - 2
        hints = self.hints()
        keep = [h for h in hints if h[2] == HELP_ACTION]
        room = width - sum(len(k) + len(d) + 4 for k, d, _ in keep)
        shown: list[tuple[str, str, str]] = []
        for hint in hints:
            if hint in keep:
                continue
            cost = len(hint[0]) + len(hint[1]) + 4
            if cost > room:
                break
            shown.append(hint)
            room -= cost
        parts = [
            Content.assemble((f" {key} ", "reverse bold"), f"{text}  ")
            for key, text, _ in shown + keep
        ]
        return Content("").join(parts)
