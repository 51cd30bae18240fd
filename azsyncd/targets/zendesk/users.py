"""Zendesk users and azsync contacts: user fields as typed fields, users as contacts, and the
body of a write.

User fields are keyed by their ``key``; a dropdown's or multiselect's value is the option's
``value`` (its tag). Time zone and locale are offered as two more fields, ``time_zone`` and
``locale`` (ids ``@time_zone``, ``@locale``: no user field key starts with "@"), so a mapping
may fill them; their choices are the account's time zones (by Zendesk name or IANA name) and
locales (by code or name).
"""

from __future__ import annotations

import logging
import re
import reprlib
from datetime import date
from typing import Any

from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, normal_email
from azsyncd.targets.fields import Choice, FieldDef, FieldType

log = logging.getLogger(__name__)

TIME_ZONE, LOCALE = "@time_zone", "@locale"
PSEUDO = {TIME_ZONE: "time_zone", LOCALE: "locale"}
# Zendesk's user field types, and the ones azsync writes them as.
TYPES = {
    "text": FieldType.TEXT,
    "textarea": FieldType.TEXT,
    "regexp": FieldType.TEXT,  # with its pattern
    "checkbox": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "integer": FieldType.INTEGER,
    "decimal": FieldType.NUMBER,
    "dropdown": FieldType.DROPDOWN,
    "multiselect": FieldType.MULTI_SELECT,
    "lookup": FieldType.UNKNOWN,  # the id of a related record: nothing Entra ID holds
}


def field_from(raw: dict[str, Any]) -> FieldDef | None:
    """A user field as a typed field; None for an inactive one. ValueError on garbage."""
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"a user field without a key: {reprlib.repr(raw)}")
    if raw.get("active") is False:
        return None
    raw_type = str(raw.get("type") or "text")
    options = raw.get("custom_field_options") or []
    if not isinstance(options, list):
        raise ValueError(f"user field {key}'s options are not a list: {reprlib.repr(options)}")
    choices = tuple(
        Choice(str(o.get("value")), str(o.get("name") or o.get("value")))
        for o in options
        if isinstance(o, dict) and o.get("value") not in (None, "")
    )
    return FieldDef(
        id=key,
        name=str(raw.get("title") or key),
        type=TYPES.get(raw_type, FieldType.UNKNOWN),
        choices=choices,
        raw_type=raw_type,
        pattern=str(raw.get("regexp_for_validation") or "") if raw_type == "regexp" else "",
    )


def time_zone_field(zones: list[dict[str, Any]]) -> FieldDef:
    choices: list[Choice] = []
    for zone in zones:
        name = zone.get("name")
        if isinstance(name, str) and name:
            choices.append(Choice(name, name))
            iana = zone.get("iana_name")
            if isinstance(iana, str) and iana and iana != name:
                choices.append(Choice(name, iana))
    return FieldDef(
        TIME_ZONE, "time_zone", FieldType.DROPDOWN, choices=tuple(choices), raw_type="time_zone"
    )


def locale_field(locales: list[dict[str, Any]]) -> FieldDef:
    choices: list[Choice] = []
    for locale in locales:
        code = locale.get("locale")
        if isinstance(code, str) and code:
            choices.append(Choice(code, code))
            name = locale.get("name")
            if isinstance(name, str) and name and name != code:
                choices.append(Choice(code, name))
    return FieldDef(LOCALE, "locale", FieldType.DROPDOWN, choices=tuple(choices), raw_type="locale")


def _value(field: FieldDef, value: Any) -> Any:
    """A stored user field value in azsync's form of its type (so comparisons hold)."""
    if value in (None, "", []):
        return None
    if field.type is FieldType.DATE:
        text = str(value)[:10]
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return value
    if field.type is FieldType.INTEGER and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if field.type is FieldType.NUMBER and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    if field.type is FieldType.MULTI_SELECT and isinstance(value, str):
        return value.split()  # tags, space-separated
    return value


def contact_from(raw: Any, fields: dict[str, FieldDef], phone_type: str) -> ExistingContact:
    """One Zendesk user as a contact; ValueError when it is something else."""
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        raise ValueError(f"a user without an id: {reprlib.repr(raw)}")
    stored = raw.get("user_fields") or {}
    if not isinstance(stored, dict):
        raise ValueError(f"user {raw['id']}'s user_fields is not an object: {reprlib.repr(stored)}")
    custom = {key: _value(fields[key], value) for key, value in stored.items() if key in fields}
    for field_id, attribute in PSEUDO.items():
        if field_id in fields:
            custom[field_id] = raw.get(attribute) or None
    phone = str(raw.get("phone") or "").strip()
    return ExistingContact(
        id=str(raw["id"]),
        email=normal_email(str(raw.get("email") or "")),
        name=str(raw.get("name") or ""),
        phones=[Phone(phone_type, phone)] if phone and phone_type else [],
        custom=custom,
    )


def payload(item: ContactWrite, phone_type: str, *, verify_email: bool) -> dict[str, Any]:
    """The user body of a write: only what it sets, so Zendesk keeps everything else (user
    fields left out keep their values). Never a role: new users are end users."""
    user: dict[str, Any] = {"name": item.name, "email": item.email}
    if phone_type:
        # The one phone Zendesk keeps; empty in Entra ID empties it here.
        user["phone"] = item.phones[0].number if item.phones else None
    if item.source_object_id:
        user["external_id"] = item.source_object_id
    fields = {k: v for k, v in item.custom.items() if k not in PSEUDO}
    if fields:
        user["user_fields"] = fields
    for field_id, attribute in PSEUDO.items():
        if item.custom.get(field_id) is not None:
            user[attribute] = item.custom[field_id]
    if item.login_enabled is not None:
        user["suspended"] = not item.login_enabled
    if item.existing is None and not verify_email:
        user["skip_verify_email"] = True
    return user
