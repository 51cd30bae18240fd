"""Every tab, at 80x24 and 120x40 (cases in snapshot_cases.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.snapshot_cases import SIZE_IDS, SIZES, take

CASES = [f"tab-{n}" for n in range(1, 11)]


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("case", CASES)
def test_screen(
    snap_compare: Any, case: str, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    take(snap_compare, case, size, monkeypatch)


def test_every_case_is_taken_by_one_file() -> None:
    from tests.tui import test_tui_snapshots_dialogs, test_tui_snapshots_forms
    from tests.tui.snapshot_cases import CASES as ALL

    taken = [*CASES, *test_tui_snapshots_forms.CASES, *test_tui_snapshots_dialogs.CASES]
    assert sorted(taken) == sorted(ALL)
