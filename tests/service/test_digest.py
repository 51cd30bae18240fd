"""The data-quality digest end to end: the daemon with an injected clock serving its control
API on a real Unix socket, the digest received by aiosmtpd and by a webhook receiver on
loopback, and ``azsyncctl report quality`` printing what it sent."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.config import file as config_file
from azsyncd.control import ctl
from azsyncd.service.daemon import Daemon
from azsyncd.service.watch.alerts import AlertBook, AlertWatch
from azsyncd.service.watch.digest import period
from tests.engine_setup import Router, make_daemon
from tests.fakes.directory import contoso
from tests.helpers import FakeClock, served_in_thread, short_dir, socket_client, wait_until
from tests.service.test_alerts import SECRET, Receiver, receiver  # noqa: F401
from tests.unit.test_welcome_and_crash import smtp  # noqa: F401

pytestmark = pytest.mark.slow

OWNERS = "directory-owners@contoso.example"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    home: Path
    state_dir: Path
    inbox: Any
    hook: Receiver
    clock: FakeClock
    directory: Any

    def daemon(self) -> Daemon:
        return Daemon(
            config_file.load(self.home / "azsyncd.toml"),
            state_dir=self.state_dir,
            graph_transport=httpx.MockTransport(Router(self.directory)),
            clock=self.clock,
        )

    def digests(self) -> list[Any]:
        return [m for m in self.inbox.messages if m["To"] == OWNERS]

    def posts(self) -> list[dict[str, Any]]:
        return [body for body, _ in self.hook.posts if body.get("event") == "digest"]


@pytest.fixture
def world(tmp_path: Path, smtp: Any, receiver: tuple[Receiver, str]) -> World:  # noqa: F811
    (inbox, port), (hook, url) = smtp, receiver
    (tmp_path / "digest-secret").write_text(SECRET)
    (tmp_path / "digest-secret").chmod(0o600)
    directory = contoso(users=120)
    make_daemon(
        tmp_path,
        directory,
        extra=f"""
[account]
name = "Contoso Desk"
timezone = "Europe/Berlin"

[welcome_email]
smtp_host = "127.0.0.1"
smtp_port = {port}
tls = "none"
from_address = "azsync@contoso.example"

[alerts.digest]
to = ["{OWNERS}", "{url}"]
every = "weekly"
min_count = 5
addresses = 4
secret_file = "digest-secret"
""",
    ).stop(5)
    return World(tmp_path, short_dir() / "state", inbox, hook, FakeClock(MONDAY), directory)


@contextmanager
def serving(world: World) -> Iterator[tuple[Daemon, Path]]:
    daemon = world.daemon()
    daemon.alert_backoff = 0.01
    with served_in_thread(daemon) as served:
        yield daemon, served.path


def synced(daemon: Daemon, path: Path) -> None:
    """A sync through the socket, and the alert check that follows it."""
    checks = daemon.alert_watch.checks
    with socket_client(path, timeout=130) as http:
        answer = http.post("/v1/sync", json={"wait": True, "timeout": 120})
        assert answer.status_code == 202, answer.text
    wait_until(lambda: daemon.alert_watch.checks > checks, 60)


def report(path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = ctl.main(["--socket", str(path), "report", "quality", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out.rstrip("\n")


def test_a_weekly_digest_is_sent_once_grouped_by_fix_on_both_channels(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with serving(world) as (daemon, path):
        synced(daemon, path)
        wait_until(lambda: len(world.digests()) == 1 and len(world.posts()) == 1, 30)
        mail, post = world.digests()[0], world.posts()[0]
        subject = " ".join(str(mail["Subject"]).split())  # unfolded
        assert subject.startswith("[azsync digest] Contoso Desk: data quality, 2026-W10: ")
        body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
        # Grouped by fix: one line per fix, with a count, four addresses and a trace.
        assert "To fix in Entra ID:" in body
        lines = body.splitlines()
        phones = next(line for line in lines if line.startswith("- Set mobilePhone for "))
        assert phones.endswith("users (help desk field: phone (mo))")
        office = (
            '- Office "Mars Base" is not a choice of Office (allowed: Berlin, London, Remote): '
            "3 users; add the choice in the help desk or correct officeLocation"
        )
        assert office in lines
        assert any(line.startswith("- Correct employeeId for ") for line in lines)
        users = [line for line in lines if line.startswith("  Users: ")]
        assert users and all(line.count("@") <= 4 for line in users)
        traces = [line for line in lines if line.startswith("  One user's trace: ")]
        assert len(traces) == len(users)
        assert all("azsyncctl sync --user " in t and t.endswith("--dry-run") for t in traces)
        # Nothing but the attribute that failed: no other value of a user, no secret.
        for leak in ("+49", "Sales", "Engineer", "A-6", SECRET, "HYPERLINK"):
            assert leak not in mail.as_string() and leak not in str(post), leak
        assert world.hook.posts[-1][1] == SECRET  # the secret goes in the header alone
        # The webhook has the same text and the groups as data.
        assert post["text"] in body and post["period"] == "2026-W10"
        mars = next(g for g in post["groups"] if g["kind"] == "choice")
        assert mars["count"] == 3 and mars["attribute"] == "officeLocation"

        # azsyncctl report quality prints the same text; --csv has every address.
        printed = report(path, "--csv", str(tmp_path / "quality.csv"), capsys=capsys)
        assert printed == post["text"] and printed in body
        rows = list(csv.DictReader(io.StringIO((tmp_path / "quality.csv").read_text("utf-8-sig"))))
        assert {r["Attribute"] for r in rows} >= {"mobilePhone", "officeLocation", "employeeId"}
        assert len([r for r in rows if r["Attribute"] == "officeLocation"]) == 3

        # Another sync the same week: no second digest.
        synced(daemon, path)
        assert len(world.digests()) == 1 and len(world.posts()) == 1

    # A restart in the same week sends nothing again.
    world.clock.now = MONDAY + timedelta(days=6, hours=13)  # Sunday 23:00 in Berlin
    with serving(world) as (daemon, path):
        synced(daemon, path)
        assert len(world.digests()) == 1 and len(world.posts()) == 1
        # Monday in Berlin: the next week's digest, once.
        world.clock.now = MONDAY + timedelta(days=6, hours=15)
        synced(daemon, path)
        wait_until(lambda: len(world.digests()) == 2 and len(world.posts()) == 2, 30)
        assert world.posts()[1]["period"] == "2026-W11"
        synced(daemon, path)
        assert len(world.digests()) == 2


def test_no_digest_below_min_count(world: World) -> None:
    for user in world.directory.users.values():  # every contact syncs but a few
        user["mobilePhone"] = user.get("mobilePhone") or "+49 170 1"
        user["officeLocation"] = "Berlin"
        user["employeeId"] = "7"
    with serving(world) as (daemon, path):
        synced(daemon, path)
        assert daemon.state.run(1) is not None
        quality = daemon.state.all_failing()
        assert len(list(quality)) < 5  # min_count = 5: nothing to send
        assert world.digests() == [] and world.posts() == []


def test_only_the_active_daemon_checks_the_digest() -> None:
    """Daemons sharing a state: the standby's watch runs neither alerts nor the digest."""
    called = threading.Event()
    book = AlertBook.__new__(AlertBook)
    book.check = lambda: []  # type: ignore[method-assign]
    active = [False]
    watch = AlertWatch(book, every=3600, active=lambda: active[0], also=[called.set])
    watch.start()
    try:
        watch.poke()
        wait_until(lambda: watch.checks >= 1, 10)
        assert not called.is_set()
        active[0] = True
        watch.poke()
        wait_until(called.is_set, 10)
    finally:
        watch.stop()


def test_periods_are_the_account_s_weeks_and_days() -> None:
    sunday_night = datetime(2026, 3, 8, 22, 30, tzinfo=UTC)  # Sunday 23:30 in Berlin
    assert period("weekly", sunday_night, "Europe/Berlin") == "2026-W10"
    assert period("weekly", sunday_night, "Asia/Tokyo") == "2026-W11"  # Monday there
    assert period("daily", sunday_night, "Asia/Tokyo") == "2026-03-09"
    assert period("weekly", datetime(2027, 1, 1, 12, tzinfo=UTC), "UTC") == "2026-W53"
