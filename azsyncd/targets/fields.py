"""Contact field types in one place: what each type converts from, accepts, and is called.

``FIELD_TYPES`` is the table: per type, how a directory value becomes the target's form
(``convert``), whether a stored value fits (``check``), whether the type lists choices, and
the names help desks spell it with. Values in the target's form are: text as str, number as
int or float, integer as int, yes/no as bool, dropdown as a choice id, multi-select as a list
of choice ids, date as "yyyy-mm-dd", date and time as "yyyy-mm-ddThh:mm:ssZ" (UTC).

A field may also carry a help desk's own ``limit`` on a converted value (a length, a range,
dates in the past only): the reason it does not fit, checked with the type's; and a text
field a ``pattern`` its values must match whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from azsyncd.config.expression import Expression, Kind
from azsyncd.config.expression.syntax import nearest

NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
EMPTY: tuple[Any, ...] = (None, "", [])


class NotAChoice(ValueError):
    """A directory value that is none of a dropdown's or multi-select's choices."""

    def __init__(self, message: str, label: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.label, self.allowed = label, allowed


class Unwritable(ValueError):
    """A field of a type azsync cannot write: the mapping, not the directory, is wrong."""


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"  # a whole number
    BOOLEAN = "boolean"  # yes/no (a checkbox)
    DROPDOWN = "dropdown"
    MULTI_SELECT = "multi_select"
    DATE = "date"
    DATETIME = "datetime"
    UNKNOWN = "unknown"  # a help desk's type azsync cannot write; kept as it is


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class FieldDef:
    """A custom contact field of the target."""

    id: str
    name: str
    type: FieldType
    required: bool = False
    choices: tuple[Choice, ...] = ()
    raw_type: str = ""  # the target's own type string, kept when we do not know it
    # A value the target itself puts on every contact it writes (HappyFox's custom-field
    # mark), in the target's form; the mapping never fills such a field. None: no such value.
    fixed: Any = None
    # The help desk's own constraint on a value in the field's type: why it does not fit
    # (with the fix), or None.
    limit: Callable[[Any], str | None] | None = field(default=None, compare=False, repr=False)
    pattern: str = ""  # a regular expression a text value must match whole (a "regexp" field)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", FieldType(self.type))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": str(self.type),
            "required": self.required,
            "choices": [c.label for c in self.choices],
            "raw_type": self.raw_type or str(self.type),
            **({"fixed": self.fixed} if self.fixed is not None else {}),
            **({"pattern": self.pattern} if self.pattern else {}),
        }


def short(value: Any, limit: int = 40) -> str:
    """A value as a reason quotes it: JSON, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


# --- conversions: a directory value (never empty) to the target's form ------------------


def _text(field: FieldDef, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).strip()


def _number(field: FieldDef, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"{short(value)} is a yes/no value, not a number (datatype mismatch)")
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip().replace(" ", "")
    if not NUMBER.match(text):
        raise ValueError(
            f"{short(value)} is not a number (datatype mismatch); fix: correct the value in "
            "Entra ID or map this attribute to a text field"
        )
    number = float(text.replace(",", "."))
    if number.is_integer() and "." not in text and "," not in text:
        return int(number)
    return round(number, 2)


def _integer(field: FieldDef, value: Any) -> int:
    number = _number(field, value)
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(
            f"{short(value)} is not a whole number (datatype mismatch); fix: correct the value in"
            " Entra ID or map this attribute to a decimal or text field"
        )
    return int(number)


YES = {"true", "yes", "y", "1", "on", "x"}
NO = {"false", "no", "n", "0", "off"}


def _boolean(field: FieldDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in YES | NO:
        return str(value).strip().lower() in YES
    raise ValueError(
        f"{short(value)} is not a yes/no value (datatype mismatch); fix: use true or false in"
        " Entra ID, or map this attribute to a text field"
    )


def _choice_ids(field: FieldDef, items: list[Any]) -> list[str]:
    ids = {c.label.casefold(): c.id for c in field.choices}
    found = []
    for item in items:
        label = _text(field, item)
        if not label:
            continue
        if label.casefold() not in ids:
            labels = tuple(c.label for c in field.choices)
            raise NotAChoice(
                f"{short(label)} is not a choice of this field (allowed: {', '.join(labels)}); "
                "fix: add the choice in the help desk or correct the value in Entra ID",
                label,
                labels,
            )
        found.append(ids[label.casefold()])
    return found


def _dropdown(field: FieldDef, value: Any) -> str | None:
    ids = _choice_ids(field, value if isinstance(value, list) else [value])
    return ids[0] if ids else None


def _multi_select(field: FieldDef, value: Any) -> list[str] | None:
    items = value if isinstance(value, list) else re.split(r"[;,]", str(value))
    return _choice_ids(field, items) or None


def _date(field: FieldDef, value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).strftime(
            "%Y-%m-%d"
        )
    except ValueError:
        raise ValueError(
            f"{short(value)} is not a date; fix: use an ISO date such as 2024-03-01 in Entra ID"
        ) from None


def _datetime(field: FieldDef, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{short(value)} is not a date and time; fix: use an ISO form such as "
                "2024-03-01T09:30:00Z in Entra ID"
            ) from None
    if value.tzinfo is None:  # Graph gives times in UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unwritable(field: FieldDef, value: Any) -> Any:
    raise Unwritable(
        f"the target field has type {field.raw_type or str(field.type)!r}, which azsync cannot "
        "write; fix: remove this mapping"
    )


# --- checks: does a stored value (never empty) fit the field? -------------------------


def _is_text(field: FieldDef, value: Any) -> str | None:
    return None if isinstance(value, str) else f"text is required, got {value!r}"


def _is_number(field: FieldDef, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"a number is required, got {value!r}"
    return None


def _is_integer(field: FieldDef, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"a whole number is required, got {value!r}"
    return None


def _is_boolean(field: FieldDef, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"yes or no is required, got {value!r}"


def _is_choice(field: FieldDef, value: Any) -> str | None:
    if isinstance(value, str) and value in {c.id for c in field.choices}:
        return None
    return f"{value!r} is not one of the choices"


def _are_choices(field: FieldDef, value: Any) -> str | None:
    ids = {c.id for c in field.choices}
    if isinstance(value, list) and set(value) <= ids:
        return None
    return f"{value!r} are not all choices"


def _is_date(field: FieldDef, value: Any) -> str | None:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return f"{value!r} is not a date (yyyy-mm-dd)"
    return None


def _is_datetime(field: FieldDef, value: Any) -> str | None:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return f"{value!r} is not a date and time (yyyy-mm-ddThh:mm:ssZ)"
    return None


def _anything(field: FieldDef, value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class TypeRule:
    convert: Callable[[FieldDef, Any], Any]
    check: Callable[[FieldDef, Any], str | None]
    spellings: tuple[str, ...]  # what help desks call the type, lowercase
    accepts: tuple[Kind, ...]  # the kinds of expression a mapping may give the field
    choices: bool = False


ANY_KIND = tuple(Kind)
FIELD_TYPES: dict[FieldType, TypeRule] = {
    FieldType.TEXT: TypeRule(_text, _is_text, ("text", "textarea"), ANY_KIND),
    FieldType.NUMBER: TypeRule(
        _number, _is_number, ("number", "decimal"), (Kind.NUMBER, Kind.TEXT)
    ),
    FieldType.INTEGER: TypeRule(_integer, _is_integer, ("integer",), (Kind.NUMBER, Kind.TEXT)),
    FieldType.BOOLEAN: TypeRule(
        _boolean, _is_boolean, ("boolean", "checkbox"), (Kind.BOOL, Kind.TEXT, Kind.NUMBER)
    ),
    FieldType.DROPDOWN: TypeRule(
        _dropdown,
        _is_choice,
        ("dropdown", "choice"),
        (Kind.TEXT, Kind.NUMBER, Kind.BOOL),
        choices=True,
    ),
    FieldType.MULTI_SELECT: TypeRule(
        _multi_select,
        _are_choices,
        ("multi_select", "multiple_choice", "multi_choice", "multiselect"),
        (Kind.LIST, Kind.TEXT),
        choices=True,
    ),
    FieldType.DATE: TypeRule(_date, _is_date, ("date",), (Kind.DATE, Kind.TEXT)),
    FieldType.DATETIME: TypeRule(
        _datetime, _is_datetime, ("datetime", "date_time"), (Kind.DATE, Kind.TEXT)
    ),
    # Refused per contact, when there is a value to write (see _unwritable).
    FieldType.UNKNOWN: TypeRule(_unwritable, _anything, (), ANY_KIND),
}
HINTS = {
    (FieldType.DROPDOWN, Kind.LIST): "a dropdown holds one choice: map a list to a multi-select"
    " field, or pick one item (e.g. otherMails[0])",
    (FieldType.NUMBER, Kind.LIST): "pick one item, e.g. businessPhones[0]",
    (FieldType.INTEGER, Kind.LIST): "pick one item, e.g. businessPhones[0]",
    (FieldType.DATE, Kind.LIST): "pick one item",
    (FieldType.DATETIME, Kind.LIST): "pick one item",
}
WRITABLE = tuple(t for t in FieldType if t is not FieldType.UNKNOWN)
_SPELLED = {name: kind for kind, rule in FIELD_TYPES.items() for name in rule.spellings}


def field_type(spelled: str) -> FieldType:
    """The type a help desk's type name stands for; UNKNOWN when azsync cannot write it."""
    return _SPELLED.get(spelled.strip().lower(), FieldType.UNKNOWN)


def convert(field: FieldDef, value: Any) -> Any:
    """A directory value in the field's type; ValueError says what is wrong and the fix."""
    if value in EMPTY:
        return None
    converted = FIELD_TYPES[field.type].convert(field, value)
    # Blank text (or a list of blanks) is as empty as no value: "required" says so.
    if converted in EMPTY:
        return None
    if field.limit is not None and (reason := field.limit(converted)):
        raise ValueError(reason)
    if field.pattern and not _matches(field.pattern, converted):
        raise ValueError(
            f"{short(converted)} does not match the field's pattern {field.pattern}; fix: correct"
            " the value in Entra ID or the pattern in the help desk"
        )
    return converted


def _matches(pattern: str, value: Any) -> bool:
    try:
        return re.fullmatch(pattern, str(value)) is not None
    except re.error:
        return True  # a pattern Python cannot read is the help desk's to apply


def expression_problem(field: FieldDef, expression: Expression) -> str | None:
    """Why a mapped expression cannot fill ``field`` whatever the directory holds, or None:
    a kind the field's type cannot take, or a fixed text that is not one of its choices."""
    rule = FIELD_TYPES[field.type]
    if expression.kind not in rule.accepts:
        hint = HINTS.get((field.type, expression.kind), "map it to a field of another type")
        return (
            f"{field.name} is {'an' if str(field.type)[0] in 'aeiou' else 'a'} {field.type}"
            f" field and {expression.source!r} gives"
            f" {expression.kind}; {hint}"
        )
    if rule.choices and field.choices:
        labels = {c.label.casefold() for c in field.choices}
        for literal in expression.outputs():
            items = (
                re.split(r"[;,]", literal.value)
                if field.type is FieldType.MULTI_SELECT
                else [literal.value]
            )
            for item in (i.strip() for i in items):
                if item and item.casefold() not in labels:
                    allowed = [c.label for c in field.choices]
                    return (
                        f"{field.name}: at column {literal.position + 1} of {expression.source!r}:"
                        f' "{item}" is not a choice{nearest(item, allowed)}; the choices are'
                        f" {', '.join(allowed)}"
                    )
    return None


def problem(field: FieldDef, value: Any) -> str | None:
    """Why ``value`` (in the target's form) does not fit ``field``, or None."""
    if value in EMPTY:
        return f"{field.name}: this field is required" if field.required else None
    reason = FIELD_TYPES[field.type].check(field, value)
    if reason is None and field.limit is not None:
        reason = field.limit(value)
    if not reason and field.pattern and not _matches(field.pattern, value):
        reason = f"{value!r} does not match the pattern {field.pattern}"
    return f"{field.name}: {reason}" if reason else None
