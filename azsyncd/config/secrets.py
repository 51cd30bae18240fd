"""Reading secrets from files, and keeping them out of every message.

A secret is named in the configuration by a file path. A relative path is looked up in
$CREDENTIALS_DIRECTORY first (systemd's LoadCredential=), then next to the config file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from azsyncd.errors import SecretError


def resolve(reference: str, config_dir: Path) -> Path:
    path = Path(reference).expanduser()
    if path.is_absolute():
        return path
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / path).exists():
        return Path(credentials) / path
    return config_dir / path


def read_secret(reference: str, config_dir: Path, key: str) -> str:
    """The secret's text, stripped. Errors name the key and file, never the content."""
    path = resolve(reference, config_dir)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SecretError(
            f"{key}: secret file {path} does not exist",
            f"write the secret to {path} (chmod 600), or point {key} at the right file",
        ) from None
    except PermissionError:
        raise SecretError(
            f"{key}: secret file {path} cannot be read by this user",
            f"make it readable by the azsyncd user only: chown azsyncd {path} && chmod 600 {path}",
        ) from None
    except UnicodeDecodeError:
        raise SecretError(
            f"{key}: secret file {path} is not UTF-8 text", "write the secret as plain text"
        ) from None
    if not text:
        raise SecretError(f"{key}: secret file {path} is empty", f"write the secret to {path}")
    return text


def loose_permissions(path: Path) -> bool:
    """True when others than the owner (and its group) may read the file."""
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically, so a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
