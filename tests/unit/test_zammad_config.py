"""[target.zammad] and the rules it adds to the file, as the config loader and check-config
report them: each problem named by key, with its fix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.errors import ConfigError
from azsyncd.targets.zammad import ZammadSettings
from tests.helpers import daemon_command, write_config

TARGET = """
[target]
kind = "zammad"
[target.zammad]
base_url = "https://helpdesk.example.com/api/v1/"
token_file = "zammad-token"
"""


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config_file.load(path)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_a_minimal_table_takes_the_polite_defaults(tmp_path: Path) -> None:
    settings = config_file.load(write_config(tmp_path, TARGET)).config.target.settings
    assert isinstance(settings, ZammadSettings)
    assert settings.base_url == "https://helpdesk.example.com"  # the API path is azsync's
    assert (settings.customer_role, settings.max_per_minute) == ("Customer", 600)


def test_each_mistake_is_named_with_its_fix(tmp_path: Path) -> None:
    text = (
        TARGET.replace("https://helpdesk", "http://helpdesk")
        + """
token = "inline-secret-value"
max_per_minute = 0
[mapping]
phones = { w = "businessPhones[0]", h = "faxNumber" }
custom_fields = { email = "mail", firstname = "givenName", department = "department" }
"""
    )
    problems = problems_of(text, tmp_path)
    assert any(
        p.startswith("target.zammad.base_url:") and "must use https://" in p for p in problems
    )
    assert any(
        p.startswith("target.zammad.token:") and "not accepted inline" in p for p in problems
    )
    assert "inline-secret-value" not in " ".join(problems)
    assert any(p.startswith("target.zammad.max_per_minute:") for p in problems)
    # The cross-key rules run once the tables themselves are valid.
    fixed = text.replace("http://helpdesk", "https://helpdesk").replace(
        'token = "inline-secret-value"\nmax_per_minute = 0\n', ""
    )
    assert sorted(problems_of(fixed, tmp_path)) == [
        'mapping.custom_fields.email: "email" cannot be mapped for Zammad: the address comes '
        "from mapping.email; remove it",
        "mapping.name: with firstname and lastname mapped, the name azsync compares must be the "
        'one Zammad shows: map both and set name = "{givenName}"',
        "mapping.phones.h: Zammad has one phone and one mobile per user: map them as phones.w "
        "(phone) and phones.mo (mobile)",
    ]


def test_first_and_last_name_mapped_with_the_matching_name(tmp_path: Path) -> None:
    text = (
        TARGET
        + """
[mapping]
name = "{givenName} {surname}"
custom_fields = { firstname = "givenName", lastname = "surname" }
"""
    )
    assert config_file.load(write_config(tmp_path, text)).config.mapping.name


def test_the_rules_only_bind_when_zammad_is_the_target(tmp_path: Path) -> None:
    text = (
        TARGET.replace('kind = "zammad"', 'kind = "local"')
        + """
[mapping]
phones = { h = "faxNumber" }
"""
    )
    assert config_file.load(write_config(tmp_path, text)).config.target.kind == "local"


def test_check_config_checks_the_token_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, TARGET)
    missing = subprocess.run(
        daemon_command("check-config", "--config", str(path)), capture_output=True, text=True
    )
    assert missing.returncode == 2 and "target.zammad.token_file" in missing.stderr
    (tmp_path / "zammad-token").write_text("secret-token-value")
    (tmp_path / "zammad-token").chmod(0o600)
    good = subprocess.run(
        daemon_command("check-config", "--config", str(path)), capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr
    assert "target zammad" in good.stdout and "secret-token-value" not in good.stdout
