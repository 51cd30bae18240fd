"""The answers are typed once, for both ends: a key renamed or dropped by a route fails that
route (never reaching a client as a default), the schema names every answer and refusal, and
the answers built from the configuration's models have exactly the configuration's keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from azsyncd import answers
from azsyncd.config import file as config_file
from azsyncd.config import model
from azsyncd.service import status as status_module
from azsyncd.service.api import create_app
from azsyncd.service.api.callers import PERSONAL_PATHS
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import Outcome
from tests.helpers import write_config

CONFIG = """
[account]
name = "Typed"
[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret_file = "secret"
"""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    daemon = Daemon(
        config_file.load(write_config(tmp_path, CONFIG)),
        job_factory=lambda _: lambda ctx: Outcome("succeeded"),
        state_dir=tmp_path / "state",
    )
    try:
        yield TestClient(create_app(daemon), raise_server_exceptions=False)
    finally:
        daemon.stop(5)


def _renaming(old: str, new: str) -> Any:
    real = status_module.tenant_status

    def renamed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        found = real(*args, **kwargs)
        found[new] = found.pop(old)
        return found

    return renamed


@pytest.mark.parametrize("path", ["/v1/status", "/v1/tenants", "/v1/tenants/contoso"])
def test_a_key_renamed_by_the_daemon_fails_the_route_instead_of_reaching_a_client(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    assert api.get(path).status_code == 200
    monkeypatch.setattr(status_module, "tenant_status", _renaming("reason", "why"))
    answer = api.get(path)
    assert answer.status_code == 500, answer.text
    assert answer.json()["error"]["code"] == "internal" and "why" not in answer.text


def test_a_key_the_daemon_no_longer_sends_fails_the_route(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = status_module.tenant_status
    monkeypatch.setattr(
        status_module,
        "tenant_status",
        lambda *a, **k: {k2: v for k2, v in real(*a, **k).items() if k2 != "fix"},
    )
    assert api.get("/v1/status").status_code == 500


def test_the_schema_names_each_answer_and_every_refusal_with_its_body(api: TestClient) -> None:
    schema = api.get("/v1/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorAnswer"}
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) > 35
    for path, method, operation in operations:
        codes = operation["responses"]
        success = next(c for c in codes if c.startswith("2"))
        content = codes[success].get("content", {})
        if "application/json" in content:
            assert content["application/json"]["schema"].get("$ref"), (method, path)
        else:
            assert {"text/csv", "text/plain; version=0.0.4; charset=utf-8"} & set(content)
        refusals = {c for c in codes if c[0] in "45"}
        assert {"500", "503"} <= refusals, (method, path)
        if method != "get":
            assert {"400", "403", "409", "413"} <= refusals, (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in refusals, (method, path)
        if "{" in path:
            assert "404" in refusals, (method, path)
        if PERSONAL_PATHS.match(path):
            assert "403" in refusals, (method, path)  # a caller who is no reader
        for code in refusals:
            body = codes[code]["content"]["application/json"]["schema"]
            assert body == error, (method, path, code)
    searches = schema["paths"]["/v1/tenants/{name}/groups"]["get"]["responses"]
    assert "429" in searches  # too many searches by one caller


@pytest.mark.parametrize(
    ("answer", "section"),
    [
        (answers.AccountSettings, model.Account),
        (answers.ScheduleSettings, model.Schedule),
        (answers.MappingSettings, model.Mapping),
        (answers.WelcomeEmailSettings, model.WelcomeEmail),
        (answers.SyncSettings, model.Sync),
        (answers.LifecycleSettings, model.Lifecycle),
        (answers.GroupRule, model.ContactGroupRule),
    ],
)
def test_settings_answers_have_exactly_the_configurations_keys(
    answer: type[Any], section: type[Any]
) -> None:
    assert set(answer.model_fields) == set(section.model_fields)


def test_a_tenant_answer_is_the_configurations_tenant_and_its_state() -> None:
    assert set(answers.Tenant.model_fields) == {*model.Tenant.model_fields, "state"}
    assert set(answers.TenantAuthorization.model_fields) == {
        *model.Tenant.model_fields,
        "state",
        "device_code",
    }


def test_every_key_a_target_field_may_show_is_in_its_answer() -> None:
    from azsyncd.targets.fields import Choice, FieldDef, FieldType

    shown = FieldDef(
        "7", "Badge", FieldType.TEXT, True, (Choice("1", "a"),), "regexp", "mark", None, "[A-Z]+"
    ).as_dict()
    assert set(shown) == set(answers.TargetField.model_fields)
    assert answers.read(answers.TargetField, shown).pattern == "[A-Z]+"
