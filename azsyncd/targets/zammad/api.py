"""Zammad's REST API (``/api/v1``): token auth, pages, the account's limiter, backoff, and
Zammad's errors as azsync's.

- Every call first takes one from the account's shared limiter (``max_per_minute``): Zammad
  documents no rate limit, so azsync keeps a polite one of its own.
- A 429 (a reverse proxy's, or a throttle) pauses every caller of the account for its
  Retry-After (else a doubling pause), then the call is made again; a 5xx, a timeout or a
  dropped connection is retried with a growing, jittered pause. Both give up after a few
  tries with an error saying so.
- 401, 403, 404 and 422 are ``TargetError``s carrying Zammad's own message; a 422 is
  ``Refused`` (the write as sent is wrong: a duplicate email, a value out of range) and a
  404 ``NotFound``. An answer that is not JSON is an error saying what came.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from azsyncd import outbound, stop
from azsyncd.errors import NetworkError, TargetError
from azsyncd.targets.ratelimit import RateLimiter

log = logging.getLogger(__name__)

KIND = "call"  # one budget for every kind of call: Zammad counts none of them
PAGE = 1000  # the most a page holds in current Zammad (older releases cap it at 500)
TRIES = 6
BUDGET = 300.0  # seconds one call may take, every try and pause included
MAX_PAUSE = 60.0
# What each path needs of the token's user, for the fix of a 403.
PERMISSIONS = (
    ("users", "admin.user"),
    ("organizations", "admin.organization"),
    ("object_manager_attributes", "admin.object"),
)


class Refused(TargetError):
    """Zammad refused the request as sent (422): its message says why."""


class NotFound(TargetError):
    """The object is not (or no longer) in Zammad (404)."""


class Again(Exception):
    """Worth another try after ``pause`` seconds (None: a growing pause)."""

    def __init__(self, reason: str, pause: float | None = None) -> None:
        super().__init__(reason)
        self.pause = pause


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 or 503 asks to wait (Retry-After as seconds or as an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(moment.tzinfo)).total_seconds())


class ZammadApi:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        limiter: RateLimiter,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        on_wait: Callable[[str], None] | None = None,
        timeout: float = 30.0,
        deadline: float = 120.0,
        tries: int = TRIES,
        budget: float = BUDGET,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = outbound.client(
            base_url=self.base_url + "/api/v1/",
            transport=transport,
            deadline=deadline,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={
                "Authorization": f"Token token={token}",
                "Accept": "application/json",
                "User-Agent": "azsync",
            },
        )
        self.limiter = limiter
        self._sleep = sleep or limiter.sleep
        self.on_wait = on_wait or (lambda message: log.warning("%s", message))
        self.tries = tries
        self.budget = budget
        self.calls = 0  # made, retries included

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request, tried again on 429, 5xx and network faults within one budget of time
        for every try and pause (a 429's wait aside); its JSON answer. A write that timed out
        may have been done: trying it again is safe (a second user with the address is a
        422 the caller turns into the first; a PUT sets the same values)."""
        budget = outbound.Budget(self.budget)
        for attempt in range(1, self.tries + 1):
            try:
                return self._once(method, path, budget, **kwargs)
            except Again as exc:
                pause = exc.pause
                if pause is None:  # doubling, with jitter so parallel writers spread out
                    pause = min(MAX_PAUSE, 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                if attempt == self.tries or budget.left() <= pause:
                    raise TargetError(
                        f"Zammad did not answer {method} /api/v1/{path} after {attempt} "
                        f"{'try' if attempt == 1 else 'tries'} ({budget.spent:.0f} s of a "
                        f"{budget.seconds:.0f} s budget): {exc}",
                        "check that Zammad is up (its web interface, the reverse proxy in "
                        "front of it) and the network; the next sync retries",
                    ) from None
                budget.pause(pause, self._sleep)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, budget: outbound.Budget, **kwargs: Any) -> Any:
        stop.check()
        self.limiter.acquire(KIND)
        self.calls += 1
        try:
            with budget.trying() as extensions:
                response = self._http.request(method, path, extensions=extensions, **kwargs)
        except NetworkError as exc:
            if exc.lasting:  # no retry cures an unknown host, a certificate, a huge answer
                raise TargetError(f"Zammad: {exc.message}", exc.fix) from None
            raise Again(f"{exc.kind}: {exc.message}") from None
        status = response.status_code
        if status == 429:
            pause = retry_after(response)
            wait = min(pause if pause is not None else 30.0, 15 * MAX_PAUSE)
            self.limiter.lock_for(wait)  # every writer of the account pauses, not just this one
            self.on_wait(
                f"Zammad answered 429 (too many requests): pausing all calls for {wait:.0f} s"
            )
            raise Again("HTTP 429", 0.0)
        if status >= 500:
            raise Again(f"HTTP {status}", retry_after(response) if status == 503 else None)
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        call = f"{method} /api/v1/{path}"
        try:
            body = outbound.json_of(response) if response.content else None
        except outbound.BadAnswer as exc:
            raise TargetError(
                f"Zammad answered {call} with HTTP {status} and {exc}",
                "check base_url (the address of Zammad's web interface, e.g. "
                "https://helpdesk.example.com) and the reverse proxy in front of Zammad",
            ) from None
        if status < 400:
            return body
        message = _message(body) or f"HTTP {status}"
        if status == 401:
            failure = response.headers.get("X-Failure", "")
            raise TargetError(
                f"Zammad refused the token (401 {message}{f': {failure}' if failure else ''})",
                "check token_file: a token of an admin user, made under Profile > Token "
                "Access, with the permissions admin.user, admin.organization and admin.object",
            )
        if status == 403:
            needed = next((p for prefix, p in PERMISSIONS if path.startswith(prefix)), "")
            raise TargetError(
                f"Zammad refused {call}: {message} (403)",
                f"give the token the permission {needed} (Profile > Token Access)"
                if needed
                else "give the token's user the admin role",
            )
        if status == 404:
            raise NotFound(f"Zammad has no such object ({call}: {message})")
        if status == 422:
            raise Refused(f"Zammad refused {call}: {message}")
        raise TargetError(f"Zammad refused {call} with HTTP {status}: {message}")

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a listing, until an empty one: Zammad gives no total, and an older
        release caps a page at 500 whatever ``per_page`` asks."""
        page = 1
        while True:
            stop.check()
            body = self.call("GET", path, params={**(params or {}), "page": page, "per_page": PAGE})
            if not isinstance(body, list):
                raise TargetError(
                    f"Zammad answered GET /api/v1/{path} (page {page}) with something that is "
                    f"not a list: {str(body)[:80]!r}",
                    "check base_url and Zammad's version (azsync needs API v1)",
                )
            if not body:
                return
            yield body
            page += 1


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("error_human") or body.get("error") or ""
        return str(text).removeprefix("Validation failed: ").strip()
    return ""
