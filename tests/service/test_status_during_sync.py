"""GET /v1/status during a sync is answered from what the sync published, without a
database query; a change made meanwhile shows at once; an idle daemon reads the database."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from azsyncd.control.client import Client
from azsyncd.demo.run import tenant_toml
from azsyncd.service.socket.server import SWITCH_INTERVAL, settle_process
from azsyncd.state.models import TenantState
from tests.fakes.directory import contoso
from tests.helpers import wait_for, within
from tests.tui.tui_daemon import LiveDaemon, live_daemon


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveDaemon]:
    directory = contoso(users=300)  # three pages of 100
    with live_daemon(
        tmp_path, tenant_toml(secret_file="contoso-secret"), directory=directory
    ) as daemon:
        yield daemon


def counted(calls: list[str], read: Callable[[], Any]) -> Callable[[], Any]:
    def wrapper() -> Any:
        calls.append(threading.current_thread().name)
        return read()

    return wrapper


def test_status_during_a_sync_asks_the_database_nothing(live: LiveDaemon) -> None:
    daemon, state = live.daemon, live.daemon.state
    calls: list[str] = []
    state.tenants = counted(calls, state.tenants)  # type: ignore[method-assign]
    state.latest_run = counted(calls, state.latest_run)  # type: ignore[method-assign]
    live.directory.delay = 0.5  # each Graph page: the sync lasts a few seconds
    with Client(live.socket, timeout=30) as client:
        try:
            run_id = client.start_sync()
            wait_for(lambda: daemon.board.in_memory, 20)
            calls.clear()
            answers = [client.status() for _ in range(5)]
            asked = [name for name in calls if not name.startswith("sync-")]
            assert daemon.board.in_memory, "the sync was still running"
            assert asked == [], f"status read the database on {asked}"
            for answer in answers:
                assert answer.running is not None and answer.running.run_id == run_id
                assert answer.last_run is not None and answer.last_run.id == run_id

            # A change made meanwhile is in the very next answer, not at the sync's next step.
            state.set_tenant("contoso", status="error", reason="changed during the sync")
            [tenant] = client.status().tenants
            assert tenant.reason == "changed during the sync"
        finally:
            live.directory.delay = 0.0
            daemon.runner.wait(within(60))
        finished = client.status()
        assert finished.running is None
        assert finished.last_run is not None and finished.last_run.id == run_id
        assert finished.last_run.status in ("succeeded", "partial")


def test_an_idle_daemon_shows_what_another_process_wrote(live: LiveDaemon) -> None:
    with Client(live.socket, timeout=30) as client:
        client.sync_and_wait(timeout=within(120))
        assert not live.daemon.board.in_memory
        # As another daemon sharing the database would: a write that bypasses this State.
        TenantState.update(reason="written elsewhere").where(
            TenantState.name == "contoso"
        ).execute()
        [tenant] = client.status().tenants
        assert tenant.reason == "written elsewhere"


def test_settling_the_process_freezes_the_startup_heap_and_shortens_the_switch() -> None:
    assert gc.get_freeze_count() == 0
    interval = sys.getswitchinterval()
    try:
        settle_process()
        assert gc.get_freeze_count() > 10_000  # the modules and objects loaded so far
        assert sys.getswitchinterval() == SWITCH_INTERVAL < interval
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
