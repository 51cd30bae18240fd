"""Authorize tells the truth: it proves today's credential at the token endpoint, and every
failure names its real cause (which host, DNS, refused, untrusted TLS, unknown tenant, bad
certificate, garbage), with a fix that belongs to that cause."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config.model import Tenant
from azsyncd.demo.directory import DEMO_CLIENT, DEMO_SECRET, DEMO_TENANT
from azsyncd.directory.auth import TenantAuth
from azsyncd.directory.authorize import authorize
from azsyncd.directory.client import GraphClient
from azsyncd.directory.tenants import TenantService
from azsyncd.directory.transport import make_http
from azsyncd.service.status import tenant_status
from azsyncd.state import State, open_database
from tests.contract.test_graph import GRAPH, LOGIN, SECRET, TENANT_ID, self_signed, tenant
from tests.fakes.directory import FakeTenant, SimulatedTenant
from tests.fakes.servers import serve_directory, tls_for_localhost


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    db = State(open_database("", tmp_path / "state"))
    yield db
    db.close()


def service(tmp_path: Path, state: State, transport: httpx.BaseTransport | None) -> TenantService:
    return TenantService(state, tmp_path / "state", tmp_path, transport)


def custom(login: str, graph: str = "https://graph.unused.test", **overrides: Any) -> Tenant:
    values: dict[str, Any] = dict(
        name="contoso",
        tenant_id=DEMO_TENANT,
        client_id=DEMO_CLIENT,
        cloud="custom",
        login_url=login,
        graph_url=graph,
        client_secret_file="secret",
    )
    values.update(overrides)
    return Tenant(**values)


# --- a fresh token, not the cache ------------------------------------------------------------


def test_a_secret_the_app_does_not_know_is_caught_despite_a_cached_token(
    tmp_path: Path, state: State
) -> None:
    directory = SimulatedTenant()
    (tmp_path / "secret").write_text(DEMO_SECRET)
    tenants = service(tmp_path, state, directory.transport())
    t = custom(directory.login, directory.graph)
    assert tenants.authorize_app(t).status == "active"  # a token is now cached on disk
    (tmp_path / "secret").write_text("a-secret-the-registration-never-saw")
    verdict = tenants.authorize_app(t)
    assert verdict.status == "disabled" and "Invalid client secret" in verdict.reason
    assert "client secret is wrong" in verdict.fix
    (tmp_path / "secret").write_text(DEMO_SECRET)
    assert tenants.authorize_app(t).status == "active"


def test_a_certificate_the_app_does_not_know_is_caught(tmp_path: Path, httpx_mock: Any) -> None:
    _, registered = self_signed(tmp_path)
    fake = FakeTenant(login=LOGIN, tenant_id=TENANT_ID, certificate_pem=registered)
    fake.install(httpx_mock)
    httpx_mock.add_response(
        url="https://graph.microsoft.com/v1.0/users?%24select=id&%24top=1",
        json={"value": [{"id": "u1"}]},
        is_optional=True,
    )
    httpx_mock.add_response(
        url="https://graph.microsoft.com/v1.0/organization?%24select=displayName",
        json={"value": []},
        is_optional=True,
    )
    t = tenant(
        auth="certificate",
        client_secret_file=None,
        certificate_file="app.crt",
        private_key_file="app.key",
    )

    def attempt() -> Any:
        http = make_http(transport=httpx.HTTPTransport())
        auth = TenantAuth(t, tmp_path, tmp_path / "tokens", http)
        return authorize(
            auth, GraphClient(http, auth.cloud.graph, auth.token, sleep=lambda s: None)
        )

    assert attempt().status == "active"
    self_signed(tmp_path)  # another certificate and key, which the registration does not know
    verdict = attempt()
    assert verdict.status == "disabled" and "AADSTS700027" in verdict.reason
    assert len(fake.token_requests) == 2  # the second authorize asked the token endpoint


def test_a_device_code_tenant_refreshes_at_the_endpoint(tmp_path: Path, httpx_mock: Any) -> None:
    fake = FakeTenant(login=LOGIN, graph=GRAPH, tenant_id=TENANT_ID, pending_polls=0)
    fake.install(httpx_mock)
    t = tenant(auth="device_code", client_secret_file=None)
    auth = TenantAuth(t, tmp_path, tmp_path / "tokens", make_http(transport=httpx.HTTPTransport()))
    flow = auth.start_device_flow()
    flow["latest_attempt_at"] = 0
    assert auth.poll_device_flow(flow)
    asked = len(fake.token_requests)
    auth.token()
    assert len(fake.token_requests) == asked  # a sync's token comes from the cache
    auth.token(fresh=True)
    assert len(fake.token_requests) == asked + 1
    assert fake.token_requests[-1]["grant_type"] == ["refresh_token"]


# --- the real cause of a failure ----------------------------------------------------------------


def test_an_unknown_host_says_dns_not_certificate_files(tmp_path: Path, state: State) -> None:
    (tmp_path / "secret").write_text(SECRET)
    verdict = service(tmp_path, state, None).authorize_app(custom("https://login.nowhere.invalid"))
    assert verdict.status == "disabled"
    assert "cannot resolve the host login.nowhere.invalid" in verdict.reason
    assert "DNS" in verdict.fix and "certificate" not in verdict.reason + verdict.fix


def test_a_refused_connection_names_host_and_port(tmp_path: Path, state: State) -> None:
    (tmp_path / "secret").write_text(SECRET)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verdict = service(tmp_path, state, None).authorize_app(custom(f"https://127.0.0.1:{port}"))
    assert f"cannot connect to 127.0.0.1:{port} (connection refused)" in verdict.reason
    assert "firewall" in verdict.fix


@pytest.fixture
def https_tenant(tmp_path: Path) -> Iterator[tuple[SimulatedTenant, Path]]:
    tls, ca = tls_for_localhost(tmp_path)
    directory = SimulatedTenant()
    with serve_directory(directory, tls):
        yield directory, ca


def test_an_untrusted_certificate_says_so_and_points_at_ca_bundle(
    tmp_path: Path, state: State, https_tenant: tuple[SimulatedTenant, Path]
) -> None:
    directory, ca = https_tenant
    (tmp_path / "secret").write_text(DEMO_SECRET)
    tenants = service(tmp_path, state, None)
    verdict = tenants.authorize_app(custom(directory.login, directory.graph))
    assert "the TLS certificate of localhost was not trusted" in verdict.reason
    assert "ca_bundle" in verdict.fix
    trusted = custom(directory.login, directory.graph, ca_bundle=str(ca))
    assert tenants.authorize_app(trusted).status == "active"
    row = state.tenant("contoso")
    assert (row.status, row.reason, row.fix) == ("active", "", "")


def test_a_missing_ca_bundle_is_named(tmp_path: Path, state: State) -> None:
    (tmp_path / "secret").write_text(SECRET)
    t = custom("https://login.example.test", ca_bundle=str(tmp_path / "no-such.pem"))
    verdict = service(tmp_path, state, None).authorize_app(t)
    assert f"cannot use ca_bundle {tmp_path / 'no-such.pem'}" in verdict.reason
    assert "PEM" in verdict.fix


def test_an_unknown_tenant_is_named(tmp_path: Path, state: State) -> None:
    directory = SimulatedTenant()
    (tmp_path / "secret").write_text(DEMO_SECRET)
    other = "0ff00000-0000-4000-8000-000000000000"
    verdict = service(tmp_path, state, directory.transport()).authorize_app(
        custom(directory.login, directory.graph, tenant_id=other)
    )
    assert f"gave no sign-in configuration for tenant {other}" in verdict.reason
    assert "tenant_id" in verdict.fix and "login_url" in verdict.fix


def test_an_unusable_certificate_is_named_only_for_certificate_tenants(
    tmp_path: Path, state: State
) -> None:
    directory = SimulatedTenant()
    (tmp_path / "app.crt").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    (tmp_path / "app.key").write_text("-----BEGIN PRIVATE KEY-----\nnot one\n")
    t = custom(
        directory.login,
        directory.graph,
        auth="certificate",
        client_secret_file=None,
        certificate_file="app.crt",
        private_key_file="app.key",
    )
    verdict = service(tmp_path, state, directory.transport()).authorize_app(t)
    assert "the certificate could not be used" in verdict.reason
    assert "private_key_file" in verdict.fix


def test_a_token_endpoint_answering_html_is_named(tmp_path: Path, state: State) -> None:
    directory = SimulatedTenant()
    (tmp_path / "secret").write_text(DEMO_SECRET)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            return httpx.Response(200, content=b"<html><title>Captive portal</title></html>")
        return directory.handle(request)

    verdict = service(tmp_path, state, httpx.MockTransport(handle)).authorize_app(
        custom(directory.login, directory.graph)
    )
    assert "answered the token request with an HTML page" in verdict.reason
    assert "Captive portal" in verdict.reason and "login_url" in verdict.fix


def test_the_fix_always_belongs_to_the_reason_shown(state: State) -> None:
    state.set_tenant("contoso", status="disabled", reason="AADSTS7000215: bad secret", fix="rotate")
    shown = tenant_status("contoso", False, state.tenant("contoso"))
    assert shown["reason"] == "disabled in the configuration"
    assert shown["fix"] == "enable it: azsyncctl tenants enable contoso"
    state.set_tenant("contoso", status="disabled", reason="disabled by a later check")
    assert state.tenant("contoso").fix == ""  # a new reason never keeps the old fix
    new = tenant_status("fabrikam", True, None)
    assert new["fix"] == "authorize it: azsyncctl tenants authorize fabrikam"
