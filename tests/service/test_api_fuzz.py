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
# Input the schema refuses must be refused: schemathesis' list, and 413 for a body over 1 MiB
# (a certificate at its schema's maxLength, and more, is over it).
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]


def _config() -> SchemathesisConfig:
    operations = [
        {
            "include-method": method,
            "include-path": path,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400", "422"]},
                "negative_data_rejection": {"expected-statuses": [*REFUSED, "5xx"]},
            },
        }
        for method, path in SEMANTIC
    ]
    return SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTED},
                "negative_data_rejection": {"expected-statuses": [*REFUSED, "5xx"]},
            },
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
        # ... and at every depth: a table inside a section is merged too.
        ("/v1/settings", {"sync": {"thresholds": {"bogus": None}}}),
        ("/v1/settings", {"mapping": {"phones": {"fax": None}}}),  # no such phone type
        ("/v1/settings", {"mapping": {"custom_fields": {"x" * 1025: None}}}),  # too long a name
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
    assert f'"{unknown[:20]}' in answer.json()["error"]["message"]
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


def test_a_null_inside_a_table_removes_that_key_or_nothing() -> None:
    """A merge patch all the way down (RFC 7386): the schema allows a null for a custom
    field's mapping, and the daemon removes it; a null for one not mapped changes nothing."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(DAEMON)) as client:
        spec = client.get("/v1/openapi.json").json()
        added = client.patch(
            "/v1/settings", json={"mapping": {"custom_fields": {"Department": "department"}}}
        )
        assert added.status_code == 200, added.text
        same = client.patch("/v1/settings", json={"mapping": {"custom_fields": {"Nope": None}}})
        assert same.status_code == 200, same.text
        assert same.json()["mapping"]["custom_fields"] == {"Department": "department"}
        gone = client.patch(
            "/v1/settings", json={"mapping": {"custom_fields": {"Department": None}}}
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["mapping"]["custom_fields"] == {}
        back = client.patch(
            "/v1/settings", json={"mapping": {"custom_fields": {"Department": "department"}}}
        )
        assert back.status_code == 200, back.text
    body = spec["paths"]["/v1/settings"]["patch"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    mapping = spec["components"]["schemas"][ref]["properties"]["mapping"]["anyOf"][0]
    values = mapping["properties"]["custom_fields"]["anyOf"][0]["additionalProperties"]
    assert {"type": "null"} in values["anyOf"]


def test_a_lifecycle_key_set_to_null_goes_back_to_its_default() -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(DAEMON)) as client:
        from azsyncd.config.model import Lifecycle

        default = Lifecycle().grace_days
        changed = client.patch("/v1/lifecycle", json={"lifecycle": {"grace_days": default + 4}})
        assert changed.json()["lifecycle"]["grace_days"] == default + 4, changed.text
        reset = client.patch("/v1/lifecycle", json={"lifecycle": {"grace_days": None}})
    assert reset.status_code == 200, reset.text
    assert reset.json()["lifecycle"]["grace_days"] == default


def test_a_query_parameter_sent_twice_is_refused_not_guessed() -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(DAEMON)) as client:
        twice = client.get("/v1/audit?offset=0&offset=5")
        once = client.get("/v1/audit?offset=0&limit=3")
        unknown_twice = client.get("/v1/audit?x=1&x=2")  # not a parameter: ignored, as ever
    assert twice.status_code == 422, twice.text
    assert twice.json()["error"]["message"] == "query parameter offset given 2 times"
    assert once.status_code == 200 and unknown_twice.status_code == 200
