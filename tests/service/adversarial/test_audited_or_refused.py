"""An edit is audited, or refused: with the state database locked (a stuck writer, a backup
holding it), ``PATCH /v1/settings`` answered 200 and rewrote the file while its audit row was
lost. Now it answers 503 and writes nothing; and a database that locks between the request's
start and its edit refuses the edit too, so the file never holds a change the audit lacks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from azsyncd.state import database
from tests.helpers import running_daemon
from tests.service.adversarial.conftest import contoso_config
from tests.service.adversarial.test_consistency import exclusive_lock
from tests.tui.tui_daemon import live_daemon

pytestmark = pytest.mark.slow
CHANGE = {"schedule": {"time": "05:00"}}


def test_a_settings_edit_on_a_locked_database_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    config = contoso_config(tmp_path)
    before = config.read_bytes()
    log = tmp_path / "daemon.log"
    with running_daemon(config, log=log) as daemon, daemon.client() as http:
        with exclusive_lock(daemon.state_dir / "state.db"):
            answer = http.patch("/v1/settings", json=CHANGE, timeout=60)
        after = config.read_bytes()
        entries = http.get("/v1/audit").json()["entries"]
        again = http.patch("/v1/settings", json=CHANGE)
        latest = http.get("/v1/audit").json()["entries"][0]
    assert answer.status_code == 503, answer.text
    assert "nothing was changed" in answer.json()["error"]["message"]
    assert after == before, "the file was changed while the audit could not be written"
    assert not any(e["status"] == 200 for e in entries), entries
    assert "PATCH /v1/settings -> 503" in log.read_text()
    assert again.status_code == 200
    assert latest["status"] == 200 and latest["changes"] == ['schedule.time: "00:00" -> "05:00"']


@pytest.fixture
def locks_after_the_request_began(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A live daemon whose state database another process locks just after the audit entry
    of the next change is written, before the change itself. (Its busy timeout is 1 s, not
    10: the daemon is in this process, and a lock held for good is refused either way.)"""
    monkeypatch.setitem(database.SQLITE_PRAGMAS, "busy_timeout", 1000)
    with live_daemon(tmp_path) as live:
        state = live.daemon.state
        written = state.audit
        holder: list[sqlite3.Connection] = []

        def audit_then_lock(*args: Any, **kwargs: Any) -> int:
            entry = written(*args, **kwargs)
            if not holder:
                connection = sqlite3.connect(
                    live.daemon.state_dir / "state.db", timeout=1, check_same_thread=False
                )
                connection.isolation_level = None
                connection.execute("BEGIN EXCLUSIVE")
                holder.append(connection)
            return entry

        state.audit = audit_then_lock  # type: ignore[method-assign]
        try:
            yield live
        finally:
            for connection in holder:
                connection.execute("ROLLBACK")
                connection.close()


def test_an_edit_whose_audit_cannot_be_completed_is_not_written(
    locks_after_the_request_began: Any,
) -> None:
    live = locks_after_the_request_began
    before = live.config.read_bytes()
    transport = httpx.HTTPTransport(uds=str(live.socket))
    with httpx.Client(transport=transport, base_url="http://azsyncd", timeout=90) as http:
        answer = http.patch("/v1/settings", json=CHANGE)
    assert answer.status_code == 503, answer.text
    assert live.config.read_bytes() == before
    assert live.daemon.config.schedule.time == "00:00"
