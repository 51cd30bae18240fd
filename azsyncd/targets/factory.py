"""Build the configured target from its registry entry, reading its secrets when needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from peewee import Database, PostgresqlDatabase

from azsyncd.config.model import Config
from azsyncd.config.secrets import read_secret
from azsyncd.logs import register_secret
from azsyncd.targets.base import Target
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.registry import spec
from azsyncd.targets.shared_limits import CallLog, SharedRateLimiter
from azsyncd.targets.spec import RateLimits, Resources

# One limiter per account for the daemon's whole life: the limits are per account,
# whatever number of clients or runs use it.
_limiters: dict[str, RateLimiter] = {}
_logs: dict[str, CallLog] = {}
_pinned: set[str] = set()


def use_limiter(account: str, limiter: RateLimiter) -> None:
    """Make every client of this account share ``limiter`` (a benchmark's scaled clock)."""
    _limiters[account.rstrip("/")] = limiter
    _pinned.add(account.rstrip("/"))


def limiters() -> dict[str, RateLimiter]:
    """Every help desk account's limiter, by account: what the metrics report."""
    return dict(_limiters)


def call_log(db: Database, shared_dir: Path) -> CallLog:
    """Where every process on an account counts its calls: the state database when it is
    PostgreSQL (shared by hosts), else a file in the directory this host's daemons share."""
    where = f"db:{id(db)}" if isinstance(db, PostgresqlDatabase) else f"dir:{shared_dir}"
    if where not in _logs:
        _logs[where] = (
            CallLog(db) if isinstance(db, PostgresqlDatabase) else CallLog.in_directory(shared_dir)
        )
    return _logs[where]


def _limiter(limits: RateLimits, log: CallLog | None) -> RateLimiter:
    limiter = _limiters.get(limits.account)
    if limiter is not None and limits.account in _pinned:
        return limiter
    fits = limiter is not None and limiter.limits == limits.per_minute
    if fits and isinstance(limiter, SharedRateLimiter):
        fits = limiter.log is log
    elif fits:
        fits = log is None
    if limiter is None or not fits:
        limiter = _limiters[limits.account] = (
            SharedRateLimiter(log, limits.account, limits.per_minute)
            if log is not None
            else RateLimiter(limits.per_minute)
        )
    return limiter


def account_limiter(
    config: Config, db: Database, shared_dir: Path | None = None
) -> RateLimiter | None:
    """The configured account's limiter (None: the target has no rate limit). A daemon whose
    runs are processes of their own takes it without building the target: its status and
    ticks read the account's 429 lock from it, its metrics the calls its runs report."""
    target = spec(config.target.kind)
    if target.limits is None:
        return None
    log = call_log(db, shared_dir) if shared_dir is not None else None
    return _limiter(target.limits(config.target.settings), log)


def usage() -> dict[str, dict[str, Any]]:
    """The calls let out and 429 locks taken in this process, by account."""
    return {
        account: {"calls": dict(limiter.calls), "locks": limiter.locks}
        for account, limiter in _limiters.items()
    }


def count_elsewhere(usage: dict[str, dict[str, Any]]) -> None:
    """Add what another process (a run's own) reported of ``usage()`` to this one's counts."""
    for account, used in usage.items():
        limiter = _limiters.get(account)
        if limiter is not None:
            limiter.calls.update(used.get("calls") or {})
            limiter.locks += int(used.get("locks") or 0)


def build_target(
    config: Config,
    config_dir: Path,
    db: Database,
    on_wait: Callable[[str], None] | None = None,
    shared_dir: Path | None = None,
) -> Target:
    """``shared_dir``: share the account's rate limit with this host's other daemons (or,
    on PostgreSQL, every daemon on the database); None keeps it to this process."""
    target = spec(config.target.kind)
    settings = config.target.settings
    secrets = {}
    for key in target.secret_keys:
        if reference := getattr(settings, key):  # an optional secret may be left out
            secrets[key] = read_secret(reference, config_dir, f"target.{target.name}.{key}")
            register_secret(secrets[key])
    limiter = account_limiter(config, db, shared_dir)
    resources = Resources(
        secrets=secrets,
        limiter=limiter,
        db=db,
        on_wait=on_wait,
        config=config,
        phone_types=tuple(config.mapping.phones),
    )
    return target.make(settings, resources)


def account_notes(config: Config, db: Database, shared_dir: Path | None = None) -> list[str]:
    """What the configured target said about its account for status (e.g. "bulk refused:
    one call a user"), from whichever process said it."""
    limiter = account_limiter(config, db, shared_dir)
    return list(limiter.notes().values()) if limiter is not None else []


def rate_lock_seconds(config: Config) -> float:
    """How long the configured target's account stays in its rate-limit lock (0: none)."""
    target = spec(config.target.kind)
    if target.limits is None:
        return 0.0
    limiter = _limiters.get(target.limits(config.target.settings).account)
    return limiter.locked_for if limiter else 0.0
