"""Zendesk as a target: its [target.zendesk] table and how the target is built from it."""

from __future__ import annotations

from azsyncd.targets.spec import RateLimits, Resources, TargetSpec
from azsyncd.targets.zendesk.demo import simulated_account
from azsyncd.targets.zendesk.http import KIND, ZendeskHttp
from azsyncd.targets.zendesk.settings import ZendeskSettings, describe, rules
from azsyncd.targets.zendesk.target import Zendesk

# Jobs in flight at once (Zendesk allows 30 queued or running per account); in single calls,
# enough to use the rate limit, which holds them back.
PARALLEL = 4


def _limits(settings: ZendeskSettings) -> RateLimits:
    # One budget per account, whatever number of clients, runs or hosts use it.
    return RateLimits(settings.url, {KIND: settings.budget})


def _build(settings: ZendeskSettings, resources: Resources) -> Zendesk:
    assert resources.limiter is not None  # the spec declares limits
    limiter = resources.limiter
    http = ZendeskHttp(
        settings.url,
        settings.email,
        resources.secrets["api_token_file"],
        limiter=limiter,
        headroom=settings.rate_headroom,
        on_wait=resources.on_wait,
    )
    return Zendesk(
        http,
        resources.db,
        phone_type=next(iter(resources.phone_types), ""),
        bulk=settings.bulk,
        verify_email=settings.verify_email,
        job_timeout=settings.job_timeout_minutes * 60,
        note=limiter.note,
        mark_organization=settings.mark_organization if settings.mark == "organization" else "",
    )


TARGET = TargetSpec(
    name="zendesk",
    settings=ZendeskSettings,
    secret_keys=("api_token_file",),
    rules=rules,
    build=_build,
    parallel=PARALLEL,
    limits=_limits,
    describe=describe,
    demo=simulated_account,
    file_only=("subdomain",),  # names the host the API token goes to, as base_url does
)
