"""The target protocol both help desk targets implement.

Custom field values are keyed by field id and already in the target's form: text as str,
number as int or float, dropdown as a choice id, multi-select as a list of choice ids,
date as "yyyy-mm-dd". Emails compare case-insensitively everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

PHONE_TYPES = {"mo": "mobile", "w": "work", "m": "main", "h": "home", "o": "other"}


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class FieldDef:
    id: str
    name: str
    type: str  # text | number | dropdown | multi_select | date | unknown
    required: bool = False
    choices: tuple[Choice, ...] = ()
    raw_type: str = ""  # the target's own type string, kept when we do not know it

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "choices": [c.label for c in self.choices],
            "raw_type": self.raw_type or self.type,
        }


@dataclass(frozen=True)
class Phone:
    type: str
    number: str
    id: int | str | None = None  # as the target gave it: HappyFox matches ids by type too


@dataclass
class ExistingContact:
    id: str
    email: str
    name: str
    phones: list[Phone] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContactWrite:
    """Create (existing is None) or update one contact.

    ``custom`` holds only the fields this write sets; the target keeps every other custom
    field as it is, whatever its API does with fields left out.
    """

    email: str
    name: str
    phones: list[Phone]
    custom: dict[str, Any]
    existing: ExistingContact | None = None
    source_tenant: str = ""
    source_object_id: str = ""


@dataclass(frozen=True)
class WriteResult:
    email: str
    ok: bool
    id: str = ""
    error: str = ""


def normal_email(email: str) -> str:
    return email.strip().lower()


class Target(Protocol):
    """What the sync engine needs of a help desk."""

    max_batch: int

    def fields(self) -> list[FieldDef]: ...

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]: ...

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]: ...

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]: ...

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None: ...

    def close(self) -> None: ...
