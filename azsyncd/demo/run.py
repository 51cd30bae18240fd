"""``azsyncd demo``: a real daemon on a temporary config and socket, syncing a simulated
"Contoso" directory into the built-in store (or, with ``--target <kind>``, into a simulated
account of that help desk, which its target provides: ``TargetSpec.demo``), and what to try
next."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import tomlkit

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.api import demo_router, joiner
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
from azsyncd.errors import UserError
from azsyncd.service.daemon import Daemon
from azsyncd.service.runs.schedule import Clock, utc_clock
from azsyncd.service.socket.server import serve
from azsyncd.targets import registry
from azsyncd.targets.spec import DemoDesk

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


def demo_config(kind: str = "local", desk: DemoDesk | None = None) -> str:
    """The demo's configuration, writing to the built-in store or to ``desk``."""
    target: dict[str, Any] = {"local": {"fields": FIELDS}}
    if desk is not None:
        target = {"kind": kind, kind: desk.table}
    where = "the built-in contact store" if desk is None else f"a simulated {kind} account"
    return (
        f"# The demo's configuration: a simulated Contoso tenant, {where}, sync on.\n"
        + _demo_tables(target, desk.mapping if desk and desk.mapping else MAPPING)
        + tenant_toml(extra='display_name = "Contoso (simulated)"')
    )


def _demo_tables(target: dict[str, Any], mapping: dict[str, Any]) -> str:
    return tomlkit.dumps(
        {
            "account": {"name": "Demo Help Desk", "timezone": "UTC"},
            # Contact sync on; the directory's changes are read every minute.
            "schedule": {"enabled": True, "interval": "1m"},
            "target": target,
            "mapping": mapping,
            # Disabled accounts of the simulated tenant lose their portal login at once; a
            # joiner's contact is ready a week before the hire date, its login off till then.
            "lifecycle": {
                "on_removed": "disable_login",
                "on_disabled": "disable_login",
                "create_before_hire_days": 7,
            },
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


DEMO_CONFIG = demo_config()
JOINER_DAYS = 2  # the demo's joiner starts this many days after the demo does


def demo_daemon(
    workdir: Path,
    clock: Clock = utc_clock,
    *,
    sync_process: bool = True,
    desk: tuple[str, DemoDesk] | None = None,
    directory_socket: bool = False,
) -> tuple[Daemon, SimulatedTenant]:
    """The demo's daemon on its simulated directory, the tenant authorized, not yet started.
    Each run in its own process (as ``azsyncd demo``) reads the directory from a socket of
    this process: the daemon's own relay, or with ``directory_socket`` the workdir's
    ``directory.sock``, which the caller serves (``relay.py``). ``desk``: (kind, a simulated
    account running) to write to instead of the built-in store."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config_path = workdir / "azsyncd.toml"
    if not config_path.exists():
        write_private(config_path, demo_config(*desk).encode() if desk else DEMO_CONFIG.encode())
        write_private(workdir / "contoso-client-secret", DEMO_SECRET.encode())
    elif desk is not None:  # a kept directory: the account runs at another address now
        document = tomlkit.parse(config_path.read_text())
        document["target"] = {"kind": desk[0], desk[0]: desk[1].table}
        write_private(config_path, tomlkit.dumps(document).encode())
    for name, secret in (desk[1].secrets if desk else {}).items():
        write_private(workdir / name, secret)
    tenant = contoso()
    tenant.add_user(joiner(tenant, clock(), JOINER_DAYS))
    daemon = Daemon(
        config_file.load(config_path),
        state_dir=workdir / "state",
        graph_transport=tenant.transport(),
        clock=clock,
        sync_process=sync_process,
        graph_socket=workdir / "directory.sock" if directory_socket else None,
    )
    daemon.api_routers.append(demo_router(tenant))
    contoso_settings = daemon.config.tenant("contoso")
    if contoso_settings is not None:
        daemon.tenants.authorize_app(contoso_settings)
    return daemon, tenant


def demo_kinds() -> list[str]:
    """The targets ``azsyncd demo --target`` can write to."""
    return ["local", *(t.name for t in registry.BUILT_IN if t.demo is not None)]


def run_demo(socket: str | None = None, directory: str | None = None, target: str = "local") -> int:
    workdir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="azsync-demo-"))
    socket_path = Path(socket) if socket else workdir / "azsyncd.sock"
    desk: DemoDesk | None = None
    if target not in demo_kinds():
        raise UserError(
            f'the demo has no simulated account of "{target}"',
            f"use --target with one of: {', '.join(demo_kinds())}",
        )
    start = registry.spec(target).demo
    if start is not None:
        workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        desk = start(workdir)
    try:
        return _run_demo(workdir, socket_path, target, desk, keep=bool(directory))
    finally:
        if desk is not None:
            desk.stop()


def _run_demo(
    workdir: Path, socket_path: Path, kind: str, desk: DemoDesk | None, *, keep: bool
) -> int:
    daemon, tenant = demo_daemon(
        workdir, desk=(kind, desk) if desk is not None else None, directory_socket=True
    )
    assert daemon.graph_socket is not None
    directory_server = serve_directory(tenant, daemon.graph_socket)
    ctl = f".venv/bin/azsyncctl --socket {socket_path}"
    print(
        f"azsyncd demo listening on {socket_path}\n"
        f"  config and state: {workdir}\n"
        f"  directory: a simulated Contoso tenant with {len(tenant.users)} users and "
        f"{len(tenant.groups)} groups;\n"
        + (
            "  the first sync into the built-in store starts now; then the directory's changes\n"
            if desk is None
            else f"  help desk: {desk.where}\n  the first sync into it starts now; then the "
            "directory's changes\n"
        )
        + "  are read every minute.\n\n"
        "Try, in another terminal:\n"
        f"  {ctl} status                  # the daemon, the schedule, the tenant\n"
        f"  {ctl} log --status failed     # why some contacts failed, and the fix\n"
        f"  {ctl} log --csv report.csv    # the CSV report\n"
        + (f"  {ctl} contacts --search anna  # the contacts written\n" if desk is None else "")
        + f"  {ctl} sync --dry-run --wait   # a plan that writes nothing\n"
        f"  {ctl} lifecycle               # leavers (disabled accounts) and group rules\n"
        f"  {ctl} lifecycle joiners       # Jamie Joiner starts in {JOINER_DAYS} days: contact"
        " ready, login off\n"
        f"  {ctl} report quality          # failing users grouped by fix, for the directory's"
        " owners\n"
        f'  {ctl} demo add-user "Ada Lovelace"   # a new hire: a contact within a minute\n'
        + (
            f"  {ctl} contacts --search ada   # ... there she is, after the next tick\n"
            if desk is None
            else f"  curl --unix-socket {socket_path} http://azsyncd/v1/fields  # its fields\n"
        )
        + f"  .venv/bin/azsync-tui --socket {socket_path}\n"
        f"  curl --unix-socket {socket_path} http://azsyncd/v1/status\n\n"
        "Stop with Ctrl-C.",
        flush=True,
    )
    try:
        return serve(daemon, socket_path)
    finally:
        directory_server.should_exit = True
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        print("demo stopped", file=sys.stderr)
