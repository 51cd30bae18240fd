"""The CSV report of a sync run: the seed's columns first, safe to open in a spreadsheet.

Every cell holds text the directory's editors chose: a leading =, +, -, @ would be read as a
formula, and a terminal escape or a bidi override would act when the file is shown with cat
or less, so each cell is quoted as text and made inert (``azsyncd.inert``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from azsyncd.inert import inert

COLUMNS = ("Email", "Type", "Sync Status", "Result", "Tenant", "User ID", "Changed fields")
BOM = "\ufeff"
# A cell starting with one of these is read as a formula (or DDE) by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUS_LABELS = {
    "success": "Success",
    "unchanged": "Success",
    "failed": "Failed",
    "skipped": "Skipped",
}


def neutralise(value: str) -> str:
    """The cell as inert text: controls escaped, and a quote before a formula's first sign."""
    value = inert(value, keep="")
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def row_for(record: Any) -> list[str]:
    cells = [
        record.email,
        record.type,
        STATUS_LABELS.get(record.status, record.status.title()),
        record.result,
        record.tenant,
        record.user_id,
        record.changed_fields,
    ]
    return [neutralise(str(cell or "")) for cell in cells]


def iter_csv(records: Iterable[Any]) -> Iterator[str]:
    """The report as chunks of text, streamed: a run may hold 100,000 records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    for count, record in enumerate(records, 1):
        writer.writerow(row_for(record))
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return neutralise("" if value is None else str(value))


def iter_contacts_csv(contacts: Iterable[Any], field_names: list[str]) -> Iterator[str]:
    """The built-in store as CSV: fixed columns, then one column per custom field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(
        ["Email", "Name", "Phones", *field_names, "Tenant", "User ID", "Login", "Groups", "Updated"]
    )
    for count, c in enumerate(contacts, 1):
        phones = "; ".join(f"{p['type']}: {p['number']}" for p in c.phones)
        writer.writerow(
            [
                _cell(c.email),
                _cell(c.name),
                _cell(phones),
                *(_cell(c.custom.get(n)) for n in field_names),
                _cell(c.source_tenant),
                _cell(c.source_object_id),
                "enabled" if c.login_enabled else "disabled",
                _cell(sorted(c.groups)),
                c.updated_at.isoformat(),
            ]
        )
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
