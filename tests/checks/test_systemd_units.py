from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "systemd"
HARDENING = {
    "Type": "notify",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "StateDirectory": None,
    "RuntimeDirectory": None,
    "ConfigurationDirectory": "azsyncd",
    "User": "azsyncd",
    "LimitNOFILE": "4096",
    "MemoryMax": "1G",
    "TasksMax": "256",
}

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing; .ci/run installs Debian's systemd",
)


def settings(unit: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in unit.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def installed(unit: Path, directory: Path, name: str | None = None) -> Path:
    """The unit as installed here: ExecStart pointing at this environment's azsyncd."""
    script = Path(sys.executable).parent / "azsyncd"
    assert script.exists(), "install the package first (pip install -e .)"
    target = directory / (name or unit.name)
    target.write_text(unit.read_text().replace("/usr/local/bin/azsyncd", str(script)))
    return target


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("unit", ["azsyncd.service", "azsyncd@.service"])
def test_units_are_hardened(unit: str) -> None:
    found = settings(UNITS / unit)
    for key, value in HARDENING.items():
        assert key in found, f"{unit} lacks {key}"
        if value is not None:
            assert found[key] == value, f"{unit}: {key}={found[key]}"


@needs_systemd
def test_service_unit_verifies(tmp_path: Path) -> None:
    result = verify(installed(UNITS / "azsyncd.service", tmp_path))
    assert result.returncode == 0, result.stderr


@needs_systemd
def test_template_unit_verifies_as_an_instance(tmp_path: Path) -> None:
    result = verify(installed(UNITS / "azsyncd@.service", tmp_path, "azsyncd@acme.service"))
    assert result.returncode == 0, result.stderr
    assert "%i" in (UNITS / "azsyncd@.service").read_text()


@needs_systemd
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    unit = installed(UNITS / "azsyncd.service", tmp_path)
    unit.write_text(unit.read_text().replace("ExecStart=", "ExecStart=/nonexistent/azsyncd #"))
    assert verify(unit).returncode != 0
