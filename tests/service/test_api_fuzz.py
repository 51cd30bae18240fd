"""Schema-driven fuzzing of the control API: no input gives a 5xx, and every answer is what the
schema says: its status code listed for the route, its body the declared answer or error,
input the schema allows accepted (save the rules below, which a schema cannot state)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import APIOperation

from azsyncd.config import file as config_file
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import Outcome, RunContext
from tests.helpers import within, write_config

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

# Input the schema allows and the daemon refuses, and why no schema can say so. Everything
# else that fits the schema must be accepted (2xx, or 403/404/409: the state refuses it).
SEMANTIC = {
    ("PATCH", "/v1/settings"): "time zone names, directory attribute names, rules across keys",
    ("POST", "/v1/tenants"): "rules across keys: a custom cloud's URLs, the files an auth needs",
    ("PATCH", "/v1/tenants/{name}"): "the same rules across a tenant's keys",
    ("PUT", "/v1/tenants/{name}/credential"): "a certificate must match its key, a PFX open",
    ("PATCH", "/v1/lifecycle"): "a rule's condition names a directory attribute",
    ("POST", "/v1/welcome/resend"): "the address must be one azsync owes a welcome email",
}
ACCEPTED = ["2xx", "403", "404", "409"]


def _config() -> SchemathesisConfig:
    operations = [
        {
            "include-method": method,
            "include-path": path,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400", "422"]}
            },
        }
        for method, path in SEMANTIC
    ]
    return SchemathesisConfig.from_dict(
        {
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "operations": operations,
        }
    )


def quick_job(_: Daemon):  # type: ignore[no-untyped-def]
    def job(ctx: RunContext) -> Outcome:
        return Outcome("succeeded")

    return job


def _make_daemon() -> Daemon:
    # Built at import: schemathesis reads the schema when the module is collected.
    directory = Path(tempfile.mkdtemp(prefix="azfuzz"))
    atexit.register(shutil.rmtree, directory, True)  # each test worker collects this module
    loaded = config_file.load(write_config(directory, CONFIG))
    daemon = Daemon(loaded, job_factory=quick_job, state_dir=directory / "state")
    run_id = daemon.start_sync("manual")
    assert run_id is not None and daemon.runner.wait(within(5))
    return daemon


DAEMON = _make_daemon()
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", create_app(DAEMON), config=_config())


# One test per operation, named for it. (schemathesis' own ``schema.parametrize()`` gives
# every operation's test the same node id, and pytest-xdist then ran one of them only.)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_answer_is_what_the_schema_says(operation: APIOperation, data: st.DataObject) -> None:
    """Input that fits the schema and input that does not, drawn alike."""
    mode = data.draw(st.sampled_from(list(GenerationMode)))
    case = data.draw(operation.as_strategy(generation_mode=mode))
    response = case.call_and_validate()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


def test_every_operation_of_the_schema_is_fuzzed() -> None:
    assert len({op.label for op in OPERATIONS}) == len(OPERATIONS) > 40


def test_the_fuzz_refuses_an_answer_its_schema_does_not_describe() -> None:
    """The checks above are schemathesis' own: an answer with a key renamed, one without a
    key, and a status the route does not list each fail them."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from schemathesis.core.failures import FailureGroup

    from azsyncd.answers import Reloaded

    app = FastAPI(openapi_url="/openapi.json")
    sent = {
        "/renamed": ({"reloaded": True, "config_path": "", "changed": []}, 200),
        "/short": ({"reloaded": True, "config_path": ""}, 200),
        "/unlisted": ({"error": {"code": "x", "message": "m", "fix": ""}}, 418),
    }
    for path, (body, status) in sent.items():
        app.add_api_route(
            path,
            lambda body=body, status=status: JSONResponse(body, status_code=status),
            response_model=Reloaded,
        )
    wrong = schemathesis.openapi.from_asgi("/openapi.json", app)
    for path, why in [
        ("/renamed", "('changed' was unexpected)"),
        ("/short", '"changes" is a required property'),
        ("/unlisted", "Undocumented status code"),
    ]:
        with pytest.raises(FailureGroup) as failed:
            wrong[path]["GET"].Case().call_and_validate()
        assert why in str(failed.value) + "".join(map(str, failed.value.exceptions)), path


@pytest.mark.parametrize(
    "path, body",
    [
        # The case the fuzz found: a null for a key the section does not have was a no-op.
        ("/v1/settings", {"schedule": {"enabled": None, "time": "00:00", "": None}}),
        ("/v1/settings", {"mapping": {"emial": None}}),
        ("/v1/settings", {"account": {"nmae": "typo"}}),
        ("/v1/lifecycle", {"lifecycle": {"grace_day": None}}),
    ],
)
def test_a_key_a_section_does_not_have_is_refused_even_as_null(
    path: str, body: dict[str, object]
) -> None:
    from fastapi.testclient import TestClient

    before = DAEMON.config.model_dump()
    with TestClient(create_app(DAEMON)) as client:
        answer = client.patch(path, json=body)
    assert answer.status_code == 422, answer.text
    unknown = next(k for section in body.values() for k in section if k not in ("enabled", "time"))
    assert f'unknown key "{unknown}"' in answer.json()["error"]["message"]
    assert DAEMON.config.model_dump() == before


def test_a_null_for_a_key_the_section_has_still_removes_it() -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(DAEMON)) as client:
        set_ = client.patch("/v1/settings", json={"schedule": {"interval": "7m"}})
        assert set_.status_code == 200, set_.text
        assert set_.json()["schedule"]["interval"] == "7m"
        removed = client.patch("/v1/settings", json={"schedule": {"interval": None}})
    assert removed.status_code == 200, removed.text
    assert removed.json()["schedule"]["interval"] == ""
