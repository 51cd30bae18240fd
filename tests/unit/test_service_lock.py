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


def pins() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    found: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
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
