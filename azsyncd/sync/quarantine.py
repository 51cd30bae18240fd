"""Quarantine: a tenant whose syncs keep failing is tried less and less often.

Pure: the number of failures in a row and the time give the next try. Lifted by a sync
that reads the tenant, a successful authorize, or a change of the tenant's settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

AFTER = 3  # failed syncs in a row before a tenant is quarantined
GAPS = (timedelta(hours=1), timedelta(hours=4), timedelta(hours=12), timedelta(hours=24))


def next_try(failures: int, now: datetime) -> datetime | None:
    """When a tenant with ``failures`` failed syncs in a row is tried again; None: at once."""
    if failures < AFTER:
        return None
    return now + GAPS[min(failures - AFTER, len(GAPS) - 1)]


def describe(failures: int, reason: str, until: datetime) -> str:
    return (
        f"quarantined after {failures} failed syncs in a row (last: {reason}); "
        f"next try at {until.isoformat(timespec='minutes')}"
    )
