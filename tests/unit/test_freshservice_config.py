"""[target.freshservice]: its keys, their checks with the fix, and what check-config says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.config.changes import file_only_changes
from azsyncd.errors import ConfigError
from azsyncd.targets import factory
from azsyncd.targets.freshservice import FreshserviceSettings, limits_for
from tests.freshservice_setup import MAPPING_TOML
from tests.helpers import daemon_command

TABLE = """
[target]
kind = "freshservice"
[target.freshservice]
{body}
"""


def problems_of(tmp_path: Path, body: str, extra: str = "", check_files: bool = False) -> list[str]:
    (tmp_path / "azsyncd.toml").write_text(TABLE.format(body=body) + extra)
    (tmp_path / "azsyncd.toml").chmod(0o600)
    with pytest.raises(ConfigError) as caught:
        config_file.load(tmp_path / "azsyncd.toml", check_files=check_files)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def loaded(tmp_path: Path, body: str, extra: str = "") -> FreshserviceSettings:
    (tmp_path / "azsyncd.toml").write_text(TABLE.format(body=body) + extra)
    (tmp_path / "azsyncd.toml").chmod(0o600)
    settings = config_file.load(tmp_path / "azsyncd.toml").config.target.settings
    assert isinstance(settings, FreshserviceSettings)
    return settings


def test_a_domain_and_a_plan_are_enough(tmp_path: Path) -> None:
    settings = loaded(tmp_path, 'domain = "Acme"\napi_key_file = "key"\nplan = "growth"')
    assert settings.url == "https://acme.freshservice.com" and settings.limits == (200, 70)
    assert limits_for(settings) == {"total": 180, "list": 63}
    own = loaded(
        tmp_path,
        'base_url = "https://help.acme.example/"\napi_key_file = "key"\n'
        "per_minute = 300\nlist_per_minute = 500\nrate_headroom = 0.5",
    )
    assert own.url == "https://help.acme.example" and own.limits == (300, 300)
    assert limits_for(own) == {"total": 150, "list": 150}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            'api_key_file = "key"\nplan = "pro"',
            "target.freshservice: give either domain",
        ),
        (
            'domain = "acme"\nbase_url = "https://acme.freshservice.com"\napi_key_file = "k"\n'
            'plan = "pro"',
            "target.freshservice: give either domain",
        ),
        ('domain = "acme"\napi_key_file = "key"', "target.freshservice: give plan"),
        (
            'domain = "acme"\napi_key_file = "key"\nper_minute = 100',
            "target.freshservice: give plan",
        ),
        (
            'domain = "acme"\napi_key_file = "key"\nplan = "pro"\nper_minute = 100\n'
            "list_per_minute = 40",
            "target.freshservice: give plan or per_minute and list_per_minute, not both",
        ),
        (
            'domain = "acme.freshservice.com"\napi_key_file = "key"\nplan = "pro"',
            'target.freshservice.domain: "acme.freshservice.com" is not an account '
            "name: write the part before .freshservice.com",
        ),
        (
            'base_url = "http://acme.freshservice.com"\napi_key_file = "key"\nplan = "pro"',
            "target.freshservice.base_url: base_url (e.g. "
            "https://acme.freshservice.com) must use https://",
        ),
        (
            'domain = "acme"\napi_key_file = "key"\nplan = "platinum"',
            "target.freshservice.plan: Input should be 'starter', 'growth', 'msp_core', 'pro' or "
            "'enterprise'",
        ),
        (
            'domain = "acme"\napi_key = "hunter2"\napi_key_file = "key"\nplan = "pro"',
            "target.freshservice.api_key: secrets are not accepted inline",
        ),
    ],
)
def test_bad_tables_say_what_and_how_to_fix(tmp_path: Path, body: str, problem: str) -> None:
    problems = problems_of(tmp_path, body)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    assert "hunter2" not in problems[0]


def test_phones_other_than_work_and_mobile_are_refused_for_freshservice(tmp_path: Path) -> None:
    mapping = '\n[mapping]\nphones = { w = "businessPhones[0]", h = "mobilePhone" }\n'
    problems = problems_of(tmp_path, 'domain = "acme"\napi_key_file = "key"\nplan = "pro"', mapping)
    assert problems == [
        'mapping.phones.h: Freshservice keeps a work ("w") and a mobile ("mo") phone only; map '
        '"h" to one of them, or remove it'
    ]


def test_the_key_file_is_checked_on_disk(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, 'domain = "acme"\napi_key_file = "key"\nplan = "pro"', check_files=True
    )
    assert len(problems) == 1 and problems[0].startswith("target.freshservice.api_key_file:")


def test_the_domain_is_changed_in_the_file_only(tmp_path: Path) -> None:
    before = {"target": {"kind": "freshservice", "freshservice": {"domain": "acme"}}}
    after = {"target": {"kind": "freshservice", "freshservice": {"domain": "evil"}}}
    assert file_only_changes(before, after) == ["target.freshservice.domain"]
    plan = {"target": {"kind": "freshservice", "freshservice": {"domain": "acme", "plan": "pro"}}}
    assert file_only_changes(before, plan) == []


def test_check_config_accepts_it_and_the_factory_shares_one_limiter(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("fs-api-key")
    (tmp_path / "key").chmod(0o600)
    settings = loaded(
        tmp_path, 'domain = "acme"\napi_key_file = "key"\nplan = "starter"', MAPPING_TOML
    )
    del settings
    done = subprocess.run(
        daemon_command("check-config", "--config", str(tmp_path / "azsyncd.toml")),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "target freshservice" in done.stdout and "fs-api-key" not in done.stdout
    assert "help desk calls a minute, at most: 90 total, 36 list" in done.stdout
    config = config_file.load(tmp_path / "azsyncd.toml").config
    from azsyncd.state import open_database

    db = open_database("", tmp_path)
    first = factory.account_limiter(config, db)
    assert first is factory.account_limiter(config, db)  # one per account
    assert first is not None and first.limits == {"total": 90, "list": 36}
