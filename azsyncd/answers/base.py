"""The strict base of every answer, and reading one off the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError

T = TypeVar("T", bound=BaseModel)

# A point in time, written as Python's isoformat ("...+00:00"), as the daemon always has.
Instant = Annotated[
    datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
]


class Answer(BaseModel):
    """An answer, or a part of one: exactly these keys, no other."""

    # In the schema of what is sent, every key is required, as ``read`` requires it: the
    # fuzz test then refuses an answer without one, as the client does.
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


# For an answer that is a section of the configuration (its own model, its own settings):
# sent, every key is there, and the schema says so.
SENT = ConfigDict(json_schema_serialization_defaults_required=True)


class UnreadableAnswer(ValueError):
    """The daemon's JSON does not have the shape of the answer: it names the first key."""


def read(kind: type[T], data: Any) -> T:
    """``kind`` from an answer's JSON: every key it names must be there, and no other."""
    try:
        answer = kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the answer"
        raise UnreadableAnswer(f"{where}: {first['msg']}") from None
    missing = missing_keys(answer)
    if missing:
        raise UnreadableAnswer(f"{missing[0]}: missing from the answer")
    return answer


def missing_keys(value: Any, where: str = "") -> list[str]:
    """The keys of ``value`` (and of the answers in it) that were given no value: a default
    stands in for them. Off the wire, that is a key the daemon did not send."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        found += [f"{where}{name}" for name in fields if name not in value.model_fields_set]
        for name in fields:
            found += missing_keys(getattr(value, name), f"{where}{name}.")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found += missing_keys(item, f"{where}{i}.")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += missing_keys(item, f"{where}{key}.")
    return found
