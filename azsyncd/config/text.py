"""Rules every string of the configuration follows, whatever its key."""

from __future__ import annotations

import unicodedata

# A name, a path, a URL or a template line all fit in 1,024 characters.
MAX_TEXT = 1024


def control_character(value: object) -> str | None:
    """The first control character in a string, or in a flat list's or dict's strings.

    Lists and dicts of tables are left to the tables' own models, which name the exact key.
    """
    if isinstance(value, str):
        for char in value:
            if unicodedata.category(char) == "Cc":
                return f"U+{ord(char):04X}"
        return None
    if isinstance(value, dict):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = list(value)
    else:
        return None
    for item in items:
        found = control_character(item) if isinstance(item, str) else None
        if found:
            return found
    return None


def clipped(text: str, limit: int = 60) -> str:
    """Text safe to quote in a message: control characters shown as ?, long text cut."""
    text = "".join("?" if unicodedata.category(c) == "Cc" else c for c in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"
