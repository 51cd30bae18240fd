"""Zendesk as a target: Entra ID users become Zendesk end users.

Traps handled here (see the Zendesk API sheet):
- bulk writes (``create_or_update_many``, 100 users) are background jobs, polled under the
  rate limit (``jobs.py``); a row that fails fails only its user, with Zendesk's reason;
- bulk imports answer 403 until Zendesk support enables them: then users go one call each,
  said once in the run's log and in status (``account_notes``);
- every write carries the Entra object id as ``external_id``, which Zendesk matches first, so
  a write sent twice (a killed run's job, then the next run's) updates one user;
- an address change edits the user in place (``PUT /users/{id}``): the new address becomes
  primary, the old one stays as a secondary identity; a bulk row that matched a bound user
  by ``external_id`` only adds the new address as a secondary, so it is moved the same way;
- agents and admins are never written: their addresses and external ids are read once a run
  and any write that would reach one fails, saying why;
- finding users: a search per address (fuzzy: checked exactly here) while few are asked,
  else every user listed once by cursor pages (offset pages fail past 10,000);
- leavers are suspended (``suspended: true``) and unsuspended on return; never deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from peewee import Database

from azsyncd import stop
from azsyncd.errors import TargetError
from azsyncd.targets.base import ContactWrite, ExistingContact, Phone, WriteResult, normal_email
from azsyncd.targets.fields import FieldDef, FieldType, problem
from azsyncd.targets.zendesk import users
from azsyncd.targets.zendesk.http import Refused, ZendeskHttp, shaped_list
from azsyncd.targets.zendesk.jobs import JobFailed, Jobs

log = logging.getLogger(__name__)

MAX_BULK = 100
SEARCH_LIMIT = 20  # addresses searched one by one before listing every user is considered
STAFF = ("agent", "admin")
BULK_REFUSED = (
    "Zendesk refused bulk user imports (403): writing one user a call under the rate limit,"
    " which is about 100 times slower; fix: ask Zendesk support to enable bulk user imports,"
    " or set [target.zendesk] bulk = false to skip the attempt"
)
NOTE_BULK = "bulk_refused"


class Zendesk:
    max_batch = MAX_BULK

    def __init__(
        self,
        http: ZendeskHttp,
        db: Database,
        *,
        phone_type: str = "",
        bulk: bool = True,
        verify_email: bool = False,
        job_timeout: float = 1800.0,
        note: Callable[[str, str | None], None] | None = None,
        mark_organization: str = "",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.http = http
        # Jobs take the account's time: the limiter's clock (a benchmark scales it).
        self.jobs = Jobs(http, db, timeout=job_timeout, clock=clock or http.limiter.now)
        self.phone_type = phone_type
        self.bulk = bulk
        self.verify_email = verify_email
        self.mark_organization = mark_organization  # "": no mark beyond the external_id
        # What status says about the account: (key, text), text None to clear it.
        self.note = note or (lambda key, text: None)
        self._fields: dict[str, FieldDef] | None = None
        self._staff: tuple[set[str], set[str], set[str]] | None = None  # emails, external ids, ids
        self._index: dict[str, ExistingContact] | None = None  # every end user, once listed
        # Address -> id of the users this run wrote that the listing does not hold: found
        # again by id (exact, at once), not by search (which lags) - ids only, for memory.
        self._written: dict[str, str] = {}
        self._searched = 0
        self._count: int | None = None
        self._orgs: dict[str, int] = {}
        self._lock = threading.Lock()
        self._org_lock = threading.Lock()
        self._membership_bulk = True
        self._bulk_seen = False

    def close(self) -> None:
        self.http.close()

    # --- fields --------------------------------------------------------------------------

    def fields(self) -> list[FieldDef]:
        defs: list[FieldDef] = []
        for raw in self.http.pages("user_fields", "user_fields"):
            try:
                found = users.field_from(raw)
            except ValueError as exc:
                raise TargetError(
                    f"Zendesk answered GET user_fields with something azsync cannot read: {exc}",
                    "check Zendesk's status page; the next sync retries",
                ) from None
            if found is None:
                continue
            if found.type is FieldType.UNKNOWN:
                log.warning(
                    "Zendesk user field %r has type %r, which azsync cannot write; it is kept as"
                    " it is",
                    found.name,
                    found.raw_type,
                )
            defs.append(found)
        defs += self._pseudo_fields()
        self._fields = {f.id: f for f in defs}
        return defs

    def _pseudo_fields(self) -> list[FieldDef]:
        """Time zone and locale, with the account's own lists as their choices."""
        found = []
        for path, key, build in (
            ("time_zones", "time_zones", users.time_zone_field),
            ("locales", "locales", users.locale_field),
        ):
            try:
                found.append(build(shaped_list(self.http.get(path), key, f"GET {path}")))
            except TargetError as exc:
                log.warning(
                    "Zendesk's %s could not be read (%s): not offered for mapping", key, exc
                )
        return found

    def _field_map(self) -> dict[str, FieldDef]:
        if self._fields is None:
            self.fields()
        assert self._fields is not None
        return self._fields

    # --- agents and admins: never written ------------------------------------------------

    def _staff_sets(self) -> tuple[set[str], set[str], set[str]]:
        with self._lock:
            if self._staff is None:
                emails, externals, ids = set(), set(), set()
                for raw in self.http.pages("users", "users", {"role[]": list(STAFF)}):
                    if raw.get("role") not in STAFF:
                        continue
                    emails.add(normal_email(str(raw.get("email") or "")))
                    if raw.get("external_id"):
                        externals.add(str(raw["external_id"]).lower())
                    ids.add(str(raw.get("id")))
                emails.discard("")
                self._staff = (emails, externals, ids)
            return self._staff

    def _staff_reason(self, item: ContactWrite) -> str:
        emails, externals, ids = self._staff_sets()
        if normal_email(item.email) in emails or (item.existing and item.existing.id in ids):
            return (
                f"{item.email} belongs to a Zendesk agent or admin; azsync never changes agents"
                " or admins; fix: give the Entra ID user another address, or leave it out of"
                " the sync"
            )
        if item.source_object_id and item.source_object_id.lower() in externals:
            return (
                "a Zendesk agent or admin carries this user's Entra object id as external_id;"
                " azsync never changes agents or admins; fix: clear that agent's external_id"
            )
        return ""

    # --- finding users ---------------------------------------------------------------------

    def _prepare(self) -> None:
        """Before the run's first lookup or write: wait for jobs a stopped run left."""
        settled = self.jobs.settle()
        if settled.jobs:
            self.http.on_wait(
                f"waited for {settled.jobs} Zendesk bulk job(s) a stopped run had left, so the"
                " users they wrote are found and not written twice"
            )

    def _user(self, raw: Any) -> ExistingContact:
        try:
            return users.contact_from(raw, self._field_map(), self.phone_type)
        except ValueError as exc:
            raise TargetError(
                f"Zendesk answered with a user azsync cannot read: {exc}",
                "check Zendesk's status page; the next sync retries",
            ) from None

    def find_by_email(self, emails: Iterable[str]) -> dict[str, ExistingContact]:
        self._prepare()
        wanted = {normal_email(e) for e in emails}
        recent = {self._written[e]: e for e in wanted if e in self._written}
        found = {
            recent[user_id]: contact
            for user_id, contact in self.find_by_id(recent).items()
            if contact.email == recent[user_id]
        }
        wanted -= set(recent.values())
        if self._index is None and self._searched + len(wanted) > SEARCH_LIMIT:
            self._list_if_cheaper(len(wanted))
        if self._index is not None:
            return found | {e: self._index[e] for e in wanted if e in self._index}
        self._searched += len(wanted)
        for email in wanted:
            stop.check()
            body = self.http.get("users/search", {"query": f'email:"{email}"'})
            for raw in shaped_list(body, "users", "GET users/search"):
                # Search is fuzzy (a partial address matches): only the exact one counts.
                if (
                    raw.get("role") == "end-user"
                    and normal_email(str(raw.get("email") or "")) == email
                ):
                    found[email] = self._user(raw)
        return found

    def _list_if_cheaper(self, more: int) -> None:
        """List every user once when that costs less than the searches still to come."""
        if self._count is None:
            body = self.http.get("users/count")
            count = body.get("count") if isinstance(body, dict) else None
            value = count.get("value") if isinstance(count, dict) else count
            self._count = int(value) if isinstance(value, int) else 10**9
        pages = -(-self._count // 100)
        if pages <= 2 * (self._searched + more):
            index: dict[str, ExistingContact] = {}
            for raw in self.http.pages("users", "users", {"role": "end-user"}):
                if raw.get("role") == "end-user":
                    contact = self._user(raw)
                    index[contact.email] = contact
            self._index = index

    def find_by_id(self, ids: Iterable[str]) -> dict[str, ExistingContact]:
        """End users by id, 100 a call; a deleted user (inactive), an agent or an admin is
        left out: for azsync it is gone."""
        self._prepare()
        wanted = sorted({i for i in ids if str(i).isdigit()}, key=int)
        found: dict[str, ExistingContact] = {}
        for start in range(0, len(wanted), 100):
            stop.check()
            chunk = wanted[start : start + 100]
            body = self.http.get("users/show_many", {"ids": ",".join(chunk)})
            for raw in shaped_list(body, "users", "GET users/show_many"):
                if raw.get("role") == "end-user" and raw.get("active") is not False:
                    contact = self._user(raw)
                    if contact.id in chunk:
                        found[contact.id] = contact
        return found

    def iter_contacts(self, updated_since: datetime | None = None) -> Iterator[ExistingContact]:
        for raw in self.http.pages("users", "users", {"role": "end-user"}):
            if raw.get("role") != "end-user":
                continue
            if updated_since is not None:
                try:
                    if (
                        datetime.fromisoformat(str(raw.get("updated_at")).replace("Z", "+00:00"))
                        < updated_since
                    ):
                        continue
                except ValueError:
                    pass
            yield self._user(raw)

    # --- writing -----------------------------------------------------------------------------

    def write(self, batch: list[ContactWrite]) -> list[WriteResult]:
        """Creates in one job (``create_or_update_many``, keyed by external_id), edits in
        another (``update_many``, by id: an edit never creates), address changes one at a
        time (``PUT /users/{id}``); with bulk refused, everything one call each."""
        if len(batch) > self.max_batch:
            raise ValueError(f"Zendesk takes at most {self.max_batch} users a job")
        if not batch:
            return []
        results: list[WriteResult | None] = [None] * len(batch)
        creates: list[int] = []
        edits: list[int] = []
        moves: list[int] = []
        try:
            self._prepare()
            fields = self._field_map()
            for n, item in enumerate(batch):
                reason = self._staff_reason(item) or self._invalid(item, fields)
                if reason:
                    results[n] = WriteResult(item.email, False, error=reason)
                elif item.existing is None:
                    creates.append(n)
                elif normal_email(item.existing.email) != normal_email(item.email):
                    moves.append(n)
                else:
                    edits.append(n)
            self._in_jobs(batch, creates, edits, results, moves)
            for n in creates + edits:
                if results[n] is None:
                    results[n] = self._one(batch[n], moves, n)
            for n in moves:
                results[n] = self._move(batch[n], results[n])
        except TargetError as exc:  # the account is unreachable: every unfinished user fails
            for n, item in enumerate(batch):
                if results[n] is None:
                    results[n] = WriteResult(item.email, False, error=exc.message)
        done = [
            r if r is not None else WriteResult(batch[n].email, False, error="no result")
            for n, r in enumerate(results)
        ]
        for item, result in zip(batch, done, strict=True):
            if result.ok:
                self._remember(item, result.id)
        return done

    def _remember(self, item: ContactWrite, user_id: str) -> None:
        """Keep what a write made true for the run's later lookups (the leavers' step asks
        for users just written): a listed user's entry is updated in place; any other is
        kept as address -> id, found again by id."""
        email = normal_email(item.email)
        if item.existing is not None and item.existing.email != email:  # a moved address
            self._written.pop(item.existing.email, None)
            if self._index is not None:
                self._index.pop(item.existing.email, None)
        if self._index is not None and (email in self._index or item.existing is not None):
            phones = (
                [Phone(self.phone_type, item.phones[0].number)]
                if self.phone_type and item.phones
                else []
            )
            custom = {**(item.existing.custom if item.existing else {}), **item.custom}
            self._index[email] = ExistingContact(user_id, email, item.name, phones, custom)
        else:
            self._written[email] = user_id

    def _invalid(self, item: ContactWrite, fields: dict[str, FieldDef]) -> str:
        """A value Zendesk would refuse, found before it is sent."""
        reasons = []
        for field_id, value in item.custom.items():
            field = fields.get(field_id)
            if field is None:
                reasons.append(f"{field_id}: no such Zendesk user field")
            elif field.type is FieldType.UNKNOWN:
                reasons.append(f"{field.name}: a {field.raw_type} field, which azsync cannot write")
            elif reason := problem(field, value):
                reasons.append(reason)
        return "; ".join(reasons)

    def _payload(self, item: ContactWrite) -> dict[str, Any]:
        return users.payload(item, self.phone_type, verify_email=self.verify_email)

    def _in_jobs(
        self,
        batch: list[ContactWrite],
        creates: list[int],
        edits: list[int],
        results: list[WriteResult | None],
        moves: list[int],
    ) -> None:
        """The creates in one job and the edits in another; on 403 bulk is off for the run
        (said once, and in status) and the users go one call each."""
        for rows, path, method in (
            (creates, "users/create_or_update_many", "POST"),
            (edits, "users/update_many", "PUT"),
        ):
            if not rows or not self.bulk:
                continue
            payloads = [self._payload(batch[n]) for n in rows]
            if method == "PUT":  # an edit names its user by id
                payloads = [
                    {"id": int(_existing(batch[n]).id), **p}
                    for n, p in zip(rows, payloads, strict=True)
                ]
            try:
                outcome = self.jobs.run(path, "users", payloads, "users", method=method)
            except Refused as exc:
                if exc.status != 403:
                    raise
                self.bulk = False
                self.note(NOTE_BULK, BULK_REFUSED)
                self.http.say_once(NOTE_BULK, BULK_REFUSED)
                return
            except JobFailed as exc:
                outcome = exc.results
                if exc.expired:  # the job ended but its results are gone: read users back
                    outcome = self._read_back([batch[n] for n in rows], outcome)
                for n, result in zip(rows, outcome, strict=True):
                    if result is None:
                        results[n] = WriteResult(batch[n].email, False, error=exc.message)
            else:
                if not self._bulk_seen:  # bulk works (again): nothing to say any more
                    self._bulk_seen = True
                    self.note(NOTE_BULK, None)
            for n, result in zip(rows, outcome, strict=True):
                if result is not None:
                    results[n] = self._row(batch[n], result, moves, n)

    def _row(
        self, item: ContactWrite, result: dict[str, Any], moves: list[int], n: int
    ) -> WriteResult:
        if (
            str(result.get("status", "")).lower() == "failed"
            or result.get("success") is False
            or result.get("error")
        ):
            return WriteResult(item.email, False, error=_row_reason(result))
        user_id = result.get("id")
        if user_id in (None, ""):
            return WriteResult(
                item.email, False, error="Zendesk's job gave no user id for this row"
            )
        answered = result.get("email")
        if answered and normal_email(str(answered)) != normal_email(item.email):
            # It matched its bound user by external_id, who has another primary address: the
            # job only added the new one as a secondary. Moved in place next.
            moves.append(n)
        return WriteResult(item.email, True, str(user_id))

    def _read_back(
        self, items: list[ContactWrite], outcome: list[dict[str, Any] | None]
    ) -> list[dict[str, Any] | None]:
        """Rows without a result, found by their id or external_id with the address they
        were sent with: the job wrote them."""
        by_id = [
            i.existing.id for i, r in zip(items, outcome, strict=True) if r is None and i.existing
        ]
        by_external = [
            i.source_object_id
            for i, r in zip(items, outcome, strict=True)
            if r is None and not i.existing and i.source_object_id
        ]
        found: dict[str, dict[str, Any]] = {}
        for key, values in (("ids", by_id), ("external_ids", by_external)):
            if values:
                body = self.http.get("users/show_many", {key: ",".join(values)})
                for raw in shaped_list(body, "users", "GET users/show_many"):
                    found[str(raw.get("id"))] = raw
                    found[str(raw.get("external_id") or "").lower()] = raw
        back = list(outcome)
        for n, item in enumerate(items):
            key = item.existing.id if item.existing else item.source_object_id.lower()
            user = found.get(key) if back[n] is None and key else None
            if user is not None and normal_email(str(user.get("email") or "")) == normal_email(
                item.email
            ):
                back[n] = {"id": user.get("id"), "status": "Updated", "email": user.get("email")}
        return back

    def _one(self, item: ContactWrite, moves: list[int], n: int) -> WriteResult:
        """One user, one call (bulk refused or off): a create, or an edit by id."""
        try:
            if item.existing is not None:
                answer = self.http.call(
                    "PUT", f"users/{item.existing.id}", json={"user": self._payload(item)}
                )
            else:
                answer = self.http.call(
                    "POST", "users/create_or_update", json={"user": self._payload(item)}
                )
        except Refused as exc:
            return WriteResult(item.email, False, error=_refusal(exc, item))
        user = answer.body.get("user") if isinstance(answer.body, dict) else None
        if not isinstance(user, dict) or user.get("id") in (None, ""):
            return WriteResult(item.email, False, error="Zendesk's answer held no user id")
        if normal_email(str(user.get("email") or "")) != normal_email(item.email):
            moves.append(n)
        return WriteResult(item.email, True, str(user["id"]))

    def _move(self, item: ContactWrite, done: WriteResult | None) -> WriteResult:
        """The address changed: edit the user in place, the new address primary, the old one
        kept as a secondary identity (Zendesk's PUT does both; checked, and made so if not)."""
        if done is not None and not done.ok:
            return done
        user_id = done.id if done is not None else (item.existing.id if item.existing else "")
        if not user_id:
            return WriteResult(item.email, False, error="no Zendesk user to edit")
        body = self._payload(item)
        body.pop("skip_verify_email", None)
        try:
            answer = self.http.call("PUT", f"users/{user_id}", json={"user": body})
            user = answer.body.get("user") if isinstance(answer.body, dict) else None
            if normal_email(str((user or {}).get("email") or "")) != normal_email(item.email):
                self._make_primary(user_id, item.email)
        except Refused as exc:
            return WriteResult(item.email, False, user_id, _refusal(exc, item))
        return WriteResult(item.email, True, user_id)

    def _make_primary(self, user_id: str, email: str) -> None:
        identities = shaped_list(
            self.http.get(f"users/{user_id}/identities"), "identities", "GET identities"
        )
        wanted = next(
            (
                i
                for i in identities
                if i.get("type") == "email"
                and normal_email(str(i.get("value") or "")) == normal_email(email)
            ),
            None,
        )
        if wanted is None:
            raise TargetError(f"Zendesk user {user_id} has no identity {email} to make primary")
        if not wanted.get("primary"):
            self.http.call("PUT", f"users/{user_id}/identities/{wanted['id']}/make_primary")

    def mark_synced(self, tenant_label: str, contact_ids: list[str]) -> None:
        """The external_id every write sets marks a user as Entra ID's; with mark =
        "organization" the user also joins the tenant's organization."""
        if self.mark_organization and contact_ids:
            self.add_to_group(
                self.mark_organization.format(tenant=tenant_label), contact_ids, False
            )

    # --- organizations (targets.groups.ContactGroups) -----------------------------------

    def group_names(self) -> list[str]:
        return sorted(str(o.get("name")) for o in self.http.pages("organizations", "organizations"))

    def _organization(self, name: str, *, create: bool, shared: bool = False) -> int | None:
        """The organization named ``name`` (names are unique, compared without case), created
        once when asked; concurrent writers share one lock so two POSTs never race."""
        with self._org_lock:
            if name in self._orgs:
                return self._orgs[name]
            found = self._search_organization(name)
            if found is None and create:
                try:
                    answer = self.http.call(
                        "POST",
                        "organizations",
                        json={"organization": {"name": name, "shared_tickets": shared}},
                    )
                    org = answer.body.get("organization") if isinstance(answer.body, dict) else None
                    found = int(org["id"]) if isinstance(org, dict) and org.get("id") else None
                except Refused as exc:
                    if exc.status != 422:
                        raise
                    found = self._search_organization(name)  # made meanwhile by someone else
                    if found is None:
                        raise
            if found is not None:
                self._orgs[name] = found
            return found

    def _search_organization(self, name: str) -> int | None:
        body = self.http.get("organizations/search", {"name": name})
        for org in shaped_list(body, "organizations", "GET organizations/search"):
            if str(org.get("name", "")).strip().casefold() == name.strip().casefold() and org.get(
                "id"
            ):
                return int(org["id"])
        return None

    def add_to_group(self, name: str, contact_ids: list[str], access_tickets: bool) -> None:
        """Make the users members of the organization (created once; ``access_tickets`` sets
        its shared tickets when it is made). A member already is one."""
        org_id = self._organization(name, create=True, shared=access_tickets)
        assert org_id is not None
        _, _, staff = self._staff_sets()
        ids = [int(c) for c in contact_ids if c not in staff]
        for start in range(0, len(ids), MAX_BULK):
            stop.check()
            chunk = ids[start : start + MAX_BULK]
            if self._membership_bulk and self._members_in_bulk(org_id, chunk):
                continue
            for user_id in chunk:
                try:
                    self.http.call(
                        "POST",
                        "organization_memberships",
                        json={
                            "organization_membership": {
                                "user_id": user_id,
                                "organization_id": org_id,
                            }
                        },
                    )
                except Refused as exc:
                    if exc.status != 422:  # 422: a member already
                        raise

    def _members_in_bulk(self, org_id: int, user_ids: list[int]) -> bool:
        rows = [{"user_id": u, "organization_id": org_id} for u in user_ids]
        try:
            outcome = self.jobs.run(
                "organization_memberships/create_many",
                "organization_memberships",
                rows,
                "memberships",
            )
        except Refused as exc:
            if exc.status != 403:
                raise
            self._membership_bulk = False
            return False
        except JobFailed:
            return False  # one at a time instead
        failed = [
            _row_reason(r)
            for r in outcome
            if r is not None
            and (r.get("error") or r.get("success") is False)
            and "already" not in _row_reason(r).lower()
        ]
        if failed:
            raise TargetError(f"Zendesk refused {len(failed)} membership(s): {failed[0]}")
        return True

    def remove_from_group(self, name: str, contact_ids: list[str]) -> None:
        org_id = self._organization(name, create=False)
        if org_id is None:
            return
        for user_id in contact_ids:
            stop.check()
            try:
                self.http.call("DELETE", f"users/{int(user_id)}/organizations/{org_id}")
            except Refused as exc:
                if exc.status != 404:  # 404: not a member
                    raise


def _existing(item: ContactWrite) -> ExistingContact:
    assert item.existing is not None
    return item.existing


def _row_reason(result: dict[str, Any]) -> str:
    details = result.get("details")
    error = result.get("error")
    text = str(details or error or "refused without a reason")
    return text if not error or not details else f"{text} ({error})"


def _refusal(exc: Refused, item: ContactWrite | None = None) -> str:
    if exc.status == 404 and item is not None and item.existing is not None:
        return (
            f"Zendesk user {item.existing.id} is no longer there (deleted); nothing was created"
            " in its place"
        )
    return exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
