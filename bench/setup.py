"""What every end-to-end benchmark starts from: the fake help desk (HappyFox, or Freshservice
with ``start_freshservice``) in its own process on a time-scaled clock, a work directory with
the secrets and config, and a daemon on a generated tenant, with the account's limiter on
the same scaled clock.

With ``sync_process`` (as ``azsyncd run``), each run goes to a process of its own and the
tenant is served by one too (``bench.graph``, over HTTPS on loopback); the run's process
gets the scaled limiter from ``bench/child/sitecustomize.py``. Without it, the runs stay on a
thread of this process and read the tenant in process (``bench.latency`` changes its users)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.demo.run import MAPPING, tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.targets import factory
from azsyncd.targets.freshservice import FreshserviceSettings, limits_for
from azsyncd.targets.happyfox.client import limits_for as happyfox_limits
from azsyncd.targets.ratelimit import RateLimiter
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


def scaled_limiter(account: str, limits: dict[str, int], scale: float) -> None:
    """This process's limiter of ``account`` on the fake help desk's clock: one minute lasts
    60/scale s."""
    clock = lambda: time.monotonic() * scale  # noqa: E731
    limiter = RateLimiter(limits, clock=clock, sleep=lambda s: time.sleep(s / scale))
    factory.use_limiter(account, limiter)


def _share_limiter(account: str, limits: dict[str, int], scale: float) -> None:
    """The scaled limiter here, and in each run's own process (``child/sitecustomize.py``)."""
    os.environ["AZSYNC_BENCH_LIMITER"] = json.dumps(
        {"account": account, "limits": limits, "scale": scale}
    )
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench" / "child"), str(ROOT)])
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

    def stats(self) -> dict[str, Any]:
        """What the fake HappyFox was made to do (this call counts as one GET)."""
        answer = httpx.get(f"{self.base}/api/1.1/json/__stats__/", auth=("key", "code"))
        return dict(answer.json())

    def graph_calls(self) -> int:
        if self.tenant is not None:
            return self.tenant.graph_calls
        return int(httpx.get(f"{self.graph}/__calls__", verify=self.ca).json())

    def close(self) -> None:
        self.daemon.stop(20)
        for server in self.servers:
            server.terminate()
            server.wait(10)


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
    users: int, scale: float, extra: dict[str, Any] | None = None, *, sync_process: bool = True
) -> Bench:
    """HappyFox running, the daemon built (not started) on a ``users``-user tenant;
    ``extra`` adds tables to its configuration."""
    happyfox = _server("tests.fakes.happyfox", str(scale))
    base = f"http://127.0.0.1:{int(happyfox.stdout.readline())}"  # type: ignore[union-attr]
    tables = {"mapping": {**MAPPING, "custom_fields": HAPPYFOX_FIELDS}, **(extra or {})}
    return _start(
        happyfox,
        base,
        happyfox_toml(base),
        tables,
        happyfox_limits(HEADROOM),
        users,
        scale,
        sync_process=sync_process,
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
        sync_process=True,
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
    sync_process: bool,
) -> Bench:
    servers = [desk]
    work = Path(tempfile.mkdtemp(prefix="azbench"))
    for name, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())  # azsyncd reads only private secret files
    tenant, where = None, {}
    if sync_process:
        graph, where = serve_graph(users, work)
        servers.append(graph)
    else:
        tenant = CountedTenant(users)
    config = (
        target_toml
        + tenant_toml("bench", secret_file="secret", **{k: where[k] for k in where if k != "ca"})
        + tomli_w.dumps(tables)
    )
    write_private(work / "azsyncd.toml", config.encode())
    _share_limiter(base, limits, scale)
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"),
        state_dir=work / "state",
        graph_transport=tenant.transport() if tenant is not None else None,
        sync_process=sync_process,
    )
    return Bench(servers, base, work, daemon, tenant, where.get("graph", ""), where.get("ca", ""))
