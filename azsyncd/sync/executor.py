"""Applying a chunk of planned actions: batched writes, records, the mirror, welcome emails.

Each chunk ends in one database transaction holding its records, mirror rows and the
welcome emails it owes, so a run killed at any instant leaves a state the next run
completes without duplicates: contacts are added or edited by email, and each welcome email
is claimed just before it is sent (``welcome.py``).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from azsyncd import stop
from azsyncd.errors import Interrupted
from azsyncd.state import State
from azsyncd.state.joiners import JoinerState
from azsyncd.state.repository import RecordRow
from azsyncd.sync import failures
from azsyncd.sync.fixes import Fix
from azsyncd.sync.planner import Action, ActionKind
from azsyncd.sync.welcome import WelcomeMailer
from azsyncd.sync.writes import Tally
from azsyncd.targets.base import Target, WriteResult

MAX_IN_FLIGHT = 2
# The mirror's fingerprint of a contact being created: its write may not have been recorded.
PENDING = "pending"
TAKEN_OVER = (
    "taken over from tenant {tenant}, whose user left the directory: no leaver step applies to "
    "this contact"
)


@dataclass
class _Finished:
    """What a chunk whose writes are done leaves for the state, gathered before its one
    transaction."""

    records: list[RecordRow] = field(default_factory=list)
    mirror_rows: list[dict[str, Any]] = field(default_factory=list)
    created: list[Action] = field(default_factory=list)  # contacts created by this chunk
    marks: list[str] = field(default_factory=list)  # existing contacts to mark, first seen
    released: list[tuple[str, str]] = field(default_factory=list)  # taken-over bindings


class Executor:
    """Writes planned actions to the target and records them; implements ``writes.Writes``."""

    def __init__(
        self,
        state: State,
        target: Target,
        run_id: int,
        *,
        dry_run: bool,
        mailer: WelcomeMailer | None = None,
        parallel: int = 1,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.state, self.target, self.run_id, self.dry_run = state, target, run_id, dry_run
        self.mailer = mailer
        self.log = log
        self._tally = Tally()
        self._labels: dict[str, str] = {}  # tenant name -> the name shown on the target's marker
        self._in_flight: deque[
            tuple[list[Action], list[Action], list[Future[list[WriteResult]]]]
        ] = deque()
        self._pool = (
            ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="write")
            if parallel > 1
            else None
        )

    def close(self) -> None:
        self._in_flight.clear()
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def begin_tenant(self, name: str, label: str) -> None:
        self._labels[name] = label

    def tally(self) -> Tally:
        return Tally(
            Counter(self._tally.counts),
            {name: Counter(counts) for name, counts in self._tally.tenants.items()},
        )

    def _submit(self, writes: list[Action]) -> list[Future[list[WriteResult]]]:
        size = self.target.max_batch
        batches = [writes[i : i + size] for i in range(0, len(writes), size)]
        if self._pool:  # the workers see the daemon stopping, as this thread does
            return [self._pool.submit(stop.carry(self._write_batch), batch) for batch in batches]
        done = []
        for batch in batches:
            future: Future[list[WriteResult]] = Future()
            future.set_result(self._write_batch(batch))
            done.append(future)
        return done

    def _write_batch(self, batch: list[Action]) -> list[WriteResult]:
        """One write call, then the marker for what it wrote, on the same worker."""
        stop.check()
        results = self.target.write([a.write for a in batch if a.write])
        self._mark(batch[0].tenant, [r.id for r in results if r.ok and r.id])
        return results

    def apply(self, actions: list[Action]) -> None:
        """Start writing a chunk; its records are kept once its writes are done.

        Up to ``MAX_IN_FLIGHT`` chunks write at once, so the next chunk is read and planned
        while this one's calls wait for the rate limiter: the limit is used, not wasted.
        """
        writes = [a for a in actions if a.kind.writes]
        creates = [a for a in writes if a.kind is ActionKind.CREATE]
        if creates and not self.dry_run and self.mailer is not None:
            # Say what we are about to create before creating it: if the run dies between the
            # write and its record, the next run knows these contacts still await their welcome.
            # Without welcome emails nothing awaits: each mirror row is written once, below.
            self.state.remember(
                [{**self._mirror_row(a, ""), "fingerprint": PENDING} for a in creates]
            )
        futures = [] if self.dry_run else self._submit(writes)
        self._in_flight.append((actions, writes, futures))
        self.drain(keep=MAX_IN_FLIGHT - 1)

    def drain(self, keep: int = 0) -> None:
        """Finish chunks, oldest first, until at most ``keep`` are still writing."""
        while len(self._in_flight) > keep:
            actions, writes, futures = self._in_flight[0]
            # A stop raises here: the chunk stays in flight for record_finished.
            results = [result for future in futures for result in future.result()]
            self._in_flight.popleft()
            # A dry run has no results: every action is recorded as planned.
            self._finish(actions, dict(zip((id(a) for a in writes), results, strict=False)))

    def record_finished(self) -> None:
        """After a stop: record what the writers had finished. A write cut short stays
        unrecorded (the next run finds a cut-short create by its address and completes it); the
        welcome emails owed are sent by the next run."""
        size = self.target.max_batch
        while self._in_flight:
            actions, writes, futures = self._in_flight.popleft()
            wait(futures, timeout=5)  # the workers see the stop within a fraction of a second
            results: dict[int, WriteResult] = {}
            for n, future in enumerate(futures):
                if future.done() and not future.cancelled() and future.exception() is None:
                    batch = writes[n * size : (n + 1) * size]
                    results.update(zip((id(a) for a in batch), future.result(), strict=False))
            unwritten = {id(a) for a in writes} - set(results)
            finished = [a for a in actions if id(a) not in unwritten]
            self._finish(finished, results, stopping=True)

    def _finish(
        self, actions: list[Action], results: dict[int, WriteResult], stopping: bool = False
    ) -> None:
        """Record a chunk whose writes are done: what each write did, then one transaction,
        then the marker (an outside call, never before the state knows what was written)."""
        done = self._outcomes(actions, results)
        # A joiner's contact owes no welcome email until its hire date (``steps/joiners.py``).
        joined = [
            a
            for a in actions
            if a.joiner is not None
            and a.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.UNCHANGED)
        ]
        welcomed = [a for a in done.created if a.joiner is None] + [
            a for a in actions if a.welcome_pending and a.kind is not ActionKind.FAILED
        ]
        for action in joined:
            self._tally.add_joiner(action.tenant)
        self._store(actions, done, joined, welcomed)
        if done.marks and not stopping:  # stopping: no more outside calls, the marker waits
            self._mark(actions[0].tenant, done.marks)

    def _outcomes(self, actions: list[Action], results: dict[int, WriteResult]) -> _Finished:
        """Each action as its write left it (a refusal makes it FAILED), its record, and the
        rows the state gets for it; counted in the tally."""
        done = _Finished()
        for action in actions:
            result = results.get(id(action))
            if result is not None and not result.ok:
                self._refused(action, result)
            if result is not None and result.ok:
                if action.kind is ActionKind.CREATE:
                    done.created.append(action)
                done.mirror_rows.append(self._mirror_row(action, result.id))
            elif (
                action.kind is ActionKind.UNCHANGED
                and not self.dry_run
                and action.mapped is not None
                and not action.in_mirror
            ):
                done.mirror_rows.append(self._mirror_row(action, action.existing_id))
                if action.existing_id and action.first_seen:
                    done.marks.append(action.existing_id)
            if action.takes_over is not None and action.kind is not ActionKind.FAILED:
                done.released.append(action.takes_over.key)
            done.records.append(self._record(action))
            self._tally.add(action)
        return done

    def _refused(self, action: Action, result: WriteResult) -> None:
        """A write the help desk refused: the action fails with the help desk's reason."""
        # What the help desk refused, for the metrics: a create or an update.
        self._tally.tenants.setdefault(action.tenant, Counter())[f"refused_{action.kind}"] += 1
        action.kind, action.reason = ActionKind.FAILED, result.error
        action.refused = action.attempt
        action.fixes = [Fix("help_desk")]  # the help desk's own words stay in the log
        action.joiner = None  # a refused create is no joiner: planned again as one

    def _store(
        self, actions: list[Action], done: _Finished, joined: list[Action], welcomed: list[Action]
    ) -> None:
        """The chunk's one transaction: records, bindings, failing users, joiners and the
        welcome emails owed, so a crash leaves all of them or none."""
        with self.state.db.atomic():
            self.state.add_records(self.run_id, done.records)
            if not self.dry_run:
                self.state.release(done.released)  # before the new rows: the address moves
            if done.mirror_rows:
                self.state.remember(done.mirror_rows)
            if not self.dry_run:
                keep, cured = failures.bookkeeping(actions, self.run_id)
                self.state.keep_failures(keep)
                for tenant, ids in cured.items():
                    self.state.forget_failures(tenant, ids)
            if not self.dry_run:
                self._joiners(actions, joined)
            if welcomed and self.mailer is not None and not self.dry_run:
                # Owed with the record of the creation: a crash before sending loses none.
                self.state.welcome_due(
                    [(a.email, a.mapped.name if a.mapped else a.email) for a in welcomed],
                    self.run_id,
                )

    def _joiners(self, actions: list[Action], joined: list[Action]) -> None:
        """Joiners as the chunk leaves them: a contact created ahead of the hire date, a user
        too early for one (kept to be planned again when its window opens), and the ahead
        users now planned otherwise."""
        joiners = JoinerState(self.state.db)
        ahead = [a for a in actions if a.joiner is not None and a.kind is ActionKind.SKIPPED]
        joiners.note(
            {
                "tenant": a.tenant,
                "object_id": a.user_id,
                "email": a.email,
                "name": a.mapped.name if a.mapped else a.email,
                "hire_date": a.joiner.isoformat() if a.joiner else "",
                "created_run": self.run_id,
                "created": a.kind is not ActionKind.SKIPPED,
                "user": a.user if a.kind is ActionKind.SKIPPED else {},
            }
            for a in joined + ahead
        )
        others: dict[str, list[str]] = {}
        for action in actions:
            if action.joiner is None and action.user_id:
                others.setdefault(action.tenant, []).append(action.user_id)
        for tenant, ids in others.items():
            if joiners.any_ahead(tenant):
                joiners.drop_ahead(tenant, ids)

    def _mirror_row(self, action: Action, target_id: str) -> dict[str, Any]:
        assert action.mapped is not None
        return {
            "email": action.email,
            "target_id": target_id,
            "tenant": action.tenant,
            "object_id": action.user_id,
            "fingerprint": action.mapped.mirror,
            "principal": action.principal,
        }

    def _record(self, action: Action) -> RecordRow:
        would = "Would " if self.dry_run else ""
        status = "success"
        if action.kind is ActionKind.CREATE:
            result = f"{would}create" if self.dry_run else "Created"
            if action.joiner is not None:
                result += (
                    f" with the portal login off: the login goes on and the welcome email out "
                    f"on the hire date, {action.joiner.isoformat()}"
                )
        elif action.kind is ActionKind.UPDATE:
            text = "; ".join(action.changes)
            if self.dry_run:
                result = f"{would}update: {text}"
            else:  # an address change leads: the contact and its tickets stay, the address moves
                result = text if action.moved_from else f"Updated: {text}"
        elif action.kind is ActionKind.UNCHANGED:
            result, status = "No changes", "unchanged"
        elif action.kind is ActionKind.FAILED:
            result, status = action.reason + failures.notes(action, self.run_id), "failed"
        else:
            result, status = action.reason, str(action.kind)
        if action.takes_over is not None and status != "failed":
            result = f"{TAKEN_OVER.format(tenant=action.takes_over.tenant)}; {result}"
        return RecordRow(
            action.tenant,
            action.user_id,
            action.email,
            action.type,
            status,
            result,
            action.changed_fields,
        )

    def _mark(self, tenant: str, ids: list[str]) -> None:
        if self.dry_run or not ids:
            return
        try:
            self.target.mark_synced(self._labels.get(tenant, tenant), ids)
        except Interrupted:
            # Stopping: the contacts are written and must still be recorded, so no raise
            # here; the marker is cosmetic and waits for the next run.
            self.log(f"stopping: {len(ids)} contact(s) not marked as synced from Entra ID yet")
        except Exception as exc:  # the marker is cosmetic: never fail a written contact for it
            self.log(f"could not mark {len(ids)} contact(s) as synced from Entra ID: {exc}")

    def send_welcomes(self, tenant: str | None = None) -> int:
        """Send the welcome emails owed (to a tenant's new contacts, or all); how many went
        out. Each is claimed just before it goes and confirmed just after (``welcome.py``)."""
        if self.dry_run or self.mailer is None:
            return 0
        recipients = self.state.due_welcomes(tenant=tenant)
        errors = self.mailer.deliver(recipients, self.state)
        if errors:
            self.log(f"{len(errors)} welcome email(s) could not be sent; see the contacts' results")
        return len(recipients) - len(errors)

    def send_owed_welcomes(self) -> None:
        """Welcome emails a stopped run still owed (it created the contacts, then stopped)."""
        sent = self.send_welcomes()
        if sent:
            self.log(f"sent {sent} welcome email(s) owed since an earlier run stopped")
