"""Zammad passes the target contract, against the fake Zammad (which follows the API notes)
on a virtual clock. Contact groups are organizations; the portal login is ``active``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azsyncd.config.model import Config
from azsyncd.targets.base import Target
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.zammad.api import KIND, ZammadApi
from azsyncd.targets.zammad.simulator import attribute, default_attributes
from azsyncd.targets.zammad.target import Zammad
from tests.contract.targets import TargetTests
from tests.contract.test_happyfox_client import Clock
from tests.fakes.zammad import FakeZammad


def contract_attributes() -> list[dict[str, Any]]:
    """A fresh Zammad's user attributes, and the contract's fields as an admin would add
    them (Department is built in)."""
    offices = {"options": {"berlin": "Berlin", "london": "London"}}
    return [
        *default_attributes(demo=False),
        attribute("employee_id", "Employee ID", "integer", {}),
        attribute("office", "Office", "select", offices),
        attribute("notes", "Notes", "input", {"type": "text", "maxlength": 500}),
    ]


class ZammadProbe:
    def __init__(self, fake: FakeZammad) -> None:
        self.fake = fake

    def login(self, contact_id: str) -> bool:
        return bool(self.fake.users[int(contact_id)]["active"])

    def groups(self, contact_id: str) -> dict[str, bool]:
        user = self.fake.users[int(contact_id)]
        orgs = [user["organization_id"], *user["organization_ids"]]
        return {
            self.fake.organizations[o]["name"]: self.fake.organizations[o]["shared"]
            for o in orgs
            if o is not None
        }

    def marked(self, label: str) -> set[str]:
        return set()  # Zammad has no neutral place for a mark (see the test below)

    def require(self, field: str) -> None:
        found = next(a for a in self.fake.attributes if a["display"] == field)
        for screen in ("create", "edit"):
            found["screens"][screen]["-all-"]["null"] = False

    def agent_empties(self, contact_id: str, field: str) -> None:
        name = next(a["name"] for a in self.fake.attributes if a["display"] == field)
        self.fake.users[int(contact_id)][name] = None

    def agent_deletes(self, contact_id: str) -> None:
        user = self.fake.users.pop(int(contact_id))
        self.fake.order.remove(user["id"])
        self.fake.by_email.pop(user["email"], None)


class TestZammad(TargetTests):
    @pytest.fixture
    def fake(self) -> FakeZammad:
        return FakeZammad(clock=Clock(), attributes=contract_attributes())

    @pytest.fixture
    def target(self, fake: FakeZammad) -> Iterator[Zammad]:
        clock = fake.clock
        assert isinstance(clock, Clock)
        api = ZammadApi(
            "https://zammad.example",
            "token",
            limiter=RateLimiter({KIND: 600}, clock=clock, sleep=clock.sleep),
            transport=httpx.WSGITransport(app=fake),
            sleep=clock.sleep,
        )
        mapping = {"phones": {"w": "businessPhones[0]", "mo": "mobilePhone"}}
        target = Zammad(api, config=Config.model_validate({"mapping": mapping}), parallel=2)
        yield target
        target.close()

    @pytest.fixture
    def probe(self, fake: FakeZammad) -> ZammadProbe:
        return ZammadProbe(fake)

    def test_mark_synced_shows_the_tenant_and_is_idempotent(
        self, target: Target, probe: ZammadProbe
    ) -> None:
        """Zammad has no customer groups, and an organization as a mark would change what
        customers see (a shared one shows them each other's tickets) and take the place of
        the rules' primary organization: marking is a no-op that makes no call."""
        ann = self.created(target, "ann@example.com")
        calls = len(probe.fake.calls)
        target.mark_synced("Contoso", [ann.id])
        target.mark_synced("Contoso", [ann.id])
        assert len(probe.fake.calls) == calls and probe.fake.organizations == {}
