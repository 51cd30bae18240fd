"""The base of every tab: access to the daemon, and a load() run in a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.containers import Vertical

from azsyncd.control.client import Client
from tui.api import Failure, attempt

if TYPE_CHECKING:
    from tui.app import AzsyncApp

T = TypeVar("T")


class Panel(Vertical):
    """A tab's content. Subclasses implement ``load`` (worker thread) and ``show`` (UI thread)."""

    DEFAULT_CSS = """
    Panel { height: 1fr; padding: 0 1; }
    Panel .hint { color: $text-muted; }
    Panel .error { color: $error; }
    """

    @property
    def azsync(self) -> AzsyncApp:
        return self.app  # type: ignore[return-value]

    def attempt(self, request: Callable[[Client], T]) -> T | Failure:
        """Call the daemon (from a worker thread); an absent daemon shows the banner."""
        result = attempt(self.azsync.client, request)
        if isinstance(result, Failure) and result.unreachable:
            self.app.call_from_thread(self.azsync.show_unreachable, result)
        return result

    def fetch(self, request: Callable[[Client], T]) -> T | None:
        """Call the daemon (from a worker thread); a refusal is shown, and gives None."""
        result = self.attempt(request)
        if isinstance(result, Failure):
            self.say(result)
            return None
        return result

    def say(self, result: object, success: str = "") -> None:
        """Tell the admin how a call went (from a worker thread)."""
        if not isinstance(result, Failure):
            if success:
                self.app.call_from_thread(self.app.notify, success)
        elif not result.unreachable:
            self.app.call_from_thread(self.app.notify, result.text, severity="error", timeout=10)

    def reload(self) -> None:
        """Load fresh data; called when the tab is shown and on refresh."""
        self.load()

    def load(self) -> Any:
        """Fetch this tab's data in a worker (subclasses decorate it with ``@work``)."""
        return None

    def focus_first(self) -> None:
        """Put the keyboard in this tab, so that its bindings work at once."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return
