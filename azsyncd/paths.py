"""Where azsync keeps things, as a systemd service or as an ordinary user.

systemd tells a service its directories through $STATE_DIRECTORY, $RUNTIME_DIRECTORY and
$CONFIGURATION_DIRECTORY; outside systemd we follow the XDG base directory spec.
"""

from __future__ import annotations

import os
import stat
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


def shared_state_dir(configured: str, state_dir: Path) -> Path:
    """The directory every azsyncd of this host shares (an account's rate limit).

    ``[state] shared_dir`` if set; else systemd's second StateDirectory (azsyncd@.service
    names azsyncd/shared there); else the daemon's own state directory.
    """
    if configured:
        return Path(configured)
    entries = [e for e in os.environ.get("STATE_DIRECTORY", "").split(":") if e]
    return Path(entries[1]) if len(entries) > 1 else state_dir


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


def directory_problem(directory: Path) -> str | None:
    """Why files in ``directory`` could be swapped by another user, or None.

    Whoever may write a directory may replace what is in it: the config file, a secret, the
    control socket. It must belong to this user or root and be writable by nobody else.
    """
    try:
        st = directory.stat()
    except OSError as exc:
        return f"the directory {directory} cannot be used: {exc.strerror}"
    if st.st_uid not in (0, os.geteuid()):
        return (
            f"the directory {directory} belongs to uid {st.st_uid}, who could replace what is in"
            f" it; use a directory of this user (uid {os.geteuid()}) or root"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (
            f"the directory {directory} is writable by other users (mode"
            f" {stat.S_IMODE(st.st_mode):04o}), who could replace what is in it; chmod go-w"
            f" {directory}, or use another directory"
        )
    return None


def _looked_into(path: Path) -> list[Path]:
    """Every directory the kernel looks into to reach ``path``, symlinks followed, in order;
    it stops where the path does not exist (yet)."""
    parts = list(Path(os.path.abspath(path)).parts[1:])
    current, seen, hops = Path("/"), [], 0
    while parts:
        name = parts.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent
            continue
        seen.append(current)
        candidate = current / name
        try:
            st = os.lstat(candidate)
        except OSError:
            break
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > 40:
                break
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = Path("/")
            parts = [*target.parts[1 if target.is_absolute() else 0 :], *parts]
            continue
        if not stat.S_ISDIR(st.st_mode):
            break
        current = candidate
    return list(dict.fromkeys(seen))


def ancestor_problem(path: Path) -> str | None:
    """Why a directory above ``path`` would let another user swap it, or None.

    Whoever may write a directory may rename what is in it, however closed that is, and put
    their own in its place: a socket listening for the secrets ``azsyncctl`` sends, or a
    credentials directory of their own. So every directory above must belong to root or this
    user and be writable by nobody else, unless it has the sticky bit (like /tmp: there only
    an entry's owner may rename it).
    """
    for directory in _looked_into(path):
        try:
            st = directory.stat()
        except OSError as exc:
            return f"the directory {directory} cannot be checked: {exc.strerror}"
        if st.st_uid not in (0, os.geteuid()):
            return (
                f"the directory {directory} above {path} belongs to uid {st.st_uid}, who could"
                f" rename what is in it and put their own in its place; use a path whose every"
                f" directory belongs to root or this user (uid {os.geteuid()})"
            )
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
            return (
                f"the directory {directory} above {path} is writable by other users (mode"
                f" {stat.S_IMODE(st.st_mode):04o}) without the sticky bit: they could rename"
                f" what is in it and put their own in its place; chmod go-w {directory} (or"
                f" +t), or use another path"
            )
    return None
