"""Graph answering garbage or looping: each becomes a readable error with the request-id,
never a raw exception or a read that never ends; the token never leaves the Graph host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from azsyncd.config.model import Tenant
from azsyncd.directory.client import GraphClient
from azsyncd.directory.source import INVALID, DirectorySource
from azsyncd.errors import GraphError

GRAPH = "https://graph.example.test"
TENANT = Tenant(
    name="contoso",
    tenant_id="contoso.onmicrosoft.com",
    client_id="11111111-2222-3333-4444-555555555555",
    client_secret_file="secret",
)


class Graph:
    """Answers by URL (path and query), and notes every request with its bearer token."""

    def __init__(self, routes: dict[str, Callable[[], httpx.Response]]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append((url, request.headers.get("Authorization", "")))
        for prefix, answer in self.routes.items():
            if url.startswith(prefix):
                return answer()
        return httpx.Response(404, json={"error": {"code": "NotFound", "message": url}})


def client(graph: Graph) -> GraphClient:
    http = httpx.Client(transport=httpx.MockTransport(graph))
    return GraphClient(http, GRAPH, lambda: "secret-token", sleep=lambda s: None)


def answer(
    body: Any = None, content: bytes | None = None, status: int = 200, rid: str = "rid-7"
) -> Callable[[], httpx.Response]:
    headers = {"request-id": rid}
    if content is not None:
        return lambda: httpx.Response(status, content=content, headers=headers)
    return lambda: httpx.Response(status, json=body, headers=headers)


def users(*ids: str, next_link: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"value": [{"id": i, "userPrincipalName": f"{i}@x.test"} for i in ids]}
    if next_link:
        page["@odata.nextLink"] = next_link
    return page


@pytest.mark.parametrize(
    "reply, says",
    [
        (answer(content=b"<html><title>Sign in</title></html>"), "an HTML page instead of JSON"),
        (answer(content=b'{"value": [{"id": "u1", "displ'), "JSON that is cut short or broken"),
        (answer({"value": {"id": "u1"}}), '"value" is dict, not a list'),
        (answer([{"id": "u1"}]), "a JSON list instead of an object"),
        (answer({"error": "quota exceeded"}), "quota exceeded"),
        (answer({"error": {"code": "Busy", "message": "try later"}}), "Busy: try later"),
        (answer({"value": [], "@odata.nextLink": 42}), '"@odata.nextLink" is int, not a URL'),
    ],
)
def test_a_garbage_page_is_an_error_with_the_request_id(
    reply: Callable[[], httpx.Response], says: str
) -> None:
    graph = client(Graph({f"{GRAPH}/v1.0/users": reply}))
    with pytest.raises(GraphError) as caught:
        _ = [page.items for page in graph.pages("/users")]
    assert says in str(caught.value) and "(request-id rid-7)" in str(caught.value)


def test_an_odd_error_body_on_a_failure_is_still_readable() -> None:
    graph = client(Graph({f"{GRAPH}/v1.0/users": answer(["nope"], status=403)}))
    with pytest.raises(GraphError, match=r"Graph answered 403 HTTP403: \['nope'\]"):
        graph.get("/users")
    html = client(Graph({f"{GRAPH}/v1.0/users": answer(content=b"<html>x</html>", status=502)}))
    html.max_tries = 1
    with pytest.raises(GraphError, match="an HTML page instead of JSON"):
        html.get("/users")


def test_junk_user_objects_fail_alone() -> None:
    page = {"value": [{"id": "u1"}, "junk", {"displayName": "no id"}, {"id": 7}, {"id": "u2"}]}
    graph = Graph(
        {
            f"{GRAPH}/v1.0/users/delta": answer(
                {"value": [], "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=D"}
            ),
            f"{GRAPH}/v1.0/users?": answer(page),
        }
    )
    read = DirectorySource(client(graph), TENANT, ["id"]).read()
    found = list(read.users)
    assert [u["id"] for u in found if INVALID not in u] == ["u1", "u2"]
    bad = [u[INVALID] for u in found if INVALID in u]
    assert len(bad) == 3 and all("(request-id rid-7)" in reason for reason in bad)
    assert "'junk'" in bad[0] and "'no id'" in bad[1]


def test_a_repeated_next_link_stops_the_read() -> None:
    loop = f"{GRAPH}/v1.0/users?$skiptoken=A"
    graph = client(Graph({f"{GRAPH}/v1.0/users": answer(users("u1", next_link=loop))}))
    with pytest.raises(GraphError, match="already sent in this read"):
        sum(1 for _ in graph.pages("/users"))


def test_a_repeated_skip_token_stops_the_read_even_in_another_link() -> None:
    graph = Graph(
        {
            f"{GRAPH}/v1.0/users?$skiptoken=A&n=1": answer(
                users("u2", next_link=f"{GRAPH}/v1.0/users?$skiptoken=A&n=2")
            ),
            f"{GRAPH}/v1.0/users": answer(
                users("u1", next_link=f"{GRAPH}/v1.0/users?$skiptoken=A&n=1")
            ),
        }
    )
    pages = client(graph).pages("/users")
    assert [u["id"] for u in next(pages).items] == ["u1"]
    assert [u["id"] for u in next(pages).items] == ["u2"]
    with pytest.raises(GraphError, match=r"the same skip token"):
        next(pages)


def test_a_delta_chain_that_loops_stops() -> None:
    again = f"{GRAPH}/v1.0/users/delta?$skiptoken=S1"
    graph = Graph({f"{GRAPH}/v1.0/users/delta": answer(users("u1", next_link=again))})
    source = DirectorySource(client(graph), TENANT, ["id"])
    with pytest.raises(GraphError, match="already sent in this read"):
        source.read(f"{GRAPH}/v1.0/users/delta?$deltatoken=OLD")
    assert len(graph.seen) == 2  # the stored link and its next link, which loops: no more


@pytest.mark.parametrize(
    "link, host",
    [
        ("https://collector.evil.test/v1.0/users?$skiptoken=2", "https://collector.evil.test"),
        ("http://graph.example.test/v1.0/users?$skiptoken=2", "http://graph.example.test"),
        ("https://graph.example.test:8443/v1.0/users?$skiptoken=2", "https://graph.example.test"),
    ],
)
def test_the_token_is_never_sent_off_the_graph_host(link: str, host: str) -> None:
    graph = Graph({f"{GRAPH}/v1.0/users": answer(users("u1", next_link=link))})
    with pytest.raises(GraphError) as caught:
        list(client(graph).pages("/users"))
    assert f"a link to {host}" in str(caught.value) and "not to the tenant's Graph host" in str(
        caught.value
    )
    assert [url for url, _ in graph.seen] == [f"{GRAPH}/v1.0/users"]  # nothing went elsewhere


def test_a_stored_delta_link_for_another_host_starts_a_full_read() -> None:
    graph = Graph(
        {
            f"{GRAPH}/v1.0/users/delta": answer(
                {"value": [], "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=N"}
            ),
            f"{GRAPH}/v1.0/users?": answer(users("u1")),
        }
    )
    notes: list[str] = []
    read = DirectorySource(client(graph), TENANT, ["id"], notes.append).read(
        "https://old-graph.example.test/v1.0/users/delta?$deltatoken=OLD"
    )
    assert read.mode == "full" and [u["id"] for u in read.users] == ["u1"]
    assert "foreign_link" in notes[0] and not any("old-graph" in url for url, _ in graph.seen)
