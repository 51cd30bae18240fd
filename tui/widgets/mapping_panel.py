"""The Mapping tab: email and name sources, guests, phones, custom fields, the overwrite rule."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.widget import Widget
from textual.widgets import Input, Select, Static

from azsyncd.control.client import ApiFailure, Client, MappingSettings, SetupProblem, TargetField
from tui.screens.preview import Request
from tui.text import clip, esc
from tui.widgets.fields import OnOff, Row
from tui.widgets.form_panel import FormPanel

PHONE_TYPES = {"mo": "Mobile", "w": "Work", "m": "Main", "h": "Home", "o": "Other"}


@dataclass(frozen=True)
class MappingData:
    mapping: MappingSettings
    attributes: list[str]
    fields: list[TargetField] = field(default_factory=list)
    fields_error: str = ""  # the help desk's fields could not be read
    problems: list[SetupProblem] = field(default_factory=list)  # what the help desk lacks

    def options(self) -> list[str]:
        """Every attribute a mapping may pick, with any the mapping uses beyond the known ones."""
        source = MappingSettings.source
        used = [self.mapping.email, *map(source, self.mapping.phones.values())]
        used += list(map(source, self.mapping.custom_fields.values()))
        return list(dict.fromkeys([*self.attributes, *(u for u in used if u)]))


def picked(select: Select[str]) -> str | None:
    return None if select.value is Select.NULL else str(select.value)


def _entry(old: object, value: str | None) -> str | dict[str, Any] | None:
    """What a save sends for one mapped value: a value with its own apply rule (a table, not
    a text) keeps the rule (the table is merged), anything else is the attribute or
    expression itself."""
    if value is not None and old is not None and not isinstance(old, str):
        return {"value": value}
    return value


class MappingPanel(FormPanel):
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        *FormPanel.KEYS_HELP,
        ("Enter/Space", "on a list: open it and pick; type to search it"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields: list[TargetField] = []
        self.mapping: MappingSettings | None = None  # as last read, to keep apply rules

    def compose_form(self) -> Any:
        yield Static("Loading the mapping…", id="mapping-loading")

    def read(self, client: Client) -> MappingData:
        settings, attributes = client.settings(), client.attributes()
        try:
            fields, problems = client.fields_checked()
            return MappingData(settings.mapping, attributes, fields, problems=problems)
        except ApiFailure as exc:  # the help desk is down: the rest of the mapping still shows
            return MappingData(settings.mapping, attributes, fields_error=exc.message)

    def layout_of(self, data: MappingData) -> Hashable:
        fields = tuple((f.name, f.type, f.required) for f in data.fields)
        extra = tuple(
            n for n in data.mapping.custom_fields if n not in {f.name for f in data.fields}
        )
        problems = tuple((p.message, p.fix) for p in data.problems)
        return fields, extra, tuple(data.options()), data.fields_error, problems

    def rows_for(self, data: MappingData) -> list[Widget]:
        options = [(a, a) for a in data.options()]
        # The help desk's mark field is azsync's own: shown, never offered for mapping.
        self.fields = [f for f in data.fields if f.fixed is None]
        marks = [f.name for f in data.fields if f.fixed is not None]
        known = {f.name for f in data.fields}
        # Mapped fields the help desk did not list stay editable, so nothing is dropped.
        self.fields += [
            TargetField(name=n, type="unlisted")
            for n in data.mapping.custom_fields
            if n not in known
        ]

        def choice(widget_id: str, blank: bool = True) -> Select[str]:
            return Select(
                options, allow_blank=blank, prompt="(not mapped)", compact=True, id=widget_id
            )

        rows: list[Widget] = [
            Static(
                "Contact: the help desk's email and name follow the directory", classes="section"
            ),
            Row("Email <-", choice("email", blank=False), keys=["mapping.email"]),
            Row(
                "Guests' email from mail",
                OnOff(id="guest_email_from_mail"),
                keys=["mapping.guest_email_from_mail"],
                note="guests' #EXT# UPNs are no mailbox; On uses mail, then otherMails",
            ),
            Row(
                "Name <-",
                Input(id="name", compact=True),
                keys=["mapping.name"],
                note="an attribute, or a template such as {givenName} {surname}",
            ),
            Static("Phones", classes="section"),
        ]
        rows += [
            Row(f"{label} phone <-", choice(f"phone-{code}"), keys=[f"mapping.phones.{code}"])
            for code, label in PHONE_TYPES.items()
        ]
        rows.append(
            Row(
                "Skip empty phones",
                OnOff(id="skip_empty_phones"),
                keys=["mapping.skip_empty_phones"],
                note="On: an empty mapped phone is left out; Off: the contact fails",
            )
        )
        rows.append(Static("Custom fields (* required by the help desk)", classes="section"))
        if data.fields_error:
            rows.append(
                Static(
                    f"The help desk's fields could not be read: {esc(data.fields_error)}",
                    classes="error",
                )
            )
        for problem in data.problems:  # e.g. HappyFox's mark field missing: how to create it
            rows.append(Static(f"{esc(problem.message)}. Fix: {esc(problem.fix)}", classes="error"))
        for name in marks:
            rows.append(Static(f"{esc(clip(name, 40))}: azsync's mark on every contact it keeps"))
        for n, target_field in enumerate(self.fields):
            mark = " *" if target_field.required else ""
            rows.append(
                Row(
                    clip(f"{target_field.name} ({target_field.type}){mark}", 23),
                    choice(f"custom-{n}"),
                    keys=[f"mapping.custom_fields.{target_field.name}"],
                )
            )
        rows.append(
            Row(
                "Overwrite custom fields",
                OnOff(id="overwrite_custom_fields"),
                keys=["mapping.overwrite_custom_fields"],
                note="On: existing contacts' mapped fields follow the directory. Off: they keep "
                "their values; new contacts still get them. Unmapped fields are never touched.",
            )
        )
        return rows

    def fill(self, data: MappingData) -> None:
        mapping = data.mapping
        self.by_id("email", Select).value = mapping.email
        self.mapping = mapping
        source = MappingSettings.source
        self.by_id("name", Input).value = source(mapping.name) or ""
        phones = {str(k): v for k, v in mapping.phones.items()}  # keys: the phone types
        for code in PHONE_TYPES:
            phone = source(phones.get(code))
            self.by_id(f"phone-{code}", Select).value = phone or Select.NULL
        for n, target_field in enumerate(self.fields):
            value = source(mapping.custom_fields.get(target_field.name))
            self.by_id(f"custom-{n}", Select).value = value or Select.NULL
        for switch in ("guest_email_from_mail", "skip_empty_phones", "overwrite_custom_fields"):
            self.by_id(f"{switch}", OnOff).value = getattr(mapping, switch)

    def values(self) -> dict[str, Any]:
        if self.built is None:
            return {}  # the rows are not there yet
        old = self.mapping
        return {
            "email": picked(self.by_id("email", Select)),
            "name": _entry(old.name if old else None, self.by_id("name", Input).value),
            "phones": {
                c: _entry(
                    {str(k): v for k, v in old.phones.items()}.get(c) if old else None,
                    picked(self.by_id(f"phone-{c}", Select)),
                )
                for c in PHONE_TYPES
            },
            "custom_fields": {
                f.name: _entry(
                    old.custom_fields.get(f.name) if old else None,
                    picked(self.by_id(f"custom-{n}", Select)),
                )
                for n, f in enumerate(self.fields)
            },
            **{
                switch: self.by_id(f"{switch}", OnOff).value
                for switch in (
                    "guest_email_from_mail",
                    "skip_empty_phones",
                    "overwrite_custom_fields",
                )
            },
        }

    def preview_request(self, values: dict[str, Any] | None) -> Request:
        return lambda c: c.preview(settings={"mapping": values} if values is not None else None)

    def write(self, client: Client, values: dict[str, Any], force: bool = False) -> MappingData:
        # None unmaps; others merge
        settings = client.update_settings(force=force, mapping=values)
        return MappingData(
            settings.mapping, self.data.attributes, self.data.fields, self.data.fields_error
        )
