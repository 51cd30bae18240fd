"""Authorizing tenants and searching groups through the control API; msal and Graph faked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from azsyncd.config import file as config_file
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import Outcome
from tests.fakes.directory import FakeTenant
from tests.helpers import wait_for, write_config

LOGIN, GRAPH = "https://login.microsoftonline.com", "https://graph.microsoft.com"
TENANT_ID = "0b1e2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


class Recorder:
    """httpx_mock-like registration on a MockTransport, for a daemon built in-process."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], str | None, Any]] = []

    def add_callback(
        self, callback: Any, url: re.Pattern[str], method: str | None = None, **_: Any
    ) -> None:
        self.routes.append((url, method, callback))

    def add_json(self, pattern: str, body: Any, status: int = 200) -> None:
        self.routes.append(
            (re.compile(pattern), None, lambda request: httpx.Response(status, json=body))
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        for url, method, callback in reversed(self.routes):
            if url.fullmatch(str(request.url)) and method in (None, request.method):
                return callback(request)
        return httpx.Response(
            404, json={"error": {"code": "NotFound", "message": str(request.url)}}
        )


def daemon_with(tmp_path: Path, auth: str, routes: Recorder) -> TestClient:
    (tmp_path / "secret").write_text("the-secret")
    config = write_config(
        tmp_path,
        f"""
        [[tenants]]
        name = "contoso"
        tenant_id = "{TENANT_ID}"
        client_id = "{CLIENT_ID}"
        auth = "{auth}"
        {'client_secret_file = "secret"' if auth == "secret" else ""}
    """,
    )
    daemon = Daemon(
        config_file.load(config),
        job_factory=lambda d: lambda ctx: Outcome("succeeded"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(routes),
    )
    return TestClient(create_app(daemon))


def graph_ok(routes: Recorder) -> None:
    routes.add_json(re.escape(GRAPH) + r"/v1\.0/users\?.*", {"value": [{"id": "u1"}]})
    routes.add_json(
        re.escape(GRAPH) + r"/v1\.0/organization\?.*", {"value": [{"displayName": "Contoso Ltd"}]}
    )


def test_app_only_authorize_makes_the_tenant_active(tmp_path: Path) -> None:
    routes = Recorder()
    FakeTenant(login=LOGIN, tenant_id=TENANT_ID, secret="the-secret").install(routes)
    graph_ok(routes)
    api = daemon_with(tmp_path, "secret", routes)
    answer = api.post("/v1/tenants/contoso/authorize").json()
    assert answer["state"]["status"] == "active" and answer["state"]["reason"] == ""
    assert api.get("/v1/status").json()["tenants"][0]["status"] == "active"
    assert "the-secret" not in api.get("/v1/tenants").text


def test_consent_missing_disables_with_the_consent_url(tmp_path: Path) -> None:
    routes = Recorder()
    FakeTenant(
        login=LOGIN,
        tenant_id=TENANT_ID,
        secret="the-secret",
        token_error={
            "error": "invalid_client",
            "error_codes": [65001],
            "error_description": "AADSTS65001: The user or administrator has not consented.",
        },
    ).install(routes)
    api = daemon_with(tmp_path, "secret", routes)
    state = api.post("/v1/tenants/contoso/authorize").json()["state"]
    assert state["status"] == "disabled" and "AADSTS65001" in state["reason"]
    assert f"{LOGIN}/{TENANT_ID}/adminconsent?client_id={CLIENT_ID}" in state["fix"]


def test_device_code_sign_in_through_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = Recorder()
    FakeTenant(login=LOGIN, tenant_id=TENANT_ID, secret=None, pending_polls=2).install(routes)
    graph_ok(routes)
    api = daemon_with(tmp_path, "device_code", routes)
    daemon: Daemon = api.app.state.daemon  # type: ignore[attr-defined]
    original = daemon.tenants.start_device_sign_in
    monkeypatch.setattr(
        daemon.tenants, "start_device_sign_in", lambda t: original(t, poll_sleep=0.05)
    )
    started = api.post("/v1/tenants/contoso/authorize")
    assert started.status_code == 202
    code = started.json()["device_code"]
    assert (
        code["user_code"] == FakeTenant.user_code
        and code["status"] == "pending"
        and "devicelogin" in code["verification_uri"]
    )
    wait_for(
        lambda: (
            api.get("/v1/tenants/contoso/authorize").json()["device_code"]["status"] != "pending"
        ),
        10,
        "the device-code sign-in ended",
    )
    final = api.get("/v1/tenants/contoso/authorize").json()
    assert final["device_code"]["status"] == "succeeded" and final["state"]["status"] == "active"
    assert (tmp_path / "state" / "tokens" / "contoso.json").stat().st_mode & 0o777 == 0o600


def test_group_search(tmp_path: Path) -> None:
    routes = Recorder()
    FakeTenant(login=LOGIN, tenant_id=TENANT_ID, secret="the-secret").install(routes)
    seen: list[httpx.Request] = []

    def groups(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": [{"id": "g1", "displayName": "Sales EMEA"}]})

    routes.add_callback(groups, url=re.compile(re.escape(GRAPH) + r"/v1\.0/groups\?.*"))
    api = daemon_with(tmp_path, "secret", routes)
    answer = api.get("/v1/tenants/contoso/groups", params={"search": "Sales"}).json()
    assert answer["groups"] == [{"id": "g1", "name": "Sales EMEA", "description": ""}]
    assert seen[0].headers["ConsistencyLevel"] == "eventual"
    assert seen[0].url.params["$search"] == '"displayName:Sales"'
