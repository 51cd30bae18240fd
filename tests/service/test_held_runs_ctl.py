"""azsyncctl runs show / approve / discard on a daemon serving a real Unix socket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azsyncd.control import ctl
from azsyncd.targets.local.table import Contact
from tests.engine_setup import service_daemon
from tests.fakes.directory import contoso
from tests.helpers import served_in_thread


def azsyncctl(socket: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = ctl.main(["--socket", str(socket), *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_held_runs_are_shown_approved_and_discarded_with_azsyncctl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = service_daemon(
        tmp_path, contoso(users=10), skip_empty=True, extra="\n[sync.thresholds]\ncreate = 2\n"
    )
    Contact.bind(daemon.state.db)  # the runs write the built-in store in their processes
    with served_in_thread(daemon) as served:
        code, out = azsyncctl(served.path, capsys, "sync", "--wait")
        assert code == ctl.EXIT_SYNC_FAILED and " held: " in out
        held = int(out.split()[1])
        code, out = azsyncctl(served.path, capsys, "runs", "show", str(held))
        assert code == 0 and "contoso: " in out and "\tWould create" in out
        code, out = azsyncctl(served.path, capsys, "runs", "discard", "latest")
        assert code == ctl.EXIT_USAGE and "run number" in out
        code, out = azsyncctl(served.path, capsys, "runs", "discard", str(held))
        assert code == 0 and "discarded" in out and Contact.select().count() == 0
        code, out = azsyncctl(served.path, capsys, "runs", "approve", str(held))
        assert code == ctl.EXIT_REFUSED and "is discarded, not held" in out

        code, out = azsyncctl(served.path, capsys, "--json", "sync", "--wait")
        second = json.loads(out)["id"]
        code, out = azsyncctl(served.path, capsys, "runs", "approve", str(second))
        assert code in (0, ctl.EXIT_SYNC_FAILED) and f"run {second} approved" in out
        assert Contact.select().count() > 2
        code, out = azsyncctl(served.path, capsys, "runs")
        assert "approved" in out and "discarded" in out and "approval" in out


def test_a_held_plan_shows_its_leavers_and_rule_changes_with_azsyncctl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = contoso(users=10)
    rules = (
        '\n[lifecycle]\non_disabled = "disable_login"\n'
        '\n[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department = "Sales"\'\n'
    )
    daemon = service_daemon(tmp_path, directory, skip_empty=True, extra=rules)
    Contact.bind(daemon.state.db)  # the runs write the built-in store in their processes
    with served_in_thread(daemon) as served:
        azsyncctl(served.path, capsys, "sync", "--wait")
        config = tmp_path / "azsyncd.toml"
        config.write_text(config.read_text() + "\n[sync.thresholds]\ndisable = 0\n")
        assert daemon.config_store.reload()
        users = sorted(Contact.select(), key=lambda c: c.email)
        active = [c for c in users if c.login_enabled and "Sales desk" not in c.groups]
        leaver, joiner = active[0], active[1]
        ids = {u["mail"]: u["id"] for u in directory.users.values()}
        directory.update_user(ids[leaver.email], accountEnabled=False)
        directory.update_user(ids[joiner.email], department="Sales")
        code, out = azsyncctl(served.path, capsys, "sync", "--wait")
        assert code == ctl.EXIT_SYNC_FAILED and " held: " in out and "1 disable" in out
        held = int(out.split()[1])
        code, out = azsyncctl(served.path, capsys, "runs", "show", str(held))
        assert f"{leaver.email}\tsuccess\tWould turn the login off" in out
        assert f'{joiner.email}\tsuccess\tWould add to contact group "Sales desk"' in out
        assert Contact.get_by_id(leaver.id).login_enabled  # held: nothing written
        code, out = azsyncctl(served.path, capsys, "runs", "approve", str(held))
        assert f"run {held} approved" in out
        assert not Contact.get_by_id(leaver.id).login_enabled
        assert "Sales desk" in Contact.get_by_id(joiner.id).groups
