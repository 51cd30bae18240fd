"""What every end-to-end benchmark starts from: the fake HappyFox in its own process on a
time-scaled clock, a work directory with the secrets and config, and a daemon on a lean
simulated tenant, with the account's limiter on the same scaled clock."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from azsyncd.config import file as config_file
from azsyncd.config.secrets import write_private
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.demo.run import tenant_toml
from azsyncd.service.daemon import Daemon
from azsyncd.targets import factory
from azsyncd.targets.happyfox import limiter_for
from bench.fake_graph import LeanTenant

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[target]
kind = "happyfox"
[target.happyfox]
base_url = "http://127.0.0.1:{port}"
api_key_file = "key"
auth_code_file = "code"
{tenant}
[mapping]
name = "{{givenName}} {{surname}}"
[mapping.phones]
w = "businessPhones[0]"
mo = "mobilePhone"
[mapping.custom_fields]
Department = "department"
"Employee ID" = "employeeId"
Office = "officeLocation"
"""


@dataclass
class Bench:
    server: subprocess.Popen[str]
    base: str
    work: Path
    daemon: Daemon
    tenant: LeanTenant

    def stats(self) -> dict[str, Any]:
        """What the fake HappyFox was made to do (this call counts as one GET)."""
        answer = httpx.get(f"{self.base}/api/1.1/json/__stats__/", auth=("key", "code"))
        return dict(answer.json())

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(10)


def start(users: int, scale: float, extra_config: str = "") -> Bench:
    """HappyFox running, the daemon built (not started) on a ``users``-user tenant."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "happyfox_server.py"), str(scale)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    work = Path(tempfile.mkdtemp(prefix="azbench"))
    for name, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())  # azsyncd reads only private secret files
    config = CONFIG.format(port=port, tenant=tenant_toml("bench", secret_file="secret"))
    write_private(work / "azsyncd.toml", (config + extra_config).encode())
    base = f"http://127.0.0.1:{port}"
    clock = lambda: time.monotonic() * scale  # noqa: E731
    factory.use_limiter(base, limiter_for(0.9, clock, lambda s: time.sleep(s / scale)))
    tenant = LeanTenant(users)
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"),
        state_dir=work / "state",
        graph_transport=tenant.transport(),
    )
    return Bench(server, base, work, daemon, tenant)
