"""Building an in-process daemon on the simulated directory, for engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.directory import (
    DEMO_SECRET,
    SimulatedTenant,
)
from azsyncd.demo.run import FIELDS as DEMO_FIELD_LIST
from azsyncd.demo.run import MAPPING as DEMO_MAPPING
from azsyncd.demo.run import tenant_toml as demo_tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.state.models import SyncRun
from tests.helpers import wait_until, within

# The demo's fields in TOML, as the demo writes them.
DEMO_FIELDS = tomli_w.dumps({"target": {"local": {"fields": DEMO_FIELD_LIST}}})
# The demo's fields, none required, and one the mapping leaves alone.
FIELDS = tomli_w.dumps(
    {
        "target": {
            "local": {
                "fields": [{**f, "required": False} for f in DEMO_FIELD_LIST] + [{"name": "Notes"}]
            }
        }
    }
)


def mapping_toml(**settings: Any) -> str:
    """The demo's [mapping], with ``settings`` changed."""
    return tomli_w.dumps({"mapping": {**DEMO_MAPPING, **settings}})


def tenant_toml(name: str = "contoso", **settings: str) -> str:
    """A simulated tenant's [[tenants]] table, its client secret in the file "secret"."""
    return demo_tenant_toml(name, secret_file="secret", **settings)


# The mapping the HappyFox tests use: the fake HappyFox's own fields.
HAPPYFOX_MAPPING = tomli_w.dumps(
    {
        "mapping": {
            "skip_empty_phones": True,
            "phones": {"mo": "mobilePhone"},
            "custom_fields": {
                name: DEMO_MAPPING["custom_fields"][name]
                for name in ("Department", "Employee ID", "Office")
            },
        }
    }
)


def happyfox_toml(base_url: str, **settings: Any) -> str:
    """[target] for HappyFox at ``base_url``, its key and code in the files "key" and "code"."""
    table = {"base_url": base_url, "api_key_file": "key", "auth_code_file": "code", **settings}
    return tomli_w.dumps({"target": {"kind": "happyfox", "happyfox": table}})


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
    sync_process: bool = False,
    clock: Any = None,
) -> Daemon:
    """``sync_process``: each run in its own process, as ``azsyncd run`` runs it (service
    tests); off, the engine runs on the runner's thread (tests of the engine)."""
    import httpx

    (tmp_path / "secret").write_text(DEMO_SECRET)
    text = (
        FIELDS
        + mapping_toml(overwrite_custom_fields=overwrite, skip_empty_phones=skip_empty)
        + (tenants_toml if tenants_toml is not None else tenant_toml())
        + extra
    )
    (tmp_path / "azsyncd.toml").write_text(text)
    return Daemon(
        config_file.load(tmp_path / "azsyncd.toml"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(Router(*tenants)),
        sync_process=sync_process,
        **({"clock": clock} if clock is not None else {}),
    )


def service_daemon(tmp_path: Path, *tenants: SimulatedTenant, **settings: Any) -> Daemon:
    """``make_daemon``, each run in its own process as ``azsyncd run`` runs it: the service
    tests' daemon."""
    return make_daemon(tmp_path, *tenants, sync_process=True, **settings)


def sync(daemon: Daemon, **options: Any) -> SyncRun:
    dry_run = options.pop("dry_run", False)
    run_id = daemon.start_sync("manual", dry_run=dry_run, options=options)
    assert run_id is not None and daemon.runner.wait(within(60))
    run = daemon.state.run(run_id)
    assert run is not None
    return run


def tick(daemon: Daemon, tenant: str = "contoso") -> SyncRun:
    """One tick of ``tenant``, as the scheduler fires it; the run it kept."""
    before = {r.id for r in daemon.state.runs(1000)}
    daemon.ticks.tick(tenant)
    wait_until(lambda: daemon.runner.current is None, 60)
    wait_until(lambda: {r.id for r in daemon.state.runs(1000)} - before != set(), 60)
    (new,) = [r for r in daemon.state.runs(1000) if r.id not in before]
    return new


def happyfox_daemon_home(home: Path, base_url: str, state: dict[str, Any], **target: Any) -> Path:
    """A daemon's config directory writing to HappyFox at ``base_url`` from the simulated
    tenant, with its secret files; returns the config file."""
    home.mkdir(parents=True)
    for secret, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(home / secret, value.encode())
    config = home / "azsyncd.toml"
    config.write_text(
        '[account]\nname = "Desk"\ntimezone = "UTC"\n'
        + tomli_w.dumps({"state": state})
        + happyfox_toml(base_url, **target)
        + HAPPYFOX_MAPPING
        + tenant_toml()
    )
    config.chmod(0o600)
    return config
