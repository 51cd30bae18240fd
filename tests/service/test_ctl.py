"""azsyncctl against a real daemon on a temporary socket: output, --json, exit codes."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azsyncd.answers import Status, read
from azsyncd.control import ctl
from azsyncd.demo.directory import DEMO_CLIENT, DEMO_TENANT
from azsyncd.demo.run import tenant_toml
from tests.helpers import Deadline, short_dir
from tests.tui.tui_daemon import LiveDaemon, live_daemon

TENANT = tenant_toml(secret_file="contoso-secret")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    with live_daemon(tmp_path_factory.mktemp("daemon"), TENANT, users=30) as daemon:
        daemon.daemon.runner.wait(0)
        yield daemon


def azsyncctl(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = ctl.main(["--socket", str(live.socket), *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(live: LiveDaemon, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = azsyncctl(live, capsys, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_sync_wait_runs_and_log_with_a_filtered_csv(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = azsyncctl(live, capsys, "sync", "--wait")
    assert code in (0, 4) and out.startswith("run ") and " new, " in out
    run_id = out.split()[1]
    code, out, _ = azsyncctl(live, capsys, "runs")
    assert code == 0 and out.split()[0] == run_id and "manual" in out
    report = tmp_path / "failed.csv"
    code, out, err = azsyncctl(
        live, capsys, "log", run_id, "--status", "failed", "--csv", str(report)
    )
    assert code == 0 and f"to {report.resolve()}" in err
    failed_lines = [line for line in out.splitlines() if "\tfailed\t" in line]
    rows = report.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("Email,Type,Sync Status,Result")
    assert len(rows) - 1 == len(failed_lines) > 0
    assert all(",Failed," in row for row in rows[1:])
    logged = as_json(live, capsys, "log")
    assert logged["run"]["id"] == int(run_id) and len(logged["records"]) == 30


def test_every_command_has_json(live: LiveDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert as_json(live, capsys, "status")["account"] == "Pilot Desk"
    assert as_json(live, capsys, "tenants", "list")[0]["state"]["status"]
    assert as_json(live, capsys, "tenants", "show", "contoso")["name"] == "contoso"
    assert "mapping" in as_json(live, capsys, "settings", "show")
    assert isinstance(as_json(live, capsys, "runs"), list)
    assert "contacts" in as_json(live, capsys, "contacts", "--limit", "3")
    assert as_json(live, capsys, "reload")["config_path"] == str(live.config)
    assert as_json(live, capsys, "tenants", "groups", "contoso", "--search", "Cust")[0]["name"]


def test_tenant_lifecycle(live: LiveDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    add = ["tenants", "add", "--name", "fabrikam", "--tenant-id", DEMO_TENANT]
    code, out, err = azsyncctl(
        live, capsys, *add, "--client-id", DEMO_CLIENT, "--auth", "device_code"
    )
    assert code == 0 and out.strip() == "added tenant fabrikam", err
    assert azsyncctl(live, capsys, "tenants", "disable", "fabrikam")[:2] == (
        0,
        "disabled fabrikam\n",
    )
    assert "disabled" in azsyncctl(live, capsys, "tenants", "list")[1]
    assert azsyncctl(live, capsys, "tenants", "enable", "fabrikam")[0] == 0
    assert azsyncctl(live, capsys, "tenants", "delete", "fabrikam")[:2] == (0, "deleted fabrikam\n")
    code, _, err = azsyncctl(live, capsys, "tenants", "show", "fabrikam")
    assert code == 1 and 'tenant "fabrikam" was not found' in err and "fix:" in err


def test_refusals_and_usage_errors(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = azsyncctl(live, capsys, "settings", "set", "schedule.time=noon")
    assert code == 1 and "schedule.time" in err and "HH:MM" in err
    code, _, err = azsyncctl(live, capsys, "--json", "settings", "set", "account.timezone=Mars")
    assert code == 1 and json.loads(err)["error"]["problems"][0]["key"] == "account.timezone"
    code, _, err = azsyncctl(live, capsys, "settings", "set", "enabled=true")
    assert code == 2 and "SECTION.KEY=VALUE" in err
    with pytest.raises(SystemExit) as usage:
        ctl.main(["--socket", str(live.socket), "log", "last-tuesday"])
    assert usage.value.code == 2 and "not a run id" in capsys.readouterr().err
    code, _, err = azsyncctl(live, capsys, "tenants", "credential", "contoso")
    assert code == 2 and "--secret-stdin" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = azsyncctl(live, capsys, "tenants", "credential", "contoso", "--secret-stdin")
    assert code == 2 and "no client secret on stdin" in err
    code, _, err = azsyncctl(
        live, capsys, "tenants", "credential", "contoso", "--certificate", "/nonexistent.pem"
    )
    assert code == 2 and "--private-key" in err
    code, _, err = azsyncctl(live, capsys, "tenants", "show", "../settings")
    assert code == 1 and "cannot name a tenant" in err


def test_a_secret_from_stdin_is_stored_with_the_tenant_and_never_shown(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "pasted-secret-Zq8~value"
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    add = ["tenants", "add", "--name", "withsecret", "--tenant-id", DEMO_TENANT]
    code, out, err = azsyncctl(live, capsys, *add, "--client-id", DEMO_CLIENT, "--secret-stdin")
    assert code == 0 and out.strip() == "added tenant withsecret", err
    tenant = live.daemon.config.tenant("withsecret")
    assert tenant is not None and tenant.client_secret_file
    assert Path(tenant.client_secret_file).read_text().strip() == secret
    monkeypatch.setattr("sys.stdin", io.StringIO("rotated-" + secret + "\n"))
    code, out, _ = azsyncctl(live, capsys, "tenants", "credential", "withsecret", "--secret-stdin")
    assert code == 0 and "stored the credential of withsecret" in out
    tenant = live.daemon.config.tenant("withsecret")
    assert tenant is not None and tenant.client_secret_file
    assert Path(tenant.client_secret_file).read_text().strip() == "rotated-" + secret
    for command in (["tenants", "show", "withsecret"], ["settings", "show"], ["status"]):
        assert secret not in "".join(azsyncctl(live, capsys, "--json", *command)[1:])
    assert secret not in live.config.read_text()
    azsyncctl(live, capsys, "tenants", "delete", "withsecret")


def test_a_bad_credential_option_adds_no_tenant(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = azsyncctl(
        live,
        capsys,
        *("tenants", "add", "--name", "halfway", "--tenant-id", DEMO_TENANT),
        *("--client-id", DEMO_CLIENT, "--auth", "certificate", "--pfx", "/nonexistent.pfx"),
    )
    assert code == 2 and "/nonexistent.pfx is not a readable file" in err
    assert "halfway" not in azsyncctl(live, capsys, "tenants", "list")[1]


def test_unreachable_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    gone = short_dir() / "azsyncd.sock"
    assert ctl.main(["--socket", str(gone), "runs"]) == 3
    assert "azsyncd is not running" in capsys.readouterr().err


def _ctl_process(live: LiveDaemon, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(live.socket), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_output_nobody_reads_ends_quietly_with_141(live: LiveDaemon) -> None:
    live.sync()
    proc = _ctl_process(live, "log")
    assert proc.stdout is not None
    proc.stdout.close()  # `azsyncctl log | head -0`: the reader is gone before a line is out
    _, err = proc.communicate(timeout=Deadline(60).left())
    assert proc.returncode == ctl.EXIT_CLOSED == 141
    assert err == "", err  # no traceback, no "Exception ignored" at exit


def test_a_pipeline_into_head_shows_no_traceback(live: LiveDaemon) -> None:
    live.sync()
    command = (
        f"{shlex.quote(sys.executable)} -m azsyncd.control.ctl --socket {live.socket}"
        " --json log | head -c 1"
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=Deadline(60).left()
    )
    assert done.stdout == "{" and "Traceback" not in done.stderr and done.stderr == ""


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ctl.main(["--help"])
    shown = capsys.readouterr().out
    for code, meaning in ctl.EXIT_CODES.items():
        assert f"  {code:<3} {meaning}" in shown


def test_json_status_is_the_answer_exactly(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = as_json(live, capsys, "status")
    assert read(Status, printed).account == "Pilot Desk"


def test_a_refused_reload_lists_the_file_s_problems(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    """`azsyncctl reload` of a broken file says what is wrong with it, as check-config does
    (it said only "the configuration file is invalid"; the problems were in the answer's
    detail, which neither the human nor the --json output showed)."""
    good = live.config.read_text()
    live.config.write_text(good + '\n[scope]\ninclude = ["has licence"]\n')
    try:
        code, _, err = azsyncctl(live, capsys, "reload")
        assert code == 1 and "still running on the last good one" in err
        assert "scope.include: 'has licence': at column 5: expected \"license\"" in err
        code, _, err = azsyncctl(live, capsys, "--json", "reload")
        assert code == 1 and "has licence" in json.loads(err)["error"]["detail"]
    finally:
        live.config.write_text(good)
        assert azsyncctl(live, capsys, "reload")[0] == 0
