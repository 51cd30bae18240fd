"""The target protocol every help desk target implements, and the values it trades in.

Custom field values are keyed by field id and already in the target's form (see
``targets/fields.py``). Emails compare case-insensitively everywhere (``normal_email``).

Identity: one contact per directory object
------------------------------------------
azsync binds every contact it creates or adopts to one directory object, ``(tenant, object
id)``, and the binding stays: a user's contact is the same contact for as long as the user
exists, whatever happens to the user's address. The binding is kept in azsync's state (the
mirror, ``state.models.MirrorEntry``: tenant, object id -> contact id, address, what was last
written), never in the help desk, so a target needs no field for it. What a target owes it:

- ``ExistingContact.id`` is the help desk's own id, as a string. It is stable for the
  contact's life (an address edit keeps it) and is never given to another contact.
- ``find_by_id`` finds contacts by that id. An id it does not return is a contact that is gone
  (an agent deleted it); azsync then binds the user afresh.
- ``find_by_email`` finds contacts by address. azsync asks it only to adopt a contact the help
  desk already had when a user is first bound, and to check that a new address is free.
- ``write`` of a ``ContactWrite`` with ``existing`` edits *that* contact, ``existing.id``, in
  place. ``email`` may differ from ``existing.email``: the write then changes the address of the
  same contact, which keeps its id and tickets (HappyFox: ``POST /user/<id>/`` with the new
  ``email``; the built-in store updates its row by id). A target never creates, merges or
  takes over another contact to do so; if the help desk refuses (another contact holds the
  address) the item fails with the help desk's reason. azsync checks first that the address
  is free, and otherwise fails the user itself, naming both contacts.
- A write without ``existing`` creates a contact; azsync asked ``find_by_email`` first and
  claimed the address for the run, so no contact holds it. ``WriteResult.id`` is the new
  contact's id (for an edit, the id of the contact edited).
- ``source_tenant`` and ``source_object_id`` name the binding, for a target that can show it
  (the built-in store keeps them on its row); a target must not rely on them.

Leavers and returning users
---------------------------
A leaver's portal login is turned off (a returning user's back on) by a write with
``login_enabled`` set, ``existing`` the contact (found by id) and every value as the contact
has it, so nothing else changes. A help desk that checks its required fields on every edit
(HappyFox does) would refuse it when an agent emptied one: such a write carries, in ``custom``,
the value of every required field, from the directory when the user's mapping gives one,
else the contact's current value. The target sends them with the login change. When the help
desk still refuses, the result says why; azsync records "login still ON: <reason>", raises an
alert and tries again at every sync.

Contact groups (the leavers' group, contact-group rules) are a capability of their own:
``targets/groups.py``.

Setup a target needs in the help desk
------------------------------------
A target whose settings need something the help desk must have (HappyFox's custom-field
mark needs its field) says what is missing with ``setup_problems()``, after ``fields()``:
each a ``SetupProblem`` naming the setting, the problem and how to fix it. A run logs them,
``check-config`` and ``GET /v1/fields`` (the TUI's Mapping tab) show them. A target without
the method has none (``setup_problems`` below).

Writing a target: ``tests/contract/targets/`` is the contract every target passes. A new
target's test file there says how to build one and how to look at what the protocol does
not show (a contact's login, groups and marks).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from azsyncd.targets.fields import FieldDef


@dataclass(frozen=True)
class Phone:
    type: str  # a phone type code, see config.model.PhoneType
    number: str
    id: int | str | None = None  # as the target gave it: HappyFox matches ids by type too


@dataclass
class ExistingContact:
    id: str  # the help desk's id: stable for the contact's life, never reused
    email: str  # normalised (``normal_email``)
    name: str
    phones: list[Phone] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContactWrite:
    """Create (``existing`` is None) or edit one contact in place (``existing.id``).

    ``custom`` holds only the fields this write sets; the target keeps every other custom
    field as it is, whatever its API does with fields left out. On an edit, ``email`` is the
    address the contact must have: when it differs from ``existing.email`` the address is
    changed on that same contact.
    """

    email: str
    name: str
    phones: list[Phone]
    custom: dict[str, Any]
    existing: ExistingContact | None = None
    source_tenant: str = ""
    source_object_id: str = ""
    login_enabled: bool | None = None  # None: the portal login stays as it is

    @property
    def moves_address(self) -> bool:
        """An edit that changes the contact's address (in place, same id)."""
        return self.existing is not None and normal_email(self.email) != self.existing.email


@dataclass(frozen=True)
class WriteResult:
    email: str
    ok: bool
    id: str = ""  # the contact written: created, or the very one edited
    error: str = ""  # why the help desk refused it, in words an admin can act on


def normal_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class SetupProblem:
    """Something the help desk lacks for the target's settings: the key, what, the fix."""

    key: str
    message: str
    fix: str


def setup_problems(target: Any) -> list[SetupProblem]:
    """What the help desk lacks for ``target``'s settings, as read with its fields (call
    ``fields()`` first); none for a target that has nothing to check."""
    check = getattr(target, "setup_problems", None)
    return list(check()) if check is not None else []


class Target(Protocol):
    """What the sync engine needs of a help desk (see the module's docstring for identity)."""

    max_batch: int  # the most items one ``write`` takes

    def fields(self) -> list[FieldDef]:
        """The contact custom fields the help desk has, typed (``targets/fields.py``)."""

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        """The contacts holding these addresses, by normalised address (those that exist)."""

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        """The contacts with these ids, by id; an id left out is a contact that is gone."""

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        """Every contact (changed since ``updated_since``), streamed."""

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        """Create or edit up to ``max_batch`` contacts; one result per item, in order. One
        item refused never fails the others; a call that fails as a whole fails every item
        with its reason rather than raising."""

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        """Show on these contacts that azsync keeps them, from tenant ``tenant_label``
        (HappyFox: a contact group; cosmetic, a failure here fails no contact)."""

    def close(self) -> None:
        """Release connections; the target is not used again."""
