"""Welcome emails over a real SMTP server, and a run that dies halfway then completes."""

from __future__ import annotations

import socket
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from azsyncd.errors import UserError
from azsyncd.service.daemon import Daemon
from azsyncd.state.models import MirrorEntry, SyncRecord
from azsyncd.sync import welcome
from azsyncd.sync.welcome import WelcomeMailer
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import SimulatedTenant, contoso
from tests.helpers import within


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def welcome_toml(port: int) -> str:
    return f"""
[welcome_email]
enabled = true
smtp_host = "127.0.0.1"
smtp_port = {port}
tls = "none"
from_address = "helpdesk@contoso.example"
portal_url = "https://support.contoso.example"
"""


def welcoming(tmp_path: Path, port: int, users: int) -> tuple[SimulatedTenant, Daemon]:
    """A simulated directory and a daemon that welcomes new contacts over SMTP on ``port``."""
    directory = contoso(users=users)
    return directory, make_daemon(tmp_path, directory, skip_empty=True, extra=welcome_toml(port))


def test_each_new_contact_gets_one_welcome_email(tmp_path: Path, smtp: Any) -> None:
    inbox, port = smtp
    directory, daemon = welcoming(tmp_path, port, users=8)
    run = sync(daemon)
    created = {c.email for c in Contact.select()}
    assert {m["To"] for m in inbox.messages} == created and len(inbox.messages) == len(
        created
    ) == run.counts["new"]
    message = inbox.messages[0]
    assert message["Subject"] == "Your azsync help desk account"
    body = message.get_payload()
    assert "https://support.contoso.example" in body and message["To"] in body
    directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
    sync(daemon)
    assert len(inbox.messages) == len(created)  # updates send nothing


def test_a_failed_send_is_in_the_result_and_the_contact_still_syncs(tmp_path: Path) -> None:
    directory = contoso(users=3)
    daemon = make_daemon(
        tmp_path, directory, skip_empty=True, extra=welcome_toml(free_port())
    )  # nobody listens
    run = sync(daemon)
    records = daemon.state.records(run.id)
    assert run.counts["new"] == 3 and all(r.status == "success" for r in records)
    assert all("Created; welcome email not sent: cannot use 127.0.0.1" in r.result for r in records)


def test_a_run_that_dies_after_writing_is_completed_without_duplicates(
    tmp_path: Path, smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    _, daemon = welcoming(tmp_path, port, users=30)
    state = daemon.state
    original = state.add_records

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed")  # the run dies after the target write, before the commit

    monkeypatch.setattr(state, "add_records", die)
    run_id = daemon.start_sync("manual")
    daemon.runner.wait(within(30))
    monkeypatch.setattr(state, "add_records", original)
    written = Contact.select().count()
    assert written > 0 and inbox.messages == []
    assert {m.fingerprint for m in MirrorEntry.select()} == {
        "pending"
    }  # the intent, recorded before the write
    assert state.run(run_id).status == "failed"  # type: ignore[union-attr]

    rerun = sync(daemon)
    emails = [c.email for c in Contact.select()]
    assert len(emails) == len(set(emails)) == written
    assert rerun.counts["new"] == 0 and MirrorEntry.select().count() == written
    assert SyncRecord.select().where(SyncRecord.run == rerun.id).count() == 30
    # The contacts the dead run created get their welcome now, once.
    assert sorted(m["To"] for m in inbox.messages) == sorted(emails)
    third = sync(daemon)
    assert third.counts["new"] == third.counts["updated"] == 0 and len(inbox.messages) == written


def test_starttls_with_login_and_the_password_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.fakes.tls_certs import make_ca_and_server

    ca, cert, key = make_ca_and_server(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"smtp-pass-123")

    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
        server_hostname="localhost",
    )
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # trust the throwaway CA, as an admin would
        (tmp_path / "smtp-password").write_text("smtp-pass-123")
        directory = contoso(users=2)
        daemon = make_daemon(
            tmp_path,
            directory,
            skip_empty=True,
            extra=f"""
[welcome_email]
enabled = true
smtp_host = "localhost"
smtp_port = {controller.port}
tls = "starttls"
username = "helpdesk"
password_file = "smtp-password"
from_address = "helpdesk@contoso.example"
portal_url = "https://support.contoso.example"
""",
        )
        run = sync(daemon)
    finally:
        controller.stop()
    assert run.counts["new"] == 2 and len(inbox.messages) == 2
    assert logins == [("helpdesk", "smtp-pass-123")]
    assert all("welcome email not sent" not in r.result for r in daemon.state.records(run.id))


def test_welcomes_owed_by_a_run_that_stopped_before_sending_go_out_next_run(
    tmp_path: Path, smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    directory, daemon = welcoming(tmp_path, port, users=12)

    def stopped(mailer: WelcomeMailer, recipients: list[Any], *args: Any) -> dict[str, str]:
        if recipients:  # after the chunk's commit, before any send
            raise RuntimeError("the daemon stopped")
        return {}

    monkeypatch.setattr(WelcomeMailer, "deliver", stopped)
    first = sync(daemon)
    monkeypatch.undo()
    assert first.status == "failed" and inbox.messages == []
    owed = {e for _, e in daemon.state.due_welcomes()}
    assert owed == {c.email for c in Contact.select()} and len(owed) > 5
    directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
    second = sync(daemon)  # a delta: the 12 contacts are not even read again
    assert second.counts["new"] == 0
    assert sorted(m["To"] for m in inbox.messages) == sorted(owed)
    log = " ".join(line.message for line in daemon.state.log_lines(second.id))
    assert f"sent {len(owed)} welcome email(s) owed since an earlier run stopped" in log
    sync(daemon)
    assert len(inbox.messages) == len(owed)  # never twice


def test_a_crash_mid_send_marks_one_contact_and_resend_sends_it(
    tmp_path: Path, smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    _, daemon = welcoming(tmp_path, port, users=6)
    state = daemon.state
    settle = state.settle_welcome
    calls: list[str] = []

    def crash_on_the_third(email: str, error: str = "") -> None:
        calls.append(email)
        if len(calls) == 3:  # the daemon dies between a send and its confirmation
            raise RuntimeError("killed")
        settle(email, error)

    monkeypatch.setattr(state, "settle_welcome", crash_on_the_third)
    run_id = daemon.start_sync("manual")
    daemon.runner.wait(within(30))
    monkeypatch.undo()
    assert len(inbox.messages) == 3
    state.mark_interrupted("the daemon stopped during this run (killed or crashed)")
    uncertain = calls[2]
    row = MirrorEntry.get(MirrorEntry.email == uncertain)
    assert row.welcome_state == "unknown"
    record = state.records(run_id, search=uncertain)[0]
    assert record.result == (
        "Created; welcome email may not have been sent (the daemon stopped while sending)"
    )
    assert MirrorEntry.select().where(MirrorEntry.welcome_state == "unknown").count() == 1
    sync(daemon)  # the others go out; the uncertain one is not sent by itself
    assert sorted(m["To"] for m in inbox.messages) == sorted(c.email for c in Contact.select())
    assert [m["To"] for m in inbox.messages].count(uncertain) == 1
    welcome.resend(daemon.config, daemon.config_dir, state, uncertain.upper())
    assert [m["To"] for m in inbox.messages].count(uncertain) == 2  # the admin asked for it
    with pytest.raises(UserError, match="got its welcome email on"):
        welcome.resend(daemon.config, daemon.config_dir, state, uncertain)
    with pytest.raises(UserError, match="it syncs no contact with that address"):
        welcome.resend(daemon.config, daemon.config_dir, state, "nobody@contoso.example")


def test_an_smtp_refusal_is_in_the_result_and_resend_retries_it(tmp_path: Path) -> None:
    directory = contoso(users=2)
    silent = free_port()
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=welcome_toml(silent))
    run = sync(daemon)
    assert {r.result.split(";")[0] for r in daemon.state.records(run.id)} == {"Created"}
    assert {m.welcome_state for m in MirrorEntry.select()} == {"failed"}
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=silent)
    controller.start()
    try:
        welcome.resend(
            daemon.config, daemon.config_dir, daemon.state, "anna.andersson0@contoso.example"
        )
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["anna.andersson0@contoso.example"]
