"""[target.zendesk] in the configuration file and in check-config: every mistake named at its
key with the fix, the token only ever in a file, and what the account allows said."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.errors import ConfigError
from azsyncd.state import open_database
from azsyncd.targets.factory import build_target
from azsyncd.targets.zendesk.target import Zendesk
from tests.helpers import daemon_command, write_config

GOOD = """
[target]
kind = "zendesk"
[target.zendesk]
subdomain = "acme"
email = "admin@acme.example"
api_token_file = "token"
plan = "enterprise"
[mapping.phones]
mo = "mobilePhone"
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "token").write_text("secret-token-value")
    (tmp_path / "token").chmod(0o600)
    with pytest.raises(ConfigError) as caught:
        config_file.load(write_config(tmp_path, text), check_files=True)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_check_config_says_what_the_account_allows(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("secret-token-value")
    (tmp_path / "token").chmod(0o600)
    path = write_config(tmp_path, GOOD)
    done = subprocess.run(
        daemon_command("check-config", "--config", str(path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "target zendesk" in done.stdout
    assert (
        "  target: Zendesk at https://acme.zendesk.com, signing in as admin@acme.example"
        in done.stdout
    )
    assert "700 calls a minute (plan enterprise); azsync uses 630" in done.stdout
    assert "bulk jobs of 100 users; if Zendesk refuses them (403), one call a user" in done.stdout
    assert "secret-token-value" not in done.stdout + done.stderr


def test_the_built_target_uses_the_mapped_phone_type_and_the_account_budget(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("secret-token-value")
    (tmp_path / "token").chmod(0o600)
    loaded = config_file.load(write_config(tmp_path, GOOD), check_files=True)
    target = build_target(loaded.config, loaded.directory, open_database("", tmp_path))
    assert isinstance(target, Zendesk)
    assert target.phone_type == "mo" and target.http.limiter.limits == {"call": 630}
    assert target.http.base == "https://acme.zendesk.com"
    target.close()


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            ('subdomain = "acme"', 'subdomain = "acme"\nbase_url = "https://help.acme.example"'),
            "target.zendesk: give exactly one of subdomain",
        ),
        (('subdomain = "acme"', ""), "target.zendesk: give exactly one of subdomain"),
        (
            ('subdomain = "acme"', 'subdomain = "Acme Corp"'),
            'target.zendesk.subdomain: "acme corp" is not a Zendesk subdomain',
        ),
        (
            ('subdomain = "acme"', 'base_url = "http://acme.zendesk.com"'),
            "target.zendesk.base_url: base_url (e.g. https://acme.zendesk.com) must use https://",
        ),
        (('plan = "enterprise"', 'plan = "enterprize"'), "target.zendesk.plan: Input should be"),
        (
            ('api_token_file = "token"', 'api_token_file = "token"\napi_token = "hunter2"'),
            "target.zendesk.api_token: secrets are not accepted inline",
        ),
        (
            ('mo = "mobilePhone"', 'mo = "mobilePhone"\nw = "businessPhones[0]"'),
            "mapping.phones: a Zendesk user has one phone; map one type",
        ),
        (
            ('api_token_file = "token"', 'api_token_file = "missing"'),
            "target.zendesk.api_token_file: secret file",
        ),
    ],
)
def test_each_mistake_is_named_at_its_key(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    problems = problems_of(tmp_path, GOOD.replace(*change))
    assert any(p.startswith(problem) for p in problems), problems
    assert all("hunter2" not in p for p in problems)


def test_a_subdomain_given_with_its_domain_is_taken(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t")
    (tmp_path / "token").chmod(0o600)
    text = GOOD.replace('subdomain = "acme"', 'subdomain = "ACME.zendesk.com"')
    loaded = config_file.load(write_config(tmp_path, text), check_files=True)
    assert loaded.config.target.settings.url == "https://acme.zendesk.com"  # type: ignore[union-attr]
