from __future__ import annotations

import contextlib
import io
import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.config import target_kinds
from azsyncd.config.model import Config
from azsyncd.errors import ConfigError
from azsyncd.targets.fields import WRITABLE
from tests.helpers import daemon_command, write_config

EXAMPLE = Path(__file__).parents[2] / "config" / "azsyncd.example.toml"
GUID = "11111111-2222-3333-4444-555555555555"


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config_file.load(path)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_example_config_is_valid_and_documents_every_section() -> None:
    loaded = config_file.load(EXAMPLE)
    raw = tomllib.loads(EXAMPLE.read_text())
    assert set(raw) == set(Config.model_fields)
    assert loaded.config.account.timezone == "Europe/Berlin"
    assert loaded.config.mapping.custom_fields["Office"] == "officeLocation"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = config_file.load(write_config(tmp_path, "")).config
    assert (config.account.timezone, config.schedule.time, config.target.kind) == (
        "UTC",
        "00:00",
        "local",
    )
    assert config.schedule.enabled is False


def test_every_problem_is_listed_at_once_with_suggestions(tmp_path: Path) -> None:
    problems = problems_of(
        f"""
        [acount]
        name = "x"
        [account]
        timezone = "Europe/Amsterdm"
        [schedule]
        time = "24:00"
        enabld = true
        [[tenants]]
        name = "contoso"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "{GUID}"
        client_secrt_file = "secret"
        [mapping]
        email = "userPrincipleName"
    """,
        tmp_path,
    )
    text = "\n".join(problems)
    assert 'acount: unknown key "acount" (did you mean "account"?)' in text
    assert (
        'account.timezone: unknown time zone "Europe/Amsterdm" (did you mean "Europe/Amsterdam"?)'
        in text
    )
    assert 'schedule.time: "24:00" is not a time of day' in text
    assert 'schedule.enabld: unknown key "enabld" (did you mean "enabled"?)' in text
    assert (
        'tenants[0].client_secrt_file: unknown key "client_secrt_file" (did you mean '
        '"client_secret_file"?)'
    ) in text
    assert (
        'mapping.email: unknown directory attribute "userPrincipleName" (did you mean '
        '"userPrincipalName"?)'
    ) in text
    assert len(problems) == 6


@pytest.mark.parametrize(
    "tenant_id, expected",
    [
        ("consumers", "personal Microsoft accounts cannot be synced"),
        ("9188040d-6c67-4c5b-b112-36a304b66dad", "personal Microsoft accounts cannot be synced"),
        ("common", "is not one tenant"),
        ("organizations", "is not one tenant"),
        ("not a tenant", "neither a tenant GUID nor a domain"),
    ],
)
def test_wrong_tenant_ids_are_refused(tmp_path: Path, tenant_id: str, expected: str) -> None:
    problems = problems_of(
        f"""
        [[tenants]]
        name = "t"
        tenant_id = "{tenant_id}"
        client_id = "{GUID}"
        client_secret_file = "s"
    """,
        tmp_path,
    )
    assert (
        len(problems) == 1
        and problems[0].startswith("tenants[0].tenant_id:")
        and expected in problems[0]
    )


def test_inline_secrets_are_refused_with_where_to_put_them(tmp_path: Path) -> None:
    problems = problems_of(
        f"""
        [target]
        kind = "happyfox"
        [target.happyfox]
        base_url = "https://acme.happyfox.com"
        api_key = "hunter2-api"
        api_key_file = "k"
        auth_code_file = "c"
        [[tenants]]
        name = "t"
        tenant_id = "t.onmicrosoft.com"
        client_id = "{GUID}"
        client_secret = "hunter2-secret"
        client_secret_file = "s"
    """,
        tmp_path,
    )
    assert [p.split(":")[0] for p in problems] == [
        "target.happyfox.api_key",
        "tenants[0].client_secret",
    ]
    assert all("secrets are not accepted inline" in p and "_file" in p for p in problems)
    assert not any("hunter2" in p for p in problems)


def test_cross_field_rules_name_the_key_to_change(tmp_path: Path) -> None:
    problems = problems_of(
        f"""
        [target]
        kind = "happyfox"
        [[target.local.fields]]
        name = "Office"
        type = "dropdown"
        [[tenants]]
        name = "a"
        tenant_id = "a.onmicrosoft.com"
        client_id = "{GUID}"
        cloud = "custom"
        login_url = "http://login.test"
        users = "groups"
        [[tenants]]
        name = "a"
        tenant_id = "b.onmicrosoft.com"
        client_id = "{GUID}"
        auth = "certificate"
        graph_url = "https://graph.test"
        [welcome_email]
        enabled = true
    """,
        tmp_path,
    )
    keys = {p.split(":")[0] for p in problems}
    assert keys == {
        "target.happyfox",
        "target.local.fields[0].choices",
        "tenants[0].login_url",
        "tenants[0].graph_url",
        "tenants[0].client_secret_file",
        "tenants[0].groups",
        "tenants[1].name",
        "tenants[1].graph_url",
        "tenants[1].certificate_file",
        "welcome_email.smtp_host",
        "welcome_email.from_address",
    }


def test_mapping_to_an_undeclared_local_field_suggests_the_right_one(tmp_path: Path) -> None:
    problems = problems_of(
        """
        [[target.local.fields]]
        name = "Department"
        [mapping.custom_fields]
        Departmnet = "department"
    """,
        tmp_path,
    )
    assert problems == [
        'mapping.custom_fields.Departmnet: no custom field "Departmnet" in [target.local]'
        ' (did you mean "Department"?); declare it under [[target.local.fields]]'
    ]


def test_broken_toml_names_the_file_and_position(tmp_path: Path) -> None:
    problems = problems_of("[account\nname = 1", tmp_path)
    assert len(problems) == 1 and "is not valid TOML" in problems[0] and "line 1" in problems[0]


def test_missing_and_loose_secret_files_are_reported_by_check(tmp_path: Path) -> None:
    (tmp_path / "loose").write_text("secret")
    (tmp_path / "loose").chmod(0o644)
    path = write_config(
        tmp_path,
        f"""
        [[tenants]]
        name = "a"
        tenant_id = "a.onmicrosoft.com"
        client_id = "{GUID}"
        client_secret_file = "missing"
        [[tenants]]
        name = "b"
        tenant_id = "b.onmicrosoft.com"
        client_id = "{GUID}"
        client_secret_file = "loose"
    """,
    )
    config_file.load(path)  # the daemon starts: a missing secret only disables that tenant
    with pytest.raises(ConfigError) as caught:
        config_file.load(path, check_files=True)
    messages = [str(p) for p in caught.value.problems]
    assert "does not exist" in messages[0] and "readable by everyone" in messages[1]


def test_relative_secret_files_are_found_in_the_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "secret").write_text("s")
    (creds / "secret").chmod(0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path = write_config(
        tmp_path,
        f"""
        [[tenants]]
        name = "a"
        tenant_id = "a.onmicrosoft.com"
        client_id = "{GUID}"
        client_secret_file = "secret"
    """,
    )
    config_file.load(path, check_files=True)


def test_save_is_atomic_keeps_mode_and_a_backup(tmp_path: Path) -> None:
    path = write_config(tmp_path, "# my comment\n[account]\nname = 'Before'\n", mode=0o640)
    loaded = config_file.load(path)
    changed = loaded.config.model_copy(
        update={"account": loaded.config.account.model_copy(update={"name": "After"})}
    )
    config_file.save(path, changed)
    assert config_file.load(path).config.account.name == "After"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = path.with_name("azsyncd.toml.bak")
    assert "# my comment" in backup.read_text() and "Before" in backup.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_new_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    config_file.save(path, Config())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "[account]\nname = 'Before'\n")
    before = path.read_bytes()

    def broken_replace(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        config_file.save(path, Config())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_dir = tmp_path / "xdg-config" / "azsyncd"
    user_dir.mkdir(parents=True)
    user = write_config(user_dir)
    assert config_file.find_config() == user
    env = write_config(tmp_path)
    monkeypatch.setenv("AZSYNCD_CONFIG", str(env))
    assert config_file.find_config() == env
    assert config_file.find_config(str(user)) == user
    monkeypatch.setenv("AZSYNCD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        config_file.find_config()


def test_check_config_command_exit_codes(tmp_path: Path) -> None:
    good = write_config(tmp_path)
    ok = subprocess.run(
        daemon_command("check-config", "--config", str(good)), capture_output=True, text=True
    )
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\ntime = 'noon'\nenabld = true\n")
    failed = subprocess.run(
        daemon_command("check-config", "--config", str(bad)), capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert (
        "2 problems" in failed.stderr
        and "schedule.time" in failed.stderr
        and "schedule.enabld" in failed.stderr
    )
    assert "Traceback" not in failed.stderr


def test_an_unknown_target_kind_names_the_nearest_and_the_known_ones(tmp_path: Path) -> None:
    problems = problems_of('[target]\nkind = "hapyfox"\n', tmp_path)
    assert problems == [
        'target.kind: unknown target kind "hapyfox" (did you mean "happyfox"?); '
        f"use one of: {', '.join(target_kinds.names())}"
    ]


def test_target_tables_are_checked_key_by_key_with_suggestions(tmp_path: Path) -> None:
    problems = problems_of(
        """
        [target]
        kind = "happyfox"
        [target.happyfox]
        base_url = "acme.happyfox.com"
        api_key_fil = "k"
        auth_code_file = "c"
        rate_headroom = 2
        [target.hapyfox]
        base_url = "https://acme.happyfox.com"
        [[target.local.fields]]
        name = "Office"
        type = "dropdwn"
    """,
        tmp_path,
    )
    assert sorted(problems) == [
        'target.happyfox.api_key_fil: unknown key "api_key_fil" (did you mean "api_key_file"?)',
        "target.happyfox.api_key_file: is required but missing",
        "target.happyfox.base_url: base_url (e.g. https://<account>.happyfox.com) must be a URL"
        " such as https://host/; this one has no https:// host",
        "target.happyfox.rate_headroom: Input should be less than or equal to 1 (got 2)",
        'target.hapyfox: unknown key "hapyfox" (did you mean "happyfox"?); known keys here: '
        f"kind, {', '.join(target_kinds.names())}",
        'target.local.fields[0].type: unknown field type "dropdwn" (did you mean "dropdown"?); '
        f"use one of: {', '.join(WRITABLE)}",
    ]


def test_a_valid_target_table_survives_a_save_and_a_reload(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        [target]
        kind = "happyfox"
        [target.happyfox]
        base_url = "https://acme.happyfox.com/"
        api_key_file = "k"
        auth_code_file = "c"
        mark = "none"
        [[target.local.fields]]
        name = "Office"
        type = "dropdown"
        choices = ["Berlin"]
    """,
    )
    config = config_file.load(path).config
    config_file.save(path, config)
    saved = tomllib.loads(path.read_text())
    assert saved["target"] == {
        "kind": "happyfox",
        "happyfox": {
            "base_url": "https://acme.happyfox.com",
            "api_key_file": "k",
            "auth_code_file": "c",
            "mark": "none",
        },
        "local": {"fields": [{"name": "Office", "type": "dropdown", "choices": ["Berlin"]}]},
    }
    assert config_file.load(path).config == config


def test_check_config_says_the_thresholds_alerts_and_metrics_it_will_use(tmp_path: Path) -> None:
    from azsyncd import cli

    (tmp_path / "hook").write_text("s3cret-value")
    (tmp_path / "hook").chmod(0o600)
    good = write_config(
        tmp_path,
        '[welcome_email]\nsmtp_host = "smtp.example.com"\nfrom_address = "a@example.com"\n'
        '[sync.thresholds]\ncreate = 100\nupdate = "10%"\n'
        '[alerts]\nemail_to = ["ops@example.com"]\nwebhook_url = "https://hooks.example.com/x"\n'
        'secret_file = "hook"\nstale_hours = 26\n'
        '[metrics]\ntextfile = "/var/lib/node_exporter/textfile/azsync.prom"\n',
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["check-config", "--config", str(good)]) == 0
    text = out.getvalue()
    assert "held past: create 100, update 10%" in text
    assert "alerts go to: ops@example.com, hooks.example.com; stale after 26 h" in text
    assert "azsync.prom" in text and "s3cret" not in text
    (tmp_path / "hook").unlink()  # a missing webhook secret is a problem like any secret file
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ConfigError) as found:
        config_file.load(good, check_files=True)
    assert "alerts.secret_file" in str(found.value)


def test_lifecycle_and_contact_group_rules_name_the_problem_and_the_fix(tmp_path: Path) -> None:
    found = problems_of(
        """
        [lifecycle]
        on_removed = "delete"
        grace_days = -1
        [[contact_groups]]
        group = "Sales"
        when = 'departmnt starts with "Sales"'
        [[contact_groups]]
        group = "Fabrikam"
        when = "companyName is Fabrikam"
        [[contact_groups]]
        group = "Both"
        when = 'companyName = "A"'
        entra_group = "90000000-0000-4000-b000-000000000000"
        [[contact_groups]]
        group = "Left Microsoft Entra ID: Contoso"
        entra_group = "not-a-guid"
        """,
        tmp_path,
    )
    text = "\n".join(found)
    assert "lifecycle.on_removed" in text and "disable_login" in text
    assert "lifecycle.grace_days" in text
    assert 'unknown directory attribute "departmnt" (did you mean "department"?)' in text
    assert '"is" tests for a value (is empty, is not empty); to compare, write = "text"' in text
    assert 'rule "Both" needs exactly one of entra_group' in text
    assert "is not a group object id" in text


def test_a_rule_may_not_take_the_leavers_group_or_disagree_on_tickets(tmp_path: Path) -> None:
    found = problems_of(
        """
        [[contact_groups]]
        group = "Left Microsoft Entra ID: Contoso"
        entra_group = "90000000-0000-4000-b000-000000000000"
        [[contact_groups]]
        group = "Sales"
        when = 'department starts with "Sales"'
        access_tickets = true
        [[contact_groups]]
        group = "Sales"
        when = 'companyName = "Fabrikam"'
        """,
        tmp_path,
    )
    assert any(p.startswith("contact_groups[0].group") and "leavers' group" in p for p in found)
    assert any(p.startswith("contact_groups[2].access_tickets") for p in found)
