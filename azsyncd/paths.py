"""Where azsync keeps things, as a systemd service or as an ordinary user.

systemd tells a service its directories through $STATE_DIRECTORY, $RUNTIME_DIRECTORY and
$CONFIGURATION_DIRECTORY; outside systemd we follow the XDG base directory spec.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/azsyncd/azsyncd.toml")
SYSTEM_SOCKET = Path("/run/azsyncd/azsyncd.sock")
SYSTEM_STATE = Path("/var/lib/azsyncd")


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "")
    # systemd may pass several colon-separated directories; the first is ours.
    return Path(value.split(":")[0]) if value else None


def _is_root() -> bool:
    return os.geteuid() == 0


def user_config_path() -> Path:
    base = _env_path("XDG_CONFIG_HOME") or Path.home() / ".config"
    return base / "azsyncd" / "azsyncd.toml"


def config_candidates(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """The configuration files to try, in order: --config, $AZSYNCD_CONFIG, system, user."""
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("AZSYNCD_CONFIG")
    if env:
        return [Path(env)]
    candidates = []
    conf_dir = _env_path("CONFIGURATION_DIRECTORY")
    if conf_dir:
        candidates.append(conf_dir / "azsyncd.toml")
    candidates += [SYSTEM_CONFIG, user_config_path()]
    return candidates


def state_dir() -> Path:
    """Where the state database and token caches live by default."""
    found = _env_path("STATE_DIRECTORY")
    if found:
        return found
    if _is_root():
        return SYSTEM_STATE
    base = _env_path("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return base / "azsyncd"


def daemon_socket_path() -> Path:
    """The socket a daemon listens on when the configuration names none."""
    runtime = _env_path("RUNTIME_DIRECTORY")
    if runtime:
        return runtime / "azsyncd.sock"
    if _is_root():
        return SYSTEM_SOCKET
    xdg = _env_path("XDG_RUNTIME_DIR")
    if xdg:
        return xdg / "azsyncd.sock"
    return Path(f"/tmp/azsyncd-{os.getuid()}") / "azsyncd.sock"


def client_socket_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The socket a client talks to: --socket, $AZSYNCD_SOCKET, a user daemon's, the service's."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("AZSYNCD_SOCKET")
    if env:
        return Path(env)
    if not _is_root():
        own = daemon_socket_path()
        if own.exists():
            return own
    return SYSTEM_SOCKET
