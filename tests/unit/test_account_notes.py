"""What a target says of its account for status (e.g. bulk calls refused), kept with the
account's shared rate limit: seen by every process on it, per account, and gone when unsaid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from azsyncd.config import file as config_file
from azsyncd.state import open_database
from azsyncd.targets import factory
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
from tests.helpers import write_config

NOTE = """
from pathlib import Path
import sys
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
log = CallLog.in_directory(Path(sys.argv[1]))
limiter = SharedRateLimiter(log, "https://acme.zendesk.com", {"call": 10})
limiter.note("bulk_refused", sys.argv[2] if sys.argv[2] != "-" else None)
"""


def note_from_another_process(shared: Path, text: str | None) -> None:
    subprocess.run([sys.executable, "-c", NOTE, str(shared), text or "-"], check=True, timeout=60)


def test_a_note_made_by_a_runs_process_is_seen_by_the_daemon(tmp_path: Path) -> None:
    daemon = SharedRateLimiter(
        CallLog.in_directory(tmp_path), "https://acme.zendesk.com", {"call": 10}
    )
    other = SharedRateLimiter(
        CallLog.in_directory(tmp_path), "https://other.zendesk.com", {"call": 10}
    )
    assert daemon.notes() == {}
    note_from_another_process(tmp_path, "bulk refused: one call a user")
    daemon._read_notes = None  # past the few seconds a read serves
    assert daemon.notes() == {"bulk_refused": "bulk refused: one call a user"}
    assert other.notes() == {}  # another account says nothing
    note_from_another_process(tmp_path, None)
    daemon._read_notes = None
    assert daemon.notes() == {}


def test_status_reads_the_notes_at_most_every_few_seconds(tmp_path: Path) -> None:
    log = CallLog.in_directory(tmp_path)
    reads = []
    notes = log.notes
    log.notes = lambda account: reads.append(account) or notes(account)  # type: ignore[method-assign]
    limiter = SharedRateLimiter(log, "https://acme.zendesk.com", {"call": 10})
    for _ in range(50):
        limiter.notes()
    assert len(reads) == 1


def test_a_process_own_limiter_keeps_its_notes(tmp_path: Path) -> None:
    limiter = RateLimiter({"call": 10})
    limiter.note("bulk_refused", "refused")
    limiter.note("other", "x")
    limiter.note("other", None)
    assert limiter.notes() == {"bulk_refused": "refused"}


def test_the_configured_account_notes(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t")
    (tmp_path / "token").chmod(0o600)
    path = write_config(
        tmp_path,
        """
        [target]
        kind = "zendesk"
        [target.zendesk]
        subdomain = "notes"
        email = "admin@acme.example"
        api_token_file = "token"
        """,
    )
    config = config_file.load(path).config
    db = open_database("", tmp_path)
    shared = tmp_path / "shared"
    assert factory.account_notes(config, db, shared) == []
    limiter = factory.account_limiter(config, db, shared)
    assert limiter is not None
    limiter.note("bulk_refused", "Zendesk refused bulk user imports (403)")
    assert factory.account_notes(config, db, shared) == ["Zendesk refused bulk user imports (403)"]
    local = config_file.load(write_config(tmp_path, '[target]\nkind = "local"\n')).config
    assert factory.account_notes(local, db, shared) == []
