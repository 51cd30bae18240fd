"""The forms at 80x24 and 120x40: adding a tenant of each kind, a new credential, the help
desk's settings, a refused save, unsaved edits, a rule, a sign-in (cases in snapshot_cases.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.snapshot_cases import SIZE_IDS, SIZES, take

CASES = [
    "add-tenant-secret",
    "add-tenant-pem",
    "add-tenant-pfx",
    "add-tenant-device-code",
    "credential",
    "settings-help-desk",
    "settings-refused",
    "flash-unsaved",
    "add-rule",
    "sign-in",
]


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("case", CASES)
def test_screen(
    snap_compare: Any, case: str, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    take(snap_compare, case, size, monkeypatch)
