"""Each run of ``azsyncd run`` in a child process: it dies with the daemon, a crash of it is a
failed run that says what happened, a child that will not stop is killed, status shows what
it writes, and no secret goes through its pipe."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from azsyncd.config import file as config_file
from azsyncd.demo.directory import DEMO_SECRET
from azsyncd.demo.run import tenant_toml as demo_tenant_toml
from azsyncd.errors import StateError
from azsyncd.service.daemon import Daemon
from azsyncd.service.runs.process import make_process_job, run_spec
from azsyncd.service.runs.worker import database_url
from tests.engine_setup import FIELDS, mapping_toml, sync, tenant_toml
from tests.fakes.directory import contoso
from tests.fakes.servers import serve, tls_for_localhost, wsgi_from_handler
from tests.helpers import wait_for, within
from tests.service.e2e_world import World, start_a_slow_sync, started, sync_and_wait

pytestmark = pytest.mark.slow
WORKER = b"azsyncd.service.runs.worker"
POSTS_METRIC = 'azsync_helpdesk_calls_total{kind="POST"}'


def children(parent: int, marker: bytes = WORKER) -> list[int]:
    """The live processes ``parent`` started whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and marker in command:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def run_of(http: Any, run_id: int) -> dict[str, Any]:
    return dict(http.get(f"/v1/runs/{run_id}").json())


def test_kill_9_of_the_worker_fails_the_run_and_the_next_one_works(world: World) -> None:
    with started(world) as daemon, daemon.client() as http:
        run_id = start_a_slow_sync(world, http)
        [worker] = children(daemon.proc.pid)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: run_of(http, run_id)["status"] != "running")
        run = run_of(http, run_id)
        assert run["status"] == "failed", run
        assert "killed by SIGKILL" in run["message"] and "journalctl" in run["message"]
        assert daemon.proc.poll() is None
        world.happyfox.delay = 0
        again = sync_and_wait(http)
        assert again["status"] in ("succeeded", "partial"), again
        emails = [c["email"] for c in world.happyfox.contacts.values()]
        assert len(emails) == len(set(emails)) and max(world.happyfox.created.values()) == 1
        assert children(daemon.proc.pid) == []  # each run's process ends with it
        # The runs' HappyFox calls, made in their own processes, are in the daemon's metrics.
        metrics = http.get("/v1/metrics").text
        [posts] = [line for line in metrics.splitlines() if line.startswith(POSTS_METRIC)]
        assert float(posts.split()[-1]) >= again["counts"]["new"] / 100


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[Any]:
    """An in-process daemon whose job starts ``python -c CODE`` as the run's process."""
    made: list[Daemon] = []

    def build(code: str, stop_grace: float = 15.0) -> Daemon:
        home = tmp_path / str(len(made))
        home.mkdir()
        (home / "secret").write_text(DEMO_SECRET)
        (home / "azsyncd.toml").write_text(FIELDS + mapping_toml() + tenant_toml())
        daemon = Daemon(
            config_file.load(home / "azsyncd.toml"),
            state_dir=home / "state",
            job_factory=lambda host: make_process_job(
                host, stop_grace=stop_grace, command=[sys.executable, "-c", code]
            ),
        )
        made.append(daemon)
        return daemon

    yield build
    for daemon in made:
        daemon.stop(5)


READ_SPEC = "import json, os, signal, sys, time; spec = json.loads(sys.stdin.readline()); "


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (READ_SPEC + "print('Segmentation fault', flush=True); time.sleep(30)", "'Segmentation"),
        (READ_SPEC + "sys.exit(3)", "exited (3) before the run ended"),
        (READ_SPEC + "os.kill(os.getpid(), signal.SIGSEGV)", "killed by SIGSEGV"),
        (
            READ_SPEC + "print(json.dumps({'kind': 'failed', 'error': 'RuntimeError: boom',"
            " 'counts': {'new': 2}}), flush=True)",
            "the sync failed: RuntimeError: boom",
        ),
    ],
)
def test_a_broken_worker_is_a_failed_run_that_says_what_happened(
    quick: Any, code: str, expected: str
) -> None:
    daemon = quick(code)
    run = sync(daemon)
    assert run.status == "failed" and expected in run.message, run.message
    assert ("journalctl" in run.message) == ("boom" not in expected)
    assert daemon.runner.current is None  # the daemon takes the next run


def test_a_worker_that_does_not_stop_is_killed_and_the_run_interrupted(quick: Any) -> None:
    stubborn = (
        READ_SPEC + "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(json.dumps({'kind': 'progress', 'phase': 'writing contacts', 'tenant': 't',"
        " 'done': 7, 'total': None, 'counts': {'new': 7}}), flush=True); time.sleep(60)"
    )
    daemon = quick(stubborn, stop_grace=1.0)
    run_id = daemon.start_sync("manual")
    wait_for(lambda: daemon.runner.current is not None and daemon.runner.current.done == 7)
    [worker] = children(os.getpid(), b"SIG_IGN")
    began = time.monotonic()
    assert daemon.runner.shutdown(15)
    assert time.monotonic() - began < 10 and gone(worker)
    run = daemon.state.run(run_id)
    assert run is not None and run.status == "interrupted"
    assert "within 1 s" in run.message and "killed" in run.message
    assert run.counts["new"] == 7


def test_no_password_goes_through_the_pipe(tmp_path: Path) -> None:
    url = "postgresql://azsync:pw-not-in-pipe@db.example:5432/azsync"
    config = tmp_path / "azsyncd.toml"
    config.write_text(f'[state]\ndatabase_url = "{url}"\n')
    config.chmod(0o600)
    host = SimpleNamespace(
        config=config_file.load(config).config,
        graph_socket=None,
        config_dir=tmp_path,
        config_path=config,
        state_dir=tmp_path,
        clock=lambda: datetime.now(UTC),
    )
    progress = SimpleNamespace(
        trigger="manual", dry_run=False, started_at=datetime.now(UTC), counts={}
    )
    spec = run_spec(host, SimpleNamespace(run_id=1, progress=progress, options={}))  # type: ignore[arg-type]
    assert "pw-not-in-pipe" not in json.dumps(spec)
    assert spec["config"]["state"]["database_url"] == "postgresql://azsync@db.example:5432/azsync"
    # The worker takes the password from the file, if the file still names that database.
    snapshot = config_file.validate(spec["config"], str(config))
    assert database_url(spec, snapshot, config) == url
    config.write_text('[state]\ndatabase_url = "postgresql://azsync:pw@elsewhere/azsync"\n')
    with pytest.raises(StateError, match="restart azsyncd"):
        database_url(spec, snapshot, config)


def test_status_shows_what_the_worker_wrote_while_it_runs(tmp_path: Path) -> None:
    """The worker's writes reach status while it runs, though this process did not make
    them: here the first tenant turned off for a missing secret, while the second is read."""
    tls, ca = tls_for_localhost(tmp_path)
    slow = contoso(users=300, seed=8)
    slow.delay = 0.3  # each Graph page: its read lasts a second or more
    with (
        serve(wsgi_from_handler(slow.handle), tls) as login,
        serve(wsgi_from_handler(slow.handle), tls) as graph,
    ):
        slow.login, slow.graph = f"https://localhost:{login}", f"https://localhost:{graph}"
        tables = demo_tenant_toml("first", secret_file="no-such-secret") + tenant_toml(
            "second", login=slow.login, graph=slow.graph, extra=f'ca_bundle = "{ca}"'
        )
        (tmp_path / "secret").write_text(DEMO_SECRET)
        config = tmp_path / "azsyncd.toml"
        config.write_text(FIELDS + mapping_toml() + tables)
        daemon = Daemon(config_file.load(config), state_dir=tmp_path / "state", sync_process=True)
        try:
            second = daemon.config.tenant("second")
            assert second is not None
            assert daemon.tenants.authorize_app(second).status == "active"

            def first_off_during_second() -> bool:
                # Answered from the copy: the copy was current before and after the answer.
                in_memory = daemon.board.in_memory
                status = daemon.board.status()
                return (
                    in_memory
                    and daemon.board.in_memory
                    and status.running is not None
                    and status.running.tenant == "second"
                    and status.tenants[0].status == "disabled"
                )

            assert daemon.board.status().tenants[0].status == "new"
            run_id = daemon.start_sync("manual")
            wait_for(first_off_during_second, 60)
            assert daemon.runner.wait(within(60))
            run = daemon.state.run(run_id)
            assert run is not None and run.status == "partial", run.message
            assert children(os.getpid()) == []
        finally:
            daemon.stop(10)


def test_runs_in_their_own_process_on_postgresql_keep_the_daemons_lead(
    world: World, postgres_db: str
) -> None:
    """Each run's process opens its own session (a spawned interpreter, never a fork of the
    daemon's): the daemon keeps its session and with it the lead. The password in the URL
    (ignored by the test server's trust) reaches the run from the file, not the pipe."""
    with_password = postgres_db.replace("azsync@", "azsync:file-only-pw@", 1)
    world.config.write_text(
        world.config.read_text() + f'\n[state]\ndatabase_url = "{with_password}"\n'
    )
    with started(world) as daemon, daemon.client() as http:
        assert http.post("/v1/tenants/contoso/authorize").json()["state"]["status"] == "active"
        first = sync_and_wait(http)
        assert first["status"] == "partial" and first["counts"]["new"] > 50, first
        world.directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
        second = sync_and_wait(http)
        assert second["counts"]["updated"] == 1, second
        status = http.get("/v1/status").json()
        assert status["role"] == "active" and status["active_pid"] == daemon.proc.pid
        assert status["tenants"][0]["last_checked_at"] is not None
