"""The kinds of value an expression yields, and how a directory value is read as one."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "yes/no"
    DATE = "date"
    LIST = "list"


def of_literal(value: Any) -> Kind:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int):
        return Kind.NUMBER
    return Kind.TEXT


def empty(value: Any) -> bool:
    """None, blank text, an empty list or object: what a directory leaves unset."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict, tuple)):
        return not value
    return False


def as_text(value: Any) -> str:
    """One value as text; a list joins with ", " (as a text field shows it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(v) for v in value if not empty(v))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).strip()


def as_date(value: Any) -> date | None:
    """A date from Graph's ISO text ("2024-03-01T00:00:00Z") or a date; None when not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def as_items(value: Any) -> list[Any]:
    """A value as a list of its non-empty items."""
    if isinstance(value, (list, tuple)):
        return [v for v in value if not empty(v)]
    return [] if empty(value) else [value]
