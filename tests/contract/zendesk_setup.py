"""A Zendesk client on the fake Zendesk, in this process, on a virtual clock they share: a
job's time, the rate limit's minute and a Retry-After pass when the client sleeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from azsyncd.state import open_database
from azsyncd.targets.base import ContactWrite, Phone
from azsyncd.targets.ratelimit import RateLimiter
from azsyncd.targets.zendesk.http import KIND, ZendeskHttp
from azsyncd.targets.zendesk.target import Zendesk
from tests.fakes.zendesk import FakeZendesk

BASE = "https://acme.zendesk.com"


class Clock:
    """Virtual time: sleeping advances it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


def client(
    fake: FakeZendesk,
    clock: Clock,
    state: Path,
    *,
    per_minute: int = 360,
    token: str = "token",
    waits: list[str] | None = None,
    notes: dict[str, str] | None = None,
    limiter: RateLimiter | None = None,
    **kwargs: Any,
) -> Zendesk:
    limiter = limiter or RateLimiter({KIND: per_minute}, clock=clock, sleep=clock.sleep)
    http = ZendeskHttp(
        BASE,
        "admin@acme.example",
        token,
        limiter=limiter,
        transport=httpx.WSGITransport(app=fake),
        sleep=clock.sleep,
        on_wait=(waits.append if waits is not None else None),
    )
    kept = notes if notes is not None else {}

    def note(key: str, text: str | None) -> None:
        if text is None:
            kept.pop(key, None)
        else:
            kept[key] = text

    return Zendesk(
        http,
        open_database("", state),
        phone_type=kwargs.pop("phone_type", "mo"),
        note=note,
        clock=clock,
        **kwargs,
    )


def user(n: int, **custom: Any) -> ContactWrite:
    """A new user written for directory object ``obj-<n>``."""
    return ContactWrite(
        email=f"user{n}@example.com",
        name=f"User {n}",
        phones=[Phone("mo", f"+1 555 {n:04d}")],
        custom=custom,
        source_tenant="contoso",
        source_object_id=f"obj-{n}",
    )
