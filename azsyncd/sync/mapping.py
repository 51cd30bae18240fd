"""From one directory user to the values of one contact, converted to the target's types.

Every failure names the field, the directory attribute, the value (shortened) and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from azsyncd import attributes
from azsyncd.config.expression import Expression, compile_expression
from azsyncd.config.expression.kinds import as_text, empty
from azsyncd.config.model import Mapping, entry_apply, entry_source
from azsyncd.sync.fixes import Fix
from azsyncd.targets.base import Phone
from azsyncd.targets.fields import (
    FieldDef,
    NotAChoice,
    Unwritable,
    convert,
    expression_problem,
    short,
)

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
    """Why a user cannot be mapped: the reasons, and beside them what fixes each."""

    def __init__(self, reasons: list[str], fixes: list[Fix] | None = None) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.fixes = fixes or []


def is_guest(user: dict[str, Any]) -> bool:
    return (
        "#EXT#" in str(user.get("userPrincipalName") or "").upper()
        or user.get("userType") == "Guest"
    )


class Mapper:
    """Maps users with the configured expressions: the one place they are evaluated."""

    def __init__(self, mapping: Mapping, fields: list[FieldDef], settings: str = "") -> None:
        """``settings`` identifies the settings behind the values (``services.settings_key``)."""
        self.mapping = mapping
        self.settings = settings
        by_name = {f.name: f for f in fields}
        # The target's own values (its mark): on every contact, never mapped.
        self.fixed = {f.id: f.fixed for f in fields if f.fixed is not None}
        self.custom = [
            (by_name[name], mapping.expression(entry))
            for name, entry in mapping.custom_fields.items()
            if name in by_name and by_name[name].fixed is None
        ]
        # A mapping whose expression cannot fill its field (a list into a dropdown, a fixed
        # text that is no choice) fails every contact with the reason, until it is fixed.
        problems = {
            field.name: expression_problem(field, expression) for field, expression in self.custom
        }
        self.broken = [found for found in problems.values() if found]
        self._broken = {name for name, found in problems.items() if found}
        self.missing_fields = [name for name in mapping.custom_fields if name not in by_name]
        self.required_unmapped = [
            f.name
            for f in fields
            if f.required and f.fixed is None and f.name not in mapping.custom_fields
        ]
        self._email = compile_expression(mapping.email)
        name = entry_source(mapping.name)
        self._name_parts = NAME_PART.split(name) if "{" in name else None
        self._name = None if self._name_parts else compile_expression(name)
        self._phones = [(t, compile_expression(entry_source(e))) for t, e in mapping.phones.items()]
        # Per-field rules, by the key the planner knows them: a field id, "name", "phone:<type>".
        self.rules: dict[str, str] = {
            field.id: mapping.custom_apply(field.name) for field, _ in self.custom
        }
        self.rules["name"] = entry_apply(mapping.name)
        self.rules.update({f"phone:{t}": entry_apply(e) for t, e in mapping.phones.items()})

    def email(self, user: dict[str, Any]) -> tuple[str, str]:
        """The contact's address and the attribute (or expression) it came from."""
        source = self.mapping.email
        if (
            self.mapping.guest_email_from_mail
            and self._email.attribute == "userPrincipalName"
            and is_guest(user)
        ):
            for candidate in ("mail", "otherMails[0]"):
                found = attributes.read(user, candidate)
                if found:
                    return str(found).strip(), candidate
            return "", "mail"
        value = self._email.evaluate(user)
        return ("" if empty(value) else as_text(value)), source

    def map(self, user: dict[str, Any]) -> Mapped:
        reasons: list[str] = []
        fixes: list[Fix] = []
        email = self._mapped_email(user, reasons, fixes)
        name = self._mapped_name(user, reasons, fixes)
        phones = self._mapped_phones(user, reasons, fixes)
        custom = self._mapped_custom(user, reasons, fixes)
        if reasons:
            raise MappingFailure(reasons, fixes)
        custom.update(self.fixed)
        mapped = Mapped(email.lower(), name, phones, custom)
        mapped.fingerprint = fingerprint(mapped)
        mapped.mirror = f"{mapped.fingerprint}:{self.settings}"
        return mapped

    # Each part of ``map`` adds why it fails (``reasons``) and what fixes it (``fixes``).

    def _mapped_email(self, user: dict[str, Any], reasons: list[str], fixes: list[Fix]) -> str:
        email, source = self.email(user)
        found, fixed = _email_problems(email, source, user)
        if not attributes.is_known(source):  # an expression: name the attributes it reads
            fixed = [dataclasses.replace(f, attribute=read_by(self._email)) for f in fixed]
        reasons += [*self.broken, *found]
        fixes += [
            Fix("mapping", "", name, detail="an expression the field cannot hold")
            for name in sorted(self._broken)
        ]
        fixes += fixed
        return email

    def _mapped_name(self, user: dict[str, Any], reasons: list[str], fixes: list[Fix]) -> str:
        name = self._name_of(user)
        if not name:
            reasons.append(
                f"name <- {entry_source(self.mapping.name)}: empty in the directory; fix: set the"
                " name attributes in Entra ID"
            )
            parts = (
                name_attributes(entry_source(self.mapping.name))
                if self._name is None
                else sorted(self._name.reads)
            )
            fixes.append(Fix("set", " or ".join(parts), "name"))
        return name

    def _mapped_phones(
        self, user: dict[str, Any], reasons: list[str], fixes: list[Fix]
    ) -> list[Phone]:
        phones = []
        for phone_type, expression in self._phones:
            value = expression.evaluate(user)
            number = "" if empty(value) else as_text(value)
            if number:
                phones.append(Phone(phone_type, number))
            elif not self.mapping.skip_empty_phones:
                reasons.append(
                    f"phone ({phone_type}) <- {expression.source}: empty in the directory; fix:"
                    f" set {expression.source},"
                    " or set mapping.skip_empty_phones = true"
                )
                fixes.append(Fix("set", read_by(expression), f"phone ({phone_type})"))
        return phones

    def _mapped_custom(
        self, user: dict[str, Any], reasons: list[str], fixes: list[Fix]
    ) -> dict[str, Any]:
        custom: dict[str, Any] = {}
        for target_field, expression in self.custom:
            raw = expression.evaluate(user)
            try:
                custom[target_field.id] = convert(target_field, raw)
            except ValueError as exc:
                reasons.append(f"{target_field.name} <- {expression.source}: {exc}")
                fixes.append(_value_fix(exc, target_field, read_by(expression)))
                continue
            if custom[target_field.id] is None and target_field.required:
                reasons.append(
                    f"{target_field.name} <- {expression.source}: the field is required but empty"
                    " in the directory;"
                    f" fix: set {expression.source} in Entra ID"
                )
                fixes.append(Fix("set", read_by(expression), target_field.name))
        for name_missing in self.required_unmapped:
            reasons.append(
                f"{name_missing}: a required field with no mapping; fix: map it under "
                "[mapping.custom_fields]"
            )
            fixes.append(
                Fix("mapping", "", name_missing, detail="a required field with no mapping")
            )
        return custom

    def fails(self, user: dict[str, Any], parts: Container[str] | None = None) -> bool:
        """Whether ``map`` fails this user, looking only at ``parts`` of the mapping (every
        part when None): "email", "name", "phone:<type>", "field:<name>" (a custom field) and
        "required" (required fields left unmapped). Cheaper than ``map``: it stops at the first
        failure and builds nothing (a preview asks it of every user, for the settings in use)."""

        def wanted(part: str) -> bool:
            return parts is None or part in parts

        if wanted("email") and _email_problems(*self.email(user), user)[0]:
            return True
        if wanted("name") and not self._name_of(user):
            return True
        if not self.mapping.skip_empty_phones:
            for phone_type, expression in self._phones:
                if wanted(f"phone:{phone_type}"):
                    value = expression.evaluate(user)
                    if empty(value) or not as_text(value):
                        return True
        for target_field, expression in self.custom:
            if not wanted(f"field:{target_field.name}"):
                continue
            if target_field.name in self._broken:
                return True
            try:
                value = convert(target_field, expression.evaluate(user))
            except ValueError:
                return True
            if value is None and target_field.required:
                return True
        return wanted("required") and bool(self.required_unmapped)

    def required_values(self, user: dict[str, Any]) -> dict[str, Any]:
        """The help desk's required fields the mapping fills, as the directory gives them
        (field id -> value in the target's form); a value that does not convert is left out."""
        found: dict[str, Any] = {}
        for target_field, expression in self.custom:
            if target_field.required:
                try:
                    value = convert(target_field, expression.evaluate(user))
                except ValueError:
                    continue
                if value is not None:
                    found[target_field.id] = value
        return found

    def _name_of(self, user: dict[str, Any]) -> str:
        if self._name is not None:
            value = self._name.evaluate(user)
            return "" if empty(value) else " ".join(as_text(value).split())
        # Literal text and attributes alternate: the template is parsed once, not per user.
        assert self._name_parts is not None
        text = "".join(
            str(attributes.read(user, part) or "") if n % 2 else part
            for n, part in enumerate(self._name_parts)
        )
        return " ".join(text.split())


def _email_problems(email: str, source: str, user: dict[str, Any]) -> tuple[list[str], list[Fix]]:
    """Why ``email`` (read from ``source``, an attribute or an expression) cannot be a
    contact's address, if it cannot, and what fixes it."""
    what = source if attributes.is_known(source) else "the mapped value"
    if not email:
        return [
            f"email <- {source}: empty in the directory; fix: set {what} for this user"
            + (" (guests need mail or otherMails)" if is_guest(user) else "")
        ], [Fix("set", source, "email")]
    if "#EXT#" in email.upper():
        return [
            f"email <- {source}: {short(email)} is a guest's UPN, not a mailbox; fix: set"
            " mapping.guest_email_from_mail = true to use the guest's mail"
        ], [Fix("guest", source, "email")]
    if not EMAIL.match(email):
        return [
            f"email <- {source}: {short(email)} is not an email address; fix: correct "
            f"{what} in Entra ID"
        ], [Fix("email", source, "email")]
    return [], []


def read_by(expression: Expression) -> str:
    """The attribute a fix names for a mapped value: the one it reads, or those it may read."""
    return expression.attribute or " or ".join(sorted(expression.reads)) or expression.source


def _value_fix(problem: ValueError, field: FieldDef, attribute: str) -> Fix:
    """What fixes a directory value the field's type refused."""
    if isinstance(problem, NotAChoice):
        return Fix("choice", attribute, field.name, problem.label, problem.allowed)
    if isinstance(problem, Unwritable):
        return Fix("mapping", attribute, field.name, detail="a field of a type azsync cannot write")
    return Fix("format", attribute, field.name, detail=str(field.type))


def name_attributes(template: str) -> list[str]:
    """The attributes a name template reads."""
    found = NAME_PART.findall(template)
    return found if found else [template]


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
