"""Building an in-process daemon on the simulated directory, for engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azsyncd.config import file as config_file
from azsyncd.demo.directory import (
    DEMO_GRAPH,
    DEMO_LOGIN,
    DEMO_SECRET,
    DEMO_TENANT,
    SimulatedTenant,
)
from azsyncd.demo.run import DEMO_FIELDS
from azsyncd.demo.run import tenant_toml as demo_tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.state.models import SyncRun

FIELDS = (
    DEMO_FIELDS.replace("required = true\n", "")
    + """
[[target.local.fields]]
name = "Notes"
"""
)

MAPPING = """
[mapping]
name = "{{givenName}} {{surname}}"
overwrite_custom_fields = {overwrite}
skip_empty_phones = {skip_empty}
[mapping.phones]
w = "businessPhones[0]"
mo = "mobilePhone"
[mapping.custom_fields]
Department = "department"
"Employee ID" = "employeeId"
Office = "officeLocation"
"Hire date" = "employeeHireDate"
Title = "jobTitle"
"""


def tenant_toml(
    name: str = "contoso",
    tenant_id: str = DEMO_TENANT,
    login: str = DEMO_LOGIN,
    graph: str = DEMO_GRAPH,
    extra: str = "",
) -> str:
    return demo_tenant_toml(
        name, tenant_id=tenant_id, login=login, graph=graph, secret_file="secret", extra=extra
    )


# The mapping the HappyFox tests use: the fake HappyFox's own fields.
HAPPYFOX_MAPPING = """
[mapping]
skip_empty_phones = true
[mapping.phones]
mo = "mobilePhone"
[mapping.custom_fields]
Department = "department"
"Employee ID" = "employeeId"
Office = "officeLocation"
"""


class Router:
    """One transport in front of several simulated tenants, by host."""

    def __init__(self, *tenants: SimulatedTenant) -> None:
        self.tenants = tenants

    def __call__(self, request: Any) -> Any:
        url = str(request.url)
        for tenant in self.tenants:
            if url.startswith(tenant.login) or url.startswith(tenant.graph):
                return tenant.handle(request)
        raise AssertionError(f"no simulated tenant for {url}")


def make_daemon(
    tmp_path: Path,
    *tenants: SimulatedTenant,
    tenants_toml: str | None = None,
    overwrite: bool = True,
    skip_empty: bool = False,
    extra: str = "",
) -> Daemon:
    import httpx

    (tmp_path / "secret").write_text(DEMO_SECRET)
    text = (
        FIELDS
        + MAPPING.format(overwrite=str(overwrite).lower(), skip_empty=str(skip_empty).lower())
        + (tenants_toml if tenants_toml is not None else tenant_toml())
        + extra
    )
    (tmp_path / "azsyncd.toml").write_text(text)
    return Daemon(
        config_file.load(tmp_path / "azsyncd.toml"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(Router(*tenants)),
    )


def sync(daemon: Daemon, **options: Any) -> SyncRun:
    dry_run = options.pop("dry_run", False)
    run_id = daemon.start_sync("manual", dry_run=dry_run, options=options)
    assert run_id is not None and daemon.runner.wait(60)
    run = daemon.state.run(run_id)
    assert run is not None
    return run
