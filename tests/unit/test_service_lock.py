"""The service install's lock file: every dependency pinned, with hashes, within pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]
LOCK = ROOT / "requirements" / "service.lock"
TUI_LOCK = ROOT / "requirements" / "tui.lock"


def pins(lock: Path = LOCK) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    found: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            hashes = len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block))
            found[canonicalize_name(match[1])] = (Version(match[2]), hashes)
    return found


def test_every_runtime_dependency_is_pinned_with_hashes_within_its_bounds() -> None:
    locked = pins()
    assert locked and all(hashes > 0 for _, hashes in locked.values())
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {LOCK.name}"
        assert locked[name][0] in requirement.specifier, f"{name} {locked[name][0]} vs {line}"


def test_the_web_stack_has_upper_bounds() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounded = {canonicalize_name(Requirement(d).name): Requirement(d).specifier for d in declared}
    for name in ("fastapi", "starlette", "uvicorn", "h11", "httpx", "pydantic"):
        assert any(spec.operator == "<" for spec in bounded[name]), name


def test_the_readme_installs_the_service_from_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "--require-hashes -r requirements/service.lock" in readme


def test_the_service_install_holds_no_terminal_toolkit_and_the_tui_lock_adds_it() -> None:
    """With rich and pygments beside httpx, every process importing httpx (each run's
    process) would load httpx's command-line tool; the TUI's packages are a lock of their
    own, pinned with hashes too, that adds only what the service lock lacks."""
    service, tui = pins(), pins(TUI_LOCK)
    assert not {"textual", "rich", "pygments", "markdown-it-py"} & service.keys()
    assert {"textual", "rich", "pygments"} <= tui.keys() and not tui.keys() & service.keys()
    assert all(hashes > 0 for _, hashes in tui.values())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    textual = Requirement(extras["optional-dependencies"]["tui"][0])
    assert tui["textual"][0] in textual.specifier
