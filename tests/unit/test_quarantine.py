"""Quarantine: a tenant failing sync after sync is tried with growing gaps until it works."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azsyncd.service.health import QuarantineRetry
from azsyncd.sync import quarantine
from tests.engine_setup import make_daemon, sync
from tests.fakes.directory import contoso
from tests.helpers import within


def test_the_gaps_grow_then_stay_at_a_day() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    gaps = [quarantine.next_try(n, now) for n in range(1, 9)]
    assert gaps[:2] == [None, None]
    assert [g - now for g in gaps[2:] if g] == [timedelta(hours=h) for h in (1, 4, 12, 24, 24, 24)]


def status_of(daemon: object) -> dict[str, object]:
    return daemon.board.status().tenants[0].model_dump(mode="json")  # type: ignore[attr-defined,no-any-return]


def test_repeated_failures_quarantine_a_tenant_and_authorize_or_an_edit_lifts_it(
    tmp_path: Path,
) -> None:
    directory = contoso(users=4)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    directory.secret = "rotated"  # the secret in the file no longer works
    for _ in range(quarantine.AFTER):
        assert sync(daemon).status == "failed"
    state = status_of(daemon)
    assert state["status"] == "quarantined" and state["failures"] == quarantine.AFTER
    assert f"after {quarantine.AFTER} failed syncs in a row" in str(state["reason"])
    next_try = datetime.fromisoformat(str(state["next_try_at"]))
    assert abs(next_try - datetime.now(UTC) - timedelta(hours=1)) < timedelta(minutes=1)
    assert daemon.health.retry.due == (next_try, "contoso")

    # A full sync leaves it alone until its next try: not tried, not counted.
    skipped = sync(daemon)
    lines = " ".join(line.message for line in daemon.state.log_lines(skipped.id))
    assert "skipped, quarantined" in lines
    assert status_of(daemon)["failures"] == quarantine.AFTER
    # Asked for by name, it is tried: one more failure, a longer gap.
    sync(daemon, tenant="contoso")
    state = status_of(daemon)
    assert state["failures"] == quarantine.AFTER + 1
    later = datetime.fromisoformat(str(state["next_try_at"]))
    assert abs(later - datetime.now(UTC) - timedelta(hours=4)) < timedelta(minutes=1)

    # The admin writes the right secret and authorizes: lifted at once.
    (tmp_path / "secret").write_text("rotated")
    tenant = daemon.config.tenant("contoso")
    assert tenant is not None and daemon.tenants.authorize_app(tenant).status == "active"
    state = status_of(daemon)
    assert state["status"] == "active" and state["failures"] == 0 and state["next_try_at"] is None
    assert daemon.health.retry.due is None or sync(daemon).status != "failed"

    # Quarantined again; a change of the tenant's settings lifts it too.
    directory.throttle = [(503, 0.0)] * 1000  # Graph fails on every page now
    for _ in range(quarantine.AFTER):
        sync(daemon)
    assert status_of(daemon)["status"] == "quarantined"

    def rename(document: dict[str, object]) -> None:
        document["tenants"][0]["display_name"] = "Contoso Ltd"  # type: ignore[index]

    daemon.config_store.update(rename)
    assert status_of(daemon)["status"] != "quarantined" and status_of(daemon)["failures"] == 0


def test_a_dry_run_never_counts_as_a_failure(tmp_path: Path) -> None:
    directory = contoso(users=4)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    directory.secret = "rotated"
    for _ in range(quarantine.AFTER + 1):
        sync(daemon, dry_run=True)
    assert status_of(daemon)["failures"] == 0


def test_the_retry_fires_for_the_earliest_tenant_due() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    fired: list[str] = []
    done = threading.Event()

    def fire(name: str) -> None:
        fired.append(name)
        done.set()

    retry = QuarantineRetry(fire, lambda: now)
    retry.plan({"late": now + timedelta(hours=2), "soon": now + timedelta(seconds=0.05)})
    assert done.wait(within(10)) and fired == ["soon"]
    retry.plan({"never": now + timedelta(hours=1)})
    retry.stop()
    retry.plan({"after-stop": now})
    assert retry.due is None and fired == ["soon"]


def test_ticks_wait_for_a_quarantined_tenant_s_retry() -> None:
    from azsyncd.service.runs.ticks import tenant_blocker
    from azsyncd.state.models import TenantHealth, TenantState

    row = TenantState(name="contoso", status="active")
    until = datetime(2026, 1, 1, 13, tzinfo=UTC)
    quarantined = TenantHealth(
        name="contoso", failures=3, reason="no token", quarantined_until=until
    )
    assert tenant_blocker(row, TenantHealth(name="contoso")) is None
    said = tenant_blocker(row, quarantined)
    assert said is not None and "quarantined after 3 failed syncs" in said and "13:00" in said
