"""Alerts over a real SMTP server (aiosmtpd) and a webhook receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from azsyncd.config.changes import is_file_only
from azsyncd.config.model import Config
from azsyncd.control import ctl
from azsyncd.service.daemon import Daemon
from azsyncd.service.watch.notify import Alert, Notifier
from tests.engine_setup import service_daemon, sync
from tests.fakes.directory import contoso
from tests.fakes.servers import serve
from tests.helpers import served_in_thread
from tests.unit.test_welcome_and_crash import smtp  # noqa: F401

SECRET = "hook-secret-9f2c"


class Receiver:
    """A webhook endpoint: answers the queued statuses first, then 204; keeps what it got."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, Any], str]] = []  # (body, secret header)
        self.failures: list[int] = []

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        if self.failures:
            start(f"{self.failures.pop(0)} Oops", [("Content-Type", "text/plain")])
            return [b"try later"]
        self.posts.append((body, environ.get("HTTP_X_AZSYNC_SECRET", "")))
        start("204 No Content", [])
        return [b""]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with serve(hook) as port:
        yield hook, f"http://127.0.0.1:{port}/hook"


@dataclass
class Channels:
    inbox: Any  # what the SMTP server received
    hook: Receiver
    port: int
    url: str


@pytest.fixture
def channels(smtp: Any, receiver: tuple[Receiver, str]) -> Channels:  # noqa: F811
    (inbox, port), (hook, url) = smtp, receiver
    return Channels(inbox, hook, port, url)


def alerting_daemon(tmp_path: Path, port: int, url: str, extra: str = "") -> Daemon:
    (tmp_path / "hook-secret").write_text(SECRET)
    (tmp_path / "hook-secret").chmod(0o600)
    daemon = service_daemon(
        tmp_path,
        contoso(users=6),
        skip_empty=True,
        extra=f"""
[welcome_email]
smtp_host = "127.0.0.1"
smtp_port = {port}
tls = "none"
from_address = "azsync@contoso.example"

[alerts]
email_to = ["ops@contoso.example"]
webhook_url = "{url}"
secret_file = "hook-secret"
{extra}
""",
    )
    daemon.alert_backoff = 0.01
    return daemon


def test_a_held_run_alerts_once_and_resolves_once_on_both_channels(
    tmp_path: Path,
    channels: Channels,
) -> None:
    inbox, hook, port, url = channels.inbox, channels.hook, channels.port, channels.url
    daemon = alerting_daemon(tmp_path, port, url, "\n[sync.thresholds]\ncreate = 1\n")
    held = sync(daemon)
    assert held.status == "held"
    sent = daemon.alerts.check()
    assert sent == [f"alert: sync run {held.id} is held: nothing was written"]
    assert len(inbox.messages) == 1 and f"run {held.id} is held" in inbox.messages[0]["Subject"]
    body, secret = hook.posts[0]
    assert body["event"] == "alert" and body["key"] == f"held-{held.id}" and secret == SECRET
    # The same condition again: nothing new, on either channel.
    assert daemon.alerts.check() == [] and len(inbox.messages) == len(hook.posts) == 1
    daemon.state.set_run_status(held.id, "discarded", "test")
    assert daemon.alerts.check() == [f"resolved: sync run {held.id} is held: nothing was written"]
    assert " ".join(inbox.messages[1]["Subject"].split()).startswith("[azsync resolved]")
    assert [b["event"] for b, _ in hook.posts] == ["alert", "resolved"]
    assert daemon.alerts.check() == []
    # The secret never reaches the email or the state.
    assert all(SECRET not in m.as_string() for m in inbox.messages)


def test_a_failing_tenant_alerts_until_it_works_and_a_webhook_is_retried(
    tmp_path: Path,
    channels: Channels,
) -> None:
    hook, port, url = channels.hook, channels.port, channels.url
    daemon = alerting_daemon(tmp_path, port, url)
    directory_secret = (tmp_path / "secret").read_text()
    (tmp_path / "secret").write_text("wrong")
    hook.failures = [503, 500]  # two refusals, then it works: delivered once
    assert sync(daemon).status == "failed"
    sent = daemon.alerts.check()
    assert any("run-failed" not in s and "tenant contoso is disabled" in s for s in sent)
    assert {b["key"] for b, _ in hook.posts} == {"run-failed", "tenant-contoso-disabled"}
    (tmp_path / "secret").write_text(directory_secret)
    assert sync(daemon).status in ("succeeded", "partial")
    daemon.alerts.check()
    resolved = [b["key"] for b, _ in hook.posts if b["event"] == "resolved"]
    assert sorted(resolved) == ["run-failed", "tenant-contoso-disabled"]


def test_an_unreachable_webhook_is_tried_again_at_the_next_check(tmp_path: Path) -> None:
    config = Config.model_validate(
        {"alerts": {"webhook_url": "http://127.0.0.1:9/hook", "stale_hours": 1}}
    )
    alert = Alert("stale", "no sync has succeeded for 1 hours")
    errors = Notifier(config, tmp_path, backoff=0.01).send("alert", alert, datetime.now(UTC))
    assert "not delivered after 4 tries" in errors["webhook"]


def test_stale_hours_alerts_when_no_sync_succeeded_for_that_long(
    tmp_path: Path,
    channels: Channels,
) -> None:
    port, url = channels.port, channels.url
    daemon = alerting_daemon(tmp_path, port, url, "stale_hours = 2")
    now = [datetime.now(UTC)]
    daemon.alerts._clock = lambda: now[0]
    assert daemon.alerts.check() == []
    now[0] += timedelta(hours=3)
    assert daemon.alerts.check() == ["alert: tenant contoso: no sync has succeeded for 2 hours"]
    sync(daemon)
    now[0] = datetime.now(UTC)
    assert daemon.alerts.check() == ["resolved: tenant contoso: no sync has succeeded for 2 hours"]


def test_azsyncctl_alerts_test_sends_on_every_channel(
    tmp_path: Path,
    channels: Channels,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inbox, hook, port, url = channels.inbox, channels.hook, channels.port, channels.url
    daemon = alerting_daemon(tmp_path, port, url)
    with served_in_thread(daemon) as served:
        code = ctl.main(["--socket", str(served.path), "alerts", "test"])
        out = capsys.readouterr().out
        assert code == 0 and "email: sent" in out and "webhook: sent" in out
        assert any("[azsync test]" in m["Subject"] for m in inbox.messages)
        assert any(b["event"] == "test" for b, _ in hook.posts)
        code = ctl.main(["--socket", str(served.path), "alerts"])
        assert code == 0


def test_alert_settings_refuse_what_would_leak_or_never_arrive(tmp_path: Path) -> None:
    from azsyncd.config import file as config_file
    from azsyncd.errors import ConfigError
    from tests.helpers import write_config

    with pytest.raises(ConfigError) as refused:
        config_file.load(write_config(tmp_path, '[alerts]\nemail_to = ["ops@contoso.example"]\n'))
    assert "welcome email's SMTP server" in str(refused.value)
    with pytest.raises(ValidationError) as found:
        Config.model_validate({"alerts": {"webhook_url": "http://hooks.example.com/x"}})
    assert "must use https://" in str(found.value)
    with pytest.raises(ValidationError) as found:
        Config.model_validate({"alerts": {"email_to": ["not-an-address"]}})
    assert "is not an email address" in str(found.value)
    assert is_file_only("alerts.secret_file") and is_file_only("alerts.webhook_url")


def test_a_run_that_read_no_tenant_is_skipped_and_resolves_no_alert(
    tmp_path: Path,
    channels: Channels,
) -> None:
    daemon = alerting_daemon(tmp_path, channels.port, channels.url)
    (tmp_path / "secret").write_text("wrong")
    for _ in range(3):  # three failed syncs in a row: the tenant is quarantined
        assert sync(daemon).status == "failed"
    raised = daemon.alerts.check()
    assert any("sync run" in s and "failed" in s for s in raised)
    assert any("quarantined" in s for s in raised)
    skipped = sync(daemon)
    assert skipped.status == "skipped" and "no tenant was read" in skipped.message
    # The tenant is still quarantined and the last finished run still failed: nothing clears.
    assert daemon.alerts.check() == []
    assert {"run-failed", "tenant-contoso-quarantined"} <= set(daemon.state.raised_alerts())


def test_stale_hours_are_each_tenant_s_own(tmp_path: Path, channels: Channels) -> None:
    """One tenant syncs, the other keeps failing: only the failing one is stale."""
    from tests.engine_setup import tenant_toml as toml
    from tests.fakes.directory import FakeTenant

    second = FakeTenant(
        "Fabrikam",
        "fab00000-0000-4000-8000-00000000fab0",
        login="https://login.fabrikam.test",
        graph="https://graph.fabrikam.test",
        secret="another secret",  # the secret file holds contoso's: fabrikam never signs in
    )
    (tmp_path / "hook-secret").write_text(SECRET)
    (tmp_path / "hook-secret").chmod(0o600)
    tenants = toml() + toml(
        "fabrikam", tenant_id=second.tenant_id, login=second.login, graph=second.graph
    )
    daemon = service_daemon(
        tmp_path,
        contoso(users=4),
        second,
        tenants_toml=tenants,
        skip_empty=True,
        extra=f'[alerts]\nwebhook_url = "{channels.url}"\nsecret_file = "hook-secret"\n'
        "stale_hours = 2\n",
    )
    daemon.alerts._since = datetime.now(UTC) - timedelta(hours=3)  # started 3 hours ago
    assert sync(daemon).status == "partial"  # contoso read just now, fabrikam not at all
    stale = [s for s in daemon.alerts.check() if "no sync has succeeded" in s]
    assert stale == ["alert: tenant fabrikam: no sync has succeeded for 2 hours"]
