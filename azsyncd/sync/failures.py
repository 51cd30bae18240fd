"""Users whose contact failed: kept with their last directory data and planned every run.

A run that reads only the directory's changes still plans every failing user again, from
the data kept here, so a fix in the help desk (a new dropdown choice, a field made
optional) or in the mapping works at the next sync, with no full read; and each run's log
lists every contact still failing, with the run in which it first failed.

Checking a failure of the directory's data costs nothing. A write the help desk refused is
not sent again while nothing it depends on has changed (the values, the settings, the help
desk's field definitions), except in a full reconciliation.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from azsyncd.state.models import FailingUser
from azsyncd.sync import fixes
from azsyncd.sync.planner import Action, ActionKind
from azsyncd.targets.fields import FieldDef

UNCHANGED_SINCE_REFUSED = "not sent again: nothing changed since the help desk refused it"


def fields_key(fields: list[FieldDef]) -> str:
    """The help desk's field definitions in short: a change there may cure a refusal."""
    text = json.dumps([f.as_dict() for f in fields], sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def notes(action: Action, run_id: int) -> str:
    """What the record of a failing contact adds to its reason: since when, and whether the
    write was held back."""
    text = ""
    if action.refused and action.write is None:
        text += f" ({UNCHANGED_SINCE_REFUSED})"
    if action.failing_since is not None and action.failing_since != run_id:
        text += f" (failing since run {action.failing_since})"
    return text


def attach(actions: list[Action], rows: dict[str, FailingUser]) -> None:
    """Give the actions of users that failed before what is known of them."""
    for action in actions:
        row = rows.get(action.user_id)
        if row is None:
            continue
        action.failing_since = row.since_run
        if action.kind is ActionKind.FAILED and row.email == action.email:
            action.existed = action.existed or row.existed


def refused_again(action: Action, row: FailingUser | None, attempt: str) -> Action | None:
    """The help desk refused this very write before: failed again with the reason it gave,
    without asking it (None when something it depends on changed)."""
    if row is None or not row.refused or row.refused != attempt:
        return None
    action.kind, action.reason, action.attempt = ActionKind.FAILED, row.reason, attempt
    action.refused, action.existed = row.refused, row.existed
    action.fixes = fixes.loaded(row.fixes)
    return action


def from_row(row: FailingUser) -> Action:
    """A failing user that is not planned this run (its tenant could not be read)."""
    return Action(
        ActionKind.FAILED,
        row.tenant,
        row.object_id,
        row.email,
        reason=row.reason,
        existed=row.existed,
        user=row.user,
        failing_since=row.since_run,
        refused=row.refused,
        fixes=fixes.loaded(row.fixes),
    )


def bookkeeping(
    actions: list[Action], run_id: int
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """What a finished chunk changes: failing users to keep, and per tenant those that no
    longer fail (they synced or left the scope)."""
    keep: list[dict[str, Any]] = []
    cured: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        if not action.user_id:
            continue  # a junk object: nothing to key it by
        if action.kind is not ActionKind.FAILED:
            if action.failing_since is not None:  # only a user kept as failing has a row
                cured[action.tenant].append(action.user_id)
        elif action.user is not None:
            keep.append(
                {
                    "tenant": action.tenant,
                    "object_id": action.user_id,
                    "email": action.email,
                    "user": action.user,
                    "reason": action.reason,
                    "since_run": action.failing_since or run_id,
                    "refused": action.refused,
                    "existed": action.type == "Existing",
                    "fixes": fixes.stored(action.fixes),
                }
            )
    return keep, cured
