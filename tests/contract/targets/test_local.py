"""The built-in store passes the target contract."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from azsyncd.state import open_database
from azsyncd.targets.local.settings import LocalField
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.local.table import Contact
from tests.contract.targets import TargetTests


class StoreProbe:
    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def login(self, contact_id: str) -> bool:
        return bool(Contact.get_by_id(int(contact_id)).login_enabled)

    def groups(self, contact_id: str) -> dict[str, bool]:
        return dict(Contact.get_by_id(int(contact_id)).groups)

    def marked(self, label: str) -> set[str]:
        return {str(c.id) for c in Contact.select().where(Contact.source_tenant == label)}

    def require(self, field: str) -> None:
        self.store._fields = [
            dataclasses.replace(f, required=True) if f.name == field else f
            for f in self.store._fields
        ]

    def agent_empties(self, contact_id: str, field: str) -> None:
        row = Contact.get_by_id(int(contact_id))
        row.custom = {k: v for k, v in row.custom.items() if k != field}
        row.save()

    def agent_deletes(self, contact_id: str) -> None:
        Contact.delete_by_id(int(contact_id))


class TestBuiltInStore(TargetTests):
    @pytest.fixture
    def target(self, tmp_path: Path) -> LocalStore:
        fields = [
            LocalField(name="Department"),
            LocalField(name="Employee ID", type="number"),
            LocalField(name="Office", type="dropdown", choices=["Berlin", "London"]),
            LocalField(name="Notes"),
        ]
        return LocalStore(fields, open_database("", tmp_path))

    @pytest.fixture
    def probe(self, target: LocalStore) -> StoreProbe:
        return StoreProbe(target)
