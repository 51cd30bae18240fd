"""What the simulated Freshservice's filters see and how they are written: the indexed values
of a requester, the ``email=`` filter, and the filter language of ``query=`` (field:'value',
``:>`` and ``:<`` on dates and numbers, ``null``, AND, OR and parentheses; at most 512
characters, the whole in double quotes). And the refusals the simulation answers with."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Refused(Exception):
    """An answer other than success: its status, body and headers."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def invalid(field: str, message: str, code: str = "invalid_value", status: int = 400) -> Refused:
    errors = [{"field": field, "message": message, "code": code}]
    return Refused(status, {"description": "Validation failed", "errors": errors})


def by_email(email: str) -> Callable[[dict[str, Any]], bool]:
    """The ``email=`` filter: a requester whose primary or secondary address it is."""
    email = email.strip().lower()
    return lambda values: email == values["primary_email"] or email in values["secondary_emails"]


def searchable(requester: dict[str, Any]) -> dict[str, Any]:
    """The values the filters compare, as indexed."""
    return {
        "primary_email": (requester.get("primary_email") or "").lower(),
        "secondary_emails": [e.lower() for e in requester.get("secondary_emails") or []],
        "first_name": requester.get("first_name"),
        "last_name": requester.get("last_name"),
        "name": " ".join(p for p in (requester.get("first_name"), requester.get("last_name")) if p),
        "job_title": requester.get("job_title"),
        "work_phone_number": requester.get("work_phone_number"),
        "mobile_phone_number": requester.get("mobile_phone_number"),
        "department_id": list(requester.get("department_ids") or []),
        "created_at": requester.get("created_at"),
        "updated_at": requester.get("updated_at"),
        **{k: v for k, v in (requester.get("custom_fields") or {}).items()},
    }


TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|[a-z_0-9]+\s*:\s*[<>]?\s*(?:'[^']*'|null|-?\d+))")


def parse_query(text: str) -> Callable[[dict[str, Any]], bool]:
    """A query as the filter takes it (whole, in double quotes, at most 512 characters)."""
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise invalid("query", "The query should be enclosed in double quotes")
    body = text[1:-1]
    if len(body) > 512:
        raise invalid("query", "The query can have maximum of 512 characters")
    tokens, position = [], 0
    while position < len(body.rstrip()):
        found = TOKEN.match(body, position)
        if not found:
            raise invalid("query", f"Invalid query at character {position + 1}")
        tokens.append(found.group(1))
        position = found.end()
    test, rest = _or(tokens)
    if rest or test is None:
        raise invalid("query", "Invalid query")
    return test


Test = Callable[[dict[str, Any]], bool]


def _or(tokens: list[str]) -> tuple[Test | None, list[str]]:
    left, tokens = _and(tokens)
    while left and tokens[:1] == ["OR"]:
        right, tokens = _and(tokens[1:])
        if right is None:
            return None, tokens
        left = (lambda a, b: lambda v: a(v) or b(v))(left, right)
    return left, tokens


def _and(tokens: list[str]) -> tuple[Test | None, list[str]]:
    left, tokens = _term(tokens)
    while left and tokens[:1] == ["AND"]:
        right, tokens = _term(tokens[1:])
        if right is None:
            return None, tokens
        left = (lambda a, b: lambda v: a(v) and b(v))(left, right)
    return left, tokens


def _term(tokens: list[str]) -> tuple[Test | None, list[str]]:
    if not tokens:
        return None, tokens
    if tokens[0] == "(":
        inner, rest = _or(tokens[1:])
        if inner is None or rest[:1] != [")"]:
            return None, rest
        return inner, rest[1:]
    found = re.fullmatch(r"([a-z_0-9]+)\s*:\s*([<>]?)\s*(?:'([^']*)'|(null)|(-?\d+))", tokens[0])
    if not found:
        return None, tokens
    field, op, text, null, number = found.groups()
    wanted: Any = None if null else int(number) if number is not None else text

    def test(values: dict[str, Any]) -> bool:
        have = values.get(field)
        if isinstance(have, list):
            return wanted in have or (isinstance(wanted, str) and wanted.lower() in have)
        if wanted is None or have is None:
            return have is wanted and not op
        if op:
            left, right = (
                (str(have)[:10], str(wanted)) if isinstance(wanted, str) else (have, wanted)
            )
            return bool(left >= right if op == ">" else left <= right)
        return str(have).lower() == str(wanted).lower()

    return test, tokens[1:]
