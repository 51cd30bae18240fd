"""The manager and the attributes scope conditions read, through the real Graph client on
the fake Graph, which answers as Microsoft documents it: a full or group read expands the
manager, a delta tracks it by id (manager@delta) and refuses $expand, and the manager of a
user a delta brings is read from /users/{id}/manager."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config.model import Mapping, Scope
from azsyncd.demo.directory import Group
from azsyncd.directory.auth import TenantAuth
from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import find_user
from azsyncd.directory.source import DirectorySource, read_params, select_for
from azsyncd.directory.transport import make_http
from azsyncd.errors import GraphError
from tests.contract.test_graph import GRAPH, LOGIN, SECRET, tenant
from tests.fakes.directory import FakeTenant

BOSS = "b0000000-0000-4000-a000-000000000001"
ANA, BEN = "a0000000-0000-4000-a000-000000000002", "a0000000-0000-4000-a000-000000000003"


def setup(tmp_path: Path, httpx_mock: Any) -> tuple[None, FakeTenant, GraphClient, None]:
    """The fake answering for Microsoft's own login and Graph hosts, through pytest-httpx."""
    t = tenant()
    (tmp_path / "secret").write_text(SECRET)
    fake = FakeTenant(login=LOGIN, graph=GRAPH, tenant_id=t.tenant_id, secret=SECRET)
    fake.install(httpx_mock)
    httpx_mock.add_callback(
        fake.handle, url=re.compile(re.escape(GRAPH) + r"/.*"), is_reusable=True
    )
    http = make_http(transport=httpx.HTTPTransport())
    auth = TenantAuth(t, tmp_path, tmp_path / "tokens", http)
    return None, fake, GraphClient(http, auth.cloud.graph, auth.token, sleep=lambda s: None), None


def people(fake: FakeTenant) -> None:
    fake.add_user(
        {
            "id": BOSS,
            "userPrincipalName": "boss@contoso.test",
            "mail": "boss@contoso.test",
            "displayName": "Bo Boss",
            "employeeId": "100",
            "assignedLicenses": [{"skuId": "sku", "disabledPlans": []}],
            "userType": "Member",
        }
    )
    for user_id, name in ((ANA, "ana"), (BEN, "ben")):
        fake.add_user(
            {
                "id": user_id,
                "userPrincipalName": f"{name}@contoso.test",
                "mail": f"{name}@contoso.test",
                "displayName": name.title(),
                "assignedLicenses": [],
                "employeeLeaveDateTime": "2030-01-31T00:00:00Z",
                "onPremisesExtensionAttributes": {"extensionAttribute1": "Go;Rust"},
            }
        )
    fake.managers[ANA] = BOSS


MAPPING = Mapping(
    custom_fields={
        "Manager": "manager.mail",
        "Skills": 'split(onPremisesExtensionAttributes.extensionAttribute1, ";")',
    }
)
SCOPE = Scope(include=["has license or employeeLeaveDateTime > today"])


def test_select_names_the_manager_and_a_read_expands_it() -> None:
    select = select_for(MAPPING, SCOPE.reads())
    assert {"manager", "onPremisesExtensionAttributes", "assignedLicenses"} <= set(select)
    assert "employeeLeaveDateTime" in select
    params = read_params(select)
    assert "manager" not in params["$select"].split(",")
    assert params["$expand"] == "manager($select=id,displayName,mail,employeeId)"
    assert "$expand" not in read_params(select_for(Mapping()))


def test_a_full_read_brings_each_user_with_its_manager(tmp_path: Path, httpx_mock: Any) -> None:
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    select = select_for(MAPPING, SCOPE.reads())
    read = DirectorySource(graph, tenant(), select).read()
    users = {u["id"]: u for u in read.users}
    assert users[ANA]["manager"]["mail"] == "boss@contoso.test"
    assert users[ANA]["manager"]["employeeId"] == "100"
    assert "manager" not in users[BEN]  # no manager: Graph leaves the key out
    assert users[BEN]["assignedLicenses"] == []
    assert users[BOSS]["assignedLicenses"][0]["skuId"] == "sku"
    assert users[BEN]["onPremisesExtensionAttributes"]["extensionAttribute1"] == "Go;Rust"
    # The delta link was taken with the manager tracked, not expanded.
    latest = next(r for r in fake.requests if "deltatoken=latest" in r)
    assert "manager" in latest and "expand" not in latest


def test_a_delta_brings_the_new_manager_of_a_user(tmp_path: Path, httpx_mock: Any) -> None:
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    select = select_for(MAPPING)
    source = DirectorySource(graph, tenant(), select)
    first = source.read()
    list(first.users)
    fake.set_manager(BEN, BOSS)
    fake.set_manager(ANA, None)
    delta = source.read(first.delta_link)
    assert delta.mode == "delta"
    users = {u["id"]: u for u in delta.users}
    assert users[BEN]["manager"]["mail"] == "boss@contoso.test"
    assert users[ANA]["manager"] is None  # read again: the manager was taken away
    assert "manager@delta" not in users[BEN]
    asked = [r for r in fake.requests if "/manager" in r and "delta" not in r]
    assert len(asked) == 2


def test_a_manager_renamed_is_a_change_of_the_manager_only(tmp_path: Path, httpx_mock: Any) -> None:
    """Delta reports a manager's rename on the manager's own object; the reports do not
    show up. Their contacts take the new name at the next full read."""
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    source = DirectorySource(graph, tenant(), select_for(MAPPING))
    first = source.read()
    list(first.users)
    fake.update_user(BOSS, mail="bo.boss@contoso.test")
    delta = source.read(first.delta_link)
    assert [u["id"] for u in delta.users] == [BOSS]
    full = {u["id"]: u for u in source.read().users}
    assert full[ANA]["manager"]["mail"] == "bo.boss@contoso.test"


def test_members_of_groups_come_with_their_manager(tmp_path: Path, httpx_mock: Any) -> None:
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    group = "90000000-0000-4000-b000-000000000000"
    fake.groups[group] = Group(group, "Team", [ANA, BEN])
    t = tenant(users="groups", groups=[group])
    users = {u["id"]: u for u in DirectorySource(graph, t, select_for(MAPPING)).read().users}
    assert users[ANA]["manager"]["displayName"] == "Bo Boss"


def test_one_user_is_found_with_its_manager(tmp_path: Path, httpx_mock: Any) -> None:
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    found = find_user(graph, "ana@contoso.test", select_for(MAPPING))
    assert found is not None and found["manager"]["mail"] == "boss@contoso.test"
    found = find_user(graph, ANA, select_for(MAPPING))
    assert found is not None and found["manager"]["id"] == BOSS


@pytest.mark.parametrize(
    "path, params, code",
    [
        ("/users/delta", {"$expand": "manager"}, "BadRequest"),
        ("/users", {"$select": "id,manager"}, "BadRequest"),
        ("/users", {"$expand": "manager($levels=max;$select=id)"}, "Request_Unsupported"),
        (f"/users/{BEN}/manager", {}, "Request_ResourceNotFound"),
    ],
)
def test_the_fake_refuses_what_graph_refuses(
    tmp_path: Path, httpx_mock: Any, path: str, params: dict[str, str], code: str
) -> None:
    _, fake, graph, _ = setup(tmp_path, httpx_mock)
    people(fake)
    with pytest.raises(GraphError) as caught:
        graph.get(path, params)
    assert caught.value.code == code
