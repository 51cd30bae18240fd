"""Many rows in one statement, built once per chunk rather than by the ORM per row: one
INSERT for many rows, one ``IN (...)`` for many keys.

The values come ready for the database (strings, numbers, None): the callers' rows are
plain, so no per-value conversion is needed. Works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peewee import SQL, Field, Model

# SQLite (3.32+) takes up to 32,766 parameters a statement, PostgreSQL 65,535.
MAX_PARAMETERS = 32_000


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def among(column: Field, values: Sequence[Any]) -> SQL:
    """``column IN (values)`` as one node of the query: peewee's ``in_()`` renders each
    value as a node of its own, which for a chunk of 500 keys costs more than the query."""
    param = column.model._meta.database.param
    return SQL(f"{_quoted(column.column_name)} IN ({', '.join([param] * len(values))})", values)


def insert_rows(
    model: type[Model],
    columns: Sequence[Field],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[Field] = (),
    update: Sequence[Field] = (),
) -> int:
    """Insert ``rows`` (one value per column); on a ``conflict`` key, update ``update`` columns
    (or skip the row when ``update`` is empty). Returns how many rows were inserted or updated.
    """
    if not rows:
        return 0
    db = model._meta.database
    names = [_quoted(c.column_name) for c in columns]
    head = f"INSERT INTO {_quoted(model._meta.table_name)} ({', '.join(names)}) VALUES "
    tail = ""
    if conflict:
        keys = ", ".join(_quoted(c.column_name) for c in conflict)
        sets = ", ".join(
            f"{_quoted(c.column_name)} = EXCLUDED.{_quoted(c.column_name)}" for c in update
        )
        tail = f" ON CONFLICT ({keys}) " + (f"DO UPDATE SET {sets}" if update else "DO NOTHING")
    one = "(" + ", ".join([db.param] * len(columns)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    changed = 0
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        params = [value for row in part for value in row]
        cursor = db.execute_sql(head + ", ".join([one] * len(part)) + tail, params)
        changed += max(cursor.rowcount, 0)
    return changed
