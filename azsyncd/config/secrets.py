"""Reading secrets from files, and keeping them out of every message.

A secret is named in the configuration by a file path. A relative path is looked up in
$CREDENTIALS_DIRECTORY first (systemd's LoadCredential=), then next to the config file.

Secret and template files are read only when they are regular files, owned by the daemon's
user or root, closed to other users and at most 64 KiB: a FIFO would hang the reader,
/dev/zero would eat memory, and a file others can read or write is no secret.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from pathlib import Path

from azsyncd.errors import SecretError

MAX_SECRET_BYTES = 64 * 1024

# A long run of letters mixed with digits: an API key, a client secret or a token.
_SECRET_WORD = re.compile(r"^(?=.*[A-Za-z])(?=.*[0-9])\S{16,}$")


def resolve(reference: str, config_dir: Path) -> Path:
    path = Path(reference).expanduser()
    if path.is_absolute():
        return path
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / path).exists():
        return Path(credentials) / path
    return config_dir / path


def looks_like_secret(value: str) -> bool:
    """True when a *_file value is probably the secret itself, pasted where a path belongs."""
    if "-----BEGIN" in value:
        return True
    return any(_SECRET_WORD.match(word) for word in re.split(r"[/\s._-]+", value))


def shown(reference: str, path: Path, key: str) -> str:
    """The path as it may appear in a message: never a value that looks like a secret."""
    if looks_like_secret(reference):
        return f"(the value of {key}, not shown: it looks like a secret rather than a file name)"
    return str(path)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def unusable(st: os.stat_result, where: str) -> tuple[str, str] | None:
    """(what is wrong, the fix) when a file with this status may not hold a secret, else None."""
    me = user_name(os.geteuid())
    if not stat.S_ISREG(st.st_mode):
        return (
            f"is {_kind(st.st_mode)}, not a regular file",
            "point the key at a regular file holding the value",
        )
    if st.st_uid not in (0, os.geteuid()):
        return (
            f"is owned by {user_name(st.st_uid)}, not by {me} (the daemon's user) or root",
            f"chown {me} {where}",
        )
    if st.st_mode & 0o007:
        access = "readable" if st.st_mode & stat.S_IROTH else "writable"
        return (
            f"is {access} by everyone (mode {stat.S_IMODE(st.st_mode):04o})",
            f"chmod 600 {where}",
        )
    if st.st_size > MAX_SECRET_BYTES:
        return (
            f"is larger than 64 KiB ({st.st_size} bytes)",
            "a secret, certificate or template is smaller: check that the key names the right file",
        )
    return None


def file_problem(reference: str, config_dir: Path, key: str) -> str | None:
    """Why check-config refuses a secret file, or None; a missing file is its caller's call."""
    path = resolve(reference, config_dir)
    where = shown(reference, path, key)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"secret file {where} cannot be used: {getattr(exc, 'strerror', None) or exc}"
    found = unusable(st, where)
    return f"secret file {where} {found[0]}; {found[1]}" if found else None


def read_private(reference: str, config_dir: Path, key: str) -> bytes:
    """A secret or template file's bytes, after the checks above. Errors never hold the content."""
    path = resolve(reference, config_dir)
    where = shown(reference, path, key)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; reads of a file are unaffected.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SecretError(
            f"{key}: secret file {where} does not exist",
            f"write the secret to a file only azsyncd can read (chmod 600) and point {key} at it",
        ) from None
    except PermissionError:
        raise SecretError(
            f"{key}: secret file {where} cannot be read by this user",
            f"make it readable by the azsyncd user only: chown azsyncd {where} && chmod 600"
            f" {where}",
        ) from None
    except (OSError, ValueError) as exc:
        raise SecretError(
            f"{key}: secret file {where} cannot be opened: {getattr(exc, 'strerror', None) or exc}",
            f"point {key} at a regular file holding the secret",
        ) from None
    try:
        found = unusable(os.fstat(fd), where)
        if found:
            raise SecretError(f"{key}: {where} {found[0]}", found[1])
        chunks, size = [], 0
        while size <= MAX_SECRET_BYTES:
            chunk = os.read(fd, MAX_SECRET_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_SECRET_BYTES:
        raise SecretError(
            f"{key}: {where} is larger than 64 KiB", "check that it is the right file"
        )
    return b"".join(chunks)


def read_secret(reference: str, config_dir: Path, key: str) -> str:
    """The secret's text, stripped. Errors name the key and file, never the content."""
    try:
        text = read_private(reference, config_dir, key).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(
            f"{key}: secret file is not UTF-8 text", "write the secret as plain text"
        ) from None
    if not text:
        where = shown(reference, resolve(reference, config_dir), key)
        raise SecretError(f"{key}: secret file {where} is empty", f"write the secret to {where}")
    return text


def check_private(reference: str, config_dir: Path, key: str) -> Path:
    """The file's path once it passes the checks; for files a library opens itself (PFX)."""
    read_private(reference, config_dir, key)
    return resolve(reference, config_dir)


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically, so a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
