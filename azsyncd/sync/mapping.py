"""From one directory user to the values of one contact, converted to the target's types.

Every failure names the field, the directory attribute, the value (shortened) and the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from azsyncd import attributes
from azsyncd.config.model import Mapping
from azsyncd.targets.base import Phone
from azsyncd.targets.fields import FieldDef, convert, short

EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)

NAME_PART = re.compile(r"\{([^{}]+)\}")  # an attribute in the name template
# What fingerprints have always hashed: json.dumps(data, default=str, ensure_ascii=False).
FINGERPRINT_JSON = json.JSONEncoder(default=str, ensure_ascii=False)
_JSON_STRING = json.encoder.encode_basestring  # a str as that encoder writes it (C)


@dataclass
class Mapped:
    """The contact values for one user, in the target's form."""

    email: str
    name: str
    phones: list[Phone]
    custom: dict[str, Any]  # field id -> value (None: empty in the directory)
    fingerprint: str = ""  # of the values
    mirror: str = ""  # what the mirror keeps once written: the values and the settings


class MappingFailure(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def is_guest(user: dict[str, Any]) -> bool:
    return (
        "#EXT#" in str(user.get("userPrincipalName") or "").upper()
        or user.get("userType") == "Guest"
    )


class Mapper:
    def __init__(self, mapping: Mapping, fields: list[FieldDef], settings: str = "") -> None:
        """``settings`` identifies the settings behind the values (``services.settings_key``)."""
        self.mapping = mapping
        self.settings = settings
        by_name = {f.name: f for f in fields}
        # The target's own values (its mark): on every contact, never mapped.
        self.fixed = {f.id: f.fixed for f in fields if f.fixed is not None}
        self.custom = [
            (by_name[name], attribute)
            for name, attribute in mapping.custom_fields.items()
            if name in by_name and by_name[name].fixed is None
        ]
        self.missing_fields = [name for name in mapping.custom_fields if name not in by_name]
        self.required_unmapped = [
            f.name
            for f in fields
            if f.required and f.fixed is None and f.name not in mapping.custom_fields
        ]
        self._name_parts = NAME_PART.split(mapping.name) if "{" in mapping.name else None

    def email(self, user: dict[str, Any]) -> tuple[str, str]:
        """The contact's address and the attribute it came from."""
        attribute = self.mapping.email
        value = attributes.read(user, attribute)
        if (
            self.mapping.guest_email_from_mail
            and is_guest(user)
            and attribute == "userPrincipalName"
        ):
            for candidate in ("mail", "otherMails[0]"):
                found = attributes.read(user, candidate)
                if found:
                    return str(found).strip(), candidate
            return "", "mail"
        return str(value or "").strip(), attribute

    def map(self, user: dict[str, Any]) -> Mapped:
        email, source = self.email(user)
        reasons = _email_problems(email, source, user)

        name = self._name(user)
        if not name:
            reasons.append(
                f"name <- {self.mapping.name}: empty in the directory; fix: set the name "
                "attributes in Entra ID"
            )

        phones = []
        for phone_type, attribute in self.mapping.phones.items():
            value = attributes.read(user, attribute)
            number = str(value).strip() if value not in (None, "") else ""
            if number:
                phones.append(Phone(phone_type, number))
            elif not self.mapping.skip_empty_phones:
                reasons.append(
                    f"phone ({phone_type}) <- {attribute}: empty in the directory; fix: set "
                    f"{attribute},"
                    " or set mapping.skip_empty_phones = true"
                )

        custom: dict[str, Any] = {}
        for target_field, attribute in self.custom:
            raw = attributes.read(user, attribute)
            try:
                custom[target_field.id] = convert(target_field, raw)
            except ValueError as exc:
                reasons.append(f"{target_field.name} <- {attribute}: {exc}")
                continue
            if custom[target_field.id] is None and target_field.required:
                reasons.append(
                    f"{target_field.name} <- {attribute}: the field is required but empty in the "
                    "directory;"
                    f" fix: set {attribute} in Entra ID"
                )
        for name_missing in self.required_unmapped:
            reasons.append(
                f"{name_missing}: a required field with no mapping; fix: map it under "
                "[mapping.custom_fields]"
            )
        if reasons:
            raise MappingFailure(reasons)
        custom.update(self.fixed)
        mapped = Mapped(email.lower(), name, phones, custom)
        mapped.fingerprint = fingerprint(mapped)
        mapped.mirror = f"{mapped.fingerprint}:{self.settings}"
        return mapped

    def required_values(self, user: dict[str, Any]) -> dict[str, Any]:
        """The help desk's required fields the mapping fills, as the directory gives them
        (field id -> value in the target's form); a value that does not convert is left out."""
        found: dict[str, Any] = {}
        for target_field, attribute in self.custom:
            if target_field.required:
                try:
                    value = convert(target_field, attributes.read(user, attribute))
                except ValueError:
                    continue
                if value is not None:
                    found[target_field.id] = value
        return found

    def _name(self, user: dict[str, Any]) -> str:
        if self._name_parts is None:
            return str(attributes.read(user, self.mapping.name) or "").strip()
        # Literal text and attributes alternate: the template is parsed once, not per user.
        text = "".join(
            str(attributes.read(user, part) or "") if n % 2 else part
            for n, part in enumerate(self._name_parts)
        )
        return " ".join(text.split())


def _email_problems(email: str, source: str, user: dict[str, Any]) -> list[str]:
    """Why ``email`` (read from ``source``) cannot be a contact's address, if it cannot."""
    if not email:
        return [
            f"email <- {source}: empty in the directory; fix: set {source} for this user"
            + (" (guests need mail or otherMails)" if is_guest(user) else "")
        ]
    if "#EXT#" in email.upper():
        return [
            f"email <- {source}: {short(email)} is a guest's UPN, not a mailbox; fix: set"
            " mapping.guest_email_from_mail = true to use the guest's mail"
        ]
    if not EMAIL.match(email):
        return [
            f"email <- {source}: {short(email)} is not an email address; fix: correct "
            f"{source} in Entra ID"
        ]
    return []


def fingerprint(mapped: Mapped) -> str:
    data = [
        mapped.email,
        mapped.name,
        [(p.type, p.number) for p in mapped.phones],
        sorted(mapped.custom.items(), key=str),
    ]
    text = _plain_json(data)
    if text is None:
        text = FINGERPRINT_JSON.encode(data)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _plain_json(value: Any) -> str | None:
    """``value`` exactly as FINGERPRINT_JSON writes it, when it holds only strings, ints,
    None and lists or tuples of them (what nearly every user's fingerprint holds); None
    otherwise. Several times faster than the encoder on such small data, and the stored
    fingerprints stay valid: the output is the same, byte for byte."""
    if isinstance(value, str):
        return _JSON_STRING(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    if isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            part = _plain_json(item)
            if part is None:
                return None
            parts.append(part)
        return "[" + ", ".join(parts) + "]"
    return None
