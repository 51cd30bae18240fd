"""What every end-to-end benchmark starts from: the fake HappyFox in its own process on a
time-scaled clock, a work directory with the secrets and config, and a daemon on a generated
tenant, with the account's limiter on the same scaled clock."""

from __future__ import annotations

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
from azsyncd.targets.happyfox.client import limiter_for
from tests.engine_setup import happyfox_toml
from tests.fakes.directory import GeneratedTenant

ROOT = Path(__file__).resolve().parent.parent
# The demo's mapping, to the fields the fake HappyFox has.
HAPPYFOX_FIELDS = {
    name: attribute
    for name, attribute in MAPPING["custom_fields"].items()
    if name in ("Department", "Employee ID", "Office")
}


class CountedTenant(GeneratedTenant):
    """A generated tenant that counts the Graph calls it answers."""

    def __init__(self, users: int) -> None:
        super().__init__(users, keep_pages=True)  # a resync reads the directory again
        self.graph_calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(self.graph):
            self.graph_calls += 1
        return super().handle(request)


@dataclass
class Bench:
    server: subprocess.Popen[str]
    base: str
    work: Path
    daemon: Daemon
    tenant: CountedTenant

    def stats(self) -> dict[str, Any]:
        """What the fake HappyFox was made to do (this call counts as one GET)."""
        answer = httpx.get(f"{self.base}/api/1.1/json/__stats__/", auth=("key", "code"))
        return dict(answer.json())

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(10)


def start(users: int, scale: float, extra: dict[str, Any] | None = None) -> Bench:
    """HappyFox running, the daemon built (not started) on a ``users``-user tenant;
    ``extra`` adds tables to its configuration."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.happyfox", str(scale)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    work = Path(tempfile.mkdtemp(prefix="azbench"))
    for name, value in (("key", "key"), ("code", "code"), ("secret", DEMO_SECRET)):
        write_private(work / name, value.encode())  # azsyncd reads only private secret files
    tables = {"mapping": {**MAPPING, "custom_fields": HAPPYFOX_FIELDS}, **(extra or {})}
    config = (
        happyfox_toml(f"http://127.0.0.1:{port}")
        + tenant_toml("bench", secret_file="secret")
        + tomli_w.dumps(tables)
    )
    write_private(work / "azsyncd.toml", config.encode())
    base = f"http://127.0.0.1:{port}"
    clock = lambda: time.monotonic() * scale  # noqa: E731
    factory.use_limiter(base, limiter_for(0.9, clock, lambda s: time.sleep(s / scale)))
    tenant = CountedTenant(users)
    daemon = Daemon(
        config_file.load(work / "azsyncd.toml"),
        state_dir=work / "state",
        graph_transport=tenant.transport(),
    )
    return Bench(server, base, work, daemon, tenant)
