"""Zendesk's background jobs: submitted, polled until they end, and remembered meanwhile.

A bulk call answers at once with a queued job; its rows are written later, in request order,
and the job's results are kept for a while only (an hour, or a day: the docs disagree) and
among the account's last 100. Each poll is a call like any other, under the limiter; polls
are spaced by how fast the job's rows go.

Before a job is submitted, a row in the state database (``zendesk_job``) says so; the job's id
joins it once Zendesk answers, and the row goes when the job has ended. A run killed
meanwhile leaves the row: the next run, before it looks anything up, waits for that job (or,
without its id, for the account's jobs still queued or running) to end, so the users it wrote
are found and not planned again as new. Writes carry each user's ``external_id``, so even a
job that ends after that wait updates the user it made instead of making another.
"""

from __future__ import annotations

import reprlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from peewee import AutoField, CharField, Database, IntegerField, Model

from azsyncd.errors import TargetError
from azsyncd.state.fields import UTCField, utcnow
from azsyncd.targets.zendesk.http import Refused, ZendeskHttp

FIRST_POLL = 1.0  # seconds before the first look at a new job
MAX_POLL = 15.0
STALE = timedelta(days=2)  # a journal row this old names a job Zendesk forgot long ago
RUNNING = ("queued", "working")
ENDED_BADLY = ("failed", "killed")


class JobNote(Model):
    """A bulk job a run submitted (or was submitting) and has not seen end."""

    id = AutoField()
    account = CharField(index=True)
    job_id = CharField(default="")  # empty: killed before Zendesk answered the submission
    what = CharField()  # "users", "memberships"
    rows = IntegerField()
    at = UTCField(default=utcnow)

    class Meta:
        table_name = "zendesk_job"


def attach(db: Database) -> None:
    db.bind([JobNote])
    db.create_tables([JobNote], safe=True)


class JobFailed(TargetError):
    """The job ended without doing its rows (failed, killed, or forgotten by Zendesk)."""

    def __init__(
        self,
        message: str,
        results: list[dict[str, Any] | None],
        *,
        expired: bool = False,
        ended: bool = True,
    ) -> None:
        super().__init__(message, "the next sync writes these users again")
        self.results = results
        self.expired = expired  # Zendesk forgot the job: it ended, its results are gone
        self.ended = ended  # False: still queued or running when azsync stopped waiting


@dataclass
class Settled:
    jobs: int = 0  # left by a stopped run and waited for
    ids: list[str] = field(default_factory=list)


class Jobs:
    def __init__(
        self,
        http: ZendeskHttp,
        db: Database,
        *,
        timeout: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.account = http.base
        self.timeout = timeout
        self.clock = clock
        self.polls = 0
        attach(db)
        self._settled = False
        self._lock = threading.Lock()

    # --- one job ---------------------------------------------------------------------------

    def run(
        self, path: str, key: str, rows: list[dict[str, Any]], what: str, method: str = "POST"
    ) -> list[dict[str, Any] | None]:
        """Submit ``rows`` as one job and wait for it; each row's result (None: none came).

        ``Refused`` (403: bulk imports not enabled, ...) means the job never started."""
        note = JobNote.create(account=self.account, what=what, rows=len(rows))
        try:
            answer = self.http.call(method, path, json={key: rows})
        except Refused:
            note.delete_instance()  # refused: no job was made
            raise
        job = _job(answer.body, f"{method} {path}")
        job_id = str(job.get("id") or "")
        if not job_id:
            raise TargetError(
                f"Zendesk answered {method} {path} without a job id: {reprlib.repr(job)}",
                "check Zendesk's status page; the next sync retries",
            )
        JobNote.update(job_id=job_id).where(JobNote.id == note.id).execute()
        try:
            results = self.wait(job_id, len(rows), first=job)
        except JobFailed as exc:
            if exc.ended:  # it ended (or Zendesk forgot it): nothing to wait for
                note.delete_instance()
            raise
        # Stopped or cut off meanwhile: the note stays, and the next run waits for the job.
        note.delete_instance()
        return results

    def wait(
        self, job_id: str, total: int, first: dict[str, Any] | None = None
    ) -> list[dict[str, Any] | None]:
        """Poll the job until it ends; its results by row."""
        started = self.clock()
        job = first or {}
        delay = FIRST_POLL
        while True:
            status = str(job.get("status") or "queued")
            if status == "completed":
                return aligned(job.get("results"), total)
            if status in ENDED_BADLY:
                raise JobFailed(
                    f"Zendesk's job {job_id} {status}: {job.get('message') or 'no reason given'}",
                    aligned(job.get("results"), total),
                )
            if self.clock() - started > self.timeout:
                raise JobFailed(
                    f"Zendesk's job {job_id} did not end within {self.timeout / 60:g} min"
                    f" ({job.get('progress') or 0} of {total} rows done)",
                    [None] * total,
                    ended=False,
                )
            self.http.sleep(delay)
            delay = _next_delay(job, total, self.clock() - started, delay)
            self.polls += 1
            try:
                job = _job(self.http.get(f"job_statuses/{job_id}"), f"GET job_statuses/{job_id}")
            except Refused as exc:
                if exc.status == 404:
                    raise JobFailed(
                        f"Zendesk no longer knows job {job_id} (its results expired before"
                        " they were read)",
                        [None] * total,
                        expired=True,
                    ) from None
                raise

    # --- what a stopped run left -----------------------------------------------------------

    def settle(self) -> Settled:
        """Once per run, before the first lookup: wait for the jobs a stopped run left."""
        with self._lock:
            if self._settled:
                return Settled()
            self._settled = True
            done = Settled()
            notes = list(JobNote.select().where(JobNote.account == self.account))
            if not notes:
                return done
            unknown = False
            for note in notes:
                if note.at is not None and utcnow() - note.at > STALE:
                    note.delete_instance()
                    continue
                if note.job_id:
                    self._wait_quietly(note.job_id, note.rows)
                    done.ids.append(note.job_id)
                else:
                    unknown = True
                note.delete_instance()
            if unknown:  # killed before Zendesk answered: wait for the account's open jobs
                for job in self._open_jobs():
                    self._wait_quietly(str(job["id"]), int(job.get("total") or 0), job)
                    done.ids.append(str(job["id"]))
            done.jobs = len(done.ids)
            return done

    def _open_jobs(self) -> list[dict[str, Any]]:
        body = self.http.get("job_statuses")
        jobs = body.get("job_statuses") if isinstance(body, dict) else None
        return [
            j
            for j in (jobs if isinstance(jobs, list) else [])
            if isinstance(j, dict) and j.get("id") and j.get("status") in RUNNING
        ]

    def _wait_quietly(self, job_id: str, total: int, first: dict[str, Any] | None = None) -> None:
        try:
            self.wait(job_id, total, first)
        except JobFailed:
            pass  # ended or forgotten: either way nothing more will come of it


def _job(body: Any, call: str) -> dict[str, Any]:
    job = body.get("job_status") if isinstance(body, dict) else None
    if not isinstance(job, dict):
        raise TargetError(
            f"Zendesk answered {call} with something azsync cannot read: {reprlib.repr(body)}",
            "check Zendesk's status page; the next sync retries",
        )
    return job


def aligned(results: Any, total: int) -> list[dict[str, Any] | None]:
    """A job's results by row. They keep request order; a row with an ``index`` says where it
    belongs (a failed row's ``id`` is its index, never a user's id)."""
    rows: list[dict[str, Any] | None] = [None] * total
    if not isinstance(results, list):
        return rows
    items = [r for r in results if isinstance(r, dict)]
    if items and all(isinstance(r.get("index"), int) for r in items):
        for item in items:
            if 0 <= item["index"] < total:
                rows[item["index"]] = item
        return rows
    for n, item in enumerate(items[:total]):
        rows[n] = item
    return rows


def _next_delay(job: dict[str, Any], total: int, elapsed: float, delay: float) -> float:
    """Wait about as long as the job's rows still need at the pace seen so far."""
    progress = job.get("progress")
    if isinstance(progress, int) and 0 < progress < total and elapsed > 0:
        left = elapsed * (total - progress) / progress
        return max(0.5, min(MAX_POLL, left))
    return min(MAX_POLL, delay * 1.5)
