"""azsyncctl runs show / approve / discard on a daemon serving a real Unix socket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azsyncd.control import ctl
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon
from tests.fakes.directory import contoso
from tests.helpers import served_in_thread


def azsyncctl(socket: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = ctl.main(["--socket", str(socket), *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_held_runs_are_shown_approved_and_discarded_with_azsyncctl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = make_daemon(
        tmp_path, contoso(users=10), skip_empty=True, extra="\n[sync.thresholds]\ncreate = 2\n"
    )
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
