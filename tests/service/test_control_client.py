"""The typed control client against a real daemon on a temporary Unix socket."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.answers import UnreadableAnswer, read
from azsyncd.control.client import (
    ApiFailure,
    Client,
    ClientSecret,
    PemCertificate,
    Pfx,
    Settings,
    Status,
    Tenant,
    credential_body,
    filter_report,
)
from azsyncd.demo.directory import DEMO_CLIENT, DEMO_TENANT
from azsyncd.errors import DaemonUnreachable
from tests.helpers import short_dir, within
from tests.tui.tui_daemon import LiveDaemon

ROOT = Path(__file__).parents[2]


def raw(live: LiveDaemon, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The daemon's own answer, without the typed client."""
    transport = httpx.HTTPTransport(uds=str(live.socket))
    with httpx.Client(transport=transport, base_url="http://azsyncd", timeout=30) as http:
        return http.request(method, path, **kwargs)


def v1_strings(paths: list[Path]) -> list[str]:
    """Where an API path is spelled out: "file:line" for each "/v1/"."""
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "/v1/" in line:
                found.append(f"{path.relative_to(path.parents[1])}:{number}")
    return found


def test_no_api_path_outside_the_client_and_the_api_package(tmp_path: Path) -> None:
    sources = [*sorted((ROOT / "tui").rglob("*.py")), ROOT / "azsyncd/control/ctl.py"]
    assert len(sources) > 10
    assert v1_strings(sources) == []
    planted = tmp_path / "pkg" / "panel.py"
    planted.parent.mkdir()
    planted.write_text('ok = 1\nanswer = client.get(f"/v1/runs/{run_id}")\n')
    assert v1_strings([planted]) == ["pkg/panel.py:2"]


def test_status_settings_fields_attributes_are_typed(client: Client) -> None:
    status = client.status()
    assert isinstance(status, Status) and status.account == "Pilot Desk"
    assert [t.name for t in status.tenants] == ["contoso"] and status.pid > 0
    settings = client.settings()
    assert isinstance(settings, Settings)
    assert settings.mapping.phones == {"mo": "mobilePhone"} and settings.mapping.skip_empty_phones
    assert "department" in client.attributes()
    assert {f.name for f in client.fields()} >= {"Department", "Employee ID"}


def test_update_settings_refusal_names_the_key_and_changes_nothing(
    client: Client, live: LiveDaemon
) -> None:
    before = live.config.read_text()
    with pytest.raises(ApiFailure) as refused:
        client.update_settings(schedule={"time": "noon"})
    failure = refused.value
    assert failure.status == 422 and failure.code == "invalid_config"
    assert [p.key for p in failure.problems] == ["schedule.time"]
    assert "HH:MM" in failure.problems[0].message and failure.fix
    assert live.config.read_text() == before
    saved = client.update_settings(schedule={"time": "23:30"})
    assert saved.schedule.time == "23:30" and client.settings().schedule.time == "23:30"


def test_a_sync_its_runs_records_and_filtered_report(client: Client) -> None:
    outcome = client.sync_and_wait(timeout=within(120))
    assert outcome.run is not None and outcome.run.status in ("succeeded", "partial")
    assert outcome.plan is None
    runs = client.runs(limit=5)
    assert runs[0].id == outcome.run_id and runs[0].started_at is not None
    latest = client.run("latest")
    assert latest.id == outcome.run_id and latest.log, "the run's log lines"
    every = client.records(latest.id, limit=1000)
    assert every.total == 40 == len(every.records)
    failed = client.records(latest.id, status="failed")
    assert 0 < failed.total < 40 and {r.status for r in failed.records} == {"failed"}
    assert len(list(client.all_records(latest.id))) == 40

    whole = client.report_csv(latest.id)
    assert whole.startswith(b"\xef\xbb\xbfEmail,Type,Sync Status,Result")
    assert whole.count(b"\r\n") == 41
    only_failed = client.report_csv(latest.id, status="failed").decode("utf-8-sig")
    lines = only_failed.splitlines()
    assert lines[0] == whole.decode("utf-8-sig").splitlines()[0]
    assert len(lines) == 1 + failed.total and all(",Failed," in line for line in lines[1:])
    email = every.records[0].email
    searched = client.report_csv(latest.id, search=email.upper()).decode("utf-8-sig")
    assert len(searched.splitlines()) == 2 and email in searched


def test_a_second_sync_is_refused_with_the_running_ones_id(
    client: Client, live: LiveDaemon
) -> None:
    live.directory.delay = 0.2
    try:
        first = client.start_sync(dry_run=True)
        with pytest.raises(ApiFailure) as refused:
            client.start_sync()
        assert refused.value.status == 409 and refused.value.run_id == first
    finally:
        live.directory.delay = 0.0
        live.daemon.runner.wait(within(60))


def test_tenants_add_change_enable_delete(client: Client) -> None:
    added = client.add_tenant(
        name="fabrikam", tenant_id=DEMO_TENANT, client_id=DEMO_CLIENT, auth="device_code"
    )
    assert isinstance(added, Tenant) and added.state.status == "new"
    changed = client.update_tenant("fabrikam", display_name="Fabrikam Ltd")
    assert changed.label == "Fabrikam Ltd"
    assert not client.set_tenant_enabled("fabrikam", False).enabled
    assert client.tenant("fabrikam").state.status == "disabled"
    assert client.set_tenant_enabled("fabrikam", True).enabled
    with pytest.raises(ApiFailure) as twice:
        client.add_tenant(name="fabrikam", tenant_id=DEMO_TENANT, client_id=DEMO_CLIENT)
    assert twice.value.status == 409 and twice.value.fix
    client.delete_tenant("fabrikam")
    assert [t.name for t in client.tenants()] == ["contoso"]


def test_device_code_authorization_and_groups(client: Client, live: LiveDaemon) -> None:
    # Custom endpoints are set in the file only: add the tenant there, then reload.
    with live.config.open("a") as config:
        config.write(
            f'\n[[tenants]]\nname = "devicecode"\ntenant_id = "{DEMO_TENANT}"\n'
            f'client_id = "{DEMO_CLIENT}"\nauth = "device_code"\ncloud = "custom"\n'
            f'login_url = "{live.directory.login}"\ngraph_url = "{live.directory.graph}"\n'
        )
    client.reload()
    try:
        started = client.authorize("devicecode")
        assert started.device_code is not None and started.device_code.user_code
        assert started.tenant.name == "devicecode"
        assert client.sign_in_status("devicecode").device_code is not None
    finally:
        client.delete_tenant("devicecode")
    groups = client.groups("contoso", "Customer")
    assert [g.name for g in groups] == ["Customer facing"]


@pytest.mark.parametrize(
    "name", ["../settings", "contoso/disable", "contoso%2Fdisable", "a?b=c", "..", "", "x\\y"]
)
def test_a_name_is_one_path_segment(client: Client, name: str) -> None:
    for call in (
        client.tenant,
        client.delete_tenant,
        lambda n: client.set_tenant_enabled(n, False),
    ):
        with pytest.raises(ApiFailure) as refused:
            call(name)
        assert refused.value.status in (400, 404, 422), refused.value
    assert client.tenant("contoso").enabled, "nothing was disabled or deleted on the way"


def test_contacts(client: Client) -> None:
    client.sync_and_wait(timeout=within(120))
    page = client.contacts(limit=5)
    assert page.total > 5 and len(page.contacts) == 5
    assert all(c.synced_from_entra and c.email for c in page.contacts)
    assert client.contacts_csv().startswith(b"\xef\xbb\xbfEmail,Name")


def test_reload_and_openapi(client: Client, live: LiveDaemon) -> None:
    assert client.reload().config_path == str(live.config)
    assert "/v1/status" in client.openapi()["paths"]


# Answers whose keys are data (counts by kind, a run's options, custom field names).
OPEN_MAPS = {"counts", "options", "custom_fields", "contact_groups", "channels"}
READS = {
    "/v1/status": Client.status,
    "/v1/settings": Client.settings,
    "/v1/tenants": Client.tenants,
    "/v1/runs": Client.runs,
    "/v1/runs/latest": Client.run,
    "/v1/runs/latest/records": lambda c: c.records("latest"),
    "/v1/lifecycle": Client.lifecycle,
    "/v1/fields": Client.fields,
    "/v1/contacts": Client.contacts,
    "/v1/audit": Client.audit,
    "/v1/alerts": Client.alerts,
}


def _keys(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where each key of an answer is: a path of keys and list indexes."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*where, key))
            if key == "target" and isinstance(item, dict) and "kind" in item:
                # [target]'s tables are each target kind's own: the client checks "kind".
                found.append((*where, key, "kind"))
            elif key not in OPEN_MAPS:
                found += _keys(item, (*where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):
            found += _keys(item, (*where, i))
    return found


def _renamed(value: Any, path: tuple[Any, ...], new: str) -> Any:
    if len(path) == 1:
        return {(new if k == path[0] else k): v for k, v in value.items()}
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = _renamed(value[path[0]], path[1:], new)
    return copy


def _served(answers: dict[str, Any]) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path])

    return Client("/nonexistent.sock", transport=httpx.MockTransport(answer))


@pytest.fixture(scope="module")
def answers(live: LiveDaemon) -> dict[str, Any]:
    """The live daemon's own JSON for each read, once a sync has run."""
    live.sync()
    return {path: raw(live, "GET", path, params={"limit": 3}).json() for path in READS}


def test_every_answer_reads_back_to_exactly_the_json_the_daemon_sent(
    answers: dict[str, Any],
) -> None:
    with _served(answers) as client:
        for path, reader in READS.items():
            typed = reader(client)
            again = (
                [t.model_dump(mode="json") for t in typed]
                if isinstance(typed, list)
                else (typed.model_dump(mode="json"))
            )
            sent = answers[path]
            if isinstance(typed, list):
                sent = next(v for v in sent.values() if isinstance(v, list))
            assert again == sent, path


def test_a_key_renamed_on_the_daemon_side_only_is_refused_by_the_client(
    answers: dict[str, Any],
) -> None:
    """Every key of every answer, renamed in turn: the client names it, never a default."""
    tried = 0
    for path, reader in READS.items():
        for where in _keys(answers[path]):
            renamed = _renamed(answers[path], where, f"{where[-1]}_renamed")
            with _served({path: renamed}) as client, pytest.raises(ApiFailure) as refused:
                reader(client)
            assert refused.value.code == "unreadable_answer", (path, where)
            assert str(where[-1]) in refused.value.message, (path, where)
            tried += 1
    assert tried > 200  # status, settings, tenants, runs, records... all of their keys


def test_a_key_renamed_on_the_client_side_only_fails_the_read(answers: dict[str, Any]) -> None:
    """The other way round: an answer type that expects a key under a new name."""

    class RenamedStatus(Status):
        uptime: float = 0.0  # was uptime_seconds, on this side only

    with pytest.raises(UnreadableAnswer, match="uptime"):
        read(RenamedStatus, answers["/v1/status"])


@pytest.mark.parametrize(
    "body",
    [
        {"account": "x", "tenants": "not a list"},
        {"running": {"run_id": "many"}},
        ["a", "list"],
    ],
)
def test_an_answer_of_the_wrong_shape_is_an_api_failure_not_a_crash(body: Any) -> None:
    with _served({"/v1/status": body}) as client, pytest.raises(ApiFailure) as unreadable:
        client.status()
    assert unreadable.value.code == "unreadable_answer"
    assert "GET /v1/status" in unreadable.value.message and unreadable.value.fix


def test_an_error_without_json_is_still_an_api_failure() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(502, text="<html>Bad gateway"))
    with Client("/x.sock", transport=transport) as client, pytest.raises(ApiFailure) as failed:
        client.tenants()
    assert failed.value.status == 502 and "Bad gateway" in failed.value.message


def test_no_daemon_is_daemon_unreachable_with_a_fix() -> None:
    gone = short_dir() / "azsyncd.sock"
    with Client(gone) as client, pytest.raises(DaemonUnreachable) as unreachable:
        client.status()
    assert str(gone) in unreachable.value.message and "systemctl start" in unreachable.value.fix


def test_credentials_never_show_their_secret() -> None:
    secret = ClientSecret("s3cr3t-value~abc")
    pem = PemCertificate("-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY----- k3y")
    pfx = Pfx(b"\x30\x82binary", "pfx-pass")
    shown = repr(secret) + repr(pem) + repr(pfx) + str(secret) + str(pfx)
    assert not re.search("s3cr3t|k3y|pfx-pass|binary", shown)
    assert credential_body(secret) == {"kind": "client_secret", "client_secret": "s3cr3t-value~abc"}
    assert credential_body(pem)["private_key"].endswith("k3y")
    assert credential_body(pfx) == {"kind": "pfx", "pfx": "MIJiaW5hcnk=", "passphrase": "pfx-pass"}


def test_set_credential_stores_a_secret_the_daemon_never_shows(
    client: Client, live: LiveDaemon
) -> None:
    client.set_credential("contoso", ClientSecret("rotated-secret-value"))
    tenant = client.tenant("contoso")
    assert tenant.client_secret_file and "rotated-secret-value" not in repr(tenant)
    for path in ("/v1/tenants", "/v1/tenants/contoso", "/v1/settings", "/v1/status"):
        assert "rotated-secret-value" not in raw(live, "GET", path).text


def test_filter_report_keeps_quoted_cells_and_the_header() -> None:
    report = (
        "\ufeffEmail,Type,Sync Status,Result,Tenant,User ID,Changed fields\r\n"
        "a@x,New,Success,Created,contoso,u1,\r\n"
        "'=b@x,New,Failed,\"bad, really\",contoso,'-u2,\r\n"
        "c@x,New,Success,Created,other,u1,\r\n"
    ).encode()
    kept = filter_report(report, {("contoso", "-u2")}).decode("utf-8")
    assert kept == (
        "\ufeffEmail,Type,Sync Status,Result,Tenant,User ID,Changed fields\r\n"
        "'=b@x,New,Failed,\"bad, really\",contoso,'-u2,\r\n"
    )
