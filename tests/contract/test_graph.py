"""The Entra ID source through pytest-httpx: msal included, over the same httpx client."""

from __future__ import annotations

import datetime
import json
import logging
import re
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from azsyncd.config.model import Mapping, Tenant
from azsyncd.directory.auth import TenantAuth
from azsyncd.directory.authorize import authorize
from azsyncd.directory.client import GraphClient
from azsyncd.directory.source import DirectorySource, scope_key, select_for
from azsyncd.directory.transport import make_http
from azsyncd.errors import AuthError, GraphError
from tests.fakes.directory import FakeTenant

LOGIN, GRAPH = "https://login.microsoftonline.com", "https://graph.microsoft.com"
TENANT_ID = "0b1e2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "Zx8~very-secret-client-secret"


def tenant(**overrides: Any) -> Tenant:
    values: dict[str, Any] = dict(
        name="contoso", tenant_id=TENANT_ID, client_id=CLIENT_ID, client_secret_file="secret"
    )
    values.update(overrides)
    return Tenant(**values)


def setup(
    tmp_path: Path, httpx_mock: Any, t: Tenant | None = None, **identity: Any
) -> tuple[TenantAuth, FakeTenant, GraphClient, list[float]]:
    t = t or tenant()
    (tmp_path / "secret").write_text(SECRET)
    login = {
        "usgov": "https://login.microsoftonline.us",
        "china": "https://login.partner.microsoftonline.cn",
    }.get(t.cloud, LOGIN)
    fake = FakeTenant(login=login, tenant_id=t.tenant_id, secret=SECRET, **identity)
    fake.install(httpx_mock)
    http = make_http(transport=httpx.HTTPTransport())  # the transport pytest-httpx replaces
    auth = TenantAuth(t, tmp_path, tmp_path / "tokens", http)
    slept: list[float] = []
    graph = GraphClient(http, auth.cloud.graph, auth.token, sleep=slept.append, jitter=lambda: 0.5)
    return auth, fake, graph, slept


def users_page(ids: range, next_link: str | None = None, **extra: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "value": [{"id": f"u{i}", "userPrincipalName": f"user{i}@contoso.test"} for i in ids]
    }
    if next_link:
        page["@odata.nextLink"] = next_link
    page.update(extra)
    return page


# --- tokens ----------------------------------------------------------------------------


def test_client_secret_flow_and_cached_token(
    tmp_path: Path, httpx_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth, fake, _, _ = setup(tmp_path, httpx_mock)
    first = auth.token()
    assert auth.token() == first  # from msal's cache: one token request
    assert len(fake.token_requests) == 1
    assert fake.token_requests[0]["scope"] == [f"{GRAPH}/.default"]
    cache = tmp_path / "tokens" / "contoso.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert SECRET not in caplog.text and first not in caplog.text


def test_wrong_secret_names_the_fix(tmp_path: Path, httpx_mock: Any) -> None:
    auth, fake, _, _ = setup(tmp_path, httpx_mock)
    fake.secret = "another"
    with pytest.raises(AuthError) as caught:
        auth.token()
    assert caught.value.code == "AADSTS7000215" and "client secret is wrong" in caught.value.fix
    assert SECRET not in str(caught.value) + caught.value.fix


def self_signed(tmp_path: Path) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azsync test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "app.key").write_bytes(key_pem)
    (tmp_path / "app.crt").write_bytes(cert_pem)
    return key_pem, cert_pem


def test_certificate_flow_sends_a_valid_signed_assertion(tmp_path: Path, httpx_mock: Any) -> None:
    _, cert_pem = self_signed(tmp_path)
    t = tenant(
        auth="certificate",
        client_secret_file=None,
        certificate_file="app.crt",
        private_key_file="app.key",
    )
    auth, fake, _, _ = setup(tmp_path, httpx_mock, t, certificate_pem=cert_pem)
    assert auth.token()  # the fake verified the signature and the SHA-256 thumbprint
    assertion = fake.token_requests[0]["client_assertion"][0]
    assert not assertion.startswith("b'") and assertion.count(".") == 2


def test_certificate_assertion_would_break_without_the_bytes_fix(
    tmp_path: Path, httpx_mock: Any
) -> None:
    """Proves the trap is real: a bare httpx.Client sends msal's bytes assertion as its repr."""
    _, cert_pem = self_signed(tmp_path)
    t = tenant(
        auth="certificate",
        client_secret_file=None,
        certificate_file="app.crt",
        private_key_file="app.key",
    )
    auth, _fake, _, _ = setup(tmp_path, httpx_mock, t, certificate_pem=cert_pem)
    auth._http = auth._http._client  # type: ignore[assignment]  # remove the wrapper
    with pytest.raises(AuthError) as caught:
        auth.token()
    assert "bytes repr" in caught.value.message


def test_device_code_flow_then_silent_refresh(tmp_path: Path, httpx_mock: Any) -> None:
    t = tenant(auth="device_code", client_secret_file=None)
    auth, fake, _, _ = setup(tmp_path, httpx_mock, t, pending_polls=1)
    with pytest.raises(AuthError, match="no admin has signed in"):
        auth.token()
    flow = auth.start_device_flow()
    assert flow["user_code"] == fake.user_code and "devicelogin" in flow["verification_uri"]
    assert auth.poll_device_flow(flow) is None  # authorization_pending
    flow["latest_attempt_at"] = 0
    token = auth.poll_device_flow(flow)
    assert token
    # A new process with the same cache file gets tokens silently.
    again = TenantAuth(t, tmp_path, tmp_path / "tokens", make_http(transport=httpx.HTTPTransport()))
    assert again.token() == token
    assert "demo-refresh" not in json.dumps(fake.token_requests[:2])


@pytest.mark.parametrize(
    "tenant_id", ["consumers", "9188040d-6c67-4c5b-b112-36a304b66dad", "common", "organizations"]
)
def test_personal_and_multi_tenant_authorities_are_refused(tenant_id: str) -> None:
    with pytest.raises(ValidationError, match=r"organizational tenant|not one tenant"):
        tenant(tenant_id=tenant_id)


@pytest.mark.httpx_mock(assert_all_responses_were_requested=False)
def test_missing_consent_gives_the_admin_consent_url(tmp_path: Path, httpx_mock: Any) -> None:
    auth, _fake, graph, _ = setup(
        tmp_path,
        httpx_mock,
        token_error={
            "error": "invalid_client",
            "error_codes": [700016],
            "error_description": (
                "AADSTS700016: Application with identifier 'x' was not found in the directory."
            ),
        },
    )
    verdict = authorize(auth, graph)
    assert verdict.status == "disabled" and "AADSTS700016" in verdict.reason
    assert f"{LOGIN}/{TENANT_ID}/adminconsent?client_id={CLIENT_ID}" in verdict.fix


def test_missing_permission_is_named(tmp_path: Path, httpx_mock: Any) -> None:
    auth, _, graph, _ = setup(
        tmp_path, httpx_mock, tenant(users="groups", groups=[TENANT_ID]), roles=["User.Read.All"]
    )
    verdict = authorize(auth, graph)
    assert (
        verdict.status == "disabled"
        and "GroupMember.Read.All" in verdict.reason
        and "adminconsent" in verdict.fix
    )


def test_authorize_reads_one_user_and_the_tenant_name(tmp_path: Path, httpx_mock: Any) -> None:
    auth, _, graph, _ = setup(tmp_path, httpx_mock)
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users?%24select=id&%24top=1", json=users_page(range(1))
    )
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/organization?%24select=displayName",
        json={"value": [{"displayName": "Contoso"}]},
    )
    verdict = authorize(auth, graph)
    assert (verdict.status, verdict.display_name) == ("active", "Contoso")


@pytest.mark.parametrize(
    "cloud, login, graph_host",
    [
        ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        (
            "china",
            "https://login.partner.microsoftonline.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    ],
)
def test_national_clouds(
    tmp_path: Path, httpx_mock: Any, cloud: str, login: str, graph_host: str
) -> None:
    auth, fake, graph, _ = setup(tmp_path, httpx_mock, tenant(cloud=cloud))
    httpx_mock.add_response(
        url=re.compile(re.escape(graph_host) + r"/v1\.0/users.*"), json=users_page(range(2))
    )
    assert [u["id"] for page in graph.pages("/users") for u in page.items] == ["u0", "u1"]
    assert fake.token_requests[0]["scope"] == [f"{graph_host}/.default"]
    assert auth.authority.startswith(login)


# --- Graph: paging, delta, groups, throttling ---------------------------------------------


def test_paging_streams_every_page(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, _ = setup(tmp_path, httpx_mock)
    source = DirectorySource(graph, tenant(), ["id", "userPrincipalName"])
    httpx_mock.add_response(
        url=re.compile(r".*/users/delta\?.*deltatoken=latest.*"),
        json={"value": [], "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=D1"},
    )
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users?%24select=id%2CuserPrincipalName&%24top=999",
        json=users_page(range(0, 3), f"{GRAPH}/v1.0/users?$skiptoken=p2"),
    )
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users?%24skiptoken=p2",
        json=users_page(range(3, 6), f"{GRAPH}/v1.0/users?$skiptoken=p3"),
    )
    httpx_mock.add_response(url=f"{GRAPH}/v1.0/users?%24skiptoken=p3", json=users_page(range(6, 7)))
    read = source.read()
    assert read.mode == "full" and [u["id"] for u in read.users] == [f"u{i}" for i in range(7)]
    assert read.delta_link.endswith("D1")


def test_delta_merges_replays_and_reports_removed(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, _ = setup(tmp_path, httpx_mock)
    link = f"{GRAPH}/v1.0/users/delta?$deltatoken=OLD"
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users/delta?%24deltatoken=OLD",
        json={
            "value": [
                {"id": "u1", "displayName": "Ann"},
                {"id": "u2", "@removed": {"reason": "changed"}},
                {"id": "u3", "displayName": "Cy"},
            ],
            "@odata.nextLink": f"{GRAPH}/v1.0/users/delta?$skiptoken=n2",
        },
    )
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users/delta?%24skiptoken=n2",
        json={
            "value": [
                {"id": "u1", "jobTitle": "CEO"},
                {"id": "u1", "displayName": "Ann"},
                {"id": "u4", "@removed": {"reason": "deleted"}},
            ],
            "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=NEW",
        },
    )
    read = DirectorySource(graph, tenant(), ["id"]).read(link)
    users = list(read.users)
    assert read.mode == "delta" and read.removed == {"u2", "u4"} and read.delta_link.endswith("NEW")
    assert users == [
        {"id": "u1", "displayName": "Ann", "jobTitle": "CEO"},
        {"id": "u3", "displayName": "Cy"},
    ]


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"error": {"code": "syncStateNotFound", "message": "The delta token has expired."}}),
        (410, {"error": {"code": "resyncRequired", "message": "Gone"}}),
    ],
)
def test_expired_delta_falls_back_to_a_full_pass(
    tmp_path: Path, httpx_mock: Any, status: int, body: dict[str, Any]
) -> None:
    _, _, graph, _ = setup(tmp_path, httpx_mock)
    notes: list[str] = []
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users/delta?%24deltatoken=OLD", status_code=status, json=body
    )
    httpx_mock.add_response(
        url=re.compile(r".*/users/delta\?.*deltatoken=latest.*"),
        json={"value": [], "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=FRESH"},
    )
    httpx_mock.add_response(
        url=re.compile(r".*/v1\.0/users\?.*top=999.*"), json=users_page(range(2))
    )
    read = DirectorySource(graph, tenant(), ["id"], notes.append).read(
        f"{GRAPH}/v1.0/users/delta?$deltatoken=OLD"
    )
    assert read.mode == "full" and len(list(read.users)) == 2 and read.delta_link.endswith("FRESH")
    assert notes and "expired or was reset" in notes[0] and read.notes == notes


def test_nested_group_members_come_once(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, _ = setup(tmp_path, httpx_mock)
    g1, g2 = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"
    for group, ids in ((g1, range(0, 3)), (g2, range(2, 5))):
        httpx_mock.add_response(
            url=re.compile(rf".*/groups/{group}/transitiveMembers/microsoft\.graph\.user\?.*"),
            match_headers={"ConsistencyLevel": "eventual"},
            json=users_page(ids),
        )
    read = DirectorySource(graph, tenant(users="groups", groups=[g1, g2]), ["id"]).read(
        "ignored-for-groups"
    )
    assert read.mode == "groups" and [u["id"] for u in read.users] == ["u0", "u1", "u2", "u3", "u4"]


def test_429_honours_retry_after_and_503_storms_back_off(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, slept = setup(tmp_path, httpx_mock)
    url = f"{GRAPH}/v1.0/users"
    httpx_mock.add_response(url=url, status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(url=url, status_code=429, headers={"Retry-After": "3"})
    httpx_mock.add_response(url=url, status_code=503)
    httpx_mock.add_response(url=url, status_code=504)
    httpx_mock.add_response(url=url, json=users_page(range(1)))
    assert graph.get("/users")["value"][0]["id"] == "u0"
    assert slept == [
        7.0,
        3.0,
        4.0,
        8.0,
    ]  # Retry-After as given, then 2^n backoff (jitter fixed at 1x)


def test_a_page_that_never_recovers_fails_with_graphs_details(
    tmp_path: Path, httpx_mock: Any
) -> None:
    _, _, graph, slept = setup(tmp_path, httpx_mock)
    graph.max_tries = 4
    for _ in range(4):
        httpx_mock.add_response(
            url=f"{GRAPH}/v1.0/users",
            status_code=503,
            headers={"request-id": "req-42"},
            json={"error": {"code": "serviceNotAvailable", "message": "Try later"}},
        )
    with pytest.raises(GraphError) as caught:
        graph.get("/users")
    assert caught.value.status == 503 and caught.value.code == "serviceNotAvailable"
    assert caught.value.request_id == "req-42" and "req-42" in str(caught.value) and len(slept) == 3


def test_other_errors_are_not_retried(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, slept = setup(tmp_path, httpx_mock)
    httpx_mock.add_response(
        url=f"{GRAPH}/v1.0/users",
        status_code=403,
        headers={"request-id": "r1"},
        json={
            "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}
        },
    )
    with pytest.raises(GraphError, match="Authorization_RequestDenied"):
        graph.get("/users")
    assert slept == []


def test_select_follows_the_mapping_and_changes_the_baseline() -> None:
    mapping = Mapping(
        name="{givenName} {surname}",
        phones={"w": "businessPhones[0]"},
        custom_fields={"Ext": "onPremisesExtensionAttributes.extensionAttribute3"},
    )
    select = select_for(mapping)
    assert {
        "givenName",
        "surname",
        "businessPhones",
        "onPremisesExtensionAttributes",
        "accountEnabled",
    } <= set(select)
    assert "department" not in select
    wider = select_for(mapping.model_copy(update={"custom_fields": {"Dept": "department"}}))
    assert scope_key(select, tenant()) != scope_key(wider, tenant())


def test_pfx_certificate_with_a_passphrase(tmp_path: Path, httpx_mock: Any) -> None:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    key_pem, cert_pem = self_signed(tmp_path)
    key = serialization.load_pem_private_key(key_pem, None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    (tmp_path / "app.pfx").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"azsync", key, cert, None, BestAvailableEncryption(b"pfx-pass-phrase")
        )
    )  # type: ignore[arg-type]
    (tmp_path / "app.pfx.pass").write_text("pfx-pass-phrase")
    t = tenant(
        auth="certificate",
        client_secret_file=None,
        pfx_file="app.pfx",
        pfx_passphrase_file="app.pfx.pass",
    )
    auth, fake, _, _ = setup(tmp_path, httpx_mock, t, certificate_pem=cert_pem)
    assert auth.token()
    assert "pfx-pass-phrase" not in json.dumps(fake.token_requests)


def test_timeouts_are_retried(tmp_path: Path, httpx_mock: Any) -> None:
    _, _, graph, slept = setup(tmp_path, httpx_mock)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=f"{GRAPH}/v1.0/users")
    httpx_mock.add_response(url=f"{GRAPH}/v1.0/users", json=users_page(range(1)))
    assert graph.get("/users")["value"][0]["id"] == "u0" and slept == [1.0]
