"""The throwaway in-memory target (declared in tests/, built through the configuration and
the factory as a sync builds it) passes the target contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.state import open_database
from azsyncd.targets import registry
from azsyncd.targets.factory import build_target
from tests.contract.targets import TargetTests
from tests.fakes import memory_target
from tests.helpers import write_config


class BookProbe:
    def __init__(self, book: memory_target.Book) -> None:
        self.book = book

    def login(self, contact_id: str) -> bool:
        return self.book.logins[contact_id]

    def groups(self, contact_id: str) -> dict[str, bool]:
        return {}  # the memory target has no contact groups

    def marked(self, label: str) -> set[str]:
        return set(self.book.marks.get(label, []))

    def require(self, field: str) -> None:
        self.book.required.add(next(f.id for f in memory_target.FIELDS if f.name == field))

    def agent_empties(self, contact_id: str, field: str) -> None:
        contact = self.book.contacts[contact_id]
        field_id = next(f.id for f in memory_target.FIELDS if f.name == field)
        custom = {k: v for k, v in contact.custom.items() if k != field_id}
        self.book.contacts[contact_id] = dataclasses.replace(contact, custom=custom)

    def agent_deletes(self, contact_id: str) -> None:
        del self.book.contacts[contact_id]


class TestMemoryTarget(TargetTests):
    @pytest.fixture
    def target(self, tmp_path: Path) -> Iterator[memory_target.MemoryTarget]:
        (tmp_path / "token").write_text("memory-token-value")
        (tmp_path / "token").chmod(0o600)
        config = write_config(
            tmp_path,
            f"""
            [target]
            kind = "memory"
            [target.memory]
            book = "{tmp_path.name}"
            token_file = "token"
            """,
        )
        with registry.registered(memory_target.TARGET):
            loaded = config_file.load(config, check_files=True)
            built = build_target(loaded.config, loaded.directory, open_database("", tmp_path))
            assert isinstance(built, memory_target.MemoryTarget)
            yield built
        memory_target.BOOKS.pop(tmp_path.name, None)

    @pytest.fixture
    def probe(self, target: memory_target.MemoryTarget) -> BookProbe:
        return BookProbe(target.book)
