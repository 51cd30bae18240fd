"""The questions and dialogs at 80x24 and 120x40: sync, dry run and its plan, full sync,
export, help, check a user, the preview and the question a save it fails asks (cases in
snapshot_cases.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.snapshot_cases import SIZE_IDS, SIZES, take

CASES = [
    "confirm-sync",
    "confirm-dry-run",
    "dry-run-plan",
    "confirm-full-sync",
    "export-path",
    "help-log",
    "help-leavers",
    "check-user",
    "preview",
    "preview-save-asks",
]


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("case", CASES)
def test_screen(
    snap_compare: Any, case: str, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    take(snap_compare, case, size, monkeypatch)
