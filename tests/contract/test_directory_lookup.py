"""Finding one user and their groups, against the simulated directory through msal + Graph."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from azsyncd.config.model import Tenant
from azsyncd.demo.directory import DEMO_CLIENT, DEMO_GRAPH, DEMO_LOGIN, DEMO_SECRET
from azsyncd.directory.client import GraphClient
from azsyncd.directory.lookup import AmbiguousUser, find_user, groups_of
from azsyncd.directory.tenants import TenantService
from azsyncd.errors import GraphError
from azsyncd.state import State, open_database
from tests.fakes.directory import FakeTenant, contoso

SELECT = ["id", "userPrincipalName", "mail", "displayName"]
ANN = "00000000-0000-4000-a000-000000000000"
GUEST = "00000000-0000-4000-a000-000000000003"  # contoso() makes every 25th user from 3 a guest


@pytest.fixture
def directory_and_graph(tmp_path: Path) -> tuple[FakeTenant, GraphClient]:
    directory = contoso(users=30)
    (tmp_path / "secret").write_text(DEMO_SECRET)
    tenant = Tenant(
        name="contoso",
        tenant_id=directory.tenant_id,
        client_id=DEMO_CLIENT,
        cloud="custom",
        login_url=DEMO_LOGIN,
        graph_url=DEMO_GRAPH,
        client_secret_file="secret",
    )
    state = State(open_database("", tmp_path))
    service = TenantService(state, tmp_path, tmp_path, directory.transport())
    return directory, service.connect(tenant).graph


def test_by_object_id_upn_or_mail(directory_and_graph: tuple[FakeTenant, GraphClient]) -> None:
    _, graph = directory_and_graph
    by_id = find_user(graph, ANN, SELECT)
    assert by_id is not None and by_id["userPrincipalName"] == "anna.andersson0@contoso.example"
    assert find_user(graph, " ANNA.Andersson0@contoso.example ", SELECT) == by_id
    assert find_user(graph, "nobody@contoso.example", SELECT) is None
    assert find_user(graph, "00000000-0000-4000-a000-999999999999", SELECT) is None  # a 404


def test_a_guest_by_ext_upn_or_by_mail(directory_and_graph: tuple[FakeTenant, GraphClient]) -> None:
    directory, graph = directory_and_graph
    guest = directory.users[GUEST]
    assert "#EXT#" in guest["userPrincipalName"]
    assert find_user(graph, guest["userPrincipalName"], SELECT)["id"] == GUEST  # type: ignore[index]
    assert find_user(graph, guest["mail"], SELECT)["id"] == GUEST  # type: ignore[index]


def test_a_quote_in_an_address_is_not_an_injection(
    directory_and_graph: tuple[FakeTenant, GraphClient],
) -> None:
    directory, graph = directory_and_graph
    directory.update_user(ANN, mail="o'brien@contoso.example")
    assert find_user(graph, "o'brien@contoso.example", SELECT)["id"] == ANN  # type: ignore[index]
    sent = httpx.URL(directory.requests[-1].split(" ", 1)[1]).params["$filter"]
    quoted = "'o''brien@contoso.example'"
    assert sent == f"userPrincipalName eq {quoted} or mail eq {quoted} or displayName eq {quoted}"


def test_by_display_name_and_a_name_two_users_share(
    directory_and_graph: tuple[FakeTenant, GraphClient],
) -> None:
    directory, graph = directory_and_graph
    directory.update_user(ANN, displayName="Ann O'Neil")
    assert find_user(graph, "ann o'neil", SELECT)["id"] == ANN  # type: ignore[index]
    other = "00000000-0000-4000-a000-000000000001"
    directory.update_user(other, displayName="Ann O'Neil")
    with pytest.raises(AmbiguousUser) as caught:
        find_user(graph, "Ann O'Neil", SELECT)
    assert "2 users" in str(caught.value) and "anna.andersson0@contoso.example" in str(caught.value)
    # An address still finds the one user, whoever shares the name.
    upn = directory.users[other]["userPrincipalName"]
    assert find_user(graph, upn, SELECT)["id"] == other  # type: ignore[index]


def test_groups_of_a_user_include_nested_ones(
    directory_and_graph: tuple[FakeTenant, GraphClient],
) -> None:
    _, graph = directory_and_graph
    sales, customer_facing, everyone = (
        "90000000-0000-4000-b000-000000000000",
        "a0000001-0000-4000-b000-000000000000",  # holds Sales and Support
        "a0000003-0000-4000-b000-000000000000",  # holds Customer facing
    )
    assert {sales, customer_facing, everyone} <= groups_of(graph, ANN)  # Ann is in Sales


def test_other_graph_errors_are_not_a_missing_user(
    directory_and_graph: tuple[FakeTenant, GraphClient],
) -> None:
    directory, graph = directory_and_graph
    directory.throttle = [(403, 0)]
    with pytest.raises(GraphError) as caught:
        find_user(graph, ANN, SELECT)
    assert caught.value.status == 403
