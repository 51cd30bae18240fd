"""The target-facing API calls: contact fields from either target, the store's contacts."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from azsyncd.config import file as config_file
from azsyncd.service.api import create_app
from azsyncd.service.daemon import Daemon
from azsyncd.sync.runner import Outcome
from azsyncd.targets import ContactWrite, Phone
from azsyncd.targets.local import built_in_store
from tests.engine_setup import happyfox_toml
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve
from tests.helpers import write_config


def idle_job(_: Daemon):  # type: ignore[no-untyped-def]
    return lambda ctx: Outcome("succeeded")


@pytest.fixture
def happyfox_url() -> Iterator[str]:
    with serve(FakeHappyFox(time.monotonic)) as port:
        yield f"http://127.0.0.1:{port}"


def client_for(tmp_path: Path, text: str) -> TestClient:
    daemon = Daemon(
        config_file.load(write_config(tmp_path, text)),
        job_factory=idle_job,
        state_dir=tmp_path / "state",
    )
    return TestClient(create_app(daemon))


def test_fields_from_happyfox(tmp_path: Path, happyfox_url: str) -> None:
    for name, value in (("key", "key"), ("code", "code")):
        (tmp_path / name).write_text(value)
        (tmp_path / name).chmod(0o600)
    api = client_for(tmp_path, happyfox_toml(happyfox_url))
    answer = api.get("/v1/fields").json()
    assert answer["target"] == "happyfox"
    office = next(f for f in answer["fields"] if f["name"] == "Office")
    assert office["type"] == "dropdown" and office["choices"] == ["Berlin", "London"]
    assert next(f for f in answer["fields"] if f["name"] == "Badge")["raw_type"] == "hologram"


def test_happyfox_refusal_is_a_502_with_the_fix(tmp_path: Path, happyfox_url: str) -> None:
    (tmp_path / "key").write_text("wrong-key-value")
    (tmp_path / "code").write_text("code")
    api = client_for(tmp_path, happyfox_toml(happyfox_url))
    answer = api.get("/v1/fields")
    assert answer.status_code == 502
    assert "401" in answer.json()["error"]["message"] and "wrong-key-value" not in answer.text


def test_missing_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    api = client_for(
        tmp_path,
        happyfox_toml("https://acme.happyfox.com", api_key_file="nope", auth_code_file="nope2"),
    )
    answer = api.get("/v1/fields")
    assert answer.status_code == 400
    assert "target.happyfox.api_key_file" in answer.json()["error"]["message"]


def test_store_contacts_search_and_csv(tmp_path: Path) -> None:
    api = client_for(
        tmp_path,
        """
        [[target.local.fields]]
        name = "Department"
        [[target.local.fields]]
        name = "Title"
    """,
    )
    daemon = api.app.state.daemon  # type: ignore[attr-defined]
    store = built_in_store(daemon.config, daemon.state.db)
    store.write(
        [
            ContactWrite(
                "ann@example.com",
                "Ann",
                [Phone("w", "+1 555")],
                {"Department": "Sales", "Title": "=1+1"},
                source_tenant="contoso",
                source_object_id="oid-1",
            ),
            ContactWrite("bob@example.com", "Bob", [], {}),
        ]
    )
    listed = api.get("/v1/contacts", params={"search": "ANN"}).json()
    assert listed["total"] == 1 and listed["contacts"][0]["synced_from_entra"] is True
    rows = list(csv.reader(io.StringIO(api.get("/v1/contacts.csv").text.removeprefix("\ufeff"))))
    assert rows[0][:5] == ["Email", "Name", "Phones", "Department", "Title"]
    assert rows[1][:5] == ["ann@example.com", "Ann", "w: +1 555", "Sales", "'=1+1"]
    assert rows[2][0] == "bob@example.com"
