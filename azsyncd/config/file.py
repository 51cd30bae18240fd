"""Finding, reading, validating and atomically rewriting azsyncd.toml."""

from __future__ import annotations

import os
import shutil
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from azsyncd import paths
from azsyncd.config.model import Config, Section, inline_secret_keys, suggest
from azsyncd.config.rules import cross_field_problems, secret_file_keys
from azsyncd.config.secrets import loose_permissions, resolve
from azsyncd.errors import ConfigError, Problem

DEFAULT_MODE = 0o600


@dataclass(frozen=True)
class LoadedConfig:
    """A valid configuration and the file it came from."""

    config: Config
    path: Path

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


def load(path: Path, *, check_files: bool = False) -> LoadedConfig:
    """Read and validate a configuration file; ConfigError lists every problem."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(str(path), "", f"cannot be read: {exc.strerror}")]) from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(path), "", "is not UTF-8 text; save it as UTF-8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(str(path), "", f"is not valid TOML: {exc}")]) from None
    config = validate(raw, str(path))
    loaded = LoadedConfig(config, path)
    if check_files:
        file_problems = list(secret_file_problems(loaded))
        if file_problems:
            raise ConfigError(file_problems)
    return loaded


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


def secret_file_problems(loaded: LoadedConfig) -> typing.Iterator[Problem]:
    for key, reference in secret_file_keys(loaded.config):
        path = resolve(reference, loaded.directory)
        if not path.is_file():
            yield Problem(
                str(loaded.path),
                key,
                f"secret file {path} does not exist; create it (chmod 600) or fix the path",
            )
        elif loose_permissions(path):
            yield Problem(
                str(loaded.path),
                key,
                f"secret file {path} is readable by everyone; chmod 600 {path}",
            )


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
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
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
    if (
        kind not in ("value_error",)
        and "input" in error
        and not isinstance(error["input"], (dict, list))
    ):
        message += f" (got {error['input']!r})"
    return Problem(file, key, message)


def to_document(config: Config) -> dict[str, Any]:
    """The configuration as a TOML-ready dict, defaults left out to keep the file short."""
    return config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def save(path: Path, config: Config) -> None:
    """Write a validated configuration atomically, keeping the file's mode and a .bak.

    The new text goes to a temporary file in the same directory, is fsynced, and replaces
    the old file with one rename: a crash at any point leaves either the old or the new file.
    """
    text = tomli_w.dumps(to_document(config))
    validate(tomllib.loads(text), str(path))  # never write what we could not read back
    try:
        st = path.stat()
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    except FileNotFoundError:
        mode, uid, gid = DEFAULT_MODE, -1, -1
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(HEADER + text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if uid != -1 and os.geteuid() == 0:
                os.fchown(handle.fileno(), uid, gid)
            os.fsync(handle.fileno())
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            shutil.copy2(path, backup)
            os.chmod(backup, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


HEADER = (
    "# azsyncd configuration, last written by azsyncd through its control API.\n"
    "# The previous version is kept next to this file as .bak (comments included).\n"
    "# Reference: config/azsyncd.example.toml\n\n"
)
