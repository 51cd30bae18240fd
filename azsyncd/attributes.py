"""The Entra ID user attributes a mapping may read, and how to read one from a Graph user."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Attributes Graph returns for users that make sense on a contact. Order is the order the
# TUI lists them in.
KNOWN: tuple[str, ...] = (
    "userPrincipalName",
    "mail",
    "otherMails[0]",
    "displayName",
    "givenName",
    "surname",
    "businessPhones[0]",
    "mobilePhone",
    "faxNumber",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "employeeId",
    "employeeType",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "preferredLanguage",
    "accountEnabled",
    "userType",
    "createdDateTime",
    "mailNickname",
    *(f"onPremisesExtensionAttributes.extensionAttribute{i}" for i in range(1, 16)),
    "onPremisesSamAccountName",
    "onPremisesDistinguishedName",
    # The manager, read with $expand=manager (see directory/source.py).
    "manager.displayName",
    "manager.mail",
    "manager.employeeId",
)
# Whole lists, for expressions (join, coalesce) and conditions (in, is empty).
LISTS: tuple[str, ...] = ("otherMails", "businessPhones", "assignedLicenses")
# The kind of value each attribute holds, for checking expressions; text when not named.
KINDS: dict[str, str] = {
    "accountEnabled": "bool",
    "employeeHireDate": "date",
    "employeeLeaveDateTime": "date",
    "createdDateTime": "date",
    **{name: "list" for name in LISTS},
}
# Attributes whose values are one of a few words, to catch a mistyped literal.
VALUES: dict[str, tuple[str, ...]] = {"userType": ("Member", "Guest")}
MANAGER = "manager"  # the navigation property behind manager.*
MANAGER_SELECT = ("id", "displayName", "mail", "employeeId")

# Directory extensions registered by an app: extension_<app id without dashes>_<name>.
_EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$")
_INDEXED = re.compile(r"^(?P<name>[A-Za-z]+)\[(?P<index>\d+)\]$")


def is_known(attribute: str) -> bool:
    return attribute in KNOWN or attribute in LISTS or bool(_EXTENSION.match(attribute))


def kind_of(attribute: str) -> str:
    """text, bool, date or list."""
    return KINDS.get(attribute, "text")


def reads_manager(attribute: str) -> bool:
    return attribute.split(".", 1)[0] == MANAGER


def graph_property(attribute: str) -> str:
    """The top-level Graph property to $select for an attribute path."""
    head = attribute.split(".", 1)[0]
    match = _INDEXED.match(head)
    return match.group("name") if match else head


def read(user: dict[str, Any], attribute: str) -> Any:
    """Read an attribute path such as ``businessPhones[0]`` or ``a.b`` from a Graph user.

    Missing parts give None rather than an error: directory data is often sparse.
    """
    value: Any = user
    for name, index in _steps(attribute):
        if not isinstance(value, dict):
            return None
        value = value.get(name)
        if index is not None:
            value = value[index] if isinstance(value, list) and index < len(value) else None
    return value


@lru_cache(maxsize=1024)
def _steps(attribute: str) -> tuple[tuple[str, int | None], ...]:
    """An attribute path parsed once: it is read for every user of every run."""
    steps: list[tuple[str, int | None]] = []
    for part in attribute.split("."):
        match = _INDEXED.match(part)
        steps.append((match.group("name"), int(match.group("index"))) if match else (part, None))
    return tuple(steps)
