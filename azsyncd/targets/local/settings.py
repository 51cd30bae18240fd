"""[target.local]: the custom fields of the built-in store, and the rules they follow."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, field_validator

from azsyncd.config.model import Config, Section, suggest
from azsyncd.targets.fields import (
    FIELD_TYPES,
    WRITABLE,
    Choice,
    FieldDef,
    FieldType,
    expression_problem,
)


class LocalField(Section):
    name: str = Field(..., min_length=1)
    type: FieldType = FieldType.TEXT
    required: bool = False
    choices: list[str] = Field(default_factory=list)

    @field_validator("type", mode="before")
    @classmethod
    def _writable(cls, value: object) -> object:
        if value not in WRITABLE:
            names = [str(t) for t in WRITABLE]
            raise ValueError(
                f'unknown field type "{value}"{suggest(str(value), names)}; use one of: '
                + ", ".join(names)
            )
        return value


class LocalSettings(Section):
    fields: list[LocalField] = Field(default_factory=list)


def rules(settings: LocalSettings, config: Config) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for i, field in enumerate(settings.fields):
        key = f"target.local.fields[{i}]"
        if field.name.lower() in seen:
            yield (
                f"{key}.name",
                f'field "{field.name}" is declared twice; field names must be unique',
            )
        seen.add(field.name.lower())
        takes_choices = FIELD_TYPES[field.type].choices
        if takes_choices and not field.choices:
            yield (
                f"{key}.choices",
                f'a {field.type} field needs choices, e.g. choices = ["Sales", "Support"]',
            )
        if not takes_choices and field.choices:
            yield (
                f"{key}.choices",
                f"a {field.type} field takes no choices; remove them or make it a dropdown",
            )
    if config.target.kind == "local":
        declared = {f.name: f for f in settings.fields}
        for name, entry in config.mapping.custom_fields.items():
            key = f"mapping.custom_fields.{name}"
            found_field = declared.get(name)
            if found_field is None:
                yield (
                    key,
                    f'no custom field "{name}" in [target.local]{suggest(name, declared)}; '
                    "declare it under [[target.local.fields]]",
                )
                continue
            # The field's type is known here: the expression is checked against it now.
            found = expression_problem(_definition(found_field), config.mapping.expression(entry))
            if found:
                yield key, found


def _definition(field: LocalField) -> FieldDef:
    choices = tuple(Choice(c, c) for c in field.choices)
    return FieldDef(field.name, field.name, field.type, field.required, choices)
