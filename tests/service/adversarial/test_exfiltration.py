"""A socket user tries to make the daemon send a file or a credential to a host they choose.

The daemon runs as a process with real secrets; the "attacker" listens on loopback and must
receive nothing, whatever the socket user tries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import running_daemon, write_config
from tests.service.adversarial.conftest import Attacker, closed_port, private

pytestmark = pytest.mark.slow

SECRETS = {
    "contoso-secret": "Zq8Q~victim-client-secret-0042",
    "hf-key": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "hf-code": "c0de5ecret7c0de5ecret7c0de5ecret",
    "smtp-password": "smtp-pa55word-9931",
}
VICTIM = "root:$6$victim-shadow-line$:19000:0:99999:7:::"


def config_text(unreachable: str) -> str:
    return f"""
# The help desk's own settings, kept by hand.
[account]
name = "Victim Desk"

[target]
kind = "local"

[target.happyfox]
base_url = "{unreachable}"
api_key_file = "hf-key"
auth_code_file = "hf-code"

[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
cloud = "custom"
login_url = "{unreachable}"
graph_url = "{unreachable}"
client_secret_file = "contoso-secret"

[welcome_email]
smtp_host = "127.0.0.1"
smtp_port = {unreachable.rsplit(":", 1)[1]}
username = "helpdesk"
password_file = "smtp-password"
from_address = "helpdesk@victim.example"
"""


def attacks(attacker: str, victim: str) -> list[tuple[str, str, dict[str, Any]]]:
    port = int(attacker.rsplit(":", 1)[1])
    evil = {
        "name": "evil",
        "tenant_id": "evil.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "cloud": "custom",
        "login_url": attacker,
        "graph_url": attacker,
    }
    return [
        # The issue's own example: a login URL of the caller's choice and a file as the secret.
        ("PATCH", "/v1/tenants/contoso", {"login_url": attacker, "client_secret_file": victim}),
        ("PATCH", "/v1/tenants/contoso", {"graph_url": attacker}),
        ("PATCH", "/v1/tenants/contoso", {"ca_bundle": victim}),
        ("PATCH", "/v1/tenants/contoso", {"pfx_file": victim, "auth": "certificate"}),
        ("PATCH", "/v1/tenants/contoso", {"client_secret_file": None}),
        ("POST", "/v1/tenants", {**evil, "client_secret_file": victim}),
        (
            "POST",
            "/v1/tenants",
            {**evil, "credential": {"kind": "client_secret", "client_secret": "mine"}},
        ),
        ("PATCH", "/v1/settings", {"target": {"happyfox": {"base_url": attacker}}}),
        (
            "PATCH",
            "/v1/settings",
            {"target": {"kind": "happyfox", "happyfox": {"base_url": attacker.replace("s:", ":")}}},
        ),
        ("PATCH", "/v1/settings", {"target": {"happyfox": {"api_key_file": victim}}}),
        ("PATCH", "/v1/settings", {"welcome_email": {"template_file": victim, "enabled": True}}),
        ("PATCH", "/v1/settings", {"welcome_email": {"smtp_port": port}}),
        ("PATCH", "/v1/settings", {"welcome_email": {"smtp_host": "evil.example"}}),
        ("PATCH", "/v1/settings", {"welcome_email": {"password_file": victim}}),
        ("PATCH", "/v1/settings", {"state": {"database_url": f"postgresql://{attacker[8:]}/x"}}),
        ("PATCH", "/v1/settings", {"control": {"credentials_dir": "/tmp"}}),
    ]


def everything_readable(http: httpx.Client) -> str:
    paths = ["/v1/status", "/v1/settings", "/v1/tenants", "/v1/tenants/contoso", "/v1/audit"]
    paths += ["/v1/runs", "/v1/openapi.json"]
    return "\n".join(http.get(path).text for path in paths)


def test_nothing_reaches_the_attacker_and_nothing_leaks(tmp_path: Path, attacker: Attacker) -> None:
    unreachable = f"https://127.0.0.1:{closed_port()}"
    for name, value in SECRETS.items():
        private(tmp_path / name, value)
    victim = private(tmp_path / "shadow", VICTIM)
    config = write_config(tmp_path, config_text(unreachable))
    log = tmp_path / "daemon.log"
    with running_daemon(config, log=log) as daemon, daemon.client() as http:
        before = config.read_bytes()
        for method, path, body in attacks(attacker.url, str(victim)):
            answer = http.request(method, path, json=body)
            assert answer.status_code in (403, 422), (method, path, body, answer.text)
            if answer.status_code == 403:
                error = answer.json()["error"]
                assert "configuration file only" in error["message"]
                assert "reload" in error["fix"]
            assert str(victim) not in answer.text and attacker.url not in answer.text
            assert config.read_bytes() == before, (method, path, body)

        # What the socket user may still do: every call that makes the daemon connect
        # somewhere uses the endpoints of the file, never one the caller chose.
        state = http.post("/v1/tenants/contoso/authorize").json()["state"]
        assert state["status"] == "disabled" and "cannot connect to 127.0.0.1:" in state["reason"]
        # A help desk switched to is previewed first, at the file's endpoint: unreachable,
        # it takes its retries, then the change is saved without a preview. (Back with
        # force: no preview, which would wait for the unreachable tenant's retries.)
        target = {"target": {"kind": "happyfox"}}
        switched = http.patch("/v1/settings", json=target, timeout=120)
        assert switched.status_code == 200 and switched.json()["target"]["kind"] == "happyfox"
        back = http.patch("/v1/settings", json={"target": {"kind": "local"}, "force": True})
        assert back.status_code == 200
        run = http.post("/v1/sync", json={"wait": True, "timeout": 60}).json()["run"]
        assert run["status"] in ("failed", "partial")
        readable = everything_readable(http)

    # Every request above has been answered, so the listener has seen all it ever will.
    assert attacker.connections == 0 and bytes(attacker.received) == b""
    daemon_log = log.read_text()
    for secret in [*SECRETS.values(), VICTIM]:
        assert secret not in readable and secret not in daemon_log
        assert secret not in config.read_text()
    assert "audit: root (uid 0) PATCH /v1/tenants/contoso -> 403" in daemon_log


def test_http_endpoints_are_refused_in_the_file_except_on_loopback(tmp_path: Path) -> None:
    from azsyncd.config import file as config_file
    from azsyncd.errors import ConfigError

    for name in ("k", "c"):
        private(tmp_path / name, "x")
    base = """
[target]
kind = "happyfox"
[target.happyfox]
base_url = "{url}"
api_key_file = "k"
auth_code_file = "c"
"""
    with pytest.raises(ConfigError) as caught:
        config_file.load(write_config(tmp_path, base.format(url="http://acme.happyfox.com")))
    assert "must use https://" in str(caught.value) and "target.happyfox.base_url" in str(
        caught.value
    )
    loaded = config_file.load(write_config(tmp_path, base.format(url="http://127.0.0.1:8080/")))
    assert loaded.config.target.happyfox and loaded.config.target.happyfox.base_url.startswith(
        "http://127.0.0.1"
    )
    smtp = """
[welcome_email]
enabled = true
smtp_host = "{host}"
tls = "none"
from_address = "desk@example.com"
"""
    with pytest.raises(ConfigError, match=r"welcome_email\.tls"):
        config_file.load(write_config(tmp_path, smtp.format(host="mail.example.com")))
    config_file.load(write_config(tmp_path, smtp.format(host="127.0.0.1")))
    tenant = """
[[tenants]]
name = "a"
tenant_id = "a.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
cloud = "custom"
login_url = "http://login.example.com"
graph_url = "https://graph.example.com"
client_secret_file = "k"
"""
    with pytest.raises(ConfigError, match=r"tenants\[0\].login_url: login_url must use https"):
        config_file.load(write_config(tmp_path, tenant))
