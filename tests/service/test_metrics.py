"""Metrics: a scrape of /v1/metrics and the textfile, parsed by prometheus_client's own parser."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from starlette.testclient import TestClient

from azsyncd.config.changes import is_file_only
from azsyncd.config.model import Config
from azsyncd.service.api import create_app
from tests.contract.conftest import happyfox  # noqa: F401
from tests.contract.test_engine_happyfox import locked_at_start
from tests.engine_setup import service_daemon, sync
from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_scrape_after_a_happyfox_run_with_a_429_lock(
    tmp_path: Path,
    happyfox: tuple[FakeHappyFox, str],  # noqa: F811
) -> None:
    fake, url = happyfox
    daemon = locked_at_start(tmp_path, fake, url)
    run = sync(daemon)
    answer = TestClient(create_app(daemon)).get("/v1/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    assert found[("azsync_runs_total", (("status", run.status),))] == 1
    created = (("action", "create"), ("outcome", "success"), ("tenant", "contoso"))
    assert found[("azsync_contacts_total", created)] == run.counts["new"] > 0
    assert found[("azsync_directory_items_read_total", (("tenant", "contoso"),))] == 20
    last = found[("azsync_tenant_last_success_timestamp_seconds", (("tenant", "contoso"),))]
    assert abs(last - time.time()) < 120
    assert found[("azsync_helpdesk_rate_locks_total", ())] >= 1
    assert found[("azsync_helpdesk_calls_total", (("kind", "GET"),))] > 0
    assert 0 < found[("azsync_helpdesk_rate_budget_used_ratio", (("kind", "GET"),))] <= 1
    assert found[("azsync_run_duration_seconds_count", ())] == 1
    # The latency and tick metrics are in the same scrape.
    tenant = (("status", "active"), ("tenant", "contoso"))
    assert found[("azsync_tenant_status", tenant)] == 1
    assert ("azsync_tenant_status", (("status", "quarantined"), ("tenant", "contoso"))) in found


def test_the_textfile_is_written_whole_after_each_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    textfile = tmp_path / "textfile" / "azsync.prom"
    daemon = service_daemon(
        tmp_path, contoso(users=6), skip_empty=True, extra=f'\n[metrics]\ntextfile = "{textfile}"\n'
    )
    first = sync(daemon)
    found = samples(textfile.read_text())
    assert found[("azsync_runs_total", (("status", first.status),))] == 1
    sync(daemon, dry_run=True)
    assert (
        sum(
            v
            for (name, _), v in samples(textfile.read_text()).items()
            if name == "azsync_runs_total"
        )
        == 2
    )
    assert [p.name for p in textfile.parent.iterdir()] == ["azsync.prom"]  # no temporary left
    # A path the daemon cannot write (a directory stands there): the run is still recorded,
    # the journal says why, and no temporary file is left behind.
    textfile.unlink()
    textfile.mkdir()
    with caplog.at_level(logging.ERROR):
        third = sync(daemon)
    assert third.status in ("succeeded", "partial")
    assert "could not write the metrics textfile" in caplog.text
    assert [p.name for p in textfile.parent.iterdir()] == ["azsync.prom"]


def test_the_textfile_setting_is_checked_and_file_only() -> None:
    with pytest.raises(ValidationError) as found:
        Config.model_validate({"metrics": {"textfile": "/tmp/azsync.txt"}})
    assert "only *.prom files" in str(found.value)
    assert is_file_only("metrics.textfile")
