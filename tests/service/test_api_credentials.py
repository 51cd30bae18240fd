"""Setting a tenant's secret through the API: stored owner-only, used, never answered back."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from starlette.testclient import TestClient

from tests.contract.test_graph import self_signed
from tests.fakes.directory import FakeTenant
from tests.service.test_api_tenants_auth import (
    LOGIN,
    TENANT_ID,
    Recorder,
    daemon_with,
    graph_ok,
)

SECRET = "Cs8Q~rotated-client-secret-2031"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    # The files must be private by their own mode, whatever umask the daemon runs with.
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[TestClient, FakeTenant]:
    routes = Recorder()
    fake = FakeTenant(login=LOGIN, tenant_id=TENANT_ID, secret=None)
    fake.install(routes)
    graph_ok(routes)
    return daemon_with(tmp_path, "device_code", routes), fake


def private_file(value: str) -> Path:
    path = Path(value)
    st = path.stat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    return path


def answers(api: TestClient) -> str:
    paths = ["/v1/tenants", "/v1/tenants/contoso", "/v1/settings", "/v1/status", "/v1/audit"]
    return "\n".join(api.get(path).text for path in [*paths, "/v1/openapi.json"])


def test_each_kind_of_credential_is_stored_privately_and_used(
    setup: tuple[TestClient, FakeTenant], tmp_path: Path, loose_umask: None
) -> None:
    api, fake = setup
    fake.secret = SECRET
    answer = api.put(
        "/v1/tenants/contoso/credential", json={"kind": "client_secret", "client_secret": SECRET}
    )
    assert answer.status_code == 200, answer.text
    tenant = answer.json()
    assert tenant["auth"] == "secret"
    secret_file = private_file(tenant["client_secret_file"])
    assert secret_file == tmp_path / "credentials" / "azsyncd.contoso.client-secret"
    assert secret_file.read_text() == SECRET
    assert api.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"

    key_pem, cert_pem = self_signed(tmp_path)
    fake.secret, fake.certificate_pem = None, cert_pem
    answer = api.put(
        "/v1/tenants/contoso/credential",
        json={
            "kind": "certificate",
            "certificate": cert_pem.decode(),
            "private_key": key_pem.decode(),
        },
    )
    assert answer.status_code == 200, answer.text
    tenant = answer.json()
    assert tenant["auth"] == "certificate" and tenant["client_secret_file"] is None
    assert private_file(tenant["private_key_file"]).read_bytes() == key_pem
    assert not secret_file.exists()  # the old secret does not linger
    assert api.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"

    key = serialization.load_pem_private_key(key_pem, None)
    pfx = pkcs12.serialize_key_and_certificates(
        b"azsync",
        key,  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(cert_pem),
        None,
        BestAvailableEncryption(b"pfx-pass-phrase"),
    )
    answer = api.put(
        "/v1/tenants/contoso/credential",
        json={
            "kind": "pfx",
            "pfx": base64.b64encode(pfx).decode(),
            "passphrase": "pfx-pass-phrase",
        },
    )
    assert answer.status_code == 200, answer.text
    tenant = answer.json()
    assert private_file(tenant["pfx_file"]).read_bytes() == pfx
    assert private_file(tenant["pfx_passphrase_file"]).read_text() == "pfx-pass-phrase"
    assert tenant["certificate_file"] is None and tenant["private_key_file"] is None
    assert api.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"

    readable = answers(api)
    for value in (SECRET, key_pem.decode().splitlines()[1], "pfx-pass-phrase"):
        assert value not in readable
    assert "tenants.contoso: PFX and passphrase stored in" in readable


def test_unusable_credentials_are_refused_and_nothing_is_stored(
    setup: tuple[TestClient, FakeTenant], tmp_path: Path
) -> None:
    api, _ = setup
    config = tmp_path / "azsyncd.toml"
    before = config.read_bytes()
    key_pem, cert_pem = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other_key, _ = self_signed(tmp_path / "other")
    cases = [
        ({"kind": "client_secret", "client_secret": ""}, "at least 1"),
        ({"kind": "client_secret", "client_secret": "a\nb"}, "printable characters"),
        (
            {"kind": "certificate", "certificate": "not a pem", "private_key": key_pem.decode()},
            "is not a PEM certificate",
        ),
        (
            {
                "kind": "certificate",
                "certificate": cert_pem.decode(),
                "private_key": other_key.decode(),
            },
            "does not belong to the certificate",
        ),
        ({"kind": "pfx", "pfx": "%%%not base64%%%"}, "pfx is not base64"),
        (
            {"kind": "pfx", "pfx": base64.b64encode(b"junk").decode(), "passphrase": "x"},
            "cannot be opened",
        ),
        ({"kind": "password", "password": "x"}, "kind"),
    ]
    for body, message in cases:
        answer = api.put("/v1/tenants/contoso/credential", json=body)
        assert answer.status_code == 422 and message in answer.text, (body, answer.text)
        assert key_pem.decode().splitlines()[1] not in answer.text
    assert config.read_bytes() == before
    credentials = tmp_path / "credentials"
    assert not credentials.exists() or list(credentials.iterdir()) == []
    assert (
        api.put(
            "/v1/tenants/nobody/credential", json=cases[0][0] | {"client_secret": "x"}
        ).status_code
        == 404
    )
    assert api.put("/v1/tenants/..%2F..%2Fetc/credential", json={}).status_code in (404, 422)
