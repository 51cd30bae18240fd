"""Active/standby on one PostgreSQL state, with real daemon processes (issue 14, part 1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import tomli_w

from azsyncd.service.standby import shared_settings
from tests.engine_setup import happyfox_daemon_home
from tests.fakes.happyfox import FakeHappyFox
from tests.fakes.servers import serve
from tests.helpers import short_dir, wait_for, wait_for_socket, within

pytestmark = [pytest.mark.slow, pytest.mark.long]

USERS = 1000  # ten write batches: more than the eight in flight at once
TAKEOVER_LIMIT = 30.0


@dataclass
class Host:
    proc: subprocess.Popen[str]
    socket: Path
    config: Path
    log: Path

    def http(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)),
            base_url="http://azsyncd",
            timeout=10,
        )

    def status(self) -> dict[str, Any]:
        with self.http() as http:
            answer: dict[str, Any] = http.get("/v1/status").json()
            return answer


@contextmanager
def fleet(database_url: str, happyfox: str, names: tuple[str, ...]) -> Iterator[list[Host]]:
    """Daemons, started one after the other (the first is active), on one database."""
    base = short_dir()
    hosts: list[Host] = []
    try:
        for name in names:
            home = base / name
            config = happyfox_daemon_home(home, happyfox, {"database_url": database_url})
            log = home / "daemon.log"
            sock = home / "s.sock"
            with log.open("w") as err:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.fakes.scaled_daemon",
                        "serve",
                        str(config),
                        str(home / "state"),
                        str(USERS),
                        str(sock),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    text=True,
                )
            hosts.append(Host(proc, sock, config, log))
            wait_for_socket(sock, proc=proc)
        yield hosts
    finally:
        for host in hosts:
            if host.proc.poll() is None:
                host.proc.send_signal(signal.SIGTERM)
        for host in hosts:
            try:
                host.proc.wait(within(30))
            except subprocess.TimeoutExpired:
                host.proc.kill()


@pytest.fixture
def happyfox() -> Iterator[tuple[FakeHappyFox, str]]:
    fake = FakeHappyFox(time.monotonic)
    fake.fields = [f for f in fake.fields if f["type"] != "hologram"]
    with serve(fake) as port:
        yield fake, f"http://127.0.0.1:{port}"


def start_slow_run(fake: FakeHappyFox, active: Host, delay: float) -> int:
    """A sync on the active daemon, its writes taking ``delay`` s each, so that it is cut
    mid-run once its first contacts are written."""
    fake.delay = delay
    with active.http() as http:
        run_id: int = http.post("/v1/sync", json={}).json()["run_id"]
    wait_for(lambda: len(fake.created) >= 100, 60, "the first contacts written")
    return run_id


def resumed_without_duplicates(
    fake: FakeHappyFox, new: Host, run_id: int, database_url: str
) -> dict[str, Any]:
    """The daemon that took over resumed the cut run: recorded interrupted, the resumed run
    succeeded, every user is a contact once, and the resumed run's own bookkeeping held."""
    fake.delay = 0
    with new.http() as http:
        runs = wait_for(
            lambda: [
                r
                for r in http.get("/v1/runs").json()["runs"]
                if r["trigger"] == "resume" and r["status"] != "running"
            ],
            60,
            "the resumed run",
        )
        cut = http.get(f"/v1/runs/{run_id}").json()
    assert cut["status"] == "interrupted"
    resumed: dict[str, Any] = runs[0]
    assert resumed["status"] == "succeeded", resumed
    # Every user is a contact once: the takeover wrote nobody twice.
    assert len(fake.created) == USERS and set(fake.created.values()) == {1}
    with closing(psycopg2.connect(database_url)) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT email, count(*) FROM syncrecord WHERE result = 'Created' GROUP BY email"
        )
        created = dict(cursor.fetchall())
    # No run took a contact for new that another had created (one the cut run wrote but
    # did not record is found by its address: existing).
    assert created and set(created.values()) == {1}, {e: n for e, n in created.items() if n > 1}
    # It read every user, and none counts as gone from the directory.
    assert resumed["counts"]["tenants"]["contoso"]["users"] == USERS, resumed["counts"]
    assert resumed["counts"]["removed"] == 0, resumed["counts"]
    return resumed


def test_standby_answers_reads_refuses_writes_and_takes_over_a_killed_run(
    postgres_db: str, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    with fleet(postgres_db, url, ("a", "b")) as (active, standby):
        first, second = active.status(), standby.status()
        here = socket.gethostname()
        assert first["role"] == "active" and first["active_pid"] == active.proc.pid
        assert second["role"] == "standby"
        assert second["active_host"] == here and second["active_pid"] == active.proc.pid

        # The standby reads the shared state and refuses every change, naming the active host.
        with standby.http() as http:
            assert http.get("/v1/runs").status_code == 200
            for refused in (
                http.post("/v1/sync", json={}),
                http.patch("/v1/settings", json={"account": {"timezone": "Europe/Berlin"}}),
            ):
                assert refused.status_code == 409, refused.text
                error = refused.json()["error"]
                assert error["code"] == "standby" and error["active_host"] == here
                assert f"the active daemon is on {here} (pid {active.proc.pid})" in error["message"]
                assert here in error["fix"]
        assert 'timezone = "UTC"' in standby.config.read_text()

        # Settings changed through the API on the active host reach the standby's takeover.
        with active.http() as http:
            saved = http.patch("/v1/settings", json={"account": {"timezone": "Europe/Berlin"}})
            assert saved.status_code == 200, saved.text
        run_id = start_slow_run(fake, active, 0.4)
        active.proc.send_signal(signal.SIGKILL)  # mid-run: the run is recorded interrupted below
        killed_at = time.monotonic()
        active.proc.wait(within(10))

        wait_for(lambda: standby.status()["role"] == "active", TAKEOVER_LIMIT, "takeover")
        took = time.monotonic() - killed_at
        print(f"takeover after kill -9: {took:.1f} s")
        resumed_without_duplicates(fake, standby, run_id, postgres_db)
        status = standby.status()
        assert status["timezone"] == "Europe/Berlin" and status["active_pid"] == standby.proc.pid
        assert 'timezone = "Europe/Berlin"' in standby.config.read_text()
        assert 'client_secret_file = "secret"' in standby.config.read_text()


def test_a_daemon_cut_off_from_the_database_mid_run_steps_down_and_the_run_resumes(
    postgres_db: str, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    with fleet(postgres_db, url, ("a", "b")) as (active, standby):
        assert active.status()["role"] == "active"
        # Its last writes are still under way once it has noticed (within 2 s) and stepped down.
        run_id = start_slow_run(fake, active, 5.0)
        # The server drops the session holding the lead, as when the network to it fails.
        with ExitStack() as stack:
            conn = psycopg2.connect(postgres_db)
            stack.callback(conn.close)
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (f"azsyncd leader {socket.gethostname()} {active.proc.pid}",),
                )
                assert cursor.fetchone() == (True,)
        dropped = time.monotonic()
        wait_for(lambda: standby.status()["role"] == "active", TAKEOVER_LIMIT, "takeover")
        print(f"takeover after a dropped connection: {time.monotonic() - dropped:.1f} s")
        old = wait_for(
            lambda: (s := active.status())["role"] == "standby" and s["active_host"] and s,
            TAKEOVER_LIMIT,
            "the old active on standby",
        )
        assert old["active_pid"] == standby.proc.pid
        with active.http() as http:
            refused = http.post("/v1/sync", json={})
        assert refused.status_code == 409 and f"pid {standby.proc.pid}" in refused.text
        assert os.path.exists(active.socket)
        # The old daemon's run ends after the takeover began the resumed one: it must leave
        # that run's bookkeeping alone.
        resumed_without_duplicates(fake, standby, run_id, postgres_db)


def test_a_daemon_alone_on_sqlite_is_active_and_needs_no_database_lock(tmp_path: Path) -> None:
    from tests.engine_setup import service_daemon

    daemon = service_daemon(tmp_path)
    try:
        status = daemon.board.status()
        assert status.role == "active" and status.active_pid == os.getpid()
        assert status.active_host == socket.gethostname()
        assert not daemon.standby.leadership.shared
        run_id = daemon.start_sync("manual")
        assert run_id is not None and daemon.runner.wait(within(30))
    finally:
        daemon.stop(5)


def test_at_takeover_the_newest_settings_win(postgres_db: str, tmp_path: Path) -> None:
    from tests.engine_setup import service_daemon

    extra = tomli_w.dumps({"state": {"database_url": postgres_db}})
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = service_daemon(tmp_path / "a", extra=extra)
    second = service_daemon(tmp_path / "b", extra=extra)
    try:
        assert first.active and not second.active
        first.config_store.update(lambda d: d["account"].update(timezone="Europe/Berlin"))
        first.config_store.update(lambda d: d["state"].update(history_runs=12))
        # The admin edits the standby's file by hand after that (and does not reload).
        path = second.loaded.path
        path.write_text(path.read_text() + "# edited\n")
        stored = shared_settings.stored(first.state.db)
        assert stored is not None and stored.document["account"]["timezone"] == "Europe/Berlin"
        # A file's time is the kernel's coarse clock: say plainly that the edit came later.
        os.utime(path, (stored.at + 1, stored.at + 1))
        first.stop(5)
        wait_for(lambda: second.active, TAKEOVER_LIMIT, "takeover")
        assert second.config.account.timezone == "UTC"
        assert "# edited" in second.loaded.path.read_text()
        # Its file is newer than the stored settings: it is kept, and stored in turn.
        kept = wait_for(
            lambda: (
                (found := shared_settings.stored(second.state.db))
                and found.at > stored.at
                and found
            ),
            TAKEOVER_LIMIT,
            "the taking-over daemon's settings stored",
        )
        assert kept.document["account"]["timezone"] == "UTC"
        assert kept.document["state"]["history_runs"] == 30
    finally:
        for daemon in (first, second):
            if daemon.standby.leadership.role == "active":
                daemon.stop(5)
