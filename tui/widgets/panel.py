"""The base of every tab: reading from the daemon in a worker, showing it, and the tab's keys.

A panel reads in a thread (``read``, which may call the daemon several times) and shows
what it read on the UI thread (``show``). Only the newest read is shown; ``settled`` says
that nothing is being read or shown, which tests wait for instead of a time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import work
from textual.containers import Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable
from textual.worker import get_current_worker

from azsyncd.control.client import Client
from tui.api import Failure, attempt, on_ui
from tui.text import Marks, marks_for
from tui.widgets.fields import first_field

if TYPE_CHECKING:
    from tui.app import AzsyncApp

T = TypeVar("T")
W = TypeVar("W", bound=Widget)
TYPING_PAUSE = 0.3  # seconds without a key before a search is sent


def add_columns(table: DataTable[Any], columns: list[tuple[str, int]]) -> None:
    """A table's columns, each as wide as given: a long value is cut, the pane below has it."""
    for label, width in columns:
        table.add_column(label, width=width)


def fit_columns(table: DataTable[Any], columns: list[tuple[str, int]]) -> None:
    """Columns that use the table's whole width, now and after every resize.

    Each column is (label, width); a width of 0 marks a column that takes the room the others
    leave (shared when there are several). A value longer than its column ends in "…"; the
    pane below the table has it in full.
    """
    for label, width in columns:
        table.add_column(label, width=width or FLEX_MIN)
    table._fit = columns  # type: ignore[attr-defined]
    fit(table)


FLEX_MIN = 12  # a flexible column is never narrower, however small the terminal


class FitTable(DataTable[Any]):
    """A table whose flexible columns (``fit_columns``) follow its width."""

    def on_resize(self) -> None:
        fit(self)


def fit(table: DataTable[Any]) -> None:
    spec: list[tuple[str, int]] = getattr(table, "_fit", [])
    room = table.scrollable_content_region.width
    if not spec or room <= 0:
        return
    padding = 2 * table.cell_padding * len(spec)
    flexible = [i for i, (_, width) in enumerate(spec) if not width]
    fixed = sum(width for _, width in spec)
    share = max(FLEX_MIN, (room - padding - fixed - 1) // max(1, len(flexible)))
    changed = False
    for index, column in enumerate(table.ordered_columns):
        width = spec[index][1] or share
        if column.width != width:
            column.width, changed = width, True
    if changed:
        table._require_update_dimensions = True
        table._clear_caches()
        table.refresh()


class Panel(Vertical, can_focus=True):
    """A tab's content. Subclasses implement ``read`` (worker thread) and ``show`` (UI)."""

    DEFAULT_CSS = """
    Panel { height: 1fr; padding: 0 1; }
    Panel .hint { color: $text-muted; height: auto; }
    Panel .error { color: $error; height: auto; }
    """
    # Keys of this tab for the help screen, beyond its shown bindings: (key, what it does).
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = []
    # The id of the tab's search field, for "/".
    SEARCH: ClassVar[str | None] = None
    # The tab's name where its id does not say it ("Joiners & leavers").
    TAB_TITLE: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settled = False
        self._generation = 0
        self._focus_later: str | None = None
        self._typing: Timer | None = None
        self.marks: Marks = marks_for()
        self._showing = asyncio.Lock()  # a show that rebuilds widgets must not overlap another
        self._ids: dict[str, Widget] = {}

    @property
    def azsync(self) -> AzsyncApp:
        return self.app  # type: ignore[return-value]

    def by_id(self, widget_id: str, kind: type[W] = Widget) -> W:  # type: ignore[assignment]
        """A widget of this tab by its id, remembered: forms read their controls at every
        keystroke, and a query walks the whole tab each time."""
        found = self._ids.get(widget_id)
        if found is None or not found.is_attached or found.id != widget_id:
            found = self.query_one(f"#{widget_id}")
            self._ids[widget_id] = found
        if not isinstance(found, kind):
            raise TypeError(f"#{widget_id} is a {type(found).__name__}, not a {kind.__name__}")
        return found

    @property
    def tab_title(self) -> str:
        return self.TAB_TITLE or str(self.id).removesuffix("-panel").title()

    @property
    def zone(self) -> str:
        """The account's time zone, as the daemon last said (times are shown in it)."""
        status = self.azsync.last_status
        return status.timezone if status is not None else "UTC"

    def zone_from(self, client: Client) -> str:
        """The account's time zone, asking the daemon if its status has not come yet (worker)."""
        status = self.azsync.last_status
        return status.timezone if status is not None else client.status().timezone

    # Talking to the daemon, from worker threads.

    def attempt(self, request: Callable[[Client], T]) -> T | Failure:
        """Call the daemon; an absent daemon shows the banner."""
        result = attempt(self.azsync.client, request)
        if isinstance(result, Failure) and result.unreachable:
            self.on_ui(self.azsync.show_unreachable, result)
        return result

    def say(self, result: object, success: str = "") -> None:
        """Tell the admin how a call went."""
        if not isinstance(result, Failure):
            if success:
                self.on_ui(self.app.notify, success)
        elif not result.unreachable:
            self.on_ui(self.app.notify, result.text, severity="error", timeout=12, markup=False)

    # Reading and showing.

    def read(self, client: Client) -> Any:
        """What this tab shows, read from the daemon (in a worker thread)."""
        return None

    def show(self, data: Any) -> Any:
        """Show what ``read`` returned (UI thread; may be a coroutine)."""
        return None

    @property
    def settled(self) -> bool:
        """Nothing is being read or shown (what tests wait for, instead of a time)."""
        return self._settled and not self.pending()

    def pending(self) -> bool:
        """A second read that follows the first (a run's records, a group search)."""
        return False

    def reload(self) -> None:
        """Read fresh data; called when the tab is shown, on refresh, on reconnect."""
        self._settled = False
        self._generation += 1
        self._load(self._generation)

    @work(thread=True, exclusive=True, group="panel-load")
    def _load(self, generation: int) -> None:
        data = self.attempt(self.read)
        if not get_current_worker().is_cancelled:
            self.on_ui(self._loaded, data, generation)

    async def _loaded(self, data: Any, generation: int) -> None:
        if generation != self._generation or not self.is_attached:
            return  # a newer read is under way, or the app is closing
        async with self._showing:
            try:
                if isinstance(data, Failure):
                    self.failed(data)
                else:
                    shown = self.show(data)
                    if inspect.isawaitable(shown):
                        await shown
            finally:
                self._settled = generation == self._generation
                if self._focus_later and self.query(f"#{self._focus_later}"):
                    self.screen.set_focus(self.query_one(f"#{self._focus_later}"))
                    self._focus_later = None

    def on_ui(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``callback`` on the UI thread, from a worker, if this tab is still there."""
        return on_ui(self, callback, *args, **kwargs)

    def after_typing(self, then: Callable[[], object]) -> None:
        """Run ``then`` once the admin stops typing: only the last search is sent."""
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(TYPING_PAUSE, then)

    def failed(self, failure: Failure) -> None:
        """A read failed; the banner covers an absent daemon, anything else is told."""
        if not failure.unreachable:
            self.app.notify(failure.text, severity="error", timeout=12, markup=False)

    # Keys and focus.

    def first_control(self) -> Widget | None:
        return first_field(self.query("*"))

    def focus_when_ready(self, widget_id: str) -> None:
        """Focus a control now, or once the tab has shown what it read."""
        found = self.query(f"#{widget_id}")
        if found and found.first().focusable:
            self.screen.set_focus(found.first())
        else:
            self._focus_later = widget_id

    def focus_first(self) -> None:
        """Put the keyboard on the tab's first control, or on the tab itself."""
        self.screen.set_focus(self.first_control() or self)

    @property
    def dirty(self) -> bool:
        """Edits not saved yet."""
        return False

    def discard(self) -> None:
        """Forget unsaved edits (the next show puts back what the daemon holds)."""
