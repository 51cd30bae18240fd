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
    "SystemCallFilter": "@system-service\n~@privileged @resources",
    "MemoryDenyWriteExecute": "yes",
    "ProcSubset": "pid",
    "RemoveIPC": "yes",
    "PrivateMounts": "yes",
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
    """Each key's value; a key given more than once: its values, one a line, in order."""
    found: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            found[key] = f"{found[key]}\n{value}" if key in found else value
    return found


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


def exposure(unit: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in result.stdout.splitlines() if "Overall exposure level" in x)
    return float(line.split(":")[1].split()[0])


@needs_systemd
@pytest.mark.parametrize(
    ("unit", "name"), [("azsyncd.service", None), ("azsyncd@.service", "azsyncd@acme.service")]
)
def test_units_expose_little(tmp_path: Path, unit: str, name: str | None) -> None:
    """systemd-analyze security: 1.7 before @privileged, @resources, W^X memory, ProcSubset,
    RemoveIPC and PrivateMounts; 1.2 with them (what is left: the network it needs, the
    host's users it tells apart on the socket)."""
    assert exposure(installed(UNITS / unit, tmp_path, name)) <= 1.2
