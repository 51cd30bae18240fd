"""POST /v1/preview and the refusal at save, on a live daemon over its Unix socket: the
typed client and azsyncctl, the simulated Contoso and the built-in store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from azsyncd.control import ctl
from azsyncd.control.client import ApiFailure, Client
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon

USERS = 40
FAX = "phone (m) <- faxNumber: empty in the directory"
# The mistake as a new admin makes it: Main phone from faxNumber, empty phones not skipped.
MISTAKE = {"mapping": {"skip_empty_phones": False, "phones": {"m": "faxNumber"}}}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    with live_daemon(tmp_path_factory.mktemp("preview"), TENANT, users=USERS) as daemon:
        daemon.sync()
        yield daemon


@pytest.fixture
def client(live: LiveDaemon) -> Iterator[Client]:
    with Client(live.socket, timeout=60) as c:
        yield c


def test_the_fax_number_mistake_is_shown_and_saving_it_is_refused(
    client: Client, live: LiveDaemon
) -> None:
    before = live.config.read_text()
    contacts = client.contacts(limit=1000)
    found = client.preview(settings=MISTAKE)
    tenant = found.tenants[0]
    assert tenant.contacts == contacts.total > 0
    assert found.counts["fail"] == USERS and found.fail_share == pytest.approx(1.0)
    assert found.reasons[0].count == USERS and found.reasons[0].reason.startswith(FAX)
    assert len(found.reasons[0].examples) == 3
    assert found.refused and FAX in found.refused and "max_fail_share = 0.2" in found.refused
    with pytest.raises(ApiFailure) as refused:
        client.update_settings(**MISTAKE)
    assert refused.value.code == "preview_fails" and FAX in refused.value.message
    assert refused.value.preview is not None and refused.value.preview.counts["fail"] == USERS
    assert live.config.read_text() == before  # nothing saved
    assert client.contacts(limit=1000) == contacts  # nothing written


def test_a_preview_names_each_changed_field(client: Client) -> None:
    found = client.preview(
        settings={"mapping": {"custom_fields": {"Department": "upper(department)"}}}, sample=5
    )
    assert found.counts["update"] == USERS - found.counts["fail"] and found.counts["create"] == 0
    assert not found.refused
    change = found.sample[0]
    assert change.action == "update" and len(found.sample) == 5
    assert len(change.changes) == 1 and change.changes[0].startswith("Department: ")
    old, new = change.changes[0].removeprefix("Department: ").split(" -> ")
    assert new == old.upper()


def test_an_on_create_rule_previews_no_update(client: Client) -> None:
    found = client.preview(
        settings={
            "mapping": {
                "custom_fields": {
                    "Department": {"value": "upper(department)", "apply": "on_create"}
                }
            }
        }
    )
    assert found.counts["update"] == 0 and found.counts["unchanged"] > 0


def test_a_scope_previews_who_leaves(client: Client) -> None:
    found = client.preview(
        settings={"scope": {"include": ["has license"]}},
        lifecycle={"lifecycle": {"on_removed": "disable_login"}},
    )
    # The demo's guests and disabled accounts have no license.
    assert found.counts["out_of_scope"] > 0
    assert found.counts["leaver"] == found.counts["out_of_scope"]
    assert any(c.action == "leaver" for c in found.sample)


def test_azsyncctl_previews_refuses_and_forces(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> tuple[int, str]:
        code = ctl.main(["--socket", str(live.socket), *args])
        return code, capsys.readouterr().out

    before = live.config.read_text()
    mistake = ["mapping.skip_empty_phones=false", "mapping.phones.m=faxNumber"]
    code, out = run("settings", "set", *mistake, "--preview")
    assert code == 1 and f"{USERS} x {FAX}" in out and "refused at save" in out
    code, out = run("settings", "set", *mistake)
    assert code == 1 and out.startswith("not saved: this change would fail") and FAX in out
    assert live.config.read_text() == before
    code, out = run("lifecycle", "rule-add", "Sales", "--when", 'department = "Sales"', "--preview")
    assert code == 0 and "group change" in out
    code, out = run("settings", "set", *mistake, "--force")
    assert code == 0 and "settings saved" in out
    assert "faxNumber" in live.config.read_text()
    code, out = run(
        "settings", "set", "mapping.skip_empty_phones=true", "mapping.phones.m=mobilePhone"
    )
    assert code == 0


def test_a_preview_of_a_bad_change_says_what_is_wrong(client: Client) -> None:
    with pytest.raises(ApiFailure) as refused:
        client.preview(settings={"mapping": {"email": "coalesce(mial, userPrincipalName)"}})
    assert refused.value.status == 422
    assert 'did you mean "mail"' in str(refused.value.problems[0].message)
    with pytest.raises(ApiFailure) as unknown:
        client.preview(settings={"mappings": {}})
    assert unknown.value.status == 422


def test_azsyncctl_previews_and_sets_a_tenant_s_own_scope(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tenant's [scope] is set, and previewed first, from the command line, and shown."""

    def run(*args: str) -> tuple[int, str]:
        code = ctl.main(["--socket", str(live.socket), *args])
        return code, capsys.readouterr().out

    before = live.config.read_text()
    unlicensed = 'scope.exclude=["not has license"]'
    code, out = run("tenants", "set", "contoso", unlicensed, "--preview")
    assert code == 0 and "out of scope" in out and f"  contoso: {USERS} users" in out
    assert live.config.read_text() == before  # a preview saves nothing
    code, out = run("tenants", "set", "contoso", unlicensed)
    assert code == 0 and "saved contoso" in out
    code, out = run("--json", "tenants", "show", "contoso")
    assert code == 0 and json.loads(out)["scope"] == {"include": [], "exclude": ["not has license"]}
    code, out = run("tenants", "set", "contoso", "scope.exclude=[]")
    assert code == 0
    saved = live.config.read_text()
    code, out = run("tenants", "set", "contoso", 'scope.exclude=["has licence"]')
    assert code == 1
    code, out = run("tenants", "set", "contoso", "name=other", "--preview")
    assert code == 2  # a usage error: no traceback, nothing sent
    with Client(live.socket, timeout=60) as client, pytest.raises(ApiFailure) as refused:
        client.preview(tenant_change=("contoso", {"name": "other"}))
    assert refused.value.status == 422 and "name" in refused.value.message
    assert live.config.read_text() == saved
