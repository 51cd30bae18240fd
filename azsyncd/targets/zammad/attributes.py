"""Zammad's user attributes as azsync's fields: types, choices, and Zammad's own limits.

``GET /object_manager_attributes`` lists every object's attributes, built-in ones included
(first name, department, VIP, note...). Each active User attribute a mapping may set becomes
a ``FieldDef`` named as Zammad displays it ("Department", "Employee ID"; its id is the
attribute's name, ``employee_id``, the key Zammad's API takes), with the limits
Zammad checks on a write (a length, an integer range, dates in the past or future only) so
that a value over them fails in the mapping, naming the field and the fix, not at Zammad.

Attributes azsync sets itself (email, phone, mobile, active) or never sets (login, password,
roles, groups, organizations) are not offered.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from azsyncd.targets.fields import Choice, FieldDef, FieldType, short

# Set by the target itself, or never: not fields a mapping may name.
RESERVED = {
    "email": "the address comes from mapping.email",
    "phone": "the phone comes from mapping.phones.w",
    "mobile": "the mobile comes from mapping.phones.mo",
    "active": "azsync sets it for leavers ([lifecycle])",
    "login": "Zammad keeps the login equal to the address",
    "password": "azsync never sets passwords",
    "role_ids": "azsync never changes roles",
    "group_ids": "azsync never changes group permissions",
    "organization_id": "organizations follow [[contact_groups]]",
    "organization_ids": "organizations follow [[contact_groups]]",
}
# The same, as Zammad displays them (a mapping names fields as displayed).
RESERVED_SHOWN = {
    "email": "email", "phone": "phone", "mobile": "mobile", "active": "active",
    "login": "login", "password": "password", "roles": "role_ids",
    "group permissions": "group_ids", "organization": "organization_id",
    "secondary organizations": "organization_ids",
}  # fmt: skip


def reserved(field: str) -> str:
    """Why a mapping may not name ``field`` (by display or attribute name), or ''."""
    key = field.strip().lower()
    return RESERVED.get(RESERVED_SHOWN.get(key, key), "")


# Zammad's data types, as azsync's field types.
TYPES = {
    "input": FieldType.TEXT,
    "textarea": FieldType.TEXT,
    "richtext": FieldType.TEXT,
    "integer": FieldType.NUMBER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "select": FieldType.DROPDOWN,
    "tree_select": FieldType.DROPDOWN,
    "multiselect": FieldType.MULTI_SELECT,
    "multi_tree_select": FieldType.MULTI_SELECT,
}
# Kept as they are: values from an outside source (an ERP's search), links to other objects.
UNWRITABLE = ("autocompletion_ajax_external_data_source", "autocompletion_ajax")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def user_attributes(listed: Any) -> list[dict[str, Any]]:
    """The active User attributes of a listing, in Zammad's order; ValueError on another
    shape."""
    if not isinstance(listed, list) or not all(isinstance(a, dict) for a in listed):
        raise ValueError(f"the attribute list is not a list of objects: {short(listed, 80)}")
    found = [a for a in listed if a.get("object") == "User" and a.get("active", True)]
    return sorted(found, key=lambda a: (a.get("position") or 0, str(a.get("name"))))


def field_of(attribute: dict[str, Any], label: str = "") -> FieldDef | None:
    """The field a mapping may set for this attribute, named ``label`` (else by its
    display name); None when azsync never sets it."""
    name = str(attribute.get("name") or "")
    data_type = str(attribute.get("data_type") or "")
    if not name or name in RESERVED:
        return None
    option = _mapping(attribute.get("data_option"))
    kind = TYPES.get(data_type, FieldType.UNKNOWN)
    if kind is FieldType.UNKNOWN and not attribute.get("editable", True):
        return None  # a built-in of a kind azsync has no use for
    choices: tuple[Choice, ...] = ()
    if kind in (FieldType.DROPDOWN, FieldType.MULTI_SELECT):
        if data_type.endswith("tree_select"):
            choices = tuple(_tree(option.get("options")))
        else:
            choices = tuple(_options(option.get("options")))
    return FieldDef(
        id=name,
        name=label or str(attribute.get("display") or name),
        type=kind,
        required=_required(attribute),
        choices=choices,
        raw_type=data_type if kind is FieldType.UNKNOWN else "",
        limit=_limit(name, data_type, option),
    )


def fields_of(listed: Any) -> list[FieldDef]:
    """The fields of every attribute a mapping may set, named as Zammad displays them
    ("Employee ID"); two attributes displayed alike are told apart by their names
    ("Notes (notes)")."""
    attributes = user_attributes(listed)
    shown = Counter(str(a.get("display") or a.get("name")) for a in attributes)
    fields = []
    for attribute in attributes:
        display = str(attribute.get("display") or attribute.get("name"))
        label = f"{display} ({attribute.get('name')})" if shown[display] > 1 else display
        if (found := field_of(attribute, label)) is not None:
            fields.append(found)
    return fields


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _options(options: Any) -> Iterator[Choice]:
    """A select's options: {key: display} in current Zammad, or [{name, value}]."""
    if isinstance(options, dict):
        for key, label in options.items():
            yield Choice(str(key), str(label))
    elif isinstance(options, list):
        for item in options:
            if isinstance(item, dict) and "value" in item:
                yield Choice(str(item["value"]), str(item.get("name", item["value"])))


def _tree(nodes: Any) -> Iterator[Choice]:
    """A tree's every node, named by its path ("Europe::Berlin"), which is also its value."""
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("value") not in (None, ""):
            yield Choice(str(node["value"]), str(node["value"]))
            yield from _tree(node.get("children"))


def _required(attribute: dict[str, Any]) -> bool:
    """Required when creating a user: on the create screen for every role or an admin's."""
    rules = _mapping(_mapping(attribute.get("screens")).get("create"))
    return any(
        isinstance(rule, dict) and (rule.get("required") is True or rule.get("null") is False)
        for role, rule in rules.items()
        if role in ("-all-", "admin.user")
    )


def _limit(name: str, data_type: str, option: dict[str, Any]) -> Callable[[Any], str | None]:
    maxlength = option.get("maxlength") if data_type in ("input", "textarea", "richtext") else None
    text_type = option.get("type") if data_type == "input" else None
    low, high = option.get("min"), option.get("max")
    past, future = option.get("past", True), option.get("future", True)

    def limit(value: Any) -> str | None:
        if isinstance(maxlength, int) and isinstance(value, str) and len(value) > maxlength:
            return (
                f"{short(value)} is longer than Zammad allows here ({maxlength} characters); "
                "fix: shorten it in Entra ID or map a shorter attribute"
            )
        if text_type == "email" and isinstance(value, str) and not EMAIL.match(value):
            return f"{short(value)} is not an email address; fix: correct it in Entra ID"
        if text_type == "url" and isinstance(value, str) and not URL.match(value):
            return (
                f"{short(value)} is not a web address (http:// or https://); fix: correct it "
                "in Entra ID"
            )
        if data_type == "integer":
            return _integer(value, low, high)
        if data_type in ("date", "datetime") and isinstance(value, str):
            return _when(value, past, future)
        return None

    return limit


def _integer(value: Any, low: Any, high: Any) -> str | None:
    if isinstance(value, float) and not value.is_integer():
        return f"{value} is not a whole number; fix: correct it in Entra ID"
    if isinstance(low, (int, float)) and value < low:
        return f"{value} is below the least value Zammad allows here ({low}); fix: correct it"
    if isinstance(high, (int, float)) and value > high:
        return f"{value} is above the most Zammad allows here ({high}); fix: correct it"
    return None


def _when(value: str, past: Any, future: Any) -> str | None:
    day = value[:10]
    today = datetime.now(UTC).date().isoformat()
    if past is False and day < today:
        return (
            f"{value} is in the past, which this Zammad attribute does not allow; fix: allow "
            "past dates in Zammad (Admin > Objects) or leave the field out of the mapping"
        )
    if future is False and day > today:
        return (
            f"{value} is in the future, which this Zammad attribute does not allow; fix: allow "
            "future dates in Zammad (Admin > Objects) or correct the value"
        )
    return None
