"""The world of the end-to-end tests: the simulated directory over loopback HTTPS (login
and Graph), the fake HappyFox over HTTP, a configuration for both, and ways to drive a sync."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import HAPPYFOX_MAPPING, happyfox_toml, tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.helpers import running_daemon, short_dir, wait_for


@dataclass
class World:
    directory: FakeTenant
    happyfox: FakeHappyFox
    config: Path
    state_dir: Path


def write_config(
    path: Path, login: str, graph: str, happyfox: str, ca: Path, extra: str = ""
) -> None:
    (path.parent / "secret").write_text(DEMO_SECRET)
    (path.parent / "key").write_text("key")
    (path.parent / "code").write_text("code")
    path.write_text(
        '[account]\nname = "E2E Desk"\n'
        + happyfox_toml(happyfox, lock_minutes=0.05)
        + tenant_toml(
            login=login, graph=graph, extra=f'display_name = "Contoso"\nca_bundle = "{ca}"'
        )
        + HAPPYFOX_MAPPING
        + extra
    )
    path.chmod(0o600)


def make_world(tmp_path: Path) -> Iterator[World]:
    tls, ca = tls_for_localhost(tmp_path)
    happyfox = FakeHappyFox(time.monotonic)
    directory = contoso(users=150)
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(happyfox) as hf_port,
    ):
        directory.login, directory.graph = (
            f"https://localhost:{login_port}",
            f"https://localhost:{graph_port}",
        )
        config = tmp_path / "azsyncd.toml"
        write_config(config, directory.login, directory.graph, f"http://127.0.0.1:{hf_port}", ca)
        yield World(directory, happyfox, config, short_dir() / "state")


def sync_and_wait(http: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = http.post("/v1/sync", json={**body, "wait": True, "timeout": 120}, timeout=130)
    assert answer.status_code == 202, answer.text
    return dict(answer.json()["run"])


def started(world: World) -> Any:
    return running_daemon(world.config, state_dir=world.state_dir)


def grow(directory: FakeTenant, count: int) -> None:
    """Add valid users, so that a sync has several chunks of writes to interrupt."""
    for i in range(count):
        directory.add_user(
            {
                "id": f"extra-{i}",
                "userPrincipalName": f"extra{i}@contoso.example",
                "mail": f"extra{i}@contoso.example",
                "displayName": f"Extra {i}",
                "accountEnabled": True,
                "department": "Sales",
                "employeeId": str(50000 + i),
                "officeLocation": "Berlin",
                "mobilePhone": f"+1 555 {i:05d}",
            }
        )


def start_a_slow_sync(world: World, http: httpx.Client) -> int:
    """Start a sync with several chunks of slow writes; return once it is well under way."""
    grow(world.directory, 2500)
    world.happyfox.delay = 1.0
    run_id = int(http.post("/v1/sync", json={}).json()["run_id"])
    wait_for(lambda: len(world.happyfox.contacts) >= 200)
    assert http.get("/v1/status").json()["running"] is not None
    return run_id
