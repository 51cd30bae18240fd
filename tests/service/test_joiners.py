"""Joiners end to end: the daemon with an injected clock (the only thing faked), its control
API on a real Unix socket driven by azsyncctl, Microsoft identity + Graph over HTTPS on
loopback, the fake HappyFox over HTTP on loopback and welcome emails received by aiosmtpd.
Time moves when the test moves the clock, never by waiting: the scheduler is woken at each
step and the test waits for the state the step leads to."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from azsyncd.config import file as config_file
from azsyncd.control import ctl
from azsyncd.demo.api import person
from azsyncd.service.daemon import Daemon
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.helpers import FakeClock, served_in_thread, short_dir, socket_client, wait_until
from tests.service.e2e_world import write_config
from tests.unit.test_welcome_and_crash import smtp, welcome_toml  # noqa: F401

pytestmark = pytest.mark.slow

BERLIN = "Europe/Berlin"
# Monday 2 March 2026, 10:00 in Berlin (09:00 UTC): the daily run is at 06:00 Berlin, so
# the first start after midnight is a tick's.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2026 given in Berlin's time (UTC+1 in March before the 29th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


@dataclass
class Joining:
    daemon: Daemon
    socket: Path
    directory: FakeTenant
    happyfox: FakeHappyFox
    clock: FakeClock
    inbox: Any
    people: dict[str, dict[str, Any]]

    def ctl(self, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
        code = ctl.main(["--socket", str(self.socket), *args])
        out = capsys.readouterr().out
        assert code == 0, out
        return out

    def login(self, name: str) -> bool | None:
        """The contact's portal login in HappyFox; None: no contact."""
        contact = self.happyfox.by_email.get(self.people[name]["mail"])
        return None if contact is None else bool(contact.get("login", True))

    def welcomed(self, name: str) -> int:
        address = self.people[name]["mail"]
        return sum(1 for m in self.inbox.messages if m["To"] == address)

    def runs(self) -> int:
        return len(self.daemon.state.runs(1000))

    def move(self, to: datetime) -> None:
        """Move the clock and wake the scheduler; wait until what is due now has run."""
        before = self.runs()
        self.clock.now = to
        self.daemon.scheduler.wake()
        wait_until(
            lambda: (
                self.daemon.scheduler.seconds_until_due() > 0 and self.daemon.runner.current is None
            ),
            60,
        )
        # A start always does something, so its run is kept: wait for one to be recorded.
        wait_until(lambda: self.runs() > before and self.daemon.runner.current is None, 60)

    def records(self, kind: str) -> list[Any]:
        return [
            r
            for run in self.daemon.state.runs(1000)
            for r in self.daemon.state.iter_records(run.id)
            if r.type == kind
        ]


def hire(directory: FakeTenant, name: str, day: str | None) -> dict[str, Any]:
    user = person(directory, name, "Support")
    user["employeeHireDate"] = f"{day}T00:00:00Z" if day else None
    return directory.add_user(user)


@pytest.fixture
def joining(tmp_path: Path, smtp: Any) -> Iterator[Joining]:  # noqa: F811
    inbox, port = smtp
    tls, ca = tls_for_localhost(tmp_path)
    happyfox = FakeHappyFox(time.monotonic)
    directory = contoso(users=12)
    people = {
        "jo": hire(directory, "Jo Joiner", "2026-03-04"),  # two days ahead: created, login off
        "fay": hire(directory, "Fay Future", "2026-03-20"),  # 18 days: not synced yet
        "mo": hire(directory, "Mo Mover", "2026-03-04"),  # moved to the 5th
        "earl": hire(directory, "Earl Early", "2026-03-05"),  # moved to the 3rd
        "rita": hire(directory, "Rita Removed", "2026-03-05"),  # the date removed: now
        "old": hire(directory, "Olga Oldhand", "2019-05-01"),  # hired long ago: as before
    }
    with (
        serve(wsgi_from_handler(directory.handle), tls) as login_port,
        serve(wsgi_from_handler(directory.handle), tls) as graph_port,
        serve(happyfox) as hf_port,
    ):
        directory.login = f"https://localhost:{login_port}"
        directory.graph = f"https://localhost:{graph_port}"
        config = tmp_path / "azsyncd.toml"
        write_config(
            config,
            directory.login,
            directory.graph,
            f"http://127.0.0.1:{hf_port}",
            ca,
            extra=welcome_toml(port)
            + '\n[schedule]\nenabled = true\ntime = "06:00"\ninterval = "2m"\n'
            + "\n[sync]\nfull_every = 0\n"  # every later read is a delta
            + "\n[lifecycle]\ncreate_before_hire_days = 3\n",
        )
        text = config.read_text().replace(
            '[account]\nname = "E2E Desk"\n',
            f'[account]\nname = "E2E Desk"\ntimezone = "{BERLIN}"\n',
        )
        config.write_text(text)
        clock = FakeClock(START)
        daemon = Daemon(config_file.load(config), clock=clock, state_dir=short_dir() / "state")
        with served_in_thread(daemon) as served:
            world = Joining(daemon, served.path, directory, happyfox, clock, inbox, people)
            # Turned on for the first time: the first sync runs at once.
            wait_until(lambda: world.runs() > 0 and daemon.runner.current is None, 60)
            yield world


def test_a_joiner_is_created_login_off_and_started_on_its_day(
    joining: Joining, capsys: pytest.CaptureFixture[str]
) -> None:
    first = joining.daemon.state.latest_run()
    assert first is not None and first.trigger == "first"
    # Within three days of the hire date: the contact exists, no login, no welcome email.
    for name in ("jo", "mo", "earl", "rita"):
        assert joining.login(name) is False, name
        assert joining.welcomed(name) == 0, name
    assert joining.login("old") is True and joining.welcomed("old") == 1  # as before
    assert joining.login("fay") is None  # 18 days ahead: not synced yet
    assert first.counts["joiners"] == 4 and first.counts["new"] >= 5
    with socket_client(joining.socket) as http:
        report = http.get(f"/v1/runs/{first.id}/report.csv").text.removeprefix("\ufeff")
    rows = {r["Email"]: r for r in csv.DictReader(io.StringIO(report))}
    jo = rows[joining.people["jo"]["mail"]]
    assert jo["Type"] == "Joiner" and jo["Sync Status"] == "Success"
    assert "login off" in jo["Result"] and "2026-03-04" in jo["Result"]
    fay = rows[joining.people["fay"]["mail"]]
    assert fay["Type"] == "Joiner" and fay["Sync Status"] == "Skipped"
    assert "created on 2026-03-17" in fay["Result"]

    listed = joining.ctl("lifecycle", "joiners", capsys=capsys)
    assert "today is 2026-03-02 (Europe/Berlin)" in listed
    assert (
        f"2026-03-04 (in 2 day(s)) contoso {joining.people['jo']['mail']}: contact ready" in listed
    )
    assert f"{joining.people['fay']['mail']}: contact from 2026-03-17" in listed
    assert "5 upcoming start(s)" in listed

    # Tuesday 00:01 in Berlin (still Monday in UTC): a tick; Jo's day has not come.
    joining.directory.update_user(joining.people["earl"]["id"], employeeHireDate=None)
    joining.move(berlin(3, 0, 1))
    assert joining.login("earl") is True and joining.welcomed("earl") == 1  # date removed: now
    assert joining.login("jo") is False and joining.welcomed("jo") == 0

    joining.move(berlin(3, 6, 0) + timedelta(seconds=30))  # Tuesday's daily run
    assert joining.login("jo") is False
    # Wednesday 00:01 in Berlin (23:01 UTC on Tuesday): the first tick after midnight.
    joining.move(berlin(4, 0, 1))
    assert joining.login("jo") is True and joining.welcomed("jo") == 1
    started = [r for r in joining.records("Started") if r.email == joining.people["jo"]["mail"]]
    assert len(started) == 1 and "Login turned on, welcome email sent" in started[0].result
    run = joining.daemon.state.latest_run()
    assert run is not None and run.trigger == "tick" and run.counts["started"] >= 1
    # Later runs leave Jo alone: one welcome email, ever.
    joining.move(berlin(4, 6, 0) + timedelta(seconds=30))  # the daily run
    assert joining.welcomed("jo") == 1

    # 17 March: Fay's contact is due three days before her hire date, though no delta
    # brought her again (the read is a delta: full_every = 0).
    joining.move(berlin(17, 0, 1))
    assert joining.login("fay") is False and joining.welcomed("fay") == 0
    joining.move(berlin(20, 0, 1))
    assert joining.login("fay") is True and joining.welcomed("fay") == 1
    assert "0 upcoming start(s)" in joining.ctl("lifecycle", "joiners", capsys=capsys)


def test_a_moved_hire_date_is_followed(joining: Joining) -> None:
    people, directory = joining.people, joining.directory
    directory.update_user(people["mo"]["id"], employeeHireDate="2026-03-05T00:00:00Z")  # later
    directory.update_user(people["earl"]["id"], employeeHireDate="2026-03-03T00:00:00Z")  # earlier
    directory.update_user(people["rita"]["id"], employeeHireDate=None)  # removed: now
    joining.move(START + timedelta(minutes=2, seconds=30))  # the next tick reads the changes
    assert joining.login("rita") is True and joining.welcomed("rita") == 1
    assert joining.login("earl") is False and joining.login("mo") is False
    joining.move(berlin(3, 0, 1))  # Earl's new date
    assert joining.login("earl") is True and joining.welcomed("earl") == 1
    assert joining.login("mo") is False and joining.login("jo") is False
    joining.move(berlin(4, 0, 1))  # Mo's old date: only Jo starts
    assert joining.login("jo") is True and joining.login("mo") is False
    assert joining.welcomed("mo") == 0
    joining.move(berlin(5, 0, 1))  # Mo's new date
    assert joining.login("mo") is True and joining.welcomed("mo") == 1
    reasons = {r.email: r.result for r in joining.records("Started") if r.status == "success"}
    assert "the hire date was removed in Entra ID" in reasons[people["rita"]["mail"]]
    assert "hire date 2026-03-05" in reasons[people["mo"]["mail"]]
