"""A save never waits for an unbounded preview: the preview a save runs stops after
``GUARD_SECONDS`` (another preview's turn included) and the change is saved, with a warning
in the log. A real daemon in this process on a real Unix socket (so the test can shorten the
time), its directory slowed down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from azsyncd.control.client import Client
from azsyncd.service.api import routes_preview
from azsyncd.sync import preview
from tests.fakes.directory import contoso
from tests.tui.tui_daemon import TENANT, LiveDaemon, live_daemon

PAGES = 10
SCOPE = {"include": ["has license"]}


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveDaemon]:
    directory = contoso(users=4 * PAGES, page_size=4)
    with live_daemon(tmp_path, TENANT, directory=directory) as daemon:
        daemon.sync()
        monkeypatch.setattr(routes_preview, "GUARD_SECONDS", 0.5)
        yield daemon


def graph_calls(live: LiveDaemon) -> int:
    graph = live.directory.graph
    return sum(1 for r in live.directory.requests if r.split(" ", 1)[1].startswith(graph))


def test_a_slow_directory_stops_the_saves_preview_and_the_change_is_saved(
    live: LiveDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    live.directory.delay = 0.5  # each Graph answer: a full read takes PAGES of them
    asked = graph_calls(live)
    with caplog.at_level(logging.WARNING), Client(live.socket, timeout=120) as client:
        client.update_settings(scope=SCOPE)
    live.directory.delay = 0
    assert live.daemon.config.scope.include == SCOPE["include"]
    assert "has license" in live.config.read_text()
    assert graph_calls(live) - asked < PAGES  # stopped before the read's end
    assert "saved without a preview: it took more than 0.5 s" in caplog.text


def test_a_save_waits_no_longer_for_another_preview_to_end(
    live: LiveDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    asked = graph_calls(live)
    with (
        caplog.at_level(logging.WARNING),
        preview._ONE_AT_A_TIME,  # a preview under way, that does not end
        Client(live.socket, timeout=120) as client,
    ):
        client.update_settings(scope=SCOPE)
    assert live.daemon.config.scope.include == SCOPE["include"]
    assert graph_calls(live) == asked  # it never started
    assert "saved without a preview: it took more than 0.5 s" in caplog.text
