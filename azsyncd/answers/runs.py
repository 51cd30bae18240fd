"""Runs: their history, one run with its log, its records, and a sync waited for."""

from __future__ import annotations

from typing import Any

from azsyncd.answers.base import Answer, Instant

COUNT_KEYS = ("new", "updated", "unchanged", "failed", "skipped")


# Said only when not zero: joiners created with the login off (among "new"), joiners started.
LIFECYCLE_COUNTS = (("joiners", "joiner(s), login off"), ("started", "started"))


def counts_text(counts: dict[str, Any]) -> str:
    """ "3 new, 0 updated, ..." in a fixed order; joiners and starts when there are some."""
    text = ", ".join(f"{counts.get(k, 0)} {k}" for k in COUNT_KEYS)
    extra = [f"{counts[k]} {label}" for k, label in LIFECYCLE_COUNTS if counts.get(k)]
    return text + (f" ({', '.join(extra)})" if extra else "")


class LogLine(Answer):
    at: Instant | None = None
    level: str = ""
    message: str = ""


class Run(Answer):
    id: int = 0
    trigger: str = ""
    dry_run: bool = False
    options: dict[str, Any] = {}
    status: str = ""
    message: str = ""
    counts: dict[str, Any] = {}
    started_at: Instant | None = None
    finished_at: Instant | None = None


class RunDetail(Run):
    """One run, with its log."""

    log: list[LogLine] = []


class RunList(Answer):
    runs: list[Run] = []


class Record(Answer):
    tenant: str = ""
    user_id: str = ""
    email: str = ""
    type: str = ""
    status: str = ""  # success | failed | skipped | unchanged
    result: str = ""
    changed_fields: str = ""


class Records(Answer):
    run_id: int = 0
    total: int = 0
    records: list[Record] = []


class SyncOutcome(Answer):
    """A sync started; when waited for, the run as it ended, and a dry run's plan."""

    run_id: int = 0
    run: RunDetail | None = None
    plan: Records | None = None
