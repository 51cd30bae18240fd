"""The layers: the core never imports the TUI toolkit; the TUI never reaches daemon internals."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
TUI_FORBIDDEN = (
    "peewee",
    "playhouse",
    "msal",
    "fastapi",
    "uvicorn",
    "azsyncd.state",
    "azsyncd.service.daemon",
    "azsyncd.sync",
    "azsyncd.service.api",
    "azsyncd.service.server",
)


def imported_modules(package: Path) -> set[str]:
    names: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def test_core_source_never_imports_textual() -> None:
    assert not {n for n in imported_modules(ROOT / "azsyncd") if n.split(".")[0] == "textual"}


def test_tui_source_imports_no_daemon_internals() -> None:
    bad = {n for n in imported_modules(ROOT / "tui") if n.startswith(TUI_FORBIDDEN)}
    assert not bad, f"tui imports {bad}; it must talk to the daemon through the socket only"


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(out.stdout.split())


def test_the_whole_daemon_loads_without_textual() -> None:
    loaded = _loaded_after(
        "import azsyncd.cli, azsyncd.service.server, azsyncd.service.api, azsyncd.service.job, "
        "azsyncd.control.ctl"
    )
    assert "azsyncd.service.server" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "textual"}


def test_the_tui_loads_without_peewee_msal_or_the_daemon() -> None:
    loaded = _loaded_after("import tui.app")
    assert "textual" in loaded
    assert not {m for m in loaded if m.startswith(TUI_FORBIDDEN)}
