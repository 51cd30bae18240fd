"""Editing TOML text in place with tomlkit, so an admin's comments and layout survive API edits."""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Table


def fresh(document: dict[str, Any]) -> str:
    return tomlkit.dumps(document)


def merged(current: str, full: dict[str, Any], short: dict[str, Any]) -> str:
    """``current`` changed to hold ``full``'s values.

    ``full`` has every value; ``short`` leaves defaults out. A key the file already has keeps
    its place and comment; a key it lacks is added only when it differs from the default.
    """
    document = tomlkit.parse(current)
    _merge(document, full, short)
    return tomlkit.dumps(document)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _merge(
    node: Container | Table | dict[str, Any], full: dict[str, Any], short: dict[str, Any]
) -> None:
    for key in [k for k in node if k not in full]:
        del node[key]
    for key, value in full.items():
        if key not in node:
            if key in short:
                node[key] = short[key]
            continue
        current = node[key]
        if isinstance(value, dict) and isinstance(current, dict):
            _merge(current, value, short.get(key, {}))
        elif _is_table_list(value) and isinstance(current, AoT):
            node[key] = _merged_tables(current, value, short.get(key) or [{}] * len(value))
        elif value == [] and isinstance(current, AoT):
            del node[key]  # the last table is gone; "key = []" after a table would belong to it
        elif _plain(current) != value:
            node[key] = value  # tomlkit keeps the line's trailing comment


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _merged_tables(current: AoT, full: list[dict[str, Any]], short: list[dict[str, Any]]) -> AoT:
    """Tables matched by name (by position when unnamed): a deleted tenant takes only its own."""
    named = all("name" in item for item in full)
    by_name = {str(_plain(t.get("name"))): t for t in current.body} if named else {}
    result = tomlkit.aot()
    for index, (item_full, item_short) in enumerate(zip(full, short, strict=True)):
        if named:
            table = by_name.get(str(item_full["name"]))
        else:
            table = current.body[index] if index < len(current.body) else None
        if table is None:
            table = tomlkit.table()
            table.update(item_short or {"name": item_full.get("name")})
            table.add(tomlkit.nl())
        else:
            _merge(table, item_full, item_short)
        result.append(table)
    return result
