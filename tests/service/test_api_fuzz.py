"""Schema-driven fuzzing of the control API: no input may give a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from azsyncd.config import file as config_file
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import Outcome, RunContext
from tests.helpers import write_config

CONFIG = """
[account]
name = "Fuzz"
[[target.local.fields]]
name = "Department"
[mapping.custom_fields]
Department = "department"
[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret_file = "secret"
"""


def quick_job(_: Daemon):  # type: ignore[no-untyped-def]
    def job(ctx: RunContext) -> Outcome:
        return Outcome("succeeded")

    return job


def _make_daemon() -> Daemon:
    # Built at import: schemathesis reads the schema when the module is collected.
    directory = Path(tempfile.mkdtemp(prefix="azfuzz"))
    loaded = config_file.load(write_config(directory, CONFIG))
    daemon = Daemon(loaded, job_factory=quick_job, state_dir=directory / "state")
    run_id = daemon.start_sync("manual")
    assert run_id is not None and daemon.runner.wait(5)
    return daemon


DAEMON = _make_daemon()
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", create_app(DAEMON))


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
