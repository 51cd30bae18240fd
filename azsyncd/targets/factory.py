"""Build the configured target, reading its secrets at the moment they are needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from azsyncd.config.model import Config
from azsyncd.config.secrets import read_secret
from azsyncd.logs import register_secret
from azsyncd.targets.base import Target
from azsyncd.targets.happyfox import HappyFox, limiter_for
from azsyncd.targets.local import LocalStore
from azsyncd.targets.ratelimit import RateLimiter

# One limiter per HappyFox account for the daemon's whole life: the limits are per account,
# whatever number of clients or runs use it.
_limiters: dict[str, RateLimiter] = {}


def use_limiter(base_url: str, limiter: RateLimiter) -> None:
    """Make every client of this HappyFox account share ``limiter`` (a benchmark's scaled clock)."""
    _limiters[base_url.rstrip("/")] = limiter


def build_target(
    config: Config, config_dir: Path, on_wait: Callable[[str], None] | None = None
) -> Target:
    target = config.target
    if target.kind == "local":
        return LocalStore(target.local.fields)
    settings = target.happyfox
    assert settings is not None  # guaranteed by validation
    api_key = read_secret(settings.api_key_file, config_dir, "target.happyfox.api_key_file")
    auth_code = read_secret(settings.auth_code_file, config_dir, "target.happyfox.auth_code_file")
    register_secret(api_key)
    register_secret(auth_code)
    limiter = _limiters.get(settings.base_url)
    if limiter is None or limiter.limits != limiter_for(settings.rate_headroom).limits:
        limiter = _limiters[settings.base_url] = limiter_for(settings.rate_headroom)
    return HappyFox(
        settings.base_url,
        api_key,
        auth_code,
        limiter=limiter,
        lock_minutes=settings.lock_minutes,
        group_name=settings.group_name,
        mark=settings.mark,
        on_wait=on_wait,
    )


def rate_lock_seconds(config: Config) -> float:
    """How long the configured help desk account stays in its rate-limit lock (0: none)."""
    settings = config.target.happyfox
    if config.target.kind != "happyfox" or settings is None:
        return 0.0
    limiter = _limiters.get(settings.base_url)
    return limiter.locked_for if limiter else 0.0
