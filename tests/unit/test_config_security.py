"""The config layer's guards: file-only keys, endpoints, strings, secret files, edits in place."""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.config.changes import describe, file_only_changes, shown
from azsyncd.config.endpoints import secure_url
from azsyncd.config.secrets import looks_like_secret, read_private, read_secret
from azsyncd.errors import ConfigError, SecretError
from tests.helpers import write_config

GUID = "11111111-2222-3333-4444-555555555555"


def tenant(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "tenant_id": f"{name}.onmicrosoft.com", "client_id": GUID, **extra}


def test_file_only_keys_are_found_wherever_they_are() -> None:
    before = {"tenants": [tenant("a", client_secret_file="a-secret")], "target": {"kind": "local"}}
    assert file_only_changes(before, before) == []
    added = {**before, "tenants": [*before["tenants"], tenant("b", login_url="https://x")]}  # type: ignore[list-item]
    assert file_only_changes(before, added) == ["tenants.b.login_url"]
    cleared = {**before, "tenants": [tenant("a", client_secret_file=None)]}
    assert file_only_changes(before, cleared) == ["tenants.a.client_secret_file"]
    deleted = {**before, "tenants": []}
    assert file_only_changes(before, deleted) == []  # a deleted tenant takes its files along
    moved = {**before, "target": {"kind": "happyfox", "happyfox": {"base_url": "https://e"}}}
    assert file_only_changes(before, moved) == ["target.happyfox.base_url"]
    assert file_only_changes(before, {**before, "control": {"admins": ["me"]}}) == [
        "control.admins"
    ]
    allowed = frozenset({"tenants.a.client_secret_file"})
    assert file_only_changes(before, cleared, allowed) == []


def test_describe_names_each_change_and_whole_tables_once() -> None:
    before = {"schedule": {"enabled": False}, "tenants": [tenant("a"), tenant("b")]}
    after = {"schedule": {"enabled": True}, "tenants": [tenant("b", enabled=False), tenant("c")]}
    assert describe(before, after) == [
        "tenants.c: added",
        "tenants.a: removed",
        "schedule.enabled: false -> true",
        "tenants.b.enabled: (none) -> false",
    ]
    pasted = "Zx8Q~abcdefghij0123456789klmnopqrst.uv"
    change = describe({"a": {"api_key_file": "k"}}, {"a": {"api_key_file": pasted}})
    assert pasted not in change[0] and "looks like a secret" in change[0]
    assert shown({"t": [{"pfx_file": pasted, "name": "n"}]})["t"][0]["pfx_file"] != pasted


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://acme.happyfox.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:99/", True),
        ("http://localhost", True),
        ("http://acme.happyfox.com", False),
        ("http://127.0.0.1.evil.example", False),
        ("ftp://acme.happyfox.com", False),
        ("https://", False),
        ("https://host:notaport", False),
    ],
)
def test_endpoints_need_tls_except_on_loopback(url: str, ok: bool) -> None:
    if ok:
        assert secure_url(url, "base_url") == url
    else:
        with pytest.raises(ValueError, match="base_url must"):
            secure_url(url, "base_url")


def test_strings_are_bounded_and_problems_never_quote_much(tmp_path: Path) -> None:
    long = "x" * 5000
    with pytest.raises(ConfigError) as caught:
        config_file.validate(
            {"account": {"name": long}, "mapping": {"custom_fields": {long: "department"}}}, "f"
        )
    text = str(caught.value)
    assert "account.name: String should have at most 1024 characters" in text
    assert len(text) < 1000
    with pytest.raises(ConfigError, match=r"client_id: Input should be a valid string \(got 5\)"):
        config_file.validate({"tenants": [tenant("a", client_id=5)]}, "f")
    with pytest.raises(ConfigError) as caught:
        config_file.validate(
            {"tenants": [tenant("a", client_secret_file=12345678901234567890)]}, "f"
        )
    assert "12345678901234567890" not in str(caught.value)
    with pytest.raises(ConfigError, match="U\\+0000"):
        config_file.load(write_config(tmp_path, '[control]\nsocket = "/run/a\\u0000b"\n'))


def secret_at(tmp_path: Path, name: str = "s", text: str = "value", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


def test_secret_files_must_be_private_regular_and_small(tmp_path: Path) -> None:
    secret_at(tmp_path)
    assert read_secret("s", tmp_path, "k") == "value"
    os.mkfifo(tmp_path / "fifo", 0o600)
    (tmp_path / "zero").symlink_to("/dev/zero")
    secret_at(tmp_path, "loose", mode=0o644)
    secret_at(tmp_path, "writable", mode=0o602)
    secret_at(tmp_path, "big", "x" * (64 * 1024 + 1))
    os.chown(secret_at(tmp_path, "theirs"), 65534, 65534)
    (tmp_path / "linked").symlink_to(tmp_path / "s")
    expected = {
        "fifo": "is a FIFO (named pipe), not a regular file",
        "zero": "is a character device, not a regular file",
        "loose": "is readable by everyone (mode 0644)",
        "writable": "is writable by everyone (mode 0602)",
        "big": "is larger than 64 KiB (65537 bytes)",
        "theirs": "is owned by nobody, not by root (the daemon's user) or root",
    }
    for name, message in expected.items():
        started = time.monotonic()
        with pytest.raises(SecretError) as caught:
            read_private(name, tmp_path, "tenants[0].client_secret_file")
        assert message in str(caught.value) and time.monotonic() - started < 1
        assert str(caught.value).startswith("tenants[0].client_secret_file: ")
    assert read_private("linked", tmp_path, "k") == b"value"  # a link to a private file is fine


def test_pasted_secrets_look_like_secrets_and_paths_do_not() -> None:
    for value in (
        "Xy8Q~7sGhJk2LmNoPqRsTuVwXyZ0123456789.ab",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "-----BEGIN PRIVATE KEY-----",
    ):
        assert looks_like_secret(value), value
    for value in ("contoso-client-secret", "/etc/azsyncd/credentials/azsyncd.contoso.pfx", "key"):
        assert not looks_like_secret(value), value


COMMENTED = f"""\
# Acme's azsync: every tenant has a note.
[account]
name = "Acme"  # shown in emails

# Contoso: production
[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "{GUID}"
auth = "device_code"

# Fabrikam: the subsidiary
[[tenants]]
name = "fabrikam"
tenant_id = "fabrikam.onmicrosoft.com"
client_id = "{GUID}"  # the shared app
auth = "device_code"
exclude_disabled = false  # said out loud, though it is the default

[mapping.phones]
mo = "mobilePhone"
w = "businessPhones[0]"
"""


def test_an_edit_keeps_comments_and_changes_only_what_it_changes(tmp_path: Path) -> None:
    path = write_config(tmp_path, COMMENTED)
    loaded = config_file.load(path)
    document = loaded.config.model_dump(mode="json")
    del document["tenants"][0]
    document["tenants"][0]["enabled"] = False
    document["tenants"].append(tenant("northwind", auth="device_code"))
    document["mapping"]["phones"].pop("w")
    document["account"]["name"] = "Acme Corp"
    changed = config_file.validate(document, str(path))
    config_file.save(path, changed, path.read_text())
    text = path.read_text()
    assert config_file.load(path).config == changed
    assert text.startswith("# Acme's azsync: every tenant has a note.\n")
    assert 'name = "Acme Corp"  # shown in emails' in text
    assert "contoso" not in text.replace("# Contoso: production", "")
    assert 'client_id = "' + GUID + '"  # the shared app' in text
    assert "exclude_disabled = false  # said out loud" in text
    assert "enabled = false" in text and 'name = "northwind"' in text
    assert "businessPhones" not in text and 'mo = "mobilePhone"' in text
    assert tomllib.loads(text)["tenants"][1]["name"] == "northwind"
    assert (tmp_path / "azsyncd.toml.bak").read_text() == COMMENTED


def test_deleting_the_last_tenant_leaves_valid_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, COMMENTED)
    document = config_file.load(path).config.model_dump(mode="json")
    document["tenants"] = []
    config_file.save(path, config_file.validate(document, str(path)))
    assert config_file.load(path).config.tenants == []
    assert 'mo = "mobilePhone"' in path.read_text()


def test_the_config_file_is_bounded_and_regular(tmp_path: Path) -> None:
    big = write_config(tmp_path, "# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        config_file.load(big)
    with pytest.raises(ConfigError, match="not a regular file"):
        config_file.load(Path("/dev/zero"))
    os.mkfifo(tmp_path / "fifo.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        config_file.load(tmp_path / "fifo.toml")
