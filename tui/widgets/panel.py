"""The base of every tab: access to the daemon, and a load() run in a worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import Vertical

from tui.api import Answer, call

if TYPE_CHECKING:
    from tui.app import AzsyncApp


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

    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
    ) -> Answer:
        """Call the daemon (from a worker thread)."""
        answer = call(self.azsync.client, method, path, body, **params)
        if answer.unreachable:
            self.app.call_from_thread(self.azsync.show_unreachable, answer)
        return answer

    def say(self, answer: Answer, success: str = "") -> None:
        """Tell the admin how a call went (from a worker thread)."""
        if answer.ok:
            if success:
                self.app.call_from_thread(self.app.notify, success)
        elif not answer.unreachable:
            text = answer.error + (f"\nfix: {answer.fix}" if answer.fix else "")
            self.app.call_from_thread(self.app.notify, text, severity="error", timeout=10)

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
