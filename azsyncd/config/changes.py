"""What an edit changes, key by key: the audit log's "what", and the keys the API may not touch.

Keys that name files or remote endpoints, or how credentials travel to them (SMTP's ``tls``),
are changed in the file only: a caller who could set them could make the daemon read any file
it can read, or send credentials to a host of the caller's choosing or in the clear. They are
recognised by name, wherever they sit in the document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from azsyncd.config import target_kinds
from azsyncd.config.secrets import looks_like_secret
from azsyncd.config.text import clipped
from azsyncd.errors import UserError

HIDDEN = "(not shown: it looks like a secret rather than a file name)"

FILE_ONLY_NAMES = frozenset(
    {
        "ca_bundle",
        "login_url",
        "graph_url",
        "base_url",
        "webhook_url",
        "smtp_host",
        "smtp_port",
        "credentials_dir",
        "database_url",
        "textfile",
        "shared_dir",
    }
)
FILE_ONLY_SECTIONS = frozenset({"control"})
# Keys that decide how a secret travels (whether the SMTP password goes out in the clear),
# or name a host the daemon connects to under another name (the digest's webhooks).
FILE_ONLY_KEYS = frozenset({"welcome_email.tls", "alerts.digest.to"})


def is_file_only(key: str) -> bool:
    parts = key.split(".")
    return (
        parts[0] in FILE_ONLY_SECTIONS
        or key in FILE_ONLY_KEYS
        or parts[-1].endswith("_file")
        or parts[-1] in FILE_ONLY_NAMES
        or (len(parts) == 3 and parts[0] == "target" and parts[2] in _declared(parts[1]))
    )


def _declared(kind: str) -> tuple[str, ...]:
    """The file-only keys a target declares for its table (a domain naming its host)."""
    try:
        found = target_kinds.get(kind)
    except RuntimeError:  # no target registered: no table to look at
        return ()
    return found.file_only if found else ()


def hidden(key: str, value: Any) -> Any:
    """A *_file value as it may be shown: a secret pasted there never is."""
    if key.endswith("_file") and isinstance(value, str) and looks_like_secret(value):
        return HIDDEN
    return value


def shown(document: Any) -> Any:
    """A config document (or part) with every pasted secret in a *_file key hidden."""
    if isinstance(document, dict):
        return {k: hidden(str(k), shown(v)) for k, v in document.items()}
    if isinstance(document, list):
        return [shown(item) for item in document]
    return document


@dataclass(frozen=True)
class Flat:
    """A document as leaf keys ("tenants.contoso.enabled") and the named tables in it."""

    leaves: dict[str, Any]
    tables: frozenset[str]


def flatten(document: dict[str, Any]) -> Flat:
    leaves: dict[str, Any] = {}
    tables: set[str] = set()

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                walk(value, path)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for index, item in enumerate(value):
                    # Tables in a list are known by their name, so that deleting one does not
                    # look like every later one changing.
                    item_path = f"{path}.{item.get('name', index)}"
                    tables.add(item_path)
                    walk(item, item_path)
            else:
                leaves[path] = value

    walk(document, "")
    return Flat(leaves, frozenset(tables))


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{clipped(self.key, 120)}: {self._show(self.before)} -> {self._show(self.after)}"

    def _show(self, value: Any) -> str:
        if value is None:
            return "(none)"
        value = hidden(self.key, value)
        return value if value == HIDDEN else clipped(json.dumps(value, ensure_ascii=False), 80)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    old, new = flatten(before).leaves, flatten(after).leaves
    keys = list(old) + [k for k in new if k not in old]
    return [Change(key, old.get(key), new.get(key)) for key in keys if old.get(key) != new.get(key)]


def describe(before: dict[str, Any], after: dict[str, Any], limit: int = 30) -> list[str]:
    """One line per change, a table added or removed as one line; never more than ``limit``."""
    old, new = flatten(before), flatten(after)
    added = sorted(new.tables - old.tables)
    removed = sorted(old.tables - new.tables)
    lines = [f"{clipped(t, 120)}: added" for t in added]
    lines += [f"{clipped(t, 120)}: removed" for t in removed]
    whole = tuple(f"{t}." for t in added + removed)
    lines += [str(c) for c in diff(before, after) if not c.key.startswith(whole)]
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"... and {len(lines) - limit + 1} more changes"]
    return lines


def file_only_changes(
    before: dict[str, Any], after: dict[str, Any], allowed: frozenset[str] = frozenset()
) -> list[str]:
    """Keys naming files or endpoints that the edit sets, changes or clears.

    Removing a whole table (deleting a tenant) takes its keys along and is no such change.
    """
    existed, kept = flatten(before).tables, flatten(after).tables
    found = []
    for change in diff(before, after):
        if not is_file_only(change.key) or change.key in allowed:
            continue
        owner = next((t for t in existed if change.key.startswith(f"{t}.")), None)
        if change.after is None and owner is not None and owner not in kept:
            continue
        found.append(clipped(change.key, 120))
    return found


class FileOnlyChange(UserError):
    """An edit through the API tried to change a key that names a file or an endpoint."""

    def __init__(self, keys: list[str], config_path: str) -> None:
        named = ", ".join(keys)
        super().__init__(
            f"{named} can be changed in the configuration file only: settings that name files "
            "or remote endpoints are not accepted through the control socket",
            f"edit {config_path} as root, then reload (azsyncctl reload or systemctl reload "
            "azsyncd); a tenant's secret is set with PUT /v1/tenants/NAME/credential",
        )
        self.keys = keys
