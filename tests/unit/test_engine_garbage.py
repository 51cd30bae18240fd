"""The engine when one tenant's Graph answers garbage: that tenant fails with a readable
reason and the request-id, the other tenants sync, and one junk user fails alone."""

from __future__ import annotations

from pathlib import Path

import httpx

from azsyncd.service.daemon import Daemon
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import SimulatedTenant, contoso


class Broken(SimulatedTenant):
    """A tenant whose Graph answers its user reads with what ``reply`` gives."""

    def __init__(self, reply: httpx.Response) -> None:
        super().__init__(
            "Broken",
            "bad00000-0000-4000-8000-00000000bad0",
            login="https://login.broken.test",
            graph="https://graph.broken.test",
        )
        self.reply = reply

    def _graph(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1.0/users"):
            return self.reply
        return super()._graph(request)


def two_tenants(tmp_path: Path, broken: SimulatedTenant) -> tuple[Daemon, SimulatedTenant]:
    good = contoso(users=6)
    toml = tenant_toml("broken", tenant_id=broken.tenant_id, login=broken.login, graph=broken.graph)
    toml += tenant_toml()
    return make_daemon(tmp_path, good, broken, tenants_toml=toml, skip_empty=True), good


def test_an_html_page_fails_that_tenant_only(tmp_path: Path) -> None:
    broken = Broken(
        httpx.Response(
            200,
            content=b"<html><title>Proxy login</title></html>",
            headers={"request-id": "rid-html-1", "content-type": "text/html"},
        )
    )
    daemon, _ = two_tenants(tmp_path, broken)
    run = sync(daemon)
    tenants = run.counts["tenants"]
    assert run.status == "partial" and run.counts["new"] == 6 and Contact.select().count() == 6
    reason = tenants["broken"]["reason"]
    assert not tenants["broken"]["ok"] and "an HTML page instead of JSON ('Proxy login')" in reason
    assert "request-id rid-html-1" in reason and "Traceback" not in run.message


def test_json_cut_short_fails_that_tenant_only(tmp_path: Path) -> None:
    broken = Broken(httpx.Response(200, content=b'{"value": [{"id": "u1", "dis'))
    daemon, _ = two_tenants(tmp_path, broken)
    run = sync(daemon)
    assert "JSON that is cut short or broken" in run.counts["tenants"]["broken"]["reason"]
    assert run.counts["tenants"]["contoso"]["ok"] and run.counts["new"] == 6


def test_a_junk_user_object_fails_alone(tmp_path: Path) -> None:
    directory = contoso(users=4)
    directory.users["junk"] = {"displayName": "no id, and the key is wrong"}  # type: ignore[assignment]
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    run = sync(daemon)
    failed = daemon.state.records(run.id, status="failed")
    assert run.counts["new"] == 4 and len(failed) == 1
    assert "Graph sent a user object azsync cannot read" in failed[0].result
    assert "no id, and the key is wrong" in failed[0].result
