"""``azsyncd demo``: a real daemon on a temporary config and socket, syncing a simulated
"Contoso" directory into the built-in store, and what to try next."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import tomlkit

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.api import demo_router
from azsyncd.demo.directory import (
    DEMO_CLIENT,
    DEMO_GRAPH,
    DEMO_LOGIN,
    DEMO_SECRET,
    DEMO_TENANT,
    SimulatedTenant,
    contoso,
)
from azsyncd.demo.relay import serve_directory
from azsyncd.service.daemon import Daemon
from azsyncd.service.runs.schedule import Clock, utc_clock
from azsyncd.service.socket.server import serve

# The built-in store's fields and the mapping of the demo (tests and benchmarks reuse them).
FIELDS: list[dict[str, Any]] = [
    {"name": "Department", "type": "text"},
    {"name": "Employee ID", "type": "number"},
    # Required: contacts without a valid office fail, and say why.
    {
        "name": "Office",
        "type": "dropdown",
        "choices": ["Berlin", "London", "Remote"],
        "required": True,
    },
    {"name": "Hire date", "type": "date"},
    {"name": "Title", "type": "text"},
]
MAPPING: dict[str, Any] = {
    "name": "{givenName} {surname}",
    "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
    "custom_fields": {
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
        "Hire date": "employeeHireDate",
        "Title": "jobTitle",
    },
}


def tenant_toml(
    name: str = "contoso",
    *,
    tenant_id: str = DEMO_TENANT,
    login: str = DEMO_LOGIN,
    graph: str = DEMO_GRAPH,
    secret_file: str = "contoso-client-secret",
    extra: str = "",
) -> str:
    """A [[tenants]] table for a simulated directory, a custom cloud at its login and Graph URLs."""
    return f"""
[[tenants]]
name = "{name}"
tenant_id = "{tenant_id}"
client_id = "{DEMO_CLIENT}"
cloud = "custom"
login_url = "{login}"
graph_url = "{graph}"
client_secret_file = "{secret_file}"
{extra}
"""


DEMO_CONFIG = (
    "# The demo's configuration: a simulated Contoso tenant, the built-in contact store, "
    "sync on.\n"
    + tomlkit.dumps(
        {
            "account": {"name": "Demo Help Desk", "timezone": "UTC"},
            # Contact sync on; the directory's changes are read every minute.
            "schedule": {"enabled": True, "interval": "1m"},
            "target": {"local": {"fields": FIELDS}},
            "mapping": MAPPING,
            # Disabled accounts of the simulated tenant lose their portal login at once.
            "lifecycle": {"on_removed": "disable_login", "on_disabled": "disable_login"},
            "contact_groups": [
                {
                    "group": "Sales desk",
                    "when": 'department starts with "Sales"',
                    "access_tickets": True,
                },
                {"group": "Customer facing", "entra_group": "a0000001-0000-4000-b000-000000000000"},
            ],
        }
    )
    + tenant_toml(extra='display_name = "Contoso (simulated)"')
)


def demo_daemon(
    workdir: Path, clock: Clock = utc_clock, *, sync_process: bool = False
) -> tuple[Daemon, SimulatedTenant]:
    """The demo's daemon on its simulated directory, the tenant authorized, not yet started.
    ``sync_process``: each run in its own process (as ``azsyncd demo``), reading the
    directory from a socket of this process (``relay.py``)."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config_path = workdir / "azsyncd.toml"
    if not config_path.exists():
        write_private(config_path, DEMO_CONFIG.encode())
        write_private(workdir / "contoso-client-secret", DEMO_SECRET.encode())
    tenant = contoso()
    daemon = Daemon(
        config_file.load(config_path),
        state_dir=workdir / "state",
        graph_transport=tenant.transport(),
        clock=clock,
        sync_process=sync_process,
        graph_socket=workdir / "directory.sock" if sync_process else None,
    )
    daemon.api_routers.append(demo_router(tenant))
    contoso_settings = daemon.config.tenant("contoso")
    if contoso_settings is not None:
        daemon.tenants.authorize_app(contoso_settings)
    return daemon, tenant


def run_demo(socket: str | None = None, directory: str | None = None) -> int:
    workdir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="azsync-demo-"))
    socket_path = Path(socket) if socket else workdir / "azsyncd.sock"
    daemon, tenant = demo_daemon(workdir, sync_process=True)
    assert daemon.graph_socket is not None
    directory_server = serve_directory(tenant, daemon.graph_socket)
    ctl = f".venv/bin/azsyncctl --socket {socket_path}"
    print(
        f"azsyncd demo listening on {socket_path}\n"
        f"  config and state: {workdir}\n"
        f"  directory: a simulated Contoso tenant with {len(tenant.users)} users and "
        f"{len(tenant.groups)} groups;\n"
        "  the first sync into the built-in store starts now; then the directory's changes are\n"
        "  read every minute.\n\n"
        "Try, in another terminal:\n"
        f"  {ctl} status                  # the daemon, the schedule, the tenant\n"
        f"  {ctl} log --status failed     # why some contacts failed, and the fix\n"
        f"  {ctl} log --csv report.csv    # the CSV report\n"
        f"  {ctl} contacts --search anna  # the contacts written\n"
        f"  {ctl} sync --dry-run --wait   # a plan that writes nothing\n"
        f"  {ctl} lifecycle               # leavers (disabled accounts) and group rules\n"
        f'  {ctl} demo add-user "Ada Lovelace"   # a new hire: a contact within a minute\n'
        f"  {ctl} contacts --search ada   # ... there she is, after the next tick\n"
        f"  .venv/bin/azsync-tui --socket {socket_path}\n"
        f"  curl --unix-socket {socket_path} http://azsyncd/v1/status\n\n"
        "Stop with Ctrl-C.",
        flush=True,
    )
    try:
        return serve(daemon, socket_path)
    finally:
        directory_server.should_exit = True
        if not directory:
            shutil.rmtree(workdir, ignore_errors=True)
        print("demo stopped", file=sys.stderr)
