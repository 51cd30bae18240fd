"""Finding, reading, validating and atomically rewriting azsyncd.toml."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from azsyncd import paths
from azsyncd.config.model import Config, Section, inline_secret_keys, suggest
from azsyncd.config.rules import cross_field_problems, secret_file_keys
from azsyncd.config.secrets import (
    file_problem,
    looks_like_secret,
    read_private,
    resolve,
    shown,
    user_name,
)
from azsyncd.config.templates import WELCOME_FIELDS
from azsyncd.config.templates import parse as parse_template
from azsyncd.config.text import clipped
from azsyncd.errors import ConfigError, Problem, UserError

log = logging.getLogger(__name__)
DEFAULT_MODE = 0o600
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedConfig:
    """A valid configuration, the file it came from, and a digest of the bytes read."""

    config: Config
    path: Path
    digest: str = ""

    @property
    def directory(self) -> Path:
        return self.path.parent


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The first configuration file that exists, in the documented search order."""
    candidates = paths.config_candidates(explicit)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if explicit or os.environ.get("AZSYNCD_CONFIG"):
        problem = Problem(str(candidates[0]), "", "no such file")
    else:
        searched = ", ".join(str(c) for c in candidates)
        problem = Problem(
            str(candidates[-1]),
            "",
            f"no configuration found (searched {searched}); copy config/azsyncd.example.toml"
            " to one of them, or pass --config PATH",
        )
    raise ConfigError([problem])


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bytes(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes and status: a regular file of at most 1 MiB, or ConfigError."""

    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem(str(path), "", message)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror}") from None
    except ValueError:
        raise refuse("the path contains a NUL character") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refuse("is not a regular file; point --config at the TOML file")
        data = os.read(fd, MAX_CONFIG_BYTES + 1)
        while data and len(data) <= MAX_CONFIG_BYTES:
            more = os.read(fd, MAX_CONFIG_BYTES + 1 - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise refuse("is larger than 1 MiB; is it the right file?")
    return data, st


def parse(data: bytes, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(path), "", "is not UTF-8 text; save it as UTF-8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(str(path), "", f"is not valid TOML: {exc}")]) from None


def load(path: Path, *, check_files: bool = False, missing_ok: bool = False) -> LoadedConfig:
    """Read and validate a configuration file; ConfigError lists every problem.

    ``check_files``: also refuse a config file others may write and secret files that are not
    private (what ``check-config``, ``run``, a reload and an API edit check); ``missing_ok``:
    a secret file that does not exist yet only disables its tenant.
    """
    data, st = read_bytes(path)
    loaded = LoadedConfig(validate(parse(data, path), str(path)), path, digest(data))
    if check_files:
        problems = config_file_problems(path, st) + list(secret_file_problems(loaded, missing_ok))
        if problems:
            raise ConfigError(problems)
    return loaded


def config_file_problems(path: Path, st: os.stat_result) -> list[Problem]:
    """Whoever may write the config file decides which files azsyncd reads and where it connects."""
    problems = []
    me = user_name(os.geteuid())
    if st.st_uid not in (0, os.geteuid()):
        problems.append(
            Problem(
                str(path),
                "",
                f"is owned by {user_name(st.st_uid)}, not by {me} or root; chown root {path}",
            )
        )
    if st.st_mode & stat.S_IWOTH:
        problems.append(
            Problem(
                str(path),
                "",
                f"is writable by everyone (mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 {path}",
            )
        )
    directory = paths.directory_problem(path.parent) or paths.ancestor_problem(path.parent)
    if directory:
        problems.append(Problem(str(path), "", directory))
    return problems


def validate(raw: dict[str, Any], file: str) -> Config:
    """Validate a parsed document; ConfigError lists every problem with its key."""
    raw, problems = _without_inline_secrets(raw, file)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems += [_problem_from_pydantic(error, file) for error in exc.errors()]
        raise ConfigError(problems) from None
    problems += [Problem(file, key, message) for key, message in cross_field_problems(config)]
    if problems:
        raise ConfigError(problems)
    return config


def secret_file_problems(
    loaded: LoadedConfig, missing_ok: bool = False
) -> typing.Iterator[Problem]:
    for key, reference in secret_file_keys(loaded.config):
        problem = file_problem(reference, loaded.directory, key)
        path = resolve(reference, loaded.directory)
        if problem:
            yield Problem(str(loaded.path), key, problem)
        elif not missing_ok and not os.path.lexists(path):
            yield Problem(
                str(loaded.path),
                key,
                f"secret file {shown(reference, path, key)} does not exist; create it (chmod 600)"
                " or fix the path",
            )
        elif key == "welcome_email.template_file" and os.path.lexists(path):
            problem = _template_problem(reference, loaded.directory, key)
            if problem:
                yield Problem(str(loaded.path), key, problem)


def _template_problem(reference: str, directory: Path, key: str) -> str | None:
    """Why the welcome email's text cannot be used as its template, or None."""
    try:
        text = read_private(reference, directory, key).decode("utf-8", errors="replace")
        parse_template(text, WELCOME_FIELDS)
    except ValueError as exc:
        return f"the template in {reference} {exc}"
    except UserError as exc:
        return exc.message
    return None


def _without_inline_secrets(raw: dict[str, Any], file: str) -> tuple[dict[str, Any], list[Problem]]:
    """Drop secrets written inline, with a problem saying where they belong."""
    problems: list[Problem] = []
    secret_keys = inline_secret_keys()

    def walk(node: Any, key: str) -> Any:
        if isinstance(node, dict):
            kept = {}
            for name, value in node.items():
                where = f"{key}.{name}" if key else name
                if name in secret_keys:
                    file_key = secret_keys[name]
                    problems.append(
                        Problem(
                            file,
                            where,
                            "secrets are not accepted inline; write the value to a file only "
                            "azsyncd can read"
                            f' (chmod 600) and set {file_key} = "/path/to/file", or load it '
                            "with "
                            "systemd's LoadCredential=",
                        )
                    )
                    continue
                kept[name] = walk(value, where)
            return kept
        if isinstance(node, list):
            return [walk(item, f"{key}[{i}]") for i, item in enumerate(node)]
        return node

    return walk(raw, ""), problems


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad dict key: the key itself is named already
            continue
        if isinstance(part, str) and part.startswith("<") and part.endswith(">"):
            continue  # the form a union took (model.Entry's tags): not a key of the file
        name = clipped(str(part), 64)
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the value at a location, to suggest its keys."""
    current: Any = Config
    for part in loc:
        if isinstance(current, type) and issubclass(current, Section) and isinstance(part, str):
            current = current.model_at(part)
            if current is None:
                return None
        while typing.get_origin(current) in (typing.Union, types.UnionType):
            current = next(a for a in typing.get_args(current) if a is not type(None))
        if isinstance(part, int) and typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
    while typing.get_origin(current) in (typing.Union, types.UnionType):
        current = next(a for a in typing.get_args(current) if a is not type(None))
    if typing.get_origin(current) is list:
        current = typing.get_args(current)[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _problem_from_pydantic(error: Any, file: str) -> Problem:
    loc = tuple(error["loc"])
    key = _format_loc(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model else []
        hint = suggest(str(loc[-1]), known)
        message = f'unknown key "{loc[-1]}"{hint}'
        if known and not hint:
            message += f"; known keys here: {', '.join(known)}"
        return Problem(file, key, message)
    if kind == "missing":
        return Problem(file, key, "is required but missing")
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and "input" in error and not isinstance(value, (dict, list)):
        # Quote short values only, and never a *_file value: it may be a pasted secret.
        if str(loc[-1]).endswith("_file") or (
            isinstance(value, str) and (len(value) > 60 or looks_like_secret(value))
        ):
            message += " (the value is not shown)"
        else:
            message += f" (got {clipped(repr(value))})"
    return Problem(file, key, message)


def to_document(config: Config) -> dict[str, Any]:
    """The configuration as a TOML-ready dict, defaults left out to keep the file short."""
    return config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def render(config: Config, current: str | None) -> str:
    """The TOML text for ``config``, keeping the comments and layout of ``current``.

    The text is read back and must give the same configuration; should an edit of the old
    text ever not, a fresh document is written instead (the .bak keeps the comments).
    """
    from azsyncd.config import toml_edit  # tomlkit: only for edits, never in a run's process

    full = config.model_dump(mode="json", exclude_none=True)
    if current is not None:
        try:
            text = toml_edit.merged(current, full, to_document(config))
            if validate(tomllib.loads(text), "") == config:
                return text
        except (ConfigError, tomllib.TOMLDecodeError, ValueError) as exc:
            log.warning("could not keep the configuration file's layout (%s)", exc)
        log.warning("the configuration file is rewritten without its comments; the .bak has them")
    return toml_edit.fresh(to_document(config))


def save(path: Path, config: Config, current: str | None = None) -> str:
    """Write a validated configuration atomically, keeping comments, the file's mode and a .bak.

    The new text goes to a temporary file in the same directory, is fsynced, and replaces
    the old file with one rename: a crash at any point leaves either the old or the new file.
    Returns the digest of what was written.
    """
    if current is None and path.exists():
        current = read_bytes(path)[0].decode("utf-8")
    text = render(config, current)
    validate(tomllib.loads(text), str(path))  # never write what we could not read back
    write_atomically(path, text.encode("utf-8"))
    return digest(text.encode("utf-8"))


def write_atomically(path: Path, data: bytes, *, backup: bool = True) -> None:
    try:
        st = path.stat()
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    except FileNotFoundError:
        mode, uid, gid = DEFAULT_MODE, -1, -1
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            created = os.fstat(handle.fileno())
            if uid != -1 and os.geteuid() == 0 and (created.st_uid, created.st_gid) != (uid, gid):
                # Only when needed: the units refuse chown (SystemCallFilter=~@privileged).
                os.fchown(handle.fileno(), uid, gid)
            os.fsync(handle.fileno())
        if backup and path.exists():
            saved = path.with_name(path.name + ".bak")
            shutil.copy2(path, saved)
            os.chmod(saved, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
