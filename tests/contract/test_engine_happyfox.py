"""The engine through the HappyFox target, over real HTTP to the fake HappyFox on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.engine_setup import HAPPYFOX_MAPPING, happyfox_toml, sync, tenant_toml
from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox


def happyfox_daemon(  # type: ignore[no-untyped-def]
    tmp_path: Path, url: str, directory: object, overwrite: bool = True, extra: str = ""
):
    (tmp_path / "key").write_text("key")
    (tmp_path / "code").write_text("code")
    import httpx

    from azsyncd.config import file as config_file
    from azsyncd.service.daemon import Daemon
    from tests.engine_setup import Router

    (tmp_path / "secret").write_text("demo-client-secret")
    (tmp_path / "azsyncd.toml").write_text(
        happyfox_toml(url)
        + HAPPYFOX_MAPPING.replace(
            "skip_empty_phones = true",
            f"skip_empty_phones = true\noverwrite_custom_fields = {str(overwrite).lower()}",
        )
        + tenant_toml(extra='display_name = "Contoso"')
        + extra
    )
    return Daemon(
        config_file.load(tmp_path / "azsyncd.toml"),
        state_dir=tmp_path / "state",
        graph_transport=httpx.MockTransport(Router(directory)),
        sync_process=False,  # the engine on the runner's thread
    )  # type: ignore[arg-type]


def test_first_sync_update_and_resync_through_happyfox(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=250)
    daemon = happyfox_daemon(tmp_path, url, directory)
    first = sync(daemon)
    assert first.counts["new"] == len(fake.contacts) > 100
    assert fake.post_calls("users/") == -(-len(fake.contacts) // 100)  # 100 a call
    group = next(iter(fake.groups.values()))
    assert group["name"] == "Microsoft Entra ID: Contoso" and len(group["contacts"]) == len(
        fake.contacts
    )
    failed = daemon.state.records(first.id, status="failed")
    assert any("Office" in r.result and "(allowed: Berlin, London)" in r.result for r in failed)

    ann = fake.by_email["anna.andersson0@contoso.example"]
    ann["custom"][4] = "Agent note: VIP"  # a custom field azsync does not map
    directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
    posts_before = fake.post_calls("users/")
    second = sync(daemon)
    assert second.counts["updated"] == 1 and fake.post_calls("users/") == posts_before + 1
    assert (
        ann["custom"][1] == "Legal" and ann["custom"][4] == "Agent note: VIP"
    )  # not wiped by HappyFox's reset

    third = sync(daemon)
    assert (
        third.counts["new"] == third.counts["updated"] == 0
        and fake.post_calls("users/") == posts_before + 1
    )


def locked_at_start(tmp_path: Path, fake: FakeHappyFox, url: str, users: int = 20):  # type: ignore[no-untyped-def]
    """A daemon syncing to a HappyFox account locked by a 429 (a 1 s lock) when the sync starts."""
    fake.lock_seconds = 1.0
    fake.lock_next_call = True
    daemon = happyfox_daemon(tmp_path, url, contoso(users=users))
    from azsyncd.targets import factory
    from azsyncd.targets.happyfox.client import limiter_for

    factory.use_limiter(url, limiter_for(0.9))
    (tmp_path / "azsyncd.toml").write_text(
        (tmp_path / "azsyncd.toml")
        .read_text()
        .replace('auth_code_file = "code"', 'auth_code_file = "code"\nlock_minutes = 0.02')
    )
    daemon.config_store.reload()
    return daemon


def test_a_happyfox_429_lock_pauses_and_the_run_completes(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    daemon = locked_at_start(tmp_path, fake, url)
    run = sync(daemon)
    assert run.counts["new"] > 0 and len(fake.contacts) == run.counts["new"]
    log = " ".join(line.message for line in daemon.state.log_lines(run.id))
    assert "HappyFox answered 429 (rate limit): pausing all calls" in log
