"""Build the configured target from its registry entry, reading its secrets when needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from peewee import Database

from azsyncd.config.model import Config
from azsyncd.config.secrets import read_secret
from azsyncd.logs import register_secret
from azsyncd.targets.base import Target
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.registry import spec
from azsyncd.targets.spec import RateLimits, Resources

# One limiter per account for the daemon's whole life: the limits are per account,
# whatever number of clients or runs use it.
_limiters: dict[str, RateLimiter] = {}


def use_limiter(account: str, limiter: RateLimiter) -> None:
    """Make every client of this account share ``limiter`` (a benchmark's scaled clock)."""
    _limiters[account.rstrip("/")] = limiter


def _limiter(limits: RateLimits) -> RateLimiter:
    limiter = _limiters.get(limits.account)
    if limiter is None or limiter.limits != limits.per_minute:
        limiter = _limiters[limits.account] = RateLimiter(limits.per_minute)
    return limiter


def build_target(
    config: Config,
    config_dir: Path,
    db: Database,
    on_wait: Callable[[str], None] | None = None,
) -> Target:
    target = spec(config.target.kind)
    settings = config.target.settings
    secrets = {}
    for key in target.secret_keys:
        if reference := getattr(settings, key):  # an optional secret may be left out
            secrets[key] = read_secret(reference, config_dir, f"target.{target.name}.{key}")
            register_secret(secrets[key])
    limiter = _limiter(target.limits(settings)) if target.limits else None
    resources = Resources(secrets=secrets, limiter=limiter, db=db, on_wait=on_wait)
    return target.make(settings, resources)


def rate_lock_seconds(config: Config) -> float:
    """How long the configured target's account stays in its rate-limit lock (0: none)."""
    target = spec(config.target.kind)
    if target.limits is None:
        return 0.0
    limiter = _limiters.get(target.limits(config.target.settings).account)
    return limiter.locked_for if limiter else 0.0
