"""The Field mapping tab: email and name sources, phones, custom fields, the overwrite rule."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Select, Static, Switch

from azsyncd.control.client import FieldProblem, MappingSettings, TargetField
from tui.api import Failure
from tui.widgets.panel import Panel

PHONE_TYPES = {"mo": "Mobile", "w": "Work", "m": "Main", "h": "Home", "o": "Other"}


def error_id(key: str) -> str:
    return "err-" + "".join(ch if ch.isalnum() else "-" for ch in key)


class MappingPanel(Panel):
    DEFAULT_CSS = """
    MappingPanel .row { height: auto; }
    MappingPanel .row Label { width: 30; padding: 1 1 0 0; }
    MappingPanel .row Select, MappingPanel .row Input { width: 1fr; }
    MappingPanel .error { height: auto; padding-left: 30; }
    MappingPanel Switch { width: auto; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save mapping")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields: list[TargetField] = []

    def compose(self) -> ComposeResult:
        yield VerticalScroll(Static("Loading the mapping…"), id="mapping-form")

    @work(thread=True, exclusive=True, group="mapping")
    def load(self) -> None:
        settings = self.fetch(lambda c: c.settings())
        attributes = self.fetch(lambda c: c.attributes())
        fields = self.attempt(lambda c: c.fields())
        if settings is not None and attributes is not None:
            self.app.call_from_thread(
                self.build,
                settings.mapping,
                attributes,
                [] if isinstance(fields, Failure) else fields,
                fields.message if isinstance(fields, Failure) else "",
            )

    def _row(self, label: str, widget: Any, key: str) -> list[Any]:
        return [
            Horizontal(Label(label), widget, classes="row"),
            Static("", id=error_id(key), classes="error"),
        ]

    def build(
        self,
        mapping: MappingSettings,
        attributes: list[str],
        fields: list[TargetField],
        fields_error: str,
    ) -> None:
        self.fields = fields
        options = [(a, a) for a in attributes]
        form = self.query_one("#mapping-form", VerticalScroll)
        form.remove_children()
        widgets: list[Any] = [
            Static("[b]Contact[/b]  (the help desk's email and name follow the directory)")
        ]
        widgets += self._row(
            "Email <-",
            Select(options, value=mapping.email, allow_blank=False, id="email"),
            "mapping.email",
        )
        widgets += self._row(
            "Name <- (attribute or template)", Input(mapping.name, id="name"), "mapping.name"
        )
        widgets.append(Static("[b]Phones[/b]  (empty: not mapped)"))
        for code, label in PHONE_TYPES.items():
            value = mapping.phones.get(code, Select.NULL)
            widgets += self._row(
                f"{label} phone <-",
                Select(options, value=value, id=f"phone-{code}"),
                f"mapping.phones.{code}",
            )
        widgets.append(Static("[b]Custom fields[/b]  (help desk field <- directory attribute)"))
        if fields_error:
            widgets.append(
                Static(f"[red]The help desk's fields could not be read: {fields_error}[/red]")
            )
        for n, field in enumerate(fields):
            label = f"{field.name} ({field.type}{', required' if field.required else ''})"
            value = mapping.custom_fields.get(field.name, Select.NULL)
            widgets += self._row(
                label,
                Select(options, value=value, id=f"custom-{n}"),
                f"mapping.custom_fields.{field.name}",
            )
        widgets.append(
            Horizontal(
                Label("Overwrite custom fields"),
                Switch(mapping.overwrite_custom_fields, id="overwrite"),
                classes="row",
            )
        )
        widgets.append(
            Static(
                "On: existing contacts' mapped custom fields follow the directory. Off: "
                "existing "
                "contacts"
                " keep their values; new contacts still get them. Unmapped fields are never "
                "touched.",
                classes="hint",
            )
        )
        widgets.append(
            Static(
                "[dim]Ctrl+S[/dim] save (the daemon validates; errors appear next to the field)",
                classes="hint",
            )
        )
        form.mount_all(widgets)

    def values(self) -> dict[str, Any]:
        def picked(widget_id: str) -> str | None:
            value = self.query_one(f"#{widget_id}", Select).value
            return None if value is Select.NULL else str(value)

        return {
            "email": picked("email"),
            "name": self.query_one("#name", Input).value,
            "phones": {code: picked(f"phone-{code}") for code in PHONE_TYPES},
            "custom_fields": {f.name: picked(f"custom-{n}") for n, f in enumerate(self.fields)},
            "overwrite_custom_fields": self.query_one("#overwrite", Switch).value,
        }

    def action_save(self) -> None:
        self.save(self.values())

    @work(thread=True, exclusive=True, group="mapping-save")
    def save(self, mapping: dict[str, Any]) -> None:
        answer = self.attempt(lambda c: c.update_settings(mapping=mapping))
        problems = answer.problems if isinstance(answer, Failure) else []
        self.app.call_from_thread(self.show_problems, problems)
        self.say(answer, "Mapping saved; it applies from the next sync")

    def show_problems(self, problems: list[FieldProblem]) -> None:
        for error in self.query(".error"):
            if isinstance(error, Static):
                error.update("")
        for problem in problems:
            found = self.query(f"#{error_id(problem.key)}")
            if found:
                found.first(Static).update(f"[red]↑ {problem.message}[/red]")
