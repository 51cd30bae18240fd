"""Requester fields: Freshservice's field list as azsync's typed fields, and requesters as
contacts.

A mapping names fields by the label an admin sees. Four built-in requester fields are
offered next to the custom ones: First Name and Last Name (else the contact's name is
split), Job Title, and Department (a name; the department is found, or created). Custom
fields keep their API name as id, as ``custom_fields`` is keyed. Their types are those the
reference notes list: single-line text, number (whole), dropdown (the choice's value), date
and phone number; any other type is reported and kept as it is.
"""

from __future__ import annotations

import logging
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any

from azsyncd.targets.base import ExistingContact, Phone, normal_email
from azsyncd.targets.fields import Choice, FieldDef, FieldType

log = logging.getLogger(__name__)

FIRST, LAST, JOB, DEPARTMENT = "first_name", "last_name", "job_title", "department"
# requester field name -> (azsync's id, the label when the account's list has none)
STANDARD: dict[str, tuple[str, str]] = {
    "first_name": (FIRST, "First Name"),
    "last_name": (LAST, "Last Name"),
    "job_title": (JOB, "Job Title"),
    "department": (DEPARTMENT, "Department"),
    "department_ids": (DEPARTMENT, "Department"),
    "department_names": (DEPARTMENT, "Department"),
}
CUSTOM_TYPES: dict[str, FieldType] = {
    "custom_text": FieldType.TEXT,
    "custom_number": FieldType.NUMBER,
    "custom_dropdown": FieldType.DROPDOWN,
    "custom_date": FieldType.DATE,
    "custom_phone_number": FieldType.TEXT,
}
PHONE_KEYS = {"w": "work_phone_number", "mo": "mobile_phone_number"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass
class Requester(ExistingContact):
    """A requester as listed, with what a write must know beyond the contact's values."""

    active: bool = True
    first_name: str = ""
    last_name: str = ""
    department_ids: list[int] = field(default_factory=list)
    secondary_emails: tuple[str, ...] = ()
    # Freshservice sets this flag to false on every update that does not send it true.
    sees_department_tickets: bool = False
    updated_at: str = ""


def choices_of(raw: Any) -> tuple[Choice, ...]:
    """A dropdown's choices, however the list spells them: the value is what is written."""
    if isinstance(raw, dict):  # {"value": ...} or {"Berlin": ...}
        items: list[Any] = [raw["value"]] if "value" in raw else list(raw)
    elif isinstance(raw, list):
        items = raw
    else:
        items = []
    values = []
    for item in items:
        value = item
        if isinstance(item, dict):
            value = next((item[k] for k in ("value", "label", "name") if k in item), None)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values.append(str(value))
    return tuple(Choice(v, v) for v in dict.fromkeys(values))


def field_defs(raw_fields: list[dict[str, Any]]) -> list[FieldDef]:
    """The fields a mapping may name, from ``GET /requester_fields``."""
    standard: dict[str, FieldDef] = {}
    custom: list[FieldDef] = []
    for raw in raw_fields:
        name = str(raw.get("name") or "")
        label = str(raw.get("label") or raw.get("label_for_requesters") or name)
        kind = str(raw.get("type") or "")
        if name in STANDARD:
            field_id = STANDARD[name][0]
            standard.setdefault(field_id, FieldDef(field_id, label, FieldType.TEXT, raw_type=kind))
        elif kind.startswith("custom_") and name:
            field_type = CUSTOM_TYPES.get(kind, FieldType.UNKNOWN)
            custom.append(
                FieldDef(
                    id=name,
                    name=label,
                    type=field_type,
                    required=bool(raw.get("required_for_agents")),
                    choices=choices_of(raw.get("choices"))
                    if field_type is FieldType.DROPDOWN
                    else (),
                    raw_type=kind,
                )
            )
    for field_id, label in dict(STANDARD.values()).items():
        standard.setdefault(field_id, FieldDef(field_id, label, FieldType.TEXT, raw_type="default"))
    return [standard[f] for f in (FIRST, LAST, JOB, DEPARTMENT)] + custom


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _stored(value: Any) -> Any:
    """A custom value as azsync compares it: dates as yyyy-mm-dd, the rest as given."""
    if isinstance(value, str) and ISO_DATE.match(value) and ("T" in value or len(value) == 10):
        return value[:10]
    return value


def requester_from(raw: Any, department_name: Any) -> Requester:
    """One requester as listed; ValueError when it is something else. ``department_name``
    gives a department's name from its id (when the answer has no names)."""
    if not isinstance(raw, dict) or raw.get("id") in (None, "") or isinstance(raw.get("id"), bool):
        raise ValueError(f"a requester without an id: {reprlib.repr(raw)}")
    custom_raw = raw.get("custom_fields") or {}
    if not isinstance(custom_raw, dict):
        raise ValueError(f"requester {raw['id']}'s custom_fields is not an object")
    ids = [i for i in raw.get("department_ids") or [] if isinstance(i, int)]
    names = raw.get("department_names")
    first_department = (
        names[0] if isinstance(names, list) and names and isinstance(names[0], str) else None
    )
    if first_department is None and ids:
        first_department = department_name(ids[0])
    first, last = _text(raw.get("first_name")), _text(raw.get("last_name"))
    custom = {str(k): _stored(v) for k, v in custom_raw.items()}
    custom.update(
        {FIRST: first or None, LAST: last or None, JOB: _text(raw.get("job_title")) or None}
    )
    custom[DEPARTMENT] = first_department
    phones = [
        Phone(code, _text(raw.get(key))) for code, key in PHONE_KEYS.items() if _text(raw.get(key))
    ]
    secondary = tuple(
        normal_email(e) for e in raw.get("secondary_emails") or [] if isinstance(e, str)
    )
    return Requester(
        id=str(raw["id"]),
        email=normal_email(str(raw.get("primary_email") or "")),
        name=" ".join(p for p in (first, last) if p),
        phones=phones,
        custom=custom,
        active=raw.get("active") is not False,
        first_name=first,
        last_name=last,
        department_ids=ids,
        secondary_emails=secondary,
        sees_department_tickets=raw.get("can_see_all_tickets_from_associated_departments") is True,
        updated_at=str(raw.get("updated_at") or ""),
    )


def split_name(name: str) -> tuple[str, str | None]:
    """First and last name from one name: the last word is the last name."""
    words = name.split()
    if len(words) < 2:
        return name.strip(), None
    return " ".join(words[:-1]), words[-1]
