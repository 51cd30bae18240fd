"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from peewee import TextField


class JSONField(TextField):
    """JSON stored as text; portable, and our documents are small."""

    def db_value(self, value: Any) -> str | None:
        return (
            None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        )

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class UTCField(TextField):
    """A UTC instant stored as ISO-8601 text, so it sorts and reads the same everywhere."""

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def python_value(self, value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)


def utcnow() -> datetime:
    return datetime.now(UTC)
