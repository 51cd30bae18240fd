"""A tab that edits settings: labelled rows, an unsaved marker, Ctrl+S, errors by their field.

What the form shows is either what the daemon holds or the admin's unsaved edits, never a
mix: a reload does not overwrite edits, and nothing typed is lost: a refused save keeps
every value as typed and shows each error next to its field, in full; rows built again
(the help desk listed other fields) get the edits back wherever their control still is.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static, TextArea

from azsyncd.control.client import Client, FieldProblem
from tui.api import Failure
from tui.screens.confirm import ConfirmScreen
from tui.screens.preview import PreviewScreen, Request
from tui.text import at, esc, known_zone
from tui.widgets.fields import FIELD_CSS, OnOff, Row, first_field, owner_of
from tui.widgets.panel import Panel


class FormPanel(Panel):
    DEFAULT_CSS = (
        FIELD_CSS
        + """
    FormPanel > #form { height: 1fr; }
    FormPanel > #form-bar { height: auto; max-height: 6; dock: bottom; }
    FormPanel #form-bar Button { margin-right: 2; }
    FormPanel #form-status { width: 1fr; height: auto; padding-left: 1; }
    FormPanel #form-status.problem { color: $error; }
    """
    )
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("p", "preview", "Preview")]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("Ctrl+S", "save; the daemon checks the values, errors appear next to their field"),
        ("p", "preview: what the next full run would do with the edits (nothing is saved)"),
        ("r", "reload what the daemon holds (asks first when there are unsaved edits)"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: Any = None  # what the daemon holds, as last read
        self.saved: dict[str, Any] | None = None  # the form's values for that data
        self._layout: Hashable = None
        self.built: Hashable = None  # the layout of the rows on screen; None while (re)built
        self._marker_due = False

    # What subclasses provide.

    def compose_form(self) -> ComposeResult:
        """The rows of a form whose layout never changes."""
        yield from ()

    def layout_of(self, data: Any) -> Hashable:
        """What the rows depend on; when it changes, ``rows_for`` builds them again."""
        return None

    def rows_for(self, data: Any) -> list[Widget]:
        return []

    def fill(self, data: Any) -> None:
        """Put the daemon's values into the controls."""

    def show_info(self, data: Any) -> None:
        """Show what is read-only (notes, file-only values): always the daemon's, edits or not."""

    def values(self) -> dict[str, Any]:
        """The controls' values, as the daemon wants them."""
        return {}

    def write(self, client: Client, values: dict[str, Any], force: bool = False) -> Any:
        """Save ``values``; the daemon's answer is shown like a read (in a worker). ``force``
        saves a change the daemon refused for its preview, once the admin said yes."""
        return None

    def preview_request(self, values: dict[str, Any] | None) -> Request | None:
        """The daemon's preview of ``values`` (None: of the settings as saved); None when
        there is nothing to preview."""
        raise NotImplementedError

    def problem_key(self, key: str) -> str:
        """A daemon problem's key as the rows name it."""
        return key.removeprefix("body.")

    # The form.

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form", can_focus=False):
            yield from self.compose_form()
        with Horizontal(id="form-bar"):
            yield Button("Save ^S", id="save", variant="primary", compact=True)
            yield Button("Discard", id="discard", compact=True)
            yield Button("Preview p", id="preview", compact=True)
            yield Static("", id="form-status")

    @property
    def dirty(self) -> bool:
        return self.saved is not None and self.values() != self.saved

    async def show(self, data: Any) -> None:
        layout = self.layout_of(data)
        edits = self.edits() if self.dirty else None
        self.data = data
        if layout != self._layout:
            self.built = None
            await self._rebuild(data)
            self._layout = self.built = layout
            self._fill(data)
            if edits:
                self.restore(edits)
        elif edits is None:
            self._fill(data)
        self.show_info(data)

    # The admin's edits, control by control, so that nothing typed is lost.

    def controls(self) -> list[Widget]:
        return [
            w
            for w in self.query_one("#form").query("Input, Select, OnOff, TextArea")
            if w.id and any(isinstance(a, Row) for a in w.ancestors)
        ]

    def edits(self) -> dict[str, Any]:
        """Every control's value by its id."""
        found: dict[str, Any] = {}
        for control in self.controls():
            if isinstance(control, TextArea):
                found[str(control.id)] = control.text
            else:
                found[str(control.id)] = control.value  # type: ignore[attr-defined]
        return found

    def restore(self, edits: dict[str, Any]) -> None:
        """Put edits back into the controls that still have their id."""
        for control in self.controls():
            if control.id not in edits:
                continue
            value = edits[str(control.id)]
            if isinstance(control, TextArea):
                control.text = value
            elif isinstance(control, Select):
                options = [v for _, v in control._options]
                if value is Select.NULL or value in options:
                    control.value = value
            else:
                control.value = value  # type: ignore[attr-defined]
        self.refresh_marker()

    async def _rebuild(self, data: Any) -> None:
        form = self.query_one("#form", VerticalScroll)
        now = self.app.focused
        focused = now.id if now is not None and now in list(form.query("*")) else None
        self.azsync.hold_keys()  # keys typed meanwhile go to the new rows, in order
        try:
            await form.remove_children()
            await form.mount_all(self.rows_for(data))
            if focused and form.query(f"#{focused}"):
                form.query_one(f"#{focused}").focus()
            elif self.app.focused in (None, self) and self.azsync.current_panel() is self:
                self.focus_first()
        finally:
            self.azsync.release_keys()

    def _fill(self, data: Any) -> None:
        self.fill(data)
        self.saved = self.values()
        self.refresh_marker()

    def rows(self) -> list[Row]:
        return list(self.query(Row))

    def first_control(self) -> Widget | None:
        return first_field(self.query_one("#form").query("*"))

    def discard(self) -> None:
        if self.data is not None:
            self._fill(self.data)
        self.show_problems([])
        self.status("")

    # The unsaved marker.

    @on(Input.Changed)
    @on(Select.Changed)
    @on(OnOff.Changed)
    @on(TextArea.Changed)
    def edited(self) -> None:
        # A fill changes every control at once: one look at the form after them all.
        if not self._marker_due:
            self._marker_due = True
            self.call_after_refresh(self._edited)

    def _edited(self) -> None:
        self._marker_due = False
        if self.is_attached:
            self.refresh_marker()

    def refresh_marker(self) -> None:
        line = self.query_one("#form-status", Static)
        if self.dirty:
            # A refusal stays until the next save: a look at the form that comes after it
            # (the edits' own, late on a busy machine) must not hide why nothing was saved.
            if not line.has_class("problem"):
                unsaved = self.marks.unsaved
                self.status(f"{unsaved} unsaved edits: Ctrl+S saves, Discard forgets them")
        elif line.has_class("unsaved") or line.has_class("problem"):
            self.status("")
        self.azsync.mark_unsaved(self, self.dirty)

    def status(self, text: str, problem: bool = False) -> None:
        line = self.query_one("#form-status", Static)
        line.update(esc(text))  # the daemon's messages name keys such as [mapping.custom_fields]
        line.set_class(problem, "problem")
        line.set_class(text.startswith(self.marks.unsaved), "unsaved")

    # Saving.

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        elif event.button.id == "discard":
            self.discard()
        elif event.button.id == "preview":
            self.action_preview()

    def action_preview(self) -> None:
        edited = self.dirty
        request = self.preview_request(self.values() if edited else None)
        if request is None:
            return
        what = f"your edits on {self.tab_title}" if edited else f"{self.tab_title} as saved"
        self.app.push_screen(PreviewScreen(what, request))

    def action_save(self) -> None:
        if not self.dirty:
            self.status("Nothing to save: the form shows what the daemon holds.")
            return
        self.status("Saving…")
        self._save(self.values())

    @work(thread=True, exclusive=True, group="form-save")
    def _save(self, values: dict[str, Any], force: bool = False) -> None:
        saved = self.attempt(lambda c: self.write(c, values, force))
        if isinstance(saved, Failure) and saved.code == "preview_fails":
            self.on_ui(self._ask_to_force, values, saved)
        elif isinstance(saved, Failure) and not saved.unreachable:
            held = self.attempt(self.read)  # show what the daemon holds, with the errors
            self.on_ui(self._refused, saved, held)
        else:
            self.on_ui(self._saved, saved)

    async def _saved(self, saved: Any) -> None:
        if not self.is_attached:
            return
        if isinstance(saved, Failure):  # the daemon is gone: keep the edits
            self.status(f"Not saved: {saved.message}. Your edits are kept.", problem=True)
            return
        async with self._showing:
            self.data = saved
            self._fill(saved)
            self.show_info(saved)
        self.show_problems([])
        saved_at = at(datetime.now(UTC), self.zone, 19)[11:]
        self.status(
            f"Saved at {saved_at} ({known_zone(self.zone)}); it applies from the next sync."
        )

    def _ask_to_force(self, values: dict[str, Any], failure: Failure) -> None:
        """The daemon's preview of the change fails many contacts: ask, naming the top reason;
        No (the default) keeps the edits unsaved."""
        self.status(
            "Not saved: the change fails many contacts (the question says why; p previews "
            "it). Your edits are kept.",
            problem=True,
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.status("Saving…")
                self._save(values, force=True)

        self.app.push_screen(
            ConfirmScreen(
                f"Save anyway?\n{esc(failure.message[:1].upper() + failure.message[1:])}.\n"
                "No keeps your edits unsaved (p shows the whole preview)."
            ),
            answered,
        )

    async def _refused(self, failure: Failure, held: Any) -> None:
        if not self.is_attached:
            return
        if not isinstance(held, Failure):
            async with self._showing:
                await self.show(held)  # what the daemon holds now; the edits stay in the form
        unplaced = self.show_problems(failure.problems)
        lines = [f"Not saved: {failure.message.rstrip(':')}"]
        lines += [f"{p.key}: {p.message}" for p in unplaced]
        if failure.fix and not failure.problems:
            lines.append(f"fix: {failure.fix}")
        placed = failure.problems and len(unplaced) < len(failure.problems)
        lines.append(
            "Your edits are kept"
            + ("; each error is next to its field" if placed else "")
            + ". Correct and save again (Ctrl+S), or Discard."
        )
        self.status("\n".join(lines), problem=True)
        self.azsync.mark_unsaved(self, self.dirty)

    def show_problems(self, problems: list[FieldProblem]) -> list[FieldProblem]:
        """Each problem next to its field; the ones no field owns are returned."""
        rows = self.rows()
        for row in rows:
            row.show_error("")
        unplaced: list[FieldProblem] = []
        for problem in problems:
            owner = owner_of(rows, self.problem_key(problem.key))
            if owner is None:
                unplaced.append(problem)
            else:
                owner.show_error(f"{self.marks.error} {problem.message}")
        first = next((r for r in rows if r.query_one(".field-error").has_class("shown")), None)
        if first is not None and first.control.focusable:
            first.control.focus()
        return unplaced
