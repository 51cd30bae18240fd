from __future__ import annotations

from pathlib import Path

import pytest

import azsyncd.targets.registry  # noqa: F401  (the config tables of the built-in targets)
from tests.helpers import write_config


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never read or write the real machine's azsyncd files from a test.
    for name in (
        "AZSYNCD_CONFIG",
        "AZSYNCD_SOCKET",
        "NOTIFY_SOCKET",
        "CREDENTIALS_DIRECTORY",
        "STATE_DIRECTORY",
        "RUNTIME_DIRECTORY",
        "CONFIGURATION_DIRECTORY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
