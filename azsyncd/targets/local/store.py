"""The built-in store as a target: validated batch writes, lookups by email, and listing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from peewee import Database, fn

from azsyncd.state.bulk import insert_rows
from azsyncd.state.fields import utcnow
from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, WriteResult, normal_email
from azsyncd.targets.fields import Choice, FieldDef, problem
from azsyncd.targets.local.settings import LocalField
from azsyncd.targets.local.table import Contact, attach

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INSERTED = (
    Contact.email,
    Contact.name,
    Contact.phones,
    Contact.custom,
    Contact.source_tenant,
    Contact.source_object_id,
    Contact.login_enabled,
    Contact.groups,
    Contact.created_at,
    Contact.updated_at,
)

NO_GROUPS = Contact.groups.db_value({})  # a new contact is in no contact group


def field_defs(declared: list[LocalField]) -> list[FieldDef]:
    # The field's name is its id: stable across restarts, readable in the database.
    return [
        FieldDef(
            id=f.name,
            name=f.name,
            type=f.type,
            required=f.required,
            choices=tuple(Choice(c, c) for c in f.choices),
        )
        for f in declared
    ]


def _numeric(item: ContactWrite) -> bool:
    return item.existing is not None and str(item.existing.id).isdigit()


def _phone_rows(item: ContactWrite) -> list[dict[str, Any]]:
    return [
        {"type": p.type, "number": p.number, **({"id": p.id} if p.id else {})} for p in item.phones
    ]


def _existing(row: Contact) -> ExistingContact:
    return ExistingContact(
        id=str(row.id),
        email=row.email,
        name=row.name,
        phones=[Phone(p["type"], p["number"], p.get("id")) for p in row.phones],
        custom=dict(row.custom),
    )


class LocalStore:
    max_batch = 500

    def __init__(self, declared: list[LocalField], db: Database) -> None:
        self._fields = field_defs(declared)
        attach(db)

    def close(self) -> None:
        pass

    def fields(self) -> list[FieldDef]:
        return list(self._fields)

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = list({normal_email(e) for e in emails})
        found: dict[str, ExistingContact] = {}
        for start in range(0, len(wanted), 500):
            for row in Contact.select().where(Contact.email.in_(wanted[start : start + 500])):
                found[row.email] = _existing(row)
        return found

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        wanted = list({int(i) for i in ids if str(i).isdigit()})
        found: dict[str, ExistingContact] = {}
        for start in range(0, len(wanted), 500):
            for row in Contact.select().where(Contact.id.in_(wanted[start : start + 500])):
                found[str(row.id)] = _existing(row)
        return found

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        query = Contact.select().order_by(Contact.id)
        if updated_since is not None:
            query = query.where(Contact.updated_at >= updated_since)
        for row in query.iterator():
            yield _existing(row)

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        """Validate every item, then write the batch: one insert and as few updates as needed.
        An edit finds its row by id, so an address change edits the same contact."""
        by_email = {
            row.email: row
            for row in Contact.select().where(
                Contact.email.in_([normal_email(item.email) for item in batch])
            )
        }
        edited = [int(item.existing.id) for item in batch if item.existing and _numeric(item)]
        by_id = {row.id: row for row in Contact.select().where(Contact.id.in_(edited))}
        results: list[WriteResult] = []
        inserts: list[tuple[Any, ...]] = []
        now = utcnow()
        with Contact._meta.database.atomic():
            for item in batch:
                row, problem = self._row_for(item, by_email, by_id)
                problem = problem or self._problems(item, row)
                if problem:
                    results.append(
                        WriteResult(item.email, False, str(row.id) if row else "", problem)
                    )
                elif row is None:
                    inserts.append(self._inserted(item, now))
                    results.append(WriteResult(item.email, True))
                else:
                    by_email.pop(row.email, None)
                    self._edit(row, item, now)
                    by_email[row.email] = row
                    results.append(WriteResult(item.email, True, str(row.id)))
            if inserts:
                results = self._insert(inserts, results)
        return results

    @staticmethod
    def _row_for(
        item: ContactWrite, by_email: dict[str, Contact], by_id: dict[int, Contact]
    ) -> tuple[Contact | None, str]:
        """The row an item writes (None: a new contact), or why it cannot be written."""
        email = normal_email(item.email)
        holder = by_email.get(email)
        if item.existing is None:
            return holder, ""
        row = by_id.get(int(item.existing.id)) if _numeric(item) else None
        if row is None:
            return None, f"contact {item.existing.id} is no longer in the store"
        if holder is not None and holder.id != row.id:
            return row, (
                f"email: {email} already belongs to contact {holder.id}; contact {row.id} "
                "keeps its address"
            )
        return row, ""

    @staticmethod
    def _inserted(item: ContactWrite, now: datetime) -> tuple[Any, ...]:
        stamp = Contact.created_at.db_value(now)
        return (
            normal_email(item.email),
            item.name,
            Contact.phones.db_value(_phone_rows(item)),
            Contact.custom.db_value(dict(item.custom)),
            item.source_tenant,
            item.source_object_id,
            Contact.login_enabled.db_value(item.login_enabled is not False),
            NO_GROUPS,
            stamp,
            stamp,
        )

    @staticmethod
    def _edit(row: Contact, item: ContactWrite, now: datetime) -> None:
        row.email, row.name, row.phones = normal_email(item.email), item.name, _phone_rows(item)
        row.custom = {**row.custom, **item.custom}  # fields not set here keep their values
        row.updated_at = now
        if item.login_enabled is not None:
            row.login_enabled = item.login_enabled
        if item.source_object_id:
            row.source_tenant, row.source_object_id = item.source_tenant, item.source_object_id
        row.save()

    @staticmethod
    def _insert(inserts: list[tuple[Any, ...]], results: list[WriteResult]) -> list[WriteResult]:
        insert_rows(Contact, INSERTED, inserts)
        new = Contact.select(Contact.id, Contact.email).where(
            Contact.email.in_([row[0] for row in inserts])
        )
        rows_back = cast(Iterable[tuple[int, str]], new.tuples())
        ids = {email: str(contact_id) for contact_id, email in rows_back}
        return [
            WriteResult(r.email, True, ids[normal_email(r.email)]) if r.ok and not r.id else r
            for r in results
        ]

    def _problems(self, item: ContactWrite, row: Contact | None) -> str:
        email = normal_email(item.email)
        if not EMAIL.match(email):
            return f"email: {item.email!r} is not an address"
        if not item.name.strip():
            return "name: this field is required"
        custom = {**(row.custom if row else {}), **item.custom}
        problems = [p for f in self._fields if (p := problem(f, custom.get(f.id)))]
        unknown = set(item.custom) - {f.id for f in self._fields}
        problems += [f"{name}: no such custom field" for name in sorted(unknown)]
        return "; ".join(problems)

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        # The store's marker is the source tenant on the row, set by write(); this makes
        # sure contacts written before the marker existed get it too.
        ids = [int(i) for i in contact_ids]
        Contact.update(source_tenant=tenant_label).where(
            Contact.id.in_(ids), Contact.source_tenant == ""
        ).execute()

    # --- contact groups (targets.groups.ContactGroups) --------------------------------

    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        self._regroup(contact_ids, lambda groups: {**groups, name: access_tickets})

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        self._regroup(contact_ids, lambda groups: {k: v for k, v in groups.items() if k != name})

    def group_names(self) -> list[str]:
        names: set[str] = set()
        for row in Contact.select(Contact.groups).where(Contact.groups != "{}").iterator():
            names.update(row.groups)
        return sorted(names)

    def _regroup(
        self, contact_ids: list[str], change: Callable[[dict[str, bool]], dict[str, bool]]
    ) -> None:
        ids = [int(i) for i in contact_ids]
        with Contact._meta.database.atomic():
            for start in range(0, len(ids), 500):
                for row in Contact.select().where(Contact.id.in_(ids[start : start + 500])):
                    groups = change(dict(row.groups))
                    if groups != row.groups:
                        row.groups = groups
                        row.save(only=[Contact.groups])

    # --- reading the store (control API, CSV export) --------------------------------------

    def field_names(self) -> list[str]:
        return [f.name for f in self._fields]

    def search(self, text: str = "", limit: int = 50, offset: int = 0) -> tuple[int, list[Contact]]:
        """Contacts whose address or name contains ``text``, by address; and how many match."""
        query = Contact.select()
        if text:
            needle = text.lower()
            query = query.where(
                Contact.email.contains(needle) | fn.LOWER(Contact.name).contains(needle)
            )
        return int(query.count()), list(query.order_by(Contact.email).limit(limit).offset(offset))

    def rows(self) -> Iterator[Contact]:
        """Every contact by address, streamed."""
        yield from Contact.select().order_by(Contact.email).iterator()
