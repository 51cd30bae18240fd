"""What every end-to-end benchmark starts from: the fake help desk (HappyFox, or Freshservice
with ``start_freshservice``) in its own process on a time-scaled clock, a work directory with
the secrets and config, and a daemon on a generated tenant, with the account's limiter on
the same scaled clock.

Each run goes to a process of its own, as under ``azsyncd run``; it gets the scaled limiter
from ``bench/child/sitecustomize.py`` (``bench.scaled``). The tenant is served by a process
of its own (``bench.graph``, over HTTPS on loopback), or, with ``in_process`` (``bench.latency``
changes its users), from this process: to the daemon directly and to the runs' processes on
a Unix socket, as the demo does. ``Bench.close`` stops everything and removes the work
directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.demo.relay import serve_directory
from azsyncd.demo.run import MAPPING, tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.targets.freshservice import FreshserviceSettings, limits_for
from azsyncd.targets.happyfox.client import limits_for as happyfox_limits
from bench import scaled
from bench.graph import CountedTenant
from tests.engine_setup import happyfox_toml
from tests.freshservice_setup import freshservice_toml

ROOT = Path(__file__).resolve().parent.parent
HEADROOM = 0.9  # of HappyFox's limits, what the benchmark's limiter allows
# The demo's mapping, to the fields the fake HappyFox has.
HAPPYFOX_FIELDS = {
    name: attribute
    for name, attribute in MAPPING["custom_fields"].items()
    if name in ("Department", "Employee ID", "Office")
}


# The benchmark's Freshservice mapping: names, phones, title, department and the fields the
# generated users fill (Office: Berlin or London, both choices of the fake account).
FRESHSERVICE_MAPPING = {
    "name": "{givenName} {surname}",
    "phones": {"w": "businessPhones[0]", "mo": "mobilePhone"},
    "custom_fields": {
        "First Name": "givenName",
        "Last Name": "surname",
        "Job Title": "jobTitle",
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
    },
}


MARK_FIELD = "Synced from"  # the fake HappyFox's field for mark = "custom_field"


def scaled_limiter(account: str, limits: dict[str, int], scale: float) -> None:
    """This process's limiter of ``account`` on the fake help desk's clock: one minute lasts
    60/scale s (``bench.scaled``)."""
    scaled.scaled_limiter(account, limits, scale)


def child_path() -> None:
    """Each process the benchmark starts reads ``bench/child/sitecustomize.py``."""
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench" / "child"), str(ROOT)])


def _share_limiter(account: str, limits: dict[str, int], scale: float) -> None:
    """The scaled limiter here, and in each run's own process (``child/sitecustomize.py``,
    which imports ``bench.scaled`` alone)."""
    os.environ.update(scaled.environment(account, limits, scale))
    child_path()
    scaled_limiter(account, limits, scale)


@dataclass
class Bench:
    servers: list[subprocess.Popen[str]]
    base: str
    work: Path
    daemon: Daemon
    tenant: CountedTenant | None  # in this process; None when served by its own
    graph: str = ""
    ca: str = ""
    relay: Any = None  # the in-process tenant's socket server for the runs' processes

    def stats(self) -> dict[str, Any]:
        """What the fake HappyFox was made to do (this call counts as one GET)."""
        answer = httpx.get(f"{self.base}/api/1.1/json/__stats__/", auth=("key", "code"))
        return dict(answer.json())

    def graph_calls(self) -> int:
        if self.tenant is not None:
            return self.tenant.graph_calls
        return int(httpx.get(f"{self.graph}/__calls__", verify=self.ca).json())

    def close(self) -> None:
        """Stop the daemon (once), the servers, and remove the work directory (the state of a
        1,000,000-user point takes most of a GB)."""
        self.daemon.stop(20)
        if self.relay is not None:
            self.relay.should_exit = True
        for server in self.servers:
            server.terminate()
            server.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)


def _server(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


def serve_graph(users: int, work: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """A ``users``-user generated tenant served by a process of its own (``bench.graph``), for
    runs in their own processes; where it is, as ``tenant_toml`` takes it, and its CA."""
    (work / "graph").mkdir()
    graph = _server("bench.graph", str(users), str(work / "graph"))
    served = json.loads(graph.stdout.readline())  # type: ignore[union-attr]
    where = {"login": served["login"], "graph": served["graph"], "ca": served["ca"]}
    where["extra"] = f'ca_bundle = "{served["ca"]}"'
    return graph, where


def start(
    users: int,
    scale: float,
    extra: dict[str, Any] | None = None,
    *,
    in_process: bool = False,
    mark: str = "custom_field",
) -> Bench:
    """HappyFox running, the daemon built (not started) on a ``users``-user tenant, each run
    in a process of its own; ``extra`` adds tables to its configuration; ``mark``: the
    HappyFox mark (the fake has the field the custom-field mark needs)."""
    happyfox = _server("tests.fakes.happyfox", str(scale), MARK_FIELD)
    base = f"http://127.0.0.1:{int(happyfox.stdout.readline())}"  # type: ignore[union-attr]
    tables = {"mapping": {**MAPPING, "custom_fields": HAPPYFOX_FIELDS}, **(extra or {})}
    marking = {"mark": mark, "mark_field": MARK_FIELD} if mark == "custom_field" else {"mark": mark}
    return _start(
        happyfox,
        base,
        happyfox_toml(base, **marking),
        tables,
        happyfox_limits(HEADROOM),
        users,
        scale,
        in_process=in_process,
    )


def start_freshservice(users: int, scale: float, plan: str = "enterprise") -> Bench:
    """The fake Freshservice (``plan``'s limits) running, the daemon built (not started) on a
    ``users``-user tenant, each run in its own process."""
    desk = _server("tests.fakes.freshservice", plan, str(scale))
    base = f"http://127.0.0.1:{int(desk.stdout.readline())}"  # type: ignore[union-attr]
    table = {"base_url": base, "api_key_file": "key", "plan": plan, "rate_headroom": HEADROOM}
    limits = limits_for(FreshserviceSettings(**table))
    config = freshservice_toml(base, plan=plan, rate_headroom=HEADROOM)
    return _start(
        desk,
        base,
        config,
        {"mapping": FRESHSERVICE_MAPPING},
        limits,
        users,
        scale,
    )


def _start(
    desk: subprocess.Popen[str],
    base: str,
    target_toml: str,
    tables: dict[str, Any],
    limits: dict[str, int],
    users: int,
    scale: float,
    *,
    in_process: bool = False,
) -> Bench:
    servers = [desk]
    work = Path(tempfile.mkdtemp(prefix="azbench"))
    for name, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())  # azsyncd reads only private secret files
    tenant, where = None, {}
    if in_process:
        tenant = CountedTenant(users)
    else:
        graph, where = serve_graph(users, work)
        servers.append(graph)
    config = (
        target_toml
        + tenant_toml("bench", secret_file="secret", **{k: where[k] for k in where if k != "ca"})
        + tomli_w.dumps(tables)
    )
    write_private(work / "azsyncd.toml", config.encode())
    _share_limiter(base, limits, scale)
    socket = work / "graph.sock" if tenant is not None else None
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"),
        state_dir=work / "state",
        graph_transport=tenant.transport() if tenant is not None else None,
        graph_socket=socket,
    )
    relay = serve_directory(tenant, socket) if tenant is not None and socket else None
    return Bench(
        servers, base, work, daemon, tenant, where.get("graph", ""), where.get("ca", ""), relay
    )
