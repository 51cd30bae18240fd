"""The world of the Zendesk end-to-end tests: the simulated directory over loopback HTTPS, the
fake Zendesk over HTTP on loopback, and a configuration for both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from azsyncd.demo.directory import DEMO_SECRET
from tests.engine_setup import tenant_toml
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.fakes.zendesk import FakeZendesk
from tests.helpers import running_daemon, short_dir

# The mapping of the Zendesk tests: the fake Zendesk's own user fields.
MAPPING: dict[str, Any] = {
    "name": "{givenName} {surname}",
    "skip_empty_phones": True,
    "phones": {"mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee number": "employeeId",
        "Hire date": "employeeHireDate",
        "Office": "officeLocation",
    },
}
SALES_DESK = "Sales desk"


def zendesk_table(base_url: str, **settings: Any) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "email": "admin@acme.example",
        "api_token_file": "zendesk-token",
        "plan": "enterprise",
        **settings,
    }


@dataclass
class ZendeskWorld:
    directory: FakeTenant
    zendesk: FakeZendesk
    config: Path
    state_dir: Path


def write_config(path: Path, login: str, graph: str, base_url: str, ca: Path) -> None:
    (path.parent / "secret").write_text(DEMO_SECRET)
    (path.parent / "zendesk-token").write_text("token")
    (path.parent / "zendesk-token").chmod(0o600)
    document = {
        "account": {"name": "E2E Desk"},
        "target": {"kind": "zendesk", "zendesk": zendesk_table(base_url)},
        "mapping": MAPPING,
        "lifecycle": {"on_disabled": "disable_login", "on_removed": "disable_login"},
        "contact_groups": [
            {"group": SALES_DESK, "when": 'department starts with "Sales"', "access_tickets": True}
        ],
    }
    path.write_text(
        tomli_w.dumps(document)
        + tenant_toml(
            login=login, graph=graph, extra=f'display_name = "Contoso"\nca_bundle = "{ca}"'
        )
    )
    path.chmod(0o600)


def make_world(tmp_path: Path, users: int = 120) -> Iterator[ZendeskWorld]:
    tls, ca = tls_for_localhost(tmp_path)
    zendesk = FakeZendesk(time.monotonic, job_setup=0.05, job_row=0.002)
    directory = contoso(users=users)
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(zendesk) as zendesk_port,
    ):
        directory.login, directory.graph = (
            f"https://localhost:{login_port}",
            f"https://localhost:{graph_port}",
        )
        config = tmp_path / "azsyncd.toml"
        write_config(
            config, directory.login, directory.graph, f"http://127.0.0.1:{zendesk_port}", ca
        )
        yield ZendeskWorld(directory, zendesk, config, short_dir() / "state")


def started(world: ZendeskWorld) -> Any:
    return running_daemon(world.config, state_dir=world.state_dir)
