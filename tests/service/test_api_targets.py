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


def test_the_target_table_is_described_key_by_key(tmp_path: Path) -> None:
    """What the TUI draws the help desk's settings from: values, types, file-only keys."""
    pasted = "sk_live_0123456789abcdefABCDEF0123456789"  # a secret where a path belongs
    api = client_for(
        tmp_path,
        happyfox_toml("https://acme.happyfox.com", api_key_file=pasted, mark="none")
        + '[sync.thresholds]\ncreate = 5\nupdate = "10%"\n[alerts]\nstale_hours = 6\n',
    )
    answer = api.get("/v1/target").json()
    assert answer["kind"] == "happyfox" and "local" in answer["kinds"] and answer["in_file"]
    keys = {k["key"]: k for k in answer["keys"]}
    assert keys["base_url"]["value"] == "https://acme.happyfox.com"
    assert keys["base_url"]["file_only"] and keys["auth_code_file"]["file_only"]
    assert keys["api_key_file"]["secret_file"] and pasted not in str(answer)
    assert keys["mark"]["type"] == "choice"
    assert keys["mark"]["choices"] == ["contact_group", "custom_field", "none"]
    assert keys["mark"]["value"] == "none" and not keys["mark"]["file_only"]
    assert keys["rate_headroom"]["type"] == "number" and keys["rate_headroom"]["value"] == 0.9
    assert keys["group_name"]["type"] == "string" and not keys["group_name"]["required"]
    settings = api.get("/v1/settings").json()
    assert settings["sync"]["thresholds"] == {
        "create": 5,
        "update": "10%",
        "disable": None,
        "group_changes": None,
    }
    assert settings["alerts"]["stale_hours"] == 6


def test_a_target_registered_later_is_described_with_no_change_elsewhere(tmp_path: Path) -> None:
    from azsyncd.targets import registry
    from tests.fakes import memory_target

    (tmp_path / "token").write_text("t0ken")
    (tmp_path / "token").chmod(0o600)
    with registry.registered(memory_target.TARGET):
        api = client_for(
            tmp_path,
            '[target]\nkind = "memory"\n[target.memory]\nbook = "b"\ntoken_file = "token"\n',
        )
        keys = {k["key"]: k for k in api.get("/v1/target").json()["keys"]}
        assert keys["book"] == {**keys["book"], "value": "b", "type": "string", "required": True}
        assert keys["token_file"]["file_only"] and keys["token_file"]["secret_file"]
        assert keys["calls_per_minute"]["type"] == "integer"
        assert (
            keys["calls_per_minute"]["value"] == 600 and not keys["calls_per_minute"]["file_only"]
        )
        changed = api.patch("/v1/settings", json={"target": {"memory": {"calls_per_minute": 90}}})
        assert changed.status_code == 200, changed.text
        keys = {k["key"]: k for k in api.get("/v1/target").json()["keys"]}
        assert keys["calls_per_minute"]["value"] == 90
    memory_target.BOOKS.clear()


@pytest.mark.parametrize("kind", ["local", "happyfox", "freshservice", "zammad", "zendesk"])
def test_every_built_in_targets_table_is_described(kind: str) -> None:
    """What the TUI needs to draw each target's table: a type for every key, and every key
    naming a file, a host or a list marked as set in the file only."""
    from azsyncd.config import target_kinds
    from azsyncd.service.api.routes_target import table_keys

    spec = target_kinds.get(kind)
    assert spec is not None
    keys = {k["key"]: k for k in table_keys(spec, None)}
    assert set(keys) == set(spec.settings.model_fields)
    for name, key in keys.items():
        assert key["type"] in ("string", "integer", "number", "boolean", "choice", "other"), name
        if key["type"] == "choice":
            assert key["choices"], name
        naming_a_place = name.endswith("_file") or name in ("base_url", *spec.file_only)
        if naming_a_place or key["type"] == "other":
            assert key["file_only"], name
    for name in spec.secret_keys:
        assert keys[name]["secret_file"] and keys[name]["file_only"]
