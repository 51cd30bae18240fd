"""A socket admin writes templates that are Python format strings: ``"{"`` (every later sync
with a leaver fails), ``"{tenant:>200000000}"`` (19 characters: a run's process grew to 455 MB;
one more digit passes the unit's 1 GB limit), an attribute walk, the same in the welcome
email's subject. Each is refused, through the API and in the file, and the leavers' sync that
renders the group name runs as usual, its memory flat."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import daemon_command, running_daemon, within
from tests.service.conftest import LocalWorld

pytestmark = pytest.mark.slow
HOSTILE = ["{", "{tenant:>200000000}", "{tenant.__class__.__mro__}", "{0}", "{tenant!r:>99999}"]
RUN_PEAK_MB = 300  # a leavers' sync of a few users; the attack took 455 MB


def vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


class PeakRss:
    """The highest VmHWM of any process the daemon starts (a run's), polled while it runs."""

    def __init__(self, daemon_pid: int) -> None:
        self.daemon_pid, self.peak_kib, self.seen = daemon_pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(within(5))

    def _poll(self) -> None:
        while not self._stop.is_set():
            for child in children(self.daemon_pid):
                self.seen += 1
                self.peak_kib = max(self.peak_kib, vm_hwm_kib(child))
            time.sleep(0.01)


def test_templates_are_checked_and_a_leavers_sync_stays_small(
    local_world: LocalWorld, tmp_path: Path
) -> None:
    config = local_world.config
    config.write_text(
        config.read_text() + '\n[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'
    )
    with running_daemon(config) as daemon, daemon.client() as http:
        first = http.post("/v1/sync", json={"wait": True, "timeout": 120}, timeout=130)
        assert first.status_code == 202, first.text
        before = config.read_bytes()
        answers = {
            template: [
                http.patch("/v1/lifecycle", json={"lifecycle": {"group_name": template}}),
                http.patch(
                    "/v1/settings",
                    json={"welcome_email": {"subject": template.replace("tenant", "account")}},
                ),
            ]
            for template in HOSTILE
        }
        after_api = config.read_bytes()

        # In the file by hand: a reload refuses it and keeps the last good configuration.
        hand = before.decode().replace("grace_days = 0\n", 'grace_days = 0\ngroup_name = "{"\n')
        config.write_text(hand)
        reloaded = http.post("/v1/reload", json={})
        checked = subprocess.run(
            daemon_command("check-config", "--config", str(config)),
            capture_output=True,
            text=True,
            timeout=60,
        )

        # A user leaves: the leavers' step renders the group name.
        local_world.directory.remove_user("00000000-0000-4000-a000-000000000001")
        with PeakRss(daemon.proc.pid) as rss:
            second = http.post("/v1/sync", json={"wait": True, "timeout": 120}, timeout=130)
        daemon_kib = vm_hwm_kib(daemon.proc.pid)
        run = second.json()["run"]
        log = " ".join(line["message"] for line in run["log"])

    for template, (group, subject) in answers.items():
        assert group.status_code == 422, (template, group.text)
        assert subject.status_code == 422, (template, subject.text)
        assert "group_name" in group.text and "subject" in subject.text
    assert after_api == before
    assert reloaded.status_code == 422 and "lifecycle.group_name" in reloaded.text
    assert checked.returncode == 2 and "write a literal brace" in checked.stderr
    print(
        f"template attack refused; leavers' sync: run's peak RSS {rss.peak_kib / 1024:.0f} MB,"
        f" daemon's {daemon_kib / 1024:.0f} MB"
    )
    assert run["status"] == "succeeded", log
    assert run["counts"].get("left") == 1, run["counts"]
    assert rss.seen, "no run's process was seen"
    assert rss.peak_kib < RUN_PEAK_MB * 1024
