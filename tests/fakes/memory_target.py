"""A throwaway target that keeps contacts in memory, declared the way a new target would be.

It is one module: its ``[target.memory]`` table, a secret key, a rule across tables, parallel
writes behind a rate limit, and the target itself. Registering ``TARGET`` is all it takes
for the configuration, the factory and the job wiring to use it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field

from azsyncd.config.model import Config, Section, suggest
from azsyncd.targets.base import (
    ContactWrite,
    ExistingContact,
    Phone,
    WriteResult,
    normal_email,
)
from azsyncd.targets.fields import Choice, FieldDef, field_type, problem
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.spec import RateLimits, Resources, TargetSpec

# The custom fields of every book, as a help desk would spell their types.
FIELDS = (
    FieldDef("f1", "Department", field_type("textarea")),
    FieldDef("f2", "Employee ID", field_type("decimal")),
    FieldDef(
        "f3",
        "Office",
        field_type("choice"),
        choices=(Choice("c1", "Berlin"), Choice("c2", "London")),
    ),
    FieldDef("f4", "Notes", field_type("text")),
)


class MemorySettings(Section):
    book: str = Field(..., min_length=1, description="Which in-memory address book")
    token_file: str
    calls_per_minute: int = Field(600, ge=1)


@dataclass
class Book:
    """What a help desk account holds: outlives the clients built for each run."""

    token: str
    contacts: dict[str, ExistingContact] = field(default_factory=dict)  # by id
    logins: dict[str, bool] = field(default_factory=dict)  # contact id -> portal login on
    required: set[str] = field(default_factory=set)  # field ids every write must leave set
    marks: dict[str, list[str]] = field(default_factory=dict)  # label -> contact ids
    batches: list[int] = field(default_factory=list)  # the size of each write call
    lock: threading.Lock = field(default_factory=threading.Lock)


BOOKS: dict[str, Book] = {}


class MemoryTarget:
    max_batch = 3

    def __init__(self, book: Book, token: str, limiter: RateLimiter) -> None:
        if token != book.token:
            raise PermissionError("the book refused the token")
        self.book = book
        self.limiter = limiter

    def close(self) -> None:
        pass

    def fields(self) -> list[FieldDef]:
        self.limiter.acquire("GET")
        return list(FIELDS)

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        self.limiter.acquire("GET")
        wanted = {normal_email(e) for e in emails}
        return {c.email: c for c in self.book.contacts.values() if c.email in wanted}

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        self.limiter.acquire("GET")
        return {i: self.book.contacts[i] for i in ids if i in self.book.contacts}

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        yield from list(self.book.contacts.values())

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        if len(batch) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} contacts a call")
        self.limiter.acquire("POST")
        with self.book.lock:
            self.book.batches.append(len(batch))
            return [self._write(item) for item in batch]

    def _write(self, item: ContactWrite) -> WriteResult:
        email = normal_email(item.email)
        holder = next((c for c in self.book.contacts.values() if c.email == email), None)
        before = holder
        if item.existing is not None:  # an edit: that very contact, by id
            before = self.book.contacts.get(item.existing.id)
            if before is None:
                return WriteResult(item.email, False, error="no such contact")
            if holder is not None and holder.id != before.id:
                return WriteResult(item.email, False, before.id, f"{email} is taken")
        custom: dict[str, Any] = {**(before.custom if before else {}), **item.custom}
        problems = [p for f in FIELDS if (p := problem(f, custom.get(f.id)))]
        problems += [f"{f}: required" for f in sorted(self.book.required) if not custom.get(f)]
        if problems:
            return WriteResult(item.email, False, error="; ".join(problems))
        contact_id = before.id if before else f"m{len(self.book.contacts) + 1}"
        phones = [Phone(p.type, p.number, p.id) for p in item.phones]
        self.book.contacts[contact_id] = ExistingContact(
            contact_id, email, item.name, phones, custom
        )
        if item.login_enabled is not None or before is None:
            self.book.logins[contact_id] = item.login_enabled is not False
        return WriteResult(item.email, True, contact_id)

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        with self.book.lock:
            self.book.marks.setdefault(tenant_label, []).extend(contact_ids)


def rules(settings: MemorySettings, config: Config) -> Iterator[tuple[str, str]]:
    if config.target.kind != "memory":
        return
    names = [f.name for f in FIELDS]
    for name in config.mapping.custom_fields:
        if name not in names:
            yield (
                f"mapping.custom_fields.{name}",
                f'the memory book has no field "{name}"{suggest(name, names)}',
            )


def _build(settings: MemorySettings, resources: Resources) -> MemoryTarget:
    book = BOOKS.setdefault(settings.book, Book(token=resources.secrets["token_file"]))
    assert resources.limiter is not None
    return MemoryTarget(book, resources.secrets["token_file"], resources.limiter)


def _limits(settings: MemorySettings) -> RateLimits:
    per_minute = settings.calls_per_minute
    return RateLimits(f"memory:{settings.book}", {"GET": per_minute, "POST": per_minute})


TARGET = TargetSpec(
    name="memory",
    settings=MemorySettings,
    secret_keys=("token_file",),
    rules=rules,
    build=_build,
    parallel=3,
    limits=_limits,
)
