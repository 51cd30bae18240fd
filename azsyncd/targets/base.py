"""The target protocol every help desk target implements, and the values it trades in.

Custom field values are keyed by field id and already in the target's form (see
``targets/fields.py``). Emails compare case-insensitively everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from azsyncd.targets.fields import FieldDef


@dataclass(frozen=True)
class Phone:
    type: str  # a phone type code, see config.model.PhoneType
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
