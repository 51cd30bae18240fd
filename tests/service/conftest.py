"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.e2e_world import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The directory, HappyFox and a configuration for both, for a daemon process."""
    yield from make_world(tmp_path)
